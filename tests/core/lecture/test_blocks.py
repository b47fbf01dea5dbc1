"""Linear layer, padding, pooling and model tables against PyTorch and hand-worked numbers."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from core.lecture import linear

from core.lecture import padding

from core.lecture import pooling
from core.geometry import output_length
from core.nets.layers import build_model, SpecError
from core.nets.models import compose_kernels, count_parameters, layer_table
from core.lecture.anatomy import PRESETS
from core.nets.networks import course_convnet, course_fc
from core.practicum.models import practicum_rows

TORCH_MODE = {"zeros": "constant", "constant": "constant", "reflect": "reflect", "replicate": "replicate",
              "circular": "circular"}


# --- padding -----------------------------------------------------------------------------------------

@settings(max_examples=80, deadline=None)
@given(mode=st.sampled_from(padding.MODES), nd=st.sampled_from([1, 2]), data=st.data())
def test_pad_matches_f_pad(mode, nd, data):
    sizes = [data.draw(st.integers(1, 7)) for _ in range(nd)]
    limit = {"reflect": lambda n: n - 1, "circular": lambda n: n}.get(mode, lambda n: 5)
    pairs = [(data.draw(st.integers(0, limit(n))), data.draw(st.integers(0, limit(n)))) for n in sizes]
    x = torch.randn(2, 3, *sizes)
    ours = padding.pad(x, [v for pair in pairs for v in pair], mode, value=1.5)
    torch_pad = [v for pair in reversed(pairs) for v in pair]  # F.pad: last dimension first
    value = 1.5 if mode == "constant" else 0.0
    expected = F.pad(x, torch_pad, mode=TORCH_MODE[mode], value=value) if mode in ("zeros", "constant") else \
        F.pad(x, torch_pad, mode=TORCH_MODE[mode])
    torch.testing.assert_close(ours, expected)


def test_index_map_hand_worked():
    assert padding.index_map(4, 2, 2, "reflect").tolist() == [2, 1, 0, 1, 2, 3, 2, 1]
    assert padding.index_map(4, 2, 2, "replicate").tolist() == [0, 0, 0, 1, 2, 3, 3, 3]
    assert padding.index_map(4, 2, 2, "circular").tolist() == [2, 3, 0, 1, 2, 3, 0, 1]
    assert padding.index_map(4, 1, 1, "zeros").tolist() == [-1, 0, 1, 2, 3, -1]
    with pytest.raises(ValueError, match="reflect"):
        padding.index_map(3, 3, 0, "reflect")


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 4), p=st.integers(0, 4), d=st.integers(1, 3))
def test_output_size_matches_torch_layers(n, k, s, p, d):
    expected = output_length(n, k, s, p, d)
    conv = nn.Conv1d(1, 1, k, s, p, d)
    if expected < 1:
        with pytest.raises(RuntimeError):
            conv(torch.zeros(1, 1, n))
    else:
        assert conv(torch.zeros(1, 1, n)).shape[-1] == expected


@pytest.mark.parametrize("k,d", [(1, 1), (3, 1), (4, 1), (5, 2), (2, 3)])
def test_same_padding_keeps_the_size(k, d):
    before, after = padding.same_padding(k, d)
    x = torch.randn(1, 1, 17)
    y = F.conv1d(F.pad(x, (before, after)), torch.randn(1, 1, k), dilation=d)
    assert y.shape[-1] == 17
    ref = nn.Conv1d(1, 1, k, padding="same", dilation=d)  # PyTorch puts the extra sample after
    with torch.no_grad():
        torch.testing.assert_close(ref(x), F.conv1d(F.pad(x, (before, after)), ref.weight, ref.bias, dilation=d))


@pytest.mark.parametrize("n, k, s, d", [(7, 11, 4, 4), (64, 3, 2, 1), (28, 5, 3, 1), (9, 4, 2, 2), (64, 3, 1, 1),
                                         (17, 4, 1, 1), (5, 3, 4, 1)])
def test_the_same_claim_is_what_torch_gives(n, k, s, d):
    claim = padding.same_claim(n, k, s, d)
    x = torch.randn(1, 1, n)
    y = F.conv1d(F.pad(x, (claim["before"], claim["after"])), torch.randn(1, 1, k), stride=s, dilation=d)
    assert y.shape[-1] == claim["output"] and f"give {claim['output']}" in claim["sentence"].replace(
        "get those", "give")
    if s == 1:
        assert claim["output"] == n
        y2 = nn.Conv1d(1, 1, k, padding="same", dilation=d)(x)
        assert y2.shape[-1] == n
    else:  # PyTorch refuses 'same' here, and the output is the ceiling of n / s (TensorFlow's 'same')
        with pytest.raises(ValueError):
            nn.Conv1d(1, 1, k, stride=s, padding="same", dilation=d)
        assert claim["output"] == math.ceil(n / s) and "refuses" in claim["sentence"]
        assert "keeps the size" in claim["sentence"] and "no padding keeps" in claim["sentence"]


def test_the_size_table_marks_same_only_where_it_holds():
    at_stride_1 = padding.size_table(7, 3, 1, 1)
    assert at_stride_1.loc[at_stride_1["same (before, after)"] != "", "output size"].tolist() == [7]
    at_stride_4 = padding.size_table(7, 11, 4, 4)  # the link: p = 20 gives 2 outputs, not 7
    assert (at_stride_4["same (before, after)"] == "").all()
    assert at_stride_4.loc[at_stride_4["padding"] == 20, "output size"].item() == 2
    assert at_stride_4["output size"].isna().any() and str(at_stride_4["output size"].dtype) == "Int64"


# --- pooling -----------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(p=st.one_of(st.sampled_from([1.0, 2.0, 3.0]), st.floats(1.0, 8.0)), k=st.integers(1, 4),
       s=st.integers(1, 3), nd=st.sampled_from([1, 2]))
def test_lp_pool_matches_torch(p, k, s, nd):
    x = torch.rand(2, 3, *(9,) * nd, dtype=torch.float64)  # non-negative: |x| = x, as F.lp_pool assumes
    ref = (F.lp_pool1d if nd == 1 else F.lp_pool2d)(x, p, k, s)
    torch.testing.assert_close(pooling.lp_pool(x, p, k, s), ref)


@pytest.mark.parametrize("nd", [1, 2])
def test_lp_pool_infinity_is_max_pooling(nd):
    x = torch.randn(2, 3, *(8,) * nd)
    ref = (F.max_pool1d if nd == 1 else F.max_pool2d)(x.abs(), 2)
    torch.testing.assert_close(pooling.lp_pool(x, math.inf, 2), ref)
    assert torch.all(pooling.lp_pool(x, 64.0, 2) >= ref - 1e-6)  # a large p approaches the max from above


def test_pooling_output_shape_hand_worked():
    assert pooling.output_shape((6, 28, 28), 2) == (6, 14, 14)  # m x n x c -> m/2 x n/2 x c
    assert pooling.pool(torch.zeros(1, 6, 28, 28), "blur", 2).shape == (1, 6, 14, 14)


def test_shift_consistency_reproduces_zhang():
    x = pooling.random_signals(128, 128, seed=1)
    df = pooling.shift_consistency(x, 2).pivot(index="shift", columns="method", values="change")
    assert df.loc[1, "max"] > 1.2 * df.loc[1, "blur"]  # blurring before subsampling: more consistent
    assert df.loc[1, "max"] > df.loc[1, "average"]  # on smooth signals, max pooling jumps the most
    assert df.loc[2].drop("blur").abs().max() < 1e-12  # a whole-stride shift just moves the output


def test_lp_at_infinity_is_max_pooling_of_magnitudes_as_the_page_says():
    x = torch.randn(4, 1, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    lp = pooling.pool(x, "lp", 2, p=math.inf)
    torch.testing.assert_close(lp, F.max_pool1d(x.abs(), 2))  # of |x|
    assert not torch.allclose(lp, F.max_pool1d(x, 2))  # signed inputs: not max pooling
    torch.testing.assert_close(pooling.pool(x.relu(), "lp", 2, p=math.inf), F.max_pool1d(x.relu(), 2))


def _changes(rows: dict[str, list[float]]):
    import pandas as pd

    return pd.DataFrame([{"method": m, "shift": s, "change": c} for m, cs in rows.items() for s, c in enumerate(cs)])


def test_shift_caption_says_what_the_table_shows_both_ways():
    # a window of 2: max moves most at shift 1, blur less than max, a whole-stride shift changes almost nothing
    words = pooling.shift_caption(_changes({"max": [0, 0.5, 0], "average": [0, 0.4, 0], "lp": [0, 0.3, 0],
                                            "blur": [0, 0.35, 0.07]}), 2.0)
    assert "only moves the output" in words and "at most 0.07" in words
    assert "Shifts of 1 sample change it: max pooling most (0.50" in words and "L2 least (0.30)" in words
    assert "changes it less than max pooling (0.35 vs 0.50)" in words
    # a window of 3, the other way round: average most (mean of shifts 1 and 2), blur more than max, and a
    # whole-stride shift that does change the output
    words = pooling.shift_caption(_changes({"max": [0, 0.2, 0.2, 0.3], "average": [0, 0.5, 0.7, 0],
                                            "lp": [0, 0.1, 0.1, 0], "blur": [0, 0.3, 0.3, 0]}), math.inf)
    assert "Even a shift by the whole stride (3 samples) changes an output by up to 0.30" in words
    assert "Shifts of 1 to 2 samples change it: average pooling most (0.60" in words and "L∞ least" in words
    assert "changes it more than max pooling (0.30 vs 0.20)" in words


def test_shift_caption_on_the_pages_signals_follows_the_window():
    """On the page's signals the winner changes with the window (max at 2, average at 4): the caption must
    follow the measured table, whichever way it goes."""
    x = pooling.random_signals(128, 128, seed=1)
    for k in (2, 4):
        table = pooling.shift_consistency(x, k).pivot(index="shift", columns="method", values="change")
        mean = table.loc[1:k - 1].mean()
        words = pooling.shift_caption(pooling.shift_consistency(x, k), 2.0)
        assert f"{mean.idxmax()} pooling most" in words
    assert mean.idxmax() == "average"  # at 4 (the lecture's 'max pooling jumps most' holds at 2 only)


# --- linear --------------------------------------------------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=4, max_size=4))
def test_svd_steps_rebuild_the_map(entries):
    w = np.array(entries).reshape(2, 2)
    d = linear.decompose(w)
    np.testing.assert_allclose(d.u @ np.diag(d.s) @ d.vt, w, atol=1e-9)
    assert np.linalg.det(d.vt) > 0  # the first step is a rotation
    assert d.reflects == (np.linalg.det(w) < -1e-12) or d.collapses


def test_stages_end_in_torch_linear_then_squash():
    pts = linear.point_cloud("spiral", 100)
    w, b = linear.matrix_from(30, 1.5, 0.5, 0.3), np.array([0.2, -0.1])
    df = linear.stages(pts, w, b, "tanh")
    layer = nn.Linear(2, 2).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w))
        layer.bias.copy_(torch.tensor(b))
        expected = torch.tanh(layer(torch.tensor(pts[["x", "y"]].to_numpy())))
    last = df[df["stage"].str.startswith("6")][["x", "y"]].to_numpy()
    np.testing.assert_allclose(last, expected.numpy(), atol=1e-9)


@pytest.mark.parametrize("squash", linear.SQUASHES)
def test_every_stage_is_finite_at_the_sliders_ends(squash):
    """The linear page's chart skips Vega-Lite's filter for invalid values (a cost on every key press): every
    point it draws must be a number, singular and extreme settings included."""
    from dashboard.charts import stages

    for kind in ("grid", "spiral"):
        for angle, sx, sy, shear, b in ((180, 2, -2, 2, 2), (-180, 0, 0, -2, -2), (0, 0, 2, 0, 0), (45, -2, 0, 2, -2)):
            df = linear.stages(linear.point_cloud(kind), linear.matrix_from(angle, sx, sy, shear), np.array([b, -b]),
                               squash)
            assert np.isfinite(df[["x", "y", "t"]].to_numpy()).all(), (kind, angle, sx, sy, shear, b)
    assert stages(df)["config"]["mark"]["invalid"] is None


@pytest.mark.parametrize("angle, sx, sy, shear, words", [
    (30, 1, 1, 0, "rotate by 30°"),  # a pure rotation: one angle, the one on the slider
    (30, 2, 1, 0, "rotate by 30°"),  # scale along x then turn: V = I
    (-30, 1, 1, 0, "rotate by -30°"),
    (180, 1, 1, 0, "rotate by 180°"),
    (30, 1, -1, 0, "mirror the second axis, then rotate by 30°"),  # R(30) diag(1, -1), read back as built
])
def test_svd_angles_are_the_ones_a_person_would_name(angle, sx, sy, shear, words):
    w = linear.matrix_from(angle, sx, sy, shear)
    d = linear.decompose(w)
    text = d.describe()
    assert text.endswith(f"{words}; det = {np.linalg.det(w):.2f}" + (" (negative: a reflection)." if sy < 0 else "."))
    assert "rotate by 0°" not in text and "-180°" not in text and "-150°" not in text
    np.testing.assert_allclose(d.u @ np.diag(d.s) @ d.vt, w, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=4, max_size=4))
def test_svd_first_rotation_is_the_short_way_round(entries):
    d = linear.decompose(np.array(entries).reshape(2, 2))
    assert -90 < d.angle_v <= 90 and -180 < d.angle_u <= 180


def test_reflection_and_collapse_are_named():
    assert linear.decompose(np.array([[1.0, 0], [0, -1]])).reflects
    assert linear.decompose(np.array([[1.0, 2.0], [2.0, 4.0]])).collapses


# --- models ------------------------------------------------------------------------------------------

def test_course_networks_have_the_published_parameter_counts():
    # the registry's default widths (core.practicum.datasets) are the notebook's: its published parameter counts
    for model, published in (("cnn", 6422), ("fc", 6442)):
        shape, rows = practicum_rows(model)
        assert count_parameters(build_model(rows, shape)) == published
    assert count_parameters(build_model(course_convnet(6), (1, 28, 28))) == 6422  # n_features=6, the notebook's
    assert count_parameters(build_model(course_fc(8), (1, 28, 28))) == 6442  # n_hidden=8
    shape, rows = practicum_rows("lc")
    lc = build_model(rows, shape)
    # locally connected twin: conv1 24*24 positions x 6 x 25 (+ bias), conv2 8*8 x 6 x 150 (+ bias)
    assert count_parameters(lc) == 24 * 24 * 6 * 26 + 8 * 8 * 6 * 151 + 4850 + 510


def test_lenet5_has_its_classic_size():
    shape, rows = PRESETS["LeNet-5"]
    assert count_parameters(build_model(rows, shape)) == 61706


def test_layer_table_multiply_adds_hand_worked():
    table = layer_table(build_model(course_convnet(6), (1, 28, 28)), (1, 28, 28))
    # conv1: 6 x 24 x 24 outputs, 25 multiply-adds each; conv2: 6 x 8 x 8 outputs, 6 x 25 each
    assert table.loc[0, "multiply-adds"] == 6 * 24 * 24 * 25
    assert table.loc[3, "multiply-adds"] == 6 * 8 * 8 * 150
    assert table.loc[7, "multiply-adds"] == 96 * 50
    assert table["output shape"].tolist()[:6] == [(6, 24, 24), (6, 24, 24), (6, 12, 12), (6, 8, 8), (6, 8, 8),
                                                 (6, 4, 4)]
    assert table["receptive field"].tolist()[:6] == ["5", "5", "6", "14", "14", "16"]


@pytest.mark.parametrize("rows,shape,match", [
    ([{"kind": "conv", "out": 4, "kernel": 9}], (1, 5, 5), "row 1: kernel 9 is larger"),
    ([{"kind": "conv", "out": -2, "kernel": 3}], (1, 8, 8), "row 1: 'out' must be at least 1"),
    ([{"kind": "conv", "out": 4, "kernel": 3}, {"kind": "flatten"}, {"kind": "conv", "out": 2, "kernel": 3}],
     (1, 16), "row 3: conv needs a 1D or 2D input"),
    ([{"kind": "relu"}, {"kind": "linear", "out": 3}], (1, 8, 8), "row 2: linear needs a flat input"),
    ([{"kind": "conv", "out": "many", "kernel": 3}], (1, 8, 8), "row 1: 'out' must be a whole number"),
    ([{"kind": "wormhole"}], (1, 8, 8), "row 1: unknown layer"),
    ([], (1, 8, 8), "empty"),
])
def test_bad_layer_lists_name_the_row(rows, shape, match):
    with pytest.raises(SpecError, match=match):
        build_model(rows, shape)


@pytest.mark.parametrize("nd", [1, 2])
def test_two_convolutions_without_nonlinearity_are_one(nd):
    conv = F.conv1d if nd == 1 else F.conv2d
    w1 = torch.randn(3, 2, *(3,) * nd, dtype=torch.float64)
    w2 = torch.randn(4, 3, *(2,) * nd, dtype=torch.float64)
    b1, b2 = torch.randn(3, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    x = torch.randn(2, 2, *(11,) * nd, dtype=torch.float64)
    composed = compose_kernels(w1, w2)
    assert composed.shape == (4, 2, *(4,) * nd)
    bias = b2 + (w2.sum(dim=tuple(range(2, w2.dim()))) * b1).sum(1)  # w2 applied to the constant b1, plus b2
    torch.testing.assert_close(conv(conv(x, w1, b1), w2, b2), conv(x, composed, bias))
    # with a ReLU between them the identity fails: the non-linearity is what makes depth useful
    assert not torch.allclose(conv(F.relu(conv(x, w1, b1)), w2, b2), conv(x, composed, bias))


def test_compose_hand_worked():
    # [1, 1] then [1, -1]: a box filter then a difference = [1, 0, -1]
    w = compose_kernels(torch.tensor([[[1.0, 1.0]]]), torch.tensor([[[1.0, -1.0]]]))
    assert w.flatten().tolist() == [1.0, 0.0, -1.0]


# --- kernels -----------------------------------------------------------------------------------------

def test_lecture_kernel_collection_2x7x3():
    from core.lecture.kernels import collection
    df = collection(2, 7, 3, nd=1).set_index("what")["shape"]
    assert df["weight (kernel collection)"] == "2 × 7 × 3"
    assert df["output (one sample)"] == "2 × 30"  # 32 samples, no padding: 32 - 3 + 1
    assert df["parameters"] == str(2 * 7 * 3 + 2)
    assert collection(4, 3, 5, nd=2).set_index("what")["shape"]["weight (kernel collection)"] == "4 × 3 × 5 × 5"


def test_even_kernels_shift_by_half_a_sample():
    from core.lecture.kernels import centre_shift
    df = centre_shift(2).set_index("kernel size")["shift (samples)"]
    # box of 2 with PyTorch's 'same' padding (extra sample after): y[n] = (x[n] + x[n+1]) / 2 -> centre 7.5
    assert df[2] == pytest.approx(-0.5) and df[3] == pytest.approx(0.0)
    for k in (1, 3, 5, 7):  # an odd kernel keeps the impulse in place: printed as 0, never "-0.0000000000000"
        shift = centre_shift(k).set_index("kernel size")["shift (samples)"][k]
        assert shift == 0.0 and not np.signbit(shift), (k, shift)


def test_classic_kernels_on_a_step():
    from core.lecture.kernels import apply_kernels
    step = np.r_[np.zeros(8), np.ones(8)]
    out = apply_kernels(step, ["edge", "blur"])
    assert out["edge"].argmax() in (7, 8) and out["edge"][0] == 0  # the edge kernel fires at the step only
    np.testing.assert_allclose(out["blur"][[6, 7, 8, 9]], [0, 0.25, 0.75, 1])


@pytest.mark.parametrize("name", list(PRESETS))
def test_the_shape_only_estimate_counts_what_the_real_model_has(name):
    """Oracle: the built model's own parameters and FlopCounterMode on real tensors (layer_table)."""
    from core.nets.layers import estimate
    from core.nets.models import layer_table

    shape, rows = PRESETS[name]
    cost = estimate(rows, shape)
    table = layer_table(build_model(rows, shape), shape)
    assert cost["parameters"] == table["parameters"].sum() == count_parameters(build_model(rows, shape))
    assert cost["macs"] == table["multiply-adds"].sum() and cost["depth"] == len(rows)


@pytest.mark.parametrize("text,word", [
    ("64x256x256:" + ";".join(["conv(out=64,kernel=64,padding=32)"] * 60), "multiply-adds"),
    ("64x256x256:conv(out=64,kernel=32,padding=16)", "multiply-adds"),
    ("64x256x256:flatten;linear(out=1024)", "parameters"),
    ("64x256x256:local(out=1024,kernel=64,padding=32)", "parameters"),
    ("64x256x256:conv(out=64,kernel=1);relu;conv(out=64,kernel=1);relu", "activation values"),
])
def test_heavy_layer_lists_are_refused_before_any_allocation(text, word, monkeypatch):
    from core.nets.layers import check_budget, text_to_rows

    def no_real_tensors(*args, **kwargs):
        raise AssertionError("a real tensor was allocated")
    shape, rows = text_to_rows(text)
    monkeypatch.setattr(torch, "zeros", no_real_tensors)
    with pytest.raises(SpecError, match=f"too large for a shared server.*{word}"):
        check_budget(rows, shape)


@pytest.mark.parametrize("p", [0, -1, float("nan"), float("inf"), "x"])
def test_lp_pool_p_out_of_range_is_named(p):
    with pytest.raises(SpecError, match="row 1: p must be"):
        build_model([{"kind": "lp pool", "kernel": 2, "p": p}], (1, 8, 8))


def test_three_is_the_smallest_kernel_that_looks_all_round():
    from core.lecture.kernels import neighbourhood, smallest_all_round

    table = neighbourhood(5).set_index("kernel")
    # hand-worked with PyTorch's 'same' rule (an even kernel pads one more after): a k x k kernel reads k*k pixels
    assert list(table["pixels read"]) == [1, 4, 9, 16, 25]
    assert table.loc["2×2", "rows"] == "+0 … +1" and not table.loc["2×2", "all four sides"]
    assert table.loc["4×4", "all four sides"] and not table.loc["4×4", "centred"]
    assert smallest_all_round(neighbourhood(5)) == "3×3"
    assert smallest_all_round(neighbourhood(2)) is None


def test_a_one_by_one_kernel_mixes_channels_and_never_neighbours():
    from core.lecture.kernels import MIXES, channel_mixing

    rng = np.random.default_rng(0)
    image = rng.random((12, 10, 3))
    out = channel_mixing(image, "luminance, red − green, blue − yellow")
    # oracle: the ITU-R 601 luma weights applied to each pixel by hand
    np.testing.assert_allclose(out["outputs"][0], image @ np.array([0.299, 0.587, 0.114]), atol=1e-12)
    np.testing.assert_allclose(out["outputs"][1], image[..., 0] - image[..., 1], atol=1e-12)
    assert out["neighbours_read"] == 0 and out["parameters"] == 9 and out["max_diff"] < 1e-12
    assert out["shapes"] == {64: (3, 64, 64), 256: (3, 256, 256)}
    swapped = channel_mixing(image, "swap red and blue")["outputs"]
    np.testing.assert_array_equal(swapped[0], image[..., 2])
    with pytest.raises(ValueError):
        channel_mixing(image, "sepia")
    assert set(MIXES) >= {"identity"}



def test_blur_pool_hand_worked():
    # 1D, k=2, stride 2: max with stride 1 -> [1, 3, 3, 2, 5]; reflect pad by 1 -> [3, 1, 3, 3, 2, 5, 2];
    # blur [1, 2, 1]/4 at every second position: (3+2+3)/4, (3+6+2)/4, (2+10+2)/4
    x = torch.tensor([[[1.0, 0.0, 3.0, 2.0, 1.0, 5.0]]], dtype=torch.float64)
    out = pooling.blur_pool(x, 2, 2)
    torch.testing.assert_close(out, torch.tensor([[[2.0, 2.75, 3.5]]], dtype=torch.float64))
    # 2D: the binomial is separable, so a 2D blur pool of an image constant along rows is the 1D one per row
    img = x[0, 0].repeat(6, 1)[None, None]
    out2 = pooling.blur_pool(img, 2, 2)
    torch.testing.assert_close(out2[0, 0], torch.tensor([2.0, 2.75, 3.5], dtype=torch.float64).repeat(3, 1))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.fixed_dictionaries({"kind": st.sampled_from(["conv", "local", "relu", "max pool", "lp pool",
                                                                    "batch norm", "linear", "flatten"])},
                                      optional={"out": st.integers(1, 64), "kernel": st.integers(1, 7),
                                                "stride": st.integers(1, 4), "padding": st.integers(0, 3),
                                                "p": st.sampled_from([1.0, 2.0, 2.5])}), max_size=8),
       st.sampled_from([(1, 28, 28), (3, 32, 32), (1, 40)]))
def test_the_layer_text_round_trips(rows, shape):
    from core.nets.layers import rows_to_text, text_to_rows

    text = rows_to_text(shape, rows)
    assert text_to_rows(text) == (shape, rows)  # numbers come back as the same values (6.0 == 6)
    assert text_to_rows(rows_to_text(*text_to_rows(text))) == text_to_rows(text)
    # hand-written: the course ConvNet's first block
    assert text_to_rows("1x28x28:conv(out=6,kernel=5);relu;max pool(kernel=2)") == (
        (1, 28, 28), [{"kind": "conv", "out": 6, "kernel": 5}, {"kind": "relu"}, {"kind": "max pool", "kernel": 2}])


def test_every_layer_kind_in_the_table_builds_and_spatial_ones_refuse_a_flat_input():
    from core.nets.layers import KINDS, LAYER_KINDS, SPATIAL

    row = {"out": 4, "kernel": 3}
    expected = {"conv": nn.Conv2d, "local": "LocallyConnected2d", "relu": nn.ReLU, "leaky relu": nn.LeakyReLU,
                "tanh": nn.Tanh, "max pool": nn.MaxPool2d, "avg pool": nn.AvgPool2d, "lp pool": nn.LPPool2d,
                "batch norm": nn.BatchNorm2d, "residual": "Residual", "flatten": nn.Flatten,
                "log softmax": nn.LogSoftmax}
    assert set(KINDS) == set(LAYER_KINDS) == set(expected) | {"linear"}
    for kind, cls in expected.items():
        layer = build_model([{"kind": kind, **row}], (2, 8, 8))[0]
        assert (type(layer).__name__ == cls) if isinstance(cls, str) else isinstance(layer, cls), kind
    assert isinstance(build_model([{"kind": "flatten"}, {"kind": "linear", "out": 3}], (2, 4))[1], nn.Linear)
    for kind in SPATIAL:
        with pytest.raises(SpecError, match="needs a 1D or 2D input"):
            build_model([{"kind": "flatten"}, {"kind": kind, **row}], (2, 8, 8))
    assert SPATIAL == {"conv", "local", "max pool", "avg pool", "lp pool", "batch norm", "residual"}


def test_shape_series_keeps_features_apart_from_channels():
    from core.nets.models import shape_series

    shape, rows = (1, 28, 28), course_convnet(6)
    model = build_model(rows, shape)
    table = layer_table(model, shape)
    series = shape_series(table)
    flat = table.loc[[len(s) == 1 for s in table["output shape"]], "#"]
    first_flat = int(flat.iloc[0])
    # by hand: the course ConvNet flattens 6 features x 4 x 4 = 96 values, then 50, then 10
    got = series[series["#"] == first_flat]
    assert list(got["quantity"]) == ["features"] and got["value"].item() == 96
    assert set(series.loc[series["#"].isin(flat), "quantity"]) == {"features"}
    assert series.loc[(series["#"] == 1) & (series["quantity"] == "channels"), "value"].item() == 6
    assert series.loc[(series["#"] == 1) & (series["quantity"] == "spatial size"), "value"].item() == 24
