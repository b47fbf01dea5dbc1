"""Altair chart builders the pages share (presentation only, no maths)."""

from __future__ import annotations

import functools
import json

import altair as alt
import numpy as np
import pandas as pd

from core.describe import describe, grid_values
from core.palette import BLUE, CATEGORY, COPIES, INK, ORANGE, PALE, RED, WHITE


# The column's width, and ``height`` for the plot alone. Streamlit's default "fit" squeezes the title, legend and
# axes into ``height``: a short chart with a title in a column then draws a plot a dozen pixels tall, title unseen.
FIT_X = alt.AutoSizeParams(type="fit-x", contains="padding")


def as_spec(chart: alt.TopLevelMixin | dict, lead: str | None = None) -> dict:
    """A chart's Vega-Lite spec with its datasets already in Arrow IPC bytes, the form Streamlit ships them in,
    drawn on a canvas, with its text alternative (``core.describe``, after ``lead``) in ``usermeta.alt``, made
    here where the spec is cached and its rows are still records. ``show`` draws it.

    ``st.vega_lite_chart`` converts a spec's list-of-records datasets to Arrow on every call (a cached spec too,
    on every rerun: a pandas frame and an Arrow table per dataset) and passes bytes through untouched, so a spec
    built here once, where it is cached, costs no conversion on a rerun. Tests read it back with
    ``tests.vega.table``. A dataset may also be given as a DataFrame, under a fixed name: with a spec that does
    not change either, Streamlit then swaps the new rows into the chart already on the page.
    """
    from streamlit.dataframe_util import convert_anything_to_arrow_bytes

    spec = chart if isinstance(chart, dict) else chart.to_dict()
    # drawn on a canvas: Streamlit's Vega embed defaults to SVG, one DOM node per mark, and the browser's style,
    # layout and paint of those nodes are most of a rerun's time (padding's image chart: 522 ms a key press in
    # SVG, 359 ms on a canvas). vega-embed reads this from the spec and lays it over Streamlit's own options.
    meta = spec.setdefault("usermeta", {})
    meta.setdefault("embedOptions", {})["renderer"] = "canvas"
    if lead or "alt" not in meta:
        meta["alt"] = describe(spec, lead)
    spec.setdefault("config", {})["aria"] = False
    spec["config"].setdefault("range", {}).setdefault("category", list(CATEGORY))
    not_by_colour_alone(spec)
    if "datasets" in spec:
        spec["datasets"] = {name: rows if isinstance(rows, bytes) else convert_anything_to_arrow_bytes(
                            rows if isinstance(rows, pd.DataFrame) else pd.DataFrame.from_records(rows))
                            for name, rows in spec["datasets"].items()}
    return spec


_LINES = {"line", "trail"}
_POINTS = {"point", "circle", "square"}


def not_by_colour_alone(node: dict, encoding: dict | None = None) -> None:
    """WCAG 1.4.1: where lines differ by a colour field, they also differ by dash; where points do, by shape (the
    same field, so Vega-Lite draws one legend with both). A chart that sets its own dash or shape keeps it."""
    encoding = {**(encoding or {}), **node.get("encoding", {})}
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in node.get(key, []):
            not_by_colour_alone(child, encoding if key == "layer" else None)
    if "spec" in node:
        not_by_colour_alone(node["spec"], encoding)
    mark = node.get("mark")
    kind = mark.get("type") if isinstance(mark, dict) else mark
    colour = encoding.get("color")
    if not isinstance(colour, dict) or "field" not in colour or colour.get("type") == "quantitative":
        return
    same = {k: colour[k] for k in ("field", "type", "sort", "legend", "title") if k in colour}
    channels = []
    if kind in _LINES:
        channels.append("strokeDash")
    if kind in _POINTS or (kind in _LINES and isinstance(mark, dict) and mark.get("point")):
        channels.append("shape")
    for channel in channels:
        if channel not in encoding:
            node.setdefault("encoding", {})[channel] = dict(same)


@functools.lru_cache(maxsize=1024)
def _template(build, *args) -> str:
    return json.dumps(build(*args).to_dict())


def from_template(build, *args, **datasets: pd.DataFrame) -> dict:
    """The Vega-Lite spec of ``build(*args)``, built once per distinct ``args`` and copied after, with ``datasets``
    (a name -> rows) for the ``alt.NamedData`` it draws.

    Altair's construction of a chart (channel wrapping, deep copies, schema validation) costs 30-50 ms a chart on
    the 2-core test machine, paid on each new setting: the stepper's three grids took 140 ms of a key press. A
    copy costs well under a millisecond. And with the spec unchanged, Streamlit swaps the new rows into the chart
    already drawn instead of building a new one. ``build`` must take hashable arguments that fix the spec's
    shape; everything that changes with the data is a dataset.
    """
    spec = json.loads(_template(build, *args))
    if datasets:
        spec["datasets"] = {**spec.get("datasets", {}), **datasets}
    return spec


def show(where, spec: dict | alt.TopLevelMixin, **kwargs):
    """Draw ``spec`` at ``where`` (``st`` or a column) with its text alternative as ``alt=``.

    The alternative travels beside the spec, not in it: a spec that changes only in its rows then stays the same
    for Streamlit, which swaps the rows into the chart already drawn."""
    spec = spec if isinstance(spec, dict) else as_spec(spec)
    meta = spec.get("usermeta", {})
    text = meta.get("alt") or describe(spec)
    if "alt" in meta:
        spec = {**spec, "usermeta": {k: v for k, v in meta.items() if k != "alt"}}
    return where.vega_lite_chart(spec, alt=text, **kwargs)


def _heatmap(value: str, x: str, y: str, x_title, y_title, data=None) -> alt.Chart:
    return alt.Chart(alt.NamedData("cells") if data is None else data).mark_rect().encode(
        x=alt.X(f"{x}:O", title=x_title), y=alt.Y(f"{y}:O", title=y_title),
        color=alt.Color(f"{value}:Q", scale=alt.Scale(scheme="redblue", domainMid=0), legend=None),
        tooltip=[f"{y}:Q", f"{x}:Q", alt.Tooltip(f"{value}:Q", format=".3f")])


def heatmap(df: pd.DataFrame, value: str, *, x: str = "col", y: str = "row", x_title="input",
            y_title="output") -> alt.Chart:
    """A matrix as coloured cells, diverging around zero (integer ``x`` and ``y`` columns)."""
    return _heatmap(value, x, y, x_title, y_title, df)


def heatmap_spec(df: pd.DataFrame, value: str, title: str, *, x: str = "col", y: str = "row", x_title="input",
                 y_title="output") -> dict:
    """``heatmap`` as a spec with a title, from a template (its rows: the ``cells`` dataset)."""
    spec = from_template(_heatmap, value, x, y, x_title, y_title, cells=df)
    spec["title"] = title
    return spec


def _stages() -> alt.FacetChart:
    return alt.Chart(alt.NamedData("stages")).mark_circle(size=14, opacity=0.85).encode(
        x=alt.X("x:Q", scale=alt.Scale(domain=[-3, 3], clamp=True), title=None),
        y=alt.Y("y:Q", scale=alt.Scale(domain=[-3, 3], clamp=True), title=None),
        color=alt.Color("t:Q", scale=alt.Scale(scheme="turbo"), legend=None),
    ).properties(width=210, height=210).facet(facet=alt.Facet("stage:N", title=None), columns=3)


def stages(df: pd.DataFrame) -> dict:
    """A point cloud through a layer's steps from ``core.lecture.linear.stages``: one panel per step, colour following
    each point. A spec, its rows the ``stages`` dataset."""
    spec = from_template(_stages, stages=df)
    # every point is finite (a layer of finite weights, then tanh, sigmoid or ReLU): Vega-Lite's default filter
    # for invalid values only tests each of them, through Vega's expression interpreter, on every new setting
    # (48 ms of a key press, an interleaved A/B over 24 presses each)
    spec.setdefault("config", {}).setdefault("mark", {})["invalid"] = None
    return spec


# the growth table's columns as the chart's "Show data" view shows them: words and units, not code's keys
GROWTH_COLUMNS = {"size": "input size (per side)", "layer": "layer", "params": "parameters",
                  "multiplies": "multiplies per sample"}


def _growth(measure: str, title: str) -> alt.Chart:
    size, measure = GROWTH_COLUMNS["size"], GROWTH_COLUMNS[measure]
    return alt.Chart(alt.NamedData("growth")).mark_line(point=True).encode(
        x=alt.X(field=size, type="quantitative", scale=alt.Scale(type="log", base=2), title=size),
        y=alt.Y(field=measure, type="quantitative", scale=alt.Scale(type="log"), title=measure),
        color=alt.Color("layer:N", legend=alt.Legend(orient="bottom", columns=2)),  # three in a row do not fit
        tooltip=[alt.Tooltip(field=c, type="nominal" if c == "layer" else "quantitative")
                 for c in GROWTH_COLUMNS.values()]).properties(
        # the plot keeps its own height and the legend goes below it: squeezed into Streamlit's 300 px with a
        # three-line legend, the plot would be 60 px high and the longer axis title would spill off the canvas
        title=title, height=170, autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


def growth(df: pd.DataFrame) -> tuple[dict, dict]:
    """Parameters and multiplies against input size, per layer kind, from ``core.lecture.sharing.costs_vs_size``."""
    shown = df.rename(columns=GROWTH_COLUMNS)
    return (from_template(_growth, "params", "Parameters: the convolution stays flat", growth=shown),
            from_template(_growth, "multiplies", "Multiplies", growth=shown))


def _shared_weights() -> alt.FacetChart:
    # the band's structure apart from its values: every connection outlined and named (the shared taps w0, w1, …
    # repeat down the convolution's diagonals), so a weight near zero still reads as a weight, not as no connection
    base = alt.Chart().encode(x=alt.X("col:O", title="input"), y=alt.Y("row:O", title="output"))
    cells = base.mark_rect(strokeWidth=1.2).encode(
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="redblue", domainMid=0),
                        legend=alt.Legend(orient="bottom", title="weight", gradientLength=160)),
        stroke=alt.condition("datum.connected", alt.value(INK), alt.value(None)),
        tooltip=["row:Q", "col:Q", alt.Tooltip("weight:Q", format=".4f"), alt.Tooltip("label:N", title="weight")])
    names = base.mark_text(fontSize=7, color=INK).encode(text="label:N")
    return alt.layer(cells, names, data=alt.NamedData("cells")).properties(width=300, height=260).facet(
        column=alt.Column("layer:N", title=None))


def shared_weights(df: pd.DataFrame) -> dict:
    """The weight matrices of ``core.lecture.sharing.sharing_matrices``, one panel per layer kind."""
    return from_template(_shared_weights, cells=df)


def _pooled_signal() -> alt.Chart:
    return alt.Chart(alt.NamedData("curves")).mark_line(point=True, interpolate="step-after").encode(
        x=alt.X("i:Q", title="input position"), y=alt.Y("value:Q", title=None), color="curve:N",
    ).properties(height=260)


def pooled_signal(curves: pd.DataFrame) -> dict:
    """A signal and its pooled versions (``i, value, curve``), as steps."""
    return from_template(_pooled_signal, curves=curves)


def _shift_changes() -> alt.Chart:
    return alt.Chart(alt.NamedData("changes")).mark_line(point=True).encode(
        x=alt.X("shift:O", title="input shift (samples)"), y=alt.Y("change:Q", title="relative change of output"),
        color="method:N").properties(height=260)


def shift_changes(changes: pd.DataFrame) -> dict:
    """How much each pooling's output changes with the input's shift, from ``core.lecture.pooling.shift_consistency``."""
    return from_template(_shift_changes, changes=changes)


def _connections() -> alt.LayerChart:
    lines = alt.Chart(alt.NamedData("edges")).mark_rule().encode(
        x=alt.X("x1:Q", title="input coordinate", axis=alt.Axis(tickMinStep=1, format="d")), x2="x2:Q",
        y=alt.Y("y1:Q", scale=alt.Scale(reverse=True), axis=None), y2="y2:Q",
        color=alt.Color("active:N", scale=alt.Scale(domain=[False, True], range=[PALE, RED]), legend=None),
        strokeWidth=alt.condition("datum.active", alt.value(2.5), alt.value(1)))
    dots = alt.Chart(alt.NamedData("nodes")).mark_circle(size=220, stroke="#333", strokeWidth=0.6).encode(
        x="x:Q", y=alt.Y("layer:Q", scale=alt.Scale(reverse=True)),
        color=alt.Color("seen:N", scale=alt.Scale(domain=[False, True], range=[WHITE, RED]),
                        legend=alt.Legend(title="seen by the unit")),
        tooltip=["layer:Q", "position:Q", "seen:N"])
    return (lines + dots).properties(height=110)


def connections(nodes: pd.DataFrame, edges: pd.DataFrame, layers: int) -> dict:
    """A stack's connection diagram from ``core.lecture.sparsity.connection_diagram``: the wires into the picked unit in
    red, the inputs it sees filled. A spec, its rows the ``nodes`` and ``edges`` datasets."""
    spec = from_template(_connections, nodes=nodes, edges=edges)
    spec["height"] = 70 * (layers + 1) + 40
    return spec


def raster(pixels: pd.DataFrame, column: str, scheme: str, box=None, *, reverse=False, side: int = 320) -> alt.Chart:
    """An image from a ``row, col, <column>`` table, with an optional box (r0, r1, c0, c1) outlined."""
    h, w = int(pixels["row"].max()) + 1, int(pixels["col"].max()) + 1
    xs = alt.Scale(domain=[-0.5, w - 0.5], nice=False, zero=False)
    ys = alt.Scale(domain=[h - 0.5, -0.5], nice=False, zero=False)
    img = alt.Chart(pixels).transform_calculate(
        c0="datum.col - 0.5", c1="datum.col + 0.5", r0="datum.row - 0.5", r1="datum.row + 0.5",
    ).mark_rect(strokeWidth=0).encode(
        x=alt.X("c0:Q", scale=xs, axis=None), x2="c1:Q", y=alt.Y("r0:Q", scale=ys, axis=None), y2="r1:Q",
        color=alt.Color(f"{column}:Q", scale=alt.Scale(scheme=scheme, reverse=reverse), legend=None))
    layers = [img]
    if box is not None:
        r0, r1, c0, c1 = box
        frame = pd.DataFrame([{"c0": c0 - 0.5, "c1": c1 + 0.5, "r0": r0 - 0.5, "r1": r1 + 0.5}])
        layers.append(alt.Chart(frame).mark_rect(fill=None, stroke=RED, strokeWidth=3).encode(
            x=alt.X("c0:Q", scale=xs, axis=None), x2="c1:Q", y=alt.Y("r0:Q", scale=ys, axis=None), y2="r1:Q"))
    return alt.layer(*layers).properties(width=side, height=side * h / w).configure_view(strokeWidth=0)


def padded_images(df: pd.DataFrame, modes) -> alt.FacetChart:
    """One small image per padding mode from ``core.lecture.padding.padded_views``, the invented cells marked.

    The layers carry no data of their own: the facet splits the one table by
    mode (a layer's own data would be drawn whole in every facet, and all the
    images would look alike).
    """
    base = alt.Chart().encode(x=alt.X("col:O", axis=None), y=alt.Y("row:O", axis=None))
    cells = base.mark_rect().encode(color=alt.Color("value:Q", scale=alt.Scale(scheme="greys", reverse=True,
                                                                              domain=[0, 1]), legend=None))
    marks = base.transform_filter("datum.padded").mark_point(shape="square", size=20, color=ORANGE, filled=True,
                                                             opacity=0.9)
    return alt.layer(cells, marks, data=df).properties(width=150, height=150).facet(
        column=alt.Column("mode:N", title=None, sort=list(modes)))


SIGNAL_MEASURES = ("autocorrelation", "spectrum", "squint", "local")


def _signal_chart(measure: str, nd: int) -> alt.TopLevelMixin:
    colour = alt.Color("copy:N", scale=alt.Scale(**COPIES))
    data = alt.NamedData(measure)
    if measure == "autocorrelation":
        # one axis title on both layers: Vega-Lite joins differing titles ("autocorrelation, y")
        y = alt.Y("autocorrelation:Q", title="autocorrelation")
        ac = alt.Chart(data).mark_line().encode(
            x=alt.X("lag:Q", title="lag (samples)" if nd == 1 else "distance (pixels)"), y=y,
            color=colour).properties(height=220, title="Locality: autocorrelation")
        level = pd.DataFrame({"autocorrelation": [1 / np.e], "text": ["1/e: where it crosses is the correlation "
                                                                      "length"]})
        rule = alt.Chart(level).mark_rule(strokeDash=[4, 4], color=INK).encode(y=y)
        label = alt.Chart(level).mark_text(align="right", dy=-6, x="width", fontSize=11, color=INK).encode(
            y=y, text="text:N")
        return ac + rule + label
    if measure == "spectrum":
        return alt.Chart(data).mark_line().encode(
            x=alt.X("frequency:Q", scale=alt.Scale(type="log"), title="cycles per sample"),
            y=alt.Y("power:Q", scale=alt.Scale(type="log")), color=colour).properties(
            height=220, title="Power spectrum (log-log)")
    if measure == "squint":
        return alt.Chart(data).mark_line(point=True).encode(
            x=alt.X("scale:O", title="squint: shrink by"), y=alt.Y("correlation:Q", scale=alt.Scale(domain=[0, 1])),
            color=colour).properties(height=220, title="Compositionality: the squint test")
    tooltip = ["row:Q", "col:Q", alt.Tooltip("mean:Q", format=".2f"), alt.Tooltip("std:Q", format=".2f")]
    if nd == 2:
        # a fixed scale centred on the global value (1): a stationary signal's tiles (0.9-1.1) read as one colour,
        # where a scale stretched over their own range painted noise as a pattern
        loc = alt.Chart(data).mark_rect().encode(
            x=alt.X("col:O", title="tile column"), y=alt.Y("row:O", title="tile row"),
            color=alt.Color("std:Q", scale=alt.Scale(scheme="blueorange", domain=[0, 2], domainMid=1, clamp=True),
                            title="local std (global = 1)"), tooltip=tooltip)
    else:  # one row of tiles was a strip a pixel high: along a line, bars of the local std read better
        loc = alt.Chart(data).mark_bar(color=BLUE).encode(
            x=alt.X("col:O", title="window along the signal"),
            y=alt.Y("std:Q", title="local std (global = 1)", scale=alt.Scale(domainMin=0)), tooltip=tooltip)
    return loc.properties(height=220, title="Stationarity: local statistics by position")


def signal_charts(m: dict, nd: int) -> list[dict]:
    """The signals page's four measures from ``core.lecture.signals.compare`` as specs: autocorrelation, spectrum, squint,
    local std."""
    return [from_template(_signal_chart, measure, nd, **{measure: m[measure]}) for measure in SIGNAL_MEASURES]


def sequence_pairs(pairs) -> alt.FacetChart:
    """Test sequences as small line charts from ``(label, original, permuted)``: one column per sample, the
    original above and the permuted copy below (one chart for all, where one chart each cost a second)."""
    df = pd.DataFrame([{"sample": f"{i + 1}: a {label}", "input": kind, "position": p, "value": float(v)}
                       for i, (label, a, b) in enumerate(pairs) for kind, seq in (("original", a), ("permuted", b))
                       for p, v in enumerate(np.asarray(seq))])
    return alt.Chart(df).mark_line(color=BLUE, strokeWidth=1.2).encode(
        x=alt.X("position:Q", axis=None), y=alt.Y("value:Q", axis=None),
    ).properties(width=44, height=44).facet(
        column=alt.Column("sample:N", title=None, sort=list(dict.fromkeys(df["sample"]))),
        row=alt.Row("input:N", title=None, sort=["original", "permuted"]), spacing=6)


GRID_STATES = ("this step", "padding", "cell")


def _cell_grid(title: str, one_row: bool, states: tuple[str, ...], stacked: bool) -> alt.LayerChart:
    base = alt.Chart(alt.NamedData("cells")).encode(
        x=alt.X("col:O", title=None, axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("row:O", title=None, axis=alt.Axis(labels=not one_row, ticks=not one_row)))
    # only the states this grid shows: the kernel's plain cells need none, and a legend of all three under a
    # 3-cell grid does not fit after its second entry
    legend = (alt.Legend(orient="bottom", title=None, values=list(states), columns=1 if stacked else len(states))
              if set(states) - {"cell"} else None)
    cells = base.mark_rect(stroke="#555555").encode(
        color=alt.Color("state:N", scale=alt.Scale(domain=list(GRID_STATES), range=[RED, ORANGE, "#ffffff"]),
                        legend=legend),
        # and not by colour alone (1.4.1): this step's cells in a thick outline, padding in a dashed one
        strokeWidth=alt.StrokeWidth("state:N", scale=alt.Scale(domain=list(GRID_STATES), range=[3.5, 1.5, 1]),
                                    legend=legend),
        strokeDash=alt.StrokeDash("state:N", scale=alt.Scale(domain=list(GRID_STATES),
                                                              range=[[1, 0], [4, 2], [1, 0]]), legend=legend),
        tooltip=["row:Q", "col:Q", alt.Tooltip("value:Q", format="g")])
    text = base.mark_text(fontSize=12).encode(text="label:N")
    # autosize "pad": the cells keep their size and the axes, title and legend come on top (Streamlit's default,
    # "fit", would squeeze all of it into width x height)
    return alt.layer(cells, text).properties(width=1, height=1, title=title,  # the grid's own size: set per use
                                             autosize=alt.AutoSizeParams(type="pad", contains="padding"))


def cell_grid(df: pd.DataFrame, title: str, cell: int = 34) -> dict:
    """Numbered cells from ``core.lecture.stepper.frame`` (``row, col, value`` and optional ``active``/``padded``): this
    step's cells in red, invented border cells in orange, cells not written yet blank. A spec, with the cells
    as its ``cells`` dataset."""
    d = df.assign(state=np.where(df.get("active", False), "this step",
                                 np.where(df.get("padded", False), "padding", "cell")),
                  label=[("" if pd.isna(v) else f"{v:g}") for v in df["value"]])
    rows, cols = int(d["row"].nunique()), int(d["col"].nunique())
    states = tuple(s for s in GRID_STATES if (d["state"] == s).any())
    # a row of entries wider than the grid is cut off: then one per line (an entry: its symbol, gaps and about
    # 6 px a character of its label at the legend's font size)
    stacked = cell * cols < sum(27 + 6 * len(s) for s in states)
    spec = from_template(_cell_grid, title, rows == 1, states, stacked, cells=d)  # one template per kind of grid
    spec["width"], spec["height"] = cell * cols, cell * rows
    spec.setdefault("usermeta", {})["alt"] = grid_values(d, title, {"this step": ("[", "]"), "padding": ("{", "}")})
    return spec


def shapes(series: pd.DataFrame) -> alt.Chart:
    """A network's output sizes layer by layer (``core.nets.models.shape_series``): channels, spatial size and, after
    flattening, features, each its own line on a log axis. Its plot keeps its height (the legend goes below)."""
    return alt.Chart(series).mark_line(point=True).encode(
        x=alt.X("#:O", title="layer"),
        y=alt.Y("value:Q", scale=alt.Scale(type="log"), title="size (log scale)"),
        color=alt.Color("quantity:N", sort=["channels", "spatial size", "features"],
                        legend=alt.Legend(orient="bottom", title=None)),
        shape=alt.Shape("quantity:N", sort=["channels", "spatial size", "features"], legend=None),
        tooltip=["#", "layer", "quantity", "value"]).properties(height=240, autosize=FIT_X)


def kernel_cells(cells: pd.DataFrame, title: str) -> alt.LayerChart:
    """A kernel's weights (``row, col, weight``) as cells on a scale symmetric around 0, each cell's value
    written in it when the cells are large enough to hold it: a 1×1 kernel is one red or blue cell with its
    number, where a scale spanning its single value drew it the scale's middle grey."""
    top = float(cells["weight"].abs().max()) or 1.0
    side = int(max(cells["row"].max(), cells["col"].max())) + 1
    base = alt.Chart(cells).encode(x=alt.X("col:O", title=None), y=alt.Y("row:O", title=None))
    rect = base.mark_rect(stroke=INK, strokeWidth=0.5).encode(
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="redblue", domain=[-top, top]), legend=None),
        tooltip=["row:Q", "col:Q", alt.Tooltip("weight:Q", format=".3f")])
    layers = [rect]
    if side <= 7:
        layers.append(base.mark_text(fontSize=10).encode(  # white on the dark ends of the scale, ink elsewhere
            text=alt.Text("weight:Q", format=".2f"),
            color=alt.condition(f"abs(datum.weight) > {0.55 * top}", alt.value(WHITE), alt.value(INK))))
    return alt.layer(*layers).properties(title=title, width=180, height=180)
