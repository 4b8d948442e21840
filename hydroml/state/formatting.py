"""Small display helpers shared by state classes (strings for the UI; no business logic)."""

from __future__ import annotations

import json
from datetime import datetime


def when(moment: datetime) -> str:
    return moment.strftime("%d %b %Y %H:%M")


def size(num_bytes: int) -> str:
    value = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} TB"


def count(value: int) -> str:
    return f"{value:,}"


def parameter_lines(params: dict, limit: int = 200) -> list[str]:
    """Bound SQL parameters as the query pages list them: ":name = value" (long values cut)."""
    return [
        f":{key} = {json.dumps(value, ensure_ascii=False, default=str)[:limit]}"
        for key, value in params.items()
    ]


class JobProgress:
    """What a job's worker thread reports (stage, rows done, total); read by the event loop to draw a bar."""

    def __init__(self, stage: str, expected: int | None = None) -> None:
        self.stage, self.done, self.total, self.expected = stage, 0, None, expected

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        self.stage, self.done, self.total = stage, done, total

    def percent(self, current: int) -> int:
        total = self.total or self.expected
        return min(99, round(self.done * 100 / total)) if total else current

    def label(self) -> str:
        return f"{self.stage} · {count(self.done)} rows" if self.done else self.stage
