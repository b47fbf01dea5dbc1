"""The convolution stepper against PyTorch: every step's sum, the whole output, the transposed scatter."""

import io
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings, strategies as st
from PIL import Image

from core.stepper import MAX_STEPS, Setting, frame, gif, operands, run

TORCH_MODE = {"zeros": "constant", "constant": "constant", "reflect": "reflect", "replicate": "replicate",
              "circular": "circular"}


def oracle(s: Setting) -> np.ndarray:
    """PyTorch's answer on the same operands: F.pad then conv, or conv_transpose."""
    x, w = operands(s)
    xt = torch.as_tensor(x)[None, None]
    wt = torch.as_tensor(w)[None, None]
    if s.transposed:
        f = F.conv_transpose1d if s.nd == 1 else F.conv_transpose2d
        return f(xt, wt, stride=s.stride, padding=s.padding, dilation=s.dilation)[0, 0].numpy()
    if s.padding:
        xt = F.pad(xt, (s.padding,) * (2 * s.nd), mode=TORCH_MODE[s.mode])  # constant fill: the stepper's 0
    f = F.conv1d if s.nd == 1 else F.conv2d
    return f(xt, wt, stride=s.stride, dilation=s.dilation)[0, 0].numpy()


settings_ = st.builds(Setting, nd=st.sampled_from([1, 2]), size=st.integers(1, 9), kernel=st.integers(1, 5),
                      stride=st.integers(1, 3), padding=st.integers(0, 3),
                      mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
                      dilation=st.integers(1, 3), transposed=st.booleans(), seed=st.integers(0, 1000))


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
    want = oracle(s)[f["cell"]]
    assert f["products"]["product"].sum() == pytest.approx(want)
    # the sentence's total is torch's value, and it names every product of the window
    assert float(re.search(r"= (-?[\d.]+)\.$", f["sentence"]).group(1)) == pytest.approx(want)
    assert len(f["products"]) == s.kernel ** s.nd
    assert f["input"]["active"].sum() == len(set(zip(f["products"]["row"], f["products"]["col"])))
    out = f["output"]
    assert out["done"].sum() == step and out["active"].sum() == 1  # cells fill in order, one per step


def test_window_on_the_padded_input_by_hand():
    # 1D, input 4, kernel 3, stride 2, padding 1 (zeros): output 2; step 2 reads padded positions 2, 3, 4,
    # i.e. input cells 1, 2, 3 (labels start at -1 on the padded input)
    s = Setting(nd=1, size=4, kernel=3, stride=2, padding=1)
    f = frame(s, 2)
    assert sorted(f["input"].loc[f["input"]["active"], "col"]) == [1, 2, 3]
    assert list(f["input"].loc[f["input"]["padded"], "col"]) == [-1, 4]
    x, w = operands(s)
    assert f["products"]["product"].sum() == pytest.approx(x[1] * w[0] + x[2] * w[1] + x[3] * w[2])


def test_transposed_steps_scatter_into_the_output():
    s = Setting(nd=2, size=3, kernel=3, stride=2, padding=1, transposed=True)
    x, w = operands(s)
    f = frame(s, 1)  # input cell (0, 0) lands at -1..1 per axis; the -1 row and column are cropped
    assert f["output"]["active"].sum() == 4
    assert sorted(zip(f["products"]["target_row"], f["products"]["target_col"])) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    np.testing.assert_allclose(sorted(f["products"]["product"]), sorted((x[0, 0] * w[1:, 1:]).ravel()))
    last = frame(s, s.steps)
    np.testing.assert_allclose(last["output"]["value"].to_numpy().reshape(s.out_size, s.out_size), oracle(s))


@pytest.mark.parametrize("setting, words", [
    (Setting(size=3, padding=3, mode="reflect"), "reflect padding"),
    (Setting(size=2, kernel=5), "no output"),
    (Setting(transposed=True, padding=1, mode="circular"), "no padding modes"),
    (Setting(size=1, kernel=1, padding=2, transposed=True), "crops away"),
    (Setting(size=16, kernel=1, padding=6), "at most"),
    (Setting(kernel=9), "kernel must be between"),
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
