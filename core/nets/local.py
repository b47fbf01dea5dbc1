"""Locally connected layers: a convolution's connectivity (locality) without its weight sharing, each output
position with weights of its own (lecture 04.1, section 5). They run as ``unfold`` and a batched product, and
follow PyTorch's ``nn.Conv1d/2d`` arguments, so that a network can swap one for the other."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from core.geometry import PADDING_MODES, check_geometry, output_length, pad_arg, per_dim, same_padding

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
        check_geometry(self.input_size, self.kernel_size, self.stride, self.padding, self.dilation)
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
            x = F.pad(x, pad_arg(self.padding), mode=mode)
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
