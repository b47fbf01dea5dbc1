"""Text alternatives of charts, read from what a Vega-Lite spec draws: its marks, encodings and its own rows.

A screen reader meets a chart as a canvas with nothing to say. ``describe(spec)`` says what is plotted (the
title, the axes, the series) and the numbers that matter (each series' first and last value and its range, each
bar's value, a grid's size and range), computed from the rows the chart draws, so the sentence changes when the
data does. A page may put its own lead sentence first (``lead``): what the chart shows in the lecture's words.

The spec is a plain dict (``chart.to_dict()``); its datasets may be lists of records, DataFrames, or the Arrow
IPC bytes Streamlit ships. Units under ``layer``, ``facet`` and ``concat`` are each described; a unit with a
``transform`` is described by its axes only, since its rows are not the ones it draws.
"""

from __future__ import annotations

import math

import pandas as pd

LIMIT = 8  # series, bars or panels named one by one; past it, a count and the extremes
MAX_CHARS = 900  # a screen reader reads all of it: past this, the sentence ends with an ellipsis

_LINES = {"line", "area", "trail", "point", "circle", "square"}
_KIND = {"line": "line", "area": "area", "trail": "line", "point": "points", "circle": "points",
         "square": "points", "bar": "bars", "rect": "grid", "tick": "ticks", "rule": "lines"}


def number(v) -> str:
    """A value as a reader says it: whole numbers with thousands separators, others to 3 significant digits."""
    if isinstance(v, str):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f):
        return "no value"
    if math.isinf(f):
        return "infinite" if f > 0 else "minus infinite"
    if f == int(f) and abs(f) < 1e15:
        return f"{int(f):,}"
    return f"{f:.3g}"


def _frame(rows) -> pd.DataFrame | None:
    if rows is None:
        return None
    if isinstance(rows, pd.DataFrame):
        return rows
    if isinstance(rows, bytes):
        import pyarrow as pa

        return pa.ipc.open_stream(rows).read_all().to_pandas()
    return pd.DataFrame.from_records(rows)


def _data(spec: dict, data: dict | None) -> pd.DataFrame | None:
    if not isinstance(data, dict):
        return None
    if "values" in data:
        return _frame(data["values"])
    if "name" in data:
        return _frame(spec.get("datasets", {}).get(data["name"]))
    return None


def _title(node: dict) -> str | None:
    title = node.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(map(str, title))
    return str(title) if title else None


def _field(enc: dict, channel: str) -> tuple[str | None, str | None, str | None]:
    """(field, its title, its type) of one channel; ``None``s where the channel is unset or a constant."""
    ch = enc.get(channel)
    if not isinstance(ch, dict) or "field" not in ch:
        return None, None, None
    field = ch["field"]
    if isinstance(field, dict):  # {"repeat": ...}
        return None, None, None
    title = ch.get("title")
    if isinstance(title, list):
        title = " ".join(map(str, title))
    name = str(title) if title else str(field).replace("_", " ")
    return str(field), name, ch.get("type")


def _units(spec: dict, node: dict, data, encoding: dict, facet: str | None, transformed: bool, out: list) -> None:
    data = node.get("data", data)
    encoding = {**encoding, **node.get("encoding", {})}
    transformed = transformed or bool(node.get("transform"))
    if "facet" in node and "spec" in node:
        f = node["facet"]
        field = (f.get("field") if isinstance(f, dict) and "field" in f else
                 next((v.get("field") for v in f.values() if isinstance(v, dict) and "field" in v), None))
        _units(spec, node["spec"], data, encoding, field or facet, transformed, out)
        return
    for key in ("layer", "hconcat", "vconcat", "concat"):
        if key in node:
            for child in node[key]:
                _units(spec, child, data, encoding if key == "layer" else {}, facet, transformed, out)
            return
    if "mark" in node:
        mark = node["mark"]
        mark = mark.get("type") if isinstance(mark, dict) else mark
        out.append({"mark": mark, "encoding": encoding, "rows": None if transformed else _data(spec, data),
                    "facet": facet, "title": _title(node)})


def _names(values, limit: int = LIMIT) -> str:
    values = [number(v) for v in values]
    if len(values) > limit:
        return ", ".join(values[:limit]) + f" and {len(values) - limit} more"
    return ", ".join(values)


def _series(rows: pd.DataFrame, enc: dict, facet: str | None) -> list[tuple[str | None, pd.DataFrame]]:
    fields = (_field(enc, c) for c in ("color", "strokeDash", "shape", "detail", "row", "column"))
    # a colour scale of values (a gradient, a heat map) is no set of series
    keys = [k for k in (facet, *(f for f, _, kind in fields if kind != "quantitative")) if k and k in rows]
    keys = list(dict.fromkeys(keys))
    if not keys:
        return [(None, rows)]
    return [((", ".join(map(number, name)) if isinstance(name, tuple) else number(name)), part)
            for name, part in rows.groupby(keys if len(keys) > 1 else keys[0], sort=False)]


def _span(values: pd.Series) -> str:
    values = pd.to_numeric(values, errors="coerce").dropna()
    if values.empty:
        return "no values"
    lo, hi = values.min(), values.max()
    return number(lo) if lo == hi else f"{number(lo)} to {number(hi)}"


def _scatter(unit: dict, x: str, x_name: str, y: str, y_name: str) -> str:
    """Points: how many, and where they lie, per series where there are few series, else per panel."""
    enc, rows = unit["encoding"], unit["rows"]
    series = {c: enc[c] for c in ("color", "shape") if c in enc}
    # a colour per point (a gradient along the cloud) is no set of series: counted before any grouping
    keys = [k for k in (unit["facet"], *(_field(series, c)[0] for c in series)) if k and k in rows]
    if keys and rows[list(dict.fromkeys(keys))].drop_duplicates().shape[0] > LIMIT:
        series = {}
    groups = _series(rows, series, unit["facet"])
    if len(groups) > LIMIT:
        groups = [(None, rows)]
    shown = [(f"{name}: " if name is not None else "") +
             f"{len(part):,} points, {x_name} {_span(part[x])}, {y_name} {_span(part[y])}" for name, part in groups]
    return f"points of {y_name} against {x_name}; " + "; ".join(shown)


def _positions(unit: dict):
    """(encoding, rows, x's (field, title, type), y's) of a unit that places its marks by two fields it has rows for."""
    enc, rows = unit["encoding"], unit["rows"]
    x, y = _field(enc, "x"), _field(enc, "y")
    if rows is None or x[0] not in rows or y[0] not in rows:
        return None
    return enc, rows, x, y


def _along(unit: dict) -> str | None:
    """Lines: each series' value at its first and last position along x, and its range; points: where they lie."""
    if (found := _positions(unit)) is None:
        return None
    enc, rows, (x, x_name, _), (y, y_name, _) = found
    if unit["mark"] in ("point", "circle", "square"):
        return _scatter(unit, x, x_name, y, y_name)
    groups = _series(rows, enc, unit["facet"])
    shown = []
    for name, part in groups[:LIMIT]:
        part = part.sort_values(x, kind="stable")
        ys = pd.to_numeric(part[y], errors="coerce").dropna()
        if ys.empty:
            continue
        first, last = ys.iloc[0], ys.iloc[-1]
        if len(ys) == 1:
            shown.append((f"{name}: " if name is not None else "") + f"{number(first)} at {number(part[x].iloc[0])}")
            continue
        text = f"{number(first)} at {number(part[x].iloc[0])} to {number(last)} at {number(part[x].iloc[-1])}"
        if len(ys) > 2 and (ys.min() < min(first, last) or ys.max() > max(first, last)):
            text += f" (lowest {number(ys.min())}, highest {number(ys.max())})"
        shown.append(f"{name}: {text}" if name is not None else text)
    if not shown:
        return None
    more = f"; {len(groups) - LIMIT} more series" if len(groups) > LIMIT else ""
    kind = _KIND.get(unit["mark"], unit["mark"])
    return f"{kind} of {y_name} against {x_name}: " + "; ".join(shown) + more


def _bars(unit: dict) -> str | None:
    """Bars and ticks: the value of each (category, series), or the extremes when there are many."""
    if (found := _positions(unit)) is None:
        return None
    enc, rows, (x, x_name, x_type), (y, y_name, y_type) = found
    value, value_name, cat, cat_name = (x, x_name, y, y_name) if x_type == "quantitative" and y_type != \
        "quantitative" else (y, y_name, x, x_name)
    groups = _series(rows, enc, unit["facet"])
    items = []
    for name, part in groups:
        for c, v in zip(part[cat], part[value]):
            items.append((f"{number(c)} ({name})" if name is not None else number(c), v))
    if not items:
        return None
    kind = _KIND.get(unit["mark"], unit["mark"])
    if len(items) <= 2 * LIMIT:
        return f"{kind} of {value_name} by {cat_name}: " + "; ".join(f"{c} {number(v)}" for c, v in items)
    vals = pd.to_numeric(pd.Series([v for _, v in items]), errors="coerce")
    lo, hi = int(vals.idxmin()), int(vals.idxmax())
    return (f"{len(items)} {kind} of {value_name} by {cat_name}, lowest {items[lo][0]} at {number(items[lo][1])}, "
            f"highest {items[hi][0]} at {number(items[hi][1])}")


def _grid(unit: dict) -> str | None:
    """Cells coloured by a value: the grid's size per panel and the value's range."""
    enc, rows = unit["encoding"], unit["rows"]
    x, _, _ = _field(enc, "x")
    y, _, _ = _field(enc, "y")
    value, value_name, value_type = _field(enc, "color")
    if rows is None or value not in rows:
        return None
    panels = _series(rows, {k: v for k, v in enc.items() if k != "color"}, unit["facet"])
    size = lambda part: " × ".join(str(part[c].nunique()) for c in (y, x) if c and c in part)  # noqa: E731
    sizes = {size(part) for _, part in panels}
    if value_type == "quantitative":
        vals = pd.to_numeric(rows[value], errors="coerce")
        what = f"{value_name} from {number(vals.min())} to {number(vals.max())}"
    else:
        what = f"{value_name}: " + _names(rows[value].drop_duplicates())
    where = ""
    if len(panels) > 1:
        where = f" in {len(panels)} panels ({_names([n for n, _ in panels])})"
    shape = f"a {sizes.pop()} grid" if len(sizes) == 1 and "" not in sizes else "grids"
    return f"{shape} of cells{where}, coloured by {what}"


def _rules(unit: dict) -> str | None:
    enc, rows = unit["encoding"], unit["rows"]
    for channel in ("y", "x"):
        field, name, _ = _field(enc, channel)
        if rows is not None and field in rows and not _field(enc, "x2" if channel == "x" else "y2")[0]:
            other = _field(enc, "x" if channel == "y" else "y")[0]
            if other is None:
                return f"reference lines at {name} " + _names(rows[field].drop_duplicates())
    return None


def _unit_text(unit: dict) -> str | None:
    mark = unit["mark"]
    if mark in _LINES:
        return _along(unit)
    if mark in ("bar", "tick"):
        return _bars(unit)
    if mark == "rect":
        return _grid(unit)
    if mark == "rule":
        return _rules(unit)
    return None  # text marks label what the others draw; images and the rest say nothing here


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def describe(spec: dict, lead: str | None = None) -> str:
    """The chart ``spec`` in words: ``lead``, its title, then what each of its marks draws, with numbers."""
    units: list[dict] = []
    _units(spec, spec, None, {}, None, False, units)
    title = _title(spec)
    parts = [lead.rstrip(". ") + "." if lead else None, (_sentence(title.rstrip(".")) + ".") if title else None]
    said = []
    for unit in units:
        text = _unit_text(unit)
        if text:
            text = (f"{unit['title']}: " if unit["title"] and unit["title"] != title else "") + text
            if text not in said:
                said.append(text)
    if said:
        text = "; ".join(said)
        parts.append(text[0].upper() + text[1:] + ".")
    elif not any(parts):
        axes = sorted({n for u in units for c in ("x", "y") if (n := _field(u["encoding"], c)[1])})
        parts.append("A chart" + (f" of {' and '.join(axes)}." if axes else "."))
    text = _sentence(" ".join(p for p in parts if p))
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1].rsplit(" ", 1)[0] + " …"


def grid_values(cells: pd.DataFrame, title: str, marks: dict[str, tuple[str, str]] | None = None,
                most: int = 144) -> str:
    """A small grid of numbers read row by row (``row, col, value`` and a ``state``): cells of a marked state
    between that state's brackets, e.g. this step's cells in square brackets. Past ``most`` cells, its size."""
    marks = marks or {}
    rows, cols = int(cells["row"].nunique()), int(cells["col"].nunique())
    size = f"{rows} × {cols}" if rows > 1 else f"{cols} cells"
    if len(cells) > most:
        return _sentence(f"{title}, {size}")
    lines = []
    for r, part in cells.sort_values(["row", "col"]).groupby("row", sort=False):
        words = []
        for v, s in zip(part["value"], part.get("state", [None] * len(part))):
            word = "blank" if pd.isna(v) else number(v)
            open_, close = marks.get(s, ("", ""))
            words.append(f"{open_}{word}{close}")
        lines.append((f"row {number(r)}: " if rows > 1 else "") + " ".join(words))
    brackets = {"[": "square brackets", "{": "braces", "(": "parentheses"}
    said = [f"{name} in {brackets.get(o, o + c)}" for name, (o, c) in marks.items()
            if "state" in cells and (cells["state"] == name).any()]
    return _sentence(f"{title}, {size}" + (f" ({', '.join(said)})" if said else "") + ": " + "; ".join(lines))


def picture(what: str, values) -> str:
    """A picture's text alternative from the values it shows: what it is, its size, its range and where it is
    highest (a 1D strip: its position)."""
    import numpy as np

    a = np.asarray(values, dtype=float)
    if a.size == 0 or not np.isfinite(a).any():
        return f"{what}: no values"
    lo, hi = np.nanmin(a), np.nanmax(a)
    at = np.unravel_index(int(np.nanargmax(a)), a.shape)
    where = (f"row {at[-2]}, column {at[-1]}" if a.ndim >= 2 else f"position {at[0]}")
    size = " × ".join(map(str, a.shape))
    if lo == hi:
        return f"{what}, {size}: every value {number(lo)}"
    return f"{what}, {size}: values {number(lo)} to {number(hi)}, highest at {where}"
