"""Shared record format for benchmark results: one JSON file per benchmark under benchmarks/results/."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    """Run `fn` `repeat` times; p50 / p95 / mean in milliseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 3),
        "mean_ms": round(statistics.fmean(samples), 3),
        "n": repeat,
    }


def write_results(name: str, records: list[dict]) -> Path:
    """records: [{"case", "size", "hydroml": {...}, "baseline": {...}, "ratio"}]."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "records": records,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
