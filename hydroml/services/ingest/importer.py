"""Import: the whole file, read with the confirmed settings, converted to the confirmed types, written to
Parquet atomically (a temporary file renamed into place; nothing partial is ever left behind)."""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hydroml.services.errors import InvalidInput
from hydroml.services.ingest.convert import arrow_type, convert_columns
from hydroml.services.ingest.friendly import friendly_errors
from hydroml.services.ingest.models import ImportResult
from hydroml.services.ingest.plan import Plan, make_plan, open_source, sample_rows
from hydroml.services.ingest.settings import ImportSettings
from hydroml.services.ingest.source import NeedsTolerantRead, RawSample, Source

ROW_GROUP_ROWS = 1 << 18
ROW_GROUP_BYTES = 128 << 20
QUEUED_GROUPS = 2
DICTIONARY_MAX_DISTINCT = 0.5  # share of distinct values in the sample up to which a dictionary pays off
Progress = Callable[[float, str], None]


class _Reporter:
    """Calls the user's progress callback a few times (every 5 %), never with a smaller fraction."""

    def __init__(self, callback: Progress | None) -> None:
        self.callback = callback
        self.last = -1.0
        self.stage = ""

    def __call__(self, fraction: float, stage: str) -> None:
        fraction = max(self.last, min(1.0, fraction))
        if self.callback is None or (fraction - self.last < 0.05 and stage == self.stage and fraction < 1.0):
            return
        self.last, self.stage = fraction, stage
        self.callback(round(fraction, 3), stage)


def _schema(plan: Plan) -> pa.Schema:
    return pa.schema(
        [
            pa.field(name, arrow_type(rule.dtype, rule.tz))
            for name, rule in zip(plan.names, plan.rules, strict=True)
        ]
    )


def _dictionary_columns(sample: RawSample, plan: Plan) -> list[str]:
    """Columns worth dictionary encoding: few distinct values in the sample. Trying a dictionary on nearly
    unique values (flows with decimals, timestamps) costs time for nothing."""

    def worth_it(rule, arr: pa.Array) -> bool:
        present = len(arr) - arr.null_count
        if rule.dtype in ("category", "boolean") or present == 0:
            return True
        try:
            distinct = pc.count_distinct(arr).as_py()
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # nested Parquet values: stored as text
            return True
        return distinct <= DICTIONARY_MAX_DISTINCT * present

    return [
        name
        for name, rule, arr in zip(plan.names, plan.rules, sample.columns, strict=True)
        if worth_it(rule, arr)
    ]


class _BackgroundWriter:
    """Parquet encoding runs on its own thread (it releases the GIL) while the next rows are parsed and
    converted; at most QUEUED_GROUPS row groups wait, so memory stays bounded."""

    def __init__(self, target: Path, schema: pa.Schema, dictionary: list[str]) -> None:
        self.writer = pq.ParquetWriter(target, schema, compression="snappy", use_dictionary=dictionary)
        self.queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=QUEUED_GROUPS)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="parquet-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (table := self.queue.get()) is not None:
            if self.error is None:  # after a failure keep draining so the producer never blocks
                try:
                    self.writer.write_table(table, row_group_size=table.num_rows)
                except BaseException as exc:  # re-raised on the caller's thread
                    self.error = exc

    def put(self, table: pa.Table) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(table)

    def close(self, success: bool) -> None:
        self.queue.put(None)
        self.thread.join()
        self.writer.close()
        if success and self.error is not None:
            raise self.error


def _write(
    source: Source, sample: RawSample, plan: Plan, target: Path, report: _Reporter, ragged: bool | None
):
    schema = _schema(plan)
    invalid = [0] * len(plan.names)
    rows = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = pending_bytes = 0
    batches = source.batches(sample) if ragged is None else source.batches(sample, ragged=ragged)
    writer = _BackgroundWriter(target, schema, _dictionary_columns(sample, plan))
    success = False
    try:
        for arrays, fraction in batches:
            converted, bad = convert_columns(arrays, plan.rules, plan.style)
            invalid = [total + count for total, count in zip(invalid, bad, strict=True)]
            batch = pa.RecordBatch.from_arrays(converted, schema=schema)
            pending.append(batch)
            pending_rows += batch.num_rows
            pending_bytes += batch.nbytes
            rows += batch.num_rows
            if pending_rows >= ROW_GROUP_ROWS or pending_bytes >= ROW_GROUP_BYTES:
                writer.put(pa.Table.from_batches(pending, schema=schema))
                pending, pending_rows, pending_bytes = [], 0, 0
            report(0.02 + 0.9 * fraction, "Converting and writing rows")
        if pending:
            writer.put(pa.Table.from_batches(pending, schema=schema))
        success = True
    finally:
        writer.close(success)
    return rows, invalid


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def import_to_parquet(
    path: Path, settings: ImportSettings, out_path: Path, progress: Progress | None = None
) -> ImportResult:
    """Read the whole file exactly as previewed and write it to `out_path` as Parquet."""
    settings.validate()
    report = _Reporter(progress)
    out_path = Path(out_path)
    report(0.0, "Reading the file")
    temporary = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.part")
    try:
        with friendly_errors():
            source = open_source(Path(path), settings)
            sample = source.sample(sample_rows)
            plan = make_plan(sample, settings)
            out_path.parent.mkdir(parents=True, exist_ok=True)
            report(0.02, "Converting and writing rows")
            try:
                rows, invalid = _write(source, sample, plan, temporary, report, None)
            except NeedsTolerantRead:  # a row further down has another number of values than the header
                temporary.unlink(missing_ok=True)
                rows, invalid = _write(source, sample, plan, temporary, report, True)
            if rows == 0 and settings.format != "parquet":  # an empty Parquet table still has a typed schema
                raise InvalidInput(
                    "file",
                    "The file has column names but no rows of data. Add data rows and upload it again.",
                )
            report(0.95, "Computing the checksum")
            sha256 = _sha256(temporary)
            size = temporary.stat().st_size
            os.replace(temporary, out_path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    report(1.0, "Done")
    return ImportResult(
        parquet_path=out_path,
        rows=rows,
        columns=plan.columns,
        sha256=sha256,
        size_bytes=size,
        invalid_values=dict(zip(plan.names, invalid, strict=True)),
    )
