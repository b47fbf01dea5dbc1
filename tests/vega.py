"""Reading a Vega-Lite spec's data the way the renderer does, for tests of what a chart draws."""

from __future__ import annotations

import pandas as pd


def table(rows) -> pd.DataFrame:
    """A spec's dataset as a frame: a list of records (``chart.to_dict()``), or the Arrow IPC bytes that
    ``dashboard.charts.as_spec`` and Streamlit ship."""
    if isinstance(rows, bytes):
        import pyarrow as pa

        return pa.ipc.open_stream(rows).read_all().to_pandas()
    return pd.DataFrame(rows)


def _table(spec: dict, data: dict | None) -> pd.DataFrame | None:
    if data is None:
        return None
    if "values" in data:
        return pd.DataFrame(data["values"])
    return table(spec["datasets"][data["name"]])


def facet_rows(spec: dict) -> dict[str, list[pd.DataFrame]]:
    """For a faceted chart: facet value -> the rows each layer draws in that facet.

    Vega-Lite's rule: only the facet's own data is split. Data given inside
    the faceted spec (on the layer group or on one layer) is drawn whole in
    every facet.
    """
    field = (spec["facet"].get("column") or spec["facet"].get("row") or spec["facet"])["field"]
    top = _table(spec, spec.get("data"))
    inner = spec["spec"]
    layers = inner.get("layer", [inner])
    whole = _table(spec, inner.get("data")) if inner is not spec and "layer" in inner else None
    out = {}
    for value in top[field].unique():
        share = top[top[field] == value] if whole is None else whole
        out[value] = [_table(spec, layer["data"]) if "data" in layer else share for layer in layers]
    return out
