"""Datasets: MNIST (and Fashion-MNIST, KMNIST) through torchvision, MNIST-1D through ``mnist1d``.

Where the data comes from, first hit wins:
1. a data directory given as an argument (the dashboard's setting) or in the
   environment variable ``CONVLAB_DATA_DIR``, in torchvision's layout
   ``<dir>/MNIST/raw/`` (the four original ``.gz`` files are enough; the
   directory may be read-only);
2. torchvision's download into the cache directory (``CONVLAB_CACHE_DIR``,
   default ``~/.cache/convlab``), when the network allows.

Images are loaded once into uint8 tensors; normalisation uses the course
notebook's constants (mean 0.1307, std 0.3081).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

DATA_ENV = "CONVLAB_DATA_DIR"
CACHE_ENV = "CONVLAB_CACHE_DIR"
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
DATASETS = ("mnist", "fashion-mnist", "kmnist")
_CLASSES = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}


class DataUnavailable(RuntimeError):
    """No copy of the dataset on disk and no network to download it."""


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "convlab")


def data_dir(setting: str | os.PathLike | None = None) -> Path | None:
    """The data directory from ``setting``, else ``$CONVLAB_DATA_DIR``, else None."""
    value = setting or os.environ.get(DATA_ENV)
    return Path(value).expanduser() if value else None


def _dataset_class(name: str):
    import torchvision.datasets as tvd  # deferred: torchvision is slow to import

    if name not in _CLASSES:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    return getattr(tvd, _CLASSES[name])


def _raw_files(cls) -> list[str]:
    return [filename for filename, _md5 in cls.resources]


def available(name: str = "mnist", directory: str | os.PathLike | None = None) -> bool:
    """Whether ``name`` can be loaded without the network."""
    cls = _dataset_class(name)
    for root in (data_dir(directory), cache_dir()):
        if root is None:
            continue
        raw = root / cls.__name__ / "raw"
        if all((raw / f).exists() or (raw / f.removesuffix(".gz")).exists() for f in _raw_files(cls)):
            return True
    return False


def _torchvision_root(name: str, directory) -> tuple[Path, bool]:
    """A root torchvision can read from (and whether it may download there).

    A data directory holding only the ``.gz`` files, perhaps read-only, is
    linked into the cache, where torchvision checks their md5 and extracts them.
    """
    cls = _dataset_class(name)
    root = data_dir(directory)
    cache = cache_dir()
    if root is not None:
        raw = root / cls.__name__ / "raw"
        if all((raw / f.removesuffix(".gz")).exists() for f in _raw_files(cls)):
            return root, False
        if all((raw / f).exists() for f in _raw_files(cls)):
            target = cache / cls.__name__ / "raw"
            target.mkdir(parents=True, exist_ok=True)
            for f in _raw_files(cls):
                link = target / f
                if not link.exists():
                    link.unlink(missing_ok=True)  # a dangling link from an old data directory
                    link.symlink_to((raw / f).resolve())
            return cache, True
    return cache, True


@dataclass(frozen=True)
class ImageData:
    """One split of an image dataset as tensors."""

    images: torch.Tensor  # (N, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64
    name: str

    def normalised(self) -> torch.Tensor:
        """(N, 1, 28, 28) float32, as ToTensor() then Normalize((0.1307,), (0.3081,))."""
        return ((self.images.float() / 255.0 - MNIST_MEAN) / MNIST_STD).unsqueeze(1)


@lru_cache(maxsize=8)
def load_images(name: str = "mnist", train: bool = True, directory: str | None = None) -> ImageData:
    """Load a split of MNIST, Fashion-MNIST or KMNIST through torchvision.

    Raises:
        DataUnavailable: with a one-sentence reason and how to fix it.
    """
    cls = _dataset_class(name)
    root, may_download = _torchvision_root(name, directory)
    try:
        ds = cls(str(root), train=train, download=may_download)
    except Exception as exc:  # noqa: BLE001 - torchvision raises RuntimeError, URLError, OSError...
        raise DataUnavailable(
            f"{cls.__name__} is not on this machine and could not be downloaded ({type(exc).__name__}). "
            f"Point {DATA_ENV} (or the data-directory setting) at a folder holding {cls.__name__}/raw/ "
            "with the four original .gz files."
        ) from exc
    return ImageData(ds.data.clone(), ds.targets.clone().long(), name)
