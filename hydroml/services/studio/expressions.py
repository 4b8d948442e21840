"""A small, safe formula language for computed columns.

Users type formulas such as ``flow * 1000``, ``where(flow < 0, nan, flow)`` or ```flow (m3/s)` / area_km2``. The
text is parsed with Python's ``ast`` module (``mode="eval"``) and only a whitelist of node types is accepted; it is
never passed to ``eval``/``exec``. The accepted tree is translated into small node objects that know two things:
how to compute themselves on a frame (``evaluate``) and how to print themselves as pandas/numpy source
(``code``). Both follow the same tree and call the same pandas/numpy operations, so the printed code gives
bit-identical results when run with only ``pd``, ``np`` and ``df`` in scope.

The language
------------
- numbers (``3``, ``2.5``, ``1e-3``), text in quotes (``'ST04'``), ``True``/``False``, ``nan`` (a missing number);
- column names: bare when they are plain identifiers (``flow``), in backticks otherwise (```flow (m3/s)```);
- ``+ - * / // % **``, unary ``-``/``+``, comparisons ``== != < <= > >=`` (chains like ``0 < x < 5`` allowed);
- ``and``/``or``/``not`` (also written ``&``/``|``/``~``), element-wise on columns;
- ``a if condition else b`` (same as ``where(condition, a, b)``);
- functions: abs, sqrt, log, log10, log1p, exp, round(x, digits), floor, ceil, clip(x, low, high),
  min(a, b, ...), max(a, b, ...) (element-wise; a missing value gives missing), where(condition, a, b),
  isna(x), notna(x), fillna(x, value), year(d), month(d), day(d), dayofyear(d).

Every bare name that is not a function being called (and not ``nan``) is a column; a column named like a keyword or
``nan`` needs backticks. Values have kinds (number, boolean, text, datetime, category) taken from the schema; a
formula mixing kinds in a way pandas would reject or silently mangle (text minus number, ``not`` on a number, ...)
is refused with a message that names the problem and where it is.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import operator
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

MAX_LENGTH = 2000
MAX_DEPTH = 100
_MAX_INT = 2**63 - 1
_MAX_POWER_BITS = 4096  # scalar integer powers larger than this many bits are refused (10 ** 10 ** 10 ...)

# Kinds of values. None = unknown (formula compiled without a schema, e.g. to print its code).
NUMBER, BOOLEAN, TEXT, DATETIME, CATEGORY = "number", "boolean", "text", "datetime", "category"
_KIND_OF_DTYPE = {
    "integer": NUMBER,
    "float": NUMBER,
    "boolean": BOOLEAN,
    "string": TEXT,
    "category": CATEGORY,
    "datetime": DATETIME,
}
_KIND_WORDS = {
    NUMBER: "a number",
    BOOLEAN: "a true/false value",
    TEXT: "text",
    DATETIME: "a date",
    CATEGORY: "a category",
}

FUNCTIONS = (
    "abs",
    "sqrt",
    "log",
    "log10",
    "log1p",
    "exp",
    "round",
    "floor",
    "ceil",
    "clip",
    "min",
    "max",
    "where",
    "isna",
    "notna",
    "fillna",
    "year",
    "month",
    "day",
    "dayofyear",
)

# Python operator precedence, lowest first (for printing with as few parentheses as possible).
_TERNARY, _OR, _AND, _NOT, _CMP, _BOR, _BAND, _ARITH, _TERM, _UNARY, _POW, _ATOM = range(1, 13)


class FormulaError(ValueError):
    """A formula that cannot be accepted or computed; ``message`` is meant for the user."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position  # 0-based character offset in the formula text, when known

    def __str__(self) -> str:
        return self.message


# ---------------------------------------------------------------------------------------------- nodes


class _Node:
    """One compiled piece of a formula. ``vector`` is True when the value depends on a column (a Series)."""

    kind: str | None = None
    vector: bool = False

    _rendered: tuple[str, int] | None = None

    def render(self) -> tuple[str, int]:
        """The code and its operator precedence (computed once: parents look at their children twice)."""
        if self._rendered is None:
            self._rendered = self._render()
        return self._rendered

    def _render(self) -> tuple[str, int]:
        raise NotImplementedError

    def eval(self, df: pd.DataFrame) -> Any:
        raise NotImplementedError

    def depends(self) -> set[str]:
        return set()


def _wrap(node: _Node, parens: bool) -> str:
    text, _ = node.render()
    return f"({text})" if parens else text


def _as_atom(node: _Node) -> str:
    text, prec = node.render()
    return text if prec >= _ATOM else f"({text})"


class _Column(_Node):
    def __init__(self, name: str, kind: str | None) -> None:
        self.name, self.kind, self.vector = name, kind, True

    def _render(self) -> tuple[str, int]:
        return f"df[{self.name!r}]", _ATOM

    def eval(self, df: pd.DataFrame) -> Any:
        return df[self.name]

    def depends(self) -> set[str]:
        return {self.name}


class _Const(_Node):
    def __init__(self, value: Any, kind: str, source: str | None = None) -> None:
        self.value, self.kind, self.source = value, kind, source

    def _render(self) -> tuple[str, int]:
        return (self.source or repr(self.value)), _ATOM

    def eval(self, df: pd.DataFrame) -> Any:
        return self.value


class _Unary(_Node):
    _FUNCS: dict[str, Callable] = {
        "-": operator.neg,
        "+": operator.pos,
        "~": operator.invert,
        "not ": operator.not_,
    }

    def __init__(self, symbol: str, operand: _Node, kind: str | None) -> None:
        self.symbol, self.operand, self.kind, self.vector = symbol, operand, kind, operand.vector

    def _render(self) -> tuple[str, int]:
        prec = _NOT if self.symbol == "not " else _UNARY
        return self.symbol + _wrap(self.operand, self.operand.render()[1] < prec), prec

    def eval(self, df: pd.DataFrame) -> Any:
        return self._FUNCS[self.symbol](self.operand.eval(df))

    def depends(self) -> set[str]:
        return self.operand.depends()


_BINARY: dict[str, tuple[Callable, int]] = {
    "+": (operator.add, _ARITH),
    "-": (operator.sub, _ARITH),
    "*": (operator.mul, _TERM),
    "/": (operator.truediv, _TERM),
    "//": (operator.floordiv, _TERM),
    "%": (operator.mod, _TERM),
    "**": (operator.pow, _POW),
    "&": (operator.and_, _BAND),
    "|": (operator.or_, _BOR),
    "==": (operator.eq, _CMP),
    "!=": (operator.ne, _CMP),
    "<": (operator.lt, _CMP),
    "<=": (operator.le, _CMP),
    ">": (operator.gt, _CMP),
    ">=": (operator.ge, _CMP),
}


class _Binary(_Node):
    def __init__(self, symbol: str, left: _Node, right: _Node, kind: str | None) -> None:
        self.symbol, self.left, self.right, self.kind = symbol, left, right, kind
        self.vector = left.vector or right.vector

    def _render(self) -> tuple[str, int]:
        prec = _BINARY[self.symbol][1]
        lp, rp = self.left.render()[1], self.right.render()[1]
        if prec == _POW:  # right-associative; its right operand may be a unary expression
            left, right = lp <= prec, rp < _UNARY
        elif prec == _CMP:  # never let two comparisons form a chain by accident
            left, right = lp <= prec, rp <= prec
        else:  # left-associative
            left, right = lp < prec, rp <= prec
        return f"{_wrap(self.left, left)} {self.symbol} {_wrap(self.right, right)}", prec

    def eval(self, df: pd.DataFrame) -> Any:
        a, b = self.left.eval(df), self.right.eval(df)
        if self.symbol == "**":
            _guard_power(a, b)
        return _BINARY[self.symbol][0](a, b)

    def depends(self) -> set[str]:
        return self.left.depends() | self.right.depends()


def _guard_power(base: Any, exponent: Any) -> None:
    """Refuse scalar powers Python would compute forever (huge integers) or as complex numbers."""
    numbers = (int, float, np.integer, np.floating)
    scalars = isinstance(base, numbers) and isinstance(exponent, numbers)
    if scalars and base < 0 and np.isfinite(exponent) and not float(exponent).is_integer():
        raise FormulaError(
            f"A negative number to a fractional power ({base} ** {exponent}) is not a real number."
        )
    integers = isinstance(base, int) and isinstance(exponent, int)
    if integers and exponent > 0 and abs(base) > 1 and base.bit_length() * exponent > _MAX_POWER_BITS:
        raise FormulaError(f"The number {base} ** {exponent} is too large.")


class _Logic(_Node):
    """Python ``and``/``or`` between two values that are not columns (short-circuit, like the printed code)."""

    def __init__(self, word: str, left: _Node, right: _Node) -> None:
        self.word, self.left, self.right, self.kind = word, left, right, BOOLEAN

    def _render(self) -> tuple[str, int]:
        prec = _AND if self.word == "and" else _OR
        left, right = self.left.render()[1] < prec, self.right.render()[1] <= prec
        return f"{_wrap(self.left, left)} {self.word} {_wrap(self.right, right)}", prec

    def eval(self, df: pd.DataFrame) -> Any:
        a = self.left.eval(df)
        if self.word == "and":
            return a and self.right.eval(df)
        return a or self.right.eval(df)

    def depends(self) -> set[str]:
        return self.left.depends() | self.right.depends()


class _Chain(_Node):
    """A chained comparison of values that are not columns (``1 < 2 < 3``), with Python's own semantics."""

    def __init__(self, symbols: list[str], operands: list[_Node]) -> None:
        self.symbols, self.operands, self.kind = symbols, operands, BOOLEAN

    def _render(self) -> tuple[str, int]:
        parts = [_wrap(self.operands[0], self.operands[0].render()[1] <= _CMP)]
        for symbol, node in zip(self.symbols, self.operands[1:], strict=True):
            parts += [symbol, _wrap(node, node.render()[1] <= _CMP)]
        return " ".join(parts), _CMP

    def eval(self, df: pd.DataFrame) -> Any:
        left = self.operands[0].eval(df)
        for symbol, node in zip(self.symbols, self.operands[1:], strict=True):
            right = node.eval(df)
            if not _BINARY[symbol][0](left, right):
                return False
            left = right
        return True

    def depends(self) -> set[str]:
        return set().union(*(n.depends() for n in self.operands))


class _Ternary(_Node):
    """``a if cond else b`` when the condition does not depend on a column."""

    def __init__(self, cond: _Node, a: _Node, b: _Node, kind: str | None) -> None:
        self.cond, self.a, self.b, self.kind = cond, a, b, kind
        self.vector = a.vector and b.vector  # "always a Series"; otherwise the formula's result is broadcast

    def _render(self) -> tuple[str, int]:
        parts = [_wrap(n, n.render()[1] <= _TERNARY) for n in (self.a, self.cond, self.b)]
        return f"{parts[0]} if {parts[1]} else {parts[2]}", _TERNARY

    def eval(self, df: pd.DataFrame) -> Any:
        return self.a.eval(df) if self.cond.eval(df) else self.b.eval(df)

    def depends(self) -> set[str]:
        return self.cond.depends() | self.a.depends() | self.b.depends()


class _Where(_Node):
    """Element-wise choice with a column condition: ``a.where(cond, b)``, ``b.mask(cond, a)`` or a broadcast."""

    def __init__(self, cond: _Node, a: _Node, b: _Node, kind: str | None) -> None:
        self.cond, self.a, self.b, self.kind, self.vector = cond, a, b, kind, True

    def _render(self) -> tuple[str, int]:
        cond, a, b = self.cond.render()[0], self.a.render()[0], self.b.render()[0]
        if self.a.vector:
            return f"{_as_atom(self.a)}.where({cond}, {b})", _ATOM
        if self.b.vector:
            return f"{_as_atom(self.b)}.mask({cond}, {a})", _ATOM
        return f"pd.Series({a}, index=df.index).where({cond}, {b})", _ATOM

    def eval(self, df: pd.DataFrame) -> Any:
        cond, a, b = self.cond.eval(df), self.a.eval(df), self.b.eval(df)
        if self.a.vector:
            return a.where(cond, b)
        if self.b.vector:
            return b.mask(cond, a)
        return pd.Series(a, index=df.index).where(cond, b)

    def depends(self) -> set[str]:
        return self.cond.depends() | self.a.depends() | self.b.depends()


class _Call(_Node):
    """A numpy/pandas function call: ``np.sqrt(x)``, ``pd.isna(x)``, ``np.round(x, 2)``."""

    def __init__(self, name: str, func: Callable, args: list[_Node], kind: str | None) -> None:
        self.name, self.func, self.args, self.kind = name, func, args, kind
        self.vector = any(a.vector for a in args)

    def _render(self) -> tuple[str, int]:
        return f"{self.name}({', '.join(a.render()[0] for a in self.args)})", _ATOM

    def eval(self, df: pd.DataFrame) -> Any:
        return self.func(*(a.eval(df) for a in self.args))

    def depends(self) -> set[str]:
        return set().union(*(a.depends() for a in self.args))


class _Method(_Node):
    """A method or accessor attribute of a column value: ``x.fillna(v)``, ``x.dt.year``."""

    def __init__(
        self, target: _Node, path: tuple[str, ...], args: list[_Node] | None, kind: str | None
    ) -> None:
        self.target, self.path, self.args, self.kind, self.vector = target, path, args, kind, True

    def _render(self) -> tuple[str, int]:
        text = _as_atom(self.target) + "".join("." + p for p in self.path)
        if self.args is not None:
            text += f"({', '.join(a.render()[0] for a in self.args)})"
        return text, _ATOM

    def eval(self, df: pd.DataFrame) -> Any:
        value = self.target.eval(df)
        for part in self.path:
            value = getattr(value, part)
        if self.args is not None:
            value = value(*(a.eval(df) for a in self.args))
        return value

    def depends(self) -> set[str]:
        deps = self.target.depends()
        for a in self.args or ():
            deps |= a.depends()
        return deps


# ---------------------------------------------------------------------------------------------- formula


class Formula:
    """A compiled formula. ``evaluate(df)`` gives a Series aligned with ``df``; ``code()`` prints the same."""

    def __init__(self, text: str, root: _Node) -> None:
        self.text = text
        self._root = root
        # number, boolean, text, datetime, category, or None when compiled without a schema
        self.kind = root.kind
        self.columns = tuple(sorted(root.depends()))  # the columns the formula reads

    def code(self) -> str:
        text = self._root.render()[0]
        return text if self._root.vector else f"pd.Series({text}, index=df.index)"

    def evaluate(self, df: pd.DataFrame) -> pd.Series:
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise FormulaError(f"Unknown column {missing[0]!r}.")
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = self._root.eval(df)
                return value if self._root.vector else pd.Series(value, index=df.index)
        except FormulaError:
            raise
        except ZeroDivisionError:
            raise FormulaError("The formula divides a number by zero.") from None
        except OverflowError:
            raise FormulaError("A number in the formula is too large.") from None
        except Exception as exc:  # noqa: BLE001 - any pandas/numpy failure becomes a readable reason
            raise FormulaError(f"The formula could not be computed: {exc}") from None

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"


def compile_formula(text: str, schema: dict[str, str] | None) -> Formula:
    """Parse and check ``text`` against ``schema`` (column -> HydroML dtype name); raise `FormulaError`.

    Without a schema (``None``) every name is taken to be a column and kinds are not checked; the printed code is
    the same as with a schema, which is how an operation prints its step without seeing the data.
    """
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("The formula is empty.")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"The formula is too long ({len(text)} characters; at most {MAX_LENGTH}).")
    formula = _Compiler(text, schema).compile()
    if schema is not None:
        # a dry run on no rows catches what only shows when computing (1 / 0, 10 ** 10 ** 10)
        formula.evaluate(_empty_frame({c: schema[c] for c in formula.columns}))
    return formula


_EMPTY_DTYPES = {"integer": "int64", "float": "float64", "boolean": "bool", "datetime": "datetime64[ns]"}


def _empty_frame(schema: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series(dtype=_EMPTY_DTYPES.get(t, "category" if t == "category" else "str"))
            for c, t in schema.items()
        }
    )


# ---------------------------------------------------------------------------------------------- compiler


def _needs_backticks(name: str) -> bool:
    return not name.isidentifier() or keyword.iskeyword(name) or name == "nan" or name.startswith("__")


def _show_name(name: str) -> str:
    return f"`{name}`" if _needs_backticks(name) else repr(name)


class _Compiler:
    def __init__(self, text: str, schema: dict[str, str] | None) -> None:
        self.original = text.replace("\r\n", "\n").replace("\r", "\n")
        self.schema = schema
        self.placeholders: dict[str, str] = {}  # identifier -> column name (backtick-quoted names)
        # backtick spans: start and length in the parsed text, start and length in the original
        self.spans: list[tuple[int, int, int, int]] = []
        source = self._preprocess()
        self.source = source.lstrip(" ")  # mode="eval" refuses leading blanks ("unexpected indent")
        self._lead = len(source) - len(self.source)
        self._line_starts = [0]
        for line in self.source.split("\n")[:-1]:
            self._line_starts.append(self._line_starts[-1] + len(line) + 1)
        self._lines = self.source.split("\n")

    # ---------------------------------------------------------------- positions and messages

    def _original_position(self, pos: int, end: bool = False) -> int:
        shift = 0
        for new_start, new_len, orig_start, orig_len in self.spans:
            if pos >= new_start + new_len:
                shift += orig_len - new_len
            elif pos >= new_start:
                return orig_start + orig_len if end else orig_start
            else:
                break
        return max(0, min(pos + shift, len(self.original)))

    def _offset(self, lineno: int, col_offset: int, end: bool = False, in_bytes: bool = True) -> int:
        """Original character offset of a parser position (ast counts UTF-8 bytes, SyntaxError characters)."""
        line = self._lines[min(lineno, len(self._lines)) - 1]
        chars = (
            len(line.encode("utf-8")[:col_offset].decode("utf-8", errors="ignore"))
            if in_bytes
            else col_offset
        )
        return self._original_position(self._line_starts[lineno - 1] + chars + self._lead, end)

    def _span(self, node: ast.AST) -> tuple[int, int]:
        start = self._offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
        end = (
            self._offset(end_line, end_col, end=True)
            if end_line is not None and end_col is not None
            else start + 1
        )
        return start, max(end, start + 1)

    def _snippet(self, node: ast.AST) -> str:
        start, end = self._span(node)
        text = self.original[start:end].strip()
        return text if len(text) <= 40 else text[:37] + "..."

    def error(self, message: str, node: ast.AST | int | None = None, hint: str = "") -> FormulaError:
        pos = node if isinstance(node, int) else (self._span(node)[0] if node is not None else None)
        text = message.rstrip(".") + ("" if pos is None else f" (at character {pos + 1})") + "."
        return FormulaError(f"{text} {hint}".strip(), pos)

    # ---------------------------------------------------------------- backticks

    def _preprocess(self) -> str:
        """Replace backtick-quoted column names by placeholder identifiers; leave strings untouched."""
        text = self.original
        prefix = "_col"
        while prefix in text:
            prefix += "_"
        by_name: dict[str, str] = {}
        out: list[str] = []
        length = 0
        i, quote = 0, ""
        while i < len(text):
            ch = text[i]
            piece = ch
            if quote:
                if ch == "\\" and i + 1 < len(text):
                    piece = text[i : i + 2]
                elif text.startswith(quote, i):
                    piece, quote = quote, ""
            elif ch in "'\"":
                quote = text[i : i + 3] if text[i : i + 3] in ("'''", '"""') else ch
                piece = quote
            elif ch == "`":
                end = text.find("`", i + 1)
                if end < 0:
                    raise self.error("A column name in backticks has no closing backtick (`)", i)
                name = text[i + 1 : end]
                if not name:
                    raise self.error(
                        "Empty backticks", i, "Put a column name between them, like `flow (m3/s)`."
                    )
                self._check_column(name, i)
                ident = by_name.setdefault(name, f"{prefix}{len(by_name)}")
                self.placeholders[ident] = name
                replacement = f" {ident} "
                self.spans.append((length, len(replacement), i, end + 1 - i))
                out.append(replacement)
                length += len(replacement)
                i = end + 1
                continue
            i += len(piece)
            if not quote and piece in ("\n", "\t"):
                piece = " "  # a formula may span lines; the parser (mode="eval") wants one
            out.append(piece)
            length += len(piece)
        return "".join(out)

    def _check_column(self, name: str, where: ast.AST | int) -> str | None:
        """The kind of column ``name``; raise a helpful error when it does not exist."""
        if self.schema is None:
            return None
        if name in self.schema:
            return _KIND_OF_DTYPE.get(self.schema[name], TEXT)
        columns = list(self.schema)
        lowered = {c.lower(): c for c in columns}
        guess = lowered.get(name.lower()) or next(iter(difflib.get_close_matches(name, columns, n=1)), None)
        if guess:
            hint = f"Did you mean {_show_name(guess)}?"
        elif name in FUNCTIONS:
            hint = f"{name} is a function: call it like {name}(x)."
        else:
            hint = "Names with spaces or symbols go in backticks, like `flow (m3/s)`."
        raise self.error(f"Unknown column {name!r}", where, hint)

    # ---------------------------------------------------------------- tree

    def compile(self) -> Formula:
        try:
            tree = ast.parse(self.source, mode="eval")
        except SyntaxError as exc:
            pos = None
            if exc.lineno and exc.offset:
                pos = self._offset(exc.lineno, max(exc.offset - 1, 0), in_bytes=False)
            reason = (exc.msg or "invalid syntax").rstrip(".")
            if "f-string" in reason:
                raise self.error("f-strings are not allowed", pos) from None
            raise self.error(f"The formula cannot be read: {reason}", pos) from None
        except (RecursionError, MemoryError, ValueError):
            raise FormulaError("The formula is nested too deeply or cannot be read.") from None
        return Formula(self.original, self.node(tree.body, 0))

    def node(self, node: ast.AST, depth: int) -> _Node:  # noqa: C901 - one branch per accepted node type
        if depth > MAX_DEPTH:
            raise self.error(f"The formula is nested too deeply (more than {MAX_DEPTH} levels)", node)
        d = depth + 1
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node, d)
        if isinstance(node, ast.BinOp):
            return self.binary(node, d)
        if isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            return self.logic(word, [self.node(v, d) for v in node.values], node.values)
        if isinstance(node, ast.Compare):
            return self.compare(node, d)
        if isinstance(node, ast.IfExp):
            return self.where(
                self.node(node.test, d), self.node(node.body, d), self.node(node.orelse, d), node
            )
        if isinstance(node, ast.Call):
            return self.call(node, d)
        raise self.refuse(node)

    def refuse(self, node: ast.AST) -> FormulaError:
        snippet = self._snippet(node)
        reasons: list[tuple[type | tuple[type, ...], str]] = [
            (ast.Attribute, f"Attribute access ('.{getattr(node, 'attr', '')}') is not allowed"),
            (ast.Subscript, f"Indexing with [...] is not allowed ({snippet!r})"),
            (ast.Lambda, "lambda is not allowed"),
            ((ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp), "Comprehensions are not allowed"),
            (ast.JoinedStr, "f-strings are not allowed"),
            (
                (ast.Tuple, ast.List, ast.Set, ast.Dict),
                f"Lists, tuples and sets are not allowed ({snippet!r})",
            ),
            (ast.NamedExpr, "Assignments (:=) are not allowed"),
            (ast.Starred, "Starred arguments (*) are not allowed"),
            ((ast.Await, ast.Yield, ast.YieldFrom), f"{snippet!r} is not allowed"),
            (ast.Slice, "Slices are not allowed"),
        ]
        for types, message in reasons:
            if isinstance(node, types):
                return self.error(message, node)
        return self.error(f"{snippet!r} is not allowed in a formula", node)

    # ---------------------------------------------------------------- leaves

    def constant(self, node: ast.Constant) -> _Node:
        value = node.value
        if isinstance(value, bool):
            return _Const(value, BOOLEAN)
        if isinstance(value, int):
            if abs(value) > _MAX_INT:
                raise self.error(f"The number {self._snippet(node)} is too large", node)
            return _Const(value, NUMBER)
        if isinstance(value, float):
            if not np.isfinite(value):
                raise self.error(f"The number {self._snippet(node)} is too large", node)
            return _Const(value, NUMBER)
        if isinstance(value, str):
            return _Const(value, TEXT)
        if value is None:
            raise self.error("None is not allowed", node, "Use nan for a missing number, or isna(x) to test.")
        raise self.error(f"The value {self._snippet(node)} is not allowed", node)

    def name(self, node: ast.Name) -> _Node:
        if node.id in self.placeholders:
            name = self.placeholders[node.id]
            return _Column(name, self._check_column(name, node))
        raw = self._snippet(node)
        name = raw if raw.isidentifier() else node.id
        if name.startswith("__"):
            raise self.error(f"Names starting with '__' are not allowed ({name!r})", node)
        if name == "nan":
            return _Const(np.nan, NUMBER, source="np.nan")
        return _Column(name, self._check_column(name, node))

    # ---------------------------------------------------------------- operators

    def unary(self, node: ast.UnaryOp, depth: int) -> _Node:
        operand = self.node(node.operand, depth)
        if isinstance(node.op, ast.Not | ast.Invert):
            self.need(operand, (BOOLEAN,), node.operand, "'not'")
            return _Unary("~" if operand.vector else "not ", operand, BOOLEAN)
        symbol = "-" if isinstance(node.op, ast.USub) else "+"
        self.need(operand, (NUMBER,), node.operand, f"'{symbol}'")
        return _Unary(symbol, operand, NUMBER)

    _ARITH_OPS: dict[type, str] = {
        ast.Add: "+",
        ast.Sub: "-",
        ast.Mult: "*",
        ast.Div: "/",
        ast.FloorDiv: "//",
        ast.Mod: "%",
        ast.Pow: "**",
    }

    def binary(self, node: ast.BinOp, depth: int) -> _Node:
        if isinstance(node.op, ast.BitAnd | ast.BitOr):
            word = "and" if isinstance(node.op, ast.BitAnd) else "or"
            return self.logic(
                word, [self.node(node.left, depth), self.node(node.right, depth)], [node.left, node.right]
            )
        symbol = self._ARITH_OPS.get(type(node.op))
        if symbol is None:
            op = {ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>", ast.BitXor: "^"}.get(
                type(node.op), "?"
            )
            raise self.error(f"The operator '{op}' is not allowed", node)
        left, right = self.node(node.left, depth), self.node(node.right, depth)
        kinds = (left.kind, right.kind)
        if None in kinds:
            return _Binary(symbol, left, right, None)
        if symbol == "+" and kinds == (TEXT, TEXT):
            return _Binary(symbol, left, right, TEXT)
        if set(kinds) <= {NUMBER, BOOLEAN} and kinds != (BOOLEAN, BOOLEAN):
            return _Binary(symbol, left, right, NUMBER)
        if kinds == (BOOLEAN, BOOLEAN):
            raise self.error(
                f"'{symbol}' between two true/false values", node, "Use and / or to combine them."
            )
        raise self.error(
            f"Cannot use '{symbol}' between {_KIND_WORDS[left.kind]} ({self._snippet(node.left)}) and "
            f"{_KIND_WORDS[right.kind]} ({self._snippet(node.right)})",
            node,
            "Text can only be joined with + to other text." if TEXT in kinds else "",
        )

    def logic(self, word: str, operands: list[_Node], nodes: list[ast.AST]) -> _Node:
        for operand, source in zip(operands, nodes, strict=True):
            self.need(operand, (BOOLEAN,), source, f"'{word}'")
        result = operands[0]
        for operand in operands[1:]:
            if result.vector or operand.vector:
                result = _Binary("&" if word == "and" else "|", result, operand, BOOLEAN)
            else:
                result = _Logic(word, result, operand)
        return result

    _CMP_OPS: dict[type, str] = {
        ast.Eq: "==",
        ast.NotEq: "!=",
        ast.Lt: "<",
        ast.LtE: "<=",
        ast.Gt: ">",
        ast.GtE: ">=",
    }

    def compare(self, node: ast.Compare, depth: int) -> _Node:
        operands = [self.node(node.left, depth)] + [self.node(c, depth) for c in node.comparators]
        sources = [node.left, *node.comparators]
        symbols = []
        for i, op in enumerate(node.ops):
            symbol = self._CMP_OPS.get(type(op))
            if symbol is None:
                word = {ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}.get(
                    type(op), "?"
                )
                hint = "Use isna(x) or notna(x) to test for missing values." if "is" in word else ""
                raise self.error(f"'{word}' is not allowed", sources[i + 1], hint)
            self.check_comparison(symbol, operands[i], operands[i + 1], sources[i], sources[i + 1], node)
            symbols.append(symbol)
        if not any(o.vector for o in operands):
            if len(symbols) == 1:
                return _Binary(symbols[0], operands[0], operands[1], BOOLEAN)
            return _Chain(symbols, operands)
        result: _Node | None = None
        for i, symbol in enumerate(symbols):
            pair = _Binary(symbol, operands[i], operands[i + 1], BOOLEAN)
            result = pair if result is None else _Binary("&", result, pair, BOOLEAN)
        assert result is not None
        return result

    def check_comparison(
        self, symbol: str, a: _Node, b: _Node, sa: ast.AST, sb: ast.AST, node: ast.AST
    ) -> None:
        ka, kb = a.kind, b.kind
        if ka is None or kb is None:
            return
        pair = {ka, kb}
        if pair <= {NUMBER, BOOLEAN} or pair == {TEXT} or pair == {DATETIME}:
            return
        if pair == {DATETIME, TEXT} and not (a if ka == TEXT else b).vector:
            return  # date column compared with a date in quotes: df['date'] >= '2020-01-01'
        if CATEGORY in pair and symbol in ("==", "!=") and pair <= {CATEGORY, TEXT}:
            other = b if ka == CATEGORY else a
            if other.kind == TEXT and not other.vector:
                return
        if CATEGORY in pair:
            raise self.error(
                f"A category column can only be compared with == or != to a text in quotes ({self._snippet(node)})",
                node,
                "Convert the column to text first to do more.",
            )
        raise self.error(
            f"Cannot compare {_KIND_WORDS[ka]} ({self._snippet(sa)}) with {_KIND_WORDS[kb]} ({self._snippet(sb)})",
            node,
        )

    def where(self, cond: _Node, a: _Node, b: _Node, node: ast.AST) -> _Node:
        sources = (node.test, node.body, node.orelse) if isinstance(node, ast.IfExp) else node.args  # type: ignore[attr-defined]
        self.need(cond, (BOOLEAN,), sources[0], "The condition")
        kind = self.same_kind(a, b, sources[1], sources[2], node)
        if cond.vector:
            return _Where(cond, a, b, kind)
        return _Ternary(cond, a, b, kind)

    def same_kind(self, a: _Node, b: _Node, sa: ast.AST, sb: ast.AST, node: ast.AST) -> str | None:
        if a.kind is None or b.kind is None:
            return None
        for value, source in ((a, sa), (b, sb)):
            if value.kind == CATEGORY:
                raise self.error(
                    f"The category column {self._snippet(source)} cannot be used as a value here",
                    source,
                    "Convert the column to text first.",
                )
        if a.kind != b.kind:
            raise self.error(
                f"Both values must be of the same kind: {self._snippet(sa)} is {_KIND_WORDS[a.kind]}, "
                f"{self._snippet(sb)} is {_KIND_WORDS[b.kind]}",
                node,
            )
        return a.kind

    def need(self, value: _Node, kinds: tuple[str, ...], source: ast.AST, what: str) -> None:
        if value.kind is None or value.kind in kinds:
            return
        wanted = " or ".join(_KIND_WORDS[k] for k in kinds)
        raise self.error(
            f"{what} needs {wanted}, but {self._snippet(source)} is {_KIND_WORDS[value.kind]}",
            source,
        )

    # ---------------------------------------------------------------- functions

    _NUMPY_1 = {
        "abs": "abs",
        "sqrt": "sqrt",
        "log": "log",
        "log10": "log10",
        "log1p": "log1p",
        "exp": "exp",
        "floor": "floor",
        "ceil": "ceil",
    }
    _USAGE = {
        "round": "round(x) or round(x, digits)",
        "clip": "clip(x, low, high)",
        "min": "min(a, b)",
        "max": "max(a, b)",
        "where": "where(condition, a, b)",
        "fillna": "fillna(x, value)",
    }

    def call(self, node: ast.Call, depth: int) -> _Node:  # noqa: C901 - one branch per function
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise self.error(f"Attribute access ('.{node.func.attr}') is not allowed", node.func)
            raise self.error(
                f"Only named functions can be called, not {self._snippet(node.func)!r}", node.func
            )
        fname = node.func.id
        if fname in self.placeholders:
            raise self.error(
                f"The column {_show_name(self.placeholders[fname])} is not a function", node.func
            )
        if fname.startswith("__"):
            raise self.error(f"Names starting with '__' are not allowed ({fname!r})", node.func)
        quoted = [c for c in self.schema or () if c.startswith(fname) and c != fname and _needs_backticks(c)]
        backticks = f"Names with spaces or symbols go in backticks, like `{quoted[0]}`." if quoted else ""
        if fname not in FUNCTIONS and self.schema and fname in self.schema:
            raise self.error(f"The column {fname!r} is not a function", node.func, backticks)
        if fname not in FUNCTIONS:
            guess = next(iter(difflib.get_close_matches(fname, FUNCTIONS, n=1)), None)
            hint = backticks or (f"Did you mean {guess}()? " if guess else "")
            raise self.error(
                f"Unknown function {fname!r}", node.func, hint or f"Available: {', '.join(FUNCTIONS)}."
            )
        if node.keywords:
            raise self.error(
                f"{fname}() takes its values in order, without names (name=...)",
                node.keywords[0].value,
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error("Starred arguments (*) are not allowed", arg)
        args = [self.node(a, depth) for a in node.args]
        n = len(args)

        def arity(low: int, high: int | None) -> None:
            if n < low or (high is not None and n > high):
                usage = self._USAGE.get(fname, f"{fname}(x)")
                raise self.error(f"{fname}() got {n} value{'s' if n != 1 else ''}; use {usage}", node)

        if fname in self._NUMPY_1:
            arity(1, 1)
            self.need(args[0], (NUMBER,), node.args[0], f"{fname}()")
            return _Call(f"np.{fname}", getattr(np, fname), args, NUMBER)
        if fname == "round":
            arity(1, 2)
            self.need(args[0], (NUMBER,), node.args[0], "round()")
            if n == 2:
                self.whole_number(node.args[1], "round()'s number of digits")
            return _Call("np.round", np.round, args, NUMBER)
        if fname == "clip":
            arity(3, 3)
            for value, source in zip(args, node.args, strict=True):
                self.need(value, (NUMBER,), source, "clip()")
            for value, source in zip(args[1:], node.args[1:], strict=True):
                if value.vector:
                    raise self.error(
                        "clip()'s bounds must be numbers, not columns",
                        source,
                        "Use min() and max() with columns.",
                    )
            return _Call("np.clip", np.clip, args, NUMBER)
        if fname in ("min", "max"):
            arity(2, None)
            for value, source in zip(args, node.args, strict=True):
                self.need(value, (NUMBER,), source, f"{fname}()")
            func_name, func = ("np.minimum", np.minimum) if fname == "min" else ("np.maximum", np.maximum)
            result = args[0]
            for value in args[1:]:
                result = _Call(func_name, func, [result, value], NUMBER)
            return result
        if fname == "where":
            arity(3, 3)
            return self.where(args[0], args[1], args[2], node)
        if fname in ("isna", "notna"):
            arity(1, 1)
            return _Call(f"pd.{fname}", getattr(pd, fname), args, BOOLEAN)
        if fname == "fillna":
            arity(2, 2)
            if not args[0].vector:
                raise self.error("fillna() needs a column as its first value", node.args[0])
            kind = self.same_kind(args[0], args[1], node.args[0], node.args[1], node)
            return _Method(args[0], ("fillna",), [args[1]], kind)
        # year, month, day, dayofyear
        arity(1, 1)
        self.need(args[0], (DATETIME,), node.args[0], f"{fname}()")
        if not args[0].vector:
            raise self.error(f"{fname}() needs a date column", node.args[0])
        return _Method(args[0], ("dt", fname), None, NUMBER)

    def whole_number(self, node: ast.AST, what: str) -> None:
        inner = node.operand if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) else node
        ok = (
            isinstance(inner, ast.Constant)
            and isinstance(inner.value, int)
            and not isinstance(inner.value, bool)
        )
        if not ok:
            raise self.error(f"{what} must be a whole number like 2 ({self._snippet(node)})", node)
