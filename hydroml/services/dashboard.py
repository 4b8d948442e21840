"""What the dashboard counts for a user.

Each feature adds its counter to `COUNTERS` when it lands (projects, data sources, studio sessions, runs), so
the dashboard fills in without changes to the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hydroml.db import utcnow
from hydroml.services import auth, datasources, projects
from hydroml.services.auth import UserInfo
from hydroml.services.studio import sessions as studio_sessions


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: str
    hint: str


@dataclass(frozen=True)
class Counter:
    key: str
    label: str
    count: Callable[[UserInfo], int]
    hint: str


def _days_member(user: UserInfo) -> int:
    return max(0, (utcnow() - user.created_at).days)


COUNTERS: list[Counter] = [
    Counter(
        "projects",
        "Projects",
        lambda user: projects.project_count(user.id),
        "Projects you are a member of",
    ),
    Counter(
        "data_sources",
        "Data sources",
        lambda user: datasources.data_source_count(user.id),
        "In your projects",
    ),
    Counter(
        "studio_sessions",
        "Studio sessions",
        lambda user: studio_sessions.session_count(user.id),
        "Cleaning histories in your projects",
    ),
    Counter(
        "sessions",
        "Signed-in sessions",
        lambda user: auth.active_session_count(user.id),
        "Browsers signed in to your account",
    ),
    Counter("member_days", "Days with HydroML", _days_member, "Since you registered"),
]


def summary(user: UserInfo) -> list[Tile]:
    return [Tile(c.key, c.label, f"{c.count(user):,}", c.hint) for c in COUNTERS]
