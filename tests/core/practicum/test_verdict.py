"""The practicum's verdict is a function of the runs: fed runs where each side wins, too-short and too-close runs."""

import math

import pytest

from core.practicum.runs import RunConfig, RunResult
from core.practicum.verdict import verdict

CONFIG = {"dataset": "mnist", "epochs": 1, "lr": 0.01, "momentum": 0.5, "width": 8, "train_size": None}
TRAINED = [1.2, 0.9, 0.7, 0.6, 0.55, 0.5, 0.48, 0.46, 0.45, 0.44]  # a loss curve that has flattened


def run(model, permuted, accuracy, seed=0, losses=TRAINED, history=None, **config):
    config = RunConfig(model=model, permuted=permuted, **{**CONFIG, **config, "seed": seed})
    return RunResult(config, params=0, accuracy=accuracy, test_loss=0.5, per_class=[], losses=list(losses),
                     epochs=history or [{"epoch": 1, "accuracy": accuracy}])


def four(fc, cnn, fc_perm, cnn_perm, **kw):
    return [run("fc", False, fc, **kw), run("cnn", False, cnn, **kw), run("fc", True, fc_perm, **kw),
            run("cnn", True, cnn_perm, **kw)]


def test_the_lectures_runs_agree_with_the_lecture():
    v = verdict(four(87.5, 94.8, 85.9, 80.8))  # the lecture's re-run means
    assert v.agrees is True and v.what_ifs == []
    assert v.sentences[0] == ("On original pixels the ConvNet wins by 7.3 points (ConvNet 94.8 %, fully connected "
                              "87.5 %, one seed).")
    assert v.sentences[1].startswith("On permuted pixels the fully connected net wins by 5.1 points")
    assert "costs the ConvNet 14.0 points and the fully connected net 1.6" in v.sentences[2]
    assert "agree with the lecture" in v.sentences[-1]


def test_a_fully_connected_win_on_real_images_contradicts_the_lecture_and_offers_what_ifs():
    v = verdict(four(84.0, 79.0, 83.5, 70.0))  # e.g. another 28x28 data set, one epoch
    assert v.agrees is False
    assert v.sentences[0].startswith("On original pixels the fully connected net wins by 5.0 points")
    assert "contradict the lecture" in v.sentences[-1]
    texts = {w.text: w.changes for w in v.what_ifs}
    assert texts["more epochs (3; now 1, up to 5)"] == {"epochs": 3}
    assert texts["wider nets (twice as wide; now 8)"] == {"width_factor": 2}
    assert texts["a larger learning rate (now 0.01; momentum now 0.5)"] == {"lr": 0.02}


def test_runs_near_chance_or_barely_learning_are_too_short_to_say():
    flat = [2.30, 2.29, 2.28, 2.27, 2.26, 2.25, 2.24, 2.23, 2.22, 2.21]
    v = verdict(four(45.4, 39.3, 46.6, 14.3, losses=flat, train_size=5000))
    assert v.agrees is None
    assert all(c.outcome == "too short" for c in v.comparisons.values())
    assert "near chance (14.3 %, chance 10 %)" in v.sentences[1]
    assert "barely started learning (training loss 2.21, chance's is 2.30)" in v.sentences[0]
    assert "wins" not in " ".join(v.sentences) and "too short to test" in v.sentences[-1]
    assert any(w.text == "all 60,000 training samples (now 5,000)" and w.changes == {"train_size": None}
               for w in v.what_ifs)


def test_a_run_still_improving_is_too_short_and_one_noisy_epoch_is_not():
    rising = [{"epoch": e, "accuracy": a} for e, a in enumerate([60, 70, 78, 85], 1)]
    v = verdict([run("fc", False, 85, history=rising, epochs=4), run("cnn", False, 95)])
    assert v.comparisons[False].outcome == "too short" and "still improving (+7.0 points" in v.sentences[0]
    noisy = [{"epoch": e, "accuracy": a} for e, a in enumerate([90, 91, 89, 91.5], 1)]
    v = verdict([run("fc", False, 91.5, history=noisy, epochs=4), run("cnn", False, 95)])
    assert v.comparisons[False].outcome == "cnn"


def test_a_one_epoch_loss_still_falling_fast_is_too_short():
    falling = [2.0 * math.exp(-i / 3) for i in range(20)]
    v = verdict([run("fc", False, 88, losses=falling), run("cnn", False, 95)])
    assert "still falling fast" in v.sentences[0]


def test_a_margin_inside_the_seed_spread_is_too_close_to_call():
    v = verdict([run("fc", False, 94.0), run("cnn", False, 94.8)])
    assert v.comparisons[False].outcome == "too close" and v.agrees is None
    assert "too close to call" in v.sentences[0] and "0.8 points apart" in v.sentences[0]
    assert "train more seeds" in v.sentences[-1] or "both original and permuted" in v.sentences[-1]


def test_seeds_are_averaged_and_their_spread_decides():
    runs = []
    for seed, (fc, cnn) in enumerate([(90.0, 92.0), (91.0, 93.0), (89.0, 91.0)]):
        runs += [run("fc", False, fc, seed=seed), run("cnn", False, cnn, seed=seed)]
    c = verdict(runs).comparisons[False]
    # means 90 and 92; each std 1, so two standard errors of the difference: 2 * sqrt(1/3 + 1/3) = 1.63
    assert c.seeds == 3 and c.fc == pytest.approx(90.0) and c.cnn == pytest.approx(92.0)
    assert c.noise == pytest.approx(2 * math.sqrt(2 / 3)) and c.outcome == "cnn"
    assert "the mean of 3 seeds" in verdict(runs).sentences[0]


def test_mnist1d_speaks_of_positions_and_missing_models_are_asked_for():
    v = verdict(four(68, 94, 68, 56, dataset="mnist1d", epochs=20))
    assert v.sentences[0].startswith("On original positions the ConvNet wins") and v.agrees is True
    assert verdict([run("fc", False, 90)]).sentences == [
        "Train both the fully connected net and the ConvNet to compare them."]


def test_the_budget_is_named_only_when_the_nets_share_it():
    runs = four(87.5, 94.8, 85.9, 80.8)
    for r in runs:
        r.params = 6442 if r.model == "fc" else 6422
    assert "with the same budget, the ConvNet wins" in verdict(runs).sentences[-1]
    for r in runs:  # MNIST-1D's paper nets: an MLP of 15,210 weights, a CNN of 5,210
        r.params = 15210 if r.model == "fc" else 5210
    said = verdict(runs).sentences[-1]
    assert "same budget" not in said and "with 5,210 weights against the fully connected net's 15,210" in said


def test_the_seed_table_holds_the_runs_the_verdict_pools():
    from core.practicum.verdict import seed_table

    runs = four(87.0, 95.0, 86.0, 81.0, seed=0) + four(88.0, 94.0, 85.0, 80.0, seed=1)
    table = seed_table(runs)
    v = verdict(runs)
    assert list(table.columns) == ["model", "input", "seed 0", "seed 1", "mean", "spread (sd)"]
    cnn = table[(table["model"] == "ConvNet") & (table["input"] == "original")].iloc[0]
    assert (cnn["seed 0"], cnn["seed 1"], cnn["mean"]) == (95.0, 94.0, 94.5)
    assert cnn["spread (sd)"] == pytest.approx(math.sqrt(0.5))  # by hand: deviations of 0.5, n - 1 = 1
    assert cnn["mean"] == v.comparisons[False].cnn and v.comparisons[False].seeds == 2  # the verdict's own numbers
    one = seed_table(four(87.0, 95.0, 86.0, 81.0, seed=3))
    assert list(one.columns)[2] == "seed 3" and one["spread (sd)"].isna().all()


def test_the_lesson_follows_the_verdict_both_ways():
    from core.practicum.verdict import lesson

    agree = lesson(verdict(four(87.5, 94.8, 85.9, 80.8)), "mnist")
    assert "these runs show it" in agree and "real images" in agree
    fashion = lesson(verdict(four(84.0, 79.0, 83.5, 70.0)), "fashion-mnist")  # the FC net wins
    assert "do not show it" in fashion and "Fashion-MNIST" in fashion and "these runs show it" not in fashion
    short = lesson(verdict(four(87.5, 94.8, 85.9, 80.8, losses=[2.3] * 10)), "mnist1d")
    assert "cannot test yet" in short and "positions" in short


def test_fashion_mnist_classes_are_torchvisions_names():
    from torchvision.datasets import KMNIST, FashionMNIST

    from core.practicum.datasets import spec

    assert [spec("fashion-mnist").class_name(k).split(" ", 1)[1] for k in range(10)] == FashionMNIST.classes
    assert spec("fashion-mnist").class_name(9) == "9 Ankle boot" and spec("mnist").class_name(3) == "3"
    assert list(spec("kmnist").class_names) == KMNIST.classes


def test_the_published_figures_caption_names_each_mark_and_only_the_ranges_there_are():
    from core.practicum.practicum import reference_caption, reference_marks

    mnist = reference_caption(reference_marks("mnist", ("fc", "cnn")), ["diamonds", "triangles"])
    # the notebook prints 85-87 for the FC net on permuted pixels: a range, drawn at its middle
    assert mnist.startswith("Published figures: diamonds published in the course notebook; triangles the lecture's")
    assert mnist.endswith("A range (85-87) is drawn at its middle.")
    one_d = reference_caption(reference_marks("mnist1d", ("fc", "cnn")), ["diamonds", "triangles"])
    assert one_d == "Published figures: diamonds the MNIST-1D paper (Greydanus and Kobak 2024)."  # no range
