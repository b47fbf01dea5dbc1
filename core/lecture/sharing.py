"""Stationarity -> parameter sharing: FC vs locally connected vs convolution.

Lecture 04.1, section 5. Sparsity + sharing = a convolution kernel; the weight
matrix becomes banded Toeplitz. The course notes go from 9 connection weights
to 3 shared ones, the week-4 notes from 12 to 3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from core.lecture.conv import layer_costs
from core.nets.local import LocallyConnected1d, LocallyConnected2d
from core.tables import long_table

LECTURE_EXAMPLES = (
    # (where, input length, kernel): both without bias, one channel
    ("course notes: 5 inputs, windows of 3", 5, 3),
    ("week-4 notes: 6 inputs, windows of 3", 6, 3),
)


def lecture_examples() -> pd.DataFrame:
    """The lecture's 9 -> 3 and 12 -> 3, computed by ``layer_costs``."""
    rows = []
    for where, n, k in LECTURE_EXAMPLES:
        costs = layer_costs((1, n), 1, k, bias=False)
        rows.append({"example": where, "outputs": n - k + 1,
                     "locally connected weights": int(costs.loc["locally connected", "params"]),
                     "convolution weights": int(costs.loc["convolution", "params"])})
    return pd.DataFrame(rows)


def costs_vs_size(in_channels: int, out_channels: int, kernel_size: int, sizes, nd: int = 1) -> pd.DataFrame:
    """Long table ``size, layer, params, multiplies`` for square (2D) or 1D inputs of each size."""
    frames = []
    for n in sizes:
        shape = (in_channels, *(n,) * nd)
        costs = layer_costs(shape, out_channels, kernel_size).reset_index()
        costs["size"] = n
        frames.append(costs[["size", "layer", "params", "multiplies"]])
    return pd.concat(frames, ignore_index=True)


def growth_caption(costs: pd.DataFrame) -> str:
    """What the two growth charts show, read from ``costs_vs_size``'s table: whether the locally connected layer's
    multiplies equal the convolution's at every size (then its line lies hidden under the convolution's), and how
    many times fewer weights sharing leaves at the largest size."""
    mults = costs.pivot(index="size", columns="layer", values="multiplies")
    params = costs.pivot(index="size", columns="layer", values="params")
    n = int(params.index.max())
    ratio = params.loc[n, "locally connected"] / params.loc[n, "convolution"]
    weights = (f"{ratio:,.0f}× fewer than the locally connected layer at {n} per side" if ratio >= 1.5
               else f"few at {n} per side ({ratio:.2g}×)")
    if (mults["locally connected"] == mults["convolution"]).all():
        return (f"In the multiplies the locally connected line lies under the convolution's: the same windows cost "
                f"the same products at every size. Sharing saves weights, not computation: {weights}.")
    differ = int((mults["locally connected"] != mults["convolution"]).sum())
    return (f"The locally connected layer and the convolution differ in multiplies at {differ} of "
            f"{len(mults)} sizes. Sharing saves weights: {weights}.")


def _layers(in_channels, out_channels, kernel_size, built_for: int, nd: int, seed: int):
    torch.manual_seed(seed)
    conv = (nn.Conv1d if nd == 1 else nn.Conv2d)(in_channels, out_channels, kernel_size)
    lc = (LocallyConnected1d if nd == 1 else LocallyConnected2d)(in_channels, out_channels, kernel_size,
                                                                 (built_for,) * nd)
    out = lc.output_size
    fc = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * built_for ** nd, out_channels * int(np.prod(out))))
    return conv, lc, fc


def apply_to_sizes(in_channels: int, out_channels: int, kernel_size: int, built_for: int, sizes,
                   nd: int = 1, seed: int = 0) -> pd.DataFrame:
    """Run one convolution, one LC and one FC layer (all built for ``built_for``) on other sizes.

    Each cell holds the output shape, or why the layer cannot take that input,
    in words, next to PyTorch's own error. The layers and inputs live on
    PyTorch's ``meta`` device (shapes, no data): PyTorch accepts or refuses
    them exactly as it would real ones, and a fully connected layer for a
    16 x 64 x 64 input, 3.3e9 weights, costs nothing.
    """
    with torch.device("meta"):
        conv, lc, fc = _layers(in_channels, out_channels, kernel_size, built_for, nd, seed)
    rows = []
    for n in sizes:
        x = torch.empty(1, in_channels, *(n,) * nd, device="meta")
        row = {"input": "x".join([str(n)] * nd)}
        for name, layer in (("convolution", conv), ("locally connected", lc), ("fully connected", fc)):
            try:
                with torch.no_grad():
                    row[name] = "output " + "x".join(map(str, layer(x).shape[1:]))
            except RuntimeError as exc:
                if name == "fully connected":
                    why = (f"its matrix has {fc[1].in_features} columns, one per input value it was built for; "
                           f"this input has {x[0].numel()} values")
                else:
                    why = (f"it has one set of weights per output position of a {built_for}-sample input "
                           f"({int(np.prod(lc.output_size))} positions)")
                row[name] = f"cannot: {why} [torch: {str(exc).splitlines()[0][:80]}]"
        rows.append(row)
    return pd.DataFrame(rows)


def layer_matrix(layer: nn.Module, n: int) -> torch.Tensor:
    """The (1-channel, 1D) layer as a matrix, measured by feeding it the identity basis."""
    with torch.no_grad():
        basis = torch.eye(n).unsqueeze(1)  # (n, 1, n): one unit impulse per row
        zero = layer(torch.zeros(1, 1, n))
        cols = (layer(basis) - zero).reshape(n, -1)  # (n inputs, outputs)
    return cols.T  # (outputs, inputs)


def sharing_matrices(n: int, kernel_size: int, seed: int = 0) -> pd.DataFrame:
    """Long table ``layer, row, col, weight, connected, tap, label`` of a conv and an LC layer's matrices (1
    channel, no padding, stride 1). The structure comes from the geometry, not from the values: output ``row``
    reads input ``col`` when ``0 <= col - row < kernel_size``, through tap ``col - row`` (-1: no connection), so
    a weight that happens to be near zero is still drawn as one. ``label`` names the weight: the convolution's
    shared taps ``w0, w1, …`` repeat down each diagonal; the locally connected layer's are each its own."""
    conv, lc, _ = _layers(1, 1, kernel_size, n, 1, seed)
    frames = []
    for name, layer in (("convolution (shared: banded Toeplitz)", conv), ("locally connected (no sharing)", lc)):
        cells = long_table(layer_matrix(layer, n), "weight", layer=name)
        tap = cells["col"] - cells["row"]
        cells["connected"] = (tap >= 0) & (tap < kernel_size)
        cells["tap"] = tap.where(cells["connected"], -1)
        shared = layer is conv
        cells["label"] = [(f"w{t}" if shared else f"{r},{t}") if t >= 0 else ""
                          for r, t in zip(cells["row"], cells["tap"])]
        frames.append(cells)
    return pd.concat(frames, ignore_index=True)


def sharing_caption(cells: pd.DataFrame) -> str:
    """What the two matrices show, read from ``sharing_matrices``' table: how many connections each has, how many
    distinct weights fill them, and, when the band holds a weight too small to see in colour, that it is there."""
    parts = []
    for name, layer in cells[cells["connected"]].groupby("layer", sort=False):
        noun = "the convolution" if name.startswith("convolution") else "the locally connected layer"
        parts.append(f"{noun} has {len(layer)} connections and {layer['label'].nunique()} distinct weights")
    band = cells.loc[cells["connected"], "weight"].abs()
    outputs = int(cells["row"].max()) + 1
    said = ("Outlined cells are connections, named by their weight: " + "; ".join(parts) + f" ({outputs} outputs, "
            f"1 channel). The convolution's diagonals repeat its {int(cells['tap'].max()) + 1} shared taps.")
    if band.min() < 0.05 * band.max():
        said += (f" The smallest weight in the bands, {band.min():.4f}, is almost white: the outline and the name show it is "
                 "a connection all the same.")
    return said
