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
