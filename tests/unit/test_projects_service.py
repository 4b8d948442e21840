"""Projects service: roles, members, search and sort, deletion of projects and their data (real SQLite)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlmodel import select

from hydroml.db import session_scope
from hydroml.models import DataSource, DataSourceVersion, Project, ProjectDataSource, ProjectMember
from hydroml.services import auth, dashboard, projects
from hydroml.services.errors import Forbidden, InvalidInput, NotFound
from hydroml.settings import get_settings

PASSWORD = "river-flow-42"


@pytest.fixture(autouse=True)
def _fast_db(app_db: str, cheap_password_hashing) -> str:
    """Fresh SQLite per test; cheap argon2 parameters so registering users takes milliseconds."""
    return app_db


def user(name: str, display_name: str = "") -> auth.UserInfo:
    return auth.register(name, PASSWORD, display_name)


@pytest.fixture
def alice() -> auth.UserInfo:
    return user("alice", "Alice")


@pytest.fixture
def bob() -> auth.UserInfo:
    return user("bob", "Bob")


@pytest.fixture
def carol() -> auth.UserInfo:
    return user("carol", "Carol")


@pytest.fixture
def dave() -> auth.UserInfo:
    return user("dave", "Dave")


@pytest.fixture
def team(alice, bob, carol) -> projects.ProjectInfo:
    """'Rhine gauges': alice owner, bob editor, carol viewer."""
    project = projects.create_project(alice, "Rhine gauges", "Daily discharge at Basel")
    projects.add_member(alice, project.id, "bob", "editor")
    projects.add_member(alice, project.id, "carol", "viewer")
    return project


def data_source(name: str, *project_ids: uuid.UUID, versions: int = 2) -> uuid.UUID:
    """A data source with chained versions, linked to the given projects, with a folder holding a file."""
    with session_scope() as db:
        source = DataSource(name=name, current_version=versions)
        db.add(source)
        db.flush()
        parent = None
        for number in range(1, versions + 1):
            version = DataSourceVersion(
                data_source_id=source.id,
                version=number,
                parquet_path=f"datasources/{source.id}/v{number}.parquet",
                sha256="0" * 64,
                row_count=10,
                column_count=2,
                size_bytes=100,
                columns_json="[]",
                parent_version_id=parent,
            )
            db.add(version)
            db.flush()
            parent = version.id
        for project_id in project_ids:
            db.add(ProjectDataSource(project_id=project_id, data_source_id=source.id))
        source_id = source.id
    folder = folder_of(source_id)
    folder.mkdir(parents=True)
    (folder / "v1.parquet").write_bytes(b"PAR1")
    return source_id


def folder_of(source_id: uuid.UUID) -> Path:
    return get_settings().data_dir / "datasources" / str(source_id)


def rows(model, **where) -> list:
    with session_scope() as db:
        query = select(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return list(db.exec(query).all())


def names(infos) -> list[str]:
    return [info.name for info in infos]


# Every entry point that takes a project id, called by `actor` on `project_id`.
ENTRY_POINTS = {
    "get_project": lambda actor, pid, other: projects.get_project(actor, pid),
    "update_project": lambda actor, pid, other: projects.update_project(actor, pid, name="Mine now"),
    "deletion_impact": lambda actor, pid, other: projects.deletion_impact(actor, pid),
    "delete_project": lambda actor, pid, other: projects.delete_project(actor, pid),
    "list_members": lambda actor, pid, other: projects.list_members(actor, pid),
    "add_member": lambda actor, pid, other: projects.add_member(actor, pid, "dave", "owner"),
    "change_role": lambda actor, pid, other: projects.change_role(actor, pid, other, "viewer"),
    "remove_member": lambda actor, pid, other: projects.remove_member(actor, pid, other),
}
CHANGING_CALLS = [name for name in ENTRY_POINTS if name not in ("get_project", "list_members")]


# ---------------------------------------------------------------- creating


def test_creator_becomes_owner_of_new_project(alice):
    project = projects.create_project(alice, "Elbe floods", "Peak flows")

    assert (project.role, project.member_count, project.data_source_count) == ("owner", 1, 0)
    assert [(m.username, m.role) for m in projects.list_members(alice, project.id)] == [("alice", "owner")]


def test_new_project_has_timezone_aware_timestamps(alice):
    project = projects.create_project(alice, "Elbe floods")

    assert project.created_at.tzinfo is not None and project.updated_at.tzinfo is not None


def test_project_name_and_description_are_stripped(alice):
    project = projects.create_project(alice, "  Elbe floods  ", "  Peak flows \n")

    assert (project.name, project.description) == ("Elbe floods", "Peak flows")


def test_empty_project_name_is_refused(alice):
    with pytest.raises(InvalidInput) as error:
        projects.create_project(alice, "   ")

    assert (error.value.field, str(error.value)) == ("name", "Give the project a name.")
    assert rows(Project) == []


def test_project_name_of_120_characters_is_accepted(alice):
    assert projects.create_project(alice, "x" * 120).name == "x" * 120


def test_project_name_longer_than_120_characters_is_refused(alice):
    with pytest.raises(InvalidInput) as error:
        projects.create_project(alice, "x" * 121)

    assert error.value.field == "name"
    assert "120" in str(error.value)


def test_description_longer_than_2000_characters_is_refused(alice):
    with pytest.raises(InvalidInput) as error:
        projects.create_project(alice, "Elbe", "d" * 2001)

    assert error.value.field == "description"
    assert "2000" in str(error.value)


def test_html_in_project_name_is_stored_verbatim(alice):
    project = projects.create_project(alice, "<b>Rhine</b> & <script>x</script>")

    assert projects.get_project(alice, project.id).name == "<b>Rhine</b> & <script>x</script>"


def test_two_projects_may_share_a_name(alice):
    projects.create_project(alice, "Rhine")
    projects.create_project(alice, "Rhine")

    assert names(projects.list_projects(alice)) == ["Rhine", "Rhine"]


# ---------------------------------------------------------------- listing, search and sort


def test_list_shows_only_projects_the_user_is_a_member_of(alice, bob):
    projects.create_project(alice, "Alice's basin")
    projects.create_project(bob, "Bob's basin")

    assert names(projects.list_projects(alice)) == ["Alice's basin"]


def test_list_reports_role_and_counts(team, carol, alice):
    data_source("gauges", team.id)

    (info,) = projects.list_projects(carol)

    assert (info.name, info.role, info.member_count, info.data_source_count) == (
        "Rhine gauges",
        "viewer",
        3,
        1,
    )


def test_search_matches_name_ignoring_case(alice):
    projects.create_project(alice, "Rhine gauges")
    projects.create_project(alice, "Elbe floods")

    assert names(projects.list_projects(alice, search="RHINE")) == ["Rhine gauges"]


def test_search_matches_description(alice):
    projects.create_project(alice, "Rhine", "Discharge at Basel")
    projects.create_project(alice, "Elbe", "Discharge at Dresden")

    assert names(projects.list_projects(alice, search="dresden")) == ["Elbe"]


def test_search_treats_percent_and_underscore_literally(alice):
    projects.create_project(alice, "Loss 50% model")
    projects.create_project(alice, "Loss 500 model")
    projects.create_project(alice, "snow_melt")
    projects.create_project(alice, "snowXmelt")

    assert names(projects.list_projects(alice, search="50%")) == ["Loss 50% model"]
    assert names(projects.list_projects(alice, search="w_m")) == ["snow_melt"]


def test_search_does_not_reach_other_users_projects(alice, bob):
    projects.create_project(bob, "Rhine secrets")

    assert projects.list_projects(alice, search="rhine") == []


def test_sort_by_name_ignores_case(alice):
    for name in ("elbe", "Danube", "rhine", "Amazon"):
        projects.create_project(alice, name)

    assert names(projects.list_projects(alice, sort="name")) == ["Amazon", "Danube", "elbe", "rhine"]


def test_sort_by_created_puts_newest_first(alice):
    for name in ("first", "second", "third"):
        projects.create_project(alice, name)

    assert names(projects.list_projects(alice, sort="created")) == ["third", "second", "first"]


def test_sort_by_updated_puts_recently_changed_first(alice):
    first = projects.create_project(alice, "first")
    projects.create_project(alice, "second")
    projects.update_project(alice, first.id, description="touched")

    assert names(projects.list_projects(alice)) == ["first", "second"]
    assert names(projects.list_projects(alice, sort="created")) == ["second", "first"]


def test_unknown_sort_is_refused(alice):
    with pytest.raises(InvalidInput) as error:
        projects.list_projects(alice, sort="size; DROP TABLE project")

    assert error.value.field == "sort"


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize("reader", ["alice", "bob", "carol"])
def test_every_member_can_read_project(team, reader, request):
    actor = request.getfixturevalue(reader)

    assert projects.get_project(actor, team.id).name == "Rhine gauges"
    assert len(projects.list_members(actor, team.id)) == 3


def test_get_project_reports_the_actors_own_role(team, bob):
    assert projects.get_project(bob, team.id).role == "editor"


def test_project_id_may_be_given_as_text(team, alice):
    assert projects.get_project(alice, str(team.id)).id == team.id


# ---------------------------------------------------------------- outsiders and bad ids


@pytest.mark.parametrize("entry_point", list(ENTRY_POINTS))
def test_outsider_gets_not_found_for_every_entry_point(team, dave, bob, entry_point):
    with pytest.raises(NotFound) as error:
        ENTRY_POINTS[entry_point](dave, team.id, bob.id)

    assert str(error.value) == "Project not found."
    assert "Rhine" not in str(error.value)


def test_outsider_attempts_change_nothing(team, alice, bob, dave):
    before = projects.get_project(alice, team.id)

    for entry_point in CHANGING_CALLS:
        with pytest.raises(NotFound):
            ENTRY_POINTS[entry_point](dave, team.id, bob.id)

    assert projects.get_project(alice, team.id) == before
    assert projects.list_projects(dave) == []


def test_unknown_project_looks_the_same_as_someone_elses(team, dave, bob):
    with pytest.raises(NotFound) as unknown:
        projects.get_project(dave, uuid.uuid4())
    with pytest.raises(NotFound) as foreign:
        projects.get_project(dave, team.id)

    assert str(unknown.value) == str(foreign.value)


@pytest.mark.parametrize("entry_point", list(ENTRY_POINTS))
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "", "1' OR '1'='1", None, 42])
def test_malformed_id_is_not_found_for_every_entry_point(alice, bob, entry_point, bad_id):
    with pytest.raises(NotFound) as error:
        ENTRY_POINTS[entry_point](alice, bad_id, bob.id)

    assert str(error.value) == "Project not found."


def test_parse_id_names_what_was_not_found():
    with pytest.raises(NotFound) as error:
        projects.parse_id("nope", "Data source")

    assert str(error.value) == "Data source not found."


# ---------------------------------------------------------------- roles: viewer, editor, owner


@pytest.mark.parametrize("entry_point", CHANGING_CALLS)
def test_viewer_gets_forbidden_for_every_changing_call(team, carol, bob, entry_point):
    with pytest.raises(Forbidden) as error:
        ENTRY_POINTS[entry_point](carol, team.id, bob.id)

    assert "Your role is viewer." in str(error.value)


@pytest.mark.parametrize("entry_point", CHANGING_CALLS)
def test_editor_gets_forbidden_for_every_owner_only_call(team, bob, carol, entry_point):
    with pytest.raises(Forbidden) as error:
        ENTRY_POINTS[entry_point](bob, team.id, carol.id)

    assert str(error.value).startswith("Only owners can")


def test_viewer_cannot_rename_project(team, carol, alice):
    with pytest.raises(Forbidden):
        projects.update_project(carol, team.id, name="Hijacked")

    assert projects.get_project(alice, team.id).name == "Rhine gauges"


def test_editor_cannot_rename_project(team, bob):
    with pytest.raises(Forbidden) as error:
        projects.update_project(bob, team.id, name="Renamed")

    assert str(error.value) == "Only owners can change this project. Your role is editor."


def test_viewer_cannot_delete_project(team, carol, alice):
    with pytest.raises(Forbidden) as error:
        projects.delete_project(carol, team.id)

    assert str(error.value) == "Only owners can delete this project. Your role is viewer."
    assert projects.get_project(alice, team.id).member_count == 3


def test_require_role_lets_editor_through_editor_checks(team, bob):
    with session_scope() as db:
        member = projects.require_role(db, bob, team.id, "editor")

    assert member.role == "editor"


def test_require_role_names_editors_and_owners_for_editor_checks(team, carol):
    with session_scope() as db, pytest.raises(Forbidden) as error:
        projects.require_role(db, carol, team.id, "editor", action="upload data")

    assert str(error.value) == "Only editors and owners can upload data. Your role is viewer."


# ---------------------------------------------------------------- updating


def test_owner_can_rename_and_redescribe_project(team, alice):
    info = projects.update_project(alice, team.id, name=" Rhine & Aare ", description="Two rivers")

    assert (info.name, info.description, info.role) == ("Rhine & Aare", "Two rivers", "owner")


def test_update_keeps_fields_left_as_none(team, alice):
    info = projects.update_project(alice, team.id, name="Rhine")

    assert info.description == "Daily discharge at Basel"


def test_update_touches_updated_at(team, alice):
    info = projects.update_project(alice, team.id, description="New")

    assert info.updated_at > team.updated_at
    assert info.created_at == team.created_at


def test_update_with_empty_name_changes_nothing(team, alice):
    with pytest.raises(InvalidInput) as error:
        projects.update_project(alice, team.id, name="  ", description="lost")

    assert error.value.field == "name"
    assert projects.get_project(alice, team.id).description == "Daily discharge at Basel"


# ---------------------------------------------------------------- members


def test_members_are_listed_owners_first_then_by_user_name(alice):
    project = projects.create_project(alice, "Rhine")
    for name, role in (("zed", "owner"), ("Yan", "viewer"), ("bea", "editor"), ("Abe", "viewer")):
        user(name)
        projects.add_member(alice, project.id, name, role)

    members = projects.list_members(alice, project.id)

    assert [(m.username, m.role) for m in members] == [
        ("alice", "owner"),
        ("zed", "owner"),
        ("Abe", "viewer"),
        ("bea", "editor"),
        ("Yan", "viewer"),
    ]


def test_owner_can_add_member_with_role(alice, bob):
    project = projects.create_project(alice, "Rhine")

    added = projects.add_member(alice, project.id, "bob", "editor")

    assert (added.user_id, added.username, added.display_name, added.role) == (bob.id, "bob", "Bob", "editor")
    assert added.joined_at.tzinfo is not None
    assert projects.get_project(bob, project.id).role == "editor"


def test_user_name_lookup_ignores_case_and_spaces(alice, bob):
    project = projects.create_project(alice, "Rhine")

    assert projects.add_member(alice, project.id, "  BOB ", "viewer").username == "bob"


def test_adding_unknown_user_is_refused(alice):
    project = projects.create_project(alice, "Rhine")

    with pytest.raises(InvalidInput) as error:
        projects.add_member(alice, project.id, "ghost", "viewer")

    assert (error.value.field, str(error.value)) == ("username", "There is no user named 'ghost'.")


def test_adding_empty_user_name_is_refused(alice):
    project = projects.create_project(alice, "Rhine")

    with pytest.raises(InvalidInput) as error:
        projects.add_member(alice, project.id, "  ", "viewer")

    assert error.value.field == "username"


def test_adding_existing_member_is_refused(team, alice):
    with pytest.raises(InvalidInput) as error:
        projects.add_member(alice, team.id, "Bob", "owner")

    assert error.value.field == "username"
    assert "already a member" in str(error.value)
    assert projects.get_project(alice, team.id).member_count == 3


@pytest.mark.parametrize("role", ["admin", "", "superuser", None])
def test_adding_with_unknown_role_is_refused(alice, bob, role):
    project = projects.create_project(alice, "Rhine")

    with pytest.raises(InvalidInput) as error:
        projects.add_member(alice, project.id, "bob", role)

    assert error.value.field == "role"


def test_role_names_ignore_case_and_spaces(alice, bob):
    project = projects.create_project(alice, "Rhine")

    assert projects.add_member(alice, project.id, "bob", " Owner ").role == "owner"


def test_adding_member_touches_project_updated_at(alice, bob):
    project = projects.create_project(alice, "Rhine")

    projects.add_member(alice, project.id, "bob", "viewer")

    assert projects.get_project(alice, project.id).updated_at > project.updated_at


def test_owner_can_promote_editor_to_owner(team, alice, bob):
    changed = projects.change_role(alice, team.id, bob.id, "owner")

    assert changed.role == "owner"
    assert projects.get_project(bob, team.id).role == "owner"


def test_changing_role_touches_project_updated_at(team, alice, carol):
    before = projects.get_project(alice, team.id).updated_at

    projects.change_role(alice, team.id, carol.id, "editor")

    assert projects.get_project(alice, team.id).updated_at > before


def test_changing_to_an_unknown_role_is_refused(team, alice, carol):
    with pytest.raises(InvalidInput) as error:
        projects.change_role(alice, team.id, carol.id, "admin")

    assert error.value.field == "role"


def test_last_owner_cannot_be_demoted(team, alice):
    with pytest.raises(InvalidInput) as error:
        projects.change_role(alice, team.id, alice.id, "editor")

    assert error.value.field == "role"
    assert str(error.value).startswith("A project needs at least one owner")
    assert projects.get_project(alice, team.id).role == "owner"


def test_owner_can_step_down_when_another_owner_exists(team, alice, bob):
    projects.change_role(alice, team.id, bob.id, "owner")

    assert projects.change_role(alice, team.id, alice.id, "viewer").role == "viewer"
    with pytest.raises(Forbidden):
        projects.update_project(alice, team.id, name="Too late")


def test_changing_role_of_non_member_is_not_found(team, alice, dave):
    with pytest.raises(NotFound) as error:
        projects.change_role(alice, team.id, dave.id, "viewer")

    assert str(error.value) == "Member not found."


def test_malformed_member_id_is_not_found(team, alice):
    with pytest.raises(NotFound) as error:
        projects.change_role(alice, team.id, "not-a-uuid", "viewer")

    assert str(error.value) == "Member not found."


def test_viewer_can_leave_project(team, carol, alice):
    projects.remove_member(carol, team.id, carol.id)

    assert projects.list_projects(carol) == []
    with pytest.raises(NotFound):
        projects.get_project(carol, team.id)
    assert projects.get_project(alice, team.id).member_count == 2


def test_editor_can_leave_project(team, bob):
    projects.remove_member(bob, team.id, str(bob.id))

    assert projects.list_projects(bob) == []


def test_last_owner_cannot_leave(team, alice):
    with pytest.raises(InvalidInput) as error:
        projects.remove_member(alice, team.id, alice.id)

    assert error.value.field == "user"
    assert "only owner" in str(error.value)
    assert projects.get_project(alice, team.id).role == "owner"


def test_owner_can_leave_when_another_owner_exists(team, alice, bob):
    projects.change_role(alice, team.id, bob.id, "owner")

    projects.remove_member(alice, team.id, alice.id)

    assert [(m.username, m.role) for m in projects.list_members(bob, team.id)] == [
        ("bob", "owner"),
        ("carol", "viewer"),
    ]


def test_owner_can_remove_member(team, alice, bob):
    projects.remove_member(alice, team.id, bob.id)

    assert [m.username for m in projects.list_members(alice, team.id)] == ["alice", "carol"]
    with pytest.raises(NotFound):
        projects.get_project(bob, team.id)


def test_owner_can_remove_another_owner(team, alice, bob):
    projects.change_role(alice, team.id, bob.id, "owner")

    projects.remove_member(alice, team.id, bob.id)

    assert projects.list_projects(bob) == []


def test_removing_member_touches_project_updated_at(team, alice, carol):
    before = projects.get_project(alice, team.id).updated_at

    projects.remove_member(alice, team.id, carol.id)

    assert projects.get_project(alice, team.id).updated_at > before


def test_editor_cannot_remove_another_member(team, bob, carol, alice):
    with pytest.raises(Forbidden) as error:
        projects.remove_member(bob, team.id, carol.id)

    assert str(error.value) == "Only owners can remove other members. Your role is editor."
    assert projects.get_project(alice, team.id).member_count == 3


def test_removing_non_member_is_not_found(team, alice, dave):
    with pytest.raises(NotFound) as error:
        projects.remove_member(alice, team.id, dave.id)

    assert str(error.value) == "Member not found."


def test_removing_unknown_user_id_is_not_found(team, alice):
    with pytest.raises(NotFound) as error:
        projects.remove_member(alice, team.id, uuid.uuid4())

    assert str(error.value) == "Member not found."


# ---------------------------------------------------------------- deleting


def test_deletion_impact_counts_exclusive_and_shared_data_sources_and_members(team, alice):
    other = projects.create_project(alice, "Elbe")
    data_source("only rhine", team.id)
    data_source("also only rhine", team.id)
    data_source("shared", team.id, other.id)
    data_source("only elbe", other.id)

    impact = projects.deletion_impact(alice, team.id)

    assert impact == projects.DeletionImpact(data_sources_deleted=2, data_sources_unlinked=1, members=3)


def test_deletion_impact_changes_nothing(team, alice):
    source = data_source("only rhine", team.id)

    projects.deletion_impact(alice, team.id)

    assert projects.get_project(alice, team.id).data_source_count == 1
    assert folder_of(source).is_dir()


def test_delete_returns_what_it_removed(team, alice):
    other = projects.create_project(alice, "Elbe")
    data_source("only rhine", team.id)
    data_source("shared", team.id, other.id)

    assert projects.delete_project(alice, team.id) == projects.DeletionImpact(1, 1, 3)


def test_delete_removes_exclusive_data_source_its_versions_and_folder(team, alice):
    other = projects.create_project(alice, "Elbe")
    exclusive = data_source("only rhine", team.id, versions=3)
    data_source("shared", team.id, other.id)

    projects.delete_project(alice, team.id)

    assert rows(DataSource, id=exclusive) == []
    assert rows(DataSourceVersion, data_source_id=exclusive) == []
    assert not folder_of(exclusive).exists()


def test_delete_only_unlinks_shared_data_source(team, alice):
    other = projects.create_project(alice, "Elbe")
    shared = data_source("shared", team.id, other.id)

    projects.delete_project(alice, team.id)

    assert [row.project_id for row in rows(ProjectDataSource, data_source_id=shared)] == [other.id]
    assert len(rows(DataSourceVersion, data_source_id=shared)) == 2
    assert folder_of(shared).is_dir()
    assert projects.get_project(alice, other.id).data_source_count == 1


def test_delete_removes_project_members_and_links(team, alice, bob, carol):
    data_source("only rhine", team.id)

    projects.delete_project(alice, team.id)

    assert rows(Project, id=team.id) == []
    assert rows(ProjectMember, project_id=team.id) == []
    assert rows(ProjectDataSource, project_id=team.id) == []
    for member in (alice, bob, carol):
        with pytest.raises(NotFound):
            projects.get_project(member, team.id)


def test_delete_leaves_other_projects_data_alone(team, alice):
    other = projects.create_project(alice, "Elbe")
    elsewhere = data_source("only elbe", other.id)

    projects.delete_project(alice, team.id)

    assert len(rows(DataSource, id=elsewhere)) == 1
    assert folder_of(elsewhere).is_dir()


def test_delete_copes_with_a_missing_folder(team, alice):
    exclusive = data_source("only rhine", team.id)
    (folder_of(exclusive) / "v1.parquet").unlink()
    folder_of(exclusive).rmdir()

    assert projects.delete_project(alice, team.id).data_sources_deleted == 1


def test_forbidden_delete_keeps_data_and_folders(team, bob, alice):
    exclusive = data_source("only rhine", team.id)

    with pytest.raises(Forbidden):
        projects.delete_project(bob, team.id)

    assert folder_of(exclusive).is_dir()
    assert len(rows(DataSource, id=exclusive)) == 1


def test_deleted_project_cannot_be_deleted_twice(team, alice):
    projects.delete_project(alice, team.id)

    with pytest.raises(NotFound):
        projects.delete_project(alice, team.id)


# ---------------------------------------------------------------- dashboard


def test_project_count_counts_memberships(team, alice, bob, dave):
    projects.create_project(alice, "Elbe")

    assert (projects.project_count(alice.id), projects.project_count(bob.id)) == (2, 1)
    assert projects.project_count(dave.id) == 0


def test_dashboard_shows_project_count_first(team, bob):
    tiles = dashboard.summary(bob)

    assert (tiles[0].key, tiles[0].label, tiles[0].value) == ("projects", "Projects", "1")
    assert tiles[0].hint == "Projects you are a member of"
