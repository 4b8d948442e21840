"""Operation forms: the catalog the panel renders, and the text <-> JSON values of its fields.

The browser edits every field as text. Lists and mappings travel as JSON text (built by the form's
checkbox lists and per-column rows), numbers as typed, lists of numbers as "1, 2, 3".
"""

from __future__ import annotations

import json
import math
from typing import Any

from hydroml.services.errors import InvalidInput
from hydroml.services.studio.operations import GROUPS, OPERATIONS, Param

_JSON_KINDS = ("columns", "texts", "mapping", "conditions", "source")


def catalog() -> list[dict]:
    """[{"group", "operations": [{"key", "label", "summary", "params": [Param.as_dict()]}]}] in panel order."""
    groups = []
    for group in GROUPS:
        ops = [cls for cls in OPERATIONS.values() if cls.group == group]
        groups.append(
            {
                "group": group,
                "operations": [
                    {
                        "key": cls.key,
                        "label": cls.label,
                        "summary": cls.summary,
                        "params": [p.as_dict() for p in cls.params],
                    }
                    for cls in ops
                ],
            }
        )
    return [g for g in groups if g["operations"]]


def operation_class(op_key: str):
    cls = OPERATIONS.get(op_key)
    if cls is None:
        raise InvalidInput("op", "Choose an operation from the list.")
    return cls


def to_text(param: Param, value: Any) -> str:
    """A parameter value as the text its form field shows."""
    if value is None:
        return ""
    if param.kind in _JSON_KINDS:
        return json.dumps(value, ensure_ascii=False)
    if param.kind == "boolean":
        return "true" if value else "false"
    if param.kind in ("integers", "numbers"):
        return ", ".join(_number_text(v) for v in value)
    if param.kind in ("integer", "number"):
        return _number_text(value)
    return str(value)


def form_values(op_key: str, params: dict | None = None) -> dict[str, str]:
    """Field texts for a new step (defaults) or for editing an existing one."""
    cls = operation_class(op_key)
    values = cls(params or {}).values
    return {p.name: to_text(p, values.get(p.name)) for p in cls.params}


def parse_form(op_key: str, texts: dict[str, str]) -> dict:
    """Field texts -> JSON parameter values. Raises InvalidInput naming the field that cannot be read."""
    cls = operation_class(op_key)
    params = {}
    for p in cls.params:
        raw = (texts.get(p.name) or "").strip()
        params[p.name] = parse_text(p, raw)
    return params


def parse_text(p: Param, raw: str) -> Any:
    if raw == "":
        return [] if p.kind in ("columns", "texts", "integers", "numbers") else None
    try:
        if p.kind in _JSON_KINDS:
            return json.loads(raw)
        if p.kind == "boolean":
            return raw.lower() in ("true", "1", "yes", "on")
        if p.kind == "integer":
            return _integer(raw)
        if p.kind == "number":
            return _number(raw)
        if p.kind == "integers":
            return [_integer(part) for part in raw.replace(";", ",").split(",") if part.strip()]
        if p.kind == "numbers":
            return [_number(part) for part in raw.replace(";", ",").split(",") if part.strip()]
    except (ValueError, TypeError):
        kind = {"integer": "a whole number", "integers": "whole numbers separated by commas"}.get(
            p.kind, "numbers separated by commas" if p.kind == "numbers" else "a number"
        )
        raise InvalidInput(p.name, f"{p.label}: enter {kind}.") from None
    return raw


def _integer(text: str) -> int:
    value = float(text.strip())
    if not math.isfinite(value) or value != int(value):
        raise ValueError(text)
    return int(value)


def _number(text: str) -> float | int:
    value = float(text.strip().replace(",", "."))
    if not math.isfinite(value):
        raise ValueError(text)
    return int(value) if value == int(value) and "." not in text and "e" not in text.lower() else value


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)
