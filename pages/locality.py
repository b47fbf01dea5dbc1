"""Locality → sparsity (lecture section 4)."""

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.sparsity import Stack1d, connection_diagram, field_on_image, matrix_view
from dashboard import urlstate as url
from core.images import sample_image
from dashboard.shell import data_setting


@st.cache_data(show_spinner=False, max_entries=64)
def _diagram(stack: Stack1d, unit: int):
    return connection_diagram(stack, unit)


@st.cache_data(show_spinner=False, max_entries=64)
def _matrices(stack: Stack1d):
    return matrix_view(stack)


@st.cache_data(show_spinner=False, max_entries=16)
def _image(source, directory):
    return sample_image(source, directory=directory)


@st.cache_data(show_spinner="Measuring the gradient field…", max_entries=32)
def _field(size, layers, pool):
    return field_on_image(size, layers, pool)


st.title("Locality → sparsity")
st.markdown("Far-away inputs hardly matter, so each unit keeps only a small window of the layer below. "
            "The weight matrix is then mostly zeros, and stacking layers grows what a unit sees.")

c = st.columns(6)
n = url.slider("Input length", "loc_n", 3, 32, 5, where=c[0])
k = url.slider("Kernel size", "loc_k", 1, 7, 3, where=c[1])
stride = url.slider("Stride", "loc_s", 1, 3, 1, where=c[2])
padding = url.slider("Padding", "loc_p", 0, 3, 0, where=c[3])
dilation = url.slider("Dilation", "loc_d", 1, 3, 1, where=c[4])
layers = url.slider("Layers", "loc_l", 1, 4, 2, where=c[5])
stack = Stack1d(n, k, stride, padding, dilation, layers)
try:
    sizes = stack.sizes()
except ValueError as exc:
    url.show_notices()
    st.error(str(exc), icon=":material/error:")
    st.stop()
unit = url.slider("Output unit to follow", "loc_u", 0, max(sizes[-1] - 1, 1), sizes[-1] // 2,
                  disabled=sizes[-1] == 1, help="Which unit of the last layer to trace back to the input.")
unit = min(unit, sizes[-1] - 1)
url.show_notices()

nodes, edges, table = _diagram(stack, unit)
st.subheader("What one unit sees")
left, right = st.columns([3, 2])
base_y = alt.Y("layer:O", sort="descending", title=None,
               axis=alt.Axis(labelExpr="datum.value == 0 ? 'input' : 'layer ' + datum.value"))
lines = alt.Chart(edges).mark_rule().encode(
    x=alt.X("x1:Q", title="input coordinate", axis=alt.Axis(tickMinStep=1, format="d")), x2="x2:Q",
    y=alt.Y("y1:Q", scale=alt.Scale(reverse=True), title=None, axis=None), y2="y2:Q",
    color=alt.Color("active:N", scale=alt.Scale(domain=[False, True], range=["#d5d9e0", "#e4572e"]), legend=None),
    strokeWidth=alt.condition("datum.active", alt.value(2.5), alt.value(1)),
)
dots = alt.Chart(nodes).mark_circle(size=220, stroke="#333", strokeWidth=0.6).encode(
    x="x:Q", y=alt.Y("layer:Q", scale=alt.Scale(reverse=True)),
    color=alt.Color("seen:N", scale=alt.Scale(domain=[False, True], range=["#ffffff", "#e4572e"]),
                    legend=alt.Legend(title="seen by the unit")),
    tooltip=["layer", "position", "seen"],
)
left.altair_chart((lines + dots).properties(height=70 * (layers + 1) + 40), width="stretch")
right.dataframe(table.rename(columns={"rf_previous": "field w.r.t. layer below", "rf_input": "field w.r.t. input",
                                     "seen": "units seen"}), hide_index=True)
if len(sizes) == 3:
    right.caption(f"The lecture's questions: Q1 output w.r.t. hidden = **{table['rf_previous'][2]}**, "
                  f"Q2 hidden w.r.t. input = **{table['rf_input'][1]}**, "
                  f"Q3 output w.r.t. input = **{table['rf_input'][2]}**.")

st.subheader("The same layer as a matrix")
mv = _matrices(stack)
heat = alt.Chart().mark_rect().encode(
    x=alt.X("col:O", title="input"), y=alt.Y("row:O", title="output"),
    color=alt.Color("weight:Q", scale=alt.Scale(scheme="redblue", domainMid=0), legend=None),
    tooltip=["row", "col", alt.Tooltip("weight:Q", format=".3f")])
m1, m2 = st.columns(2)
m1.altair_chart(heat.properties(data=mv.fc, title=f"Fully connected: {mv.fc_nonzeros} non-zeros"),
                width="stretch")
m2.altair_chart(heat.properties(data=mv.conv, title=f"Convolution: {mv.conv_nonzeros} non-zeros"),
                width="stretch")
st.markdown(f"M · x equals torch `conv1d(x)`: max |difference| = **{mv.max_abs_diff:.2e}**. "
            f"Zeros need no multiply: {mv.fc_nonzeros - mv.conv_nonzeros} of {mv.fc_nonzeros} products are "
            "skipped. Sparse connectivity only means zeros in the matrix, not fewer layers.")

st.subheader("In two dimensions")
d = st.columns(3)
source = url.choice("Image", "loc_img", ["mnist digit", "camera", "chelsea", "coins"], "mnist digit",
                    where=d[0])
layers2 = url.slider("3×3 conv layers", "loc_l2", 1, 5, 2, where=d[1])
pool = url.toggle("2×2 max-pool after each", "loc_pool", False, where=d[2])
url.show_notices()
image, caption = _image(source, data_setting())
try:
    field = _field(image.shape, layers2, pool)
except ValueError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
(r0, r1), (c0, c1) = field.box
h, w = image.shape
pixels = pd.DataFrame({"row": np.repeat(np.arange(h), w), "col": np.tile(np.arange(w), h),
                       "value": image.ravel(), "erf": field.erf.ravel()})
box = pd.DataFrame([{"col": c0 - 0.5, "col2": c1 + 0.5, "row": r0 - 0.5, "row2": r1 + 0.5}])
x_scale = alt.Scale(domain=[-0.5, w - 0.5], nice=False, zero=False)
y_scale = alt.Scale(domain=[h - 0.5, -0.5], nice=False, zero=False)


def raster(column, scheme, reverse=False):
    return alt.Chart(pixels).transform_calculate(c0="datum.col - 0.5", c1="datum.col + 0.5",
                                                 r0="datum.row - 0.5", r1="datum.row + 0.5").mark_rect(strokeWidth=0).encode(
        x=alt.X("c0:Q", scale=x_scale, axis=None), x2="c1:Q", y=alt.Y("r0:Q", scale=y_scale, axis=None), y2="r1:Q",
        color=alt.Color(f"{column}:Q", scale=alt.Scale(scheme=scheme, reverse=reverse), legend=None))


rect = alt.Chart(box).mark_rect(fill=None, stroke="#e4572e", strokeWidth=3).encode(
    x=alt.X("col:Q", scale=x_scale, axis=None), x2="col2:Q", y=alt.Y("row:Q", scale=y_scale, axis=None), y2="row2:Q")
side = 320
p1, p2 = st.columns(2)
p1.altair_chart(alt.layer(raster("value", "greys", True), rect)
                .properties(width=side, height=side, title=f"Analytic field: {field.rf}×{field.rf}")
                .configure_view(strokeWidth=0), width="content")
p2.altair_chart(alt.layer(raster("erf", "inferno"), rect)
                .properties(width=side, height=side, title="Gradient (effective) field")
                .configure_view(strokeWidth=0), width="content")
st.caption(f"{caption}. Central output unit of a random {layers2}-layer stack. Gradient support: rows "
           f"{field.support[0][0]}–{field.support[0][1]}, columns {field.support[1][0]}–{field.support[1][1]} "
           f"(analytic box: rows {r0}–{r1}, columns {c0}–{c1}). The effective field is brightest at the "
           "centre and fades well inside the analytic one (Luo et al. 2016).")
