"""The layer-list language: a network as a list of rows (dicts), one layer each, so a page can edit it as a
table and a link can carry it as one line of text.

Kinds and the fields they read:

    conv, local      out, kernel, stride, padding   (local: locally connected, no sharing)
    max pool, avg pool   kernel, stride (default: kernel)
    lp pool          kernel, stride, p
    batch norm, relu, leaky relu, tanh, flatten, log softmax   (nothing)
    residual         kernel: x + conv-bn-relu-conv-bn(x), then ReLU, same channels and size
    linear           out

``build_model`` turns rows into an ``nn.Sequential`` (a ``SpecError`` names the
row it cannot build); ``estimate``/``check_budget`` cost a list from shapes
alone, on PyTorch's meta device; ``rows_to_text``/``text_to_rows`` are the
one-line codec of the links.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

from core.limits import LAYER_BUDGET, LAYER_FIELDS
from core.nets.local import LocallyConnected1d, LocallyConnected2d
from core.nets.module_kinds import POINTWISE

COLUMNS = ("kind", "out", "kernel", "stride", "padding", "p")


class SpecError(ValueError):
    """A layer list that cannot be built; ``row`` is the 1-based row at fault."""

    def __init__(self, row: int, message: str):
        super().__init__(f"row {row}: {message}")
        self.row = row


class Residual(nn.Module):
    """``relu(x + bn(conv(relu(bn(conv(x))))))`` with 'same' padding: a bypass around two convolutions."""

    def __init__(self, channels: int, kernel_size: int, nd: int):
        super().__init__()
        conv, bn = (nn.Conv1d, nn.BatchNorm1d) if nd == 1 else (nn.Conv2d, nn.BatchNorm2d)
        pad = kernel_size // 2
        self.conv1 = conv(channels, channels, kernel_size, padding=pad, bias=False)
        self.bn1 = bn(channels)
        self.conv2 = conv(channels, channels, kernel_size, padding=pad, bias=False)
        self.bn2 = bn(channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(x + self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))


MAX_SIDE, MAX_CHANNELS, MAX_LAYERS = 256, 64, 60


def _int(row: dict, field: str, row_no: int, default: int | None = None, low: int = 1) -> int:
    value = row.get(field)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        if default is None:
            raise SpecError(row_no, f"{row['kind']} needs '{field}'")
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SpecError(row_no, f"'{field}' must be a whole number, got {value!r}") from None
    if not number.is_integer():
        raise SpecError(row_no, f"'{field}' must be a whole number, got {value!r}")
    if number < low:
        raise SpecError(row_no, f"'{field}' must be at least {low}, got {int(number)}")
    if number > LAYER_FIELDS.get(field, math.inf):
        raise SpecError(row_no, f"'{field}' can be at most {LAYER_FIELDS[field]} here, got {int(number)}")
    return int(number)


def _window(row: dict, row_no: int, spatial: tuple[int, ...], padded: bool, residual: bool = False):
    """(kernel, padding) of a windowed layer, checked against its input."""
    k = _int(row, "kernel", row_no)
    pad = k // 2 if residual else (_int(row, "padding", row_no, 0, low=0) if padded else 0)
    if any(k > n + 2 * pad for n in spatial):
        raise SpecError(row_no, f"kernel {k} is larger than its input {'x'.join(map(str, spatial))}"
                                f"{f' (+{2 * pad} padding)' if pad else ''}")
    return k, pad


def _conv(row, row_no, c, spatial):
    k, pad = _window(row, row_no, spatial, padded=True)
    conv = nn.Conv1d if len(spatial) == 1 else nn.Conv2d
    return conv(c, _int(row, "out", row_no), k, _int(row, "stride", row_no, 1), pad)


def _local(row, row_no, c, spatial):
    k, pad = _window(row, row_no, spatial, padded=True)
    layer = LocallyConnected1d if len(spatial) == 1 else LocallyConnected2d
    return layer(c, _int(row, "out", row_no), k, spatial, _int(row, "stride", row_no, 1), pad)


def _pool(kind):
    def build(row, row_no, c, spatial):
        k, pad = _window(row, row_no, spatial, padded=True)
        if pad > k // 2:
            raise SpecError(row_no, f"pool padding must be at most half the kernel ({k // 2}), got {pad}")
        cls = {("max pool", 1): nn.MaxPool1d, ("max pool", 2): nn.MaxPool2d,
               ("avg pool", 1): nn.AvgPool1d, ("avg pool", 2): nn.AvgPool2d}[kind, len(spatial)]
        return cls(k, _int(row, "stride", row_no, k), pad)
    return build


def _lp_pool(row, row_no, c, spatial):
    k, _ = _window(row, row_no, spatial, padded=False)
    p = row.get("p")
    p = 2.0 if p is None or p == "" else p
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise SpecError(row_no, f"p must be a number, got {p!r}") from None
    if not (math.isfinite(p) and p >= 1):  # nan, inf, 0 and negatives: no Lp norm PyTorch computes
        raise SpecError(row_no, f"p must be a finite number of at least 1 (2 if left out), got {p:g}")
    return (nn.LPPool1d if len(spatial) == 1 else nn.LPPool2d)(p, k, _int(row, "stride", row_no, k))


def _residual(row, row_no, c, spatial):
    k, _ = _window(row, row_no, spatial, padded=False, residual=True)
    return Residual(c, k, len(spatial))


def _linear(row, row_no, c, spatial):
    if spatial:
        raise SpecError(row_no, f"linear needs a flat input, but its input is {(c, *spatial)}; add a flatten row "
                                "above")
    return nn.Linear(c, _int(row, "out", row_no))


@dataclass(frozen=True)
class LayerKind:
    """What a row's ``kind`` builds, from the row, its number, the input channels and spatial size."""

    build: Callable[[dict, int, int, tuple[int, ...]], nn.Module]
    spatial: bool = False  # needs a 1D or 2D input with channels (what the built layer does to the receptive
    # field is its class's business: core.nets.module_kinds)


# the one table of layer kinds: the parser, the page's kind column and the costing all read it
LAYER_KINDS: dict[str, LayerKind] = {
    "conv": LayerKind(_conv, spatial=True),
    "local": LayerKind(_local, spatial=True),
    "relu": LayerKind(lambda *_: nn.ReLU()),
    "leaky relu": LayerKind(lambda *_: nn.LeakyReLU(0.1)),
    "tanh": LayerKind(lambda *_: nn.Tanh()),
    "max pool": LayerKind(_pool("max pool"), spatial=True),
    "avg pool": LayerKind(_pool("avg pool"), spatial=True),
    "lp pool": LayerKind(_lp_pool, spatial=True),
    "batch norm": LayerKind(lambda row, row_no, c, spatial: (nn.BatchNorm1d if len(spatial) <= 1 else
                                                             nn.BatchNorm2d)(c), spatial=True),
    "residual": LayerKind(_residual, spatial=True),
    "flatten": LayerKind(lambda *_: nn.Flatten()),
    "linear": LayerKind(_linear),
    "log softmax": LayerKind(lambda *_: nn.LogSoftmax(dim=1)),
}
KINDS = tuple(LAYER_KINDS)
SPATIAL = {k for k, v in LAYER_KINDS.items() if v.spatial}


def _layer(row: dict, row_no: int, shape: tuple[int, ...]) -> nn.Module:
    """One layer for input ``shape`` = (C, *spatial) or (features,)."""
    kind = str(row.get("kind", "")).strip().lower()
    if kind not in LAYER_KINDS:
        raise SpecError(row_no, f"unknown layer {row.get('kind')!r}; choose from {', '.join(KINDS)}")
    spatial = tuple(shape[1:])
    if LAYER_KINDS[kind].spatial and len(spatial) not in (1, 2):
        raise SpecError(row_no, f"{kind} needs a 1D or 2D input with channels, but its input is {shape} "
                                "(was it flattened above?)")
    return LAYER_KINDS[kind].build(row, row_no, shape[0], spatial)


def _checked_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(v) for v in input_shape)
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise SpecError(0, f"input shape must be (C, L) or (C, H, W) of positive sizes, got {shape}")
    if shape[0] > MAX_CHANNELS or max(shape[1:]) > MAX_SIDE:
        raise SpecError(0, f"input shape {shape} is too large here: at most {MAX_CHANNELS} channels and "
                           f"{MAX_SIDE} samples per side")
    return shape


def _checked_rows(rows: Iterable[dict]) -> list[dict]:
    rows = list(rows)
    if len(rows) > MAX_LAYERS:
        raise SpecError(MAX_LAYERS + 1, f"at most {MAX_LAYERS} layers here")
    return rows


def build_model(rows: Iterable[dict], input_shape: Sequence[int]) -> nn.Sequential:
    """An ``nn.Sequential`` from layer rows, for one sample of ``input_shape`` ((C, L) or (C, H, W)).

    Raises:
        SpecError: naming the first row that cannot be built, and why.
    """
    shape = _checked_shape(input_shape)
    rows = _checked_rows(rows)
    layers = []
    x = torch.zeros(2, *shape)  # two samples: batch norm needs more than one value per channel
    for row_no, row in enumerate(rows, start=1):
        layer = _layer(dict(row), row_no, tuple(x.shape[1:]))
        try:
            with torch.no_grad():
                x = layer.eval()(x)
        except RuntimeError as exc:
            raise SpecError(row_no, f"PyTorch refused it: {str(exc).splitlines()[0]}") from None
        layer.train()
        layers.append(layer)
    if not layers:
        raise SpecError(0, "the layer list is empty")
    return nn.Sequential(*layers)


# what one layer list may cost a shared server, checked from shapes alone before anything is allocated


def estimate(rows: Iterable[dict], input_shape: Sequence[int], budget: dict | None = None) -> dict:
    """What building and analysing ``rows`` would cost, from shapes alone: nothing real is allocated.

    Every layer is built and run on PyTorch's ``meta`` device (shapes, no data)
    under FlopCounterMode. Returns ``parameters``, ``macs`` (multiply-adds of
    one sample), ``activations`` (floats of every layer's output for the two
    samples ``build_model`` runs), ``depth``, and ``work``: the multiply-adds
    the anatomy page spends (building, counting and the forward pass, plus one
    traced prefix per layer that can change the receptive field).

    Raises:
        SpecError: as ``build_model`` would, for a row that cannot be built; and (row 0) as soon as a
        total passes ``budget`` (``core.limits.LAYER_BUDGET``'s keys), without building the rest.
    """
    from core.nets.exclusive import PATCHING, flop_counter

    words = {"parameters": "parameters", "activations": "activation values", "work": "multiply-adds of work"}
    shape = _checked_shape(input_shape)
    rows = _checked_rows(rows)
    x = torch.empty(2, *shape, device="meta")
    totals, traced = {"parameters": 0, "macs": 0, "activations": 0, "depth": len(rows), "work": 0}, 0

    def within(partial: bool) -> None:
        totals["work"] = traced + 4 * totals["macs"]
        for name, limit in (budget or {}).items():
            if totals[name] > limit:
                raise SpecError(0, f"this network is too large for a shared server: {'at least ' * partial}"
                                   f"{totals[name]:,} {words[name]} (the limit is {limit:,}); make it smaller, "
                                   "narrower or shallower")

    with PATCHING, torch.device("meta"):  # core.nets.exclusive: why
        for row_no, row in enumerate(rows, start=1):
            layer = _layer(dict(row), row_no, tuple(x.shape[1:])).eval()
            try:
                with flop_counter(display=False) as counter:
                    x = layer(x)
            except RuntimeError as exc:
                raise SpecError(row_no, f"PyTorch refused it: {str(exc).splitlines()[0]}") from None
            totals["parameters"] += sum(p.numel() for p in layer.parameters())
            totals["macs"] += counter.get_total_flops() // 4  # two samples, two flops per multiply-add
            totals["activations"] += x.numel()
            if x.dim() >= 3 and not isinstance(layer, POINTWISE):
                traced += totals["macs"]  # the receptive-field trace runs the prefix once
            within(partial=True)
    within(partial=False)
    return totals


def check_budget(rows: Iterable[dict], input_shape: Sequence[int], budget: dict | None = None) -> dict:
    """``estimate`` against ``budget`` (default ``core.limits.LAYER_BUDGET``): SpecError (row 0) for a list that costs more."""
    return estimate(rows, input_shape, budget or LAYER_BUDGET)


def _fmt(value) -> str:
    return str(int(value)) if float(value).is_integer() else f"{float(value):g}"


def rows_to_text(input_shape: Sequence[int], rows: Iterable[dict]) -> str:
    """A layer list as one line for a URL: ``1x28x28:conv(out=6,kernel=5);relu;max pool(kernel=2)``."""
    parts = []
    for row in rows:
        fields = [f"{f}={_fmt(row[f])}" for f in COLUMNS[1:] if row.get(f) not in (None, "") and
                  not (isinstance(row.get(f), float) and math.isnan(row[f]))]
        parts.append(f"{row['kind']}({','.join(fields)})" if fields else str(row["kind"]))
    return "x".join(map(str, input_shape)) + ":" + ";".join(parts)


def text_to_rows(text: str) -> tuple[tuple[int, ...], list[dict]]:
    """Inverse of ``rows_to_text``. Raises SpecError naming the part it cannot read."""
    head, sep, body = text.strip().partition(":")
    if not sep:
        raise SpecError(0, "the layer list must start with the input shape, e.g. '1x28x28:'")
    try:
        shape = tuple(int(v) for v in head.lower().split("x"))
    except ValueError:
        raise SpecError(0, f"input shape {head!r} is not like 1x28x28") from None
    rows = []
    for i, part in enumerate(filter(None, (p.strip() for p in body.split(";"))), start=1):
        kind, _, rest = part.partition("(")
        row: dict[str, Any] = {"kind": kind.strip()}
        if rest:
            if not rest.endswith(")"):
                raise SpecError(i, f"missing ')' in {part!r}")
            for item in filter(None, rest[:-1].split(",")):
                key, eq, value = item.partition("=")
                if not eq or key.strip() not in COLUMNS[1:]:
                    raise SpecError(i, f"cannot read {item!r}; fields are {', '.join(COLUMNS[1:])}")
                try:
                    row[key.strip()] = float(value)
                except ValueError:
                    raise SpecError(i, f"{key.strip()} must be a number, got {value!r}") from None
        rows.append(row)
    return shape, rows
