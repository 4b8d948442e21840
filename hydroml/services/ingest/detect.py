"""Guess the import settings of an uploaded file: format, encoding, delimiter, decimal, header row, dates."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

from hydroml.services.errors import InvalidInput
from hydroml.services.ingest import sniff
from hydroml.services.ingest.friendly import friendly_errors
from hydroml.services.ingest.settings import ImportSettings

DELIMITERS = (",", ";", "\t", "|")
MAX_LINES = 500

EXTENSION_KINDS = {
    **dict.fromkeys(("csv", "tsv", "tab"), "csv"),
    **dict.fromkeys(("txt", "dat", "asc", "prn", "text"), "text"),
    **dict.fromkeys(("json", "jsonl", "ndjson"), "json"),
    **dict.fromkeys(("xlsx", "xlsm", "xls"), "excel"),
    **dict.fromkeys(("parquet", "pq"), "parquet"),
}
_KIND_LABEL = {
    "csv": "CSV text",
    "json": "JSON",
    "excel": "an Excel workbook",
    "parquet": "a Parquet file",
}

_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}([.,' ]\d{3})+([.,]\d+)?$")
_DATE = re.compile(
    r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_DAY_MONTH = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{2}|\d{4})\b")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_DOT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")
_EU_GROUPED = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d+$")
_US_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_BOOL = {"true", "false", "yes", "no"}


def extension(name: str) -> str:
    base = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def _mismatch(ext: str, actual: str, hint: str) -> InvalidInput:
    return InvalidInput(
        "file",
        f"This file is named .{ext} but it is not {_KIND_LABEL[EXTENSION_KINDS[ext]]}: it contains {hint}. "
        "Rename it with the right extension (or save it again in the right format) and upload it again.",
    )


def detect_settings(path: Path, original_name: str) -> ImportSettings:
    """Settings that read this file correctly in most cases; the preview lets the user correct them."""
    path = Path(path)
    with friendly_errors():
        if not path.is_file():
            raise InvalidInput("file", "The uploaded file is no longer available. Please upload it again.")
        if path.stat().st_size == 0:
            raise InvalidInput("file", sniff.EMPTY_MESSAGE)
        ext = extension(original_name)
        expected = EXTENSION_KINDS.get(ext)
        head, tail = sniff.read_probe(path)
        kind = sniff.container_kind(path, head)
        if kind == "parquet":
            if expected not in (None, "parquet"):
                raise _mismatch(ext, "parquet", "Parquet data (rename it to .parquet)")
            return ImportSettings(format="parquet")
        if kind in ("xlsx", "xls"):
            if expected not in (None, "excel"):
                raise _mismatch(ext, "excel", f"an Excel workbook (rename it to .{kind})")
            return _detect_excel(path)
        encoding = sniff.detect_encoding(head, tail)
        text = sniff.decode_probe(head, encoding)
        if not text.strip():
            raise InvalidInput("file", sniff.BLANK_MESSAGE)
        content, json_lines = sniff.text_kind(text)
        if expected in ("excel", "parquet"):
            what = "JSON text" if content == "json" else "plain text (it looks like CSV)"
            raise _mismatch(ext, content, what)
        if expected == "csv":
            content, json_lines = "csv", False
        if expected == "json" and content != "json":
            raise _mismatch(ext, content, "plain text that is not JSON (it looks like CSV)")
        if content == "json":
            return ImportSettings(format="json", encoding=encoding, json_lines=json_lines)
        truncated = len(head) >= sniff.HEAD_BYTES
        return _detect_csv(text, encoding, prefer_tab=ext in ("tsv", "tab"), truncated=truncated)


# ---------------------------------------------------------------------------------------------- csv


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter, quotechar='"', strict=False), [])
    except csv.Error:
        return [line]


def _choose_delimiter(lines: list[str], prefer_tab: bool) -> tuple[str, int]:
    """The delimiter giving the most consistent number (> 1) of fields per line, and that number."""
    content = [line for line in lines if line.strip()]
    order = ("\t", ",", ";", "|") if prefer_tab else DELIMITERS
    best: tuple[tuple, str, int] | None = None
    for rank, delimiter in enumerate(order):
        counts = [len(_split(line, delimiter)) for line in content]
        if not counts:
            continue
        frequency = Counter(counts)
        width, hits = max(frequency.items(), key=lambda item: (item[1], item[0]))
        if width < 2:
            continue
        consistency = hits / len(counts)
        comma_decimals = delimiter == ";" and any(
            _COMMA_DECIMAL.match(field.strip()) for line in content[:50] for field in _split(line, ";")
        )
        score = (round(consistency, 2), comma_decimals, width, -rank)
        if best is None or score > best[0]:
            best = (score, delimiter, width)
    if best is None:
        return ("\t" if prefer_tab else ","), 1
    return best[1], best[2]


def _table_start(lines: list[str], delimiter: str, width: int) -> int:
    """Physical lines before the table: a preamble of short lines (station name, units, '# ...')."""
    if width < 2:
        return 0
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        count = len(_split(line, delimiter))
        if count == 1 or count < width / 2 or line.lstrip().startswith("#"):
            continue
        return index
    return 0


def _kind(value: str) -> str:
    text = value.strip()
    if not text:
        return "empty"
    if _NUMBER.match(text) or _GROUPED_NUMBER.match(text):
        return "number"
    if _DATE.match(text):
        return "date"
    if text.lower() in _BOOL:
        return "bool"
    return "text"


def has_header(rows: list[list[str]]) -> bool:
    """Most files have a header, so the first row is one unless it holds only numbers, dates (and blanks).
    A wrong guess shows plainly in the preview, where the user can change it."""
    if not rows:
        return True
    kinds = {_kind(value) for value in rows[0]}
    return "text" in kinds or not kinds & {"number", "date"}


def _number_style(values: list[str], delimiter: str) -> tuple[str, str | None]:
    comma = sum(1 for v in values if _COMMA_DECIMAL.match(v))
    dot = sum(1 for v in values if _DOT_DECIMAL.match(v))
    eu_grouped = sum(1 for v in values if _EU_GROUPED.match(v))
    us_grouped = sum(1 for v in values if _US_GROUPED.match(v) and ("." in v or v.count(",") > 1))
    if delimiter != "," and (comma + eu_grouped) > dot:
        return ",", ("." if eu_grouped else None)
    if us_grouped and not comma:
        return ".", ","
    return ".", None


def _dayfirst(values: list[str], decimal: str) -> bool:
    day_first = month_first = 0
    separators = Counter()
    for value in values:
        match = _DAY_MONTH.match(value)
        if not match:
            continue
        first, second = int(match.group(1)), int(match.group(3))
        separators[match.group(2)] += 1
        if first > 12 >= second:
            day_first += 1
        elif second > 12 >= first:
            month_first += 1
    if day_first or month_first:
        return day_first >= month_first
    if separators:
        return separators.most_common(1)[0][0] == "." or decimal == ","
    return decimal == ","


def _detect_csv(text: str, encoding: str, prefer_tab: bool, truncated: bool) -> ImportSettings:
    lines = text.splitlines()
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # the probe may cut the last line
    lines = lines[:MAX_LINES]
    delimiter, width = _choose_delimiter(lines, prefer_tab)
    start = _table_start(lines, delimiter, width)
    rows = [_split(line, delimiter) for line in lines[start:] if line.strip()]
    header = has_header(rows)
    values = [value.strip() for row in rows[1 if header else 0 :] for value in row]
    decimal, thousands = _number_style(values, delimiter)
    return ImportSettings(
        format="csv",
        encoding=encoding,
        delimiter=delimiter,
        decimal=decimal,
        thousands=thousands,
        header_row=0 if header else None,
        skip_rows=start,
        dayfirst=_dayfirst(values, decimal),
    )


# ---------------------------------------------------------------------------------------------- excel


def _detect_excel(path: Path) -> ImportSettings:
    from hydroml.services.ingest.excel_reader import ExcelSource, first_rows

    settings = ImportSettings(format="excel")
    source = ExcelSource(path, settings)
    sheets, rows = first_rows(source, MAX_LINES)
    if not sheets:
        raise InvalidInput("file", "This Excel workbook has no sheets.")
    settings.sheet = sheets[0]
    filled = [(number, cells) for number, cells in rows if any(cell is not None for cell in cells)]
    if not filled:
        for sheet in sheets[1:]:  # the first sheet is empty: take the first one with data
            candidate = ImportSettings(format="excel", sheet=sheet)
            _, rows = first_rows(ExcelSource(path, candidate), MAX_LINES)
            filled = [(number, cells) for number, cells in rows if any(cell is not None for cell in cells)]
            if filled:
                settings.sheet = sheet
                break
    if not filled:
        return settings
    widths = Counter(sum(1 for cell in cells if cell is not None) for _, cells in filled)
    width = max(widths.items(), key=lambda item: (item[1], item[0]))[0]
    start_number = filled[0][0]
    if width >= 2:
        for number, cells in filled:
            if sum(1 for cell in cells if cell is not None) >= 2:
                start_number = number
                break
    settings.skip_rows = start_number - 1
    table = [[cell or "" for cell in cells] for number, cells in filled if number >= start_number]
    header = has_header(table)
    settings.header_row = 0 if header else None
    values = [value for row in table[1 if header else 0 :] for value in row]
    settings.dayfirst = _dayfirst(values, ".")
    return settings
