"""The practicum's models, one ``ModelSpec`` each: the one place that says what a model key means, what it is
called, which width it takes and how it is built for a data set (``core.practicum.datasets``)."""

from __future__ import annotations

from dataclasses import dataclass

from core.nets.networks import course_convnet, course_fc, mnist1d_cnn, mnist1d_fc
from core.practicum.datasets import spec


def input_name(permuted: bool) -> str:
    """What a run's input is called in tables, labels and links' sentences."""
    return "permuted" if permuted else "original"


@dataclass(frozen=True)
class ModelSpec:
    key: str  # in links, configurations and stored results
    title: str  # "fully connected": tables, charts, the model picker
    short: str  # "FC": where room is short
    noun: str  # "the fully connected net": sentences
    width_of: str  # whose default width it takes: its own, or the ConvNet's (the locally connected net)
    width_name: str  # what its width counts

    def label(self, permuted: bool, short: bool = False) -> str:
        """How a run is named: ``ConvNet, permuted`` (``FC, original`` where room is short)."""
        return f"{self.short if short else self.title}, {input_name(permuted)}"

    def rows(self, dataset: str = "mnist", width: int | None = None) -> tuple[tuple[int, ...], list[dict]]:
        """(input shape, layer rows) of this model on ``dataset``, at ``width`` or the data set's default:
        the notebook's nets on images, the MNIST-1D paper's on sequences; the locally connected net is the
        ConvNet with every convolution unshared."""
        ds = spec(dataset)
        width = ds.width(self.key, width)
        conv_like = self.width_of == "cnn"
        if ds.nd == 1:
            rows = mnist1d_cnn(width, ds.classes) if conv_like else mnist1d_fc(width, ds.classes)
        else:
            rows = course_convnet(width, ds.classes) if conv_like else course_fc(width, ds.classes)
        if self.key == "lc":
            rows = [{**r, "kind": "local"} if r["kind"] == "conv" else r for r in rows]
        return ds.input_shape, rows


MODELS: dict[str, ModelSpec] = {m.key: m for m in (
    ModelSpec("fc", "fully connected", "FC", "the fully connected net", "fc", "hidden units"),
    ModelSpec("cnn", "ConvNet", "ConvNet", "the ConvNet", "cnn", "features"),
    ModelSpec("lc", "locally connected", "Locally connected", "the locally connected net", "cnn", "features"),
)}


def model(key: str) -> ModelSpec:
    """The spec of model ``key``; a clear error for any other key."""
    if key not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {key!r}")
    return MODELS[key]


def practicum_rows(key: str, dataset: str = "mnist", width: int | None = None) -> tuple[tuple[int, ...], list[dict]]:
    """``model(key).rows(dataset, width)``."""
    return model(key).rows(dataset, width)
