"""What one link can cost the server, per page: the worst CPU-seconds and peak memory among heavy links.

Each link runs in a fresh process (cold caches, as on a restarted server) through AppTest. The process first
imports everything and runs the home page; then the link's page run is measured: CPU-seconds of the whole
process (every thread) and the peak resident memory, also as the rise over what the process held before.
The candidates are the heaviest values each page's widgets allow, and for the anatomy page layer lists
near the budget of ``core.limits.LAYER_BUDGET``. The practicum's trainings are bounded separately
(``core.limits.TRAIN_MACS``); the last line turns that budget into seconds at the rate measured here.

    .venv/bin/python benchmarks/links.py            # every page
    .venv/bin/python benchmarks/links.py anatomy    # one page
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
deep = ";".join(["conv(out=16,kernel=3,padding=1)", "relu"] * 20)
CANDIDATES = {
    "signals": [{}, {"sig_nd": "1D"}, {"sig_src": "coffee", "sig_comp": "1", "sig_loc": "1"},
                {"sig_src": "chelsea", "sig_nd": "1D", "sig_seed": "20"}, {"sig_src": "mnist digit"}],
    "linear": [{}, {"lin_pts": "spiral", "lin_f": "relu"}],
    "locality": [{}, {"loc_n": "32", "loc_k": "7", "loc_l": "4", "loc_d": "1", "loc_l2": "5", "loc_img": "chelsea"},
                 {"loc_l2": "5", "loc_pool": "true", "loc_img": "coins"}],
    "sharing": [{}, {"sh_nd": "2D", "sh_n": "64", "sh_cin": "16", "sh_cout": "16", "sh_k": "9"}],
    "kernels": [{}, {"ker_nd": "2D", "ker_k": "16", "ker_c": "16", "ker_s": "7", "ker_img": "chelsea"}],
    "padding": [{}, {"pad_n": "128", "pad_k": "11", "pad_bk": "7", "pad_a": "4"}],
    "anatomy": [{}, {"an_spec": f"16x64x64:{deep}"},
                {"an_spec": "64x128x128:conv(out=16,kernel=3,padding=1);relu;conv(out=16,kernel=3,padding=1)"},
                {"an_spec": "8x96x96:local(out=8,kernel=5,padding=2);relu;flatten;linear(out=100)"},
                {"an_spec": "64x256x256:conv(out=64,kernel=64,padding=32)"},  # refused: the budget's cost
                {"an_spec": "64x256x256:local(out=1024,kernel=64,padding=32)"}],  # refused
    "pooling": [{}, {"pool_p": "21", "pool_k": "4"}],
    "practicum": [{}, {"pp_models": ["fully connected", "ConvNet", "locally connected"], "pp_epochs": "5",
                       "pp_hidden": "64", "pp_features": "64"}, {"pp_data": "MNIST-1D"}],
}

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
from streamlit.testing.v1 import AppTest
from dashboard.shell import PAGES, ROOT

def usage():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_maxrss / 1024

def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmRSS"))

at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=600)
for key, value in {params!r}.items():
    at.query_params[key] = value
at.run()  # the home page: imports and the shell, not counted
cpu0, _ = usage()
held, wall = rss(), time.perf_counter()
file = next(p.file for p in PAGES if p.url_path == {page!r})
at.switch_page(str(ROOT / "pages" / file)).run()
cpu1, peak = usage()
print(json.dumps({{"cpu": cpu1 - cpu0, "wall": time.perf_counter() - wall, "peak": peak, "rise": peak - held,
                   "exception": [e.value for e in at.exception], "refused": [e.value[:80] for e in at.error]}}))
"""


def measure(page: str, params: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), page=page, params=params)],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    line = next((l for l in reversed(out.stdout.splitlines()) if l.startswith("{")), None)
    if line is None:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(line)


def training_rate() -> float:
    """Multiply-adds a second of the training engine here, on the notebook's four runs at 10,000 samples."""
    import time

    from core.practicum.costs import training_cost
    from core.practicum.runs import comparison, training_units
    from core.practicum.training import train_runs

    configs = comparison(("fc", "cnn"), train_size=10_000)
    started = time.perf_counter()
    for unit in training_units(configs):
        train_runs(unit, data_dir=os.environ.get("CONVLAB_DATA_DIR"))
    return training_cost(configs) / (time.perf_counter() - started)


def main(pages: list[str]) -> None:
    print(f"{'page':<10} {'links':>5} {'worst CPU-s':>11} {'peak RSS MB':>11} {'rise MB':>8}  worst link")
    for page in pages:
        results = [(params, measure(page, params)) for params in CANDIDATES[page]]
        for params, r in results:
            if r["exception"]:
                print(f"  {page}: EXCEPTION for {params}: {r['exception']}")
        worst_params, worst = max(results, key=lambda pr: pr[1]["cpu"])
        peak = max(r["peak"] for _, r in results)
        rise = max(r["rise"] for _, r in results)
        shown = json.dumps(worst_params)[:70]
        print(f"{page:<10} {len(results):>5} {worst['cpu']:>11.2f} {peak:>11.0f} {rise:>8.0f}  {shown}")
    if "practicum" in pages and os.environ.get("CONVLAB_DATA_DIR"):
        from core.limits import train_budget

        rate = training_rate()
        print(f"training: at most {train_budget():.2g} multiply-adds per link; at the {rate:.2g}/s measured "
              f"here that is {train_budget() / rate:.0f} s of the worker")


if __name__ == "__main__":
    main(sys.argv[1:] or list(CANDIDATES))
