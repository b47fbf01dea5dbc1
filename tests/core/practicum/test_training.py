"""The practicum's data, engine and worker: oracles, real MNIST, MNIST-1D, concurrency, crash safety."""


import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.practicum import data as data_mod
from core.practicum.data import DataUnavailable, load_dataset, permute_pixels, pixel_permutation
from core.nets.grouped import fast_order
from core.nets.layers import build_model
from core.nets.networks import course_convnet
from core.practicum.models import practicum_rows
from core.practicum.runs import Cancelled, Progress, RunConfig, RunResult, comparison, pair_of
from core.practicum.training import MomentumSGD, train, train_runs


def test_permutation_is_a_bijection_shared_by_train_and_test():
    perm = pixel_permutation(784, seed=3)
    assert sorted(perm.tolist()) == list(range(784)) and not torch.equal(perm, torch.arange(784))
    assert torch.equal(perm, pixel_permutation(784, seed=3))
    ds = load_dataset("mnist1d")
    perm40 = pixel_permutation(40, seed=3)
    # the training loop permutes train and test batches with the same permutation: index by hand as the oracle
    assert torch.equal(permute_pixels(ds.train.x, perm40)[:, 0], ds.train.x[:, 0][:, perm40])
    assert torch.equal(permute_pixels(ds.test.x, perm40)[:, 0], ds.test.x[:, 0][:, perm40])
    # a pixel's value moves, the histogram of each sample does not
    x = torch.arange(2 * 784).reshape(2, 1, 28, 28)
    assert torch.equal(permute_pixels(x, perm).flatten(1).sort().values, x.flatten(1).sort().values)


def test_batches_are_the_notebooks_normalisation_and_leave_the_data_alone():
    from dataclasses import replace
    from torchvision import transforms

    ds = load_dataset("mnist1d")  # float32 samples: a careless in-place normalisation would write into them
    before = ds.train.x.clone()
    split = replace(ds.train, scale=2.0, shift=-1.0)
    idx = torch.tensor([5, 0, 7])
    assert torch.equal(split.batch(idx), before[idx] * 2.0 - 1.0)
    assert torch.equal(split.batch(slice(0, 4)), before[:4] * 2.0 - 1.0)
    assert torch.equal(ds.train.x, before)
    # uint8 images: the notebook's ToTensor() then Normalize((0.1307,), (0.3081,)), sample by sample
    from core.practicum.data import Split

    raw = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    images = Split(raw, torch.zeros(3, dtype=torch.long), 1 / (255 * 0.3081), -0.1307 / 0.3081)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    expected = torch.stack([tf(r[0].numpy()) for r in raw])
    assert torch.allclose(images.batch(torch.arange(3)), expected, atol=1e-5)


def test_momentum_sgd_equals_torch_optim_sgd():
    torch.manual_seed(0)
    a = build_model(course_convnet(6), (1, 28, 28))
    b = build_model(course_convnet(6), (1, 28, 28))
    b.load_state_dict(a.state_dict())
    ours, ref = MomentumSGD(a.parameters(), 0.01, 0.5), torch.optim.SGD(b.parameters(), lr=0.01, momentum=0.5)
    for step in range(5):
        x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
        for model, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            F.nll_loss(model(x), y).backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


def test_fast_order_computes_the_notebook_network():
    torch.manual_seed(0)
    notebook = build_model(course_convnet(6), (1, 28, 28))
    fast = build_model(fast_order(course_convnet(6)), (1, 28, 28))
    assert [type(m).__name__ for m in fast][:3] == ["Conv2d", "MaxPool2d", "ReLU"]
    fast.load_state_dict(notebook.state_dict())
    x = torch.randn(8, 1, 28, 28)
    torch.testing.assert_close(fast(x), notebook(x))


def test_locally_connected_twin_has_the_convnets_windows():
    shape, rows = practicum_rows("lc")
    model = build_model(rows, shape)
    assert [tuple(m.weight.shape) for m in model if hasattr(m, "output_size")] == [(576, 6, 25), (64, 6, 150)]


@pytest.fixture(scope="module")
def mnist(data_dir):
    return load_dataset("mnist", str(data_dir))


@pytest.mark.slow  # real MNIST trainings, seconds each
@pytest.mark.parametrize("seed", [0, 1])
def test_real_mnist_convnet_wins_then_loses_to_permutation(mnist, seed):
    acc = {(r.model, r.permuted): r.accuracy
           for r in (train(c, mnist) for c in comparison(("fc", "cnn"), seed=seed, train_size=20000, lr=0.03))}
    assert acc["cnn", False] > acc["fc", False] + 2  # locality pays on real images
    assert acc["cnn", True] < acc["cnn", False] - 8  # and is lost with the pixels scrambled
    assert acc["cnn", True] < acc["fc", True]  # where the fully connected net does not care
    assert abs(acc["fc", True] - acc["fc", False]) < 6


@pytest.mark.slow  # four 10-epoch trainings
def test_mnist1d_cnn_beats_mlp_until_shuffled():
    ds = load_dataset("mnist1d")
    acc = {(r.model, r.permuted): r.accuracy
           for r in (train(c, ds) for c in comparison(("fc", "cnn"), dataset="mnist1d", epochs=10))}
    # the paper: MLP 68, CNN 94; shuffled MLP 68, CNN 56
    assert acc["cnn", False] > acc["fc", False] + 10
    assert acc["cnn", True] < acc["cnn", False] - 15


def test_same_seed_same_result_and_cancel():
    ds = load_dataset("mnist1d")
    config = RunConfig(model="cnn", dataset="mnist1d", epochs=1, train_size=1000)
    a, b = train(config, ds), train(config, ds)
    assert a.accuracy == b.accuracy and a.losses == b.losses
    progress = Progress()
    with pytest.raises(Cancelled):
        train(config, ds, progress=progress, should_stop=lambda: progress.step >= 10, report_every=5)
    assert progress.step == 10


def test_links_are_clamped():
    config, notes = RunConfig(epochs=1000, batch_size=1, width=999).clamped()
    assert (config.epochs, config.batch_size, config.width) == (5, 8, 128) and len(notes) == 3
    # MNIST-1D's paper widths (100 hidden units, 25 channels) are inside the bounds: no notice
    assert RunConfig(model="fc", dataset="mnist1d", width=100).clamped()[1] == []


def test_equivalent_settings_share_one_key():
    # no width is the data set's default width; all the training samples is no train_size
    assert RunConfig(model="fc").clamped()[0].key() == RunConfig(model="fc", width=8).clamped()[0].key()
    assert RunConfig(model="fc").clamped()[0].key() != RunConfig(model="fc", width=9).clamped()[0].key()
    assert RunConfig(model="cnn", width=None).clamped()[0].key() == RunConfig(model="cnn", width=6).clamped()[0].key()
    assert RunConfig(train_size=60000).clamped()[0].key() == RunConfig(train_size=None).clamped()[0].key()
    one_d = RunConfig(model="fc", dataset="mnist1d")
    assert one_d.clamped()[0].width == 100 and RunConfig(dataset="mnist1d", train_size=4000).clamped()[0].train_size is None
    assert RunConfig(dataset="mnist1d", epochs=1000).clamped()[0].epochs == 50
    with pytest.raises(ValueError):
        RunConfig(model="transformer").clamped()


def test_no_data_and_no_network_is_a_clear_error(offline_without_data):
    assert not data_mod.available("mnist")
    with pytest.raises(DataUnavailable, match="CONVLAB_DATA_DIR"):
        data_mod.load_images("mnist", True)


def test_stacked_networks_are_their_members():
    """The grouped pair computes each member's own outputs and gradients (oracle: the members run alone)."""
    from core.nets.grouped import stack_models

    for name in ("cnn", "fc"):
        shape, rows = practicum_rows(name)
        members = []
        for seed in (0, 1):
            torch.manual_seed(seed)
            members.append(build_model(fast_order(rows), shape))
        stacked = stack_models(members)
        xs, y = [torch.randn(16, *shape) for _ in members], torch.randint(0, 10, (16,))
        out = stacked(torch.cat(xs, 1))
        assert out.shape == (16, 2, 10)
        sum(F.nll_loss(out[:, g], y) for g in range(2)).backward()
        for g, (m, x) in enumerate(zip(members, xs)):
            alone = m(x)
            torch.testing.assert_close(out[:, g], alone, atol=1e-5, rtol=1e-5)
            F.nll_loss(alone, y).backward()
        for sp, parts in zip(stacked.parameters(), zip(*(m.parameters() for m in members))):
            grads = [p.grad for p in parts]  # conv: concatenated along the channels; linear: one slab per member
            expected = torch.stack(grads) if sp.shape == (2, *parts[0].shape) else torch.cat(grads)
            torch.testing.assert_close(sp.grad, expected, atol=1e-5, rtol=1e-4)


def test_a_pair_trains_each_member_as_its_own_run(mnist):
    original = RunConfig(model="cnn", train_size=3000)
    pair = pair_of(original)
    assert pair == (original, RunConfig(model="cnn", train_size=3000, permuted=True))
    assert pair_of(RunConfig(model="fc")) is None and pair_of(RunConfig(model="cnn", dataset="mnist1d")) is None
    a, b = train_runs(pair, mnist, device="cpu")
    assert (a.permuted, b.permuted) == (False, True) and a.params == b.params == 6422
    assert a.trained_with == b.key and b.trained_with == a.key
    assert len(a.filters) == 6 and a.filters != b.filters
    # asking for one member trains its pair: the same result, whoever asks
    again = train(pair[1], mnist, device="cpu")
    assert again.accuracy == b.accuracy and again.losses == b.losses


def test_partial_permutation_moves_only_its_share():
    full = pixel_permutation(40, seed=1)
    assert torch.equal(full, pixel_permutation(40, seed=1, fraction=1.0))
    half = pixel_permutation(40, seed=1, fraction=0.5)
    assert sorted(half.tolist()) == list(range(40))
    assert (half != torch.arange(40)).sum() <= 20  # at most the chosen half moves
    assert torch.equal(pixel_permutation(40, seed=1, fraction=0.0), torch.arange(40))


def test_prior_advantage_hand_worked():
    from core.practicum.knobs import prior_advantage

    def run(model, permuted, fraction, acc):
        config = RunConfig(model=model, permuted=permuted, dataset="mnist1d", perm_fraction=fraction)
        return RunResult(config, params=0, accuracy=acc, test_loss=0.0, per_class=[], losses=[])
    df = prior_advantage([run("cnn", False, 1.0, 90), run("fc", False, 1.0, 60),
                          run("cnn", True, 0.5, 55), run("fc", True, 0.5, 58)])
    assert df["shuffled share"].tolist() == [0.0, 0.5] and df["advantage"].tolist() == [30, -3]


def test_mnist1d_knobs_reach_the_generator():
    from core.practicum.knobs import knob_configs

    configs = knob_configs("translation")
    assert [c.m1d_translation for c in configs] == [1, 1, 16, 16, 32, 32, 48, 48]
    still = load_dataset("mnist1d", max_translation=1)
    moved = load_dataset("mnist1d", max_translation=48)
    assert not torch.equal(still.train.x, moved.train.x)
    assert torch.equal(load_dataset("mnist1d", max_translation=None).train.x, load_dataset("mnist1d").train.x)


def test_training_cost_hand_worked():
    """The fully connected net: 784*8 + 8*8 + 8*10 = 6,416 multiply-adds a sample, forward."""
    from core.practicum.costs import training_cost

    fc = RunConfig(model="fc", train_size=1000, epochs=2)
    assert training_cost([fc]) == 6416 * 2 * (3 * 1000 + 10000)
    heavy = comparison(("fc", "cnn", "lc"), epochs=5, width=64)
    assert training_cost(heavy) > 10 * training_cost(comparison(("fc", "cnn")))


def test_a_convnet_result_carries_its_effective_field_before_and_after_training():
    from core.practicum.practicum import effective_fields
    from core.nets.receptive_field import empirical_receptive_field, gradient_field

    ds = load_dataset("mnist1d")
    config = RunConfig(model="cnn", dataset="mnist1d", epochs=2, train_size=500).clamped()[0]
    r = train(config, ds)
    erf = r.erf
    assert len(erf["random"]) == len(erf["trained"]) == 40 and max(erf["trained"]) == 1.0
    # oracle for "random": the same seed rebuilds the initial network; its gradient field on the same inputs
    shape, rows = practicum_rows("cnn", "mnist1d", config.width)
    torch.manual_seed(config.seed)
    from core.nets.grouped import fast_order, spatial_prefix
    prefix = spatial_prefix(build_model(fast_order(rows), shape))
    g = gradient_field(prefix, ds.test.batch(slice(0, 64)))
    np.testing.assert_allclose(erf["random"], (g / g.max()).numpy(), atol=1e-4)
    # the field never leaves the analytic one (gradient support of the all-positive twin)
    support = empirical_receptive_field(prefix, (1, *shape)).support.numpy()
    assert not np.any(np.asarray(erf["trained"])[~support])
    pixels, summary, sentence = effective_fields(r)
    assert list(summary["stage"]) == ["at initialisation", "after training"] and len(pixels) == 80
    assert sentence.startswith("The effective field of the central unit")


@pytest.mark.parametrize("scale, word", [(2.0, "narrower"), (0.5, "wider"), (1.0, "about as wide")])
def test_the_effective_field_sentence_follows_the_numbers(scale, word):
    from core.practicum.practicum import effective_fields

    x = np.arange(121) - 60.0  # wide enough that no Gaussian here is cut off
    random = np.exp(-x ** 2 / (2 * 6.0 ** 2))
    trained = np.exp(-(x * scale) ** 2 / (2 * 6.0 ** 2))  # a Gaussian of std 6 / scale
    erf = {"random": random.tolist(), "trained": trained.tolist(), "samples": 64}
    _, summary, sentence = effective_fields(RunResult(RunConfig(dataset="mnist1d"), 0, 50.0, 0.0, [], [], erf=erf))
    assert word in sentence
    assert summary["rms radius"].iloc[0] == pytest.approx(6.0, rel=0.01)  # the std of the Gaussian, by hand
    assert summary["rms radius"].iloc[1] == pytest.approx(6.0 / scale, rel=0.02)


@pytest.mark.slow  # two child processes
def test_the_command_line_trains_and_writes_json(tmp_path):
    import json
    import subprocess
    import sys

    from core.practicum.data import mnist1d

    out = tmp_path / "runs.json"
    done = subprocess.run([sys.executable, "-m", "core.service.experiment", "--dataset", "mnist1d", "--models", "fc",
                           "--epochs", "1", "--train-size", "200", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=data_mod.__file__.rsplit("/core/", 1)[0])
    assert done.returncode == 0, done.stderr
    runs = json.loads(out.read_text())["runs"]
    assert [(r["model"], r["permuted"]) for r in runs] == [("fc", False), ("fc", True)]
    # the MNIST-1D paper's MLP: 40 -> 100 -> 100 -> 10, weights and biases
    assert all(r["params"] == 40 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10 for r in runs)
    assert all(0 <= r["accuracy"] <= 100 and len(r["per_class"]) == 10 for r in runs)
    assert [RunResult.from_dict(r).config.train_size for r in runs] == [200, 200]  # the lab reads them back
    assert len(mnist1d().test.y) == 1000 and "accuracy" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "core.service.experiment", "--models", "transformer"], capture_output=True,
                         text=True, timeout=120, cwd=data_mod.__file__.rsplit("/core/", 1)[0])
    assert bad.returncode != 0 and "--models takes" in bad.stderr and "Traceback" not in bad.stderr


def test_a_practicum_link_asks_for_the_notebooks_four_runs():
    from core.practicum.practicum import curated_configs, practicum_configs

    configs, notes = practicum_configs()
    # written out by hand from the notebook: n_hidden 8, n_features 6, SGD lr 0.01 momentum 0.5, one epoch
    expected = [RunConfig(model=m, permuted=p, dataset="mnist", epochs=1, lr=0.01, momentum=0.5, width=w)
                for p in (False, True) for m, w in (("fc", 8), ("cnn", 6))]
    assert configs == expected and notes == []
    configs, notes = practicum_configs("mnist1d", ("cnn",), epochs=500, train_size=4000)
    assert [c.epochs for c in configs] == [50, 50] and notes == ["epochs 500 is outside 1..50; using 50"]
    assert configs[0].train_size is None and configs[0].width == 25  # all samples; the paper's width
    links = dict(curated_configs())
    assert links["the notebook's four runs"] == expected and len(links["the signals page's knob"]) == 8


@pytest.mark.slow  # small trainings through the warm-up path
def test_warm_up_trains_the_curated_links_once(tmp_path, monkeypatch, capsys):
    from core.service import experiment
    from core.practicum import practicum

    small = [("tiny", [RunConfig(model="fc", dataset="mnist1d", epochs=1, train_size=300, permuted=p)
                       for p in (False, True)])]
    monkeypatch.setattr(practicum, "curated_configs", lambda: small)
    monkeypatch.setenv("CONVLAB_RESULTS_DIR", str(tmp_path))
    monkeypatch.delenv("CONVLAB_DASK_SCHEDULER", raising=False)
    assert experiment.main(["--warm"]) == 0
    assert "tiny" in capsys.readouterr().out and len(list(tmp_path.glob("*.json"))) == 2
    assert experiment.main(["--warm"]) == 0
    assert "2 runs, 2 stored already" in capsys.readouterr().out
