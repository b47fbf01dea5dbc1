"""What every page shares: the page list in lecture order, the sidebar, settings."""

from __future__ import annotations

from typing import NamedTuple

import functools
import logging
import os
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import streamlit as st

from core.palette import BLUE
from core.practicum import datadir as data

ROOT = Path(__file__).resolve().parents[1]


def _server_log() -> None:
    """The lab's own lines (trainings started, files ignored, results not stored) in the server's log."""
    log = logging.getLogger("convlab")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


_server_log()

# (file in pages/, title, Material icon, url path), in the lecture's order
class Page(NamedTuple):
    file: str  # in pages/
    title: str  # in the navigation
    icon: str
    url_path: str
    heading: str = ""  # the page's h1, where it says more than the title

    @property
    def h1(self) -> str:
        return self.heading or self.title


# each page's heading is shown by the shell before the page's own script runs (and imports what it needs: torch,
# on a fresh server, takes seconds), so a visitor sees where they are at once
PAGES = [
    Page("home.py", "Home", ":material/home:", "home", "Natural signals and the convolution"),
    Page("signals.py", "Signals and their properties", ":material/graphic_eq:", "signals"),
    Page("linear.py", "The linear layer: rotation and squashing", ":material/rotate_right:", "linear"),
    Page("locality.py", "Locality → sparsity", ":material/grain:", "locality"),
    Page("sharing.py", "Stationarity → parameter sharing", ":material/share:", "sharing"),
    Page("kernels.py", "Kernels", ":material/filter:", "kernels"),
    Page("padding.py", "Padding", ":material/padding:", "padding"),
    Page("stepper.py", "A convolution, step by step", ":material/step:", "stepper"),
    Page("anatomy.py", "Anatomy of a ConvNet", ":material/layers:", "anatomy"),
    Page("famous.py", "Famous ConvNets' fields", ":material/visibility:", "famous", "Famous ConvNets: receptive fields"),
    Page("pooling.py", "Pooling", ":material/compress:", "pooling"),
    Page("practicum.py", "Permuted pixels: FC vs ConvNet", ":material/shuffle:", "practicum",
         "Permuted pixels: fully connected net vs ConvNet"),
]
_BY_PATH = {p.url_path: p for p in PAGES}


def heading(url_path: str, dataset: str = "mnist") -> str:
    """The heading of the page at ``url_path`` ("" is the default page, home; "home" its alias). The practicum's
    names what its data set scrambles: pixels of images, positions of sequences."""
    if url_path == "practicum":
        from core.practicum.datasets import spec

        return _BY_PATH["practicum"].h1.replace("pixels", spec(dataset).unit)
    return _BY_PATH.get(url_path or "home", PAGES[0]).h1


def practicum_dataset() -> str:
    """The data set this run's practicum is for: its widget's value once drawn, else the link's ``pp_data`` (the
    label or the name, as the page reads it), else MNIST. Read before the page runs, for the heading and the
    sidebar; a value the page will refuse reads as MNIST, which the page falls back to."""
    from core.practicum.datasets import SPECS

    value = st.session_state.get("pp_data") or st.query_params.get("pp_data") or "mnist"
    return next((k for k, s in SPECS.items() if str(value).lower() in (k, s.label.lower())), "mnist")


def intended_url_path(pages) -> str | None:
    """The url path of the page that ``st.navigation(pages)`` is about to choose for this run, read before it is
    called, or None where this Streamlit does not say. It follows Streamlit's own choice (``PagesManager``): the
    page whose hash a click in the app asked for, else the page named by the link's path, else the default.

    Why: the navigation message goes out first and the browser draws the menu before anything after it, so the
    heading sent before it shows about a quarter of a second sooner on a fresh tab (measured on home). The shell
    checks the guess against ``st.navigation``'s answer and corrects the heading if they differ."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        manager = get_script_run_ctx().pages_manager
        wanted_hash, wanted_name = manager.intended_page_script_hash, manager.intended_page_name
        by_hash = {p._script_hash: p for p in pages}
        default = next((p for p in pages if p._default), pages[0])
    except Exception:  # noqa: BLE001 - a Streamlit without these internals: the heading waits for st.navigation
        return None
    if wanted_hash:
        page = by_hash.get(wanted_hash, default)
    elif wanted_name:
        page = next((p for p in pages if p.url_path == wanted_name), default)
    else:
        page = default
    return page.url_path


@functools.lru_cache(maxsize=1)
def _secrets() -> dict:
    """``.streamlit/secrets.toml``'s values, read once per process ({} without the file).

    ``st.secrets`` remembers a file it has read, but not that there is none: without one, every lookup took its
    lock and looked for the files again, on every run of every session. A class of 150 opening /signals spent
    two thirds of the server's samples (py-spy) waiting there."""
    try:
        return {key: st.secrets[key] for key in st.secrets}
    except Exception:  # noqa: BLE001 - no secrets file is the normal case
        return {}


def _setting(secret: str, env: str) -> str | None:
    """``secret`` in ``.streamlit/secrets.toml``, else the environment variable ``env``."""
    value = _secrets().get(secret)
    return str(value) if value else os.environ.get(env)


def data_setting() -> str | None:
    """The data directory: ``data_dir`` in ``.streamlit/secrets.toml``, else ``$CONVLAB_DATA_DIR``."""
    return _setting("data_dir", data.DATA_ENV)


@st.cache_resource(show_spinner=False)
def trainer(directory: str | None):
    """The one background worker every page and session of this server submits training to.

    With ``dask_scheduler`` in the secrets (or ``$CONVLAB_DASK_SCHEDULER``) it submits to that Dask cluster;
    a scheduler that cannot be reached leaves training on this server, and ``engine_problem`` says why.
    """
    # imported here, not at the top: the home page (a fresh server's first visitor) does not need them
    from core.service.cluster import DASK_ENV, executor_from_env
    from core.service.worker import Trainer

    address, problem = _setting("dask_scheduler", DASK_ENV), None
    try:
        executor = executor_from_env(address)
    except OSError as exc:
        executor, problem = None, f"{exc}; training runs on this server instead"
        logging.getLogger("convlab").warning("%s", problem)
    work = Trainer(data_dir=directory, executor=executor)
    work.engine_problem = problem
    return work


def viewer_id() -> str:
    """This browser session's id: the worker counts who waits for which run, and whose Cancel it is."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "bare"


def _describe_device() -> str:
    from core.practicum.device import describe_device  # imports torch: seconds on a cold server

    return describe_device()


_warm: Future | None = None
_warm_lock = threading.Lock()


WARM_DELAY = 3.0  # seconds after the first page before torch is imported in the background


def _describe_later(delay: float) -> str:
    time.sleep(delay)
    line = _describe_device()
    # PyTorch's shapes-only (meta) kernels for matrix products import torch._dynamo the first time they run:
    # 1.5-2.5 s on the 2-core test machine, which the anatomy, sharing and practicum pages (they size networks
    # without building them) would otherwise charge their first visitor on a fresh server
    import torch._dynamo  # noqa: F401
    return line


def _run_into(future: Future, fn, *args) -> None:
    if future.set_running_or_notify_cancel():
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # the future carries it to whoever asks
            future.set_exception(exc)


def warm_up(delay: float = WARM_DELAY) -> Future:
    """Import torch (and torch._dynamo, for its meta kernels) and find this server's device in the background,
    once, ``delay`` seconds after the first page has run: torch's import takes seconds on a fresh server and holds
    the interpreter while it runs, so started at once it would hold up the first page's delivery (measured: home's
    first content 2.0-2.6 s instead of 1.6 s); started later, the next page that needs torch usually finds it
    imported. A daemon thread: a server stopped (SIGTERM on a restart or a deploy) while torch imports exits at
    once, where a pool's worker is joined at exit and held it up for the whole import (over 10 s on a busy
    machine)."""
    global _warm
    with _warm_lock:
        if _warm is None:
            _warm = Future()
            threading.Thread(target=_run_into, args=(_warm, _describe_later, delay), name="convlab-warm",
                             daemon=True).start()
        return _warm


def sidebar(name_device: bool = True, dataset: str = "mnist") -> None:
    """The shared sidebar: the compute device and where ``dataset`` (the practicum's, else MNIST) was found.
    ``name_device=False`` (home, and the practicum, which shows stored results before it loads torch) names the
    device only if torch is imported already: its import takes seconds on a fresh server."""
    with st.sidebar:
        line = _warm
        if line is not None and line.done():
            device = line.result()
        elif name_device or "torch" in sys.modules:
            device = _describe_device()
        else:
            device = "named once PyTorch is loaded"
        st.caption(f"Compute: **{device}**")
        from core.practicum.datasets import spec

        directory, ds = data_setting(), spec(dataset)
        if ds.generated:
            st.caption(f"{ds.label}: generated on this server (no files needed)")
        elif data.available(dataset, directory):
            st.caption(f"{ds.label}: found ({directory or data.cache_dir()})")
        else:
            st.caption(f"{ds.label}: not found. Set `{data.DATA_ENV}` to a folder holding `{ds.folder}/raw/`.")


_SCROLL_FRAMES = """<script>
if (!window.convlabScrollFrames) {
  window.convlabScrollFrames = true;
  let queued = false;
  const mark = () => {
    queued = false;
    // charts, and the frame Streamlit puts around a static table (st.table)
    for (const frame of document.querySelectorAll("[data-testid=stVegaLiteChart], [data-testid=stTable] > div")) {
      const scrolls = frame.scrollWidth > frame.clientWidth + 1;
      if (scrolls && !frame.hasAttribute("tabindex")) frame.setAttribute("tabindex", "0");
      if (!scrolls && frame.getAttribute("tabindex") === "0") frame.removeAttribute("tabindex");
    }
  };
  const later = () => { if (!queued) { queued = true; requestAnimationFrame(mark); } };
  new MutationObserver(later).observe(document.body, {childList: true, subtree: true});
  window.addEventListener("resize", later);
  later();
}
</script>"""


# On a phone (WCAG 1.4.10, reflow at 320-390 px) a chart wider than the screen scrolls inside its own frame, not
# the whole page, and a frame that scrolls (a chart's, a static table's) takes the keyboard focus (2.1.1: arrow keys
# then scroll it). A constant: no value from a link or a viewer is ever in it.
NARROW_SCREENS = f"""<style>[data-testid=stVegaLiteChart]{{max-width:100%;overflow-x:auto}}
[data-testid=stVegaLiteChart]:focus-visible,[data-testid=stTable]>div:focus-visible{{outline:2px solid {BLUE};
outline-offset:2px}}</style>
""" + _SCROLL_FRAMES

