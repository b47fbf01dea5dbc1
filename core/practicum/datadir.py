"""Where the lab's data lives, without loading it (and without torch): the data directory, the cache, and
whether a data set's four IDX files are on disk. ``core.practicum.data`` loads them.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.practicum.datasets import SPECS

DATA_ENV = "CONVLAB_DATA_DIR"
CACHE_ENV = "CONVLAB_CACHE_DIR"
_CLASSES = {name: s.folder for name, s in SPECS.items() if s.folder}  # torchvision's class and folder names
DATASETS = tuple(_CLASSES)  # the downloaded ones; MNIST-1D is generated

# the four IDX files of every MNIST-like dataset: (split, what) -> (file name, magic number); the shape of one
# item and the number of items are the data set's (``DatasetSpec``)
IDX_FILES = {("train", "images"): ("train-images-idx3-ubyte", 0x803),
             ("train", "labels"): ("train-labels-idx1-ubyte", 0x801),
             ("test", "images"): ("t10k-images-idx3-ubyte", 0x803),
             ("test", "labels"): ("t10k-labels-idx1-ubyte", 0x801)}


class DataUnavailable(RuntimeError):
    """No copy of the dataset on disk and no network to download it (raised by ``core.practicum.data``; defined here so
    that a page can catch it without importing torch)."""


def _idx_file(raw: Path, name: str) -> Path | None:
    """``name`` in ``raw``, extracted or as ``.gz`` (the extracted copy first), or None."""
    return next((p for p in (raw / name, raw / f"{name}.gz") if p.exists()), None)


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "convlab")


def data_dir(setting: str | os.PathLike | None = None) -> Path | None:
    """The data directory from ``setting``, else ``$CONVLAB_DATA_DIR``, else None."""
    value = setting or os.environ.get(DATA_ENV)
    return Path(value).expanduser() if value else None


def available(name: str = "mnist", directory: str | os.PathLike | None = None) -> bool:
    """Whether ``name`` can be loaded without the network (its four files are on disk; not whether they are valid).

    Only looks at file names: no torchvision import, so the sidebar costs nothing on a fresh server.
    """
    if name not in _CLASSES:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    for root in (data_dir(directory), cache_dir()):
        if root is None:
            continue
        raw = root / _CLASSES[name] / "raw"
        if all(_idx_file(raw, f) is not None for f, _ in IDX_FILES.values()):
            return True
    return False
