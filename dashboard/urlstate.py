"""Widgets whose values live in the URL, so that a link reproduces the view.

Every widget is created with ``bind="query-params"``: Streamlit then writes
its value to the URL and seeds it from the URL on load. Streamlit silently
drops a URL value it cannot use; these helpers look at the raw value first,
replace a malformed or out-of-range one by the nearest valid value (or the
default), and show a notice saying so, so a mistyped link never raises and
never fails in silence.

Keys are the URL parameter names; pages prefix them (``loc_k``) because
query parameters belong to the whole app.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import streamlit as st

_NOTICES = "_url_notices"


def _raw(key: str) -> list[str]:
    """The URL's values for ``key`` on this session's first sight of the widget."""
    if key in st.session_state:
        return []  # the widget already owns its value
    try:
        return st.query_params.get_all(key)
    except Exception:  # noqa: BLE001 - no URL outside a running app
        return []


def _seed(key: str, coerce: Callable[[Any], tuple[Any, str | None]], many: bool = False) -> bool:
    """Correct the URL value of ``key`` before its widget exists; True if state was set."""
    values = _raw(key)
    if not values:
        return False
    raw = values if many else values[-1]
    value, problem = coerce(raw)
    if problem is None:
        return False
    try:  # the widget is not bound yet, so the bad value can still be dropped from the URL
        del st.query_params[key]
    except Exception:  # noqa: BLE001
        pass
    st.session_state[key] = value
    shown = ",".join(raw) if many else raw
    st.session_state.setdefault(_NOTICES, []).append(f"Link parameter `{key}={shown}` {problem}")
    return True


def show_notices() -> None:
    """Show (once) what was corrected in the link."""
    for text in st.session_state.pop(_NOTICES, []):
        st.warning(text, icon=":material/link_off:")


def _number_coercer(lo, hi, default, step, kind):
    def coerce(raw: str):
        try:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
        except ValueError:
            return default, f"is not a number; using the default {default}."
        clamped = min(max(value, lo), hi)
        if kind is int:  # truncate as Streamlit does when it reads a URL value
            snapped = lo + math.floor((clamped - lo) / step) * step
            clamped = int(min(max(snapped, lo), hi))
        else:
            clamped = float(clamped)
        if clamped == value and (kind is float or float(raw).is_integer()):
            return clamped, None
        return clamped, f"is outside {lo}..{hi} (step {step}); using {clamped}."
    return coerce


def _clamp_state(key: str, lo, hi) -> None:
    """Keep a widget's remembered value inside bounds that other widgets just moved."""
    value = st.session_state.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not lo <= value <= hi:
        st.session_state[key] = min(max(value, lo), hi)


def _kw(key: str, default, corrected: bool) -> dict:
    kw = {"key": key, "bind": "query-params"}
    if not corrected and key not in st.session_state:
        kw["value"] = default
    return kw


def slider(label: str, key: str, min_value, max_value, default, step=None, *, where=st, **kwargs):
    """An int or float slider bound to the URL (the type follows ``default``)."""
    kind = int if isinstance(default, int) and not isinstance(default, bool) else float
    step = step if step is not None else (1 if kind is int else (max_value - min_value) / 100)
    corrected = _seed(key, _number_coercer(min_value, max_value, default, step, kind))
    _clamp_state(key, min_value, max_value)
    return where.slider(label, min_value=min_value, max_value=max_value, step=step,
                        **_kw(key, default, corrected), **kwargs)


def _choice_coercer(options: Sequence, default, format_func=str):
    labels = {str(format_func(o)): o for o in options}  # the URL holds the label Streamlit shows

    def coerce(raw: str):
        if raw in labels:
            return labels[raw], None
        return default, f"is not one of {', '.join(labels)}; using {format_func(default)}."
    return coerce


def choice(label: str, key: str, options: Sequence, default, *, widget: str = "selectbox", where=st, **kwargs):
    """A selectbox, radio or segmented control bound to the URL."""
    corrected = _seed(key, _choice_coercer(options, default, kwargs.get("format_func", str)))
    kw = {"key": key, "bind": "query-params"}
    if not corrected and key not in st.session_state:
        kw["index" if widget in ("selectbox", "radio") else "default"] = (
            list(options).index(default) if widget in ("selectbox", "radio") else default)
    make = {"selectbox": where.selectbox, "radio": where.radio, "segmented": where.segmented_control}[widget]
    return make(label, options, **kw, **kwargs)


def dims(label: str, key: str, default: int = 1, *, where=st) -> int:
    """A 1D / 2D switch bound to the URL (``?key=2D``); returns 1 or 2."""
    picked = choice(label, key, ["1D", "2D"], f"{default}D", widget="segmented", where=where)
    return 2 if (picked or f"{default}D") == "2D" else 1


def multi(label: str, key: str, options: Sequence[str], default: Sequence[str], *, where=st, **kwargs) -> list:
    """A multiselect bound to the URL (one repeated parameter per chosen option)."""
    labels = {str(kwargs.get("format_func", str)(o)): o for o in options}

    def coerce(raw: list[str]):
        good = [labels[v] for v in raw if v in labels]
        if len(good) == len(raw):
            return good, None
        bad = [v for v in raw if v not in labels]
        kept = good or list(default)
        return kept, f"names unknown option(s) {', '.join(bad)}; keeping {', '.join(kept)}."
    corrected = _seed(key, coerce, many=True)
    kw = {"key": key, "bind": "query-params"}
    if not corrected and key not in st.session_state:
        kw["default"] = list(default)
    return where.multiselect(label, options, **kw, **kwargs)


def toggle(label: str, key: str, default: bool = False, *, where=st, **kwargs) -> bool:
    """A toggle bound to the URL."""
    def coerce(raw: str):
        low = raw.lower()
        if low in ("true", "1", "yes", "on"):
            return True, None if low == "true" else "is read as true."
        if low in ("false", "0", "no", "off"):
            return False, None if low == "false" else "is read as false."
        return default, f"is not true or false; using {default}."
    corrected = _seed(key, coerce)
    return where.toggle(label, **_kw(key, default, corrected), **kwargs)
