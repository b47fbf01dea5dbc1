"""Stationarity → parameter sharing (lecture section 5)."""

import streamlit as st

from core.lecture.conv import layer_costs
from core.lecture.sharing import (apply_to_sizes, costs_vs_size, growth_caption, lecture_examples, sharing_caption,
                          sharing_matrices)
from dashboard import cache, charts, urlstate as url
from dashboard.tables import arrow
from dashboard.charts import as_spec, show as show_chart


@cache.data(show_spinner=False, max_entries=64)
def costs(shape, c_out, k):
    return arrow(layer_costs(shape, c_out, k))


@cache.data(show_spinner=False, max_entries=64)
def growth_charts(c_in, c_out, k, nd, sizes):
    df = costs_vs_size(c_in, c_out, k, sizes, nd)
    return (*(as_spec(spec) for spec in charts.growth(df)), growth_caption(df))


@cache.data(show_spinner=False, max_entries=64)
def matrices_table(n, k):
    return sharing_matrices(n, k)


@cache.data(show_spinner=False, max_entries=64)
def matrices_chart(n, k):
    """(the matrices' chart spec, the caption read from the same table)."""
    table = matrices_table(n, k)
    return as_spec(charts.shared_weights(table)), sharing_caption(table)


@cache.data(show_spinner=False)
def examples_metrics():
    """The lecture's examples as (label, value) pairs for the metrics."""
    return [(row["example"], f"{row['locally connected weights']} → {row['convolution weights']} weights")
            for row in lecture_examples().to_dict("records")]


@cache.data(show_spinner=False, max_entries=64)
def sizes_table(c_in, c_out, k, n, nd, sizes):
    return arrow(apply_to_sizes(c_in, c_out, k, n, sizes, nd))


st.markdown("The same motifs occur everywhere, so every window can use the same weights. "
            "Sparsity plus sharing is a convolution kernel; sparsity without sharing is a "
            "*locally connected* layer.")

c = st.columns(5)
nd = url.dims("Data", "sh_nd", 1, where=c[0])
n = url.slider("Input size", "sh_n", 4, 64, 16, where=c[1])
c_in = url.slider("Input channels", "sh_cin", 1, 16, 1, where=c[2])
c_out = url.slider("Output channels", "sh_cout", 1, 16, 1, where=c[3])
k = url.slider("Kernel size", "sh_k", 1, 9, 3, where=c[4])
url.show_notices()
if k > n:
    st.error(f"A kernel of {k} does not fit an input of {n}: pick a smaller kernel or a larger input.",
             icon=":material/error:")
    st.stop()

shape = (c_in, *(n,) * nd)
st.subheader(f"One layer, input {' × '.join(map(str, shape))}")
st.dataframe(costs(shape, c_out, k), column_config={
    "params": st.column_config.NumberColumn("parameters", format="localized"),
    "multiplies": st.column_config.NumberColumn("multiplies / sample", format="localized"),
    "nonzeros": st.column_config.NumberColumn("matrix non-zeros", format="localized"),
    "output_shape": "output shape", "any_input_size": "works on any input size"})

examples = examples_metrics()
for col, (label, value) in zip(st.columns(len(examples)), examples):
    col.metric(label, value, help="Locally connected weights → shared convolution weights, no bias.")

st.subheader("How each layer grows with the input")
sizes = tuple(sorted({s for s in (4, 8, 16, 32, 64, 128, n) if s >= k}))
params_spec, mults_spec, growth_words = growth_charts(c_in, c_out, k, nd, sizes)
g1, g2 = st.columns(2)
show_chart(g1, params_spec, width="stretch")
show_chart(g2, mults_spec, width="stretch")
st.caption(growth_words)

st.subheader("The matrices: shared vs separate weights")
matrices_spec, matrices_words = matrices_chart(min(n, 16), k)
show_chart(st, matrices_spec)
st.caption(matrices_words)

st.subheader("Inputs of other sizes")
others = tuple(sorted({max(k, n // 2), n, n + 4, 2 * n}))
st.table(sizes_table(c_in, c_out, k, n, nd, others), hide_index=True)  # sentences: wrapped, not cut off
st.caption(f"All three layers were built for an input of {n}. Only the convolution accepts other sizes: its "
           "weights belong to a window, not to a position.")
