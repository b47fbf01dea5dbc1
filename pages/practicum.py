"""The practicum: fully connected net vs ConvNet, original vs permuted pixels (lecture section 10)."""

import altair as alt
import streamlit as st

from core.data import DATA_ENV, DataUnavailable, available, load_dataset
from core.images import for_display
from core.models import PRACTICUM_MODELS
from core.practicum import (filters, loss_curves, model_sizes, per_class, results_table, sample_pairs, training_budget,
                            training_cost)
from core.training import DATASET_DEFAULTS, MAX_EPOCHS, default_config
from core.worker import RESULTS_ENV, Busy
from dashboard import urlstate as url
from dashboard.safe import md
from dashboard.shell import data_setting, trainer, viewer_id

DATASETS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "kmnist": "KMNIST", "mnist1d": "MNIST-1D"}


@st.cache_data(show_spinner="Loading the data…", max_entries=8)
def samples(dataset, directory):
    return sample_pairs(load_dataset(dataset, directory))


@st.cache_data(show_spinner=False, max_entries=256)
def link_cost(configs) -> int:
    return training_cost(configs)


@st.cache_data(show_spinner=False, max_entries=256)
def budget_chart(dataset, widths, models) -> dict:
    """The parameter budgets as a chart spec: built (and validated by Altair) once per setting, not per rerun."""
    sizes = model_sizes(dataset, dict(widths))
    return alt.Chart(sizes[sizes["model"].isin(models)]).mark_bar().encode(
        x=alt.X("parameters:Q", title="parameters"), y=alt.Y("name:N", title=None),
        tooltip=["name", "parameters"]).properties(height=40 * len(models) + 60, title="Parameter budgets").to_dict()


def use_mnist1d():
    st.session_state["pp_data"] = "mnist1d"


st.title("Permuted pixels: fully connected net vs ConvNet")
st.markdown("The course notebook's experiment. Two networks with the same budget (about 6,400 parameters): a fully "
            "connected net, which assumes nothing about pixel order, and a ConvNet, which spends its weights on "
            "relations between neighbouring pixels. Then one fixed random permutation scrambles every image, train "
            "and test alike: locality is gone. Which prior still pays?")

directory = data_setting()
c = st.columns(4)
dataset = url.choice("Data", "pp_data", list(DATASETS), "mnist", where=c[0], format_func=DATASETS.get)
models = url.multi("Models", "pp_models", list(PRACTICUM_MODELS), ["fc", "cnn"], where=c[1],
                   format_func=PRACTICUM_MODELS.get) or ["fc", "cnn"]
defaults = DATASET_DEFAULTS.get(dataset, {})
epochs = url.slider("Epochs", "pp_epochs", 1, MAX_EPOCHS.get(dataset, 5), defaults.get("epochs", 1), where=c[2])
seed = url.slider("Seed", "pp_seed", 0, 9, 0, where=c[3])
with st.expander("Widths and optimiser"):
    e = st.columns(5)
    fc_width = url.slider("FC hidden units", "pp_hidden", 1, 64, 100 if dataset == "mnist1d" else 8, where=e[0])
    cnn_width = url.slider("ConvNet features", "pp_features", 1, 64, 25 if dataset == "mnist1d" else 6, where=e[1])
    lr = url.choice("Learning rate", "pp_lr", [0.001, 0.005, 0.01, 0.02, 0.05, 0.1], defaults.get("lr", 0.01),
                    where=e[2])
    momentum = url.choice("Momentum", "pp_mom", [0.0, 0.5, 0.9], defaults.get("momentum", 0.5), where=e[3])
    train_size = url.slider("Training samples", "pp_n", 500, 60000, 60000, 500, where=e[4],
                            help="Fewer samples train faster; the notebook uses all 60,000.")
url.show_notices()

if dataset != "mnist1d" and not available(dataset, directory):
    st.warning(f"{DATASETS[dataset]} is not on this machine and there may be no network to download it. Point "
               f"`{DATA_ENV}` (or `data_dir` in `.streamlit/secrets.toml`) at a folder holding "
               f"`{DATASETS[dataset].replace('-', '')}/raw/`, or try MNIST-1D, which is generated on the spot.",
               icon=":material/cloud_off:")
    st.button("Use MNIST-1D", on_click=use_mnist1d, type="primary")

widths = {"fc": fc_width, "cnn": cnn_width, "lc": cnn_width}
configs, notes = [], []
for permuted in (False, True):
    for model in models:
        config, changed = default_config(dataset, model=model, permuted=permuted, epochs=epochs, seed=seed,
                                         width=widths[model], lr=lr, momentum=momentum,
                                         train_size=None if train_size >= 60000 else train_size).clamped()
        configs.append(config)
        notes += changed
for note in sorted(set(notes)):
    st.info(f"This link asks for more than the server allows: {note}.", icon=":material/speed:")

left, right = st.columns([3, 2])
try:
    pairs = samples(dataset, directory)
except DataUnavailable as exc:
    st.error(md(exc, 400), icon=":material/cloud_off:")
    st.stop()
with left:
    st.caption("Test samples, original (top) and with the fixed permutation (bottom)")
    cols = st.columns(len(pairs))
    for col, (label, original, scrambled) in zip(cols, pairs):
        if original.ndim == 1:  # MNIST-1D: a sequence
            col.line_chart(original, height=60)
            col.line_chart(scrambled, height=60)
        else:
            col.image(for_display(original), caption=str(label), width="stretch")
            col.image(for_display(scrambled), width="stretch")
with right:
    st.vega_lite_chart(budget_chart(dataset, tuple(sorted(widths.items())), tuple(models)), width="stretch")

cost, budget = link_cost(tuple(configs)), training_budget()
too_costly = cost > budget  # checked from the models' shapes before anything is queued; stored results still show
if too_costly:
    st.error(f"This link asks for about {cost:.2g} multiply-adds of training, more than this server allows for one "
             f"link ({budget:.2g}, a few minutes on its CPU). Lower the epochs, the widths or the training samples, "
             "or drop the locally connected net.", icon=":material/speed:")
work = trainer(directory)
viewer = viewer_id()
if work.store.problem:
    st.warning(f"Finished trainings cannot be stored: {md(work.store.problem, 300)}. Results are kept in memory "
               "until the server restarts.", icon=":material/save:")
jobs = [work.lookup(c, viewer) for c in configs]
b1, b2 = st.columns([1, 5])
if b1.button("Train", type="primary", icon=":material/play_arrow:", disabled=too_costly,
             help="Runs in the server's background worker; other viewers of this link share the run."):
    try:
        jobs = work.submit_all(configs, viewer)
    except Busy as exc:
        st.warning(str(exc), icon=":material/hourglass_top:")
pending = [j for j in jobs if j is not None and not j.finished]
if pending and b2.button("Cancel", icon=":material/stop:",
                         help="Stops your runs; a run that other viewers also wait for goes on for them."):
    stopped = sum(work.cancel(j.key, viewer) for j in pending)
    st.toast(f"Cancelled {stopped} run(s)" + ("" if stopped == len(pending) else "; the rest have other viewers"))
    jobs = [work.lookup(c) for c in configs]


def label(config):
    return f"{PRACTICUM_MODELS[config.model]}, {'permuted' if config.permuted else 'original'}"


def show_progress():
    """Redrawn on a timer while runs train: progress bars from snapshots, nothing else on the page recomputed."""
    current = [work.lookup(c, viewer) for c in configs]
    for config, job in zip(configs, current):
        if job is None:
            st.progress(0.0, text=f"{label(config)}: not started")
        elif job.state == "done":
            st.progress(1.0, text=f"{label(config)}: done")
        elif job.state == "failed":
            st.error(f"{label(config)} failed: {md(job.error, 300)}", icon=":material/error:")
        elif job.state == "cancelled" or job.cancel_requested:
            st.progress(0.0, text=f"{label(config)}: cancelled")
        else:
            p = job.progress.snapshot()
            text = (f"{label(config)}: epoch {p.epoch}, step {p.step}/{p.total}, loss {p.loss:.3f}"
                    if job.state == "running" else f"{label(config)}: queued, {work.ahead(job)} training(s) ahead")
            st.progress(min(1.0, p.step / p.total) if p.total else 0.0, text=text)
    # no chart on a tick: with a class watching, each tick's cost is taken from the training (the loss curves
    # are drawn once the runs finish)
    if all(j is None or j.finished or j.cancel_requested for j in current):
        st.rerun(scope="app")  # nothing left to watch: redraw the page with the results, and stop polling


active = any(j is not None and not j.finished and not j.cancel_requested for j in jobs)
if active:
    running = any(j is not None and j.state == "running" for j in jobs)
    # one look every 2 s while our runs train, every 5 s while they wait behind others
    st.fragment(run_every=2.0 if running else 5.0)(show_progress)()
    st.caption(f"{len(work.queue())} run(s) in the server's queue, one training at a time (a ConvNet and its "
               "permuted twin train together).")

done = [j.result for j in jobs if j is not None and j.state == "done"]
for job in jobs:
    if job is not None and job.state == "failed":
        st.error(f"{label(job.config)} failed: {md(job.error, 300)}", icon=":material/error:")
unsaved = sorted({j.unsaved for j in jobs if j is not None and j.state == "done" and j.unsaved})
if unsaved:
    st.warning(f"These results were not saved ({md('; '.join(unsaved), 300)}): they stay on this server until it "
               f"restarts. Check the results folder (`{RESULTS_ENV}`).", icon=":material/save:")
if not done:
    if not active:
        st.info("Press **Train** to run these models (about 0.5 s for each FC net and 4 s for the two ConvNets, "
                "which train as one grouped pair, on two CPU cores; the locally connected net takes about 15 s).",
                icon=":material/info:")
    st.stop()
missing = [label(c) for c, j in zip(configs, jobs) if j is None or j.state in ("cancelled", "failed")]
if missing and not active:
    st.info(f"Results for {len(done)} of {len(configs)} runs. Not trained yet (or stopped): {', '.join(missing)}. "
            "Press **Train** to run them.", icon=":material/info:")

st.subheader("Results")
table = results_table(done)
bars = alt.Chart(table).mark_bar().encode(
    x=alt.X("input:N", title=None), xOffset="model:N", y=alt.Y("accuracy %:Q", scale=alt.Scale(domain=[0, 100])),
    color="model:N", tooltip=list(table.columns))
refs = alt.Chart(table.dropna(subset=["reference %"])).mark_tick(color="black", thickness=2, size=18).encode(
    x="input:N", xOffset="model:N", y="reference %:Q", tooltip=["model", "input", "reference %"])
a, b = st.columns([2, 3])
a.altair_chart((bars + refs).properties(height=300), width="stretch")
a.caption("Black ticks: the notebook's numbers" + (" (MNIST-1D: the paper's)." if dataset == "mnist1d" else "."))
b.dataframe(table, hide_index=True)
if (table["trained"] == "as a pair").any():
    b.caption("The two ConvNets train in lockstep as one grouped network (same batches, separate weights): "
              "their seconds are the pair's.")
b.markdown("With the same budget the ConvNet wins on real images: its kernels look at neighbouring pixels, which "
           "are related. Scramble the pixels and neighbours are strangers: the ConvNet's prior becomes a handicap, "
           "while the fully connected net, which never assumed an order, barely notices. Before you reach for a "
           "ConvNet, ask whether your data is stationary, local and compositional.")

c1, c2 = st.columns(2)
c1.altair_chart(alt.Chart(loss_curves(done)).mark_line(point=True).encode(
    x=alt.X("step:Q", title="training step"), y=alt.Y("loss:Q", title="training loss"), color="run:N")
    .properties(height=260, title="Training loss"), width="stretch")
c2.altair_chart(alt.Chart(per_class(done)).mark_line(point=True).encode(
    x="class:O", y=alt.Y("accuracy:Q", scale=alt.Scale(zero=False)), color="run:N")
    .properties(height=260, title="Accuracy per class"), width="stretch")

conv = next((r for r in done if r["model"] == "cnn" and r.get("filters")), None)
if conv is not None:
    df = filters(conv)
    chart = alt.Chart(df).mark_rect().encode(
        x=alt.X("col:O", axis=None), y=alt.Y("row:O", axis=None),
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="redblue", domainMid=0), legend=None),
    ).properties(width=70, height=70 if df["row"].max() > 0 else 20).facet(
        facet=alt.Facet("kernel:N", title=None), columns=8)
    st.caption(f"The ConvNet's learned first-layer kernels ({'permuted' if conv['permuted'] else 'original'} input)")
    st.altair_chart(chart)
st.caption(f"Device: {done[0]['device_name']}. Seconds are training time per run.")
