"""What a signal's three properties are, measured, each for 1D and 2D (lecture sections 1 and 2):
- ``autocorrelation`` (1D: per lag; 2D: radially averaged per distance) and
  ``correlation_length``: the first lag where it falls below 1/e;
- ``spectral_slope``: the slope of log power against log frequency of the
  (radially averaged) power spectrum; white noise ~ 0, a random walk ~ -2,
  natural images ~ -2 (van der Schaaf and van Hateren 1996);
- ``local_statistics``; ``stationarity_score``: how much the local amplitude
  of the increments drifts with position;
- ``pyramid_energy``: the share of energy in each level of a Laplacian
  pyramid (scikit-image); ``squint_curve``: correlation of the signal with its
  blurred-and-downsampled-then-upsampled self, per scale;
  ``compositionality_score``: the squint correlation at a view 16 correlation
  lengths coarse (8 for images, which hold fewer of them): what structure
  there is at scales well above the finest.

A measure that does not apply says so (``summary``'s notes) instead of
printing a number: a tone's spectrum is one line, not a power law, and the
squint test on an oscillating waveform reads its period, not its parts.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import torch
from skimage.transform import pyramid_laplacian, resize

SQUINT_LENGTHS = {1: 16, 2: 8}  # compositionality: the squint test this many correlation lengths coarse


def as_array(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (1, 2) or min(x.shape) < 4:
        raise ValueError(f"expected a 1D signal or a 2D grayscale image of at least 4 samples a side, got {x.shape}")
    return x


def crossing(ac: np.ndarray) -> float:
    """The first lag where ``ac`` falls below 1/e, interpolated linearly (``len(ac)`` if it never does)."""
    below = np.nonzero(ac < 1 / np.e)[0]
    if len(below) == 0:
        return float(len(ac))
    i = below[0]
    if i == 0:
        return 0.0
    a, b = ac[i - 1], ac[i]
    return float(i - 1 + (a - 1 / np.e) / (a - b))


def autocorrelation(x) -> pd.DataFrame:
    """Normalised autocorrelation (1 at lag 0) per lag (1D) or radially averaged per distance (2D).

    Computed circularly with the FFT (Wiener-Khinchin) on the mean-removed signal.
    """
    x = as_array(x)
    x = x - x.mean()
    power = np.abs(np.fft.fftn(x)) ** 2
    ac = np.real(np.fft.ifftn(power))
    ac = ac / ac.flat[0] if ac.flat[0] > 0 else ac
    if x.ndim == 1:
        n = len(x) // 2
        return pd.DataFrame({"lag": np.arange(n), "autocorrelation": ac[:n]})
    radial = radial_mean(ac)
    return pd.DataFrame({"lag": np.arange(len(radial)), "autocorrelation": radial})


def radial_mean(ac: np.ndarray) -> np.ndarray:
    """A circular 2D autocorrelation averaged over rings of (rounded) distance 0 .. min(h, w) / 2 - 1."""
    r, counts = _rings(*ac.shape)
    return np.bincount(r, ac.ravel())[:len(counts)] / counts


@lru_cache(maxsize=8)
def _rings(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Each position's rounded circular distance from the origin (flattened), and the ring sizes below min(h, w) / 2."""
    dy = np.minimum(np.arange(h), h - np.arange(h))[:, None]
    dx = np.minimum(np.arange(w), w - np.arange(w))[None, :]
    r = np.rint(np.hypot(dy, dx)).astype(int).ravel()
    return r, np.bincount(r)[: min(h, w) // 2]


def correlation_length(x) -> float:
    """The first lag (in samples) where the autocorrelation falls below 1/e, interpolated linearly."""
    return crossing(autocorrelation(x)["autocorrelation"].to_numpy())


def power_spectrum(x) -> pd.DataFrame:
    """Power per frequency (cycles per sample), radially averaged in 2D; the zero frequency left out."""
    x = as_array(x)
    x = x - x.mean()
    if x.ndim == 1:
        p = np.abs(np.fft.rfft(x))[1:] ** 2
        f = np.fft.rfftfreq(len(x))[1:]
        if len(f) > 256:  # average into log-spaced bins: fewer points, even weight per octave
            edges = np.geomspace(f[0], f[-1] * (1 + 1e-9), 257)
            f, p = _binned_mean(f, f, edges), _binned_mean(f, p, edges)
        return pd.DataFrame({"frequency": f, "power": p})
    h, w = x.shape
    window = np.outer(np.hanning(h), np.hanning(w))  # tapering keeps the borders from adding a -2 slope
    p = np.abs(np.fft.fft2(x * window)) ** 2
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    r = np.hypot(fy, fx).ravel()
    edges = np.linspace(0, 0.5, min(h, w) // 2 + 1)
    inside = r < 0.5  # the corners past Nyquist along an axis are left out
    power, freq = _binned_mean(r[inside], p.ravel()[inside], edges, keep_empty=True), (edges[:-1] + edges[1:]) / 2
    keep = ~np.isnan(power)
    df = pd.DataFrame({"frequency": freq[keep], "power": power[keep]})
    return df[df["frequency"] > 0]


def _binned_mean(x: np.ndarray, values: np.ndarray, edges: np.ndarray, keep_empty: bool = False) -> np.ndarray:
    """The mean of ``values`` in each bin of ``x`` between ``edges`` (``scipy.stats.binned_statistic``): the
    spectra's one binning rule, log-spaced in 1D and by ring in 2D. Empty bins are dropped (or NaN)."""
    from scipy.stats import binned_statistic

    means = binned_statistic(x, values, "mean", bins=edges).statistic
    return means if keep_empty else means[~np.isnan(means)]


def spectral_slope(x, low: float = 0.01, high: float = 0.25) -> float:
    """Least-squares slope of log10 power against log10 frequency between ``low`` and ``high`` cycles/sample."""
    return _fit_slope(power_spectrum(x), low, high)


# a spectrum whose points sit more than this many decades (rms) off the fitted line is not a power law: a tone,
# a chord, or a smooth signal whose power falls off a cliff; its "slope" would be a number without a meaning
POWER_LAW_SPREAD = 1.0


# a signal whose autocorrelation swings below -0.5 within 2.75 correlation lengths and back above +0.25 within 6
# oscillates (a cosine reaches -1 at 2.64 of its 1/e lengths and +1 again at 5.3): its correlation length is a
# fraction of a period, not a size of parts. A dip alone is not enough: a short record of one large shape (a
# scanline across a dark coat) dips too, and never comes back
OSCILLATION = (-0.5, 2.75, 0.25, 6.0)


def _slope_fit(ps: pd.DataFrame, low: float = 0.01, high: float = 0.25) -> tuple[float, float]:
    """(slope, rms residual in decades) of the log-log fit between ``low`` and ``high`` cycles per sample."""
    band = ps[(ps["frequency"] >= low) & (ps["frequency"] <= high) & (ps["power"] > 0)]
    if len(band) < 3:
        raise ValueError(f"its spectrum has fewer than 3 frequencies with power between {low} and {high} cycles per "
                         "sample (too short, or all its power elsewhere): no spectral slope to fit")
    f, p = np.log10(band["frequency"].to_numpy()), np.log10(band["power"].to_numpy())
    coef = np.polyfit(f, p, 1)
    return float(coef[0]), float(np.sqrt(np.mean((p - np.polyval(coef, f)) ** 2)))


def _fit_slope(ps: pd.DataFrame, low: float = 0.01, high: float = 0.25) -> float:
    return _slope_fit(ps, low, high)[0]


def oscillates(ac: pd.DataFrame, length: float) -> float | None:
    """The autocorrelation's swing (its low) when it dips and comes back as an oscillation does, else None."""
    depth, within, back, again = OSCILLATION
    values = ac["autocorrelation"].to_numpy()
    scale = max(length, 1.0)
    first = values[: int(np.ceil(within * scale)) + 1]
    low = int(np.argmin(first))
    if first[low] >= depth:
        return None
    return float(first[low]) if values[low: int(np.ceil(again * scale)) + 1].max() > back else None


def local_statistics(x, windows: int = 8) -> pd.DataFrame:
    """Mean and standard deviation in ``windows`` (1D) or ``windows x windows`` (2D) tiles, in global-std units."""
    x = as_array(x)
    z = (x - x.mean()) / (x.std() + 1e-12)
    if min(z.shape) < windows:  # some tiles are empty (NaN): the plain loop over np.array_split's tiles
        parts = ([(0, i, p) for i, p in enumerate(np.array_split(z, windows))] if z.ndim == 1 else
                 [(i, j, t) for i, band in enumerate(np.array_split(z, windows, axis=0))
                  for j, t in enumerate(np.array_split(band, windows, axis=1))])
        return pd.DataFrame([{"row": i, "col": j, "mean": t.mean() if t.size else np.nan,
                              "std": t.std() if t.size else np.nan} for i, j, t in parts])
    # np.array_split's tiles (the first ``n % windows`` one sample longer), summed with ``np.add.reduceat`` along
    # each axis: every tile at once, where a loop over 64 tiles took most of the stationarity score's time (two
    # of them on each move of the signals page's dials)
    sizes = [np.full(windows, n // windows) + (np.arange(windows) < n % windows) for n in z.shape]
    starts = [np.concatenate(([0], np.cumsum(k)[:-1])) for k in sizes]

    def per_tile(v):
        for axis, at in enumerate(starts):
            v = np.add.reduceat(v, at, axis=axis)
        return v

    count = per_tile(np.ones_like(z))
    mean = per_tile(z) / count
    spread = mean  # each tile's mean, spread back over its samples
    for axis, k in enumerate(sizes):
        spread = np.repeat(spread, k, axis=axis)
    std = np.sqrt(per_tile((z - spread) ** 2) / count)
    rows, cols = ((np.zeros(windows, int), np.arange(windows)) if z.ndim == 1 else
                  np.divmod(np.arange(windows * windows), windows))
    return pd.DataFrame({"row": rows, "col": cols, "mean": mean.ravel(), "std": std.ravel()})


def stationarity_score(x, windows: int = 8) -> float:
    """How much the local amplitude depends on position: the std of log local stds of the increments.

    Increments (first differences along each axis) are stationary for any
    smooth stationary signal, so the score measures drift, not smoothness. It
    is near 0 for stationary signals and grows as statistics change with position.
    """
    x = as_array(x)
    d = np.diff(x, axis=0) if x.ndim == 1 else np.hypot(np.diff(x, axis=0)[:, :-1], np.diff(x, axis=1)[:-1, :])
    stats = local_statistics(d, windows)
    return float(np.log(stats["std"] + 1e-6).std())


def pyramid_energy(x, levels: int = 5) -> pd.DataFrame:
    """Share of the signal's energy in each level of a Laplacian pyramid (level 0: the finest)."""
    x = as_array(x)
    z = x - x.mean()
    energy = []
    for level, band in enumerate(pyramid_laplacian(z, max_layer=levels - 1, channel_axis=None)):
        energy.append({"level": level, "energy": float(np.sum(band ** 2) * 2 ** (z.ndim * level))})
    df = pd.DataFrame(energy)
    df["share"] = df["energy"] / df["energy"].sum()
    return df


# an axis this long or shorter is squinted through scikit-image's resize written out as two matrices (below); the
# lab measures images of at most 512 a side (``core.lecture.uploads.MAX_SIDE``, the bundled photos), and longer 1D signals
# go through resize itself
SQUINT_MATRIX_MAX = 512


@lru_cache(maxsize=16)
def _resize_matrices(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-image's ``resize`` along one axis as matrices: ``n`` samples down to ``m`` (anti-aliased: a Gaussian,
    then linear interpolation), and ``m`` back up to ``n`` (linear).

    Both steps are linear and act on each axis separately (a separable Gaussian, bilinear interpolation), so
    resizing an identity matrix along its first axis yields the operator itself. Applied as two small matrix
    products a side, the squint test of a 256 x 256 image takes about a fifth of resize's time (the signals page
    measures two images on every move of a dial); the tests hold it to resize's own result.
    """
    return resize(np.eye(n), (m, n), anti_aliasing=True), resize(np.eye(m), (n, m), order=1)


def _squinted(x: np.ndarray, small_shape: tuple[int, ...]) -> np.ndarray:
    """``x`` shrunk to ``small_shape`` with anti-aliasing and grown back, as ``resize`` twice does it."""
    if max(x.shape) > SQUINT_MATRIX_MAX:
        return resize(resize(x, small_shape, anti_aliasing=True), x.shape, order=1)
    back = x
    for axis, m in enumerate(small_shape):
        if m == x.shape[axis]:  # resize leaves an axis of the same length exactly as it is
            continue
        down, up = _resize_matrices(x.shape[axis], m)
        back = np.moveaxis(up @ (down @ np.moveaxis(back, axis, 0)), 0, axis)
    return back


def squint_curve(x, scales=(1, 2, 4, 8, 16)) -> pd.DataFrame:
    """Correlation of the signal with itself blurred, shrunk by each scale and grown back (the squint test)."""
    x = as_array(x)
    rows = []
    for s in scales:
        back = _squinted(x, tuple(max(2, n // s) for n in x.shape))
        rows.append({"scale": s, "correlation": float(np.corrcoef(x.ravel(), back.ravel())[0, 1])})
    return pd.DataFrame(rows)


def compositionality_score(x, lengths: float | None = None, length: float | None = None) -> float:
    """The squint test well above the finest scale: correlation with the signal shrunk and grown back.

    The view is ``lengths`` correlation lengths coarse (default 16 for a 1D
    signal, 8 for an image), at least 2 and at most a quarter of the signal:
    relative to the signal's own finest scale, so that smoothness alone
    (locality) does not raise it. Low (about 0.2-0.3) when all structure lives
    at one scale; higher when coarser levels of a hierarchy carry structure.
    """
    x = as_array(x)
    lengths = lengths if lengths is not None else SQUINT_LENGTHS[x.ndim]
    scale = int(round(lengths * (length if length is not None else correlation_length(x))))
    scale = max(2, min(scale, min(x.shape) // 4))
    return float(squint_curve(x, (scale,))["correlation"].iloc[0])


SUMMARY = ("correlation length", "spectral slope", "drift (0: stationary)", "squint (compositionality)")


def summary(x, ac: pd.DataFrame | None = None, ps: pd.DataFrame | None = None) -> dict:
    """The headline numbers for a signal (``ac``, ``ps``: its autocorrelation and spectrum, if already measured).

    A measure that does not apply to this signal is NaN, and ``"notes"`` says
    why (measure -> sentence): a spectrum that is no power law has no slope,
    and the squint test reads an oscillating waveform's period, not its parts.
    """
    ac = autocorrelation(x) if ac is None else ac
    ps = power_spectrum(x) if ps is None else ps
    length = crossing(ac["autocorrelation"].to_numpy())
    slope, spread = _slope_fit(ps)
    notes = {}
    if spread > POWER_LAW_SPREAD:
        notes["spectral slope"] = (f"the spectrum is not a power law (its points sit {spread:.1f} decades off any "
                                   "straight line in log-log: lines of a tone or chord, or a cliff), so no slope "
                                   "describes it")
    swing = oscillates(ac, length)
    if swing is not None:
        notes["squint (compositionality)"] = (
            f"the waveform oscillates (its autocorrelation swings to {swing:.2f} and back): the correlation length of {length:.2f} samples is a fraction "
            "of a period, and squinting at the waveform blurs the oscillation away whatever notes or motifs it "
            "carries. The squint test does not apply")
    out = {"correlation length": length,
           "spectral slope": np.nan if "spectral slope" in notes else slope,
           "drift (0: stationary)": stationarity_score(x),
           "squint (compositionality)": (np.nan if "squint (compositionality)" in notes
                                         else compositionality_score(x, length=length))}
    return {**out, "notes": notes}


def summary_table(rows: list[dict], digits: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(table to show, notes): numbers rounded as text, "does not apply" where a measure does not.

    ``rows``: ``summary`` dicts with a ``copy`` name each. The notes table has
    ``copy, measure, why``.
    """
    shown, notes = [], []
    for r in rows:
        shown.append({"copy": r["copy"], **{m: ("does not apply" if m in r["notes"] else f"{r[m]:.{digits}f}")
                                            for m in SUMMARY}})
        notes += [{"copy": r["copy"], "measure": m, "why": why} for m, why in r["notes"].items()]
    return pd.DataFrame(shown), pd.DataFrame(notes, columns=["copy", "measure", "why"])
