"""Data sources through the service: upload -> preview -> import -> read, with the project roles enforced."""

from __future__ import annotations

import io
import json
import uuid

import pandas as pd
import pytest

from hydroml.services import auth, datasources, ingest, projects, tables
from hydroml.services.errors import Forbidden, InvalidInput, NotFound
from hydroml.settings import get_settings

CSV = "station;date;flow\nA;31/12/2020;1,5\nA;01/01/2021;2,25\nB;02/01/2021;\n".encode("latin-1")


pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


@pytest.fixture
def people(app_db):
    names = ("olga", "eddie", "vera", "otto")
    users = {name: auth.register(name, "gauge-reading-7") for name in names}
    project = projects.create_project(users["olga"], "Gauges")
    projects.add_member(users["olga"], project.id, "eddie", "editor")
    projects.add_member(users["olga"], project.id, "vera", "viewer")
    return users, project


def _upload(user, project_id, data: bytes = CSV, name: str = "flows.csv") -> datasources.StagedUpload:
    return datasources.stage_upload(user, project_id, io.BytesIO(data), name)


def _import(user, project_id, data: bytes = CSV, name: str = "Flows"):
    staged = _upload(user, project_id, data)
    preview = datasources.preview_upload(user, project_id, staged.id)
    return datasources.import_upload(user, project_id, staged.id, preview.settings, name)


def test_editor_imports_exactly_what_the_preview_showed(people):
    users, project = people
    staged = _upload(users["eddie"], project.id)
    preview = datasources.preview_upload(users["eddie"], project.id, staged.id)
    assert preview.settings.delimiter == ";" and preview.settings.decimal == ","
    info = datasources.import_upload(users["eddie"], project.id, staged.id, preview.settings, "Flows")
    assert (info.rows, info.columns, info.version) == (3, 3, 1)
    page = datasources.read_page(users["vera"], project.id, info.id)
    assert page.total_rows == 3
    assert [row[2] for row in page.rows] == ["1.5", "2.25", ""]


def test_import_keeps_the_original_file_and_fingerprints_the_parquet(people):
    users, project = people
    info = _import(users["eddie"], project.id)
    _, versions = datasources.get_data_source(users["vera"], project.id, info.id)
    folder = get_settings().data_dir / "datasources" / str(info.id) / "v1"
    assert (folder / "original").is_dir() and any((folder / "original").iterdir())
    assert versions[0].sha256 == ingest_sha256(folder / "data.parquet")
    assert not any((get_settings().data_dir / "uploads").iterdir())  # staging cleaned up


def ingest_sha256(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_viewer_cannot_upload_import_rename_or_delete(people):
    users, project = people
    info = _import(users["eddie"], project.id)
    with pytest.raises(Forbidden):
        _upload(users["vera"], project.id)
    with pytest.raises(Forbidden):
        datasources.update_data_source(users["vera"], project.id, info.id, name="Mine")
    with pytest.raises(Forbidden):
        datasources.delete_data_source(users["vera"], project.id, info.id)
    assert datasources.get_data_source(users["vera"], project.id, info.id)[0].name == "Flows"


@pytest.mark.parametrize(
    "call",
    [
        lambda u, p, d: datasources.list_data_sources(u, p),
        lambda u, p, d: datasources.get_data_source(u, p, d),
        lambda u, p, d: datasources.quality_report(u, p, d),
        lambda u, p, d: datasources.read_page(u, p, d),
        lambda u, p, d: datasources.download(u, p, d, "csv"),
        lambda u, p, d: datasources.update_data_source(u, p, d, name="x"),
        lambda u, p, d: datasources.delete_data_source(u, p, d),
        lambda u, p, d: _upload(u, p),
        lambda u, p, d: datasources.preview_upload(u, p, str(uuid.uuid4())),
        lambda u, p, d: datasources.link_data_source(u, p, d, p, "reference"),
    ],
    ids=["list", "get", "quality", "page", "download", "update", "delete", "stage", "preview", "link"],
)
def test_outsider_gets_not_found_from_every_entry_point(people, call):
    users, project = people
    info = _import(users["eddie"], project.id)
    with pytest.raises(NotFound):
        call(users["otto"], project.id, info.id)


def test_data_source_id_from_another_project_is_not_found(people):
    users, project = people
    info = _import(users["eddie"], project.id)
    own = projects.create_project(users["otto"], "Otto's")
    with pytest.raises(NotFound):
        datasources.get_data_source(users["otto"], own.id, info.id)


def test_someone_elses_staged_upload_cannot_be_imported(people):
    users, project = people
    staged = _upload(users["eddie"], project.id)
    with pytest.raises(NotFound):
        datasources.preview_upload(users["olga"], project.id, staged.id)


def test_failed_import_leaves_no_data_source_and_no_files(people):
    users, project = people
    staged = _upload(users["eddie"], project.id, b"\x00\x01\x02garbage\xff" * 100, "broken.csv")
    with pytest.raises(InvalidInput):
        settings = ingest.ImportSettings(format="parquet")
        datasources.import_upload(users["eddie"], project.id, staged.id, settings, "Broken")
    assert datasources.list_data_sources(users["eddie"], project.id) == []
    assert not (get_settings().data_dir / "datasources").exists() or not any(
        (get_settings().data_dir / "datasources").iterdir()
    )


def test_upload_over_the_limit_is_refused_and_leaves_nothing(people, monkeypatch):
    users, project = people
    monkeypatch.setenv("HYDROML_MAX_UPLOAD_MB", "1")
    with pytest.raises(InvalidInput) as error:
        _upload(users["eddie"], project.id, b"a,b\n" + b"1,2\n" * 400_000)
    assert "limit" in str(error.value)


def test_new_version_keeps_history(people):
    users, project = people
    info = _import(users["eddie"], project.id)
    staged = _upload(users["eddie"], project.id, CSV + "C;03/01/2021;4,0\n".encode("latin-1"))
    settings = datasources.preview_upload(users["eddie"], project.id, staged.id).settings
    updated = datasources.import_new_version(users["eddie"], project.id, info.id, staged.id, settings)
    _, versions = datasources.get_data_source(users["vera"], project.id, info.id)
    assert updated.version == 2 and [v.version for v in versions] == [2, 1]
    assert datasources.read_page(users["vera"], project.id, info.id).total_rows == 4
    assert datasources.read_page(users["vera"], project.id, info.id, version=1).total_rows == 3


def test_quality_report_is_cached_and_json(people):
    users, project = people
    info = _import(users["eddie"], project.id)
    report = datasources.quality_report(users["vera"], project.id, info.id)
    assert report["rows"] == 3
    cache = get_settings().data_dir / "datasources" / str(info.id) / "v1" / "quality.json"
    assert json.loads(cache.read_text()) == report


def test_download_streams_the_same_values_as_csv(people):
    users, project = people
    info = _import(users["eddie"], project.id)
    filename, media_type, parquet = datasources.download(users["vera"], project.id, info.id, "csv")
    assert filename.endswith("-v1.csv") and media_type == "text/csv"
    frame = pd.read_csv(io.BytesIO(b"".join(tables.export_chunks(parquet, "csv"))))
    assert frame["flow"].tolist()[:2] == [1.5, 2.25]


def test_shared_data_source_is_only_unlinked_when_deleted_from_one_project(people):
    users, project = people
    info = _import(users["olga"], project.id)
    other = projects.create_project(users["olga"], "Other")
    datasources.link_data_source(users["olga"], project.id, info.id, other.id, "reference")
    assert datasources.delete_data_source(users["olga"], project.id, info.id) is False
    assert datasources.get_data_source(users["olga"], other.id, info.id)[0].role == "reference"
    assert datasources.delete_data_source(users["olga"], other.id, info.id) is True
    assert not (get_settings().data_dir / "datasources" / str(info.id)).exists()


def test_create_from_frame_registers_a_readable_version(people):
    users, project = people
    frame = pd.DataFrame({"station_id": ["ST01", "ST02"], "area_km2": [12.5, 80.0]})
    info = datasources.create_from_frame(users["eddie"], project.id, "Attributes", frame, role="reference")
    page = datasources.read_page(users["vera"], project.id, info.id)
    assert page.rows == [["ST01", "12.5"], ["ST02", "80"]] or page.rows == [
        ["ST01", "12.5"],
        ["ST02", "80.0"],
    ]


def test_link_targets_offer_only_projects_where_i_edit_and_not_yet_linked(people):
    users, project = people
    info = _import(users["olga"], project.id)
    mine = projects.create_project(users["olga"], "Mine")
    read_only = projects.create_project(users["otto"], "Otto's")
    projects.add_member(users["otto"], read_only.id, "olga", "viewer")
    targets = datasources.link_targets(users["olga"], project.id, info.id)
    assert [name for _, name in targets] == ["Mine"]
    datasources.link_data_source(users["olga"], project.id, info.id, mine.id, "secondary")
    assert datasources.link_targets(users["olga"], project.id, info.id) == []


def test_dashboard_counts_each_shared_data_source_once(people):
    users, project = people
    info = _import(users["olga"], project.id)
    other = projects.create_project(users["olga"], "Other")
    datasources.link_data_source(users["olga"], project.id, info.id, other.id, "reference")
    assert datasources.data_source_count(users["olga"].id) == 1
    assert datasources.data_source_count(users["otto"].id) == 0


def test_uploads_abandoned_for_a_day_are_removed_on_the_next_upload(people):
    import os
    import time

    users, project = people
    old = _upload(users["eddie"], project.id)
    folder = get_settings().data_dir / "uploads" / old.id
    day_ago = time.time() - datasources.STALE_UPLOAD_SECONDS - 60
    os.utime(folder, (day_ago, day_ago))
    fresh = _upload(users["eddie"], project.id)
    assert not folder.exists()
    assert (get_settings().data_dir / "uploads" / fresh.id).exists()
