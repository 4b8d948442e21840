"""Preview and import: inferred and chosen types, invalid values, nothing cleaned silently, atomic writes,
streaming edge cases (rows that change shape or encoding after the preview), JSON and Parquet sources."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hydroml.services.errors import InvalidInput
from hydroml.services.ingest import (
    ImportSettings,
    csv_reader,
    detect_settings,
    import_to_parquet,
    importer,
    plan,
    preview,
)
from hydroml.services.ingest.convert import display_strings


def write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def imported(path, settings=None, **changes):
    settings = settings or detect_settings(path, path.name)
    for key, value in changes.items():
        setattr(settings, key, value)
    out = path.parent / "out" / "data.parquet"
    result = import_to_parquet(path, settings, out)
    return result, pq.read_table(out)


def column(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist()


@pytest.fixture
def small_blocks(monkeypatch):
    """Make 'beyond the preview sample' reachable with a small file: tiny blocks and samples."""
    monkeypatch.setattr(csv_reader, "SAMPLE_BLOCK", 512)
    monkeypatch.setattr(csv_reader, "IMPORT_BLOCK", 1024)
    monkeypatch.setattr(plan, "SAMPLE_ROWS", 20)
    monkeypatch.setattr(plan, "MIN_SAMPLE_ROWS", 20)


SAMPLE_CSV = (
    "date,station,code,flow,count,ok,quality,stamp\n"
    "2020-01-01,A,007,1.5,3,yes,good,2020-01-01T00:00:00Z\n"
    "2020-01-02,A,008,NA,4,no,NA,2020-01-01T01:00:00+01:00\n"
    "2020-01-02,B,009,,5,,,2020-01-01T02:00:00Z\n"
    "2020-01-05,B,010,1e3,-6,YES,suspect,\n"
)


def test_inferred_types_and_values(tmp_path):
    path = write(tmp_path, "flows.csv", SAMPLE_CSV)
    result, table = imported(path)
    assert {c["name"]: c["dtype"] for c in result.columns} == {
        "date": "datetime",
        "station": "string",
        "code": "string",  # leading zeros: an identifier, not a number
        "flow": "float",
        "count": "integer",
        "ok": "boolean",
        "quality": "string",
        "stamp": "datetime",
    }
    assert column(table, "code") == ["007", "008", "009", "010"]
    assert column(table, "flow") == [1.5, None, None, 1000.0]
    assert column(table, "count") == [3, 4, 5, -6]
    assert column(table, "ok") == [True, False, None, True]
    assert column(table, "quality") == ["good", "NA", None, "suspect"]  # text keeps 'NA' verbatim
    assert table.schema.field("stamp").type == pa.timestamp("us", "UTC")
    assert column(table, "stamp")[1] == dt.datetime(2020, 1, 1, 0, 0, tzinfo=dt.UTC)
    assert result.invalid_values == dict.fromkeys(table.column_names, 0)


def test_duplicates_and_gaps_are_kept(tmp_path):
    path = write(tmp_path, "flows.csv", SAMPLE_CSV)
    _, table = imported(path)
    dates = column(table, "date")
    assert dates.count(dt.datetime(2020, 1, 2)) == 2  # duplicate timestamp kept
    assert dt.datetime(2020, 1, 3) not in dates  # the gap stays a gap
    assert table.num_rows == 4


def test_preview_shows_exactly_what_is_imported(tmp_path):
    path = write(tmp_path, "flows.csv", SAMPLE_CSV)
    settings = detect_settings(path, path.name)
    shown = preview(path, settings, rows=3)
    result, table = imported(path, settings)
    assert len(shown.rows) == 3
    for index, preview_column in enumerate(shown.columns):
        values = display_strings(table.column(index).combine_chunks().slice(0, 3), preview_column.dtype)
        assert [row[index] for row in shown.rows] == values
    assert shown.columns[1].sample == ["A", "B"]
    assert shown.rows[0][0] == "2020-01-01" and shown.rows[1][7] == "2020-01-01 00:00:00+00:00"


def test_chosen_types_count_values_that_do_not_convert(tmp_path):
    path = write(tmp_path, "flows.csv", "flow,station,flag\n1,A,1\n2.0,B,0\nx,A,maybe\nNA,C,\n,A,true\n")
    settings = detect_settings(path, path.name)
    settings.column_types = {"flow": "integer", "station": "category", "flag": "boolean"}
    shown = preview(path, settings)
    assert [c.dtype for c in shown.columns] == ["integer", "category", "boolean"]
    assert (
        "Column 'flow': 1 of the first 5 values cannot be read as integer; they will be missing."
        in shown.warnings
    )
    result, table = imported(path, settings)
    assert column(table, "flow") == [1, 2, None, None, None]
    assert column(table, "flag") == [True, False, None, None, True]
    assert result.invalid_values == {"flow": 1, "station": 0, "flag": 1}  # 'x' and 'maybe'; NA is missing
    assert pa.types.is_dictionary(table.schema.field("station").type)
    assert pd.read_parquet(result.parquet_path)["station"].dtype == "category"


def test_text_override_keeps_every_character(tmp_path):
    path = write(tmp_path, "ids.csv", "id,flow\n001,1.50\n1e3,2\n")
    result, table = imported(path, column_types={"flow": "string", "id": "string"})
    assert column(table, "id") == ["001", "1e3"] and column(table, "flow") == ["1.50", "2"]


def test_unknown_override_column_is_refused(tmp_path):
    path = write(tmp_path, "flows.csv", "date,flow\n2020-01-01,1\n")
    settings = detect_settings(path, path.name)
    settings.column_types = {"Flow": "integer"}
    with pytest.raises(InvalidInput) as caught:
        preview(path, settings)
    assert caught.value.field == "column_types" and "'Flow'" in caught.value.message


@pytest.mark.parametrize(
    ("values", "dayfirst", "expected"),
    [
        (["31/12/2020", "1/2/2021"], True, [dt.datetime(2020, 12, 31), dt.datetime(2021, 2, 1)]),
        (["12/31/2020", "1/2/2021"], False, [dt.datetime(2020, 12, 31), dt.datetime(2021, 1, 2)]),
        (
            ["31.12.2020 10:15", "01.01.2021 00:00"],
            True,
            [dt.datetime(2020, 12, 31, 10, 15), dt.datetime(2021, 1, 1)],
        ),
        (["31/12/20", "01/01/21"], True, [dt.datetime(2020, 12, 31), dt.datetime(2021, 1, 1)]),
        (
            ["2020-12-31", "2021-01-01 06:30:00.5"],
            False,
            [dt.datetime(2020, 12, 31), dt.datetime(2021, 1, 1, 6, 30, 0, 500000)],
        ),
        (["31-Dec-2020", "01-Jan-2021"], False, [dt.datetime(2020, 12, 31), dt.datetime(2021, 1, 1)]),
    ],
)
def test_date_formats(tmp_path, values, dayfirst, expected):
    path = write(tmp_path, "d.csv", "date,flow\n" + "".join(f"{v},1\n" for v in values))
    result, table = imported(path, dayfirst=dayfirst)
    assert result.columns[0]["dtype"] == "datetime"
    assert column(table, "date") == expected


def test_number_spellings(tmp_path):
    path = write(tmp_path, "n.csv", "flow\n1.5\n+2.5\n 3 \n.5\n-1E2\ninf\nnan\n")
    result, table = imported(path)
    assert result.columns == [{"name": "flow", "dtype": "float"}]
    assert column(table, "flow") == [1.5, 2.5, 3.0, 0.5, -100.0, float("inf"), None]


def test_semicolon_file_with_thousands_and_comma_decimals(tmp_path):
    path = write(tmp_path, "eu.csv", "Datum;Menge\n31.12.2020;1.234,5\n01.01.2021;-0,25\n")
    result, table = imported(path)
    assert column(table, "Menge") == [1234.5, -0.25]
    assert column(table, "Datum") == [dt.datetime(2020, 12, 31), dt.datetime(2021, 1, 1)]


def test_user_chosen_header_row_and_skip_rows(tmp_path):
    path = write(tmp_path, "s.csv", "exported by logger 7\nunit row,m3/s\ndate,flow\n2020-01-01,1.5\n")
    settings = ImportSettings(format="csv", skip_rows=1, header_row=1)
    shown = preview(path, settings)
    assert [c.name for c in shown.columns] == ["date", "flow"] and shown.rows == [["2020-01-01", "1.5"]]
    no_header = preview(path, ImportSettings(format="csv", skip_rows=2, header_row=None))
    assert [c.name for c in no_header.columns] == ["column_1", "column_2"]
    assert no_header.rows[0] == ["date", "flow"]


def test_quoted_delimiters_and_newlines(tmp_path):
    path = write(tmp_path, "q.csv", 'station,note\nA,"ice, then\nthaw"\nB,"said ""ok"""\n')
    _, table = imported(path)
    assert column(table, "note") == ["ice, then\nthaw", 'said "ok"']


def test_many_batches_and_row_groups_give_the_same_values_as_pandas(tmp_path, small_blocks, monkeypatch):
    monkeypatch.setattr(importer, "ROW_GROUP_ROWS", 500)
    lines = ["date,flow,count,station"]
    lines += [f"2020-01-01 {i % 24:02d}:00,{i * 0.5},{i},S{i % 3}" for i in range(3000)]
    lines[2500] = "2020-01-01 00:00,oops,2499,S0"  # an invalid value far after the preview
    path = write(tmp_path, "big.csv", "\n".join(lines) + "\n")
    result, table = imported(path)
    expected = pd.read_csv(path)
    assert result.rows == 3000
    assert pq.ParquetFile(result.parquet_path).metadata.num_row_groups > 3
    assert column(table, "count") == expected["count"].tolist()
    assert column(table, "station") == expected["station"].tolist()
    flows = column(table, "flow")
    assert flows[2499] is None and flows[:10] == [i * 0.5 for i in range(10)]
    assert result.invalid_values["flow"] == 1


def test_short_and_long_rows_after_the_preview(tmp_path, small_blocks):
    rows = [f"2020-01-01,{i},S" for i in range(400)]
    rows[300] = "2020-01-01,300"  # too short, far after the sample: padded with a missing value
    rows[350] = "2020-01-01,350,S,"  # a trailing empty value is no data lost
    path = write(tmp_path, "r.csv", "date,flow,station\n" + "\n".join(rows) + "\n")
    result, table = imported(path)
    assert result.rows == 400
    assert column(table, "station")[300] is None and column(table, "flow")[300] == 300

    rows[350] = "2020-01-01,350,S,surprise"
    path = write(tmp_path, "r.csv", "date,flow,station\n" + "\n".join(rows) + "\n")
    out = tmp_path / "second" / "data.parquet"
    with pytest.raises(InvalidInput) as caught:
        import_to_parquet(path, detect_settings(path, "r.csv"), out)
    assert "Line 352 has 4 values" in caught.value.message
    assert list(out.parent.iterdir()) == []


def test_failed_import_keeps_the_previous_file(tmp_path, small_blocks):
    good = "date,station\n" + "".join(f"2020-01-01,Zürich {i}\n" for i in range(300))
    path = write(tmp_path, "t.csv", good.encode() + "2020-01-02,Z\xfcrich\n".encode("latin-1"))
    out = tmp_path / "out" / "data.parquet"
    out.parent.mkdir()
    out.write_bytes(b"the version saved yesterday")
    settings = ImportSettings(format="csv")  # utf-8, as the preview of the first rows suggested
    assert preview(path, settings).rows[0] == ["2020-01-01", "Zürich 0"]
    with pytest.raises(InvalidInput) as caught:
        import_to_parquet(path, settings, out)
    assert caught.value.field == "encoding" and "cp1252" in caught.value.message
    assert out.read_bytes() == b"the version saved yesterday"
    assert [p.name for p in out.parent.iterdir()] == ["data.parquet"]


def test_progress_checksum_and_size(tmp_path):
    path = write(tmp_path, "flows.csv", SAMPLE_CSV)
    calls = []
    settings = detect_settings(path, path.name)
    result = import_to_parquet(
        path, settings, tmp_path / "a" / "b.parquet", lambda f, s: calls.append((f, s))
    )
    fractions = [fraction for fraction, _ in calls]
    assert fractions == sorted(fractions) and calls[0][0] == 0.0 and calls[-1] == (1.0, "Done")
    assert 3 <= len(calls) <= 25
    data = result.parquet_path.read_bytes()
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.size_bytes == len(data)
    again = import_to_parquet(path, settings, tmp_path / "c.parquet")
    assert again.sha256 == result.sha256  # same file, same settings: same bytes


def test_json_records_and_lines(tmp_path):
    records = [
        {"date": "2020-01-01", "flow": 1.5, "ok": True, "tags": ["a"]},
        {"date": "2020-01-02", "flow": 2, "ok": False, "station": "<b>B</b>"},
    ]
    result, table = imported(write(tmp_path, "r.json", json.dumps(records)))
    assert table.column_names == ["date", "flow", "ok", "tags", "station"]
    assert column(table, "flow") == [1.5, 2.0] and column(table, "ok") == [True, False]
    assert column(table, "tags") == ['["a"]', None] and column(table, "station") == [None, "<b>B</b>"]
    lines = "\n".join(json.dumps(r) for r in records) + "\n\n"
    _, table = imported(write(tmp_path, "r.jsonl", lines))
    assert table.num_rows == 2 and column(table, "date")[1] == dt.datetime(2020, 1, 2)


def test_json_errors_name_the_line(tmp_path, small_blocks):
    path = write(tmp_path, "bad.jsonl", '{"a": 1}\n{"a": 2,}\n')
    with pytest.raises(InvalidInput) as caught:
        preview(path, ImportSettings(format="json", json_lines=True))
    assert "Line 2 is not valid JSON" in caught.value.message
    lines = [json.dumps({"a": i}) for i in range(100)] + [json.dumps({"a": 1, "late": "x"})]
    path = write(tmp_path, "late.jsonl", "\n".join(lines))
    with pytest.raises(InvalidInput) as caught:
        import_to_parquet(path, ImportSettings(format="json", json_lines=True), tmp_path / "o.parquet")
    assert "'late'" in caught.value.message and not (tmp_path / "o.parquet").exists()
    path = write(tmp_path, "scalar.json", "[1, 2]")
    with pytest.raises(InvalidInput) as caught:
        preview(path, ImportSettings(format="json"))
    assert "not an object" in caught.value.message


def test_parquet_source_keeps_types_and_takes_overrides(tmp_path):
    path = tmp_path / "in.parquet"
    source = pa.table(
        {
            "when": pa.array([dt.date(2020, 1, 1), None], pa.date32()),
            "flow": pa.array([1.5, 2.0], pa.float32()),
            "n": pa.array([1, 2], pa.int16()),
            "code": ["001", "x"],
        }
    )
    pq.write_table(source, path)
    result, table = imported(path)
    assert [c["dtype"] for c in result.columns] == ["datetime", "float", "integer", "string"]
    assert column(table, "when") == [dt.datetime(2020, 1, 1), None] and column(table, "n") == [1, 2]
    result, table = imported(path, column_types={"flow": "integer", "code": "integer"})
    assert column(table, "flow") == [None, 2] and column(table, "code") == [1, None]
    assert result.invalid_values == {"when": 0, "flow": 1, "n": 0, "code": 1}


def test_damaged_parquet_is_named(tmp_path):
    path = write(tmp_path, "x.parquet", b"PAR1" + b"\x00" * 100)
    with pytest.raises(InvalidInput) as caught:
        preview(path, ImportSettings(format="parquet"))
    assert "Parquet file is damaged" in caught.value.message


def test_wrong_format_choice_is_named(tmp_path):
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"a": [1]}), path)
    with pytest.raises(InvalidInput) as caught:
        preview(path, ImportSettings(format="csv"))
    assert caught.value.field == "format" and "Parquet" in caught.value.message


def test_a_row_longer_than_a_read_block(tmp_path, small_blocks):
    rows = [f"{i},short" for i in range(300)]
    rows[250] = '250,"' + "long text, " * 500 + '"'  # 5.5 KB in one cell, blocks are 1 KB here
    path = write(tmp_path, "long.csv", "id,note\n" + "\n".join(rows) + "\n")
    result, table = imported(path)
    assert result.rows == 300
    assert column(table, "note")[250] == "long text, " * 500
    assert column(table, "id") == list(range(300))


def test_an_empty_parquet_table_keeps_its_schema(tmp_path):
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"flow": pa.array([], pa.float64())}), path)
    result, table = imported(path)
    assert result.rows == 0 and result.columns == [{"name": "flow", "dtype": "float"}]


def test_parquet_values_without_a_hydroml_type_become_text(tmp_path):
    path = tmp_path / "nested.parquet"
    source = pa.table(
        {
            "values": [[1, 2], None],
            "meta": [{"a": 1}, {"a": 2}],
            "big": pa.array([2**63 + 5, 1], pa.uint64()),
            "zurich": pa.array(
                [dt.datetime(2020, 1, 1, tzinfo=dt.UTC), None], pa.timestamp("ms", "Europe/Zurich")
            ),
        }
    )
    pq.write_table(source, path)
    result, table = imported(path)
    assert [c["dtype"] for c in result.columns] == ["string", "string", "integer", "datetime"]
    assert column(table, "values") == ["[1, 2]", None] and column(table, "meta") == ['{"a": 1}', '{"a": 2}']
    assert column(table, "big") == [None, 1] and result.invalid_values["big"] == 1  # too big for int64
    assert column(table, "zurich")[0] == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
