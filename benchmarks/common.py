"""Shared helpers and record format for benchmarks.

Every benchmark writes benchmarks/results/<name>.json: a list of records
{"metric", "rows", "value", "baseline", "ratio", "target"} (value/baseline in the metric's unit; ratio =
value / baseline; target = the ratio or value we promise, or null).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of `repeat` calls, in milliseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 3)


def record(metric: str, rows: int | None, value: float, baseline: float | None, target: float | None) -> dict:
    ratio = round(value / baseline, 3) if baseline else None
    return {
        "metric": metric,
        "rows": rows,
        "value": value,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
    }


def write_results(name: str, records: list[dict]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(records, indent=2) + "\n")
    for item in records:
        print(f"{item['metric']:<40} value={item['value']} baseline={item['baseline']} ratio={item['ratio']}")
    print("written", path)
    return path


def hydroml_workspace(workdir: Path, project_name: str):
    """A migrated app database (SQLite) and data dir under ``workdir``, a user and a project (not timed).
    Sets the environment, so child processes started afterwards use the same workspace."""
    os.environ["HYDROML_DATA_DIR"] = str(workdir / "data")
    os.environ["REFLEX_DB_URL"] = f"sqlite:///{workdir / 'app.db'}"
    os.environ.pop("REFLEX_REDIS_URL", None)
    from alembic.config import Config
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from alembic import command
    from hydroml.services import auth, projects

    root = Path(__file__).resolve().parent.parent
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    config.set_main_option("sqlalchemy.url", os.environ["REFLEX_DB_URL"])
    command.upgrade(config, "head")
    auth._hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    user = auth.register("bench", "Tq7-river-gauge", "Benchmark")
    return user, projects.create_project(user, project_name)
