"""What the practicum page shows, computed: its runs, the warm-up what-ifs, samples, model sizes, published numbers,
result tables and effective fields. What training costs is ``core.practicum.costs``; the signals page's MNIST-1D
experiment is ``core.practicum.knobs``.

Lecture 04.1, section 10 (course notebook ``06-convnet.ipynb``) and its 1D twin
MNIST-1D (Greydanus and Kobak, ICML 2024).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.practicum.datasets import spec
from core.practicum.models import MODELS, input_name, model
from core.tables import long_table
from core.practicum.runs import RunConfig, RunResult, default_config

if TYPE_CHECKING:
    from core.practicum.data import Dataset
# torch (``core.practicum.data``, ``core.nets.layers``) is imported by the functions that need it: a link to stored results shows
# them from this module's tables before a fresh server has loaded torch


def practicum_configs(dataset: str = "mnist", models=("fc", "cnn"), *, epochs: int | None = None, seed: int = 0,
                      widths: dict[str, int] | None = None, lr: float | None = None, momentum: float | None = None,
                      train_size: int | None = None) -> tuple[list[RunConfig], list[str]]:
    """The runs a practicum link asks for, each model on original then permuted inputs, inside the server's
    bounds: (configurations, a note for every value the bounds changed). ``None``: the data set's default."""
    ds = spec(dataset)
    widths = widths or {}
    settings = {"epochs": epochs, "lr": lr, "momentum": momentum}
    configs, notes = [], []
    for permuted in (False, True):
        for key in models:
            config, changed = default_config(dataset, model=key, permuted=permuted, seed=seed,
                                             width=ds.width(key, widths.get(key)), train_size=train_size,
                                             **{k: v for k, v in settings.items() if v is not None}).clamped()
            configs.append(config)
            notes += [n for n in changed if n not in notes]
    return configs, notes


# what-ifs worth having trained before a class (``python -m core.service.experiment --warm``), by name, as the
# settings ``practicum_configs`` takes; the links that open them are the page's business (its URL keys)
WARM_UP = {
    "the notebook's four runs": {},  # fully connected vs ConvNet, original vs permuted, on MNIST
    "the same on MNIST-1D": {"dataset": "mnist1d"},
    "three epochs": {"epochs": 3},  # longer training: the ConvNet's edge grows
}


def curated_configs() -> list[tuple[str, list[RunConfig]]]:
    """(what-if, its runs) for every warm-up what-if, the signals page's default knob among them."""
    out = [(name, practicum_configs(**settings)[0]) for name, settings in WARM_UP.items()]
    from core.practicum.knobs import knob_configs

    out.append(("the signals page's knob", knob_configs("shuffled share")))
    return out


def sample_pairs(ds: Dataset, n: int = 8, perm_seed: int = 0) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """``n`` test samples as (label, original, permuted), the permutation the training uses."""
    from core.practicum.data import permute_pixels, pixel_permutation

    x = ds.test.batch(slice(0, n))
    perm = pixel_permutation(x[0, 0].numel(), perm_seed)
    scrambled = permute_pixels(x, perm)
    return [(int(ds.test.y[i]), x[i, 0].numpy(), scrambled[i, 0].numpy()) for i in range(n)]


def sample_alts(dataset: str, labels: list[int], side: tuple[int, ...]) -> tuple[list[str], list[str]]:
    """Text alternatives of the test samples ``sample_pairs`` shows, in its order: each original names its index
    and class, each permuted copy says what the permutation did to it."""
    ds = spec(dataset)
    size = " × ".join(map(str, side))
    pixels = int(np.prod(side))
    originals = [f"Test image {i}, a {ds.class_name(y)} ({size} pixels)" for i, y in enumerate(labels)]
    permuted = [f"Test image {i}, a {ds.class_name(y)}, with its {pixels} pixels permuted: the same values in new "
                "places, no stroke left to see" for i, y in enumerate(labels)]
    return originals, permuted


def model_sizes(dataset: str, widths: dict[str, int | None]) -> pd.DataFrame:
    """Parameters of each practicum model at the given widths."""
    from core.nets.layers import build_model
    from core.nets.models import count_parameters

    rows = []
    for key, m in MODELS.items():
        shape, layers = m.rows(dataset, widths.get(key))
        rows.append({"model": key, "name": m.title, "parameters": count_parameters(build_model(layers, shape))})
    return pd.DataFrame(rows)


def results_table(results: list[RunResult]) -> pd.DataFrame:
    """One row per finished run, with each reference accuracy of its data set (``core.practicum.datasets``) beside it."""
    rows = []
    for r in results:
        refs = {f"{ref.short} %": ref.text(r.model, r.permuted) for ref in spec(r.dataset).references}
        rows.append({"model": model(r.model).title, "input": input_name(r.permuted),
                     "parameters": r.params, "accuracy %": round(r.accuracy, 2),
                     **refs, "test loss": round(r.test_loss, 4),
                     "seconds": round(r.train_seconds, 2),
                     # a ConvNet trains with its twin (original and permuted) in one grouped pass: the pair's seconds
                     "trained": "as a pair" if r.trained_with else "alone", "device": r.device_name})
    return pd.DataFrame(rows)


def run_label(r: RunResult) -> str:
    """How charts name a run: the model's title and its input, e.g. ``ConvNet, permuted``."""
    return model(r.model).label(r.permuted)


def loss_curves(results: list[RunResult]) -> pd.DataFrame:
    """Long table ``run, step, loss`` of the training losses (mean over each report interval)."""
    frames = []
    for r in results:
        frames.append(pd.DataFrame({"run": run_label(r),
                                    "step": np.arange(1, len(r.losses) + 1) * r.report_every, "loss": r.losses}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["run", "step", "loss"])


def per_class(results: list[RunResult]) -> pd.DataFrame:
    """Long table ``run, class, accuracy``; ``class`` is the data set's name for it (``"0 T-shirt/top"``)."""
    rows = [{"run": run_label(r), "class": spec(r.dataset).class_name(c), "accuracy": a}
            for r in results for c, a in enumerate(r.per_class)]
    return pd.DataFrame(rows, columns=["run", "class", "accuracy"])


def reference_marks(dataset: str, models) -> pd.DataFrame:
    """The data set's reference accuracies as chart marks: ``model, input, reference, accuracy %`` (range: its middle)."""
    rows = [{"model": model(m).title, "input": input_name(p), "reference": ref.label,
             "accuracy %": ref.mid(m, p), "published": ref.text(m, p)}
            for ref in spec(dataset).references for p in (False, True) for m in models if ref.mid(m, p) is not None]
    return pd.DataFrame(rows, columns=["model", "input", "reference", "accuracy %", "published"])


def reference_caption(marks: pd.DataFrame, shapes) -> str:
    """What the chart's published-figure marks are (``shapes``: the word for each reference's mark, the references
    sorted, as Vega-Lite hands out shapes), and each published range, which is drawn at its middle."""
    said = "; ".join(f"{shape} {name}" for shape, name in zip(shapes, sorted(set(marks["reference"]))))
    ranges = sorted({p for p in marks["published"].astype(str) if "-" in p.strip("-")})
    return f"Published figures: {said}." + (f" A range ({', '.join(ranges)}) is drawn at its middle." if ranges else "")


def filters(result: RunResult) -> pd.DataFrame:
    """The ConvNet's first-layer kernels as a long table ``kernel, row, col, weight`` (2D) or ``kernel, col``."""
    frames = [long_table(w, "weight", kernel=k) for k, w in enumerate(result.filters or [])]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["kernel", "row", "col", "weight"])


def effective_fields(result: RunResult) -> tuple[pd.DataFrame, pd.DataFrame, str] | None:
    """A trained ConvNet's effective receptive field beside its initial one: (pixels, summary, sentence), or None.

    ``pixels``: long table ``stage, row, col, gradient`` (1D: row 0).
    ``summary``: per stage, the rms radius around the centroid and how many
    input positions hold 90 % of the gradient. The sentence says which way
    the field went with training, from those numbers.
    """
    from core.nets.receptive_field import field_spread

    erf = result.erf
    if not erf:
        return None
    frames, rows = [], []
    for stage in ("random", "trained"):
        frames.append(long_table(np.asarray(erf[stage], dtype=np.float64), "gradient", stage=stage))
        spread = field_spread(np.asarray(erf[stage]))
        rows.append({"stage": "at initialisation" if stage == "random" else "after training",
                     "rms radius": round(spread["rms radius"], 2), "positions for 90 %": spread["pixels for 90 %"]})
    summary = pd.DataFrame(rows)
    before, after = summary["rms radius"]
    unit = "pixels" if np.ndim(erf["random"]) == 2 else "samples"
    change = (after - before) / before
    if abs(change) < 0.05:
        way = f"about as wide after training as at initialisation (rms radius {before:.1f} and {after:.1f} {unit})"
    else:
        way = (f"{'wider' if change > 0 else 'narrower'} after training than at initialisation: its rms radius went "
               f"from {before:.1f} to {after:.1f} {unit} ({100 * change:+.0f} %), and 90 % of it sits in "
               f"{summary['positions for 90 %'].iloc[1]} instead of {summary['positions for 90 %'].iloc[0]} {unit}")
    sentence = (f"The effective field of the central unit of the last convolution block, averaged over "
                f"{erf.get('samples', 'the first')} test inputs, is {way}.")
    return pd.concat(frames, ignore_index=True), summary, sentence
