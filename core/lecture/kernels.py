"""Kernels (lecture section 6): the kernel collection, classic kernels, odd vs even sizes.

For 1D data a layer's kernels form a 3D tensor ``kernels x input channels x
length`` (the lecture's figure: 2 x 7 x 3); for 2D data a 4D tensor
``kernels x channels x height x width``. Output channels = number of kernels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from core.lecture.padding import same_padding

KERNELS_1D = {
    "edge": [-1.0, 0.0, 1.0],
    "blur": [0.25, 0.5, 0.25],
    "sharpen": [-1.0, 3.0, -1.0],
}
KERNELS_2D = {
    "edge (Sobel x)": [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]],
    "blur (binomial)": (np.outer([1, 2, 1], [1, 2, 1]) / 16.0).tolist(),
    "sharpen": [[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]],
    "Laplacian": [[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]],
}


def collection(kernels: int, channels: int, size: int, nd: int = 1, length: int = 32) -> pd.DataFrame:
    """Shapes of a layer's weight, input and output and its parameter count, read off a real torch layer."""
    layer = (nn.Conv1d if nd == 1 else nn.Conv2d)(channels, kernels, size)
    x = torch.zeros(1, channels, *(length,) * nd)
    y = layer(x)
    fmt = lambda s: " × ".join(map(str, s))  # noqa: E731
    axes = ["length"] if nd == 1 else ["height", "width"]  # one name per axis the shapes below print
    return pd.DataFrame([
        {"what": "weight (kernel collection)", "shape": fmt(layer.weight.shape),
         "meaning": " × ".join(["kernels", "input channels", *axes])},
        {"what": "bias", "shape": fmt(layer.bias.shape), "meaning": "one per kernel"},
        {"what": "input (one sample)", "shape": fmt(x.shape[1:]), "meaning": " × ".join(["channels", *axes])},
        {"what": "output (one sample)", "shape": fmt(y.shape[1:]), "meaning": " × ".join(["kernels (output channels)", *axes])},
        {"what": "parameters", "shape": str(sum(p.numel() for p in layer.parameters())),
         "meaning": f"{kernels}·{channels}·{size ** nd} weights + {kernels} biases"},
    ])


def named_kernel(name: str, nd: int, seed: int = 0) -> torch.Tensor:
    """A classic 3-tap (1D) or 3x3 (2D) kernel, or ``random`` (seeded, unit norm)."""
    table = KERNELS_1D if nd == 1 else KERNELS_2D
    if name == "random":
        gen = torch.Generator().manual_seed(seed)
        w = torch.randn((3,) * nd, generator=gen, dtype=torch.float64)
        return w / w.norm()
    if name not in table:
        raise ValueError(f"kernel must be one of {', '.join([*table, 'random'])}, got {name!r}")
    return torch.tensor(table[name], dtype=torch.float64)


def apply_kernels(x: np.ndarray, names, seed: int = 0) -> dict[str, np.ndarray]:
    """Each named kernel applied to a 1D signal or 2D image (``same`` size, replicate padding).

    All kernels go in one convolution layer: one output channel per kernel.
    """
    nd = x.ndim
    weight = torch.stack([named_kernel(n, nd, seed) for n in names]).unsqueeze(1)  # (K, 1, *3)
    t = torch.as_tensor(x, dtype=torch.float64)[None, None]
    t = F.pad(t, (1, 1) * nd, mode="replicate")
    out = (F.conv1d if nd == 1 else F.conv2d)(t, weight)[0]  # (K, *size)
    return {n: out[i].numpy() for i, n in enumerate(names)}


def test_signal(length: int = 128, seed: int = 0) -> np.ndarray:
    """A 1D signal with smooth bumps, a step and a little noise: something for every kernel to do."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, length)
    return (np.sin(2 * np.pi * 3 * t) + (t > 0.6) * 1.5 + 0.15 * rng.standard_normal(length)).astype(np.float64)


def _box_responses(size: int) -> dict[int, np.ndarray]:
    """Responses to an impulse at position 8 of 17 of box kernels of ``size`` and its odd/even neighbour.

    'same' padding as PyTorch does it (the extra sample after).
    """
    x = torch.zeros(1, 1, 17, dtype=torch.float64)
    x[..., 8] = 1.0
    sizes = sorted({size, size + 1 if size % 2 == 0 else size - 1} - {0})
    return {k: F.conv1d(F.pad(x, same_padding(k)), torch.full((1, 1, k), 1.0 / k, dtype=torch.float64))[0, 0].numpy()
            for k in sizes}


def centre_shift(size: int) -> pd.DataFrame:
    """Where a box kernel puts an impulse: odd sizes keep it, even sizes move it half a sample."""
    rows = []
    for k, y in _box_responses(size).items():
        centre = float((np.arange(17) * y).sum() / y.sum())
        rows.append({"kernel size": k, "odd": k % 2 == 1, "centre of response": centre,
                     # rounded past float noise, and + 0.0 turns a -0.0 into 0.0: "no shift" must read 0
                     "shift (samples)": round(centre - 8.0, 9) + 0.0})
    return pd.DataFrame(rows)


def impulse_responses(size: int) -> pd.DataFrame:
    """Long table ``position, value, kernel``: the impulse and each box kernel's response."""
    impulse = np.zeros(17)
    impulse[8] = 1.0
    frames = [pd.DataFrame({"position": np.arange(17), "value": impulse, "kernel": "impulse"})]
    frames += [pd.DataFrame({"position": np.arange(17), "value": y, "kernel": f"box {k}"})
               for k, y in _box_responses(size).items()]
    return pd.concat(frames, ignore_index=True)


def neighbourhood(max_size: int = 5) -> pd.DataFrame:
    """What a k x k kernel at one pixel sees, k = 1 .. ``max_size``: 3 is the smallest with a neighbour on every side.

    Read off a real ``Conv2d`` with PyTorch's 'same' padding: the gradient of
    the centre output with respect to the input marks the pixels it reads.
    Offsets are (row, column) from that pixel; an even kernel reaches one
    further after than before (its centre falls between pixels).
    """
    import warnings

    rows = []
    for k in range(1, max_size + 1):
        x = torch.zeros(1, 1, 9, 9, dtype=torch.float64, requires_grad=True)
        conv = nn.Conv2d(1, 1, k, padding="same", bias=False).double()
        with torch.no_grad():
            conv.weight.fill_(1.0)
        with warnings.catch_warnings():  # PyTorch notes that an even 'same' kernel pads unevenly: that is the point
            warnings.simplefilter("ignore", UserWarning)
            out = conv(x)
        out[0, 0, 4, 4].backward()
        seen = [(int(r) - 4, int(c) - 4) for r, c in (x.grad[0, 0] != 0).nonzero()]
        rs, cs = [r for r, _ in seen], [c for _, c in seen]
        sides = {"up": min(rs) < 0, "down": max(rs) > 0, "left": min(cs) < 0, "right": max(cs) > 0}
        rows.append({"kernel": f"{k}×{k}", "pixels read": len(seen), "neighbours": len(seen) - 1,
                     "rows": f"{min(rs):+d} … {max(rs):+d}", "columns": f"{min(cs):+d} … {max(cs):+d}",
                     **{f"sees {s}": v for s, v in sides.items()}, "all four sides": all(sides.values()),
                     "centred": min(rs) == -max(rs) and min(cs) == -max(cs)})
    return pd.DataFrame(rows)


def smallest_all_round(table: pd.DataFrame) -> str | None:
    """The smallest kernel in ``neighbourhood``'s table that sees every side and has a centre pixel."""
    ok = table[table["all four sides"] & table["centred"]]
    return None if ok.empty else str(ok["kernel"].iloc[0])


# a 1x1 convolution on an RGB image: a 3-to-3 matrix at every pixel (rows: output channels)
MIXES = {
    "luminance, red − green, blue − yellow": [[0.299, 0.587, 0.114], [1.0, -1.0, 0.0], [-0.5, -0.5, 1.0]],
    "swap red and blue": [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
    "identity": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
}


def channel_mixing(image: np.ndarray, mix: str, sizes=(64, 256)) -> dict:
    """A 1x1 ``Conv2d`` with the ``MIXES`` weights on an RGB image (H, W, 3): it mixes channels, never neighbours.

    Returns the output channels (H, W) per name, the largest difference from
    the same matrix applied pixel by pixel (``einsum``), how many neighbouring
    pixels an output reads (0: from its gradient), and the output shape at
    each of ``sizes``: the same weights apply to any input size.
    """
    if mix not in MIXES:
        raise ValueError(f"mix must be one of {', '.join(MIXES)}, got {mix!r}")
    weight = torch.tensor(MIXES[mix], dtype=torch.float64)
    conv = nn.Conv2d(3, 3, 1, bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(weight[:, :, None, None])
    x = torch.as_tensor(np.asarray(image, dtype=np.float64)).permute(2, 0, 1)[None].contiguous()
    x.requires_grad_(True)
    y = conv(x)
    h, w = y.shape[2:]
    y[0, :, h // 2, w // 2].sum().backward()
    read = (x.grad[0].abs().sum(0) != 0).nonzero()
    per_pixel = torch.einsum("oc,chw->ohw", weight, x.detach()[0])
    shapes = {n: tuple(conv(torch.zeros(1, 3, n, n, dtype=torch.float64)).shape[1:]) for n in sizes}
    return {"outputs": y.detach()[0].numpy(), "max_diff": float((y.detach()[0] - per_pixel).abs().max()),
            "neighbours_read": len(read) - 1, "shapes": shapes, "parameters": conv.weight.numel()}


def rgb_photo(name: str = "chelsea", size: int = 128) -> np.ndarray:
    """A bundled colour photograph (scikit-image) as float RGB in [0, 1], size x size."""
    from skimage import data as skdata
    from skimage.transform import resize

    if name not in ("chelsea", "coffee", "astronaut", "rocket"):
        raise ValueError(f"colour photo must be one of chelsea, coffee, astronaut, rocket, got {name!r}")
    return resize(getattr(skdata, name)() / 255.0, (size, size), anti_aliasing=True)


def mixing_alts(mix: str, names: list[str], side: int) -> list[str]:
    """Text alternatives of the 1×1 mix's four pictures: the colour input, then each output channel as the sum of
    the colour channels it weighs (``MIXES[mix]``'s row)."""
    if mix not in MIXES:
        raise ValueError(f"mix must be one of {', '.join(MIXES)}, got {mix!r}")
    said = [f"The input, a colour photo, {side} × {side} pixels"]
    for name, row in zip(names, MIXES[mix]):
        terms = " + ".join(f"{w:g} × {c}" for w, c in zip(row, ("red", "green", "blue")) if w != 0) or "0"
        said.append(f"{name.capitalize()}: at every pixel, {terms}, in grey".replace("+ -", "− "))
    return said


def output_alt(name: str, image_name: str, side: int, seed: int = 0) -> str:
    """The text alternative of one picture in the 2D row of ``apply_kernels``: the input, or the image through a
    3 × 3 kernel, its weights row by row (``named_kernel``'s)."""
    if name == "input":
        return f"The input, scikit-image's {image_name}, {side} × {side} pixels, in grey"
    rows = named_kernel(name, 2, seed).tolist()
    weights = "; ".join(", ".join(f"{w:.3g}" for w in row) for row in rows)
    return f"{image_name.capitalize()} through the {name} kernel (rows: {weights}), {side} × {side} pixels"
