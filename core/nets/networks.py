"""The networks the lecture and the practicum use, as layer lists (``core.nets.layers``).

The course notebook (``06-convnet.ipynb``): a fully connected net of 6,442
parameters and a ConvNet of 6,422, both 28x28 -> 10 classes; the MNIST-1D
paper's MLP and CNN. Which net and width a data set uses is the practicum's
business (``core.practicum.models``); the anatomy page's presets are
``core.lecture.anatomy``'s.
"""

from __future__ import annotations

def conv(out, k, **kw) -> dict:
    """A convolution row of the layer-list language."""
    return {"kind": "conv", "out": out, "kernel": k, **kw}


def course_convnet(n_features: int, classes: int = 10) -> list[dict]:
    """The notebook's ConvNet on 1x28x28 (6,422 parameters at its n_features, 6)."""
    return [conv(n_features, 5), {"kind": "relu"}, {"kind": "max pool", "kernel": 2},
            conv(n_features, 5), {"kind": "relu"}, {"kind": "max pool", "kernel": 2},
            {"kind": "flatten"}, {"kind": "linear", "out": 50}, {"kind": "relu"},
            {"kind": "linear", "out": classes}, {"kind": "log softmax"}]


def course_fc(n_hidden: int, classes: int = 10) -> list[dict]:
    """The notebook's fully connected net on 784 inputs (6,442 parameters at its n_hidden)."""
    return [{"kind": "flatten"}, {"kind": "linear", "out": n_hidden}, {"kind": "relu"},
            {"kind": "linear", "out": n_hidden}, {"kind": "relu"}, {"kind": "linear", "out": classes},
            {"kind": "log softmax"}]


def mnist1d_fc(width: int, classes: int = 10) -> list[dict]:
    """MNIST-1D's MLP baseline shape (40 -> width -> width -> 10)."""
    return course_fc(width, classes)


def mnist1d_cnn(width: int, classes: int = 10) -> list[dict]:
    """MNIST-1D's ConvNet baseline: three strided 1D convolutions, then a linear read-out."""
    return [conv(width, 5, stride=2, padding=1), {"kind": "relu"}, conv(width, 3, stride=2, padding=1),
            {"kind": "relu"}, conv(width, 3, stride=2, padding=1), {"kind": "relu"}, {"kind": "flatten"},
            {"kind": "linear", "out": classes}, {"kind": "log softmax"}]
