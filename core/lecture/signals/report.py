"""What the signals page reports: every measure of a signal beside its permuted copy, and the lecture's table of
data types (dimensions and channels)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from core.lecture.signals.generate import permute
from core.lecture.signals.measures import (as_array, autocorrelation, local_statistics, power_spectrum, pyramid_energy,
                                           squint_curve, summary, summary_table)


DATA_TYPES = [
    # kind, dimensionality, channels, batch tensor shape, (stationarity, locality, compositionality)
    ("audio, mono", 1, "1", "B × 1 × T", (True, True, True)),
    ("audio, stereo", 1, "2", "B × 2 × T", (True, True, True)),
    ("audio, 5.1 surround", 1, "6", "B × 6 × T", (True, True, True)),
    ("image, grayscale", 2, "1", "B × 1 × H × W", (True, True, True)),
    ("image, RGB", 2, "3", "B × 3 × H × W", (True, True, True)),
    ("image, hyperspectral", 2, "many (e.g. 200)", "B × 200 × H × W", (True, True, True)),
    ("video / volumetric scan", 3, "3 (or 1)", "B × C × T × H × W", (True, True, True)),
    ("text", 1, "vocabulary size (one-hot)", "B × V × T", (True, True, True)),
    ("tabular records", 0, "one per column", "B × F", (False, False, False)),
]


def data_types(examples: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """The lecture's table of signal types: dimension, channels, batch shape, which properties hold.

    ``examples`` maps a row's ``data`` to a built-in example; its measured
    correlation length, spectral slope and drift are added to that row.
    """
    rows = []
    for kind, nd, channels, shape, (st_, lo, co) in DATA_TYPES:
        row = {"data": kind, "dimensions": str(nd) if nd else "none (no axis)", "channels": channels,
               "batch tensor": shape, "stationary": st_, "local": lo, "compositional": co,
               "example": "", "correlation length": None, "spectral slope": None, "drift": None}
        if examples and kind in examples:
            name, x = examples[kind]
            m = summary(x)
            slope = m["spectral slope"]  # None where it does not apply (a tune's spectrum is lines, not a power law)
            row.update({"example": name, "correlation length": round(m["correlation length"], 2),
                        "spectral slope": None if np.isnan(slope) else round(slope, 2),
                        "drift": round(m["drift (0: stationary)"], 2)})
        rows.append(row)
    return pd.DataFrame(rows)


def _measures(x: np.ndarray) -> dict:
    """The measures ``compare`` shows, for one copy."""
    ac, ps = autocorrelation(x), power_spectrum(x)
    return {"autocorrelation": ac, "spectrum": ps, "summary": summary(x, ac, ps), "squint": squint_curve(x),
            "pyramid": pyramid_energy(x)}


# ``compare`` measures the original and its permuted copy side by side: NumPy's FFTs and SciPy's filters let go of
# the GIL, so on two idle cores a new signal's measures take about half as long (the signals page measures one on
# each move of a dial). One small pool for the process: many viewers at once queue on it, they do not add threads.
_SIDE_BY_SIDE = ThreadPoolExecutor(max_workers=2, thread_name_prefix="convlab-measure")


def compare(x, seed: int = 0, max_lag: int = 64) -> dict[str, pd.DataFrame]:
    """Every measure for ``x`` and its permuted copy, as long tables with a ``copy`` column."""
    x = as_array(x)
    copies = {"original": x, "permuted": permute(x, seed)}
    measured = dict(zip(copies, _SIDE_BY_SIDE.map(_measures, copies.values())))

    def joined(name):
        return pd.concat([m[name].assign(copy=k) for k, m in measured.items()], ignore_index=True)

    table = joined("autocorrelation")
    shown, notes = summary_table([{"copy": k, **m["summary"]} for k, m in measured.items()])
    spectrum = joined("spectrum")
    # power under 1e-12 of the copy's peak is rounding, not signal (an exactly periodic tune has empty bins): left
    # off the log-scale chart, where it would stretch the axis down to 1e-30
    spectrum = spectrum[spectrum["power"] > 1e-12 * spectrum.groupby("copy")["power"].transform("max")]
    return {
        "autocorrelation": table[table["lag"] <= max_lag],
        "spectrum": spectrum,
        "squint": joined("squint"),
        "pyramid": joined("pyramid"),
        "local": local_statistics(x).assign(copy="original"),
        "summary": shown,
        "permuted": copies["permuted"],  # the copy measured, for a caller that draws it
        "notes": notes,
    }


def picture_alts(summary: pd.DataFrame, shape: tuple[int, ...]) -> list[str]:
    """Text alternatives of the two pictures the signals page shows (the image and its permuted copy), read from
    ``compare``'s summary table: size, correlation length and spectral slope of each copy."""
    size = " × ".join(map(str, shape))
    said = []
    for _, row in summary.iterrows():
        what = "The image" if row["copy"] == "original" else "Its permuted copy (the same values in new places)"
        said.append(f"{what}, {size} pixels: correlation length {row['correlation length']}, spectral slope "
                    f"{row['spectral slope']}")
    return said
