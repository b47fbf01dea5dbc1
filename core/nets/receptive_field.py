"""Receptive fields, analytic (traced with torch.fx) and empirical (by gradients).

Analytic recursion, per spatial dimension, from the input (r=1, j=1, start=0)
through a layer of kernel k, stride s, left padding p and dilation d:

    k_eff = d * (k - 1) + 1
    r_out = r_in + (k_eff - 1) * j_in          # field size
    j_out = j_in * s                           # effective stride ("jump")
    start_out = start_in + ((k_eff - 1) / 2 - p) * j_in   # centre of unit 0

Where paths merge (residual additions, concatenations) the fields must be
centred alike (same jump and start), and the largest field is kept. A path
that is a global summary broadcast back over the map (the 1 x 1 squeeze of a
squeeze-and-excitation gate) is not a window: the units it gates depend on the
whole input, which the table marks (``whole``) while following the local field.
A channels-last detour (permute, per-position linear layers and layer norm,
permute back, as in ConvNeXt) carries the field unchanged.

References:
- A. Araujo, W. Norris, J. Sim, "Computing receptive fields of convolutional
  neural networks", Distill 2019.
- W. Luo, Y. Li, R. Urtasun, R. Zemel, "Understanding the effective receptive
  field in deep convolutional neural networks", NeurIPS 2016.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Sequence

import pandas as pd
import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from core.nets.exclusive import ThreadTracer

from core.geometry import per_dim, same_padding
from core.nets.module_kinds import ADAPTIVE_POOL, CONV, LOCAL, POINTWISE, POOL, WINDOW


class _Tracer(ThreadTracer):
    """torch.fx's tracer, keeping locally connected layers whole (their unfold + matmul is one window op)."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, LOCAL) or super().is_leaf_module(m, qualname)


@dataclass(frozen=True)
class _Field:
    rf: tuple[int, ...]
    jump: tuple[int, ...]
    start: tuple[float, ...]
    whole: bool = False  # a global summary (squeeze-and-excitation) gates these units: they see the whole input
    last: bool = False  # channels last: the spatial size is shape[1:-1]


def _geometry(module: nn.Module, nd: int, in_size, out_size):
    """(kernel, stride, left padding, dilation) of a spatial module, per dimension."""
    if isinstance(module, ADAPTIVE_POOL):
        if any(n % m for n, m in zip(in_size, out_size)):
            raise ValueError(f"adaptive pooling from {tuple(in_size)} to {tuple(out_size)} has uneven windows; "
                             "its receptive field is not a single number")
        k = tuple(n // m for n, m in zip(in_size, out_size))
        return k, k, (0,) * nd, (1,) * nd
    kernel = per_dim(module.kernel_size, nd)
    stride = per_dim(module.stride if module.stride is not None else module.kernel_size, nd)
    dilation = per_dim(getattr(module, "dilation", 1), nd)
    padding = getattr(module, "padding", 0)
    if padding == "valid":
        padding = 0
    elif padding == "same":
        padding = tuple(same_padding(k, d)[0] for k, d in zip(kernel, dilation))  # the before side
    return kernel, stride, per_dim(padding, nd), dilation


def step(r: float, j: float, start: float, k: int, s: int, p: int, d: int) -> tuple[float, float, float, int]:
    """One layer of the Distill recursion along one dimension: the field ``r``, jump ``j`` and centre of unit 0
    ``start`` below a layer of kernel ``k``, stride ``s``, padding ``p`` and dilation ``d``, to those above it;
    and the layer's effective kernel. The tracer and the worked table both use it."""
    k_eff = d * (k - 1) + 1
    return r + (k_eff - 1) * j, j * s, start + ((k_eff - 1) / 2 - p) * j, k_eff


def _compact(values):
    """A tuple of equal values as one value (a square field is an int)."""
    return values[0] if len(set(values)) == 1 else tuple(values)


def _shape(node: fx.Node):
    shape = getattr(node.meta.get("tensor_meta"), "shape", None)
    return tuple(shape) if shape is not None else None


def _spatial(node: fx.Node, nd: int, last: bool = False):
    shape = _shape(node)
    if shape is None or len(shape) != nd + 2:
        return None
    return tuple(shape[1:-1]) if last else tuple(shape[2:])


def _channels_last_step(node: fx.Node, src: fx.Node, nd: int, f: _Field) -> _Field | None:
    """The field after ``node`` if it only moves channels to the end or back (a permute that keeps the batch and
    the spatial order) or acts on each position alone in channels-last layout (``Linear``, layer norm over the
    last dimension): None otherwise."""
    before, after = _shape(src), _shape(node)
    if before is None or after is None or len(before) != nd + 2 or len(after) != nd + 2:
        return None
    target = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
    if target == "permute":
        dims = [a for a in node.args[1:]] if len(node.args) > 2 else list(node.args[1])
        to_last, to_first = [0, *range(2, nd + 2), 1], [0, nd + 1, *range(1, nd + 1)]
        if dims == to_last and not f.last:
            return _Field(f.rf, f.jump, f.start, f.whole, last=True)
        if dims == to_first and f.last:
            return _Field(f.rf, f.jump, f.start, f.whole, last=False)
        return None
    if f.last and before[:-1] == after[:-1]:  # per-position layers on the channels (the last dimension)
        return f
    return None


def receptive_field(model: nn.Module, input_shape: Sequence[int]) -> pd.DataFrame:
    """The receptive field after every spatial layer of ``model``.

    Args:
        model: an ``nn.Module`` traceable by ``torch.fx`` whose spatial layers are
            ``Conv1d/2d`` and pooling modules; element-wise layers (activations,
            batch norm, dropout) and merges (``+``, ``torch.cat``) are followed.
            Tracing stops being spatial at a flatten or a linear layer.
        input_shape: one input batch, ``(B, C, L)`` or ``(B, C, H, W)``.

    Returns:
        A DataFrame with one row per spatial layer and per merge, in order, and
        a last row ``output``: ``layer`` (module name), ``type``, ``size``
        (output spatial size), ``rf`` (field size in input samples), ``jump``
        (effective stride) and ``start`` (input coordinate of the centre of the
        first output unit; negative when it sits in the padding). Values are an
        int for 1D and square fields, else a tuple. ``whole``: a global summary
        gates these units (they also depend on the whole input); ``node``: the
        fx node of the row (``core.lecture.famous`` cuts the network there). Merges are
        ``type="merge"``, squeeze-and-excitation gates ``"gate"``.

    Raises:
        ValueError: when merging paths are misaligned (different jump or
        centre), or a layer changes the spatial size in a way not understood.
    """
    nd = len(input_shape) - 2
    if nd not in (1, 2):
        raise ValueError(f"input_shape must be (B, C, L) or (B, C, H, W), got {tuple(input_shape)}")
    try:  # the tracer holds core.nets.exclusive's lock while it patches nn.Module for every thread
        gm = fx.GraphModule(model, _Tracer().trace(model))
    except Exception as exc:  # fx raises many kinds; the message is what matters
        raise ValueError(f"torch.fx could not trace this model: {exc}") from exc
    was_training = model.training
    gm.eval()
    with torch.no_grad():
        ShapeProp(gm).propagate(torch.zeros(tuple(input_shape)))
    model.train(was_training)

    fields: dict[fx.Node, _Field | None] = {}
    rows: list[dict] = []

    def row(name, kind, size, f: _Field, **extra):
        rows.append({"layer": name, "type": kind, "size": _compact(size), "rf": _compact(f.rf),
                     "jump": _compact(f.jump), "start": _compact(f.start), "whole": f.whole, "node": node.name,
                     "within": next(reversed(node.meta.get("nn_module_stack") or {"": None})),
                     "channels": (_shape(node) or (None, None))[1] if node.op != "output" else None, **extra})

    last: _Field | None = None
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            fields[node] = _Field((1,) * nd, (1,) * nd, (0.0,) * nd)
            continue
        sources = [n for n in node.all_input_nodes if fields.get(n) is not None]
        inputs = [fields[n] for n in sources]
        if node.op == "output":
            break
        if len(inputs) == 1:
            moved = _channels_last_step(node, sources[0], nd, inputs[0])
            if moved is not None:
                fields[node] = last = moved
                continue
        size = _spatial(node, nd)
        if not inputs or size is None or any(g.last for g in inputs):
            fields[node] = None  # not (or no longer) spatial: flatten, linear, constants
            continue
        module = gm.get_submodule(node.target) if node.op == "call_module" else None
        if isinstance(module, WINDOW):
            (src,) = inputs
            in_size = _spatial(node.all_input_nodes[0], nd)
            k, s, p, d = _geometry(module, nd, in_size, size)
            rf, jump, start, _ = zip(*(step(*dim) for dim in zip(src.rf, src.jump, src.start, k, s, p, d)))
            f = _Field(rf=rf, jump=jump, start=start,
                       whole=src.whole or (isinstance(module, ADAPTIVE_POOL) and all(m == 1 for m in size)))
            row(str(node.target), type(module).__name__, size, f,
                kernel=_compact(k), stride=_compact(s), padding=_compact(p), dilation=_compact(d))
        elif len(inputs) == 1:
            in_sizes = {_spatial(n, nd) for n in node.all_input_nodes if fields.get(n) is not None}
            if in_sizes != {size}:
                what = node.target if node.op == "call_module" else getattr(node.target, "__name__", node.target)
                raise ValueError(f"layer {node.name!r} ({what}) changes the spatial size {in_sizes} -> {size}; "
                                 "only convolutions and pooling may do that here")
            f = inputs[0]
        else:
            # a 1 x 1 summary broadcast over a larger map gates it (squeeze-and-excitation): not a window
            local = [g for g, n in zip(inputs, sources) if not (all(m == 1 for m in _spatial(n, nd) or (0,))
                                                               and any(m > 1 for m in size))]
            gated = len(local) < len(inputs)
            inputs = local or inputs
            if len({(g.jump, g.start) for g in inputs}) > 1:
                detail = "; ".join(f"jump {g.jump}, centre {g.start}" for g in inputs)
                raise ValueError(f"paths merging at {node.name!r} are misaligned ({detail}): "
                                 "their units do not look at the same place, so no single receptive field exists")
            f = _Field(tuple(max(v) for v in zip(*(g.rf for g in inputs))), inputs[0].jump, inputs[0].start,
                       whole=gated or any(g.whole for g in inputs))
            row(node.name, "gate" if gated else "merge", size, f)
        fields[node] = f
        last = f
    if last is None:
        raise ValueError("the model has no spatial layer to measure")
    out_size = next((_spatial(n, nd) for n in reversed(list(fields)) if fields[n] is last), None)
    row("output", "output", out_size, last)
    return pd.DataFrame(rows)


def field_interval(rf: int, jump: int, start: float, unit: int) -> tuple[float, float]:
    """Input coordinates (first, last) seen by output ``unit`` along one dimension."""
    centre = start + unit * jump
    return centre - (rf - 1) / 2, centre + (rf - 1) / 2


class _PositivePool(nn.Module):
    """Sums every window (all taps count), in place of max/avg/Lp pooling."""

    def __init__(self, nd, kernel, stride, padding, dilation, ceil_mode=False):
        super().__init__()
        self.nd, self.kernel, self.stride = nd, kernel, stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode

    def forward(self, x):
        if all(d == 1 for d in self.dilation):
            pool = F.avg_pool1d if self.nd == 1 else F.avg_pool2d
            return pool(x, self.kernel, self.stride, self.padding, ceil_mode=self.ceil_mode)
        conv = F.conv1d if self.nd == 1 else F.conv2d
        ones = x.new_ones(x.shape[1], 1, *self.kernel)
        return conv(x, ones, stride=self.stride, padding=self.padding, dilation=self.dilation, groups=x.shape[1])


def _all_paths_model(model: nn.Module, nd: int) -> nn.Module:
    """A float64 copy in which every connection of the architecture carries a positive weight.

    Convolutions get positive weights and no bias, pooling sums its window,
    activations and normalisation become identities: the gradient of a unit is
    then non-zero exactly on its theoretical receptive field (clipped to the input).
    """
    twin = copy.deepcopy(model).double().eval()
    for name, module in list(twin.named_modules()):
        new = None
        if isinstance(module, (*CONV, *LOCAL)):
            with torch.no_grad():
                module.weight.fill_(1.0 / module.weight[0].numel())
                if module.bias is not None:
                    module.bias.zero_()
        elif isinstance(module, POOL):
            k = per_dim(module.kernel_size, nd)
            s = per_dim(module.stride if module.stride is not None else module.kernel_size, nd)
            new = _PositivePool(nd, k, s, per_dim(getattr(module, "padding", 0), nd),
                                per_dim(getattr(module, "dilation", 1), nd), getattr(module, "ceil_mode", False))
        elif isinstance(module, (*POINTWISE, nn.GroupNorm, nn.LayerNorm)):  # normalising: no path is lost
            new = nn.Identity()
        if new is not None:
            parent_name, _, child = name.rpartition(".")
            setattr(twin.get_submodule(parent_name) if parent_name else twin, child, new)
    return twin


@dataclass
class EmpiricalField:
    """What the gradient of one central output unit says about its field."""

    grad: torch.Tensor  # (*input spatial): mean |d unit / d input| over samples, summed over channels
    support: torch.Tensor  # (*input spatial) bool: inputs connected to the unit by some path
    unit: tuple[int, ...]  # the output position measured
    extent: tuple[tuple[int, int], ...]  # (first, last) input index of the support, per dimension

    @property
    def size(self) -> tuple[int, ...]:
        return tuple(hi - lo + 1 for lo, hi in self.extent)


def _central_unit_grad(model: nn.Module, x: torch.Tensor, unit=None):
    x = x.clone().requires_grad_(True)
    out = model(x)
    if unit is None:
        unit = tuple(s // 2 for s in out.shape[2:])
    out[(slice(None), slice(None), *unit)].sum().backward()
    return x.grad, unit


def empirical_receptive_field(model: nn.Module, input_shape: Sequence[int], *, samples: int = 8,
                              seed: int = 0) -> EmpiricalField:
    """The gradient of the central output unit (summed over channels) w.r.t. the input.

    ``grad`` is the effective receptive field of Luo et al.: the mean absolute
    gradient of the real model over ``samples`` standard-normal inputs (it
    depends on the weights, ReLUs and max pooling). ``support`` is where the
    gradient of the same unit is non-zero once every connection carries a
    positive weight: the theoretical field, measured rather than computed.
    """
    nd = len(input_shape) - 2
    shape = (1, *input_shape[1:])
    twin = _all_paths_model(model, nd)
    g, unit = _central_unit_grad(twin, torch.ones(shape, dtype=torch.float64))
    support = g[0].sum(0) > 0
    if not support.any():
        raise ValueError("the central output unit does not depend on the input")
    extent = tuple((int(ix.min()), int(ix.max())) for ix in support.nonzero(as_tuple=True))

    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    x = torch.randn((samples, *input_shape[1:]), generator=gen, dtype=dtype)
    grad, _ = _central_unit_grad(model, x, unit)
    model.train(was_training)
    return EmpiricalField(grad=grad.abs().sum(dim=(0, 1)) / samples, support=support, unit=unit, extent=extent)


def field_table_for_unit(df: pd.DataFrame, unit: Sequence[int], input_size: Sequence[int]) -> list[tuple[int, int]]:
    """The input samples (first, last) that output ``unit`` depends on, per dimension.

    For a chain of layers this walks the windows back from the unit, keeping
    only taps that land on real samples (not padding), so it accounts for the
    borders exactly, the samples a floor-rounded size drops included. With
    merges (residual paths) it clips the analytic interval to the input.
    """
    nd = len(input_size)
    layers = df[~df["type"].isin(["output"])]
    if layers["type"].isin(["merge", "gate"]).any():
        last = df.iloc[-1]
        rf, jump = per_dim(last["rf"], nd), per_dim(last["jump"], nd)
        start = per_dim(last["start"], nd, kind=float)
        out = []
        for r, j, s, u, n in zip(rf, jump, start, unit, input_size):
            lo, hi = field_interval(r, j, s, u)
            out.append((max(0, math.ceil(lo)), min(n - 1, math.floor(hi))))
        return out
    geometry = [tuple(tuple(int(v) for v in per_dim(row[c], nd)) for c in ("kernel", "stride", "padding", "dilation",
                                                                            "size"))
                for _, row in layers.iterrows()]
    out = []
    for dim in range(nd):
        deps = {unit[dim]}  # units the output unit depends on, level by level down to the input
        for level in range(len(geometry) - 1, -1, -1):
            k, s, p, d = (g[dim] for g in geometry[level][:4])
            n_in = geometry[level - 1][4][dim] if level else input_size[dim]
            deps = {i for u in deps for i in (u * s - p + t * d for t in range(k)) if 0 <= i < n_in}
        out.append((min(deps), max(deps)))
    return out


def recursion_table(df: pd.DataFrame) -> pd.DataFrame:
    """The recursion itself, layer by layer, with the arithmetic written out (Distill 2019, Araujo et al.).

    ``df`` is ``receptive_field``'s table. Per spatial layer (first dimension
    of a 2D field; square kernels make both the same): kernel k, stride s,
    padding p, dilation d, the effective kernel k_eff = d(k - 1) + 1, and

        r = r_prev + (k_eff - 1) * j_prev
        j = j_prev * s
        start = start_prev + ((k_eff - 1) / 2 - p) * j_prev

    each as the worked sum, plus the closed form of the field,
    ``r = 1 + sum over layers (k_eff - 1) * (product of the strides below)``,
    which must agree with the recursion.

    Raises:
        ValueError: for a network with merging paths (a residual block), where
            the field is the largest over paths, not one chain of this recursion.
    """
    if df["type"].isin(["merge", "gate"]).any():
        raise ValueError("paths merge in this network (a residual block): the field is the largest over its paths, "
                         "not one chain of the recursion")

    def first(v):
        return v[0] if isinstance(v, tuple) else v

    rows, r, j, start, closed = [], 1, 1, 0.0, 1
    for _, layer in df[df["type"] != "output"].iterrows():
        k, s, p, d = (int(first(layer[c])) for c in ("kernel", "stride", "padding", "dilation"))
        r_new, j_new, start_new, k_eff = step(r, j, start, k, s, p, d)
        closed += (k_eff - 1) * j  # j is the product of the strides of the layers below
        rows.append({"layer": layer["layer"], "type": layer["type"], "k": k, "s": s, "p": p, "d": d, "k_eff": k_eff,
                     "field r": f"{r} + ({k_eff} − 1) × {j} = {r_new}", "jump j": f"{j} × {s} = {j_new}",
                     "start": f"{start:g} + (({k_eff} − 1)/2 − {p}) × {j} = {start_new:g}",
                     "r (closed form)": closed})
        r, j, start = r_new, j_new, start_new
    return pd.DataFrame(rows)


def gradient_field(model: nn.Module, x: torch.Tensor, unit: Sequence[int] | None = None) -> torch.Tensor:
    """The effective receptive field on real inputs: mean |d unit / d input| over the samples of ``x``.

    ``model`` maps ``(N, C, *S)`` to a spatial map; ``unit`` is an output
    position (default the central one). Summed over input channels and over
    the unit's channels; returns a tensor of the input's spatial shape.
    """
    was_training = model.training
    model.eval()
    grad, _ = _central_unit_grad(model, x.detach().to(next(model.parameters()).dtype), unit)
    model.train(was_training)
    return grad.abs().sum(dim=1).mean(dim=0)


def field_spread(grad) -> dict:
    """How wide a gradient field is: its centroid, its rms radius around it, and the pixels holding 90 % of it."""
    g = torch.as_tensor(grad, dtype=torch.float64)
    total = g.sum()
    if total <= 0:
        raise ValueError("the gradient field is zero everywhere")
    w = g / total
    grids = torch.meshgrid(*[torch.arange(n, dtype=torch.float64) for n in g.shape], indexing="ij")
    centre = [float((w * c).sum()) for c in grids]
    radius = math.sqrt(float(sum((w * (c - m) ** 2).sum() for c, m in zip(grids, centre))))
    mass = torch.sort(w.flatten(), descending=True).values.cumsum(0)
    holding = int((mass < 0.9).sum()) + 1
    return {"centre": tuple(round(c, 2) for c in centre), "rms radius": radius, "pixels for 90 %": holding}
