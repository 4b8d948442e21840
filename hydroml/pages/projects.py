"""Projects: list and create; one project's data sources, members and settings."""

import reflex as rx

from hydroml.components import (
    badge,
    button,
    card,
    confirm_modal,
    empty_state,
    form_error,
    form_modal,
    page_header,
    select_input,
    table,
    tabs,
    text_input,
    textarea_input,
)
from hydroml.pages.template import app_page
from hydroml.services.projects import ROLES
from hydroml.state.projects import SORTS, ProjectsState, ProjectState

ROLE_OPTIONS = [(role, role.capitalize()) for role in ROLES]


def _create_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            text_input(
                "name", "Name", required=True, error=ProjectsState.name_error, max_length=300, auto_focus=True
            ),
            textarea_input(
                "description",
                "Description",
                help_text="Optional: what the project is about.",
                error=ProjectsState.description_error,
                max_length=4000,
            ),
            rx.hstack(
                rx.dialog.close(button("Cancel", variant="secondary", type="button")),
                button("Create project", type="submit", id="create-project-submit"),
                justify="end",
                width="100%",
                spacing="3",
            ),
            spacing="4",
        ),
        on_submit=ProjectsState.create,
    )


def _project_row(row) -> rx.Component:
    return rx.el.tr(
        rx.el.td(rx.link(row["name"], href="/projects/" + row["id"], class_name="project-link")),
        rx.el.td(row["description"], title=row["description"]),
        rx.el.td(badge(row["role"], status="info")),
        rx.el.td(row["data_sources"], class_name="num"),
        rx.el.td(row["members"], class_name="num"),
        rx.el.td(row["updated"]),
    )


@app_page("/projects", "Projects", crumbs=[("Projects", None)], on_load=[ProjectsState.load])
def projects_page() -> rx.Component:
    new_button = button("New project", icon="plus", id="new-project")
    projects_table = table(
        ("Name", "Description", "Your role", "Data sources", "Members", "Updated"),
        ProjectsState.projects,
        _project_row,
        table_id="projects-table",
        numeric=("Data sources", "Members"),
    )
    empty = rx.cond(
        ProjectsState.search != "",
        empty_state(
            "No matching projects",
            "No project name or description contains that text. Clear the search to see all.",
            icon="search",
        ),
        empty_state(
            "No projects yet",
            "A project holds your data sources, studio sessions and experiments. Create one to start.",
            icon="folder-plus",
        ),
    )
    return rx.box(
        page_header(
            "Projects",
            subtitle="Every project you are a member of.",
            actions=[
                form_modal(
                    new_button,
                    title="New project",
                    description="You become its owner and can invite others.",
                    body=_create_form(),
                    open=ProjectsState.create_open,
                    on_open_change=ProjectsState.set_create_open,
                )
            ],
        ),
        rx.el.div(
            rx.input(
                placeholder="Search projects",
                value=ProjectsState.search,
                on_change=ProjectsState.set_search.debounce(300),
                aria_label="Search projects",
                id="project-search",
                width="18rem",
                size="3",
            ),
            rx.el.select(
                *[rx.el.option(label, value=key) for key, label in SORTS.items()],
                value=ProjectsState.sort,
                on_change=ProjectsState.set_sort,
                class_name="grove-select",
                aria_label="Sort projects",
                id="project-sort",
            ),
            class_name="grove-toolbar",
        ),
        rx.cond(
            ProjectsState.loaded,
            rx.cond(ProjectsState.projects.length() > 0, projects_table, empty),
            rx.spinner(),
        ),
        width="100%",
    )


# ---------------------------------------------------------------- one project

PROJECT_CRUMBS = [("Projects", "/projects"), (ProjectState.name, None)]


def _project_frame(active: str, *content: rx.Component) -> rx.Component:
    base = "/projects/" + ProjectState.project_id
    actions = [
        badge(ProjectState.role, status="info", id="my-role"),
        rx.cond(
            ProjectState.can_edit,
            rx.link(button("Import data", icon="upload", id="import-data"), href=base + "/import"),
        ),
    ]
    return rx.cond(
        ProjectState.loaded,
        rx.box(
            page_header(ProjectState.name, subtitle=ProjectState.description, actions=actions),
            tabs(
                [
                    ("Data sources", base),
                    ("Studio sessions", base + "/studio"),
                    ("Experiments", base + "/experiments"),
                    ("Connections", base + "/connections"),
                    ("Members", base + "/members"),
                    ("Settings", base + "/settings"),
                ],
                active,
                label="Project sections",
                class_name="grove-section-tabs",
            ),
            *content,
            width="100%",
        ),
        rx.center(rx.spinner(size="3"), padding="4rem"),
    )


def _data_source_row(row) -> rx.Component:
    return rx.el.tr(
        rx.el.td(rx.link(row["name"], href="/projects/" + ProjectState.project_id + "/data/" + row["id"])),
        rx.el.td(badge(row["role"])),
        rx.el.td(row["rows"], class_name="num"),
        rx.el.td(row["columns"], class_name="num"),
        rx.el.td(row["size"], class_name="num"),
        rx.el.td("v" + row["version"], class_name="num"),
        rx.el.td(row["updated"]),
    )


@app_page(
    "/projects/[project_id]",
    "Project",
    crumbs=PROJECT_CRUMBS,
    tab="Projects",
    on_load=[ProjectState.load_overview],
)
def project_page() -> rx.Component:
    sources_table = table(
        ("Name", "Role", "Rows", "Columns", "Size", "Version", "Updated"),
        ProjectState.data_sources,
        _data_source_row,
        table_id="data-sources-table",
        numeric=("Rows", "Columns", "Size", "Version"),
    )
    empty = empty_state(
        "No data sources yet",
        rx.cond(
            ProjectState.can_edit,
            "Import station data from a CSV, Excel, Parquet or JSON file to start.",
            "The project's editors have not imported any data yet.",
        ),
        rx.cond(
            ProjectState.can_edit,
            rx.link(
                button("Import data", icon="upload"), href="/projects/" + ProjectState.project_id + "/import"
            ),
        ),
        icon="database",
    )
    return _project_frame(
        "Data sources", rx.cond(ProjectState.data_sources.length() > 0, sources_table, empty)
    )


def _session_row(row) -> rx.Component:
    return rx.el.tr(
        rx.el.td(rx.link(row["name"], href=row["href"])),
        rx.el.td(row["source"]),
        rx.el.td(row["steps"], class_name="num"),
        rx.el.td(row["author"]),
        rx.el.td(row["updated"]),
    )


@app_page(
    "/projects/[project_id]/studio",
    "Studio sessions",
    crumbs=PROJECT_CRUMBS,
    tab="Projects",
    on_load=[ProjectState.load_sessions],
)
def studio_sessions_page() -> rx.Component:
    listing = table(
        ("Session", "Data source", "Step", "Started by", "Changed"),
        ProjectState.studio_sessions,
        _session_row,
        table_id="project-sessions-table",
        numeric=("Step",),
    )
    empty = empty_state(
        "No studio sessions yet",
        "Open a data source and start a Data Studio session to clean and reshape it; every step is kept.",
        icon="wand-sparkles",
    )
    return _project_frame(
        "Studio sessions", rx.cond(ProjectState.studio_sessions.length() > 0, listing, empty)
    )


def _member_row(row) -> rx.Component:
    role_cell = rx.cond(
        ProjectState.is_owner,
        rx.el.select(
            *[rx.el.option(label, value=value) for value, label in ROLE_OPTIONS],
            value=row["role"],
            on_change=lambda role: ProjectState.change_role(row["user_id"], role),
            class_name="grove-select",
            aria_label="Role of " + row["username"],
        ),
        badge(row["role"], status="info"),
    )
    remove_label = rx.cond(row["is_me"] == "yes", "Leave", "Remove")
    remove = rx.cond(
        ProjectState.is_owner | (row["is_me"] == "yes"),
        confirm_modal(
            button(remove_label, variant="ghost", size="1"),
            title="Remove from the project?",
            description="They lose access to this project's data at once.",
            confirm_label="Remove",
            on_confirm=ProjectState.remove_member(row["user_id"]),
            test_id="remove-" + row["username"],
        ),
    )
    return rx.el.tr(
        rx.el.td(
            rx.el.strong(row["username"]), rx.el.span(" " + row["display_name"], class_name="grove-muted")
        ),
        rx.el.td(role_cell),
        rx.el.td(row["joined"]),
        rx.el.td(remove),
    )


@app_page(
    "/projects/[project_id]/members",
    "Members",
    crumbs=PROJECT_CRUMBS,
    tab="Projects",
    on_load=[ProjectState.load_members],
)
def members_page() -> rx.Component:
    add_form = card(
        rx.form(
            rx.hstack(
                text_input("username", "User name", required=True, max_length=64),
                select_input("role", "Role", ROLE_OPTIONS, default_value="viewer"),
                button("Add member", type="submit", id="add-member"),
                align="end",
                spacing="3",
                width="100%",
            ),
            form_error(ProjectState.member_error),
            on_submit=ProjectState.add_member,
            reset_on_submit=True,
        ),
        title="Add a member",
        description="Owners manage members and delete the project; editors change data; viewers only read.",
        margin_bottom="1.5rem",
    )
    members_table = table(
        ("Member", "Role", "Joined", ""), ProjectState.members, _member_row, table_id="members-table"
    )
    return _project_frame("Members", rx.cond(ProjectState.is_owner, add_form), members_table)


@app_page(
    "/projects/[project_id]/settings",
    "Settings",
    crumbs=PROJECT_CRUMBS,
    tab="Projects",
    on_load=[ProjectState.load_settings],
)
def settings_page() -> rx.Component:
    edit = card(
        rx.form(
            rx.vstack(
                text_input(
                    "name",
                    "Name",
                    required=True,
                    default_value=ProjectState.name,
                    error=ProjectState.settings_name_error,
                    max_length=300,
                ),
                textarea_input(
                    "description",
                    "Description",
                    default_value=ProjectState.description,
                    error=ProjectState.settings_description_error,
                    max_length=4000,
                ),
                button("Save", type="submit", id="save-project"),
                spacing="4",
                align="start",
                width="100%",
            ),
            on_submit=ProjectState.save_settings,
            key=ProjectState.name,
        ),
        title="Name and description",
    )
    danger = card(
        rx.el.p(ProjectState.impact, class_name="grove-prose", id="delete-impact"),
        rx.box(
            confirm_modal(
                button("Delete project", variant="danger", id="delete-project"),
                title="Delete this project?",
                description=ProjectState.impact,
                confirm_label="Delete project",
                on_confirm=ProjectState.delete_project,
                test_id="delete-project",
            ),
            margin_top="1rem",
        ),
        title="Delete the project",
        variant="danger",
    )
    read_only = card(
        rx.el.p(
            "Only owners can change the project's settings. Your role is ",
            ProjectState.role,
            ".",
            class_name="grove-prose",
        ),
        title="Settings",
    )
    return _project_frame(
        "Settings",
        rx.cond(
            ProjectState.is_owner,
            rx.vstack(edit, danger, spacing="5", width="100%", align="stretch"),
            read_only,
        ),
    )
