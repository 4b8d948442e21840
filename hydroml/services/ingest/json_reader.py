"""JSON: an array of records ([{"date": ..., "flow": ...}, ...]), an object holding one such array
({"data": [...]}), or JSON lines (one object per line). Values become text for the shared converters."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa

from hydroml.services.errors import InvalidInput
from hydroml.services.ingest.source import BATCH_ROWS, RawSample, RowsWanted, Source, rows_to_columns

SHAPE_MESSAGE = (
    "This JSON file is not a list of records. HydroML reads an array of objects "
    '([{"date": "2020-01-01", "flow": 1.5}, ...]) or one object per line (JSON lines).'
)


def json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        text = str(value)
        return text if text != "" else None
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


class JsonSource(Source):
    def _encoding(self) -> str:
        return (
            "utf-8-sig"
            if self.settings.encoding.lower().replace("_", "-") in ("utf-8", "utf8")
            else (self.settings.encoding)
        )

    def _records(self) -> Iterator[tuple[int, dict]]:
        """(line or item number, record) after skip_rows records."""
        skip = self.settings.skip_rows
        records = self._lines() if self.settings.json_lines else self._array()
        for position, (number, record) in enumerate(records):
            if position >= skip:
                yield number, record

    def _lines(self) -> Iterator[tuple[int, dict]]:
        try:
            with open(self.path, encoding=self._encoding()) as handle:
                for number, line in enumerate(handle, 1):
                    text = line.strip()
                    if not text:
                        continue
                    try:
                        record = json.loads(text)
                    except ValueError as exc:
                        raise InvalidInput(
                            "file",
                            f"Line {number:,} is not valid JSON ({exc.msg}). Fix that line and try again.",
                        ) from exc
                    if not isinstance(record, dict):
                        raise InvalidInput(
                            "file",
                            f"Line {number:,} is not a JSON object. Each line must hold one record {{...}}.",
                        )
                    yield number, record
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                "encoding", f"Part of the file is not valid {self.settings.encoding} text."
            ) from exc

    def _array(self) -> Iterator[tuple[int, dict]]:
        try:
            with open(self.path, encoding=self._encoding()) as handle:
                data = json.load(handle)
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                "encoding", f"Part of the file is not valid {self.settings.encoding} text."
            ) from exc
        except ValueError as exc:
            where = f" at line {exc.lineno}, column {exc.colno}" if hasattr(exc, "lineno") else ""
            raise InvalidInput(
                "file",
                f"This is not valid JSON ({getattr(exc, 'msg', str(exc))}{where}). Fix the file and try again.",
            ) from exc
        if isinstance(data, dict):
            lists = [value for value in data.values() if isinstance(value, list)]
            if len(lists) != 1:
                raise InvalidInput("file", SHAPE_MESSAGE)
            data = lists[0]
        if not isinstance(data, list):
            raise InvalidInput("file", SHAPE_MESSAGE)
        for number, record in enumerate(data, 1):
            if not isinstance(record, dict):
                raise InvalidInput(
                    "file", f"Item {number:,} of the JSON array is not an object. " + SHAPE_MESSAGE
                )
            yield number, record

    def sample(self, rows_wanted: RowsWanted) -> RawSample:
        records = []
        wanted = None
        keys: dict[str, None] = {}
        all_records = self._records()
        for _, record in all_records:
            records.append(record)
            keys.update(dict.fromkeys(record))
            if wanted is None:
                wanted = rows_wanted(max(len(record), 1))
            if not self.settings.json_lines:
                continue  # an array is in memory anyway: its columns come from every record
            if len(records) >= wanted:
                break
        if wanted is not None and not self.settings.json_lines:
            records = records[:wanted]
        names = list(keys)
        rows = [[json_text(record.get(name)) for name in names] for record in records]
        return RawSample(header=names, columns=rows_to_columns(rows, len(names)))

    def batches(self, sample: RawSample) -> Iterator[tuple[list[pa.Array], float]]:
        names = [str(name) for name in sample.header or []]
        ncols = len(names)
        known = set(names)
        rows: list[list[str | None]] = []
        for number, record in self._records():
            extra = [key for key in record if key not in known]
            if extra:
                raise InvalidInput(
                    "file",
                    f"Record {number:,} has the field '{extra[0]}', which the preview did not show. "
                    "Put that field in one of the first records (or remove it) and upload the file again.",
                )
            rows.append([json_text(record.get(name)) for name in names])
            if len(rows) >= BATCH_ROWS:
                yield rows_to_columns(rows, ncols), 0.5
                rows = []
        if rows:
            yield rows_to_columns(rows, ncols), 1.0
