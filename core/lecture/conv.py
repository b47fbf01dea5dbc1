"""Convolution as a (sparse) matrix, locally connected layers, and layer costs.

Lecture 04.1, sections 4 and 5: locality makes the weight matrix sparse (each
output sees a window of the input), stationarity makes it share weights (every
window uses the same kernel: a banded Toeplitz matrix). A locally connected
layer keeps the sparsity and drops the sharing.

References:
- V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep
  learning", 2016 (output sizes, convolution as a matrix).
- PyTorch ``torch.nn.functional.conv1d/conv2d``, ``F.pad`` and ``F.unfold``,
  which are the oracles in the tests.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import torch

from core.geometry import PADDING_MODES, check_geometry, output_length, per_dim, window_indices

if TYPE_CHECKING:
    import pandas as pd

def conv_matrix(
    weight: torch.Tensor,
    input_size: Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    padding_mode: str = "zeros",
) -> torch.Tensor:
    r"""The convolution as a sparse matrix over the flattened input.

    ``M @ x.reshape(-1)`` equals ``F.conv1d/conv2d(F.pad(x, ..., mode), weight,
    stride=stride, dilation=dilation).reshape(-1)`` for one sample ``x`` of shape
    ``(C_in, *input_size)``.

    Args:
        weight: ``(C_out, C_in, k)`` for 1D or ``(C_out, C_in, kH, kW)`` for 2D.
        input_size: ``(L,)`` or ``(H, W)``.
        stride, padding, dilation: an int or one per spatial dimension.
        padding_mode: ``zeros``, ``reflect``, ``replicate`` or ``circular``.

    Shape:
        M is ``(C_out * prod(out_size), C_in * prod(input_size))`` with
        ``out = floor((n + 2p - d(k-1) - 1) / s) + 1`` per dimension.

    Returns:
        A coalesced ``torch.sparse_coo_tensor``. Taps that read zero padding
        are dropped; taps that reflect or wrap onto the same input sample add up.

    Example:
        >>> w = torch.tensor([[[1.0, 2.0, 3.0]]])
        >>> conv_matrix(w, (5,)).to_dense()
        tensor([[1., 2., 3., 0., 0.],
                [0., 1., 2., 3., 0.],
                [0., 0., 1., 2., 3.]])
    """
    if weight.dim() not in (3, 4):
        raise ValueError(f"weight must be (C_out, C_in, k) or (C_out, C_in, kH, kW), got {tuple(weight.shape)}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    nd = weight.dim() - 2
    input_size = per_dim(input_size, nd, "input_size")
    stride, padding, dilation = (per_dim(v, nd, name) for v, name in
                                 ((stride, "stride"), (padding, "padding"), (dilation, "dilation")))
    c_out, c_in, *kernel = weight.shape
    check_geometry(input_size, kernel, stride, padding, dilation)

    cols = window_indices(input_size, c_in, tuple(kernel), stride, padding, dilation, padding_mode)
    taps, positions = cols.shape  # (C_in*K, L_out)
    w = weight.detach().reshape(c_out, taps)
    rows = torch.arange(c_out).view(-1, 1, 1) * positions + torch.arange(positions).view(1, 1, -1)
    rows = rows.expand(c_out, taps, positions)  # (C_out, C_in*K, L_out)
    cols = cols.unsqueeze(0).expand(c_out, taps, positions)
    vals = w.unsqueeze(-1).expand(c_out, taps, positions)
    keep = cols >= 0
    indices = torch.stack([rows[keep], cols[keep]])
    shape = (c_out * positions, c_in * math.prod(input_size))
    return torch.sparse_coo_tensor(indices, vals[keep], shape, check_invariants=True).coalesce()


def _valid_taps(n: int, k: int, s: int, p: int, d: int) -> int:
    """(output position, tap) pairs along one dimension that read a real input sample."""
    out = output_length(n, k, s, p, d)
    return sum(1 for o in range(out) for t in range(k) if 0 <= o * s - p + t * d < n)


def layer_costs(input_shape: Sequence[int], out_channels: int, kernel_size: int | Sequence[int], *,
                stride=1, padding=0, dilation=1, bias: bool = True) -> pd.DataFrame:
    """Parameters, multiplies and weight-matrix non-zeros of three layers with one output size.

    Args:
        input_shape: ``(C_in, L)`` or ``(C_in, H, W)`` of one sample.
        out_channels, kernel_size, stride, padding (zeros), dilation, bias: of the convolution;
        the fully connected and locally connected layers produce the same output shape.

    Returns:
        A DataFrame indexed by layer (``fully connected``, ``locally connected``,
        ``convolution``) with columns ``params``, ``multiplies`` (per sample, one
        per weight tap, padding taps included, as the hardware does them),
        ``nonzeros`` (of the weight matrix over the flattened input) and
        ``output_shape``.
    """
    import pandas as pd

    c_in, *size = (int(v) for v in input_shape)
    nd = len(size)
    if nd not in (1, 2):
        raise ValueError(f"input_shape must be (C, L) or (C, H, W), got {tuple(input_shape)}")
    kernel, stride, padding, dilation = (per_dim(v, nd, name) for v, name in (
        (kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding"), (dilation, "dilation")))
    check_geometry(size, kernel, stride, padding, dilation)
    out_size = [output_length(*a) for a in zip(size, kernel, stride, padding, dilation)]
    n_in, n_out, taps = c_in * math.prod(size), out_channels * math.prod(out_size), c_in * math.prod(kernel)
    banded = out_channels * c_in * math.prod(_valid_taps(*a) for a in zip(size, kernel, stride, padding, dilation))
    b = n_out if bias else 0
    rows = {
        "fully connected": (n_in * n_out + b, n_in * n_out, n_in * n_out),
        "locally connected": (n_out * taps + b, n_out * taps, banded),
        "convolution": (out_channels * taps + (out_channels if bias else 0), n_out * taps, banded),
    }
    df = pd.DataFrame.from_dict(rows, orient="index", columns=["params", "multiplies", "nonzeros"])
    df.index.name = "layer"
    df["output_shape"] = [str((out_channels, *out_size))] * 3
    df["any_input_size"] = [False, False, True]
    return df
