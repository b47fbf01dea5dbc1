"""Training several networks of one architecture as one: grouped convolutions and batched matmuls.

The practicum trains each ConvNet with its permuted twin in lockstep
(``stack_models``): the same batches, separate weights, one pass. Helpers take
a member's weights back out, and reorder ``relu, max pool`` for speed.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

def fast_order(rows: list[dict]) -> list[dict]:
    """The same network with every ``relu, max pool`` pair run as ``max pool, relu``.

    ReLU is monotonic, so max(relu(x)) = relu(max(x)): identical outputs (and
    gradients, but for exact ties) while the ReLU touches a quarter of the values.
    """
    out = list(rows)
    for i in range(len(out) - 1):
        if out[i]["kind"] == "relu" and out[i + 1]["kind"] == "max pool":
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


class GroupedLinear(nn.Module):
    """G independent ``nn.Linear`` layers as one batched matmul: (N, G * in) -> (N, G * out)."""

    def __init__(self, layers: Sequence[nn.Linear]):
        super().__init__()
        self.groups = len(layers)
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in layers]))  # (G, out, in)
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in layers]))  # (G, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        x = x.reshape(n, self.groups, -1).transpose(0, 1)  # (G, N, in)
        y = torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))  # (G, N, out)
        return y.transpose(0, 1).reshape(n, -1)


class GroupedLogSoftmax(nn.Module):
    """Log-softmax of each of G groups of logits: (N, G * K) -> (N, G, K)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(x.reshape(x.shape[0], self.groups, -1), dim=2)


def stack_models(models: Sequence[nn.Sequential]) -> nn.Sequential:
    """G networks of one architecture as a single grouped network, each keeping its own weights.

    Member g reads input channels ``g*C .. (g+1)*C - 1`` and writes output
    ``[:, g]`` (the output is (N, G, K)). Convolutions become grouped
    convolutions and linear layers batched matmuls, so G trainings run as one
    (nothing mixes between members: the gradient of a sum of their losses is
    each member's own gradient). The weights are copied from ``models``.
    Supports conv, max pool, ReLU, flatten, linear and log-softmax layers.
    """
    g = len(models)
    out: list[nn.Module] = []
    for layers in zip(*models, strict=True):
        first = layers[0]
        if isinstance(first, (nn.Conv1d, nn.Conv2d)) and first.groups == 1 and first.padding_mode == "zeros":
            conv = type(first)(first.in_channels * g, first.out_channels * g, first.kernel_size, first.stride,
                               first.padding, first.dilation, groups=g, bias=first.bias is not None)
            with torch.no_grad():
                conv.weight.copy_(torch.cat([m.weight for m in layers]))
                if conv.bias is not None:
                    conv.bias.copy_(torch.cat([m.bias for m in layers]))
            out.append(conv)
        elif isinstance(first, nn.Linear) and first.bias is not None:
            out.append(GroupedLinear(layers))
        elif isinstance(first, nn.LogSoftmax) and first.dim in (1, -1):
            out.append(GroupedLogSoftmax(g))
        elif isinstance(first, (nn.MaxPool1d, nn.MaxPool2d, nn.ReLU)) or (
                isinstance(first, nn.Flatten) and first.start_dim == 1 and first.end_dim == -1):
            out.append(first)  # acts per channel (or just reshapes): shared as it is
        else:
            raise ValueError(f"cannot stack a {type(first).__name__} layer")
    return nn.Sequential(*out)


def unstack_first_conv(model: nn.Sequential, groups: int, member: int) -> torch.Tensor | None:
    """Member ``member``'s first-layer convolution weights in a network from ``stack_models``."""
    conv = next((m for m in model if isinstance(m, (nn.Conv1d, nn.Conv2d))), None)
    if conv is None:
        return None
    per = conv.out_channels // groups
    return conv.weight[member * per:(member + 1) * per]


def spatial_prefix(model: nn.Sequential) -> nn.Sequential:
    """The layers before the first flatten (or linear layer): the part of the network that has a field."""
    layers = []
    for layer in model:
        if isinstance(layer, (nn.Flatten, nn.Linear)):
            break
        layers.append(layer)
    return nn.Sequential(*layers)


def unstack_spatial(model: nn.Sequential, groups: int, member: int, target: nn.Sequential) -> nn.Sequential:
    """Copy member ``member``'s convolution weights out of a ``stack_models`` network into ``target``.

    ``target`` is the member's own network (same layers, same order); its
    spatial prefix (``spatial_prefix``) is returned, holding the trained weights.
    """
    prefix = spatial_prefix(target)
    with torch.no_grad():
        for mine, grouped in zip(prefix, model):
            if isinstance(mine, (nn.Conv1d, nn.Conv2d)):
                per = grouped.out_channels // groups
                mine.weight.copy_(grouped.weight[member * per:(member + 1) * per])
                if mine.bias is not None:
                    mine.bias.copy_(grouped.bias[member * per:(member + 1) * per])
    return prefix



def unstack(model: nn.Sequential, groups: int, member: int, target: nn.Sequential) -> nn.Sequential:
    """Copy member ``member``'s weights (convolutions and linear layers) out of a ``stack_models`` network into
    ``target``, the member's own network (same layers, same order); returns ``target``."""
    with torch.no_grad():
        for mine, grouped in zip(target, model, strict=True):
            if isinstance(mine, (nn.Conv1d, nn.Conv2d)):
                per = grouped.out_channels // groups
                mine.weight.copy_(grouped.weight[member * per:(member + 1) * per])
                if mine.bias is not None:
                    mine.bias.copy_(grouped.bias[member * per:(member + 1) * per])
            elif isinstance(mine, nn.Linear):
                mine.weight.copy_(grouped.weight[member])
                mine.bias.copy_(grouped.bias[member])
    return target
