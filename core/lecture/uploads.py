"""Reading what people upload: an image, a WAV file or a CSV, with one-line errors for bad files.

Large valid inputs are downsampled with a notice; broken, empty, mislabelled
or oversized files raise ``UploadError`` with a sentence a person can act on.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAX_PIXELS = 40_000_000  # refuse beyond this (decompression bombs, 50-megapixel photos)
MAX_SIDE = 512  # images are measured at most this large
MAX_SAMPLES = 1 << 16  # 1D signals are measured at most this long
MAX_BYTES = 20 * 1024 * 1024
MIN_SIDE, MIN_SAMPLES = 16, 64  # below this no spectral slope or squint test can be fitted
MAX_ASPECT = 64  # a longer, thinner image is no picture to measure (and costs as much as a square one)
MAX_COLUMNS = 64  # CSV columns read (a 50,000-column table is records, not a signal)


class UploadError(ValueError):
    """A file that cannot be used, with the reason in one line."""


@dataclass
class Loaded:
    kind: str  # image | audio | signal | table
    data: np.ndarray  # (H, W) in [0, 1], or (N,) float
    name: str
    channels: int = 1
    rate: int | None = None  # samples per second, audio only
    table: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def _image(name: str, raw: bytes) -> Loaded:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(raw))
            w, h = img.size  # from the header: checked before any pixel is decoded
            if min(w, h) < MIN_SIDE:
                raise UploadError(f"{name} is too small ({w}×{h}); at least {MIN_SIDE}×{MIN_SIDE} pixels are "
                                  "needed to measure an image.")
            if max(w, h) > MAX_ASPECT * min(w, h):
                raise UploadError(f"{name} is {w}×{h}: too long and thin to measure as an image (at most "
                                  f"{MAX_ASPECT}:1). Upload a row of samples as a CSV or WAV file instead.")
            if w * h > MAX_PIXELS:
                raise UploadError(f"{name} is {w}×{h} ({w * h / 1e6:.0f} megapixels); the limit is "
                                  f"{MAX_PIXELS / 1e6:.0f} megapixels.")
            expected = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG"}[name.rsplit(".", 1)[-1].lower()]
            if img.format != expected:
                raise UploadError(f"{name} is named like a {expected} file but holds {img.format or 'something else'}.")
            img.load()
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError(f"{name} claims more pixels than {MAX_PIXELS / 1e6:.0f} megapixels (a decompression "
                          "bomb?); refused.") from None
    except UnidentifiedImageError as exc:
        raise UploadError(f"{name} is not a readable image ({type(exc).__name__}).") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UploadError(f"{name} is damaged or truncated ({str(exc).splitlines()[0][:80]}).") from None
    channels = len(img.getbands())
    factor = max(w, h) // (2 * MAX_SIDE)
    if factor > 1:  # a cheap box reduction in C first: the anti-aliased resize below then sees at most 2x
        img = img.reduce(factor)
    gray = np.asarray(img.convert("L"), dtype=np.float64) / 255.0
    notes = []
    if max(gray.shape) > MAX_SIDE:
        from skimage.transform import resize

        scale = MAX_SIDE / max(gray.shape)
        new = (max(4, round(gray.shape[0] * scale)), max(4, round(gray.shape[1] * scale)))
        notes.append(f"{name} ({w}×{h}) was downsampled to {new[1]}×{new[0]} for measuring.")
        gray = resize(gray, new, anti_aliasing=True)
    return Loaded("image", gray, name, channels=channels, notes=notes)


def _wav(name: str, raw: bytes) -> Loaded:
    from scipy.io import wavfile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)
            rate, data = wavfile.read(io.BytesIO(raw))
    except Exception as exc:  # noqa: BLE001 - scipy raises ValueError, EOFError, struct.error...
        raise UploadError(f"{name} is not a readable WAV file ({type(exc).__name__}).") from None
    data = np.asarray(data)
    if data.size == 0 or data.shape[0] < MIN_SAMPLES:
        raise UploadError(f"{name} holds no audio (or under {MIN_SAMPLES} samples).")
    channels = 1 if data.ndim == 1 else data.shape[1]
    mono = data.astype(np.float64).reshape(data.shape[0], -1).mean(axis=1)
    notes = []
    if len(mono) > MAX_SAMPLES:
        step = int(np.ceil(len(mono) / MAX_SAMPLES))
        mono = mono[: len(mono) // step * step].reshape(-1, step).mean(axis=1)
        notes.append(f"{name} was downsampled by {step} (to {rate // step} samples a second) for measuring.")
        rate //= step
    return Loaded("audio", mono, name, channels=channels, rate=int(rate), notes=notes)


def _csv(name: str, raw: bytes) -> Loaded:
    notes = []
    try:
        columns = len(next(csv.reader([raw.split(b"\n", 1)[0].decode("utf-8", "replace")]), []))
        if columns > MAX_COLUMNS:  # cut every row before pandas sees it: a wide file is records, not a signal
            out, rows = io.StringIO(), csv.reader(io.StringIO(raw.decode("utf-8", "replace")))
            csv.writer(out).writerows(row[:MAX_COLUMNS] for row in rows)
            raw = out.getvalue().encode()
        table = pd.read_csv(io.BytesIO(raw))
    except Exception as exc:  # noqa: BLE001 - pandas raises many parser errors
        raise UploadError(f"{name} is not a readable CSV file ({type(exc).__name__}).") from None
    numeric = table.select_dtypes("number").dropna(axis=1, how="all")
    if table.empty or numeric.empty:
        raise UploadError(f"{name} has no numeric column to read as a signal.")
    column = numeric.columns[0]
    values = numeric[column].dropna().to_numpy(dtype=np.float64)
    if columns > MAX_COLUMNS:
        notes.append(f"{name} has {columns} columns; only the first {MAX_COLUMNS} were read.")
    if len(values) < MIN_SAMPLES:
        raise UploadError(f"{name}'s column {column!r} has only {len(values)} numbers; at least {MIN_SAMPLES} "
                          "are needed.")
    if len(values) > MAX_SAMPLES:
        values = values[:MAX_SAMPLES]
        notes.append(f"only the first {MAX_SAMPLES} rows of {name} are measured.")
    kind = "table" if table.shape[1] > 1 else "signal"
    if kind == "table":
        notes.append(f"{name} has {table.shape[1]} columns: a table of records. Its column order means nothing, "
                     f"so only column {column!r} is read, as a sequence down the rows.")
    return Loaded(kind, values, name, table=table.head(200), notes=notes)


def _measurable(loaded: Loaded) -> Loaded:
    """Refuse what no measure can read (not finite, constant); scale the rest to at most 1 in magnitude.

    Every measure of ``core.lecture.signals`` ignores the scale, and 1e308 squared is infinite.
    """
    x = loaded.data
    if not np.isfinite(x).all():
        raise UploadError(f"{loaded.name} holds values that are not finite numbers (NaN or infinity).")
    peak = float(np.abs(x).max())
    if peak == 0 or float(np.ptp(x / peak)) <= 1e-12:
        raise UploadError(f"{loaded.name} is constant: every {'pixel' if x.ndim == 2 else 'sample'} has the same "
                          "value, so there is no structure to measure.")
    if loaded.kind != "image":
        loaded.data = x / peak
    return loaded


def read_upload(name: str, raw: bytes) -> Loaded:
    """Read an uploaded ``.png``, ``.jpg``/``.jpeg``, ``.wav`` or ``.csv`` file.

    Raises:
        UploadError: with a one-line reason (also for a constant, non-finite or too small signal).
    """
    if not raw:
        raise UploadError(f"{name} is empty.")
    if len(raw) > MAX_BYTES:
        raise UploadError(f"{name} is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext in ("png", "jpg", "jpeg"):
        return _measurable(_image(name, raw))
    if ext == "wav":
        return _measurable(_wav(name, raw))
    if ext == "csv":
        return _measurable(_csv(name, raw))
    raise UploadError(f"{name}: only PNG, JPEG, WAV and CSV files can be read.")
