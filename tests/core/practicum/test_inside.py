"""Inside the trained networks: stored weights rebuild the very network that was evaluated, feature maps are the
layers' own outputs, unpermuted weights are the same linear function, drawings are preprocessed as MNIST was."""

import numpy as np
import pytest
import torch
from torch import nn

from core.practicum.data import load_dataset, permute_pixels
from core.nets.grouped import fast_order, stack_models, unstack
from core.practicum.inside import (MISTAKES, confusion, drawn_input, feature_maps, first_kernels, first_layer_images,
                         load_model, preprocess_drawing, probabilities, sample_input)
from core.nets.layers import build_model
from core.practicum.models import practicum_rows
from core.service.store import ResultStore


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist")


@pytest.fixture(scope="module")
def trained(trained_practicum):
    """FC and ConvNet, original and permuted (the session's stored runs), read back with their weights."""
    root, configs = trained_practicum
    store = ResultStore(root)
    return [(store.get(c.key()), load_model(store.get(c.key()), store.get_weights(c.key()))) for c in configs]


def test_unstack_gives_each_member_its_own_network():
    shape, rows = practicum_rows("cnn", "mnist", 4)
    torch.manual_seed(0)
    members = [build_model(fast_order(rows), shape) for _ in range(2)]
    stacked = stack_models(members)
    with torch.no_grad():
        for p in stacked.parameters():
            p.add_(torch.randn_like(p))  # "training": the stacked weights move away from the members'
    x = torch.randn(5, 1, 28, 28)
    for g in range(2):
        fresh = build_model(fast_order(rows), shape)
        own = unstack(stacked, 2, g, fresh)
        torch.testing.assert_close(own(x), stacked(torch.cat([x, x], 1))[:, g], rtol=1e-4, atol=1e-3)


def test_stored_weights_rebuild_the_evaluated_network(trained, mnist):
    for result, model in trained:
        matrix, wrong = confusion(result, model, mnist)
        assert matrix.sum() == len(mnist.test.y) == 10000
        # the training's own evaluation (another code path, on the grouped network) is the oracle
        assert 100 * np.trace(matrix) / matrix.sum() == pytest.approx(result.accuracy, abs=1e-9)
        np.testing.assert_allclose(100 * np.diag(matrix) / matrix.sum(1), result.per_class, atol=1e-6)
        assert len(wrong) == MISTAKES and all(t != p for _, t, p in wrong)
        assert all(mnist.test.y[i] == t for i, t, _ in wrong)


def test_feature_maps_are_each_layers_output(trained, mnist):
    result, model = next((r, m) for r, m in trained if r.model == "cnn" and not r.permuted)
    x, _ = sample_input(mnist, 0)
    maps = feature_maps(model, x)
    assert [n.split(": ")[1] for n, _ in maps][:2] == [type(model[0]).__name__, type(model[1]).__name__]
    for i, (name, fmap) in enumerate(maps):
        with torch.no_grad():
            want = model[:i + 1](x[None])[0].numpy()  # the prefix of the network, run by itself
        np.testing.assert_allclose(fmap, want, rtol=1e-5, atol=1e-6)
    kernels = first_kernels(model)
    assert kernels.shape[1:] == (1, 5, 5)
    np.testing.assert_array_equal(kernels, np.array(result.filters).reshape(kernels.shape))


def test_feature_maps_come_in_the_courses_order_with_the_full_size_relu_maps(trained, mnist):
    import torch.nn.functional as F

    result, model = next((r, m) for r, m in trained if r.model == "cnn" and not r.permuted)
    x, _ = sample_input(mnist, 3)
    maps = feature_maps(model, x)
    assert [n.split(": ")[1] for n, _ in maps][:3] == ["Conv2d", "ReLU", "MaxPool2d"]  # as /anatomy lists it
    conv = model[0]
    with torch.no_grad():  # by hand: the ReLU of the first convolution, 28 - 5 + 1 = 24 a side
        want = F.relu(F.conv2d(x[None].float(), conv.weight, conv.bias))[0].numpy()
    assert maps[1][1].shape[1:] == (24, 24)
    np.testing.assert_allclose(maps[1][1], want, rtol=1e-5, atol=1e-6)
    fast = build_model(fast_order(practicum_rows("cnn", "mnist", result.config.width)[1]), (1, 28, 28))
    fast.load_state_dict(model.state_dict())  # the engine's order, the same weights: the same outputs
    with torch.no_grad():
        torch.testing.assert_close(fast.eval()(x[None].float()), model(x[None].float()), rtol=0, atol=0)


def test_unpermuted_fc_weights_are_the_same_function_of_the_original_image(trained, mnist):
    result, model = next((r, m) for r, m in trained if r.model == "fc" and r.permuted)
    images = first_layer_images(model, result, (28, 28))
    x, _ = sample_input(mnist, 3)
    perm_x = permute_pixels(x[None], __import__("core.practicum.inside", fromlist=["permutation"]).permutation(result, 784))
    linear = next(m for m in model if isinstance(m, nn.Linear))
    want = perm_x.flatten() @ linear.weight.detach().T  # what the net computes from the permuted image
    got = torch.as_tensor(images.reshape(len(images), -1)) @ x.flatten()  # the displayed weights, original image
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert first_layer_images(*next((m, r) for r, m in trained if r.model == "cnn"), (28, 28)) is None


def test_probabilities_are_each_runs_softmax(trained, mnist):
    x, label = sample_input(mnist, 0)
    df = probabilities(trained, x, label)
    assert set(df["run"]) == {"FC, original", "FC, permuted", "ConvNet, original", "ConvNet, permuted"}
    for run, part in df.groupby("run"):
        assert part["probability"].sum() == pytest.approx(1.0, abs=1e-5)
        assert part["predicted"].iloc[0] == part.loc[part["probability"].idxmax(), "class"]
        assert part["right"].iloc[0] == (part["predicted"].iloc[0] == label)


def test_a_drawn_digit_is_preprocessed_as_mnist_was(mnist):
    for index in range(5):
        x, label = sample_input(mnist, index)
        original = mnist.test.x[index, 0].numpy() / 255.0
        canvas = np.kron(original, np.ones((10, 10)))  # the digit drawn 10x larger, light on dark
        rgba = np.stack([canvas * 255] * 3 + [np.full_like(canvas, 255)], axis=-1).astype(np.uint8)
        ready = preprocess_drawing(rgba)
        assert ready.shape == (28, 28) and ready.max() == pytest.approx(1.0)
        r = np.corrcoef(ready.ravel(), original.ravel())[0, 1]
        assert r > 0.85, (index, r)  # MNIST's own recipe gives back (nearly) MNIST's image
        torch.testing.assert_close(drawn_input(mnist, original), x, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="empty"):
        preprocess_drawing(np.zeros((280, 280, 4), dtype=np.uint8))


def test_foreign_weights_are_refused(trained):
    import io

    fc = next(r for r, _ in trained if r.model == "fc")
    cnn_model = next(m for r, m in trained if r.model == "cnn")

    buf = io.BytesIO()
    torch.save(cnn_model.state_dict(), buf)
    with pytest.raises(ValueError, match="do not fit"):
        load_model(fc, buf.getvalue())
    with pytest.raises(ValueError, match="do not fit"):
        load_model(fc, b"not a torch file")


def _png(width, height, mode="RGBA"):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, (width, height)).save(buf, format="PNG")
    return buf.getvalue()


def test_a_drawing_is_checked_before_it_is_decoded(monkeypatch):
    import struct
    import zlib

    from PIL import Image

    from core.practicum.inside import decode_drawing

    good = decode_drawing(_png(280, 280), 280)
    assert good.shape == (280, 280, 4) and decode_drawing(None, 280) is None
    assert decode_drawing(_png(560, 560), 280).shape == (560, 560, 4)  # a high-density screen's canvas
    # a 13,000 x 13,000 header in a few dozen bytes (7 GB decoded): refused from the header, never opened
    ihdr = struct.pack(">II5B", 13000, 13000, 8, 6, 0, 0, 0)
    bomb = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("a picture this large was opened"))
    with pytest.raises(ValueError, match="13000 × 13000 pixels"):
        decode_drawing(bomb, 280)
    with pytest.raises(ValueError, match="at most 2 MB"):
        decode_drawing(b"\x89PNG\r\n\x1a\n" + b"0" * (2 ** 21), 280)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="2000 × 2000"):
        decode_drawing(_png(2000, 2000, "L"), 280)


@pytest.mark.parametrize("value, words", [
    (b"", "not arrive as a PNG"), (b"GIF89a" + b"\0" * 40, "not arrive as a PNG"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 40, "not arrive as a PNG"),  # a JPEG
    ("truncated", "could not be read"), ("zero", "pixels; the canvas"),
])
def test_malformed_drawings_get_one_line(value, words):
    import struct

    from core.practicum.inside import decode_drawing

    if value == "truncated":
        value = _png(280, 280)[:60]
    elif value == "zero":
        value = _png(280, 280)[:16] + struct.pack(">II", 0, 280) + _png(280, 280)[24:]
    with pytest.raises(ValueError, match=words):
        decode_drawing(value, 280)


def test_an_oversized_weights_file_is_refused_before_it_is_read(trained, tmp_path, monkeypatch):
    from pathlib import Path

    from core.practicum.inside import weights_budget

    fc, _ = next((r, m) for r, m in trained if r.model == "fc")
    store = ResultStore(tmp_path)
    store.put(fc)
    path = store.root / f"{fc.key}.pt"
    path.write_bytes(b"\0" * (weights_budget(fc) + 1))
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("an oversized file was read"))
    with pytest.raises(ValueError, match="MB, more than the"):
        store.get_weights(fc.key, weights_budget(fc))
    monkeypatch.undo()
    with pytest.raises(ValueError, match="more than this network's 6,442 parameters"):
        load_model(fc, b"\0" * (weights_budget(fc) + 1))
    # the budget holds the real thing: 6,442 float32 weights in torch.save's archive
    import io

    buf = io.BytesIO()
    torch.save(next(m for r, m in trained if r.key == fc.key).state_dict(), buf)
    assert len(buf.getvalue()) <= weights_budget(fc) and fc.params == 6442
