"""Convolution geometry: one number or one per dimension, output sizes, 'same' padding, and which input sample each
kernel tap reads. The lab's one home for this arithmetic: the lecture's demonstrations, the network language and
the locally connected layers all use it.

Reference: V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep learning", 2016.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

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


def pad_arg(padding: tuple[int, ...]) -> tuple[int, ...]:
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


def check_geometry(size, kernel, stride, padding, dilation):
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        if min(n, k, s, d) < 1 or p < 0:
            raise ValueError("sizes, kernel, stride and dilation must be >= 1 and padding >= 0")
        if output_length(n, k, s, p, d) < 1:
            raise ValueError(
                f"kernel {k} with dilation {d} spans {d * (k - 1) + 1} samples, "
                f"more than the padded input ({n} + 2*{p})"
            )


def window_indices(input_size, in_channels, kernel, stride, padding, dilation, padding_mode):
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
            idx = F.pad(idx, pad_arg(padding), mode="constant", value=-1.0)
        else:
            idx = F.pad(idx, pad_arg(padding), mode=padding_mode)
    if nd == 1:  # (1, C, L) -> (1, C, 1, L) so that unfold (2D only) applies
        idx, kernel, stride, dilation = idx.unsqueeze(2), (1, *kernel), (1, *stride), (1, *dilation)
    cols = F.unfold(idx, kernel_size=kernel, dilation=dilation, stride=stride)  # (1, C*kH*kW, L)
    return cols[0].round().long()
