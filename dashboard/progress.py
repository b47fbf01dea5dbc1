"""Watching trainings from a page: one helper for every page that trains.

While any of a page's runs is waiting or training, a fragment redraws only the
progress block on a timer (2 s while one of them trains, 5 s while they all
wait behind others); when none is left it reruns the whole page once, which
draws the results and stops the polling. Nothing else on the page is
recomputed on a tick.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from core.service.worker import JobState


def _open(job) -> bool:
    return job is not None and not job.finished and not job.cancel_requested


def watch(lookup: Callable[[], list], draw: Callable[[list], None]) -> bool:
    """Show ``draw(jobs)`` and keep it fresh while any job from ``lookup()`` is open; True if it is watching."""
    jobs = lookup()
    if not any(_open(j) for j in jobs):
        return False
    running = any(j is not None and j.state == JobState.RUNNING for j in jobs)

    def tick():
        current = lookup()
        draw(current)
        if not any(_open(j) for j in current):
            st.rerun(scope="app")  # nothing left to watch: redraw the page with the results, and stop polling

    st.fragment(run_every=2.0 if running else 5.0)(tick)()
    return True
