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

import pytest

from dashboard.shell import PAGES, ROOT

pytestmark = pytest.mark.browser
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
def server(tmp_path_factory):
    port = _free_port()
    log = open(tmp_path_factory.mktemp("server") / "streamlit.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        log.seek(0)
        pytest.fail("streamlit did not start:\n" + log.read())
    yield base
    proc.terminate()
    proc.wait(10)
    log.seek(0)
    assert "Traceback" not in log.read(), "the server logged a traceback"


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
    if url_path != "home":
        page.wait_for_selector("[data-testid=stVegaLiteChart]", timeout=60_000)


def test_deep_link_first_then_every_page(server, browser):
    # the first visit of the fresh server is a deep link to a page other than home
    first = next(u for *_, u in PAGES if u != "home")
    page = open_page(browser, f"{server}/{first}")
    assert_healthy(page, first)
    assert page.locator("h1").first.inner_text().startswith(next(t for _, t, _, u in PAGES if u == first)[:8])
    page.context.close()

    for _, title, _, url_path in PAGES:
        page = open_page(browser, f"{server}/{url_path}")
        assert_healthy(page, url_path)
        if url_path != "home":
            assert page.locator("h1").first.inner_text().startswith(title[:8])
        sliders = page.locator("[data-testid=stSlider] [role=slider]")
        if sliders.count() == 0:
            page.context.close()
            continue
        before = page.url
        thumb = sliders.first
        value = thumb.get_attribute("aria-valuenow")
        thumb.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("u => window.location.href !== u", arg=before, timeout=30_000)
        page.wait_for_selector(DONE, timeout=120_000)
        new_value = thumb.get_attribute("aria-valuenow")
        assert new_value != value
        shared = page.url
        assert "?" in shared
        page.context.close()

        # the link, opened in a fresh browser context, shows the same state
        other = open_page(browser, shared)
        assert_healthy(other, url_path)
        assert other.locator("[data-testid=stSlider] [role=slider]").first.get_attribute("aria-valuenow") == new_value
        other.context.close()


def test_practicum_trains_from_the_browser(server, browser):
    page = open_page(browser, f"{server}/practicum?pp_n=1000&pp_seed=5")
    page.get_by_role("button", name="Train").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=180_000)
    page.wait_for_selector(DONE, timeout=120_000)
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.locator("[data-testid=stVegaLiteChart]").count() >= 3
    page.context.close()


def test_signals_page_measures_an_uploaded_sound(server, browser, tmp_path):
    import wave

    import numpy as np

    path = tmp_path / "tone.wav"
    with wave.open(str(path), "wb") as f:
        f.setnchannels(2)
        f.setsampwidth(2)
        f.setframerate(8000)
        f.writeframes((np.sin(np.arange(16000) / 5) * 3000).astype(np.int16).tobytes())
    page = open_page(browser, f"{server}/signals?sig_src=upload")
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text("2 channel(s) at 8000 samples a second", exact=False).wait_for(timeout=60_000)
    page.wait_for_selector(DONE, timeout=60_000)
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.locator("audio").count() >= 2  # the sound and its permuted copy, playable
    page.context.close()
