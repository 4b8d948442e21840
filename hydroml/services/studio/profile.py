"""The profile of one column of a materialised Studio frame (the quality report's entry for that column)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from hydroml.services.quality import column_report
from hydroml.services.studio.view import column_series, to_arrow


def column_profile(frame: pd.DataFrame, column: str) -> dict:
    """The quality report of ``column`` (same keys as `quality.column_report`: name, dtype, missing, missing_pct,
    unique, min, max, mean, std, histogram, top, datetime), computed from the in-memory column.

    Raises ValueError for an unknown column.
    """
    series = column_series(frame, column)
    array = to_arrow(series)
    if isinstance(array, pa.Array):
        array = pa.chunked_array([array], array.type)
    return column_report(str(column), array, len(frame))
