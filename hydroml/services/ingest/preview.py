"""Preview: the first rows as the import will produce them, with a type per column and warnings."""

from __future__ import annotations

import copy
from pathlib import Path

from hydroml.services.ingest.convert import convert, convert_columns, display_strings
from hydroml.services.ingest.friendly import friendly_errors
from hydroml.services.ingest.models import ColumnPreview, Preview
from hydroml.services.ingest.plan import make_plan, open_source, sample_rows
from hydroml.services.ingest.settings import ImportSettings

SAMPLE_VALUES = 5
MAX_PREVIEW_ROWS = 10_000


def _distinct(values: list[str], limit: int) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value != "" and value not in seen:
            seen[value] = None
            if len(seen) >= limit:
                break
    return list(seen)


def preview(path: Path, settings: ImportSettings, rows: int = 100) -> Preview:
    """The first `rows` rows as display strings ('' for missing) and the type of every column."""
    settings.validate()
    rows = max(0, min(int(rows), MAX_PREVIEW_ROWS))
    with friendly_errors():
        source = open_source(Path(path), settings)
        sample = source.sample(lambda ncols: max(rows, sample_rows(ncols)))
        plan = make_plan(sample, settings)
        shown = min(rows, sample.num_rows)
        warnings = list(plan.warnings)
        columns: list[ColumnPreview] = []
        displayed: list[list[str]] = []
        overrides = settings.column_types or {}
        converted, _ = convert_columns(
            [arr.slice(0, shown) for arr in sample.columns], plan.rules, plan.style
        )
        for name, rule, arr, values in zip(plan.names, plan.rules, sample.columns, converted, strict=True):
            if name in overrides:  # tell the user what their choice costs on the sample
                checked = arr.slice(0, sample_rows(len(plan.names)))
                _, invalid = convert(checked, rule, plan.style)
                if invalid:
                    warnings.append(
                        f"Column '{name}': {invalid:,} of the first {len(checked):,} values cannot be read as "
                        f"{rule.dtype}; they will be missing."
                    )
            strings = display_strings(values, rule.dtype)
            displayed.append(strings)
            columns.append(
                ColumnPreview(name=name, dtype=rule.dtype, sample=_distinct(strings, SAMPLE_VALUES))
            )
        if sample.num_rows == 0:
            warnings.append("The file has column names but no rows of data.")
    grid = [list(row) for row in zip(*displayed, strict=True)] if displayed else []
    return Preview(
        settings=copy.deepcopy(settings),
        columns=columns,
        rows=grid,
        sheets=list(sample.sheets),
        warnings=warnings,
    )
