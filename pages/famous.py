"""Receptive fields of famous ConvNets: per-layer table, growth with depth, the field on a photo, the gradient."""

import altair as alt
import streamlit as st

from core.lecture.famous import (ARCHITECTURES, INPUT, PUBLISHED_FIELDS, build, centre_box, effective_summary, first,
                                 growth_lead,
                         gradient_field, identity_blocks, layer_table, overlay, photo, picture_alts, published)
from dashboard import cache, urlstate as url
from dashboard.tables import arrow
from dashboard.charts import as_spec, show as show_chart
from core.palette import BLUE, INK, RED
from dashboard.safe import md


@cache.resource(show_spinner="Building the network (random weights, nothing downloaded)…", max_entries=3)
def network(name):
    return build(name)


@cache.data(show_spinner="Tracing every layer and counting its multiply-adds…", max_entries=8)
def table(name):
    return layer_table(network(name))


@cache.data(show_spinner=False, max_entries=8)
def shown_table(name):
    """The layer table as the page shows it, in Arrow: made once per network, not by every viewer's run."""
    df = table(name)[0]
    return arrow(df.drop(columns=["node", "start"]).assign(whole=df["whole"].map({True: "whole input", False: ""}))
                 .rename(columns={"rf": "field", "whole": "gated"}))


@cache.data(show_spinner=False, max_entries=8)
def growth_chart(name, depth) -> dict:
    df, _ = table(name)
    data = df.assign(field=df["rf"].map(first))[["depth", "layer", "type", "field", "jump"]]
    data["deepest so far"] = data["field"].cummax()  # a shortcut's 1x1 convolution has a smaller field: no dip
    line = alt.Chart(data).mark_line(color=BLUE, interpolate="step-after").encode(
        x=alt.X("depth:Q", title="depth (spatial layers and merges)"),
        y=alt.Y("deepest so far:Q", title="receptive field (pixels)"))
    points = alt.Chart(data).mark_point(filled=True, size=30).encode(
        x="depth:Q", y="field:Q", color=alt.Color("type:N", legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["depth", "layer", "type", "field", "jump"])
    rule = alt.Chart(alt.Data(values=[{"y": INPUT}])).mark_rule(color=INK, strokeDash=[4, 4]).encode(y="y:Q")
    label = alt.Chart(alt.Data(values=[{"y": INPUT, "t": f"input: {INPUT} px"}])).mark_text(
        align="left", dx=4, dy=-6, color=INK).encode(y="y:Q", x=alt.value(0), text="t:N")
    here = alt.Chart(data[data["depth"] == depth]).mark_point(size=160, color=RED, filled=True).encode(
        x="depth:Q", y="field:Q")
    return as_spec(alt.layer(line, points, rule, label, here).properties(height=300, title="Field against depth"),
                   lead=growth_lead(name, df, depth))


@cache.data(show_spinner="Back-propagating from the centre unit…", max_entries=32)
def pictures(name, depth):
    df, _ = table(name)
    row = df.iloc[depth - 1]
    image = photo()
    box = centre_box(row)
    grad = gradient_field(network(name), row["node"], image)
    rf = int(first(row["rf"]))
    return (overlay(image, box["clipped"]), overlay(image, box["clipped"], grad), box,
            effective_summary(grad, rf, box["clipped"], identity_blocks(network(name))), picture_alts(name, box, grad))


st.markdown("The same tracer as the lab's own networks, on the architectures everyone cites: every convolution, "
            "pooling layer and merge of the network's convolutional body, with the receptive field and jump "
            "after it (Araujo et al., Distill 2019, computed rather than tabulated). The networks are torchvision's "
            "with random weights: nothing is downloaded, and the field does not depend on the weights.")
c = st.columns([2, 5])
name = url.choice("Architecture", "fm_net", list(ARCHITECTURES), "ResNet-18", where=c[0],
                  on_change=url.reset, args=(["fm_depth"],)) or "ResNet-18"
df, totals = table(name)
depth = url.slider("Depth", "fm_depth", 1, len(df), len(df), where=c[1],
                   help="The layer whose centre unit is drawn on the photo below.")
url.show_notices()

row = df.iloc[depth - 1]
last = df.iloc[-1]
want = published(name)
rf_last = int(first(last["rf"]))
facts = [f"**{name}**: {len(df)} spatial layers and merges before global pooling; after the last, the field is "
         f"**{rf_last} px** with a jump of {last['jump']} px on a {INPUT}×{INPUT} input."]
if name in PUBLISHED_FIELDS:
    agree = PUBLISHED_FIELDS[name] == rf_last
    facts.append(f"Distill's table gives {PUBLISHED_FIELDS[name]} px: "
                 f"{'the same' if agree else 'a different number; the torchvision variant differs'}.")
if rf_last > INPUT:
    facts.append(f"That is {rf_last / INPUT:.1f}× the input: the units at the end look past every border, "
                 "into the padding.")
facts.append(f"Parameters {totals['parameters']:,} (torchvision lists {want['parameters']:,}); multiply-adds "
             f"{totals['macs'] / 1e9:.3f} G for one image (torchvision lists {want['gmacs']:.3f} G), "
             f"{totals['body_macs'] / totals['macs']:.0%} of them in this body.")
st.markdown(" ".join(facts))
if df["whole"].any():
    gate = df[df["type"] == "gate"].iloc[0]
    st.warning(f"From depth {gate['depth']} on ({md(gate['layer'])}), squeeze-and-excitation gates multiply every unit "
               "by a function of the average of the whole map: strictly, each unit there depends on the entire "
               "input, and its receptive field is not one number. The table and the chart give the field of the "
               "convolution path beside the gate.", icon=":material/info:")

show_chart(st, growth_chart(name, depth), width="stretch")
# the page's width: narrower, the field and jump (what the page is about) fall off the table's right edge
st.dataframe(shown_table(name), hide_index=True, height=340)

st.subheader(f"Depth {depth}: {md(row['layer'])} ({md(row['type'])}), output {row['output']}")
framed, heat, box, summary, (framed_alt, heat_alt) = pictures(name, depth)
r0, r1, c0, c1 = box["clipped"]
(lo, hi), _ = box["spans"]
a, b = st.columns(2)
a.image(framed, caption=f"The analytic field of the centre unit {box['unit']}: rows and columns {lo:g} to {hi:g}"
        + (" (past the borders: drawn clipped)" if lo < 0 or hi > INPUT - 1 else ""), width="stretch", alt=framed_alt)
b.image(heat, caption="|gradient| of the same unit on this photo (square-root scale), the box on top",
        width="stretch", alt=heat_alt)
st.markdown(summary)
