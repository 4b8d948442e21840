"""Recipe semantics: cursor moves, redo steps, toggles, edits, deletes, moves, JSON round trip."""

from __future__ import annotations

import json

import pytest

from hydroml.services.errors import InvalidInput
from hydroml.services.studio.recipe import RECIPE_FORMAT, Recipe, new_step


def _recipe(n: int) -> Recipe:
    recipe = Recipe()
    for i in range(n):
        recipe = recipe.add(new_step("drop_columns", {"columns": [f"c{i}"]}))
    return recipe


def test_add_undo_redo_jump_move_the_cursor_only():
    recipe = _recipe(3)
    assert recipe.cursor == 3 and len(recipe.steps) == 3
    undone = recipe.undo().undo()
    assert undone.cursor == 1 and undone.steps == recipe.steps and undone.redo_count == 2
    assert undone.redo().cursor == 2
    assert undone.jump(0).cursor == 0 and undone.jump(3).cursor == 3
    with pytest.raises(InvalidInput, match="Nothing to undo"):
        recipe.jump(0).undo()
    with pytest.raises(InvalidInput, match="Nothing to redo"):
        recipe.redo()
    with pytest.raises(InvalidInput, match="between 0 and 3"):
        recipe.jump(4)


def test_adding_after_an_undo_needs_consent_to_discard_the_redo_steps():
    recipe = _recipe(3).undo().undo()
    step = new_step("drop_columns", {"columns": ["x"]})
    with pytest.raises(InvalidInput, match="discards 2 undone step") as caught:
        recipe.add(step)
    assert caught.value.field == "discard_redo"
    added = recipe.add(step, discard_redo=True)
    assert [s.id for s in added.steps] == [recipe.steps[0].id, step.id] and added.cursor == 2


def test_toggle_edit_delete_and_move_keep_every_other_step():
    recipe = _recipe(4)
    first, second, third, fourth = (s.id for s in recipe.steps)
    toggled = recipe.toggle(second)
    assert [s.enabled for s in toggled.steps] == [True, False, True, True]
    assert toggled.toggle(second).steps == recipe.steps
    edited = recipe.edit(third, {"columns": ["renamed"]})
    assert edited.steps[2].params == {"columns": ["renamed"]} and edited.steps[2].id == third
    deleted = recipe.delete(first)
    assert [s.id for s in deleted.steps] == [second, third, fourth] and deleted.cursor == 3
    moved = recipe.move(fourth, -1)
    assert [s.id for s in moved.steps] == [first, second, fourth, third]
    with pytest.raises(InvalidInput, match="edge"):
        recipe.move(first, -1)


def test_undone_steps_do_not_move_among_applied_ones_and_deleting_one_keeps_the_cursor():
    recipe = _recipe(3).undo()
    with pytest.raises(InvalidInput, match="redo or undo first"):
        recipe.move(recipe.steps[2].id, -1)
    assert recipe.delete(recipe.steps[2].id).cursor == 2


def test_json_round_trip_and_format_guard():
    two = _recipe(2)
    recipe = two.undo().toggle(two.steps[0].id)
    text = recipe.to_json()
    assert json.loads(text)["format"] == RECIPE_FORMAT
    assert Recipe.from_json(text).to_json() == text
    newer = json.dumps({"format": RECIPE_FORMAT + 1, "cursor": 0, "steps": []})
    with pytest.raises(InvalidInput, match="newer HydroML"):
        Recipe.from_json(newer)
    assert Recipe.from_json("") == Recipe()


def test_unknown_operations_and_parameters_are_refused_before_saving():
    with pytest.raises(InvalidInput, match="does not know"):
        new_step("rm_rf", {})
    with pytest.raises(ValueError, match="unknown parameter"):
        new_step("drop_columns", {"columns": ["a"], "evil": 1})
