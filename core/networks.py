"""The networks the lecture and the practicum use, as layer lists (``core.layers``).

The course notebook (``06-convnet.ipynb``): a fully connected net of 6,442
parameters and a ConvNet of 6,422, both 28x28 -> 10 classes; the MNIST-1D
paper's MLP and CNN; the anatomy page's presets. Which widths a data set
uses by default is ``core.datasets``' business.
"""

from __future__ import annotations

from core.datasets import spec


def _conv(out, k, **kw):
    return {"kind": "conv", "out": out, "kernel": k, **kw}


def course_convnet(n_features: int) -> list[dict]:
    """The notebook's ConvNet on 1x28x28 (6,422 parameters at its n_features, ``spec("mnist").widths``)."""
    return [_conv(n_features, 5), {"kind": "relu"}, {"kind": "max pool", "kernel": 2},
            _conv(n_features, 5), {"kind": "relu"}, {"kind": "max pool", "kernel": 2},
            {"kind": "flatten"}, {"kind": "linear", "out": 50}, {"kind": "relu"},
            {"kind": "linear", "out": 10}, {"kind": "log softmax"}]


def course_fc(n_hidden: int) -> list[dict]:
    """The notebook's fully connected net on 784 inputs (6,442 parameters at its n_hidden)."""
    return [{"kind": "flatten"}, {"kind": "linear", "out": n_hidden}, {"kind": "relu"},
            {"kind": "linear", "out": n_hidden}, {"kind": "relu"}, {"kind": "linear", "out": 10},
            {"kind": "log softmax"}]


PRESETS: dict[str, tuple[tuple[int, ...], list[dict]]] = {
    "course ConvNet": (spec("mnist").input_shape, course_convnet(spec("mnist").width("cnn"))),
    "LeNet-5": ((1, 32, 32), [_conv(6, 5), {"kind": "tanh"}, {"kind": "avg pool", "kernel": 2},
                              _conv(16, 5), {"kind": "tanh"}, {"kind": "avg pool", "kernel": 2},
                              _conv(120, 5), {"kind": "tanh"}, {"kind": "flatten"},
                              {"kind": "linear", "out": 84}, {"kind": "tanh"}, {"kind": "linear", "out": 10}]),
    "small residual net": ((1, 28, 28), [_conv(16, 3, padding=1), {"kind": "batch norm"}, {"kind": "relu"},
                                         {"kind": "residual", "kernel": 3}, {"kind": "max pool", "kernel": 2},
                                         {"kind": "residual", "kernel": 3}, {"kind": "max pool", "kernel": 2},
                                         {"kind": "flatten"}, {"kind": "linear", "out": 10}]),
    "1D ConvNet": ((1, 40), [_conv(8, 5, padding=2), {"kind": "relu"}, {"kind": "max pool", "kernel": 2},
                             _conv(8, 5, padding=2), {"kind": "relu"}, {"kind": "max pool", "kernel": 2},
                             {"kind": "flatten"}, {"kind": "linear", "out": 10}]),
}


def mnist1d_fc(width: int) -> list[dict]:
    """MNIST-1D's MLP baseline shape (40 -> width -> width -> 10)."""
    return course_fc(width)


def mnist1d_cnn(width: int) -> list[dict]:
    """MNIST-1D's ConvNet baseline: three strided 1D convolutions, then a linear read-out."""
    return [_conv(width, 5, stride=2, padding=1), {"kind": "relu"}, _conv(width, 3, stride=2, padding=1),
            {"kind": "relu"}, _conv(width, 3, stride=2, padding=1), {"kind": "relu"}, {"kind": "flatten"},
            {"kind": "linear", "out": 10}, {"kind": "log softmax"}]


PRACTICUM_MODELS = {"fc": "fully connected", "cnn": "ConvNet", "lc": "locally connected"}


def practicum_rows(model: str, dataset: str = "mnist", width: int | None = None) -> tuple[tuple[int, ...], list[dict]]:
    """(input shape, layer rows) of the practicum's models: ``fc``, ``cnn`` or ``lc`` (the ConvNet without sharing).

    ``width`` is the notebook's ``n_hidden`` (fc) or ``n_features`` (cnn, lc); by default the data set's
    (``core.datasets``: the notebook's on images, the MNIST-1D paper's on sequences).
    """
    if model not in PRACTICUM_MODELS:
        raise ValueError(f"model must be one of {', '.join(PRACTICUM_MODELS)}, got {model!r}")
    ds = spec(dataset)
    width = ds.width(model, width)
    shape: tuple[int, ...] = ds.input_shape
    if len(shape) == 2:  # sequences: the MNIST-1D paper's MLP and CNN
        rows = mnist1d_fc(width) if model == "fc" else mnist1d_cnn(width)
    else:
        rows = course_fc(width) if model == "fc" else course_convnet(width)
    if model == "lc":
        rows = [{**r, "kind": "local"} if r["kind"] == "conv" else r for r in rows]
    return shape, rows

