"""Kernels (lecture section 6)."""

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.images import as_png, photo
from core.kernels import (KERNELS_1D, KERNELS_2D, MIXES, apply_kernels, centre_shift, channel_mixing, collection,
                          impulse_responses, neighbourhood, rgb_photo, smallest_all_round, test_signal)
from dashboard import urlstate as url


@st.cache_data(show_spinner=False, max_entries=64)
def outputs_1d(names):
    x = test_signal()
    out = apply_kernels(x, names)
    frames = [pd.DataFrame({"i": np.arange(len(x)), "value": x, "channel": "input"})]
    frames += [pd.DataFrame({"i": np.arange(len(x)), "value": y, "channel": n}) for n, y in out.items()]
    df = pd.concat(frames, ignore_index=True)
    return alt.Chart(df).mark_line().encode(
        x=alt.X("i:Q", title="position"), y=alt.Y("value:Q", title=None),
        color=alt.Color("channel:N", legend=None),
    ).properties(height=90, width=700).facet(row=alt.Row("channel:N", title=None)).resolve_scale(y="independent").to_dict()


@st.cache_data(show_spinner=False, max_entries=64)
def outputs_2d(image_name, names):
    img = photo(image_name, 96)
    return [(name, as_png(y)) for name, y in {"input": img, **apply_kernels(img, names)}.items()]


@st.cache_data(show_spinner=False, max_entries=8)
def odd_even(size):
    """(impulse-response chart spec, centre-shift table) for box kernels around ``size``."""
    spec = alt.Chart(impulse_responses(size)).mark_line(point=True).encode(
        x="position:Q", y="value:Q", color="kernel:N").properties(height=220).to_dict()
    return spec, centre_shift(size)


@st.cache_data(show_spinner=False)
def reach_table():
    return neighbourhood(5)


@st.cache_data(show_spinner=False, max_entries=8)
def mixing(mix):
    image = rgb_photo("chelsea", 128)
    mixed = channel_mixing(image, mix)
    return as_png(image), [as_png(c) for c in mixed["outputs"]], mixed


st.markdown("A layer applies several kernels; each spans the full thickness (all channels) of the layer below, "
            "and each makes one output channel. For 1D data the collection is a 3D tensor, "
            "*kernels × channels × length*; for 2D data a 4D one.")

c = st.columns(4)
nd = url.dims("Data", "ker_nd", 1, where=c[0])
kernels = url.slider("Kernels", "ker_k", 1, 16, 2, where=c[1])
channels = url.slider("Input channels", "ker_c", 1, 16, 7, where=c[2])
size = url.slider("Kernel size", "ker_s", 1, 7, 3, where=c[3])
url.show_notices()
st.dataframe(collection(kernels, channels, size, nd), hide_index=True)
st.caption("Shapes read off a real `torch.nn.Conv%dd(%d, %d, %d)`. The lecture's figure: 2 kernels × 7 channels "
           "× length 3." % (nd, channels, kernels, size))

st.subheader("Classic kernels at work")
names = list(KERNELS_1D if nd == 1 else KERNELS_2D) + ["random"]
chosen = url.multi("Kernels to apply", f"ker_apply{nd}", names, names)
chosen = [n for n in chosen if n in names] or names[:1]
if nd == 1:
    st.vega_lite_chart(outputs_1d(tuple(chosen)))
else:
    image = url.choice("Image", "ker_img", ["camera", "coins", "chelsea", "brick"], "camera")
    cols = st.columns(len(chosen) + 1)
    for col, (name, picture) in zip(cols, outputs_2d(image, tuple(chosen))):
        col.image(picture, caption=name, width="stretch")
url.show_notices()

st.subheader("Odd vs even kernels")
even_size = url.slider("Box kernel size", "ker_box", 2, 6, 2)
url.show_notices()
left, right = st.columns([3, 2])
impulses, shifts = odd_even(even_size)
left.vega_lite_chart(impulses, width="stretch")
right.dataframe(shifts, hide_index=True)
right.caption("An odd kernel has a centre sample; an even kernel's centre falls between two samples, so its "
              "output is shifted by half a sample and averages neighbours (a low-pass effect).")

st.subheader("The smallest kernels: 3×3 looks around, 1×1 mixes channels")
reach = reach_table()
left, right = st.columns([3, 2])
left.dataframe(reach, hide_index=True)
smallest = smallest_all_round(reach)
right.markdown(f"What one output pixel reads, from the gradient of a real `Conv2d` with 'same' padding. The smallest "
               f"kernel with a neighbour on every side and a centre pixel: **{smallest}**. A 1×1 kernel reads "
               f"{int(reach.iloc[0]['neighbours'])} neighbours; a 2×2 one sees only down and right.")
mix = url.choice("1×1 mix", "ker_mix", list(MIXES), list(MIXES)[0])
url.show_notices()
image, channels, mixed = mixing(mix)
cols = st.columns(4)
cols[0].image(image, caption="input (RGB)", width="stretch")
names = [n.strip() for n in mix.split(",")] if mix.count(",") == 2 else ["channel 1", "channel 2", "channel 3"]
for col, channel, name in zip(cols[1:], channels, names):
    col.image(channel, caption=name, width="stretch")
st.caption(f"A 1×1 convolution is a 3×3 matrix ({mixed['parameters']} weights) applied at every pixel: its output "
           f"equals that matrix times each pixel's colour (max |difference| = {mixed['max_diff']:.1e}), and an output "
           f"pixel reads {mixed['neighbours_read']} neighbours. The same weights take inputs of any size: "
           + ", ".join(f"{n}×{n} → {' × '.join(map(str, shape))}" for n, shape in mixed["shapes"].items()) + ".")
