"""The visual query builder (SQLAlchemy Core over a reflected table, every value a bound parameter) and the
guard for raw SQL mode.

A builder spec is plain JSON::

    {"schema": str | None, "table": str, "columns": [str, ...],            # no columns: all of them
     "where": {"combine": "all" | "any", "rules": [rule | group, ...]},    # groups nest (AND / OR)
     "order": [{"column": str, "descending": bool}, ...], "limit": int | None}
    rule = {"column": str, "op": one of OPS, "value": ...}

Table, schema and column names are looked up in the reflected table (unknown ones are a clear InvalidInput
naming them) and rendered as quoted identifiers by SQLAlchemy; values never become SQL text.

Raw SQL mode: :func:`check_raw_sql` accepts exactly one statement that starts like a read (SELECT, WITH,
VALUES, TABLE, SHOW, EXPLAIN, DESCRIBE). Comments are removed and the cleaned statement is what runs, so what
was checked is what the database sees. It is a courtesy check with a clear message; the real guard is the
read-only transaction with a statement timeout (:mod:`hydroml.services.connectors.readonly`). Column names are
never matched against keywords (``update_time`` or ``delete_flag`` are ordinary names).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hydroml.services.connectors.readonly import explained_errors, read_only
from hydroml.services.errors import InvalidInput

OPS = (
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "between",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "is_null",
    "not_null",
)
READ_KEYWORDS = ("SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN", "DESCRIBE", "DESC")
MAX_RULES = 200
MAX_DEPTH = 5
MAX_IN_VALUES = 1000
MAX_LIMIT = 1_000_000_000
MAX_NAME = 255
PREVIEW_ROWS = 100


# ---------------------------------------------------------------- the builder


def _dialect_of(bind: Any) -> sa.Dialect:
    if isinstance(bind, sa.Dialect):
        return bind
    dialect = getattr(bind, "dialect", None)
    if dialect is None:
        raise TypeError("expected an Engine, a Connection or a Dialect")
    return dialect


def _name(value: Any, field: str, what: str, *, optional: bool = False) -> str | None:
    if value is None or value == "":
        if optional:
            return None
        raise InvalidInput(field, f"Choose a {what}.")
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, f"The {what} must be a name.")
    if len(value) > MAX_NAME or "\x00" in value:
        raise InvalidInput(field, f"There is no {what} named {_shown(value)}.")
    return value


def _shown(name: str) -> str:
    text = name if len(name) <= 80 else name[:77] + "..."
    return f"\u201c{text}\u201d"


def reflect_table(bind: sa.Engine | sa.Connection, table: Any, schema: Any = None) -> sa.Table:
    """The table or view as the database describes it, or InvalidInput naming what does not exist."""
    table_name = _name(table, "table", "table")
    schema_name = _name(schema, "schema", "schema", optional=True)
    if isinstance(bind, sa.Engine):
        with explained_errors(), read_only(bind) as conn:
            return reflect_table(conn, table_name, schema_name)
    with explained_errors():
        if (
            schema_name is not None
            and bind.dialect.name != "sqlite"
            and schema_name not in sa.inspect(bind).get_schema_names()
        ):
            raise InvalidInput("schema", f"There is no schema named {_shown(schema_name)}.")
        try:
            return sa.Table(table_name, sa.MetaData(), schema=schema_name, autoload_with=bind)
        except sa.exc.NoSuchTableError:
            where = f" in the schema {_shown(schema_name)}" if schema_name else ""
            raise InvalidInput(
                "table", f"There is no table or view named {_shown(table_name)}{where}."
            ) from None
        except sa.exc.OperationalError as exc:  # SQLite: an unknown attached database
            if bind.dialect.name == "sqlite" and "unknown database" in str(exc.orig).lower():
                raise InvalidInput(
                    "schema", f"There is no schema named {_shown(schema_name or '')}."
                ) from None
            raise


def _column(table: sa.Table, name: Any, field: str) -> sa.Column:
    if not isinstance(name, str) or not name:
        raise InvalidInput(field, "Choose a column.")
    if name in table.c:
        return table.c[name]
    raise InvalidInput(field, f"The table {_shown(table.name)} has no column named {_shown(name)}.")


def _columns(table: sa.Table, names: Any) -> list[sa.Column]:
    if not names:
        return list(table.c)
    if not isinstance(names, list | tuple):
        raise InvalidInput("columns", "Columns must be a list of names.")
    unknown = [n for n in names if not isinstance(n, str) or n not in table.c]
    if unknown:
        listed = ", ".join(_shown(str(n)) for n in unknown[:10])
        plural = "columns" if len(unknown) > 1 else "column"
        raise InvalidInput("columns", f"The table {_shown(table.name)} has no {plural} named {listed}.")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidInput("columns", f"The column {_shown(repeated[0])} is chosen twice.")
    return [table.c[n] for n in names]


def _python_type(column: sa.Column) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _coerce(column: sa.Column, value: Any, field: str) -> Any:
    """The user's value as the column's Python type, so drivers bind it correctly (and a typo is a clear
    message instead of a database error)."""
    if value is None:
        raise InvalidInput(field, f"Give a value for {_shown(column.name)} (or use \u201cis empty\u201d).")
    if isinstance(value, dict | list | tuple | set):
        raise InvalidInput(field, f"The value for {_shown(column.name)} must be a single value.")
    kind = _python_type(column)
    shown = _shown(str(value))
    try:
        if kind is bool:
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in ("true", "1", "yes"):
                    return True
                if lowered in ("false", "0", "no"):
                    return False
                raise ValueError(value)
            return bool(value)
        if kind is int:
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(value)
                return int(value)
            return int(str(value).strip()) if isinstance(value, str) else int(value)
        if kind is float:
            return float(value)
        if kind is decimal.Decimal:
            return decimal.Decimal(str(value).strip())
        if kind is dt.datetime:
            if isinstance(value, dt.datetime):
                return value
            return dt.datetime.fromisoformat(str(value).strip())
        if kind is dt.date:
            if isinstance(value, dt.datetime):
                return value.date()
            return dt.date.fromisoformat(str(value).strip()[:10])
        if kind is uuid.UUID:
            return uuid.UUID(str(value))
        if kind is str:
            return str(value)
    except (ValueError, TypeError, ArithmeticError):
        expected = {
            bool: "true or false",
            int: "a whole number",
            float: "a number",
            decimal.Decimal: "a number",
            dt.datetime: "a date and time (YYYY-MM-DD HH:MM:SS)",
            dt.date: "a date (YYYY-MM-DD)",
            uuid.UUID: "a UUID",
        }.get(kind, "a valid value")
        raise InvalidInput(field, f"{shown} is not {expected} (column {_shown(column.name)}).") from None
    return value


def _text_of(column: sa.Column) -> sa.ColumnElement:
    return column if _python_type(column) is str else sa.cast(column, sa.String)


def _rule(table: sa.Table, rule: Mapping) -> sa.ColumnElement:
    column = _column(table, rule.get("column"), "where")
    op = rule.get("op")
    if op not in OPS:
        raise InvalidInput("where", f"{_shown(str(op))} is not a condition; use one of: {', '.join(OPS)}.")
    value = rule.get("value")
    if op == "is_null":
        return column.is_(None)
    if op == "not_null":
        return column.is_not(None)
    if op == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise InvalidInput(
                "where", f"\u201cbetween\u201d needs two values (column {_shown(column.name)})."
            )
        return column.between(_coerce(column, value[0], "where"), _coerce(column, value[1], "where"))
    if op in ("in", "not_in"):
        if not isinstance(value, list | tuple) or not value:
            raise InvalidInput("where", f"Give at least one value to compare {_shown(column.name)} with.")
        if len(value) > MAX_IN_VALUES:
            raise InvalidInput("where", f"At most {MAX_IN_VALUES} values can be listed.")
        values = [_coerce(column, v, "where") for v in value]
        return column.in_(values) if op == "in" else column.not_in(values)
    if op in ("contains", "starts_with"):
        if value is None or isinstance(value, dict | list | tuple):
            raise InvalidInput("where", f"Give the text to look for (column {_shown(column.name)}).")
        target = _text_of(column)
        text = str(value)
        return (
            target.contains(text, autoescape=True)
            if op == "contains"
            else target.startswith(text, autoescape=True)
        )
    bound = _coerce(column, value, "where")
    return {
        "=": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }[op](bound)


def _group(table: sa.Table, group: Any, depth: int, budget: list[int]) -> sa.ColumnElement | None:
    if not isinstance(group, Mapping):
        raise InvalidInput("where", "Conditions must be a group with a list of rules.")
    if depth > MAX_DEPTH:
        raise InvalidInput("where", f"Groups can be nested at most {MAX_DEPTH} levels deep.")
    combine = group.get("combine", "all")
    if combine not in ("all", "any"):
        raise InvalidInput(
            "where", "A group combines its rules with \u201call\u201d (AND) or \u201cany\u201d (OR)."
        )
    rules = group.get("rules") or []
    if not isinstance(rules, list | tuple):
        raise InvalidInput("where", "Conditions must be a group with a list of rules.")
    parts: list[sa.ColumnElement] = []
    for item in rules:
        budget[0] -= 1
        if budget[0] < 0:
            raise InvalidInput("where", f"A query can have at most {MAX_RULES} conditions.")
        if isinstance(item, Mapping) and "rules" in item:
            nested = _group(table, item, depth + 1, budget)
            if nested is not None:
                parts.append(nested)
        elif isinstance(item, Mapping):
            parts.append(_rule(table, item))
        else:
            raise InvalidInput("where", "Each condition needs a column, a comparison and a value.")
    if not parts:
        return None
    return sa.and_(*parts) if combine == "all" else sa.or_(*parts)


def _limit(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput("limit", "The row limit must be a whole number.")
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput("limit", "The row limit must be a whole number.") from None
    if not 1 <= number <= MAX_LIMIT:
        raise InvalidInput("limit", f"The row limit must be between 1 and {MAX_LIMIT:,}.")
    return number


def build_select(bind: sa.Engine | sa.Connection, spec: Mapping) -> sa.Select:
    """The spec as a SELECT over the reflected table; every value a bound parameter."""
    if not isinstance(spec, Mapping):
        raise InvalidInput("table", "The query is missing its table.")
    table = reflect_table(bind, spec.get("table"), spec.get("schema"))
    query = sa.select(*_columns(table, spec.get("columns")))
    where = spec.get("where")
    if where:
        condition = _group(table, where, 1, [MAX_RULES])
        if condition is not None:
            query = query.where(condition)
    order = spec.get("order") or []
    if not isinstance(order, list | tuple):
        raise InvalidInput("order", "The order must be a list of columns.")
    for item in order:
        if not isinstance(item, Mapping):
            raise InvalidInput("order", "Each order entry needs a column.")
        column = _column(table, item.get("column"), "order")
        query = query.order_by(column.desc() if item.get("descending") else column.asc())
    limit = _limit(spec.get("limit"))
    if limit is not None:
        query = query.limit(limit)
    return query


def compiled_sql(select: sa.Select, bind: Any) -> tuple[str, dict[str, Any]]:
    """The SQL text in the database's own dialect and its parameters, for showing to the user (and for the
    record of an import). The values stay parameters: the text holds placeholders only."""
    compiled = select.compile(dialect=_dialect_of(bind), compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


def jsonable(value: Any) -> Any:
    """Parameters as JSON values (dates as ISO text, decimals and UUIDs as text)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# ---------------------------------------------------------------- raw SQL


@dataclass(frozen=True)
class _Piece:
    kind: str  # "code" | "quoted" | "comment"
    text: str


_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$\x80-\uffff]")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")


def _family(dialect: Any) -> str:
    if dialect is None:
        return "generic"
    name = dialect if isinstance(dialect, str) else getattr(dialect, "name", "")
    if name in ("mysql", "mariadb"):
        return "mysql"
    if name in ("postgresql", "sqlite"):
        return name
    return "generic"


def _lex(sql: str, family: str, backslash: bool) -> list[_Piece]:
    """Split SQL into code, quoted text (strings, quoted identifiers, dollar quotes) and comments."""
    pieces: list[_Piece] = []
    code_start = 0
    i = 0
    n = len(sql)

    def flush_code(end: int) -> None:
        if end > code_start:
            pieces.append(_Piece("code", sql[code_start:end]))

    while i < n:
        ch = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        start = i
        if ch == "-" and nxt == "-" and (family != "mysql" or i + 2 >= n or sql[i + 2] <= " "):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            flush_code(start)
            pieces.append(_Piece("comment", sql[start:end]))
            i = code_start = end
            continue
        if ch == "#" and family == "mysql":
            end = sql.find("\n", i)
            end = n if end < 0 else end
            flush_code(start)
            pieces.append(_Piece("comment", sql[start:end]))
            i = code_start = end
            continue
        if ch == "/" and nxt == "*":
            depth = 1
            j = i + 2
            while j < n and depth:
                if sql.startswith("*/", j):
                    depth -= 1
                    j += 2
                elif family == "postgresql" and sql.startswith("/*", j):
                    depth += 1
                    j += 2
                else:
                    j += 1
            flush_code(start)
            pieces.append(_Piece("comment", sql[start:j]))
            i = code_start = j
            continue
        if ch == "$" and family in ("postgresql", "generic") and not (i and _IDENT_CHAR.match(sql[i - 1])):
            match = _DOLLAR_TAG.match(sql, i)
            if match:
                tag = match.group(0)
                end = sql.find(tag, match.end())
                end = n if end < 0 else end + len(tag)
                flush_code(start)
                pieces.append(_Piece("quoted", sql[start:end]))
                i = code_start = end
                continue
        closing = None
        if ch in ("'", '"'):
            closing = ch
        elif ch == "`" and family in ("mysql", "sqlite", "generic"):
            closing = "`"
        elif ch == "[" and family == "sqlite":
            closing = "]"
        if closing:
            escapes = backslash and ch != "`" and ch != "["
            if family == "postgresql" and ch == "'":  # E'...' strings know backslash escapes
                escapes = i > 0 and sql[i - 1] in "eE" and not (i > 1 and _IDENT_CHAR.match(sql[i - 2]))
            j = i + 1
            while j < n:
                c = sql[j]
                if escapes and c == "\\":
                    j += 2
                    continue
                if c == closing:
                    if closing != "]" and j + 1 < n and sql[j + 1] == closing:  # doubled: still inside
                        j += 2
                        continue
                    j += 1
                    break
                j += 1
            else:
                j = n
            flush_code(start)
            pieces.append(_Piece("quoted", sql[start:j]))
            i = code_start = j
            continue
        i += 1
    flush_code(n)
    return pieces


def _statements(pieces: list[_Piece]) -> list[str]:
    """Statements (comments replaced by a space), split on ';' in code only; empty ones dropped."""
    statements: list[str] = []
    current: list[str] = []
    for piece in pieces:
        if piece.kind == "comment":
            current.append(" ")
        elif piece.kind == "quoted":
            current.append(piece.text)
        else:
            parts = piece.text.split(";")
            current.append(parts[0])
            for part in parts[1:]:
                statements.append("".join(current))
                current = [part]
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


def first_keyword(statement: str) -> str:
    match = re.match(r"[\s(]*([A-Za-z_]+)", statement)
    return match.group(1).upper() if match else ""


def _code_words(pieces: list[_Piece]) -> list[str]:
    words: list[str] = []
    for piece in pieces:
        if piece.kind == "code":
            words.extend(w.upper() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_$]*", piece.text))
        else:
            words.append("")  # a quoted name or string separates keywords
    return words


def check_raw_sql(text: str, dialect: Any = None) -> str:
    """The single read statement in ``text``, without comments and the trailing ';' (InvalidInput otherwise).

    ``dialect`` (a name or a SQLAlchemy dialect) decides how quotes and comments are read: MySQL/MariaDB
    strings know backslash escapes and '#' comments, PostgreSQL has dollar quotes and E'' strings, SQLite
    [bracketed] names. Run the returned text (see :func:`raw_text`), not the original.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("sql", "Write a query first.")
    if "\x00" in text:
        raise InvalidInput("sql", "The query contains a NUL character.")
    family = _family(dialect)
    pieces = _lex(text, family, backslash=family == "mysql")
    statements = _statements(pieces)
    if not statements:
        raise InvalidInput("sql", "Write a query first (the text holds only comments).")
    if len(statements) > 1:
        raise InvalidInput(
            "sql",
            f"Run one statement at a time: this text holds {len(statements)} statements separated by ';'.",
        )
    statement = statements[0]
    # MySQL: also read without backslash escapes (NO_BACKSLASH_ESCAPES servers): still one statement, or refused.
    if family == "mysql" and len(_statements(_lex(statement, family, backslash=False))) != 1:
        raise InvalidInput("sql", "Run one statement at a time: the quotes in this text leave a ';' outside.")
    keyword = first_keyword(statement)
    if keyword not in READ_KEYWORDS:
        starts = f" starts with {keyword}" if keyword else " does not start with a keyword"
        raise InvalidInput(
            "sql",
            "Only queries that read can run here (SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN); "
            f"this one{starts}.",
        )
    words = _code_words(_lex(statement, family, backslash=family == "mysql"))
    for index, word in enumerate(words[:-1]):
        if word == "INTO" and words[index + 1] in ("OUTFILE", "DUMPFILE"):
            raise InvalidInput("sql", "Queries here cannot write files (INTO OUTFILE / DUMPFILE).")
    return statement


def raw_text(statement: str, dialect: Any = None) -> sa.TextClause:
    """A checked statement as a TextClause: ``:name`` in code is a bound parameter; colons inside strings,
    quoted names and comments stay literal text."""
    family = _family(dialect)
    parts = []
    for piece in _lex(statement, family, backslash=family == "mysql"):
        parts.append(piece.text.replace(":", "\\:") if piece.kind != "code" else piece.text)
    return sa.text("".join(parts))


def bind_names(statement: str, dialect: Any = None) -> list[str]:
    """The ``:name`` parameters a checked statement expects."""
    return list(raw_text(statement, dialect).compile().params)


# ---------------------------------------------------------------- row limit and running


def limited(query: sa.Select | str, max_rows: int, dialect: Any = None) -> sa.Select | str:
    """At most ``max_rows`` rows. A Select gets (or keeps a lower) LIMIT. A checked raw statement that starts
    like a query is wrapped in ``SELECT * FROM (...) LIMIT n``; on MariaDB, which ignores ORDER BY inside a
    derived table, it becomes ``SET STATEMENT sql_select_limit=n FOR ...`` instead. Other statements (SHOW,
    EXPLAIN) are returned unchanged: :func:`fetch_rows` stops reading at the limit anyway."""
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise InvalidInput("limit", "The row limit must be a whole number of at least 1.")
    if isinstance(query, sa.Select):
        current = getattr(query, "_limit", None)
        if isinstance(current, int) and current <= max_rows:
            return query
        return query.limit(max_rows)
    statement = str(query).strip().rstrip(";").strip()
    keyword = first_keyword(statement)
    if keyword not in ("SELECT", "WITH", "VALUES", "TABLE"):
        return statement
    name = dialect if isinstance(dialect, str) else getattr(dialect, "name", None)
    if name == "mariadb" or (name == "mysql" and getattr(dialect, "is_mariadb", False)):
        return f"SET STATEMENT sql_select_limit={int(max_rows)} FOR {statement}"
    return f"SELECT * FROM (\n{statement}\n) AS hml_limited LIMIT {int(max_rows)}"


def executable(query: sa.Select | str, dialect: Any = None) -> sa.Select | sa.TextClause:
    return query if isinstance(query, sa.Select) else raw_text(query, dialect)


def bound_params(query: sa.Select | str, params: Mapping | None, dialect: Any) -> dict:
    if isinstance(query, sa.Select):
        return {}
    params = dict(params or {})
    missing = [name for name in bind_names(query, dialect) if name not in params]
    if missing:
        raise InvalidInput("params", f"Give a value for the parameter :{missing[0]}.")
    return params


def execute(conn: sa.Connection, query: sa.Select | str, params: Mapping | None = None) -> sa.CursorResult:
    """Run a built Select or a checked raw statement on ``conn`` (inside :func:`read_only`)."""
    return conn.execute(executable(query, conn.dialect), bound_params(query, params, conn.dialect))


@dataclass(frozen=True)
class Rows:
    columns: list[str]
    rows: list[tuple]
    truncated: bool  # more rows exist than were read


def fetch_rows(
    engine: sa.Engine,
    query: sa.Select | str,
    params: Mapping | None = None,
    *,
    max_rows: int = PREVIEW_ROWS,
    timeout_s: float = 30,
) -> Rows:
    """The first ``max_rows`` rows of a query in a read-only transaction (for the builder's preview)."""
    limited_query = limited(query, max_rows + 1, engine.dialect)
    with explained_errors(), read_only(engine, timeout_s) as conn:
        result = execute(conn, limited_query, params)
        columns = list(result.keys())
        rows = [tuple(row) for row in result.fetchmany(max_rows + 1)]
        result.close()
    return Rows(columns=columns, rows=rows[:max_rows], truncated=len(rows) > max_rows)


def describe_query(bind: Any, query: sa.Select | str, params: Mapping | None = None) -> tuple[str, dict]:
    """(SQL text, parameters) as shown to the user and recorded with an import."""
    if isinstance(query, sa.Select):
        text, values = compiled_sql(query, bind)
        return text, jsonable(values)
    return str(query), jsonable(dict(params or {}))


__all__: Sequence[str] = (
    "OPS",
    "Rows",
    "bind_names",
    "build_select",
    "check_raw_sql",
    "compiled_sql",
    "describe_query",
    "execute",
    "fetch_rows",
    "jsonable",
    "limited",
    "raw_text",
    "reflect_table",
)
