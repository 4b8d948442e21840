"""Projects, project, data source and import states: handlers called directly on real state objects.

Every handler that reads or writes data must check the user (a forged session goes to the sign-in page) and the
role in the project (a viewer cannot change anything; an outsider learns nothing, not even the project's name).
Data is created through the services and read back through them, so each test checks what the browser gets
(redirects, toasts, state vars) and what the database holds.

Dynamic routes: the browser sends `router_data = {"pathname", "asPath", "query"}` where `query` holds the search
parameters and the route parameters (`project_id`, `data_source_id`); `RouterData.from_router_data` puts `query`
into `router.page.params`, which the handlers read. `open_page(url, token)` builds such a tab.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pandas as pd
import pytest
import reflex as rx
from reflex.istate.data import RouterData

from hydroml.services import auth, datasources, projects
from hydroml.services.errors import NotFound
from hydroml.settings import get_settings
from hydroml.state.auth import AuthState
from hydroml.state.data_import import DataImportState
from hydroml.state.datasource import DataSourceState
from hydroml.state.projects import ProjectsState, ProjectState
from tests.state.conftest import PASSWORD
from tests.state.test_auth_states import forged_token, redirects, state, toasts

PLEASE_SIGN_IN = ("warning", "Please sign in to continue.")
PROJECT_NOT_FOUND = ("error", "Project not found.")
DATA_SOURCE_NOT_FOUND = ("error", "Data source not found.")
EDITORS_ONLY = "Only editors and owners can do this. Your role is viewer."
CSV = "station;date;flow\nA;31/12/2020;1,5\nA;01/01/2021;2,25\nB;02/01/2021;\n".encode("latin-1")

# ---------------------------------------------------------------- tabs on dynamic routes

ROUTES = (
    "/projects/[project_id]/connections/[connection_id]/query",
    "/projects/[project_id]/data/[data_source_id]",
    "/projects/[project_id]/studio/[session_id]",
    "/projects/[project_id]/studio",
    "/projects/[project_id]/experiments/compare",
    "/projects/[project_id]/experiments/new",
    "/projects/[project_id]/experiments/[run_id]",
    "/projects/[project_id]/experiments",
    "/projects/[project_id]/connections/[connection_id]",
    "/projects/[project_id]/connections",
    "/projects/[project_id]/members",
    "/projects/[project_id]/settings",
    "/projects/[project_id]/import",
    "/projects/[project_id]",
    "/projects",
)


def _route_params(path: str) -> dict[str, str]:
    for route in ROUTES:
        pattern = re.sub(r"\\\[(\w+)\\\]", r"(?P<\1>[^/]+)", re.escape(route))
        match = re.fullmatch(pattern, path)
        if match:
            return match.groupdict()
    raise AssertionError(f"no route for {path}")


def open_page(url: str, token: str = "") -> rx.State:
    """A root state as the browser sends it on a (dynamic) page: route params and search params in `query`."""
    parts = urlsplit(url)
    query = {**dict(parse_qsl(parts.query)), **_route_params(parts.path)}
    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData.from_router_data({"pathname": parts.path, "asPath": url, "query": query})
    root.get_substate(AuthState.get_full_name().split(".")).session_token = token
    root._clean()
    return root


def settle(result):
    """The result of a handler, awaited when it is a coroutine (handlers that read in a worker thread)."""
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def sign_in_target(url: str) -> str:
    return f"/signin?next={urlsplit(url).path}"


def delta_text(root: rx.State) -> str:
    """Everything the browser would receive now, as text (to check that nothing leaks)."""
    return json.dumps(root.get_delta(), default=str, ensure_ascii=False)


# ---------------------------------------------------------------- people, projects, data


@dataclass
class Team:
    """alice owns Alpha (eddie editor, vera viewer); otto owns his own project and is an outsider to Alpha."""

    users: dict[str, auth.UserInfo]
    tokens: dict[str, str]
    alpha: projects.ProjectInfo
    secret: projects.ProjectInfo

    def user(self, name: str) -> auth.UserInfo:
        return self.users[name]

    def token(self, name: str) -> str:
        return self.tokens[name]


SECRET_NAME = "Otto's secret basin"


@pytest.fixture
def team(alice, alice_token) -> Team:
    users = {"alice": alice}
    tokens = {"alice": alice_token}
    for name in ("eddie", "vera", "otto"):
        users[name] = auth.register(name, PASSWORD, name.title())
        tokens[name] = auth.sign_in(name, PASSWORD).token
    alpha = projects.create_project(alice, "Alpha", "Gauges on the upper river")
    projects.add_member(alice, alpha.id, "eddie", "editor")
    projects.add_member(alice, alpha.id, "vera", "viewer")
    secret = projects.create_project(users["otto"], SECRET_NAME, "Private rating curves")
    return Team(users, tokens, alpha, secret)


def flow_frame(rows: int = 60) -> pd.DataFrame:
    """n = file order; flow is a permutation of n / 4 with one missing value (row 7)."""
    flow = [((i * 37) % rows) / 4 for i in range(rows)]
    flow[7] = None
    return pd.DataFrame(
        {
            "n": list(range(rows)),
            "station": [("A", "B", "C")[i % 3] for i in range(rows)],
            "flow": pd.array(flow, dtype="float64"),
        }
    )


@pytest.fixture
def flows(team) -> datasources.DataSourceInfo:
    return datasources.create_from_frame(team.user("alice"), team.alpha.id, "Flows", flow_frame())


@pytest.fixture
def secret_flows(team) -> datasources.DataSourceInfo:
    frame = pd.DataFrame({"secret_column": [1.0, 2.0]})
    return datasources.create_from_frame(team.user("otto"), team.secret.id, "Secret levels", frame)


def parquet_bytes(team: Team, info: datasources.DataSourceInfo) -> bytes:
    _, _, path = datasources.download(team.user("alice"), team.alpha.id, info.id, "parquet")
    return path.read_bytes()


def project_snapshot(team: Team) -> tuple:
    """What the owner sees of Alpha through the services: name, description, members, data sources."""
    alice = team.user("alice")
    info = projects.get_project(alice, team.alpha.id)
    members = [(m.username, m.role) for m in projects.list_members(alice, team.alpha.id)]
    sources = [(ds.id, ds.name, ds.version) for ds in datasources.list_data_sources(alice, team.alpha.id)]
    return info.name, info.description, info.updated_at, members, sources


# ================================================================ ProjectsState


def project_names(projects_state: ProjectsState) -> list[str]:
    return [row["name"] for row in projects_state.projects]


def test_projects_load_lists_only_my_projects(team):
    alice = team.user("alice")
    projects.create_project(alice, "beta basin")
    listing = state(open_page("/projects", team.token("alice")), ProjectsState)

    assert listing.load() is None

    assert listing.loaded is True
    assert sorted(project_names(listing)) == ["Alpha", "beta basin"]
    alpha = next(row for row in listing.projects if row["name"] == "Alpha")
    assert (alpha["id"], alpha["role"], alpha["members"], alpha["data_sources"]) == (
        str(team.alpha.id),
        "owner",
        "3",
        "0",
    )


def test_projects_load_of_a_viewer_shows_the_viewer_role(team):
    listing = state(open_page("/projects", team.token("vera")), ProjectsState)
    listing.load()
    assert [(row["name"], row["role"]) for row in listing.projects] == [("Alpha", "viewer")]


def test_projects_search_filters_name_and_description_and_never_shows_others(team):
    projects.create_project(team.user("alice"), "beta basin")
    listing = state(open_page("/projects", team.token("alice")), ProjectsState)
    listing.load()

    listing.set_search("BASIN")  # otto's project matches too, but is not alice's
    assert project_names(listing) == ["beta basin"]

    listing.set_search("upper river")  # Alpha's description
    assert project_names(listing) == ["Alpha"]

    listing.set_search("no such thing")
    assert project_names(listing) == []

    listing.set_search("")
    assert sorted(project_names(listing)) == ["Alpha", "beta basin"]


def test_projects_set_search_cuts_long_input(team):
    listing = state(open_page("/projects", team.token("alice")), ProjectsState)
    listing.set_search("x" * 500)
    assert listing.search == "x" * 100
    assert listing.projects == []


def test_projects_sort_orders_by_name_created_and_updated(team):
    alice = team.user("alice")
    projects.create_project(alice, "beta basin")
    projects.create_project(alice, "gamma")
    listing = state(open_page("/projects", team.token("alice")), ProjectsState)
    listing.load()

    listing.set_sort("name")
    assert project_names(listing) == ["Alpha", "beta basin", "gamma"]

    listing.set_sort("created")
    assert project_names(listing) == ["gamma", "beta basin", "Alpha"]

    projects.update_project(alice, team.alpha.id, description="touched")
    listing.set_sort("updated")
    assert project_names(listing) == ["Alpha", "gamma", "beta basin"]

    listing.set_sort("name; DROP TABLE project")
    assert listing.sort == "updated"
    assert project_names(listing) == ["Alpha", "gamma", "beta basin"]


@pytest.mark.parametrize("name", ["", "   "], ids=["empty", "blank"])
def test_projects_create_without_a_name_sets_name_error_and_creates_nothing(team, name):
    listing = state(open_page("/projects", team.token("alice")), ProjectsState)
    listing.set_create_open(True)
    before = len(projects.list_projects(team.user("alice")))

    assert listing.create({"name": name, "description": "whatever"}) is None

    assert listing.name_error == "Give the project a name."
    assert listing.description_error == ""
    assert listing.create_open is True
    assert len(projects.list_projects(team.user("alice"))) == before


def test_projects_create_with_a_too_long_description_sets_description_error(team):
    listing = state(open_page("/projects", team.token("alice")), ProjectsState)
    before = len(projects.list_projects(team.user("alice")))

    assert listing.create({"name": "Delta", "description": "d" * 2001}) is None

    assert "at most 2000" in listing.description_error
    assert listing.name_error == ""
    assert len(projects.list_projects(team.user("alice"))) == before


def test_projects_create_redirects_to_the_new_project(team):
    listing = state(open_page("/projects", team.token("eddie")), ProjectsState)
    listing.set_create_open(True)

    result = listing.create({"name": "  Delta  ", "description": "Estuary"})

    created = [p for p in projects.list_projects(team.user("eddie")) if p.name == "Delta"]
    assert len(created) == 1
    assert (created[0].role, created[0].description) == ("owner", "Estuary")
    assert redirects(result) == [f"/projects/{created[0].id}"]
    assert toasts(result) == [("success", "Project “Delta” created.")]
    assert listing.create_open is False


@pytest.mark.parametrize(
    ("handler", "args"),
    [
        ("load", ()),
        ("set_search", ("Alpha",)),
        ("set_sort", ("name",)),
        ("create", ({"name": "Forged"},)),
    ],
)
def test_projects_handlers_with_a_forged_session_redirect_to_sign_in(team, handler, args):
    before = [p.id for p in projects.list_projects(team.user("alice"))]
    listing = state(open_page("/projects", forged_token()), ProjectsState)

    result = getattr(listing, handler)(*args)

    assert redirects(result) == ["/signin?next=/projects"]
    assert toasts(result) == [PLEASE_SIGN_IN]
    assert listing.projects == []
    assert [p.id for p in projects.list_projects(team.user("alice"))] == before
    assert all(p.name != "Forged" for user in team.users.values() for p in projects.list_projects(user))


# ================================================================ ProjectState: reading


def test_load_overview_for_a_member_fills_name_role_and_data_sources(team, flows):
    root = open_page(f"/projects/{team.alpha.id}", team.token("vera"))
    project = state(root, ProjectState)

    assert project.load_overview() is None

    assert (project.project_id, project.name, project.description, project.role, project.loaded) == (
        str(team.alpha.id),
        "Alpha",
        "Gauges on the upper river",
        "viewer",
        True,
    )
    assert (project.can_edit, project.is_owner) == (False, False)
    assert [
        (ds["id"], ds["name"], ds["rows"], ds["columns"], ds["version"]) for ds in project.data_sources
    ] == [(str(flows.id), "Flows", "60", "3", "1")]


def test_load_overview_of_the_owner_allows_editing(team):
    project = state(open_page(f"/projects/{team.alpha.id}", team.token("alice")), ProjectState)
    project.load_overview()
    assert (project.role, project.can_edit, project.is_owner, project.data_sources) == (
        "owner",
        True,
        True,
        [],
    )


def test_load_overview_switches_project_in_the_same_tab(team, flows):
    """A tab keeps its state between pages: the second project must not show the first one's data sources."""
    projects.add_member(team.user("otto"), team.secret.id, "alice", "viewer")
    root = open_page(f"/projects/{team.alpha.id}", team.token("alice"))
    project = state(root, ProjectState)
    project.load_overview()
    assert project.data_sources

    root.router = open_page(f"/projects/{team.secret.id}", team.token("alice")).router  # navigate
    project.load_overview()

    assert (project.name, project.role, project.data_sources) == (SECRET_NAME, "viewer", [])


PROJECT_LOADERS = ["load_overview", "load_members", "load_settings"]


def _page_of(handler: str, project_id) -> str:
    return {
        "load_overview": f"/projects/{project_id}",
        "load_members": f"/projects/{project_id}/members",
        "load_settings": f"/projects/{project_id}/settings",
    }[handler]


@pytest.mark.parametrize("handler", PROJECT_LOADERS)
@pytest.mark.parametrize(
    "which", ["someone-elses", "unknown-uuid", "malformed"], ids=["outsider", "unknown-id", "malformed-id"]
)
def test_project_loaders_for_an_outsider_redirect_to_projects_and_leak_nothing(team, flows, handler, which):
    project_id = {
        "someone-elses": team.secret.id,
        "unknown-uuid": uuid.uuid4(),
        "malformed": "1%20OR%201=1",
    }[which]
    if which == "someone-elses":
        datasources.create_from_frame(
            team.user("otto"), team.secret.id, "Secret levels", pd.DataFrame({"x": [1]})
        )
    root = open_page(_page_of(handler, project_id), team.token("alice"))
    project = state(root, ProjectState)

    result = getattr(project, handler)()

    assert redirects(result) == ["/projects"]
    assert toasts(result) == [PROJECT_NOT_FOUND]
    assert (project.project_id, project.name, project.description, project.role, project.loaded) == (
        "",
        "",
        "",
        "",
        False,
    )
    assert (project.data_sources, project.members, project.impact) == ([], [], "")
    sent = delta_text(root)
    for secret in (SECRET_NAME, "Private rating curves", "Secret levels", "otto", "Otto"):
        assert secret not in sent


@pytest.mark.parametrize("handler", PROJECT_LOADERS)
def test_project_loaders_with_a_forged_session_redirect_to_sign_in(team, flows, handler):
    url = _page_of(handler, team.alpha.id)
    root = open_page(url, forged_token())
    project = state(root, ProjectState)

    result = getattr(project, handler)()

    assert redirects(result) == [sign_in_target(url)]
    assert toasts(result) == [PLEASE_SIGN_IN]
    assert (project.name, project.role, project.data_sources, project.members) == ("", "", [], [])
    assert "Alpha" not in delta_text(root)


def test_load_members_lists_members_owner_first(team):
    project = state(open_page(f"/projects/{team.alpha.id}/members", team.token("vera")), ProjectState)
    assert project.load_members() is None
    assert [(m["username"], m["role"], m["is_me"]) for m in project.members] == [
        ("alice", "owner", ""),
        ("eddie", "editor", ""),
        ("vera", "viewer", "yes"),
    ]


def test_load_settings_shows_the_deletion_impact_to_owners_only(team, flows):
    owner = state(open_page(f"/projects/{team.alpha.id}/settings", team.token("alice")), ProjectState)
    owner.load_settings()
    assert owner.impact.startswith("1 data source(s) used only here will be deleted")
    assert "3 member(s) lose access" in owner.impact

    viewer = state(open_page(f"/projects/{team.alpha.id}/settings", team.token("vera")), ProjectState)
    assert viewer.load_settings() is None
    assert (viewer.name, viewer.role, viewer.impact) == ("Alpha", "viewer", "")


# ================================================================ ProjectState: changes


@dataclass(frozen=True)
class Change:
    handler: str
    page: str  # the page the handler is used on
    args: tuple
    owner_only_message: str  # what a viewer or editor is told


def _alice_id(team: Team) -> str:
    return str(team.user("alice").id)


# The target of change_role / remove_member is alice (the owner): neither a viewer nor an editor may touch her,
# and neither is "leaving" (which any member may do).
CHANGES = {
    "add_member": lambda team: Change(
        "add_member", "members", ({"username": "otto", "role": "owner"},), "Only owners can add members."
    ),
    "change_role": lambda team: Change(
        "change_role", "members", (_alice_id(team), "viewer"), "Only owners can change member roles."
    ),
    "remove_member": lambda team: Change(
        "remove_member", "members", (_alice_id(team),), "Only owners can remove other members."
    ),
    "save_settings": lambda team: Change(
        "save_settings",
        "settings",
        ({"name": "Hijacked", "description": "changed"},),
        "Only owners can change this project.",
    ),
    "delete_project": lambda team: Change(
        "delete_project", "settings", (), "Only owners can delete this project."
    ),
}


def _run_change(team: Team, change_name: str, token: str, project_id=None):
    change = CHANGES[change_name](team)
    url = f"/projects/{project_id or team.alpha.id}/{change.page}"
    root = open_page(url, token)
    project = state(root, ProjectState)
    return change, url, root, project, getattr(project, change.handler)(*change.args)


@pytest.mark.parametrize("change_name", list(CHANGES))
@pytest.mark.parametrize("actor", ["vera", "eddie"], ids=["viewer", "editor"])
def test_owner_only_changes_by_a_viewer_or_editor_change_nothing_and_show_an_error(
    team, flows, change_name, actor
):
    before = project_snapshot(team)
    files = parquet_bytes(team, flows)
    role = "viewer" if actor == "vera" else "editor"

    change, _, _, project, result = _run_change(team, change_name, team.token(actor))

    assert toasts(result) == [("error", f"{change.owner_only_message} Your role is {role}.")]
    assert redirects(result) == []
    assert project_snapshot(team) == before
    assert parquet_bytes(team, flows) == files
    assert projects.get_project(team.user(actor), team.alpha.id).role == role
    assert project.member_error == project.settings_name_error == ""


@pytest.mark.parametrize("change_name", list(CHANGES))
def test_changes_with_a_forged_session_redirect_to_sign_in_and_change_nothing(team, flows, change_name):
    before = project_snapshot(team)

    _, url, root, project, result = _run_change(team, change_name, forged_token())

    assert redirects(result) == [sign_in_target(url)]
    assert toasts(result) == [PLEASE_SIGN_IN]
    assert project_snapshot(team) == before
    assert (project.name, project.role, project.members) == ("", "", [])
    assert "Alpha" not in delta_text(root)


@pytest.mark.parametrize("change_name", list(CHANGES))
def test_changes_by_an_outsider_are_not_found_and_change_nothing(team, flows, change_name):
    """otto is owner of his own project, but not a member of Alpha."""
    before = project_snapshot(team)

    _, _, root, project, result = _run_change(team, change_name, team.token("otto"))

    assert toasts(result) == [PROJECT_NOT_FOUND]
    assert project_snapshot(team) == before
    assert (project.name, project.description, project.role, project.members) == ("", "", "", [])
    assert "Alpha" not in delta_text(root)


def test_owner_adds_changes_and_removes_members(team):
    page = f"/projects/{team.alpha.id}/members"
    project = state(open_page(page, team.token("alice")), ProjectState)
    project.load_members()

    assert toasts(project.add_member({"username": "OTTO", "role": "editor"})) == [
        ("success", "otto added as editor.")
    ]
    assert ("otto", "editor") in [(m["username"], m["role"]) for m in project.members]

    otto_id = str(team.user("otto").id)
    assert toasts(project.change_role(otto_id, "viewer")) == [("success", "otto is now viewer.")]
    assert projects.get_project(team.user("otto"), team.alpha.id).role == "viewer"

    assert toasts(project.remove_member(otto_id)) == [("success", "Member removed.")]
    assert "otto" not in [m["username"] for m in project.members]
    with pytest.raises(NotFound):
        projects.get_project(team.user("otto"), team.alpha.id)


def test_add_member_reports_an_unknown_user_in_the_form(team):
    project = state(open_page(f"/projects/{team.alpha.id}/members", team.token("alice")), ProjectState)
    before = project_snapshot(team)

    assert project.add_member({"username": "nobody", "role": "viewer"}) is None

    assert project.member_error == "There is no user named 'nobody'."
    assert project_snapshot(team) == before


def test_a_viewer_may_leave_the_project(team):
    project = state(open_page(f"/projects/{team.alpha.id}/members", team.token("vera")), ProjectState)

    result = project.remove_member(str(team.user("vera").id))

    assert redirects(result) == ["/projects"]
    assert toasts(result) == [("info", "You left the project.")]
    assert (project.name, project.role) == ("", "")
    with pytest.raises(NotFound):
        projects.get_project(team.user("vera"), team.alpha.id)


def test_owner_saves_settings(team):
    project = state(open_page(f"/projects/{team.alpha.id}/settings", team.token("alice")), ProjectState)

    assert toasts(project.save_settings({"name": " Alpha 2 ", "description": "New"})) == [
        ("success", "Project saved.")
    ]

    assert (project.name, project.description) == ("Alpha 2", "New")
    info = projects.get_project(team.user("alice"), team.alpha.id)
    assert (info.name, info.description) == ("Alpha 2", "New")


def test_save_settings_with_an_empty_name_sets_the_field_error(team):
    project = state(open_page(f"/projects/{team.alpha.id}/settings", team.token("alice")), ProjectState)
    before = project_snapshot(team)

    assert project.save_settings({"name": "", "description": "x"}) is None

    assert project.settings_name_error == "Give the project a name."
    assert project_snapshot(team) == before


def test_owner_deletes_the_project_with_its_data(team, flows):
    folder = get_settings().data_dir / "datasources" / str(flows.id)
    assert folder.is_dir()
    project = state(open_page(f"/projects/{team.alpha.id}/settings", team.token("alice")), ProjectState)

    result = project.delete_project()

    assert redirects(result) == ["/projects"]
    assert toasts(result) == [("success", "Project “Alpha” deleted.")]
    assert (project.project_id, project.name) == ("", "")
    with pytest.raises(NotFound):
        projects.get_project(team.user("alice"), team.alpha.id)
    assert not folder.exists()


# ================================================================ DataSourceState


def data_page(team: Team, info, token: str, project_id=None) -> tuple[rx.State, DataSourceState]:
    root = open_page(f"/projects/{project_id or team.alpha.id}/data/{info.id}", token)
    return root, state(root, DataSourceState)


def grid_n(source: DataSourceState) -> list[int]:
    """The `n` column (the row's position in the file) of the rows shown."""
    index = [c["name"] for c in source.grid_columns].index("n")
    return [int(row[index]) for row in source.grid_rows]


def test_data_source_load_as_viewer_fills_info_reports_and_grid(team, flows):
    _, source = data_page(team, flows, team.token("vera"))

    assert source.load() is None

    assert source.loaded is True
    assert (source.project_name, source.role, source.can_edit) == ("Alpha", "viewer", False)
    assert {key: source.info[key] for key in ("name", "version", "rows", "columns", "role")} == {
        "name": "Flows",
        "version": "1",
        "rows": "60",
        "columns": "3",
        "role": "primary",
    }
    assert [v["version"] for v in source.versions] == ["1"]
    assert (source.overview["rows"], source.overview["columns"], source.overview["missing"]) == (
        "60",
        "3",
        "1",
    )
    assert [(c.name, c.dtype, c.missing) for c in source.column_reports] == [
        ("n", "integer", "0"),
        ("station", "string", "0"),
        ("flow", "float", "1"),
    ]
    assert source.column_reports[0].detail.startswith("min 0 · max 59")
    assert source.grid_columns == [
        {"name": "n", "dtype": "integer"},
        {"name": "station", "dtype": "string"},
        {"name": "flow", "dtype": "float"},
    ]
    assert (source.total_rows, source.offset, source.page_size, source.hidden_columns) == (60, 0, 50, 0)
    assert grid_n(source) == list(range(50))
    assert source.grid_rows[0] == ["0", "A", "0.0"]
    assert source.grid_rows[7] == ["7", "B", ""]  # missing
    assert source.page_label == "Rows 1–50 of 60"
    assert source.download_base == f"/api/projects/{team.alpha.id}/data-sources/{flows.id}/download?format="


def test_data_source_sort_by_cycles_ascending_descending_unsorted_without_changing_data(team, flows):
    frame = flow_frame()
    ascending = frame.sort_values("flow", kind="stable", na_position="last")["n"].tolist()
    descending = frame.sort_values("flow", ascending=False, kind="stable", na_position="last")["n"].tolist()
    files = parquet_bytes(team, flows)
    _, source = data_page(team, flows, team.token("vera"))
    source.load()
    settle(source.next_page())
    assert source.offset == 50

    assert settle(source.sort_by("flow")) is None
    assert (source.sort_column, source.sort_ascending, source.offset) == ("flow", True, 0)
    assert grid_n(source) == ascending[:50]
    assert grid_n(source)[-1] != 7  # the missing value comes last, on the next page
    settle(source.next_page())
    assert grid_n(source) == ascending[50:]
    assert grid_n(source)[-1] == 7

    settle(source.sort_by("flow"))
    assert (source.sort_column, source.sort_ascending, source.offset) == ("flow", False, 0)
    assert grid_n(source) == descending[:50]

    settle(source.sort_by("flow"))
    assert (source.sort_column, source.offset) == ("", 0)
    assert grid_n(source) == list(range(50))

    settle(source.sort_by("station"))
    assert (source.sort_column, source.sort_ascending) == ("station", True)
    assert grid_n(source) == frame.sort_values("station", kind="stable")["n"].tolist()[:50]

    assert parquet_bytes(team, flows) == files
    _, versions = datasources.get_data_source(team.user("alice"), team.alpha.id, flows.id)
    assert [v.version for v in versions] == [1]


def test_data_source_sort_by_an_unknown_column_shows_an_error(team, flows):
    _, source = data_page(team, flows, team.token("vera"))
    source.load()

    result = settle(source.sort_by("no_such_column"))

    [(level, message)] = toasts(result)
    assert level == "error" and "no_such_column" in message
    assert redirects(result) == []


def test_data_source_paging_moves_by_page_size_and_stops_at_the_ends(team, flows):
    _, source = data_page(team, flows, team.token("vera"))
    source.load()

    assert settle(source.set_page_size("25")) is None
    assert (source.page_size, source.offset, grid_n(source)) == (25, 0, list(range(25)))
    assert (source.has_previous, source.has_next, source.page_label) == (False, True, "Rows 1–25 of 60")

    settle(source.previous_page())
    assert source.offset == 0

    settle(source.next_page())
    assert (source.offset, grid_n(source), source.page_label) == (25, list(range(25, 50)), "Rows 26–50 of 60")

    settle(source.next_page())
    assert (source.offset, grid_n(source), source.page_label) == (50, list(range(50, 60)), "Rows 51–60 of 60")
    assert (source.has_previous, source.has_next) == (True, False)

    settle(source.next_page())  # at the end: stays
    assert (source.offset, grid_n(source)) == (50, list(range(50, 60)))

    settle(source.previous_page())
    assert (source.offset, grid_n(source)) == (25, list(range(25, 50)))
    settle(source.previous_page())
    settle(source.previous_page())
    assert (source.offset, grid_n(source)) == (0, list(range(25)))

    settle(source.next_page())
    settle(source.set_page_size("7"))  # not offered: back to the default
    assert (source.page_size, source.offset, len(source.grid_rows)) == (50, 0, 50)


@pytest.mark.parametrize(
    ("handler", "args"),
    [("rename", ({"name": "Hijacked", "description": "x"},)), ("delete", ())],
)
def test_data_source_changes_by_a_viewer_show_an_error_and_change_nothing(team, flows, handler, args):
    files = parquet_bytes(team, flows)
    before = project_snapshot(team)
    _, source = data_page(team, flows, team.token("vera"))
    source.load()

    result = settle(getattr(source, handler)(*args))

    assert toasts(result) == [("error", EDITORS_ONLY)]
    assert redirects(result) == []
    assert project_snapshot(team) == before
    info, _ = datasources.get_data_source(team.user("alice"), team.alpha.id, flows.id)
    assert (info.name, info.description) == ("Flows", "")
    assert parquet_bytes(team, flows) == files
    assert source.info["name"] == "Flows"


def test_data_source_rename_and_delete_by_an_editor(team, flows):
    _, source = data_page(team, flows, team.token("eddie"))
    source.load()
    assert source.can_edit is True

    assert toasts(source.rename({"name": "Flows 2024", "description": "Daily"})) == [
        ("success", "Data source saved.")
    ]
    assert (source.info["name"], source.info["description"]) == ("Flows 2024", "Daily")
    info, _ = datasources.get_data_source(team.user("vera"), team.alpha.id, flows.id)
    assert (info.name, info.description) == ("Flows 2024", "Daily")

    assert source.rename({"name": " "}) is None
    assert source.name_error == "Give the data source a name."

    result = source.delete()
    assert redirects(result) == [f"/projects/{team.alpha.id}"]
    assert toasts(result) == [("success", "Data source deleted.")]
    assert datasources.list_data_sources(team.user("alice"), team.alpha.id) == []


DATA_SOURCE_HANDLERS = [
    ("load", ()),
    ("next_page", ()),
    ("previous_page", ()),
    ("set_page_size", ("25",)),
    ("sort_by", ("flow",)),
    ("rename", ({"name": "Hijacked"},)),
    ("delete", ()),
]


@pytest.mark.parametrize(("handler", "args"), DATA_SOURCE_HANDLERS)
def test_data_source_handlers_for_an_outsider_are_not_found_and_leak_nothing(team, flows, handler, args):
    files = parquet_bytes(team, flows)
    before = project_snapshot(team)
    root, source = data_page(team, flows, team.token("otto"))
    source.total_rows = 60  # as if a page had been shown, so next_page would move

    result = settle(getattr(source, handler)(*args))

    assert toasts(result) == [PROJECT_NOT_FOUND]
    if handler == "load":
        [target] = redirects(result)
        assert target in ("/projects", f"/projects/{team.alpha.id}")
    assert (source.info, source.project_name, source.role, source.column_reports) == ({}, "", "", [])
    assert (source.grid_rows, source.grid_columns, source.loaded) == ([], [], False)
    assert project_snapshot(team) == before
    assert parquet_bytes(team, flows) == files
    sent = delta_text(root)
    assert "Flows" not in sent and "Alpha" not in sent


@pytest.mark.parametrize(("handler", "args"), DATA_SOURCE_HANDLERS)
def test_data_source_handlers_with_a_forged_session_redirect_to_sign_in(team, flows, handler, args):
    before = project_snapshot(team)
    url = f"/projects/{team.alpha.id}/data/{flows.id}"
    root = open_page(url, forged_token())
    source = state(root, DataSourceState)

    result = settle(getattr(source, handler)(*args))

    assert redirects(result) == [sign_in_target(url)]
    assert toasts(result) == [PLEASE_SIGN_IN]
    assert (source.info, source.grid_rows, source.column_reports) == ({}, [], [])
    assert project_snapshot(team) == before


def test_data_source_of_another_project_is_not_found_through_my_project(team, flows, secret_flows):
    """alice owns Alpha; otto's data source id in Alpha's URL must not open otto's data."""
    root, source = data_page(team, secret_flows, team.token("alice"))

    result = source.load()

    assert redirects(result) == [f"/projects/{team.alpha.id}"]
    assert toasts(result) == [DATA_SOURCE_NOT_FOUND]
    assert (source.info, source.grid_rows, source.column_reports, source.loaded) == ({}, [], [], False)
    assert "secret_column" not in delta_text(root)
    assert toasts(source.rename({"name": "Mine now"})) == [DATA_SOURCE_NOT_FOUND]
    assert toasts(source.delete()) == [DATA_SOURCE_NOT_FOUND]
    info, _ = datasources.get_data_source(team.user("otto"), team.secret.id, secret_flows.id)
    assert info.name == "Secret levels"


def test_data_source_with_a_malformed_id_is_not_found(team, flows):
    root = open_page(f"/projects/{team.alpha.id}/data/..%2F..%2Fetc", team.token("alice"))
    result = state(root, DataSourceState).load()
    assert redirects(result) == [f"/projects/{team.alpha.id}"]
    assert toasts(result) == [DATA_SOURCE_NOT_FOUND]


# ================================================================ DataImportState


def upload(data: bytes = CSV, name: str = "flows.csv") -> rx.UploadFile:
    return rx.UploadFile(file=io.BytesIO(data), path=Path(name))


def import_page(team: Team, token: str, query: str = "") -> DataImportState:
    return state(open_page(f"/projects/{team.alpha.id}/import{query}", token), DataImportState)


def staged_uploads() -> list[Path]:
    folder = get_settings().data_dir / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


def settings_of(importer: DataImportState) -> dict:
    return json.loads(importer.settings_json)


@pytest.fixture
def staged(team) -> DataImportState:
    """eddie (editor) has uploaded CSV on the import page."""
    importer = import_page(team, team.token("eddie"))
    importer.load()
    asyncio.run(importer.handle_upload([upload()]))
    assert importer.error == ""
    return importer


def test_handle_upload_as_editor_stages_and_previews(team):
    importer = import_page(team, team.token("eddie"))
    assert importer.load() is None

    assert asyncio.run(importer.handle_upload([upload()])) is None

    assert importer.error == ""
    assert importer.upload_id
    assert [p.name for p in staged_uploads()] == [importer.upload_id]
    assert (importer.file_name, importer.file_size, importer.name) == ("flows.csv", "67 B", "flows")
    assert importer.columns == [
        {"name": "station", "dtype": "string"},
        {"name": "date", "dtype": "datetime"},
        {"name": "flow", "dtype": "float"},
    ]
    assert importer.rows == [["A", "2020-12-31", "1.5"], ["A", "2021-01-01", "2.25"], ["B", "2021-01-02", ""]]
    settings = settings_of(importer)
    assert (settings["format"], settings["delimiter"], settings["decimal"], settings["dayfirst"]) == (
        "csv",
        ";",
        ",",
        True,
    )
    assert importer.settings["delimiter"] == ";"
    assert (importer.uploading, importer.hidden_columns, importer.warnings) == (False, 0, [])


@pytest.mark.parametrize(
    ("actor", "message"),
    [("vera", EDITORS_ONLY), ("otto", "Project not found.")],
    ids=["viewer", "outsider"],
)
def test_handle_upload_without_editor_rights_sets_error_and_stages_nothing(team, actor, message):
    importer = import_page(team, team.token(actor))

    asyncio.run(importer.handle_upload([upload()]))

    assert importer.error == message
    assert (importer.upload_id, importer.settings_json, importer.columns, importer.rows) == ("", "", [], [])
    assert staged_uploads() == []
    assert datasources.list_data_sources(team.user("alice"), team.alpha.id) == []


def test_a_page_load_after_the_upload_keeps_its_preview(staged, team):
    """The upload (HTTP) can be handled before the page's on-load (websocket) event: the preview stays."""
    upload_id, columns = staged.upload_id, list(staged.columns)
    assert staged.load() is None
    assert (staged.upload_id, staged.columns) == (upload_id, columns)
    other = import_page(team, team.token("eddie"))  # a fresh visit of the page starts empty
    other.load()
    assert other.upload_id == "" and other.columns == []


def test_handle_upload_without_a_file_asks_for_one(team):
    importer = import_page(team, team.token("eddie"))
    asyncio.run(importer.handle_upload([]))
    assert importer.error == "Choose a file to upload."
    assert staged_uploads() == []


def test_set_setting_previews_again(staged):
    settle(staged.set_setting("delimiter", "|"))

    assert staged.error == ""
    assert settings_of(staged)["delimiter"] == "|"
    assert staged.columns == [{"name": "station;date;flow", "dtype": "string"}]
    assert staged.rows[0] == ["A;31/12/2020;1,5"]

    settle(
        staged.set_setting("delimiter", ",")
    )  # the decimal separator is "," too: refused, the preview stays
    assert "decimal separator cannot be the same as the delimiter" in staged.error
    assert settings_of(staged)["delimiter"] == "|"

    settle(staged.set_setting("delimiter", ";"))
    assert staged.error == ""
    assert [c["name"] for c in staged.columns] == ["station", "date", "flow"]

    settle(staged.set_setting("header_row", "none"))
    assert settings_of(staged)["header_row"] is None
    assert [c["name"] for c in staged.columns] == ["column_1", "column_2", "column_3"]
    assert staged.rows[0] == ["station", "date", "flow"]


def test_set_setting_rejects_bad_values_and_unknown_keys(staged):
    before = staged.settings_json

    settle(staged.set_setting("skip_rows", "abc"))
    assert staged.error == "Rows to skip must be a whole number."

    settle(staged.set_setting("column_types", "{}"))  # not a setting the user can set this way
    assert staged.settings_json == before


def test_set_setting_with_a_non_numeric_header_row_sets_an_error(staged):
    before = staged.settings_json

    settle(staged.set_setting("header_row", "first"))

    assert staged.error
    assert staged.settings_json == before


def test_set_column_type_previews_again(staged):
    settle(staged.set_column_type("flow", "string"))

    assert staged.error == ""
    assert settings_of(staged)["column_types"] == {"flow": "string"}
    assert staged.columns[2] == {"name": "flow", "dtype": "string"}
    assert [row[2] for row in staged.rows] == ["1,5", "2,25", ""]

    settle(staged.set_column_type("flow", "no-such-type"))  # ignored
    assert settings_of(staged)["column_types"] == {"flow": "string"}

    settle(staged.set_column_type("flow", "float"))
    assert [row[2] for row in staged.rows] == ["1.5", "2.25", ""]


def test_preview_changes_recheck_the_role(team, staged):
    """eddie is demoted after uploading: changing a setting must not preview any more."""
    projects.change_role(team.user("alice"), team.alpha.id, str(team.user("eddie").id), "viewer")
    before = staged.settings_json

    settle(staged.set_setting("delimiter", "|"))
    assert staged.error == EDITORS_ONLY
    assert staged.settings_json == before

    settle(staged.set_column_type("flow", "string"))
    assert staged.error == EDITORS_ONLY
    assert staged.settings_json == before


def test_upload_with_a_forged_session_goes_to_sign_in_and_stages_nothing(team):
    importer = import_page(team, forged_token())

    result = asyncio.run(importer.handle_upload([upload()]))

    assert any(path.startswith("/signin") for path in redirects(result))
    assert (importer.upload_id, importer.settings_json) == ("", "")
    assert staged_uploads() == []


def test_preview_changes_with_a_revoked_session_go_to_sign_in(team, staged):
    auth.sign_out(team.token("eddie"))
    result = settle(staged.set_setting("delimiter", "|"))
    assert any(path.startswith("/signin") for path in redirects(result))
    assert settings_of(staged)["delimiter"] == ";"


def test_run_import_imports_what_the_preview_showed(team, staged):
    """`run_import` is a background event; `async with self` is a no-op on a plain state, so its function runs."""
    settle(staged.set_column_type("flow", "string"))
    staged.set_name("Gauge flows")

    result = asyncio.run(DataImportState.run_import.fn(staged))

    [info] = datasources.list_data_sources(team.user("vera"), team.alpha.id)
    assert redirects(result) == [f"/projects/{team.alpha.id}/data/{info.id}"]
    assert toasts(result) == [("success", "Imported 3 rows into “Gauge flows” (version 1).")]
    assert (info.name, info.rows, info.columns, info.original_filename) == ("Gauge flows", 3, 3, "flows.csv")
    page = datasources.read_page(team.user("vera"), team.alpha.id, info.id)
    assert [c["dtype"] for c in page.columns] == ["string", "datetime", "string"]
    assert [row[2] for row in page.rows] == ["1,5", "2,25", ""]
    assert (staged.upload_id, staged.importing, staged.settings_json) == ("", False, "")
    assert staged_uploads() == []


def test_run_import_of_a_new_version(team, flows):
    importer = import_page(team, team.token("eddie"), f"?replace={flows.id}")
    importer.load()
    assert (importer.replace_id, importer.name) == (str(flows.id), "Flows")
    asyncio.run(importer.handle_upload([upload(b"n,station,flow\n1,A,0.5\n", "new.csv")]))
    assert importer.name == "Flows"  # kept from the data source

    result = asyncio.run(DataImportState.run_import.fn(importer))

    assert redirects(result) == [f"/projects/{team.alpha.id}/data/{flows.id}"]
    info, versions = datasources.get_data_source(team.user("vera"), team.alpha.id, flows.id)
    assert (info.version, info.rows, [v.version for v in versions]) == (2, 1, [2, 1])


def test_run_import_after_losing_the_editor_role_imports_nothing(team, staged):
    projects.change_role(team.user("alice"), team.alpha.id, str(team.user("eddie").id), "viewer")

    result = asyncio.run(DataImportState.run_import.fn(staged))

    assert result is None
    assert staged.error == EDITORS_ONLY
    assert staged.importing is False
    assert datasources.list_data_sources(team.user("alice"), team.alpha.id) == []


def test_run_import_with_a_revoked_session_redirects_to_sign_in(team, staged):
    auth.sign_out(team.token("eddie"))

    result = asyncio.run(DataImportState.run_import.fn(staged))

    assert redirects(result) == [sign_in_target(f"/projects/{team.alpha.id}/import")]
    assert toasts(result) == [PLEASE_SIGN_IN]
    assert staged.importing is False
    assert datasources.list_data_sources(team.user("alice"), team.alpha.id) == []


def test_import_load_of_someone_elses_data_source_to_replace_is_not_found(team, secret_flows):
    importer = import_page(team, team.token("eddie"), f"?replace={secret_flows.id}")

    result = importer.load()

    assert toasts(result) == [DATA_SOURCE_NOT_FOUND]
    assert importer.name == ""


def test_cancel_discards_the_staged_upload(team, staged):
    assert staged_uploads()
    result = staged.cancel()
    assert redirects(result) == [f"/projects/{team.alpha.id}"]
    assert staged_uploads() == []
    assert staged.upload_id == ""
