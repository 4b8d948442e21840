"""Import cost: HydroML's detect_settings + import_to_parquet vs pandas.read_csv(engine="pyarrow") + to_parquet
on the same generated CSV (N rows x 20 columns: timestamps, dates, numbers, text), in the same run.

Each side runs in its own subprocess (started from a parent that never loads pyarrow or pandas), which reports
its wall time and peak RSS (resource.getrusage RUSAGE_SELF ru_maxrss: the whole process, interpreter and libraries
included). Memory is compared with the size of the data
as a pandas frame (df.memory_usage(deep=True).sum()). Targets: time ratio <= 1.5, peak <= 3x the frame.
If hydroml.services.quality.quality_report exists it is timed on the imported Parquet file (target <= 3 s).

Run: .venv/bin/python -m benchmarks.ingest [--rows 1000000] [--rows 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import median_ms, record, write_results

CHUNK_ROWS = 500_000
TIME_TARGET = 1.5
MEMORY_TARGET = 3.0
QUALITY_TARGET_S = 3.0


def generate_csv(path: Path, rows: int, seed: int = 0) -> None:
    """A station export: 20 columns, written in chunks so 10M rows need little memory."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    stations = np.array([f"ST-{i:03d}" for i in range(50)])
    qualities = np.array(["good", "suspect", "estimated", "missing"])
    notes = np.array(["", "ice", "gauge maintenance", "backwater", "<b>check</b>"])
    start = np.datetime64("1990-01-01T00:00:00", "s")
    writer = None
    try:
        for offset in range(0, rows, CHUNK_ROWS):
            n = min(CHUNK_ROWS, rows - offset)
            hours = start + (np.arange(offset, offset + n) * 3600).astype("timedelta64[s]")
            stamps = pa.array(hours, pa.timestamp("s"))
            columns = {
                "time": pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S"),
                "day": pc.strftime(stamps, format="%Y-%m-%d"),
                "station": pa.array(rng.choice(stations, n)),
            }
            for i in range(10):
                values = np.round(rng.gamma(2.0, 40.0, n), 3)
                values[rng.random(n) < 0.01] = np.nan  # gaps stay gaps
                columns[f"flow_{i}"] = pa.array(values, from_pandas=True)
            for i in range(4):
                columns[f"count_{i}"] = pa.array(rng.integers(0, 100_000, n))
            columns["quality"] = pa.array(rng.choice(qualities, n))
            columns["note"] = pa.array(rng.choice(notes, n))
            columns["temp"] = pa.array(np.round(rng.normal(10, 6, n), 2))
            table = pa.table(columns)
            if writer is None:
                writer = pacsv.CSVWriter(str(path), table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(kind: str, csv_path: Path, out_path: Path) -> dict:
    """One measured run inside a fresh process; prints a JSON line."""
    if kind == "hydroml":
        from hydroml.services.ingest import detect_settings, import_to_parquet, preview

        start_mb = _peak_mb()
        started = time.perf_counter()
        settings = detect_settings(csv_path, csv_path.name)
        detect_s = time.perf_counter() - started
        result = import_to_parquet(csv_path, settings, out_path)
        seconds = time.perf_counter() - started
        report = {
            "seconds": seconds,
            "detect_s": detect_s,
            "rows": result.rows,
            "invalid": result.invalid_values,
        }
        peak = _peak_mb()
        preview_started = time.perf_counter()
        preview(csv_path, settings)
        report["preview_s"] = time.perf_counter() - preview_started
        report.update(peak_mb=peak, start_mb=start_mb, dtypes=[c["dtype"] for c in result.columns])
    else:
        import pandas as pd

        start_mb = _peak_mb()
        started = time.perf_counter()
        frame = pd.read_csv(csv_path, engine="pyarrow")
        frame.to_parquet(out_path)
        seconds = time.perf_counter() - started
        peak = _peak_mb()
        frame_mb = frame.memory_usage(deep=True).sum() / 2**20
        report = {
            "seconds": seconds,
            "peak_mb": peak,
            "start_mb": start_mb,
            "frame_mb": frame_mb,
            "rows": len(frame),
        }
    report["parquet_mb"] = out_path.stat().st_size / 2**20
    print(json.dumps(report))
    return report


def quality_child(parquet: Path) -> dict:
    try:
        from hydroml.services.quality import quality_report
    except ImportError as exc:
        report = {"skipped": f"{type(exc).__name__}: {exc}"}
    else:
        report = {"seconds": median_ms(lambda: quality_report(parquet), 3) / 1000}
    print(json.dumps(report))
    return report


def run_child(kind: str, *args: Path | str) -> dict:
    """Every measured step runs in a fresh process started from this small one: on Linux a child's peak RSS
    starts from its parent's size at fork, so the parent never loads pyarrow or pandas itself."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.ingest", "--child", kind, *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(rows: int, repeat: int, workdir: Path) -> list[dict]:
    csv_path = workdir / f"stations_{rows}.csv"
    started = time.perf_counter()
    run_child("generate", csv_path, str(rows))
    size_mb = csv_path.stat().st_size / 2**20
    print(
        f"\n{rows:,} rows x 20 columns: {size_mb:.0f} MB CSV generated in {time.perf_counter() - started:.1f} s"
    )
    ours, theirs = [], []
    for attempt in range(repeat):  # alternate so both sides see the same machine load
        theirs.append(run_child("pandas", csv_path, workdir / "pandas.parquet"))
        ours.append(run_child("hydroml", csv_path, workdir / "hydroml.parquet"))
        print(
            f"  run {attempt + 1}: hydroml {ours[-1]['seconds']:.2f} s / {ours[-1]['peak_mb']:.0f} MB peak, "
            f"pandas {theirs[-1]['seconds']:.2f} s / {theirs[-1]['peak_mb']:.0f} MB peak"
        )
    assert ours[0]["rows"] == theirs[0]["rows"] == rows
    print(f"  hydroml types: {ours[0]['dtypes']}")

    def median(runs: list[dict], key: str) -> float:
        return round(statistics.median(run[key] for run in runs), 3)

    frame_mb = round(theirs[0]["frame_mb"], 1)
    records = [
        record(
            "import_seconds (baseline: pandas read_csv pyarrow + to_parquet)",
            rows,
            median(ours, "seconds"),
            median(theirs, "seconds"),
            TIME_TARGET,
        ),
        record(
            "import_peak_rss_mb (baseline: pandas frame size)",
            rows,
            round(max(run["peak_mb"] for run in ours), 1),
            frame_mb,
            MEMORY_TARGET,
        ),
        record(
            "pandas_peak_rss_mb (baseline: pandas frame size)",
            rows,
            round(max(run["peak_mb"] for run in theirs), 1),
            frame_mb,
            None,
        ),
        record(
            "import_rss_growth_mb (baseline: pandas growth)",
            rows,
            round(max(run["peak_mb"] - run["start_mb"] for run in ours), 1),
            round(max(run["peak_mb"] - run["start_mb"] for run in theirs), 1),
            None,
        ),
        record("detect_settings_seconds", rows, median(ours, "detect_s"), None, None),
        record("preview_seconds (100 rows, types from 10,000)", rows, median(ours, "preview_s"), None, None),
        record(
            "parquet_mb (baseline: pandas to_parquet)",
            rows,
            round(ours[0]["parquet_mb"], 1),
            round(theirs[0]["parquet_mb"], 1),
            None,
        ),
    ]
    quality = run_child("quality", workdir / "hydroml.parquet", "-")
    if "skipped" in quality:
        print(
            f"  note: quality_report not timed ({quality['skipped']}); hydroml.services.quality is not ready"
        )
    else:
        seconds = round(quality["seconds"], 3)
        records.append(
            record("quality_report_seconds (on the imported Parquet)", rows, seconds, None, QUALITY_TARGET_S)
        )
    csv_path.unlink()
    return records


def main() -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, action="append", help="rows to generate (repeat for several sizes)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "IN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, first, second = args.child
        if kind == "generate":
            generate_csv(Path(first), int(second))
            print("{}")
        elif kind == "quality":
            quality_child(Path(first))
        else:
            child(kind, Path(first), Path(second))
        return []
    workdir = Path(tempfile.mkdtemp(prefix="hydroml-bench-ingest-"))
    try:
        records = []
        for rows in args.rows or [1_000_000]:
            records += measure(rows, args.repeat, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"cpu count: {os.cpu_count()}")
    write_results("ingest", records)
    return records


if __name__ == "__main__":
    main()
