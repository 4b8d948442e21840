"""MLflow tracking for training runs: one MLflow experiment per project, one MLflow run per training run.

Plain functions over explicit inputs; nothing here knows users or roles (the caller checks them).

Choices worth knowing:

- ``mlflow`` is imported inside the functions (``import mlflow`` costs ~1.7 s and the web app imports the
  services at start).
- Every call goes through an explicit ``MlflowClient(tracking_uri=...)``, one cached per URI, never through
  ``mlflow.set_tracking_uri`` / ``mlflow.start_run``: that global state is shared by every thread of the process
  and several stores (tests, projects) may be used at once. The client is safe to share between threads; a
  worker process builds its own.
- The tracking URI is ``MLFLOW_TRACKING_URI`` (default ``sqlite:///<data dir>/mlflow.db``). For a database
  store we choose the artifact folder ourselves (MLflow's default is ``./mlruns`` under the current directory):
  ``mlruns/`` next to a SQLite file, ``<data dir>/mlruns`` for another database; an MLflow server (``http``)
  decides on its own (``--artifacts-destination``).
- The model is saved with ``mlflow.sklearn.save_model(serialization_format="cloudpickle")`` into the run's
  artifacts under ``model/`` (so ``runs:/<run id>/model`` loads it and ``mlflow.register_model`` accepts it).
  Not skops, MLflow's default: skops refuses tree models (``sklearn.tree._tree.Tree``) unless every type is
  listed as trusted, and is ~3x slower on big forests. Cloudpickle runs code when loading: load only models this
  app logged, with the same scikit-learn version (pinned in the model's requirements.txt); a pipeline holding
  HydroML's own transformers also needs ``hydroml`` importable. The requirements are written explicitly,
  because MLflow's inference of them reloads the model in a subprocess (~4 s a run).
- Not ``mlflow.sklearn.log_model``: in MLflow 3 it needs the fluent active run (global tracking URI) and stores
  the model as a separate "logged model" entity outside the run's artifact folder, which deleting a run would
  leave behind.

Two ways to log: :func:`log_training_run` at the end of a training in one call, or :func:`start_run` when
training starts (the MLflow run id exists early, status RUNNING) then :func:`finish_run` with the results.
Either way a failure while logging ends the MLflow run FAILED and re-raises. A training that fails or is
cancelled before :func:`finish_run` is closed with :func:`fail_run`; a process killed outright leaves the run
RUNNING until someone calls :func:`fail_run` (the training runner does when it reaps a dead child).
"""

from __future__ import annotations

import json
import logging
import math
import posixpath
import re
import tempfile
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

import pandas as pd

from hydroml.services.errors import InvalidInput, NotFound
from hydroml.settings import get_settings

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from sklearn.pipeline import Pipeline

logger = logging.getLogger(__name__)

EXPERIMENT_PREFIX = "hydroml/"
MODEL_PATH = "model"
PREDICTIONS_PATH = "predictions.parquet"
PARAMS_PATH = "params.json"
RECIPE_JSON_PATH = "recipe/recipe.json"
RECIPE_SCRIPT_PATH = "recipe/recipe.py"
CHARTS_DIR = "charts"
FOLD_PREFIX = "fold_"

# MLflow 3.17 accepts 6000 characters per param value; older servers and some backends only 500. We keep
# 500 (readable in the MLflow UI, accepted everywhere) and log every param in full in params.json.
PARAM_VALUE_LIMIT = 500
TRUNCATED_MARK = "...[truncated]"
KEY_LIMIT = 250
TAG_VALUE_LIMIT = 5000
INPUT_EXAMPLE_ROWS = 10
BATCH_PARAMS_TAGS = 100  # MLflow's per-request limits
BATCH_METRICS = 1000

TAG_PROJECT_ID = "hydroml.project_id"
TAG_PROJECT_NAME = "hydroml.project_name"
TAG_FINGERPRINT = "hydroml.data_fingerprint"
TAG_SKIPPED_METRICS = "hydroml.skipped_metrics"
TAG_TRUNCATED_PARAMS = "hydroml.truncated_params"
TAG_ERROR = "hydroml.error"

RUNNING, FINISHED, FAILED, KILLED = "RUNNING", "FINISHED", "FAILED", "KILLED"

_RUN_ID = re.compile(r"^[A-Za-z0-9][\w\-]{0,255}$")
_PROJECT_ID = re.compile(r"^[A-Za-z0-9][\w\-]{0,99}$")
_BAD_KEY_CHARS = re.compile(r"[^\w./\- :]")
_BAD_FILE_CHARS = re.compile(r"[^\w\-.]")

_clients: dict[str, MlflowClient] = {}
_clients_lock = threading.Lock()


# ------------------------------------------------------------------------------------------------ where


def tracking_uri() -> str:
    """The tracking URI: ``MLFLOW_TRACKING_URI``, else the SQLite store ``<data dir>/mlflow.db``."""
    return get_settings().mlflow_tracking_uri


def _sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative paths against the current directory)."""
    if not uri.startswith("sqlite:///"):
        return None
    raw = unquote(uri[len("sqlite:///") :].split("?", 1)[0])
    if not raw or raw == ":memory:":
        return None
    return Path(raw).resolve()


def artifact_root_for(uri: str | None = None) -> Path | None:
    """The folder holding the artifacts of a database-backed store (None: the store or server decides)."""
    uri = uri or tracking_uri()
    scheme = urlsplit(uri).scheme.split("+", 1)[0].lower()
    db_file = _sqlite_file(uri)
    if db_file is not None:
        return db_file.parent / "mlruns"
    if scheme in ("sqlite", "postgresql", "postgres", "mysql", "mssql"):
        return get_settings().data_dir / "mlruns"
    return None


def artifact_location_for(project_id: str, uri: str | None = None) -> str | None:
    """The artifact location (a ``file://`` URI) for a project's new experiment, or None to use the default
    of a server or file store."""
    root = artifact_root_for(uri)
    return (root / _checked_project_id(project_id)).as_uri() if root is not None else None


def experiment_name(project_id: str) -> str:
    return EXPERIMENT_PREFIX + _checked_project_id(project_id)


def _checked_project_id(project_id: str) -> str:
    project_id = str(project_id)
    if not _PROJECT_ID.match(project_id):
        raise InvalidInput("project_id", "A project id may only hold letters, digits, '-' and '_'.")
    return project_id


def _client(uri: str | None = None) -> MlflowClient:
    """One client per tracking URI. Creating it opens the store, and the first use of a SQLite store creates
    its tables (~3 s): the lock keeps two threads from migrating the same fresh file at once."""
    uri = uri or tracking_uri()
    with _clients_lock:
        client = _clients.get(uri)
        if client is None:
            from mlflow import MlflowClient

            db_file = _sqlite_file(uri)
            if db_file is not None:
                db_file.parent.mkdir(parents=True, exist_ok=True)
            client = _clients[uri] = MlflowClient(tracking_uri=uri)
        return client


def ensure_store() -> None:
    """Open the tracking store now, creating a fresh SQLite store's tables. The runner calls it before it starts
    training processes: two processes creating the same fresh store at once collide."""
    _client().search_experiments(max_results=1)


# ------------------------------------------------------------------------------------------------ experiments


def experiment_for_project(project_id: str, project_name: str) -> str:
    """The id of the project's MLflow experiment (``hydroml/<project id>``), created on first use.

    Idempotent and safe under concurrent creation: when another thread or process creates it first, MLflow
    refuses the duplicate name and we read the winner's id. A renamed project updates the name tag; an
    experiment deleted in the MLflow UI is restored."""
    from mlflow.exceptions import MlflowException

    client = _client()
    name = experiment_name(project_id)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(
                name,
                artifact_location=artifact_location_for(project_id),
                tags={TAG_PROJECT_ID: project_id, TAG_PROJECT_NAME: _clip(project_name, TAG_VALUE_LIMIT)},
            )
        except MlflowException:
            # RESOURCE_ALREADY_EXISTS, or (SQLite) a write that lost the race: the winner's row is there.
            for _ in range(20):
                experiment = client.get_experiment_by_name(name)
                if experiment is not None:
                    break
                time.sleep(0.05)
            else:
                raise
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    if experiment.tags.get(TAG_PROJECT_NAME) != _clip(project_name, TAG_VALUE_LIMIT):
        client.set_experiment_tag(
            experiment.experiment_id, TAG_PROJECT_NAME, _clip(project_name, TAG_VALUE_LIMIT)
        )
    return experiment.experiment_id


# ------------------------------------------------------------------------------------------------ logging


def start_run(
    *, project_id: str, project_name: str, run_name: str, tags: Mapping[str, str] | None = None
) -> str:
    """Create the MLflow run (status RUNNING) in the project's experiment; returns its run id."""
    client = _client()
    experiment_id = experiment_for_project(project_id, project_name)
    run_tags = {TAG_PROJECT_ID: str(project_id), **_clean_tags(tags or {})}
    run = client.create_run(experiment_id, run_name=_clip(run_name, KEY_LIMIT), tags=run_tags)
    return run.info.run_id


def finish_run(
    run_id: str,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    fold_metrics: list[Mapping[str, float]] | None,
    pipeline: Pipeline,
    input_example: pd.DataFrame,
    predictions: pd.DataFrame,
    figures: Mapping[str, dict],
    data_fingerprint: str,
    recipe_json: str | None = None,
    recipe_script: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Log a training's results into a RUNNING run and end it FINISHED; on any error the run ends FAILED
    (with the error in the ``hydroml.error`` tag) and the error is re-raised.

    Logged: params (flattened, values over 500 characters truncated; all in full in ``params.json``),
    summary metrics (NaN and infinities skipped and listed in ``hydroml.skipped_metrics``: MLflow stores NaN
    but it sorts and compares badly and a server's JSON rejects it), per-fold metrics as ``fold_<key>`` at
    ``step=<fold index>`` (0-based), the model under ``model/`` with a signature inferred from the input
    example and the model's predictions on it, ``predictions.parquet``, ``charts/<name>.json``,
    ``recipe/recipe.json`` and ``recipe/recipe.py``, and the data fingerprint as a tag."""
    client = _client()
    try:
        _log_results(
            client,
            run_id,
            params=params,
            metrics=metrics,
            fold_metrics=fold_metrics,
            pipeline=pipeline,
            input_example=input_example,
            predictions=predictions,
            figures=figures,
            data_fingerprint=data_fingerprint,
            recipe_json=recipe_json,
            recipe_script=recipe_script,
            tags=tags,
        )
        client.set_terminated(run_id, status=FINISHED)
    except BaseException as exc:
        _mark_failed(client, run_id, f"{type(exc).__name__}: {exc}", FAILED)
        raise


def log_training_run(
    *,
    project_id: str,
    project_name: str,
    run_name: str,
    tags: Mapping[str, str] | None = None,
    **results: Any,
) -> str:
    """:func:`start_run` then :func:`finish_run` (``results`` are its keyword arguments); returns the run id."""
    run_id = start_run(project_id=project_id, project_name=project_name, run_name=run_name, tags=tags)
    finish_run(run_id, tags=tags, **results)
    return run_id


def fail_run(run_id: str, reason: str = "", *, cancelled: bool = False) -> bool:
    """End a run that is still RUNNING as FAILED (or KILLED when ``cancelled``), with the reason as the
    ``hydroml.error`` tag. Returns False, changing nothing, for an unknown run or one that already ended."""
    client = _client()
    run = _get_run_or_none(client, run_id)
    if run is None or run.info.status != RUNNING:
        return False
    _mark_failed(
        client, run_id, reason or ("Cancelled." if cancelled else "Failed."), KILLED if cancelled else FAILED
    )
    return True


def _mark_failed(client: MlflowClient, run_id: str, reason: str, status: str) -> None:
    try:
        client.set_tag(run_id, TAG_ERROR, _clip(reason, TAG_VALUE_LIMIT))
    except Exception:
        logger.exception("could not record the error of MLflow run %s", run_id)
    try:
        client.set_terminated(run_id, status=status)
    except Exception:
        logger.exception("could not mark MLflow run %s %s", run_id, status)


def _log_results(
    client: MlflowClient,
    run_id: str,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    fold_metrics: list[Mapping[str, float]] | None,
    pipeline: Pipeline,
    input_example: pd.DataFrame,
    predictions: pd.DataFrame,
    figures: Mapping[str, dict],
    data_fingerprint: str,
    recipe_json: str | None,
    recipe_script: str | None,
    tags: Mapping[str, str] | None,
) -> None:
    from mlflow.entities import Metric, Param, RunTag

    flat_params, truncated = _flat_params(params)
    now = int(time.time() * 1000)
    metric_rows, skipped = [], []
    for key, value in metrics.items():
        if _finite(value):
            metric_rows.append(Metric(_key(key), float(value), now, 0))
        else:
            skipped.append(str(key))
    for step, fold in enumerate(fold_metrics or []):
        for key, value in fold.items():
            if _finite(value):
                metric_rows.append(Metric(_key(FOLD_PREFIX + str(key)), float(value), now, step))
            else:
                skipped.append(f"{FOLD_PREFIX}{key}[{step}]")
    run_tags = {**_clean_tags(tags or {}), TAG_FINGERPRINT: _clip(data_fingerprint, TAG_VALUE_LIMIT)}
    if skipped:
        run_tags[TAG_SKIPPED_METRICS] = _clip(", ".join(skipped), TAG_VALUE_LIMIT)
    if truncated:
        run_tags[TAG_TRUNCATED_PARAMS] = _clip(", ".join(truncated), TAG_VALUE_LIMIT)

    param_rows = [Param(k, v) for k, v in flat_params.items()]
    tag_rows = [RunTag(k, v) for k, v in run_tags.items()]
    for start in range(0, len(param_rows), BATCH_PARAMS_TAGS):
        client.log_batch(run_id, params=param_rows[start : start + BATCH_PARAMS_TAGS])
    for start in range(0, len(tag_rows), BATCH_PARAMS_TAGS):
        client.log_batch(run_id, tags=tag_rows[start : start + BATCH_PARAMS_TAGS])
    for start in range(0, len(metric_rows), BATCH_METRICS):
        client.log_batch(run_id, metrics=metric_rows[start : start + BATCH_METRICS])

    with tempfile.TemporaryDirectory(prefix="hydroml-mlflow-") as tmp:
        folder = Path(tmp)
        _save_model(pipeline, input_example, folder / MODEL_PATH)
        predictions.to_parquet(folder / PREDICTIONS_PATH, index=False)
        (folder / PARAMS_PATH).write_text(_json(dict(params)), encoding="utf-8")
        if figures:
            (folder / CHARTS_DIR).mkdir()
            for name, figure in figures.items():
                (folder / CHARTS_DIR / f"{_file_name(name)}.json").write_text(
                    _figure_json(figure), encoding="utf-8"
                )
        if recipe_json is not None or recipe_script is not None:
            (folder / "recipe").mkdir()
        if recipe_json is not None:
            (folder / RECIPE_JSON_PATH).write_text(recipe_json, encoding="utf-8")
        if recipe_script is not None:
            (folder / RECIPE_SCRIPT_PATH).write_text(recipe_script, encoding="utf-8")
        client.log_artifacts(run_id, str(folder))


def _save_model(pipeline: Pipeline, input_example: pd.DataFrame, path: Path) -> None:
    import mlflow.sklearn
    import numpy as np
    from mlflow.models import infer_signature

    example = input_example.head(INPUT_EXAMPLE_ROWS)
    signature = infer_signature(example, pipeline.predict(example))
    requirements = [
        *mlflow.sklearn.get_default_pip_requirements(include_cloudpickle=True),
        f"pandas=={pd.__version__}",
        f"numpy=={np.__version__}",
    ]
    mlflow.sklearn.save_model(
        pipeline,
        str(path),
        serialization_format="cloudpickle",  # see the module docstring: skops refuses tree models
        signature=signature,
        input_example=example,
        pip_requirements=requirements,
    )


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _flat_params(params: Mapping[str, Any], prefix: str = "") -> tuple[dict[str, str], list[str]]:
    """Nested mappings become dotted keys; other values become text (lists as JSON), at most 500 characters."""
    flat: dict[str, str] = {}
    truncated: list[str] = []

    def walk(mapping: Mapping[str, Any], prefix: str) -> None:
        for raw_key, value in mapping.items():
            key = f"{prefix}{raw_key}"
            if isinstance(value, Mapping) and value:
                walk(value, key + ".")
                continue
            text = value if isinstance(value, str) else _param_text(value)
            if len(text) > PARAM_VALUE_LIMIT:
                text = text[: PARAM_VALUE_LIMIT - len(TRUNCATED_MARK)] + TRUNCATED_MARK
                truncated.append(key)
            clean = _key(key)
            while clean in flat:  # two keys that only differ in characters MLflow refuses
                clean = _key(clean + "_")
            flat[clean] = text

    walk(params, prefix)
    return flat, truncated


def _param_text(value: Any) -> str:
    if isinstance(value, list | tuple | set | Mapping):
        return _json(sorted(value, key=str) if isinstance(value, set) else value)
    return str(value)


def _key(key: str) -> str:
    """A name MLflow accepts as a param, metric or tag key (it refuses some characters and '..', '//')."""
    clean = _BAD_KEY_CHARS.sub("_", str(key)).strip()
    clean = posixpath.normpath(clean).lstrip("./") if clean else ""
    if clean.startswith(".."):
        clean = clean.replace("..", "__")
    return _clip(clean or "_", KEY_LIMIT, mark="")


def _clean_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {_key(k): _clip(str(v), TAG_VALUE_LIMIT) for k, v in tags.items()}


def _clip(text: str, limit: int, mark: str = TRUNCATED_MARK) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - len(mark)] + mark


def _file_name(name: str) -> str:
    clean = _BAD_FILE_CHARS.sub("_", str(name)).lstrip(".")
    return clean[:100] or "chart"


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def _figure_json(figure: Mapping[str, Any]) -> str:
    """Plotly figure JSON; Plotly's encoder turns numpy arrays, timestamps and NaN into plain JSON."""
    try:
        from plotly.utils import PlotlyJSONEncoder
    except ImportError:  # pragma: no cover - plotly is a dependency of the app
        return json.dumps(figure, default=str)
    return json.dumps(figure, cls=PlotlyJSONEncoder)


# ------------------------------------------------------------------------------------------------ reading


def _get_run_or_none(client: MlflowClient, run_id: str):
    from mlflow.exceptions import MlflowException

    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        return None
    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise


def _get_run(client: MlflowClient, run_id: str):
    run = _get_run_or_none(client, run_id)
    if run is None or run.info.lifecycle_stage == "deleted":
        raise NotFound("This run is not in MLflow (it may have been deleted).")
    return run


def _checked_artifact_path(path: str) -> str:
    clean = posixpath.normpath(str(path).replace("\\", "/")) if path else ""
    if not clean or clean == "." or clean.startswith(("/", "..")) or ":" in clean:
        raise InvalidInput("path", "This is not a file of the run.")
    return clean


def _download(client: MlflowClient, run_id: str, path: str, dst_dir: Path, what: str) -> Path:
    from mlflow.exceptions import MlflowException

    try:
        return Path(client.download_artifacts(run_id, path, str(dst_dir)))
    except (MlflowException, OSError) as exc:
        raise NotFound(f"This run has no {what}.") from exc


def load_model(run_id: str) -> Pipeline:
    """The fitted scikit-learn pipeline the run logged (``runs:/<run id>/model``), read through the explicit
    client rather than the global tracking URI. Cloudpickle: only for models this app logged."""
    import mlflow.sklearn

    client = _client()
    _get_run(client, run_id)
    with tempfile.TemporaryDirectory(prefix="hydroml-model-") as tmp:
        local = _download(client, run_id, MODEL_PATH, Path(tmp), "saved model")
        return mlflow.sklearn.load_model(str(local))


def load_predictions(run_id: str) -> pd.DataFrame:
    """The out-of-fold predictions the run logged (observed, predicted, fold, ...)."""
    client = _client()
    _get_run(client, run_id)
    with tempfile.TemporaryDirectory(prefix="hydroml-predictions-") as tmp:
        return pd.read_parquet(_download(client, run_id, PREDICTIONS_PATH, Path(tmp), "predictions"))


def load_figure(run_id: str, name: str) -> dict:
    """The Plotly figure JSON logged as ``charts/<name>.json``."""
    client = _client()
    _get_run(client, run_id)
    with tempfile.TemporaryDirectory(prefix="hydroml-chart-") as tmp:
        path = _download(
            client, run_id, f"{CHARTS_DIR}/{_file_name(name)}.json", Path(tmp), f"chart {name!r}"
        )
        return json.loads(path.read_text(encoding="utf-8"))


def list_artifacts(run_id: str) -> list[tuple[str, int]]:
    """Every artifact file of the run as (path, size in bytes), sorted by path."""
    client = _client()
    _get_run(client, run_id)
    files: list[tuple[str, int]] = []
    pending: list[str | None] = [None]
    while pending:
        folder = pending.pop()
        for info in client.list_artifacts(run_id, folder):
            if info.is_dir:
                pending.append(info.path)
            else:
                files.append((info.path, int(info.file_size or 0)))
    return sorted(files)


def download_artifact(run_id: str, path: str, dst_dir: str | Path) -> Path:
    """Copy one artifact (file or folder) of the run into ``dst_dir``; returns the local path."""
    client = _client()
    clean = _checked_artifact_path(path)
    _get_run(client, run_id)
    dst = Path(dst_dir)
    dst.mkdir(parents=True, exist_ok=True)
    return _download(client, run_id, clean, dst, f"file {clean!r}")


def _time(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None


def run_summary(run_id: str) -> dict:
    """Status, params, summary metrics, per-fold histories (``{key: [value per fold]}``, None where a fold
    had no finite value), tags and start/end times (UTC) of a run."""
    client = _client()
    run = _get_run(client, run_id)
    metrics = {k: v for k, v in run.data.metrics.items() if not k.startswith(FOLD_PREFIX)}
    folds: dict[str, list[float | None]] = {}
    for key in sorted(k for k in run.data.metrics if k.startswith(FOLD_PREFIX)):
        history = client.get_metric_history(run_id, key)
        values: list[float | None] = [None] * (max(m.step for m in history) + 1) if history else []
        for metric in sorted(history, key=lambda m: (m.step, m.timestamp)):
            values[metric.step] = metric.value
        folds[key[len(FOLD_PREFIX) :]] = values
    return {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "experiment_id": run.info.experiment_id,
        "status": run.info.status,
        "start_time": _time(run.info.start_time),
        "end_time": _time(run.info.end_time),
        "params": dict(run.data.params),
        "metrics": metrics,
        "fold_metrics": folds,
        "tags": dict(run.data.tags),
        "artifact_uri": _redacted(run.info.artifact_uri or ""),
    }


# ------------------------------------------------------------------------------------------------ deleting


def delete_run(run_id: str) -> bool:
    """Delete a run and its artifacts; False (a no-op) for a run MLflow does not know.

    What is really removed:
    - the artifacts: the run's whole artifact folder (``<experiment location>/<run id>``), through the
      artifact repository (local folder, or the server's ``mlflow-artifacts`` proxy);
    - the run's rows: for a SQLite / database or file store, the run, its params, metrics and tags are
      hard-deleted (what ``mlflow gc`` does); on an MLflow server no REST call hard-deletes, so the run is
      soft-deleted (hidden, lifecycle "deleted") until the operator runs ``mlflow gc`` on the server.
    Model-registry versions made from the run are not touched. If removing the artifacts fails the run is
    kept (and the error raised), so a retry can finish the job instead of leaking files."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    client = _client()
    run = _get_run_or_none(client, run_id)
    if run is None:
        return False
    artifact_uri = (run.info.artifact_uri or "").rstrip("/")
    if artifact_uri:
        suffix = f"/{run_id}/artifacts"
        folder_uri = artifact_uri[: -len("/artifacts")] if artifact_uri.endswith(suffix) else artifact_uri
        get_artifact_repository(folder_uri, tracking_uri=client.tracking_uri).delete_artifacts()
    if run.info.lifecycle_stage != "deleted":
        client.delete_run(run_id)
    store = client._tracking_client.store  # noqa: SLF001 - MLflow exposes no public hard delete
    hard_delete = getattr(store, "_hard_delete_run", None)
    if hard_delete is not None:
        hard_delete(run_id)
    return True


# ------------------------------------------------------------------------------------------------ snippet


def _redacted(uri: str) -> str:
    """The URI without a password (``postgresql://user:secret@host/db`` -> ``user:***@host``)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def model_snippet(run_id: str) -> str:
    """Python a user can paste to load the run's model with MLflow and predict (no MLflow call needed)."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise NotFound("This run is not in MLflow.")
    import sklearn

    uri = tracking_uri()
    db_file = _sqlite_file(uri)
    if db_file is not None:
        uri = f"sqlite:///{db_file.as_posix()}"  # absolute: the snippet runs from anywhere
    return (
        f"# pip install mlflow scikit-learn=={sklearn.__version__} pandas\n"
        "import mlflow\n"
        "import pandas as pd\n"
        "\n"
        f"mlflow.set_tracking_uri({_redacted(uri)!r})\n"
        f"model = mlflow.sklearn.load_model({f'runs:/{run_id}/{MODEL_PATH}'!r})\n"
        "# X: a DataFrame with the feature columns the model was trained on (see the signature in MLmodel)\n"
        'X = pd.read_csv("new_data.csv")\n'
        "predictions = model.predict(X)\n"
    )
