"""Connector credentials at rest (Fernet, key file, rotation), the target policy, and failure messages.

No database server needed: connections are saved on the test's SQLite app database and never opened here
(their hosts are documentation addresses); tests/integration/test_connectors_connections.py connects for real.
"""

from __future__ import annotations

import logging
import os
import stat
import uuid

import psutil
import pymysql
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlmodel import select

from hydroml.db import session_scope
from hydroml.models import DatabaseConnection
from hydroml.services import auth, projects
from hydroml.services.connectors import connections, policy, secrets
from hydroml.services.errors import InvalidInput, ServiceError
from hydroml.settings import get_settings

PASSWORD = "river-flow-42"
DB_PASSWORD = "Pw-9f3e-unique-secret"
REMOTE = "203.0.113.10"  # TEST-NET-3: never this machine


@pytest.fixture(autouse=True)
def _env(app_db, cheap_password_hashing, monkeypatch, tmp_path):
    for name in (
        "HYDROML_FERNET_KEY",
        "HYDROML_CONNECTOR_ALLOW",
        "HYDROML_CONNECTOR_DENY",
        "MLFLOW_TRACKING_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HYDROML_SQLITE_DIR", str(tmp_path / "sqlite"))
    (tmp_path / "sqlite").mkdir()
    monkeypatch.setattr(secrets, "_warned", set())
    yield
    connections.dispose_engines()


@pytest.fixture
def keys(monkeypatch):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    def use(*chosen: str) -> None:
        monkeypatch.setenv("HYDROML_FERNET_KEY", ",".join(chosen))

    return first, second, use


@pytest.fixture
def project():
    alice = auth.register("alice", PASSWORD)
    return alice, projects.create_project(alice, "Rhine gauges")


def saved(actor, project_id, name: str, password: str = DB_PASSWORD) -> connections.ConnectionInfo:
    return connections.create_connection(
        actor,
        project_id,
        name=name,
        kind="postgresql",
        host=REMOTE,
        port=5432,
        database="gauges",
        username="reader",
        password=password,
    )


def stored_tokens() -> dict[str, str]:
    with session_scope() as db:
        return {row.name: row.secret_encrypted for row in db.exec(select(DatabaseConnection)).all()}


# ------------------------------------------------------------------------------------------- secrets


def test_without_a_key_one_is_generated_into_the_data_dir_privately_with_a_warning(caplog, monkeypatch):
    # Alembic's fileConfig (run in-process by the migration tests) disables loggers that existed before it.
    monkeypatch.setattr(secrets.logger, "disabled", False)
    caplog.set_level(logging.WARNING, logger="hydroml.services.connectors.secrets")
    token = secrets.encrypt(DB_PASSWORD)

    path = get_settings().data_dir / "fernet.key"
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert DB_PASSWORD not in token
    assert secrets.decrypt(token) == DB_PASSWORD
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Set HYDROML_FERNET_KEY in production" in warnings[0]
    key = path.read_text()
    assert key.strip() not in caplog.text

    secrets.encrypt("again")  # the same file is reused, the warning is not repeated
    assert path.read_text() == key
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_a_loosened_key_file_is_made_private_again():
    secrets.encrypt("x")
    path = get_settings().data_dir / "fernet.key"
    os.chmod(path, 0o644)
    secrets.encrypt("y")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_first_key_encrypts_and_every_key_decrypts(keys):
    first, second, use = keys
    use(first)
    old = secrets.encrypt(DB_PASSWORD)
    use(second, first)
    new = secrets.encrypt(DB_PASSWORD)

    assert secrets.decrypt(old) == secrets.decrypt(new) == DB_PASSWORD
    assert Fernet(second.encode()).decrypt(new.encode()).decode() == DB_PASSWORD
    with pytest.raises(Exception):  # noqa: B017 - the second key alone cannot read the old token
        Fernet(second.encode()).decrypt(old.encode())


def test_a_token_from_another_key_is_a_plain_error(keys):
    first, second, use = keys
    use(first)
    token = secrets.encrypt(DB_PASSWORD)
    use(second)
    with pytest.raises(ServiceError, match="cannot be read with the current key") as error:
        secrets.decrypt(token)
    assert first not in str(error.value) and second not in str(error.value)


def test_an_invalid_key_is_refused_without_echoing_it(monkeypatch):
    monkeypatch.setenv("HYDROML_FERNET_KEY", f"{Fernet.generate_key().decode()},not-a-real-key")
    with pytest.raises(secrets.KeyConfigError, match="Key 2 of HYDROML_FERNET_KEY") as error:
        secrets.encrypt("x")
    assert "not-a-real-key" not in str(error.value)


def test_passwords_are_stored_encrypted_and_never_returned(keys, project):
    first, _second, use = keys
    use(first)
    alice, rhine = project
    info = saved(alice, rhine.id, "Gauges DB")

    token = stored_tokens()["Gauges DB"]
    assert token and DB_PASSWORD not in token
    assert secrets.decrypt(token) == DB_PASSWORD
    assert info.has_password is True
    assert DB_PASSWORD not in repr(info) and DB_PASSWORD not in repr(
        connections.list_connections(alice, rhine.id)
    )


def test_rotation_re_encrypts_every_secret_with_the_first_key_and_then_the_old_key_can_go(keys, project):
    first, second, use = keys
    use(first)
    alice, rhine = project
    saved(alice, rhine.id, "Gauges DB")
    saved(alice, rhine.id, "Archive", password="other-Pw-77")
    connections.create_connection(
        alice, rhine.id, name="No password", kind="mysql", host=REMOTE, database="x", username="guest"
    )
    before = stored_tokens()
    with session_scope() as db:
        stamps = {row.name: row.updated_at for row in db.exec(select(DatabaseConnection)).all()}

    use(second, first)
    assert secrets.rotate_all() == 2

    after = stored_tokens()
    assert after["No password"] == ""
    for name in ("Gauges DB", "Archive"):
        assert after[name] != before[name]
        assert Fernet(second.encode()).decrypt(after[name].encode())  # readable with the new key alone
    with session_scope() as db:
        assert {row.name: row.updated_at for row in db.exec(select(DatabaseConnection)).all()} == stamps

    use(second)  # the old key removed
    assert secrets.decrypt(after["Gauges DB"]) == DB_PASSWORD
    assert secrets.decrypt(after["Archive"]) == "other-Pw-77"
    with pytest.raises(ServiceError, match="cannot be read with the current key"):
        secrets.decrypt(before["Gauges DB"])


def test_the_cli_prints_a_key_and_rotates_with_it(keys, project, capsys):
    from hydroml import cli

    first, _second, use = keys
    use(first)
    alice, rhine = project
    saved(alice, rhine.id, "Gauges DB")
    assert cli.main(["new-connection-key"]) == 0
    fresh = capsys.readouterr().out.strip()
    Fernet(fresh.encode())  # a valid key
    use(fresh, first)
    assert cli.main(["rotate-connection-key"]) == 0
    assert "Re-encrypted 1 connection password(s)" in capsys.readouterr().out
    use(fresh)
    assert secrets.decrypt(stored_tokens()["Gauges DB"]) == DB_PASSWORD

    use(first)  # a key that cannot read the stored password: a message, exit code 1, nothing changed
    assert cli.main(["rotate-connection-key"]) == 1
    assert "cannot be read with any configured key" in capsys.readouterr().err


def test_rotation_changes_nothing_when_a_secret_cannot_be_read(keys, project):
    first, second, use = keys
    use(first)
    alice, rhine = project
    saved(alice, rhine.id, "Gauges DB")
    use(second)
    saved(alice, rhine.id, "Archive")
    before = stored_tokens()

    third = Fernet.generate_key().decode()
    use(third, second)  # `first` is lost: "Gauges DB" cannot be re-encrypted
    with pytest.raises(ServiceError, match="Gauges DB"):
        secrets.rotate_all()
    assert stored_tokens() == before


# -------------------------------------------------------------------------------------- own database


@pytest.fixture
def app_on_pg(monkeypatch):
    monkeypatch.setenv("REFLEX_DB_URL", "postgresql+psycopg2://hydro:app-Pw@127.0.0.1:5432/hydroml")


@pytest.mark.usefixtures("app_on_pg")
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "LOCALHOST", "0.0.0.0"])
@pytest.mark.parametrize("port", [5432, None])
def test_the_apps_own_postgresql_database_is_refused_by_any_local_name(host, port):
    with pytest.raises(InvalidInput, match="HydroML's own database") as error:
        policy.check_target("postgresql", host, port, "hydroml")
    assert error.value.field == "database"
    assert "app-Pw" not in str(error.value)


@pytest.mark.usefixtures("app_on_pg")
def test_the_same_server_with_another_database_or_port_is_allowed():
    assert policy.check_target("postgresql", "localhost", 5432, "gauges") is None
    assert policy.check_target("postgresql", "127.0.0.1", 5433, "hydroml") is None
    with pytest.raises(InvalidInput):
        policy.check_target("postgresql", "localhost", 5432, "HydroML")  # same database for a careful check


@pytest.mark.usefixtures("app_on_pg")
def test_an_address_of_this_machines_own_interfaces_is_the_same_server():
    local = [
        entry.address
        for entries in psutil.net_if_addrs().values()
        for entry in entries
        if entry.family == 2 and not entry.address.startswith("127.")
    ]
    if not local:
        pytest.skip("no non-loopback IPv4 interface")
    with pytest.raises(InvalidInput, match="own database"):
        policy.check_target("postgresql", local[0], 5432, "hydroml")


def test_an_app_database_on_a_unix_socket_is_this_machine(monkeypatch):
    monkeypatch.setenv("REFLEX_DB_URL", "postgresql+psycopg2://hydro@/hydroml")
    with pytest.raises(InvalidInput, match="own database"):
        policy.check_target("postgresql", "localhost", None, "hydroml")
    assert policy.check_target("postgresql", REMOTE, None, "hydroml") is None


def test_an_app_database_host_name_matches_by_name_even_when_it_does_not_resolve(monkeypatch):
    monkeypatch.setenv("REFLEX_DB_URL", "postgresql+psycopg2://hydro@db.invalid:5432/hydroml")
    with pytest.raises(InvalidInput, match="own database"):
        policy.check_target("postgresql", "DB.invalid", 5432, "hydroml")


def test_a_database_backed_mlflow_store_is_refused_too(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "postgresql+psycopg2://hydro@127.0.0.1:5432/mlflow")
    with pytest.raises(InvalidInput, match="own database"):
        policy.check_target("postgresql", "localhost", 5432, "mlflow")


def test_a_postgresql_database_name_cannot_smuggle_a_connection_string():
    for name in ("host=10.0.0.1 dbname=x", "postgresql://other/x"):
        with pytest.raises(InvalidInput) as error:
            policy.check_target("postgresql", REMOTE, 5432, name)
        assert error.value.field == "database"


@pytest.mark.parametrize(
    "host", ["", "a,b", "/var/run/postgresql", "user@host", "host/db", "h ost", "-oProxy"]
)
def test_host_must_be_one_name_or_address(host):
    with pytest.raises(InvalidInput) as error:
        policy.check_target("mysql", host, 3306, "x")
    assert error.value.field == "host"


@pytest.mark.parametrize("port", [0, 70000, "abc", -1])
def test_port_must_be_valid(port):
    with pytest.raises(InvalidInput) as error:
        policy.check_target("postgresql", REMOTE, port, "x")
    assert error.value.field == "port"


def test_unknown_kind_is_refused():
    with pytest.raises(InvalidInput) as error:
        policy.check_target("oracle", REMOTE, 1521, "x")
    assert error.value.field == "kind"


# -------------------------------------------------------------------------------------------- SQLite


@pytest.fixture
def folder():
    path = get_settings().sqlite_dir
    (path / "gauges").mkdir()
    (path / "gauges" / "rhine.db").write_bytes(b"")
    return path


def test_sqlite_files_inside_the_folder_are_allowed(folder):
    expected = folder / "gauges" / "rhine.db"
    assert policy.check_target("sqlite", None, None, "gauges/rhine.db") == expected
    assert policy.check_target("sqlite", None, None, "gauges/../gauges/rhine.db") == expected
    assert policy.check_target("sqlite", None, None, str(expected)) == expected
    assert policy.check_target("sqlite", None, None, None, sqlite_path="gauges/rhine.db") == expected
    assert policy.sqlite_relative(expected) == "gauges/rhine.db"


@pytest.mark.parametrize(
    "path",
    [
        "../outside.db",
        "gauges/../../outside.db",
        "/etc/passwd",
        ".",
        "",
        ":memory:",
        "file:/etc/passwd?mode=ro",
    ],
)
def test_sqlite_paths_outside_the_folder_are_refused(folder, path):
    with pytest.raises(InvalidInput) as error:
        policy.check_target("sqlite", None, None, path)
    assert error.value.field == "database"


def test_a_symlink_leading_out_of_the_folder_is_refused(folder, tmp_path):
    outside = tmp_path / "outside.db"
    outside.write_bytes(b"")
    (folder / "link.db").symlink_to(outside)
    (folder / "linkdir").symlink_to(tmp_path)
    for path in ("link.db", "linkdir/outside.db"):
        with pytest.raises(InvalidInput, match="inside the SQLite folder"):
            policy.check_target("sqlite", None, None, path)


def test_the_apps_own_sqlite_database_is_refused_even_inside_the_folder(folder, monkeypatch):
    own = folder / "hydroml.db"
    own.write_bytes(b"")
    monkeypatch.setenv("REFLEX_DB_URL", f"sqlite:///{own}")
    (folder / "alias.db").symlink_to(own)
    os.link(own, folder / "hardlink.db")
    for path in ("hydroml.db", "alias.db", "gauges/../hydroml.db", "hardlink.db"):
        with pytest.raises(InvalidInput, match="own database"):
            policy.check_target("sqlite", None, None, path)


# ------------------------------------------------------------------------------------- allow and deny


@pytest.mark.parametrize(
    ("deny", "host", "refused"),
    [
        ("10.0.0.0/8", "10.1.2.3", True),
        ("10.0.0.0/8", REMOTE, False),
        ("169.254.0.0/16, 10.0.0.0/8", "169.254.169.254", True),
        ("db.example.org", "DB.example.org", True),
        ("*.internal", "warehouse.internal", True),
        ("*.internal", "internal.example.org", False),
        ("2001:db8::/32", "2001:db8::5", True),
        ("127.0.0.0/8", "localhost", True),  # by the address it resolves to
    ],
)
def test_deny_list(monkeypatch, deny, host, refused):
    monkeypatch.setenv("HYDROML_CONNECTOR_DENY", deny)
    if refused:
        with pytest.raises(InvalidInput, match="HYDROML_CONNECTOR_DENY") as error:
            policy.check_target("postgresql", host, 5432, "gauges")
        assert error.value.field == "host"
    else:
        assert policy.check_target("postgresql", host, 5432, "gauges") is None


@pytest.mark.parametrize(
    ("allow", "host", "allowed"),
    [
        ("203.0.113.0/24", REMOTE, True),
        ("203.0.113.0/24", "198.51.100.1", False),
        ("warehouse.example.org", "warehouse.example.org", True),
        ("warehouse.example.org", "other.example.org", False),
        ("*.example.org", "a.b.example.org", True),
        ("127.0.0.1/32", "localhost", True),
        ("10.0.0.0/8", "name-that-does-not-resolve.invalid", False),
    ],
)
def test_allow_list(monkeypatch, allow, host, allowed):
    monkeypatch.setenv("HYDROML_CONNECTOR_ALLOW", allow)
    if allowed:
        assert policy.check_target("mysql", host, 3306, "gauges") is None
    else:
        with pytest.raises(InvalidInput, match="HYDROML_CONNECTOR_ALLOW") as error:
            policy.check_target("mysql", host, 3306, "gauges")
        assert error.value.field == "host"


def test_deny_wins_over_allow(monkeypatch):
    monkeypatch.setenv("HYDROML_CONNECTOR_ALLOW", "203.0.113.0/24")
    monkeypatch.setenv("HYDROML_CONNECTOR_DENY", REMOTE)
    with pytest.raises(InvalidInput, match="DENY"):
        policy.check_target("mysql", REMOTE, 3306, "gauges")


def test_saving_a_connection_applies_the_policy(keys, project, monkeypatch):
    first, _second, use = keys
    use(first)
    alice, rhine = project
    monkeypatch.setenv("HYDROML_CONNECTOR_DENY", "203.0.113.0/24")
    with pytest.raises(InvalidInput) as error:
        saved(alice, rhine.id, "Denied")
    assert error.value.field == "host"
    assert connections.list_connections(alice, rhine.id) == []


# ---------------------------------------------------------------------------------- failure messages

URL = sa.URL.create("postgresql+psycopg2", "reader", DB_PASSWORD, "db.example.org", 5432, "gauges")


def failure(orig: BaseException) -> sa.exc.OperationalError:
    return sa.exc.OperationalError(None, None, orig)


@pytest.mark.parametrize(
    ("orig", "expected"),
    [
        (
            Exception('connection to server at "10.0.0.1", port 5432 failed: timeout expired'),
            "Timed out after 5 s",
        ),
        (
            Exception('could not translate host name "db.example.org" to address'),
            "Host db.example.org not found",
        ),
        (Exception("connection failed: Connection refused"), "Connection refused"),
        (Exception('FATAL:  password authentication failed for user "reader"'), "Authentication failed"),
        (Exception('FATAL:  database "gauges" does not exist'), "The database 'gauges' does not exist"),
        (Exception("server does not support SSL, but SSL was required"), "TLS is required"),
        (
            Exception('no pg_hba.conf entry for host "1.2.3.4", user "r", database "g", no encryption'),
            "only over TLS",
        ),
        (Exception("SSL error: certificate verify failed"), "certificate could not be verified"),
        (Exception("could not connect: No route to host"), "unreachable"),
        (pymysql.err.OperationalError(2003, "Can't connect to MySQL server on 'h' (timed out)"), "Timed out"),
        (
            pymysql.err.OperationalError(
                2003, "Can't connect to MySQL server on 'h' ([Errno 111] Connection refused)"
            ),
            "Connection refused",
        ),
        (
            pymysql.err.OperationalError(1045, "Access denied for user 'r'@'h' (using password: YES)"),
            "Authentication failed",
        ),
        (pymysql.err.OperationalError(1049, "Unknown database 'gauges'"), "does not exist"),
        (
            pymysql.err.OperationalError(3159, "Connections using insecure transport are prohibited"),
            "only TLS",
        ),
        (
            pymysql.err.OperationalError(2026, "SSL is required but the server doesn't support it"),
            "TLS is required",
        ),
    ],
)
def test_failures_are_described_in_plain_words(orig, expected):
    message = connections.describe_failure(failure(orig), URL, timeout_s=5)
    assert expected in message
    assert DB_PASSWORD not in message


def test_an_unknown_failure_passes_the_driver_text_without_the_password():
    message = connections.describe_failure(
        failure(Exception(f"odd failure near '{DB_PASSWORD}'\nline 2")), URL
    )
    assert message.startswith("The connection failed: odd failure")
    assert DB_PASSWORD not in message and "line 2" not in message


def test_connection_ids_that_are_not_uuids_are_not_found(keys, project):
    first, _second, use = keys
    use(first)
    alice, rhine = project
    from hydroml.services.errors import NotFound

    for bad in ("nope", str(uuid.uuid4())):
        with pytest.raises(NotFound, match="Connection not found."):
            connections.get_connection(alice, rhine.id, bad)


def test_a_stored_password_is_never_sent_to_another_server(keys, project):
    first, _second, use = keys
    use(first)
    alice, rhine = project
    info = saved(alice, rhine.id, "Gauges DB")
    token = stored_tokens()["Gauges DB"]

    for change in ({"host": "198.51.100.7"}, {"port": 5433}, {"kind": "mysql"}):
        with pytest.raises(InvalidInput, match="enter the password for the new server") as error:
            connections.update_connection(alice, rhine.id, info.id, **change)
        assert error.value.field == "password"
    assert stored_tokens()["Gauges DB"] == token

    # Same server, another database or user: the password stays. A new server with its password: fine.
    same = connections.update_connection(alice, rhine.id, info.id, database="archive", username="archivist")
    assert same.has_password and stored_tokens()["Gauges DB"] == token
    moved = connections.update_connection(alice, rhine.id, info.id, host="198.51.100.7", password="new-Pw-1")
    assert moved.host == "198.51.100.7" and secrets.decrypt(stored_tokens()["Gauges DB"]) == "new-Pw-1"


def test_connection_options_are_checked(keys, project):
    first, _second, use = keys
    use(first)
    alice, rhine = project
    saved_with = {"name": "x", "kind": "postgresql", "host": REMOTE, "database": "g", "username": "u"}
    with pytest.raises(InvalidInput, match="TLS mode") as error:
        connections.create_connection(alice, rhine.id, **saved_with, options={"sslmode": "sometimes"})
    assert error.value.field == "options"
    with pytest.raises(InvalidInput, match="Unknown option"):
        connections.create_connection(alice, rhine.id, **saved_with, options={"hostaddr": "10.0.0.1"})
    info = connections.create_connection(alice, rhine.id, **saved_with, options={"sslmode": "Verify-Full"})
    assert info.options == {"sslmode": "verify-full"} and info.port == 5432 and info.has_password is False
