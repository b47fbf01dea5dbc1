"""Analysis of a network: a per-layer table (shapes, parameters, multiply-adds, receptive fields), and the
composition demo (two convolutions without a non-linearity are one).

Networks are built from layer lists (``core.nets.layers``); the lecture's own are in ``core.nets.networks``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import torch
from torch import nn

from core.nets.module_kinds import POINTWISE

if TYPE_CHECKING:  # pandas and the flop counter load on first use: the training engine needs none of them
    import pandas as pd

def _macs(layer: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of one forward pass of one sample, counted by PyTorch's FlopCounterMode."""
    from core.nets.exclusive import PATCHING, flop_counter

    with PATCHING, flop_counter(display=False) as counter, torch.no_grad():  # core.nets.exclusive: why
        layer(x)
    return counter.get_total_flops() // 2




def layer_table(model: nn.Sequential, input_shape: Sequence[int]) -> pd.DataFrame:
    """One row per layer: kind, output shape (a tuple; pages format it), parameters, multiply-adds, receptive
    field.

    The receptive field is that of the layer's output units on the input
    (from ``core.nets.receptive_field``), '-' once the tensor is no longer spatial.
    """
    import pandas as pd

    from core.nets.receptive_field import receptive_field

    model = model.eval()
    x = torch.zeros(1, *input_shape)
    nd = len(input_shape) - 1
    rows = []
    spatial_prefix, rf_before = True, 1
    for i, layer in enumerate(model):
        macs = _macs(layer, x)
        with torch.no_grad():
            x = layer(x)
        rf: Any = "-"
        if spatial_prefix and x.dim() == nd + 2:
            # a point-wise layer keeps the field; anything else is traced (once per such layer, not per layer)
            rf = rf_before if isinstance(layer, POINTWISE) else \
                receptive_field(model[: i + 1], (1, *input_shape)).iloc[-1]["rf"]
            rf_before = rf
        else:
            spatial_prefix = False
        rows.append({"#": i + 1, "layer": type(layer).__name__, "output shape": tuple(x.shape[1:]),
                     "parameters": sum(p.numel() for p in layer.parameters()), "multiply-adds": macs,
                     "receptive field": str(rf)})
    return pd.DataFrame(rows)


def shape_series(table) -> "pd.DataFrame":
    """``layer_table``'s output shapes as the long table the anatomy chart draws: ``#, layer, quantity, value``.
    A spatial output (channels, *size) gives its ``channels`` and its ``spatial size`` (the first axis); a flat
    one (after a flatten or a linear layer) gives its ``features``, which are neither channels nor positions."""
    import pandas as pd

    rows = []
    for number, layer, shape in zip(table["#"], table["layer"], table["output shape"]):
        if len(shape) > 1:
            rows += [{"#": number, "layer": layer, "quantity": "channels", "value": shape[0]},
                     {"#": number, "layer": layer, "quantity": "spatial size", "value": shape[1]}]
        else:
            rows.append({"#": number, "layer": layer, "quantity": "features", "value": shape[0]})
    return pd.DataFrame(rows, columns=["#", "layer", "quantity", "value"])


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def compose_kernels(w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """The kernel of ``conv(conv(x, w1), w2)`` (stride 1, no padding, no non-linearity between).

    For weights ``(C_mid, C_in, *k1)`` and ``(C_out, C_mid, *k2)`` the result is
    ``(C_out, C_in, *(k1 + k2 - 1))``: the full (true) convolution of the
    kernels, summed over the middle channels, because PyTorch's layers compute
    cross-correlations and composing two of them flips nothing.
    """
    nd = w1.dim() - 2
    conv = torch.nn.functional.conv1d if nd == 1 else torch.nn.functional.conv2d
    k2 = w2.shape[2:]
    # full convolution = cross-correlation of w1 with the flipped w2, padded by k2 - 1
    flipped = torch.flip(w2, dims=tuple(range(2, 2 + nd)))  # (C_out, C_mid, *k2)
    src = w1.transpose(0, 1)  # (C_in, C_mid, *k1): the "batch" is C_in
    out = conv(src, flipped, padding=tuple(k - 1 for k in k2))  # (C_in, C_out, *(k1 + k2 - 1))
    return out.transpose(0, 1)


def composition_demo(k1: int, k2: int, size: int = 16, seed: int = 0) -> dict:
    """Two random 2D convolutions (1 channel) vs the single composed one, with and without a ReLU between.

    Returns the kernels and the max |difference| of the outputs on a random image.
    """
    gen = torch.Generator().manual_seed(seed)
    w1 = torch.randn(1, 1, k1, k1, generator=gen, dtype=torch.float64)
    w2 = torch.randn(1, 1, k2, k2, generator=gen, dtype=torch.float64)
    x = torch.randn(1, 1, size, size, generator=gen, dtype=torch.float64)
    conv = torch.nn.functional.conv2d
    composed = compose_kernels(w1, w2)
    one = conv(x, composed)
    return {"w1": w1[0, 0].numpy(), "w2": w2[0, 0].numpy(), "composed": composed[0, 0].numpy(),
            "diff_linear": (conv(conv(x, w1), w2) - one).abs().max().item(),
            "diff_relu": (conv(torch.relu(conv(x, w1)), w2) - one).abs().max().item()}

