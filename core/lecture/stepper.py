"""A convolution, one output cell at a time (1D and 2D, and the transposed convolution).

The forward convolution *gathers*: output cell ``o`` is the sum of the kernel times
the window of the padded input that starts at ``o * stride`` and takes every
``dilation``-th sample. The transposed convolution *scatters*: input cell ``i``
adds ``x[i] * kernel`` into the output at ``i * stride + t * dilation - padding``
(its ``padding`` crops the output instead of growing the input, so it has no
padding modes). Both are written out here cell by cell, in NumPy, with
``core.lecture.padding.pad`` for the border; ``torch.nn.functional.conv1d/conv2d`` and
``conv_transpose1d/2d`` are the oracles in the tests.

Inputs and weights are small integers so that every product and sum can be
checked by hand on the page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from core.lecture.padding import MODES, pad
from core.limits import STEPPER, STEPPER_FILL, STEPPER_STEPS


@dataclass(frozen=True)
class Setting:
    """One stepper setting; ``size`` and ``kernel`` are the side of a square in 2D. ``c_in`` input channels and
    ``c_out`` kernels (output channels); ``depthwise``: each kernel reads one input channel (PyTorch's
    ``groups = c_in``), else every kernel spans all of them (``groups = 1``). ``causal`` (1D): pad the past only,
    ``dilation * (kernel - 1)`` on the left, so that no output reads a later input. ``value``: the fill of
    'constant' padding."""

    nd: int = 2
    size: int = 5
    kernel: int = 3
    stride: int = 1
    padding: int = 0
    mode: str = "zeros"
    dilation: int = 1
    transposed: bool = False
    seed: int = 0
    c_in: int = 1
    c_out: int = 1
    depthwise: bool = False
    causal: bool = False
    value: float = 0.0

    def problem(self) -> str | None:
        """Why this setting cannot be stepped through (a sentence for the page), or None."""
        if self.nd not in (1, 2):
            return "the stepper draws 1D and 2D convolutions"
        for name, (lo, hi) in STEPPER.items():
            if not lo <= getattr(self, name) <= hi:
                return f"{name} must be between {lo} and {hi}"
        if self.mode not in MODES:
            return f"padding mode must be one of {', '.join(MODES)}"
        if not abs(self.value) <= STEPPER_FILL:  # NaN fails this too
            return f"the constant fill must be between -{STEPPER_FILL:g} and {STEPPER_FILL:g}"
        if self.causal and (self.nd != 1 or self.transposed):
            return "causal padding is for 1D signals (it pads the past, on the left) and the forward convolution"
        if self.depthwise and self.c_out % self.c_in:
            return (f"a depthwise convolution needs the output channels to be a multiple of the input channels "
                    f"({self.c_in}): PyTorch's groups = {self.c_in} requires it")
        before, after = self.pads
        if self.transposed:
            if self.c_in > 1 or self.c_out > 1:
                return "the transposed stepper draws one channel in and one out"
            if self.mode != "zeros" and self.padding:
                return ("a transposed convolution's padding crops its output: it has no padding modes "
                        "(PyTorch allows only zeros)")
            if self.out_size < 1:
                return (f"the padding ({self.padding}) crops away the whole output "
                        f"({(self.size - 1) * self.stride + self.span} cells before cropping)")
        else:
            if self.mode == "reflect" and max(before, after) >= self.size:
                return f"reflect padding must be smaller than the input ({self.size})"
            if self.mode == "circular" and max(before, after) > self.size:
                return f"circular padding can be at most the input size ({self.size})"
            if self.out_size < 1:
                return (f"the kernel spans {self.span} cells, more than the padded input's "
                        f"{self.size + before + after}: there is no output")
        if self.steps > STEPPER_STEPS:
            return f"this setting has {self.steps} steps; the stepper draws at most {STEPPER_STEPS}"
        return None

    @property
    def span(self) -> int:
        """Cells covered by the dilated kernel: ``dilation * (kernel - 1) + 1``."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def groups(self) -> int:
        """PyTorch's ``groups``: ``c_in`` for a depthwise convolution, else 1."""
        return self.c_in if self.depthwise else 1

    @property
    def pads(self) -> tuple[int, int]:
        """Cells added (before, after) along each axis: causal pads the span less one before, nothing after."""
        return (self.span - 1, 0) if self.causal else (self.padding, self.padding)

    @property
    def out_size(self) -> int:
        """Output side: ``(n + before + after - span) // s + 1``, or transposed ``(n - 1) s - 2p + span``."""
        if self.transposed:
            return (self.size - 1) * self.stride - 2 * self.padding + self.span
        return (self.size + sum(self.pads) - self.span) // self.stride + 1

    @property
    def cells(self) -> int:
        """Steps per channel: one per output cell (gathering), or one per input cell (scattering, transposed)."""
        side = self.size if self.transposed else max(self.out_size, 0)
        return side ** self.nd

    @property
    def steps(self) -> int:
        """Steps: every cell of every output channel."""
        return self.cells * (1 if self.transposed else self.c_out)


def operands(s: Setting) -> tuple[np.ndarray, np.ndarray]:
    """The input ``(c_in, *size)`` (integers 0..4) and the kernels ``(c_out, c_in / groups, *kernel)`` (integers
    -1..1, no kernel all zero), drawn from ``seed``: PyTorch's layouts."""
    rng = np.random.default_rng(s.seed)
    x = rng.integers(0, 5, size=(s.c_in, *(s.size,) * s.nd)).astype(float)
    w = rng.integers(-1, 2, size=(s.c_out, s.c_in // s.groups, *(s.kernel,) * s.nd)).astype(float)
    for kernel in w:
        if not kernel.any():
            kernel.flat[0] = 1.0
    return x, w


def padded_input(s: Setting, x: np.ndarray) -> np.ndarray:
    """The input ``(c_in, *size)`` as the forward convolution reads it (the transposed one reads it unpadded)."""
    before, after = s.pads
    if s.transposed or not before + after:
        return x
    return pad(torch.as_tensor(x), [before, after] * s.nd, s.mode, s.value, nd=s.nd).numpy()


def input_channels(s: Setting, out_channel: int) -> list[int]:
    """The input channels kernel ``out_channel`` reads: all of them, or (depthwise) its own one."""
    return list(range(s.c_in)) if s.groups == 1 else [out_channel // (s.c_out // s.c_in)]


def _cells(side: int, nd: int) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in c) for c in np.ndindex(*(side,) * nd)]


def place(s: Setting, step: int) -> tuple[int, tuple[int, ...]]:
    """(output channel, spatial cell) of ``step`` (1-based): every cell of channel 0, then of channel 1, ..."""
    cells = _cells(s.size if s.transposed else s.out_size, s.nd)
    return (step - 1) // len(cells), cells[(step - 1) % len(cells)]


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
    """The whole output ``(c_out, *out)``, accumulated step by step as the page draws it."""
    partial = None
    for partial in accumulate(s):
        pass
    return partial


def accumulate(s: Setting):
    """The output ``(c_out, *out)`` after each step (NaN where nothing has been written yet)."""
    x, w = operands(s)
    xp = padded_input(s, x)
    out = np.full((s.c_out, *(s.out_size,) * s.nd), np.nan)
    cells = _cells(s.size if s.transposed else s.out_size, s.nd)
    if s.transposed:  # a stride longer than the kernel's span leaves cells no input reaches: they are 0 throughout
        reached = np.zeros(out.shape[1:], dtype=bool)
        for cell in cells:
            for _, pos in taps(s, cell):
                reached[pos] = True
        out[0][~reached] = 0.0
        for cell in cells:
            for t, pos in taps(s, cell):
                out[0][pos] = (0.0 if np.isnan(out[0][pos]) else out[0][pos]) + x[0][cell] * w[0, 0][t]
            yield out.copy()
        return
    for o in range(s.c_out):
        reads = input_channels(s, o)
        for cell in cells:
            out[o][cell] = sum(xp[c][pos] * w[o, j][t] for j, c in enumerate(reads) for t, pos in taps(s, cell))
            yield out.copy()


def _rc(s: Setting, index: tuple[int, ...]) -> tuple[int, int]:
    """(row, col) of a 1D or 2D index, as the grids draw it (a 1D signal is row 0)."""
    return (0, index[0]) if s.nd == 1 else index


def lit_cells(s: Setting, cell: tuple[int, ...], pairs) -> tuple[list, list]:
    """The (row, col) cells of this step on the input grid and on the output grid."""
    targets = [_rc(s, pos) for _, pos in pairs]
    return ([_rc(s, cell)], targets) if s.transposed else (targets, [_rc(s, cell)])


def border_cells(s: Setting) -> np.ndarray:
    """Which cells of one channel's input grid (2D, a 1D signal as one row) are invented by padding."""
    before, after = (0, 0) if s.transposed else s.pads
    border = np.ones((s.size + before + after,) * s.nd, dtype=bool)
    border[(slice(before, before + s.size),) * s.nd] = False
    return np.atleast_2d(border)


def _grid(a: np.ndarray, **columns) -> pd.DataFrame:
    """A 1D or 2D array as rows ``row, col, value`` (1D: row 0), plus constant ``columns``."""
    b = np.atleast_2d(a)
    rows, cols = np.indices(b.shape)
    return pd.DataFrame({"row": rows.ravel(), "col": cols.ravel(), "value": b.ravel(), **columns})


def frame(s: Setting, step: int) -> dict:
    """Everything the page draws at ``step`` (1-based): tables for the input, the kernel, the products and the
    output, and a sentence with the sum.

    ``input``: ``channel, row, col, value, padded`` (an invented border cell), ``active`` (read or scattered at
    this step); ``kernel``: the kernel of this step's output channel, ``channel`` (the input channel each of its
    slices multiplies), ``row, col, value``; ``products``: ``channel`` (input), ``row, col`` (kernel index),
    ``input``, ``weight``, ``product``, ``target_row, target_col`` (where it lands: the output cell, or for a
    transposed step each output cell); ``output``: ``channel, row, col, value`` (NaN: not yet written),
    ``active``, ``done``. ``out_channel`` and ``cell`` place the step; ``flipped`` is what a convolution in the
    mathematician's sense (the kernel flipped along every axis) gives for this cell, and ``flip_sentence`` says it.
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
    o, cell = place(s, step)
    pairs = taps(s, cell)
    reads = [0] if s.transposed else input_channels(s, o)

    read, hit = lit_cells(s, cell, pairs)
    border = border_cells(s).ravel()
    width = np.atleast_2d(xp[0]).shape[1]
    frames = []
    for c in range(s.c_in):
        grid = _grid(xp[c], channel=c, padded=border, active=False)
        if c in reads:
            grid.loc[[r * width + col for r, col in read], "active"] = True
        frames.append(grid)
    inp = pd.concat(frames, ignore_index=True)
    # padded coordinates start at -padding, so a cell's label matches the input's own numbering
    shift = 0 if s.transposed else s.pads[0]
    inp["row"] = inp["row"] - (shift if s.nd == 2 else 0)
    inp["col"] = inp["col"] - shift

    kernel = pd.concat([_grid(w[o, j], channel=c) for j, c in enumerate(reads)], ignore_index=True)
    prods, flipped = [], 0.0
    for j, c in enumerate(reads):
        for t, pos in pairs:
            value = x[0][cell] if s.transposed else xp[c][pos]
            target = _rc(s, pos) if s.transposed else _rc(s, cell)
            weight = w[o, j][t]
            prods.append({"channel": c, "row": _rc(s, t)[0], "col": _rc(s, t)[1], "input": value, "weight": weight,
                          "product": value * weight, "target_row": target[0], "target_col": target[1]})
            flipped += value * w[o, j][tuple(s.kernel - 1 - i for i in t)]
    products = pd.DataFrame(prods, columns=["channel", "row", "col", "input", "weight", "product", "target_row",
                                            "target_col"])

    owidth = np.atleast_2d(out[0]).shape[1]
    frames = []
    for c in range(out.shape[0]):
        grid = _grid(out[c], channel=c, active=False)
        if c == o:
            grid.loc[[r * owidth + col for r, col in hit], "active"] = True
        frames.append(grid)
    output = pd.concat(frames, ignore_index=True)
    output["done"] = output["value"].notna()

    where = ", ".join(map(str, cell))
    total = float(products["product"].sum()) if len(products) else 0.0

    def term(p):
        return f"{p['input']:g}×{p['weight']:g}" if p["weight"] >= 0 else f"{p['input']:g}×({p['weight']:g})"

    if len(reads) > 1:  # one bracket per input channel: the window is summed across channels too
        terms = " + ".join(f"[channel {c + 1}] " + " + ".join(term(p) for p in prods if p["channel"] == c)
                           for c in reads)
    else:
        terms = " + ".join(term(p) for p in prods)
    if s.transposed:
        sentence = (f"Step {step} of {s.steps}: input cell ({where}) = {x[0][cell]:g} scatters itself times the "
                    f"kernel into {len(prods)} output cell(s)" + ("" if len(prods) == len(_cells(s.kernel, s.nd))
                                                                  else " (the rest fall in the cropped border)") + ".")
        flip_sentence = ""
    else:
        channel = f"output channel {o + 1}, " if s.c_out > 1 else ""
        reading = ("" if s.c_in == 1 else f" (kernel {o + 1} reads input channel {reads[0] + 1} alone: depthwise)"
                   if s.groups > 1 else "")
        sentence = f"Step {step} of {s.steps}: {channel}output cell ({where}){reading} = {terms} = {total:g}."
        same = ", the same value here." if flipped == total else f" instead of {total:g}."
        flip_sentence = ("Deep learning's “convolution” is a cross-correlation: the kernel slides as it is, "
                         "unflipped. A convolution in the mathematician's sense flips the kernel along every axis "
                         f"first; for this cell it would give {flipped:g}{same}")
    return {"input": inp, "kernel": kernel, "products": products, "output": output, "sentence": sentence,
            "cell": cell, "out_channel": o, "flipped": None if s.transposed else flipped,
            "flip_sentence": flip_sentence}


def _take(iterable, n: int):
    for i, item in enumerate(iterable):
        if i >= n:
            return
        yield item
