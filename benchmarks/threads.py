"""How the numeric libraries' helper threads wait: key presses and training under each setting.

    python benchmarks/threads.py [--rounds 3] [--presses 9] [--pages locality,signals,linear,stepper]
                                 [--data-dir DIR] [--no-training]

The entry script sets ``GOMP_SPINCOUNT=30000`` (PyTorch's OpenMP threads spin that many times for more work,
then sleep) and ``OPENBLAS_NUM_THREADS=1`` (NumPy's matrix products on the calling thread), unless the
environment sets them. Each setting below reaches the server through its environment, which wins:

- ``before``: the libraries' defaults (GNU OpenMP spins 300,000 times; OpenBLAS one thread a core);
- ``lab``: the entry script's setting;
- ``passive``: OpenMP threads sleep at once (``OMP_WAIT_POLICY=PASSIVE``), OpenBLAS one thread.

(a) key presses: for each setting, a fresh server, each page's first slider pressed ``--presses`` times in
Chromium, as ``benchmarks/interactions.py`` times it; the settings take turns for ``--rounds`` rounds and the
medians are over every press of a setting. (b) training: the practicum's four MNIST runs (one epoch, 12,000
samples, the ConvNets as one grouped pair) in a fresh process per setting, taking turns; median seconds. Each
setting's figures are printed as ratios to ``before`` from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from interactions import measure  # noqa: E402
from server import served  # noqa: E402

SETTINGS = {
    "before": {"GOMP_SPINCOUNT": "300000", "OPENBLAS_NUM_THREADS": str(os.cpu_count() or 1)},
    "lab": {"GOMP_SPINCOUNT": "30000", "OPENBLAS_NUM_THREADS": "1"},
    "passive": {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_NUM_THREADS": "1"},
}

TRAIN = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from core.practicum.practicum import practicum_configs
from core.practicum.runs import training_units
from core.practicum.training import train_runs
configs, _ = practicum_configs("mnist", ["fc", "cnn"], epochs=1, train_size=12000)
groups = training_units(configs)
train_runs(groups[0][:1], data_dir=sys.argv[2])  # the data loaded and the kernels warm: not timed
started = time.perf_counter()
for group in groups:
    train_runs(group, data_dir=sys.argv[2])
print(json.dumps(time.perf_counter() - started))
"""


def training_seconds(env: dict, data_dir: str) -> float:
    named = {k for setting in SETTINGS.values() for k in setting}  # each setting names all it changes
    clean = {k: v for k, v in os.environ.items() if k not in named}
    out = subprocess.run([sys.executable, "-c", TRAIN, str(ROOT), data_dir], env={**clean, **env},
                         capture_output=True, text=True, check=True, timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from playwright.sync_api import sync_playwright

    from core.practicum.datadir import data_dir as resolve_data_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--presses", type=int, default=9)
    ap.add_argument("--pages", default="locality,signals,linear,stepper")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--no-training", action="store_true")
    args = ap.parse_args()
    pages = args.pages.split(",")
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    results = tempfile.mkdtemp(prefix="convlab-threads-")
    presses = {(p, s): [] for p in pages for s in SETTINGS}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(args.rounds):
            for name, env in SETTINGS.items():
                with served({**env, "CONVLAB_RESULTS_DIR": results}) as base:
                    for p in pages:
                        got = measure(browser, f"{base}/{p}", args.presses)
                        if got is not None:
                            presses[(p, name)] += got[0]
        browser.close()
    shutil.rmtree(results, ignore_errors=True)
    print(f"key press to page updated, median ms over {args.rounds} x {args.presses} presses (ratio to before)")
    print(f"{'page':<12}" + "".join(f"{s:>18}" for s in SETTINGS))
    for p in pages:
        base = statistics.median(presses[(p, "before")])
        print(f"{p:<12}" + "".join(f"{1000 * statistics.median(presses[(p, s)]):>10.0f} ({statistics.median(presses[(p, s)]) / base:.2f}x)"
                                   for s in SETTINGS), flush=True)
    if args.no_training:
        return
    data_dir = resolve_data_dir(args.data_dir)
    if data_dir is None:
        sys.exit("MNIST's folder is not set: --data-dir, or CONVLAB_DATA_DIR")
    data_dir = str(data_dir)
    seconds = {s: [] for s in SETTINGS}
    for _ in range(args.rounds):
        for name, env in SETTINGS.items():
            seconds[name].append(training_seconds(env, data_dir))
    base = statistics.median(seconds["before"])
    print("the practicum's four MNIST runs (1 epoch, 12,000 samples), median seconds: " + ", ".join(
        f"{s} {statistics.median(v):.2f} ({statistics.median(v) / base:.2f}x)" for s, v in seconds.items()))


if __name__ == "__main__":
    main()
