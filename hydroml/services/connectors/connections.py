"""Database connections of a project: create, edit, delete, list, test, and the engines that use them.

Roles: owners and editors manage connections; every member (viewers too) may list, test and use them (what
they do with a connection, browse, query, import, is checked by those services). A project the actor is not a
member of is "Project not found."; a connection id not in that project is "Connection not found.".

Passwords are encrypted at rest (`secrets`), never returned (`ConnectionInfo.has_password` only), never logged
and never put into a message. Every save and every use runs the target policy (`policy.check_target`).

Engines: the URL is built with ``sqlalchemy.engine.URL.create`` (never by string formatting):
``postgresql+psycopg2``, ``mysql+pymysql`` or ``sqlite`` opened read-only (``file:<path>?mode=ro`` with
``uri=true``; ``writable=True``, for editors exporting, opens it ``mode=rw``). They have a connect timeout,
``pool_pre_ping`` and a small pool, and are cached per (connection, updated_at); editing or deleting a connection
disposes its engines. Read-only transactions and statement timeouts are `readonly.read_only`'s job.
"""

from __future__ import annotations

import json
import logging
import math
import re
import socket
import ssl
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from hydroml.db import session_scope, utcnow
from hydroml.models import DatabaseConnection
from hydroml.services.auth import UserInfo, as_utc
from hydroml.services.connectors import policy, secrets
from hydroml.services.errors import InvalidInput, NotFound, ServiceError
from hydroml.services.projects import parse_id, require_role

logger = logging.getLogger(__name__)

KINDS = policy.KINDS
KIND_ALIASES = {"postgres": "postgresql", "pg": "postgresql", "mariadb": "mysql", "sqlite3": "sqlite"}
KIND_LABELS = {"postgresql": "PostgreSQL", "mysql": "MySQL / MariaDB", "sqlite": "SQLite"}
DRIVERS = {"postgresql": "postgresql+psycopg2", "mysql": "mysql+pymysql"}
SSL_MODES = {
    "postgresql": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "mysql": ("disable", "prefer", "require", "verify-ca", "verify-full"),
}
NAME_MAX = 120
DATABASE_MAX = 500
USERNAME_MAX = 255
PASSWORD_MAX = 1024
CONNECT_TIMEOUT_S = 10
# MySQL/MariaDB engines: the longest wait for any packet (the server's greeting included). Statement timeouts
# (readonly.read_only) stay well below it; keep it above the longest statement timeout a caller uses.
MYSQL_READ_TIMEOUT_S = 900
ENGINE_CACHE_MAX = 32
NOT_FOUND = "Connection not found."


@dataclass(frozen=True)
class ConnectionInfo:
    """A connection as the UI sees it: everything but the password."""

    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    kind: str  # postgresql | mysql | sqlite
    host: str
    port: int | None
    database: str  # for SQLite: the file, relative to the SQLite folder
    username: str
    has_password: bool
    options: dict[str, str]
    created_at: datetime
    updated_at: datetime
    last_tested_at: datetime | None
    last_test_ok: bool | None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest test class

    ok: bool
    message: str
    server_version: str = ""


@dataclass(frozen=True)
class _Target:
    """What an engine needs; the password stays encrypted until the engine is built."""

    id: uuid.UUID
    updated_at: datetime
    kind: str
    host: str
    port: int | None
    database: str
    username: str
    secret_encrypted: str = field(repr=False)
    options: dict[str, str]


# ---------------------------------------------------------------------------------------------- validation


def _clean_kind(kind: str) -> str:
    value = (kind or "").strip().lower()
    value = KIND_ALIASES.get(value, value)
    if value not in KINDS:
        raise InvalidInput("kind", "Choose a database type: PostgreSQL, MySQL / MariaDB or SQLite.")
    return value


def _clean_name(name: str) -> str:
    value = " ".join((name or "").split())
    if not value:
        raise InvalidInput("name", "Give the connection a name.")
    if len(value) > NAME_MAX:
        raise InvalidInput("name", f"Connection names can be at most {NAME_MAX} characters long.")
    return value


def _clean_options(kind: str, options: dict[str, Any] | None) -> dict[str, str]:
    rest = dict(options or {})
    clean: dict[str, str] = {}
    mode = str(rest.pop("sslmode", "") or "").strip().lower()
    if mode:
        if kind == "sqlite":
            raise InvalidInput("options", "SQLite files have no TLS setting.")
        if mode not in SSL_MODES[kind]:
            raise InvalidInput("options", f"Choose a TLS mode: {', '.join(SSL_MODES[kind])}.")
        clean["sslmode"] = mode
    if rest:
        raise InvalidInput("options", f"Unknown option: {', '.join(sorted(map(str, rest)))}. Known: sslmode.")
    return clean


def _clean_fields(
    kind: str, host: str | None, port: int | str | None, database: str | None, username: str | None
) -> dict[str, Any]:
    """Validated target fields, the policy applied (InvalidInput naming the field)."""
    if kind == "sqlite":
        path = policy.check_target(kind, None, None, database)
        if not path.is_file():
            raise InvalidInput("database", "There is no such file in the SQLite folder.")
        return {"host": "", "port": None, "database": policy.sqlite_relative(path), "username": ""}
    clean_host = policy.check_host(host)
    clean_port = policy.check_port(kind, port)
    clean_database = (database or "").strip()
    if not clean_database:
        raise InvalidInput("database", "Enter the name of the database.")
    if len(clean_database) > DATABASE_MAX:
        raise InvalidInput("database", f"Database names can be at most {DATABASE_MAX} characters long.")
    clean_user = (username or "").strip()
    if not clean_user:
        raise InvalidInput("username", "Enter the user name to sign in with.")
    if len(clean_user) > USERNAME_MAX:
        raise InvalidInput("username", f"User names can be at most {USERNAME_MAX} characters long.")
    policy.check_target(kind, clean_host, clean_port, clean_database)
    return {"host": clean_host, "port": clean_port, "database": clean_database, "username": clean_user}


def _clean_password(password: str | None) -> str:
    value = password or ""
    if len(value) > PASSWORD_MAX:
        raise InvalidInput("password", f"Passwords can be at most {PASSWORD_MAX} characters long.")
    return value


# ---------------------------------------------------------------------------------------------- rows


def _info(row: DatabaseConnection) -> ConnectionInfo:
    return ConnectionInfo(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        kind=row.kind,
        host=row.host,
        port=row.port,
        database=row.database,
        username=row.username,
        has_password=bool(row.secret_encrypted),
        options=_options(row),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        last_tested_at=as_utc(row.last_tested_at) if row.last_tested_at else None,
        last_test_ok=row.last_test_ok,
    )


def _options(row: DatabaseConnection) -> dict[str, str]:
    try:
        value = json.loads(row.options_json or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _find(db: Session, project_id: uuid.UUID, connection_id: uuid.UUID | str) -> DatabaseConnection:
    cid = parse_id(connection_id, "Connection")
    row = db.exec(
        select(DatabaseConnection).where(
            DatabaseConnection.id == cid, DatabaseConnection.project_id == project_id
        )
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


def _name_taken(db: Session, project_id: uuid.UUID, name: str, except_id: uuid.UUID | None = None) -> bool:
    query = select(DatabaseConnection.id).where(
        DatabaseConnection.project_id == project_id, func.lower(DatabaseConnection.name) == name.lower()
    )
    if except_id is not None:
        query = query.where(DatabaseConnection.id != except_id)
    return db.exec(query).first() is not None


def _taken(name: str) -> InvalidInput:
    return InvalidInput("name", f"This project already has a connection named '{name}'.")


def _target(row: DatabaseConnection) -> _Target:
    return _Target(
        id=row.id,
        updated_at=as_utc(row.updated_at),
        kind=row.kind,
        host=row.host,
        port=row.port,
        database=row.database,
        username=row.username,
        secret_encrypted=row.secret_encrypted,
        options=_options(row),
    )


# ---------------------------------------------------------------------------------------------- CRUD


def create_connection(
    actor: UserInfo,
    project_id: uuid.UUID | str,
    *,
    name: str,
    kind: str,
    host: str | None = None,
    port: int | str | None = None,
    database: str | None = None,
    username: str | None = None,
    password: str | None = None,
    options: dict[str, Any] | None = None,
) -> ConnectionInfo:
    """A new connection (owners and editors). For SQLite ``database`` is the file, relative to the folder."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="add database connections")
        clean_kind = _clean_kind(kind)
        clean_name = _clean_name(name)
        fields = _clean_fields(clean_kind, host, port, database, username)
        clean_options = _clean_options(clean_kind, options)
        clean_password = "" if clean_kind == "sqlite" else _clean_password(password)
        if _name_taken(db, member.project_id, clean_name):
            raise _taken(clean_name)
        row = DatabaseConnection(
            project_id=member.project_id,
            name=clean_name,
            kind=clean_kind,
            secret_encrypted=secrets.encrypt(clean_password) if clean_password else "",
            options_json=json.dumps(clean_options, sort_keys=True),
            created_by=actor.id,
            updated_by=actor.id,
            **fields,
        )
        db.add(row)
        try:
            db.flush()
        except IntegrityError:  # the same name saved at the same moment
            raise _taken(clean_name) from None
        logger.info("connection %s (%s) created in project %s", row.id, clean_kind, member.project_id)
        return _info(row)


def update_connection(
    actor: UserInfo,
    project_id: uuid.UUID | str,
    connection_id: uuid.UUID | str,
    *,
    name: str | None = None,
    kind: str | None = None,
    host: str | None = None,
    port: int | str | None = None,
    database: str | None = None,
    username: str | None = None,
    password: str | None = None,
    clear_password: bool = False,
    options: dict[str, Any] | None = None,
) -> ConnectionInfo:
    """Change a connection (owners and editors). A field left as None is kept; an empty or None password keeps
    the stored one (``clear_password=True`` removes it) unless the server (type, host, port) changes: then a
    stored password must be entered again. Changing the type without a port uses its default."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="edit database connections")
        row = _find(db, member.project_id, connection_id)
        clean_kind = _clean_kind(kind) if kind is not None else row.kind
        kind_changed = clean_kind != row.kind
        clean_name = _clean_name(name) if name is not None else row.name
        fields = _clean_fields(
            clean_kind,
            host if host is not None else row.host,
            port if port is not None else (None if kind_changed else row.port),
            database if database is not None else row.database,
            username if username is not None else row.username,
        )
        clean_options = _clean_options(
            clean_kind, options if options is not None else ({} if kind_changed else _options(row))
        )
        if clean_name != row.name and _name_taken(db, member.project_id, clean_name, except_id=row.id):
            raise _taken(clean_name)
        if clean_kind == "sqlite" or clear_password:
            row.secret_encrypted = ""
        elif password:
            row.secret_encrypted = secrets.encrypt(_clean_password(password))
        elif row.secret_encrypted and (clean_kind, fields["host"].lower(), fields["port"]) != (
            row.kind,
            row.host.lower(),
            row.port,
        ):
            # The stored password is only ever sent to the server it was entered for: otherwise an editor could
            # point someone else's connection at a server of their own and read it there.
            raise InvalidInput("password", "The server changed: enter the password for the new server again.")
        row.name = clean_name
        row.kind = clean_kind
        for key, value in fields.items():
            setattr(row, key, value)
        row.options_json = json.dumps(clean_options, sort_keys=True)
        row.updated_by = actor.id
        row.updated_at = utcnow()
        row.last_tested_at = None  # the old result says nothing about the new settings
        row.last_test_ok = None
        db.add(row)
        try:
            db.flush()
        except IntegrityError:
            raise _taken(clean_name) from None
        info = _info(row)
    dispose_engines(info.id)
    logger.info("connection %s updated", info.id)
    return info


def delete_connection(actor: UserInfo, project_id: uuid.UUID | str, connection_id: uuid.UUID | str) -> None:
    """Delete a connection (owners and editors); its engines are closed."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "editor", action="delete database connections")
        row = _find(db, member.project_id, connection_id)
        connection = row.id
        db.delete(row)
    dispose_engines(connection)
    logger.info("connection %s deleted", connection)


def list_connections(actor: UserInfo, project_id: uuid.UUID | str) -> list[ConnectionInfo]:
    """The project's connections, by name (any member); never a password."""
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        rows = db.exec(
            select(DatabaseConnection)
            .where(DatabaseConnection.project_id == member.project_id)
            .order_by(func.lower(DatabaseConnection.name), DatabaseConnection.id)
        ).all()
        return [_info(row) for row in rows]


def get_connection(
    actor: UserInfo, project_id: uuid.UUID | str, connection_id: uuid.UUID | str
) -> ConnectionInfo:
    with session_scope() as db:
        member = require_role(db, actor, project_id, "viewer")
        return _info(_find(db, member.project_id, connection_id))


# ---------------------------------------------------------------------------------------------- engines

_engines: OrderedDict[tuple, sa.Engine] = OrderedDict()
_engines_lock = threading.Lock()


def _load(
    actor: UserInfo, project_id: uuid.UUID | str, connection_id: uuid.UUID | str, minimum: str, action: str
) -> _Target:
    with session_scope() as db:
        member = require_role(db, actor, project_id, minimum, action=action)
        return _target(_find(db, member.project_id, connection_id))


def _check(target: _Target) -> Path | None:
    """The policy, again at use time; the resolved file for SQLite."""
    return policy.check_target(target.kind, target.host, target.port, target.database)


def _url(target: _Target, sqlite_path: Path | None, writable: bool) -> sa.URL:
    if target.kind == "sqlite":
        assert sqlite_path is not None
        return sa.URL.create(
            "sqlite",
            database="file:" + quote(sqlite_path.as_posix(), safe="/"),
            query={"mode": "rw" if writable else "ro", "uri": "true"},
        )
    password = secrets.decrypt(target.secret_encrypted) if target.secret_encrypted else None
    return sa.URL.create(
        DRIVERS[target.kind],
        username=target.username or None,
        password=password,
        host=target.host,
        port=target.port or policy.DEFAULT_PORTS[target.kind],
        database=target.database,
        query={"charset": "utf8mb4"} if target.kind == "mysql" else {},
    )


def _mysql_tls(mode: str) -> dict[str, Any]:
    if mode == "disable":
        return {"ssl_disabled": True}
    if mode in ("", "prefer"):
        return {}  # PyMySQL tries TLS when the server offers it
    context = ssl.create_default_context()
    if mode == "require":  # encrypted, certificate not checked (as libpq's sslmode=require)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif mode == "verify-ca":
        context.check_hostname = False
    return {"ssl": context}


def _timeout(kind: str, timeout_s: float) -> int:
    """The connect timeout the driver applies: whole seconds, at least 2 for libpq (which rounds 1 up)."""
    return max(2 if kind == "postgresql" else 1, math.ceil(timeout_s))


def _connect_args(target: _Target, timeout_s: float, read_timeout_s: float | None = None) -> dict[str, Any]:
    seconds = _timeout(target.kind, timeout_s)
    mode = target.options.get("sslmode", "")
    if target.kind == "postgresql":
        args: dict[str, Any] = {"connect_timeout": seconds, "application_name": "HydroML"}
        if mode:
            args["sslmode"] = mode
        return args
    if target.kind == "mysql":
        # PyMySQL's connect_timeout covers only the TCP connect: a server that accepts and never greets would
        # hang forever without a read timeout (that one also bounds every later read of the connection).
        reads = read_timeout_s or seconds
        return {"connect_timeout": seconds, "read_timeout": reads, "write_timeout": reads, **_mysql_tls(mode)}
    return {"timeout": float(seconds), "check_same_thread": False}


def _build_engine(
    target: _Target, sqlite_path: Path | None, *, writable: bool, timeout_s: float, pooled: bool
) -> sa.Engine:
    reads = MYSQL_READ_TIMEOUT_S if pooled else timeout_s
    options: dict[str, Any] = {"connect_args": _connect_args(target, timeout_s, reads)}
    if pooled:
        options.update(pool_pre_ping=True, pool_size=2, max_overflow=3, pool_recycle=1800, pool_timeout=30)
    else:
        options["poolclass"] = sa.pool.NullPool
    return sa.create_engine(_url(target, sqlite_path, writable), **options)


def _cached_engine(target: _Target, sqlite_path: Path | None, writable: bool) -> sa.Engine:
    key = (target.id, target.updated_at, writable, str(sqlite_path or ""))
    with _engines_lock:
        engine = _engines.get(key)
        if engine is not None:
            _engines.move_to_end(key)
            return engine
        for old in [k for k in _engines if k[0] == target.id and k[1] != target.updated_at]:
            _engines.pop(old).dispose()
        engine = _build_engine(
            target, sqlite_path, writable=writable, timeout_s=CONNECT_TIMEOUT_S, pooled=True
        )
        _engines[key] = engine
        while len(_engines) > ENGINE_CACHE_MAX:
            _, evicted = _engines.popitem(last=False)
            evicted.dispose()
        return engine


def dispose_engines(connection_id: uuid.UUID | None = None) -> None:
    """Close the cached engines of one connection (or of all when None)."""
    with _engines_lock:
        for key in [k for k in _engines if connection_id is None or k[0] == connection_id]:
            _engines.pop(key).dispose()


def engine_for(
    actor: UserInfo, project_id: uuid.UUID | str, connection_id: uuid.UUID | str, *, writable: bool = False
) -> sa.Engine:
    """The engine of a connection (any member; ``writable=True``: editors and owners, for exports).

    Cached; the policy is checked on every call (InvalidInput when the target is no longer allowed). Run
    reads inside `readonly.read_only(engine, timeout_s)`.
    """
    if writable:
        target = _load(actor, project_id, connection_id, "editor", "write through database connections")
    else:
        target = _load(actor, project_id, connection_id, "viewer", "use database connections")
    sqlite_path = _check(target)
    return _cached_engine(target, sqlite_path, writable)


def secrets_of(engine: sa.Engine) -> list[str]:
    """The credentials in an engine's URL, to scrub from driver messages (`readonly.explain_db_error`)."""
    return [value for value in (engine.url.password, engine.url.username) if value]


# ---------------------------------------------------------------------------------------------- testing


def test_connection(
    actor: UserInfo, project_id: uuid.UUID | str, connection_id: uuid.UUID | str, timeout_s: float = 5
) -> TestResult:
    """Connect once (any member) with ``timeout_s`` and report the server version, or why it failed in plain
    words: refused by the policy, host not found / unreachable, connection refused, timeout, authentication,
    database missing, TLS. Records the outcome (``last_tested_at``, ``last_test_ok``)."""
    target = _load(actor, project_id, connection_id, "viewer", "test database connections")
    try:
        sqlite_path = _check(target)
        engine = _build_engine(target, sqlite_path, writable=False, timeout_s=timeout_s, pooled=False)
    except ServiceError as exc:  # the policy, or credentials the current key cannot read
        result = TestResult(False, str(exc))
    else:
        try:
            with engine.connect() as conn:
                version = _server_version(conn, target.kind)
            result = TestResult(True, f"Connected to {KIND_LABELS[target.kind]} {version}.".strip(), version)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a reason in plain words
            seconds = _timeout(target.kind, timeout_s)
            result = TestResult(False, describe_failure(exc, engine.url, timeout_s=seconds))
        finally:
            engine.dispose()
    _record_test(target.id, result.ok)
    logger.info("connection %s tested: %s", target.id, "ok" if result.ok else "failed")
    return result


test_connection.__test__ = False  # type: ignore[attr-defined]  # a service, not a pytest test


def _server_version(conn: sa.Connection, kind: str) -> str:
    if kind == "postgresql":
        return str(conn.exec_driver_sql("SHOW server_version").scalar() or "").split(" ", 1)[0]
    if kind == "mysql":
        return str(conn.exec_driver_sql("SELECT VERSION()").scalar() or "")
    conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()  # fails on a file that is no database
    return str(conn.exec_driver_sql("SELECT sqlite_version()").scalar() or "")


def _record_test(connection_id: uuid.UUID, ok: bool) -> None:
    table = DatabaseConnection.__table__
    with session_scope() as db:  # `updated_at` kept: it keys the engine cache, and nothing was edited
        db.exec(
            table.update()
            .where(table.c.id == connection_id)
            .values(last_tested_at=utcnow(), last_test_ok=ok, updated_at=table.c.updated_at)
        )


# ---------------------------------------------------------------------------------------------- failures


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return seen


def _scrub(text: str, url: sa.URL) -> str:
    for secret in (url.password,):
        if secret:
            text = text.replace(str(secret), "***").replace(quote(str(secret), safe=""), "***")
    line = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    return line[:300]


def describe_failure(exc: BaseException, url: sa.URL, *, timeout_s: float | None = None) -> str:
    """Why connecting failed, in plain words, without credentials (the URL's password is never echoed)."""
    chain = _chain(exc)
    text = " | ".join(str(e) for e in chain).lower()
    codes = {e.args[0] for e in chain if getattr(e, "args", None) and isinstance(e.args[0], int)}
    where = f"{url.host}:{url.port}" if url.host else "the server"
    host = url.host or "the server"
    database = url.database or ""

    if url.get_backend_name() == "sqlite":
        if "file is not a database" in text:
            return "This file is not a SQLite database."
        if "unable to open database file" in text:
            return "The SQLite file cannot be opened: it is missing or not readable."
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "certificate verify failed" in text:
        return "TLS failed: the server's certificate could not be verified (check the TLS mode)."
    if "server does not support ssl" in text or "ssl is required but the server doesn't support it" in text:
        return "TLS is required by this connection, but the server does not support it (change the TLS mode)."
    if 3159 in codes or "insecure transport are prohibited" in text:
        return "The server accepts only TLS connections: set the TLS mode to require."
    if "no pg_hba.conf entry" in text:
        if "no encryption" in text or "ssl off" in text:
            return "The server accepts this user only over TLS: set the TLS mode to require."
        return "The server does not accept connections from this machine for this user and database."
    if 1130 in codes:
        return "The server does not accept connections from this machine."
    if 1049 in codes or re.search(r'database "[^"]*" does not exist', text) or "unknown database" in text:
        return f"The database '{database}' does not exist on {where}."
    if (
        1045 in codes
        or "password authentication failed" in text
        or "authentication failed" in text
        or "no password supplied" in text
        or re.search(r'role "[^"]*" does not exist', text)
    ):
        return "Authentication failed: the server refused the user name or password."
    if 1044 in codes:
        return f"The user may not use the database '{database}'."
    if any(isinstance(e, ssl.SSLError) for e in chain) or "ssl error" in text or "ssl syscall" in text:
        return "TLS failed while connecting: the server and this connection could not agree on encryption."
    if (
        "could not translate host name" in text
        or "name or service not known" in text
        or "nodename nor servname" in text
        or "temporary failure in name resolution" in text
        or "no address associated" in text
        or any(isinstance(e, socket.gaierror) for e in chain)
    ):
        return f"Host {host} not found: the name does not resolve."
    if "connection refused" in text or "errno 111" in text:
        return f"Connection refused: nothing accepts database connections on {where}."
    if "timeout expired" in text or "timed out" in text or any(isinstance(e, TimeoutError) for e in chain):
        after = f" after {timeout_s:g} s" if timeout_s else ""
        return (
            f"Timed out{after} connecting to {where}: the host is unreachable, a firewall drops the connection "
            "or the server does not answer."
        )
    if "no route to host" in text or "network is unreachable" in text or "host is unreachable" in text:
        return f"Host {host} is unreachable."
    if "too many connections" in text or "remaining connection slots" in text or 1040 in codes:
        return "The server has too many connections right now; try again later."
    if "starting up" in text or "shutting down" in text:
        return "The server is starting up or shutting down; try again in a moment."
    if isinstance(exc, ServiceError):
        return str(exc)
    original = chain[-1] if len(chain) > 1 else exc
    detail = _scrub(str(original), url)
    return f"The connection failed: {detail}" if detail else "The connection failed."
