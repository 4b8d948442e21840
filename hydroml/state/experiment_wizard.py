"""The experiment wizard: five steps from the data to a queued training run, saved as a draft as the user goes.

Thin by design: every handler re-checks the user and calls the services (which check the role) in a worker
thread. The data itself never enters the state: `services.experiments.wizard` reads it once per data choice and
answers questions about it; the state keeps the column names and kinds, a few facts and the form values. The
spec being built is saved as the user's draft on every step change (Next, Back, a click in the stepper), with
the step index under "wizard_step", so leaving the page and coming back resumes where the user was.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses

import reflex as rx

from hydroml.services import datasources
from hydroml.services.errors import InvalidInput, NotFound, ServiceError
from hydroml.services.experiments import catalog, metrics, pipeline, runs, splits, training, wizard
from hydroml.services.studio import sessions
from hydroml.state.auth import AuthState
from hydroml.state.connections import load_project_frame
from hydroml.state.projects import ProjectState
from hydroml.state.studio import FormField, _field

STEPS = ("Data", "Target and features", "Model", "Preprocessing and split", "Metrics and review")
DATA, TARGET, MODEL, PREPARE, REVIEW = range(5)
READING = "Reading the data…"
PROBLEM_TYPES = (
    ("regression", "Regression (predict a number)"),
    ("binary", "Binary classification (two classes)"),
    ("multiclass", "Multiclass classification"),
)
IMPUTATION_LABELS = {
    "median": "Median",
    "mean": "Mean",
    "constant": "Constant (0 / “missing”)",
    "most_frequent": "Most frequent value",
    "none": "None (keep missing values)",
}
SCALING_LABELS = {
    "standard": "Standard (mean 0, std 1)",
    "minmax": "Min-max (0 to 1)",
    "robust": "Robust (median, IQR)",
    "none": "None",
}
SPLIT_DEFAULTS = {
    "strategy": "random_holdout",
    "test_percent": "20",
    "holdout_by": "percent",
    "cut_date": "",
    "seed": "42",
    "n_splits": "5",
    "shuffle": "false",
    "window": "expanding",
    "gap": "0",
    "test_size": "",
    "max_train_size": "",
}
PREP_DEFAULTS = {
    "numeric_imputation": "median",
    "categorical_imputation": "most_frequent",
    "scaling": "standard",
    "one_hot": "true",
    "max_categories": "20",
    "log1p_target": "false",
}
SPLIT_FIELDS = {"strategy", "frame", "split", "time_column", "group_column", "allow_shuffle", *SPLIT_DEFAULTS}
SPLIT_FIELDS |= {"test_fraction"}
PREP_FIELDS = {"preprocessing", *PREP_DEFAULTS}
REVIEW_FIELDS = {"metrics", "primary_metric", "name"}
DEFAULT_MODEL = "random_forest"


@dataclasses.dataclass
class ColumnRow:
    name: str = ""
    dtype: str = ""
    kind: str = ""  # numeric | text | date | boolean
    warning: str = ""


@dataclasses.dataclass
class Choice:
    value: str = ""
    label: str = ""
    hint: str = ""


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def step_of(field: str, params: set[str]) -> int:
    """The step whose form holds a field named in an InvalidInput."""
    if field == "data":
        return DATA
    if field in ("target", "features", "problem_type"):
        return TARGET
    if field in ("model", "params") or field in params:
        return MODEL
    if field in PREP_FIELDS or field in SPLIT_FIELDS:
        return PREPARE
    return REVIEW


def _plain(value):
    """Plain JSON-able Python: Reflex hands mutable vars out wrapped in proxies, which json.dumps cannot read."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _without(errors: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in errors.items() if k not in names}


class ExperimentWizardState(AuthState):
    project_id: str = ""
    loaded: bool = False
    can_edit: bool = False
    step: int = 0
    busy: str = ""  # what the server is doing ("" = idle), shown beside a spinner
    errors: dict[str, str] = {}  # field -> message, shown at the field
    step_error: str = ""  # a message for the step as a whole
    resumed: bool = False
    # 1. data
    data_kind: str = "data_source"
    source_choices: list[Choice] = []
    session_choices: list[Choice] = []
    version_choices: list[Choice] = []
    data_source_id: str = ""
    version: str = ""  # "" = the newest
    session_id: str = ""
    data_label: str = ""
    rows: int = 0
    columns: list[ColumnRow] = []
    # 2. target and features
    target: str = ""
    features: list[str] = []
    feature_search: str = ""
    feature_kind: str = ""  # "" = every kind
    detected_type: str = ""
    problem_type: str = ""
    # 3. model
    model: str = ""
    model_choices: list[Choice] = []
    model_description: str = ""
    fields: list[FormField] = []
    # 4. preprocessing and split
    prep: dict[str, str] = PREP_DEFAULTS
    split_form: dict[str, str] = SPLIT_DEFAULTS
    time_column: str = ""
    group_column: str = ""
    allow_shuffle: bool = False
    split_warnings: list[str] = []
    # 5. metrics and review
    metric_choices: list[Choice] = []
    metrics: list[str] = []
    primary_metric: str = ""
    run_name: str = ""
    # backend only: the pinned data entry (may hold a recipe), the last valid hyperparameters
    _data: dict = {}
    _params: dict = {}
    _prep_model: str = ""
    _name_edited: bool = False
    _detected_time: str = ""

    # ------------------------------------------------------------------ derived

    @rx.var
    def feature_rows(self) -> list[ColumnRow]:
        """The candidate features shown: every column but the target, filtered by kind and search text."""
        needle = self.feature_search.strip().lower()
        return [
            c
            for c in self.columns
            if c.name != self.target
            and (not self.feature_kind or c.kind == self.feature_kind)
            and (not needle or needle in c.name.lower())
        ]

    @rx.var
    def target_choices(self) -> list[str]:
        return [c.name for c in self.columns if c.kind != "date"]

    @rx.var
    def time_choices(self) -> list[str]:
        return [c.name for c in self.columns if c.kind in ("date", "numeric")]

    @rx.var
    def group_choices(self) -> list[str]:
        return [
            c.name for c in self.columns if c.kind in ("text", "numeric", "boolean") and c.name != self.target
        ]

    @rx.var
    def warned_features(self) -> int:
        chosen = set(self.features)
        return sum(1 for c in self.columns if c.warning and c.name in chosen)

    @rx.var
    def is_regression(self) -> bool:
        return self.problem_type == "regression"

    @rx.var
    def strategy(self) -> str:
        return self.split_form.get("strategy", "")

    @rx.var
    def shuffle_risk(self) -> bool:
        return self.split_form.get("strategy", "") in splits.IGNORES_TIME

    @rx.var
    def review(self) -> list[list[str]]:
        model = catalog.MODELS.get(self.model)
        params = ", ".join(f"{f.label}: {f.value or '—'}" for f in self.fields)
        prep = self.prep
        steps = [
            f"numbers: {IMPUTATION_LABELS.get(prep.get('numeric_imputation', ''), '')}",
            f"categories: {IMPUTATION_LABELS.get(prep.get('categorical_imputation', ''), '')}",
            f"scaling: {SCALING_LABELS.get(prep.get('scaling', ''), '')}",
            "one-hot" if prep.get("one_hot") == "true" else "ordinal codes",
        ]
        if prep.get("log1p_target") == "true" and self.problem_type == "regression":
            steps.append("log1p target")
        labels = {c.value: c.label for c in self.metric_choices}
        shown = ", ".join(self.features[:12]) + (" …" if len(self.features) > 12 else "")
        return [
            ["Data", f"{self.data_label} ({self.rows:,} rows)"],
            ["Target", f"{self.target} ({self.problem_type})"],
            ["Features", f"{len(self.features)}: {shown}"],
            ["Model", model.label if model else ""],
            ["Hyperparameters", params],
            ["Preprocessing", "; ".join(steps)],
            ["Split", splits.STRATEGIES.get(self.split_form.get("strategy", ""), "")],
            ["Time column", self.time_column or "—"],
            ["Group column", self.group_column or "—"],
            ["Metrics", ", ".join(labels.get(m, m) for m in self.metrics)],
            ["Optimise", labels.get(self.primary_metric, self.primary_metric)],
        ]

    # ------------------------------------------------------------------ helpers

    def _reset(self) -> None:
        """Every wizard var back to its default (AuthState's vars, the signed-in user, stay)."""
        for name, value in _DEFAULTS.items():
            setattr(self, name, copy.deepcopy(value))

    def _checked_user(self):
        user = self._require_user()
        if not self.project_id:
            raise NotFound("Project not found.")
        return user

    async def _user(self):
        return self._checked_user()

    def _refused(self):
        """For handlers that only change the form: the sign-in or project problem to show, else None."""
        try:
            self._checked_user()
        except ServiceError as error:
            return self._fail(error)
        return None

    def _param_names(self) -> set[str]:
        return {f.name for f in self.fields}

    def _show(self, error: InvalidInput, *, jump: bool = False) -> None:
        """An InvalidInput at its field (a hyperparameter at its form field), or for the step as a whole."""
        if jump:
            self.step = step_of(error.field, self._param_names())
        field = next((f for f in self.fields if f.name == error.field), None)
        if field is not None:
            field.error = error.message
            self.fields = list(self.fields)
            return
        known = {
            "data",
            "target",
            "features",
            "problem_type",
            "model",
            *PREP_FIELDS,
            *SPLIT_FIELDS,
            *REVIEW_FIELDS,
        }
        if error.field == "test_fraction":
            self.errors = {**self.errors, "test_percent": error.message}
        elif error.field in known:
            self.errors = {**self.errors, error.field: error.message}
        else:
            self.step_error = error.message

    def _clear_errors(self) -> None:
        self.errors, self.step_error = {}, ""
        if any(f.error for f in self.fields):
            for field in self.fields:
                field.error = ""
            self.fields = list(self.fields)

    def _prep_spec(self) -> dict:
        prep = self.prep
        try:
            cap = int(float(prep.get("max_categories", "").strip()))
        except ValueError:
            raise InvalidInput("max_categories", "Enter a whole number from 2 to 200.") from None
        return {
            "numeric_imputation": prep.get("numeric_imputation", "median"),
            "categorical_imputation": prep.get("categorical_imputation", "most_frequent"),
            "scaling": prep.get("scaling", "standard"),
            "one_hot": prep.get("one_hot") == "true",
            "max_categories": cap,
            "log1p_target": prep.get("log1p_target") == "true" and self.problem_type == "regression",
        }

    def _param_texts(self) -> dict[str, str]:
        return {f.name: f.value for f in self.fields}

    def _split_spec(self) -> dict:
        return wizard.split_from_form(self.split_form, self.time_column or None, self.group_column or None)

    def _spec(self, *, strict: bool = False) -> dict:
        """The spec as far as it goes. ``strict``: unreadable form values raise InvalidInput (else left out)."""
        spec: dict = {
            "wizard_step": self.step,
            "data": self._data,
            "target": self.target,
            "features": list(self.features),
            "problem_type": self.problem_type,
            "model": self.model,
            "params": dict(self._params),
            "time_column": self.time_column or None,
            "group_column": self.group_column or None,
            "allow_shuffle": self.allow_shuffle,
            "metrics": list(self.metrics),
            "primary_metric": self.primary_metric,
            "wizard_forms": {
                "prep": dict(self.prep),
                "split": dict(self.split_form),
                "params": self._param_texts(),
                "feature_kind": self.feature_kind,
            },
        }
        for key, build in (("preprocessing", self._prep_spec), ("split", self._split_spec)):
            try:
                spec[key] = build()
            except InvalidInput:
                if strict:
                    raise
        return _plain(spec)

    def _run_spec(self) -> dict:
        """The spec a run keeps: without the wizard's own bookkeeping."""
        return {k: v for k, v in self._spec(strict=True).items() if not k.startswith("wizard_")}

    async def _save_draft(self, user) -> None:
        with contextlib.suppress(
            InvalidInput
        ):  # a draft is a convenience; each step's checks speak to the user
            await asyncio.to_thread(runs.save_draft, user, self.project_id, self._spec(), self.run_name)

    def _model_fields(self, params: dict | None = None, texts: dict | None = None) -> None:
        """The model's form, generated from its Param schema the way the Data Studio generates its forms."""
        model = catalog.get_model(self.model)
        self.model_description = model.description
        values = catalog.form_values(self.model, self.problem_type, params)
        if texts:
            values.update({k: str(v) for k, v in texts.items() if k in values})
        self.fields = [
            _field(p.as_dict(), values.get(p.name, ""), {}, []) for p in model.params_for(self.problem_type)
        ]

    def _valid_params(self) -> dict | None:
        try:
            return catalog.validate_params(self.model, self.problem_type, self._params)
        except InvalidInput:
            return None

    def _enter_model_step(self) -> None:
        choices = catalog.models_for(self.problem_type)
        self.model_choices = [Choice(m.key, m.label, m.description) for m in choices]
        keys = [m.key for m in choices]
        if self.model not in keys:
            self.model = DEFAULT_MODEL if DEFAULT_MODEL in keys else keys[0]
            self._params = {}
            self._model_fields()
            return
        wanted = {p.name for p in catalog.get_model(self.model).params_for(self.problem_type)}
        if {f.name for f in self.fields} != wanted:
            self._model_fields(self._valid_params())

    def _enter_prepare_step(self) -> None:
        if self._prep_model != self.model:
            proposed = pipeline.default_preprocessing(self.model).as_dict()
            self.prep = {**self.prep, **{k: _text(v) for k, v in proposed.items() if k != "log1p_target"}}
            self._prep_model = self.model

    def _enter_review_step(self) -> None:
        family = catalog.problem_family(self.problem_type)
        self.metric_choices = [
            Choice(k, metrics.METRICS[k].label, metrics.METRICS[k].description)
            for k in metrics.metrics_for(family)
        ]
        allowed = {c.value for c in self.metric_choices}
        chosen = [m for m in self.metrics if m in allowed]
        if not chosen:
            chosen, self.primary_metric = wizard.default_metrics(self.problem_type)
        self.metrics = chosen
        if self.primary_metric not in chosen:
            self.primary_metric = chosen[0]
        if not self._name_edited or not self.run_name:
            model = catalog.MODELS.get(self.model)
            self.run_name = f"{model.label if model else self.model} on {self.data_label}"

    async def _read_data(self, user) -> None:
        """Columns and facts of the pinned data (read in a worker thread; the frame stays in the service)."""
        summary = await asyncio.to_thread(wizard.describe, user, self.project_id, self._data)
        self.rows = summary.rows
        self.columns = [ColumnRow(name, dtype, kind) for name, dtype, kind in summary.columns]
        self._detected_time = summary.time_column or ""

    async def _apply_target_facts(self, user) -> None:
        facts = await asyncio.to_thread(
            wizard.target_facts, user, self.project_id, self._data, self.target, self.time_column or None
        )
        self.detected_type = facts.problem_type
        reasons = {name: reason[:1].upper() + reason[1:] for name, reason in facts.warnings.items()}
        self.columns = [dataclasses.replace(c, warning=reasons.get(c.name, "")) for c in self.columns]
        if facts.error:
            self.errors = {**self.errors, "target": facts.error}

    async def _load_versions(self, user) -> None:
        if not self.data_source_id:
            self.version_choices = []
            return
        _, versions = await asyncio.to_thread(
            datasources.get_data_source, user, self.project_id, self.data_source_id
        )
        newest = versions[0].version if versions else 0
        self.version_choices = [
            Choice(
                str(v.version), f"v{v.version}{' (newest)' if v.version == newest else ''} · {v.rows:,} rows"
            )
            for v in versions
        ]

    # ------------------------------------------------------------------ loading

    @rx.event
    async def load(self):
        self._reset()
        self.project_id = ""
        try:
            user = self._require_user()
            self.project_id = await load_project_frame(self, user)
            role = (await self.get_state(ProjectState)).role
        except NotFound as error:
            yield [rx.toast.error(str(error)), rx.redirect("/projects")]
            return
        except ServiceError as error:
            yield self._fail(error)
            return
        self.can_edit = role in ("owner", "editor")
        if not self.can_edit:
            self.loaded = True
            return
        try:
            sources = await asyncio.to_thread(datasources.list_data_sources, user, self.project_id)
            found = await asyncio.to_thread(sessions.list_sessions, user, self.project_id)
            draft = await asyncio.to_thread(runs.get_draft, user, self.project_id)
        except ServiceError as error:
            yield self._fail(error)
            return
        self.source_choices = [
            Choice(str(s.id), s.name, f"v{s.version} · {s.rows:,} rows × {s.columns} columns")
            for s in sources
        ]
        self.session_choices = [
            Choice(str(s.id), s.name, f"on {s.data_source_name} v{s.version} · {s.recipe.cursor} step(s)")
            for s in found
        ]
        self.loaded = True
        if draft is None or not draft.spec.get("data"):
            return
        self.busy = READING
        yield
        try:
            await self._resume(user, draft.spec, draft.name)
        except ServiceError as error:
            self.step = DATA
            self.step_error = f"The saved draft could not be reopened: {error}"
        finally:
            self.busy = ""

    async def _resume(self, user, spec: dict, name: str) -> None:
        forms = spec.get("wizard_forms") or {}
        self._data = _plain(spec["data"])
        self.data_kind = "studio_session" if self._data.get("kind") == "studio_session" else "data_source"
        self.data_label = str(self._data.get("label") or "")
        if self.data_kind == "studio_session":
            self.session_id = str(self._data.get("session_id") or "")
        else:
            self.data_source_id = str(self._data.get("data_source_id") or "")
            self.version = str(self._data.get("version") or "")
            await self._load_versions(user)
        await self._read_data(user)
        self.target = str(spec.get("target") or "")
        self.features = [str(f) for f in spec.get("features") or []]
        self.problem_type = str(spec.get("problem_type") or "")
        self.time_column = str(spec.get("time_column") or "")
        self.group_column = str(spec.get("group_column") or "")
        self.allow_shuffle = bool(spec.get("allow_shuffle"))
        self.feature_kind = str(forms.get("feature_kind") or "")
        self.prep = {**PREP_DEFAULTS, **{k: str(v) for k, v in (forms.get("prep") or {}).items()}}
        self.split_form = {**SPLIT_DEFAULTS, **{k: str(v) for k, v in (forms.get("split") or {}).items()}}
        self.metrics = [str(m) for m in spec.get("metrics") or []]
        self.primary_metric = str(spec.get("primary_metric") or "")
        self.run_name = name if name and name != "Draft" else ""
        self._name_edited = bool(self.run_name)
        if self.target:
            await self._apply_target_facts(user)
        step = max(DATA, min(REVIEW, int(spec.get("wizard_step") or 0)))
        if step >= MODEL and self.problem_type:
            self.model = str(spec.get("model") or "")
            self._params = dict(spec.get("params") or {})
            self._prep_model = self.model
            self._enter_model_step()
            if forms.get("params") and self.model == spec.get("model"):
                self._model_fields(self._valid_params(), forms.get("params"))
        if step == REVIEW:
            self._enter_review_step()
        self.step = step
        self.resumed = step > DATA

    # ------------------------------------------------------------------ step 1: data

    @rx.event
    async def set_data_kind(self, kind: str):
        if (refused := self._refused()) is not None:
            return refused
        self.data_kind = "studio_session" if kind == "studio_session" else "data_source"
        self.errors = {}

    @rx.event
    async def choose_source(self, data_source_id: str):
        try:
            user = await self._user()
            self.data_source_id, self.version, self.errors = str(data_source_id), "", {}
            await self._load_versions(user)
        except ServiceError as error:
            return self._fail(error)

    @rx.event
    async def set_version(self, version: str):
        if (refused := self._refused()) is not None:
            return refused
        self.version = str(version)

    @rx.event
    async def choose_session(self, session_id: str):
        if (refused := self._refused()) is not None:
            return refused
        self.session_id, self.errors = str(session_id), {}

    async def _pin(self, user) -> None:
        """Pin the chosen data; read it again only when the choice changed (the same rows keep every later
        choice; new rows start the later steps over)."""
        if self.data_kind == "studio_session":
            if not self.session_id:
                raise InvalidInput("data", "Choose a studio session.")
            pin = await asyncio.to_thread(
                training.pin_data, user, self.project_id, session_id=self.session_id
            )
        else:
            if not self.data_source_id:
                raise InvalidInput("data", "Choose a data source.")
            version = int(self.version) if self.version else None
            pin = await asyncio.to_thread(
                training.pin_data, user, self.project_id, data_source_id=self.data_source_id, version=version
            )
        same = wizard.data_key(self.project_id, pin) == wizard.data_key(self.project_id, self._data)
        self._data, self.data_label = pin, pin["label"]
        if same and self.columns:
            return
        await self._read_data(user)
        self.target, self.features, self.problem_type, self.detected_type = "", [], "", ""
        self.time_column = self._detected_time
        self.group_column, self.allow_shuffle, self.metrics, self.primary_metric = "", False, [], ""
        strategy = "time_series_cv" if self.time_column else "random_holdout"
        self.split_form = {**SPLIT_DEFAULTS, "strategy": strategy}
        if not self._name_edited:
            self.run_name = ""

    # ------------------------------------------------------------------ step 2: target and features

    @rx.event
    async def choose_target(self, target: str):
        self.errors = _without(self.errors, "target", "features", "problem_type")
        try:
            user = await self._user()
            self.target = str(target)
            if not self.target:
                return
            await self._apply_target_facts(user)
        except ServiceError as error:
            return self._fail(error)
        self.problem_type = self.detected_type
        warned = {c.name for c in self.columns if c.warning}
        self.features = [
            c.name
            for c in self.columns
            if c.name != self.target and c.kind != "date" and c.name not in warned
        ]

    @rx.event
    async def set_problem_type(self, value: str):
        if (refused := self._refused()) is not None:
            return refused
        self.problem_type = value if value in catalog.PROBLEM_TYPES else ""
        self.errors = _without(self.errors, "problem_type", "target")

    @rx.event
    async def toggle_feature(self, name: str):
        if (refused := self._refused()) is not None:
            return refused
        chosen = self.features
        self.features = [f for f in chosen if f != name] if name in chosen else [*chosen, name]
        self.errors = _without(self.errors, "features")

    @rx.event
    async def select_shown(self, on: bool):
        """Select all / none of the columns the search and the kind filter show."""
        if (refused := self._refused()) is not None:
            return refused
        shown = [c.name for c in self.feature_rows]
        if on:
            self.features = [*self.features, *[n for n in shown if n not in self.features]]
        else:
            self.features = [f for f in self.features if f not in set(shown)]
        self.errors = _without(self.errors, "features")

    @rx.event
    def set_feature_search(self, text: str):
        self.feature_search = str(text)[:200]  # the view only: no data is read or written

    @rx.event
    def set_feature_kind(self, kind: str):
        self.feature_kind = kind if kind in wizard.COLUMN_KINDS else ""  # the view only

    # ------------------------------------------------------------------ step 3: model

    @rx.event
    async def choose_model(self, key: str):
        if (refused := self._refused()) is not None:
            return refused
        if key not in {c.value for c in self.model_choices}:
            self.errors = {**self.errors, "model": "Choose a model from the list."}
            return
        self.model, self._params = key, {}
        self._model_fields()
        self.errors = _without(self.errors, "model")

    @rx.event
    async def set_param(self, name: str, value: str):
        if (refused := self._refused()) is not None:
            return refused
        field = next((f for f in self.fields if f.name == name), None)
        if field is not None:
            field.value, field.error = str(value), ""
            self.fields = list(self.fields)

    @rx.event
    async def reset_params(self):
        if (refused := self._refused()) is not None:
            return refused
        self._params = {}
        self._model_fields()

    # ------------------------------------------------------------------ step 4: preprocessing and split

    @rx.event
    async def set_prep(self, name: str, value: str):
        if (refused := self._refused()) is not None:
            return refused
        if name in PREP_DEFAULTS:
            self.prep = {**self.prep, name: str(value)}
            self.errors = _without(self.errors, name, "preprocessing")

    @rx.event
    async def set_split(self, name: str, value: str):
        if (refused := self._refused()) is not None:
            return refused
        if name in SPLIT_DEFAULTS:
            self.split_form = {**self.split_form, name: str(value)}
            self.errors = _without(self.errors, name, "split", "strategy", "frame")
            if name in ("strategy", "shuffle"):
                self.allow_shuffle, self.split_warnings = False, []
                self.errors = _without(self.errors, "allow_shuffle")

    @rx.event
    async def set_time_column(self, value: str):
        if (refused := self._refused()) is not None:
            return refused
        self.time_column = str(value)
        self.errors = _without(self.errors, "time_column", "allow_shuffle")

    @rx.event
    async def set_group_column(self, value: str):
        if (refused := self._refused()) is not None:
            return refused
        self.group_column = str(value)
        self.errors = _without(self.errors, "group_column")

    @rx.event
    async def set_allow_shuffle(self, value: bool):
        if (refused := self._refused()) is not None:
            return refused
        self.allow_shuffle = bool(value)
        self.errors = _without(self.errors, "allow_shuffle")

    # ------------------------------------------------------------------ step 5: metrics and review

    @rx.event
    async def toggle_metric(self, key: str):
        if (refused := self._refused()) is not None:
            return refused
        self.metrics = [m for m in self.metrics if m != key] if key in self.metrics else [*self.metrics, key]
        if self.primary_metric not in self.metrics:
            self.primary_metric = self.metrics[0] if self.metrics else ""
        self.errors = _without(self.errors, "metrics", "primary_metric")

    @rx.event
    async def set_primary_metric(self, key: str):
        if (refused := self._refused()) is not None:
            return refused
        self.primary_metric = str(key)
        self.errors = _without(self.errors, "primary_metric")

    @rx.event
    async def set_run_name(self, name: str):
        if (refused := self._refused()) is not None:
            return refused
        self.run_name, self._name_edited = str(name)[: runs.NAME_MAX + 20], True
        self.errors = _without(self.errors, "name")

    # ------------------------------------------------------------------ moving between steps

    async def _check_step(self, user) -> None:
        """The current step's checks (InvalidInput names the field); then prepares what the next step shows."""
        if self.step == DATA:
            await self._pin(user)
        elif self.step == TARGET:
            await asyncio.to_thread(wizard.check_target, user, self.project_id, self._spec())
            self._enter_model_step()
        elif self.step == MODEL:
            if not self.model:
                raise InvalidInput("model", "Choose a model.")
            self._params = catalog.parse_form(self.model, self.problem_type, self._param_texts())
            self._enter_prepare_step()
        elif self.step == PREPARE:
            spec = self._spec(strict=True)
            self.split_warnings = await asyncio.to_thread(
                wizard.check_preparation, user, self.project_id, spec
            )
            self._enter_review_step()

    @rx.event
    async def next_step(self):
        """Check the step; if it is fine, save the draft and show the next one."""
        try:
            user = await self._user()
        except ServiceError as error:
            yield self._fail(error)
            return
        self._clear_errors()
        self.busy = READING if self.step == DATA else "Checking…"
        yield
        try:
            await self._check_step(user)
        except InvalidInput as error:
            self._show(error)
            return
        except ServiceError as error:
            yield self._fail(error)
            return
        finally:
            self.busy = ""
        previous, self.step = self.step, min(REVIEW, self.step + 1)
        try:
            await self._save_draft(user)
        except ServiceError as error:
            self.step = previous
            yield self._fail(error)

    async def _back_to(self, index: int):
        try:
            user = await self._user()
        except ServiceError as error:
            return self._fail(error)
        if 0 <= index < self.step:
            self._clear_errors()
            if self.step == MODEL:
                with contextlib.suppress(
                    InvalidInput
                ):  # else kept as texts; the model step checks them again
                    self._params = catalog.parse_form(self.model, self.problem_type, self._param_texts())
            self.step = index
            try:
                await self._save_draft(user)
            except ServiceError as error:
                return self._fail(error)

    @rx.event
    async def go_to(self, index: int):
        """Back to an earlier step (a done step in the stepper); the draft keeps what was entered."""
        return await self._back_to(int(index))

    @rx.event
    async def previous_step(self):
        return await self._back_to(self.step - 1)

    @rx.event
    async def start_over(self):
        try:
            user = await self._user()
            await asyncio.to_thread(runs.discard_draft, user, self.project_id)
        except ServiceError as error:
            return self._fail(error)
        project_id, sources, found = self.project_id, self.source_choices, self.session_choices
        self._reset()
        self.project_id, self.source_choices, self.session_choices = project_id, sources, found
        self.can_edit = self.loaded = True
        return rx.toast.info("Draft discarded: start again from the data.")

    @rx.event
    async def train(self):
        """Check the whole spec against the data, queue the run, wake the runner, open the run's page."""
        try:
            user = await self._user()
        except ServiceError as error:
            yield self._fail(error)
            return
        self._clear_errors()
        self.busy = "Checking the experiment…"
        yield
        try:
            if not self.run_name.strip():
                raise InvalidInput("name", "Give the run a name.")
            checked = await asyncio.to_thread(wizard.check, user, self.project_id, self._run_spec())
            info = await asyncio.to_thread(runs.queue_run, user, self.project_id, checked.spec, self.run_name)
        except InvalidInput as error:
            self._show(error, jump=True)
            self.busy = ""
            with contextlib.suppress(ServiceError):
                await self._save_draft(user)
            return
        except ServiceError as error:
            self.busy = ""
            yield self._fail(error)
            return
        from hydroml.services.experiments import runner

        runner.get_runner().wake()
        self.busy = ""
        yield [
            rx.toast.success(f"“{info.name}” is queued for training."),
            rx.redirect(f"/projects/{self.project_id}/experiments/{info.id}"),
        ]


def _default(field):
    factory = getattr(field, "default_factory", None)
    return factory() if callable(factory) else field.default


_DEFAULTS = {
    name: _default(field)
    for name, field in ExperimentWizardState.get_fields().items()
    if name in ExperimentWizardState.__annotations__ and name != "project_id"
}
