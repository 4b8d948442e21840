"""What every reader gives the preview and the importer: a sample with the header, then batches of rows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hydroml.services.ingest.settings import ImportSettings

BATCH_ROWS = 65_536

# rows_wanted(ncols) -> how many data rows the sample should hold for a table that wide.
RowsWanted = Callable[[int], int]


class NeedsTolerantRead(Exception):
    """The fast CSV reader met a row with a different number of values; start again with the tolerant one."""


@dataclass
class RawSample:
    header: list[str | None] | None  # raw column names as in the file, None without a header row
    columns: list[pa.Array]  # the first data rows: strings for text formats, native types for Parquet
    sheets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # reader warnings shown with the preview
    ragged: bool = False  # CSV rows with another number of values than the header: tolerant reading

    @property
    def num_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0


class Source(ABC):
    def __init__(self, path: Path, settings: ImportSettings) -> None:
        self.path = Path(path)
        self.settings = settings
        self.size = self.path.stat().st_size

    @abstractmethod
    def sample(self, rows_wanted: RowsWanted) -> RawSample: ...

    @abstractmethod
    def batches(self, sample: RawSample) -> Iterator[tuple[list[pa.Array], float]]:
        """Every data row (after the header) as one array per sample column, with the fraction of the file read.

        `sample` is what `sample()` returned: it fixes the columns (and, for CSV, whether rows are ragged)."""


def text_column(values: list[str | None]) -> pa.Array:
    """A string array where empty cells are missing."""
    arr = pa.array(values, pa.string())
    if arr.null_count == len(arr):
        return arr
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def rows_to_columns(rows: list[list[str | None]], ncols: int) -> list[pa.Array]:
    """Row lists (padded to `ncols` already) to string columns."""
    if not rows:
        return [pa.array([], pa.string()) for _ in range(ncols)]
    return [text_column(list(values)) for values in zip(*rows, strict=True)]


def pad(row: list[str | None], ncols: int) -> list[str | None]:
    if len(row) < ncols:
        return row + [None] * (ncols - len(row))
    return row[:ncols]
