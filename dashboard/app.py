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

from dashboard.shell import PAGES, sidebar  # noqa: E402

st.set_page_config(page_title="Convolution lab · NYU DL 04.1", page_icon=":material/blur_on:", layout="wide")
page = st.navigation([st.Page(str(ROOT / "pages" / f), title=t, icon=i, url_path=u, default=(u == "home"))
                      for f, t, i, u in PAGES])
sidebar()
page.run()
