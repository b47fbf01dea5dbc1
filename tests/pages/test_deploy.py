"""The deployment recipe, run: a Dask scheduler, two workers and two Streamlit replicas (``deploy/local.py``),
two browsers on one link, one at each replica: every run trains once and both pages show the results."""

import subprocess
import sys

import pytest

from dashboard.shell import ROOT
from tests.pages.test_browser import _chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_two_replicas_on_one_cluster_train_a_shared_link_once():
    _chromium()  # skipped locally without Chromium, a failure in CI
    link = "practicum?pp_data=MNIST-1D&pp_epochs=2&pp_n=500"
    done = subprocess.run([sys.executable, "deploy/local.py", "--check", link], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "4 runs; trained per run: [1, 1, 1, 1]; both replicas showed the results" in done.stdout


@pytest.mark.slow
def test_the_class_benchmark_opens_sessions_at_the_protocol_level():
    """benchmarks/classroom.py's sessions against a real server: each ends on the page its link names."""
    import asyncio

    from benchmarks.classroom import crowd, expected_title, links
    from benchmarks.server import serve

    proc, base = serve({})
    try:
        sessions = links("famous-mixed", 3, False) + links("pooling", 2, False)
        results, _ = asyncio.run(crowd(base, sessions, 0.5, proc.pid))
    finally:
        proc.terminate()
        proc.wait(30)
    assert [r["error"] for r in results] == [None] * 5
    assert [r["title"] for r in results] == [expected_title(*s) for s in sessions]
    assert all(0 < r["first"] <= r["end"] for r in results)
