"""Signals and their properties (lecture sections 1 and 2)."""


import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.lecture.audio import wav_bytes
from core.practicum.data import DataUnavailable, available, load_dataset, load_images
from core.lecture.images import PHOTOS, as_png, photo
from core.lecture.signals import compare, data_types, generate, melody, target_length
from core.lecture.signals.report import picture_alts
from core.lecture.signals.generate import LEVEL_RATIO, LEVEL_SHARE, MAX_LEVELS
from core.lecture.signals.measures import SQUINT_LENGTHS
from core.lecture.uploads import UploadError, read_upload
from core.practicum.knobs import KNOBS, knob_configs, prior_advantage
from core.practicum.costs import time_estimate, training_cost
from core.service.worker import Busy, JobState
from dashboard import cache, charts, urlstate as url
from dashboard.charts import show as show_chart
from dashboard.progress import watch
from dashboard.safe import md
from dashboard.tables import arrow, readable
from dashboard.shell import data_setting, trainer, viewer_id

SOURCES = ["generator", *PHOTOS, "mnist digit", "mnist-1d sequence", "melody", "camera scanline", "upload"]


def measured(x: np.ndarray, seed: int, rate=None) -> dict:
    """Everything the page draws for one signal, made once per signal: the original and its permuted copy (PNG
    pictures, or line-chart specs for a sequence, and WAV sound where there is a ``rate``), the measures' table as
    Arrow, the notes as captions and the charts' specs. A session's run then converts nothing."""
    m = compare(x, seed)
    scrambled = m["permuted"]
    views, sounds = [], []
    alts = picture_alts(m["summary"], x.shape) if x.ndim == 2 else [None, None]
    for v, alt_text in zip((x, scrambled), alts):
        if x.ndim == 2:
            views.append(("image", as_png(v, 320), alt_text))
        else:
            n = min(len(v), 4096)  # the generator's whole default signal: its coarse levels need the room
            views.append(("chart", charts.as_spec(alt.Chart(pd.DataFrame({"i": np.arange(n), "value": v[:n]}))
                                                  .mark_line(strokeWidth=1).encode(x="i:Q", y="value:Q")
                                                  .properties(height=140)), None))
        sounds.append(wav_bytes(v / (np.abs(v).max() + 1e-12), rate) if rate else None)
    return {"views": views, "sounds": sounds,
            "summary": arrow(m["summary"]),
            "notes": [f"**{row.measure}**, {row.copy}: {row.why}." for row in m["notes"].itertuples()],
            "specs": [charts.as_spec(c) for c in charts.signal_charts(m, x.ndim)]}


# Keyed by what made the signal, not by its values: hashing a full-resolution photo for the cache key, and
# unpickling it from the cache, cost a session's run more than drawing its page.
@cache.data(show_spinner=False, max_entries=32)
def generated_panel(nd, loc, stat, comp, seed) -> dict:
    return measured(generate(nd, loc, stat, comp, seed=seed), seed)


@cache.data(show_spinner=False, max_entries=32)
def builtin_panel(name: str, directory, seed: int) -> tuple[dict | None, str, str | None]:
    """(panel, caption, why not) of a built-in signal; ``why not`` where no measure can read it."""
    x, rate, caption = builtin(name, directory)
    try:
        return measured(x, seed, rate), caption, None
    except ValueError as exc:
        return None, caption, str(exc)


@cache.data(show_spinner=False, max_entries=8)
def upload_panel(x: np.ndarray, seed: int, rate) -> dict:
    """An uploaded signal's panel, keyed by its values."""
    return measured(x, seed, rate)


@cache.data(show_spinner=False, max_entries=8)
def knob_cost(knob: str) -> int:
    return training_cost(knob_configs(knob))


def builtin(name: str, directory):
    """(array, rate, caption) of a built-in signal, its rate for a sound and None otherwise."""
    if name in PHOTOS:
        img = photo(name)  # full resolution: halving it pushes a texture's grain to the Nyquist limit
        return img, None, f"scikit-image's {name}, {img.shape[1]}×{img.shape[0]} (full resolution)"
    if name == "mnist digit":
        try:
            if available("mnist", directory):
                return load_images("mnist", False, directory).images[0].numpy() / 255.0, None, \
                    "an MNIST test digit"
            why = "MNIST is not on this machine"
        except DataUnavailable as exc:
            why = f"MNIST could not be read ({exc})"
        return photo("camera", 256), None, f"{why}: the camera man instead"
    if name == "mnist-1d sequence":
        ds = load_dataset("mnist1d")
        return ds.test.x[0, 0].numpy().astype(np.float64), None, "an MNIST-1D test sequence (40 samples)"
    if name == "melody":
        return melody(), 8000, "a synthesized tune: one four-note motif, repeated"
    return photo("camera", 512)[256], None, "row 256 of the camera man"


def show(panel: dict | None, why_not: str | None = None):
    """The signal beside its permuted copy, the measures' table, notes and charts."""
    if panel is None:  # a signal no measure can read: said, never a traceback
        st.error(f"This signal cannot be measured: {md(why_not, 200)}", icon=":material/error:")
        return
    left, right = st.columns(2)
    titles = ("original", "permuted (same values, new places)")
    for col, title, (kind, view, alt_text), sound in zip((left, right), titles, panel["views"], panel["sounds"]):
        col.caption(title)
        if kind == "image":
            col.image(view, width=320, output_format="PNG", alt=alt_text)  # sent as encoded: no JPEG per rerun
        else:
            show_chart(col, view, width="stretch")
        if sound is not None:
            col.audio(sound, format="audio/wav")
    st.dataframe(panel["summary"], hide_index=True)
    for note in panel["notes"]:
        st.caption(note)
    specs = panel["specs"]
    for row in (specs[:2], specs[2:]):
        for col, spec in zip(st.columns(2), row):
            show_chart(col, spec, width="stretch")


st.markdown("A signal is a tensor: its **dimensions** are the axes information spreads along, its **channels** "
            "the values at one point. Audio is 1D whether mono, stereo or 5.1; an image is 2D whether gray, RGB or "
            "hyperspectral. ConvNets suit data with three properties: **stationarity** (the same statistics "
            "everywhere), **locality** (neighbours are related) and **compositionality** (parts make wholes).")
@cache.data(show_spinner=False)
def types_table():
    return arrow(readable(data_types({"audio, mono": ("a synthesized tune", melody()),
                                      "image, grayscale": ("camera", photo("camera")),
                                      "image, RGB": ("chelsea, as luminance", photo("chelsea"))})))


# a reference table of words: st.table wraps them where a data grid cut them off (rows without a built-in
# example are not measured: a dash)
st.table(types_table(), hide_index=True)

# Each section is a fragment: its widgets rerun it alone, and the browser redraws only its charts (a whole-page
# rerun redraws every element: about 2-3 ms each on the 2-core test machine, and 50 ms for each chart it rebuilds)
st.subheader("Dial the properties")
c = st.columns(5)
# the seed permutes the real signals below too: it reruns the whole page, the other dials only their section
seed = url.slider("Seed", "sig_seed", 0, 20, 0, where=c[4])


@st.fragment
def dial(c, seed):
    nd = url.dims("Signal", "sig_nd", 2, where=c[0])
    loc = url.slider("Locality", "sig_loc", 0.0, 1.0, 0.5, 0.05, where=c[1],
                     help=f"sets the correlation length: from white noise ({target_length(1, 0.0):.2f} sample) to "
                          f"{target_length(1, 1.0):.0f} samples (1D) or {target_length(2, 1.0):.1f} pixels (2D)")
    stat = url.slider("Stationarity", "sig_stat", 0.0, 1.0, 1.0, 0.05, where=c[2],
                      help="1: same statistics everywhere; 0: the amplitude drifts with position, calm at one end and "
                           "busy at the other")
    comp = url.slider("Compositionality", "sig_comp", 0.0, 1.0, 0.5, 0.05, where=c[3],
                      help=f"levels of a hierarchy of scales, 1 to {MAX_LEVELS}: each {LEVEL_RATIO:g}× coarser than "
                           f"the one below, with {LEVEL_SHARE:.0%} of the variance; the finest level is sharpened to keep "
                           "the correlation length where locality put it")
    url.show_notices()
    try:
        show(generated_panel(nd, loc, stat, comp, seed))
    except ValueError as exc:
        show(None, str(exc))
    st.caption("Each dial moves its own measure and leaves the other two where they were: locality the correlation "
               "length, stationarity the drift, compositionality the squint score (the squint test at "
               f"{SQUINT_LENGTHS[1]} correlation lengths along a line, {SQUINT_LENGTHS[2]} across an image: about 0.2-0.3 when all structure lives at one scale, higher "
               "as coarser levels carry structure). Permuting the positions keeps every value (the histogram) and "
               "destroys locality and compositionality: the autocorrelation drops to 0 at lag 1, the spectrum goes "
               "flat (slope ≈ 0), and the squint curve collapses at every scale.")


@st.fragment
def real_signals(seed):
    st.subheader("Real signals")
    source = url.choice("Signal to measure", "sig_src", SOURCES[1:], "camera")
    url.show_notices()
    if source == "upload":
        upload = st.file_uploader("An image (PNG/JPEG), a sound (WAV) or a CSV", type=["png", "jpg", "jpeg", "wav", "csv"],
                                  key="sig_upload")
        if upload is None:
            st.info("Upload a file to measure it. Nothing leaves this server.", icon=":material/upload:")
            return
        try:
            loaded = read_upload(upload.name, upload.getvalue())
        except UploadError as exc:
            st.error(md(exc, 300), icon=":material/error:")
            return
        for note in loaded.notes:
            st.info(md(note, 300), icon=":material/info:")
        if loaded.kind == "audio":
            st.caption(f"{loaded.channels} channel(s) at {loaded.rate} samples a second: still a 1D signal, with "
                       f"{loaded.channels} value(s) at each instant.")
        if loaded.table is not None and loaded.kind == "table":
            st.dataframe(loaded.table.head(20), hide_index=True)
        st.caption(md(loaded.name, 200))
        try:
            show(upload_panel(loaded.data, seed, loaded.rate if loaded.kind == "audio" else None))
        except ValueError as exc:
            show(None, str(exc))
        return
    panel, caption, why_not = builtin_panel(source, data_setting(), seed)
    st.caption(md(caption, 200))
    show(panel, why_not)


dial(c, seed)
real_signals(seed)

st.subheader("Which prior fits this data?")
st.markdown("MNIST-1D's sequences are local and stationary. Train a small MLP and a small 1D ConvNet on them while "
            "one of its knobs turns: shuffle a growing share of the 40 positions (one fixed permutation, train and "
            "test alike: locality destroyed), shift the digits further (where shared weights pay), or drown them "
            "in noise.")
knob = url.choice("Knob", "sig_knob", list(KNOBS), "shuffled share", widget="segmented") or "shuffled share"
url.show_notices()
configs = knob_configs(knob)
work = trainer(data_setting())
viewer = viewer_id()
estimate = time_estimate(knob_cost(knob), work.speed_range(), len(work.queue()))
st.caption(f"Eight small trainings, one after another: {md(estimate)}.")
if st.button("Train the eight models", key="sig_train"):
    try:
        work.submit_all(configs, viewer)
    except Busy as exc:
        st.warning(str(exc), icon=":material/hourglass_top:")
jobs = [work.lookup(c, viewer) for c in configs]


def training_progress(current):
    """One bar for the eight runs (redrawn by ``dashboard.progress.watch``); the page stays responsive."""
    done = sum(j is not None and j.finished for j in current)
    snaps = [j.progress.snapshot() if j is not None and not j.finished else None for j in current]
    # the eight runs take the same number of steps: a finished run counts whole, a queued one not at all
    per_run = max((p.total for p in snaps if p is not None), default=0) or 1
    steps = sum(per_run if p is None else min(p.step, per_run) for p, j in zip(snaps, current) if j is not None)
    total = per_run * len(configs)
    # the pace of the run going on, over all the steps still to take
    pace = [p.seconds_left() / max(1, p.total - p.step) for p in snaps
            if p is not None and p.seconds_left() and p.step < p.total]
    eta = f", about {max(1, round(pace[0] * (total - steps)))} s left at this pace" if pace else ""
    st.progress(min(1.0, steps / total), text=f"Training on MNIST-1D: {done} of {len(configs)} models done{eta}")


watch(lambda: [work.lookup(c, viewer) for c in configs], training_progress)
failed = [j for j in jobs if j is not None and j.state == JobState.FAILED]
if failed:
    st.error(f"Training failed: {md(failed[0].error, 300)}", icon=":material/error:")
elif all(j is not None and j.state == JobState.DONE for j in jobs):
    lead = prior_advantage([j.result for j in jobs], knob)
    show_chart(st, charts.as_spec(alt.Chart(lead).mark_line(point=True).encode(
        x=alt.X(f"{knob}:Q", title=KNOBS[knob][2]),
        y=alt.Y("advantage:Q", title="ConvNet − MLP accuracy (points)"),
        tooltip=[knob, "ConvNet", "MLP", "advantage"]).properties(height=260)), width="stretch")
    st.dataframe(lead, hide_index=True)
