"""The Data Studio: recipes of operations over a data source version, materialised through a frame cache."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from hydroml.settings import get_settings


def checkpoint_dir(session_id: uuid.UUID | str) -> Path:
    """Where a session's Parquet checkpoints live (removed with the session, its project or data source)."""
    return get_settings().data_dir / "studio" / str(session_id)


def remove_session_files(session_ids) -> None:
    for session_id in session_ids:
        shutil.rmtree(checkpoint_dir(session_id), ignore_errors=True)
