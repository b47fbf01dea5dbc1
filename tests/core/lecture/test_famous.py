"""Famous ConvNets: fields against Distill's published numbers, totals against torchvision's, the analytic field
against the gradient of an all-paths twin, the cut network against forward hooks."""

import math

import numpy as np
import pytest
import torch

from core.lecture.famous import (ARCHITECTURES, INPUT, _truncated, body, build, centre_box, gradient_field, layer_table,
                         photo, published)
from core.nets.receptive_field import _all_paths_model, _central_unit_grad

SLOW = {"VGG-16", "ResNet-50", "MobileNetV2", "EfficientNet-B0", "ConvNeXt-Tiny"}
ALL = [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in ARCHITECTURES]


@pytest.fixture(scope="module")
def tables():
    cache = {}

    def get(name):
        if name not in cache:
            model = build(name)
            cache[name] = (model, *layer_table(model))
        return cache[name]
    return get


@pytest.mark.parametrize("name, rf", [("AlexNet", 195), pytest.param("VGG-16", 212, marks=pytest.mark.slow)])
def test_fields_match_distill(tables, name, rf):
    _, df, _ = tables(name)
    assert df.iloc[-1]["rf"] == rf and df.iloc[-1]["jump"] == 32


@pytest.mark.parametrize("name", ALL)
def test_totals_match_torchvision(tables, name):
    _, _, totals = tables(name)
    want = published(name)
    assert totals["parameters"] == want["parameters"]
    assert totals["macs"] / 1e9 == pytest.approx(want["gmacs"], abs=6e-4)  # torchvision rounds to 3 decimals


def test_vgg_centre_box_by_hand(tables):
    _, df, _ = tables("AlexNet")
    # AlexNet's last row: 6 x 6 units, field 195, jump 32, start 31: unit 3 is centred at 31 + 3 * 32 = 127
    box = centre_box(df.iloc[-1])
    assert box["unit"] == (3, 3) and box["spans"][0] == (127 - 97, 127 + 97)
    assert box["clipped"] == (30, 223, 30, 223) and not box["covers"]


@pytest.mark.parametrize("name", ALL)
def test_analytic_field_is_the_all_paths_gradients_support(tables, name):
    """At the deepest layer whose first unit's field ends inside the input (and before any global gate), the
    unit (0, 0) of a twin where every connection is positive depends on exactly the analytic interval."""
    model, df, _ = tables(name)
    ok = df[(~df["whole"]) & (df["start"].map(lambda s: s if not isinstance(s, tuple) else s[0]) +
                              (df["rf"] - 1) / 2 < INPUT - 1)]
    row = ok.iloc[-1]
    twin = _all_paths_model(_truncated(body(model), row["node"]), 2)
    grad, _ = _central_unit_grad(twin, torch.ones(1, 3, INPUT, INPUT, dtype=torch.float64), (0, 0))
    support = grad[0].sum(0) > 0
    rows, cols = support.nonzero(as_tuple=True)
    hi = math.floor(row["start"] + (row["rf"] - 1) / 2)
    lo = max(0, math.ceil(row["start"] - (row["rf"] - 1) / 2))
    assert (int(rows.min()), int(rows.max())) == (lo, hi) == (int(cols.min()), int(cols.max()))
    assert row["depth"] >= (2 if df["whole"].any() else 3)  # a gated net: the first gate comes at depth 3


@pytest.mark.slow
def test_efficientnet_gates_see_the_whole_input(tables):
    model, df, _ = tables("EfficientNet-B0")
    gate = df[df["type"] == "gate"].iloc[0]
    assert df.loc[df["depth"] >= gate["depth"], "whole"].all()
    twin = _all_paths_model(_truncated(body(model), gate["node"]), 2)
    grad, _ = _central_unit_grad(twin, torch.ones(1, 3, INPUT, INPUT, dtype=torch.float64), (0, 0))
    assert bool((grad[0].sum(0) > 0).all())  # unit (0, 0) depends on every pixel, its local field does not


def test_the_cut_network_is_the_layers_own_output(tables):
    model, df, _ = tables("ResNet-18")
    row = df[df["layer"] == "layer2.0.conv1"].iloc[0]  # layer2's first conv
    seen = {}
    model.layer2[0].conv1.register_forward_hook(lambda m, i, o: seen.setdefault("out", o))
    x = torch.randn(1, 3, INPUT, INPUT)
    with torch.no_grad():
        model(x)
        cut = _truncated(body(model), row["node"])(x)
    torch.testing.assert_close(cut, seen["out"])


def test_gradient_field_is_local_and_centred(tables):
    model, df, _ = tables("AlexNet")
    row = df.iloc[2]  # an early layer: the field is small
    grad = gradient_field(model, row["node"], photo())
    box = centre_box(row)
    r0, r1, c0, c1 = box["clipped"]
    inside = grad[r0:r1 + 1, c0:c1 + 1].sum()
    assert grad.shape == (INPUT, INPUT) and inside == pytest.approx(grad.sum())  # nothing outside the field
    assert np.unravel_index(grad.argmax(), grad.shape)[0] in range(r0, r1 + 1)


def test_unknown_architecture():
    with pytest.raises(ValueError, match="must be one of AlexNet"):
        build("GPT-5")


def test_the_effective_field_sentence_follows_the_gradient():
    from core.lecture.famous import effective_summary

    box = (50, 149, 50, 149)  # a 100-px field inside the image
    peaked = np.zeros((INPUT, INPUT))
    peaked[95:105, 95:105] = 1.0
    assert "much smaller than the theoretical one, as Luo" in effective_summary(peaked, 100, box)
    flat = np.zeros((INPUT, INPUT))
    flat[50:150, 50:150] = 1.0
    text = effective_summary(flat, 100, box)
    assert "about as large as the theoretical one." in text and "Luo" not in text
    assert "(100 px of it inside the image)" in effective_summary(flat, 300, box)
    assert "untrained" in text


def test_an_identity_network_is_said_so_and_not_credited_to_luo():
    from core.lecture.famous import effective_summary

    box = (50, 149, 50, 149)
    peaked = np.zeros((INPUT, INPUT))
    peaked[95:105, 95:105] = 1.0
    text = effective_summary(peaked, 100, box, (18, 1e-6))
    assert "each of the 18 residual blocks" in text and "1e-06" in text and "identity" in text
    assert "as Luo" not in text and "untrained" in text


def _block_is_identity(block, channels):
    x = torch.randn(2, channels, 14, 14)
    with torch.no_grad():
        return float((block(x) - x).abs().max() / x.abs().max()) < 1e-4


@pytest.mark.slow
def test_convnext_blocks_are_identities_at_initialisation_and_resnet_blocks_are_not():
    from torchvision.models.convnext import CNBlock
    from torchvision.models.resnet import BasicBlock

    from core.lecture.famous import identity_blocks

    convnext = build("ConvNeXt-Tiny").eval()
    blocks = [m for m in convnext.modules() if isinstance(m, CNBlock)]
    # the oracle: run every block and see its output equal its input
    identities = sum(_block_is_identity(b, b.block[0].in_channels) for b in blocks)
    assert identities == len(blocks) == 18
    count, scale = identity_blocks(convnext)
    assert count == identities and scale == pytest.approx(1e-6)
    resnet = build("ResNet-18").eval()
    plain = [m for m in resnet.modules() if isinstance(m, BasicBlock) and m.downsample is None]
    assert not any(_block_is_identity(b, b.conv1.in_channels) for b in plain)
    assert identity_blocks(resnet) == (0, 0.0)


@pytest.mark.parametrize("name", ALL)
def test_layer_names_are_torchvisions_own(tables, name):
    model, df, _ = tables(name)
    names = dict(model.named_modules())
    for layer, kind in zip(df["layer"], df["type"]):
        if kind in ("merge", "gate"):  # named after the block it closes: "layer1.0 (add)"
            block, op = layer.rsplit(" (", 1)
            assert block in names and op in ("add)", "mul)"), layer
        else:
            assert layer in names and type(names[layer]).__name__ == kind, layer
    if name == "ResNet-18":
        assert list(df["layer"][:3]) == ["conv1", "maxpool", "layer1.0.conv1"]


@pytest.mark.slow
def test_a_built_net_keeps_no_classifier_in_memory():
    """AlexNet's classifier is 235 MB of random weights that nothing here runs: the first build added 243 MB that
    never came back. Measured in a fresh process: resident memory after the build and its table, against before."""
    import subprocess
    import sys
    from pathlib import Path

    script = "\n".join([
        "import gc, sys", "sys.path.insert(0, '.')",
        "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * 4096 / 2 ** 20",
        "from core.lecture.famous import build, layer_table", "import torch, torchvision", "torch.zeros(1)",
        "before = rss()", "m = build('AlexNet'); df, totals = layer_table(m); gc.collect()",
        "print(rss() - before, totals['parameters'])"])
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[3]).stdout.split()
    grown, parameters = float(out[-2]), int(out[-1])
    assert parameters == published("AlexNet")["parameters"]  # the totals still count the classifier
    assert grown < 100, f"building AlexNet kept {grown:.0f} MB"


@pytest.mark.parametrize("name, first_rf, last_rf, published", [("AlexNet", 11, 195, 195), ("ResNet-18", 7, 435, None)])
def test_the_growth_chart_says_the_fields_growth(tables, name, first_rf, last_rf, published):
    """AlexNet's 195 and ResNet-18's 435 are Distill's (Araujo et al. 2019); the first layer's field is its kernel."""
    from core.lecture.famous import growth_lead

    _, df, _ = tables(name)
    said = growth_lead(name, df, 1)
    assert said.startswith(f"{name}'s receptive field grows from {first_rf} to {last_rf} pixels")
    assert ("published field is 195" in said) == (published is not None)
    assert f"Marked: depth 1, {df.iloc[0]['layer']}, field {first_rf} pixels" in said
