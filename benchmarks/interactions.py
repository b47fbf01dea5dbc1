"""Interactions as a browser feels them: each page's main slider moved a few times, key press to page updated.

    python benchmarks/interactions.py [--presses 5] [--pages signals,linear,...]

One server, one Chromium (the tests' Debian build). For each page with a slider: open it, then press
ArrowRight (ArrowLeft at the end of its range) on its first slider ``--presses`` times, timing each from the key press to the end of the rerun it
caused (``data-test-script-state`` back to ``notRunning``) and the next two painted frames, on the browser's own
clock (Playwright's selector waits back off to 500 ms between polls), and counting the reruns each press caused
(a MutationObserver on the app's run state). Prints per page the median and worst
time, the reruns per press, and the presses lost (no rerun within 5 s; pressed again). Baseline in the same run: the same presses on a one-slider Streamlit app,
Streamlit's own floor on this machine. Goal: median at or under 300 ms, one rerun per press.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from server import DONE, served  # noqa: E402

# Timed in the page, on the browser's clock: Playwright's own waits for a selector poll at 0, 20, 70, 170, 270 ms and
# then every 500 ms, so a rerun that ended at 280 ms was reported at 770 (the benchmark's figures before 2026-11-30).
# A run is a change away from notRunning (a fast run flips back before the observer's callback reads the
# attribute, so each mutation record's old value is what counts); the observer's callback runs in the same task as
# the change, and two animation frames after it the frame holding the run's last changes has been painted.
OBSERVE = """() => {
  const t = window.__timing = {runs: 0, pressed: 0, done: 0, painted: 0};
  document.addEventListener('keydown', () => { t.pressed = performance.now(); t.painted = 0; }, true);
  const app = document.querySelector('[data-testid=stApp]');
  new MutationObserver(records => {
    for (const r of records) if (r.oldValue === 'notRunning') t.runs++;
    if (app.getAttribute('data-test-script-state') !== 'notRunning') { t.painted = 0; return; }
    const done = t.done = performance.now();
    requestAnimationFrame(() => requestAnimationFrame(() => { if (t.done === done) t.painted = performance.now(); }));
  }).observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']});
}"""


def press_and_time(page, thumb) -> tuple[float, int, int]:
    """Seconds from the (last) key press to the rerun's end and two painted frames; the reruns it caused; and
    how many presses were lost on the way (no rerun within 5 s: pressed again)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    runs, lost = page.evaluate("() => window.__timing.runs"), 0
    while True:
        at_top = thumb.input_value() == thumb.get_attribute("max")
        thumb.press("ArrowLeft" if at_top else "ArrowRight")  # right until the end of the range, then back
        try:
            page.wait_for_function("n => window.__timing.runs > n", arg=runs, timeout=5_000)
            break
        except PlaywrightTimeout:
            lost += 1  # now and then even the one-slider app's key press changes nothing
            if lost == 5:
                raise
    # polled on every animation frame in the page (not Playwright's backing-off selector waits)
    page.wait_for_function("() => window.__timing.painted > window.__timing.pressed", timeout=120_000)
    timing = page.evaluate("() => window.__timing")
    seconds = (timing["painted"] - timing["pressed"]) / 1000
    page.wait_for_timeout(400)  # a second rerun (a corrected value, a fragment) would start by now
    page.wait_for_selector(DONE, timeout=120_000)
    return seconds, page.evaluate("() => window.__timing.runs") - runs, lost


def measure(browser, url: str, presses: int) -> tuple[list[float], list[int], int] | None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(url)
    page.locator("h1").first.wait_for(timeout=180_000)  # the app has connected: "notRunning" is also its state before
    page.wait_for_selector(DONE, timeout=180_000)
    page.wait_for_timeout(500)
    page.wait_for_selector(DONE, timeout=180_000)
    sliders = page.locator("[data-testid=stSlider] input[type=range]")
    try:
        sliders.first.wait_for(timeout=30_000)  # drawn after the run's end now and then, on a busy machine
    except PlaywrightTimeout:
        page.context.close()
        return None
    page.evaluate(OBSERVE)
    times, reruns, lost = [], [], 0
    for _ in range(presses):
        seconds, runs, missed = press_and_time(page, sliders.first)
        times.append(seconds)
        reruns.append(runs)
        lost += missed
    page.context.close()
    return times, reruns, lost


def main() -> None:
    from playwright.sync_api import sync_playwright

    from dashboard.shell import PAGES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=5)
    ap.add_argument("--pages", default=",".join(p.url_path for p in PAGES if p.url_path != "home"))
    args = ap.parse_args()
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    folder = Path(tempfile.mkdtemp(prefix="convlab-interact-"))
    floor = folder / "floor.py"
    floor.write_text('import streamlit as st\nst.title("Floor")\nst.slider("x", 0, 100, 50)\n')
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        print(f"{'page':<14}{'median ms':>10}{'worst ms':>10}{'reruns/press':>14}{'lost presses':>14}")
        with served({"CONVLAB_RESULTS_DIR": str(folder / "results")}, floor) as base:
            times, runs, lost = measure(browser, base, args.presses)
        floor_ms = 1000 * statistics.median(times)
        print(f"{'(one slider)':<14}{floor_ms:>10.0f}{1000 * max(times):>10.0f}{statistics.mean(runs):>14.1f}"
              f"{lost:>14}   <- Streamlit's own floor here", flush=True)
        with served({"CONVLAB_RESULTS_DIR": str(folder / "results")}) as base:
            for url_path in args.pages.split(","):
                got = measure(browser, f"{base}/{url_path}", args.presses)
                if got is None:
                    print(f"{url_path:<14}{'(no slider)':>10}")
                    continue
                times, runs, lost = got
                median = 1000 * statistics.median(times)
                print(f"{url_path:<14}{median:>10.0f}{1000 * max(times):>10.0f}{statistics.mean(runs):>14.1f}"
                      f"{lost:>14}   {median / floor_ms:.1f}x the floor", flush=True)
        browser.close()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
