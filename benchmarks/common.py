"""Shared helpers and record format for benchmarks.

Every benchmark writes benchmarks/results/<name>.json: a list of records
{"metric", "rows", "value", "baseline", "ratio", "target"} (value/baseline in the metric's unit; ratio =
value / baseline; target = the ratio or value we promise, or null).
"""

from __future__ import annotations

import json
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
