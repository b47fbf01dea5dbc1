"""A real Chromium against `streamlit run dashboard/app.py`: deep links, every page, shareable state.

Runs wherever Chromium is installed (Debian's `chromium`); in CI it is never skipped.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from dashboard.shell import PAGES, ROOT, heading

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a real server and Chromium: minutes
DONE = "[data-testid=stApp][data-test-script-state=notRunning]"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing; .ci/run installs Debian's chromium")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_files(tmp_path_factory):
    return tmp_path_factory.mktemp("server")


@pytest.fixture
def server_log(server, server_files):
    return lambda: (server_files / "streamlit.log").read_text()


def start_server(folder):
    """`streamlit run` on a free port with its log and results in ``folder``: (process, base URL, log file)."""
    port = _free_port()
    log = open(folder / "streamlit.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "CONVLAB_RESULTS_DIR": str(folder / "results")})
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                return proc, base, log
        except OSError:
            time.sleep(0.5)
    proc.kill()
    log.seek(0)
    pytest.fail("streamlit did not start:\n" + log.read())


# Streamlit 1.67's websocket endpoint (on Starlette) logs this pair when a tab closes while its socket is still
# opening: receive_bytes() before accept, then close() after the close. It is the server's own race on a browser
# going away, not the lab's; any other traceback still fails.
_UPSTREAM_DISCONNECT = "starlette.websockets.WebSocketDisconnected"


def lab_tracebacks(text: str) -> list[str]:
    """The tracebacks in a server log, less the upstream websocket-disconnect race (``_UPSTREAM_DISCONNECT``)."""
    blocks = text.split("Traceback (most recent call last):")[1:]
    found = []
    for block in blocks:
        last = next((line for line in block.splitlines() if line and not line.startswith((" ", "\t"))), "")
        chained = "During handling of the above exception" in block.split("\n\n")[-1]
        if not (last.startswith(_UPSTREAM_DISCONNECT) or chained and _UPSTREAM_DISCONNECT in block):
            found.append(block[:2000])
    return found


def test_lab_tracebacks_keeps_all_but_the_upstream_disconnect():
    race = ("Traceback (most recent call last):\n  File \"x\", line 1\n"
            "starlette.websockets.WebSocketDisconnected: WebSocket is not connected.\n\n"
            "During handling of the above exception, another exception occurred:\n\n"
            "Traceback (most recent call last):\n  File \"y\", line 2\n"
            "starlette.websockets.WebSocketDisconnected: Cannot call \"send\" once a close message has been sent.\n")
    ours = "Traceback (most recent call last):\n  File \"pages/stepper.py\", line 3\nValueError: boom\n"
    assert lab_tracebacks(race) == []
    assert len(lab_tracebacks(race + ours)) == 1 and "ValueError: boom" in lab_tracebacks(race + ours)[0]


@pytest.fixture(scope="module")
def server(server_files):
    proc, base, log = start_server(server_files)
    yield base
    proc.terminate()
    proc.wait(10)
    log.seek(0)
    found = lab_tracebacks(log.read())
    assert not found, "the server logged a traceback:\n" + "\n".join(found)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(DONE, timeout=120_000)
    page.wait_for_timeout(300)  # let the last deltas paint
    page.wait_for_selector(DONE, timeout=120_000)
    return page


def assert_healthy(page, url_path):
    assert page.locator("[data-testid=stException]").count() == 0, page.locator("[data-testid=stException]").first.inner_text()
    assert page.locator("h1").count() >= 1
    # /home answered "Page not found" (over the home page) before it became an alias of /
    assert page.get_by_text("Page not found").count() == 0, url_path
    if url_path != "home":
        page.wait_for_selector("[data-testid=stVegaLiteChart]", timeout=60_000)
        # each chart drawn on a canvas, as its spec asks (Streamlit's own default is an SVG node per mark)
        frames = page.locator("[data-testid=stVegaLiteChart]")
        expect(page.locator("[data-testid=stVegaLiteChart] canvas")).to_have_count(frames.count(), timeout=30_000)
        assert page.locator("[data-testid=stVegaLiteChart] svg.marks").count() == 0


def _nudge(page, thumb, value: str) -> None:
    """ArrowRight on ``thumb`` until its value moves. In CI a key press has twice missed its slider (once it
    moved another slider, once nothing) when a late repaint took the focus: each try focuses it again."""
    key = "ArrowLeft" if value == thumb.get_attribute("max") else "ArrowRight"  # a slider at its end moves back
    for _ in range(4):
        thumb.press(key)
        try:
            expect(thumb).not_to_have_value(value, timeout=8_000)
            return
        except AssertionError:
            page.wait_for_selector(DONE, timeout=60_000)
    expect(thumb).not_to_have_value(value, timeout=1_000)


def test_deep_link_first_then_every_page(server, browser):
    # the first visit of the fresh server is a deep link to a page other than home
    first = next(p.url_path for p in PAGES if p.url_path != "home")
    page = open_page(browser, f"{server}/{first}")
    assert_healthy(page, first)
    assert page.locator("h1").first.inner_text() == heading(first)
    page.context.close()

    for _, title, _, url_path, _ in PAGES:  # each page as its plain link opens it (moved and shared: below)
        page = open_page(browser, f"{server}/{url_path}")
        assert_healthy(page, url_path)
        assert page.locator("h1").all_inner_texts() == [heading(url_path)]  # the one heading, the page's own
        page.context.close()


# every table's own scroll box against its frame: a data grid scrolls in its ".dvn-scroller", a static table in
# its element. Wider content than the frame means a column the reader must scroll to, or cut off.
CLIPPED_TABLES = """() => [...document.querySelectorAll('[data-testid=stDataFrame], [data-testid=stTable]')]
  .filter(el => el.getBoundingClientRect().width > 0)
  .map(el => { const s = el.querySelector('.dvn-scroller') || el;
               return {table: (el.innerText || '').trim().slice(0, 80), scroll: s.scrollWidth, box: s.clientWidth}; })
  .filter(t => t.scroll > t.box + 1)"""


def open_every_expander(page) -> None:
    """Open each closed expander (an open one stays open). A lazy one reruns the page to draw its content: wait for
    that run to end."""
    for details in page.locator("[data-testid=stExpander] details").all():
        if details.get_attribute("open") is None:
            details.locator("summary").click()
            page.wait_for_timeout(300)
            page.wait_for_selector(DONE, timeout=60_000)
    page.wait_for_timeout(600)


TABLE_LINKS = [p.url_path for p in PAGES if p.url_path not in ("home", "practicum")] + [
    "famous?fm_net=ResNet-50", "anatomy?an_preset=small%20residual%20net", "sharing?sh_nd=2D&sh_cin=16&sh_cout=16",
    "stepper?st_nd=2D&st_cin=3&st_cout=2", "locality?loc_n=5"]


def test_no_table_needs_a_horizontal_scroll_at_1400_px(server, browser):
    """On a 1400 px projector every column of every table is in view: a sideways scroll hid the famous nets' field
    and jump, the practicum's device, and cut sharing's sentences mid-word."""
    clipped = {}
    for link in TABLE_LINKS:
        page = open_page(browser, f"{server}/{link}")
        open_every_expander(page)
        found = page.evaluate(CLIPPED_TABLES)
        if found:
            clipped[link] = found
        page.context.close()
    assert not clipped, clipped


def test_every_chip_of_a_full_multiselect_is_in_view(server, browser):
    """With all six kernels picked to hear, the sixth chip sat past the end of a box a third of the page wide."""
    chosen = "&".join(f"ker_hear={n}" for n in ("smoothing", "difference", "edge", "sharpen", "random", "typed"))
    page = open_page(browser, f"{server}/kernels?{chosen}")
    box = page.locator("[data-testid=stMultiSelect]").filter(has_text="Kernels to hear")
    edges = box.evaluate("""el => { const frame = el.querySelector('[data-rac]').getBoundingClientRect();
        return [...el.querySelectorAll('[data-tag]')].map(t => [t.getBoundingClientRect().right, frame.right,
                t.getBoundingClientRect().bottom, frame.bottom]); }""")
    assert len(edges) == 6 and all(r <= fr and b <= fb for r, fr, b, fb in edges), edges
    page.context.close()


def test_moving_around_inside_the_app_shows_each_pages_own_heading(server, browser, server_log):
    """The shell sends the heading before the navigation menu, from its own reading of which page this run is
    for: a click in the menu or on home's map (a page asked for by its hash, not by the address) must still get
    the right one, and only one."""
    before = len(server_log())
    page = open_page(browser, f"{server}/home")  # the alias of /
    assert page.locator("h1").all_inner_texts() == [heading("home")]
    page.locator("[data-testid=stPageLink] a", has_text="Padding").click()
    expect(page.locator("h1")).to_have_text([heading("padding")], timeout=60_000)
    page.wait_for_selector(DONE, timeout=60_000)
    for url_path in ("kernels", "home", "pooling"):
        title = next(p.title for p in PAGES if p.url_path == url_path)
        page.locator("[data-testid=stSidebarNav] a", has_text=title).first.click()
        expect(page.locator("h1")).to_have_text([heading(url_path)], timeout=60_000)
        page.wait_for_selector(DONE, timeout=60_000)
        assert page.locator("[data-testid=stException]").count() == 0
    page.context.close()
    assert "heading guessed" not in server_log()[before:]  # each heading went out before the menu, and was right


def test_a_chart_on_a_canvas_still_answers_a_hover(server, browser):
    """Charts are drawn on a canvas (no DOM node per mark): hovering a padded signal's bar must still show its
    tooltip, with the cell's mode, position, value and source."""
    page = open_page(browser, f"{server}/padding")
    canvas = page.locator("[data-testid=stVegaLiteChart] canvas").first
    box = canvas.bounding_box()
    # Where the bars fall depends on the fonts (the axis labels' widths), so sweep the first facets' upper half,
    # row by row, until a tooltip answers: the bars fill the lower part of that band. Each point is hovered
    # through the locator, which brings the canvas into view first: in two CI runs of three the page had
    # scrolled the chart out of view (970 px up) between reading its box and moving the mouse.
    shown = None
    for fy in (0.4, 0.3, 0.2, 0.45, 0.35, 0.25):
        for i in range(48):
            canvas.hover(position={"x": i / 96 * box["width"], "y": fy * box["height"]}, timeout=10_000)
            page.wait_for_timeout(50)
            tip = page.locator("[id^=vg-tooltip-element].visible")
            if tip.count():
                shown = tip.first.inner_text()
                break
        if shown:
            break
    assert shown is not None, f"no tooltip over the chart: {box}, now {canvas.bounding_box()}"
    assert all(field in shown for field in ("mode", "col", "value", "source")), shown
    page.context.close()


def test_practicum_trains_from_the_browser(server, browser):
    page = open_page(browser, f"{server}/practicum?pp_n=1000&pp_seed=5")
    # the 8 test digits in one row, their 8 scrambled copies in the next, on a 1280 px laptop screen (at 64 px
    # the eighth of each wrapped onto a line of its own)
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.wait_for_timeout(300)
    tops = page.evaluate("[...document.querySelectorAll('[data-testid=stMain] [data-testid=stImage] img')]"
                         ".slice(0, 16).map(i => Math.round(i.getBoundingClientRect().top))")
    assert len(tops) == 16 and len(set(tops[:8])) == 1 and len(set(tops[8:])) == 1 and tops[8] > tops[0], tops
    page.get_by_role("button", name="Train").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=180_000)
    page.wait_for_selector(DONE, timeout=120_000)
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.locator("[data-testid=stVegaLiteChart]").count() >= 3
    page.set_viewport_size({"width": 1400, "height": 1000})  # the results' tables, the device column too, in view
    page.wait_for_timeout(500)
    open_every_expander(page)
    assert not page.evaluate(CLIPPED_TABLES)
    # inside the trained networks: a test image, then a digit drawn on the canvas, through all four nets
    page.get_by_role("heading", name="Inside the trained networks").wait_for(timeout=60_000)
    assert page.get_by_text("FC, original says").count() == 1
    # stored results with every section open, the inside one too: WCAG A and AA hold
    open_every_expander(page)
    assert axe_violations(page) == []
    page.get_by_text("your drawing", exact=True).click()
    canvas = page.locator("canvas").last
    canvas.wait_for(timeout=60_000)
    box = canvas.bounding_box()
    x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.2
    page.mouse.move(x0, y0)
    page.mouse.down()
    for step in range(1, 11):  # a "1": one stroke down the middle
        page.mouse.move(x0 + step, y0 + step * box["height"] * 0.06)
    page.mouse.up()
    page.get_by_text("your drawing, preprocessed").wait_for(timeout=60_000)
    page.wait_for_selector(DONE, timeout=60_000)
    assert page.get_by_text("ConvNet, permuted says").count() == 1
    assert page.locator("[data-testid=stException]").count() == 0
    # with a drawing in it, one exception remains, the drawing component's own: its toolbar's icon buttons are
    # 22 px, under 2.5.8's 24 (streamlit-drawable-canvas draws them in its shadow DOM, out of the lab's reach; the
    # drawing reaches the nets without them, and the test image picker is the keyboard's way in)
    open_every_expander(page)
    assert {v for v in axe_violations(page) if not v.startswith("target-size: <button type=\"button\" class=\"dc-icon-button")} == set()
    page.context.close()


def tone_file(folder, channels: int):
    """A WAV tone, one second per channel at 8 kHz, 16-bit, in ``folder``."""
    import wave

    import numpy as np

    path = folder / "tone.wav"
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(2)
        f.setframerate(8000)
        f.writeframes((np.sin(np.arange(8000 * channels) / 5) * 3000).astype(np.int16).tobytes())
    return path


def test_signals_page_measures_an_uploaded_sound(server, browser, tmp_path):
    path = tone_file(tmp_path, channels=2)
    page = open_page(browser, f"{server}/signals?sig_src=upload")
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text("2 channel(s) at 8000 samples a second", exact=False).wait_for(timeout=60_000)
    page.wait_for_selector(DONE, timeout=60_000)
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.locator("audio").count() >= 2  # the sound and its permuted copy, playable
    page.context.close()


HOSTILE = [  # links whose values try to become page content: a tracking pixel, a phishing link, raw HTML
    "practicum?pp_models=![p](http://host.invalid/p.png)&pp_data=[Session expired: sign in](https://example.org/login)"
    "&pp_epochs=<img src=http://host.invalid/q.png>",
    "kernels?ker_apply1=[Session expired: sign in](https://example.org/login)&ker_k=`x`&ker_nd=**2D**",
    "locality?loc_pool=![t](http://host.invalid/t.png)&loc_img=<a href=https://example.org>x</a>&loc_n=4&loc_n=9",
    "anatomy?an_spec=[Session expired: sign in](https://example.org/login)",
    "anatomy?an_spec=1x28x28:conv(out=![p](http://host.invalid/p.png))",
    "signals?sig_src=:red[alarm]&sig_loc=$x^2$",
]
FORBIDDEN = "a[href*='example.org'], a[href*='host.invalid'], img[src*='host.invalid'], img[src*='example.org']"


def _visit_logging_requests(browser, url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.wait_for_selector(DONE, timeout=120_000)
    page.wait_for_timeout(500)
    page.wait_for_selector(DONE, timeout=120_000)
    return page, requests


@pytest.mark.parametrize("link", HOSTILE)
def test_link_text_never_becomes_page_content(server, browser, link):
    from urllib.parse import quote

    path, _, query = link.partition("?")
    encoded = "&".join(f"{k}={quote(v, safe='')}" for k, _, v in (p.partition("=") for p in query.split("&")))
    page, requests = _visit_logging_requests(browser, f"{server}/{path}?{encoded}")
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.locator(FORBIDDEN).count() == 0
    assert not [u for u in requests if not u.startswith(server) and ("host.invalid" in u or "example.org" in u)]
    text = page.locator("[data-testid=stMain]").inner_text()
    assert ("Session expired" in text or "host.invalid" in text or "alarm" in text or "x^2" in text), text[:2000]
    page.context.close()


def test_an_upload_name_never_becomes_page_content(server, browser, tmp_path):
    path = tmp_path / "[Session expired](https:example.org).csv"
    path.write_text("x\n" + "0\n" * 100)  # constant: the error names the file
    page, requests = _visit_logging_requests(browser, f"{server}/signals?sig_src=upload")
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text("is constant", exact=False).wait_for(timeout=60_000)
    assert page.locator(FORBIDDEN).count() == 0 and page.locator("[data-testid=stException]").count() == 0
    assert "[Session expired](https:example.org).csv" in page.locator("[data-testid=stMain]").inner_text()
    page.context.close()


def _widget_values(page) -> list:
    """Every widget's value as the browser shows it, once two reads a moment apart agree."""
    read = """() => [
        ...[...document.querySelectorAll('[data-testid=stSlider] input[type=range]')].map(e => 'slider:' + e.value),
        ...[...document.querySelectorAll('[data-testid=stSelectbox] input')].map(e => 'select:' + e.value),
        ...[...document.querySelectorAll('[data-testid=stMultiSelect]')].map(e => 'multi:' + e.innerText),
        ...[...document.querySelectorAll('[data-testid=stMain] input[type=checkbox]')].map(e => 'check:' + e.checked),
        ...[...document.querySelectorAll('[data-testid=stTextInput] input')].map(e => 'text:' + e.value),
    ]"""
    before = None
    for _ in range(60):
        page.wait_for_selector(DONE, timeout=120_000)
        now = page.evaluate(read)
        if now and now == before:
            return now
        before = now
        page.wait_for_timeout(400)
    return before


CORRECTED = {  # per page, a link with values the page must correct (and keep corrected in the address bar)
    "signals": "sig_loc=7&sig_seed=99&sig_src=moon",
    "linear": "lin_rot=720&lin_sx=x&lin_f=softmax",
    "locality": "loc_k=77&loc_n=4&loc_n=9&loc_pool=1",
    "sharing": "sh_n=1e9&sh_k=0&sh_cin=NaN",
    "kernels": "ker_k=17&ker_s=99&ker_box=-1&ker_sw=4&ker_hear=kazoo",
    "padding": "pad_a=40&pad_v=inf&pad_n=0",
    "stepper": "st_n=99&st_k=-2&st_mode=mirror",
    "anatomy": "an_k1=0&an_k2=many&an_preset=GPT-5",
    "famous": "fm_net=LeNet-9000&fm_depth=-4",
    "pooling": "pool_p=0.2&pool_k=9",
    "practicum": "pp_epochs=1000&pp_seed=-1&pp_models=transformer&pp_models=fc",
}


@pytest.mark.parametrize("url_path", list(CORRECTED))
def test_a_corrected_then_moved_link_reopens_as_shown(server, browser, url_path):
    """A link with values the page must correct: the corrections are announced and leave the address bar at
    once; then a slider moved: the address follows, and opened in a fresh browser it shows the same view, with
    nothing left to correct."""
    link = CORRECTED[url_path]
    page = open_page(browser, f"{server}/{url_path}?{link}")
    assert_healthy(page, url_path)
    assert page.locator("[data-testid=stAlertContentWarning]").count() >= 1  # the corrections are announced
    _widget_values(page)  # settled
    address = parse_qs(urlsplit(page.url).query)
    for key, values in parse_qs(link, keep_blank_values=True).items():  # each bad value has left the address
        assert address.get(key) != values, (key, page.url)
    sliders = page.locator("[data-testid=stSlider] input[type=range]")
    if sliders.count():
        before, thumb = page.url, sliders.first
        _nudge(page, thumb, thumb.input_value())
        page.wait_for_function("u => window.location.href !== u", arg=before, timeout=30_000)
        page.wait_for_selector(DONE, timeout=60_000)
    shown, shared = _widget_values(page), page.url
    page.context.close()
    again = open_page(browser, shared)
    assert_healthy(again, url_path)
    assert _widget_values(again) == shown, shared
    assert "Link parameter" not in again.locator("[data-testid=stMain]").inner_text()  # nothing left to correct
    again.context.close()


def test_a_crowd_pressing_train_gets_one_run_per_configuration(server, browser, server_log):
    link = f"{server}/practicum?pp_n=1500&pp_seed=8"
    before = len(server_log())  # the shared server trained other links before this test
    pages = []
    for _ in range(8):  # the eight load side by side, as a class opening a shared link does
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(link, wait_until="commit")
        pages.append(page)
    for page in pages:
        page.get_by_role("button", name="Train").wait_for(timeout=120_000)
        page.wait_for_selector(DONE, timeout=120_000)
    for page in pages:  # within about a second
        page.get_by_role("button", name="Train").click(no_wait_after=True)
    for page in pages:
        page.get_by_role("heading", name="Results").wait_for(timeout=240_000)
        assert page.locator("[data-testid=stException]").count() == 0
        page.context.close()
    started = [line for line in server_log()[before:].splitlines() if "convlab.worker: training " in line]
    keys = [k for line in started for k in line.rsplit("training ", 1)[1].split(" + ")]
    assert len(keys) == 4 and len(set(keys)) == 4, started  # fc, fc permuted, and the ConvNet pair, once each


def test_sigterm_during_a_training_stops_the_server_within_5_s(browser, tmp_path):
    """A container manager's stop: the running training ends at its next report, nothing half-written is left."""
    import signal

    proc, base, log = start_server(tmp_path)
    try:
        page = open_page(browser, f"{base}/practicum?pp_epochs=5&pp_seed=9")
        page.get_by_role("button", name="Train").click()
        page.get_by_text("step", exact=False).first.wait_for(timeout=120_000)  # a run is training
        started = time.time()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        assert time.time() - started < 5, "the server kept training after SIGTERM"
        page.context.close()
    finally:
        proc.kill()
    assert not list((tmp_path / "results").glob(".*.tmp"))  # no temporary file left behind
    log.seek(0)
    assert not lab_tracebacks(log.read())


# per page: the telling links beyond its defaults: the apptest's seeded link, its garbage link (the corrections said
# above the page), and where the page has more modes than those show, one more
AXE_EXTRA = {"locality": ["loc_l=1"], "kernels": ["ker_nd=2D"], "practicum": ["pp_data=MNIST-1D"],
             "stepper": ["st_nd=2D&st_step=7"]}
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"width": 390, "height": 844}


def axe_links(url_path: str) -> list[str]:
    from urllib.parse import urlencode

    from tests.pages.test_apptest import LINKS

    path = "" if url_path == "home" else url_path
    queries = ["", *(urlencode(q) for q in LINKS[url_path] if q and url_path != "home"), *AXE_EXTRA.get(url_path, [])]
    return [f"{path}?{q}" if q else path for q in queries]


def axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    return [f"{v['id']}: {n['html'][:100]}" for v in found.response["violations"] for n in v["nodes"]]


SIDEWAYS = """() => {
  const root = document.documentElement, main = document.querySelector('[data-testid=stMain]');
  return {page: root.scrollWidth - root.clientWidth, main: main.scrollWidth - main.clientWidth};
}"""


@pytest.mark.parametrize("url_path", [p.url_path for p in PAGES])
def test_every_page_passes_axe_at_wcag_a_and_aa_and_reflows_on_a_phone(server, browser, url_path):
    """axe-core's WCAG 2.0/2.1/2.2 A and AA rules at the defaults and the telling links on a 1400 px screen, and on
    a 390 px phone at the defaults; at 390 and at 320 px (400 % zoom) nothing but a chart or table scrolls
    sideways (1.4.10). What axe found first: captions at 3.77:1 (the theme's text faded to 60 %), inline code in
    captions, a slider greyed out for want of a choice, 30 pictures without a text alternative; on a phone, wide
    charts that scrolled the whole page, then frames that scrolled but took no keyboard focus."""
    failing, sideways = {}, {}
    page = open_page(browser, f"{server}/")  # one tab, each link opened in it as a new visit
    for link in axe_links(url_path):
        page.goto(f"{server}/{link}")
        page.wait_for_selector(DONE, timeout=120_000)
        page.wait_for_timeout(1000)  # fragments draw after the run's end
        page.wait_for_selector(DONE, timeout=120_000)
        if found := axe_violations(page):
            failing[link or "home"] = found
    page.context.close()
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server}/{'' if url_path == 'home' else url_path}")
    page.wait_for_selector(DONE, timeout=120_000)
    page.wait_for_timeout(1000)
    for width in (390, 320):  # the phone, then the same page at 400 % zoom of a 1280 px screen
        page.set_viewport_size({"width": width, "height": PHONE["height"]})
        page.wait_for_timeout(500)
        if (scroll := page.evaluate(SIDEWAYS)) != {"page": 0, "main": 0}:
            sideways[width] = scroll
        if width == 390 and (found := axe_violations(page)):
            failing[f"{url_path} at 390 px"] = found
    context.close()
    assert failing == {} and sideways == {}


FOCUSED = """() => {
  const e = document.activeElement;
  return {label: e.getAttribute('aria-label') || (e.innerText || '').trim().split('\\n').pop(),
          role: e.getAttribute('role') || e.tagName.toLowerCase(), value: e.getAttribute('aria-valuetext')};
}"""
# what the focused element (or a parent that draws its ring) looks like; compared with the same blurred
RING = """(blurred) => {
  const e = document.activeElement, out = [];
  for (let n = e, i = 0; n && i < 3; n = n.parentElement, i++) {
    const s = getComputedStyle(n);
    out.push([s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.backgroundColor, s.borderColor].join());
  }
  return out.join('|');
}"""


def tab_to(page, label: str, role: str | None = None, limit: int = 150) -> dict:
    """Press Tab until the element named ``label`` has the focus; fail if it never does. Checks that the focus
    shows: the element (or a parent) looks different focused than blurred."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        if now["label"] == label and (role is None or now["role"] == role):
            focused = page.evaluate(RING, False)
            handle = page.evaluate_handle("document.activeElement")
            page.evaluate("e => e.blur()", handle)
            blurred = page.evaluate("e => { const out = []; for (let n = e, i = 0; n && i < 3; n = n.parentElement, i++)"
                                    " { const s = getComputedStyle(n); out.push([s.outlineStyle, s.outlineWidth, "
                                    "s.outlineColor, s.boxShadow, s.backgroundColor, s.borderColor].join()); }"
                                    " return out.join('|'); }", handle)
            page.evaluate("e => e.focus({focusVisible: true})", handle)
            assert page.evaluate("e => document.activeElement === e", handle), f"{label}: the focus did not come back"
            assert focused != blurred, f"{label}: the focus does not show"
            return now
    pytest.fail(f"{label!r} never took the focus in {limit} presses of Tab")


def press_until(page, label: str, role: str | None, key: str, done_js: str, tries: int = 3) -> None:
    """Press ``key`` on the control named ``label`` until ``done_js`` holds: a rerun that redraws the control can
    take its focus, or swallow the press, on a loaded machine; a student would press again."""
    for _ in range(tries):
        if page.evaluate(FOCUSED)["label"] != label:
            tab_to(page, label, role)
        page.keyboard.press(key)
        try:
            page.wait_for_function(done_js, timeout=10_000)
            return
        except Exception:
            settled(page)
    pytest.fail(f"{key} on {label!r} never took effect")


def settled(page) -> None:
    page.wait_for_timeout(400)
    page.wait_for_selector(DONE, timeout=120_000)


def query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def test_each_pages_main_flow_works_from_the_keyboard(server, browser):
    """Tab, arrows, Enter and Space alone: each step's effect is read back from the link, which follows every
    widget. A mode switch, sliders, a select box, the stepper's step, Play and its pause, and Train then Cancel."""
    page = open_page(browser, f"{server}/linear")
    tab_to(page, "grid", "radio")  # a group of radio buttons is one tab stop; the arrows move within it
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    settled(page)
    assert query(page).get("lin_pts") == "spiral"
    tab_to(page, "Rotation (°)")
    page.keyboard.press("ArrowRight")
    settled(page)
    assert query(page).get("lin_rot") not in (None, "30")
    tab_to(page, "Squashing f", "combobox")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    settled(page)
    assert query(page).get("lin_f") not in (None, "tanh")  # the default: the link holds it only once changed
    page.context.close()

    page = open_page(browser, f"{server}/stepper")
    step = int(tab_to(page, "Step")["value"])
    page.keyboard.press("ArrowRight")
    settled(page)
    assert int(query(page)["st_step"]) == step + 1
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED)["label"] == "Play"  # the reading order, backwards
    page.keyboard.press("Space")
    settled(page)
    assert query(page).get("st_play") == "true"
    page.wait_for_timeout(2500)  # Play advances a step every 0.8 s
    assert int(query(page)["st_step"]) != step + 1
    press_until(page, "Play", "switch", "Space", "!location.search.includes('st_play=true')")  # pause (2.2.2)
    settled(page)
    paused = query(page)["st_step"]
    page.wait_for_timeout(2000)
    assert query(page)["st_step"] == paused and query(page).get("st_play") != "true"
    page.context.close()

    page = open_page(browser, f"{server}/practicum?pp_data=MNIST-1D&pp_n=4000&pp_epochs=5&pp_seed=11")
    tab_to(page, "Train", "button")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Cancel").wait_for(timeout=60_000)
    tab_to(page, "Cancel", "button")
    page.keyboard.press("Enter")
    page.get_by_text("Cancelled").first.wait_for(timeout=60_000)
    page.context.close()


def test_uploading_and_looking_inside_work_from_the_keyboard(server, browser, tmp_path):
    """The rest of the main flows by keyboard: a file uploaded through the file chooser the keyboard opens, and a
    test image picked inside trained nets. (Editing an anatomy row by keyboard works by hand, in the grid and in the
    layer list's line, but lost its key presses in three clean-clone runs of four: not under test yet.)"""
    path = tone_file(tmp_path, channels=1)
    page = open_page(browser, f"{server}/signals?sig_src=upload")
    page.locator("[data-testid=stFileUploader] button").wait_for(timeout=60_000)  # drawn by its fragment
    settled(page)
    tab_to(page, "Upload", "button")
    from playwright.sync_api import TimeoutError as NoChooser

    for _ in range(3):  # a late redraw of the section can swallow a key press: a student would press again
        try:
            with page.expect_file_chooser(timeout=10_000) as chooser:
                page.keyboard.press("Enter")
            break
        except NoChooser:
            if page.evaluate(FOCUSED)["label"] != "Upload":
                tab_to(page, "Upload", "button")
    else:
        pytest.fail("Enter on the focused Upload button never opened the file chooser")
    chooser.value.set_files(str(path))
    page.get_by_text("1 channel(s) at 8000 samples a second", exact=False).wait_for(timeout=60_000)
    page.context.close()

    page = open_page(browser, f"{server}/practicum?pp_data=MNIST-1D&pp_n=500&pp_seed=12")
    tab_to(page, "Train", "button")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Inside the trained networks").wait_for(timeout=120_000)
    settled(page)
    tab_to(page, "Test image")
    page.keyboard.press("ArrowRight")
    settled(page)
    assert query(page).get("in_idx") == "1"
    page.get_by_text("test image 1, a ").first.wait_for(timeout=30_000)
    page.context.close()
