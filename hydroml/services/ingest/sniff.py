"""Look at a file's bytes: which container it is (Parquet, Excel, ZIP...), or which text encoding it uses."""

from __future__ import annotations

import codecs
import json
import zipfile
from pathlib import Path

from hydroml.services.errors import InvalidInput

HEAD_BYTES = 256 * 1024
TAIL_BYTES = 64 * 1024

PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
UTF8_BOM = codecs.BOM_UTF8
_OTHER_BINARIES = {
    b"\x1f\x8b": "a compressed (gzip) file: decompress it and upload the file inside",
    b"BZh": "a compressed (bzip2) file: decompress it and upload the file inside",
    b"\xfd7zXZ": "a compressed (xz) file: decompress it and upload the file inside",
    b"7z\xbc\xaf": "a 7-Zip archive: extract it and upload the file inside",
    b"Rar!": "a RAR archive: extract it and upload the file inside",
    b"%PDF": "a PDF document: export the table from it as CSV or Excel first",
    b"\x89PNG": "a PNG image, not a table",
    b"\xff\xd8\xff": "a JPEG image, not a table",
    b"SQLite format 3": "an SQLite database: use a database connection or export the table as CSV",
    b"\x89HDF": "an HDF5/NetCDF-4 file: export the variables you need as CSV or Parquet",
    b"CDF\x01": "a NetCDF file: export the variables you need as CSV or Parquet",
    b"CDF\x02": "a NetCDF file: export the variables you need as CSV or Parquet",
}
BINARY_MESSAGE = (
    "This file does not look like CSV, Excel, Parquet or JSON (it contains binary data). "
    "Export your table as CSV or Excel and upload that file."
)
EMPTY_MESSAGE = "The file is empty."
BLANK_MESSAGE = "The file contains only blank lines. Choose a file with a table in it."


def read_probe(path: Path) -> tuple[bytes, bytes]:
    """The first HEAD_BYTES and (for big files) the last TAIL_BYTES."""
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
        tail = b""
        size = handle.seek(0, 2)
        if size > HEAD_BYTES:
            handle.seek(max(HEAD_BYTES, size - TAIL_BYTES))
            tail = handle.read(TAIL_BYTES)
    return head, tail


def container_kind(path: Path, head: bytes) -> str | None:
    """'parquet', 'xlsx', 'xls' or None for anything else (text, or unknown); raises for known non-tables."""
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(OLE_MAGIC):
        return "xls"
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError) as exc:
            raise InvalidInput("file", "This file is a damaged ZIP/Excel file and cannot be opened.") from exc
        if "xl/workbook.xml" in names:
            return "xlsx"
        if any(name.endswith(".ods") or name == "content.xml" for name in names):
            raise InvalidInput(
                "file",
                "This is an OpenDocument spreadsheet (.ods). Save it as .xlsx or CSV and upload that file.",
            )
        raise InvalidInput(
            "file",
            "This is a ZIP archive, not a spreadsheet. Unzip it and upload the CSV or Excel file inside.",
        )
    for magic, what in _OTHER_BINARIES.items():
        if head.startswith(magic):
            raise InvalidInput("file", f"This file is {what}.")
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    probe = head[:4096]
    if len(probe) < 4:
        return None
    even_zeros = probe[0::2].count(0) / len(probe[0::2])
    odd_zeros = probe[1::2].count(0) / len(probe[1::2])
    if odd_zeros > 0.4 and even_zeros < 0.05:
        return "utf-16-le"
    if even_zeros > 0.4 and odd_zeros < 0.05:
        return "utf-16-be"
    return None


def _is_utf8(head: bytes, tail: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":  # a character cut at the end of the probe is fine
            return False
    if tail:
        start = 0
        while start < min(4, len(tail)) and 0x80 <= tail[start] <= 0xBF:  # skip a cut character at the start
            start += 1
        try:
            tail[start:].decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data":
                return False
    return True


def _mostly_latin(text: str) -> bool:
    """cp1252 decodes every byte; Cyrillic or Greek single-byte text decoded as cp1252 is mostly accented
    letters in a row, while Western text has a few accented letters among plain ones."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return True
    accented = sum(1 for ch in letters if ord(ch) > 127)
    return accented / len(letters) < 0.3


def _single_byte_encoding(sample: bytes) -> str:
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None and _mostly_latin(text):
        return "cp1252"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is not None:
        return normalize_encoding(best.encoding)
    return "latin-1"


def normalize_encoding(name: str) -> str:
    canonical = codecs.lookup(name).name
    return {"utf-8": "utf-8", "iso8859-1": "latin-1", "ascii": "utf-8"}.get(canonical, canonical)


def detect_encoding(head: bytes, tail: bytes = b"") -> str:
    """The text encoding of a file; raises InvalidInput for binary data."""
    if head.startswith(UTF8_BOM):
        encoding = "utf-8"
    elif head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        encoding = "utf-32"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif (utf16 := _utf16_without_bom(head)) is not None:
        encoding = utf16
    elif b"\x00" in head or b"\x00" in tail:
        raise InvalidInput("file", BINARY_MESSAGE)
    elif _is_utf8(head, tail):
        encoding = "utf-8"
    else:
        encoding = _single_byte_encoding(head + tail)
    text = decode_probe(head, encoding)
    if _control_ratio(text) > 0.01:
        raise InvalidInput("file", BINARY_MESSAGE)
    return encoding


def decode_probe(head: bytes, encoding: str) -> str:
    """Decode the probe, dropping a character cut at its end and a byte-order mark."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(head, final=False)
    return text.lstrip("\ufeff")


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    sample = text[:65536]
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\n\r\f\v") or ch in "\x7f\ufffd")
    return bad / len(sample)


def text_kind(text: str) -> tuple[str, bool]:
    """('json', json_lines) for JSON text, ('csv', False) for anything else."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        return "json", False
    if stripped.startswith("{"):
        lines = [line.strip() for line in stripped.split("\n", 2)[:2] if line.strip()]
        try:
            first = json.loads(lines[0])
        except ValueError:
            return "json", False  # one object over several lines, e.g. {"data": [...]}
        if not isinstance(first, dict):
            return "json", False
        holds_records = any(
            isinstance(value, list) and value and isinstance(value[0], dict) for value in first.values()
        )
        return "json", len(lines) > 1 or not holds_records
    return "csv", False
