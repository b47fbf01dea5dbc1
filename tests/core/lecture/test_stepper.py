"""The convolution stepper against PyTorch: every step's sum, the whole output, the transposed scatter."""

import io
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings, strategies as st
from PIL import Image

from core.lecture.stepper import Setting, frame, operands, run
from core.lecture.stepper_gif import gif
from core.limits import STEPPER_STEPS as MAX_STEPS

TORCH_MODE = {"zeros": "constant", "constant": "constant", "reflect": "reflect", "replicate": "replicate",
              "circular": "circular"}


def oracle(s: Setting) -> np.ndarray:
    """PyTorch's answer on the same operands, ``(c_out, *out)``: F.pad then conv with ``groups``, or
    conv_transpose."""
    x, w = operands(s)
    xt, wt = torch.as_tensor(x)[None], torch.as_tensor(w)
    if s.transposed:
        f = F.conv_transpose1d if s.nd == 1 else F.conv_transpose2d
        return f(xt, wt, stride=s.stride, padding=s.padding, dilation=s.dilation)[0].numpy()
    before, after = (s.dilation * (s.kernel - 1), 0) if s.causal else (s.padding, s.padding)
    if before or after:  # F.pad lists the last dimension first; the fill is the stepper's value
        xt = F.pad(xt, (before, after) * s.nd, mode=TORCH_MODE[s.mode],
                   **({"value": s.value} if s.mode == "constant" else {}))
    f = F.conv1d if s.nd == 1 else F.conv2d
    return f(xt, wt, stride=s.stride, dilation=s.dilation, groups=s.c_in if s.depthwise else 1)[0].numpy()


settings_ = st.builds(Setting, nd=st.sampled_from([1, 2]), size=st.integers(1, 9), kernel=st.integers(1, 5),
                      stride=st.integers(1, 3), padding=st.integers(0, 3),
                      mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
                      dilation=st.integers(1, 3), transposed=st.booleans(), seed=st.integers(0, 1000))
channels_ = st.builds(Setting, nd=st.sampled_from([1, 2]), size=st.integers(1, 7), kernel=st.integers(1, 4),
                      stride=st.integers(1, 3), padding=st.integers(0, 2),
                      mode=st.sampled_from(["zeros", "constant", "reflect", "replicate", "circular"]),
                      dilation=st.integers(1, 2), seed=st.integers(0, 1000), c_in=st.integers(1, 3),
                      c_out=st.integers(1, 4), depthwise=st.booleans(), causal=st.booleans(),
                      value=st.sampled_from([0.0, -1.5, 2.0]))


@settings(max_examples=120, deadline=None)
@given(settings_)
def test_whole_output_equals_torch(s):
    if s.transposed:
        s = Setting(**{**s.__dict__, "mode": "zeros"})
    assume(s.problem() is None)
    np.testing.assert_allclose(run(s), oracle(s), atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(settings_, st.integers(1, MAX_STEPS))
def test_each_forward_step_is_its_output_cell(s, k):
    s = Setting(**{**s.__dict__, "transposed": False})
    assume(s.problem() is None)
    step = (k - 1) % s.steps + 1
    f = frame(s, step)
    want = oracle(s)[f["out_channel"]][f["cell"]]
    assert f["products"]["product"].sum() == pytest.approx(want)
    # the sentence's total is torch's value, and it names every product of the window
    assert float(re.search(r"= (-?[\d.]+)\.$", f["sentence"]).group(1)) == pytest.approx(want)
    assert len(f["products"]) == s.kernel ** s.nd
    assert f["input"]["active"].sum() == len(set(zip(f["products"]["row"], f["products"]["col"])))
    out = f["output"]
    assert out["done"].sum() == step and out["active"].sum() == 1  # cells fill in order, one per step


@settings(max_examples=150, deadline=None)
@given(channels_)
def test_several_channels_depthwise_and_causal_equal_torch(s):
    """C_in channels and C_out kernels (groups = 1, or depthwise: groups = C_in), causal 1D padding and the
    constant fill: the whole output and every step's sum are PyTorch's."""
    assume(s.problem() is None)
    want = oracle(s)
    np.testing.assert_allclose(run(s), want, atol=1e-9)
    for step in sorted({1, s.steps, (s.steps + 1) // 2}):
        f = frame(s, step)
        assert f["products"]["product"].sum() == pytest.approx(want[f["out_channel"]][f["cell"]])
        # the window is summed across the channels this kernel reads: all of them, or its own one (depthwise)
        read = set(f["products"]["channel"])
        assert read == ({f["out_channel"] // (s.c_out // s.c_in)} if s.depthwise else set(range(s.c_in)))
        assert len(f["products"]) == len(read) * s.kernel ** s.nd
        assert set(f["input"].loc[f["input"]["active"], "channel"]) == read
        assert set(f["output"].loc[f["output"]["active"], "channel"]) == {f["out_channel"]}


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9), st.integers(1, 5), st.integers(0, 500), st.integers(1, 3))
def test_the_flipped_kernel_is_the_mathematicians_convolution(size, kernel, seed, c_in):
    from scipy.signal import convolve

    s = Setting(nd=1, size=size, kernel=kernel, seed=seed, c_in=c_in)
    assume(s.problem() is None)
    x, w = operands(s)
    # scipy's convolve flips the kernel: the textbook definition, summed over the input channels
    want = sum(convolve(x[c], w[0, c], mode="valid") for c in range(c_in))
    for step in range(1, s.steps + 1):
        f = frame(s, step)
        assert f["flipped"] == pytest.approx(want[f["cell"][0]])
        total = f["products"]["product"].sum()
        assert (f"give {f['flipped']:g}" in f["flip_sentence"]) and (
            ("the same value" in f["flip_sentence"]) == (f["flipped"] == total))


def test_causal_padding_pads_the_past_only_by_hand():
    # 1D, input 5, kernel 3, dilation 2: span 5, so 4 cells before and none after; output 5 (one per input)
    s = Setting(nd=1, size=5, kernel=3, dilation=2, causal=True)
    assert s.pads == (4, 0) and s.out_size == 5
    f = frame(s, 1)  # output 0 reads padded -4, -2, 0: only input 0 is real, nothing later than it
    assert sorted(f["input"].loc[f["input"]["active"], "col"]) == [-4, -2, 0]
    assert list(f["input"].loc[f["input"]["padded"], "col"]) == [-4, -3, -2, -1]
    for step in range(1, 6):  # no output reads an input after its own position
        g = frame(s, step)
        assert g["input"].loc[g["input"]["active"], "col"].max() == g["cell"][0]
    assert "causal" in Setting(nd=2, causal=True).problem()


def test_window_on_the_padded_input_by_hand():
    # 1D, input 4, kernel 3, stride 2, padding 1 (zeros): output 2; step 2 reads padded positions 2, 3, 4,
    # i.e. input cells 1, 2, 3 (labels start at -1 on the padded input)
    s = Setting(nd=1, size=4, kernel=3, stride=2, padding=1)
    f = frame(s, 2)
    assert sorted(f["input"].loc[f["input"]["active"], "col"]) == [1, 2, 3]
    assert list(f["input"].loc[f["input"]["padded"], "col"]) == [-1, 4]
    x, w = operands(s)
    assert f["products"]["product"].sum() == pytest.approx(x[0, 1] * w[0, 0, 0] + x[0, 2] * w[0, 0, 1] + x[0, 3] * w[0, 0, 2])


def test_transposed_steps_scatter_into_the_output():
    s = Setting(nd=2, size=3, kernel=3, stride=2, padding=1, transposed=True)
    x, w = operands(s)
    f = frame(s, 1)  # input cell (0, 0) lands at -1..1 per axis; the -1 row and column are cropped
    assert f["output"]["active"].sum() == 4
    assert sorted(zip(f["products"]["target_row"], f["products"]["target_col"])) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    np.testing.assert_allclose(sorted(f["products"]["product"]), sorted((x[0, 0, 0] * w[0, 0, 1:, 1:]).ravel()))
    last = frame(s, s.steps)
    np.testing.assert_allclose(last["output"]["value"].to_numpy().reshape(s.out_size, s.out_size), oracle(s)[0])


@pytest.mark.parametrize("setting, words", [
    (Setting(size=3, padding=3, mode="reflect"), "reflect padding"),
    (Setting(size=2, kernel=5), "no output"),
    (Setting(transposed=True, padding=1, mode="circular"), "no padding modes"),
    (Setting(size=1, kernel=1, padding=2, transposed=True), "crops away"),
    (Setting(size=16, kernel=1, padding=6), "at most"),
    (Setting(kernel=9), "kernel must be between"),
    (Setting(c_in=2, c_out=3, depthwise=True), "multiple of the input channels"),
    (Setting(c_in=2, transposed=True), "one channel in and one out"),
    (Setting(mode="constant", padding=1, value=float("nan")), "constant fill"),
    (Setting(c_out=4, size=16, padding=1), "at most 400"),
])
def test_settings_that_cannot_step_say_why(setting, words):
    assert words in setting.problem()
    with pytest.raises(ValueError, match=words):
        frame(setting, 1)


def test_step_out_of_range():
    with pytest.raises(ValueError, match="between 1 and 9"):
        frame(Setting(), 10)


def test_gif_has_one_frame_per_step():
    s = Setting(nd=1, size=6, kernel=3, stride=1, padding=1, mode="circular")
    img = Image.open(io.BytesIO(gif(s)))
    assert img.format == "GIF" and img.n_frames == s.steps == 6
    s = Setting(nd=2, size=4, kernel=3, padding=1, c_in=3, c_out=2)
    img = Image.open(io.BytesIO(gif(s)))
    assert img.n_frames == s.steps == 2 * 16 and img.height >= 3 * 6 * 28  # three channels stacked


def test_a_gif_is_costed_before_it_is_drawn_and_refused_past_the_budget():
    from core.lecture.stepper_gif import gif_cell, gif_size
    from core.limits import GIF_BYTES as GIF_BUDGET

    hostile = Setting(nd=2, size=16, kernel=7, stride=4, dilation=4, transposed=True)  # 256 frames of 85 x 85 cells
    with pytest.raises(ValueError, match="MB of frames"):
        gif_cell(hostile)
    with pytest.raises(ValueError, match="MB of frames"):
        gif(hostile)
    s = Setting(nd=2, size=16, kernel=3, padding=1)  # 256 frames: drawn with smaller cells to fit
    cell = gif_cell(s)
    w, h, n = gif_size(s, cell)
    assert cell < 28 and w * h * n <= GIF_BUDGET < gif_size(s, 28)[0] * gif_size(s, 28)[1] * n
    small = Setting(nd=1, size=6, kernel=3, c_in=2, c_out=2)
    img = Image.open(io.BytesIO(gif(small)))
    assert img.size == gif_size(small, gif_cell(small))[:2] and img.n_frames == gif_size(small, 28)[2]


@pytest.mark.slow
def test_the_largest_gif_allowed_stays_under_300_mb(tmp_path):
    import subprocess
    import sys

    script = ("import resource, sys; sys.path.insert(0, '.')\n"
              "from core.lecture.stepper import Setting\nfrom core.lecture.stepper_gif import gif\n"
              "s = Setting(nd=2, size=16, kernel=3, padding=1)\n"
              "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
              "gif(s)\n"
              "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)\n")
    grown = float(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                                 cwd=str(__import__("pathlib").Path(__file__).parents[3])).stdout.split()[-1])
    assert grown < 300, f"the GIF's peak added {grown:.0f} MB"


@pytest.mark.parametrize("s", [Setting(), Setting(nd=1, size=8, kernel=3, stride=2, padding=2, mode="reflect",
                                                  dilation=2), Setting(seed=5, c_out=2)])
def test_the_animations_text_says_torchs_output(s):
    from core.lecture.stepper_gif import gif_alt

    said = gif_alt(s)
    want = " ".join(f"{v:g}" for v in oracle(s).ravel())
    assert said.endswith(f"row by row: {want}") and f"{s.steps} frames" in said, (said, want)
