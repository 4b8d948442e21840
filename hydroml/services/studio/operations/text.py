"""Text operations: trim, change case, find and replace, extract with a pattern, length.

They work on text columns and on category columns. Every result is a plain text column (pandas' "str" dtype): the
code first converts with ``.astype('str')`` (a no-op for text columns), so category and mixed columns behave like
text. Missing values stay missing.
"""

from __future__ import annotations

import re

import pandas as pd

from hydroml.services.studio.operations.base import (
    Context,
    Operation,
    OperationError,
    Param,
    ParamError,
    Schema,
    col,
    register,
)

GROUP = "Text"
TEXTUAL = ("string", "category")


def _names(columns: list[str]) -> str:
    shown = ", ".join(columns[:4])
    return shown + (f" and {len(columns) - 4} more" if len(columns) > 4 else "")


def _text(column: str) -> str:
    """Code for a column as text."""
    return f"{col(column)}.astype('str')"


def _taken(name: str, schema: Schema) -> list[ParamError]:
    if name in schema:
        return [
            ParamError(
                "new_name", f"New column: a column named {name!r} already exists; choose another name."
            )
        ]
    return []


class _ColumnsTextOperation(Operation):
    """A text method applied to each chosen column in place: ``df[c] = df[c].astype('str').str.<method>``."""

    def _method(self) -> tuple[str, tuple]:
        raise NotImplementedError

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        name, args = self._method()
        out = df.copy(deep=False)
        for column in self.values["columns"]:
            try:
                out[column] = getattr(df[column].astype("str").str, name)(*args)
            except (re.error, ValueError, TypeError) as exc:
                raise OperationError(f"Cannot change {column!r}: {exc}") from None
        return out

    def code(self) -> list[str]:
        name, args = self._method()
        call = f".str.{name}({', '.join(repr(a) for a in args)})"
        return [f"df[{column!r}] = {_text(column)}{call}" for column in self.values["columns"]]


@register
class TextTrim(_ColumnsTextOperation):
    key = "text_trim"
    label = "Trim spaces"
    group = GROUP
    summary = "Remove spaces (and tabs, line breaks) at the start and end of text values."
    params = (
        Param("columns", "Columns", "columns", dtypes=TEXTUAL),
        Param("side", "Side", "choice", default="both", choices=("both", "left", "right")),
    )

    def _method(self) -> tuple[str, tuple]:
        return {"both": "strip", "left": "lstrip", "right": "rstrip"}[self.values["side"]], ()

    def describe(self) -> str:
        side = {"both": "", "left": " (start)", "right": " (end)"}[self.values["side"]]
        return f"Trim spaces{side} in {_names(self.values['columns'])}"


@register
class TextCase(_ColumnsTextOperation):
    key = "text_case"
    label = "Change case"
    group = GROUP
    summary = "Make text lower case, UPPER CASE or Title Case."
    params = (
        Param("columns", "Columns", "columns", dtypes=TEXTUAL),
        Param("case", "Case", "choice", default="lower", choices=("lower", "upper", "title")),
    )

    def _method(self) -> tuple[str, tuple]:
        return self.values["case"], ()

    def describe(self) -> str:
        return f"{self.values['case'].capitalize()} case for {_names(self.values['columns'])}"


@register
class TextReplace(Operation):
    key = "text_replace"
    label = "Find and replace"
    group = GROUP
    summary = "Replace a piece of text (or a regular expression) with another text."
    params = (
        Param("columns", "Columns", "columns", dtypes=TEXTUAL),
        Param("find", "Find", "text"),
        Param(
            "replace_with", "Replace with", "text", default="", required=False, help="Empty: remove the text."
        ),
        Param(
            "regex",
            "Regular expression",
            "boolean",
            default=False,
            help=r"Treat Find as a regular expression, e.g. \s+ for runs of spaces; use \1 in Replace with for a group.",
        ),
    )

    def check(self, schema: Schema) -> list[ParamError]:
        if not self.values["regex"]:
            return []
        try:
            pattern = re.compile(self.values["find"])
        except re.error as exc:
            return [ParamError("find", f"Find: not a valid regular expression ({exc}).")]
        try:
            pattern.sub(self.values["replace_with"] or "", "")  # checks group references such as \1
        except (re.error, IndexError) as exc:
            return [ParamError("replace_with", f"Replace with: {exc}.")]
        return []

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        find, repl, regex = self.values["find"], self.values["replace_with"] or "", self.values["regex"]
        out = df.copy(deep=False)
        for column in self.values["columns"]:
            try:
                out[column] = df[column].astype("str").str.replace(find, repl, regex=regex)
            except (re.error, ValueError, TypeError) as exc:
                raise OperationError(f"Cannot replace in {column!r}: {exc}") from None
        return out

    def describe(self) -> str:
        kind = "pattern " if self.values["regex"] else ""
        return (
            f"Replace {kind}{self.values['find']!r} with {self.values['replace_with'] or ''!r} "
            f"in {_names(self.values['columns'])}"
        )

    def code(self) -> list[str]:
        find, repl, regex = self.values["find"], self.values["replace_with"] or "", self.values["regex"]
        return [
            f"df[{column!r}] = {_text(column)}.str.replace({find!r}, {repl!r}, regex={regex!r})"
            for column in self.values["columns"]
        ]


@register
class TextExtract(Operation):
    """Copy the part of each value matched by the first capture group of a regular expression into a new column.

    Values without a match (and missing values) give a missing value.
    """

    key = "text_extract"
    label = "Extract with pattern"
    group = GROUP
    summary = "Copy the part of the text matched by a group in parentheses, e.g. (\\d+) for the first number."
    params = (
        Param("column", "Column", "column", dtypes=TEXTUAL),
        Param(
            "pattern",
            "Pattern",
            "text",
            help=r"A regular expression with a group in parentheses; the first group is kept, e.g. ST(\d+).",
        ),
        Param(
            "new_name",
            "New column",
            "text",
            default="",
            required=False,
            help="Empty: column name + _extract.",
        ),
    )

    def _target(self) -> str:
        return self.values["new_name"] or f"{self.values['column']}_extract"

    def check(self, schema: Schema) -> list[ParamError]:
        try:
            pattern = re.compile(self.values["pattern"])
        except re.error as exc:
            return [ParamError("pattern", f"Pattern: not a valid regular expression ({exc}).")]
        if pattern.groups < 1:
            return [
                ParamError(
                    "pattern",
                    r"Pattern: put the part to keep in parentheses (a capture group), e.g. ST(\d+).",
                )
            ]
        return _taken(self._target(), schema)

    def _groups(self) -> int:
        return re.compile(self.values["pattern"]).groups

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        text = df[self.values["column"]].astype("str")
        try:
            if self._groups() == 1:
                values = text.str.extract(self.values["pattern"], expand=False)
            else:
                values = text.str.extract(self.values["pattern"], expand=True).iloc[:, 0]
        except (re.error, ValueError) as exc:
            raise OperationError(f"Cannot extract from {self.values['column']!r}: {exc}") from None
        out = df.copy(deep=False)
        out[self._target()] = values
        return out

    def describe(self) -> str:
        return f"Extract {self.values['pattern']!r} from {self.values['column']} → {self._target()}"

    def code(self) -> list[str]:
        pattern = self.values["pattern"]
        if self._groups() == 1:
            call = f".str.extract({pattern!r}, expand=False)"
        else:
            call = f".str.extract({pattern!r}, expand=True).iloc[:, 0]"
        return [f"df[{self._target()!r}] = {_text(self.values['column'])}{call}"]


@register
class TextLength(Operation):
    key = "text_length"
    label = "Text length"
    group = GROUP
    summary = "Count the characters of each text value into a new column (missing stays missing)."
    params = (
        Param("column", "Column", "column", dtypes=TEXTUAL),
        Param(
            "new_name", "New column", "text", default="", required=False, help="Empty: column name + _length."
        ),
    )

    def _target(self) -> str:
        return self.values["new_name"] or f"{self.values['column']}_length"

    def check(self, schema: Schema) -> list[ParamError]:
        return _taken(self._target(), schema)

    def apply(self, df: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        out = df.copy(deep=False)
        out[self._target()] = df[self.values["column"]].astype("str").str.len()
        return out

    def describe(self) -> str:
        return f"Length of {self.values['column']} → {self._target()}"

    def code(self) -> list[str]:
        return [f"df[{self._target()!r}] = {_text(self.values['column'])}.str.len()"]
