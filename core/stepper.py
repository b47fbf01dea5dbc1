"""A convolution, one output cell at a time (1D and 2D, and the transposed convolution).

The forward convolution *gathers*: output cell ``o`` is the sum of the kernel times
the window of the padded input that starts at ``o * stride`` and takes every
``dilation``-th sample. The transposed convolution *scatters*: input cell ``i``
adds ``x[i] * kernel`` into the output at ``i * stride + t * dilation - padding``
(its ``padding`` crops the output instead of growing the input, so it has no
padding modes). Both are written out here cell by cell, in NumPy, with
``core.padding.pad`` for the border; ``torch.nn.functional.conv1d/conv2d`` and
``conv_transpose1d/2d`` are the oracles in the tests.

Inputs and weights are small integers so that every product and sum can be
checked by hand on the page.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from core.padding import MODES, pad

LIMITS = {"size": (1, 16), "kernel": (1, 7), "stride": (1, 4), "padding": (0, 6), "dilation": (1, 4)}
MAX_STEPS = 400  # steps (and GIF frames) a setting may ask for
MAX_GIF_FRAMES = MAX_STEPS


@dataclass(frozen=True)
class Setting:
    """One stepper setting; ``size`` and ``kernel`` are the side of a square in 2D."""

    nd: int = 2
    size: int = 5
    kernel: int = 3
    stride: int = 1
    padding: int = 0
    mode: str = "zeros"
    dilation: int = 1
    transposed: bool = False
    seed: int = 0

    def problem(self) -> str | None:
        """Why this setting cannot be stepped through (a sentence for the page), or None."""
        if self.nd not in (1, 2):
            return "the stepper draws 1D and 2D convolutions"
        for name, (lo, hi) in LIMITS.items():
            if not lo <= getattr(self, name) <= hi:
                return f"{name} must be between {lo} and {hi}"
        if self.mode not in MODES:
            return f"padding mode must be one of {', '.join(MODES)}"
        if self.transposed:
            if self.mode != "zeros" and self.padding:
                return ("a transposed convolution's padding crops its output: it has no padding modes "
                        "(PyTorch allows only zeros)")
            if self.out_size < 1:
                return (f"the padding ({self.padding}) crops away the whole output "
                        f"({(self.size - 1) * self.stride + self.span} cells before cropping)")
        else:
            if self.mode == "reflect" and self.padding >= self.size:
                return f"reflect padding must be smaller than the input ({self.size})"
            if self.mode == "circular" and self.padding > self.size:
                return f"circular padding can be at most the input size ({self.size})"
            if self.out_size < 1:
                return (f"the kernel spans {self.span} cells, more than the padded input's "
                        f"{self.size + 2 * self.padding}: there is no output")
        if self.steps > MAX_STEPS:
            return f"this setting has {self.steps} steps; the stepper draws at most {MAX_STEPS}"
        return None

    @property
    def span(self) -> int:
        """Cells covered by the dilated kernel: ``dilation * (kernel - 1) + 1``."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def out_size(self) -> int:
        """Output side: ``(n + 2p - span) // s + 1``, or transposed ``(n - 1) s - 2p + span``."""
        if self.transposed:
            return (self.size - 1) * self.stride - 2 * self.padding + self.span
        return (self.size + 2 * self.padding - self.span) // self.stride + 1

    @property
    def steps(self) -> int:
        """Steps: one per output cell (gathering), or one per input cell (scattering, transposed)."""
        side = self.size if self.transposed else max(self.out_size, 0)
        return side ** self.nd


def operands(s: Setting) -> tuple[np.ndarray, np.ndarray]:
    """The input (integers 0..4) and the kernel (integers -1..1, never all zero), drawn from ``seed``."""
    rng = np.random.default_rng(s.seed)
    x = rng.integers(0, 5, size=(s.size,) * s.nd).astype(float)
    w = rng.integers(-1, 2, size=(s.kernel,) * s.nd).astype(float)
    if not w.any():
        w.flat[0] = 1.0
    return x, w


def padded_input(s: Setting, x: np.ndarray) -> np.ndarray:
    """The input as the forward convolution reads it (the transposed one reads it unpadded)."""
    if s.transposed or not s.padding:
        return x
    return pad(torch.as_tensor(x), s.padding, s.mode, nd=s.nd).numpy()


def _cells(side: int, nd: int) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in c) for c in np.ndindex(*(side,) * nd)]


def taps(s: Setting, cell: tuple[int, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(kernel index, position) pairs of one step: positions on the padded input a forward output cell reads,
    or output positions a transposed input cell writes (cropped ones dropped)."""
    pairs = []
    for t in _cells(s.kernel, s.nd):
        if s.transposed:
            pos = tuple(c * s.stride + k * s.dilation - s.padding for c, k in zip(cell, t))
            if all(0 <= p < s.out_size for p in pos):
                pairs.append((t, pos))
        else:
            pairs.append((t, tuple(c * s.stride + k * s.dilation for c, k in zip(cell, t))))
    return pairs


def run(s: Setting) -> np.ndarray:
    """The whole output, accumulated step by step as the page draws it."""
    partial = None
    for partial in accumulate(s):
        pass
    return partial


def accumulate(s: Setting):
    """The output after each step (NaN where nothing has been written yet)."""
    x, w = operands(s)
    xp = padded_input(s, x)
    out = np.full((s.out_size,) * s.nd, np.nan)
    cells = _cells(s.size if s.transposed else s.out_size, s.nd)
    if s.transposed:  # a stride longer than the kernel's span leaves cells no input reaches: they are 0 throughout
        reached = np.zeros(out.shape, dtype=bool)
        for cell in cells:
            for _, pos in taps(s, cell):
                reached[pos] = True
        out[~reached] = 0.0
    for cell in cells:
        if s.transposed:
            for t, pos in taps(s, cell):
                out[pos] = (0.0 if np.isnan(out[pos]) else out[pos]) + x[cell] * w[t]
        else:
            out[cell] = sum(xp[pos] * w[t] for t, pos in taps(s, cell))
        yield out.copy()


def _rc(s: Setting, index: tuple[int, ...]) -> tuple[int, int]:
    """(row, col) of a 1D or 2D index, as the grids draw it (a 1D signal is row 0)."""
    return (0, index[0]) if s.nd == 1 else index


def _lit(s: Setting, cell: tuple[int, ...], pairs) -> tuple[list, list]:
    """The (row, col) cells of this step on the input grid and on the output grid."""
    targets = [_rc(s, pos) for _, pos in pairs]
    return ([_rc(s, cell)], targets) if s.transposed else (targets, [_rc(s, cell)])


def _border(s: Setting) -> np.ndarray:
    """Which cells of the input grid (2D, a 1D signal as one row) are invented by padding."""
    side = s.size if s.transposed else s.size + 2 * s.padding
    border = np.zeros((side,) * s.nd, dtype=bool)
    if not s.transposed and s.padding:
        border[:] = True
        border[(slice(s.padding, s.padding + s.size),) * s.nd] = False
    return np.atleast_2d(border)


def _grid(a: np.ndarray, **columns) -> pd.DataFrame:
    """A 1D or 2D array as rows ``row, col, value`` (1D: row 0), plus constant ``columns``."""
    b = np.atleast_2d(a)
    rows, cols = np.indices(b.shape)
    return pd.DataFrame({"row": rows.ravel(), "col": cols.ravel(), "value": b.ravel(), **columns})


def frame(s: Setting, step: int) -> dict:
    """Everything the page draws at ``step`` (1-based): tables for the input, the kernel, the products and the
    output, and a sentence with the sum.

    ``input``: ``row, col, value, padded`` (an invented border cell), ``active`` (read or scattered at this
    step); ``kernel``: ``row, col, value``; ``products``: ``row, col`` (kernel index), ``input``, ``weight``,
    ``product``, ``target_row, target_col`` (where it lands: the output cell, or for a transposed step each
    output cell); ``output``: ``row, col, value`` (NaN: not yet written), ``active``, ``done``.
    """
    problem = s.problem()
    if problem:
        raise ValueError(problem)
    if not 1 <= step <= s.steps:
        raise ValueError(f"step must be between 1 and {s.steps}")
    out = None
    for out in _take(accumulate(s), step):
        pass
    return _frame(s, step, out)


def _frame(s: Setting, step: int, out: np.ndarray) -> dict:
    """``frame`` given the output after ``step`` steps."""
    x, w = operands(s)
    xp = padded_input(s, x)
    cell = _cells(s.size if s.transposed else s.out_size, s.nd)[step - 1]
    pairs = taps(s, cell)

    inp = _grid(xp, padded=_border(s).ravel(), active=False)
    width = np.atleast_2d(xp).shape[1]
    read, hit = _lit(s, cell, pairs)
    inp.loc[[r * width + c for r, c in read], "active"] = True
    # padded coordinates start at -padding, so a cell's label matches the input's own numbering
    shift = 0 if s.transposed else s.padding
    inp["row"] = inp["row"] - (shift if s.nd == 2 else 0)
    inp["col"] = inp["col"] - shift

    prods = []
    for t, pos in pairs:
        value = x[cell] if s.transposed else xp[pos]
        target = _rc(s, pos) if s.transposed else _rc(s, cell)
        prods.append({"row": _rc(s, t)[0], "col": _rc(s, t)[1], "input": value, "weight": w[t], "product": value * w[t],
                      "target_row": target[0], "target_col": target[1]})
    products = pd.DataFrame(prods, columns=["row", "col", "input", "weight", "product", "target_row", "target_col"])

    output = _grid(out, active=False)
    owidth = np.atleast_2d(out).shape[1]
    output.loc[[r * owidth + c for r, c in hit], "active"] = True
    output["done"] = output["value"].notna()

    where = ", ".join(map(str, cell))
    terms = " + ".join(f"{p['input']:g}×{p['weight']:g}" if p["weight"] >= 0 else f"{p['input']:g}×({p['weight']:g})"
                       for p in prods)
    total = float(products["product"].sum()) if len(products) else 0.0
    if s.transposed:
        sentence = (f"Step {step} of {s.steps}: input cell ({where}) = {x[cell]:g} scatters itself times the kernel "
                    f"into {len(prods)} output cell(s)" + ("" if len(prods) == len(_cells(s.kernel, s.nd)) else
                                                           " (the rest fall in the cropped border)") + ".")
    else:
        sentence = f"Step {step} of {s.steps}: output cell ({where}) = {terms} = {total:g}."
    return {"input": inp, "kernel": _grid(w), "products": products, "output": output, "sentence": sentence,
            "cell": cell}


def _take(iterable, n: int):
    for i, item in enumerate(iterable):
        if i >= n:
            return
        yield item


def gif(s: Setting, cell_px: int = 28, ms: int = 600) -> bytes:
    """The whole sequence as an animated GIF (Pillow): the (padded) input with this step's cells, the kernel,
    and the output filling up; one frame per step. Frames are palette-index arrays pasted from cell tiles drawn
    once each, so that no frame is quantised and no label is drawn twice."""
    from PIL import Image, ImageDraw

    problem = s.problem()
    if problem:
        raise ValueError(problem)
    x, w = operands(s)
    xp = padded_input(s, x)
    # palette indices: 0 white, 1 black (text), 2 grey (outlines), 3 orange (padding), 4 red (this step)
    palette = [255, 255, 255, 0, 0, 0, 85, 85, 85, 242, 165, 65, 228, 87, 46]
    fill = {"cell": 0, "padding": 3, "this step": 4}
    tiles: dict = {}

    def ink(text: str, size: tuple[int, int], at: tuple[int, int]) -> np.ndarray:
        """Where ``text`` drawn at ``at`` inks a canvas of ``size`` (width, height)."""
        im = Image.new("L", size, 0)
        ImageDraw.Draw(im).text(at, text, fill=255)
        return np.asarray(im) > 96

    def tile(value: float, state: str) -> np.ndarray:
        key = (value, state)
        if key not in tiles:
            t = np.full((cell_px, cell_px), fill[state], dtype=np.uint8)
            t[[0, -1], :] = 2
            t[:, [0, -1]] = 2
            if not np.isnan(value):
                t[ink(f"{value:g}", (cell_px, cell_px), (4, cell_px // 3))] = 1
            tiles[key] = t
        return tiles[key]

    grids = [np.atleast_2d(xp), np.atleast_2d(w), np.atleast_2d(np.zeros((s.out_size,) * s.nd))]
    titles = ["input" if s.transposed else "padded input", "kernel", "output"]
    width = sum(g.shape[1] for g in grids) * cell_px + cell_px * (len(grids) + 1)
    height = max(g.shape[0] for g in grids) * cell_px + 2 * cell_px
    border = _border(s)
    background = np.zeros((height, width), dtype=np.uint8)
    lefts, left = [], cell_px
    for g, title in zip(grids, titles):
        lefts.append(left)
        background[ink(title, (width, height), (left, 4))] = 1
        left += g.shape[1] * cell_px + cell_px

    frames = []
    cells = _cells(s.size if s.transposed else s.out_size, s.nd)
    for cell, out in zip(cells[:MAX_GIF_FRAMES], accumulate(s)):
        read, hit = _lit(s, cell, taps(s, cell))
        active = [set(read), set(), set(hit)]
        canvas = background.copy()
        for k, (g, hot, values) in enumerate(zip(grids, active, (xp, w, out))):
            v = np.atleast_2d(values)
            for r in range(g.shape[0]):
                for c in range(g.shape[1]):
                    state = "this step" if (r, c) in hot else "padding" if k == 0 and border[r, c] else "cell"
                    y0, x0 = cell_px + r * cell_px, lefts[k] + c * cell_px
                    canvas[y0:y0 + cell_px, x0:x0 + cell_px] = tile(float(v[r, c]), state)
        im = Image.fromarray(canvas, mode="P")
        im.putpalette(palette)
        frames.append(im)
    buf = io.BytesIO()
    # optimize=False: the palette is already minimal, and Pillow's palette pass costs seconds on hundreds of frames
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=ms, loop=0, optimize=False)
    return buf.getvalue()
