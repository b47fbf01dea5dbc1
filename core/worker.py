"""Training in the background: one small interface over a ``concurrent.futures`` executor.

``Trainer.submit(config)`` returns the ``Job`` for that configuration: a stored
result if one exists, the job already queued or running for it (two viewers
of one link share one run), or a new job on the executor. By default the
executor is a local ``ThreadPoolExecutor`` with one worker (one training at a
time, the rest queue). Any ``concurrent.futures.Executor`` can be passed
instead, e.g. Dask's ``distributed.Client(...).get_executor()`` when a class
outgrows one server: the work is then the plain function ``train_task``, its
results come back through the future and are stored here, progress is
reported when the run ends, and cancelling stops only a run not yet started.

Results are stored as JSON files named by the configuration's key, written
atomically (a temporary file in the same folder, flushed, then renamed), so a
process killed mid-write leaves the old state, never half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from core.data import cache_dir
from core.training import Cancelled, Progress, RunConfig, pair_of, train_runs

RESULTS_ENV = "CONVLAB_RESULTS_DIR"


class ResultStore:
    """Finished runs on disk, one JSON file per configuration key."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root or os.environ.get(RESULTS_ENV) or cache_dir() / "results")
        self.root.mkdir(parents=True, exist_ok=True)
        self.sweep()

    def sweep(self, older_than: float = 3600.0) -> int:
        """Delete temporary files that a killed writer left behind; returns how many.

        Only those older than ``older_than`` seconds: a writer in another
        process may be busy with a fresh one (a result is written in well under a second).
        """
        removed, cutoff = 0, time.time() - older_than
        for tmp in self.root.glob(".*.tmp"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed += 1
            except OSError:  # gone already, or not ours to delete
                pass
        return removed

    def _path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError(f"bad result key {key!r}")
        return self.root / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The stored result, or None (also for an unreadable file, which is then ignored)."""
        try:
            return json.loads(self._path(key).read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, record: dict) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(record, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path(key))  # atomic on POSIX and Windows
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@dataclass
class Job:
    key: str
    config: RunConfig
    state: str = "queued"  # queued | running | done | failed | cancelled
    progress: Progress = field(default_factory=Progress)
    result: dict | None = None
    error: str | None = None
    submitted: float = field(default_factory=time.time)
    cancel_requested: bool = False
    future: Future | None = field(default=None, repr=False)  # the task that trains it
    group: list[Job] = field(default_factory=list, repr=False)  # the jobs trained by the same task

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")


def train_task(members: tuple[RunConfig, ...], device: str, data_dir: str | None) -> list[dict]:
    """One task for an executor that runs elsewhere (a process pool, Dask): plain in, JSON-ready out."""
    return train_runs(members, device=device, data_dir=data_dir)


class Trainer:
    """Deduplicating front of an executor; safe to share between all sessions of a server."""

    def __init__(self, store: ResultStore | None = None, executor: Executor | None = None,
                 data_dir: str | None = None, device: str = "auto"):
        self.store = store or ResultStore()
        self.executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="convlab-train")
        # a thread pool shares this process's memory: progress streams and cancelling works mid-run. Any other
        # executor (processes, Dask) runs a plain function elsewhere; its result comes back through the future.
        self.in_process = isinstance(self.executor, ThreadPoolExecutor)
        self.data_dir, self.device = data_dir, device
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def _existing(self, key: str, config: RunConfig) -> Job | None:
        """A live job for ``key``, else its stored result as a finished job, else None."""
        job = self._jobs.get(key)
        if job is not None and job.state not in ("failed", "cancelled"):
            return job
        stored = self.store.get(key)
        return Job(key, config, "done", result=stored) if stored is not None else None

    def lookup(self, config: RunConfig) -> Job | None:
        """The job or stored result for ``config`` (a failed or cancelled job too), without starting anything."""
        key = config.key()
        with self._lock:
            return self._existing(key, config) or self._jobs.get(key)

    def submit(self, config: RunConfig) -> Job:
        """Start ``config`` unless it is stored, queued or running already; return its job.

        A configuration that trains in a pair (``pair_of``) starts its twin too,
        as one task: both get a job, unless the twin is stored or live already.
        """
        key = config.key()
        with self._lock:
            existing = self._existing(key, config)
            if existing is not None:
                return existing
            members = pair_of(config) or (config,)
            jobs: list[Job | None] = []
            for c in members:
                twin = None if c.key() == key else self._existing(c.key(), c)
                if twin is None:
                    self._jobs[c.key()] = Job(c.key(), c)
                jobs.append(self._jobs[c.key()] if twin is None else None)  # None: stored or live, not ours
        mine = [j for j in jobs if j is not None]
        if self.in_process:
            future = self.executor.submit(self._run, members, jobs)
        else:  # somewhere in the cluster: running as far as we can tell, progress arrives with the result
            future = self.executor.submit(train_task, members, self.device, self.data_dir)
            for job in mine:
                job.state = "running"
        for job in mine:
            job.future, job.group = future, mine
        future.add_done_callback(lambda f: self._finish(f, jobs))
        return self._jobs[key]

    def _run(self, members: tuple[RunConfig, ...], jobs: list[Job | None]) -> list[dict]:
        """The task on a thread pool of this process: progress streams into the jobs, cancelling works mid-run."""
        mine = [j for j in jobs if j is not None]
        if all(j.cancel_requested for j in mine):
            raise Cancelled("cancelled before it started")
        for j in mine:
            j.state = "running"
        # a pair stops only when every job in it was cancelled: a twin may have other viewers
        return train_runs(members, device=self.device, data_dir=self.data_dir,
                          progresses=[j.progress if j is not None else Progress() for j in jobs],
                          should_stop=lambda: all(j.cancel_requested for j in mine))

    def _finish(self, future: Future, jobs: list[Job | None]) -> None:
        """Store what the task returned and close its jobs, wherever it ran."""
        mine = [j for j in jobs if j is not None]
        exc = None if future.cancelled() else future.exception()
        if future.cancelled() or isinstance(exc, Cancelled):
            for j in mine:
                j.state = "cancelled"
            return
        if exc is not None:  # the page shows the message instead of a traceback
            for j in mine:
                j.error, j.state = f"{type(exc).__name__}: {exc}", "failed"
            return
        for job, result in zip(jobs, future.result()):
            self.store.put(result["key"], result)  # a stored twin is stored again: the same pair, the same result
            if job is not None:
                job.progress.losses, job.progress.step = result.get("losses", []), job.progress.total
                job.result, job.state = result, "done"

    def cancel(self, key: str) -> None:
        with self._lock:
            job = self._jobs.get(key)
        if job is not None and not job.finished:
            job.cancel_requested = True
            if job.future is not None and all(j.cancel_requested for j in job.group):
                job.future.cancel()  # a task not yet started; a running one stops at its next report (here only)

    def queue(self) -> list[Job]:
        """Jobs waiting or running, oldest first."""
        with self._lock:
            return sorted((j for j in self._jobs.values() if not j.finished), key=lambda j: j.submitted)
