"""Uploads land in a private staging folder under a safe name, copied in chunks with a hard size limit."""

from __future__ import annotations

import re
import shutil
import unicodedata
import uuid
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from hydroml.services.errors import InvalidInput
from hydroml.services.ingest.models import StagedFile

MAX_NAME_BYTES = 180
_WINDOWS_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}
_UNSAFE_CHARS = re.compile(r"[^\w \-.,()\[\]+@&#=]", re.UNICODE)
_EXTENSION = re.compile(r"^[A-Za-z0-9]{1,10}$")


def format_bytes(size: int) -> str:
    """1536 -> '1.5 KB', 2 * 1024**3 -> '2 GB' (binary units, as file managers show them)."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            if unit == "bytes":
                return f"{int(value)} bytes"
            return f"{value:.1f}".rstrip("0").rstrip(".") + f" {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _clean_part(text: str) -> str:
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")  # control, format, unassigned
    text = _UNSAFE_CHARS.sub("_", text)
    text = re.sub(r"\s+", " ", text)
    return text.strip(" ._")


def safe_filename(name: str) -> str:
    """A file name that is safe to create inside a folder: no directories, traversal or control characters.

    '../../etc/passwd' -> 'passwd'; '..%2F..%2Fetc%2Fpasswd.csv' -> 'passwd.csv'; never empty; keeps the extension.
    """
    text = str(name or "")
    for _ in range(3):  # percent-encoded (even twice) separators are still separators
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    text = unicodedata.normalize("NFKC", text)  # fullwidth slashes and dots become plain ones
    text = text.replace("\\", "/").replace("\x00", "")
    base = text.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    stem, ext = (base[:dot], base[dot + 1 :]) if dot >= 0 else (base, "")
    stem = _clean_part(stem)
    ext = ext.strip() if _EXTENSION.match(ext.strip()) else ""
    if not stem:
        stem = "upload"
    if stem.split(".")[0].lower() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    suffix = f".{ext}" if ext else ""
    while len((stem + suffix).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem.rstrip(" ._") + suffix if stem.rstrip(" ._") else "upload" + suffix


def stage_upload(
    source: BinaryIO, filename: str, staging_dir: Path, max_bytes: int, chunk_size: int = 1 << 20
) -> StagedFile:
    """Copy an upload to staging_dir/<uuid>/<safe name>, refusing it as soon as it passes `max_bytes`."""
    folder = Path(staging_dir) / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=False)
    target = folder / safe_filename(filename)
    written = 0
    try:
        with open(target, "wb") as out:
            while True:
                chunk = source.read(chunk_size)
                if not chunk:
                    break
                written += len(chunk)
                if written > max_bytes:
                    raise InvalidInput(
                        "file",
                        f"The file is larger than the {format_bytes(max_bytes)} limit. "
                        "Split it into smaller files, or ask an administrator to raise the upload limit.",
                    )
                out.write(chunk)
        if written == 0:
            raise InvalidInput("file", "The file is empty.")
    except InvalidInput:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise InvalidInput(
            "file",
            "The upload could not be stored on the server (the disk may be full). Please try again later.",
        ) from exc
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return StagedFile(path=target, original_name=str(filename or ""), size_bytes=written)
