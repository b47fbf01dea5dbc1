"""Inside the practicum's trained networks: what they predict for one input, their feature maps, their kernels,
their first-layer weights, their confusion matrix and their mistakes.

A trained run is rebuilt from its configuration (the layers ``core.practicum.training`` built) and its stored weights
(``ResultStore.get_weights``). A permuted run sees every input through its fixed permutation, so an input is
permuted for it here too, and its first-layer weights are put back in the original pixel order for display:
that is where the lesson shows (the permuted ConvNet's kernels stay noise-like; the permuted FC net's weights,
unpermuted, look like the original one's).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import torch
from torch import nn

from core.practicum.data import Dataset, permute_pixels, pixel_permutation
from core.nets.layers import build_model
from core.practicum.models import model, practicum_rows
from core.practicum.runs import RunResult

MISTAKES = 8  # test images each model gets wrong, shown in the gallery


def weights_budget(result: RunResult) -> int:
    """The most bytes a file of ``result``'s weights may hold: 4 per parameter, a quarter more, and 64 KB for
    ``torch.save``'s archive. Checked before a stored file is read or loaded."""
    return int(result.params * 4 * 1.25) + 2 ** 16


def load_model(result: RunResult, weights: bytes) -> nn.Sequential:
    """The trained network of ``result``, in eval mode on the CPU, with its layers in the course's order (conv,
    ReLU, pool); ValueError when ``weights`` do not fit it. The engine trained the same weights with each ReLU
    after its max pooling (``fast_order``): the two commute, so the outputs are identical, and only here do the
    in-between maps differ (the ReLU's full-size maps, as the course draws them)."""
    shape, rows = practicum_rows(result.model, result.config.dataset, result.config.width)
    torch.manual_seed(result.config.seed)
    model = build_model(rows, shape)  # fast_order moves no weighted layer: the state dict's keys are the same
    if len(weights) > weights_budget(result):
        raise ValueError(f"the stored weights are {len(weights) / 2 ** 20:.1f} MB, more than this network's "
                         f"{result.params:,} parameters take")
    try:
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - a damaged file or another architecture: one message
        raise ValueError(f"the stored weights do not fit this network ({type(exc).__name__})") from exc
    return model.eval()


def permutation(result: RunResult, positions: int) -> torch.Tensor | None:
    """The fixed permutation a permuted run saw (None for a run on original pixels)."""
    c = result.config
    return pixel_permutation(positions, c.perm_seed, c.perm_fraction) if c.permuted else None


def as_seen(result: RunResult, x: torch.Tensor) -> torch.Tensor:
    """``x`` (N, C, *S) as the run's network sees it: permuted for a permuted run."""
    perm = permutation(result, x[0, 0].numel())
    return x if perm is None else permute_pixels(x, perm)


def probabilities(runs: list[tuple[RunResult, nn.Module]], x: torch.Tensor, label) -> pd.DataFrame:
    """Each run's class probabilities for the one input ``x`` (C, *S): ``run, class, probability, predicted``
    (the run's top class), ``right`` (whether that is ``label``; None when the label is unknown)."""
    rows = []
    with torch.no_grad():
        for result, model in runs:
            p = model(as_seen(result, x[None].float())).exp()[0]
            top = int(p.argmax())
            for k, v in enumerate(p.tolist()):
                rows.append({"run": run_name(result), "class": k, "probability": v, "predicted": top,
                             "right": None if label is None else top == int(label)})
    return pd.DataFrame(rows)


def run_name(result: RunResult) -> str:
    return model(result.model).label(result.permuted, short=True)


def feature_maps(model: nn.Sequential, x: torch.Tensor) -> list[tuple[str, np.ndarray]]:
    """The output of every layer before the first flatten or linear layer, for the one input ``x`` as the
    network sees it, from forward hooks on the model itself: ``(name, array (channels, *spatial))``."""
    maps: list[tuple[str, np.ndarray]] = []
    hooks = []
    for i, layer in enumerate(model):
        if isinstance(layer, (nn.Flatten, nn.Linear)):
            break
        name = f"{i}: {type(layer).__name__}"
        hooks.append(layer.register_forward_hook(
            lambda m, inp, out, name=name: maps.append((name, out[0].detach().numpy().copy()))))
    try:
        with torch.no_grad():
            model(x[None].float())
    finally:
        for h in hooks:
            h.remove()
    return maps


def first_kernels(model: nn.Sequential) -> np.ndarray | None:
    """The first convolution's kernels (out, in, *k), or None for a network without one."""
    conv = next((m for m in model if isinstance(m, (nn.Conv1d, nn.Conv2d))), None)
    return None if conv is None else conv.weight.detach().numpy().copy()


def first_layer_images(model: nn.Sequential, result: RunResult, shape) -> np.ndarray | None:
    """A fully connected net's first-layer weights, one image per hidden unit (units, *shape), in the original
    pixel order: a permuted run's weights are put back where the permutation took each pixel from."""
    linear = next((m for m in model if isinstance(m, nn.Linear)), None)
    if linear is None or any(isinstance(m, (nn.Conv1d, nn.Conv2d)) for m in model):
        return None
    w = linear.weight.detach()
    perm = permutation(result, w.shape[1])
    if perm is not None:  # the net saw x[perm]: its weight i belongs to original pixel perm[i]
        back = torch.empty_like(w)
        back[:, perm] = w
        w = back
    return w.reshape(-1, *shape).numpy()


def confusion(result: RunResult, model: nn.Module, data: Dataset, batch: int = 2000) -> tuple[np.ndarray, list]:
    """The test set's confusion matrix (rows: true class, columns: predicted) and the first ``MISTAKES`` test
    images this run gets wrong, as ``(index, true, predicted)``."""
    y = data.test.y
    predicted = []
    with torch.no_grad():
        for i in range(0, len(y), batch):
            predicted.append(model(as_seen(result, data.test.batch(slice(i, i + batch)))).argmax(1))
    pred = torch.cat(predicted)
    k = data.classes
    matrix = torch.bincount(y.long() * k + pred, minlength=k * k).reshape(k, k).numpy()
    wrong = (pred != y).nonzero().flatten()[:MISTAKES].tolist()
    return matrix, [(i, int(y[i]), int(pred[i])) for i in wrong]


def sample_input(data: Dataset, index: int) -> tuple[torch.Tensor, int]:
    """Test sample ``index`` as the networks were fed (normalised), and its label."""
    if not 0 <= index < len(data.test.y):
        raise ValueError(f"test image index must be between 0 and {len(data.test.y) - 1}")
    return data.test.batch(slice(index, index + 1))[0], int(data.test.y[index])


def drawn_input(data: Dataset, image01: np.ndarray) -> torch.Tensor:
    """A 28 x 28 image in [0, 1] (``preprocess_drawing``) normalised as the training images were (1, 28, 28)."""
    x = torch.as_tensor(image01 * 255.0, dtype=torch.float32)[None]
    return x * data.test.scale + data.test.shift


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_DRAWING_BYTES = 2 ** 21  # a PNG of the canvas, even of a busy drawing, is a few tens of KB
DRAWING_SCALE = 4  # a high-density screen sends up to this many pixels per canvas pixel along each side


def decode_drawing(png: bytes | None, side: int) -> np.ndarray | None:
    """The canvas's picture (H, W[, C]) from the PNG bytes its component sent, or None for no drawing.

    Whatever a browser sends is checked before it is decoded: at most ``MAX_DRAWING_BYTES``, a PNG, and a size,
    read from its header, of at most ``DRAWING_SCALE`` times the ``side``-pixel canvas. A value of a few hundred
    KB can otherwise describe an image of 13,000 × 13,000 pixels (7 GB once decoded). Raises ValueError, in one
    line, for anything else."""
    import struct

    from PIL import Image

    if png is None:
        return None
    if len(png) > MAX_DRAWING_BYTES:
        raise ValueError(f"the drawing arrived as {len(png) / 2 ** 20:.1f} MB; a canvas sends at most "
                         f"{MAX_DRAWING_BYTES / 2 ** 20:.0f} MB")
    if len(png) < 24 or png[:8] != PNG_SIGNATURE or png[12:16] != b"IHDR":
        raise ValueError("the drawing did not arrive as a PNG picture")
    width, height = struct.unpack(">II", png[16:24])
    limit = DRAWING_SCALE * side
    if not (0 < width <= limit and 0 < height <= limit):
        raise ValueError(f"the drawing is {width} × {height} pixels; the canvas is {side} × {side} (at most "
                         f"{limit} × {limit} on a high-density screen)")
    try:
        with Image.open(io.BytesIO(png)) as im:
            if im.size != (width, height):
                raise ValueError("its header and its picture disagree")
            return np.asarray(im.convert("RGBA"))
    except (OSError, ValueError, SyntaxError) as exc:  # PIL: truncated, corrupt or inconsistent data
        raise ValueError(f"the drawing could not be read ({str(exc)[:80] or type(exc).__name__})") from None


def preprocess_drawing(image: np.ndarray) -> np.ndarray:
    """A drawing (H, W) or (H, W, 3|4) as MNIST was made: the ink's bounding box scaled to fit 20 x 20 (aspect
    kept), placed in 28 x 28 with its centre of mass at the centre; ink is bright on black, in [0, 1].
    Raises ValueError for an empty drawing."""
    from scipy import ndimage
    from skimage.transform import resize

    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 3:  # light strokes on a dark (or transparent) canvas: brightness times opacity
        ink = a[..., :3].mean(-1) / 255.0 * (a[..., 3] / 255.0 if a.shape[2] == 4 else 1.0)
    else:
        ink = a / (a.max() or 1.0)
    if ink.max() <= 0.05:
        raise ValueError("the drawing is empty: draw a digit first")
    rows, cols = np.nonzero(ink > 0.05)
    box = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = 20.0 / max(box.shape)
    h, w = max(1, round(box.shape[0] * scale)), max(1, round(box.shape[1] * scale))
    small = resize(box, (h, w), anti_aliasing=True)
    out = np.zeros((28, 28))
    top, left = (28 - h) // 2, (28 - w) // 2
    out[top:top + h, left:left + w] = small
    cy, cx = ndimage.center_of_mass(out)
    out = ndimage.shift(out, (14.0 - cy, 14.0 - cx), order=1, mode="constant")  # where MNIST's centres lie
    return np.clip(out / (out.max() or 1.0), 0.0, 1.0)
