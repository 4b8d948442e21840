"""Tables: dense rows over a list var, numbers right-aligned, long text truncated."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import reflex as rx


def table(
    headers: Sequence[str],
    rows,
    render_row: Callable,
    *,
    table_id: str,
    numeric: Collection[str] = (),
    **props,
) -> rx.Component:
    """`rows` is a list Var; `render_row(row)` returns an rx.el.tr. Headers in `numeric` are right-aligned."""
    head = rx.el.thead(rx.el.tr(*[rx.el.th(h, class_name="num" if h in numeric else None) for h in headers]))
    return rx.el.div(
        rx.el.table(head, rx.el.tbody(rx.foreach(rows, render_row)), class_name="grove-table", id=table_id),
        class_name="grove-table-wrap",
        **props,
    )
