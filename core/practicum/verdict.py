"""The practicum's verdict, computed from the runs: who won, by how much, over how many seeds, and whether to trust it.

The lecture's lesson has two parts (section 10): on real images the ConvNet
wins with the same budget; scramble the pixels and the ConvNet loses its
edge while the fully connected net barely notices. Whether a given set of
runs shows that is read from the runs themselves, never assumed:

- a comparison is *too short to say* when a run is near chance, has barely
  started learning (training loss above half of chance's, ln C / 2), or was
  still improving fast when it stopped;
- a difference smaller than the seed-to-seed spread is *too close to call*:
  two standard errors of the difference over the seeds trained, or, with one
  seed, the lecture's measured spread of about 1.5 points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.practicum.datasets import spec
from core.practicum.models import input_name, model
from core.practicum.runs import RunConfig, RunResult

SEED_SPREAD = 1.5  # points: the lecture's seed-to-seed spread of the notebook's runs
NEAR_CHANCE = 15.0  # points above chance
STILL_FALLING = 0.25  # a one-epoch run whose loss fell by a quarter over its last fifth was still learning fast
STILL_RISING = 2.0  # points of test accuracy gained in the last epoch


COMPARED = ("fc", "cnn")  # the verdict weighs the fully connected net against the ConvNet

@dataclass
class Comparison:
    """FC against ConvNet on one kind of input (original or permuted pixels)."""

    permuted: bool
    fc: float  # mean test accuracy over the seeds
    cnn: float
    seeds: int
    margin: float  # cnn - fc
    noise: float  # the smallest margin that counts
    problems: list[str] = field(default_factory=list)  # why the runs are too short to say

    @property
    def outcome(self) -> str:
        """``"too short"``, ``"too close"``, ``"cnn"`` or ``"fc"``."""
        if self.problems:
            return "too short"
        if abs(self.margin) < self.noise:
            return "too close"
        return "cnn" if self.margin > 0 else "fc"


@dataclass
class Verdict:
    comparisons: dict[bool, Comparison]  # permuted -> comparison
    sentences: list[str]  # what the page says, in order
    agrees: bool | None  # with the lecture's lesson; None: the runs cannot say
    what_ifs: list[WhatIf]


def _unit(dataset: str) -> str:
    return spec(dataset).unit


def _problems(run: RunResult) -> list[str]:
    name = f"{model(run.model).noun} ({'permuted' if run.permuted else 'original'} {_unit(run.dataset)})"
    classes, chance = spec(run.dataset).classes, spec(run.dataset).chance
    out = []
    if run.accuracy < chance + NEAR_CHANCE:
        out.append(f"{name} is near chance ({run.accuracy:.1f} %, chance {chance:.0f} %)")
    losses = [v for v in run.losses if math.isfinite(v)]
    if losses and losses[-1] > 0.5 * math.log(classes):
        out.append(f"{name} has barely started learning (training loss {losses[-1]:.2f}, chance's is "
                   f"{math.log(classes):.2f})")
    epochs = [e["accuracy"] for e in run.epochs]
    if len(epochs) >= 2:  # the last quarter of the epochs against the best before it: one noisy epoch is no trend
        k = max(1, len(epochs) // 4)
        gain = np.mean(epochs[-k:]) - max(epochs[:-k])
        if gain > STILL_RISING:
            span = "its last epoch" if k == 1 else f"its last {k} epochs"
            out.append(f"{name} was still improving ({gain:+.1f} points of test accuracy in {span})")
    elif len(losses) >= 10:
        n = len(losses) // 5
        before, last = np.mean(losses[-2 * n:-n]), np.mean(losses[-n:])
        if before > 0 and 1 - last / before > STILL_FALLING:
            out.append(f"{name}'s training loss was still falling fast ({100 * (1 - last / before):.0f} % over "
                       "the last fifth of training)")
    return out


@dataclass
class WhatIf:
    """A setting to try, said in words, and the change it makes (``RunConfig`` fields; ``width_factor``
    multiplies every net's width)."""

    text: str
    changes: dict


def _what_ifs(config: RunConfig) -> list[WhatIf]:
    """Settings that would let the runs learn more, from the configuration they share."""
    ds = spec(config.dataset)
    out = []
    if config.epochs < ds.max_epochs:
        more = min(ds.max_epochs, max(3, 2 * config.epochs))
        out.append(WhatIf(f"more epochs ({more}; now {config.epochs}, up to {ds.max_epochs})", {"epochs": more}))
    if config.train_size and config.train_size < ds.train_size:
        out.append(WhatIf(f"all {ds.train_size:,} training samples (now {config.train_size:,})",
                           {"train_size": None}))
    width = config.width
    if width is None or width < ds.max_width:
        out.append(WhatIf(f"wider nets (twice as wide; now {'the defaults' if width is None else width})",
                          {"width_factor": 2}))
    out.append(WhatIf(f"a larger learning rate (now {config.lr:g}; momentum now {config.momentum:g})",
                      {"lr": 2 * config.lr}))
    return out


def verdict(results: list[RunResult]) -> Verdict:
    """Compare the FC nets and ConvNets in ``results`` (any number of seeds each) and say what they show."""
    groups: dict[tuple[str, bool], list[RunResult]] = {}
    for r in results:
        if r.model in COMPARED:
            groups.setdefault((r.model, r.permuted), []).append(r)
    comparisons = {}
    for permuted in (False, True):
        fc, cnn = groups.get(("fc", permuted), []), groups.get(("cnn", permuted), [])
        if not fc or not cnn:
            continue
        a = np.array([r.accuracy for r in fc])
        b = np.array([r.accuracy for r in cnn])
        seeds = min(len(a), len(b))
        if seeds >= 2:  # two standard errors of the difference of the means
            noise = 2 * math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
            noise = max(noise, 0.5)
        else:
            noise = SEED_SPREAD
        problems = [p for r in fc + cnn for p in _problems(r)]
        comparisons[permuted] = Comparison(permuted, float(a.mean()), float(b.mean()), seeds,
                                           float(b.mean() - a.mean()), noise, problems)
    if not comparisons:
        return Verdict({}, ["Train both the fully connected net and the ConvNet to compare them."], None, [])
    config = next(iter(groups.values()))[0].config
    unit = _unit(config.dataset)
    sentences = [_sentence(c, unit) for c in comparisons.values()]
    original, scrambled = comparisons.get(False), comparisons.get(True)
    if original is not None and scrambled is not None and not original.problems and not scrambled.problems:
        sentences.append(f"Scrambling the {unit} costs the ConvNet {original.cnn - scrambled.cnn:.1f} points and "
                         f"the fully connected net {original.fc - scrambled.fc:.1f}.")
    agrees = _agrees(original, scrambled)
    real = "real images" if unit == "pixels" else "sequences in their own order"
    what_ifs = []
    if agrees is True:
        sentences.append(f"These runs agree with the lecture: {_budget(groups)}the ConvNet wins on {real}, and "
                         f"scrambling the {unit} takes its edge away while the fully connected net barely notices.")
    elif agrees is False:
        sentences.append(f"These runs contradict the lecture, which found the ConvNet ahead on {real} and hurt more "
                         "than the fully connected net by scrambling. The what-ifs that tell why: try")
        what_ifs = _what_ifs(config)
    else:
        if any(c.outcome == "too short" for c in comparisons.values()):
            sentences.append("These runs are too short to test the lecture's lesson. Let them learn more: try")
            what_ifs = _what_ifs(config)
        elif any(c.outcome == "too close" for c in comparisons.values()):
            sentences.append("These runs cannot test the lecture's lesson yet: train more seeds (the Seed slider; "
                             "every seed trained with these settings counts here).")
        elif original is None or scrambled is None:
            sentences.append(f"Train the nets on both original and permuted {unit} to test the lecture's lesson.")
    return Verdict(comparisons, sentences, agrees, what_ifs)


def _budget(groups: dict) -> str:
    """'with the same budget, ' when the two nets' parameter counts are within 10 %, else both counts."""
    fc = next((r.params for r in groups.get(("fc", False), [])), None)
    cnn = next((r.params for r in groups.get(("cnn", False), [])), None)
    if not fc or not cnn:
        return ""
    if max(fc, cnn) <= 1.1 * min(fc, cnn):
        return "with the same budget, "
    return f"with {cnn:,} weights against the fully connected net's {fc:,}, "


def _sentence(c: Comparison, unit: str) -> str:
    where = f"{'permuted' if c.permuted else 'original'} {unit}"
    seeds = "one seed" if c.seeds == 1 else f"the mean of {c.seeds} seeds"
    if c.outcome == "too short":
        return f"On {where}: too short to say: " + "; ".join(c.problems) + "."
    scores = f"ConvNet {c.cnn:.1f} %, fully connected {c.fc:.1f} %, {seeds}"
    if c.outcome == "too close":
        return (f"On {where}: too close to call ({scores}): {abs(c.margin):.1f} points apart, within the "
                f"seed-to-seed spread of about {c.noise:.1f}.")
    winner = "the ConvNet" if c.outcome == "cnn" else "the fully connected net"
    return f"On {where} {winner} wins by {abs(c.margin):.1f} points ({scores})."


def _agrees(original: Comparison | None, scrambled: Comparison | None) -> bool | None:
    """The lecture's two claims, each True, False or None (cannot say), combined."""
    claims = []
    if original is not None and original.outcome in ("cnn", "fc"):
        claims.append(original.outcome == "cnn")  # the ConvNet wins on real images
    if original is not None and scrambled is not None and not original.problems and not scrambled.problems:
        cost_cnn, cost_fc = original.cnn - scrambled.cnn, original.fc - scrambled.fc
        if abs(cost_cnn - cost_fc) >= max(original.noise, scrambled.noise):
            claims.append(cost_cnn > cost_fc)  # scrambling hurts the ConvNet more
    if original is None or any(c.outcome in ("too short", "too close") for c in (original, scrambled) if c):
        if not claims or all(claims):
            return None  # part of the lesson cannot be tested: say nothing about agreement
    if not claims:
        return None
    return all(claims)


def seed_table(results: list[RunResult]) -> pd.DataFrame:
    """The runs the verdict pools, one row per net and input, one column per seed (test accuracy %), then their
    mean and spread (the sample standard deviation; blank with one seed). Only the nets the verdict compares."""
    groups: dict[tuple[str, bool], dict[int, float]] = {}
    for r in results:
        if r.model in COMPARED:
            groups.setdefault((r.model, r.permuted), {})[r.config.seed] = r.accuracy
    seeds = sorted({s for g in groups.values() for s in g})
    rows = []
    for (key, permuted), by_seed in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0] != "fc")):
        values = list(by_seed.values())
        rows.append({"model": model(key).noun.removeprefix("the "), "input": input_name(permuted),
                     **{f"seed {s}": by_seed.get(s) for s in seeds}, "mean": float(np.mean(values)),
                     "spread (sd)": float(np.std(values, ddof=1)) if len(values) > 1 else None})
    return pd.DataFrame(rows)


def lesson(v: Verdict, dataset: str) -> str:
    """The lecture's lesson said against what these runs showed (``v.agrees``), never as a fixed claim."""
    unit = _unit(dataset)
    real = f"real {'images' if unit == 'pixels' else 'sequences'}"
    claim = (f"with the same budget the ConvNet wins on {real}, because its kernels look at neighbouring {unit}, "
             f"which are related; scramble the {unit} and neighbours are strangers, so its prior becomes a handicap "
             "while the fully connected net barely notices")
    ask = " Before you reach for a ConvNet, ask whether your data is stationary, local and compositional."
    if v.agrees is True:
        return f"The lecture's lesson, and these runs show it: {claim}.{ask}"
    if v.agrees is False:
        return (f"The lecture's lesson is that {claim}. These runs on {spec(dataset).label} do not show it: a prior "
                "pays only where the data has what it assumes, and at this budget and length of training it did "
                f"not here.{ask}")
    return f"The lecture's lesson, which these runs cannot test yet: {claim}.{ask}"
