"""The model catalog: every model a user can train, with a typed hyperparameter schema.

One definition per model drives the wizard's form (the Data Studio's `Param`, drawn by the same renderer),
the validation of stored specs (errors name the parameter), the search space of hyperparameter suites and the
scikit-learn estimator that is finally built. Conventions:

- A parameter value is plain JSON, as in studio recipes. An ``integer`` or ``number`` parameter with
  ``required=False`` means "no limit / the library's default" when left empty (``None``): for example an empty
  maximum depth grows trees until the leaves are pure (bounded by the minimum leaf size).
- Parameters that exist for one problem family only (SVM's epsilon, class weights) are listed in
  ``ModelSpec.only_for``; ``params_for(problem_type)`` gives the form for a problem.
- ``n_jobs`` is not a hyperparameter (it changes speed, not the model): ``build_estimator`` takes it as an
  argument, -1 (all cores) by default; the runner should pass ``cpu_count // training slots`` when several
  trainings share a machine. Histogram gradient boosting uses OpenMP threads and ignores it.
- Defaults suit hydrological tables of 10k-1M rows and keep fitted models small. A 100-tree random forest
  grown to full depth on 100k rows pickles to about 910 MB; with ``min_samples_leaf=5`` and ``max_depth=14``
  (our defaults) a regression tree has at most 2^15 nodes (about 2.4 MB), so 100 trees stay under about 240 MB
  whatever the number of rows (measured: 35-100 MB on 100k rows), with the same accuracy on test data.
- Stochastic models take ``random_state`` (default 42, so a run can be repeated; empty = a new seed each fit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn import ensemble, linear_model, neighbors, neural_network, svm, tree

from hydroml.services.errors import InvalidInput
from hydroml.services.studio.forms import parse_text, to_text
from hydroml.services.studio.operations.base import Param, check_param

PROBLEM_TYPES = ("regression", "binary", "multiclass")
FAMILIES = ("regression", "classification")
# An integer-valued target with at most this many distinct values is taken for classes (flood class 0-4, a
# 0/1 exceedance flag); more distinct values (counts, flows in whole litres) make a regression.
MAX_CLASS_LEVELS = 10
_SKLEARN_VERSION = tuple(int(part) for part in sklearn.__version__.split(".")[:2] if part.isdigit())


@dataclass(frozen=True)
class SearchDim:
    """Where a hyperparameter suite may look: a range (integer or number, maybe on a log scale) or choices."""

    kind: str  # "integer" | "number" | "choice"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "low": self.low,
            "high": self.high,
            "log": self.log,
            "choices": [list(c) if isinstance(c, tuple) else c for c in self.choices],
        }


def _int(low: int, high: int, log: bool = False) -> SearchDim:
    return SearchDim("integer", low, high, log)


def _num(low: float, high: float, log: bool = False) -> SearchDim:
    return SearchDim("number", low, high, log)


def _pick(*choices: Any) -> SearchDim:
    return SearchDim("choice", choices=choices)


@dataclass(frozen=True, eq=False)
class ModelSpec:
    key: str  # stable id stored in run specs and MLflow tags, e.g. "random_forest"
    label: str
    description: str  # one line under the model's name
    problems: tuple[str, ...]  # families: "regression", "classification"
    regressor: type | None
    classifier: type | None
    params: tuple[Param, ...]
    search_space: dict[str, SearchDim] = field(default_factory=dict)
    only_for: dict[str, str] = field(default_factory=dict)  # parameter name -> the family it applies to
    handles_missing: bool = False  # fits with NaN in the features (no imputation needed)
    needs_scaling: bool = True  # distances, gradients or penalties: features should share a scale
    parallel: bool = False  # takes n_jobs

    def supports(self, problem_type: str) -> bool:
        return problem_family(problem_type) in self.problems

    def params_for(self, problem_type: str) -> tuple[Param, ...]:
        family = problem_family(problem_type)
        return tuple(p for p in self.params if self.only_for.get(p.name, family) == family)

    def estimator_class(self, problem_type: str) -> type:
        family = problem_family(problem_type)
        cls = self.regressor if family == "regression" else self.classifier
        if cls is None or family not in self.problems:
            raise InvalidInput("model", f"{self.label} cannot be used for {family}.")
        return cls

    def as_dict(self, problem_type: str | None = None) -> dict:
        """JSON for the wizard: the form of one problem type (all parameters without one)."""
        params = self.params_for(problem_type) if problem_type else self.params
        names = {p.name for p in params}
        return {
            "key": self.key,
            "label": self.label,
            "description": self.description,
            "problems": list(self.problems),
            "params": [p.as_dict() for p in params],
            "search_space": {k: v.as_dict() for k, v in self.search_space.items() if k in names},
            "handles_missing": self.handles_missing,
            "needs_scaling": self.needs_scaling,
        }


# ------------------------------------------------------------------------------------------------ parameters


def _seed() -> Param:
    return Param(
        "random_state",
        "Random seed",
        "integer",
        default=42,
        required=False,
        minimum=0,
        maximum=2**32 - 1,
        help="The same seed gives the same model on the same data. Empty: a different model each time.",
    )


def _class_weight() -> Param:
    return Param(
        "class_weight",
        "Class weights",
        "choice",
        default="none",
        choices=("none", "balanced"),
        help="balanced: rare classes (e.g. flood days) weigh as much as common ones.",
    )


def _alpha(default: float, help_text: str) -> Param:
    return Param(
        "alpha", "Regularisation strength", "number", default, minimum=0, maximum=1e6, help=help_text
    )


def _fit_intercept() -> Param:
    return Param("fit_intercept", "Fit an intercept", "boolean", default=True)


def _max_depth(default: int | None, help_text: str = "Empty: no limit.") -> Param:
    return Param(
        "max_depth", "Maximum depth", "integer", default, False, minimum=1, maximum=100, help=help_text
    )


def _min_leaf(default: int) -> Param:
    return Param(
        "min_samples_leaf",
        "Minimum rows per leaf",
        "integer",
        default,
        minimum=1,
        maximum=100_000,
        help="Larger values give smoother predictions and smaller models.",
    )


def _max_features() -> Param:
    return Param(
        "max_features",
        "Share of features per split",
        "number",
        None,
        required=False,
        minimum=0.01,
        maximum=1.0,
        help="0.01-1. Empty: all features for regression, the square root of their count for classification.",
    )


def _n_estimators(default: int, maximum: int = 2000) -> Param:
    return Param("n_estimators", "Number of trees", "integer", default, minimum=1, maximum=maximum)


def _learning_rate(default: float = 0.1) -> Param:
    return Param("learning_rate", "Learning rate", "number", default, minimum=1e-4, maximum=1.0)


_TREE_SPACE = {
    "max_depth": _int(2, 30),
    "min_samples_leaf": _int(1, 100, log=True),
    "max_features": _num(0.1, 1.0),
    "class_weight": _pick("none", "balanced"),
}
_FOREST_SPACE = {**_TREE_SPACE, "n_estimators": _int(50, 500, log=True)}
_FAMILY_ONLY = {"class_weight": "classification"}

MODELS: dict[str, ModelSpec] = {
    m.key: m
    for m in (
        ModelSpec(
            "linear_regression",
            "Linear regression",
            "Ordinary least squares: a straight-line baseline, fast at any size.",
            ("regression",),
            linear_model.LinearRegression,
            None,
            (_fit_intercept(),),
            {"fit_intercept": _pick(True, False)},
        ),
        ModelSpec(
            "ridge",
            "Ridge regression",
            "Linear regression with an L2 penalty: stable when features are correlated (rain sums, lags).",
            ("regression",),
            linear_model.Ridge,
            None,
            (_alpha(1.0, "Larger values shrink the coefficients more."), _fit_intercept()),
            {"alpha": _num(1e-4, 1e3, log=True)},
        ),
        ModelSpec(
            "lasso",
            "Lasso regression",
            "Linear regression with an L1 penalty: sets unhelpful features' coefficients to zero.",
            ("regression",),
            linear_model.Lasso,
            None,
            (_alpha(0.1, "Larger values drop more features (in the target's units)."), _fit_intercept()),
            {"alpha": _num(1e-5, 10.0, log=True)},
        ),
        ModelSpec(
            "elastic_net",
            "Elastic net regression",
            "Linear regression mixing the ridge and lasso penalties.",
            ("regression",),
            linear_model.ElasticNet,
            None,
            (
                _alpha(0.1, "Larger values shrink the coefficients more."),
                Param(
                    "l1_ratio",
                    "Lasso share of the penalty",
                    "number",
                    0.5,
                    minimum=0.0,
                    maximum=1.0,
                    help="0 = ridge, 1 = lasso.",
                ),
                _fit_intercept(),
            ),
            {"alpha": _num(1e-5, 10.0, log=True), "l1_ratio": _num(0.0, 1.0)},
        ),
        ModelSpec(
            "logistic_regression",
            "Logistic regression",
            "A linear model of class probabilities: the classification baseline.",
            ("classification",),
            None,
            linear_model.LogisticRegression,
            (
                Param(
                    "C",
                    "Inverse regularisation (C)",
                    "number",
                    1.0,
                    minimum=1e-6,
                    maximum=1e6,
                    help="Smaller values mean a stronger penalty.",
                ),
                Param(
                    "l1_ratio",
                    "Lasso share of the penalty",
                    "number",
                    0.0,
                    minimum=0.0,
                    maximum=1.0,
                    help="0 = L2 (ridge-like), 1 = L1 (drops features); above 0 uses the slower saga solver.",
                ),
                _class_weight(),
                Param("max_iter", "Maximum iterations", "integer", 1000, minimum=10, maximum=100_000),
            ),
            {
                "C": _num(1e-3, 1e3, log=True),
                "l1_ratio": _num(0.0, 1.0),
                "class_weight": _pick("none", "balanced"),
            },
        ),
        ModelSpec(
            "knn",
            "k-nearest neighbours",
            "Averages the k most similar rows; predictions get slow on large tables.",
            ("regression", "classification"),
            neighbors.KNeighborsRegressor,
            neighbors.KNeighborsClassifier,
            (
                Param("n_neighbors", "Neighbours (k)", "integer", 10, minimum=1, maximum=1000),
                Param(
                    "weights",
                    "Weighting",
                    "choice",
                    "uniform",
                    choices=("uniform", "distance"),
                    help="distance: nearer rows count more.",
                ),
            ),
            {"n_neighbors": _int(1, 100, log=True), "weights": _pick("uniform", "distance")},
            parallel=True,
        ),
        ModelSpec(
            "svm",
            "Support vector machine",
            "SVR / SVC with kernels; fit time grows with the square of the rows: best below ~20,000 rows.",
            ("regression", "classification"),
            svm.SVR,
            svm.SVC,
            (
                Param("C", "Inverse regularisation (C)", "number", 1.0, minimum=1e-6, maximum=1e6),
                Param("kernel", "Kernel", "choice", "rbf", choices=("rbf", "linear", "poly", "sigmoid")),
                Param("gamma", "Kernel width (gamma)", "choice", "scale", choices=("scale", "auto")),
                Param(
                    "epsilon",
                    "Tolerance band (epsilon)",
                    "number",
                    0.1,
                    minimum=0.0,
                    maximum=1e6,
                    help="Errors smaller than this (in the target's units) cost nothing.",
                ),
                _class_weight(),
            ),
            {
                "C": _num(1e-2, 1e3, log=True),
                "kernel": _pick("rbf", "linear"),
                "gamma": _pick("scale", "auto"),
                "epsilon": _num(1e-3, 1.0, log=True),
                "class_weight": _pick("none", "balanced"),
            },
            only_for={"epsilon": "regression", **_FAMILY_ONLY},
        ),
        ModelSpec(
            "decision_tree",
            "Decision tree",
            "One tree of if-then rules: easy to read, rarely the most accurate.",
            ("regression", "classification"),
            tree.DecisionTreeRegressor,
            tree.DecisionTreeClassifier,
            (_max_depth(12), _min_leaf(10), _max_features(), _class_weight(), _seed()),
            _TREE_SPACE,
            only_for=_FAMILY_ONLY,
            needs_scaling=False,
        ),
        ModelSpec(
            "random_forest",
            "Random forest",
            "Many trees on resampled rows, averaged: a strong default for tabular data.",
            ("regression", "classification"),
            ensemble.RandomForestRegressor,
            ensemble.RandomForestClassifier,
            (
                _n_estimators(100),
                _max_depth(14, "Empty: no limit (models can get very large)."),
                _min_leaf(5),
                _max_features(),
                Param(
                    "max_samples",
                    "Share of rows per tree",
                    "number",
                    None,
                    False,
                    minimum=0.01,
                    maximum=1.0,
                    help="0.01-1; smaller is faster and smaller. Empty: as many rows as the table.",
                ),
                _class_weight(),
                _seed(),
            ),
            {**_FOREST_SPACE, "max_samples": _num(0.2, 1.0)},
            only_for=_FAMILY_ONLY,
            needs_scaling=False,
            parallel=True,
        ),
        ModelSpec(
            "extra_trees",
            "Extra trees",
            "Like a random forest with random split points: faster, often as accurate.",
            ("regression", "classification"),
            ensemble.ExtraTreesRegressor,
            ensemble.ExtraTreesClassifier,
            (
                _n_estimators(100),
                _max_depth(14, "Empty: no limit (models can get very large)."),
                _min_leaf(5),
                _max_features(),
                _class_weight(),
                _seed(),
            ),
            _FOREST_SPACE,
            only_for=_FAMILY_ONLY,
            needs_scaling=False,
            parallel=True,
        ),
        ModelSpec(
            "gradient_boosting",
            "Gradient boosting",
            "Small trees added one by one; single-threaded: above ~100,000 rows prefer histogram boosting.",
            ("regression", "classification"),
            ensemble.GradientBoostingRegressor,
            ensemble.GradientBoostingClassifier,
            (
                _n_estimators(100, maximum=5000),
                _learning_rate(),
                Param("max_depth", "Maximum depth", "integer", 3, minimum=1, maximum=20),
                _min_leaf(1),
                Param("subsample", "Share of rows per tree", "number", 1.0, minimum=0.05, maximum=1.0),
                _seed(),
            ),
            {
                "n_estimators": _int(50, 1000, log=True),
                "learning_rate": _num(0.01, 0.3, log=True),
                "max_depth": _int(2, 8),
                "min_samples_leaf": _int(1, 100, log=True),
                "subsample": _num(0.5, 1.0),
            },
            needs_scaling=False,
        ),
        ModelSpec(
            "hist_gradient_boosting",
            "Histogram gradient boosting",
            "Fast gradient boosting for large tables; handles missing values itself.",
            ("regression", "classification"),
            ensemble.HistGradientBoostingRegressor,
            ensemble.HistGradientBoostingClassifier,
            (
                Param("max_iter", "Boosting rounds", "integer", 200, minimum=1, maximum=10_000),
                _learning_rate(),
                Param(
                    "max_leaf_nodes",
                    "Leaves per tree",
                    "integer",
                    31,
                    False,
                    minimum=2,
                    maximum=4096,
                    help="Empty: no limit.",
                ),
                _max_depth(None),
                _min_leaf(20),
                Param("l2_regularization", "L2 regularisation", "number", 0.0, minimum=0.0, maximum=1e6),
                Param(
                    "early_stopping",
                    "Early stopping",
                    "choice",
                    "auto",
                    choices=("auto", "on", "off"),
                    help="Stops when 10% held-out rows stop improving; auto = on above 10,000 rows.",
                ),
                _class_weight(),
                _seed(),
            ),
            {
                "max_iter": _int(50, 1000, log=True),
                "learning_rate": _num(0.01, 0.3, log=True),
                "max_leaf_nodes": _int(8, 256, log=True),
                "min_samples_leaf": _int(5, 200, log=True),
                "l2_regularization": _num(1e-6, 10.0, log=True),
                "class_weight": _pick("none", "balanced"),
            },
            only_for=_FAMILY_ONLY,
            handles_missing=True,
            needs_scaling=False,
        ),
        ModelSpec(
            "mlp",
            "Neural network (MLP)",
            "A multi-layer perceptron; needs scaled features and more rows than the tree models.",
            ("regression", "classification"),
            neural_network.MLPRegressor,
            neural_network.MLPClassifier,
            (
                Param(
                    "hidden_layer_sizes",
                    "Neurons per hidden layer",
                    "integers",
                    [64, 32],
                    minimum=1,
                    maximum=4096,
                    help="e.g. 64, 32: two hidden layers.",
                ),
                Param("activation", "Activation", "choice", "relu", choices=("relu", "tanh", "logistic")),
                Param("alpha", "L2 penalty", "number", 1e-4, minimum=0.0, maximum=100.0),
                Param("learning_rate_init", "Learning rate", "number", 1e-3, minimum=1e-6, maximum=1.0),
                Param("max_iter", "Maximum epochs", "integer", 200, minimum=1, maximum=10_000),
                Param(
                    "early_stopping",
                    "Early stopping",
                    "boolean",
                    True,
                    help="Stops when 10% held-out rows stop improving.",
                ),
                _seed(),
            ),
            {
                "hidden_layer_sizes": _pick((32,), (64,), (64, 32), (128, 64), (128, 64, 32)),
                "activation": _pick("relu", "tanh"),
                "alpha": _num(1e-6, 1e-1, log=True),
                "learning_rate_init": _num(1e-4, 1e-2, log=True),
            },
        ),
    )
}


# ------------------------------------------------------------------------------------------------ lookups


def problem_family(problem_type: str) -> str:
    """ "regression" -> "regression"; "binary", "multiclass" (or "classification") -> "classification"."""
    if problem_type == "regression":
        return "regression"
    if problem_type in ("binary", "multiclass", "classification"):
        return "classification"
    raise InvalidInput("problem_type", "Choose regression, binary or multiclass classification.")


def models_for(problem_type: str) -> list[ModelSpec]:
    """The models that fit a problem type, in catalog order."""
    return [m for m in MODELS.values() if m.supports(problem_type)]


def get_model(key: str) -> ModelSpec:
    model = MODELS.get(key)
    if model is None:
        raise InvalidInput("model", "Choose a model from the list.")
    return model


def detect_problem_type(y: pd.Series) -> str:
    """ "regression", "binary" or "multiclass", guessed from the target column (the user may override).

    Booleans, categories and text are classes. Numbers are a regression unless every value is whole and there
    are at most MAX_CLASS_LEVELS distinct ones (two levels: binary). Dates cannot be predicted (InvalidInput).
    """
    if pd.api.types.is_datetime64_any_dtype(y.dtype) or pd.api.types.is_timedelta64_dtype(y.dtype):
        raise InvalidInput(
            "target", f"{y.name!r} holds dates or durations: choose a numeric or category column."
        )
    values = y.dropna()
    levels = values.nunique()
    if pd.api.types.is_bool_dtype(y.dtype) or not pd.api.types.is_numeric_dtype(y.dtype):
        return "binary" if levels <= 2 else "multiclass"
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    whole = bool(np.all(np.isfinite(numbers) & (numbers == np.round(numbers))))
    if whole and 0 < levels <= MAX_CLASS_LEVELS:
        return "binary" if levels <= 2 else "multiclass"
    return "regression"


# ------------------------------------------------------------------------------------------------ parameters


def validate_params(key: str, problem_type: str, params: dict | None) -> dict:
    """The model's full typed parameters (defaults filled in, in form order).

    Raises InvalidInput naming the parameter: unknown, not for this problem, wrong type or out of range.
    """
    model = get_model(key)
    family = problem_family(problem_type)
    model.estimator_class(problem_type)  # refuses a model that does not do this problem
    params = dict(params or {})
    applicable = {p.name: p for p in model.params_for(problem_type)}
    for name in params:
        if name in applicable:
            continue
        other = model.only_for.get(name)
        if other and other != family:
            label = next(p.label for p in model.params if p.name == name)
            raise InvalidInput(name, f"{label} applies to {other} only.")
        raise InvalidInput(name, f"{model.label} has no parameter {name!r}.")
    values = {}
    for name, p in applicable.items():
        value = params[name] if name in params else _copy(p.default)
        if error := check_param(p, value, {}):
            raise InvalidInput(error.param, error.message)
        values[name] = _typed(p, value)
    return values


def form_values(key: str, problem_type: str, params: dict | None = None) -> dict[str, str]:
    """Field texts for the model form: defaults, or the given parameters (as the studio forms show them)."""
    values = validate_params(key, problem_type, params)
    applicable = get_model(key).params_for(problem_type)
    return {p.name: to_text(p, values[p.name]) for p in applicable}


def parse_form(key: str, problem_type: str, texts: dict[str, str]) -> dict:
    """Field texts -> validated typed parameters. Raises InvalidInput naming the field at fault."""
    applicable = get_model(key).params_for(problem_type)
    params = {p.name: parse_text(p, (texts.get(p.name) or "").strip()) for p in applicable}
    return validate_params(key, problem_type, params)


def build_estimator(key: str, problem_type: str, params: dict | None = None, *, n_jobs: int | None = -1):
    """An unfitted scikit-learn estimator for the model, its parameters validated first."""
    model = get_model(key)
    values = validate_params(key, problem_type, params)
    cls = model.estimator_class(problem_type)
    kwargs = _sklearn_kwargs(model.key, problem_family(problem_type), values)
    if model.parallel:
        kwargs["n_jobs"] = n_jobs
    return cls(**kwargs)


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value)) if isinstance(value, dict | list) else value


def _typed(p: Param, value: Any) -> Any:
    """JSON may give 10.0 for an integer (or 1 for a number): give each kind its Python type."""
    if value is None:
        return None
    if p.kind == "integer":
        return int(value)
    if p.kind == "number":
        return float(value)
    if p.kind == "integers":
        return [int(v) for v in value]
    return value


def _sklearn_kwargs(key: str, family: str, values: dict) -> dict:
    """Our parameter values -> the estimator's keyword arguments (names match except where noted)."""
    kwargs = dict(values)
    if "class_weight" in kwargs:
        kwargs["class_weight"] = None if kwargs["class_weight"] == "none" else kwargs["class_weight"]
    if "max_features" in kwargs and kwargs["max_features"] is None:
        kwargs["max_features"] = 1.0 if family == "regression" else "sqrt"
    if key == "hist_gradient_boosting":
        kwargs["early_stopping"] = {"auto": "auto", "on": True, "off": False}[kwargs["early_stopping"]]
    if key == "mlp":
        kwargs["hidden_layer_sizes"] = tuple(kwargs["hidden_layer_sizes"])
    if key in ("lasso", "elastic_net"):
        kwargs["max_iter"] = (
            5000  # coordinate descent: the default 1000 often stops short on hydrological data
        )
    if key == "svm":
        kwargs["cache_size"] = 500  # MB of kernel cache: faster fits for a modest memory cost
    if key == "logistic_regression":
        kwargs.update(_logistic_penalty(kwargs.pop("l1_ratio")))
    return kwargs


def _logistic_penalty(l1_ratio: float) -> dict:
    """lbfgs for a pure L2 penalty, saga otherwise; scikit-learn 1.8 replaced ``penalty`` by ``l1_ratio``."""
    solver = "lbfgs" if l1_ratio == 0 else "saga"
    if _SKLEARN_VERSION >= (1, 8):
        return {"l1_ratio": l1_ratio, "solver": solver}
    penalty = "l2" if l1_ratio == 0 else "l1" if l1_ratio == 1 else "elasticnet"
    return {"penalty": penalty, "solver": solver, "l1_ratio": l1_ratio if penalty == "elasticnet" else None}
