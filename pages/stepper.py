"""A convolution, step by step: the window on the padded input, the products, the sum, the output filling up."""

import streamlit as st

from core.padding import MODES
from core.stepper import LIMITS, Setting, frame, gif
from dashboard import charts, urlstate as url
from dashboard.safe import md


@st.cache_data(show_spinner=False, max_entries=256)
def step_view(setting: Setting, step: int) -> dict:
    """The step's four chart specs, its sentence and its products table (computed once per setting and step)."""
    f = frame(setting, step)
    side = max(len(f["input"]["col"].unique()), len(f["output"]["col"].unique()))
    cell = max(12, min(34, 300 // side))  # a column is about 320 px wide
    first = "input" if setting.transposed else "padded input"
    specs = {name: charts.as_spec(charts.cell_grid(f[name], title, cell))
             for name, title in (("input", first), ("kernel", "kernel"), ("output", "output"))}
    table = f["products"].rename(columns={"row": "kernel row", "col": "kernel col",
                                          "target_row": "output row", "target_col": "output col"})
    if setting.nd == 1:
        table = table.drop(columns=["kernel row", "output row"])
    return {**specs, "sentence": f["sentence"], "products": table}


@st.cache_data(show_spinner="Drawing every step…", max_entries=16)
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
size = url.slider("Input size", "st_n", *LIMITS["size"], 5, where=c[1])
kernel = url.slider("Kernel size", "st_k", *LIMITS["kernel"], 3, where=c[2])
stride = url.slider("Stride", "st_s", *LIMITS["stride"], 1, where=c[3])
dilation = url.slider("Dilation", "st_d", *LIMITS["dilation"], 1, where=c[4])
c = st.columns(5)
padding = url.slider("Padding", "st_p", *LIMITS["padding"], 0, where=c[0])
mode = url.choice("Padding mode", "st_mode", list(MODES), "zeros", where=c[1])
transposed = url.toggle("Transposed", "st_tr", False, where=c[2],
                        help="The transposed convolution: each input cell scatters the kernel into the output.")
seed = url.slider("Numbers (seed)", "st_seed", 0, 99, 0, where=c[3])
playing = url.toggle("Play", "st_play", False, where=c[4],
                     help="Advance one step every 0.8 s (loops); a link with Play on plays when opened.")
url.show_notices()

setting = Setting(nd=nd, size=size, kernel=kernel, stride=stride, padding=padding, mode=mode or "zeros",
                  dilation=dilation, transposed=transposed, seed=seed)
problem = setting.problem()
if problem:
    st.error(f"This setting cannot be drawn: {md(problem, 300)}. Change a setting above.", icon=":material/block:")
    st.stop()

st.caption(f"Output size: {setting.out_size}" + ("×" + str(setting.out_size) if nd == 2 else "") +
           (f" = ({size} − 1)·{stride} − 2·{padding} + {setting.span}" if transposed else
            f" = ⌊({size} + 2·{padding} − {setting.span}) / {stride}⌋ + 1") +
           f", where {setting.span} = {dilation}·({kernel} − 1) + 1 is the dilated kernel's span. "
           f"{setting.steps} steps: one per {'input' if transposed else 'output'} cell.")


@st.fragment(run_every=0.8 if playing else None)
def stepper():
    steps = setting.steps
    if steps > 1:
        if playing and "st_step" in st.session_state:
            st.session_state["st_step"] = st.session_state["st_step"] % steps + 1
        step = url.slider("Step", "st_step", 1, steps, 1)
        url.show_notices()  # a corrected step, from the link
    else:
        step = 1
    view = step_view(setting, step)
    cols = st.columns([3, 2, 3])
    for col, name in zip(cols, ("input", "kernel", "output")):
        col.vega_lite_chart(view[name], width="content")
    st.markdown(view["sentence"])
    st.dataframe(view["products"], hide_index=True, height=min(400, 35 * (len(view["products"]) + 1) + 3))


stepper()

if st.button("Make an animated GIF of every step", icon=":material/movie:"):
    data = animation(setting)
    st.download_button("Download the GIF", data, file_name=f"convolution-{nd}d-{'transposed-' if transposed else ''}"
                       f"n{size}-k{kernel}-s{stride}-p{padding}-{setting.mode}-d{dilation}.gif", mime="image/gif",
                       icon=":material/download:")
    st.image(data)
    st.caption(f"{setting.steps} frames, 0.6 s each ({len(data) / 1024:.0f} KB).")
