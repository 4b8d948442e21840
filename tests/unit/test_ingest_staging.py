"""Upload staging: safe names, chunked copy with a hard limit, empty uploads; settings validation and JSON."""

from __future__ import annotations

import io

import pytest

from hydroml.services.errors import InvalidInput
from hydroml.services.ingest import FORMATS, TYPES, ImportSettings, safe_filename, stage_upload
from hydroml.services.ingest.staging import format_bytes


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("flows 2020.csv", "flows 2020.csv"),
        ("Zürich Abfluss.xlsx", "Zürich Abfluss.xlsx"),
        ("/abs/path/data.parquet", "data.parquet"),
        ("C:\\Users\\me\\data.csv", "data.csv"),
        ("a\x00b\x1f\u202ec.csv", "abc.csv"),  # control and bidi-override characters removed
        (".hidden.csv", "hidden.csv"),
        ("..", "upload"),
        ("", "upload"),
        (".csv", "upload.csv"),
        ("...json", "upload.json"),
        ("CON.csv", "_CON.csv"),
        ("x／..／..／y.csv", "y.csv"),  # fullwidth slashes
        ("rates 50%.csv", "rates 50.csv"),
        ("<script>.csv", "script.csv"),
        ("a<b>c.csv", "a_b_c.csv"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_limits_length_and_keeps_the_extension():
    name = safe_filename("a" * 500 + ".csv")
    assert name.endswith(".csv") and len(name.encode()) <= 180


def test_stage_upload_copies_in_chunks_to_a_fresh_folder(tmp_path):
    data = b"date,flow\n" + b"2020-01-01,1.5\n" * 1000
    first = stage_upload(io.BytesIO(data), "../flows.csv", tmp_path, max_bytes=len(data), chunk_size=100)
    second = stage_upload(io.BytesIO(data), "flows.csv", tmp_path, max_bytes=len(data))
    assert first.path.read_bytes() == data and first.size_bytes == len(data)
    assert first.path.name == "flows.csv" and first.original_name == "../flows.csv"
    assert first.path.parent != second.path.parent  # one folder per upload: same names never collide
    assert first.path.parent.parent == tmp_path


def test_empty_upload_is_refused_and_cleaned_up(tmp_path):
    with pytest.raises(InvalidInput) as caught:
        stage_upload(io.BytesIO(b""), "empty.csv", tmp_path, max_bytes=100)
    assert (caught.value.field, caught.value.message) == ("file", "The file is empty.")
    assert list(tmp_path.iterdir()) == []


def test_one_byte_over_the_limit_is_refused(tmp_path):
    with pytest.raises(InvalidInput) as caught:
        stage_upload(io.BytesIO(b"x" * 1025), "big.csv", tmp_path, max_bytes=1024)
    assert caught.value.message.startswith("The file is larger than the 1 KB limit")
    assert list(tmp_path.iterdir()) == []
    assert stage_upload(io.BytesIO(b"x" * 1024), "ok.csv", tmp_path, max_bytes=1024).size_bytes == 1024


def test_format_bytes():
    assert [format_bytes(n) for n in (10, 1536, 2 * 1024**3, 5 * 1024**2)] == [
        "10 bytes",
        "1.5 KB",
        "2 GB",
        "5 MB",
    ]


def test_settings_json_round_trip_and_unknown_keys():
    settings = ImportSettings(
        format="csv", delimiter=";", decimal=",", thousands=".", header_row=None, skip_rows=3, dayfirst=True
    )
    settings.column_types = {"flow": "float", "Zürich": "category"}
    again = ImportSettings.from_json(settings.to_json())
    assert again == settings
    assert ImportSettings.from_json('{"format": "json", "future_option": 1}') == ImportSettings(format="json")


@pytest.mark.parametrize("text", ["not json", "[]", '{"delimiter": ","}'])
def test_settings_from_bad_json(text):
    with pytest.raises(InvalidInput) as caught:
        ImportSettings.from_json(text)
    assert caught.value.field == "settings"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"format": "xml"}, "format"),
        ({"encoding": "klingon"}, "encoding"),
        ({"delimiter": ";;"}, "delimiter"),
        ({"delimiter": '"'}, "delimiter"),
        ({"decimal": ";"}, "decimal"),
        ({"delimiter": ",", "decimal": ","}, "decimal"),
        ({"decimal": ",", "thousands": ","}, "thousands"),
        ({"thousands": "x"}, "thousands"),
        ({"header_row": -1}, "header_row"),
        ({"skip_rows": -2}, "skip_rows"),
        ({"column_types": {"flow": "double"}}, "column_types"),
    ],
)
def test_settings_validation_names_the_setting(changes, field):
    settings = ImportSettings(format="csv")
    for key, value in changes.items():
        setattr(settings, key, value)
    with pytest.raises(InvalidInput) as caught:
        settings.validate()
    assert caught.value.field == field


def test_public_constants():
    assert TYPES == ("integer", "float", "string", "boolean", "datetime", "category")
    assert FORMATS == ("csv", "excel", "parquet", "json")
