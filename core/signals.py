"""Signals and their three properties, generated with dials and measured (lecture sections 1 and 2).

Generators take three controls in [0, 1]:
- ``locality``: the correlation length of the finest structure, from white
  noise (0) to smooth structure (1): noise blurred by a Gaussian of width
  sigma = 0.3 * 40**locality samples (0.3 is below one sample: white);
- ``stationarity``: 1 keeps statistics the same everywhere; lower values make
  the mean and the amplitude drift with position;
- ``compositionality``: the number of levels of a hierarchy, 1 to 4: each
  level adds structure at 4x the scale of the one below, so that fine motifs
  sit inside coarser patterns.

Measures, each for 1D and 2D:
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
  ``compositionality_score``: the squint correlation at a 16x coarser view.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy import ndimage
from skimage.transform import pyramid_laplacian, resize

MAX_1D, MAX_2D = 1 << 16, 512  # generated and measured sizes are bounded


def _as_array(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (1, 2) or min(x.shape) < 4:
        raise ValueError(f"expected a 1D signal or a 2D grayscale image of at least 4 samples a side, got {x.shape}")
    return x


def generate(nd: int = 1, locality: float = 0.5, stationarity: float = 1.0, compositionality: float = 0.0,
             size: int | None = None, seed: int = 0) -> np.ndarray:
    """A standardised 1D signal (``size`` samples, default 1024) or 2D image (default 128 x 128)."""
    for name, v in (("locality", locality), ("stationarity", stationarity), ("compositionality", compositionality)):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {v}")
    size = size or (1024 if nd == 1 else 128)
    size = min(size, MAX_1D if nd == 1 else MAX_2D)
    shape = (size,) * nd
    rng = np.random.default_rng(seed)
    sigma = 0.3 * 40.0 ** locality
    levels = 1 + 3 * compositionality  # 1 to 4; a fractional last level enters with a partial weight
    x = np.zeros(shape)
    for level in range(int(np.ceil(levels))):
        weight = min(1.0, levels - level)
        part = ndimage.gaussian_filter(rng.standard_normal(shape), sigma * 4.0 ** level, mode="wrap")
        x += weight * part / (part.std() + 1e-12)
    x = (x - x.mean()) / (x.std() + 1e-12)
    drift = 1.0 - stationarity
    if drift > 0:
        ramp = np.linspace(-1, 1, size)
        ramp = ramp if nd == 1 else ramp[:, None] * np.ones(size)[None, :]  # statistics change top to bottom
        x = x * np.exp(1.5 * drift * ramp) + 2.0 * drift * ramp
    return (x - x.mean()) / (x.std() + 1e-12)


def permute(x, seed: int = 0) -> np.ndarray:
    """The same values at seeded random positions: the histogram stays, the structure goes."""
    x = _as_array(x)
    perm = np.random.default_rng(seed).permutation(x.size)
    return x.ravel()[perm].reshape(x.shape)


def autocorrelation(x) -> pd.DataFrame:
    """Normalised autocorrelation (1 at lag 0) per lag (1D) or radially averaged per distance (2D).

    Computed circularly with the FFT (Wiener-Khinchin) on the mean-removed signal.
    """
    x = _as_array(x)
    x = x - x.mean()
    power = np.abs(np.fft.fftn(x)) ** 2
    ac = np.real(np.fft.ifftn(power))
    ac = ac / ac.flat[0] if ac.flat[0] > 0 else ac
    if x.ndim == 1:
        n = len(x) // 2
        return pd.DataFrame({"lag": np.arange(n), "autocorrelation": ac[:n]})
    h, w = x.shape
    dy = np.minimum(np.arange(h), h - np.arange(h))[:, None]
    dx = np.minimum(np.arange(w), w - np.arange(w))[None, :]
    r = np.rint(np.hypot(dy, dx)).astype(int)
    n = min(h, w) // 2
    sums = np.bincount(r.ravel(), ac.ravel())[:n]
    counts = np.bincount(r.ravel())[:n]
    return pd.DataFrame({"lag": np.arange(n), "autocorrelation": sums / counts})


def correlation_length(x) -> float:
    """The first lag (in samples) where the autocorrelation falls below 1/e, interpolated linearly."""
    ac = autocorrelation(x)["autocorrelation"].to_numpy()
    below = np.nonzero(ac < 1 / np.e)[0]
    if len(below) == 0:
        return float(len(ac))
    i = below[0]
    if i == 0:
        return 0.0
    a, b = ac[i - 1], ac[i]
    return float(i - 1 + (a - 1 / np.e) / (a - b))


def power_spectrum(x) -> pd.DataFrame:
    """Power per frequency (cycles per sample), radially averaged in 2D; the zero frequency left out."""
    x = _as_array(x)
    x = x - x.mean()
    if x.ndim == 1:
        p = np.abs(np.fft.rfft(x))[1:] ** 2
        f = np.fft.rfftfreq(len(x))[1:]
        if len(f) > 256:  # average into log-spaced bins: fewer points, even weight per octave
            edges = np.geomspace(f[0], f[-1] * (1 + 1e-9), 257)
            idx = np.digitize(f, edges) - 1
            counts = np.bincount(idx, minlength=256)[:256]
            keep = counts > 0
            f = (np.bincount(idx, f, minlength=256)[:256] / np.maximum(counts, 1))[keep]
            p = (np.bincount(idx, p, minlength=256)[:256] / np.maximum(counts, 1))[keep]
        return pd.DataFrame({"frequency": f, "power": p})
    h, w = x.shape
    window = np.outer(np.hanning(h), np.hanning(w))  # tapering keeps the borders from adding a -2 slope
    p = np.abs(np.fft.fft2(x * window)) ** 2
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    r = np.hypot(fy, fx)
    bins = np.linspace(0, 0.5, min(h, w) // 2 + 1)
    idx = np.digitize(r.ravel(), bins)
    sums = np.bincount(idx, p.ravel(), minlength=len(bins) + 1)[1:len(bins)]
    counts = np.bincount(idx, minlength=len(bins) + 1)[1:len(bins)]
    centres = (bins[:-1] + bins[1:]) / 2
    keep = counts > 0
    df = pd.DataFrame({"frequency": centres[keep], "power": sums[keep] / counts[keep]})
    return df[df["frequency"] > 0]


def spectral_slope(x, low: float = 0.01, high: float = 0.25) -> float:
    """Least-squares slope of log10 power against log10 frequency between ``low`` and ``high`` cycles/sample."""
    ps = power_spectrum(x)
    band = ps[(ps["frequency"] >= low) & (ps["frequency"] <= high) & (ps["power"] > 0)]
    if len(band) < 3:
        raise ValueError("the signal is too short to fit a spectral slope")
    return float(np.polyfit(np.log10(band["frequency"]), np.log10(band["power"]), 1)[0])


def local_statistics(x, windows: int = 8) -> pd.DataFrame:
    """Mean and standard deviation in ``windows`` (1D) or ``windows x windows`` (2D) tiles, in global-std units."""
    x = _as_array(x)
    z = (x - x.mean()) / (x.std() + 1e-12)
    rows = []
    if z.ndim == 1:
        for i, part in enumerate(np.array_split(z, windows)):
            rows.append({"row": 0, "col": i, "mean": part.mean(), "std": part.std()})
    else:
        for i, band in enumerate(np.array_split(z, windows, axis=0)):
            for j, tile in enumerate(np.array_split(band, windows, axis=1)):
                rows.append({"row": i, "col": j, "mean": tile.mean(), "std": tile.std()})
    return pd.DataFrame(rows)


def stationarity_score(x, windows: int = 8) -> float:
    """How much the local amplitude depends on position: the std of log local stds of the increments.

    Increments (first differences along each axis) are stationary for any
    smooth stationary signal, so the score measures drift, not smoothness. It
    is near 0 for stationary signals and grows as statistics change with position.
    """
    x = _as_array(x)
    d = np.diff(x, axis=0) if x.ndim == 1 else np.hypot(np.diff(x, axis=0)[:, :-1], np.diff(x, axis=1)[:-1, :])
    stats = local_statistics(d, windows)
    return float(np.log(stats["std"] + 1e-6).std())


def pyramid_energy(x, levels: int = 5) -> pd.DataFrame:
    """Share of the signal's energy in each level of a Laplacian pyramid (level 0: the finest)."""
    x = _as_array(x)
    z = x - x.mean()
    energy = []
    for level, band in enumerate(pyramid_laplacian(z, max_layer=levels - 1, channel_axis=None)):
        energy.append({"level": level, "energy": float(np.sum(band ** 2) * 2 ** (z.ndim * level))})
    df = pd.DataFrame(energy)
    df["share"] = df["energy"] / df["energy"].sum()
    return df


def squint_curve(x, scales=(1, 2, 4, 8, 16)) -> pd.DataFrame:
    """Correlation of the signal with itself blurred, shrunk by each scale and grown back (the squint test)."""
    x = _as_array(x)
    rows = []
    for s in scales:
        small_shape = tuple(max(2, n // s) for n in x.shape)
        back = resize(resize(x, small_shape, anti_aliasing=True), x.shape, order=1)
        rows.append({"scale": s, "correlation": float(np.corrcoef(x.ravel(), back.ravel())[0, 1])})
    return pd.DataFrame(rows)


def compositionality_score(x, scale: int = 16) -> float:
    """The squint test at one coarse scale: correlation with the signal shrunk ``scale`` times and grown back.

    Near 0 when all structure is fine-grained (noise, tiny motifs); near 1 when
    coarse patterns carry the signal. Smoothness (locality) raises it too.
    """
    return float(squint_curve(x, (scale,))["correlation"].iloc[0])


def summary(x) -> dict:
    """The headline numbers for a signal."""
    return {"correlation length": correlation_length(x), "spectral slope": spectral_slope(x),
            "drift (0: stationary)": stationarity_score(x), "squint at 16x": compositionality_score(x)}


def melody(seconds: float = 2.0, rate: int = 8000, seed: int = 0) -> np.ndarray:
    """A tune made of one repeated four-note motif (stationary, local, compositional), in [-1, 1]."""
    rng = np.random.default_rng(seed)
    motif = rng.choice([262, 294, 330, 392, 440, 523], size=4)
    note = int(rate * 0.125)
    t = np.arange(note) / rate
    envelope = np.minimum(1, 20 * t) * np.exp(-6 * t)
    phrase = np.concatenate([np.sin(2 * np.pi * f * t) * envelope for f in motif])
    reps = int(np.ceil(seconds * rate / len(phrase)))
    return np.tile(phrase, reps)[: int(seconds * rate)]


DATA_TYPES = [
    # kind, dimensionality, channels, batch tensor shape, (stationarity, locality, compositionality)
    ("audio, mono", 1, "1", "B × 1 × T", (True, True, True)),
    ("audio, stereo", 1, "2", "B × 2 × T", (True, True, True)),
    ("audio, 5.1 surround", 1, "6", "B × 6 × T", (True, True, True)),
    ("image, grayscale", 2, "1", "B × 1 × H × W", (True, True, True)),
    ("image, RGB", 2, "3", "B × 3 × H × W", (True, True, True)),
    ("image, hyperspectral", 2, "many (e.g. 200)", "B × 200 × H × W", (True, True, True)),
    ("video / volumetric scan", 3, "3 (or 1)", "B × C × T × H × W", (True, True, True)),
    ("text", 1, "vocabulary size (one-hot)", "B × V × T", (True, True, True)),
    ("tabular records", 0, "one per column", "B × F", (False, False, False)),
]


def data_types(examples: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """The lecture's table of signal types: dimension, channels, batch shape, which properties hold.

    ``examples`` maps a row's ``data`` to a built-in example; its measured
    correlation length, spectral slope and drift are added to that row.
    """
    rows = []
    for kind, nd, channels, shape, (st_, lo, co) in DATA_TYPES:
        row = {"data": kind, "dimensions": str(nd) if nd else "none (no axis)", "channels": channels,
               "batch tensor": shape, "stationary": st_, "local": lo, "compositional": co,
               "example": "", "correlation length": None, "spectral slope": None, "drift": None}
        if examples and kind in examples:
            name, x = examples[kind]
            row.update({"example": name, "correlation length": round(correlation_length(x), 2),
                        "spectral slope": round(spectral_slope(x), 2), "drift": round(stationarity_score(x), 2)})
        rows.append(row)
    return pd.DataFrame(rows)


def compare(x, seed: int = 0, max_lag: int = 64) -> dict[str, pd.DataFrame]:
    """Every measure for ``x`` and its permuted copy, as long tables with a ``copy`` column."""
    x = _as_array(x)
    copies = {"original": x, "permuted": permute(x, seed)}

    def both(fn):
        return pd.concat([fn(v).assign(copy=k) for k, v in copies.items()], ignore_index=True)

    ac = both(autocorrelation)
    out = {
        "autocorrelation": ac[ac["lag"] <= max_lag],
        "spectrum": both(power_spectrum),
        "squint": both(squint_curve),
        "pyramid": both(pyramid_energy),
        "local": local_statistics(x).assign(copy="original"),
        "summary": pd.DataFrame([{"copy": k, **summary(v)} for k, v in copies.items()]),
    }
    return out


def histogram_equal(x, seed: int = 0) -> bool:
    """Permutation keeps every value: the sorted samples are identical."""
    x = _as_array(x)
    return bool(np.array_equal(np.sort(x.ravel()), np.sort(permute(x, seed).ravel())))
