"""A fresh server per page, as after a deploy or a restart: how long the first visitor waits.

    python benchmarks/coldstart.py [--pages home,signals,...] [--repeat 3] [--no-results-link]

For each page: start ``streamlit run dashboard/app.py`` (waiting for its health check), open the page in
Chromium (the tests' Debian build) and time, from the navigation's start, on the browser's clock: *first
content* (the first frame that draws the page's title) and *finished* (the script's run over:
``data-test-script-state=notRunning``). The browser comes twice, each
time to a fresh server: *first visit* with an empty cache (it fetches and parses Streamlit's 65 script and
font files: about 1 s here before any script runs), and *returning* with Streamlit's static files in its cache
(every server runs on the same port, so they are the same URLs), as a student who opened the lab before a
restart. A one-line Streamlit app, measured the same two ways, is the floor. Then a shared link to a stored
training (trained here first, into a fresh results folder): its results heading on a cold server, and again
on the same, now warm, server; against the same visits of a link to the second page of a two-page app (a
deep link's floor: Streamlit first looks for its server under the link's path, and retries at the root). And a
practicum link nobody trained yet: its Train button on a fresh server whose cache folder lacks MNIST-1D, on one
that holds it, and on one where someone opened home 15 s before (the shell's background warm-up). Goals: home's first content under 1.5 s; the stored link's results under 3 s
cold and 1 s warm. ``--repeat N`` measures the one-line app and each page N times, each on a fresh server, and
prints the medians: on this machine one fresh start differs from the next by a few tenths of a second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from server import DONE, free_port, served  # noqa: E402
STORED_LINK = "practicum?pp_data=MNIST-1D&pp_epochs=1&pp_n=500"
UNTRAINED_LINK = "practicum?pp_data=MNIST-1D&pp_epochs=2&pp_n=500"  # not stored: the page sizes and offers it
TRAIN_BUTTON = "[data-testid=stMain] button:has-text('Train')"


VIEWPORT = {"width": 1400, "height": 1000}
# Timed in the page, on the browser's clock, from the navigation's start: Playwright's own waits for a selector poll
# at 0, 20, 70, 170, 270 ms and then every 500 ms, so a title drawn 280 ms after the page's load event was reported
# up to half a second late (this benchmark's figures before 2026-11-30). Each animation frame, this notes the first
# frame that draws each mark, and the last frame in which the app's run state went back to notRunning (from the title on).
MARKS = """(() => {
  const t = window.__marks = {};
  const shown = el => !!el && el.checkVisibility({visibilityProperty: true}) && el.getBoundingClientRect().height > 0;
  const find = {
    title: () => document.querySelector('h1'),
    results: () => [...document.querySelectorAll('h2, h3')].find(e => e.textContent.includes('Results')),
    train: () => [...document.querySelectorAll('[data-testid=stMain] button')].find(e => e.innerText.trim().endsWith('Train')),
  };
  let state = null;
  const tick = () => {
    for (const [mark, f] of Object.entries(find)) if (!(mark in t) && shown(f())) t[mark] = performance.now();
    const app = document.querySelector('[data-testid=stApp]');
    const now = app && app.getAttribute('data-test-script-state');
    if (now === 'notRunning' && 'title' in t && (state !== 'notRunning' || !('finished' in t))) t.finished = performance.now();
    state = now;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})()"""


def new_context(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(MARKS)
    return context


def visit(browser, url: str, first: str, context=None, mark: str = "title") -> tuple[float, float]:
    """Seconds from the navigation's start to ``mark`` drawn (``first``: the same element, for Playwright to
    wait on), and to the run's end; in a new, empty context unless one (with its cache) is given."""
    page = (context or new_context(browser)).new_page()
    page.goto(url)
    page.locator(first).first.wait_for(timeout=180_000)
    page.wait_for_selector(DONE, timeout=180_000)
    page.wait_for_timeout(200)  # a rerun right after the first (a corrected link) counts too
    page.wait_for_selector(DONE, timeout=180_000)
    page.wait_for_function(f"() => '{mark}' in window.__marks && 'finished' in window.__marks", timeout=10_000)
    marks = page.evaluate("() => window.__marks")
    if context is None:
        page.context.close()
    else:
        page.close()
    return marks[mark] / 1000, max(marks["finished"], marks[mark]) / 1000


def fresh(browser, env, url_path: str, script: Path | None, port: int, context=None) -> tuple[float, float]:
    """A new server on ``port`` and one visit to ``url_path`` (the title, then the run's end)."""
    with served(env, script, port) as base:
        return visit(browser, f"{base}/{'' if url_path == 'home' else url_path}", "h1", context)


def main() -> None:
    from playwright.sync_api import sync_playwright

    from dashboard.shell import PAGES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", default=",".join(p.url_path for p in PAGES))
    ap.add_argument("--repeat", type=int, default=1, help="fresh servers per measure; medians are printed")
    ap.add_argument("--no-results-link", action="store_true")
    ap.add_argument("--no-untrained-link", action="store_true")
    args = ap.parse_args()
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    results = tempfile.mkdtemp(prefix="convlab-cold-")
    env = {"CONVLAB_RESULTS_DIR": results}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        print(f"{'page':<14}{'first visit: content s':>24}{'finished s':>12}{'returning: content s':>22}"
              f"{'finished s':>12}")
        floor = Path(results) / "floor.py"  # the baseline: a one-line Streamlit app on the same machine
        floor.write_text('import streamlit as st\nst.title("Hello")\n')
        port = free_port()
        cached = new_context(browser)
        fresh(browser, env, "home", floor, port, cached)  # fills the cache with Streamlit's static files

        def median_of(url_path, script, context=None):
            times = [fresh(browser, env, url_path, script, port, context) for _ in range(max(1, args.repeat))]
            return tuple(statistics.median(t[i] for t in times) for i in range(2))

        first = median_of("home", floor)
        again = median_of("home", floor, cached)
        print(f"{'(one-line app)':<14}{first[0]:>24.2f}{first[1]:>12.2f}{again[0]:>22.2f}{again[1]:>12.2f}"
              "   <- Streamlit's own floor here", flush=True)
        for url_path in args.pages.split(","):
            shown, done = median_of(url_path, None)
            back, back_done = median_of(url_path, None, cached)
            print(f"{url_path:<14}{shown:>24.2f}{done:>12.2f}{back:>22.2f}{back_done:>12.2f}   first content "
                  f"{shown / first[0]:.2f}x and {back / again[0]:.2f}x the floor", flush=True)
        if not args.no_untrained_link:
            # a link nobody trained yet, the first thing a fresh server shows: MNIST-1D is generated (seconds) unless
            # the cache folder holds it, and the page sizes the networks on PyTorch's meta device; then the same
            # link 15 s after someone opened home, by when the shell's background warm-up has imported torch
            link_url = lambda base: f"{base}/{UNTRAINED_LINK}"  # noqa: E731
            own = {**env, "CONVLAB_CACHE_DIR": str(Path(results) / "cache")}  # starts empty
            with served(own, None, port) as base:
                empty = visit(browser, link_url(base), TRAIN_BUTTON, mark="train")[0]
            with served(own, None, port) as base:
                kept = visit(browser, link_url(base), TRAIN_BUTTON, mark="train")[0]
            with served(own, None, port) as base:
                visit(browser, base, "h1")
                time.sleep(15)
                after_home = visit(browser, link_url(base), TRAIN_BUTTON, mark="train")[0]
            print(f"seconds to the Train button of {UNTRAINED_LINK} on a fresh server: MNIST-1D not in the cache "
                  f"folder {empty:.2f}; in it {kept:.2f} ({kept / empty:.2f}x); 15 s after a visit to home "
                  f"{after_home:.2f} ({after_home / kept:.2f}x)", flush=True)
        if not args.no_results_link:
            from core.practicum.practicum import practicum_configs
            from core.practicum.training import train_runs
            from core.service.store import ResultStore

            store = ResultStore(results)
            for c in practicum_configs("mnist1d", epochs=1, train_size=500)[0]:
                store.put(train_runs((c,))[0])

            def link(script, url_path, first, mark):
                """(cold, warm) first visits, then (cold, warm) returning, to ``url_path`` on fresh servers."""
                with served(env, script, port) as base:
                    cold = visit(browser, f"{base}/{url_path}", first, mark=mark)[0]
                    warm = visit(browser, f"{base}/{url_path}", first, mark=mark)[0]
                    warm_back = visit(browser, f"{base}/{url_path}", first, cached, mark=mark)[0]
                with served(env, script, port) as base:
                    cold_back = visit(browser, f"{base}/{url_path}", first, cached, mark=mark)[0]
                return cold, warm, cold_back, warm_back

            # the floor for a link to a page of its own: Streamlit's page first asks for its health check under
            # the link's path (/second/_stcore/health), and retries at the root after a delay
            deep = Path(results) / "deep.py"
            deep.write_text('import streamlit as st\nst.navigation([st.Page(lambda: st.title("Hello"), title="A", '
                            'default=True), st.Page(lambda: st.title("Second"), title="B", url_path="second")]).run()\n')
            base_times = link(deep, "second", "h1", "title")
            times = link(None, STORED_LINK, "h2:has-text('Results'), h3:has-text('Results')", "results")
            print("seconds to content: first visit on a cold server, on a warm one; returning, cold and warm")
            print("  a two-page app's link to its second page (the floor): " + ", ".join(f"{t:.2f}" for t in
                                                                                       base_times))
            print(f"  a stored training's link ({STORED_LINK}), to its results: " + ", ".join(
                f"{t:.2f} ({t / b:.1f}x)" for t, b in zip(times, base_times)))
        browser.close()
    shutil.rmtree(results, ignore_errors=True)


if __name__ == "__main__":
    main()
