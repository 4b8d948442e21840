"""Dashboard for the signed-in user."""

from __future__ import annotations

import reflex as rx

from hydroml.services import dashboard
from hydroml.services.errors import ServiceError
from hydroml.state.auth import AuthState


class DashboardState(AuthState):
    tiles: list[dict[str, str]] = []

    @rx.event
    def load(self):
        try:
            user = self._require_user()
        except ServiceError as error:
            return self._fail(error)
        self.tiles = [
            {"key": tile.key, "label": tile.label, "value": tile.value, "hint": tile.hint}
            for tile in dashboard.summary(user)
        ]
