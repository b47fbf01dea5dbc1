"""A class's deployment on one machine: a Dask scheduler, N workers and M Streamlit replicas.

    .venv/bin/python deploy/local.py                       # scheduler, 2 workers, 2 replicas; Ctrl-C stops all
    .venv/bin/python deploy/local.py --check "practicum?pp_data=MNIST-1D&pp_epochs=2"

The same processes as ``deploy/docker-compose.yml``, without Docker: every replica gets
``CONVLAB_DASK_SCHEDULER`` and one shared ``CONVLAB_RESULTS_DIR``. With ``--check LINK`` it opens the link in
two Chromium browsers, one per replica, presses Train in both, waits for both pages to show the results, and
prints how many times each run was trained, counted from the tasks' own events: once each, or it exits 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DONE = "[data-testid=stApp][data-test-script-state=notRunning]"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, what: str, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not come up in {timeout:.0f} s")


def start(workers: int, replicas: int, results: Path, logs: Path) -> tuple[list[subprocess.Popen], str, list[str]]:
    """Start everything; returns (processes, scheduler address, replica URLs)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = []

    def spawn(name, args, extra=None):
        out = open(logs / f"{name}.log", "w")
        procs.append(subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**env, **(extra or {})},
                                      stdout=out, stderr=subprocess.STDOUT))

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    spawn("scheduler", ["-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                        "--dashboard-address", ":0"])
    from distributed import Client

    def scheduler_up():
        with Client(address, timeout=2) as c:
            return c.status == "running"
    wait_until(scheduler_up, "the scheduler")
    for i in range(workers):  # one training at a time each; on a GPU machine, one worker per GPU
        spawn(f"worker-{i}", ["-m", "core.service.cluster", address, "--nthreads", "1",  # dask worker, importing core
                              "--name", f"worker-{i}", "--dashboard-address", ":0"])
    urls = []
    for i in range(replicas):
        web = free_port()
        spawn(f"replica-{i}", ["-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(web),
                               "--server.address", "127.0.0.1", "--server.headless", "true"],
              {"CONVLAB_DASK_SCHEDULER": address, "CONVLAB_RESULTS_DIR": str(results)})
        urls.append(f"http://127.0.0.1:{web}")
    with Client(address, timeout=10) as c:
        c.wait_for_workers(workers, timeout=120)
    for url in urls:
        wait_until(lambda u=url: urllib.request.urlopen(f"{u}/_stcore/health", timeout=2).read() == b"ok",
                   f"the replica at {url}")
    return procs, address, urls


def check(link: str, address: str, urls: list[str]) -> int:
    """Two browsers, one per replica, on ``link``; Train in both; 0 when every run trained exactly once."""
    from distributed import Client
    from playwright.sync_api import sync_playwright

    from core.service.cluster import PROGRESS_TOPIC

    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        pages = []
        for url in urls[:2]:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(f"{url}/{link}")
            page.wait_for_selector(DONE, timeout=120_000)
            if page.get_by_text("Link parameter").count():  # the link was corrected: not the one asked for
                print("the link was corrected:", page.get_by_text("Link parameter").first.inner_text())
                return 1
            pages.append(page)
        for page in pages:  # both viewers ask, one right after the other
            page.get_by_role("button", name="Train").click()
        for page in pages:
            page.get_by_role("heading", name="Results").wait_for(timeout=600_000)
            page.wait_for_selector(DONE, timeout=120_000)
            if page.locator("[data-testid=stException]").count():
                print("a page raised:", page.locator("[data-testid=stException]").first.inner_text())
                return 1
        browser.close()
    with Client(address, timeout=10) as c:
        starts: dict[str, int] = {}
        for _, msg in c.get_events(PROGRESS_TOPIC):
            if msg.get("started"):
                starts[msg["key"]] = starts.get(msg["key"], 0) + 1
    print(f"{len(starts)} runs; trained per run: {sorted(starts.values())}; both replicas showed the results")
    return 0 if starts and set(starts.values()) == {1} else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--results", help="the shared results folder (default: a fresh temporary one)")
    ap.add_argument("--check", metavar="LINK", help="drive two browsers at two replicas with LINK, then stop")
    args = ap.parse_args(argv)
    if args.check and args.replicas < 2:
        ap.error("--check needs two replicas")
    logs = Path(tempfile.mkdtemp(prefix="convlab-deploy-"))
    results = Path(args.results) if args.results else logs / "results"
    procs, address, urls = [], "", []
    try:
        procs, address, urls = start(args.workers, args.replicas, results, logs)
        print(f"scheduler {address}; {args.workers} worker(s); replicas {' '.join(urls)}; results {results}; "
              f"logs {logs}", flush=True)
        if args.check:
            return check(args.check, address, urls)
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        print("a process stopped; see the logs", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
