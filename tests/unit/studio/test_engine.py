"""The frame cache and materialisation: shared buffers counted once, broken steps marked, checkpoints reused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydroml.services.studio import engine
from hydroml.services.studio.operations import Context
from hydroml.services.studio.recipe import Step, new_step


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(engine, "_cache", engine.FrameCache(512 * 1024 * 1024))
    engine._statuses.clear()
    yield
    engine._statuses.clear()


def _frame(rows: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows), "c": np.arange(rows)})


def test_cache_counts_a_column_shared_by_two_frames_once():
    cache = engine.FrameCache(10**9)
    base = _frame(100_000)
    cache.put("base", base)
    one_column = base["a"].to_numpy().nbytes
    after = base.drop(columns=["b"])  # copy-on-write: shares a and c with base
    cache.put("after", after)
    assert cache.total_bytes == pytest.approx(3 * one_column, rel=0.01)
    changed = base.assign(a=base["a"] * 2)  # one new column
    cache.put("changed", changed)
    assert cache.total_bytes == pytest.approx(4 * one_column, rel=0.01)


def test_cache_evicts_least_recently_used_frames_beyond_its_budget():
    frames = {f"k{i}": _frame(100_000).assign(c=i) for i in range(3)}
    size = sum(b for _, b in engine._buffers(frames["k0"]))
    cache = engine.FrameCache(int(size * 2.5))
    for key, frame in frames.items():
        cache.put(key, frame)
        cache.get("k0")  # keep k0 fresh
    assert cache.get("k0") is not None and cache.get("k1") is None and cache.get("k2") is not None
    assert cache.total_bytes <= cache.max_bytes


def test_broken_steps_are_marked_and_pass_the_frame_through():
    steps = (
        new_step("drop_columns", {"columns": ["b"]}),
        new_step("drop_columns", {"columns": ["b"]}),  # b is gone: does not fit
        new_step("drop_columns", {"columns": ["c"]}),
    )
    done = engine.materialize("base-1", _frame, steps, Context())
    assert [s.state for s in done.statuses] == ["applied", "broken", "applied"]
    assert "'b'" in done.statuses[1].reason
    assert list(done.frame.columns) == ["a"]


def test_a_turned_off_step_reuses_the_frame_before_it():
    drop = new_step("drop_columns", {"columns": ["b"]})
    off = Step(drop.id, drop.op, drop.params, enabled=False)
    keys = engine.step_keys("base", (off,))
    assert keys[0] == keys[1]
    done = engine.materialize("base-2", _frame, (off,), Context())
    assert done.statuses[0].state == "off" and list(done.frame.columns) == ["a", "b", "c"]


def test_cached_steps_are_not_recomputed_and_statuses_follow_the_steps(monkeypatch):
    steps = (new_step("drop_columns", {"columns": ["b"]}), new_step("drop_columns", {"columns": ["c"]}))
    engine.materialize("base-3", _frame, steps, Context())
    calls = []
    monkeypatch.setattr(
        engine, "_apply_step", lambda *a: calls.append(a) or (_ for _ in ()).throw(AssertionError)
    )
    again = engine.materialize("base-3", lambda: pytest.fail("base reloaded"), steps, Context())
    undone = engine.materialize("base-3", lambda: pytest.fail("base reloaded"), steps[:1], Context())
    assert calls == [] and list(again.frame.columns) == ["a"] and list(undone.frame.columns) == ["a", "c"]
    assert [s.step_id for s in undone.statuses] == [steps[0].id]


def test_a_checkpoint_restores_a_session_after_a_restart_without_replaying(tmp_path, monkeypatch):
    steps = (new_step("drop_columns", {"columns": ["b"]}), new_step("drop_columns", {"columns": ["c"]}))
    done = engine.materialize("base-4", _frame, steps, Context())
    engine.write_checkpoint(tmp_path, engine.trail_keys("base-4", steps)[-1], done.frame, done.statuses)
    # "Restart": empty cache and statuses; the base must not be read and no step re-applied.
    monkeypatch.setattr(engine, "_cache", engine.FrameCache(10**9))
    engine._statuses.clear()
    monkeypatch.setattr(engine, "_apply_step", lambda *a: pytest.fail("replayed"))
    reopened = engine.materialize("base-4", lambda: pytest.fail("base reloaded"), steps, Context(), tmp_path)
    pd.testing.assert_frame_equal(reopened.frame, done.frame)
    assert reopened.statuses == done.statuses


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    frame = _frame(10)
    for i in range(engine.CHECKPOINTS_PER_SESSION + 3):
        engine.write_checkpoint(tmp_path, f"key{i}", frame, [])
    assert len(list(tmp_path.glob("*.parquet"))) == engine.CHECKPOINTS_PER_SESSION
    assert len(list(tmp_path.glob("*.json"))) == engine.CHECKPOINTS_PER_SESSION


def test_steps_added_one_by_one_get_a_checkpoint_once_a_rebuild_would_be_slow(tmp_path):
    import time

    from hydroml.services.studio.engine import StepStatus

    base, steps = (
        _frame(100),
        (new_step("drop_columns", {"columns": ["b"]}), new_step("drop_columns", {"columns": ["c"]})),
    )
    one = StepStatus(steps[0].id, "applied", seconds=0.3)
    engine.remember("base-5", steps[:1], base.drop(columns=["b"]), [one], tmp_path)
    time.sleep(0.2)
    assert list(tmp_path.glob("*.parquet")) == []  # 0.3 s to rebuild: not worth a file
    two = StepStatus(steps[1].id, "applied", seconds=0.3)
    engine.remember("base-5", steps, base.drop(columns=["b", "c"]), [one, two], tmp_path)
    deadline = time.monotonic() + 10
    while not list(tmp_path.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p.stem for p in tmp_path.glob("*.json")] == [engine.trail_keys("base-5", steps)[-1]]
