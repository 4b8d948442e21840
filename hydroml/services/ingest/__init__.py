"""Import pipeline for uploaded tables: stage the upload, detect settings, preview, import to Parquet.

    staged = stage_upload(stream, filename, staging_dir, max_bytes)
    settings = detect_settings(staged.path, staged.original_name)
    shown = preview(staged.path, settings)            # the user may change settings / column_types
    result = import_to_parquet(staged.path, settings, out_path, progress)

Every failure a user can cause raises InvalidInput(field, message) with a message that says what to do.
"""

from hydroml.services.ingest.detect import detect_settings
from hydroml.services.ingest.importer import import_to_parquet
from hydroml.services.ingest.models import ColumnPreview, ImportResult, Preview, StagedFile
from hydroml.services.ingest.preview import preview
from hydroml.services.ingest.settings import FORMATS, TYPES, ImportSettings
from hydroml.services.ingest.staging import safe_filename, stage_upload

__all__ = [
    "FORMATS",
    "TYPES",
    "ColumnPreview",
    "ImportResult",
    "ImportSettings",
    "Preview",
    "StagedFile",
    "detect_settings",
    "import_to_parquet",
    "preview",
    "safe_filename",
    "stage_upload",
]
