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
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    import pandas as pd

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def per_dim(value, nd: int, name: str = "value", kind: type = int) -> tuple:
    """One number, or one per dimension, as a tuple of ``nd`` numbers of ``kind`` (PyTorch's convention for
    ``kernel_size``, ``stride``, ``padding``, ``dilation``). The lab's one helper for it."""
    if not isinstance(value, (tuple, list)):
        return (kind(value),) * nd
    value = tuple(kind(v) for v in value)
    if len(value) != nd:
        raise ValueError(f"{name} needs {nd} value(s), got {value}")
    return value


def _pad_arg(padding: tuple[int, ...]) -> tuple[int, ...]:
    """Symmetric per-dimension padding as F.pad's tuple (last dimension first)."""
    out: list[int] = []
    for p in reversed(padding):
        out += [p, p]
    return tuple(out)


def same_padding(kernel_size: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) that keep the size at stride 1; uneven for an even span (more after, as PyTorch)."""
    total = dilation * (kernel_size - 1)
    return total // 2, total - total // 2


def output_length(n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """``floor((n + 2p - d(k-1) - 1) / s) + 1``, the size PyTorch's layers give."""
    return (n + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def _check_geometry(size, kernel, stride, padding, dilation):
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        if min(n, k, s, d) < 1 or p < 0:
            raise ValueError("sizes, kernel, stride and dilation must be >= 1 and padding >= 0")
        if output_length(n, k, s, p, d) < 1:
            raise ValueError(
                f"kernel {k} with dilation {d} spans {d * (k - 1) + 1} samples, "
                f"more than the padded input ({n} + 2*{p})"
            )


def _window_indices(input_size, in_channels, kernel, stride, padding, dilation, padding_mode):
    """For every output position, the flat input index each kernel tap reads.

    Returns a LongTensor of shape (C_in*kH*kW, L_out) with -1 where a tap reads
    zero padding. The padding itself is done by ``F.pad`` on an index image, so
    every mode means exactly what it means in PyTorch.
    """
    nd = len(input_size)
    n = in_channels * math.prod(input_size)
    # float64 holds every index exactly up to 2**53
    idx = torch.arange(n, dtype=torch.float64).reshape(1, in_channels, *input_size)
    if any(padding):
        if padding_mode == "zeros":
            idx = F.pad(idx, _pad_arg(padding), mode="constant", value=-1.0)
        else:
            idx = F.pad(idx, _pad_arg(padding), mode=padding_mode)
    if nd == 1:  # (1, C, L) -> (1, C, 1, L) so that unfold (2D only) applies
        idx, kernel, stride, dilation = idx.unsqueeze(2), (1, *kernel), (1, *stride), (1, *dilation)
    cols = F.unfold(idx, kernel_size=kernel, dilation=dilation, stride=stride)  # (1, C*kH*kW, L)
    return cols[0].round().long()


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
    _check_geometry(input_size, kernel, stride, padding, dilation)

    cols = _window_indices(input_size, c_in, tuple(kernel), stride, padding, dilation, padding_mode)
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


class _LocallyConnected(nn.Module):
    """A convolution's connectivity with its own weights at every output position."""

    nd: int

    def __init__(self, in_channels, out_channels, kernel_size, input_size, stride=1, padding=0,
                 dilation=1, bias=True, padding_mode="zeros"):
        super().__init__()
        nd = self.nd
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.input_size = per_dim(input_size, nd, "input_size")
        self.kernel_size = per_dim(kernel_size, nd, "kernel_size")
        self.stride = per_dim(stride, nd, "stride")
        self.padding = per_dim(padding, nd, "padding")
        self.dilation = per_dim(dilation, nd, "dilation")
        self.padding_mode = padding_mode
        _check_geometry(self.input_size, self.kernel_size, self.stride, self.padding, self.dilation)
        self.output_size = tuple(output_length(*a) for a in zip(self.input_size, self.kernel_size, self.stride,
                                                                self.padding, self.dilation))
        positions, taps = math.prod(self.output_size), in_channels * math.prod(self.kernel_size)
        self.weight = nn.Parameter(torch.empty(positions, out_channels, taps))  # (L, C_out, C_in*K)
        self.bias = nn.Parameter(torch.empty(out_channels, positions)) if bias else None
        bound = 1 / math.sqrt(taps)  # the same uniform bound nn.Conv uses
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    @classmethod
    def from_conv(cls, conv: nn.Module, input_size):
        """A locally connected layer that computes exactly what ``conv`` computes."""
        if conv.groups != 1:
            raise ValueError("only convolutions with groups=1 have a locally connected twin here")
        padding = conv.padding
        if isinstance(padding, str):
            if padding == "same" and any(s != 1 for s in per_dim(conv.stride, cls.nd, "stride")):
                raise ValueError("padding='same' needs stride 1")
            padding = 0 if padding == "valid" else tuple(same_padding(k, d)[0] for k, d in zip(conv.kernel_size,
                                                                                                conv.dilation))
            if conv.padding == "same" and any(d * (k - 1) % 2 for k, d in zip(conv.kernel_size, conv.dilation)):
                raise ValueError("padding='same' with an even span is asymmetric; give explicit padding")
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size, input_size, conv.stride, padding,
                    conv.dilation, conv.bias is not None, conv.padding_mode)
        with torch.no_grad():
            positions = layer.weight.shape[0]
            layer.weight.copy_(conv.weight.reshape(1, conv.out_channels, -1).expand(positions, -1, -1))
            if conv.bias is not None:
                layer.bias.copy_(conv.bias.view(-1, 1).expand(-1, positions))
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.padding):
            mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
            x = F.pad(x, _pad_arg(self.padding), mode=mode)
        kernel, stride, dilation = self.kernel_size, self.stride, self.dilation
        if self.nd == 1:  # (B, C, L) -> (B, C, 1, L)
            x, kernel, stride, dilation = x.unsqueeze(2), (1, *kernel), (1, *stride), (1, *dilation)
        cols = F.unfold(x, kernel_size=kernel, dilation=dilation, stride=stride)  # (B, C_in*K, L)
        # one small matmul per position: (L, B, C_in*K) @ (L, C_in*K, C_out) -> (L, B, C_out)
        out = torch.bmm(cols.permute(2, 0, 1), self.weight.transpose(1, 2)).permute(1, 2, 0)  # (B, C_out, L)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(x.shape[0], self.out_channels, *self.output_size)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"input_size={self.input_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, padding_mode={self.padding_mode!r}")


class LocallyConnected1d(_LocallyConnected):
    r"""Conv1d's windows without weight sharing.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, bias,
        padding_mode: as in ``nn.Conv1d``.
        input_size: ``L`` or ``(L,)``; the layer only accepts this length.

    Shape:
        Input ``(B, C_in, L)``, output ``(B, C_out, L_out)`` with
        ``L_out = floor((L + 2p - d(k-1) - 1) / s) + 1``.

    Attributes:
        weight: ``(L_out, C_out, C_in * k)``, one kernel per output position.
        bias: ``(C_out, L_out)``.
    """

    nd = 1


class LocallyConnected2d(_LocallyConnected):
    r"""Conv2d's windows without weight sharing.

    Shape:
        Input ``(B, C_in, H, W)``, output ``(B, C_out, H_out, W_out)``.

    Attributes:
        weight: ``(H_out * W_out, C_out, C_in * kH * kW)``.
        bias: ``(C_out, H_out * W_out)``.
    """

    nd = 2


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
    _check_geometry(size, kernel, stride, padding, dilation)
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
