"""Entry point: ``streamlit run dashboard/app.py``.

The entry lives in ``dashboard/`` on purpose: a ``pages/`` folder next to the
entry script would put Streamlit into its legacy multipage mode.
"""

import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so that `core` and `pages` import under `streamlit run`
    sys.path.insert(0, str(ROOT))

# How the numeric libraries' helper threads wait, set before the pages first import NumPy and PyTorch (each reads it
# once, as it loads; Streamlit's server imports neither). A page's work is many small operations. After each one,
# PyTorch's OpenMP threads spin for the next (GNU OpenMP's default: 300,000 spins), and OpenBLAS's threads (NumPy's
# matrix products) spin longer still: through a whole key-press rerun they held the cores that the page's own
# threads, the other viewers' runs and the browser needed. benchmarks/threads.py, 2-core machine, key press to page
# updated, median of 27 presses with the settings taking turns: signals 389 -> 312 ms, linear 298 -> 243, stepper
# 292 -> 258, locality 336 -> 312. Training keeps its threads (its operations follow one another within the shorter
# spin): the practicum's four MNIST runs, 2.69 s before and 2.55 s after (medians of 4); threads that sleep at once
# (OMP_WAIT_POLICY=PASSIVE) made them 1.5-2x slower. A value set in the environment wins.
os.environ.setdefault("GOMP_SPINCOUNT", "30000")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import streamlit as st  # noqa: E402
from streamlit import delta_generator, runtime  # noqa: E402

from dashboard import urlstate as url  # noqa: E402
from dashboard.shell import NARROW_SCREENS, PAGES, heading, intended_url_path, practicum_dataset, sidebar, warm_up  # noqa: E402

# Streamlit asks, at the first element a process draws, whether it runs in a Python REPL (to suggest `streamlit run`):
# inspect.stack() looks up the module of every frame, 60-90 ms on the 2-core test machine, in front of a fresh
# server's first heading. Under Streamlit's runtime that suggestion is never printed, so the answer is not needed.
if runtime.exists():
    delta_generator._use_warning_has_been_displayed = True
url.new_run()
st.set_page_config(page_title="Convolution lab · NYU DL 04.1", page_icon=":material/blur_on:", layout="wide")
pages = [st.Page(str(ROOT / "pages" / f), title=t, icon=i, default=(u == "home"),
                 # the default page is served at "/"; its own path must still be unique, and "home" is the alias's
                 url_path="index" if u == "home" else u)
         for f, t, i, u, _ in PAGES]


def _home_alias():
    """``/home`` (what people type, and what old links hold) opens the home page instead of "Page not found"."""
    st.switch_page(pages[0])


every = [*pages, st.Page(_home_alias, title="Home", url_path="home", visibility="hidden")]
# The heading goes out at once, before the page imports what it needs (torch, on a fresh server, takes seconds),
# and before the navigation menu when the page can be told in advance (the browser draws it sooner).
guess, title, dataset = intended_url_path(every), st.empty(), practicum_dataset()
if guess is not None:
    title.title(heading(guess, dataset))
page = st.navigation(every)
if guess != page.url_path:
    title.title(heading(page.url_path, dataset))
    if guess is not None:  # right, it spares the visitor a quarter second; wrong, it is mended but said
        logging.getLogger("convlab").warning("heading guessed for %r, but the page is %r", guess, page.url_path)
home = page.url_path in ("", "index", "home")
# Every page but these two imports torch at once anyway. Home must not wait for it, nor a link to stored practicum
# results, which are drawn before the page loads torch (the page names the device itself, in its training line).
sidebar(name_device=not home and page.url_path != "practicum",
        dataset=dataset if page.url_path == "practicum" else "mnist")
st.html(NARROW_SCREENS, unsafe_allow_javascript=True)  # charts on a phone (dashboard.shell)
page.run()
warm_up()  # after the page: torch's import in the background must not hold up the first one
