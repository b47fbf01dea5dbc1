"""A fresh server per page, as after a deploy or a restart: how long the first visitor waits.

    python benchmarks/coldstart.py [--pages home,signals,...] [--no-results-link]

For each page: start ``streamlit run dashboard/app.py`` (waiting for its health check), open the page in
Chromium (the tests' Debian build) and time, from the navigation: *first content* (the page's title shown)
and *finished* (the script's run over: ``data-test-script-state=notRunning``). Then a shared link to a stored
training (trained here first, into a fresh results folder): its results heading on a cold server, and again
on the same, now warm, server. Goals: home's first content under 1.5 s; the stored link's results under 3 s
cold and 1 s warm.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from server import DONE, serve  # noqa: E402
STORED_LINK = "practicum?pp_data=MNIST-1D&pp_epochs=1&pp_n=500"


def visit(browser, url: str, first: str) -> tuple[float, float]:
    """Seconds from navigation to ``first`` visible, and to the run's end."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    started = time.perf_counter()
    page.goto(url)
    page.locator(first).first.wait_for(timeout=180_000)
    shown = time.perf_counter() - started
    page.wait_for_selector(DONE, timeout=180_000)
    page.wait_for_timeout(200)  # a rerun right after the first (a corrected link) counts too
    page.wait_for_selector(DONE, timeout=180_000)
    done = time.perf_counter() - started - 0.2
    page.context.close()
    return shown, done


def main() -> None:
    from playwright.sync_api import sync_playwright

    from dashboard.shell import PAGES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", default=",".join(u for *_, u in PAGES))
    ap.add_argument("--no-results-link", action="store_true")
    args = ap.parse_args()
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    results = tempfile.mkdtemp(prefix="convlab-cold-")
    env = {"CONVLAB_RESULTS_DIR": results}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        print(f"{'page':<12}{'first content s':>16}{'finished s':>12}")
        floor = Path(results) / "floor.py"  # the baseline: a one-line Streamlit app on the same machine
        floor.write_text('import streamlit as st\nst.title("Hello")\n')
        proc, base = serve(env, floor)
        try:
            shown, done = visit(browser, base, "h1")
        finally:
            proc.terminate()
            proc.wait(20)
        print(f"{'(one-line app)':<12}{shown:>16.2f}{done:>12.2f}   <- Streamlit's own floor here", flush=True)
        base_shown = shown
        for url_path in args.pages.split(","):
            proc, base = serve(env)
            try:
                shown, done = visit(browser, f"{base}/{'' if url_path == 'home' else url_path}", "h1")
            finally:
                proc.terminate()
                proc.wait(20)
            print(f"{url_path:<12}{shown:>16.2f}{done:>12.2f}   first content {shown / base_shown:.2f}x the floor",
                  flush=True)
        if not args.no_results_link:
            from core.practicum import practicum_configs
            from core.training import train_runs
            from core.store import ResultStore

            store = ResultStore(results)
            for c in practicum_configs("mnist1d", epochs=1, train_size=500)[0]:
                store.put(train_runs((c,))[0])
            proc, base = serve(env)
            try:
                heading = "h2:has-text('Results'), h3:has-text('Results')"
                cold, _ = visit(browser, f"{base}/{STORED_LINK}", heading)
                warm, _ = visit(browser, f"{base}/{STORED_LINK}", heading)
            finally:
                proc.terminate()
                proc.wait(20)
            print(f"a stored training's link ({STORED_LINK}): results after {cold:.2f} s cold, {warm:.2f} s warm")
        browser.close()
    shutil.rmtree(results, ignore_errors=True)


if __name__ == "__main__":
    main()
