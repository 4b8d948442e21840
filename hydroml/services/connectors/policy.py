"""Which targets a database connection may reach.

`check_target` is called when a connection is saved and again every time it is used (the settings, the DNS
and the files may have changed since). It refuses, with an InvalidInput naming the field:

- the app's own database (``REFLEX_DB_URL``) and a database-backed MLflow store (``MLFLOW_TRACKING_URI``):
  same server (host names and addresses resolved with ``getaddrinfo``; every loopback or local-interface
  address counts as this machine, and an empty host or a socket path in the app's URL too) + same port +
  same database name (case-insensitively; any database when the app's server is MySQL, where one connection
  reaches every database). For SQLite: the same file after resolving symlinks and ``..`` (hard links too).
- a SQLite file outside ``HYDROML_SQLITE_DIR`` (default ``<data_dir>/sqlite``), after resolving symlinks/``..``.
- a host matching ``HYDROML_CONNECTOR_DENY``, or not matching a non-empty ``HYDROML_CONNECTOR_ALLOW``.
  Entries are host names (case-insensitive; ``*.example.org`` matches its subdomains), IP addresses or CIDR
  ranges. A host is denied when its name or any of its addresses matches; it is allowed when its name matches,
  or when it resolves and every address lies in an allowed range.

Host names are resolved again when the connection is opened, so a name can still change its address between
the check and the connect (DNS rebinding); deny ranges by address for hard guarantees.

Messages never contain credentials (this module never sees them).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from urllib.parse import unquote

import psutil
import sqlalchemy as sa

from hydroml.services.errors import InvalidInput
from hydroml.settings import get_settings

KINDS = ("postgresql", "mysql", "sqlite")
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
HOST_MAX = 255

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

OWN_DATABASE = "This is HydroML's own database: connections to it are not allowed."
OUTSIDE_FOLDER = (
    "SQLite files must be inside the SQLite folder of this server (HYDROML_SQLITE_DIR); give a path "
    "relative to that folder."
)


# ------------------------------------------------------------------------------------------- the check


def check_target(
    kind: str, host: str | None, port: int | None, database: str | None, sqlite_path: str | None = None
) -> Path | None:
    """Refuse a target the policy does not allow (InvalidInput naming the field).

    For SQLite, ``sqlite_path`` (or, when None, ``database``) is the file, relative to the SQLite folder or
    absolute inside it; the resolved file is returned. For the other kinds returns None.
    """
    if kind not in KINDS:
        raise InvalidInput("kind", f"Choose a database type: {', '.join(KINDS)}.")
    if kind == "sqlite":
        path = sqlite_file(sqlite_path if sqlite_path is not None else database or "")
        for url in _protected_urls():
            if url.get_backend_name() == "sqlite" and _same_file(path, url.database):
                raise InvalidInput("database", OWN_DATABASE)
        return path

    name = check_host(host)
    number = check_port(kind, port)
    db_name = (database or "").strip()
    if kind == "postgresql" and ("=" in db_name or db_name.lower().startswith(("postgres:", "postgresql:"))):
        # libpq may read such a database name as a whole connection string (another host, a socket...).
        raise InvalidInput("database", "A database name cannot contain '=' or be a connection URL.")
    addresses = resolve(name)
    settings = get_settings()
    if settings.connector_deny and _denied(settings.connector_deny, name, addresses):
        raise InvalidInput(
            "host", f"Connections to {name} are not allowed on this server (HYDROML_CONNECTOR_DENY)."
        )
    if settings.connector_allow and not _allowed(settings.connector_allow, name, addresses):
        raise InvalidInput(
            "host", f"Connections to {name} are not allowed on this server (not in HYDROML_CONNECTOR_ALLOW)."
        )
    for url in _protected_urls():
        if _same_database(url, name, addresses, number, db_name):
            raise InvalidInput("database", OWN_DATABASE)
    return None


def check_host(host: str | None) -> str:
    """A single host name or address: no list, socket path or URL parts that a driver would read otherwise."""
    name = (host or "").strip()
    if not name:
        raise InvalidInput("host", "Enter the host name or address of the database server.")
    if len(name) > HOST_MAX:
        raise InvalidInput("host", f"Host names can be at most {HOST_MAX} characters long.")
    if name.startswith("[") and name.endswith("]"):  # [::1] as in URLs
        name = name[1:-1]
    if any(ch.isspace() or ch in ",/\\@?#=;'\"" for ch in name) or name.startswith("-"):
        raise InvalidInput("host", "Enter one host name or IP address, without a port, path or user name.")
    return name


def check_port(kind: str, port: int | str | None) -> int:
    if port is None or (isinstance(port, str) and not port.strip()):
        return DEFAULT_PORTS[kind]
    try:
        number = int(port)
    except (TypeError, ValueError):
        raise InvalidInput("port", "The port is a whole number between 1 and 65535.") from None
    if not 1 <= number <= 65535:
        raise InvalidInput("port", "The port is a whole number between 1 and 65535.")
    return number


# ------------------------------------------------------------------------------------------------ SQLite


def sqlite_file(path: str) -> Path:
    """The resolved file of a SQLite path (relative to the folder, or absolute), if it lies inside the folder."""
    raw = (path or "").strip()
    if not raw:
        raise InvalidInput("database", "Enter the path of the SQLite file, relative to the SQLite folder.")
    if "\x00" in raw or raw.lower().startswith("file:") or raw == ":memory:":
        raise InvalidInput("database", OUTSIDE_FOLDER)
    folder = get_settings().sqlite_dir
    candidate = Path(raw)
    if not candidate.is_absolute():
        candidate = folder / candidate
    try:
        resolved = candidate.resolve()  # follows symlinks, removes ".."
    except (OSError, RuntimeError):  # a symlink loop
        raise InvalidInput("database", OUTSIDE_FOLDER) from None
    if resolved == folder or not resolved.is_relative_to(folder):
        raise InvalidInput("database", OUTSIDE_FOLDER)
    return resolved


def sqlite_relative(path: Path) -> str:
    """How a resolved file inside the folder is stored: its path relative to the folder, with '/'."""
    return path.relative_to(get_settings().sqlite_dir).as_posix()


def _same_file(path: Path, other: str | None) -> bool:
    """Whether a SQLite URL's database (a path, or a ``file:`` URI) is the file ``path``."""
    if not other or other == ":memory:":
        return False
    if other.startswith("file:"):
        other = unquote(other[len("file:") :].split("?", 1)[0])
    other_path = Path(other).resolve()
    if other_path == path:
        return True
    try:
        return os.path.samefile(path, other_path)  # hard links, bind mounts
    except OSError:
        return False


# ------------------------------------------------------------------------------------- the app's databases


def _protected_urls() -> list[sa.URL]:
    settings = get_settings()
    urls = []
    for raw in (settings.db_url, settings.mlflow_tracking_uri):
        try:
            url = sa.make_url(raw)
        except (sa.exc.ArgumentError, ValueError):
            continue  # e.g. MLflow over http: not a database we could reach
        if url.get_backend_name() in ("postgresql", "mysql", "mariadb", "sqlite"):
            urls.append(url)
    return urls


def _same_database(url: sa.URL, host: str, addresses: set[IPAddress], port: int, database: str) -> bool:
    family = url.get_backend_name()
    if family == "sqlite":
        return False
    family = "mysql" if family == "mariadb" else family
    if (url.port or DEFAULT_PORTS[family]) != port:
        return False
    if family == "postgresql" and (url.database or "").casefold() != database.casefold():
        return False
    app_host = url.host or ""
    if not app_host or app_host.startswith("/") or "host" in url.query:  # a Unix socket: this machine
        return _is_local(addresses) or host.casefold() == "localhost"
    if app_host.casefold() == host.casefold():
        return True
    app_addresses = resolve(app_host)
    if addresses & app_addresses:
        return True
    return bool(addresses) and bool(app_addresses) and _is_local(addresses) and _is_local(app_addresses)


# ------------------------------------------------------------------------------------------------- hosts


def _address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def resolve(host: str) -> set[IPAddress]:
    """Every address a host name resolves to (the address itself for an IP); empty when it does not resolve."""
    literal = _address(host)
    if literal is not None:
        return {literal}
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return set()
    found = {_address(str(info[4][0])) for info in infos}
    return {address for address in found if address is not None}


def _local_addresses() -> set[IPAddress]:
    found = set()
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                address = _address(entry.address)
                if address is not None:
                    found.add(address)
    return found


def _is_local(addresses: set[IPAddress]) -> bool:
    """All the addresses are this machine (loopback, unspecified or one of its interfaces)."""
    if not addresses:
        return False
    local = None
    for address in addresses:
        if address.is_loopback or address.is_unspecified:
            continue
        local = _local_addresses() if local is None else local
        if address not in local:
            return False
    return True


def _entry(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | str:
    text = entry.strip().casefold()
    if text.startswith("[") and "]" in text:
        text = text[1:].replace("]", "")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return text.rstrip(".")


def _name_matches(pattern: str, name: str) -> bool:
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    return name == pattern


def _denied(entries: tuple[str, ...], host: str, addresses: set[IPAddress]) -> bool:
    name = host.casefold().rstrip(".")
    for entry in map(_entry, entries):
        if isinstance(entry, str):
            if _name_matches(entry, name):
                return True
        elif any(address.version == entry.version and address in entry for address in addresses):
            return True
    return False


def _allowed(entries: tuple[str, ...], host: str, addresses: set[IPAddress]) -> bool:
    name = host.casefold().rstrip(".")
    parsed = [_entry(entry) for entry in entries]
    if any(isinstance(entry, str) and _name_matches(entry, name) for entry in parsed):
        return True
    networks = [entry for entry in parsed if not isinstance(entry, str)]
    return bool(addresses) and all(
        any(address.version == net.version and address in net for net in networks) for address in addresses
    )
