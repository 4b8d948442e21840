"""Serve the built app with `reflex run --env prod` and drive it with Playwright on the system Chromium.

Two deployments are exercised: PostgreSQL + Redis (Reflex's Redis state manager), and the embedded default
(SQLite + disk state manager). Screenshots go to test-output/e2e/<deployment>/.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI, REDIS_URL, create_pg_database, drop_pg_database, require_service

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "e2e"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
E2E_REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + "/14"
START_TIMEOUT_S = 420


def pytest_configure(config):
    # A page event may wait behind an argon2 hash on a loaded 2-core CI machine: allow 15 s, not 5.
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)


@dataclass
class ServedApp:
    name: str
    url: str
    env: dict[str, str]
    shots: Path

    proc: subprocess.Popen | None = None
    start: Callable[[], None] | None = None
    reflex: str = str(Path(os.sys.executable).parent / "reflex")

    def restart(self) -> None:
        """Stop the whole server (backend included) and start it again on the same port and data."""
        _stop(self.proc)
        _wait_until_down(self.url)
        self.start()

    def shot(self, page, name: str, *, full_page: bool = False) -> Path:
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"reflex exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with (
                urllib.request.urlopen(f"{url}/ping", timeout=2) as ping,
                urllib.request.urlopen(f"{url}/signin/", timeout=5) as page,
            ):
                if ping.status == 200 and page.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(f"the app did not start within {START_TIMEOUT_S}s:\n{log.read_text()[-4000:]}")


def _serve(name: str, tmp: Path, extra_env: dict[str, str]):
    if not Path(CHROMIUM).exists():
        message = "Chromium is not installed (make test installs Debian's chromium when run as root)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    port = _free_port()
    url = f"http://localhost:{port}"
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.tools' / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "HYDROML_DATA_DIR": str(tmp / "data"),
        "HYDROML_DEMO_PASSWORD": "catchment-e2e-pass-1",
        # Each served app builds its own frontend: two servers sharing .web would overwrite each other's
        # build (and its baked-in backend port), and a developer's `make run` keeps its own .web.
        "REFLEX_WEB_WORKDIR": str(ROOT / f".web-e2e-{name}"),
        **extra_env,
    }
    for key in ("REFLEX_DB_URL", "REFLEX_REDIS_URL"):
        if key not in extra_env:
            env.pop(key, None)
    reflex = str(Path(os.sys.executable).parent / "reflex")
    subprocess.run([reflex, "db", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    subprocess.run(
        [os.sys.executable, "-m", "hydroml.cli", "demo"], cwd=ROOT, env=env, check=True, timeout=60
    )
    log = tmp / "reflex.log"
    served = ServedApp(name, url, env, OUTPUT / name)
    served.start = lambda: _start(served, port, log)
    try:
        served.start()
        shutil.rmtree(served.shots, ignore_errors=True)
        served.shots.mkdir(parents=True)
        yield served
    finally:
        _stop(served.proc)
        (OUTPUT / f"{name}-server.log").parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, OUTPUT / f"{name}-server.log")


def _start(served: ServedApp, port: int, log: Path) -> None:
    with open(log, "a") as log_file:
        served.proc = subprocess.Popen(
            [
                served.reflex,
                "run",
                "--env",
                "prod",
                "--frontend-port",
                str(port),
                "--backend-port",
                str(port),
            ],
            cwd=ROOT,
            env=served.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _wait_until_up(served.url, served.proc, log)


def _wait_until_down(url: str) -> None:
    """The old server's children may still hold the port for a moment after its main process exits."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/ping", timeout=1).close()
        except OSError:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the server at {url} did not stop")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=20)
            break
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def app_postgres_redis(tmp_path_factory):
    """The scaled-out configuration: PostgreSQL database and Reflex's Redis state manager."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    from tests.conftest import PG_ADMIN_URL

    redis.Redis.from_url(E2E_REDIS_URL).flushdb()
    db_url = create_pg_database(PG_ADMIN_URL)
    try:
        yield from _serve(
            "postgres-redis",
            tmp_path_factory.mktemp("pg-redis"),
            {"REFLEX_DB_URL": db_url, "REFLEX_REDIS_URL": E2E_REDIS_URL},
        )
    finally:
        drop_pg_database(PG_ADMIN_URL, db_url)


@pytest.fixture(scope="session")
def app_sqlite(tmp_path_factory):
    """The embedded default: SQLite under the data dir and the disk state manager."""
    yield from _serve("sqlite", tmp_path_factory.mktemp("sqlite"), {})


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
