"""Analytic receptive fields against gradient supports, published numbers and the lecture."""

import pytest
import torch
import torchvision
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from core.nets.receptive_field import (empirical_receptive_field, field_table_for_unit, receptive_field,
                                  recursion_table)


def test_lecture_5_3_1():
    model = nn.Sequential(nn.Conv1d(1, 1, 3), nn.ReLU(), nn.Conv1d(1, 1, 3))
    df = receptive_field(model, (1, 1, 5))
    assert df["layer"].tolist() == ["0", "2", "output"]
    assert df["size"].tolist() == [3, 1, 1]
    assert df["rf"].tolist() == [3, 5, 5]  # Q2 = 3, Q3 = 5 (Q1 = the second kernel, 3)
    assert df["jump"].tolist() == [1, 1, 1]


def test_distill_formula_hand_worked():
    # k=3 s=2 then k=3 s=2 dilation 2: r = 1 + 2*1 + (5-1)*2 = 11, jump 4
    model = nn.Sequential(nn.Conv1d(1, 1, 3, stride=2), nn.Conv1d(1, 1, 3, stride=2, dilation=2))
    df = receptive_field(model, (1, 1, 40))
    assert (df.iloc[-1]["rf"], df.iloc[-1]["jump"], df.iloc[-1]["start"]) == (11, 4, 5.0)


def test_non_square_field_is_a_tuple():
    df = receptive_field(nn.Sequential(nn.Conv2d(1, 1, (3, 5))), (1, 1, 10, 10))
    assert df.iloc[-1]["rf"] == (3, 5)


class Branches(nn.Module):
    def __init__(self, a, b):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x):
        return self.a(x) + self.b(x)


def test_residual_keeps_the_largest_field():
    model = Branches(nn.Sequential(nn.Conv1d(1, 1, 3, padding=1), nn.Conv1d(1, 1, 3, padding=1)), nn.Identity())
    assert receptive_field(model, (1, 1, 16)).iloc[-1]["rf"] == 5


def test_misaligned_paths_raise():
    model = Branches(nn.Conv1d(1, 1, 1, stride=2), nn.Conv1d(1, 1, 2, stride=2))  # same size, centres 0 vs 0.5
    with pytest.raises(ValueError, match="misaligned"):
        receptive_field(model, (1, 1, 8))


def _check_support(model, shape):
    df = receptive_field(model, shape)
    emp = empirical_receptive_field(model, shape, samples=1)
    assert [tuple(e) for e in emp.extent] == field_table_for_unit(df, emp.unit, shape[2:])
    return df


@st.composite
def stacks(draw):
    nd = draw(st.sampled_from([1, 2]))
    conv, maxpool, avgpool = ((nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d) if nd == 1 else
                              (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))
    layers, channels = [], 1
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "conv", "max", "avg"]))
        k = draw(st.integers(1, 4))
        s = draw(st.integers(1, 2))
        if kind == "conv":
            d = draw(st.integers(1, 2))
            p = draw(st.integers(0, 2))
            layers += [conv(channels, 2, k, stride=s, padding=p, dilation=d), nn.ReLU()]
            channels = 2
        else:
            p = draw(st.integers(0, k // 2))
            layers.append(maxpool(k, s, p) if kind == "max" else avgpool(k, s, p))
    return nn.Sequential(*layers), nd


@settings(max_examples=int(__import__('os').environ.get('RF_EXAMPLES', 40)), deadline=None)
@given(stacks())
def test_random_stacks_analytic_equals_gradient_support(spec):
    model, nd = spec
    shape = (1, 1, *(40,) * nd)
    try:
        model(torch.zeros(shape))
        fits = True
    except RuntimeError:
        fits = False
    assume(fits)  # the stack shrank the input to nothing: not a valid model for this input
    df = _check_support(model, shape)
    # the recursion, worked layer by layer, ends where the closed form (Distill) and the tracer end
    rec = recursion_table(df)
    last = df.iloc[-1]
    rf = last["rf"][0] if isinstance(last["rf"], tuple) else last["rf"]
    assert int(rec["field r"].iloc[-1].rsplit("= ", 1)[1]) == rec["r (closed form)"].iloc[-1] == rf
    jump = last["jump"][0] if isinstance(last["jump"], tuple) else last["jump"]
    assert int(rec["jump j"].iloc[-1].rsplit("= ", 1)[1]) == jump


def _headless(model):
    return nn.Sequential(*list(model.children())[:-2])


@pytest.mark.slow  # traces full torchvision networks
@pytest.mark.parametrize("name,build,rf", [
    # published: Araujo et al. (Distill 2019) give 195 for AlexNet's conv5 and 212 for VGG-16's pool5;
    # torchvision's ResNets are quoted at 435 (ResNet-18) and 427 (ResNet-50) before the pooling head.
    ("alexnet", lambda: torchvision.models.alexnet().features, 195),
    # VGG-16's convolutional part alone, by torchvision's own recipe: the whole network spends seconds drawing
    # random weights for its 120 M classifier parameters, which the field never sees
    ("vgg16", lambda: torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"]), 212),
    ("resnet18", lambda: _headless(torchvision.models.resnet18()), 435),
    ("resnet50", lambda: _headless(torchvision.models.resnet50()), 427),
])
def test_torchvision_models(name, build, rf):
    df = _check_support(build(), (1, 3, 224, 224))
    assert df.iloc[-1]["rf"] == rf
    assert df.iloc[-1]["jump"] == 32


def test_full_alexnet_reports_its_spatial_layers():
    df = receptive_field(torchvision.models.alexnet(), (1, 3, 224, 224))
    assert df.iloc[-1]["rf"] == 195 and df.iloc[-2]["type"] == "AdaptiveAvgPool2d"


def test_effective_field_is_concentrated_in_the_centre():
    torch.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(4) for m in (nn.Conv2d(1 if _ == 0 else 4, 4, 3), nn.ReLU())])
    emp = empirical_receptive_field(model, (1, 1, 33, 33), samples=32)
    grad = emp.grad
    centre = grad[15:18, 15:18].sum() / grad.sum()
    assert centre > 1.5 * 9 / 81  # the central 3x3 holds well over its uniform share of the 9x9 field
    field = grad[12:21, 12:21]
    ring = torch.cat([field[0], field[-1], field[1:-1, 0], field[1:-1, -1]])
    assert ring.mean() < 0.5 * field[3:6, 3:6].mean()  # and the border of the field far less
    assert emp.size == (9, 9)


@pytest.mark.parametrize("shape", [(1, 1, 40), (1, 1, 28, 28)])
@pytest.mark.parametrize("rows,field", [
    ([{"kind": "local", "out": 2, "kernel": 5}], 5),  # alone, as the first spatial layer
    ([{"kind": "conv", "out": 2, "kernel": 5}, {"kind": "local", "out": 2, "kernel": 5}], 9),  # after a conv
    ([{"kind": "local", "out": 2, "kernel": 3, "stride": 2}, {"kind": "conv", "out": 2, "kernel": 3}], 7),
    ([{"kind": "max pool", "kernel": 2}, {"kind": "local", "out": 3, "kernel": 3, "padding": 1}], 6),
])
def test_a_locally_connected_layer_has_its_convolutions_field(rows, field, shape):
    """Oracle: the gradient support of the real model (and the hand-worked numbers 5, 9, 7, 6)."""
    from core.nets.layers import build_model

    model = build_model(rows, shape[1:])
    analytic = receptive_field(model, shape).iloc[-1]["rf"]
    assert analytic == field
    assert empirical_receptive_field(model, shape).size == (field,) * (len(shape) - 2)


def test_the_recursion_worked_out_for_the_lecture_and_alexnet():
    # the lecture's 5-3-1 stack: hidden units see 3 inputs, the output 5
    stack = nn.Sequential(nn.Conv1d(1, 1, 3), nn.Conv1d(1, 1, 3))
    rec = recursion_table(receptive_field(stack, (1, 1, 5)))
    assert list(rec["field r"]) == ["1 + (3 − 1) × 1 = 3", "3 + (3 − 1) × 1 = 5"]
    assert list(rec["start"]) == ["0 + ((3 − 1)/2 − 0) × 1 = 1", "1 + ((3 − 1)/2 − 0) × 1 = 2"]
    # stride 2, then dilation 2 (k_eff 5): r = 3, then 3 + 4 x 2 = 11; jump 2
    rec = recursion_table(receptive_field(nn.Sequential(nn.Conv1d(1, 1, 3, stride=2), nn.Conv1d(1, 1, 3, dilation=2)),
                                          (1, 1, 32)))
    assert rec["field r"].iloc[-1] == "3 + (5 − 1) × 2 = 11" and rec["jump j"].iloc[-1] == "2 × 1 = 2"
    # AlexNet's conv5 field, published as 195 (Araujo et al., Distill 2019), by the closed form too
    rec = recursion_table(receptive_field(torchvision.models.alexnet().features, (1, 3, 224, 224)))
    assert rec["r (closed form)"].iloc[-1] == 195 and rec["field r"].iloc[-1].endswith("= 195")


def test_the_recursion_refuses_merging_paths():
    model = Branches(nn.Sequential(nn.Conv1d(1, 1, 3, padding=1), nn.Conv1d(1, 1, 3, padding=1)), nn.Identity())
    with pytest.raises(ValueError, match="paths merge"):
        recursion_table(receptive_field(model, (1, 1, 16)))


def test_every_layer_kind_of_the_language_is_known_to_the_tracer():
    """Each kind builds a class the tracer reads (``core.nets.module_kinds``); a point-wise one keeps a 3-wide field."""
    from core.nets.layers import LAYER_KINDS, Residual
    from core.nets.module_kinds import POINTWISE, WINDOW

    for kind, entry in LAYER_KINDS.items():
        row = {"kind": kind, "out": 4, "kernel": 3}
        layer = entry.build(row, 1, 4, (12,) if entry.spatial else ())
        ends_the_spatial_part = kind in ("flatten", "linear", "log softmax")
        assert ends_the_spatial_part or isinstance(layer, (*WINDOW, *POINTWISE, Residual)), kind
        if isinstance(layer, POINTWISE):  # conv k=3, then this layer: the field is still 3 (hand-worked)
            net = nn.Sequential(nn.Conv1d(1, 4, 3), layer)
            assert receptive_field(net, (1, 1, 12)).iloc[-1]["rf"] == 3, kind


@pytest.mark.parametrize("layer", [nn.ELU(), nn.GELU(), nn.SiLU(), nn.Sigmoid(), nn.Dropout(0.5), nn.Identity()])
def test_pointwise_modules_from_elsewhere_keep_the_field(layer):
    net = nn.Sequential(nn.Conv2d(1, 2, 5), layer, nn.MaxPool2d(2))
    assert receptive_field(net, (1, 1, 16, 16)).iloc[-1]["rf"] == 6  # 5, then a 2-window at jump 1


def _field(erf, box):
    import numpy as np

    from core.lecture.sparsity import Field2d

    return Field2d(rf=box[0][1] - box[0][0] + 1, box=box, support=box, erf=np.asarray(erf, float), table=None)


def test_field_words_read_the_field_both_ways():
    from core.lecture.sparsity import field_words

    # a 3x3 box in a 5x5 image: centre 1, ring of 0.25 -> fades; ring of 1.5 -> does not
    fading = [[0] * 5, [0, .25, .25, .25, 0], [0, .25, 1, .25, 0], [0, .25, .25, .25, 0], [0] * 5]
    words = field_words(_field(fading, ((1, 3), (1, 3))))
    assert "fades from its centre" in words and "25% of its centre" in words
    flat = [[0] * 5, [0, 1.5, 1.5, 1.5, 0], [0, 1.5, 1, 1.5, 0], [0, 1.5, 1.5, 1.5, 0], [0] * 5]
    words = field_words(_field(flat, ((1, 3), (1, 3))))
    assert "does not fade" in words and "150% of its centre" in words
    # an even box (4x4): its centre is the 4 middle cells' mean, 0.5; its ring of 12 cells is 0.1
    even = [[.1] * 4, [.1, .4, .6, .1], [.1, .6, .4, .1], [.1] * 4]
    assert "20% of its centre" in field_words(_field(even, ((0, 3), (0, 3))))


def test_the_locality_pages_stacks_fade_but_one_layer_does_not(capfd):
    """One random 3x3 layer weighs its window by its kernel alone: the measured field need not peak at the centre,
    and the page must not say it does; two layers and more do fade (Luo et al. 2016). A stack too deep for the
    image is refused before PyTorch's shape pass prints a traceback into the server's log."""
    from core.lecture.sparsity import field_on_image, field_words

    assert "does not fade" in field_words(field_on_image((28, 28), 1, False))
    assert "fades from its centre" in field_words(field_on_image((28, 28), 3, False))
    capfd.readouterr()
    with pytest.raises(ValueError, match="do not fit"):
        field_on_image((28, 28), 4, True)
    assert "Traceback" not in capfd.readouterr().err
