"""Shared checks for operation tests: the studio's result must equal the exported pandas code's result exactly."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from hydroml.services.studio.operations.base import Context, Operation, schema_of, source_key


def run_code(op: Operation, df: pd.DataFrame, source_paths: dict[str, str] | None = None) -> pd.DataFrame:
    """Execute ``op.code()`` the way the exported script does: only pd, np, df and SOURCES in scope."""
    namespace = {"pd": pd, "np": np, "df": df.copy(), "SOURCES": dict(source_paths or {})}
    exec(compile("\n".join(op.code()), f"<{op.key}>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace["df"]


def assert_code_matches(
    op: Operation, df: pd.DataFrame, sources: dict[tuple[str, int], pd.DataFrame] | None = None
) -> pd.DataFrame:
    """Validate, apply, run the code, compare exactly; return the applied frame.

    ``sources`` maps (data_source_id, version) to frames for joins and appends. They are written to Parquet
    first: the studio and the exported script both read other sources with ``pd.read_parquet``.
    """
    errors = op.validate(schema_of(df))
    assert errors == [], errors
    before = df.copy()
    with tempfile.TemporaryDirectory() as folder:
        paths: dict[tuple[str, int], str] = {}
        for (source_id, version), frame in (sources or {}).items():
            paths[(source_id, version)] = str(Path(folder) / f"{source_id}_v{version}.parquet")
            frame.to_parquet(paths[(source_id, version)], index=False)
        ctx = Context(load_source=lambda i, v: pd.read_parquet(paths[(i, v)]))
        applied = op.apply(df, ctx)
        pd.testing.assert_frame_equal(df, before)  # the input frame is never modified
        assert isinstance(applied.index, pd.RangeIndex), type(applied.index)
        assert applied.index.start == 0 and applied.index.step == 1
        keyed = {source_key({"data_source_id": i, "version": v}): p for (i, v), p in paths.items()}
        coded = run_code(op, df, keyed)
    pd.testing.assert_frame_equal(applied, coded, check_exact=True)
    assert isinstance(op.describe(), str) and op.describe()
    return applied
