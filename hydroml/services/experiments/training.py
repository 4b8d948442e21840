"""What a training run does, from its spec to its results: load the data (a data source version, or a studio
session's pinned recipe replayed on its version), check it, fit and score one pipeline per fold, fit the final
model, draw the charts, log everything to MLflow and return the summary stored with the run.

``check_spec`` is what the wizard calls before queueing: it normalises the spec and raises InvalidInput naming
the wizard field at fault. ``execute`` runs in the runner's child process (see
:mod:`hydroml.services.experiments.runner`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hydroml.services import datasources
from hydroml.services.auth import UserInfo
from hydroml.services.errors import InvalidInput, ServiceError
from hydroml.services.experiments import catalog, charts, metrics, pipeline, runs, splits
from hydroml.services.studio import sessions

logger = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.5
IMPORTANCE_ROWS = 2_000  # enough to rank features; each repeat predicts them once per feature
IMPORTANCE_REPEATS = 5
INPUT_EXAMPLE_ROWS = 5
DATA_KINDS = ("data_source", "studio_session")


class Cancelled(Exception):
    """The user cancelled the run (the runner stops the process as well)."""


# ------------------------------------------------------------------------------------------------ data


def pin_data(actor: UserInfo, project_id, *, data_source_id: str = "", version: int | None = None,
             session_id: str = "") -> dict:  # fmt: skip
    """The spec's "data" entry: a data source version, or a studio session's recipe pinned as it is now."""
    if session_id:
        pin = sessions.pin_recipe(actor, project_id, session_id)
        return {
            "kind": "studio_session",
            **pin.as_dict(),
            "label": f"{pin.session_name} (studio, {pin.data_source_name} v{pin.version})",
        }
    info, versions = datasources.get_data_source(actor, project_id, data_source_id)
    chosen = version or info.version
    if chosen not in {v.version for v in versions}:
        raise InvalidInput("data", f"{info.name} has no version {chosen}.")
    return {
        "kind": "data_source",
        "data_source_id": str(info.id),
        "version": chosen,
        "label": f"{info.name} v{chosen}",
    }


@dataclass
class LoadedData:
    frame: pd.DataFrame
    fingerprint: str  # sha256 of the data file and the recipe: the same data gives the same fingerprint
    recipe_json: str | None = None
    script: str | None = None


def load_data(actor: UserInfo, project_id, data: dict, columns: list[str] | None = None) -> LoadedData:
    """The data of a spec; ``columns`` limits what a data source reads (a studio result is always whole)."""
    kind = data.get("kind")
    if kind == "data_source":
        file = datasources.version_file(actor, project_id, data["data_source_id"], int(data["version"]))
        return LoadedData(pd.read_parquet(file.path, columns=columns), file.sha256)
    if kind == "studio_session":
        frame, script, sha256 = sessions.pinned_result(actor, project_id, data)
        digest = hashlib.sha256(f"{sha256}:{data['recipe_json']}".encode()).hexdigest()
        return LoadedData(frame, digest, data["recipe_json"], script)
    raise InvalidInput("data", "Choose a data source or a studio session.")


# ------------------------------------------------------------------------------------------------ the spec


@dataclass
class CheckedSpec:
    spec: dict
    warnings: list[str] = field(default_factory=list)


def check_spec(spec: dict, frame: pd.DataFrame, *, leak_warnings: bool = True) -> CheckedSpec:
    """The spec normalised against the data, or InvalidInput naming the wizard field to fix."""
    target = str(spec.get("target") or "")
    if target not in frame.columns:
        raise InvalidInput("target", "Choose the column to predict.")
    features = [str(f) for f in spec.get("features") or []]
    if not features:
        raise InvalidInput("features", "Choose at least one feature column.")
    unknown = [f for f in features if f not in frame.columns]
    if unknown:
        raise InvalidInput("features", f"These columns are not in the data: {', '.join(unknown[:5])}.")
    if target in features:
        raise InvalidInput("features", f"The target {target!r} cannot also be a feature.")
    problem_type = str(spec.get("problem_type") or "") or catalog.detect_problem_type(frame[target])
    if problem_type not in ("regression", "binary", "multiclass"):
        raise InvalidInput("problem_type", "Choose regression or classification.")
    problems = pipeline.target_problems(frame, target, problem_type)
    if problems:
        raise InvalidInput("target", problems[0])
    model = str(spec.get("model") or "")
    params = catalog.validate_params(model, problem_type, dict(spec.get("params") or {}))
    preprocessing = pipeline.PreprocessingSpec.from_dict(dict(spec.get("preprocessing") or {}))
    pipeline.check_preprocessing(frame, features, problem_type, model, preprocessing, target)
    split = splits.SplitSpec.from_dict(dict(spec.get("split") or {}))
    for problem in splits.validate(split, frame, target):
        raise InvalidInput("split", problem)
    time_column = spec.get("time_column") or splits.detect_time_column(frame)
    warnings = splits.warnings(split, frame, time_column)
    if warnings and split.strategy in splits.IGNORES_TIME and not spec.get("allow_shuffle"):
        raise InvalidInput(
            "split", warnings[0] + " Confirm that you want this split, or choose a time-aware one."
        )
    family = catalog.problem_family(problem_type)
    chosen = [str(k) for k in spec.get("metrics") or []] or metrics.metrics_for(family)
    allowed = set(metrics.metrics_for(family))
    wrong = [k for k in chosen if k not in allowed]
    if wrong:
        raise InvalidInput(
            "metrics", f"These metrics do not fit a {problem_type} problem: {', '.join(wrong)}."
        )
    primary = str(spec.get("primary_metric") or chosen[0])
    if primary not in chosen:
        raise InvalidInput("primary_metric", "The metric to optimise must be one of the chosen metrics.")
    group = spec.get("group_column") or None
    if group is not None and group not in frame.columns:
        raise InvalidInput("group_column", f"The group column {group!r} is not in the data.")
    normalised = {
        **spec,
        "target": target,
        "features": features,
        "problem_type": problem_type,
        "model": model,
        "params": params,
        "preprocessing": preprocessing.as_dict(),
        "split": split.as_dict(),
        "metrics": chosen,
        "primary_metric": primary,
        "time_column": time_column,
        "group_column": group,
    }
    if not leak_warnings:
        return CheckedSpec(normalised, warnings)
    leaks = [
        f"{w['column']}: {w['reason']}"
        for w in pipeline.feature_warnings(frame, target, features, time_column)
    ]
    return CheckedSpec(normalised, warnings + leaks)


# ------------------------------------------------------------------------------------------------ training


class Progress:
    """Throttled progress reports; raises Cancelled once the user asked to cancel."""

    def __init__(self, report: Callable[[dict], bool]) -> None:
        self.report = report
        self.last = 0.0

    def __call__(self, stage: str, percent: float, *, force: bool = False, **extra) -> None:
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        if not self.report({"stage": stage, "percent": round(min(100.0, max(0.0, percent)), 1), **extra}):
            raise Cancelled()


@dataclass
class TrainingResult:
    summary: dict  # stored with the run: metrics per fold, mean and std, per group, sizes
    mlflow_run_id: str
    fingerprint: str


def _predict(model, X: pd.DataFrame, family: str) -> tuple[np.ndarray, np.ndarray | None]:
    predicted = model.predict(X)
    proba = model.predict_proba(X) if family == "classification" and hasattr(model, "predict_proba") else None
    return predicted, proba


def train(
    actor: UserInfo,
    project_id,
    spec: dict,
    run_name: str,
    progress: Progress,
    *,
    project_name: str = "",
    log: bool = True,
    on_mlflow_run: Callable[[str], None] | None = None,
) -> TrainingResult:
    """Train and score the spec. With ``log``, the MLflow run is opened while the data loads and the first
    model fits (importing MLflow and opening its store take seconds); ``on_mlflow_run`` gets its id, so a run
    stopped half-way can be closed as failed or killed. The results are logged at the end."""
    opening = _open_mlflow_run(project_id, project_name, run_name, spec, on_mlflow_run) if log else None
    try:
        return _train(actor, project_id, spec, progress, opening)
    except BaseException:
        if opening is not None:
            futures.wait([opening])  # the caller closes the MLflow run: its id must be known first
        raise


def _open_mlflow_run(project_id, project_name, run_name, spec, on_mlflow_run) -> futures.Future:
    def start() -> str:
        from hydroml.services.experiments import tracking

        mlflow_run_id = tracking.start_run(
            project_id=str(project_id),
            project_name=project_name,
            run_name=run_name,
            tags={
                "hydroml.model": str(spec.get("model")),
                "hydroml.problem_type": str(spec.get("problem_type")),
            },
        )
        if on_mlflow_run is not None:
            on_mlflow_run(mlflow_run_id)
        return mlflow_run_id

    pool = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlflow-open")
    opening = pool.submit(start)
    pool.shutdown(wait=False)
    return opening


def _columns_used(spec: dict) -> list[str] | None:
    """The columns a run reads: target, features, time and group column (None: all, when one is unknown)."""
    split = spec.get("split") or {}
    wanted = [
        spec.get("target"),
        *(spec.get("features") or []),
        spec.get("time_column"),
        spec.get("group_column"),
        split.get("time_column"),
        split.get("group_column"),
    ]
    names = [str(name) for name in wanted if name]
    return list(dict.fromkeys(names)) if spec.get("target") and spec.get("features") else None


def _train(actor: UserInfo, project_id, spec: dict, progress: Progress, opening) -> TrainingResult:
    progress("Loading the data", 2, force=True)
    loaded = load_data(actor, project_id, spec["data"], _columns_used(spec))
    checked = check_spec(spec, loaded.frame, leak_warnings=False).spec  # the wizard showed the warnings
    target, features = checked["target"], checked["features"]
    problem_type = checked["problem_type"]
    family = catalog.problem_family(problem_type)
    frame = loaded.frame
    missing_target = int(frame[target].isna().sum())
    if missing_target:
        frame = frame[frame[target].notna()].reset_index(drop=True)
    split = splits.SplitSpec.from_dict(checked["split"])
    folds = splits.make_folds(frame, split, target)
    preprocessing = pipeline.PreprocessingSpec.from_dict(checked["preprocessing"])
    labels = sorted(frame[target].dropna().unique().tolist()) if family == "classification" else None

    def build():
        return pipeline.build_pipeline(
            frame, features, problem_type, checked["model"], checked["params"], preprocessing, target=target
        )

    X, y = frame[features], frame[target]
    fold_metrics: list[dict[str, float]] = []
    parts = []
    model = None
    for number, fold in enumerate(folds, start=1):
        share = 10 + 70 * (number - 1) / len(folds)
        progress(f"Fold {number} of {len(folds)}: fitting", share, force=True, fold=number, folds=len(folds))
        model = build()
        model.fit(X.iloc[fold.train], y.iloc[fold.train])
        _set_threads(model, 1)
        progress(
            f"Fold {number} of {len(folds)}: scoring", share + 35 / len(folds), fold=number, folds=len(folds)
        )
        predicted, proba = _predict(model, X.iloc[fold.test], family)
        observed = y.iloc[fold.test].to_numpy()
        fold_metrics.append(
            metrics.compute(family, observed, predicted, proba=proba, labels=labels, keys=checked["metrics"])
        )
        part = pd.DataFrame({"row": fold.test, "fold": number, "observed": observed, "predicted": predicted})
        parts.append(part)
    predictions = pd.concat(parts, ignore_index=True)
    rows = predictions["row"].to_numpy()
    if len(folds) > 1:  # cross-validation: the model to keep learns from every row
        progress("Fitting the final model on all rows", 82, force=True)
        model = build()
        model.fit(X, y)
        _set_threads(model, 1)
        predictions["model_prediction"] = model.predict(X.iloc[rows])
    else:  # a holdout: the kept model is the one that made the recorded predictions
        predictions["model_prediction"] = predictions["predicted"]
    progress("Scoring and drawing charts", 88, force=True)
    for column in (checked.get("time_column"), checked.get("group_column")):
        if column and column in frame.columns and column not in predictions.columns:
            predictions[column] = frame[column].to_numpy()[rows]
    summary = _summary(checked, fold_metrics, predictions, family, len(frame), missing_target, folds)
    figures = _figures(checked, predictions, model, X, y, folds, family, labels)
    mlflow_run_id = ""
    if opening is not None:
        from hydroml.services.experiments import tracking

        progress("Saving the model and results to MLflow", 93, force=True)
        mlflow_run_id = opening.result()
        tracking.finish_run(
            mlflow_run_id,
            params=_logged_params(checked),
            metrics={k: v["mean"] for k, v in summary["metrics"].items()},
            fold_metrics=fold_metrics if len(folds) > 1 else None,
            pipeline=model,
            input_example=X.head(INPUT_EXAMPLE_ROWS),
            predictions=predictions,
            figures={name: fig.to_plotly_json() for name, fig in figures.items()},
            data_fingerprint=loaded.fingerprint,
            recipe_json=loaded.recipe_json,
            recipe_script=loaded.script,
        )
    return TrainingResult(summary, mlflow_run_id, loaded.fingerprint)


def _set_threads(model, n_jobs: int) -> None:
    """Threads add up a forest's trees in any order, which changes the last bit of a prediction: recorded
    predictions are made on one thread (and the kept model is saved so), so the model gives exactly them wherever
    it is loaded. (Many small predictions, as in the permutation importance, are faster on one thread too.)"""
    for key in model.get_params(deep=True):
        if key == "n_jobs" or key.endswith("__n_jobs"):
            model.set_params(**{key: n_jobs})


def _logged_params(spec: dict) -> dict:
    return {
        "model": spec["model"],
        "problem_type": spec["problem_type"],
        "target": spec["target"],
        "features": spec["features"],
        **{f"model.{k}": v for k, v in spec["params"].items()},
        **{f"preprocessing.{k}": v for k, v in spec["preprocessing"].items()},
        **{f"split.{k}": v for k, v in spec["split"].items()},
        "data": spec["data"].get("label", ""),
    }


def _summary(spec, fold_metrics, predictions, family, rows, missing_target, folds) -> dict:
    summarized = metrics.summarize_folds(fold_metrics)
    groups = []
    group = spec.get("group_column")
    if group and group in predictions.columns:
        frame = predictions.rename(columns={"observed": "y_true", "predicted": "y_pred", group: "group"})
        groups = metrics.per_group(family, frame[["y_true", "y_pred", "group"]], spec["metrics"])
    return {
        "metrics": summarized,
        "primary": spec["primary_metric"],
        "folds": len(folds),
        "groups": groups,
        "rows": rows,
        "dropped_missing_target": missing_target,
        "train_rows": int(np.mean([len(f.train) for f in folds])),
        "test_rows": int(np.mean([len(f.test) for f in folds])),
    }


def _figures(spec, predictions, model, X, y, folds, family, labels) -> dict:
    target = spec["target"]
    figures = {}
    observed, predicted = predictions["observed"].to_numpy(), predictions["predicted"].to_numpy()
    if family == "regression":
        figures["predicted_vs_observed"] = charts.predicted_vs_observed(observed, predicted, target)
        figures["residuals"] = charts.residuals(observed, predicted, target)
        time_column = spec.get("time_column")
        if time_column and time_column in predictions.columns:
            group = spec.get("group_column")
            figures["hydrograph"] = charts.hydrograph(
                predictions[time_column], observed, predicted,
                predictions[group] if group and group in predictions.columns else None,
            )  # fmt: skip
    else:
        from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

        figures["confusion_matrix"] = charts.confusion_matrix(
            confusion_matrix(observed, predicted, labels=labels), labels
        )
        if len(labels) == 2 and hasattr(model, "predict_proba"):
            last = folds[-1].test
            scores = model.predict_proba(X.iloc[last])[:, 1]
            truth = (y.iloc[last].to_numpy() == labels[1]).astype(int)
            if 0 < truth.sum() < len(truth):
                fpr, tpr, _ = roc_curve(truth, scores)
                figures["roc"] = charts.roc([(str(labels[1]), fpr, tpr, roc_auc_score(truth, scores))])
    figures["feature_importance"] = _importance(spec, model, X, y, folds[-1].test)
    return figures


def _importance(spec, model, X, y, test_rows):
    from sklearn.inspection import permutation_importance

    rows = test_rows
    if len(rows) > IMPORTANCE_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(rows, IMPORTANCE_ROWS, replace=False))
    result = permutation_importance(
        model, X.iloc[rows], y.iloc[rows], n_repeats=IMPORTANCE_REPEATS, random_state=0, n_jobs=1
    )
    return charts.feature_importance(list(X.columns), result.importances_mean, result.importances_std)


# ------------------------------------------------------------------------------------------------ the child


def warm_up() -> None:
    """What a spare training process does before it is given a run: import MLflow and open its store."""
    from hydroml.services.experiments import tracking

    tracking.ensure_store()


def execute(run_id: uuid.UUID | str) -> None:
    """Train one claimed run and record its outcome (runs in the runner's child process)."""
    from hydroml.services import auth, projects

    run_id = uuid.UUID(str(run_id))
    project_id, spec, name = runs.load_for_runner(run_id)
    progress = Progress(lambda payload: runs.set_progress(run_id, payload))
    opened: list[str] = []

    def remember(mlflow_run_id: str) -> None:
        opened.append(mlflow_run_id)
        runs.set_mlflow_run(run_id, mlflow_run_id)

    try:
        actor = auth.user_by_id(runs.creator_of(run_id))
        project = projects.get_project(actor, project_id)
        result = train(
            actor, project_id, spec, name, progress, project_name=project.name, on_mlflow_run=remember
        )
    except Cancelled:
        return  # the runner records the cancel (here and in MLflow) when it stops this process
    except ServiceError as error:
        _failed(run_id, opened, str(error))
        return
    except MemoryError:
        _failed(run_id, opened, "The server ran out of memory: try fewer rows or a lighter model.")
        return
    except Exception as error:  # a model or data problem we did not foresee: say what happened, plainly
        logger.exception("training run %s failed", run_id)
        _failed(run_id, opened, f"Training failed: {type(error).__name__}: {error}"[:2000])
        return
    runs.finish(run_id, runs.FINISHED, metrics=result.summary, fingerprint=result.fingerprint)


def _failed(run_id: uuid.UUID, opened: list[str], message: str) -> None:
    runs.finish(run_id, runs.FAILED, error=message)
    if opened:
        from hydroml.services.experiments import tracking

        tracking.fail_run(opened[0], message)


def spec_json(spec: dict) -> str:
    return json.dumps(spec, default=str, sort_keys=True)
