"""Locality -> sparsity: stacks of windows, what a unit sees, and the sparse matrix.

Lecture 04.1, section 4. The lecture's drawing is a stack 5 -> 3 -> 1 with
windows of 3: a hidden unit sees 3 inputs, the output sees 3 hidden units and,
through them, all 5 inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from core.lecture.conv import conv_matrix
from core.geometry import output_length
from core.nets.receptive_field import empirical_receptive_field, field_table_for_unit, receptive_field
from core.tables import long_table


@dataclass(frozen=True)
class Stack1d:
    """``layers`` identical 1-channel Conv1d layers over an input of length ``n``."""

    n: int = 5
    kernel_size: int = 3
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    layers: int = 2

    def sizes(self) -> list[int]:
        """Length of the input and of every layer's output.

        Raises:
            ValueError: naming the first layer whose window no longer fits.
        """
        sizes = [self.n]
        for layer in range(1, self.layers + 1):
            out = output_length(sizes[-1], self.kernel_size, self.stride, self.padding, self.dilation)
            if out < 1:
                span = self.dilation * (self.kernel_size - 1) + 1
                raise ValueError(f"layer {layer} has no output: its window spans {span} samples but its input "
                                 f"has {sizes[-1]} (+{2 * self.padding} padding). Use fewer layers, a smaller "
                                 "kernel or stride, or a longer input.")
            sizes.append(out)
        return sizes

    def module(self) -> nn.Sequential:
        return nn.Sequential(*[nn.Conv1d(1, 1, self.kernel_size, self.stride, self.padding, self.dilation,
                                         bias=False) for _ in range(self.layers)])

    def matrices(self) -> list[torch.Tensor]:
        """Each layer's connectivity (1 where an output reads an input), dense, from ``conv_matrix``."""
        ones = torch.ones(1, 1, self.kernel_size)
        return [conv_matrix(ones, (n,), stride=self.stride, padding=self.padding, dilation=self.dilation)
                .to_dense() for n in self.sizes()[:-1]]


def connection_diagram(stack: Stack1d, unit: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Nodes, edges and a per-layer table for drawing the stack with one output unit picked.

    Nodes sit at the input coordinate of their centre (``start + i * jump``), so
    strides and padding show as geometry. ``seen`` marks the units the picked
    output unit depends on; an edge is ``active`` when it carries that dependence.

    Returns:
        nodes: ``layer, position, x, seen``; edges: ``layer, x1, y1, x2, y2, active``;
        table: ``layer, size, rf_previous, rf_input, seen`` (one row per level, 0 = input).
    """
    sizes = stack.sizes()
    if not 0 <= unit < sizes[-1]:
        raise ValueError(f"output unit must be in 0..{sizes[-1] - 1}, got {unit}")
    rf = receptive_field(stack.module(), (1, 1, stack.n))
    conv_rows = rf[rf["type"] == "Conv1d"].reset_index(drop=True)
    starts = [0.0] + conv_rows["start"].tolist()
    jumps = [1] + conv_rows["jump"].tolist()
    fields = [1] + conv_rows["rf"].tolist()
    mats = stack.matrices()

    seen = [None] * len(sizes)
    seen[-1] = torch.zeros(sizes[-1], dtype=torch.bool)
    seen[-1][unit] = True
    for level in range(len(mats), 0, -1):  # back through each layer: what feeds a seen unit
        seen[level - 1] = (mats[level - 1].T @ seen[level].float()) > 0

    def x(level, i):
        return starts[level] + i * jumps[level]

    nodes = pd.DataFrame([{"layer": level, "position": i, "x": x(level, i), "seen": bool(seen[level][i])}
                          for level, n in enumerate(sizes) for i in range(n)])
    edges = []
    for level, m in enumerate(mats, start=1):
        for o, i in m.nonzero().tolist():
            edges.append({"layer": level, "x1": x(level - 1, i), "y1": level - 1, "x2": x(level, o), "y2": level,
                          "active": bool(seen[level][o])})
    table = pd.DataFrame({
        "layer": ["input"] + [f"layer {i}" for i in range(1, len(sizes))],
        "size": sizes,
        "rf_previous": pd.array([None] + [stack.dilation * (stack.kernel_size - 1) + 1] * stack.layers, dtype="Int64"),
        "rf_input": fields,
        "seen": [int(s.sum()) for s in seen],
    })
    return nodes, pd.DataFrame(edges, columns=["layer", "x1", "y1", "x2", "y2", "active"]), table


@dataclass
class MatrixView:
    """A fully connected layer and a convolution of the same input/output sizes, as matrices."""

    fc: pd.DataFrame  # row, col, weight (dense)
    conv: pd.DataFrame  # row, col, weight (0 off the band)
    fc_nonzeros: int
    conv_nonzeros: int
    max_abs_diff: float  # |M @ x - F.conv1d(x)|, max over outputs


def matrix_view(stack: Stack1d, seed: int = 0) -> MatrixView:
    """The first layer of ``stack`` as a dense FC matrix and as the convolution's sparse matrix.

    The convolution's matrix comes from ``conv_matrix`` and is checked against
    ``torch.nn.functional.conv1d`` on a random input.
    """
    gen = torch.Generator().manual_seed(seed)
    n_in, n_out = stack.sizes()[:2]
    weight = torch.randn(1, 1, stack.kernel_size, generator=gen)
    x = torch.randn(1, 1, n_in, generator=gen)
    m = conv_matrix(weight, (n_in,), stride=stack.stride, padding=stack.padding, dilation=stack.dilation)
    ref = F.conv1d(x, weight, stride=stack.stride, padding=stack.padding, dilation=stack.dilation)
    diff = (m @ x.reshape(-1) - ref.reshape(-1)).abs().max().item()
    dense = m.to_dense()
    fc = torch.randn(n_out, n_in, generator=gen)

    return MatrixView(long_table(fc), long_table(dense), fc.numel(), int(m._nnz()), diff)


def stack_2d(layers: int, pool: bool, seed: int = 0) -> nn.Sequential:
    """A small 2D stack: ``layers`` x (Conv2d 3x3 -> ReLU [-> MaxPool 2]) with 4 channels, seeded."""
    torch.manual_seed(seed)
    blocks: list[nn.Module] = []
    channels = 1
    for _ in range(layers):
        blocks += [nn.Conv2d(channels, 4, 3), nn.ReLU()]
        if pool:
            blocks.append(nn.MaxPool2d(2))
        channels = 4
    return nn.Sequential(*blocks)


@dataclass
class Field2d:
    rf: int  # analytic field size (square)
    box: tuple[tuple[int, int], tuple[int, int]]  # analytic (rows, cols) of the central unit, clipped
    support: tuple[tuple[int, int], tuple[int, int]]  # gradient support, measured
    erf: np.ndarray  # (H, W) effective field, normalised to max 1
    table: pd.DataFrame  # receptive_field's table


def field_words(field: Field2d) -> str:
    """Whether the measured (gradient) field fades from its centre inside the analytic box, from the field itself:
    the mean of the box's outer ring against the mean of its central cell(s). Deeper stacks fade (Luo et al. 2016);
    one 3x3 layer weighs its window by one kernel, and its edge can outshine its centre."""
    (r0, r1), (c0, c1) = field.box
    erf = np.asarray(field.erf, dtype=float)
    box = erf[r0:r1 + 1, c0:c1 + 1]
    centre = erf[(r0 + r1) // 2:(r0 + r1 + 1) // 2 + 1, (c0 + c1) // 2:(c0 + c1 + 1) // 2 + 1].mean()
    inner = box[1:-1, 1:-1]
    ring = (box.sum() - inner.sum()) / (box.size - inner.size) if box.size > inner.size else box.mean()
    share = ring / centre if centre > 0 else float("inf")
    if share < 0.5:
        return (f"The effective field fades from its centre inside the analytic box: its edge averages "
                f"{share:.0%} of its centre (Luo et al. 2016).")
    edge = f"{share:.0%} of its centre" if np.isfinite(share) else "more than its centre, which is 0"
    return (f"This stack's effective field does not fade inside the analytic one: its edge averages {edge}. Add "
            "layers to see it gather at the centre (Luo et al. 2016).")


def field_on_image(size: tuple[int, int], layers: int, pool: bool, seed: int = 0) -> Field2d:
    """Analytic and empirical receptive field of the central output unit of ``stack_2d``.

    Raises:
        ValueError: when the stack does not fit the image.
    """
    side = min(size)
    for _ in range(layers):  # 3x3 valid convolutions (and 2x2 pools): checked before tracing, whose shape pass
        side = (side - 2) // (2 if pool else 1)  # prints PyTorch's traceback to the server log before it raises
        if side < 1:
            raise ValueError(f"{layers} layers{' with pooling' if pool else ''} do not fit a "
                             f"{size[0]}x{size[1]} image")
    model = stack_2d(layers, pool, seed)
    shape = (1, 1, *size)
    table = receptive_field(model, shape)
    emp = empirical_receptive_field(model, shape, samples=16, seed=seed)
    box = field_table_for_unit(table, emp.unit, size)
    erf = emp.grad.numpy()
    erf = erf / erf.max() if erf.max() > 0 else erf
    rf = table.iloc[-1]["rf"]
    return Field2d(int(rf if np.isscalar(rf) else max(rf)), tuple(box), emp.extent, erf, table)


def diagram_lead(nodes: pd.DataFrame, edges: pd.DataFrame, unit: int) -> str:
    """What the connection diagram shows, from its nodes and edges: how much of each level the picked unit sees."""
    top = int(nodes["layer"].max())
    levels = []
    for level, part in nodes.groupby("layer"):
        seen = part.loc[part["seen"], "position"]
        name = "the input" if level == 0 else f"layer {level}"
        where = f" (positions {seen.min()} to {seen.max()})" if len(seen) else ""
        levels.append(f"{name}: {len(seen)} of {len(part)} units{where}")
    active = int(edges["active"].sum()) if len(edges) else 0
    return (f"Connections of a {top}-layer stack; output unit {unit} depends on {active} of {len(edges)} "
            f"connections. Units it sees: " + "; ".join(reversed(levels)))
