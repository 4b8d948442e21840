"""detect_settings: format by extension and content, encoding, delimiter, preamble, header, decimals, dates."""

from __future__ import annotations

import gzip
import json
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hydroml.services.errors import InvalidInput
from hydroml.services.ingest import ImportSettings, detect_settings


def write(tmp_path, name: str, data: str | bytes, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    return path


def detect(tmp_path, name: str, data: str | bytes, encoding: str = "utf-8") -> ImportSettings:
    return detect_settings(write(tmp_path, name, data, encoding), name)


def refused(tmp_path, name: str, data: str | bytes, *words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        detect(tmp_path, name, data)
    assert caught.value.field == "file"
    for word in words:
        assert word in caught.value.message, caught.value.message


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(tmp_path, delimiter):
    rows = [["date", "flow", "station"], ["2020-01-01", "1.5", "A; B"], ["2020-01-02", "2.5", "C, D"]]
    text = "\n".join(delimiter.join(f'"{v}"' if ("," in v or ";" in v) else v for v in row) for row in rows)
    settings = detect(tmp_path, "flows.txt", text + "\n")
    assert (settings.format, settings.delimiter, settings.header_row) == ("csv", delimiter, 0)


def test_tsv_extension_prefers_tabs(tmp_path):
    assert detect(tmp_path, "a.tsv", "x\n1\n").delimiter == "\t"


def test_single_column_file(tmp_path):
    settings = detect(tmp_path, "flow.csv", "flow\n1.5\n2.5\n")
    assert (settings.delimiter, settings.header_row, settings.skip_rows) == (",", 0, 0)


def test_station_preamble_is_skipped(tmp_path):
    text = "# Station: Rhine at Basel\nUnits: m3/s\n\ndate,flow,level\n2020-01-01,1.5,3\n2020-01-02,2.5,4\n"
    settings = detect(tmp_path, "basel.csv", text)
    assert (settings.skip_rows, settings.header_row) == (3, 0)


def test_file_without_header(tmp_path):
    settings = detect(tmp_path, "raw.csv", "2020-01-01,1.5,3\n2020-01-02,2.5,4\n2020-01-03,3.5,5\n")
    assert settings.header_row is None


def test_numeric_looking_header_over_text_rows_is_still_a_header(tmp_path):
    assert detect(tmp_path, "years.csv", "station,2019,2020\nA,1.5,2\nB,2.5,3\n").header_row == 0


@pytest.mark.parametrize(
    ("values", "dayfirst"),
    [
        (["31/12/2020", "01/01/2021"], True),
        (["12/31/2020", "01/01/2021"], False),
        (["01.02.2020", "03.04.2020"], True),  # dotted dates are European
        (["01/02/2020", "03/04/2020"], False),  # ambiguous: month first by default
    ],
)
def test_day_first_dates(tmp_path, values, dayfirst):
    text = "date,flow\n" + "".join(f"{value},1\n" for value in values)
    assert detect(tmp_path, "d.csv", text).dayfirst is dayfirst


def test_comma_decimals_need_another_delimiter(tmp_path):
    settings = detect(tmp_path, "eu.csv", "datum;abfluss\n2020-01-01;1,5\n2020-01-02;2,75\n")
    assert (settings.delimiter, settings.decimal, settings.thousands) == (";", ",", None)
    settings = detect(tmp_path, "eu.csv", "datum;abfluss\n2020-01-01;1.234,5\n2020-01-02;2,75\n")
    assert (settings.decimal, settings.thousands) == (",", ".")


def test_quoted_thousands_separators(tmp_path):
    settings = detect(tmp_path, "us.csv", 'site,area\nA,"1,234.5"\nB,"12,345,678"\n')
    assert (settings.delimiter, settings.decimal, settings.thousands) == (",", ".", ",")


def test_encodings(tmp_path):
    text = "station,city\nCH01,Zürich\nCH02,Genève\n"
    assert detect(tmp_path, "a.csv", text, "utf-8").encoding == "utf-8"
    assert detect(tmp_path, "b.csv", text, "cp1252").encoding == "cp1252"
    assert detect(tmp_path, "c.csv", text, "utf-16-le").encoding == "utf-16-le"  # no byte-order mark
    assert detect(tmp_path, "d.csv", text, "utf-16").encoding == "utf-16"
    assert detect(tmp_path, "e.csv", "\ufeff" + text, "utf-8").encoding == "utf-8"


def test_json_shapes(tmp_path):
    records = [{"date": "2020-01-01", "flow": 1.5}, {"date": "2020-01-02", "flow": 2.5}]
    assert detect(tmp_path, "a.json", json.dumps(records, indent=2)) == ImportSettings(format="json")
    lines = "\n".join(json.dumps(r) for r in records)
    assert detect(tmp_path, "b.jsonl", lines).json_lines is True
    assert detect(tmp_path, "c.txt", lines).format == "json"  # content decides for .txt
    wrapped = detect(tmp_path, "d.json", json.dumps({"data": records}))
    assert (wrapped.format, wrapped.json_lines) == ("json", False)


def test_binary_formats_by_content(tmp_path):
    path = tmp_path / "flows.parquet"
    pq.write_table(pa.table({"flow": [1.5]}), path)
    assert detect_settings(path, "flows.parquet").format == "parquet"
    assert detect_settings(path, "upload").format == "parquet"  # no extension: content decides
    with pytest.raises(InvalidInput) as caught:
        detect_settings(path, "flows.csv")
    assert "named .csv" in caught.value.message and "Parquet" in caught.value.message


def test_json_named_file_with_csv_inside(tmp_path):
    refused(tmp_path, "flows.json", "date,flow\n2020-01-01,1\n", "named .json", "not JSON")


def test_parquet_named_file_with_text_inside(tmp_path):
    refused(tmp_path, "flows.parquet", "date,flow\n2020-01-01,1\n", "named .parquet", "plain text")


def test_archives_and_other_binaries_are_named(tmp_path):
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("flows.csv", "a,b\n1,2\n")
    with pytest.raises(InvalidInput) as caught:
        detect_settings(archive, "data.csv")
    assert "ZIP archive" in caught.value.message
    refused(tmp_path, "data.csv", gzip.compress(b"a,b\n1,2\n"), "gzip")
    refused(tmp_path, "report.csv", b"%PDF-1.7\n...", "PDF")


def test_blank_and_missing_files(tmp_path):
    refused(tmp_path, "blank.csv", "\n\n   \n", "only blank lines")
    with pytest.raises(InvalidInput) as caught:
        detect_settings(tmp_path / "gone.csv", "gone.csv")
    assert "upload it again" in caught.value.message


def test_control_characters_in_text_are_binary(tmp_path):
    refused(tmp_path, "weird.csv", bytes(range(1, 32)) * 50, "binary data")
