"""A matrix as a long table (one row per cell), the shape Altair draws: the lab's one helper for it."""

from __future__ import annotations

import numpy as np
import pandas as pd


def long_table(matrix, value: str = "weight", **constants) -> pd.DataFrame:
    """``row, col, <value>`` for every cell of a 2D array (a 1D one is one row), row by row, plus ``constants``
    as columns (e.g. ``kernel=3``) in front."""
    m = np.atleast_2d(np.asarray(matrix.detach().cpu() if hasattr(matrix, "detach") else matrix))
    rows, cols = np.indices(m.shape)
    frame = pd.DataFrame({"row": rows.ravel(), "col": cols.ravel(), value: m.ravel()})
    for i, (name, v) in enumerate(constants.items()):
        frame.insert(i, name, v)
    return frame
