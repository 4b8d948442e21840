"""Plain results of the import pipeline (no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hydroml.services.ingest.settings import ImportSettings


@dataclass
class StagedFile:
    path: Path
    original_name: str
    size_bytes: int


@dataclass
class ColumnPreview:
    name: str
    dtype: str
    sample: list[str]


@dataclass
class Preview:
    settings: ImportSettings
    columns: list[ColumnPreview]
    rows: list[list[str]]
    sheets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    parquet_path: Path
    rows: int
    columns: list[dict]  # [{"name", "dtype"}]
    sha256: str  # of the Parquet file
    size_bytes: int
    invalid_values: dict[str, int]  # per column: values that could not be converted and became missing
