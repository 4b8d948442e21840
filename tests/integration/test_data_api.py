"""Data over HTTP: authenticated downloads (the FastAPI router the app mounts) and the upload size guard.

Downloads run against a fresh SQLite database (`app_db`) with data created through the services; the session
cookie is the token `auth.sign_in` returns, as the browser holds it. The upload guard wraps a tiny ASGI app that
reads the whole body, so what it refuses never reaches the app.
"""

from __future__ import annotations

import io
import json
import uuid
from urllib.parse import unquote

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from hydroml.api import build_api
from hydroml.api.limits import limit_uploads
from hydroml.services import auth, datasources, projects
from hydroml.services.auth import SESSION_COOKIE

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("cheap_password_hashing")]

PASSWORD = "river-flow-42"
MB = 1024 * 1024

# ---------------------------------------------------------------- downloads


FRAME = pd.DataFrame(
    {
        "station": ["A", "B", "C, with comma", 'D "quoted"'],
        "flow": [1.5, 2.25, None, 1e-3],
        "count": [1, 2, 3, 4],
    }
)


@pytest.fixture
def world(app_db):
    """alice owns Alpha with a data source; vera is a viewer there; otto is an outsider with his own data."""
    users = {name: auth.register(name, PASSWORD) for name in ("alice", "vera", "otto")}
    tokens = {name: auth.sign_in(name, PASSWORD).token for name in users}
    alpha = projects.create_project(users["alice"], "Alpha")
    projects.add_member(users["alice"], alpha.id, "vera", "viewer")
    flows = datasources.create_from_frame(users["alice"], alpha.id, "Daily flows", FRAME)
    secret = projects.create_project(users["otto"], "Secret")
    secret_flows = datasources.create_from_frame(
        users["otto"], secret.id, "Secret levels", pd.DataFrame({"level": [1.0]})
    )
    return {
        "users": users,
        "tokens": tokens,
        "alpha": alpha,
        "flows": flows,
        "secret": secret,
        "secret_flows": secret_flows,
    }


def client(token: str | None = None) -> TestClient:
    return TestClient(build_api(), cookies={SESSION_COOKIE: token} if token is not None else None)


def url(project_id, data_source_id, query: str = "") -> str:
    return f"/api/projects/{project_id}/data-sources/{data_source_id}/download{query}"


def flows_url(world, query: str = "") -> str:
    return url(world["alpha"].id, world["flows"].id, query)


def attachment_name(response) -> str:
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    prefix = "filename*=UTF-8''"
    assert prefix in disposition
    return unquote(disposition.split(prefix, 1)[1])


def stored_parquet(world) -> bytes:
    _, _, path = datasources.download(
        world["users"]["alice"], world["alpha"].id, world["flows"].id, "parquet"
    )
    return path.read_bytes()


def test_download_without_a_cookie_is_401(world):
    response = client().get(flows_url(world))
    assert response.status_code == 401
    assert response.json() == {"error": "Sign in to download data."}
    assert "content-disposition" not in response.headers


@pytest.mark.parametrize("kind", ["forged", "revoked", "empty"])
def test_download_with_a_dead_session_is_401(world, kind):
    if kind == "forged":
        token = uuid.uuid4().hex
    elif kind == "revoked":
        token = auth.sign_in("vera", PASSWORD).token
        auth.sign_out(token)
    else:
        token = ""
    response = client(token).get(flows_url(world))
    assert response.status_code == 401
    assert "Daily" not in response.text


@pytest.mark.parametrize("member", ["alice", "vera"], ids=["owner", "viewer"])
def test_download_csv_as_a_member(world, member):
    response = client(world["tokens"][member]).get(flows_url(world))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    name = attachment_name(response)
    assert name.endswith("-v1.csv")
    assert name == "Daily flows-v1.csv"
    downloaded = pd.read_csv(io.BytesIO(response.content))
    pd.testing.assert_frame_equal(downloaded, FRAME)


def test_download_parquet_is_the_stored_file(world):
    response = client(world["tokens"]["vera"]).get(flows_url(world, "?format=parquet"))

    assert response.status_code == 200
    assert attachment_name(response).endswith("-v1.parquet")
    assert response.content == stored_parquet(world)
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(response.content)), FRAME)


def test_download_json_as_records(world):
    response = client(world["tokens"]["vera"]).get(flows_url(world, "?format=json"))

    assert response.status_code == 200
    assert attachment_name(response).endswith("-v1.json")
    body = json.loads(response.content)
    assert [row["station"] for row in body] == FRAME["station"].tolist()
    assert [row["flow"] for row in body] == [1.5, 2.25, None, 1e-3]


def test_download_excel(world):
    response = client(world["tokens"]["vera"]).get(flows_url(world, "?format=excel"))

    assert response.status_code == 200
    assert attachment_name(response).endswith("-v1.xlsx")
    sheet = pd.read_excel(io.BytesIO(response.content))
    assert sheet["station"].tolist() == FRAME["station"].tolist()
    assert sheet["count"].tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize("fmt", ["xml", "CSV", "../csv", ""])
def test_download_in_an_unknown_format_is_400_with_a_readable_message(world, fmt):
    response = client(world["tokens"]["vera"]).get(flows_url(world), params={"format": fmt})

    assert response.status_code == 400
    assert response.json() == {"error": "Download formats are: csv, parquet, excel, json."}


def test_download_of_a_version_that_does_not_exist_is_404(world):
    response = client(world["tokens"]["vera"]).get(flows_url(world, "?version=2"))
    assert response.status_code == 404
    assert response.json() == {"error": "Version 2 of this data source does not exist."}


def test_download_by_an_outsider_is_404_and_reveals_nothing(world):
    response = client(world["tokens"]["otto"]).get(flows_url(world))

    assert response.status_code == 404
    assert response.json() == {"error": "Project not found."}
    assert "Daily" not in response.text


def test_data_source_of_another_project_is_404_through_my_project(world):
    """alice owns Alpha; otto's data source id under Alpha's id must not download otto's data."""
    response = client(world["tokens"]["alice"]).get(url(world["alpha"].id, world["secret_flows"].id))

    assert response.status_code == 404
    assert response.json() == {"error": "Data source not found."}


@pytest.mark.parametrize(
    ("project", "data_source", "message"),
    [
        ("not-a-uuid", "flows", "Project not found."),
        ("alpha", "not-a-uuid", "Data source not found."),
        ("1%20OR%201=1", "flows", "Project not found."),
        ("alpha", "..%2F..%2Fetc%2Fpasswd", None),  # decoded to slashes: no route matches
        ("random", "flows", "Project not found."),
        ("alpha", "random", "Data source not found."),
    ],
    ids=["bad-project", "bad-data-source", "sql-ish", "path-ish", "unknown-project", "unknown-data-source"],
)
def test_download_with_malformed_or_unknown_ids_is_404(world, project, data_source, message):
    ids = {"alpha": world["alpha"].id, "flows": world["flows"].id}
    project_id = ids.get(project, uuid.uuid4() if project == "random" else project)
    data_source_id = ids.get(data_source, uuid.uuid4() if data_source == "random" else data_source)

    response = client(world["tokens"]["alice"]).get(url(project_id, data_source_id))

    assert response.status_code == 404
    if message is not None:
        assert response.json() == {"error": message}
    assert "content-disposition" not in response.headers


# ---------------------------------------------------------------- upload size guard


class ReadAll:
    """An ASGI app that reads the whole request body and answers 200 with how many bytes it read."""

    def __init__(self) -> None:
        self.entered: list[dict[bytes, bytes]] = []  # the headers of every request that reached the app
        self.calls: list[tuple[str, int]] = []  # (path, bytes read) of every request it read to the end

    async def __call__(self, scope, receive, send) -> None:
        assert scope["type"] == "http"
        self.entered.append(dict(scope["headers"]))
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        self.calls.append((scope["path"], size))
        body = json.dumps({"read": size}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def guarded(monkeypatch):
    monkeypatch.setenv("HYDROML_MAX_UPLOAD_MB", "1")
    inner = ReadAll()
    return inner, TestClient(limit_uploads(inner))


def _refused(response) -> None:
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "1 MB upload limit" in detail
    assert "HYDROML_MAX_UPLOAD_MB" in detail


def test_upload_over_the_limit_is_413_before_the_app_reads_it(guarded):
    inner, http = guarded

    response = http.post("/_upload", content=b"x" * (2 * MB))

    _refused(response)
    assert inner.entered == []


def test_small_upload_passes(guarded):
    inner, http = guarded

    response = http.post("/_upload", content=b"x" * 1000)

    assert response.status_code == 200
    assert response.json() == {"read": 1000}
    assert inner.calls == [("/_upload", 1000)]


def test_upload_just_under_the_limit_with_multipart_overhead_passes(guarded):
    inner, http = guarded
    size = MB + 32 * 1024  # the file itself is 1 MB; boundaries and headers come on top

    response = http.post("/_upload", content=b"x" * size)

    assert response.status_code == 200
    assert response.json() == {"read": size}


def test_big_body_to_another_path_passes_through(guarded):
    inner, http = guarded

    response = http.post("/_event", content=b"x" * (2 * MB))

    assert response.status_code == 200
    assert inner.calls == [("/_event", 2 * MB)]


def test_chunked_upload_without_content_length_is_413_once_it_grows_past_the_limit(guarded):
    inner, http = guarded

    def chunks():  # 2 MB in 64 KB pieces
        for _ in range(32):
            yield b"x" * (64 * 1024)

    response = http.post("/_upload", content=chunks())

    _refused(response)
    [headers] = inner.entered  # no Content-Length: the guard let the app start, then cut the body off
    assert b"content-length" not in headers
    assert headers.get(b"transfer-encoding") == b"chunked"
    assert inner.calls == []  # the app never finished reading it


def test_upload_limit_follows_the_setting(guarded, monkeypatch):
    inner, http = guarded
    monkeypatch.setenv("HYDROML_MAX_UPLOAD_MB", "3")

    assert http.post("/_upload", content=b"x" * (2 * MB)).status_code == 200
    response = http.post("/_upload", content=b"x" * (4 * MB))
    assert response.status_code == 413
    assert "3 MB upload limit" in response.json()["detail"]
