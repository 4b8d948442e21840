"""A recipe: the ordered steps of a studio session plus a cursor (how many steps are applied).

The recipe is the truth of a session. It is plain JSON, versioned by `RECIPE_FORMAT`, and every change goes
through a method here that returns a new Recipe, so the session service can check, save and report it.
Steps past the cursor are the redo steps; a disabled step stays in the list but passes the frame through.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace

from hydroml.services.errors import InvalidInput
from hydroml.services.studio.operations import OPERATIONS, Operation

RECIPE_FORMAT = 1
MAX_STEPS = 500


@dataclass(frozen=True)
class Step:
    id: str
    op: str
    params: dict
    enabled: bool = True

    def operation(self) -> Operation:
        cls = OPERATIONS.get(self.op)
        if cls is None:
            raise InvalidInput("op", f"This version of HydroML does not know the operation {self.op!r}.")
        return cls(self.params)

    def to_json(self) -> dict:
        return {"id": self.id, "op": self.op, "params": self.params, "enabled": self.enabled}


def new_step(op: str, params: dict) -> Step:
    step = Step(id=uuid.uuid4().hex[:12], op=op, params=params)
    step.operation()  # unknown operation or parameter names fail here, before anything is saved
    return step


@dataclass(frozen=True)
class Recipe:
    steps: tuple[Step, ...] = field(default_factory=tuple)
    cursor: int = 0

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> str:
        return json.dumps(
            {"format": RECIPE_FORMAT, "cursor": self.cursor, "steps": [s.to_json() for s in self.steps]},
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str | None) -> Recipe:
        if not text:
            return cls()
        data = json.loads(text)
        if int(data.get("format", 1)) > RECIPE_FORMAT:
            raise InvalidInput(
                "recipe", "This recipe was saved by a newer HydroML; update HydroML to open it."
            )
        steps = tuple(
            Step(
                id=str(s["id"]),
                op=str(s["op"]),
                params=dict(s.get("params") or {}),
                enabled=bool(s["enabled"]),
            )
            for s in data.get("steps", [])
        )
        return cls(steps=steps, cursor=max(0, min(int(data.get("cursor", len(steps))), len(steps))))

    # ------------------------------------------------------------------ queries

    @property
    def applied(self) -> tuple[Step, ...]:
        return self.steps[: self.cursor]

    @property
    def redo_count(self) -> int:
        return len(self.steps) - self.cursor

    def index_of(self, step_id: str) -> int:
        for i, step in enumerate(self.steps):
            if step.id == step_id:
                return i
        raise InvalidInput("step", "That step is no longer in this session's history.")

    # ------------------------------------------------------------------ changes (each returns a new recipe)

    def add(self, step: Step, discard_redo: bool = False) -> Recipe:
        if self.redo_count and not discard_redo:
            raise InvalidInput(
                "discard_redo",
                f"Adding a step here discards {self.redo_count} undone step(s). Confirm to continue.",
            )
        if self.cursor >= MAX_STEPS:
            raise InvalidInput(
                "step", f"A session holds at most {MAX_STEPS} steps; save the result and go on."
            )
        return Recipe(steps=self.applied + (step,), cursor=self.cursor + 1)

    def undo(self) -> Recipe:
        if self.cursor == 0:
            raise InvalidInput("cursor", "Nothing to undo.")
        return replace(self, cursor=self.cursor - 1)

    def redo(self) -> Recipe:
        if self.redo_count == 0:
            raise InvalidInput("cursor", "Nothing to redo.")
        return replace(self, cursor=self.cursor + 1)

    def jump(self, cursor: int) -> Recipe:
        if not 0 <= cursor <= len(self.steps):
            raise InvalidInput("cursor", f"Choose a step between 0 and {len(self.steps)}.")
        return replace(self, cursor=cursor)

    def toggle(self, step_id: str) -> Recipe:
        i = self.index_of(step_id)
        step = self.steps[i]
        return self._with_step(i, replace(step, enabled=not step.enabled))

    def edit(self, step_id: str, params: dict) -> Recipe:
        i = self.index_of(step_id)
        step = self.steps[i]
        edited = replace(step, params=params)
        edited.operation()
        return self._with_step(i, edited)

    def delete(self, step_id: str) -> Recipe:
        i = self.index_of(step_id)
        cursor = self.cursor - 1 if i < self.cursor else self.cursor
        return Recipe(steps=self.steps[:i] + self.steps[i + 1 :], cursor=cursor)

    def move(self, step_id: str, offset: int) -> Recipe:
        """Move a step up (-1) or down (+1). Applied and undone steps do not mix: the cursor stays between them."""
        i = self.index_of(step_id)
        j = i + offset
        if not 0 <= j < len(self.steps):
            raise InvalidInput("step", "The step is already at the edge of the history.")
        if (i < self.cursor) != (j < self.cursor):
            raise InvalidInput("step", "Undone steps cannot move among applied ones: redo or undo first.")
        steps = list(self.steps)
        steps[i], steps[j] = steps[j], steps[i]
        return replace(self, steps=tuple(steps))

    def _with_step(self, i: int, step: Step) -> Recipe:
        return replace(self, steps=self.steps[:i] + (step,) + self.steps[i + 1 :])
