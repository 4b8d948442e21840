"""Parquet: typed columns read batch by batch (header and skip settings do not apply)."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from hydroml.services.errors import InvalidInput
from hydroml.services.ingest.source import BATCH_ROWS, RawSample, RowsWanted, Source

DAMAGED = (
    "This Parquet file is damaged or incomplete and cannot be read. Export it again and upload the new file."
)


class ParquetSource(Source):
    def _open(self) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
            raise InvalidInput("file", DAMAGED) from exc

    def sample(self, rows_wanted: RowsWanted) -> RawSample:
        parquet = self._open()
        try:
            schema = parquet.schema_arrow
            wanted = rows_wanted(max(len(schema), 1))
            batches = []
            got = 0
            for batch in parquet.iter_batches(batch_size=min(wanted, BATCH_ROWS)):
                batches.append(batch)
                got += batch.num_rows
                if got >= wanted:
                    break
            table = pa.Table.from_batches(batches, schema=schema).slice(0, wanted)
        except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
            raise InvalidInput("file", DAMAGED) from exc
        finally:
            parquet.close()
        return RawSample(
            header=list(schema.names), columns=[column.combine_chunks() for column in table.columns]
        )

    def batches(self, sample: RawSample) -> Iterator[tuple[list[pa.Array], float]]:
        parquet = self._open()
        try:
            total = max(parquet.metadata.num_rows, 1)
            done = 0
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                done += batch.num_rows
                yield batch.columns, done / total
        except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
            raise InvalidInput("file", DAMAGED) from exc
        finally:
            parquet.close()
