"""Models from layer lists, per-layer tables, and the course notebook's networks.

A model is a list of rows (dicts), one layer each, so a page can edit it as a
table. Kinds and the fields they read:

    conv, local      out, kernel, stride, padding   (local: locally connected, no sharing)
    max pool, avg pool   kernel, stride (default: kernel)
    lp pool          kernel, stride, p
    batch norm, relu, leaky relu, tanh, flatten, log softmax   (nothing)
    residual         kernel: x + conv-bn-relu-conv-bn(x), then ReLU, same channels and size
    linear           out

The course notebook (``06-convnet.ipynb``): a fully connected net of 6,442
parameters and a ConvNet of 6,422, both 28x28 -> 10 classes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import torch
from torch import nn

from core.conv import LocallyConnected1d, LocallyConnected2d

if TYPE_CHECKING:  # pandas, torch.fx and the flop counter load on first use: the training engine needs none of them
    import pandas as pd

KINDS = ("conv", "local", "relu", "leaky relu", "tanh", "max pool", "avg pool", "lp pool", "batch norm",
         "residual", "flatten", "linear", "log softmax")
SPATIAL = {"conv", "local", "max pool", "avg pool", "lp pool", "batch norm", "residual"}
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


LIMITS = {"out": 1024, "kernel": 64, "stride": 16, "padding": 32}  # bounded work for a shared server
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
    if number > LIMITS.get(field, math.inf):
        raise SpecError(row_no, f"'{field}' can be at most {LIMITS[field]} here, got {int(number)}")
    return int(number)


def _layer(row: dict, row_no: int, shape: tuple[int, ...]) -> nn.Module:
    """One layer for input ``shape`` = (C, *spatial) or (features,)."""
    kind = str(row.get("kind", "")).strip().lower()
    if kind not in KINDS:
        raise SpecError(row_no, f"unknown layer {row.get('kind')!r}; choose from {', '.join(KINDS)}")
    spatial = shape[1:]
    nd = len(spatial)
    if kind in SPATIAL and nd not in (1, 2):
        raise SpecError(row_no, f"{kind} needs a 1D or 2D input with channels, but its input is {shape} "
                                "(was it flattened above?)")
    if kind in ("conv", "local", "max pool", "avg pool", "lp pool", "residual"):
        k = _int(row, "kernel", row_no)
        pad = _int(row, "padding", row_no, 0, low=0) if kind in ("conv", "local", "max pool", "avg pool") else 0
        if kind == "residual":
            pad = k // 2
        if any(k > n + 2 * pad for n in spatial):
            raise SpecError(row_no, f"kernel {k} is larger than its input {'x'.join(map(str, spatial))}"
                                    f"{f' (+{2 * pad} padding)' if pad else ''}")
        if kind in ("max pool", "avg pool") and pad > k // 2:
            raise SpecError(row_no, f"pool padding must be at most half the kernel ({k // 2}), got {pad}")
    c = shape[0]
    if kind == "conv":
        s = _int(row, "stride", row_no, 1)
        return (nn.Conv1d if nd == 1 else nn.Conv2d)(c, _int(row, "out", row_no), k, s, pad)
    if kind == "local":
        s = _int(row, "stride", row_no, 1)
        return (LocallyConnected1d if nd == 1 else LocallyConnected2d)(c, _int(row, "out", row_no), k, spatial, s, pad)
    if kind in ("max pool", "avg pool"):
        s = _int(row, "stride", row_no, k)
        cls = {("max pool", 1): nn.MaxPool1d, ("max pool", 2): nn.MaxPool2d,
               ("avg pool", 1): nn.AvgPool1d, ("avg pool", 2): nn.AvgPool2d}[kind, nd]
        return cls(k, s, pad)
    if kind == "lp pool":
        s = _int(row, "stride", row_no, k)
        p = row.get("p")
        p = 2.0 if p is None or p == "" else p
        try:
            p = float(p)
        except (TypeError, ValueError):
            raise SpecError(row_no, f"p must be a number, got {p!r}") from None
        if not (math.isfinite(p) and p >= 1):  # nan, inf, 0 and negatives: no Lp norm PyTorch computes
            raise SpecError(row_no, f"p must be a finite number of at least 1 (2 if left out), got {p:g}")
        return (nn.LPPool1d if nd == 1 else nn.LPPool2d)(p, k, s)
    if kind == "batch norm":
        return (nn.BatchNorm1d if nd in (0, 1) else nn.BatchNorm2d)(c)
    if kind == "residual":
        return Residual(c, k, nd)
    if kind == "relu":
        return nn.ReLU()
    if kind == "leaky relu":
        return nn.LeakyReLU(0.1)
    if kind == "tanh":
        return nn.Tanh()
    if kind == "flatten":
        return nn.Flatten()
    if kind == "log softmax":
        return nn.LogSoftmax(dim=1)
    # linear
    if nd != 0:
        raise SpecError(row_no, f"linear needs a flat input, but its input is {shape}; add a flatten row above")
    return nn.Linear(shape[0], _int(row, "out", row_no))


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
BUDGET = {"parameters": 20_000_000, "activations": 32_000_000, "work": 4_000_000_000}


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
        total passes ``budget`` (``BUDGET``'s keys), without building the rest.
    """
    from torch.utils.flop_counter import FlopCounterMode

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

    with torch.device("meta"):
        for row_no, row in enumerate(rows, start=1):
            layer = _layer(dict(row), row_no, tuple(x.shape[1:])).eval()
            try:
                with FlopCounterMode(display=False) as counter:
                    x = layer(x)
            except RuntimeError as exc:
                raise SpecError(row_no, f"PyTorch refused it: {str(exc).splitlines()[0]}") from None
            totals["parameters"] += sum(p.numel() for p in layer.parameters())
            totals["macs"] += counter.get_total_flops() // 4  # two samples, two flops per multiply-add
            totals["activations"] += x.numel()
            if x.dim() >= 3 and not isinstance(layer, _POINTWISE):
                traced += totals["macs"]  # the receptive-field trace runs the prefix once
            within(partial=True)
    within(partial=False)
    return totals


def check_budget(rows: Iterable[dict], input_shape: Sequence[int], budget: dict | None = None) -> dict:
    """``estimate`` against ``budget`` (default ``BUDGET``): SpecError (row 0) for a list that costs more."""
    return estimate(rows, input_shape, budget or BUDGET)


def _macs(layer: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of one forward pass of one sample, counted by PyTorch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        layer(x)
    return counter.get_total_flops() // 2


_POINTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.BatchNorm1d, nn.BatchNorm2d)  # act on each position alone


def layer_table(model: nn.Sequential, input_shape: Sequence[int]) -> pd.DataFrame:
    """One row per layer: kind, output shape, parameters, multiply-adds, receptive field.

    The receptive field is that of the layer's output units on the input
    (from ``core.receptive_field``), '-' once the tensor is no longer spatial.
    """
    import pandas as pd

    from core.receptive_field import receptive_field

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
            rf = rf_before if isinstance(layer, _POINTWISE) else \
                receptive_field(model[: i + 1], (1, *input_shape)).iloc[-1]["rf"]
            rf_before = rf
        else:
            spatial_prefix = False
        rows.append({"#": i + 1, "layer": type(layer).__name__, "output shape": " × ".join(map(str, x.shape[1:])),
                     "parameters": sum(p.numel() for p in layer.parameters()), "multiply-adds": macs,
                     "receptive field": str(rf)})
    return pd.DataFrame(rows)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _conv(out, k, **kw):
    return {"kind": "conv", "out": out, "kernel": k, **kw}


def course_convnet(n_features: int = 6) -> list[dict]:
    """The notebook's ConvNet: 6,422 parameters at n_features=6 on 1x28x28."""
    return [_conv(n_features, 5), {"kind": "relu"}, {"kind": "max pool", "kernel": 2},
            _conv(n_features, 5), {"kind": "relu"}, {"kind": "max pool", "kernel": 2},
            {"kind": "flatten"}, {"kind": "linear", "out": 50}, {"kind": "relu"},
            {"kind": "linear", "out": 10}, {"kind": "log softmax"}]


def course_fc(n_hidden: int = 8) -> list[dict]:
    """The notebook's fully connected net: 6,442 parameters at n_hidden=8 on 784 inputs."""
    return [{"kind": "flatten"}, {"kind": "linear", "out": n_hidden}, {"kind": "relu"},
            {"kind": "linear", "out": n_hidden}, {"kind": "relu"}, {"kind": "linear", "out": 10},
            {"kind": "log softmax"}]


PRESETS: dict[str, tuple[tuple[int, ...], list[dict]]] = {
    "course ConvNet": ((1, 28, 28), course_convnet()),
    "LeNet-5": ((1, 32, 32), [_conv(6, 5), {"kind": "tanh"}, {"kind": "avg pool", "kernel": 2},
                              _conv(16, 5), {"kind": "tanh"}, {"kind": "avg pool", "kernel": 2},
                              _conv(120, 5), {"kind": "tanh"}, {"kind": "flatten"},
                              {"kind": "linear", "out": 84}, {"kind": "tanh"}, {"kind": "linear", "out": 10}]),
    "small residual net": ((1, 28, 28), [_conv(16, 3, padding=1), {"kind": "batch norm"}, {"kind": "relu"},
                                         {"kind": "residual", "kernel": 3}, {"kind": "max pool", "kernel": 2},
                                         {"kind": "residual", "kernel": 3}, {"kind": "max pool", "kernel": 2},
                                         {"kind": "flatten"}, {"kind": "linear", "out": 10}]),
    "1D ConvNet": ((1, 40), [_conv(8, 5, padding=2), {"kind": "relu"}, {"kind": "max pool", "kernel": 2},
                             _conv(8, 5, padding=2), {"kind": "relu"}, {"kind": "max pool", "kernel": 2},
                             {"kind": "flatten"}, {"kind": "linear", "out": 10}]),
}


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


def mnist1d_fc(width: int = 100) -> list[dict]:
    """MNIST-1D's MLP baseline shape (40 -> width -> width -> 10)."""
    return course_fc(width)


def mnist1d_cnn(width: int = 25) -> list[dict]:
    """MNIST-1D's ConvNet baseline: three strided 1D convolutions, then a linear read-out."""
    return [_conv(width, 5, stride=2, padding=1), {"kind": "relu"}, _conv(width, 3, stride=2, padding=1),
            {"kind": "relu"}, _conv(width, 3, stride=2, padding=1), {"kind": "relu"}, {"kind": "flatten"},
            {"kind": "linear", "out": 10}, {"kind": "log softmax"}]


PRACTICUM_MODELS = {"fc": "fully connected", "cnn": "ConvNet", "lc": "locally connected"}


def practicum_rows(model: str, dataset: str = "mnist", width: int | None = None) -> tuple[tuple[int, ...], list[dict]]:
    """(input shape, layer rows) of the practicum's models: ``fc``, ``cnn`` or ``lc`` (the ConvNet without sharing).

    ``width`` is the notebook's ``n_hidden`` (fc, default 8) or ``n_features`` (cnn, lc, default 6);
    on MNIST-1D the paper's 100 and 25 (``core.datasets``).
    """
    from core.datasets import spec

    if model not in PRACTICUM_MODELS:
        raise ValueError(f"model must be one of {', '.join(PRACTICUM_MODELS)}, got {model!r}")
    ds = spec(dataset)
    width = ds.width(model, width)
    shape: tuple[int, ...] = ds.input_shape
    if len(shape) == 2:  # sequences: the MNIST-1D paper's MLP and CNN
        rows = mnist1d_fc(width) if model == "fc" else mnist1d_cnn(width)
    else:
        rows = course_fc(width) if model == "fc" else course_convnet(width)
    if model == "lc":
        rows = [{**r, "kind": "local"} if r["kind"] == "conv" else r for r in rows]
    return shape, rows


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
