"""Credentials of database connections, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

Keys come from ``HYDROML_FERNET_KEY``: a comma-separated list of keys (``Fernet.generate_key()``); the first
encrypts, every one decrypts. Rotation: put a new key first (``NEW,OLD``), call `rotate_all` (every stored
secret is re-encrypted with the new key), then drop the old key from the list.

Without the variable a key is generated into ``<data_dir>/fernet.key`` (mode 0600) on first use, with a
warning: fine for a laptop, but in production set HYDROML_FERNET_KEY and keep a copy of it, since losing the
key means re-entering every connection password. To move from the generated file to the variable, set
``HYDROML_FERNET_KEY=NEW,<contents of fernet.key>``, call `rotate_all`, then keep only ``NEW``.

Nothing here logs or puts into a message a key, a password or a token.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlmodel import select

from hydroml.db import session_scope
from hydroml.models import DatabaseConnection
from hydroml.services.errors import ServiceError
from hydroml.settings import get_settings

logger = logging.getLogger(__name__)

KEY_FILE_NAME = "fernet.key"
UNREADABLE = (
    "The stored credentials cannot be read with the current key (HYDROML_FERNET_KEY). Restore the key they "
    "were saved with, or enter the password again."
)

_lock = threading.Lock()
_warned: set[Path] = set()


class KeyConfigError(ServiceError):
    """HYDROML_FERNET_KEY (or the key file) is not usable; the message never contains a key."""


def generate_key() -> str:
    """A new random key, as HYDROML_FERNET_KEY expects it."""
    return Fernet.generate_key().decode("ascii")


def key_file() -> Path:
    return get_settings().data_dir / KEY_FILE_NAME


def _keys() -> tuple[str, ...]:
    """The configured keys, first one encrypting; the generated key file when the variable is empty."""
    raw = get_settings().fernet_keys
    keys = tuple(item.strip() for item in raw.split(",") if item.strip())
    if keys:
        return keys
    return (_file_key(key_file()),)


def _file_key(path: Path) -> str:
    with _lock:
        created = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(generate_key() + "\n")
            created = True
        if (path.stat().st_mode & 0o077) != 0:  # someone loosened it: only the app's user may read the key
            os.chmod(path, 0o600)
        key = path.read_text().strip()
        if path not in _warned:
            _warned.add(path)
            what = "generated a new key into" if created else "using the generated key in"
            logger.warning(
                "HYDROML_FERNET_KEY is not set: %s %s to encrypt database connection passwords. "
                "Set HYDROML_FERNET_KEY in production (and keep a copy: without the key the stored "
                "passwords cannot be read).",
                what,
                path,
            )
        return key


@lru_cache(maxsize=8)
def _multi(keys: tuple[str, ...]) -> MultiFernet:
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode("ascii")))
        except (ValueError, TypeError, UnicodeEncodeError):
            raise KeyConfigError(
                f"Key {position} of HYDROML_FERNET_KEY (or the key file) is not a valid Fernet key: each key "
                "must be 32 url-safe base64-encoded bytes, as made by Fernet.generate_key()."
            ) from None
    return MultiFernet(fernets)


def _fernet() -> MultiFernet:
    return _multi(_keys())


def encrypt(text: str) -> str:
    """The Fernet token of ``text`` under the first key."""
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The text of a token made by `encrypt` with any configured key; ServiceError when none fits."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise ServiceError(UNREADABLE) from None


def rotate_all() -> int:
    """Re-encrypt every stored secret with the first key; returns how many were re-encrypted.

    All or nothing: if one secret cannot be read with any configured key, nothing changes and ServiceError
    names that connection (by project and name, never by secret).
    """
    fernet = _fernet()
    count = 0
    with session_scope() as db:
        rows = db.exec(select(DatabaseConnection).where(DatabaseConnection.secret_encrypted != "")).all()
        for row in rows:
            try:
                token = fernet.rotate(row.secret_encrypted.encode("ascii")).decode("ascii")
            except (InvalidToken, UnicodeError):
                raise ServiceError(
                    f"The password of connection '{row.name}' (project {row.project_id}) cannot be read with "
                    "any configured key; nothing was re-encrypted."
                ) from None
            # A Core update, so `updated_at` (the engine cache key) stays: the password did not change.
            db.exec(
                DatabaseConnection.__table__.update()
                .where(DatabaseConnection.__table__.c.id == row.id)
                .values(secret_encrypted=token, updated_at=DatabaseConnection.__table__.c.updated_at)
            )
            count += 1
    logger.info("re-encrypted %d stored connection secrets with the first key", count)
    return count
