"""One entry per data set of the practicum: every fact the training, the models, the costs and the page read.

Adding a data set is one ``DatasetSpec`` here plus its loader in ``core.practicum.data``.

Reference accuracies are kept with what they are: the course notebook's
published numbers, the lecture's careful re-run of that notebook (means over
seeds), and the MNIST-1D paper's baselines (Greydanus and Kobak, ICML 2024).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """Test accuracies (percent) someone else measured, and what they are."""

    label: str  # shown beside the numbers: whose they are
    short: str  # a column name
    accuracy: dict[tuple[str, bool], tuple[float, float]]  # (model, permuted) -> (low, high); one number: low == high

    def text(self, model: str, permuted: bool) -> str | None:
        if (model, permuted) not in self.accuracy:
            return None
        lo, hi = self.accuracy[(model, permuted)]
        return f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"

    def mid(self, model: str, permuted: bool) -> float | None:
        if (model, permuted) not in self.accuracy:
            return None
        lo, hi = self.accuracy[(model, permuted)]
        return (lo + hi) / 2


def _one(**values: float) -> dict[tuple[str, bool], tuple[float, float]]:
    """``fc=87, cnn_permuted=83`` -> ``{("fc", False): (87, 87), ("cnn", True): (83, 83)}``."""
    out = {}
    for key, v in values.items():
        model, _, perm = key.partition("_")
        out[(model, perm == "permuted")] = v if isinstance(v, tuple) else (v, v)
    return out


@dataclass(frozen=True)
class DatasetSpec:
    key: str  # the name in links and configurations
    label: str
    input_shape: tuple[int, ...]
    train_size: int
    test_size: int
    widths: dict[str, int]  # default width per model: the FC net's hidden units, the ConvNet's features
    epochs: int  # default training
    max_epochs: int  # what one link may ask
    lr: float
    momentum: float
    paired: bool  # the two ConvNets (original, permuted) train as one grouped network
    generated: bool  # made on the spot (no download)
    references: tuple[Reference, ...] = ()
    classes: int = 10
    max_width: int = 128
    folder: str | None = None  # torchvision's folder name under the data directory
    class_names: tuple[str, ...] = ()  # torchvision's names of the classes, where they are not the digits

    def class_name(self, k: int) -> str:
        """How charts and tables name class ``k``: ``"0 T-shirt/top"`` where the classes have names, else ``"0"``."""
        return f"{k} {self.class_names[k]}" if self.class_names else str(k)

    def width(self, model: str, width: int | None = None) -> int:
        """``width``, or this data set's default for ``model`` (whose default it takes: ``ModelSpec.width_of``)."""
        from core.practicum.models import model as model_spec

        return width if width is not None else self.widths[model_spec(model).width_of]

    @property
    def nd(self) -> int:
        """Its spatial dimensions: 2 for images, 1 for sequences (the one place that asks)."""
        return len(self.input_shape) - 1

    @property
    def unit(self) -> str:
        """What a permutation moves: pixels of an image, positions of a sequence."""
        return "pixels" if self.nd == 2 else "positions"

    @property
    def chance(self) -> float:
        return 100.0 / self.classes


NOTEBOOK = Reference("published in the course notebook", "notebook", _one(fc=87, cnn=95, fc_permuted=(85, 87), cnn_permuted=83))
RERUN = Reference("the lecture's re-run of the notebook (mean over seeds, spread ±1.5)", "re-run mean",
                  _one(fc=87.5, cnn=94.8, fc_permuted=85.9, cnn_permuted=80.8))
PAPER_1D = Reference("the MNIST-1D paper (Greydanus and Kobak 2024)", "paper",
                     _one(fc=68, cnn=94, fc_permuted=68, cnn_permuted=56))

_IMAGES = dict(input_shape=(1, 28, 28), train_size=60000, test_size=10000, widths={"fc": 8, "cnn": 6}, epochs=1,
               max_epochs=5, lr=0.01, momentum=0.5, paired=True, generated=False)

SPECS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec("mnist", "MNIST", references=(NOTEBOOK, RERUN), folder="MNIST", **_IMAGES),
    "fashion-mnist": DatasetSpec("fashion-mnist", "Fashion-MNIST", folder="FashionMNIST", class_names=(
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        **_IMAGES),
    "kmnist": DatasetSpec("kmnist", "KMNIST", folder="KMNIST", class_names=(
        "o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"), **_IMAGES),
    # MNIST-1D is small: the paper's widths (MLP 100 hidden units, CNN 25 channels), more epochs and a livelier SGD
    "mnist1d": DatasetSpec("mnist1d", "MNIST-1D", input_shape=(1, 40), train_size=4000, test_size=1000,
                           widths={"fc": 100, "cnn": 25}, epochs=20, max_epochs=50, lr=0.05, momentum=0.9,
                           paired=False, generated=True, references=(PAPER_1D,)),
}
NAMES = tuple(SPECS)


def spec(name: str) -> DatasetSpec:
    if name not in SPECS:
        raise ValueError(f"dataset must be one of {', '.join(SPECS)}, got {name!r}")
    return SPECS[name]
