"""Script-run time of every page: with defaults, and after changing one widget (AppTest).

    python benchmarks/pages.py [--repeat 15] [--pages stepper,famous] [--stored]

``--stored`` first trains the practicum's four MNIST runs at 2,000 samples into a fresh results folder and
times that link too (results, and the section inside the trained networks, on test image 0).

Prints a table of median milliseconds per rerun. The goal is <= 100 ms per
rerun on a 2-core machine. Heavy results are cached by the pages
(st.cache_data), so the "change" column cycles a slider through three values:
the first visit to each value computes, later ones hit the cache; both the
median and the slowest (first, uncached) rerun are shown. Page bytecode is
cached across reruns, as a running server caches it.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import streamlit.testing.v1.app_test as _app_test  # noqa: E402
import streamlit.testing.v1.local_script_runner as _runner  # noqa: E402
from streamlit.runtime.scriptrunner.script_cache import ScriptCache  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

# A server compiles each page once and keeps the bytecode (ScriptCache); AppTest makes a new cache on every run,
# so without this every rerun here would also pay a recompile of the page (with Streamlit's "magic" AST pass),
# 10-40 ms that no viewer of a running server waits for. One shared cache: reruns cost what they cost a server.
_SHARED_SCRIPTS = ScriptCache()
_app_test.ScriptCache = _runner.ScriptCache = lambda: _SHARED_SCRIPTS

from dashboard.shell import PAGES  # noqa: E402


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def bench_page(file: str, repeat: int, params: dict | None = None, slider: str | None = None) -> dict:
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=300)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(str(ROOT / "pages" / file)).run()  # warm: imports, first computation
    assert not at.exception, [e.value for e in at.exception]
    defaults = [timed(at.run) for _ in range(repeat)]
    row = {"page": file, "default_ms": statistics.median(defaults), "change_ms": float("nan"),
           "first_change_ms": float("nan"), "widget": "-"}
    sliders = [s for s in at.slider if not s.disabled and (slider is None or s.key == slider)]
    if sliders:
        key = sliders[0].key
        lo, hi, v0 = sliders[0].min, sliders[0].max, sliders[0].value
        values = [v for v in (v0 + 1, v0 + 2, v0) if lo <= v <= hi] or [v0]
        changes = [timed(lambda v=values[i % len(values)]: at.slider(key=key).set_value(v).run())
                   for i in range(repeat)]
        assert not at.exception, [e.value for e in at.exception]
        row.update(change_ms=statistics.median(changes), first_change_ms=max(changes), widget=key)
    return row


def stored_practicum(repeat: int) -> dict:
    """The practicum with its four MNIST runs (2,000 samples, seed 9) stored: results and the inside section."""
    import os
    import tempfile

    from core.practicum.data import load_dataset
    from core.practicum.practicum import practicum_configs
    from core.practicum.runs import pair_of
    from core.service.store import ResultStore
    from core.practicum.training import train_runs

    os.environ["CONVLAB_RESULTS_DIR"] = folder = tempfile.mkdtemp(prefix="convlab-bench-")
    store, data, done = ResultStore(folder), load_dataset("mnist", os.environ.get("CONVLAB_DATA_DIR")), set()
    for c in practicum_configs("mnist", ("fc", "cnn"), seed=9, train_size=2000)[0]:
        if c.key() not in done:
            for r in train_runs(pair_of(c) or (c,), data):
                store.put(r)
                done.add(r.key)
    from dashboard import shell

    shell.trainer.clear()  # the server's trainer, made anew on this results folder
    row = bench_page("practicum.py", repeat, {"pp_n": "2000", "pp_seed": "9"}, slider="in_idx")
    row["page"] = "practicum (stored)"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="reruns per measurement (default 15)")
    parser.add_argument("--pages", help="comma-separated url paths (default: every page)")
    parser.add_argument("--stored", action="store_true", help="also time a practicum link with stored results")
    args = parser.parse_args()
    wanted = set(args.pages.split(",")) if args.pages else None
    rows = [bench_page(file, args.repeat) for file, _, _, path, _ in PAGES if wanted is None or path in wanted]
    if args.stored:
        rows.append(stored_practicum(args.repeat))
    print(f"{'page':<20}{'defaults':>10}{'change':>10}{'slowest':>10}  widget   (median ms per rerun)")
    for r in rows:
        print(f"{r['page']:<20}{r['default_ms']:>10.1f}{r['change_ms']:>10.1f}{r['first_change_ms']:>10.1f}  {r['widget']}")
    worst = max(max(r["default_ms"], r["change_ms"] if r["change_ms"] == r["change_ms"] else 0) for r in rows)
    print(f"worst median: {worst:.1f} ms; goal <= 100 ms: {'met' if worst <= 100 else 'NOT met'}")


if __name__ == "__main__":
    main()
