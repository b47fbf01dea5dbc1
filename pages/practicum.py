"""The practicum: fully connected net vs ConvNet, original vs permuted pixels (lecture section 10).


A shared link to finished runs shows their results first: the page lays out its places in reading order, fills
the results from the stored runs (pandas and Altair, no torch), and only then loads torch and the data for the
samples, the parameter budgets, the training controls, the effective fields and the section inside the nets.
"""


import streamlit as st

from core.practicum.datadir import DATA_ENV, DataUnavailable, available
from core.practicum.datasets import SPECS, spec
from core.practicum.models import MODELS, model
from core.limits import train_budget
from core.practicum.practicum import practicum_configs, run_label, sample_alts
from core.practicum.costs import time_estimate
from core.service.store import RESULTS_ENV
from core.service.worker import Busy, JobState
from dashboard import urlstate as url
from dashboard.charts import show as show_chart
from dashboard.practicum_view import (budget_chart, field_view, link_cost, parameters, progress_bars,
                                      results_section, samples, sequence_chart)
from dashboard.progress import watch
from dashboard.safe import md
from dashboard.shell import data_setting, trainer, viewer_id

DATASETS = {name: s.label for name, s in SPECS.items()}
# widgets whose defaults belong to the data set: a switch of data set starts them again from its defaults
PER_DATASET = ("pp_epochs", "pp_hidden", "pp_features", "pp_lr", "pp_mom", "pp_n")
SEEDS = range(10)


def use_mnist1d():
    st.session_state["pp_data"] = "mnist1d"
    url.reset(PER_DATASET)


LRS = [0.001, 0.005, 0.01, 0.02, 0.05, 0.1]


def try_what_if(changes: dict) -> None:
    """Move the widgets to a what-if of the verdict (before the rerun draws them): the link follows."""
    state = st.session_state
    if "epochs" in changes:
        state["pp_epochs"] = changes["epochs"]
    if "train_size" in changes and changes["train_size"] is None:
        state["pp_n"] = spec(state.get("pp_data", "mnist")).train_size
    if "width_factor" in changes:
        top = spec(state.get("pp_data", "mnist")).max_width
        for key in ("pp_hidden", "pp_features"):
            if key in state:
                state[key] = min(top, int(state[key] * changes["width_factor"]))
    if "lr" in changes:  # the nearest offered rate at or above the one asked
        state["pp_lr"] = next((r for r in LRS if r >= changes["lr"] - 1e-12), LRS[-1])


directory = data_setting()
intro = st.empty()  # the parameter counts depend on the settings below
c = st.columns([1, 2, 1, 1])  # the models box holds two or three named chips
dataset = url.choice("Data", "pp_data", list(DATASETS), "mnist", where=c[0], format_func=DATASETS.get,
                     on_change=url.reset, args=(PER_DATASET,)) or "mnist"
ds = spec(dataset)
models = url.multi("Models", "pp_models", list(MODELS), ["fc", "cnn"], where=c[1],
                   format_func=lambda k: model(k).title) or ["fc", "cnn"]
epochs = url.slider("Epochs", "pp_epochs", 1, ds.max_epochs, ds.epochs, where=c[2])
seed = url.slider("Seed", "pp_seed", 0, max(SEEDS), 0, where=c[3])
with st.expander("Widths and optimiser"):
    e = st.columns(5)
    fc_width = url.slider("FC hidden units", "pp_hidden", 1, ds.max_width, ds.width("fc"), where=e[0])
    cnn_width = url.slider("ConvNet features", "pp_features", 1, ds.max_width, ds.width("cnn"), where=e[1])
    lr = url.choice("Learning rate", "pp_lr", LRS, ds.lr, where=e[2])
    momentum = url.choice("Momentum", "pp_mom", [0.0, 0.5, 0.9], ds.momentum, where=e[3])
    step = 100 if ds.train_size < 10000 else 500
    train_size = url.slider("Training samples", "pp_n", step, ds.train_size, ds.train_size, step, where=e[4],
                            help=f"Fewer samples train faster; the default is all {ds.train_size:,}.")
url.show_notices()
widths = {"fc": fc_width, "cnn": cnn_width, "lc": cnn_width}
# the page's places, in reading order; the results are filled first (see the module's docstring)
notices = st.container()
left, right = st.columns([3, 2])
status = st.container()
b1, b2 = st.columns([1, 5])
progress_place, messages, results = st.container(), st.container(), st.container()

configs, notes = practicum_configs(dataset, models, epochs=epochs, seed=seed, widths=widths, lr=lr,
                                   momentum=momentum, train_size=train_size)
for note in sorted(notes):
    notices.info(f"This link asks for more than the server allows: {note}.", icon=":material/speed:")
work = trainer(directory)
viewer = viewer_id()
jobs = [work.lookup(c, viewer) for c in configs]
done = [j.result for j in jobs if j is not None and j.state == JobState.DONE]


if done:
    with results:
        results_section(work, configs, seed, SEEDS, dataset, tuple(models), done, try_what_if)

# ---- the rest loads torch and the data ----
sizes = parameters(dataset, tuple(sorted(widths.items())))
budget_text = " and ".join(f"{model(m).title} {sizes[m]:,}" for m in models)
counts = [sizes[m] for m in models]
alike = max(counts) <= 1.1 * min(counts)  # "the same budget" only where the counts are within 10 %
intro.markdown(
    f"The course notebook's experiment{' in 1D: MNIST-1D sequences of 40 positions' if dataset == 'mnist1d' else ''}. "
    f"Networks with {'about the same budget' if alike else 'different budgets'} ({budget_text} parameters at these "
    "widths): a fully connected net, which assumes nothing about the order of its inputs, and a ConvNet, which "
    "spends its weights on relations between neighbours. Then one fixed random permutation scrambles every input, "
    "train and test alike: locality is gone. Which prior still pays?")

if not ds.generated and not available(dataset, directory):
    notices.warning(f"{ds.label} is not on this machine and there may be no network to download it. Point "
                    f"`{DATA_ENV}` (or `data_dir` in `.streamlit/secrets.toml`) at a folder holding "
                    f"`{ds.folder}/raw/`, or try MNIST-1D, which is generated on the spot.",
                    icon=":material/cloud_off:")
    notices.button("Use MNIST-1D", on_click=use_mnist1d, type="primary")

try:
    pairs = samples(dataset, directory)
except DataUnavailable as exc:
    left.error(md(exc, 400), icon=":material/cloud_off:")
    st.stop()
with left:
    st.caption("Test samples, original (top) and with the fixed permutation (bottom)")
    if ds.nd == 2:  # images: pictures; sequences: one chart
        alts, permuted_alts = sample_alts(dataset, [d for d, _, _ in pairs], ds.input_shape[1:])
        st.image([o for _, o, _ in pairs], caption=[str(d) for d, _, _ in pairs], width=56, alt=alts)
        st.image([s for _, _, s in pairs], width=56, alt=permuted_alts)
    else:  # MNIST-1D: sequences, in one chart
        show_chart(st, sequence_chart(dataset, directory), width="content")
with right:
    show_chart(st, budget_chart(dataset, tuple(sorted(widths.items())), tuple(models)), width="stretch")

cost, budget = link_cost(tuple(configs)), train_budget()
speeds, ahead = work.speed_range(), len(work.queue())
too_costly = cost > budget  # checked from the models' shapes before anything is queued; stored results still show
with status:
    if too_costly:
        took = f" At this server's pace: {time_estimate(cost, speeds)}." if speeds else ""
        st.error(f"This link asks for about {cost:.2g} multiply-adds of training, more than this server allows for "
                 f"one link ({budget:.2g}).{took} Lower the epochs, the widths or the training samples, or drop the "
                 "locally connected net.", icon=":material/speed:")
    if work.engine_problem:
        st.warning(md(work.engine_problem, 300), icon=":material/lan:")
    if work.engine.dask:
        st.caption(f"Training runs on **{md(work.engine.name)}**: each run once, however many viewers and servers ask "
                   "for it; each result's device and seconds show in the results table.")
    else:
        from core.practicum.device import describe_device

        device = describe_device(work.device if work.device != "auto" else None)
        gpu_note = ("" if device.startswith(("CUDA", "Apple")) else
                    " No GPU is present on this server: the nets train on its CPU. With one, the lab picks it by "
                    "itself (CUDA, then Apple MPS), and each result's device and seconds show in the results table: "
                    "no GPU figure is claimed here until one has been measured.")
        st.caption(f"Training runs on **{device}**, one training at a time.{gpu_note}")
    if work.store.problem:
        st.warning(f"Finished trainings cannot be stored: {md(work.store.problem, 300)}. Results are kept in "
                   "memory until the server restarts.", icon=":material/save:")
if b1.button("Train", type="primary", icon=":material/play_arrow:", disabled=too_costly,
             help="Runs in the server's background worker; other viewers of this link share the run."):
    try:
        jobs = work.submit_all(configs, viewer)
    except Busy as exc:
        status.warning(str(exc), icon=":material/hourglass_top:")
pending = [j for j in jobs if j is not None and not j.finished]
if pending and b2.button("Cancel", icon=":material/stop:",
                         help="Stops your runs; a run that other viewers also wait for goes on for them."):
    stopped = sum(work.cancel(j.key, viewer) for j in pending)
    st.toast(f"Cancelled {stopped} run(s)" + ("" if stopped == len(pending) else "; the rest have other viewers"))
    jobs = [work.lookup(c) for c in configs]


with progress_place:
    active = watch(lambda: [work.lookup(c, viewer) for c in configs], lambda now: progress_bars(configs, now, work))

with messages:
    for job in jobs:
        if job is not None and job.state == JobState.FAILED:
            st.error(f"{run_label(job.config)} failed: {md(job.error, 300)}", icon=":material/error:")
    unsaved = sorted({j.unsaved for j in jobs if j is not None and j.state == JobState.DONE and j.unsaved})
    if unsaved:
        st.warning(f"These results were not saved ({md('; '.join(unsaved), 300)}): they stay on this server until "
                   f"it restarts. Check the results folder (`{RESULTS_ENV}`).", icon=":material/save:")
    if not done:
        if not active:
            st.info(f"Press **Train** to run these models: {md(time_estimate(cost, speeds, ahead))} for all of them.",
                    icon=":material/info:")
        st.stop()
    missing = [run_label(c) for c, j in zip(configs, jobs) if j is None or j.state in (JobState.CANCELLED, JobState.FAILED)]
    if missing and not active:
        st.info(f"Results for {len(done)} of {len(configs)} runs. Not trained yet (or stopped): "
                f"{', '.join(missing)}. Press **Train** to run them.", icon=":material/info:")

with results:
    fields = [(r, field_view(r.key, r)) for r in done if r.model == "cnn"]
    fields = [(r, f) for r, f in fields if f is not None]
    if fields:
        st.subheader("The ConvNet's effective receptive field, before and after training")
        for r, (stage_specs, summary, sentence) in fields:
            st.markdown(f"**{model(r.model).label(r.permuted)} input.** {sentence}")
            cols = st.columns([1, 1, 1.3])  # the table's three columns are wider than the 200 px pictures
            for col, (spec_, image) in zip(cols, stage_specs):
                show_chart(col, spec_, width="content" if image else "stretch")
            cols[2].dataframe(summary, hide_index=True)
        st.caption("Luo et al. (2016): the gradient of one output unit with respect to the input is roughly Gaussian "
                   "and covers only part of the theoretical field; in their deep networks it grows with training. "
                   "Inputs are shown as the network saw them (a permuted run: in permuted order).")

    devices = sorted({r.device_name for r in done})
    st.caption(f"Trained on {', '.join(devices)}. Seconds are training time per run" +
               ("" if any(d.startswith("CUDA") for d in devices) else "; no result here was trained on a GPU") + ".")

from dashboard import inside as inside_view  # noqa: E402  (torch: loaded after the results are on the page)

inside_view.show(done, lambda r, most: r.weights or work.store.get_weights(r.key, most), dataset, directory)
