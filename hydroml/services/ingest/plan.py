"""From settings and a sample to a plan: final column names, one conversion rule per column, warnings.

The preview and the import both build their plan here from the same leading sample of the file, so the
import produces exactly the columns and types the user confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from hydroml.services.errors import InvalidInput
from hydroml.services.ingest.convert import ColumnRule, NumberStyle, datetime_rule, infer_rules, naive_formats
from hydroml.services.ingest.settings import TYPES, ImportSettings
from hydroml.services.ingest.source import RawSample, Source

SAMPLE_ROWS = 10_000  # rows the types are inferred from
SAMPLE_CELLS = 2_000_000  # ...fewer for very wide files
MIN_SAMPLE_ROWS = 100


def sample_rows(ncols: int) -> int:
    """How many leading data rows decide the column types (fixed for a given width)."""
    return max(MIN_SAMPLE_ROWS, min(SAMPLE_ROWS, SAMPLE_CELLS // max(ncols, 1)))


@dataclass
class Plan:
    names: list[str]
    rules: list[ColumnRule]
    style: NumberStyle
    warnings: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[dict]:
        return [
            {"name": name, "dtype": rule.dtype} for name, rule in zip(self.names, self.rules, strict=True)
        ]


def open_source(path: Path, settings: ImportSettings) -> Source:
    from hydroml.services.ingest.csv_reader import CsvSource
    from hydroml.services.ingest.excel_reader import ExcelSource
    from hydroml.services.ingest.json_reader import JsonSource
    from hydroml.services.ingest.parquet_reader import ParquetSource

    path = Path(path)
    if not path.is_file():
        raise InvalidInput("file", "The uploaded file is no longer available. Please upload it again.")
    if path.stat().st_size == 0:
        raise InvalidInput("file", "The file is empty.")
    readers = {"csv": CsvSource, "excel": ExcelSource, "json": JsonSource, "parquet": ParquetSource}
    return readers[settings.format](path, settings)


def clean_names(raw: list[str | None] | None, ncols: int) -> tuple[list[str], list[str]]:
    """Strip names; blank -> column_N; repeats -> name_2, name_3 (compared ignoring case). Returns warnings."""
    warnings: list[str] = []
    if raw is None:
        return [f"column_{i + 1}" for i in range(ncols)], warnings
    stripped = [
        " ".join(str(raw[i]).split()) if i < len(raw) and raw[i] is not None else "" for i in range(ncols)
    ]
    taken = {name.lower() for name in stripped if name}
    used: set[str] = set()
    names: list[str] = []
    for index, name in enumerate(stripped):
        if not name:
            candidate = f"column_{index + 1}"
            suffix = 2
            while candidate.lower() in used or (candidate.lower() in taken):
                candidate = f"column_{index + 1}_{suffix}"
                suffix += 1
            warnings.append(f"Column {index + 1} had no name: called {candidate}")
            name = candidate
        elif name.lower() in used:
            suffix = 2
            while f"{name}_{suffix}".lower() in used or f"{name}_{suffix}".lower() in taken:
                suffix += 1
            warnings.append(f"Column {index + 1} repeats the name '{name}': called {name}_{suffix}")
            name = f"{name}_{suffix}"
        used.add(name.lower())
        names.append(name)
    return names, warnings


def number_style(settings: ImportSettings) -> NumberStyle:
    if settings.format == "csv":
        return NumberStyle(decimal=settings.decimal, thousands=settings.thousands or None)
    return NumberStyle()  # Excel, JSON and Parquet store numbers, not text in a local style


def _override_rule(arr: pa.Array, dtype: str, settings: ImportSettings) -> ColumnRule:
    if dtype != "datetime":
        return ColumnRule(dtype)
    if pa.types.is_timestamp(arr.type):
        return ColumnRule("datetime", naive_formats(settings.dayfirst), bool(arr.type.tz))
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        rule, _ = datetime_rule(arr.cast(pa.string()), settings.dayfirst)
        return rule
    return ColumnRule("datetime", naive_formats(settings.dayfirst), False)


def make_plan(sample: RawSample, settings: ImportSettings) -> Plan:
    ncols = len(sample.columns)
    if ncols == 0:
        raise InvalidInput(
            "file",
            "No columns were found. Check the rows to skip and the header row, or choose a file with a table in it.",
        )
    names, warnings = clean_names(sample.header, ncols)
    overrides = settings.column_types or {}
    unknown = [name for name in overrides if name not in names]
    if unknown:
        raise InvalidInput(
            "column_types",
            f"There is no column called '{unknown[0]}'. Columns: {', '.join(names[:20])}"
            + (", ..." if len(names) > 20 else "")
            + ".",
        )
    for name, dtype in overrides.items():
        if dtype not in TYPES:
            raise InvalidInput("column_types", f"'{dtype}' is not a column type (column '{name}').")
    style = number_style(settings)
    limit = sample_rows(ncols)
    heads = [arr.slice(0, limit) for arr in sample.columns]
    inferred = iter(
        infer_rules(
            [head for name, head in zip(names, heads, strict=True) if name not in overrides],
            style,
            settings.dayfirst,
        )
    )
    rules = [
        _override_rule(head, overrides[name], settings) if name in overrides else next(inferred)
        for name, head in zip(names, heads, strict=True)
    ]
    return Plan(names=names, rules=rules, style=style, warnings=warnings + list(sample.notes))
