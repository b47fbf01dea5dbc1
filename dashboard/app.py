"""Entry point: ``streamlit run dashboard/app.py``.

The entry lives in ``dashboard/`` on purpose: a ``pages/`` folder next to the
entry script would put Streamlit into its legacy multipage mode.
"""

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so that `core` and `pages` import under `streamlit run`
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit import delta_generator, runtime  # noqa: E402

from dashboard import urlstate as url  # noqa: E402
from dashboard.shell import PAGES, heading, intended_url_path, sidebar, warm_up  # noqa: E402

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
         for f, t, i, u in PAGES]


def _home_alias():
    """``/home`` (what people type, and what old links hold) opens the home page instead of "Page not found"."""
    st.switch_page(pages[0])


every = [*pages, st.Page(_home_alias, title="Home", url_path="home", visibility="hidden")]
# The heading goes out at once, before the page imports what it needs (torch, on a fresh server, takes seconds),
# and before the navigation menu when the page can be told in advance (the browser draws it sooner).
guess, title = intended_url_path(every), st.empty()
if guess is not None:
    title.title(heading(guess))
page = st.navigation(every)
if guess != page.url_path:
    title.title(heading(page.url_path))
    if guess is not None:  # right, it spares the visitor a quarter second; wrong, it is mended but said
        logging.getLogger("convlab").warning("heading guessed for %r, but the page is %r", guess, page.url_path)
home = page.url_path in ("", "index", "home")
# Every page but these two imports torch at once anyway. Home must not wait for it, nor a link to stored practicum
# results, which are drawn before the page loads torch (the page names the device itself, in its training line).
sidebar(name_device=not home and page.url_path != "practicum")
page.run()
warm_up()  # after the page: torch's import in the background must not hold up the first one
