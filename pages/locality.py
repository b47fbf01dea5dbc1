"""Locality → sparsity (lecture section 4)."""

import numpy as np
import streamlit as st

from core.lecture.images import sample_image
from core.nets.receptive_field import receptive_field, recursion_table
from core.lecture.sparsity import Stack1d, connection_diagram, diagram_lead, field_on_image, field_words, matrix_view
from core.tables import long_table
from dashboard import cache, urlstate as url
from dashboard.charts import as_spec, connections, heatmap_spec, raster, show as show_chart
from dashboard.safe import md
from dashboard.tables import arrow, fit_height
from dashboard.shell import data_setting



@cache.data(show_spinner=False, max_entries=64)
def diagram(stack: Stack1d, unit: int):
    """(chart spec, per-layer table, the lecture's three fields or None) for the stack with one output unit
    picked."""
    nodes, edges, table = connection_diagram(stack, unit)
    questions = (table["rf_previous"][2], table["rf_input"][1], table["rf_input"][2]) if len(table) > 2 else None
    return as_spec(connections(nodes, edges, stack.layers), lead=diagram_lead(nodes, edges, unit)), arrow(table.rename(columns={
        "rf_previous": "field w.r.t. layer below", "rf_input": "field w.r.t. input", "seen": "units seen"})), questions


@cache.data(show_spinner=False, max_entries=64)
def recursion(stack: Stack1d):
    return arrow(recursion_table(receptive_field(stack.module(), (1, 1, stack.n))))


@cache.data(show_spinner=False, max_entries=64)
def matrices(stack: Stack1d):
    mv = matrix_view(stack)
    fc = heatmap_spec(mv.fc, "weight", f"Fully connected: {mv.fc_nonzeros} non-zeros")
    conv = heatmap_spec(mv.conv, "weight", f"Convolution: {mv.conv_nonzeros} non-zeros")
    return as_spec(fc), as_spec(conv), mv.fc_nonzeros, mv.conv_nonzeros, mv.max_abs_diff


@cache.data(show_spinner="Measuring the gradient field…", max_entries=32)
def fields_2d(source: str, directory, layers: int, pool: bool):
    """(image spec, gradient spec, caption) for the 2D panel."""
    image, caption = sample_image(source, directory=directory)
    field = field_on_image(image.shape, layers, pool)
    (r0, r1), (c0, c1) = field.box
    h, w = image.shape
    pixels = long_table(image, "value").assign(erf=np.asarray(field.erf).ravel())
    box = (r0, r1, c0, c1)
    left = raster(pixels, "value", "greys", box, reverse=True).properties(
        title=f"Analytic field: {field.rf}×{field.rf}")
    right = raster(pixels, "erf", "inferno", box).properties(title="Gradient (effective) field")
    (s0, s1), (t0, t1) = field.support
    left_lead = (f"{caption}, {h} × {w} pixels, with the central output unit's analytic field boxed: rows {r0} to "
                 f"{r1}, columns {c0} to {c1}")
    right_lead = (f"The gradient of that unit on the image: non-zero over rows {s0} to {s1}, columns {t0} to {t1}, "
                  f"inside the box of rows {r0} to {r1}, columns {c0} to {c1}")
    text = (f"{caption}. Central output unit of a random {layers}-layer stack. Gradient support: rows {s0}–{s1}, "
            f"columns {t0}–{t1} (analytic box: rows {r0}–{r1}, columns {c0}–{c1}). {field_words(field)}")
    return as_spec(left, lead=left_lead), as_spec(right, lead=right_lead), text


st.markdown("Far-away inputs hardly matter, so each unit keeps only a small window of the layer below. "
            "The weight matrix is then mostly zeros, and stacking layers grows what a unit sees.")

# Each section is a fragment: its widgets rerun it alone, so the browser redraws only its own charts
@st.fragment
def in_one_dimension():
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
        st.error(md(exc, 300), icon=":material/error:")
        return
    if sizes[-1] > 1:  # a fixed default: one that moved with the other sliders would drop out of the link
        unit = url.slider("Output unit to follow", "loc_u", 0, sizes[-1] - 1, 0,
                          help="Which unit of the last layer to trace back to the input.")
        unit = min(unit, sizes[-1] - 1)
    else:  # no choice to make: no greyed-out slider whose label nobody can read (WCAG 1.4.3)
        unit = 0
        st.caption("The last layer has one unit: it is the one traced back to the input.")
    url.show_notices()

    st.subheader("What one unit sees")
    spec, table, questions = diagram(stack, unit)
    left, right = st.columns(2)  # the field table's five columns need half the page
    show_chart(left, spec, width="stretch")
    right.dataframe(table, hide_index=True, placeholder="—")
    # the page's width: its columns need it; drawn only when open (and the link says so)
    section = st.expander("The recursion, worked (Distill 2019)", key="loc_rec", bind="query-params")
    if section.open:
        worked = recursion(stack)
        section.dataframe(worked, hide_index=True, height=fit_height(len(worked)))
        section.caption("From the input (r = 1, j = 1, start = 0), each layer of kernel k, stride s, padding p and "
                        "dilation d (k_eff = d(k − 1) + 1) gives r = r + (k_eff − 1)·j, j = j·s, "
                        "start = start + ((k_eff − 1)/2 − p)·j; the closed form r = 1 + Σ (k_eff − 1)·(product of the "
                        "strides below) agrees.")
    if len(sizes) == 3:
        right.caption(f"The lecture's questions: Q1 output w.r.t. hidden = **{questions[0]}**, "
                      f"Q2 hidden w.r.t. input = **{questions[1]}**, "
                      f"Q3 output w.r.t. input = **{questions[2]}**.")

    st.subheader("The same layer as a matrix")
    fc_spec, conv_spec, fc_nz, conv_nz, diff = matrices(stack)
    m1, m2 = st.columns(2)
    show_chart(m1, fc_spec, width="stretch")
    show_chart(m2, conv_spec, width="stretch")
    st.markdown(f"M · x equals torch `conv1d(x)`: max |difference| = **{diff:.2e}**. Zeros need no multiply: "
                f"{fc_nz - conv_nz} of {fc_nz} products are skipped. Sparse connectivity only means zeros in the "
                "matrix, not fewer layers.")


@st.fragment
def in_two_dimensions():
    st.subheader("In two dimensions")
    d = st.columns(3)
    source = url.choice("Image", "loc_img", ["mnist digit", "camera", "chelsea", "coins"], "mnist digit", where=d[0])
    layers2 = url.slider("3×3 conv layers", "loc_l2", 1, 5, 2, where=d[1])
    pool = url.toggle("2×2 max-pool after each", "loc_pool", False, where=d[2])
    url.show_notices()
    try:
        image_spec, erf_spec, caption = fields_2d(source, data_setting(), layers2, pool)
    except ValueError as exc:
        st.error(md(exc, 300), icon=":material/error:")
        return
    p1, p2 = st.columns(2)
    show_chart(p1, image_spec, width="content")
    show_chart(p2, erf_spec, width="content")
    st.caption(caption)


in_one_dimension()
in_two_dimensions()
