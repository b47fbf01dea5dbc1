"""Datasets: MNIST (and Fashion-MNIST, KMNIST) through torchvision, MNIST-1D through ``mnist1d``.

Where the data comes from, first hit wins:
1. a data directory given as an argument (the dashboard's setting) or in the
   environment variable ``CONVLAB_DATA_DIR``, in torchvision's layout
   ``<dir>/MNIST/raw/``: the four IDX files, gzipped or not, read directly
   and checked for their content (magic number, counts, length), so that a
   recompressed copy loads; the directory may be read-only;
2. torchvision's download into the cache directory (``CONVLAB_CACHE_DIR``,
   default ``~/.cache/convlab``), when the network allows (md5-checked).

Images are loaded once into uint8 tensors; normalisation uses the course
notebook's constants (mean 0.1307, std 0.3081).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from core.practicum.datadir import (_CLASSES, CACHE_ENV, DATA_ENV, DATASETS, IDX_FILES,  # noqa: F401
                          DataUnavailable, _idx_file, available, cache_dir, data_dir)
from core.practicum.datasets import spec
from core.practicum.files import atomic_write

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def read_idx(path: Path, magic: int, item: tuple[int, ...], count: int) -> torch.Tensor:
    """An IDX file (LeCun's MNIST format), plain or gzipped, checked for what it must hold.

    Checked: the magic number, the count and item shape, and the length; not
    the ``.gz`` bytes, so a recompressed copy of the same data (as some
    distributions ship) loads, where torchvision's md5 check refuses it.

    Raises:
        DataUnavailable: naming the file and what is wrong with it.
    """
    import gzip
    import zlib

    def bad(problem: str) -> DataUnavailable:
        return DataUnavailable(f"{path} {problem}. Replace it with the original file (yann.lecun.com/exdb/mnist "
                               "or torchvision's mirror).")

    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:  # gzip raises BadGzipFile (an OSError) or EOFError
        raise bad(f"cannot be read ({type(exc).__name__}: {exc})") from exc
    dims = 1 + len(item)
    header = 4 + 4 * dims
    if len(raw) < header:
        raise bad(f"is {len(raw)} bytes long, shorter than an IDX header")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise bad(f"is not an IDX file of {'images' if item else 'labels'} (magic number {found:#x}, expected "
                  f"{magic:#x})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    if shape != (count, *item):
        raise bad(f"holds {' × '.join(map(str, shape))} values, expected {' × '.join(map(str, (count, *item)))}")
    size = count * int(np.prod(item, dtype=np.int64))
    if len(raw) != header + size:
        raise bad(f"is {len(raw) - header} bytes of data after its header, expected {size}")
    values = torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8).reshape(count, *item)
    if not item and int(values.max()) > 9:
        raise bad(f"has a label {int(values.max())}; labels are 0 to 9")
    return values


def _dataset_class(name: str):
    import torchvision.datasets as tvd  # deferred: torchvision is slow to import

    if name not in _CLASSES:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    return getattr(tvd, _CLASSES[name])


def _raw_files(cls) -> list[str]:
    return [filename for filename, _md5 in cls.resources]


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
            try:
                target.mkdir(parents=True, exist_ok=True)
                for f in _raw_files(cls):
                    link = target / f
                    if not link.exists():
                        link.unlink(missing_ok=True)  # a dangling link from an old data directory
                        link.symlink_to((raw / f).resolve())
            except OSError as exc:
                raise DataUnavailable(_unwritable(cache, exc)) from exc
            return cache, True
    return cache, True


def _unwritable(cache: Path, exc: OSError) -> str:
    return (f"the cache folder {cache} cannot be written ({exc.strerror or exc}), and torchvision extracts the "
            f".gz files there: set {CACHE_ENV} to a writable folder")


@dataclass(frozen=True)
class ImageData:
    """One split of an image dataset as tensors."""

    images: torch.Tensor  # (N, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64
    name: str


RETRY_DOWNLOAD_AFTER = 60.0  # seconds a failed download is remembered before the next viewer tries again
_FAILED_DOWNLOADS: dict[tuple, tuple[float, str]] = {}


@lru_cache(maxsize=8)
def load_images(name: str = "mnist", train: bool = True, directory: str | None = None) -> ImageData:
    """Load a split of MNIST, Fashion-MNIST or KMNIST through torchvision.

    Raises:
        DataUnavailable: with a one-sentence reason and how to fix it.
    """
    if name not in _CLASSES:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    split = "train" if train else "test"
    root = data_dir(directory)
    raw = root / _CLASSES[name] / "raw" if root is not None else None
    files = {what: _idx_file(raw, IDX_FILES[(split, what)][0]) if raw is not None else None
             for what in ("images", "labels")}
    if all(files.values()):  # a data directory holds this split: read it ourselves, checked for its content
        ds = spec(name)
        count = ds.train_size if train else ds.test_size
        images, labels = (read_idx(files[w], IDX_FILES[(split, w)][1], ds.input_shape[1:] if w == "images" else (),
                                   count) for w in ("images", "labels"))
        return ImageData(images, labels.long(), name)
    cached = cache_dir() / "tensors" / f"{_CLASSES[name]}-{split}.pt"
    if cached.exists():  # torchvision already downloaded and read (and md5-checked) these files once
        try:
            images, labels = torch.load(cached)
            return ImageData(images, labels, name)
        except Exception:  # noqa: BLE001 - a damaged cache is read again below
            cached.unlink(missing_ok=True)
    cls = _dataset_class(name)  # imports torchvision (about a second): only on a first download
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # torchvision downloads and extracts into the cache: say so, not "no network"
        raise DataUnavailable(_unwritable(cache_dir(), exc)) from exc
    root, may_download = _torchvision_root(name, directory)
    attempt = (name, train, str(root))
    failed = _FAILED_DOWNLOADS.get(attempt)
    if failed is not None and time.monotonic() - failed[0] < RETRY_DOWNLOAD_AFTER:
        raise DataUnavailable(failed[1])  # a class opening the link does not try the download a hundred times
    try:
        ds = cls(str(root), train=train, download=may_download)
    except Exception as exc:  # noqa: BLE001 - torchvision raises RuntimeError, URLError, OSError...
        message = (f"{cls.__name__} is not on this machine and could not be downloaded ({type(exc).__name__}). "
                   f"Point {DATA_ENV} (or the data-directory setting) at a folder holding {cls.__name__}/raw/ "
                   "with the four original .gz files.")
        _FAILED_DOWNLOADS[attempt] = (time.monotonic(), message)
        raise DataUnavailable(message) from exc
    _FAILED_DOWNLOADS.pop(attempt, None)
    data = ImageData(ds.data.clone(), ds.targets.clone().long(), name)
    try:  # a faster second start; a full or read-only cache only costs that
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cached, lambda f: torch.save((data.images, data.labels), f), binary=True)
    except OSError:
        pass
    return data


@dataclass(frozen=True)
class Split:
    """Inputs and labels of one split, ready for a tensor loop.

    Images stay uint8 (a quarter of the memory); ``batch`` normalises the few
    samples a step needs: ``x.float() * scale + shift``.
    """

    x: torch.Tensor  # (N, 1, 28, 28) uint8, or (N, 1, 40) float32 already standardised
    y: torch.Tensor  # (N,) int64
    scale: float = 1.0
    shift: float = 0.0

    def batch(self, idx) -> torch.Tensor:
        """The normalised float32 inputs at ``idx`` (an index tensor or a slice)."""
        # index_select and arithmetic in place on a fresh copy: a third of the cost of x[idx].float() * s + b
        fresh = isinstance(idx, torch.Tensor)
        x = self.x.index_select(0, idx) if fresh else self.x[idx]
        out = x.float()
        if not fresh and out.data_ptr() == x.data_ptr():  # a float view of the data set: never write into it
            out = out.clone()
        return out.mul_(self.scale).add_(self.shift)


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    test: Split
    classes: int = 10

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])


MNIST1D_ARRAYS = ("x", "y", "x_test", "y_test")


def _generated_mnist1d(**knobs) -> dict[str, np.ndarray]:
    """``mnist1d.make_dataset``'s sequences and labels for these knobs, generated once per machine.

    Generating takes seconds (4 on the 2-core test machine, plus 1.5 to import the package and matplotlib), on
    every fresh server and every Dask worker: the arrays are kept in the cache folder as ``.npz`` (read without
    pickle), keyed by the knobs and the package's version. A cache that cannot be read is generated again; one
    that cannot be written (a full disk, a read-only folder) only costs the next process the seconds again.
    """
    import hashlib
    import json
    import logging
    from importlib.metadata import version

    log = logging.getLogger("convlab.data")
    knobs = {k: v.item() if isinstance(v, np.generic) else v for k, v in knobs.items()}  # NumPy scalars as JSON
    key = hashlib.sha256(json.dumps({"mnist1d": version("mnist1d"), **knobs}, sort_keys=True).encode()).hexdigest()
    path = cache_dir() / "mnist1d" / f"{key[:24]}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {k: stored[k] for k in MNIST1D_ARRAYS}
    except FileNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file: generate again, and replace it
        log.warning("MNIST-1D cache %s is unreadable (%s); generating the data again", path, exc)
    from mnist1d.data import get_dataset_args, make_dataset  # deferred: pulls in matplotlib

    args = get_dataset_args()
    for name, value in knobs.items():
        setattr(args, name, value)
    made = make_dataset(args)
    arrays = {k: np.asarray(made[k]) for k in MNIST1D_ARRAYS}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: np.savez(f, **arrays), binary=True)
    except OSError as exc:
        log.warning("MNIST-1D not kept in %s (%s): the next process generates it again", path.parent, exc)
    return arrays


@lru_cache(maxsize=4)
def mnist1d(num_samples: int = 5000, seed: int = 42, shuffle_seq: bool = False, max_translation: int = 48,
            iid_noise_scale: float = 2e-2, corr_noise_scale: float = 0.25) -> Dataset:
    """MNIST-1D (Greydanus and Kobak, ICML 2024) generated procedurally by ``mnist1d.make_dataset``.

    Offline; 4,000 training and 1,000 test sequences of length 40 by default, generated once per machine
    (``_generated_mnist1d``). Inputs are standardised with the training set's mean and std. The last four
    are kept in memory (one is 0.8 MB) and shared by every caller: read them, never write into them.
    """
    d = _generated_mnist1d(num_samples=num_samples, seed=seed, shuffle_seq=shuffle_seq,
                           max_translation=max_translation, iid_noise_scale=iid_noise_scale,
                           corr_noise_scale=corr_noise_scale)
    x_tr = torch.tensor(d["x"], dtype=torch.float32)
    mean, std = x_tr.mean(), x_tr.std()

    def split(x, y):
        return Split(((torch.tensor(x, dtype=torch.float32) - mean) / std).unsqueeze(1), torch.tensor(y).long())

    return Dataset("mnist1d", split(d["x"], d["y"]), split(d["x_test"], d["y_test"]))


def image_dataset(name: str = "mnist", directory: str | None = None) -> Dataset:
    """MNIST, Fashion-MNIST or KMNIST as normalised tensors (the notebook's constants)."""
    tr, te = load_images(name, True, directory), load_images(name, False, directory)
    # ToTensor() then Normalize(mean, std) is x / 255 / std - mean / std
    scale, shift = 1.0 / (255.0 * MNIST_STD), -MNIST_MEAN / MNIST_STD
    return Dataset(name, Split(tr.images.unsqueeze(1), tr.labels, scale, shift),
                   Split(te.images.unsqueeze(1), te.labels, scale, shift))


def load_dataset(name: str, directory: str | None = None, **mnist1d_knobs) -> Dataset:
    """Any dataset of the lab by name: ``mnist``, ``fashion-mnist``, ``kmnist`` or ``mnist1d``.

    ``mnist1d_knobs`` (``max_translation``, ``iid_noise_scale``, ...) go to ``mnist1d``; None means its default.
    """
    if name == "mnist1d":
        return mnist1d(**{k: v for k, v in mnist1d_knobs.items() if v is not None})
    return image_dataset(name, directory)


def pixel_permutation(n: int, seed: int = 0, fraction: float = 1.0) -> torch.Tensor:
    """One fixed random permutation of ``n`` positions (784 for 28x28, 40 for MNIST-1D).

    With ``fraction`` < 1 only that share of the positions (chosen at random)
    is shuffled among themselves; the rest stay put: locality destroyed in part.
    """
    gen = torch.Generator().manual_seed(seed)
    if fraction >= 1.0:
        return torch.randperm(n, generator=gen)
    if not 0.0 <= fraction:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    chosen = torch.randperm(n, generator=gen)[: int(round(fraction * n))]
    perm = torch.arange(n)
    perm[chosen] = chosen[torch.randperm(len(chosen), generator=gen)]
    return perm


def permute_pixels(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Move every sample's positions by ``perm`` (the same for all samples): (N, C, *S) -> same shape."""
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    if flat.shape[-1] != perm.numel():
        raise ValueError(f"the permutation has {perm.numel()} positions, the samples {flat.shape[-1]}")
    return flat.index_select(-1, perm).reshape(x.shape)
