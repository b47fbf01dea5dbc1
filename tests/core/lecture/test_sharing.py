"""Parameter sharing: which layers take inputs of other sizes (PyTorch decides, on shapes alone)."""

import pytest
import torch

from core.lecture.sharing import apply_to_sizes


def test_only_the_convolution_takes_other_sizes_hand_worked():
    table = apply_to_sizes(1, 1, 3, 8, (4, 8, 12), nd=1).set_index("input")
    assert table["convolution"].tolist() == ["output 1x2", "output 1x6", "output 1x10"]  # n - 3 + 1
    assert table.loc["8", "locally connected"] == "output 1x6" and table.loc["8", "fully connected"] == "output 6"
    for n in ("4", "12"):
        assert table.loc[n, "locally connected"].startswith("cannot: it has one set of weights per output position")
        assert table.loc[n, "fully connected"].startswith("cannot: its matrix has 8 columns") and f"has {n} values" \
            in table.loc[n, "fully connected"]


def test_the_largest_setting_is_answered_without_allocating(monkeypatch):
    """16 x 64 x 64 with kernel 9: the fully connected layer would hold 3.3e9 weights (13 GB)."""
    real = torch.empty

    def meta_only(*args, **kwargs):
        device = kwargs.get("device")
        if (torch.device(device) if device is not None else torch.get_default_device()).type != "meta":
            raise AssertionError("a real tensor was allocated")
        return real(*args, **kwargs)
    monkeypatch.setattr(torch, "empty", meta_only)
    table = apply_to_sizes(16, 16, 9, 64, (32, 64, 128), nd=2).set_index("input")
    assert table.loc["64x64", "fully connected"] == "output 50176"
    assert table.loc["128x128", "convolution"] == "output 16x120x120"
    assert table.loc["32x32", "fully connected"].startswith("cannot: its matrix has 65536 columns")


@pytest.mark.parametrize("nd", [1, 2])
def test_the_convolution_cell_is_torchs_output_shape(nd):
    conv = (torch.nn.Conv1d if nd == 1 else torch.nn.Conv2d)(3, 4, 5)
    for n in (5, 9):
        expected = "output " + "x".join(map(str, conv(torch.zeros(1, 3, *(n,) * nd)).shape[1:]))
        assert apply_to_sizes(3, 4, 5, 9, (n,), nd=nd)["convolution"].iloc[0] == expected


def test_long_table_hand_worked():
    from core.tables import long_table

    df = long_table([[1, 2, 3], [4, 5, 6]], "w", layer="a")
    assert list(df.columns) == ["layer", "row", "col", "w"]
    assert df.values.tolist() == [["a", 0, 0, 1], ["a", 0, 1, 2], ["a", 0, 2, 3], ["a", 1, 0, 4], ["a", 1, 1, 5],
                                  ["a", 1, 2, 6]]
    assert long_table([7, 8])[["row", "col"]].values.tolist() == [[0, 0], [0, 1]]  # a 1D array is one row


def test_growth_caption_reads_the_table_both_ways():
    import pandas as pd

    from core.lecture.sharing import costs_vs_size, growth_caption

    # 1 channel in and out, kernel 3, 1D: at 128 samples 126 outputs, each with 3 weights and a bias of its own
    # (504) against the convolution's 3 + 1; both do 126 x 3 multiplies
    words = growth_caption(costs_vs_size(1, 1, 3, (8, 128)))
    assert "lies under the convolution's" in words and "126× fewer than" in words and "128 per side" in words
    rows = [(8, "convolution", 4, 18), (8, "locally connected", 24, 18), (8, "fully connected", 54, 48),
            (16, "convolution", 4, 42), (16, "locally connected", 56, 40), (16, "fully connected", 238, 224)]
    made_up = pd.DataFrame(rows, columns=["size", "layer", "params", "multiplies"])
    words = growth_caption(made_up)
    assert "lies under" not in words and "differ in multiplies at 1 of 2 sizes" in words and "14× fewer than" in words
    even = made_up.assign(params=4)
    assert "saves weights: few at 16 per side (1×)" in growth_caption(even)


@pytest.mark.parametrize("n, k", [(16, 3), (8, 1), (10, 5), (6, 6)])
def test_the_band_is_drawn_from_the_geometry_not_the_values(n, k):

    from core.lecture.sharing import _layers, sharing_caption, sharing_matrices

    cells = sharing_matrices(n, k)
    conv, lc, _ = _layers(1, 1, k, n, 1, 0)
    for name, part in cells.groupby("layer"):
        # by hand: output r reads inputs r .. r + k - 1, nothing else, whatever the weights are
        want = {(r, r + j) for r in range(n - k + 1) for j in range(k)}
        assert set(zip(part.loc[part["connected"], "row"], part.loc[part["connected"], "col"])) == want
        assert (part.loc[~part["connected"], "label"] == "").all()
        if name.startswith("convolution"):
            for (r, c), w, lab in zip(zip(part["row"], part["col"]), part["weight"], part["label"]):
                if (r, c) in want:  # the shared tap c - r, torch's own weight
                    assert lab == f"w{c - r}" and w == pytest.approx(float(conv.weight.detach()[0, 0, c - r]), abs=1e-6)
        else:
            assert part.loc[part["connected"], "label"].nunique() == len(want)
    text = sharing_caption(cells)
    assert f"the convolution has {len(want)} connections and {k} distinct weights" in text


def test_a_near_zero_weight_is_outlined_and_said_both_ways():
    from core.lecture.sharing import sharing_caption, sharing_matrices

    cells = sharing_matrices(16, 3, seed=0)  # this seed's kernel holds a tap of -0.0043
    band = cells[cells["connected"]]
    assert band["weight"].abs().min() < 0.005 and "almost white" in sharing_caption(cells)
    bold = cells.copy()
    bold.loc[bold["connected"], "weight"] = 1.0 + bold.loc[bold["connected"], "tap"]
    assert "almost white" not in sharing_caption(bold)
