"""Listening to kernels: a sound convolved with 1D kernels, and what each kernel does to its spectrum.

A 1D kernel slid over a sound is a filter: a smoothing kernel averages
neighbouring samples and keeps slow oscillations (a low-pass filter: the sound
gets duller), a difference kernel keeps what changes from one sample to the
next (a high-pass filter: thin and hissy). The ear hears it and the spectrum
shows it: the output's spectrum is the input's times the kernel's frequency
response ``|H(f)|``, read here off ``torch.fft.rfft`` of the zero-padded kernel.

The bundled clip is made here, at start-up: a chord, then a voice-like buzz
whose two formants sweep (an "ee" sliding to an "ah"), then a hiss burst.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

RATE = 8000  # samples per second: telephone quality, plenty to hear low-pass vs high-pass
MAX_SECONDS = 10.0  # an upload is cut to this
MAX_UPLOAD_MB = 8
MAX_TAPS = 63
SMOOTH_WIDTHS = (3, 5, 9, 15, 31)
NAMES = ("smoothing", "difference", "edge", "sharpen", "random", "typed")
LOW_BAND, HIGH_BAND = 500.0, 2000.0  # Hz: the bands whose share of the sound's power ``band_change`` reports


def clip(seconds: float = 3.0, rate: int = RATE) -> np.ndarray:
    """The bundled sound, peak 0.9: a chord (0-1 s), a formant sweep (1-2.4 s), a hiss burst (2.4-3 s)."""
    from scipy.signal import lfilter

    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    chord = t < 1.0
    for f0 in (220.0, 277.18, 329.63):  # A major: A3, C#4, E4, each with a few harmonics
        for h, a in ((1, 1.0), (2, 0.5), (3, 0.25), (4, 0.12)):
            out[chord] += a * np.sin(2 * math.pi * f0 * h * t[chord])
    out[chord] *= np.minimum(1.0, (1.0 - t[chord]) * 8)  # fade out
    voice = (t >= 1.0) & (t < 2.4)
    n = int(voice.sum())
    buzz = np.zeros(n)
    buzz[:: rate // 120] = 1.0  # a 120 Hz glottal pulse train
    s = np.linspace(0.0, 1.0, n)
    f1, f2 = 300 + 500 * s, 2300 - 1200 * s  # "ee" (300, 2300) to "ah" (800, 1100)
    y = np.zeros(n)
    for formant in (f1, f2):
        # a two-pole resonator per 20 ms block (its frequency moving block by block)
        block, state = rate // 50, np.zeros(2)
        for i in range(0, n, block):
            f = formant[i]
            r = math.exp(-math.pi * 90 / rate)
            a = [1.0, -2 * r * math.cos(2 * math.pi * f / rate), r * r]
            seg, state = lfilter([1.0 - r], a, buzz[i:i + block], zi=state)
            y[i:i + block] += seg
    out[voice] = y / (np.abs(y).max() or 1.0) * 2.0
    hiss = t >= 2.4
    noise = np.random.default_rng(0).standard_normal(int(hiss.sum()))
    out[hiss] = np.diff(noise, prepend=0.0) * 0.6 * np.hanning(len(noise))  # high-passed noise, like "sss"
    return (0.9 * out / np.abs(out).max()).astype(np.float32)


def parse_kernel(text: str) -> np.ndarray:
    """Taps typed as numbers separated by commas or spaces ("1, -2, 1"); a clear ValueError otherwise."""
    parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    if not parts:
        raise ValueError("type at least one number, e.g. 1, -2, 1")
    if len(parts) > MAX_TAPS:
        raise ValueError(f"at most {MAX_TAPS} taps, got {len(parts)}")
    try:
        taps = np.array([float(p) for p in parts])
    except ValueError:
        bad = next(p for p in parts if not _is_number(p))
        raise ValueError(f"“{bad[:20]}” is not a number") from None
    if not np.all(np.isfinite(taps)):
        raise ValueError("taps must be finite numbers")
    if not np.any(taps):
        raise ValueError("all taps are zero: the output would be silence")
    if np.abs(taps).max() > 1e6:
        raise ValueError("taps must be at most 1e6 in size")
    return taps


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def kernel(name: str, width: int = 9, typed: str = "1, -2, 1", seed: int = 0) -> np.ndarray:
    """The taps of a named kernel. ``width``: the smoothing (box) kernel's length."""
    if name == "smoothing":
        return np.ones(width) / width
    if name == "difference":
        return np.array([1.0, -1.0])
    if name == "edge":
        return np.array([-1.0, 2.0, -1.0])
    if name == "sharpen":
        return np.array([-1.0, 3.0, -1.0])
    if name == "random":
        return np.random.default_rng(seed).standard_normal(9) / 3
    if name == "typed":
        return parse_kernel(typed)
    raise ValueError(f"kernel must be one of {', '.join(NAMES)}, got {name!r}")


def convolve(sound: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """The sound through the kernel with ``torch.nn.functional.conv1d``, 'same' length (a cross-correlation, as
    in every deep-learning library)."""
    x = torch.as_tensor(sound, dtype=torch.float32)[None, None]
    w = torch.as_tensor(np.asarray(taps, dtype=np.float32))[None, None]
    before = (w.shape[-1] - 1) // 2  # what conv1d's padding="same" does, without its warning for even kernels
    return F.conv1d(F.pad(x, (before, w.shape[-1] - 1 - before)), w)[0, 0].numpy()


def for_listening(y: np.ndarray) -> tuple[np.ndarray, float]:
    """``y`` scaled to peak 0.9 (a high-pass output is quiet), and the gain applied."""
    peak = float(np.abs(y).max())
    gain = 0.9 / peak if peak > 0 else 1.0
    return (y * gain).astype(np.float32), gain


def playback_note(gain: float) -> str:
    """How the output was scaled for listening, in words: which way, and by how much."""
    if abs(gain - 1.0) < 0.005:
        return "Played at the input's peak, as it came out."
    way = "louder" if gain > 1 else "softer"
    factor = gain if gain > 1 else 1 / gain
    return f"Played {factor:.2g}× {way} than it came out, to match the input's peak."


def response(taps: np.ndarray, rate: int = RATE, points: int = 512) -> pd.DataFrame:
    """The kernel's gain per frequency: ``|rfft(taps)|`` on ``points`` frequencies from 0 to ``rate / 2``."""
    h = torch.fft.rfft(torch.as_tensor(np.asarray(taps, dtype=np.float64)), n=2 * (points - 1)).abs().numpy()
    freq = np.linspace(0.0, rate / 2, len(h))
    return pd.DataFrame({"frequency Hz": freq, "gain": h})


CHARACTERS = {
    "low-pass": "keeps the slow oscillations and removes the fast ones: the sound gets duller",
    "high-pass": "removes the slow oscillations and keeps what changes from sample to sample: thin and hissy",
    "high-boost": "keeps the sound and lifts its high frequencies: brighter, crisper",
    "low-boost": "keeps the sound and lifts its low frequencies: warmer, duller",
    "band-pass": "passes a band of middle frequencies best and weakens both ends",
    "band-stop": "weakens a band of middle frequencies (a notch) and keeps both ends",
    "comb": "has several evenly spaced notches: some tones pass and others vanish, a hollow, metallic sound",
    "all-pass": "has about the same gain at every frequency: the balance of the sound does not change",
    "no simple name": "boosts and cuts several irregular bands: no one textbook name fits its gain",
}
FLAT_DB = 3.0  # a response within this many dB of its peak everywhere is all-pass
SHELF_DB = 20.0  # a one-sided response that never falls this far below its peak boosts, rather than removes


def character(taps: np.ndarray, rate: int = RATE) -> tuple[str, float]:
    """``(kind, ripple dB)``, kind one of ``CHARACTERS``, read from the whole gain ``|H(f)|`` from 0 Hz to
    Nyquist; ripple is the peak over the trough (capped at 120 dB, a null).

    The pass bands are where the gain is within 3 dB of its peak. One band at 0 Hz: low-pass; one at Nyquist:
    high-pass; one in between: band-pass; one at each end: band-stop (a notch). Three or more bands, evenly
    spaced: a comb. A one-sided response whose trough stays within ``SHELF_DB`` of the peak lifts one end
    without removing the other (high-boost, low-boost). Flat within ``FLAT_DB``: all-pass."""
    g = response(taps, rate, points=2049)["gain"].to_numpy()
    peak = float(g.max())
    ripple = float(min(120.0, 20 * np.log10(peak / max(float(g.min()), peak * 1e-6))))
    if ripple <= FLAT_DB:
        return "all-pass", ripple
    passing = g >= peak / np.sqrt(2)
    edges = np.flatnonzero(np.diff(passing.astype(np.int8)))
    starts = [0] if passing[0] else []
    starts += [e + 1 for e in edges if not passing[e]]
    ends = [e for e in edges if passing[e]] + ([len(g) - 1] if passing[-1] else [])
    bands = list(zip(starts, ends))
    at_dc, at_top = passing[0], passing[-1]
    if len(bands) == 1:
        if at_dc or at_top:
            shelf = ripple < SHELF_DB
            return ("low-boost" if shelf else "low-pass") if at_dc else ("high-boost" if shelf else "high-pass"), ripple
        return "band-pass", ripple
    if len(bands) == 2 and at_dc and at_top:
        return "band-stop", ripple
    # a comb: its pass bands' centres evenly spaced (a band at an edge is half of one centred on that edge)
    centres = np.array([0.0 if s == 0 and at_dc else (len(g) - 1.0 if e == len(g) - 1 and at_top else (s + e) / 2)
                        for s, e in bands])
    gaps = np.diff(centres)
    if len(bands) >= 3 and gaps.max() - gaps.min() <= 0.1 * gaps.mean():
        return "comb", ripple
    return "no simple name", ripple


def ends_db(taps: np.ndarray) -> tuple[float, float]:
    """The kernel's gain at 0 Hz and at Nyquist, in dB relative to its peak (at most -120 dB: a null)."""
    g = response(taps, points=2049)["gain"].to_numpy()
    peak = g.max()
    return tuple(float(max(-120.0, 20 * np.log10(max(v, 1e-12) / peak))) for v in (g[0], g[-1]))


def describe(kind: str, ripple: float, ends: tuple[float, float] | None = None) -> str:
    """The sentence under a kernel: its name with the right article, what it does, its ripple and, given
    ``ends_db``, how far its two ends lie below its peak."""
    article = "An" if kind[0] in "aeiou" else "A"
    spread = ("it has nulls (gains near zero)" if ripple >= 60 else
              f"its gain varies by {ripple:.1f} dB across the band")
    if ends is not None and kind != "all-pass":
        said = ["a null" if e <= -60 else "its peak" if e > -0.05 else f"{e:.1f} dB" for e in ends]
        spread += f" (at 0 Hz: {said[0]}; at Nyquist: {said[1]})"
    if kind == "no simple name":
        return f"A filter with no simple name: it {CHARACTERS[kind]}; {spread}."
    return f"{article} {kind} filter: it {CHARACTERS[kind]}; {spread}."


def spectrum(sound: np.ndarray, rate: int = RATE, bins: int = 160) -> pd.DataFrame:
    """Power per frequency band in dB (relative to the loudest band), ``bins`` bands from 0 to ``rate / 2``."""
    from scipy.stats import binned_statistic

    power = np.abs(np.fft.rfft(sound * np.hanning(len(sound)))) ** 2
    freq = np.fft.rfftfreq(len(sound), 1 / rate)
    mean = binned_statistic(freq, power, "mean", bins=np.linspace(0, rate / 2, bins + 1))
    centres = (mean.bin_edges[:-1] + mean.bin_edges[1:]) / 2
    p = np.nan_to_num(mean.statistic)
    db = 10 * np.log10(np.maximum(p, 1e-20) / max(p.max(), 1e-20))
    return pd.DataFrame({"frequency Hz": centres, "dB": np.maximum(db, -80.0)})


def band_change(before: np.ndarray, after: np.ndarray, rate: int = RATE) -> tuple[float, float]:
    """How a kernel changed the sound's power (dB), below ``LOW_BAND`` and above ``HIGH_BAND``, both measured
    relative to the sound's total power (so the loudness of the output does not count)."""
    def shares(x):
        power = np.abs(np.fft.rfft(x)) ** 2
        freq = np.fft.rfftfreq(len(x), 1 / rate)
        total = power.sum() or 1.0
        return power[freq < LOW_BAND].sum() / total, power[freq > HIGH_BAND].sum() / total
    (l0, h0), (l1, h1) = shares(before), shares(after)
    tiny = 1e-12
    return float(10 * np.log10((l1 + tiny) / (l0 + tiny))), float(10 * np.log10((h1 + tiny) / (h0 + tiny)))


def read_wav(data: bytes, rate: int = RATE) -> tuple[np.ndarray, list[str]]:
    """A WAV file's sound, mono, at ``rate``, peak 0.9, at most ``MAX_SECONDS``; and notes on what was changed.
    Raises ValueError with a plain sentence for anything that is not a usable WAV."""
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    if len(data) > MAX_UPLOAD_MB * 2 ** 20:
        raise ValueError(f"the file is {len(data) / 2 ** 20:.1f} MB; at most {MAX_UPLOAD_MB} MB")
    try:
        source_rate, x = wavfile.read(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - scipy raises several kinds for a broken file
        raise ValueError("this is not a WAV file that can be read (PCM or float, not compressed)") from exc
    notes = []
    if x.ndim == 2:
        x = x.mean(axis=1)
        notes.append("mixed to mono")
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        x = (x.astype(np.float64) - (info.min + info.max + 1) / 2) / (info.max - info.min + 1) * 2
    x = np.asarray(x, dtype=np.float64)
    if source_rate < 1000 or source_rate > 384000:
        raise ValueError(f"its sample rate ({source_rate} Hz) is not one a sound file has")
    if len(x) == 0:
        raise ValueError("it holds no samples")
    if len(x) > MAX_SECONDS * source_rate:
        x = x[: int(MAX_SECONDS * source_rate)]
        notes.append(f"cut to its first {MAX_SECONDS:g} s")
    if not np.all(np.isfinite(x)):
        raise ValueError("it holds samples that are not numbers")
    if source_rate != rate:
        g = math.gcd(int(source_rate), rate)
        x = resample_poly(x, rate // g, int(source_rate) // g)
        notes.append(f"resampled from {source_rate} Hz to {rate} Hz")
    peak = np.abs(x).max()
    if peak == 0:
        raise ValueError("it is silent")
    return (0.9 * x / peak).astype(np.float32), notes


def listen(sound: np.ndarray, names, width: int = 9, typed: str = "1, -2, 1", seed: int = 0) -> list[dict]:
    """Per kernel: ``name``, ``taps``, ``audio`` (the output at peak 0.9), ``gain`` (applied for listening),
    ``kind`` and ``sentence`` (from its response), ``low_db``/``high_db`` (``band_change`` on this sound),
    ``spectra`` (long table: ``frequency Hz, dB, sound`` for the input and the output) and ``response``. A typed
    kernel that cannot be used gives ``error`` instead. The input itself comes first, as ``name="input"``."""
    base = spectrum(sound).assign(sound="input")
    rows = [{"name": "input", "audio": sound, "spectra": base}]
    for name in names:
        try:
            taps = kernel(name, width, typed, seed)
        except ValueError as exc:
            rows.append({"name": name, "error": str(exc)})
            continue
        y = convolve(sound, taps)
        audio, gain = for_listening(y)
        kind, ripple = character(taps)
        low, high = band_change(sound, y)
        rows.append({"name": name, "taps": taps, "audio": audio, "gain": gain, "kind": kind, "ripple": ripple,
                     "sentence": describe(kind, ripple, ends_db(taps)), "low_db": low, "high_db": high,
                     "spectra": pd.concat([base, spectrum(y).assign(sound="output")], ignore_index=True),
                     "response": response(taps)})
    return rows


def wav_bytes(sound: np.ndarray, rate: int = RATE) -> bytes:
    """``sound`` (floats in [-1, 1]) as a 16-bit PCM WAV file, encoded once for the audio player."""
    from scipy.io import wavfile

    buf = io.BytesIO()
    wavfile.write(buf, rate, (np.clip(sound, -1.0, 1.0) * 32767).astype(np.int16))
    return buf.getvalue()
