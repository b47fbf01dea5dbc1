"""A convolution, step by step: the window on the padded input, the products, the sum, the output filling up."""

import time

import streamlit as st

from core.lecture.padding import MODES
from core.lecture.stepper import Setting, frame
from core.lecture.stepper_gif import gif, gif_alt, gif_cell
from core.limits import STEPPER, STEPPER_FILL
from dashboard import cache, charts, urlstate as url
from dashboard.charts import show as show_chart
from dashboard.tables import arrow
from dashboard.safe import md

PLAY_SECONDS = 180


@cache.data(show_spinner=False, max_entries=256)
def step_view(setting: Setting, step: int) -> dict:
    """The step's chart specs (a grid per input channel, per slice of this step's kernel and per output channel),
    its sentences and its products table (computed once per setting and step)."""
    f = frame(setting, step)
    side = max(len(f["input"]["col"].unique()), len(f["output"]["col"].unique()))
    cell = max(12, min(34, 300 // side))  # a column is about 320 px wide
    padded = sum(setting.pads) and not setting.transposed
    many_in, many_out = setting.c_in > 1, setting.c_out > 1
    o = f["out_channel"]
    specs = {"input": [charts.as_spec(charts.cell_grid(part, ("padded input" if padded else "input")
                                                       + (f", channel {c + 1}" if many_in else ""), cell))
                       for c, part in f["input"].groupby("channel")],
             "kernel": [charts.as_spec(charts.cell_grid(part, (f"kernel {o + 1}" if many_out else "kernel")
                                                        + (f" on channel {c + 1}" if many_in else ""), cell))
                        for c, part in f["kernel"].groupby("channel")],
             "output": [charts.as_spec(charts.cell_grid(part, "output" + (f" channel {c + 1}" if many_out else ""),
                                                        cell))
                        for c, part in f["output"].groupby("channel")]}
    table = f["products"].rename(columns={"channel": "input channel", "row": "kernel row", "col": "kernel col",
                                          "target_row": "output row", "target_col": "output col"})
    table["input channel"] += 1
    if setting.nd == 1:
        table = table.drop(columns=["kernel row", "output row"])
    if not many_in:
        table = table.drop(columns=["input channel"])
    return {**specs, "sentence": f["sentence"], "flip": f["flip_sentence"], "products": arrow(table)}


@cache.data(show_spinner="Drawing every step…", max_entries=16)
def animation(setting: Setting) -> bytes:
    return gif(setting)


st.markdown("One output cell at a time. A convolution *gathers*: each output cell is the sum of the kernel times "
            "the window of the padded input under it; the window moves by the stride and takes every "
            "dilation-th sample. A **transposed** convolution *scatters*: each input cell adds a copy of the "
            "kernel, scaled by its value, into the output (stride apart), which is how it grows a small map into "
            "a large one. The numbers are small integers so every sum can be checked by hand; they equal "
            "PyTorch's `conv1d`/`conv2d`/`conv_transpose` on the same weights.")
c = st.columns(5)
nd = url.dims("Signal", "st_nd", 2, where=c[0])
size = url.slider("Input size", "st_n", *STEPPER["size"], 5, where=c[1])
kernel = url.slider("Kernel size", "st_k", *STEPPER["kernel"], 3, where=c[2])
stride = url.slider("Stride", "st_s", *STEPPER["stride"], 1, where=c[3])
dilation = url.slider("Dilation", "st_d", *STEPPER["dilation"], 1, where=c[4])
c = st.columns(5)
c_in = url.slider("Input channels", "st_cin", *STEPPER["c_in"], 1, where=c[0],
                  help="Each kernel spans every input channel and sums its window across them.")
c_out = url.slider("Kernels (output channels)", "st_cout", *STEPPER["c_out"], 1, where=c[1],
                   help="One kernel per output channel; the steps go through each output channel in turn.")
depthwise = url.toggle("Depthwise", "st_dw", False, where=c[2],
                       help="groups = input channels: each kernel reads one input channel only (MobileNet's "
                            "depthwise convolution). The output channels must be a multiple of the input channels.")
transposed = url.toggle("Transposed", "st_tr", False, where=c[3],
                        help="The transposed convolution: each input cell scatters the kernel into the output "
                             "(one channel in and one out).")
causal = url.toggle("Causal (1D)", "st_causal", False, where=c[4], disabled=nd != 1,
                    help="Pad the past only: dilation × (kernel − 1) cells on the left, none on the right, so no "
                         "output reads a later input. Used for audio (WaveNet) and time series, where the future "
                         "is not known yet.") and nd == 1
c = st.columns(5)
padding = url.slider("Padding", "st_p", *STEPPER["padding"], 0, where=c[0], disabled=causal,
                     help="Set by the causal toggle while it is on." if causal else None)
mode = url.choice("Padding mode", "st_mode", list(MODES), "zeros", where=c[1])
fill = 0.0
if mode == "constant":
    fill = url.slider("Constant fill", "st_fill", -STEPPER_FILL, STEPPER_FILL, 0.0, 0.5, where=c[2],
                      help="The value every invented border cell holds.")
seed = url.slider("Numbers (seed)", "st_seed", 0, 99, 0, where=c[3])
# Play stops by itself after PLAY_SECONDS: a tab left playing in the background would cost the server a rerun
# every 0.8 s for as long as it stays open (5 CPU-s a minute)
if st.session_state.pop("st_play_expired", False):
    st.session_state["st_play"] = False
    st.session_state.pop("st_play_since", None)
    st.info(f"Play stopped after {PLAY_SECONDS // 60} minutes; turn it on again to go on.", icon=":material/pause:")
playing = url.toggle("Play", "st_play", False, where=c[4],
                     help=f"Advance one step every 0.8 s (loops, for up to {PLAY_SECONDS // 60} minutes); a link "
                          "with Play on plays when opened. Turn it off to pause.")
if playing:
    st.session_state.setdefault("st_play_since", time.time())
else:
    st.session_state.pop("st_play_since", None)
url.show_notices()

setting = Setting(nd=nd, size=size, kernel=kernel, stride=stride, padding=padding, mode=mode or "zeros",
                  dilation=dilation, transposed=transposed, seed=seed, c_in=c_in, c_out=c_out, depthwise=depthwise,
                  causal=causal, value=fill)
problem = setting.problem()
if problem:
    st.error(f"This setting cannot be drawn: {md(problem, 300)}. Change a setting above.", icon=":material/block:")
    st.stop()

before, after = setting.pads
added = f"{before} + {after}" if causal else f"2·{padding}"
channels = (f" Weights: {c_out} × {c_in // setting.groups} × " + " × ".join([str(kernel)] * nd)
            + f" (groups = {setting.groups})." if c_in > 1 or c_out > 1 else "")
st.caption(f"Output size: {setting.out_size}" + ("×" + str(setting.out_size) if nd == 2 else "") +
           (f" = ({size} − 1)·{stride} − 2·{padding} + {setting.span}" if transposed else
            f" = ⌊({size} + {added} − {setting.span}) / {stride}⌋ + 1") +
           f", where {setting.span} = {dilation}·({kernel} − 1) + 1 is the dilated kernel's span"
           + (f"; causal padding adds {before} before and none after" if causal else "") + ". "
           f"{setting.steps} steps: one per {'input' if transposed else 'output'} cell"
           + (f" of each of the {c_out} output channels" if c_out > 1 and not transposed else "") + "." + channels)


@st.fragment(run_every=0.8 if playing else None)
def stepper():
    steps = setting.steps
    if steps > 1:
        if playing and time.time() - st.session_state.get("st_play_since", time.time()) > PLAY_SECONDS:
            st.session_state["st_play_expired"] = True
            st.rerun()  # the whole page: the toggle above turns off
        if playing and "st_step" in st.session_state:
            st.session_state["st_step"] = st.session_state["st_step"] % steps + 1
        step = url.slider("Step", "st_step", 1, steps, 1)
        url.show_notices()  # a corrected step, from the link
    else:
        step = 1
    view = step_view(setting, step)
    cols = st.columns([3, 2, 3])
    for col, name in zip(cols, ("input", "kernel", "output")):
        for spec in view[name]:  # one grid per channel, stacked
            show_chart(col, spec, width="content")
    st.markdown(view["sentence"])
    if view["flip"]:
        st.caption(view["flip"])
    st.dataframe(view["products"], hide_index=True, height=min(400, 35 * (len(view["products"]) + 1) + 3))


stepper()

try:
    gif_cell(setting)  # costed from frames x canvas before anything is drawn
    too_large = None
except ValueError as exc:
    too_large = str(exc)
if st.button("Make an animated GIF of every step", icon=":material/movie:", disabled=too_large is not None,
             help=None if too_large is None else f"Too large: {too_large}."):
    data = animation(setting)
    st.download_button("Download the GIF", data, file_name=f"convolution-{nd}d-{'transposed-' if transposed else ''}"
                       f"{'causal-' if causal else ''}{'depthwise-' if depthwise else ''}c{c_in}x{c_out}-"
                       f"n{size}-k{kernel}-s{stride}-p{padding}-{setting.mode}-d{dilation}.gif", mime="image/gif",
                       icon=":material/download:")
    st.image(data, alt=gif_alt(setting))
    st.caption(f"{setting.steps} frames, 0.6 s each ({len(data) / 1024:.0f} KB).")
if too_large is not None:
    st.caption(f"No GIF for this setting: {md(too_large, 300)}.")
