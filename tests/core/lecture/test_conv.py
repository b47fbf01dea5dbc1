"""conv_matrix, LocallyConnected* and layer_costs against torch.nn.functional."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from core.lecture.conv import conv_matrix, layer_costs
from core.nets.local import LocallyConnected1d, LocallyConnected2d

MODES = ["zeros", "reflect", "replicate", "circular"]


def torch_pad(x, padding, mode):
    """F.pad with symmetric per-dimension padding (F.pad lists the last dimension first)."""
    pad = []
    for p in reversed(padding):
        pad += [p, p]
    return F.pad(x, pad, mode="constant" if mode == "zeros" else mode)


def torch_conv(x, weight, stride, padding, dilation, mode):
    """The oracle: F.pad in the given mode, then F.conv1d/conv2d."""
    nd = weight.dim() - 2
    x = torch_pad(x, padding, mode)
    conv = F.conv1d if nd == 1 else F.conv2d
    return conv(x, weight, stride=stride, dilation=dilation)


@st.composite
def geometries(draw, nd):
    mode = draw(st.sampled_from(MODES))
    dims = []
    for _ in range(nd):
        n = draw(st.integers(2, 12))
        k = draw(st.integers(1, 5))
        d = draw(st.integers(1, 3))
        s = draw(st.integers(1, 3))
        # reflect needs padding < n, circular padding <= n (PyTorch's own limits)
        p = draw(st.integers(0, min(3, n - 1)))
        if d * (k - 1) + 1 > n + 2 * p:
            k, d = 1, 1
        dims.append((n, k, s, p, d))
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return mode, c_in, c_out, dims


def draw_geometry(data, nd):
    """(padding mode, C_in, C_out, size, kernel, stride, padding, dilation), each of the last five per dimension."""
    mode, c_in, c_out, dims = data.draw(geometries(nd))
    return (mode, c_in, c_out, *[tuple(v[i] for v in dims) for i in range(5)])


@pytest.mark.parametrize("nd", [1, 2])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_conv_matrix_matches_torch(nd, data):
    mode, c_in, c_out, size, kernel, stride, padding, dilation = draw_geometry(data, nd)
    weight = torch.randn(c_out, c_in, *kernel, dtype=torch.float64)
    x = torch.randn(1, c_in, *size, dtype=torch.float64)
    m = conv_matrix(weight, size, stride=stride, padding=padding, dilation=dilation, padding_mode=mode)
    expected = torch_conv(x, weight, stride, padding, dilation, mode).reshape(-1)
    assert m.shape == (expected.numel(), x.numel())
    torch.testing.assert_close(m @ x.reshape(-1), expected)


def test_conv_matrix_hand_worked_toeplitz():
    m = conv_matrix(torch.tensor([[[1.0, 2.0, 3.0]]]), (5,)).to_dense()
    assert m.tolist() == [[1, 2, 3, 0, 0], [0, 1, 2, 3, 0], [0, 0, 1, 2, 3]]


def test_conv_matrix_int_arguments_and_errors():
    w = torch.randn(2, 1, 3, 3)
    assert conv_matrix(w, (6, 6), stride=2, padding=1).shape == (2 * 3 * 3, 36)
    with pytest.raises(ValueError, match="spans"):
        conv_matrix(w, (2, 2))
    with pytest.raises(ValueError, match="padding_mode"):
        conv_matrix(w, (6, 6), padding_mode="mirror")


def lc_oracle(x, lc):
    """A plain loop over output positions: each window times that position's own weights."""
    nd = lc.nd
    xp = torch_pad(x, lc.padding, lc.padding_mode)
    out = torch.zeros(x.shape[0], lc.out_channels, *lc.output_size, dtype=x.dtype)
    for pos, idx in enumerate(torch.cartesian_prod(*[torch.arange(o) for o in lc.output_size]).reshape(-1, nd)):
        sl = [slice(None), slice(None)]
        for i, s, d, k in zip(idx.tolist(), lc.stride, lc.dilation, lc.kernel_size):
            sl.append(slice(i * s, i * s + d * (k - 1) + 1, d))
        patch = xp[tuple(sl)].reshape(x.shape[0], -1)  # (B, C_in*K)
        out[(slice(None), slice(None), *idx.tolist())] = patch @ lc.weight[pos].T + lc.bias[:, pos]
    return out


@pytest.mark.parametrize("nd", [1, 2])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_locally_connected_matches_conv_and_loop(nd, data):
    mode, c_in, c_out, size, kernel, stride, padding, dilation = draw_geometry(data, nd)
    conv_cls, lc_cls = (nn.Conv1d, LocallyConnected1d) if nd == 1 else (nn.Conv2d, LocallyConnected2d)
    conv = conv_cls(c_in, c_out, kernel, stride, padding, dilation, padding_mode=mode).double()
    x = torch.randn(2, c_in, *size, dtype=torch.float64)
    twin = lc_cls.from_conv(conv, size).double()
    torch.testing.assert_close(twin(x), conv(x))
    free = lc_cls(c_in, c_out, kernel, size, stride, padding, dilation, padding_mode=mode).double()
    torch.testing.assert_close(free(x), lc_oracle(x, free))


def test_locally_connected_shapes_and_unshared_gradients():
    lc = LocallyConnected2d(1, 6, 5, (28, 28))
    assert lc.weight.shape == (24 * 24, 6, 25)
    assert sum(p.numel() for p in lc.parameters()) == 24 * 24 * 6 * 25 + 6 * 24 * 24
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 0, 0] = 1.0
    lc(x).sum().backward()
    # only windows containing pixel (0, 0) get a gradient: the first output position alone
    touched = (lc.weight.grad.abs().sum(dim=(1, 2)) > 0).nonzero().flatten().tolist()
    assert touched == [0]


@pytest.mark.parametrize("shape,c_out,k,stride,padding", [
    ((1, 5), 1, 3, 1, 0), ((3, 16), 4, 5, 2, 2), ((2, 8, 8), 3, 3, 1, 1), ((1, 28, 28), 6, 5, 1, 0)])
def test_layer_costs_against_torch_layers(shape, c_out, k, stride, padding):
    costs = layer_costs(shape, c_out, k, stride=stride, padding=padding)
    nd = len(shape) - 1
    conv = (nn.Conv1d if nd == 1 else nn.Conv2d)(shape[0], c_out, k, stride, padding)
    out = conv(torch.zeros(1, *shape)).shape[1:]
    fc = nn.Linear(math.prod(shape), math.prod(out))
    lc = (LocallyConnected1d if nd == 1 else LocallyConnected2d)(shape[0], c_out, k, shape[1:], stride, padding)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert costs.loc["convolution", "params"] == count(conv)
    assert costs.loc["fully connected", "params"] == count(fc)
    assert costs.loc["locally connected", "params"] == count(lc)
    nnz = conv_matrix(torch.ones_like(conv.weight), shape[1:], stride=stride, padding=padding)._nnz()
    assert costs.loc["convolution", "nonzeros"] == nnz == costs.loc["locally connected", "nonzeros"]
    assert costs.loc["convolution", "multiplies"] == math.prod(out) * shape[0] * k ** nd


def test_lecture_weight_counts():
    # course notes: 5 inputs, windows of 3 -> 9 weights unshared, 3 shared; week 4: 12 -> 3
    five = layer_costs((1, 5), 1, 3, bias=False)
    six = layer_costs((1, 6), 1, 3, bias=False)
    assert (five.loc["locally connected", "params"], five.loc["convolution", "params"]) == (9, 3)
    assert (six.loc["locally connected", "params"], six.loc["convolution", "params"]) == (12, 3)
