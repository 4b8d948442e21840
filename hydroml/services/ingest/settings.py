"""Import settings: what the preview detected and the user confirmed, stored with every imported version."""

from __future__ import annotations

import codecs
import json
from dataclasses import asdict, dataclass, field, fields

from hydroml.services.errors import InvalidInput

TYPES = ("integer", "float", "string", "boolean", "datetime", "category")
FORMATS = ("csv", "excel", "parquet", "json")

DECIMALS = (".", ",")
THOUSANDS = (",", ".", " ", "'", "\u00a0", "\u202f")
MAX_SKIP_ROWS = 1_000_000


@dataclass
class ImportSettings:
    format: str
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    thousands: str | None = None
    header_row: int | None = 0  # None = no header (columns named column_1..n)
    skip_rows: int = 0
    sheet: str | None = None
    json_lines: bool = False
    dayfirst: bool = False
    column_types: dict[str, str] = field(default_factory=dict)  # user overrides, name -> one of TYPES

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ImportSettings:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise InvalidInput("settings", "The saved import settings are not valid JSON.") from exc
        if not isinstance(data, dict) or "format" not in data:
            raise InvalidInput("settings", "The saved import settings are incomplete (no file format).")
        known = {f.name for f in fields(cls)}
        settings = cls(**{key: value for key, value in data.items() if key in known})
        settings.column_types = dict(settings.column_types or {})
        return settings

    def validate(self) -> None:
        """Raise InvalidInput naming the first setting that cannot work."""
        if self.format not in FORMATS:
            raise InvalidInput(
                "format", f"Unknown file format '{self.format}'. Choose one of: {', '.join(FORMATS)}."
            )
        try:
            codecs.lookup(self.encoding)
        except (LookupError, TypeError) as exc:
            raise InvalidInput(
                "encoding", f"Unknown text encoding '{self.encoding}'. Try utf-8, cp1252, latin-1 or utf-16."
            ) from exc
        if not isinstance(self.delimiter, str) or len(self.delimiter) != 1 or self.delimiter in '"\r\n':
            raise InvalidInput(
                "delimiter", "The delimiter must be a single character such as , ; | or a tab."
            )
        if self.decimal not in DECIMALS:
            raise InvalidInput("decimal", "The decimal separator must be '.' or ','.")
        if self.thousands is not None and self.thousands not in THOUSANDS:
            raise InvalidInput(
                "thousands", "The thousands separator must be empty, ',', '.', an apostrophe or a space."
            )
        if self.thousands == self.decimal:
            raise InvalidInput(
                "thousands", "The thousands separator cannot be the same as the decimal separator."
            )
        if self.format == "csv" and self.delimiter == self.decimal:
            raise InvalidInput(
                "decimal",
                "The decimal separator cannot be the same as the delimiter; choose ';' as delimiter.",
            )
        if self.header_row is not None and (
            not isinstance(self.header_row, int) or not 0 <= self.header_row <= MAX_SKIP_ROWS
        ):
            raise InvalidInput(
                "header_row", "The header row must be a row number of 0 or more (or no header)."
            )
        if not isinstance(self.skip_rows, int) or not 0 <= self.skip_rows <= MAX_SKIP_ROWS:
            raise InvalidInput("skip_rows", "Rows to skip must be a whole number of 0 or more.")
        if not isinstance(self.column_types, dict):
            raise InvalidInput("column_types", "Column types must map column names to types.")
        for name, dtype in self.column_types.items():
            if dtype not in TYPES:
                raise InvalidInput(
                    "column_types",
                    f"'{dtype}' is not a column type (column '{name}'). Choose one of: {', '.join(TYPES)}.",
                )

    @property
    def rows_before_header(self) -> int:
        """Physical lines (or sheet rows) skipped before the header, or before the data without a header."""
        return self.skip_rows + (self.header_row or 0)
