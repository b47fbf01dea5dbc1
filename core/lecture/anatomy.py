"""The anatomy page's preset networks: the course ConvNet (at MNIST's shape and default width), LeNet-5, a small
residual net and a 1D ConvNet, as layer lists (``core.nets.layers``)."""

from __future__ import annotations

from core.nets.networks import conv, course_convnet
from core.practicum.datasets import spec

PRESETS: dict[str, tuple[tuple[int, ...], list[dict]]] = {
    "course ConvNet": (spec("mnist").input_shape, course_convnet(spec("mnist").width("cnn"))),
    "LeNet-5": ((1, 32, 32), [conv(6, 5), {"kind": "tanh"}, {"kind": "avg pool", "kernel": 2},
                              conv(16, 5), {"kind": "tanh"}, {"kind": "avg pool", "kernel": 2},
                              conv(120, 5), {"kind": "tanh"}, {"kind": "flatten"},
                              {"kind": "linear", "out": 84}, {"kind": "tanh"}, {"kind": "linear", "out": 10}]),
    "small residual net": ((1, 28, 28), [conv(16, 3, padding=1), {"kind": "batch norm"}, {"kind": "relu"},
                                         {"kind": "residual", "kernel": 3}, {"kind": "max pool", "kernel": 2},
                                         {"kind": "residual", "kernel": 3}, {"kind": "max pool", "kernel": 2},
                                         {"kind": "flatten"}, {"kind": "linear", "out": 10}]),
    "1D ConvNet": ((1, 40), [conv(8, 5, padding=2), {"kind": "relu"}, {"kind": "max pool", "kernel": 2},
                             conv(8, 5, padding=2), {"kind": "relu"}, {"kind": "max pool", "kernel": 2},
                             {"kind": "flatten"}, {"kind": "linear", "out": 10}]),
}
