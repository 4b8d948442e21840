"""A connection that cannot write and whose statements are cancelled after a timeout, per dialect.

- PostgreSQL: ``SET TRANSACTION READ ONLY`` and ``SET LOCAL statement_timeout`` inside the transaction (both end
  with it, nothing leaks into the pool).
- MariaDB / MySQL: ``SET SESSION TRANSACTION READ ONLY`` before the transaction starts and
  ``max_statement_time`` (MariaDB, seconds) or ``max_execution_time`` (MySQL, ms, SELECT only); the session
  values are restored afterwards (the connection is discarded if that fails).
- SQLite: opening the file read-only (``file:...?mode=ro`` with ``uri=true``) is the caller's job; here
  ``PRAGMA query_only`` as a second guard and a progress handler that aborts statements after the timeout.

The transaction is always rolled back. A statement cancelled by the timeout raises :class:`QueryTimeout`; other
driver errors pass through unchanged and :func:`explain_db_error` turns them into plain words that never
include credentials or the connection URL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from hydroml.services.errors import ServiceError

SQLITE_PROGRESS_OPS = 10_000  # virtual machine instructions between two checks of the deadline


class QueryTimeout(ServiceError):
    """The database cancelled the statement because it ran longer than the allowed time."""


class QueryFailed(ServiceError):
    """Any other database error, already explained in plain words (see ``explained``)."""


def _timeout_message(timeout_s: float) -> str:
    return (
        f"The query was stopped after {timeout_s:g} seconds (the time limit). Narrow it down with conditions "
        "or a lower row limit."
    )


def _is_mariadb(conn: sa.Connection) -> bool:
    flag = getattr(conn.dialect, "is_mariadb", None)
    if flag is not None:
        return bool(flag)
    version = conn.exec_driver_sql("SELECT VERSION()").scalar() or ""
    return "mariadb" in str(version).lower()


@contextmanager
def read_only(engine: sa.Engine, timeout_s: float = 30) -> Iterator[sa.Connection]:
    """A connection inside a read-only transaction whose statements are cancelled after ``timeout_s``."""
    if timeout_s <= 0:
        raise ValueError("timeout_s must be positive")
    dialect = engine.dialect.name
    with engine.connect() as conn:
        restore: list[str] = []
        sqlite_state: dict = {}
        try:
            if dialect == "postgresql":
                if getattr(conn.connection.driver_connection, "autocommit", False):  # an AUTOCOMMIT engine
                    conn = conn.execution_options(isolation_level="READ COMMITTED")
                millis = max(1, int(timeout_s * 1000))
                state = conn.exec_driver_sql(
                    f"SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {millis}; "
                    "SHOW transaction_read_only"
                ).scalar()
                if state != "on":  # never run a user's statement in a transaction that could write
                    raise RuntimeError("could not start a read-only transaction")
            elif dialect in ("mysql", "mariadb"):
                mariadb = _is_mariadb(conn)
                conn.rollback()  # whatever the probe began; the settings below apply to the next transaction
                conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
                restore.append("SET SESSION TRANSACTION READ WRITE")
                if mariadb:
                    conn.exec_driver_sql(f"SET SESSION max_statement_time = {float(timeout_s):.3f}")
                    restore.append("SET SESSION max_statement_time = DEFAULT")
                else:
                    conn.exec_driver_sql(f"SET SESSION max_execution_time = {max(1, int(timeout_s * 1000))}")
                    restore.append("SET SESSION max_execution_time = DEFAULT")
                conn.rollback()
            elif dialect == "sqlite":
                _sqlite_guard(conn, timeout_s, sqlite_state)
            yield conn
        except sa.exc.DBAPIError as exc:
            if is_timeout(exc) or sqlite_state.get("fired"):
                raise QueryTimeout(_timeout_message(timeout_s)) from None
            raise
        finally:
            _finish(conn, restore, sqlite_state)


def _sqlite_guard(conn: sa.Connection, timeout_s: float, state: dict) -> None:
    raw = conn.connection.driver_connection
    deadline = time.monotonic() + timeout_s

    def handler() -> int:
        if time.monotonic() > deadline:
            state["fired"] = True
            return 1  # non-zero: SQLite interrupts the running statement
        return 0

    raw.execute("PRAGMA query_only = ON")
    raw.set_progress_handler(handler, SQLITE_PROGRESS_OPS)
    state["raw"] = raw


def _finish(conn: sa.Connection, restore: list[str], sqlite_state: dict) -> None:
    try:
        conn.rollback()
    except sa.exc.DBAPIError:
        conn.invalidate()
        return
    try:
        for statement in restore:
            conn.exec_driver_sql(statement)
        if restore:
            conn.commit()
        raw = sqlite_state.get("raw")
        if raw is not None:
            raw.set_progress_handler(None, 0)
            raw.execute("PRAGMA query_only = OFF")
    except Exception:  # never hand a connection with read-only settings (or none restored) back to the pool
        conn.invalidate()


# ---------------------------------------------------------------- errors in plain words

_PG_TIMEOUT = {"57014"}  # query_canceled (statement_timeout)
_MYSQL_TIMEOUT = {1969, 3024, 1317, 1028}  # MariaDB max_statement_time, MySQL max_execution_time, interrupted


def _orig(exc: BaseException) -> BaseException:
    return getattr(exc, "orig", None) or exc


def _pg_code(err: BaseException) -> str | None:
    return getattr(err, "pgcode", None) or getattr(err, "sqlstate", None)


def _mysql_code(err: BaseException) -> int | None:
    args = getattr(err, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


def _first_line(err: BaseException) -> str:
    diag = getattr(err, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if primary:
        return str(primary)
    args = getattr(err, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):
        return str(args[1])
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def is_timeout(exc: BaseException) -> bool:
    err = _orig(exc)
    if _pg_code(err) in _PG_TIMEOUT:
        return True
    if _mysql_code(err) in _MYSQL_TIMEOUT:
        return True
    text = str(err).lower()
    if text == "interrupted":  # SQLite: only a progress handler or an interrupt() stops a statement so
        return True
    return "statement timeout" in text or "max_statement_time" in text or "max_execution_time" in text


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_PASSWORD = re.compile(r"(password\s*[=:]\s*)\S+", re.IGNORECASE)
_USER_AT_HOST = re.compile(r"(user\s*)?['\"`]?[\w.$-]+['\"`]?@['\"`]?[\w.:%-]+['\"`]?", re.IGNORECASE)


_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_IPV6 = re.compile(r"\b(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\b", re.IGNORECASE)
_NAMED = re.compile(r"\b(server at|host|user|role|database)\s+(\"[^\"]*\"|'[^']*')", re.IGNORECASE)


def _scrub(text: str, secrets: Iterable[str]) -> str:
    text = _URL.sub("<connection>", text)
    text = _PASSWORD.sub(r"\1***", text)
    text = _USER_AT_HOST.sub("<user>", text)
    text = _NAMED.sub(r"\1 <hidden>", text)
    text = _IPV4.sub("<host>", text)
    text = _IPV6.sub("<host>", text)
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text[:300]


def _position_hint(err: BaseException) -> str:
    """ "at character N" (PostgreSQL) or "near '...' at line N" (MariaDB/MySQL) or 'near "x"' (SQLite)."""
    diag = getattr(err, "diag", None)
    position = getattr(diag, "statement_position", None) if diag is not None else None
    if position:
        return f" (at character {position})"
    message = _first_line(err)
    match = re.search(r"near (['\"])(.{0,60}?)\1(?: at line (\d+))?", message, re.DOTALL)
    if match:
        near = " ".join(match.group(2).split())
        line = f" on line {match.group(3)}" if match.group(3) else ""
        return f" near \u201c{near}\u201d{line}" if near else f" at the end of the statement{line}"
    return ""


def _quoted_name(message: str) -> str | None:
    match = re.search(r"(?:\"|'|`)([^\"'`]+)(?:\"|'|`)", message)
    if match:
        return match.group(1)
    match = re.search(r"no such (?:table|column): (\S+)", message)
    return match.group(1) if match else None


def explain_db_error(exc: BaseException, *, secrets: Iterable[str] = ()) -> str:
    """A driver error in plain words: what went wrong and, when known, where. Never the URL, password or
    user@host; ``secrets`` (password, user name) are removed from any driver text that is passed through."""
    if isinstance(exc, ServiceError):
        return str(exc)
    err = _orig(exc)
    secrets = list(secrets)
    message = _first_line(err)
    lower = message.lower()
    pg = _pg_code(err)
    my = _mysql_code(err)

    if is_timeout(exc) or lower == "interrupted":
        return "The query took longer than the time limit and was stopped."
    if (
        pg == "25006"
        or my in (1792, 1290, 1836)
        or "read-only transaction" in lower
        or "read only transaction" in lower
        or "readonly database" in lower
        or "query_only" in lower
    ):
        return "This connection is read-only: the statement tried to change data, which is not allowed here."
    if pg == "42601" or my in (1064, 1149) or "syntax error" in lower or "incomplete input" in lower:
        return "The SQL has a syntax error" + _position_hint(err) + "."
    if pg == "42P01" or my == 1146 or "no such table" in lower:
        name = _quoted_name(message)
        return f"The table {_scrub(name, secrets)!s} does not exist." if name else "A table does not exist."
    if pg == "42703" or my in (1054,) or "no such column" in lower:
        name = _quoted_name(message)
        return f"The column {_scrub(name, secrets)} does not exist." if name else "A column does not exist."
    if pg == "42883" or my == 1305 or "no such function" in lower:
        return "The query uses a function the database does not know: " + _scrub(message, secrets)
    if pg == "42501" or my in (1142, 1143, 1044, 1227, 1370) or "permission denied" in lower:
        return "Permission denied: the database user of this connection may not read this."
    if pg in ("28P01", "28000") or my == 1045 or "authentication failed" in lower:
        return "The database refused the user name or password."
    if pg == "3D000" or my == 1049:
        return "The database does not exist on that server."
    if (pg and pg.startswith("08")) or my in (2002, 2003, 2006, 2013) or "could not connect" in lower:
        return "The database server could not be reached or closed the connection."
    # Connecting (psycopg2 gives no SQLSTATE for these; the text names host, port and user: never shown).
    if "password authentication failed" in lower or "access denied for user" in lower:
        return "The database refused the user name or password."
    if "pg_hba.conf" in lower:
        return "The server does not accept connections from this machine for that user and database."
    if ("database" in lower and "does not exist" in lower) or "unknown database" in lower:
        return "The database does not exist on that server."
    if any(word in lower for word in ("ssl", "tls", "certificate")):
        return "A secure (TLS) connection could not be set up with the server."
    if any(
        phrase in lower
        for phrase in (
            "connection refused",
            "could not translate host",
            "name or service not known",
            "timeout expired",
            "timed out",
            "no route to host",
            "can't connect",
            "unknown mysql server host",
            "lost connection",
            "server closed the connection",
            "network is unreachable",
        )
    ):
        return "The database server could not be reached or closed the connection."
    if pg == "22012" or "division by zero" in lower:
        return "The query divides by zero."
    if pg and pg.startswith("22"):
        return "A value in the query has the wrong type or format: " + _scrub(message, secrets)
    if "unable to open database file" in lower:
        return "The SQLite file could not be opened."
    return "The database reported an error: " + _scrub(message, secrets)


@contextmanager
def explained_errors(*, secrets: Iterable[str] = ()) -> Iterator[None]:
    """Turn driver errors raised inside into :class:`QueryFailed` with a plain message (timeouts stay
    :class:`QueryTimeout`)."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        if is_timeout(exc):
            raise QueryTimeout(explain_db_error(exc)) from None
        raise QueryFailed(explain_db_error(exc, secrets=secrets)) from None
