"""How the pages show tables so that nothing in them is cut off (presentation only)."""

from __future__ import annotations

import math

import pandas as pd

ROW_PX, HEADER_PX = 35, 35  # Streamlit's data grid: each row and the header (and a 3 px frame)


def fit_height(rows: int, most: int = 20) -> int:
    """A data grid's height that shows ``rows`` rows without a vertical scroll bar, up to ``most`` rows: a scroll
    bar takes its width from the columns, and the last column then needs a horizontal scroll."""
    return HEADER_PX + ROW_PX * min(rows, most) + 3  # and the frame


def readable(df: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """``df`` as text for ``st.table``, which wraps long cells instead of cutting them: numbers to ``digits``
    decimals (whole numbers as they are), True/False as yes/no, a missing value as a dash."""
    def cell(v):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return "—"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, float):
            return f"{v:.0f}" if v.is_integer() else f"{v:.{digits}f}"
        return str(v)
    return df.astype(object).map(cell)


def arrow(df: pd.DataFrame):
    """``df`` as the Arrow table Streamlit sends: made where the frame is cached, a session's run converts nothing
    (a five-row text table's conversion was a fifth of the signals page's run)."""
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False)
