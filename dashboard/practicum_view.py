"""The practicum page's views: test samples, parameter budgets, the results (charts, verdict and tables) and the
effective fields, each built once per setting or set of runs and cached; and the sections that draw the results
and the progress bars from them."""

from __future__ import annotations

import functools
from dataclasses import replace

import altair as alt
import streamlit as st

from core.describe import picture
from core.lecture.images import as_png, data_url
from core.palette import INK, RED
from core.practicum.costs import training_cost
from core.practicum.datasets import spec
from core.practicum.models import MODELS, input_name
from core.practicum.practicum import (effective_fields, filters, loss_curves, model_sizes, per_class, reference_caption,
                                     reference_marks,
                                     results_table, run_label, sample_pairs)
from core.practicum.verdict import lesson, seed_table, verdict
from core.service.worker import JobState
from dashboard.charts import FIT_X, as_spec, raster, sequence_pairs, show as show_chart
from dashboard.safe import md
from dashboard.tables import arrow


@st.cache_data(show_spinner="Loading the data…", max_entries=8)
def samples(dataset, directory):
    """(label, original, permuted) test samples; images as PNG data URLs, encoded once (sequences stay arrays)."""
    from core.practicum.data import load_dataset

    return [(label, *((data_url(as_png(a)), data_url(as_png(b))) if a.ndim == 2 else (a, b)))
            for label, a, b in sample_pairs(load_dataset(dataset, directory))]


@st.cache_data(show_spinner=False, max_entries=8)
def sequence_chart(dataset, directory) -> dict:
    return as_spec(sequence_pairs(samples(dataset, directory)))


@functools.lru_cache(maxsize=256)
def link_cost(configs: tuple) -> int:
    """The training cost of these (hashable, frozen) configurations, worked out once per link."""
    return training_cost(configs)


@functools.lru_cache(maxsize=256)
def _sizes(dataset, widths):
    """``model_sizes`` at these widths (each model built once per setting, for the counts and the chart alike;
    callers must not change the frame)."""
    return model_sizes(dataset, dict(widths))


@functools.lru_cache(maxsize=256)
def parameters(dataset, widths) -> dict:
    """Parameters per model at these widths (built once per setting, not per rerun; the caller must not change
    the dict)."""
    return _sizes(dataset, widths).set_index("model")["parameters"].to_dict()


@st.cache_data(show_spinner=False, max_entries=256)
def budget_chart(dataset, widths, models) -> dict:
    """The parameter budgets as a chart spec: built (and validated by Altair) once per setting, not per rerun."""
    sizes = _sizes(dataset, widths)
    return as_spec(alt.Chart(sizes[sizes["model"].isin(models)]).mark_bar().encode(
        x=alt.X("parameters:Q", title="parameters"), y=alt.Y("name:N", title=None),
        tooltip=["name", "parameters"]).properties(height=32 * len(models), title="Parameter budgets",
                                                  autosize=FIT_X))


@st.cache_data(show_spinner=False, max_entries=64)
def result_charts(keys, dataset, models, _done, _table, _marks) -> dict:
    """The results' chart specs, built (and validated by Altair) once per set of finished runs, not per rerun.
    ``_table`` and ``_marks``: the page's ``results_table`` and ``reference_marks`` for these runs."""
    # one bar per run, each named on the axis ("FC, original"): the model is not told by colour alone (1.4.1)
    by_title = {m.title: m for m in MODELS.values()}
    order = [by_title[m].label(p, short=True) for p in (False, True) for m in dict.fromkeys(_table["model"])]
    table, marks = (df.assign(run=[by_title[m].label(i == input_name(True), short=True)
                                   for m, i in zip(df["model"], df["input"])]) for df in (_table, _marks))
    # across: the runs' names read level, however narrow the column
    y = alt.Y("run:N", title=None, sort=order, axis=alt.Axis(labelOverlap=False, labelLimit=200))
    bars = alt.Chart(table).mark_bar().encode(
        y=y, x=alt.X("accuracy %:Q", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("model:N", legend=alt.Legend(orient="bottom", title=None)), tooltip=list(_table.columns))
    chart = bars
    if len(marks):
        # the published figures: a shape each as well as a colour
        chart = alt.layer(bars, alt.Chart(marks).mark_point(filled=True, size=110, opacity=1).encode(
            y=y, x="accuracy %:Q",
            color=alt.Color("reference:N", scale=alt.Scale(range=[INK, RED]),
                            legend=alt.Legend(orient="bottom", title=None, labelLimit=600, columns=1)),
            shape=alt.Shape("reference:N", scale=alt.Scale(range=[shape for shape, _ in REFERENCE_SHAPES]),
                            legend=alt.Legend(orient="bottom", title=None, labelLimit=600, columns=1)),
            tooltip=["reference", "model", "input", "published"])).resolve_scale(color="independent")
    out = {"bars": as_spec(chart.properties(height=34 * len(order), autosize=FIT_X)),
           "loss": as_spec(alt.Chart(loss_curves(_done)).mark_line(point=True).encode(
               x=alt.X("step:Q", title="training step"), y=alt.Y("loss:Q", title="training loss"), color="run:N")
               .properties(height=260, title="Training loss")),
           "per_class": as_spec(alt.Chart(per_class(_done)).mark_line(point=True).encode(
               x=alt.X("class:N", sort=[spec(dataset).class_name(k) for k in range(spec(dataset).classes)],
                       axis=alt.Axis(labelOverlap=False, labelAngle=-40 if spec(dataset).class_names else 0)),
               y=alt.Y("accuracy:Q", scale=alt.Scale(zero=False)), color="run:N")
               .properties(height=260, title="Accuracy per class"))}
    conv = next((r for r in _done if r.model == "cnn" and r.filters), None)
    if conv is not None:
        df = filters(conv)
        out["filters"] = as_spec(alt.Chart(df).mark_rect().encode(
            x=alt.X("col:O", axis=None), y=alt.Y("row:O", axis=None),
            color=alt.Color("weight:Q", scale=alt.Scale(scheme="redblue", domainMid=0), legend=None),
        ).properties(width=70, height=70 if df["row"].max() > 0 else 20).facet(
            facet=alt.Facet("kernel:N", title=None), columns=8))
    return out


# the published figures' marks (Vega-Lite's shape, and the word for it), given in the order of the references sorted
REFERENCE_SHAPES = (("diamond", "diamonds"), ("triangle-down", "triangles"), ("square", "squares"))


@st.cache_data(show_spinner=False, max_entries=64)
def results_view(keys, seeded_keys, dataset, models, _done, _seeded) -> dict:
    """Everything the results section draws for a set of finished runs (``keys``) and the runs of every seed with
    these settings (``seeded_keys``): tables as Arrow, chart specs, the verdict's sentences and what-ifs, the
    captions. Stored results do not change, so a class opening one link builds this once, not once a viewer.
    ``_done`` and ``_seeded``: the runs the keys name."""

    table = results_table(_done)
    marks = reference_marks(dataset, models)
    found = verdict(_seeded)
    per_seed = seed_table(_seeded)
    conv = next((r for r in _done if r.model == "cnn" and r.filters), None)
    return {
        "specs": result_charts(keys, dataset, models, _done, table, marks),
        "marks": reference_caption(marks, [words for _, words in REFERENCE_SHAPES]) if len(marks) else f"No published numbers for {spec(dataset).label}: the "
                                                               "bars are these runs alone.",
        "sentences": " ".join(found.sentences),
        "per_seed": arrow(per_seed) if len(per_seed) else None,
        "per_seed_numbers": list(per_seed.columns[2:]),
        "runs": len(_seeded),
        "what_ifs": [(w.text, w.changes) for w in found.what_ifs],
        "lesson": lesson(found, dataset),
        "table": arrow(table),
        "pairs": bool((table["trained"] == "as a pair").any()) if len(table) else False,
        "conv": None if conv is None else input_name(conv.permuted),
    }


@st.cache_data(show_spinner=False, max_entries=64)
def field_view(key, _result):
    """A ConvNet run's effective fields as ((spec, is_image) before, after), summary, sentence; or None."""
    found = effective_fields(_result)
    if found is None:
        return None
    pixels, summary, sentence = found
    stages = []
    for (stage, title), row in zip((("random", "at initialisation"), ("trained", "after training")),
                                   summary.itertuples(index=False)):
        part = pixels[pixels["stage"] == stage]
        lead = (picture(f"The ConvNet's effective field {title}, the |gradient| of the central unit (1 at its "
                        "peak)", _result.erf[stage]) + f"; rms radius {row[1]:g}, 90 % of it in {row[2]} positions")
        if part["row"].max() > 0:
            stages.append((as_spec(raster(part, "gradient", "inferno", side=200).properties(title=title),
                                   lead=lead), True))
        else:
            stages.append((as_spec(alt.Chart(part).mark_area().encode(
                x=alt.X("col:Q", title="position"), y=alt.Y("gradient:Q", title="|gradient|, max 1"))
                .properties(title=title, height=120, autosize=FIT_X), lead=lead), False))
    return stages, arrow(summary), sentence  # Arrow: sent as it is, by every viewer's run


def results_section(work, configs, seed: int, seeds, dataset: str, models: tuple, done: list, on_what_if) -> None:
    """The finished runs' results (``done``, of ``configs`` at ``seed``): table, bars, verdict, curves and kernels,
    from stored numbers only (no torch). The verdict pools every seed in ``seeds`` trained with these settings;
    a what-if button calls ``on_what_if(changes)``."""
    st.subheader("Results")
    # every seed trained with these settings counts in the verdict
    others = [work.lookup(replace(c, seed=s)) for c in configs for s in seeds if s != seed]
    seeded = done + [j.result for j in others if j is not None and j.state == JobState.DONE]
    view = results_view(tuple(r.key for r in done), tuple(r.key for r in seeded), dataset, models, done, seeded)
    specs = view["specs"]
    a, b = st.columns([2, 3])
    show_chart(a, specs["bars"], width="stretch")
    a.caption(view["marks"])
    b.markdown("**What these runs show.** " + view["sentences"])
    if view["per_seed"] is not None:
        b.caption(f"The verdict pools every seed trained with these settings: {view['runs']} runs, test accuracy %.")
        b.dataframe(view["per_seed"], hide_index=True, placeholder="—", column_config={
            c: st.column_config.NumberColumn(format="%.2f") for c in view["per_seed_numbers"]})
    for i, (text, changes) in enumerate(view["what_ifs"]):  # each what-if is one click away, and lands in the link
        b.button(f"Try {text}", key=f"pp_whatif_{i}", on_click=on_what_if, args=(changes,),
                 icon=":material/science:")
    b.caption(view["lesson"])
    # the page's width: its ten columns, the device last, did not fit three fifths of it
    st.dataframe(view["table"], hide_index=True)
    if view["pairs"]:
        st.caption("The two ConvNets train in lockstep as one grouped network (same batches, separate weights): "
                   "their seconds are the pair's.")

    c1, c2 = st.columns(2)
    show_chart(c1, specs["loss"], width="stretch")
    show_chart(c2, specs["per_class"], width="stretch")
    if view["conv"] is not None:
        st.caption(f"The ConvNet's learned first-layer kernels ({view['conv']} input)")
        show_chart(st, specs["filters"])


def progress_bars(configs, current, work) -> None:
    """A progress bar per run of ``configs`` from its job's snapshot (``current``; redrawn by
    ``dashboard.progress.watch``), and the queue of ``work``, the trainer."""
    for config, job in zip(configs, current):
        if job is None:
            st.progress(0.0, text=f"{run_label(config)}: not started")
        elif job.state == JobState.DONE:
            st.progress(1.0, text=f"{run_label(config)}: done")
        elif job.state == JobState.FAILED:
            st.error(f"{run_label(config)} failed: {md(job.error, 300)}", icon=":material/error:")
        elif job.state == JobState.CANCELLED or job.cancel_requested:
            st.progress(0.0, text=f"{run_label(config)}: cancelled")
        else:
            p = job.progress.snapshot()
            left = p.seconds_left()
            eta = f", about {max(1, round(left))} s left at this pace" if left is not None else ""
            again = " (started again: a training worker was lost)" if job.attempts > 1 else ""
            where = f" on {md(job.device_name)}" if job.device_name else ""
            waiting = ("waiting for a free worker of the cluster" if work.engine.dask else
                       f"queued, {work.ahead(job)} training(s) ahead")
            text = (f"{run_label(config)}{where}: epoch {p.epoch}, step {p.step}/{p.total}, loss {p.loss:.3f}{eta}{again}"
                    if job.state == JobState.RUNNING else f"{run_label(config)}: {waiting}")
            st.progress(min(1.0, p.step / p.total) if p.total else 0.0, text=text)
    # no chart on a tick: with a class watching, each tick's cost is taken from the training (the loss curves
    # are drawn once the runs finish)
    st.caption(f"{len(work.queue())} run(s) of this server's viewers waiting or running, "
               f"{'on the cluster' if work.engine.dask else 'one training at a time'} (a ConvNet and its permuted twin "
               "train together).")
