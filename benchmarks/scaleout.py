"""Training on a Dask cluster: K distinct trainings through 1 and 2 workers, and a crowd of clients on one key.

    python benchmarks/scaleout.py [--runs 6] [--epochs 10] [--crowd 8]

(a) scale-out: K distinct small trainings (MNIST-1D fully connected nets, one seed each) submitted through a
``Trainer`` on a ``distributed.LocalCluster`` of 1 worker, then of 2 workers (fresh results folders); prints
each wall time and the speed-up. Each worker process trains with one torch thread (``OMP_NUM_THREADS=1``), so
two workers use two cores where one uses one; on a machine with more cores, more workers keep scaling.
(b) crowd: ``--crowd`` clients (as many replicas) each submit the same K configurations at once; prints how
many trainings ran per key, counted from the tasks' own events (must be 1).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the worker processes: one core per training

from core.practicum.runs import RunConfig  # noqa: E402
from core.service.worker import JobState  # noqa: E402
from core.service.cluster import PROGRESS_TOPIC  # noqa: E402
from core.service.store import ResultStore  # noqa: E402
from core.service.worker import Trainer  # noqa: E402


def configs(k: int, epochs: int, seed0: int) -> list[RunConfig]:
    return [RunConfig(model="fc", dataset="mnist1d", epochs=epochs, seed=seed0 + i) for i in range(k)]


def _warm() -> None:
    import torch

    from core.practicum.data import load_dataset

    torch.set_num_threads(1)
    load_dataset("mnist1d")


def run_all(trainer: Trainer, todo: list[RunConfig]) -> float:
    started = time.perf_counter()
    jobs = trainer.submit_all(todo)
    while not all(j.finished for j in jobs):
        time.sleep(0.05)
    assert all(j.state == JobState.DONE for j in jobs), [j.error for j in jobs]
    return time.perf_counter() - started


def main() -> None:
    from distributed import Client, LocalCluster

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--crowd", type=int, default=8)
    args = ap.parse_args()
    walls = {}
    for n, seed0 in ((1, 100), (2, 200)):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                tempfile.TemporaryDirectory() as results:
            trainer = Trainer(ResultStore(results), executor=Client(cluster))
            trainer.engine.executor.run(_warm)  # every worker: imports, one torch thread, MNIST-1D generated once
            walls[n] = run_all(trainer, configs(args.runs, args.epochs, seed0))
            trainer.close()
        print(f"{args.runs} trainings, {n} worker(s): {walls[n]:6.1f} s wall")
    print(f"speed-up with 2 workers: {walls[1] / walls[2]:.2f}x (ideal 2.00x; {os.cpu_count()} cores here)")

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            tempfile.TemporaryDirectory() as results:
        crowd = [Trainer(ResultStore(results), executor=Client(cluster)) for _ in range(args.crowd)]
        todo = configs(args.runs, 1, 300)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.crowd) as pool:  # every client asks for every key at the same moment
            list(pool.map(lambda t: run_all(t, todo), crowd))
        wall = time.perf_counter() - started
        starts: dict[str, int] = {}
        for _, msg in crowd[0].engine.executor.get_events(PROGRESS_TOPIC):
            if msg.get("started"):
                starts[msg["key"]] = starts.get(msg["key"], 0) + 1
        runs = [starts.get(c.key(), 0) for c in todo]
        for t in crowd:
            t.close()
    print(f"crowd: {args.crowd} clients x {args.runs} keys in {wall:.1f} s; trainings per key: {runs} "
          f"({'one each' if set(runs) == {1} else 'NOT one each'})")


if __name__ == "__main__":
    main()
