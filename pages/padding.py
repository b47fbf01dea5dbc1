"""Padding (lecture section 7)."""

import altair as alt
import numpy as np
import streamlit as st

from core.lecture.images import photo
from core.lecture.padding import MODES, border_effect, padded_lead, padded_views, same_claim, size_table
from dashboard import cache, charts, urlstate as url
from dashboard.charts import show as show_chart
from dashboard.tables import arrow
from core.palette import BLUE, INK, ORANGE

SIGNAL = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 5.0, 7.0])


@cache.data(show_spinner=False, max_entries=32)
def signal_chart(amount, value):
    df = padded_views(SIGNAL, amount, value)
    return charts.as_spec(alt.Chart(df).mark_bar(stroke=INK).encode(
        x=alt.X("col:O", title="position"), y=alt.Y("value:Q", title=None),
        color=alt.Color("padded:N", scale=alt.Scale(domain=[False, True], range=[BLUE, ORANGE]),
                        legend=alt.Legend(title="padded cell", orient="bottom")),
        # and not by colour alone (1.4.1): an invented cell's bar has a dashed outline
        strokeDash=alt.StrokeDash("padded:N", scale=alt.Scale(domain=[False, True], range=[[1, 0], [3, 2]]),
                                  legend=alt.Legend(title="padded cell", orient="bottom")),
        tooltip=["mode", "col", "value", "source"],
    ).properties(width=150, height=120).facet(column=alt.Column("mode:N", title=None, sort=list(MODES))),
        lead=padded_lead(df))


@cache.data(show_spinner=False, max_entries=32)
def image_chart(amount, value):
    img = photo("camera", 64)[8:20, 26:38]  # a 12 x 12 crop with an edge in it
    return charts.as_spec(charts.padded_images(padded_views(img, amount, value), MODES))


@cache.data(show_spinner=False, max_entries=64)
def size_view(n, k, stride, dilation):
    """(the size table in Arrow, whether a padding gives no output at all)."""
    table = size_table(n, k, stride, dilation)
    return arrow(table), bool(table["output size"].isna().any())


@cache.data(show_spinner=False, max_entries=32)
def border_chart(kernel_size):
    ramp = np.linspace(1.0, 2.0, 16)
    df = border_effect(ramp, np.ones(kernel_size) / kernel_size)
    return charts.as_spec(alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("position:Q"), y=alt.Y("value:Q", scale=alt.Scale(zero=False), title="blurred ramp"),
        color="mode:N").properties(height=240))


st.markdown("A kernel of size k removes k − 1 outputs. Padding (k − 1)/2 on each side keeps the size (64 → 64, "
            "then pooling by 2 → 32). Zero padding is the usual choice because inputs and activations are roughly "
            "zero-mean, so 0 means *nothing*; it rarely changes results.")

# Each section is a fragment: its widgets rerun it alone, so the browser redraws only its own charts
@st.fragment
def modes():
    c = st.columns(2)
    amount = url.slider("Padding per side", "pad_a", 0, 4, 2, where=c[0])
    value = url.slider("Constant value", "pad_v", -2.0, 8.0, 4.0, 0.5, where=c[1])
    url.show_notices()
    st.subheader("A signal, padded in each mode")
    show_chart(st, signal_chart(amount, value))
    st.subheader("An image, padded in each mode")
    show_chart(st, image_chart(amount, value))
    st.caption("Invented cells are orange, their bars outlined in dashes and their pixels marked with a square. Reflection mirrors without repeating the edge, replication repeats "
               "it, circular wraps around; modes that cannot pad this much (reflect needs padding < size) are left out.")


@st.fragment
def sizes():
    st.subheader("Output size calculator")
    c = st.columns(4)
    n = url.slider("Input size", "pad_n", 1, 128, 64, where=c[0])
    k = url.slider("Kernel size", "pad_k", 1, 11, 3, where=c[1])
    stride = url.slider("Stride", "pad_s", 1, 4, 1, where=c[2])
    dilation = url.slider("Dilation", "pad_d", 1, 4, 1, where=c[3])
    url.show_notices()
    st.markdown("Output size = ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1. " + same_claim(n, k, stride, dilation)["sentence"])
    sizes_, none = size_view(n, k, stride, dilation)
    st.dataframe(sizes_, hide_index=True, placeholder="none")
    if none:
        st.caption(f"“none”: with that padding the kernel's span, {dilation * (k - 1) + 1}, is longer than the "
                   "padded input, so there is no output.")


@st.fragment
def border():
    st.subheader("What the modes do at a convolution's border")
    bk = url.slider("Blur kernel size", "pad_bk", 2, 7, 3)
    url.show_notices()
    show_chart(st, border_chart(bk), width="stretch")
    st.caption("A box blur of a ramp from 1 to 2: zero padding drags the border towards 0, replication and reflection "
               "keep it near the data, circular padding mixes the two ends.")


modes()
sizes()
border()
