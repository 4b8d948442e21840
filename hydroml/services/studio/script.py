"""A recipe as a plain pandas script: what the studio shows under "Code" and offers as a download.

The script needs only pandas and numpy (plus pyarrow to read Parquet). Run it as
``python recipe.py [input.parquet] [output.parquet]``; it reproduces the studio's frame exactly (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

from hydroml.services.studio.engine import StepStatus
from hydroml.services.studio.operations.base import source_key
from hydroml.services.studio.recipe import Step


@dataclass(frozen=True)
class ScriptSource:
    title: str  # e.g. "Daily hydro-meteorology, version 1"
    filename: str  # the input file name the script reads by default
    sha256: str


def recipe_script(
    session_name: str,
    source: ScriptSource,
    steps: tuple[Step, ...],
    statuses: list[StepStatus],
    other_sources: dict[str, str] | None = None,
) -> str:
    """``steps`` are the applied steps (up to the cursor) and ``statuses`` theirs, in order.

    Turned-off and broken steps appear as comments, so the script matches what the grid shows.
    ``other_sources`` maps `source_key` values to file names for joins and appends.
    """
    lines = [
        f'"""HydroML Data Studio recipe: {_doc(session_name)}',
        "",
        f"Input: {_doc(source.title)} (SHA-256 {source.sha256}).",
        "Run: python this_script.py [input.parquet] [output.parquet]",
        '"""',
        "",
        "import sys",
        "",
        "import numpy as np",
        "import pandas as pd",
        "",
        f"INPUT = sys.argv[1] if len(sys.argv) > 1 else {source.filename!r}",
    ]
    if other_sources:
        lines.append(
            "SOURCES = {  # other data sources used by joins and appends: download them beside this file"
        )
        lines += [f"    {key!r}: {filename!r}," for key, filename in other_sources.items()]
        lines.append("}")
    lines += ["", "df = pd.read_parquet(INPUT)"]
    by_id = {status.step_id: status for status in statuses}
    for number, step in enumerate(steps, start=1):
        status = by_id.get(step.id)
        try:
            operation = step.operation()
            if status is not None:
                operation.validate(status.input_schema)  # typed code needs the input's dtypes
            title = operation.describe()
        except Exception:  # noqa: BLE001 - an unknown op is already reported as broken
            operation, title = None, step.op
        lines.append("")
        if not step.enabled:
            lines.append(f"# Step {number} (turned off): {_comment(title)}")
        elif status is not None and status.state == "broken" or operation is None:
            reason = status.reason if status else "unknown operation"
            lines.append(f"# Step {number} (skipped, does not fit: {_comment(reason)}): {_comment(title)}")
        else:
            lines.append(f"# Step {number}: {_comment(title)}")
            lines += operation.code()
    lines += [
        "",
        "if len(sys.argv) > 2:",
        "    df.to_parquet(sys.argv[2], index=False)",
        "else:",
        "    print(df)",
        "",
    ]
    return "\n".join(lines)


def other_source_refs(steps: tuple[Step, ...]) -> list[dict]:
    """The {"data_source_id", "version", "name"} references of joins/appends among ``steps``, once each."""
    refs: dict[str, dict] = {}
    for step in steps:
        for value in step.params.values():
            if isinstance(value, dict) and value.get("data_source_id") and "version" in value:
                refs.setdefault(source_key(value), value)
    return list(refs.values())


def _comment(text: str) -> str:
    return " ".join(str(text).split())


def _doc(text: str) -> str:
    return _comment(text).replace('"""', "'''").replace("\\", "/")
