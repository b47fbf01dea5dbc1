"""Anatomy of a ConvNet (lecture section 8)."""

import numpy as np
import pandas as pd
import streamlit as st

from core.nets.layers import COLUMNS, KINDS, build_model, check_budget, rows_to_text, SpecError, text_to_rows
from core.nets.models import composition_demo, count_parameters, layer_table, shape_series
from core.lecture.anatomy import PRESETS
from core.nets.receptive_field import receptive_field, recursion_table
from core.tables import long_table
from dashboard import cache, urlstate as url
from dashboard.safe import md
from dashboard.tables import arrow, fit_height
from dashboard import charts
from dashboard.charts import as_spec, show as show_chart

SPEC_KEY = "an_spec"


@cache.data(show_spinner=False, max_entries=64)
def analyse(text: str):
    """(table, total parameters, shape chart spec) or raises SpecError."""
    shape, rows = text_to_rows(text)
    check_budget(rows, shape)  # from shapes alone, before any real allocation or forward pass
    try:
        model = build_model(rows, shape)
        table = layer_table(model, shape)
    except (MemoryError, RuntimeError) as exc:  # the machine ran short, whatever the budget said
        raise SpecError(0, f"the server could not run this network ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:120]})") from None
    dims = table["output shape"]  # tuples: (channels, *spatial) or (features,)
    chart = charts.shapes(shape_series(table))
    try:  # the recursion of the field, for a chain of layers; a residual block merges paths
        recursion, why = recursion_table(receptive_field(model, (1, *shape))), None
    except ValueError as exc:
        recursion, why = None, str(exc)
    shown = table.assign(**{"output shape": [" × ".join(map(str, d)) for d in dims]})  # formatted only to show
    # the tables as Arrow, made once: every viewer's run sends them as they are
    return arrow(shown), count_parameters(model), as_spec(chart), None if recursion is None else arrow(recursion), why


@cache.data(show_spinner=False, max_entries=64)
def composition(k1: int, k2: int):
    """(demo numbers, the three kernels' chart specs): built and validated once per pair of sizes."""
    demo = composition_demo(k1, k2)
    specs = []
    for key, title in zip(("w1", "w2", "composed"), ("first kernel", "second kernel", "composed kernel")):
        m = demo[key]
        specs.append(as_spec(charts.kernel_cells(long_table(m, "weight"), f"{title} {m.shape[0]}×{m.shape[1]}")))
    return demo, specs


def _apply_preset():
    shape, rows = PRESETS[st.session_state["an_preset"]]
    st.session_state[SPEC_KEY] = rows_to_text(shape, rows)


st.markdown("Convolution (the linear part), non-linearity (the squashing), pooling (shrinks space), batch "
            "normalisation (helps training converge), residual bypasses (let deep stacks train). Going up, "
            "spatial extent shrinks and thickness grows, down to a vector of logits.")

names = list(PRESETS)
preset = url.choice("Preset", "an_preset", names, names[0], on_change=_apply_preset) or names[0]
if "an_pending" in st.session_state:  # an edit from the table below, applied before the widget exists
    st.session_state[SPEC_KEY] = st.session_state.pop("an_pending")
default_text = rows_to_text(*PRESETS[preset])  # a link naming only a preset shows that preset's network
text = st.text_input("Layer list (this line is what the link shares)", key=SPEC_KEY, bind="query-params",
                     **({} if SPEC_KEY in st.session_state else {"value": default_text}))
url.show_notices()
if text != default_text:
    st.caption(f"This layer list is not the {preset} preset: it was edited (choose a preset to start again).")

try:
    shape, rows = text_to_rows(text)
    readable = True
except SpecError as exc:
    st.error(f"Cannot read the layer list: {md(exc, 300)}. The table shows the first preset; your line is kept above.",
             icon=":material/error:")
    (shape, rows), readable = PRESETS[names[0]], False
editor = pd.DataFrame([{c: r.get(c) for c in COLUMNS} for r in rows], columns=list(COLUMNS))
edited = st.data_editor(
    editor, num_rows="dynamic", hide_index=False, key=f"an_editor_{abs(hash(text))}",
    height=fit_height(len(editor) + 1, most=30),  # every row and the one to add, with no scroll bar over them
    placeholder="",  # a field a layer does not take (a ReLU's kernel) is an empty cell, not "None"
    column_config={"kind": st.column_config.SelectboxColumn("kind", options=list(KINDS), required=True),
                   **{c: st.column_config.NumberColumn(c, step=1 if c != "p" else 0.5) for c in COLUMNS[1:]}})


def _cells(rows):
    """The rows as the table holds them: a cell cannot hold NaN (p=nan in a link), so neither side keeps one."""
    return [{k: v for k, v in r.items() if v is not None and not (isinstance(v, float) and np.isnan(v))}
            for r in rows]


edited_rows = _cells(r for r in edited.to_dict("records") if r.get("kind"))
new_text = rows_to_text(shape, edited_rows)
# the table was edited (not merely a line written another way): the link follows. A link's p=nan is not an edit:
# the line keeps it, and the network below refuses it with a message rather than quietly writing p=2
if readable and edited_rows != _cells(rows):
    st.session_state["an_pending"] = new_text
    url.rerun()

try:
    table, total, shape_spec, recursion, no_recursion = analyse(text if readable else rows_to_text(shape, rows))
except SpecError as exc:
    st.error(f"This network cannot be built: {md(exc, 300)}. Fix that row in the table; nothing else was changed.",
             icon=":material/error:")
    st.stop()

st.subheader(f"{total:,} parameters, input {' × '.join(map(str, shape))}")
st.dataframe(table, hide_index=True, height=fit_height(len(table), most=30), column_config={
    "parameters": st.column_config.NumberColumn(format="localized"),
    "multiply-adds": st.column_config.NumberColumn(format="localized")})
st.caption("Multiply-adds are counted by PyTorch's FlopCounterMode; receptive fields come from tracing the "
           "network with torch.fx.")
# drawn only when open (and the link says so): a class opening the page skips what nobody has opened yet
worked = st.expander("How the receptive field grows: the recursion, worked (Distill 2019)", key="an_rec",
                     bind="query-params")
if worked.open and recursion is not None:
    worked.dataframe(recursion, hide_index=True, height=fit_height(len(recursion), most=30))
    worked.caption("Per spatial layer: k_eff = d(k − 1) + 1, r = r + (k_eff − 1)·j, j = j·s, "
                   "start = start + ((k_eff − 1)/2 − p)·j (first dimension; square kernels make both alike).")
elif worked.open:
    worked.caption(f"No single chain to work through: {md(no_recursion, 300)}.")
show_chart(st, shape_spec, width="stretch")

@st.fragment  # its sliders rerun this section alone: the network above is not rebuilt nor redrawn
def composition_section():
    st.subheader("Without a non-linearity, two convolutions are one")
    c = st.columns(2)
    k1 = url.slider("First kernel", "an_k1", 1, 7, 3, where=c[0])
    k2 = url.slider("Second kernel", "an_k2", 1, 7, 3, where=c[1])
    url.show_notices()
    demo, specs = composition(k1, k2)
    for col, spec in zip(st.columns(3), specs):
        show_chart(col, spec)
    st.markdown(f"conv(conv(x, w₁), w₂) vs conv(x, composed): max |difference| = **{demo['diff_linear']:.1e}**. "
                f"With a ReLU between them: **{demo['diff_relu']:.2f}**: the squashing is what makes depth worth it.")


composition_section()
