"""Turn failures from the parsing libraries into messages a user can act on (never a traceback)."""

from __future__ import annotations

import csv
import json
import logging
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

from hydroml.services.errors import InvalidInput

log = logging.getLogger(__name__)


def describe(exc: BaseException) -> str:
    """A one-line reason for a library error, without paths or stack frames."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


@contextmanager
def friendly_errors() -> Iterator[None]:
    try:
        yield
    except InvalidInput:
        raise
    except FileNotFoundError as exc:
        raise InvalidInput(
            "file", "The uploaded file is no longer available. Please upload it again."
        ) from exc
    except MemoryError as exc:
        raise InvalidInput(
            "file",
            "The server ran out of memory reading this file. Try a smaller file or ask an administrator.",
        ) from exc
    except UnicodeError as exc:
        raise InvalidInput(
            "encoding",
            "Part of the file is not valid text in the chosen encoding. Choose another encoding in the import "
            "settings (files saved by Excel on Windows are often cp1252) and try again.",
        ) from exc
    except (
        pa.ArrowException,
        csv.Error,
        json.JSONDecodeError,
        zipfile.BadZipFile,
        ValueError,
        KeyError,
    ) as exc:
        log.warning("import failed: %r", exc, exc_info=True)
        raise InvalidInput(
            "file",
            f"The file could not be read ({describe(exc)}). Check the import settings or the file itself.",
        ) from exc
    except OSError as exc:
        log.warning("import failed: %r", exc, exc_info=True)
        raise InvalidInput(
            "file",
            "The server could not read or write the file (the disk may be full). Please try again later.",
        ) from exc
