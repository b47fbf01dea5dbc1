"""A class watching one training: wall time with 0 and with 8 watching browser sessions, and what watching costs.

Starts `streamlit run dashboard/app.py` on a free port with a fresh results folder, then, for each seed:
- alone: one session presses Train on the default practicum link and leaves; the server trains unwatched;
- crowd: 8 sessions open the same link (another seed), all press Train within a second (one run is shared), and
  all 8 watch until their results show.
The training's wall time is the worker's own (the results' train + eval seconds, a pair counted once). The
server's CPU-seconds (every thread, from /proc) during the crowd run, minus those of the unwatched run, divided by
8 viewers and by the minutes watched, is what one watching viewer costs.

    .venv/bin/python benchmarks/crowd.py [--viewers 8] [--seeds 0,1]

Needs MNIST (CONVLAB_DATA_DIR) and Chromium. The browsers run on the same machine as the server, so each gets
half of the cores (the server the first half, the browsers the rest): the browsers' own drawing, which a real
class does on its own laptops, then does not compete with the training.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from core.practicum.runs import RunResult  # noqa: E402 - the repository root first
from server import DONE, serve  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


# On a machine with few cores the server gets the first half of them and the browsers the rest, so that the
# browsers' own drawing does not slow the training: what is left is what watching costs the server.
_CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPUS, BROWSER_CPUS = set(_CPUS[:max(1, len(_CPUS) // 2)]), set(_CPUS[max(1, len(_CPUS) // 2):])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(results: Path) -> tuple[subprocess.Popen, str]:
    # the unwatched run must not be dropped as abandoned while it waits
    return serve({"CONVLAB_RESULTS_DIR": str(results), "CONVLAB_ABANDON_S": "3600"},
                 preexec_fn=lambda: os.sched_setaffinity(0, SERVER_CPUS) if SERVER_CPUS else None)


def training_seconds(results: Path, seed: int) -> float:
    """The worker's wall time for the four runs of ``seed``: a pair's shared seconds once."""
    seen, total = set(), 0.0
    for path in results.glob("*.json"):
        r = RunResult.from_json(path.read_text())
        if r.config.seed != seed or r.key in seen:
            continue
        seen.update({r.key, r.trained_with})
        total += r.train_seconds + r.eval_seconds
    return total


def wait_for_results(results: Path, seed: int, n: int = 4, timeout: float = 900) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if sum(RunResult.from_json(p.read_text()).config.seed == seed for p in results.glob("*.json")) >= n:
            return
        time.sleep(0.2)
    raise TimeoutError(f"seed {seed} did not finish")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=8)
    parser.add_argument("--seeds", default="0,1", help="0..4: one alone and one crowd run per seed")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results = Path(tempfile.mkdtemp(prefix="convlab-crowd-"))
    proc, base = start_server(results)
    if BROWSER_CPUS:
        os.sched_setaffinity(0, BROWSER_CPUS)  # Chromium, started below, inherits it
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or None, args=ARGS)

            def open_link(seed):
                page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                page.goto(f"{base}/practicum?pp_seed={seed}")
                page.wait_for_selector(DONE, timeout=300_000)
                page.get_by_role("button", name="Train").wait_for(timeout=300_000)
                return page

            open_link(9).context.close()  # warm the server: imports, MNIST read once (nothing trains)
            for i, seed in enumerate(int(s) for s in args.seeds.split(",")):
                alone_seed, crowd_seed = 2 * seed, 2 * seed + 1  # the page's seeds run 0..9
                page = open_link(alone_seed)
                cpu0, wall0 = cpu_seconds(proc.pid), time.time()
                page.get_by_role("button", name="Train").click()
                page.get_by_text(re.compile("queued|step")).first.wait_for(timeout=300_000)  # it was submitted
                page.context.close()  # nobody watches
                wait_for_results(results, alone_seed)
                alone_cpu, alone_wall = cpu_seconds(proc.pid) - cpu0, time.time() - wall0

                pages = [open_link(crowd_seed) for _ in range(args.viewers)]
                cpu0, wall0 = cpu_seconds(proc.pid), time.time()
                for page in pages:  # all press Train within about a second: one run, shared
                    page.get_by_role("button", name="Train").click(no_wait_after=True)
                for page in pages:
                    page.get_by_role("heading", name="Results").wait_for(timeout=900_000)
                crowd_cpu, crowd_wall = cpu_seconds(proc.pid) - cpu0, time.time() - wall0
                for page in pages:
                    page.context.close()
                a, c = training_seconds(results, alone_seed), training_seconds(results, crowd_seed)
                per_viewer = (crowd_cpu - alone_cpu) / args.viewers / (crowd_wall / 60)
                rows.append((seed, a, c, c / a, alone_cpu, crowd_cpu, per_viewer, alone_wall, crowd_wall))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(results, ignore_errors=True)
    print(f"{'seed':>4} {'train alone s':>13} {'with ' + str(args.viewers) + ' watching s':>20} {'ratio':>6} "
          f"{'server CPU-s alone':>18} {'crowd':>7} {'CPU-s/viewer/min':>16}")
    for seed, a, c, ratio, acpu, ccpu, pv, _, _ in rows:
        print(f"{seed:>4} {a:>13.2f} {c:>20.2f} {ratio:>6.2f} {acpu:>18.1f} {ccpu:>7.1f} {pv:>16.2f}")
    total_a, total_c = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"ratio of total training seconds, watched / alone: {total_c / total_a:.2f} (goal: at most 1.3)")


if __name__ == "__main__":
    main()
