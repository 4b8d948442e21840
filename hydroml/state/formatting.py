"""Small display helpers shared by state classes (strings for the UI; no business logic)."""

from __future__ import annotations

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
