"""Receptive fields of famous ConvNets (torchvision architectures with random weights: nothing is downloaded).

For each architecture: the layer table of its convolutional body (every window
layer and every merge: output shape, parameters, multiply-adds, receptive field
and jump), read by the same ``torch.fx`` tracer as the lab's own networks; the
totals beside torchvision's published figures; the analytic field of the centre
unit at any depth on a real photograph at the network's input size; and the
gradient (effective) field of that unit beside it (Luo et al. 2016).

The body ends where global pooling begins: after it every unit sees the whole
image, and the classifier has no spatial layout left. Where the analytic field
is not one number, the table says so rather than guess: EfficientNet's
squeeze-and-excitation gates multiply every unit by a function of the whole map
(``whole``), so strictly those units see the entire input; the table follows the
field of the convolution path beside that.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pandas as pd
import torch
from torch import fx, nn

from core.nets.exclusive import PATCHING, flop_counter
from core.nets.receptive_field import _Tracer, field_interval, field_spread, receptive_field
from core.nets.receptive_field import gradient_field as unit_gradient

ARCHITECTURES = {"AlexNet": "alexnet", "VGG-16": "vgg16", "ResNet-18": "resnet18", "ResNet-50": "resnet50",
                 "MobileNetV2": "mobilenet_v2", "EfficientNet-B0": "efficientnet_b0", "ConvNeXt-Tiny": "convnext_tiny"}
INPUT = 224  # every one of them is published at 224 x 224 in torchvision
# Araujo, Norris and Sim, "Computing receptive fields of convolutional neural networks", Distill 2019, table 1
PUBLISHED_FIELDS = {"AlexNet": 195, "VGG-16": 212}
_RESNET_BODY = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _check(name: str) -> str:
    if name not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {name!r}")
    return ARCHITECTURES[name]


HEADS = ("classifier", "fc")  # torchvision's names for what follows global pooling


def build(name: str) -> nn.Module:
    """The architecture with torchvision's own random initialisation (seeded), in eval mode, less its classifier.

    The whole network's ``totals`` (parameters and multiply-adds, classifier included) are counted first and kept
    on it; then the classifier is dropped, since nothing here runs it: AlexNet's is 58.6 M of its 61 M weights
    (235 MB that a server kept for as long as the net stayed cached), VGG-16's 124 M of 138 M."""
    import torchvision

    arch = _check(name)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = torchvision.models.get_model(arch, weights=None).eval()
    model.totals = _whole(model)
    for head in HEADS:
        if hasattr(model, head):
            setattr(model, head, nn.Identity())
    return model


def body(model: nn.Module) -> nn.Module:
    """The convolutional part, up to (not including) global pooling and the classifier. Its submodules keep
    torchvision's names (a ResNet's ``layer1.0.conv1``), less the ``features.`` prefix that ``prefix`` gives."""
    if hasattr(model, "features"):
        return model.features
    if all(hasattr(model, k) for k in _RESNET_BODY):
        return nn.Sequential(OrderedDict((k, getattr(model, k)) for k in _RESNET_BODY))
    raise ValueError(f"{type(model).__name__} has no convolutional body this lab knows")


def prefix(model: nn.Module) -> str:
    """What stands before a body module's name in ``model.named_modules()``."""
    return "features." if hasattr(model, "features") else ""


def published(name: str) -> dict:
    """torchvision's figures for the architecture (from its weights' metadata; nothing is downloaded):
    ``parameters`` and ``gmacs`` (what torchvision lists as GFLOPS counts multiply-adds)."""
    import torchvision

    meta = torchvision.models.get_model_weights(_check(name)).DEFAULT.meta
    return {"parameters": int(meta["num_params"]), "gmacs": float(meta["_ops"])}


def _macs(module: nn.Module, shape) -> dict[str, float]:
    """Multiply-adds per submodule name (relative to ``module``) and in all (``""``), by ``FlopCounterMode``."""
    with PATCHING, flop_counter(display=False, depth=None) as counter, torch.no_grad():
        module(torch.zeros(shape))
    root = type(module).__name__
    out = {}
    for key, ops in counter.get_flop_counts().items():
        name = "" if key in ("Global", root) else key.removeprefix(root + ".")
        out[name] = sum(ops.values()) / 2
    return out


def _whole(model: nn.Module) -> dict:
    """The whole network's ``parameters`` and ``macs`` (classifier included), at the published input size."""
    return {"parameters": sum(p.numel() for p in model.parameters()), "macs": _macs(model, (1, 3, INPUT, INPUT))[""]}


def layer_table(model: nn.Module) -> tuple[pd.DataFrame, dict]:
    """The body's layers (window layers, merges, gates) and the whole network's totals.

    Columns: ``depth`` (1, 2, ...), ``layer``, ``type``, ``output`` (C × H × W), ``parameters`` and
    ``multiply-adds`` (of that layer alone; merges have none), ``rf`` and ``jump`` (pixels), ``start``, ``whole``
    (a global gate: the unit also sees the whole input) and ``node`` (where ``gradient_field`` cuts). Rows of a
    squeeze branch (maps of 1 × 1 inside the body) are left out: they are global summaries, not windows.
    Totals: ``parameters``, ``macs`` (the whole network, classifier included), ``body_macs``.
    """
    part = body(model)
    shape = (1, 3, INPUT, INPUT)
    df = receptive_field(part, shape)
    df = df[df["type"] != "output"]
    df = df[[not (isinstance(s, int) and s == 1) for s in df["size"]]].reset_index(drop=True)
    macs = _macs(part, shape)
    modules = dict(part.named_modules())
    df["parameters"] = [sum(p.numel() for p in modules[n].parameters()) if t not in ("merge", "gate") else 0
                        for n, t in zip(df["layer"], df["type"])]
    df["multiply-adds"] = [int(macs.get(n, 0)) if t not in ("merge", "gate") else 0
                           for n, t in zip(df["layer"], df["type"])]
    df["output"] = [f"{int(c)} × {s} × {s}" if isinstance(s, int) else f"{int(c)} × {s[0]} × {s[1]}"
                    for c, s in zip(df["channels"], df["size"])]
    df.insert(0, "depth", range(1, len(df) + 1))
    # torchvision's own names: a merge or gate is named after the block it closes ("layer1.0 (add)")
    ops = df["node"].str.rstrip("_0123456789")  # fx's node name less its counter: "add", "mul"
    df["layer"] = [prefix(model) + (n if t not in ("merge", "gate") else f"{w} ({op})")
                   for n, t, w, op in zip(df["layer"], df["type"], df["within"], ops)]
    totals = {**(getattr(model, "totals", None) or _whole(model)), "body_macs": macs[""]}
    return df[["depth", "layer", "type", "output", "parameters", "multiply-adds", "rf", "jump", "start", "whole",
               "node"]], totals


def first(value) -> float:
    """A field, jump or start along the first axis (the table holds a number for square ones, else a tuple)."""
    return value[0] if isinstance(value, tuple) else value.item() if hasattr(value, "item") else value


def centre_box(row: pd.Series) -> dict:
    """The centre unit's analytic field at this row: ``first``/``last`` (unclipped, pixels, per axis),
    ``clipped`` (r0, r1, c0, c1 inside the input), and ``covers`` (the field reaches past every side)."""
    size = row["output"].split(" × ")[1:]
    units = [int(s) // 2 for s in size]
    rf = row["rf"] if isinstance(row["rf"], tuple) else (row["rf"],) * 2
    jump = row["jump"] if isinstance(row["jump"], tuple) else (row["jump"],) * 2
    start = row["start"] if isinstance(row["start"], tuple) else (row["start"],) * 2
    spans = [field_interval(r, j, s, u) for r, j, s, u in zip(rf, jump, start, units)]
    clipped = tuple(v for lo, hi in spans for v in (max(0, math.ceil(lo)), min(INPUT - 1, math.floor(hi))))
    return {"unit": tuple(units), "spans": spans, "clipped": clipped,
            "covers": all(lo <= 0 and hi >= INPUT - 1 for lo, hi in spans)}


def _truncated(part: nn.Module, node_name: str) -> fx.GraphModule:
    """``part`` cut after the fx node ``node_name`` (its output is that node's)."""
    graph = _Tracer().trace(part)  # a ThreadTracer: it holds core.nets.exclusive's lock itself
    new, env = fx.Graph(), {}
    for node in graph.nodes:
        if node.op == "output":
            break
        env[node] = new.node_copy(node, lambda n: env[n])
        if node.name == node_name:
            new.output(env[node])
            return fx.GraphModule(part, new)
    raise ValueError(f"no layer {node_name!r} in this network")


def photo() -> np.ndarray:
    """The bundled cat (scikit-image's ``chelsea``) at the networks' input size, float RGB in [0, 1]."""
    from core.lecture.kernels import rgb_photo

    return rgb_photo("chelsea", INPUT)


def gradient_field(model: nn.Module, node_name: str, image: np.ndarray) -> np.ndarray:
    """|d centre unit / d input| (summed over the unit's channels and the colours) for ``image`` normalised as
    ImageNet was, with the network cut at ``node_name``: the effective field of Luo et al. (2016)."""
    cut = _truncated(body(model), node_name)
    x = torch.as_tensor(image, dtype=torch.float32).permute(2, 0, 1)[None]
    x = ((x - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None])
    return unit_gradient(cut, x).numpy()  # the lab's one "backward from the centre unit"


def identity_blocks(model: nn.Module, below: float = 1e-4) -> tuple[int, float]:
    """How many residual blocks are identities at initialisation, and their largest layer scale: a block whose
    branch is multiplied by a learned ``layer_scale`` all under ``below`` (ConvNeXt's start at 1e-6 in
    torchvision) adds almost nothing to its shortcut until training grows it."""
    scales = [p.detach().abs().max().item() for n, p in model.named_parameters() if n.endswith("layer_scale")]
    tiny = [v for v in scales if v < below]
    return len(tiny), max(tiny, default=0.0)


def effective_summary(grad: np.ndarray, rf: int, box: tuple[int, int, int, int],
                      identities: tuple[int, float] = (0, 0.0)) -> str:
    """A sentence comparing the gradient field with the analytic one (``rf`` wide, ``box`` inside the input), for an
    untrained network; ``identities`` is ``identity_blocks``' answer, which changes what the gradient can show."""
    spread = field_spread(grad)
    side = math.sqrt(spread["pixels for 90 %"])
    inside = math.sqrt((box[1] - box[0] + 1) * (box[3] - box[2] + 1))  # the analytic field's share of the input
    verdict = ("much smaller than" if side < 0.5 * inside else "smaller than" if side < 0.9 * inside
               else "about as large as")
    clipped = f" ({inside:.0f} px of it inside the image)" if inside < rf - 1 else ""
    said = ("The network is untrained (torchvision's random initialisation): this gradient shows how the "
            "architecture spreads a unit's sensitivity at the start of training, not what a trained net looks at. "
            f"90 % of the gradient lies in {spread['pixels for 90 %']:,} pixels (a square of about {side:.0f} px), "
            f"while the analytic field is {rf} px wide{clipped}: the effective field is {verdict} the theoretical "
            "one")
    blocks, scale = identities
    if blocks:
        return (said + f". Here each of the {blocks} residual blocks multiplies its branch by a layer scale of at "
                f"most {scale:.0e} at initialisation, so every block is an identity: the gradient passes only "
                "through the stem and the downsampling layers. What this picture shows is those few layers, not "
                "the effective field Luo et al. (2016) describe.")
    return said + (", as Luo et al. (2016) found for networks at initialisation." if verdict != "about as large as"
                   else ".")


def overlay(image: np.ndarray, box: tuple[int, int, int, int] | None, grad: np.ndarray | None = None) -> np.ndarray:
    """``image`` (or ``grad`` as a heat map, square-root scaled) as uint8 RGB with ``box`` (r0, r1, c0, c1)
    outlined in red, 2 px wide."""
    if grad is not None:
        g = np.sqrt(grad / grad.max()) if grad.max() > 0 else grad
        rgb = np.stack([np.clip(1.5 * g, 0, 1), np.clip(1.5 * g - 0.5, 0, 1), np.clip(3 * g - 2, 0, 1)], axis=-1)
    else:
        rgb = image
    out = (np.clip(rgb, 0, 1) * 255).astype(np.uint8).copy()
    if box is not None:
        r0, r1, c0, c1 = box
        red = np.array([228, 87, 46], dtype=np.uint8)
        for w in range(2):
            out[max(r0 + w, 0), c0:c1 + 1] = red
            out[min(r1 - w, INPUT - 1), c0:c1 + 1] = red
            out[r0:r1 + 1, max(c0 + w, 0)] = red
            out[r0:r1 + 1, min(c1 - w, INPUT - 1)] = red
    return out


def picture_alts(name: str, box: dict, grad: np.ndarray) -> tuple[str, str]:
    """Text alternatives of the famous page's two pictures: the photo with the centre unit's analytic field
    outlined, and the gradient field of the same unit (where 90 % of it lies), from ``centre_box`` and the
    gradient itself."""
    r0, r1, c0, c1 = box["clipped"]
    outline = (f"The photo, {INPUT} × {INPUT} pixels, with the analytic field of {name}'s centre unit outlined: "
               f"rows {r0} to {r1}, columns {c0} to {c1}" + (", the whole photo" if box["covers"] else ""))
    spread = field_spread(grad)
    row, col = spread["centre"]
    heat = (f"The gradient of the same unit on the photo as a heat map, the outline on top: 90 % of it lies in "
            f"{spread['pixels for 90 %']:,} pixels around row {row:.0f}, column {col:.0f}")
    return outline, heat


def growth_lead(name: str, table: pd.DataFrame, depth: int) -> str:
    """What the field-against-depth chart shows, from the layer table it draws (``layer_table``): the field's
    growth, the published figure where there is one, and the layer picked."""
    fields = table["rf"].map(first)
    grown = fields.cummax()
    text = (f"{name}'s receptive field grows from {fields.iloc[0]:g} to {grown.iloc[-1]:g} pixels over "
            f"{int(table['depth'].max())} layers and merges, on a {INPUT}-pixel input")
    if name in PUBLISHED_FIELDS:
        text += f"; the published field is {PUBLISHED_FIELDS[name]}"
    at = table[table["depth"] == depth]
    if len(at):
        text += f". Marked: depth {depth}, {at['layer'].iloc[-1]}, field {fields[at.index[-1]]:g} pixels"
    return text + "."
