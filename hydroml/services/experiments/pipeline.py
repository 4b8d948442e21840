"""The preprocessing pipeline that travels with every model, and the checks that keep a run honest.

The fitted scikit-learn ``Pipeline`` (preprocessing + model) is what MLflow logs, so it must take the raw
feature columns, pickle, and reload anywhere with only pandas, numpy and scikit-learn installed: it holds no
lambdas and no HydroML code (dtype conversions use ``pd.DataFrame.astype`` through ``FunctionTransformer``).

Choices, so that another engineer can rely on them:

- Columns are split by dtype. Numbers and booleans (as 0/1) are "numeric": imputed, then scaled. Text,
  categories and objects are "categorical": read as text, imputed, then one-hot encoded (unknown values at
  prediction give all zeros; categories beyond ``max_categories`` share one "infrequent" column). With
  ``one_hot=False`` categories become ordinal codes (unknown and missing = -1), compact and fine for trees;
  histogram gradient boosting then treats them as native categories.
- Date and duration features are refused: a model cannot extrapolate a timestamp into the future, and the
  studio's "Calendar features" step (day of year, month, water year) or lags say what the date means.
- With ``numeric_imputation="none"``, missing numeric values are refused for every model except histogram
  gradient boosting, which learns where missing values should go. Missing categories never block: they become
  a category of their own.
- ``log1p_target`` wraps the model in ``TransformedTargetRegressor(np.log1p, np.expm1)``: the model learns
  log(1 + y), predictions come back in the target's units.
- scikit-learn cannot impute the target: training drops rows whose target is missing (``rows_with_target``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)

from hydroml.services.errors import InvalidInput
from hydroml.services.experiments import catalog

NUMERIC_IMPUTATION = ("median", "mean", "constant", "none")
CATEGORICAL_IMPUTATION = ("most_frequent", "constant", "none")
SCALING = ("standard", "minmax", "robust", "none")
MAX_CATEGORIES = 200  # upper bound of the per-column cap (histogram boosting takes at most 255 categories)
MISSING_CATEGORY = "missing"  # the value "constant" categorical imputation fills in

# Leak checks (feature_warnings)
SAMPLE_ROWS = 100_000  # rows sampled for the correlation checks: enough for a stable rank correlation
LEAK_CORRELATION = 0.99  # |Spearman r| above this with the target (same row or k rows later) is a leak
MAX_SHIFT = 7  # shifts tried in each direction: a lag or lead of up to a week of daily data
MIN_PAIRS = 20
ID_SHARE = 0.95  # share of distinct values that makes a column named like an identifier id-like
_ID_TOKENS = {"id", "uuid", "guid", "key", "idx", "index", "pk", "rowid", "row"}
_LEAD_TOKENS = {"lead", "next", "future", "ahead", "fwd", "forward", "tomorrow"}
_LAG_TOKENS = {"lag", "prev", "previous", "past", "yesterday", "before"}

# Target checks (target_problems): all of these block a run.
MISSING_TARGET_SHARE = 0.3  # above this share of missing targets the run is refused: filter the rows first
MAX_CLASSES = 100  # more classes than this is almost surely a numeric or id column picked by mistake


@dataclass(frozen=True)
class PreprocessingSpec:
    numeric_imputation: str = "median"
    categorical_imputation: str = "most_frequent"
    scaling: str = "standard"
    one_hot: bool = True
    max_categories: int = 20
    log1p_target: bool = False

    def __post_init__(self) -> None:
        for name, allowed in (
            ("numeric_imputation", NUMERIC_IMPUTATION),
            ("categorical_imputation", CATEGORICAL_IMPUTATION),
            ("scaling", SCALING),
        ):
            if getattr(self, name) not in allowed:
                raise InvalidInput(name, f"Choose one of {', '.join(allowed)}.")
        for name in ("one_hot", "log1p_target"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInput(name, "Expected yes or no.")
        cap = self.max_categories
        if isinstance(cap, bool) or not isinstance(cap, int) or not 2 <= cap <= MAX_CATEGORIES:
            raise InvalidInput("max_categories", f"Enter a whole number from 2 to {MAX_CATEGORIES}.")

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> PreprocessingSpec:
        """Missing keys take the defaults; unknown keys and bad values raise InvalidInput naming the field."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        for name in data:
            if name not in known:
                raise InvalidInput(name, f"Unknown preprocessing option {name!r}.")
        if isinstance(data.get("max_categories"), float) and float(data["max_categories"]).is_integer():
            data["max_categories"] = int(data["max_categories"])  # JSON round trips may give 20.0
        return cls(**data)


def default_preprocessing(model_key: str) -> PreprocessingSpec:
    """What the wizard proposes for a model: no scaling for trees, no imputation for histogram boosting."""
    model = catalog.get_model(model_key)
    return PreprocessingSpec(
        numeric_imputation="none" if model.handles_missing else "median",
        scaling="standard" if model.needs_scaling else "none",
    )


# ------------------------------------------------------------------------------------------------ pipeline


def split_features(frame: pd.DataFrame, features: list[str]) -> tuple[list[str], list[str]]:
    """(numeric, categorical) feature names in the given order; InvalidInput for dates and unknown columns."""
    numeric, categorical = [], []
    for name in features:
        if name not in frame.columns:
            raise InvalidInput("features", f"There is no column named {name!r}.")
        dtype = frame[name].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
            raise InvalidInput(
                "features",
                f"{name!r} holds dates: a model cannot use them directly. Add calendar features (day of "
                "year, month, water year) or lags in the Data Studio and choose those instead.",
            )
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            numeric.append(name)
        else:
            categorical.append(name)
    return numeric, categorical


def check_log1p_target(y: pd.Series) -> None:
    """InvalidInput unless every target value is above -1 (log1p is undefined at -1 and below)."""
    values = pd.to_numeric(y, errors="coerce")
    low = values.min()
    if pd.notna(low) and low <= -1:
        raise InvalidInput(
            "log1p_target",
            f"The log transform needs target values above -1, but {y.name!r} goes down to {low:g}. "
            "Turn the log transform off, or filter those rows in the studio.",
        )


def check_preprocessing(
    frame: pd.DataFrame,
    features: list[str],
    problem_type: str,
    model_key: str,
    preprocessing: PreprocessingSpec,
    target: str | None = None,
) -> None:
    """Everything `build_pipeline` refuses, as InvalidInput naming the option to change.

    Call it before queueing a run, so the wizard shows the problem instead of a failed run.
    """
    model = catalog.get_model(model_key)
    family = catalog.problem_family(problem_type)
    if not features:
        raise InvalidInput("features", "Choose at least one feature column.")
    if len(set(features)) != len(features):
        raise InvalidInput("features", "A feature is listed twice.")
    if target is not None and target in features:
        raise InvalidInput("features", f"The target {target!r} cannot also be a feature.")
    numeric, _categorical = split_features(frame, features)
    if preprocessing.log1p_target:
        if family != "regression":
            raise InvalidInput("log1p_target", "The log transform applies to regression targets only.")
        if target is not None and target in frame.columns:
            check_log1p_target(frame[target])
    if preprocessing.numeric_imputation == "none" and not model.handles_missing and numeric:
        missing = frame[numeric].isna().sum()
        missing = missing[missing > 0]
        if len(missing):
            listed = ", ".join(f"{name} ({int(n):,} rows)" for name, n in missing.head(3).items())
            raise InvalidInput(
                "numeric_imputation",
                f"The features have missing values ({listed}): choose an imputation or fill them in the "
                f"studio. Only histogram gradient boosting works with missing values as they are.",
            )


def build_pipeline(
    frame: pd.DataFrame,
    features: list[str],
    problem_type: str,
    model_key: str,
    params: dict | None,
    preprocessing: PreprocessingSpec | dict | None = None,
    *,
    target: str | None = None,
    n_jobs: int | None = -1,
) -> Pipeline:
    """An unfitted Pipeline(preprocess, model) that takes ``frame[features]``; fit it with the target column.

    ``frame`` is used to read the feature dtypes and to refuse what cannot work (see `check_preprocessing`);
    pass ``target`` so that a log transform of a target with values at or below -1 is refused here too.
    """
    if not isinstance(preprocessing, PreprocessingSpec):
        preprocessing = PreprocessingSpec.from_dict(preprocessing)
    features = list(features)
    check_preprocessing(frame, features, problem_type, model_key, preprocessing, target)
    numeric, categorical = split_features(frame, features)
    transformers = []
    if numeric:
        transformers.append(("numeric", _numeric_steps(preprocessing), numeric))
    if categorical:
        transformers.append(("categorical", _categorical_steps(preprocessing), categorical))
    preprocess = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    model = catalog.build_estimator(model_key, problem_type, params, n_jobs=n_jobs)
    if model_key == "hist_gradient_boosting" and categorical and not preprocessing.one_hot:
        # Ordinal codes come after the numeric columns; -1 (unknown, missing) counts as missing for the model.
        model.set_params(categorical_features=list(range(len(numeric), len(numeric) + len(categorical))))
    if preprocessing.log1p_target:
        model = TransformedTargetRegressor(regressor=model, func=np.log1p, inverse_func=np.expm1)
    return Pipeline([("preprocess", preprocess), ("model", model)])


def _as(dtype: str) -> FunctionTransformer:
    """Cast the columns (nullable integers with <NA>, booleans, categories) to one plain dtype, picklably."""
    return FunctionTransformer(pd.DataFrame.astype, kw_args={"dtype": dtype}, feature_names_out="one-to-one")


def _numeric_steps(spec: PreprocessingSpec) -> Pipeline:
    steps: list[tuple] = [("as_float", _as("float64"))]
    if spec.numeric_imputation != "none":
        steps.append(
            (
                "impute",
                SimpleImputer(strategy=spec.numeric_imputation, fill_value=0, keep_empty_features=True),
            )
        )
    scaler = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}.get(spec.scaling)
    if scaler is not None:
        steps.append(("scale", scaler()))
    return Pipeline(steps)


def _categorical_steps(spec: PreprocessingSpec) -> Pipeline:
    steps: list[tuple] = [("as_text", _as("str"))]  # missing values stay missing (pandas' str dtype)
    if spec.categorical_imputation != "none":
        steps.append(
            (
                "impute",
                SimpleImputer(
                    strategy=spec.categorical_imputation,
                    fill_value=MISSING_CATEGORY,
                    keep_empty_features=True,
                ),
            )
        )
    if spec.one_hot:
        encoder = OneHotEncoder(
            handle_unknown="ignore", max_categories=spec.max_categories, sparse_output=False
        )
    else:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            encoded_missing_value=-1,
            max_categories=spec.max_categories,
        )
    steps.append(("encode", encoder))
    return Pipeline(steps)


def rows_with_target(frame: pd.DataFrame, target: str) -> pd.Series:
    """Boolean mask of the rows a model can learn from (scikit-learn cannot impute a missing target)."""
    return frame[target].notna()


# ------------------------------------------------------------------------------------------------ checks


def target_problems(frame: pd.DataFrame, target: str, problem_type: str) -> list[str]:
    """What stops the target from being learned, in plain words (empty: fine). Each one blocks a run.

    Rows with a missing target are dropped at training; that only becomes a problem above
    MISSING_TARGET_SHARE of the rows, where the model would learn from a fraction of the table without the
    user having decided so.
    """
    if target not in frame.columns:
        return [f"There is no column named {target!r}."]
    family = catalog.problem_family(problem_type)
    y = frame[target]
    present = y.dropna()
    if present.empty:
        return [f"Target {target!r} has no values."]
    problems = []
    share = 1 - len(present) / len(y)
    if share > MISSING_TARGET_SHARE:
        problems.append(
            f"Target {target!r} has {share:.0%} missing values ({len(y) - len(present):,} rows). A model "
            "cannot learn from a missing target, so training would leave those rows out. Filter them out in "
            "the studio to train on the rest (or fill them, if the values are known)."
        )
    if family == "regression":
        dtype = y.dtype
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if not numeric:
            problems.append(
                f"Target {target!r} is not numeric: choose classification, or a numeric column to predict."
            )
        else:
            values = present.to_numpy(dtype="float64", na_value=np.nan)
            if not np.isfinite(values).all():
                problems.append(f"Target {target!r} has infinite values: filter them in the studio.")
            elif present.nunique() < 2:
                problems.append(f"Target {target!r} has a single value: there is nothing to predict.")
        return problems
    counts = present.value_counts()
    counts = counts[counts > 0]  # a categorical dtype also lists its unused categories
    if len(counts) < 2:
        problems.append(
            f"Target {target!r} has a single class ({counts.index[0]!r}): a classifier needs at least two."
        )
    elif problem_type == "binary" and len(counts) > 2:
        problems.append(
            f"Binary classification needs two classes; {target!r} has {len(counts)}: choose multiclass."
        )
    elif len(counts) > MAX_CLASSES:
        problems.append(
            f"Target {target!r} has {len(counts):,} classes: is it a measurement? Choose regression for a "
            "number, or group the classes in the studio."
        )
    else:
        lonely = counts[counts < 2]
        if len(lonely):
            problems.append(
                f"Class {lonely.index[0]!r} of {target!r} has a single row: each class needs at least two "
                "(for splits and cross-validation, ideally many more). Filter or merge it in the studio."
            )
    return problems


def feature_warnings(
    frame: pd.DataFrame, target: str, features: list[str], time_column: str | None = None
) -> list[dict]:
    """Features that probably leak the answer or carry nothing: [{"column", "reason"}], in feature order.

    Warnings, not errors: the user decides. Checked: the target and the time column themselves, id-like
    columns, constant columns, columns named as a lead of the target, and numeric columns that follow the
    target too closely (|rank correlation| > LEAK_CORRELATION) at the same row (a rescaled copy) or at a later
    row (a lead). A lag of the target correlates best with an earlier row and is fine. Correlations use at
    most SAMPLE_ROWS sampled rows (in the table's order), so the check stays cheap on 1M rows.
    """
    warnings: list[dict] = []
    n = len(frame)
    y = frame[target] if target in frame.columns else None
    probe = _TargetProbe(y) if y is not None else None
    target_tokens = _tokens(target)
    for name in features:
        if name not in frame.columns:
            continue
        column = frame[name]

        def warn(reason: str, name: str = name) -> None:
            warnings.append({"column": name, "reason": reason})

        if name == target:
            warn("this is the target itself.")
            continue
        if time_column and name == time_column:
            warn(
                "the time column: a model learns the date of each row, which does not carry into the future. "
                "Use calendar features or lags instead."
            )
            continue
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            warn("holds dates, which a model cannot use: add calendar features or lags in the studio.")
            continue
        present = column.dropna()
        if present.empty or bool((present == present.iloc[0]).all()):
            warn("a constant column (one value or none): it carries no information.")
            continue
        if n >= MIN_PAIRS and _id_like(name, column, present):
            warn("looks like an identifier (a different value on almost every row): it cannot generalise.")
            continue
        tokens = _tokens(name)
        if _contains(tokens, target_tokens) and tokens & _LEAD_TOKENS:
            warn("named as a future value (lead) of the target: at prediction time it is not known yet.")
            continue
        if probe is not None and probe.numeric and _plain_numeric(column):
            reason = probe.leak(column)
            if reason:
                warn(reason)
                continue
        if probe is not None and probe.relabelled_by(column):
            warn("maps one to one onto the target's classes: it is probably the target under another name.")
    return warnings


def _tokens(name: str) -> set[str]:
    """'FlowLead1_m3s' -> {'flow', 'lead', 'm3s'} (digits at the end of a word are a count, not a token)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    words = re.split(r"[^0-9A-Za-z]+", spaced.lower())
    return {w.rstrip("0123456789") or w for w in words if w}


def _contains(tokens: set[str], target_tokens: set[str]) -> bool:
    return bool(target_tokens) and target_tokens <= tokens


def _plain_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)


def _id_like(name: str, column: pd.Series, present: pd.Series) -> bool:
    """Named like an identifier with a distinct value on (almost) every row, text that is (almost) never
    repeated, or integers counting the rows. Unnamed numbers with many distinct values are measurements."""
    named = bool(_tokens(name) & _ID_TOKENS)
    if not named and pd.api.types.is_numeric_dtype(column.dtype):
        if pd.api.types.is_float_dtype(column.dtype) or len(present) < len(column):
            return False
        steps = np.diff(present.to_numpy(dtype="float64"))
        return bool(len(steps) and np.all(steps == steps[0]) and steps[0] != 0)  # 1, 2, 3, ...: a row counter
    needed = max(MIN_PAIRS, ID_SHARE * len(column))
    if len(present) < needed:
        return False
    sample = present.sample(min(len(present), 10_000), random_state=0)
    if sample.nunique() < ID_SHARE * len(sample):  # cheap rejection of repeated values (stations, classes)
        return False
    return present.nunique() >= needed


class _TargetProbe:
    """The target, sampled once, for the leak checks of every feature.

    Sampled positions i (in the table's order) are compared with the target at i + k for k in
    -MAX_SHIFT..MAX_SHIFT: a copy matches best at k = 0, a lead (the value k rows later) at k > 0, a lag at
    k < 0.
    """

    def __init__(self, y: pd.Series) -> None:
        self.y = y
        self.numeric = _plain_numeric(y)
        n = len(y)
        inner = np.arange(MAX_SHIFT, max(MAX_SHIFT, n - MAX_SHIFT))
        if len(inner) > SAMPLE_ROWS:
            inner = np.sort(np.random.default_rng(0).choice(inner, SAMPLE_ROWS, replace=False))
        self.positions = inner
        self._classes: np.ndarray | None = None  # the sampled target as text, empty when not a class
        self._ranks: np.ndarray | None = None  # row k + MAX_SHIFT: ranks of the target at the positions + k

    def leak(self, column: pd.Series) -> str:
        if len(self.positions) < MIN_PAIRS:
            return ""
        if self._ranks is None:
            values = self.y.to_numpy(dtype="float64", na_value=np.nan)
            shifts = range(-MAX_SHIFT, MAX_SHIFT + 1)
            self._ranks = np.vstack([_ranks(values[self.positions + k]) for k in shifts])
        x = _ranks(column.to_numpy(dtype="float64", na_value=np.nan)[self.positions])
        best_shift, best = 0, 0.0
        for k in range(-MAX_SHIFT, MAX_SHIFT + 1):
            r = abs(_correlation(x, self._ranks[k + MAX_SHIFT]))
            if r > best + 1e-9 or (k == 0 and r >= best - 1e-9):  # ties go to the same row
                best_shift, best = k, r
        if best <= LEAK_CORRELATION:
            return ""
        if best_shift == 0:
            return (
                f"follows the target at the same row (|r| = {best:.3f}): a copy or rescaling of the target, "
                "which will not be known when predicting."
            )
        if best_shift > 0:
            return (
                f"matches the target {best_shift} row(s) later (|r| = {best:.3f}): a lead (future value) of "
                "the target, which will not be known when predicting."
            )
        return ""  # a lag: known at prediction time

    def relabelled_by(self, column: pd.Series) -> bool:
        """True when the feature and the target determine each other (a class relabelled), on the sample."""
        if self._classes is None:
            sample = self.y.iloc[self.positions]
            few = len(sample) >= MIN_PAIRS and 2 <= sample.nunique() <= MAX_CLASSES
            self._classes = sample.astype(str).to_numpy() if few else np.array([])
        if not len(self._classes):
            return False
        levels = len(set(self._classes))
        feature = column.iloc[self.positions]
        if feature.nunique(dropna=False) != levels:
            return False
        pairs = pd.DataFrame({"f": feature.astype(str).to_numpy(), "y": self._classes}).drop_duplicates()
        return len(pairs) == levels


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks, NaN (and infinities) staying NaN: Pearson's r on ranks is Spearman's r."""
    values = np.where(np.isfinite(values), values, np.nan)
    return pd.Series(values).rank().to_numpy()


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r over the pairs where both are present (0 when too few, or one side is constant)."""
    both = ~(np.isnan(x) | np.isnan(y))
    if both.sum() < MIN_PAIRS:
        return 0.0
    x, y = x[both], y[both]
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])
