"""The signals page's experiment: which prior fits MNIST-1D? An MLP and a 1D ConvNet trained while one knob turns
(shuffle a share of the positions, shift the digits further, add noise), and the ConvNet's lead at each value."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from core.practicum.runs import RunResult, comparison


KNOBS = {
    # knob: (RunConfig field, values, axis title)
    "shuffled share": ("perm_fraction", (0.0, 0.25, 0.5, 1.0), "share of positions shuffled"),
    "translation": ("m1d_translation", (1, 16, 32, 48), "largest shift of the digit (samples)"),
    "noise": ("m1d_noise", (0.02, 0.25, 0.5, 1.0), "white noise added (std)"),
}


def knob_configs(knob: str, epochs: int = 10) -> list:
    """MLP and ConvNet runs on MNIST-1D at each value of one knob (the practicum's 1D twin)."""
    field, values, _ = KNOBS[knob]
    base = comparison(("fc", "cnn"), dataset="mnist1d", epochs=epochs)[:2]
    if field == "perm_fraction":  # 0 means in order
        return [replace(c, permuted=v > 0, perm_fraction=v if v > 0 else 1.0) for v in values for c in base]
    return [replace(c, **{field: v}) for v in values for c in base]


def prior_advantage(results: list[RunResult], knob: str = "shuffled share") -> pd.DataFrame:
    """ConvNet minus MLP test accuracy at each value of ``knob``."""
    field, _, _ = KNOBS[knob]
    rows: dict[float, dict] = {}
    for r in results:
        if field == "perm_fraction":
            value = r.config.perm_fraction if r.permuted else 0.0
        else:
            value = getattr(r.config, field)
        rows.setdefault(value, {knob: value})["ConvNet" if r.model == "cnn" else "MLP"] = r.accuracy
    df = pd.DataFrame(sorted(rows.values(), key=lambda row: row[knob]))
    df["advantage"] = df["ConvNet"] - df["MLP"]
    return df
