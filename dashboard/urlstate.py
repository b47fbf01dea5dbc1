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

from dashboard.safe import md

_NOTICES = "_url_notices"
_SHOWN = "_url_notices_shown"  # shown in this run: kept only across a ``rerun()``


def _raw(key: str) -> list[str]:
    """The URL's values for ``key`` on this session's first sight of the widget."""
    if key in st.session_state:
        return []  # the widget already owns its value
    try:
        return st.query_params.get_all(key)
    except Exception:  # noqa: BLE001 - no URL outside a running app
        return []


def url_text(value: Any) -> str | list[str]:
    """A widget value as Streamlit writes it into the URL (numbers without a needless '.0')."""
    if isinstance(value, (list, tuple)):
        return [str(url_text(v)) for v in value]
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def _rewrite_link(key: str, text: str | list[str] | None) -> None:
    """Put ``text`` (None: nothing) in the URL for ``key``, also as the value the widget is seeded from.

    Streamlit seeds a bound widget from the link the page was opened with (a
    private copy of it) and drops a value it cannot use, so a corrected value
    must replace both, before the widget exists, for the address bar to keep it.
    """
    from streamlit.runtime.state import get_session_state

    with get_session_state().query_params() as qp:
        initial = getattr(qp, "_initial_query_params", {})
        if text is None:
            qp.pop(key, None)
            initial.pop(key, None)
        else:
            qp[key] = text
            initial[key] = list(text) if isinstance(text, list) else [text]


def _seed(key: str, coerce: Callable[[Any], tuple[Any, str | None]], default: Any, *, many: bool = False,
          label: Callable[[Any], Any] = lambda v: v) -> None:
    """Correct the URL value of ``key`` before its widget exists, with a notice saying so.

    The corrected value goes back into the URL (or the key leaves it when the
    value is the default), so the address bar always reproduces what is shown;
    the widget then reads it from there. ``label`` maps a value to what the
    URL holds (a selectbox's shown label).
    """
    values = _raw(key)
    if not values:
        return
    raw = values if many else values[-1]
    value, problem = coerce(raw)
    if not many and len(values) > 1:  # Streamlit would reset the widget to its default in silence
        problem = f"appears {len(values)} times; the last one counts" + (f", and it {problem}" if problem else ".")
    if problem is None:
        return
    try:
        _rewrite_link(key, None if value == default else
                      url_text([label(v) for v in value] if many else label(value)))
    except Exception:  # noqa: BLE001 - outside a running app (bare mode) there is no link to fix
        pass
    shown = ", ".join(raw) if many else ", ".join(values)
    st.session_state.setdefault(_NOTICES, []).append(
        f"Link parameter **{md(key)}** = “{md(shown)}” {md(problem, limit=400)}")


def show_notices() -> None:
    """Show (once) what was corrected in the link."""
    shown = st.session_state.pop(_NOTICES, [])
    for text in shown:
        st.warning(text, icon=":material/link_off:")
    if shown:
        st.session_state[_SHOWN] = [*st.session_state.get(_SHOWN, []), *shown]


def new_run() -> None:
    """Call at the top of every script run: notices shown by an earlier run are not carried any further."""
    st.session_state.pop(_SHOWN, None)


def rerun() -> None:
    """``st.rerun()`` that keeps this run's link notices: the rerun replaces the page, and would drop them."""
    st.session_state[_NOTICES] = [*st.session_state.pop(_SHOWN, []), *st.session_state.get(_NOTICES, [])]
    st.rerun()


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


def _kw(key: str, default) -> dict:
    kw = {"key": key, "bind": "query-params"}
    if key not in st.session_state:
        kw["value"] = default
    return kw


def slider(label: str, key: str, min_value, max_value, default, step=None, *, where=st, **kwargs):
    """An int or float slider bound to the URL (the type follows ``default``)."""
    kind = int if isinstance(default, int) and not isinstance(default, bool) else float
    step = step if step is not None else (1 if kind is int else (max_value - min_value) / 100)
    _seed(key, _number_coercer(min_value, max_value, default, step, kind), default)
    _clamp_state(key, min_value, max_value)
    return where.slider(label, min_value=min_value, max_value=max_value, step=step,
                        **_kw(key, default), **kwargs)


def _choice_coercer(options: Sequence, default, format_func=str):
    labels = {str(format_func(o)): o for o in options}  # the URL holds the label Streamlit shows

    def coerce(raw: str):
        if raw in labels:
            return labels[raw], None
        return default, f"is not one of {', '.join(labels)}; using {format_func(default)}."
    return coerce


def choice(label: str, key: str, options: Sequence, default, *, widget: str = "selectbox", where=st, **kwargs):
    """A selectbox, radio or segmented control bound to the URL."""
    format_func = kwargs.get("format_func", str)
    _seed(key, _choice_coercer(options, default, format_func), default,
                      label=lambda v: str(format_func(v)))
    kw = {"key": key, "bind": "query-params"}
    if key not in st.session_state:
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
        good = list(dict.fromkeys(labels[v] for v in raw if v in labels))  # each option once, in link order
        bad = [v for v in raw if v not in labels]
        if not bad and len(good) == len(raw):
            return good, None
        kept = good or list(default)
        problem = f"names unknown option(s) {', '.join(bad)}" if bad else "repeats an option"
        return kept, f"{problem}; keeping {', '.join(map(str, kept))}."
    _seed(key, coerce, list(default), many=True, label=lambda v: str(kwargs.get("format_func", str)(v)))
    kw = {"key": key, "bind": "query-params"}
    if key not in st.session_state:
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
    _seed(key, coerce, default)
    return where.toggle(label, **_kw(key, default), **kwargs)


def text(label: str, key: str, default: str, max_chars: int, *, where=st, **kwargs) -> str:
    """A text field bound to the URL; a link's text longer than ``max_chars`` is cut, with a notice. The value
    is hostile text: show it only through ``dashboard.safe.md``."""
    def coerce(raw: str):
        if len(raw) <= max_chars:
            return raw, None
        return raw[:max_chars], f"is longer than {max_chars} characters; it was cut."
    _seed(key, coerce, default)
    return where.text_input(label, max_chars=max_chars, **_kw(key, default), **kwargs) or ""


def reset(keys: Sequence[str]) -> None:
    """Forget these widgets' values, in the session and in the link, so they start again from their defaults.

    For widgets whose defaults follow another widget (a data set's epochs and
    widths): call it from that widget's ``on_change``.
    """
    for key in keys:
        st.session_state.pop(key, None)
        try:
            _rewrite_link(key, None)
        except Exception:  # noqa: BLE001 - no link outside a running app
            pass
