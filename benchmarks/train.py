"""Training cost: a whole HydroML run vs raw scikit-learn on the same pipeline and data, in the same run.

Data: N rows of synthetic daily hydrology (5 stations; precipitation, temperature and their 1-3 day lags,
day-of-year sin/cos; target = flow), stored as a data source of a temporary HydroML workspace (SQLite app
database, local MLflow store under a temporary data dir).

- HydroML: a queued run, picked up by an idle runner (as a server's is: its spare interpreter has imported the
  libraries), trained in that child process (reading the Parquet file, the spec check, fit, scoring,
  permutation importance and charts, MLflow logging of the model, predictions and charts) until the run is
  "finished". Wall time from queueing to finished, polled every 0.2 s.
- scikit-learn: the same pipeline (`pipeline.build_pipeline`, same parameters), fit on the same training rows
  and predicting the same test rows, in this process, with the frame already in memory.

Cases: random forest (100 trees, the catalog's defaults otherwise) at 100k rows, chronological holdout 20 %
(target: ratio <= 1.3); histogram gradient boosting at 1M rows (target: completes, with progress reports).

Run: .venv/bin/python -m benchmarks.train [--rows 100000] [--big-rows 1000000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import hydroml_workspace, record, write_results

TIME_TARGET = 1.3
FEATURES = [
    "precip_mm",
    "precip_lag1",
    "precip_lag2",
    "precip_lag3",
    "air_temp_c",
    "temp_lag1",
    "doy_sin",
    "doy_cos",
]


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """Daily rows for 5 stations: a leaky-bucket flow driven by precipitation and temperature."""
    rng = np.random.default_rng(seed)
    per_station = rows // 5
    frames = []
    for station in range(5):
        dates = pd.date_range("1900-01-01", periods=per_station, freq="D")
        doy = dates.day_of_year.to_numpy()
        precip = rng.gamma(0.6, 6.0, per_station) * (rng.random(per_station) < 0.4)
        temp = 10 + 8 * np.sin(2 * np.pi * doy / 365.25) + rng.normal(0, 2, per_station)
        store, flow = 0.0, np.empty(per_station)
        for i in range(per_station):
            store = 0.92 * store + precip[i] - max(0.0, 0.05 * temp[i])
            store = max(store, 0.0)
            flow[i] = 0.08 * store + rng.normal(0, 0.05)
        frame = pd.DataFrame(
            {
                "date": dates,
                "station_id": f"ST{station + 1:02d}",
                "precip_mm": precip,
                "air_temp_c": temp,
                "doy_sin": np.sin(2 * np.pi * doy / 365.25),
                "doy_cos": np.cos(2 * np.pi * doy / 365.25),
                "flow": flow,
            }
        )
        for lag in (1, 2, 3):
            frame[f"precip_lag{lag}"] = frame["precip_mm"].shift(lag)
        frame["temp_lag1"] = frame["air_temp_c"].shift(1)
        frames.append(frame.iloc[3:])
    return pd.concat(frames, ignore_index=True)


def spec_for(data: dict, model: str, params: dict) -> dict:
    return {
        "data": data,
        "target": "flow",
        "features": FEATURES,
        "model": model,
        "params": params,
        "split": {"strategy": "chronological_holdout", "time_column": "date", "test_fraction": 0.2},
        "metrics": ["nse", "kge", "pbias", "rmse"],
        "time_column": "date",
        "group_column": "station_id",
    }


WARM_UP_S = 10.0


def idle_runner():
    """A runner that has been idle for a while, as a server's is when someone clicks Train: its spare
    interpreter has imported scikit-learn, pandas and MLflow and waits for a run."""
    from hydroml.services.experiments.runner import Runner

    runner = Runner(slots=1)
    runner.tick()
    time.sleep(WARM_UP_S)
    return runner


def run_hydroml(user, project, spec: dict, name: str) -> tuple[float, list[dict], dict]:
    """Queue, let an idle runner train it in its child process, wait until finished; (seconds, progress, run)."""
    from hydroml.services.experiments import runs

    runner = idle_runner()
    seen: list[dict] = []
    started = time.perf_counter()
    run = runs.queue_run(user, project.id, spec, name)
    try:
        while True:
            runner.tick()
            info = runs.get_run(user, project.id, run.id)
            if info.progress and (not seen or seen[-1] != info.progress):
                seen.append(info.progress)
            if info.status in runs.DONE:
                break
            time.sleep(0.2)
    finally:
        runner.stop()
    elapsed = time.perf_counter() - started
    if info.status != runs.FINISHED:
        raise RuntimeError(f"run {name} ended {info.status}: {info.error}")
    return elapsed, seen, info


def run_sklearn(frame: pd.DataFrame, checked: dict) -> float:
    """The same pipeline fit on the same training rows and predicting the same test rows."""
    from hydroml.services.experiments import pipeline, splits

    started = time.perf_counter()
    fold = splits.make_folds(frame, splits.SplitSpec.from_dict(checked["split"]), "flow")[0]
    model = pipeline.build_pipeline(
        frame, FEATURES, "regression", checked["model"], checked["params"], checked["preprocessing"]
    )
    model.fit(frame[FEATURES].iloc[fold.train], frame["flow"].iloc[fold.train])
    model.predict(frame[FEATURES].iloc[fold.test])
    return time.perf_counter() - started


def measure(rows: int, big_rows: int, repeat: int, workdir: Path) -> list[dict]:
    user, project = hydroml_workspace(workdir, "Training benchmark")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{workdir / 'data' / 'mlflow.db'}"
    from hydroml.services import datasources
    from hydroml.services.experiments import training

    records = []
    frame = make_frame(rows)
    source = datasources.create_from_frame(user, project.id, f"Daily {rows}", frame)
    data = training.pin_data(user, project.id, data_source_id=str(source.id))
    spec = spec_for(data, "random_forest", {"n_estimators": 100})
    checked = training.check_spec(spec, frame).spec
    ours, theirs = [], []
    for attempt in range(repeat):
        theirs.append(run_sklearn(frame, checked))
        seconds, seen, info = run_hydroml(user, project, spec, f"Forest {attempt + 1}")
        ours.append(seconds)
        print(
            f"{rows:,} rows random forest: hydroml {seconds:.2f} s, scikit-learn {theirs[-1]:.2f} s "
            f"(NSE {info.metrics['metrics']['nse']['mean']:.3f}, {len(seen)} progress reports)"
        )
    records.append(
        record(
            "random_forest_100_trees_run_seconds (baseline: scikit-learn fit + predict, same pipeline)",
            rows,
            round(float(np.median(ours)), 2),
            round(float(np.median(theirs)), 2),
            TIME_TARGET,
        )
    )
    if big_rows:
        big = make_frame(big_rows, seed=1)
        source = datasources.create_from_frame(user, project.id, f"Daily {big_rows}", big)
        data = training.pin_data(user, project.id, data_source_id=str(source.id))
        spec = spec_for(data, "hist_gradient_boosting", {})
        checked = training.check_spec(spec, big).spec
        baseline = run_sklearn(big, checked)
        seconds, seen, info = run_hydroml(user, project, spec, "Boosting 1M")
        stages = sorted({p.get("stage", "") for p in seen})
        print(
            f"{big_rows:,} rows boosting: hydroml {seconds:.2f} s, scikit-learn {baseline:.2f} s; stages {stages}"
        )
        records.append(
            record(
                "hist_gradient_boosting_run_seconds (baseline: scikit-learn fit + predict, same pipeline)",
                big_rows,
                round(seconds, 2),
                round(baseline, 2),
                None,
            )
        )
        records.append(
            record("hist_gradient_boosting_progress_reports_seen", big_rows, len(seen), None, None)
        )
    return records


def main() -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hydroml-bench-train-"))
    try:
        records = measure(args.rows, args.big_rows, args.repeat, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"cpu count: {os.cpu_count()}")
    write_results("train", records)
    return records


if __name__ == "__main__":
    main()
