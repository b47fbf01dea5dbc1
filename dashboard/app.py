"""Entry point: ``streamlit run dashboard/app.py``.

The entry lives in ``dashboard/`` on purpose: a ``pages/`` folder next to the
entry script would put Streamlit into its legacy multipage mode.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so that `core` and `pages` import under `streamlit run`
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import urlstate as url  # noqa: E402
from dashboard.shell import HEADINGS, PAGES, sidebar, warm_up  # noqa: E402

url.new_run()
st.set_page_config(page_title="Convolution lab · NYU DL 04.1", page_icon=":material/blur_on:", layout="wide")
pages = [st.Page(str(ROOT / "pages" / f), title=t, icon=i, default=(u == "home"),
                 # the default page is served at "/"; its own path must still be unique, and "home" is the alias's
                 url_path="index" if u == "home" else u)
         for f, t, i, u in PAGES]


def _home_alias():
    """``/home`` (what people type, and what old links hold) opens the home page instead of "Page not found"."""
    st.switch_page(pages[0])


page = st.navigation([*pages, st.Page(_home_alias, title="Home", url_path="home", visibility="hidden")])
if page.url_path in HEADINGS or page.url_path in ("", "index"):
    st.title(HEADINGS.get(page.url_path, HEADINGS["home"]))  # at once, before the page imports what it needs
home = page.url_path in ("", "index", "home")
# Every page but these two imports torch at once anyway. Home must not wait for it, nor a link to stored practicum
# results, which are drawn before the page loads torch (the page names the device itself, in its training line).
sidebar(name_device=not home and page.url_path != "practicum")
page.run()
warm_up()  # after the page: torch's import in the background must not hold up the first one
