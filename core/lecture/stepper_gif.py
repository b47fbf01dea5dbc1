"""The stepper's whole sequence as an animated GIF, for slides: costed from frames × canvas before a pixel is
drawn (``core.limits.GIF_BYTES``), then drawn in the pages' colours (``core.palette``). The arithmetic it draws is
``core.lecture.stepper``'s."""

from __future__ import annotations

import io

import numpy as np

from core.lecture.stepper import (Setting, accumulate, border_cells, frame, input_channels, lit_cells, operands,
                                  padded_input, place, taps)
from core.limits import GIF_BYTES, STEPPER_STEPS
from core.palette import GREY, INK, ORANGE, RED, WHITE, rgb

GIF_CELLS = (28, 20, 14, 10)  # pixels a cell, largest first: a large setting is drawn smaller before it is refused


def _gif_layout(s: Setting) -> tuple[list[tuple[int, int]], list[int]]:
    """The three columns' grid shapes (rows, cols of one channel) and how many grids each stacks."""
    before, after = (0, 0) if s.transposed else s.pads
    side = s.size + before + after
    one = (1, side) if s.nd == 1 else (side, side)
    kernel = (1, s.kernel) if s.nd == 1 else (s.kernel, s.kernel)
    out = (1, s.out_size) if s.nd == 1 else (s.out_size, s.out_size)
    return [one, kernel, out], [s.c_in, s.c_in // s.groups, s.c_out]


def gif_size(s: Setting, cell_px: int) -> tuple[int, int, int]:
    """(width, height, frames) of ``gif(s, cell_px)``, from the setting alone: what it costs before it is drawn."""
    shapes, counts = _gif_layout(s)
    width = sum(sh[1] for sh in shapes) * cell_px + cell_px * (len(shapes) + 1)
    height = max(n * (sh[0] + 1) for sh, n in zip(shapes, counts)) * cell_px + cell_px
    return width, height, min(s.steps, STEPPER_STEPS)


def gif_cell(s: Setting) -> int:
    """The largest cell size (``GIF_CELLS``) whose frames fit ``GIF_BYTES``; ValueError, in words, when even the
    smallest does not."""
    for cell in GIF_CELLS:
        w, h, n = gif_size(s, cell)
        if w * h * n <= GIF_BYTES:
            return cell
    w, h, n = gif_size(s, GIF_CELLS[-1])
    raise ValueError(f"a GIF of this setting would hold {n} frames of {w} × {h} pixels even with {GIF_CELLS[-1]} px "
                     f"cells, {w * h * n / 2 ** 20:,.0f} MB of frames; the lab draws at most "
                     f"{GIF_BYTES / 2 ** 20:.0f} MB: use a smaller input or kernel, or fewer steps")


def gif(s: Setting, cell_px: int | None = None, ms: int = 600) -> bytes:
    """The whole sequence as an animated GIF (Pillow): the (padded) input channels with this step's cells, the
    kernel of this step's output channel, and the output channels filling up; one frame per step, channels
    stacked in their column. Frames are palette-index arrays pasted from cell tiles drawn once each, so that no
    frame is quantised and no label is drawn twice."""
    from PIL import Image, ImageDraw

    problem = s.problem()
    if problem:
        raise ValueError(problem)
    cell_px = cell_px or gif_cell(s)  # costed from frames x canvas before a pixel is drawn
    x, w = operands(s)
    xp = padded_input(s, x)
    # palette indices: 0 white, 1 ink (text), 2 grey (outlines), 3 orange (padding), 4 red (this step): the pages'
    palette = [v for colour in (WHITE, INK, GREY, ORANGE, RED) for v in rgb(colour)]
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

    # three columns of stacked grids (one per channel), a cell's gap between grids and columns
    shapes, _ = _gif_layout(s)
    titles = ["padded input" if sum(s.pads) and not s.transposed else "input", "kernel", "output"]
    width, height, _ = gif_size(s, cell_px)
    border = border_cells(s)
    background = np.zeros((height, width), dtype=np.uint8)
    lefts, left = [], cell_px
    for sh, title in zip(shapes, titles):
        lefts.append(left)
        background[ink(title, (width, height), (left, 4))] = 1
        left += sh[1] * cell_px + cell_px

    frames = []
    for step, out in zip(range(1, STEPPER_STEPS + 1), accumulate(s)):
        o, cell = place(s, step)
        reads = [0] if s.transposed else input_channels(s, o)
        read, hit = lit_cells(s, cell, taps(s, cell))
        canvas = background.copy()
        columns = [[(np.atleast_2d(xp[c]), set(read) if c in reads else set(), True) for c in range(s.c_in)],
                   [(np.atleast_2d(w[o, j]), set(), False) for j in range(w.shape[1])],
                   [(np.atleast_2d(out[c]), set(hit) if c == o else set(), False) for c in range(s.c_out)]]
        for k, grids in enumerate(columns):
            top = cell_px
            for v, hot, padded in grids:
                for r in range(v.shape[0]):
                    for c in range(v.shape[1]):
                        state = "this step" if (r, c) in hot else "padding" if padded and border[r, c] else "cell"
                        y0, x0 = top + r * cell_px, lefts[k] + c * cell_px
                        canvas[y0:y0 + cell_px, x0:x0 + cell_px] = tile(float(v[r, c]), state)
                top += (v.shape[0] + 1) * cell_px
        im = Image.fromarray(canvas, mode="P")
        im.putpalette(palette)
        frames.append(im)
    buf = io.BytesIO()
    # optimize=False: the palette is already minimal, and Pillow's palette pass costs seconds on hundreds of frames
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=ms, loop=0, optimize=False)
    return buf.getvalue()


def gif_alt(s: Setting, ms: int = 600) -> str:
    """The animation's text alternative, from the setting it plays."""
    last = frame(s, s.steps)["output"]
    values = " ".join("blank" if np.isnan(v) else f"{v:g}" for v in last["value"])
    kind = "transposed convolution" if s.transposed else "convolution"
    return (f"Animation of the {s.nd}D {kind}, {s.steps} frames of {ms / 1000:g} s, one output cell written per "
            f"frame, its window on the input lit; the finished output, row by row: {values}")
