"""Static checks of the deployment files (no Docker engine here): docker-compose.yml, Dockerfile, docker/."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from hydroml.settings import APP_ENV_VARS, get_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKER_DIR = ROOT / "docker"

SERVICES = ("web", "db", "redis", "mlflow")
TOOLS_BIN = "/opt/tools/node_modules/.bin"

# Built by concatenation so this file does not contain registry host names itself.
REGISTRY_HOSTS = (
    "registry." + "npmjs" + ".org",
    "registry." + "yarnpkg" + ".com",
    "pypi" + ".org",
    "files." + "pythonhosted" + ".org",
    "deb." + "debian" + ".org",
    "security." + "debian" + ".org",
)

# Any `${NAME}`, `${NAME:-default}` or `${NAME-default}` in a compose value.
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose.get("services") or {}


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return dockerfile_instructions(DOCKERFILE.read_text())


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


def env_of(service: dict) -> dict[str, str]:
    """A service's environment as a dict, whether compose lists it as a mapping or as KEY=VALUE items."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def resolve(value: str) -> str:
    """What compose yields when none of the referenced variables is set: each `${X:-d}` becomes d."""
    return INTERPOLATION.sub(lambda m: m.group(2) or "", value).replace("$$", "$")


def command_args(service: dict) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def option(args: list[str], name: str) -> str | None:
    """The value of `--name value` or `--name=value` in an argument list."""
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of each volume entry, short (`src:dst[:mode]`) or long syntax."""
    result = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            result.append((str(entry.get("source", "")), str(entry["target"])))
        else:
            parts = str(entry).split(":")
            result.append((parts[0], parts[1]) if len(parts) > 1 else ("", parts[0]))
    return result


def is_named_volume(source: str) -> bool:
    return bool(source) and not source.startswith((".", "/", "~", "$"))


def named_volume_at(service: dict, target: str) -> str | None:
    for source, mount_target in mounts(service):
        if mount_target.rstrip("/") == target.rstrip("/") and is_named_volume(source):
            return source
    return None


def docker_files() -> list[Path]:
    files = [COMPOSE_FILE, DOCKERFILE, ROOT / ".dockerignore"]
    files += sorted(path for path in DOCKER_DIR.rglob("*") if path.is_file())
    return [path for path in files if path.exists()]


# --- docker-compose.yml -------------------------------------------------------------------------------


def test_compose_runs_web_with_its_database_redis_and_mlflow(services):
    missing = [name for name in SERVICES if name not in services]
    assert not missing, f"docker-compose.yml lacks services: {missing}"


def test_web_is_reachable_on_port_3000(services):
    published = []
    for port in services["web"].get("ports") or []:
        if isinstance(port, dict):
            published.append(f"{port.get('published')}:{port.get('target')}")
        else:
            published.append(str(port).rsplit("/", 1)[0])
    assert any(p == "3000:3000" or p.endswith(":3000:3000") for p in published), published


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_reports_its_health(services, name):
    healthcheck = services[name].get("healthcheck") or {}
    test = healthcheck.get("test")
    assert test and test not in (["NONE"], "NONE"), f"{name} has no healthcheck test command"
    missing = [key for key in ("interval", "timeout", "retries", "start_period") if key not in healthcheck]
    assert not missing, f"{name} healthcheck lacks {missing}"


def test_web_health_probe_calls_the_health_api(services):
    test = services["web"]["healthcheck"]["test"]
    command = test if isinstance(test, str) else " ".join(str(part) for part in test)
    assert "localhost:3000/api/health" in command


def test_web_starts_only_after_db_redis_and_mlflow_are_healthy(services):
    depends_on = services["web"].get("depends_on")
    assert isinstance(depends_on, dict), "web.depends_on must use the long form with conditions"
    for dependency in ("db", "redis", "mlflow"):
        assert (depends_on.get(dependency) or {}).get("condition") == "service_healthy", dependency


def test_mlflow_starts_only_after_the_database_is_healthy(services):
    depends_on = services["mlflow"].get("depends_on") or {}
    assert isinstance(depends_on, dict)
    assert (depends_on.get("db") or {}).get("condition") == "service_healthy"


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("web", "/data"),
        ("db", "/var/lib/postgresql/data"),
        ("redis", "/data"),
    ],
)
def test_stateful_services_keep_their_data_in_named_volumes(compose, services, name, target):
    volume = named_volume_at(services[name], target)
    assert volume, f"{name} must mount a named volume at {target}"
    assert volume in (compose.get("volumes") or {}), f"volume {volume!r} is not declared at top level"


def test_every_named_volume_a_service_uses_is_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    used = {
        (name, source)
        for name, service in services.items()
        for source, _ in mounts(service)
        if is_named_volume(source)
    }
    assert used, "no service uses a named volume"
    undeclared = sorted(f"{name}: {source}" for name, source in used if source not in declared)
    assert not undeclared, f"named volumes not declared at top level: {undeclared}"


def test_web_service_receives_every_variable_the_app_reads(services):
    env = env_of(services["web"])
    missing = [name for name in APP_ENV_VARS if name not in env]
    assert not missing, f"web.environment lacks {missing} (listed in hydroml.settings.APP_ENV_VARS)"


def test_web_data_dir_is_the_mounted_data_volume(services):
    web = services["web"]
    data_dir = resolve(env_of(web)["HYDROML_DATA_DIR"])
    assert named_volume_at(web, data_dir), f"HYDROML_DATA_DIR={data_dir} is not a named volume mount"


def test_web_database_url_points_at_the_db_service_with_its_credentials(services):
    url = urlsplit(resolve(env_of(services["web"])["REFLEX_DB_URL"]))
    db_env = {key: resolve(value) for key, value in env_of(services["db"]).items()}
    # psycopg2 named explicitly: Reflex's engine reads this URL raw and SQLAlchemy 2.1 maps a bare
    # postgresql:// to psycopg 3, which the app does not install.
    assert url.scheme == "postgresql+psycopg2"
    assert url.hostname == "db"
    assert url.port in (None, 5432)
    assert url.path == "/" + db_env["POSTGRES_DB"]
    assert url.username == db_env["POSTGRES_USER"]
    assert url.password == db_env["POSTGRES_PASSWORD"]


def test_web_redis_url_points_at_the_redis_service(services):
    url = urlsplit(resolve(env_of(services["web"])["REFLEX_REDIS_URL"]))
    assert url.scheme == "redis"
    assert url.hostname == "redis"
    assert url.port in (None, 6379)


def test_web_tracks_experiments_on_the_mlflow_server(services):
    url = urlsplit(resolve(env_of(services["web"])["MLFLOW_TRACKING_URI"]))
    assert url.scheme == "http"
    assert url.netloc == "mlflow:5000"


@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ("HYDROML_SESSION_HOURS", "session_hours"),
        ("HYDROML_MAX_UPLOAD_MB", "max_upload_mb"),
        ("HYDROML_LOGIN_MAX_FAILURES", "login_max_failures"),
        ("HYDROML_LOGIN_WINDOW_MINUTES", "login_window_minutes"),
        ("HYDROML_DEMO_USER", "demo_username"),
        ("HYDROML_DEMO_PASSWORD", "demo_password"),
    ],
)
def test_compose_defaults_match_the_app_defaults_and_can_be_overridden(
    services, monkeypatch, variable, field
):
    value = env_of(services["web"])[variable]
    match = INTERPOLATION.fullmatch(value)
    assert match and match.group(1) == variable, (
        f"{variable} should be ${{{variable}:-default}}, got {value!r}"
    )
    for name in APP_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    assert resolve(value) == str(getattr(get_settings(), field))


def test_mlflow_keeps_runs_in_postgres_and_artifacts_on_its_volume(compose, services):
    mlflow = services["mlflow"]
    args = command_args(mlflow)
    store = urlsplit(resolve(option(args, "--backend-store-uri") or ""))
    assert store.scheme.startswith("postgresql"), store.scheme
    assert store.hostname == "db"
    assert store.path == "/mlflow"

    destination = option(args, "--artifacts-destination") or option(args, "--default-artifact-root")
    assert destination, "mlflow server needs an artifact location"
    volume = next(
        (
            source
            for source, target in mounts(mlflow)
            if is_named_volume(source) and destination.rstrip("/").startswith(target.rstrip("/"))
        ),
        None,
    )
    assert volume, f"artifact location {destination} is not on a named volume"
    assert volume in (compose.get("volumes") or {})
    assert "--no-serve-artifacts" not in args


def test_mlflow_accepts_requests_addressed_to_its_service_name(services):
    # MLflow's host check allows only localhost and private IPs by default; web sends Host: mlflow:5000.
    allowed = (option(command_args(services["mlflow"]), "--allowed-hosts") or "").split(",")
    assert "mlflow:5000" in [host.strip() for host in allowed] or "*" in allowed


def test_database_init_script_creates_the_mlflow_database(services):
    db = services["db"]
    init_dirs = [source for source, target in mounts(db) if target == "/docker-entrypoint-initdb.d"]
    assert init_dirs, "db does not mount an init folder at /docker-entrypoint-initdb.d"
    folder = (ROOT / init_dirs[0]).resolve()
    scripts = " ".join(path.read_text() for path in sorted(folder.glob("*.sql")))
    assert re.search(r"CREATE\s+DATABASE\s+\"?mlflow\"?", scripts, re.IGNORECASE), folder


def test_mlflow_image_installs_mlflow_and_the_postgres_driver(services):
    build = services["mlflow"].get("build") or {}
    assert isinstance(build, dict) and build.get("dockerfile"), "mlflow should be built from a Dockerfile"
    path = ROOT / build.get("context", ".") / build["dockerfile"]
    runs = " ".join(args for keyword, args in dockerfile_instructions(path.read_text()) if keyword == "RUN")
    assert re.search(r"pip install[^&;]*\bmlflow\b", runs)
    assert "psycopg2" in runs


# --- Dockerfile ---------------------------------------------------------------------------------------


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in instructions:
        if keyword != "ENV":
            continue
        parts = shlex.split(args)
        if parts and "=" not in parts[0]:  # legacy `ENV KEY value`
            env[parts[0]] = " ".join(parts[1:])
            continue
        env.update(part.split("=", 1) for part in parts if "=" in part)
    return env


def test_web_image_exposes_port_3000(dockerfile):
    exposed = {
        port.split("/")[0] for keyword, args in dockerfile if keyword == "EXPOSE" for port in args.split()
    }
    assert "3000" in exposed


def test_web_image_checks_its_health_api(dockerfile):
    checks = [args for keyword, args in dockerfile if keyword == "HEALTHCHECK"]
    assert checks, "Dockerfile has no HEALTHCHECK"
    assert "CMD" in checks[-1] and "localhost:3000/api/health" in checks[-1]


def test_web_image_installs_bun_from_npm_and_tells_reflex_to_use_it(dockerfile):
    runs = [args for keyword, args in dockerfile if keyword == "RUN"]
    assert any(re.search(r"apt-get install[^&;]*\bnodejs\b", run) and " npm" in run for run in runs)
    assert any(re.search(r"npm install[^&;]*--prefix /opt/tools[^&;]*\bbun@1\.4\b", run) for run in runs)
    env = dockerfile_env(dockerfile)
    assert env.get("REFLEX_USE_SYSTEM_BUN") == "1"
    assert TOOLS_BIN in env.get("PATH", "").split(":")


def test_web_image_keeps_app_data_in_a_volume(dockerfile):
    assert dockerfile_env(dockerfile).get("HYDROML_DATA_DIR") == "/data"
    volumes = " ".join(args for keyword, args in dockerfile if keyword == "VOLUME")
    assert "/data" in volumes


def test_web_container_migrates_creates_the_demo_account_then_serves_prod(dockerfile):
    commands = [args for keyword, args in dockerfile if keyword == "CMD"]
    assert commands, "Dockerfile has no CMD"
    command = commands[-1]
    steps = ["reflex db migrate", "python -m hydroml.cli demo", "reflex run --env prod"]
    positions = [command.find(step) for step in steps]
    assert -1 not in positions, f"CMD lacks one of {steps}: {command}"
    assert positions == sorted(positions), f"CMD must run {steps} in this order: {command}"


def test_docker_context_leaves_out_local_environments_and_data():
    ignored = {line.strip().strip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    missing = {".venv", ".tools", ".web", "data", "test-output", ".git"} - ignored
    assert not missing, f".dockerignore lacks {sorted(missing)}"
    assert ignored & {"__pycache__", "**/__pycache__"}


def test_docker_files_name_no_package_registry_host():
    files = docker_files()
    assert DOCKERFILE in files and COMPOSE_FILE in files
    found = [
        f"{path.relative_to(ROOT)}: {host}"
        for path in files
        for host in REGISTRY_HOSTS
        if host in path.read_text().lower()
    ]
    assert not found, f"registry host names in docker files: {found}"


# --- the environment the code reads -------------------------------------------------------------------

ENV_READS = (
    re.compile(r"os\.environ\.get\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']"),
    re.compile(r"os\.environ\[\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']\s*\]"),
    re.compile(r"os\.getenv\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']"),
    # helpers that take the variable name, e.g. settings._int("HYDROML_SESSION_HOURS", 336)
    re.compile(r"\b\w+\(\s*[\"']((?:HYDROML|REFLEX|MLFLOW)_[A-Z0-9_]+)[\"']"),
)


def variables_read_by_code() -> dict[str, set[str]]:
    files = sorted((ROOT / "hydroml").rglob("*.py")) + [ROOT / "rxconfig.py"]
    found: dict[str, set[str]] = {}
    for path in files:
        text = path.read_text()
        for pattern in ENV_READS:
            for name in pattern.findall(text):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_variable_the_code_reads_is_listed_for_compose():
    found = variables_read_by_code()
    # The scan must see the reads we know of, or a broken pattern would pass silently.
    assert {"HYDROML_DATA_DIR", "REFLEX_DB_URL", "HYDROML_SESSION_HOURS"} <= set(found), sorted(found)
    unlisted = {name: sorted(paths) for name, paths in found.items() if name not in APP_ENV_VARS}
    assert not unlisted, f"add these to hydroml.settings.APP_ENV_VARS and docker-compose.yml: {unlisted}"
