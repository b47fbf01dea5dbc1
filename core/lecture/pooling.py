"""Pooling (lecture section 9): Lp norms over windows, and how shift-consistent each pooling is.

Lp pooling of a window is ``(sum |x|^p)^(1/p)``: p = 1 sums magnitudes, p = 2
is the Euclidean norm, p -> infinity tends to the largest magnitude (max
pooling of |x|: max pooling itself once a ReLU made the inputs non-negative).
Average pooling is the mean. None has parameters.

Shift consistency (R. Zhang, "Making convolutional networks shift-invariant
again", ICML 2019): a pooled output with stride k changes when the input
shifts by fewer than k samples; in Zhang's measurements max pooling changes
most, and blurring before subsampling ("BlurPool": max with stride 1, a
binomial blur, then subsample) far less. Here the ranking depends on the
window; ``shift_caption`` says what the table shows.
"""

from __future__ import annotations

import math

import pandas as pd
import torch
import torch.nn.functional as F

from core.geometry import output_length

METHODS = ("max", "average", "lp", "blur")


def _windows(x: torch.Tensor, kernel_size: int, stride: int) -> torch.Tensor:
    """(B, C, L) -> (B, C, L_out, k) or (B, C, H, W) -> (B, C, H_out, W_out, k*k)."""
    if x.dim() == 3:
        return x.unfold(-1, kernel_size, stride)
    if x.dim() == 4:
        w = x.unfold(-2, kernel_size, stride).unfold(-2, kernel_size, stride)  # (B, C, H', W', k, k)
        return w.flatten(-2)
    raise ValueError(f"expected (B, C, L) or (B, C, H, W), got {tuple(x.shape)}")


def lp_pool(x: torch.Tensor, p: float, kernel_size: int, stride: int | None = None) -> torch.Tensor:
    """Lp norm of every window of |x|; ``p = inf`` is the maximum of |x| (max pooling of magnitudes).

    Shape: ``(B, C, L) -> (B, C, floor((L - k) / s) + 1)``, and likewise per side in 2D.
    """
    if not p >= 1:
        raise ValueError(f"p must be >= 1 (or inf), got {p}")
    stride = stride or kernel_size
    w = _windows(x, kernel_size, stride).abs()
    peak = w.amax(-1)
    if math.isinf(p):
        return peak
    scale = peak.clamp_min(torch.finfo(w.dtype).tiny).unsqueeze(-1)  # divide by the max: no overflow at large p
    return (w / scale).pow(p).sum(-1).pow(1.0 / p) * scale.squeeze(-1)


def pool(x: torch.Tensor, method: str, kernel_size: int, stride: int | None = None, p: float = 2.0) -> torch.Tensor:
    """Max, average, Lp or blur-then-subsample pooling of a 1D or 2D batch."""
    stride = stride or kernel_size
    nd = x.dim() - 2
    if method == "max":
        return (F.max_pool1d if nd == 1 else F.max_pool2d)(x, kernel_size, stride)
    if method == "average":
        return (F.avg_pool1d if nd == 1 else F.avg_pool2d)(x, kernel_size, stride)
    if method == "lp":
        return lp_pool(x, p, kernel_size, stride)
    if method == "blur":
        return blur_pool(x, kernel_size, stride)
    raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")


def _binomial(n: int) -> torch.Tensor:
    row = torch.tensor([math.comb(n - 1, i) for i in range(n)], dtype=torch.float64)
    return row / row.sum()


def blur_pool(x: torch.Tensor, kernel_size: int, stride: int, blur: int = 3) -> torch.Tensor:
    """Zhang's MaxBlurPool: max with stride 1, binomial blur (reflect-padded), then subsample."""
    nd = x.dim() - 2
    dense = (F.max_pool1d if nd == 1 else F.max_pool2d)(x, kernel_size, 1)
    b = _binomial(blur).to(x.dtype)
    c = x.shape[1]
    if nd == 1:
        kernel = b.view(1, 1, -1).repeat(c, 1, 1)
        padded = F.pad(dense, ((blur - 1) // 2, blur // 2), mode="reflect")
        return F.conv1d(padded, kernel, stride=stride, groups=c)
    kernel = (b[:, None] * b[None, :]).view(1, 1, blur, blur).repeat(c, 1, 1, 1)
    padded = F.pad(dense, ((blur - 1) // 2, blur // 2) * 2, mode="reflect")
    return F.conv2d(padded, kernel, stride=stride, groups=c)


def shift_consistency(x: torch.Tensor, kernel_size: int = 2, p: float = 2.0,
                      methods=METHODS) -> pd.DataFrame:
    """How much each pooling's output changes when the input shifts by 0..k samples.

    ``change = ||pool(shift(x, s)) - pool(x)|| / ||pool(x)||``, the shift being
    circular along the last axis, averaged over the batch. A shift by exactly k
    moves a stride-k output by one whole sample, so ``s = k`` is shown against
    the output rolled by one (near 0 for every method, borders aside).

    Returns a long table ``method, shift, change``.
    """
    rows = []
    for method in methods:
        base = pool(x, method, kernel_size, p=p)
        norm = base.flatten(1).norm(dim=1).clamp_min(1e-12)
        for s in range(kernel_size + 1):
            out = pool(torch.roll(x, s, dims=-1), method, kernel_size, p=p)
            ref = torch.roll(base, 1, dims=-1) if s == kernel_size else base
            change = ((out - ref).flatten(1).norm(dim=1) / norm).mean().item()
            rows.append({"method": method, "shift": s, "change": change})
    return pd.DataFrame(rows)


def label(method: str, p: float = 2.0) -> str:
    """The one name a chart, legend or sentence gives a pooling: ``L2``, ``L∞`` for Lp pooling."""
    if method == "lp":
        return "L∞" if math.isinf(p) else f"L{p:g}"
    return {"blur": "blur-then-subsample"}.get(method, method)


def shift_caption(changes: pd.DataFrame, p: float = 2.0) -> str:
    """What ``shift_consistency``'s table says, in words: how far a shift by the whole stride changes each output
    once moved back, which pooling the shifts in between change most and least (their mean), and whether blurring
    before subsampling changes it less than max pooling. Which method wins depends on the window: on the page's
    signals max pooling changes most with windows of 2 and 3, average pooling with 4."""
    table = changes.pivot(index="shift", columns="method", values="change")
    k = int(table.index.max())
    whole = float(table.loc[k].max())
    words = [f"A shift by the whole stride ({k} samples) only moves the output: once moved back, each changes by "
             f"at most {whole:.2f} (the borders)." if whole < 0.15 else
             f"Even a shift by the whole stride ({k} samples) changes an output by up to {whole:.2f} once moved "
             "back."]
    between = table.loc[1:k - 1].mean()
    most, least = between.idxmax(), between.idxmin()
    span = "1 sample" if k == 2 else f"1 to {k - 1} samples"
    words.append(f"Shifts of {span} change it: {label(most, p)} pooling most ({between[most]:.2f} on "
                 f"average), {label(least, p)} least ({between[least]:.2f}).")
    if {"blur", "max"} <= set(between.index):
        b, m = between["blur"], between["max"]
        words.append(f"Blurring before subsampling (Zhang 2019) changes it {'less' if b < m else 'more'} than max "
                     f"pooling ({b:.2f} vs {m:.2f}).")
    return " ".join(words)


def random_signals(n: int = 64, length: int = 128, seed: int = 0, smooth: int = 5) -> torch.Tensor:
    """A batch of smoothed noise signals ``(n, 1, length)`` for the consistency chart."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, length + smooth - 1, generator=gen, dtype=torch.float64)
    return F.avg_pool1d(x, smooth, 1)


def output_shape(shape, kernel_size: int, stride: int | None = None) -> tuple[int, ...]:
    """(C, L) or (C, H, W) after pooling: ``floor((n - k) / s) + 1`` per side, channels unchanged."""
    stride = stride or kernel_size
    c, *spatial = shape
    return (c, *[output_length(n, kernel_size, stride) for n in spatial])


def picture_alt(name: str, before: tuple[int, int], after: tuple[int, int], k: int) -> str:
    """The text alternative of one pooled picture: what was done, with which window, and the sizes."""
    if before == after:
        return f"The input photo, {before[0]} × {before[1]} pixels"
    return (f"The photo after {name} over {k} × {k} windows with stride {k}: {after[0]} × {after[1]} pixels, "
            f"from {before[0]} × {before[1]}")
