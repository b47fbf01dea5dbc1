"""Memory over many page loads: does the server's resident memory reach a plateau, or keep climbing?

Loads every page ``--loads`` times (default 500) in one process, each load a new session (AppTest), the pages
in turn, and prints the process's resident memory after every ``--step`` loads of each page, with the growth
per load over the second half (a plateau reads about 0). A real server also keeps one session object per open
tab; this measures what the pages and their caches hold.

    .venv/bin/python benchmarks/soak.py [--loads 500] [--step 100]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=500, help="loads of each page")
    parser.add_argument("--step", type=int, default=100)
    args = parser.parse_args()
    from streamlit.testing.v1 import AppTest

    from dashboard.shell import PAGES

    app = str(ROOT / "dashboard" / "app.py")
    started, marks = time.time(), []
    print(f"{'loads/page':>10} {'RSS MB':>8} {'seconds':>8}")
    for i in range(1, args.loads + 1):
        for file, *_ in PAGES:
            at = AppTest.from_file(app, default_timeout=300)
            at.switch_page(str(ROOT / "pages" / file)).run()
            if at.exception:
                raise SystemExit(f"{file}: {at.exception[0].value}")
        if i % args.step == 0 or i == 1:
            gc.collect()
            marks.append((i, rss_mb()))
            print(f"{i:>10} {marks[-1][1]:>8.0f} {time.time() - started:>8.0f}", flush=True)
    half = [m for m in marks if m[0] >= args.loads // 2]
    if len(half) >= 2:
        (i0, r0), (i1, r1) = half[0], half[-1]
        per_load = (r1 - r0) / ((i1 - i0) * len(PAGES))
        print(f"second half: {per_load * 1024:.1f} KB per page load ({r0:.0f} -> {r1:.0f} MB)")


if __name__ == "__main__":
    main()
