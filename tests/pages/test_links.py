"""Every page's link parameters, fuzzed (hypothesis + AppTest): no exception, a notice for every bad value,
and the URL afterwards reproduces the view.

The widgets and their domains are read off each page itself (a defaults run), so a new URL-bound widget is
fuzzed without editing this file. The full run (``-m slow``) tries 60 generated links; the default quick run
eight. ``PROPERTY_CASES`` overrides the count.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from dashboard.safe import md
from dashboard.shell import PAGES, ROOT

APP = str(ROOT / "dashboard" / "app.py")
KINDS = ("slider", "selectbox", "multiselect", "toggle", "button_group", "text_input")
PAYLOADS = ["![p](http://host/p.png)", "[Session expired: sign in](https://example.org/login)",
            "<img src=x onerror=alert(1)>", "`x`", "**bold**", ":red[alarm]", "$x^2$", "# head\n* item", "",
            " ", "nan", "inf", "-1e999", "0x10", "1_000", "²", "a" * 3000, "%00", "\\", "true"]
STATS = {"cases": 0, "notices": 0}


def open_page(url_path: str, params: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    file = next(p.file for p in PAGES if p.url_path == url_path)
    at.switch_page(str(ROOT / "pages" / file)).run()  # the first run is the deep link itself
    assert not at.exception, (url_path, params, [e.value for e in at.exception])
    return at


def bound_widgets(at: AppTest) -> dict:
    """key -> widget, for every keyed widget of the page (URL-bound ones are exactly those with plain keys)."""
    found = {}
    for kind in KINDS:
        for w in at.get(kind):
            key = getattr(w, "key", None)
            if key and not key.startswith("$$") and key != "sig_upload":
                found[key] = (kind, w)
    return found


@lru_cache(maxsize=None)
def domains(url_path: str) -> dict:
    """key -> (kind, min, max, step, options) read off the page at its defaults."""
    out = {}
    for key, (kind, w) in bound_widgets(open_page(url_path, {})).items():
        out[key] = (kind, getattr(w, "min", None), getattr(w, "max", None), getattr(w, "step", None),
                    tuple(getattr(w, "options", ()) or ()))
    return out


def shown(kind: str, w) -> object:
    """What a widget shows, as comparable data (labels for choices)."""
    if kind in ("selectbox", "button_group"):
        v = w.value
        return None if v is None else str(w.format_func(v)) if hasattr(w, "format_func") else str(v)
    if kind == "multiselect":
        return tuple(str(w.format_func(v)) if hasattr(w, "format_func") else str(v) for v in w.value)
    return w.value


def values_for(kind, lo, hi, step, options):
    junk = st.sampled_from(PAYLOADS) | st.text(max_size=12)
    if kind == "slider":
        span = (hi - lo) if hi is not None else 10
        number = st.floats(lo - span, hi + span, allow_nan=False) if isinstance(lo, float) else \
            st.integers(lo - span, hi + span)
        good = st.integers(0, int(round(span / (step or 1)))).map(lambda i: lo + i * (step or 1))
        one = good.map(str) | number.map(str) | number.map(lambda v: f"{v}.5") | junk
    elif kind == "toggle":
        one = st.sampled_from(["true", "false", "1", "0", "yes", "off", "TRUE"]) | junk
    elif kind == "text_input":
        one = st.sampled_from(["1x28x28:conv(out=6,kernel=5);relu", "1x40:local(out=4,kernel=3)",
                               "64x256x256:conv(out=64,kernel=32,padding=16)", "1x28x28:lp pool(kernel=2,p=0)",
                               "3x5:conv(out=2,kernel=9)", "x:", "1x28x28:" + "relu;" * 70]) | junk
    else:
        one = st.sampled_from(options) | junk if options else junk
    if kind == "multiselect":
        return st.lists(st.sampled_from(options) | junk if options else junk, min_size=1, max_size=4)
    return one | st.lists(one, min_size=2, max_size=3)  # a repeated key: ?k=a&k=b


@st.composite
def links(draw):
    url_path = draw(st.sampled_from([p.url_path for p in PAGES if p.url_path != "home"]))
    dom = domains(url_path)
    keys = draw(st.lists(st.sampled_from(sorted(dom)), min_size=1, max_size=min(4, len(dom)), unique=True))
    return url_path, {k: draw(values_for(*dom[k])) for k in keys}


def malformed(kind: str, raw, w) -> bool:
    """Whether ``raw`` (a URL value or repeated values) is one the page must correct with a notice."""
    if kind == "text_input":
        return False  # any text is a layer list to read; a bad one gets an error box instead
    if kind == "multiselect":
        return any(v not in list(w.options) for v in raw) or len(set(raw)) < len(raw)  # options are labels
    if isinstance(raw, list):
        return True
    if kind == "toggle":
        return raw.lower() not in ("true", "false")  # TRUE and False are read as written, without a notice
    if kind in ("selectbox", "button_group"):
        return raw not in list(w.options)
    try:
        v = float(raw)
    except ValueError:
        return True
    if not math.isfinite(v) or not (w.min <= v <= w.max):
        return True
    return isinstance(w.min, int) and not v.is_integer()


def check_link(url_path: str, params: dict) -> None:
    at = open_page(url_path, params)
    widgets = bound_widgets(at)
    notices = " ".join(w.value for w in at.warning)
    STATS["cases"] += 1
    for key, raw in params.items():
        if key not in widgets:
            continue  # a widget this combination of settings does not show
        kind, w = widgets[key]
        if malformed(kind, raw, w):
            assert f"**{md(key)}** = " in notices, (url_path, key, raw, notices)
            STATS["notices"] += 1
    # the address bar afterwards, opened in a fresh session, shows the same view without a notice
    if dict(at.query_params) == params and not notices:
        return  # the link was taken as it is: reopening it is this very run
    again = open_page(url_path, dict(at.query_params))
    assert not any("Link parameter" in w.value for w in again.warning), (params, at.query_params)
    after = bound_widgets(again)
    for key, (kind, w) in widgets.items():
        assert shown(kind, w) == shown(*after[key]), (url_path, params, key, dict(at.query_params))


def run_cases(n: int, capsys):
    STATS.update(cases=0, notices=0)

    @settings(max_examples=n, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(links())
    def prop(link):
        check_link(*link)
    prop()
    with capsys.disabled():  # the count is part of the result: shown even when the test passes
        print(f"\n{STATS['cases']} generated links, 0 exceptions, {STATS['notices']} corrections checked")
    assert STATS["cases"] >= n


def test_generated_links_quick(capsys, request):
    if any(item.name == "test_generated_links_full" for item in request.session.items):
        pytest.skip("the full run in this session covers these links (derandomized: the same first cases)")
    run_cases(int(os.environ.get("PROPERTY_CASES", 8)), capsys)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_generated_links_full(capsys):
    run_cases(int(os.environ.get("PROPERTY_CASES", 60)), capsys)  # 0.8 s a link: the suite stays under 15 minutes


@pytest.mark.parametrize("url_path,params", [
    ("locality", {"loc_k": "77"}), ("locality", {"loc_n": ["4", "9"]}), ("kernels", {"ker_k": "17"}),
    ("pooling", {"pool_p": "0.2"}), ("practicum", {"pp_models": ["fc", "fc", "transformer"]}),
    ("signals", {"sig_nd": "5D", "sig_loc": "7"}), ("linear", {"lin_f": "softmax", "lin_rot": "720"}),
    ("padding", {"pad_v": "inf"}), ("sharing", {"sh_n": "1e9"}), ("anatomy", {"an_k1": "0"}),
])
def test_corrected_links_round_trip(url_path, params):
    check_link(url_path, params)
