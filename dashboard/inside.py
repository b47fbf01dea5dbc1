"""The practicum's last section: inside the trained networks (one input through every run, feature maps, kernels,
first-layer weights, confusion matrices, mistakes). Presentation only; ``core.practicum.inside`` computes."""

from __future__ import annotations

import altair as alt
import numpy as np
import streamlit as st

from core.describe import picture
from core.practicum import inside
from core.lecture.images import as_png, data_url
from dashboard import urlstate as url
from dashboard.charts import as_spec, show as show_chart
from core.palette import BLUE, RED
from dashboard.safe import md

CANVAS = 280  # pixels: ten per MNIST pixel
MAX_CHANNELS = 8  # feature maps drawn per layer
MAX_UNITS = 16  # first-layer weight images drawn per FC net


def _png(a: np.ndarray, side: int = 84) -> str:
    """A small image enlarged with square pixels (no blur), as a PNG ``data:`` URL (a few hundred bytes)."""
    a = np.atleast_2d(a)
    k = max(1, side // max(a.shape))
    return data_url(as_png(np.kron(a, np.ones((k, k)))))


@st.cache_resource(show_spinner=False, max_entries=16)
def _models(keys: tuple, _runs) -> tuple[list, list]:
    """The trained networks of ``_runs`` ((result, weights) pairs, keys ``keys``), rebuilt once; and the runs
    whose weights could not be used, with why."""
    models, problems = [], []
    for r, w in _runs:
        try:
            models.append((r, inside.load_model(r, w)))
        except ValueError as exc:
            problems.append((r, str(exc)))
    return models, problems


@st.cache_data(show_spinner="Classifying the test set…", max_entries=16)
def _per_runs(keys: tuple, dataset: str, directory, _models) -> dict:
    """What does not depend on the input, per run key: its confusion matrix as a chart spec (built and validated
    once), its first mistakes and their pictures, and its weights as pictures (a ConvNet's first-layer kernels,
    an FC net's first-layer units in pixel order)."""
    from core.practicum.data import load_dataset
    from core.practicum.datasets import spec

    data = load_dataset(dataset, directory)
    image_like = spec(dataset).nd == 2
    out = {}
    for r, m in _models:
        matrix, wrong = inside.confusion(r, m, data)
        if r.model == "cnn":
            kernels = inside.first_kernels(m)
            arrays = [] if kernels is None else [k[0] if k.ndim == 3 else k for k in kernels]
            weights = [_png(k, 60) for k in arrays]
            alts = [picture(f"{inside.run_name(r)}: first-layer kernel {i + 1}", k) for i, k in enumerate(arrays)]
        elif r.model == "fc" and image_like:
            arrays = inside.first_layer_images(m, r, spec(dataset).input_shape[1:])[:MAX_UNITS]
            weights = [_png(w, 56) for w in arrays]
            alts = [picture(f"{inside.run_name(r)}: hidden unit {i + 1}'s input weights in pixel order", w)
                    for i, w in enumerate(arrays)]
        else:
            weights, alts = [], []
        mistakes = [_png(data.test.x[j, 0].numpy(), 56) for j, _, _ in wrong] if image_like else []
        names = [spec(dataset).class_name(c) for c in range(matrix.shape[0])]
        out[r.key] = {"confusion": confusion_chart(matrix, inside.run_name(r), names), "wrong": wrong,
                      "mistakes": mistakes, "weights": weights, "weight_alts": alts,
                      "mistake_alts": [f"Test image {j}, a {t}; {inside.run_name(r)} predicts {p}"
                                       for j, t, p in wrong]}
    return out


@st.cache_data(show_spinner=False, max_entries=64)
def _per_input(keys: tuple, x: np.ndarray, label, _models) -> dict:
    """For one input (not per rerun): the probability chart's spec, the sentence of verdicts, the input's picture
    and each ConvNet's feature maps ((layer name, shape text, pictures) per layer, by run key)."""
    import torch

    probs = inside.probabilities(_models, torch.as_tensor(x), label)
    said = []
    for run, part in probs.groupby("run", sort=False):
        top = part.iloc[0]["predicted"]
        p = float(part.loc[part["class"] == top, "probability"].iloc[0])
        verdict = "" if label is None else (" (right)" if part.iloc[0]["right"] else " (wrong)")
        said.append(f"{run} says {top} ({p:.0%}){verdict}")
    maps = {}
    for r, m in _models:
        if r.model == "cnn":
            seen = inside.as_seen(r, torch.as_tensor(x)[None])[0]
            maps[r.key] = [(name, " × ".join(map(str, fmap.shape)),
                            [_png(ch, 72) for ch in fmap[:MAX_CHANNELS]] if fmap.ndim == 3 else [_png(fmap, 300)],
                            [picture(f"{inside.run_name(r)}, {name}, channel {c + 1}", ch)
                             for c, ch in enumerate(fmap[:MAX_CHANNELS])] if fmap.ndim == 3 else
                            [picture(f"{inside.run_name(r)}, {name}", fmap)])
                           for name, fmap in inside.feature_maps(m, seen)]
    return {"chart": probability_chart(probs), "sentence": "; ".join(said) + ".",
            "picture": _png(x[0] if x.ndim == 3 else x, 112), "maps": maps}


def drawing():
    """The user's drawing as an RGBA array (None before anything is drawn), checked before it is decoded
    (``core.practicum.inside.decode_drawing``: ValueError with a sentence). A seam: the tests replace it."""
    from streamlit_drawable_canvas import st_canvas

    result = st_canvas(stroke_width=22, stroke_color="#ffffff", background_color="#000000", height=CANVAS,
                       width=CANVAS, drawing_mode="freedraw", return_image_data=True, key="in_canvas")
    try:
        png = result.image_bytes  # base64 only: the PNG is decoded below, once its size is known
    except (ValueError, TypeError, AttributeError) as exc:  # not a data URL, not base64, not text
        raise ValueError("the drawing did not arrive as a picture") from exc
    data = inside.decode_drawing(png, CANVAS)
    return None if data is None or not data.any() else data


def probability_chart(df) -> dict:
    """One small bar chart per run: its probability for each class, the top class in red."""
    return as_spec(alt.Chart(df).mark_bar().encode(
        x=alt.X("class:O", title=None), y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), title=None),
        color=alt.condition("datum.class == datum.predicted", alt.value(RED), alt.value(BLUE)),
        tooltip=["run", "class", alt.Tooltip("probability:Q", format=".3f")],
    ).properties(width=150, height=110).facet(facet=alt.Facet("run:N", title=None), columns=4))


CELL = 34  # px per confusion cell: "1135" at the counts' font size is about 24 px wide


def confusion_chart(matrix: np.ndarray, title: str, names: list[str] | None = None) -> dict:
    """Counts in cells, every class labelled on both axes (``names``: the data set's, else the digits), each count
    inside its cell, dark text on light cells and white on dark ones."""
    import pandas as pd

    k = matrix.shape[0]
    names = names or [str(i) for i in range(k)]
    top = max(1, int(matrix.max()))
    df = pd.DataFrame([{"true": names[t], "predicted": names[p], "count": int(matrix[t, p]),
                        "dark": bool(np.sqrt(matrix[t, p] / top) > 0.6)} for t in range(k) for p in range(k)])
    axis = alt.Axis(labelOverlap=False, labelLimit=120)  # every class, even where Vega-Lite would drop every other
    base = alt.Chart(df).encode(x=alt.X("predicted:N", sort=names, axis=alt.Axis(labelOverlap=False, labelAngle=-40
                                                                                  if max(map(len, names)) > 2 else 0)),
                                y=alt.Y("true:N", sort=names, axis=axis))
    cells = base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues", type="sqrt"),
                                                    legend=None), tooltip=["true", "predicted", "count"])
    text = base.mark_text(fontSize=9).encode(text="count:Q", color=alt.condition(
        "datum.dark", alt.value("white"), alt.value("black")))
    return as_spec(alt.layer(cells, text).properties(width=CELL * k, height=CELL * k, title=title))


def show(done, weights_of, dataset: str, directory) -> None:
    """The section, for the finished runs ``done``; ``weights_of(result, max_bytes)`` gives a run's stored weights
    or None, and raises ValueError for a file larger than ``max_bytes``."""
    from core.practicum.data import load_dataset
    from core.practicum.datasets import spec

    st.subheader("Inside the trained networks")
    runs, unusable = [], []
    for r in done:
        try:
            runs.append((r, weights_of(r, inside.weights_budget(r))))
        except ValueError as exc:
            unusable.append((r, str(exc)))

    def unusable_said(problems):  # a damaged, foreign or oversized file: said, and that run left out
        for r, why in problems:
            st.warning(f"The stored weights of {inside.run_name(r)} cannot be used: {md(why, 200)}. Train again "
                       "to look inside it.", icon=":material/broken_image:")
    unusable_said(unusable)
    missing = [inside.run_name(r) for r, w in runs if w is None]
    runs = [(r, w) for r, w in runs if w is not None]
    if missing:
        st.info("No stored weights for " + ", ".join(missing) + " (trained before the lab kept them, or trimmed "
                "from the results folder): train again to look inside.", icon=":material/info:")
    if not runs:
        return
    data = load_dataset(dataset, directory)
    # a stored file replaced (trained again) is a new entry: its length is in the key
    models, damaged = _models(tuple((r.key, len(w)) for r, w in runs), runs)
    unusable_said(damaged)
    if not models:
        return
    keys = tuple(r.key for r, _ in models)
    image_like = spec(dataset).nd == 2
    c = st.columns([1, 3])
    sources = ["test image", "your drawing"] if image_like else ["test image"]
    source = url.choice("Input", "in_src", sources, "test image", widget="segmented", where=c[0]) or "test image"
    x, label, note = None, None, ""
    if source == "your drawing":
        with c[1]:
            st.caption("Draw one digit, large, in the box; it is preprocessed as MNIST was (its box scaled into "
                       "20×20, its centre of mass at the centre of 28×28). A drawing is not kept in the link.")
            try:
                drawn = drawing()
            except ValueError as exc:
                st.warning(f"Your drawing cannot be used: {md(exc, 200)}. Draw again, or pick a test image.",
                           icon=":material/draw:")
                return
        if drawn is None:
            st.info("Nothing drawn yet.", icon=":material/draw:")
            return
        try:
            ready = inside.preprocess_drawing(drawn)
        except ValueError as exc:
            st.info(md(exc), icon=":material/draw:")
            return
        x, note = inside.drawn_input(data, ready), "your drawing, preprocessed"
    else:
        index = url.slider("Test image", "in_idx", 0, len(data.test.y) - 1, 0, where=c[1])
        x, label = inside.sample_input(data, index)
        note = f"test image {index}, a {label}"
    url.show_notices()

    x_np = x.numpy()
    seen, fixed = _per_input(keys, x_np, label, models), _per_runs(keys, dataset, directory, models)
    left, right = st.columns([1, 4])
    left.image(seen["picture"], caption=note, alt=f"The input, {note}. {seen['sentence']}")
    show_chart(right, seen["chart"], width="content")
    right.caption(seen["sentence"])

    convs = [(r, m) for r, m in models if r.model == "cnn"]
    if convs:
        st.markdown("**Feature maps** of every layer of each ConvNet for this input (the permuted one sees it "
                    f"permuted), the first {MAX_CHANNELS} channels, and the **learned first-layer kernels**. The "
                    "layers are in the course's order, convolution → ReLU → pooling; the engine trains them with "
                    "each pooling before its ReLU, which gives the same numbers (ReLU and max-pooling commute) for a "
                    "quarter of the ReLU's work.")
        for r, m in convs:
            # drawn only when open (the permuted run's starts closed; the link keeps what was opened)
            section = st.expander(f"{inside.run_name(r)}: feature maps and kernels", expanded=not r.permuted,
                                  key=f"in_maps_{'perm' if r.permuted else 'orig'}", bind="query-params")
            if not section.open:
                continue
            with section:
                for name, shape, pictures, alts in seen["maps"][r.key]:
                    st.caption(f"{md(name)}: {shape}")
                    st.image(pictures, width=72 if len(pictures) > 1 else 300, alt=alts)
                kernels = fixed[r.key]["weights"]
                st.caption(f"First-layer kernels ({len(kernels)}), dark negative to light positive, each on its "
                           "own range")
                st.image(kernels, width=60, alt=fixed[r.key]["weight_alts"])
        st.caption("Trained on original pixels, the kernels become small edge and blob detectors; trained on "
                   "permuted pixels, a kernel's neighbours are strangers and it has nothing local to learn.")
    fcs = [(r, m) for r, m in models if r.model == "fc"]
    if fcs and image_like:
        from torch import nn

        units = next(layer for layer in fcs[0][1] if isinstance(layer, nn.Linear)).out_features
        shown = len(fixed[fcs[0][0].key]["weights"])
        which = f"all {units}" if shown == units else f"the first {shown} of {units}"
        side = " × ".join(map(str, spec(dataset).input_shape[1:]))
        st.markdown(f"**The FC net's first-layer weights**, one {side} image per hidden unit ({which}); the "
                    "permuted run's put back in the original pixel order.")
        cols = st.columns(len(fcs))
        for col, (r, m) in zip(cols, fcs):
            col.caption(inside.run_name(r))
            col.image(fixed[r.key]["weights"], width=56, alt=fixed[r.key]["weight_alts"])

    st.markdown(f"**Confusion matrices** on the {len(data.test.y):,} test images, and the first "
                f"{inside.MISTAKES} each run gets wrong.")
    cols = st.columns(min(len(models), 2))
    for i, (r, _) in enumerate(models):
        col, run = cols[i % len(cols)], fixed[r.key]
        show_chart(col, run["confusion"], width="content")
        if run["mistakes"]:
            col.image(run["mistakes"], width=56, caption=[f"{t} → {p}" for _, t, p in run["wrong"]],
                      alt=run["mistake_alts"])
