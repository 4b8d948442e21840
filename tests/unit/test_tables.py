"""Server-side pages (paging, sorting, display strings) and streamed exports of Parquet data sources."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from hydroml.services import tables
from hydroml.services.tables import EXPORT_FORMATS, export_chunks, read_page

WEIRD = 'flow "m3/s" <b>max</b>'


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.arange(10, dtype="int64"),
            "station": ["b", "a", "b", None, "a", "c", "b", "a", "c", "b"],
            WEIRD: [0.1, 1.5, np.nan, 3.0, 1.5, 12345678901.0, -2.25, 1.5, np.nan, 7.0],
            "time": pd.date_range("2024-01-01 06:00", periods=10, freq="h"),
        }
    )


@pytest.fixture
def path(tmp_path: Path, frame: pd.DataFrame) -> Path:
    target = tmp_path / "data.parquet"
    frame.to_parquet(target, index=False, row_group_size=4)  # several row groups
    return target


def ids(page: tables.Page) -> list[int]:
    return [int(row[0]) for row in page.rows]


def test_pages_follow_file_order_and_report_the_true_total(path):
    page = read_page(path, offset=3, limit=4)

    assert page.total_rows == 10
    assert page.offset == 3
    assert ids(page) == [3, 4, 5, 6]
    assert page.columns == [
        {"name": "id", "dtype": "integer"},
        {"name": "station", "dtype": "string"},
        {"name": WEIRD, "dtype": "float"},
        {"name": "time", "dtype": "datetime"},
    ]


def test_offset_past_the_end_gives_no_rows_and_the_true_total(path):
    page = read_page(path, offset=50, limit=10)

    assert page.rows == []
    assert page.total_rows == 10


def test_limit_is_capped_at_500(tmp_path):
    target = tmp_path / "long.parquet"
    pd.DataFrame({"x": np.arange(1_200)}).to_parquet(target, index=False)

    page = read_page(target, limit=10_000)

    assert len(page.rows) == 500
    assert page.total_rows == 1_200


def test_sort_descending_puts_missing_values_last(path):
    page = read_page(path, sort=[(WEIRD, False)], limit=10)

    values = [row[2] for row in page.rows]
    assert values == ["12345678901.0", "7.0", "3.0", "1.5", "1.5", "1.5", "0.1", "-2.25", "", ""]
    assert ids(page)[3:6] == [1, 4, 7]  # ties keep the file order


def test_sort_by_several_columns(path):
    page = read_page(path, sort=[("station", True), ("id", False)], limit=10)

    assert [row[1] for row in page.rows] == ["a", "a", "a", "b", "b", "b", "b", "c", "c", ""]
    assert ids(page) == [7, 4, 1, 9, 6, 2, 0, 8, 5, 3]


def test_pages_of_a_sorted_view_cover_every_row_once(path):
    seen = []
    for offset in range(0, 10, 3):
        seen += ids(read_page(path, offset=offset, limit=3, sort=[("station", True)]))

    assert sorted(seen) == list(range(10))


def test_unknown_sort_column_is_named_in_the_error(path):
    with pytest.raises(ValueError, match="no such column"):
        read_page(path, sort=[("no such column", True)])


def test_weird_column_names_can_be_sorted_and_read(tmp_path):
    names = ['a "quoted" name', "with space", "<script>alert('x')</script>", "file_row_number"]
    target = tmp_path / "weird.parquet"
    pd.DataFrame(
        {names[0]: [2, 1, 3], names[1]: [1, 1, 1], names[2]: ["x", "y", "z"], names[3]: [0, 1, 2]}
    ).to_parquet(target, index=False)

    for name in names:
        page = read_page(target, sort=[(name, False)])
        assert [c["name"] for c in page.columns] == names
        assert len(page.rows) == 3
    assert [row[0] for row in read_page(target, sort=[(names[0], True)]).rows] == ["1", "2", "3"]
    assert [row[2] for row in read_page(target, sort=[(names[2], False)]).rows] == ["z", "y", "x"]


def test_cells_are_display_strings(tmp_path):
    target = tmp_path / "display.parquet"
    pd.DataFrame(
        {
            "f": [0.1, 1.5, np.nan],
            "f32": pd.Series([0.1, 2.0, None], dtype="float32"),
            "big": [12345678901234, 7, 0],
            "b": pd.array([True, None, False], dtype="boolean"),
            "day": pd.to_datetime(["2024-01-31", None, "2024-02-01"]),
            "stamp": pd.to_datetime(["2024-01-31 12:30", "2024-02-01 00:00", None]),
            "utc": pd.to_datetime(["2024-01-31T00:00:00+01:00", None, "2024-02-01T00:00:00Z"], utc=True),
            "cat": pd.Categorical(["x", None, "y"]),
        }
    ).to_parquet(target, index=False)

    assert read_page(target).rows == [
        [
            "0.1",
            "0.1",
            "12345678901234",
            "True",
            "2024-01-31",
            "2024-01-31T12:30:00",
            "2024-01-30T23:00:00+00:00",
            "x",
        ],
        ["1.5", "2.0", "7", "", "", "2024-02-01T00:00:00", "", ""],
        ["", "", "0", "False", "2024-02-01", "", "2024-02-01T00:00:00+00:00", "y"],
    ]


def test_csv_export_reads_back_equal(path, frame):
    chunks = list(export_chunks(path, "csv", chunk_rows=3))

    assert len(chunks) > 2  # streamed, not one blob
    text = b"".join(chunks).decode("utf-8")
    assert text.count("id,") + text.count('"id",') == 1  # header once
    back = pd.read_csv(io.StringIO(text), parse_dates=["time"])
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert "2024-01-01T06:00:00" in text


def test_parquet_export_is_the_file_itself(path):
    assert b"".join(export_chunks(path, "parquet")) == path.read_bytes()


def test_json_export_is_an_array_of_records(path, frame):
    records = json.loads(b"".join(export_chunks(path, "json", chunk_rows=4)))

    assert len(records) == 10
    assert records[0] == {"id": 0, "station": "b", WEIRD: 0.1, "time": "2024-01-01T06:00:00"}
    assert records[2][WEIRD] is None  # NaN -> null
    assert records[3]["station"] is None


def test_json_export_of_an_empty_table(tmp_path):
    target = tmp_path / "empty.parquet"
    pd.DataFrame({"x": pd.Series([], dtype="float64")}).to_parquet(target, index=False)

    assert json.loads(b"".join(export_chunks(target, "json"))) == []


def test_excel_export_reads_back_with_openpyxl(path, frame):
    data = b"".join(export_chunks(path, "excel", chunk_rows=4))

    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == list(frame.columns)
    assert len(rows) == 11
    assert rows[1] == [0, "b", 0.1, pd.Timestamp("2024-01-01 06:00").to_pydatetime()]
    assert rows[3][2] is None  # NaN -> empty cell
    assert rows[4][1] is None


def test_excel_export_refuses_tables_longer_than_a_sheet(path, monkeypatch):
    monkeypatch.setattr(tables, "EXCEL_MAX_ROWS", 10)  # header + 9 rows

    with pytest.raises(ValueError, match="CSV or Parquet"):
        export_chunks(path, "excel")


def test_unknown_export_format_is_refused(path):
    assert set(EXPORT_FORMATS) == {"csv", "parquet", "excel", "json"}
    with pytest.raises(ValueError, match="xml"):
        export_chunks(path, "xml")


def test_csv_export_keeps_aware_timestamps_as_wall_time_with_offset(tmp_path):
    target = tmp_path / "aware.parquet"
    stamps = pd.Series(
        pd.to_datetime(["2024-01-31 12:00", "2024-07-01 08:30", None]).tz_localize("Europe/Berlin")
    )
    pd.DataFrame({"t": stamps}).to_parquet(target, index=False)

    text = b"".join(export_chunks(target, "csv")).decode("utf-8")

    assert text.splitlines() == ['"t"', '"2024-01-31T12:00:00+01:00"', '"2024-07-01T08:30:00+02:00"', '""']
    back = pd.to_datetime(pd.read_csv(io.StringIO(text))["t"], utc=True)
    pd.testing.assert_series_equal(back, stamps.dt.tz_convert("UTC"), check_names=False, check_dtype=False)


def test_excel_export_writes_formula_like_text_as_text(tmp_path):
    target = tmp_path / "formula.parquet"
    pd.DataFrame({"note": ["=1+1", "plain"]}).to_parquet(target, index=False)

    sheet = load_workbook(io.BytesIO(b"".join(export_chunks(target, "excel")))).active

    assert sheet["A2"].value == "=1+1"
    assert sheet["A2"].data_type == "s"
