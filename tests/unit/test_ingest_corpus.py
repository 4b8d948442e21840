"""The bad-input corpus (tests/data/bad/, see tests/data/make_bad_corpus.py) through detect_settings, preview and
import_to_parquet: every file either gives a clear InvalidInput naming the problem (and leaves no output file)
or is imported with the right values."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hydroml.services.errors import InvalidInput
from hydroml.services.ingest import (
    ImportSettings,
    detect_settings,
    import_to_parquet,
    preview,
    safe_filename,
    stage_upload,
)

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


def run(path: Path, out_dir: Path, name: str | None = None, **changes):
    """detect -> preview -> import; returns (settings, preview, result, rows as dicts)."""
    settings = detect_settings(path, name or path.name)
    for key, value in changes.items():
        setattr(settings, key, value)
    shown = preview(path, settings)
    result = import_to_parquet(path, settings, out_dir / "out.parquet")
    assert [c.name for c in shown.columns] == [c["name"] for c in result.columns]
    assert [c.dtype for c in shown.columns] == [c["dtype"] for c in result.columns]
    return settings, shown, result, pq.read_table(result.parquet_path).to_pylist()


def assert_nothing_written(out_dir: Path) -> None:
    assert list(out_dir.iterdir()) == [], "a failed import must not leave any file behind"


def refused(call, field: str, *words: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call()
    assert caught.value.field == field
    for word in words:
        assert word.lower() in caught.value.message.lower(), caught.value.message
    assert "Traceback" not in caught.value.message
    return caught.value


def test_the_committed_corpus_is_small_and_complete():
    expected = {
        "empty.csv",
        "header_only.csv",
        "binary_garbage.csv",
        "wrong_extension.xlsx",
        "latin1.csv",
        "utf8_bom.csv",
        "utf16.csv",
        "semicolon_comma_decimal.csv",
        "ragged_rows.csv",
        "duplicate_and_blank_columns.csv",
        "excel_formulas_merged.xlsx",
        "html_and_injection.csv",
    }
    files = {path.name: path.stat().st_size for path in BAD.iterdir()}
    assert expected <= set(files)
    assert all(size < 50_000 for size in files.values())


def test_empty_file_is_refused_everywhere(tmp_path):
    path = BAD / "empty.csv"
    refused(lambda: detect_settings(path, "empty.csv"), "file", "The file is empty.")
    refused(lambda: preview(path, ImportSettings(format="csv")), "file", "empty")
    refused(
        lambda: import_to_parquet(path, ImportSettings(format="csv"), tmp_path / "out.parquet"),
        "file",
        "empty",
    )
    assert_nothing_written(tmp_path)


def test_header_only_previews_its_columns_but_is_not_imported(tmp_path):
    path = BAD / "header_only.csv"
    settings = detect_settings(path, path.name)
    shown = preview(path, settings)
    assert [c.name for c in shown.columns] == ["date", "flow", "station"]
    assert shown.rows == []
    assert any("no rows of data" in warning for warning in shown.warnings)
    refused(lambda: import_to_parquet(path, settings, tmp_path / "out.parquet"), "file", "no rows of data")
    assert_nothing_written(tmp_path)


def test_binary_garbage_is_named_as_binary(tmp_path):
    path = BAD / "binary_garbage.csv"
    refused(lambda: detect_settings(path, path.name), "file", "binary data", "CSV, Excel, Parquet or JSON")
    # Forcing CSV settings still gives a message, not a crash, and writes nothing.
    with pytest.raises(InvalidInput):
        import_to_parquet(path, ImportSettings(format="csv"), tmp_path / "out.parquet")
    assert_nothing_written(tmp_path)


def test_wrong_extension_names_the_mismatch(tmp_path):
    path = BAD / "wrong_extension.xlsx"
    refused(lambda: detect_settings(path, path.name), "file", ".xlsx", "not an Excel workbook", "CSV")
    excel = ImportSettings(format="excel")
    refused(
        lambda: import_to_parquet(path, excel, tmp_path / "out.parquet"), "format", "not an Excel workbook"
    )
    assert_nothing_written(tmp_path)
    # Renamed to .csv it imports.
    _, _, result, rows = run(path, tmp_path, name="flows.csv")
    assert result.rows == 2 and rows[0]["flow"] == 1.5


def test_latin1_text_is_decoded(tmp_path):
    settings, shown, result, rows = run(BAD / "latin1.csv", tmp_path)
    assert settings.encoding in ("cp1252", "latin-1")
    assert [row["city"] for row in rows] == ["Zürich", "Genève", "Köln"]
    assert [row[1] for row in shown.rows] == ["Zürich", "Genève", "Köln"]
    assert [row["flow"] for row in rows] == [1.5, 2.25, 3.0]


def test_utf8_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    settings, shown, _, rows = run(BAD / "utf8_bom.csv", tmp_path)
    assert settings.encoding == "utf-8"
    assert shown.columns[0].name == "date"
    assert rows[0] == {"date": dt.datetime(2020, 1, 1), "flow": 1.5, "river": "Aare"}


def test_utf16_tab_separated_text(tmp_path):
    settings, _, result, rows = run(BAD / "utf16.csv", tmp_path)
    assert settings.encoding.startswith("utf-16") and settings.delimiter == "\t"
    assert [row["city"] for row in rows] == ["Zürich", "São Paulo"]
    assert result.columns == [
        {"name": "date", "dtype": "datetime"},
        {"name": "flow", "dtype": "float"},
        {"name": "city", "dtype": "string"},
    ]


def test_semicolons_comma_decimals_and_day_first_dates(tmp_path):
    settings, shown, result, rows = run(BAD / "semicolon_comma_decimal.csv", tmp_path)
    assert (settings.delimiter, settings.decimal, settings.thousands, settings.dayfirst) == (
        ";",
        ",",
        ".",
        True,
    )
    assert [row["Abfluss"] for row in rows] == [1.5, 2.25, None]  # 1,5 -> 1.5; the gap stays a gap
    assert [row["Datum"] for row in rows] == [
        dt.datetime(2020, 12, 31),
        dt.datetime(2021, 1, 1),
        dt.datetime(2021, 1, 2),
    ]
    assert [row["Menge"] for row in rows] == [1234.5, 2000.0, 17.0]
    assert shown.rows[0][:2] == ["2020-12-31", "1.5"]
    assert result.invalid_values == {"Datum": 0, "Abfluss": 0, "Pegel": 0, "Menge": 0}


def test_ragged_rows_are_padded_and_extra_values_kept(tmp_path):
    _, shown, result, rows = run(BAD / "ragged_rows.csv", tmp_path)
    assert [c.name for c in shown.columns] == ["date", "flow", "station", "column_4"]
    text = " ".join(shown.warnings)
    assert "fewer values" in text and "line 3" in text
    assert "more values" in text and "line 4" in text
    assert result.rows == 4
    assert [row["station"] for row in rows] == ["A", None, "B", "C"]
    assert [row["column_4"] for row in rows] == [None, None, "extra", None]


def test_duplicate_and_blank_column_names_are_renamed_with_warnings(tmp_path):
    _, shown, result, rows = run(BAD / "duplicate_and_blank_columns.csv", tmp_path)
    names = ["date", "flow", "column_3", "flow_2", "Flow_3", "column_6"]
    assert [c["name"] for c in result.columns] == names
    assert "Column 3 had no name: called column_3" in shown.warnings
    assert "Column 4 repeats the name 'flow': called flow_2" in shown.warnings
    assert rows[1] == dict(zip(names, [dt.datetime(2020, 1, 2), 6, 7, 8, 9, 10], strict=True))


def test_excel_formulas_give_cached_results_and_merged_cells_the_first_value(tmp_path):
    settings, shown, result, rows = run(BAD / "excel_formulas_merged.xlsx", tmp_path)
    assert (settings.format, settings.sheet, settings.skip_rows, settings.header_row) == (
        "excel",
        "Flows",
        1,
        0,
    )
    assert shown.sheets == ["Flows", "Notes"]
    assert [c.name for c in shown.columns] == ["date", "station", "flow", "flow_x2", "note"]
    assert [row["flow_x2"] for row in rows] == [3, 5, 8, None]  # =C6/0 saved as #DIV/0!
    assert result.invalid_values["flow_x2"] == 1
    assert [row["station"] for row in rows] == ["Basel", None, "Rhein", "Rhein"]  # merged B3:B4
    assert [row["date"] for row in rows][0] == dt.datetime(2020, 12, 31)
    assert [row["note"] for row in rows] == ["<b>ok</b>", None, "=1+1 is text", None]


def test_excel_other_sheet_and_unknown_sheet(tmp_path):
    path = BAD / "excel_formulas_merged.xlsx"
    notes = ImportSettings(format="excel", sheet="Notes")
    assert preview(path, notes).rows == [["units", "m3/s"]]
    refused(
        lambda: preview(path, ImportSettings(format="excel", sheet="Nope")), "sheet", "Nope", "Flows, Notes"
    )


def test_html_sql_and_formula_injection_are_stored_as_plain_text(tmp_path):
    _, shown, _, rows = run(BAD / "html_and_injection.csv", tmp_path)
    assert [c.name for c in shown.columns] == ["id", "<b>name</b>", "value"]
    assert rows == [
        {"id": 1, "<b>name</b>": "<script>alert(1)</script>", "value": "</script>"},
        {"id": 2, "<b>name</b>": "'; DROP TABLE users; --", "value": "=cmd|' /C calc'!A0"},
        {"id": 3, "<b>name</b>": "=cmd|' /C calc'!A0", "value": "@SUM(1+1)"},
    ]
    assert shown.rows[0][1] == "<script>alert(1)</script>"  # escaping is the UI's job


def test_ten_thousand_columns(tmp_path):
    path = tmp_path / "ten_thousand_columns.csv"
    width = 10_000
    lines = [",".join(f"c{i}" for i in range(width))]
    lines += [",".join(str(row * 10 + i % 7) for i in range(width)) for row in range(3)]
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    _, shown, result, _ = run(path, out)
    assert len(shown.columns) == width and len(shown.rows) == 3
    assert result.rows == 3 and len(result.columns) == width
    assert {c["dtype"] for c in result.columns} == {"integer"}
    table = pq.read_table(result.parquet_path)
    assert table.column("c9999").to_pylist() == [9999 % 7, 10 + 9999 % 7, 20 + 9999 % 7]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("..%2F..%2Fetc%2Fpasswd.csv", "passwd.csv"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("%252e%252e%252fsecret.csv", "secret.csv"),
    ],
)
def test_path_traversal_names_stay_inside_the_staging_folder(tmp_path, name, expected):
    assert safe_filename(name) == expected
    staging = tmp_path / "staging"
    staged = stage_upload(io.BytesIO(b"a,b\n1,2\n"), name, staging, max_bytes=1000)
    assert staged.path.name == expected
    assert staged.path.resolve().parent.parent == staging.resolve()
    assert staged.original_name == name


def test_too_large_upload_stops_at_the_limit_and_leaves_nothing(tmp_path):
    class Endless(io.RawIOBase):
        """A client that would send forever: the copy must stop once the limit is crossed."""

        reads = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            Endless.reads += 1
            return b"x" * size

    staging = tmp_path / "staging"
    refused(
        lambda: stage_upload(Endless(), "huge.csv", staging, max_bytes=10_000, chunk_size=1024),
        "file",
        "larger than the 9.8 KB limit",
    )
    assert Endless.reads <= 11
    assert list(staging.iterdir()) == []
