"""Delimited text: pyarrow's streaming CSV reader (every column as text, converted afterwards), and a tolerant
Python reader for files whose rows have different numbers of values (short rows are padded with missing)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from hydroml.services.errors import InvalidInput
from hydroml.services.ingest import sniff
from hydroml.services.ingest.source import (
    BATCH_ROWS,
    NeedsTolerantRead,
    RawSample,
    RowsWanted,
    Source,
    pad,
    rows_to_columns,
)

SAMPLE_BLOCK = 1 << 20
IMPORT_BLOCK = 1 << 20
MAX_BLOCK = 1 << 28
MAX_RAGGED_LINES_SHOWN = 5

_ESCAPED = re.compile("[\udc80-\udcff]")

csv.field_size_limit(max(csv.field_size_limit(), 1 << 27))


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"


def encoding_message(encoding: str) -> str:
    return (
        f"Part of the file is not valid {encoding} text. Choose another encoding in the import settings "
        "(files saved by Excel on Windows are often cp1252 / Windows-1252) and try again."
    )


class CsvSource(Source):
    def __init__(self, path, settings) -> None:
        super().__init__(path, settings)
        with open(self.path, "rb") as handle:
            head = handle.read(4096)
        kind = sniff.container_kind(self.path, head)
        if kind is not None:
            label = {"parquet": "a Parquet file", "xlsx": "an Excel workbook", "xls": "an Excel workbook"}[
                kind
            ]
            fmt = "Parquet" if kind == "parquet" else "Excel"
            raise InvalidInput("format", f"This file is {label}, not CSV text. Choose the {fmt} format.")
        self.python_encoding = "utf-8-sig" if _is_utf8(settings.encoding) else settings.encoding
        self.arrow_encoding = "utf8" if _is_utf8(settings.encoding) else settings.encoding

    # ------------------------------------------------------------------------------------------ python side

    def _open_text(self, errors: str = "strict") -> io.TextIOWrapper:
        return open(self.path, encoding=self.python_encoding, newline="", errors=errors)

    def _records(self, handle: io.TextIOWrapper) -> tuple[Any, Iterator[list[str]]]:
        for _ in range(self.settings.rows_before_header):
            if not handle.readline():
                break
        reader = csv.reader(
            handle, delimiter=self.settings.delimiter, quotechar='"', doublequote=True, strict=False
        )
        return reader, (record for record in reader if record)

    def _header(self) -> tuple[list[str] | None, int, int]:
        """(header fields or None, physical lines before the data, fields in the first row)."""
        try:
            # Text is decoded in chunks: bad bytes further down must not fail the header, so they are
            # escaped here and only the header itself has to be valid.
            with self._open_text(errors="surrogateescape") as handle:
                reader, records = self._records(handle)
                first = next(records, None)
                lines = self.settings.rows_before_header
                if first is None:
                    return (None if self.settings.header_row is None else []), lines, 0
                if self.settings.header_row is None:
                    return None, lines, len(first)
                if any(_ESCAPED.search(field) for field in first):
                    raise InvalidInput("encoding", encoding_message(self.settings.encoding))
                return first, lines + reader.line_num, len(first)
        except UnicodeDecodeError as exc:
            raise InvalidInput("encoding", encoding_message(self.settings.encoding)) from exc
        except csv.Error as exc:
            raise InvalidInput("file", f"The file could not be read as CSV ({exc}).") from exc

    def _python_rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number of its last line, record) for every data row, as Python's csv module reads it."""
        try:
            with self._open_text() as handle:
                reader, records = self._records(handle)
                if self.settings.header_row is not None:
                    next(records, None)
                base = self.settings.rows_before_header
                for record in records:
                    yield base + reader.line_num, record
        except UnicodeDecodeError as exc:
            raise InvalidInput("encoding", encoding_message(self.settings.encoding)) from exc
        except csv.Error as exc:
            raise InvalidInput("file", f"The file could not be read as CSV ({exc}).") from exc

    # ------------------------------------------------------------------------------------------ arrow side

    def _arrow_reader(self, ncols: int, skip: int, block_size: int, handler, source=None):
        names = [f"c{i}" for i in range(ncols)]
        read_options = pacsv.ReadOptions(
            encoding=self.arrow_encoding,
            skip_rows=skip,
            column_names=names,
            block_size=block_size,
            use_threads=True,
        )
        parse_options = pacsv.ParseOptions(
            delimiter=self.settings.delimiter,
            quote_char='"',
            double_quote=True,
            newlines_in_values=True,
            ignore_empty_lines=True,
            invalid_row_handler=handler,
        )
        convert_options = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )
        return pacsv.open_csv(
            source if source is not None else str(self.path),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )

    def _open_arrow(self, ncols: int, skip: int, block_size: int, handler, source=None):
        """Open the streaming reader, growing the block when a single row is larger than a block."""
        while True:
            try:
                return self._arrow_reader(ncols, skip, block_size, handler, source)
            except pa.ArrowInvalid as exc:
                if not _straddling(exc) or block_size >= MAX_BLOCK:
                    raise
                block_size *= 4
                if source is not None:
                    source.seek(0)

    # ------------------------------------------------------------------------------------------ api

    def sample(self, rows_wanted: RowsWanted) -> RawSample:
        header, skip, first_width = self._header()
        if header is not None and not header and first_width == 0:
            return RawSample(header=[], columns=[])
        ncols = len(header) if header is not None else first_width
        if ncols == 0:
            return RawSample(header=header, columns=[])
        wanted = rows_wanted(ncols)
        ragged_lines: list[int | None] = []

        def on_invalid(row) -> str:
            ragged_lines.append(row.number)
            return "skip"

        batches: list[pa.RecordBatch] = []
        got = 0
        try:
            reader = self._open_arrow(ncols, skip, SAMPLE_BLOCK, on_invalid)
            for batch in reader:
                batches.append(batch)
                got += batch.num_rows
                if got >= wanted or ragged_lines:
                    break
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            if not _straddling(exc):
                raise _arrow_error(exc, self.settings.encoding) from exc
            ragged_lines.append(None)  # a row longer than a block: the Python reader has no such limit
        if ragged_lines:
            return self._tolerant_sample(header, ncols, wanted)
        table = pa.Table.from_batches(batches, schema=reader.schema).slice(0, wanted)
        return RawSample(header=header, columns=[column.combine_chunks() for column in table.columns])

    def _tolerant_sample(self, header: list[str] | None, ncols: int, wanted: int) -> RawSample:
        rows: list[list[str]] = []
        short: list[int | None] = []
        long: list[int | None] = []
        for line, record in self._python_rows():
            if len(rows) >= wanted:
                break
            if len(record) < ncols:
                short.append(line)
            elif len(record) > ncols:
                long.append(line)
            rows.append(record)
        width = max([ncols, *(len(record) for record in rows)])
        notes = []
        if short:
            notes.append(
                f"{len(short)} row(s) have fewer values than there are columns (line {_lines(short)}): "
                "their last cells are left empty."
            )
        if long:
            notes.append(
                f"{len(long)} row(s) have more values than the header (line {_lines(long)}): "
                f"the extra values are kept in extra columns."
            )
        columns = rows_to_columns([pad(list(record), width) for record in rows], width)
        return RawSample(header=header, columns=columns, notes=notes, ragged=True)

    def batches(
        self, sample: RawSample, ragged: bool | None = None
    ) -> Iterator[tuple[list[pa.Array], float]]:
        ncols = len(sample.columns)
        if sample.ragged if ragged is None else ragged:
            yield from self._tolerant_batches(ncols)
            return
        _, skip, _ = self._header()
        ragged_seen: list[int | None] = []

        def on_invalid(row) -> str:
            ragged_seen.append(row.number)
            return "skip"

        source = pa.OSFile(str(self.path))
        try:
            reader = self._open_arrow(ncols, skip, IMPORT_BLOCK, on_invalid, source)
            for batch in reader:
                if ragged_seen:
                    raise NeedsTolerantRead()
                yield batch.columns, min(1.0, source.tell() / max(self.size, 1))
            if ragged_seen:
                raise NeedsTolerantRead()
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            if _straddling(exc):
                raise NeedsTolerantRead() from exc
            raise _arrow_error(exc, self.settings.encoding) from exc
        finally:
            source.close()

    def _tolerant_batches(self, ncols: int) -> Iterator[tuple[list[pa.Array], float]]:
        rows: list[list[str]] = []
        handle_size = max(self.size, 1)
        line = 0
        for line, record in self._python_rows():
            if len(record) > ncols:
                if any(value.strip() for value in record[ncols:]):
                    raise InvalidInput(
                        "file",
                        f"Line {line:,} has {len(record)} values but the preview showed {ncols} columns. "
                        "Fix that line (or remove the extra values) and upload the file again.",
                    )
                record = record[:ncols]
            rows.append(pad(record, ncols))
            if len(rows) >= BATCH_ROWS:
                yield rows_to_columns(rows, ncols), min(0.99, self._approximate_fraction(line, handle_size))
                rows = []
        if rows:
            yield rows_to_columns(rows, ncols), 1.0

    def _approximate_fraction(self, line: int, size: int) -> float:
        # Python's text reader hides its byte position; estimate it from the average line length so far.
        if not hasattr(self, "_bytes_per_line"):
            with open(self.path, "rb") as handle:
                chunk = handle.read(1 << 20)
            self._bytes_per_line = max(1.0, len(chunk) / max(1, chunk.count(b"\n")))
        return line * self._bytes_per_line / size


def _straddling(exc: Exception) -> bool:
    """Arrow's error for a row (e.g. a long quoted text) that does not fit in one block."""
    return "straddl" in str(exc)


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(f"{n:,}" for n in numbers[:MAX_RAGGED_LINES_SHOWN])
    return shown + (", ..." if len(numbers) > MAX_RAGGED_LINES_SHOWN else "")


def _arrow_error(exc: Exception, encoding: str) -> InvalidInput:
    text = str(exc)
    if isinstance(exc, UnicodeDecodeError) or "UTF8" in text or "UTF-8" in text or "decode" in text.lower():
        return InvalidInput("encoding", encoding_message(encoding))
    first = text.splitlines()[0][:200] if text else "unknown problem"
    return InvalidInput(
        "file", f"The file could not be read as CSV ({first}). Check the delimiter and quotes."
    )
