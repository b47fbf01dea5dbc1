"""A class at once: N sessions open a link within S seconds, at Streamlit's protocol level (no browser).

Each session does what a first-visit browser does: it opens the websocket ``/_stcore/stream`` and asks for the
page's run (a ``BackMsg`` with the link's query string and page name), then reads ``ForwardMsg``s until the run
ends. It times the first element and the run's end from its own start, counts errors (an exception element, a
refused or dropped socket, a run that does not end), and stays connected until every session is done, so the
server's memory with all of them open can be read. A one-line Streamlit app serves as the floor, in the same run.

    CONVLAB_DATA_DIR=../shared/data .venv/bin/python benchmarks/classroom.py   # every page, 100 and 200 in 2 s
    .venv/bin/python benchmarks/classroom.py --pages signals,famous-mixed --sessions 200
    .venv/bin/python benchmarks/classroom.py --distinct --pages signals  # N distinct links (the seed varies),
                                                                          # none of them opened before

``famous-mixed`` spreads the sessions over the seven famous nets (``fm_net``), ``stored`` is a practicum link
whose MNIST-1D runs are trained first into a fresh results folder. Figures: p50/p95/max seconds to the first
element and to the run's end, errors, the server's resident memory per open session, and how far it stays above
its start once every session has gone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.server import serve  # noqa: E402

FAMOUS = ("AlexNet", "VGG-16", "ResNet-18", "ResNet-50", "MobileNetV2", "EfficientNet-B0", "ConvNeXt-Tiny")
PAGES = ("home", "signals", "linear", "locality", "sharing", "kernels", "padding", "stepper", "anatomy", "famous",
         "pooling", "practicum", "famous-mixed", "stored")
STORED = "pp_data=MNIST-1D&pp_epochs=2&pp_n=500&pp_seed=4"


def rss_mb(pids) -> float:
    """Resident memory of a server (a pid) or of several replicas (their sum), MB."""
    total = 0.0
    for pid in ([pids] if isinstance(pids, int) else pids):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def links(page: str, n: int, distinct: bool) -> list[tuple[str, str]]:
    """(page name, query string) per session."""
    if page == "famous-mixed":
        return [("famous", f"fm_net={FAMOUS[i % len(FAMOUS)]}&fm_depth=2") for i in range(n)]
    if page == "stored":
        return [("practicum", STORED)] * n
    name = "" if page == "home" else page
    if distinct:  # each session a link of its own: the cache helps none of them
        key = {"signals": "sig_seed", "stepper": "st_seed", "locality": "loc_n", "padding": "pad_n"}.get(page)
        if key is None:
            raise SystemExit(f"--distinct knows no setting to vary on {page}")
        top = {"sig_seed": 20, "st_seed": 99, "loc_n": 64, "pad_n": 128}[key]
        return [(name, f"{key}={1 + i % top}") for i in range(n)]
    return [(name, "")] * n


async def one_session(ws_url: str, page: str, query: str, delay: float, ended, hold: asyncio.Event) -> dict:
    """One first-visit session; ``ended()`` once its run has ended (or failed), then it stays open until
    ``hold`` is set."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    await asyncio.sleep(delay)
    began = time.monotonic()
    out = {"first": None, "end": None, "error": None}
    try:
        async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=120,
                                      ping_interval=None) as ws:
            msg = BackMsg()
            msg.rerun_script.query_string = query
            msg.rerun_script.page_name = page
            await ws.send(msg.SerializeToString())
            while out["end"] is None:
                fm = ForwardMsg()
                fm.ParseFromString(await asyncio.wait_for(ws.recv(), timeout=180))
                kind = fm.WhichOneof("type")
                if kind == "delta":
                    if out["first"] is None:
                        out["first"] = time.monotonic() - began
                    element = fm.delta.new_element if fm.delta.WhichOneof("type") == "new_element" else None
                    if element is not None and element.WhichOneof("type") == "exception":
                        out["error"] = f"exception: {element.exception.message[:120]}"
                    if element is not None and element.WhichOneof("type") == "heading" and "title" not in out:
                        out["title"] = element.heading.body
                elif kind == "script_finished":
                    status = ForwardMsg.ScriptFinishedStatus.Name(fm.script_finished)
                    if status == "FINISHED_SUCCESSFULLY":
                        out["end"] = time.monotonic() - began
                    elif status == "FINISHED_WITH_COMPILE_ERROR":
                        out["error"], out["end"] = "compile error", time.monotonic() - began
            ended()
            await hold.wait()  # open until every session is done: an idle class's memory
    except Exception as exc:  # noqa: BLE001 - each kind is an error this benchmark counts
        out["error"] = out["error"] or f"{type(exc).__name__}: {str(exc)[:120]}"
        if out["end"] is None:
            ended()
    return out


async def crowd(base, sessions: list[tuple[str, str]], within: float, pid) -> tuple[list[dict], float]:
    """Run the sessions, their starts spread evenly over ``within`` seconds, on ``base`` (a server's URL, or a list
    of replicas' that take the sessions in turn); returns each one's figures and the servers' resident memory
    while all of them are open."""
    bases = [base] if isinstance(base, str) else list(base)
    urls = [b.replace("http://", "ws://") + "/_stcore/stream" for b in bases]
    hold, everyone = asyncio.Event(), asyncio.Event()
    n, count = len(sessions), [0]

    def ended():
        count[0] += 1
        if count[0] == n:
            everyone.set()

    tasks = [asyncio.create_task(one_session(urls[i % len(urls)], p, q, within * i / (n - 1) if n > 1 else 0.0,
                                             ended, hold))
             for i, (p, q) in enumerate(sessions)]
    await everyone.wait()
    await asyncio.sleep(0.5)
    open_rss = rss_mb(pid)
    hold.set()
    return [await t for t in tasks], open_rss


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def warm(base, sessions: list[tuple[str, str]], pid) -> float:
    """One session per distinct link first on each server (someone opened it before the class: the caches hold
    it), then a pause for the servers' background warm-up; returns their resident memory then."""
    for one in ([base] if isinstance(base, str) else base):
        asyncio.run(crowd(one, sorted(set(sessions)), 0.0, pid))
    time.sleep(6.0)
    return rss_mb(pid)


def measure(base, pid, label: str, sessions: list[tuple[str, str]], within: float, distinct: bool = False) -> dict:
    # distinct links: the page was opened before (its code loaded), none of these links (their work not cached)
    before = warm(base, [(sessions[0][0], "")] if distinct else sessions, pid)
    results, open_rss = asyncio.run(crowd(base, sessions, within, pid))
    time.sleep(3.0)  # the sessions have closed: what stays
    after = rss_mb(pid)
    firsts = [r["first"] for r in results if r["first"] is not None]
    ends = [r["end"] for r in results if r["end"] is not None and not r["error"]]
    want = expected_title(*sessions[0]) if label != "one-line app" else "One line"
    for r in results:  # the page the link names, not another one
        if not r["error"] and r.get("title") != want:
            r["error"] = f"showed {r.get('title')!r}, not {want!r}"
    errors = [r["error"] for r in results if r["error"] or r["end"] is None]
    return {"link": label, "n": len(sessions), "first50": pct(firsts, 0.5), "first95": pct(firsts, 0.95),
            "end50": pct(ends, 0.5), "end95": pct(ends, 0.95), "endmax": max(ends, default=float("nan")),
            "errors": len(errors), "example": errors[0] if errors else "",
            "mb_per_session": (open_rss - before) / len(sessions), "left_mb": after - before}


def expected_title(page: str, query: str) -> str:
    from dashboard.shell import heading

    return heading(page or "home", "mnist1d" if "MNIST-1D" in query else "mnist")


def train_stored(results_dir: str) -> None:
    """The practicum's MNIST-1D runs of ``STORED``, trained here into ``results_dir`` (what a class link shows)."""
    from core.practicum.practicum import practicum_configs
    from core.practicum.runs import pair_of
    from core.service.store import ResultStore
    from core.practicum.training import train_runs

    store = ResultStore(results_dir)
    configs, _ = practicum_configs("mnist1d", ("fc", "cnn"), epochs=2, seed=4, train_size=500)
    done = set()
    for c in configs:
        if c.key() not in done:
            for r in train_runs(pair_of(c) or (c,)):
                store.put(r)
                done.add(r.key)


SOAK_PAGES = ("signals", "linear", "locality", "sharing", "kernels", "padding", "stepper", "anatomy", "famous-mixed",
              "pooling", "practicum", "stored", "home")


def soak(base: str, pid: int, minutes: float, size: int, within: float) -> list[tuple[float, float]]:
    """Waves of ``size`` sessions on mixed pages (and mixed settings: the seeds vary) arriving within ``within``
    seconds, each wave closing before the next, for ``minutes``; the server's resident memory after each wave."""
    mixed = []
    for i in range(size):
        page = SOAK_PAGES[i % len(SOAK_PAGES)]
        name, query = links(page, 1, False)[0] if page not in ("signals", "stepper") else links(page, i + 1, True)[i]
        mixed.append((name, query))
    warm(base, mixed, pid)
    began, curve = time.monotonic(), [(0.0, rss_mb(pid))]
    errors = 0
    while time.monotonic() - began < 60 * minutes:
        results, _ = asyncio.run(crowd(base, mixed, within, pid))
        errors += sum(1 for r in results if r["error"] or r["end"] is None)
        curve.append(((time.monotonic() - began) / 60, rss_mb(pid)))
        print(f"soak {curve[-1][0]:6.1f} min  RSS {curve[-1][1]:7.1f} MB  errors so far {errors}", flush=True)
    return curve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", default=",".join(PAGES), help=f"comma-separated, of: {', '.join(PAGES)}")
    ap.add_argument("--sessions", default="100,200", help="comma-separated session counts")
    ap.add_argument("--within", type=float, default=2.0, help="seconds over which the sessions arrive")
    ap.add_argument("--distinct", action="store_true", help="each session a link of its own")
    ap.add_argument("--replicas", type=int, default=1, help="lab servers sharing the sessions in turn")
    ap.add_argument("--soak", type=float, default=0.0, metavar="MINUTES",
                    help="instead: waves of sessions on mixed pages for this long, memory after each wave")
    args = ap.parse_args()
    counts = [int(n) for n in args.sessions.split(",")]
    pages = [p for p in args.pages.split(",") if p]
    unknown = set(pages) - set(PAGES)
    if unknown:
        raise SystemExit(f"unknown page(s): {', '.join(sorted(unknown))}")

    if not os.environ.get("CONVLAB_DATA_DIR"):
        print("note: CONVLAB_DATA_DIR is not set: pages that need MNIST measure its absence (CI sets "
              "../shared/data)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        results_dir = os.path.join(tmp, "results")
        if "stored" in pages:
            print("training the stored link's runs …", flush=True)
            train_stored(results_dir)
        if args.soak:
            if "stored" not in pages:
                train_stored(results_dir)
            proc, base = serve({"CONVLAB_RESULTS_DIR": results_dir})
            try:
                curve = soak(base, proc.pid, args.soak, counts[-1], max(args.within, 20.0))
            finally:
                proc.terminate()
                proc.wait(30)
            half = [c for c in curve if c[0] >= curve[-1][0] / 2]
            slope = ((half[-1][1] - half[0][1]) / (half[-1][0] - half[0][0])) if len(half) > 1 else float("nan")
            print("minute,rss_mb")
            for minute, mb in curve:
                print(f"{minute:.2f},{mb:.1f}")
            print(f"second half: {slope:+.2f} MB a minute; start {curve[0][1]:.0f} MB, end {curve[-1][1]:.0f} MB, "
                  f"peak {max(mb for _, mb in curve):.0f} MB")
            return
        one_line = Path(tmp) / "one_line.py"
        one_line.write_text("import streamlit as st\nst.title('One line')\n")
        env = {"CONVLAB_RESULTS_DIR": results_dir}
        rows = []
        for label, script, targets in (("one-line app", one_line, ["home"]), ("lab", None, pages)):
            servers = [serve(env, *([script] if script else [])) for _ in range(1 if script else args.replicas)]
            bases, pids = [b for _, b in servers], [p.pid for p, _ in servers]
            try:
                for page in targets:
                    for n in counts:
                        name = label if script else page + (" (distinct)" if args.distinct else "") + (
                            f" ({args.replicas} replicas)" if args.replicas > 1 else "")
                        row = measure(bases, pids, name, links(page, n, args.distinct and script is None),
                                      args.within, distinct=args.distinct and script is None)
                        rows.append(row)
                        print(f"{row['link']:<22} {n:>4}  first p50 {row['first50']:.2f} p95 {row['first95']:.2f}"
                              f"  end p50 {row['end50']:.2f} p95 {row['end95']:.2f} max {row['endmax']:.2f}"
                              f"  errors {row['errors']}  {row['mb_per_session']:.2f} MB/session, "
                              f"{row['left_mb']:+.0f} MB after  {row['example']}", flush=True)
            finally:
                for proc, _ in servers:
                    proc.terminate()
                    proc.wait(30)
    print("\n| link | sessions in %gs | first element p50 / p95 | run's end p50 / p95 / max | errors | MB per open "
          "session | MB left after |" % args.within)
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['link']} | {r['n']} | {r['first50']:.2f} / {r['first95']:.2f} | {r['end50']:.2f} / "
              f"{r['end95']:.2f} / {r['endmax']:.2f} | {r['errors']} | {r['mb_per_session']:.2f} | "
              f"{r['left_mb']:+.0f} |")


if __name__ == "__main__":
    main()
