"""Padding (lecture section 7): modes, index maps, same padding, output sizes.

A kernel of size k removes k - 1 outputs; padding (k - 1) / 2 on each side
keeps the size. The modes say what the invented border samples copy:

    zeros      ... 0 0 | a b c d | 0 0 ...
    constant   ... v v | a b c d | v v ...
    reflect    ... c b | a b c d | c b ...   (mirror, edge not repeated)
    replicate  ... a a | a b c d | d d ...
    circular   ... c d | a b c d | a b ...   (wrap around)

``pad`` is written with index maps (NumPy), independently of ``F.pad``, which
is the oracle in the tests.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch

from core.geometry import output_length, same_padding

MODES = ("zeros", "constant", "reflect", "replicate", "circular")


def _amounts(amount: int | Sequence[int], nd: int) -> list[tuple[int, int]]:
    """(before, after) per dimension from an int, a per-dimension int, or (before, after) pairs."""
    if isinstance(amount, int):
        return [(amount, amount)] * nd
    amount = list(amount)
    if len(amount) == nd and all(isinstance(a, int) for a in amount):
        return [(a, a) for a in amount]
    if len(amount) == 2 * nd:
        return [(amount[2 * i], amount[2 * i + 1]) for i in range(nd)]
    raise ValueError(f"padding {amount} does not fit {nd} dimension(s)")


def index_map(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each of the ``before + n + after`` padded positions, the input index it copies (-1: a fill value)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if min(before, after) < 0:
        raise ValueError("padding must be >= 0")
    if mode == "reflect" and max(before, after) >= n:
        raise ValueError(f"reflect padding must be smaller than the input ({n}), got {max(before, after)}")
    if mode == "circular" and max(before, after) > n:
        raise ValueError(f"circular padding can be at most the input size ({n}), got {max(before, after)}")
    i = np.arange(-before, n + after)
    if mode in ("zeros", "constant"):
        return np.where((i >= 0) & (i < n), i, -1)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return np.mod(i, n)
    period = 2 * (n - 1) if n > 1 else 1  # reflect: fold i into [0, n-1] without repeating the edge
    j = np.mod(i, period)
    return np.where(j < n, j, period - j)


def pad(x: torch.Tensor, amount, mode: str = "zeros", value: float = 0.0, nd: int | None = None) -> torch.Tensor:
    """Pad the last one (1D) or two (2D) dimensions of ``x``.

    Args:
        x: a signal ``(L,)`` or ``(B, C, L)``, or an image ``(H, W)`` or ``(B, C, H, W)``.
        amount: an int for every side; one int per dimension; or ``(before,
            after)`` pairs, first dimension first (``(top, bottom, left, right)``
            in 2D). ``F.pad`` lists the last dimension first instead.
        mode: one of ``MODES``; ``value`` is the fill for ``constant``.
        nd: padded dimensions; by default 1 for 1- and 3-dimensional ``x``, else 2.
    """
    nd = nd or (1 if x.dim() in (1, 3) else 2)
    out = x
    for offset, (before, after) in enumerate(_amounts(amount, nd)):
        dim = x.dim() - nd + offset
        idx = torch.as_tensor(index_map(x.shape[dim], before, after, mode))
        taken = out.index_select(dim, idx.clamp(min=0))
        if mode in ("zeros", "constant"):
            shape = [1] * out.dim()
            shape[dim] = -1
            fill = torch.full_like(taken, 0.0 if mode == "zeros" else value)
            taken = torch.where((idx >= 0).view(shape), taken, fill)
        out = taken
    return out


def size_table(n: int, kernel_size: int, stride: int, dilation: int) -> pd.DataFrame:
    """Output size for every padding from 0 to the kernel's span (missing where the kernel spans more than the
    padded input), with 'same' marked only where it is: at stride 1, the padding ``same_padding`` gives."""
    before, after = same_padding(kernel_size, dilation)
    rows = []
    for p in range(0, dilation * (kernel_size - 1) + 1):
        out = output_length(n, kernel_size, stride, p, dilation)
        rows.append({"padding": p, "output size": out if out >= 1 else None, "keeps size": out == n,
                     "same (before, after)": f"{before}, {after}" if p == before and stride == 1 else ""})
    return pd.DataFrame(rows).astype({"output size": "Int64"})


def same_claim(n: int, kernel_size: int, stride: int, dilation: int) -> dict:
    """What 'same' padding means for this layer, computed: ``before``, ``after``, the ``output`` they give, and
    a ``sentence``. At stride 1 it keeps the size n (PyTorch's ``padding='same'``). At stride > 1 no padding
    keeps the size and PyTorch refuses ``padding='same'``; TensorFlow's 'same' pads just enough for
    ⌈n / s⌉ outputs, more after than before when the total is odd."""
    span = dilation * (kernel_size - 1) + 1
    if stride == 1:
        before, after = same_padding(kernel_size, dilation)
        out = n + before + after - span + 1
        uneven = " (uneven: the span is even)" if before != after else ""
        return {"before": before, "after": after, "output": out,
                "sentence": f"'Same' padding for this kernel: **{before}** before and **{after}** after{uneven}, "
                            f"so {n} inputs give {out} outputs."}
    want = -(-n // stride)
    total = max((want - 1) * stride + span - n, 0)
    before, after = total // 2, total - total // 2
    out = (n + total - span) // stride + 1
    return {"before": before, "after": after, "output": out,
            "sentence": f"At stride {stride} no padding keeps the size: every output moves {stride} inputs on, so "
                        f"{n} inputs give at most ⌈{n}/{stride}⌉ = {want} outputs, and PyTorch refuses "
                        f"`padding='same'` here. TensorFlow's 'same' pads **{before}** before and **{after}** after "
                        f"to get those {out}."}


def padded_views(x: np.ndarray, amount: int, value: float = 0.0) -> pd.DataFrame:
    """``x`` (1D or 2D) padded by ``amount`` on every side in each mode, as one long table for drawing.

    Columns: ``mode, row, col`` (position, padded coordinates start at -amount),
    ``value``, ``padded`` (True for invented cells) and ``source`` (the flat
    index of the input sample copied, -1 for a fill value). 1D signals have row 0.
    """
    t = torch.as_tensor(np.atleast_2d(x), dtype=torch.float64)  # (H, W); a 1D signal is one row
    nd = np.ndim(x)
    h, w = t.shape
    frames = []
    for mode in MODES:
        if (mode == "reflect" and amount >= min(h if nd == 2 else w, w)) or (mode == "circular" and amount > w):
            continue  # this mode cannot pad that much
        amounts = (0, 0, amount, amount) if nd == 1 else amount
        padded = pad(t, amounts, mode, value, nd=2)
        rows_map = index_map(h, 0 if nd == 1 else amount, 0 if nd == 1 else amount, mode)
        cols_map = index_map(w, amount, amount, mode)
        rr, cc = np.meshgrid(rows_map, cols_map, indexing="ij")
        source = np.where((rr >= 0) & (cc >= 0), rr * w + cc, -1)
        r0 = 0 if nd == 1 else amount
        rows, cols = np.indices(padded.shape)
        inside = (rows >= r0) & (rows < r0 + h) & (cols >= amount) & (cols < amount + w)
        frames.append(pd.DataFrame({"mode": mode, "row": (rows - r0).ravel(), "col": (cols - amount).ravel(),
                                    "value": padded.numpy().ravel(), "padded": ~inside.ravel(),
                                    "source": source.ravel()}))
    return pd.concat(frames, ignore_index=True)


def border_effect(x: np.ndarray, kernel: np.ndarray) -> pd.DataFrame:
    """A 1D kernel applied with 'same' padding in each mode: what happens at the borders.

    Columns ``mode, position, value``.
    """
    before, after = same_padding(len(kernel))
    w = torch.as_tensor(kernel, dtype=torch.float64).view(1, 1, -1)
    t = torch.as_tensor(x, dtype=torch.float64).view(1, 1, -1)
    frames = []
    for mode in MODES:
        if mode == "constant" or (mode == "reflect" and max(before, after) >= len(x)):
            continue
        y = torch.nn.functional.conv1d(pad(t, (before, after), mode), w)[0, 0].numpy()
        frames.append(pd.DataFrame({"mode": mode, "position": np.arange(len(y)), "value": y}))
    return pd.concat(frames, ignore_index=True)


def padded_lead(views: pd.DataFrame) -> str:
    """What a 1D ``padded_views`` chart shows, from its rows: each mode's padded signal, invented cells in
    brackets."""
    def cells(part: pd.DataFrame) -> str:
        return " ".join(f"[{v:g}]" if p else f"{v:g}" for v, p in zip(part["value"], part["padded"]))
    amount = int(-views["col"].min()) if len(views) else 0
    modes = [f"{mode}: {cells(part.sort_values('col'))}" for mode, part in views.groupby("mode", sort=False)]
    return (f"The signal padded by {amount} per side in each mode, invented cells in brackets. " + "; ".join(modes)
            if modes else "No mode can pad this signal that much.")
