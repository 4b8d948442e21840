"""Excel workbooks: .xlsx with openpyxl (formulas give their saved results; in a merged range only the first
cell has the value), .xls with xlrd. Cells become text that the shared converters turn into typed columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

from hydroml.services.errors import InvalidInput
from hydroml.services.ingest import sniff
from hydroml.services.ingest.source import BATCH_ROWS, RawSample, RowsWanted, Source, pad, rows_to_columns


def cell_text(value: object) -> str | None:
    """One cell as text the converters understand ('' and None are missing)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel stores every number as a float: 5.0 is the whole number 5.
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    text = str(value)
    return text if text != "" else None


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class ExcelSource(Source):
    def __init__(self, path, settings) -> None:
        super().__init__(path, settings)
        with open(self.path, "rb") as handle:
            head = handle.read(4096)
        try:
            kind = sniff.container_kind(self.path, head)
        except InvalidInput:
            kind = None
        if kind not in ("xlsx", "xls"):
            raise InvalidInput(
                "format",
                "This file is not an Excel workbook (.xlsx or .xls). Choose the format that matches it.",
            )
        self.kind = kind

    # ------------------------------------------------------------------------------------------ workbook access

    @contextmanager
    def _sheet_rows(self) -> Iterator[tuple[list[str], Iterator[tuple[int, list[object]]]]]:
        """(sheet names, iterator of (sheet row number, cell values)) for the chosen sheet."""
        if self.kind == "xlsx":
            with self._xlsx_rows() as result:
                yield result
        else:
            with self._xls_rows() as result:
                yield result

    @contextmanager
    def _xlsx_rows(self):
        import openpyxl

        try:
            workbook = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for damaged files
            raise InvalidInput(
                "file", "This Excel file is damaged or protected and cannot be opened."
            ) from exc
        try:
            sheets = list(workbook.sheetnames)
            sheet = self._choose_sheet(sheets)
            worksheet = workbook[sheet]
            worksheet.reset_dimensions()  # trust the cells, not the size the file claims
            rows = (
                (number, list(values))
                for number, values in enumerate(worksheet.iter_rows(values_only=True), 1)
            )
            yield sheets, rows
        finally:
            workbook.close()

    @contextmanager
    def _xls_rows(self):
        import xlrd

        try:
            book = xlrd.open_workbook(str(self.path), on_demand=True)
        except Exception as exc:
            raise InvalidInput(
                "file", "This old-style Excel file (.xls) is damaged or protected and cannot be opened."
            ) from exc
        try:
            sheets = book.sheet_names()
            sheet = book.sheet_by_name(self._choose_sheet(sheets))

            def value(cell) -> object:
                if cell.ctype == xlrd.XL_CELL_DATE:
                    try:
                        return xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)
                    except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                        return cell.value
                if cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    return bool(cell.value)
                if cell.ctype == xlrd.XL_CELL_ERROR:
                    return xlrd.error_text_from_code.get(cell.value, "#ERROR")
                if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    return None
                return cell.value

            rows = (
                (number + 1, [value(cell) for cell in sheet.row(number)]) for number in range(sheet.nrows)
            )
            yield sheets, rows
        finally:
            book.release_resources()

    def _choose_sheet(self, sheets: list[str]) -> str:
        if not sheets:
            raise InvalidInput("file", "This Excel workbook has no sheets.")
        if self.settings.sheet is None:
            return sheets[0]
        if self.settings.sheet not in sheets:
            raise InvalidInput(
                "sheet", f"There is no sheet called '{self.settings.sheet}'. Sheets: {', '.join(sheets)}."
            )
        return self.settings.sheet

    def _table_rows(self, rows: Iterator[tuple[int, list[object]]]):
        """(header cells or None, iterator of (row number, texts)) after skipped and empty rows."""
        skip = self.settings.rows_before_header
        texts = ((number, [cell_text(value) for value in values]) for number, values in rows if number > skip)
        non_empty = ((number, cells) for number, cells in texts if any(cell is not None for cell in cells))
        header = None
        if self.settings.header_row is not None:
            first = next(non_empty, None)
            header = first[1] if first is not None else []
        return header, non_empty

    # ------------------------------------------------------------------------------------------ api

    def sample(self, rows_wanted: RowsWanted) -> RawSample:
        with self._sheet_rows() as (sheets, rows):
            header, data = self._table_rows(rows)
            width_guess = _width(header or [])
            collected: list[list[str | None]] = []
            wanted = None
            for _, cells in data:
                collected.append(cells)
                if wanted is None:
                    wanted = rows_wanted(max(width_guess, _width(cells), 1))
                if len(collected) >= wanted:
                    break
        ncols = max([_width(header or []), *(_width(cells) for cells in collected)])
        header_cells = pad(list(header), ncols) if header is not None else None
        columns = rows_to_columns([pad(cells, ncols) for cells in collected], ncols)
        return RawSample(header=header_cells, columns=columns, sheets=sheets)

    def batches(self, sample: RawSample) -> Iterator[tuple[list[pa.Array], float]]:
        ncols = len(sample.columns)
        with self._sheet_rows() as (_, rows):
            _, data = self._table_rows(rows)
            batch: list[list[str | None]] = []
            for number, cells in data:
                if _width(cells) > ncols:
                    extra = next(i for i in range(ncols, len(cells)) if cells[i] is not None)
                    raise InvalidInput(
                        "file",
                        f"Cell {column_letter(extra)}{number} has a value outside the columns shown in the "
                        "preview. Give that column a header (or clear the cell) and upload the file again.",
                    )
                batch.append(pad(cells, ncols))
                if len(batch) >= BATCH_ROWS:
                    yield rows_to_columns(batch, ncols), 0.5
                    batch = []
            if batch:
                yield rows_to_columns(batch, ncols), 1.0


def _width(cells: list[str | None]) -> int:
    """Index of the last non-empty cell + 1."""
    for index in range(len(cells) - 1, -1, -1):
        if cells[index] is not None:
            return index + 1
    return 0


def first_rows(source: ExcelSource, count: int) -> tuple[list[str], list[tuple[int, list[str | None]]]]:
    """Sheet names and the first `count` rows of the chosen sheet (row number, texts) for detection."""
    with source._sheet_rows() as (sheets, rows):
        collected = []
        for number, values in rows:
            collected.append((number, [cell_text(value) for value in values]))
            if len(collected) >= count:
                break
    return sheets, collected
