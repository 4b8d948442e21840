"""Materialising recipes: a frame per step, an LRU frame cache bounded by bytes, Parquet checkpoints.

Keys are content addresses: the key after step k hashes the base version's fingerprint and every enabled step
up to k. A disabled step keeps the previous key, so toggling a step off reuses the frame before it; an edited
step changes its key and every later one, so nothing stale is ever served. Sessions over the same data with the
same steps share frames.

Bytes are counted per distinct column buffer: pandas copy-on-write lets step k+1 share every column it did not
touch with step k, and the cache charges a shared buffer once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from hydroml.services.studio.operations import Context, OperationError, schema_of
from hydroml.services.studio.recipe import Step

log = logging.getLogger(__name__)

CHECKPOINT_AFTER_SECONDS = 0.5  # write a checkpoint when rebuilding the frame from the last one costs more
CHECKPOINTS_PER_SESSION = 4


@dataclass(frozen=True)
class StepStatus:
    step_id: str
    state: str  # applied | off | broken | pending
    reason: str = ""  # why a step is broken, or a note on an applied one (values that became missing)
    rows: int = 0
    columns: int = 0
    seconds: float = 0.0
    # The columns and dtypes the step received: some operations write typed code (a number, a timestamp)
    # only once they know them, so the script generator validates each step against this first.
    input_schema: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return self.__dict__.copy()


@dataclass
class Materialized:
    key: str
    frame: pd.DataFrame
    statuses: list[StepStatus]  # one per applied step (steps past the cursor are not computed)


# ------------------------------------------------------------------------------------------------ frame cache


def _buffers(frame: pd.DataFrame) -> list[tuple[int, int]]:
    """(address, bytes) of each column's data; shared columns give the same address."""
    out = []
    for i in range(frame.shape[1]):
        values = frame.iloc[:, i]._values  # noqa: SLF001 - the backing array, not a converted copy
        arrays = [values] if isinstance(values, np.ndarray) else []
        # datetime (_ndarray), nullable numbers/booleans (_data, _mask), categories (_codes)
        arrays += [
            a
            for name in ("_ndarray", "_data", "_mask", "_codes")
            if isinstance(a := getattr(values, name, None), np.ndarray)
        ]
        if arrays:
            out += [(a.__array_interface__["data"][0], a.nbytes) for a in arrays]
            continue
        chunks = getattr(getattr(values, "_pa_array", None), "chunks", None)
        if chunks is not None:
            for chunk in chunks:
                for buffer in chunk.buffers():
                    if buffer is not None:
                        out.append((buffer.address, buffer.size))
            continue
        out.append((id(values), int(getattr(values, "nbytes", 0))))
    return out


class FrameCache:
    """LRU of frames by key, bounded by the bytes of the distinct buffers they hold."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._frames: OrderedDict[str, tuple[pd.DataFrame, list[tuple[int, int]]]] = OrderedDict()
        self._refs: dict[int, list[int]] = {}  # address -> [bytes, frames holding it]
        self._lock = threading.RLock()

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return sum(size for size, _ in self._refs.values())

    def get(self, key: str) -> pd.DataFrame | None:
        with self._lock:
            entry = self._frames.get(key)
            if entry is None:
                return None
            self._frames.move_to_end(key)
            return entry[0]

    def put(self, key: str, frame: pd.DataFrame) -> None:
        with self._lock:
            if key in self._frames:
                self._frames.move_to_end(key)
                return
            buffers = _buffers(frame)
            for address, size in buffers:
                ref = self._refs.setdefault(address, [size, 0])
                ref[1] += 1
            self._frames[key] = (frame, buffers)
            while self.total_bytes > self.max_bytes and len(self._frames) > 1:
                self._evict(next(iter(self._frames)))

    def _evict(self, key: str) -> None:
        _, buffers = self._frames.pop(key)
        for address, _size in buffers:
            ref = self._refs[address]
            ref[1] -= 1
            if ref[1] <= 0:
                del self._refs[address]

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._refs.clear()

    def __len__(self) -> int:
        return len(self._frames)


_cache: FrameCache | None = None
_statuses: OrderedDict[str, list[StepStatus]] = OrderedDict()  # key -> statuses of the steps leading to it
_MAX_STATUS_ENTRIES = 20_000
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def frame_cache() -> FrameCache:
    global _cache
    if _cache is None:
        from hydroml.settings import get_settings

        _cache = FrameCache(get_settings().studio_cache_mb * 1024 * 1024)
    return _cache


def _lock_for(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


def _remember_statuses(key: str, statuses: list[StepStatus]) -> None:
    _statuses[key] = statuses
    _statuses.move_to_end(key)
    while len(_statuses) > _MAX_STATUS_ENTRIES:
        _statuses.popitem(last=False)


# ------------------------------------------------------------------------------------------------ keys


def step_keys(base_key: str, steps: tuple[Step, ...] | list[Step]) -> list[str]:
    """Frame keys: keys[0] is the base frame, keys[k] the frame after step k (content only: equal frames share)."""
    keys = [hashlib.sha256(base_key.encode()).hexdigest()[:32]]
    for step in steps:
        if step.enabled:
            payload = json.dumps({"op": step.op, "params": step.params}, sort_keys=True, ensure_ascii=False)
            keys.append(hashlib.sha256((keys[-1] + payload).encode()).hexdigest()[:32])
        else:
            keys.append(keys[-1])
    return keys


def trail_keys(base_key: str, steps: tuple[Step, ...] | list[Step]) -> list[str]:
    """History keys: like `step_keys` but also over step ids and on/off, which the step statuses depend on."""
    keys = [hashlib.sha256(("trail:" + base_key).encode()).hexdigest()[:32]]
    for step in steps:
        payload = json.dumps(step.to_json(), sort_keys=True, ensure_ascii=False)
        keys.append(hashlib.sha256((keys[-1] + payload).encode()).hexdigest()[:32])
    return keys


# ------------------------------------------------------------------------------------------------ materialise


def materialize(
    base_key: str,
    load_base: Callable[[], pd.DataFrame],
    steps: tuple[Step, ...],
    ctx: Context,
    checkpoint_dir: Path | None = None,
) -> Materialized:
    """The frame after ``steps`` (the applied part of a recipe), from the nearest cached or checkpointed step.

    A step that does not fit (validation errors) or fails on the data is marked broken with the reason and
    passes the frame through unchanged; it is never dropped from the recipe.
    """
    keys = step_keys(base_key, steps)
    trails = trail_keys(base_key, steps)
    with _lock_for(checkpoint_dir.as_posix() if checkpoint_dir else base_key):
        start, frame, statuses = _nearest_start(keys, trails, load_base, checkpoint_dir)
        cache = frame_cache()
        for index in range(start, len(steps)):
            step = steps[index]
            key = keys[index + 1]
            began = time.perf_counter()
            if not step.enabled:
                status = StepStatus(
                    step.id, "off", rows=len(frame), columns=frame.shape[1], input_schema=schema_of(frame)
                )
            else:
                frame, status = _apply_step(step, frame, ctx)
            elapsed = time.perf_counter() - began
            statuses = [*statuses, _with_seconds(status, elapsed)]
            cache.put(key, frame)
            _remember_statuses(trails[index + 1], statuses)
        if checkpoint_dir is not None:
            _checkpoint_if_costly(checkpoint_dir, trails[-1], frame, statuses)
        return Materialized(keys[-1], frame, statuses)


def _with_seconds(status: StepStatus, seconds: float) -> StepStatus:
    return replace(status, seconds=round(seconds, 4))


def _apply_step(step: Step, frame: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, StepStatus]:
    schema = schema_of(frame)

    def broken(reason: str) -> tuple[pd.DataFrame, StepStatus]:
        return frame, StepStatus(step.id, "broken", reason, len(frame), frame.shape[1], input_schema=schema)

    try:
        operation = step.operation()
    except Exception as exc:  # noqa: BLE001 - an unknown op or parameter set is a broken step, not a crash
        return broken(str(exc))
    errors = operation.validate(schema)
    if errors:
        return broken(" ".join(e.message for e in errors))
    try:
        result = operation.apply(frame, ctx)
    except OperationError as exc:
        return broken(str(exc))
    except Exception as exc:  # noqa: BLE001 - pandas errors on odd data: tell the user, keep the session usable
        log.exception("studio step %s (%s) failed", step.id, step.op)
        return broken(
            f"This step failed on the data: {exc}"
            if str(exc)
            else f"This step failed ({type(exc).__name__})."
        )
    status = StepStatus(
        step.id, "applied", operation.note(), len(result), result.shape[1], input_schema=schema
    )
    return result, status


def apply_new_step(step: Step, frame: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, StepStatus]:
    """Apply one new step to the cursor frame (used before a step is added, so a failing step is refused)."""
    began = time.perf_counter()
    result, status = _apply_step(step, frame, ctx)
    return result, _with_seconds(status, time.perf_counter() - began)


def remember(
    base_key: str,
    steps: tuple[Step, ...],
    frame: pd.DataFrame,
    statuses: list[StepStatus],
    checkpoint_dir: Path | None = None,
) -> str:
    """Cache the frame after ``steps`` computed outside `materialize` (a freshly added step); returns its key."""
    key = step_keys(base_key, steps)[-1]
    frame_cache().put(key, frame)
    trail = trail_keys(base_key, steps)[-1]
    _remember_statuses(trail, statuses)
    if checkpoint_dir is not None:
        _checkpoint_if_costly(checkpoint_dir, trail, frame, statuses)
    return key


def _nearest_start(
    keys: list[str], trails: list[str], load_base: Callable[[], pd.DataFrame], checkpoint_dir: Path | None
) -> tuple[int, pd.DataFrame, list[StepStatus]]:
    cache = frame_cache()
    for index in range(len(keys) - 1, 0, -1):
        frame = cache.get(keys[index])
        if frame is not None and trails[index] in _statuses:
            return index, frame, list(_statuses[trails[index]])
    if checkpoint_dir is not None:
        for index in range(len(keys) - 1, 0, -1):
            loaded = _read_checkpoint(checkpoint_dir, trails[index])
            if loaded is not None and len(loaded[1]) == index:
                frame, statuses = loaded
                _checkpointed[checkpoint_dir.as_posix()] = index
                cache.put(keys[index], frame)
                _remember_statuses(trails[index], statuses)
                return index, frame, statuses
    frame = cache.get(keys[0])
    if frame is None:
        frame = load_base()
        cache.put(keys[0], frame)
    return 0, frame, []


# ------------------------------------------------------------------------------------------------ checkpoints


def _checkpoint_paths(folder: Path, key: str) -> tuple[Path, Path]:
    return folder / f"{key}.parquet", folder / f"{key}.json"


def _read_checkpoint(folder: Path, key: str) -> tuple[pd.DataFrame, list[StepStatus]] | None:
    data, meta = _checkpoint_paths(folder, key)
    if not (data.exists() and meta.exists()):
        return None
    try:
        statuses = [StepStatus(**s) for s in json.loads(meta.read_text())["statuses"]]
        return pd.read_parquet(data), statuses
    except Exception:  # noqa: BLE001 - a damaged checkpoint only costs a replay
        log.warning("ignoring unreadable studio checkpoint %s", data, exc_info=True)
        return None


def write_checkpoint(folder: Path, key: str, frame: pd.DataFrame, statuses: list[StepStatus]) -> None:
    """Atomic: data then metadata, each written to a temporary name and renamed; oldest beyond the limit go."""
    folder.mkdir(parents=True, exist_ok=True)
    data, meta = _checkpoint_paths(folder, key)
    if meta.exists():
        return
    tmp = data.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, data)
        tmp_meta = meta.with_suffix(".json.tmp")
        tmp_meta.write_text(json.dumps({"statuses": [s.to_json() for s in statuses]}))
        os.replace(tmp_meta, meta)
    except Exception:  # noqa: BLE001 - e.g. a column Parquet cannot hold: the session still works, only slower
        log.warning("could not write studio checkpoint in %s", folder, exc_info=True)
        tmp.unlink(missing_ok=True)
        return
    metas = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    for old in metas[:-CHECKPOINTS_PER_SESSION]:
        old.unlink(missing_ok=True)
        old.with_suffix(".parquet").unlink(missing_ok=True)


_checkpointed: dict[str, int] = {}  # checkpoint folder -> steps covered by the newest checkpoint written here


def _checkpoint_if_costly(folder: Path, trail: str, frame: pd.DataFrame, statuses: list[StepStatus]) -> None:
    """Write a checkpoint (in the background) once rebuilding this frame from the last one would cost more
    than `CHECKPOINT_AFTER_SECONDS`: steps added one by one are cheap each, but add up after a restart."""
    covered = _checkpointed.get(folder.as_posix(), 0)
    if covered > len(statuses):
        covered = 0  # after an undo: the newest checkpoint is past the cursor
    if sum(status.seconds for status in statuses[covered:]) <= CHECKPOINT_AFTER_SECONDS:
        return
    _checkpointed[folder.as_posix()] = len(statuses)
    threading.Thread(
        target=write_checkpoint, args=(folder, trail, frame, statuses), name="studio-checkpoint", daemon=True
    ).start()
