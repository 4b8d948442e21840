"""The "Demo catchments" project of the demo account, built from the deterministic generator."""

from __future__ import annotations

from hydroml.services import datasources, demo_data, projects
from hydroml.services.auth import UserInfo

DEMO_PROJECT = "Demo catchments"
DESCRIPTIONS = {
    "Daily hydro-meteorology": "Daily precipitation, air temperature and streamflow of five gauging stations, "
    "1999-2023. Watch out: station ST04 reports flow in L/s, not m3/s; there are gaps and negative glitches.",
    "Water quality samples": "Irregular water-quality samples per station.",
    "Station attributes": "Catchment attributes per station, for joins.",
}
ROLES = {
    "Daily hydro-meteorology": "primary",
    "Water quality samples": "secondary",
    "Station attributes": "reference",
}


def ensure_demo_project(user: UserInfo) -> projects.ProjectInfo | None:
    """Create the demo project once for `user`. Returns it when created, None when the user has it already."""
    if any(p.name == DEMO_PROJECT for p in projects.list_projects(user, search=DEMO_PROJECT)):
        return None
    project = projects.create_project(
        user,
        DEMO_PROJECT,
        "Five synthetic gauging stations from a conceptual rainfall-runoff model: a safe place "
        "to try every part of HydroML.",
    )
    try:
        for name, frame in demo_data.demo_frames().items():
            datasources.create_from_frame(
                user,
                project.id,
                name,
                frame,
                role=ROLES.get(name, "primary"),
                description=DESCRIPTIONS.get(name, ""),
            )
    except BaseException:
        projects.delete_project(user, project.id)
        raise
    return projects.get_project(user, project.id)
