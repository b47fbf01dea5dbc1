"""Training in the background: one small interface over a ``concurrent.futures`` executor.

``Trainer.submit(config)`` returns the ``Job`` for that configuration: a stored
result if one exists, the job already queued or running for it (two viewers
of one link share one run), or a new job on the executor. By default the
executor is a local ``ThreadPoolExecutor`` with one worker (one training at a
time, the rest queue).

When a class outgrows one server, pass a Dask ``distributed.Client`` (or set
``CONVLAB_DASK_SCHEDULER=tcp://host:8786``; ``core.service.cluster.executor_from_env``):
every training is then ``core.service.cluster.train_task`` under one Dask key per
configuration, run once however many replicas ask; it stores its results in
the shared folder itself, and its progress events reach every replica's
``Trainer``. A worker lost mid-run is Dask's business: the task runs again
elsewhere and the progress starts over. Any other ``concurrent.futures``
executor (a process pool) gets the same task; its progress arrives with the
result. Out of this process, cancelling stops only a run not yet started.

A shared server bounds what links can ask of it (``core.limits.ServiceLimits``): how many runs
may wait, how many one viewer may have pending, and how large the results
folder may grow (least recently used results go first). A run that no viewer
has looked at for ``abandon_after`` seconds leaves the queue; a viewer's Cancel
stops a run only when nobody else waits for it; the running training stops
within one progress report when the server shuts down (SIGTERM).

Results are stored by ``core.service.store.ResultStore``, atomically. A results folder
that cannot be written does not lose a run: its result is kept in memory and
shown with a warning that says why it was not saved.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from enum import Enum

from core.service.cluster import TaskOutput
from core.service.engines import LocalEngine, engine_for, local_pool
from core.practicum.runs import Cancelled, Progress, RunConfig, RunResult, pair_of
from core.limits import ServiceLimits
from core.service.store import ResultStore

log = logging.getLogger("convlab.worker")


class Busy(RuntimeError):
    """The server will not queue more: ``ahead`` runs are waiting or running."""

    def __init__(self, message: str, ahead: int):
        super().__init__(message)
        self.ahead = ahead


class JobState(str, Enum):
    """Where a training stands. A ``str``: a state reads as its word (``"done"``) in messages and logs."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


ENDED = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})


@dataclass
class Job:
    key: str
    config: RunConfig
    state: JobState = JobState.QUEUED
    progress: Progress = field(default_factory=Progress)
    result: RunResult | None = None
    error: str | None = None
    unsaved: str | None = None  # why a finished result is only in memory
    submitted: float = field(default_factory=time.time)
    finished_at: float | None = None
    cancel_requested: bool = False
    attempts: int = 0  # runs started for it (on a Dask cluster, a lost worker's task starts again)
    device_name: str | None = None  # where it runs, once a Dask worker has said
    viewers: dict[str, float] = field(default_factory=dict, repr=False)  # viewer -> last look (time.time)
    future: Future | None = field(default=None, repr=False)  # the task that trains it
    group: list[Job] = field(default_factory=list, repr=False)  # the jobs trained by the same task

    @property
    def finished(self) -> bool:
        return self.state in ENDED

    def watched(self, within: float, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return any(now - seen <= within for seen in self.viewers.values())


_EXITING = threading.Event()
# The interpreter's exit joins the thread pool's workers after they have drained their queue, before atexit
# handlers run: a hook registered here runs first (the newest first), so a SIGTERM'd server stops its training
# at the next progress report instead of finishing every queued run. The hook is private to ``threading``
# (stable since Python 3.9); without it, a dead main thread is the fallback signal.
getattr(threading, "_register_atexit", lambda fn: None)(_EXITING.set)


def _shutting_down() -> bool:
    """The interpreter is exiting (the server got SIGTERM): queued and running trainings stop."""
    return _EXITING.is_set() or not threading.main_thread().is_alive()


class Trainer:
    """Deduplicating, bounded front of an executor; safe to share between all sessions of a server."""

    def __init__(self, store: ResultStore | None = None, executor: Executor | None = None,
                 data_dir: str | None = None, device: str = "auto", limits: ServiceLimits | None = None):
        self.limits = limits or ServiceLimits.from_env()
        self.store = store or ResultStore(max_bytes=self.limits.results_mb * 1e6)
        # where tasks run (core.service.engines): its name, and whether it is Dask, in this process, an executor;
        # replaced by a local pool when a cluster dies (check_engine)
        self.engine = engine_for(executor, self._on_event)
        self.engine_problem: str | None = None  # why trainings do not run where the settings asked
        self.data_dir, self.device = data_dir, device
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._speeds: deque[float] = deque(maxlen=16)  # multiply-adds a second of the last trainings here

    def _on_event(self, event) -> None:
        """A Dask task's progress (``train_task``), delivered to every subscribed replica."""
        _, msg = event
        if not isinstance(msg, dict):
            return
        with self._lock:
            job = self._jobs.get(msg.get("key"))
        if job is None or job.finished:
            return
        if msg.get("started"):  # a first attempt, or a rerun after a lost worker: from the start again
            job.progress.restart()
            job.state, job.attempts, job.device_name = JobState.RUNNING, job.attempts + 1, msg.get("device")
        elif job.progress.follow_event(msg):
            job.state = JobState.RUNNING

    def check_engine(self) -> bool:
        """Whether the engine still runs trainings; a Dask cluster that stopped answering is left for a thread on
        this server. Its unfinished runs fail with a sentence, so Train starts them again here. Called by every
        lookup and submit: a dead cluster was never noticed, and every later Train waited on it."""
        problem = self.engine.problem()
        if problem is None:
            return True
        with self._lock:
            if self.engine.problem() is None:  # another thread fell back first
                return True
            dead, self.engine = self.engine, LocalEngine(local_pool())
            self.engine_problem = problem
            for job in self._jobs.values():
                if not job.finished:
                    job.error = "the Dask cluster stopped answering before this run finished; press Train to run it here"
                    job.state, job.finished_at = JobState.FAILED, time.time()
        log.warning("%s", self.engine_problem)
        dead.close_soon()
        return False

    def speed(self) -> float | None:
        """This server's measured training speed (multiply-adds a second, median of its last runs), or None."""
        with self._lock:
            return statistics.median(self._speeds) if self._speeds else None

    def speed_range(self) -> tuple[float, float] | None:
        """The slowest and fastest of this server's last measured training speeds (multiply-adds a second)."""
        with self._lock:
            return (min(self._speeds), max(self._speeds)) if self._speeds else None

    # -- reading -------------------------------------------------------------------------------------------------
    def _existing(self, key: str, config: RunConfig) -> Job | None:
        """A live job for ``key``, else its stored result as a finished job, else None."""
        job = self._jobs.get(key)
        if job is not None and job.state not in (JobState.FAILED, JobState.CANCELLED):
            return job
        stored = self.store.get(key)
        return Job(key, config, JobState.DONE, result=stored) if stored is not None else None

    def lookup(self, config: RunConfig, viewer: str | None = None) -> Job | None:
        """The job or stored result for ``config`` (a failed or cancelled job too), without starting anything.

        With ``viewer``, a live job counts that viewer as still waiting for it.
        """
        key = config.key()
        self.check_engine()
        with self._lock:
            job = self._existing(key, config) or self._jobs.get(key)
            if job is not None and viewer is not None and not job.finished:
                job.viewers[viewer] = time.time()
        return job

    def _drop_abandoned(self, now: float) -> None:
        """Cancel queued runs that no viewer has looked at lately (called under the lock)."""
        for job in self._jobs.values():
            if job.state == JobState.QUEUED and job.viewers and not job.watched(self.limits.abandon_after, now):
                self._request_cancel(job)

    def _tasks_ahead(self, job: Job | None = None) -> int:
        """Unfinished tasks (a pair is one) submitted before ``job``'s, or all of them (called under the lock)."""
        futures = []
        for j in sorted(self._jobs.values(), key=lambda j: j.submitted):
            if j is job or (job is not None and j.future is job.future):
                break
            if not j.finished and not j.cancel_requested and j.future not in futures:
                futures.append(j.future)
        return len(futures)

    def ahead(self, job: Job) -> int:
        """How many trainings (a ConvNet pair counts once) run or wait before ``job``."""
        with self._lock:
            return self._tasks_ahead(job)

    def queue(self) -> list[Job]:
        """Jobs waiting or running, oldest first (queued runs nobody looks at any more are dropped first)."""
        with self._lock:
            self._drop_abandoned(time.time())
            return sorted((j for j in self._jobs.values() if not j.finished and not j.cancel_requested),
                          key=lambda j: j.submitted)

    # -- starting ------------------------------------------------------------------------------------------------
    def submit(self, config: RunConfig, viewer: str | None = None) -> Job:
        """Start ``config`` unless it is stored, queued or running already; return its job."""
        return self.submit_all([config], viewer)[0]

    def submit_all(self, configs, viewer: str | None = None) -> list[Job]:
        """Start every configuration not stored, queued or running, all or none; return their jobs.

        A configuration that trains in a pair (``pair_of``) starts its twin too,
        as one task: both get a job, unless the twin is stored or live already.

        Raises:
            Busy: the queue or this viewer's share of it is full; nothing was queued.
        """
        configs = list(configs)
        now = time.time()
        self.check_engine()
        with self._lock:
            self._drop_abandoned(now)
            self._prune(now)
            found = {c.key(): self._existing(c.key(), c) for c in configs}
            units, seen = [], set()
            for c in configs:  # the tasks to start: each pair once
                if found[c.key()] is None and c.key() not in seen:
                    members = pair_of(c) or (c,)
                    twins = [None if m.key() == c.key() else self._existing(m.key(), m) for m in members]
                    units.append((members, twins))
                    seen.update(m.key() for m, t in zip(members, twins) if t is None)
            new_jobs = len(seen)
            if new_jobs:
                waiting = sum(j.state == JobState.QUEUED and not j.cancel_requested for j in self._jobs.values())
                mine = sum(viewer in j.viewers and not j.finished and not j.cancel_requested
                           for j in self._jobs.values()) if viewer is not None else 0
                if waiting + new_jobs > self.limits.max_waiting:
                    ahead = self._tasks_ahead()
                    raise Busy(f"The server is busy: {ahead} training(s) are running or waiting, and at most "
                               f"{self.limits.max_waiting} may wait. Nothing was queued; try again in a few "
                               "minutes.", ahead)
                if viewer is not None and mine + new_jobs > self.limits.per_viewer:
                    raise Busy(f"You already have {mine} run(s) pending, and one viewer may have at most "
                               f"{self.limits.per_viewer}. Wait for them or cancel them first.",
                               self._tasks_ahead())
            started = [self._start(members, twins, viewer, now) for members, twins in units]
            jobs = []
            for c in configs:
                job = self._jobs.get(c.key()) if found[c.key()] is None else found[c.key()]
                if not job.finished and job.cancel_requested and not (job.future and job.future.cancelled()):
                    job.cancel_requested = False  # asked for again before it stopped: it goes on
                if viewer is not None and not job.finished:
                    job.viewers[viewer] = now
                jobs.append(job)
        for future, job_list in started:  # outside the lock: a finished future calls back at once
            future.add_done_callback(lambda f, js=job_list: self._finish(f, js))
        return jobs

    def _start(self, members, twins, viewer, now) -> tuple[Future, list[Job | None]]:
        """Queue one task for ``members`` (called under the lock); twins stored or live get no new job."""
        jobs: list[Job | None] = []
        for c, twin in zip(members, twins):
            if twin is None:
                self._jobs[c.key()] = Job(c.key(), c, submitted=now,
                                          viewers={viewer: now} if viewer is not None else {})
            jobs.append(self._jobs[c.key()] if twin is None else None)
        mine = [j for j in jobs if j is not None]
        results_dir = None if self.store.problem else str(self.store.root)
        future = self.engine.submit(members, lambda: self._run(members, jobs),
                                     (self.device, self.data_dir, results_dir))
        if self.engine.starts_at_once:  # another process: running as far as we can tell, progress comes at the end
            for job in mine:
                job.state = JobState.RUNNING
        for job in mine:
            job.future, job.group = future, mine
        return future, jobs

    def _run(self, members: tuple[RunConfig, ...], jobs: list[Job | None]) -> list[RunResult]:
        """The task on a thread pool of this process: progress streams into the jobs, cancelling works mid-run."""
        mine = [j for j in jobs if j is not None]
        with self._lock:
            self._drop_abandoned(time.time())
        if _shutting_down() or all(j.cancel_requested for j in mine):
            raise Cancelled("cancelled before it started")
        for j in mine:
            j.state = JobState.RUNNING
        from core.practicum.training import train_runs

        log.info("training %s", " + ".join(c.key() for c in members))
        # a pair stops only when every job in it was cancelled: a twin may have other viewers
        return train_runs(members, device=self.device, data_dir=self.data_dir,
                          progresses=[j.progress if j is not None else Progress() for j in jobs],
                          should_stop=lambda: _shutting_down() or all(j.cancel_requested for j in mine))

    def _finish(self, future: Future, jobs: list[Job | None]) -> None:
        """Store what the task returned and close its jobs, wherever it ran; never leaves a job open."""
        mine = [j for j in jobs if j is not None]
        now = time.time()
        try:
            exc = None if future.cancelled() else future.exception()
            if future.cancelled() or isinstance(exc, Cancelled):
                for j in mine:
                    j.state = JobState.CANCELLED
                return
            if exc is not None:  # the page shows the message instead of a traceback
                for j in mine:
                    j.error, j.state = f"{type(exc).__name__}: {exc}", JobState.FAILED
                return
            out = future.result()
            results, stored, unsaved = ((out.results, out.stored, out.unsaved) if isinstance(out, TaskOutput)
                                        else (out, False, None))
            self._measure(results)
            for job, result in zip(jobs, results):
                if not stored:  # the task stored it already when it could (once, for every replica)
                    try:
                        self.store.put(result)  # a stored twin is stored again: same pair, same result
                        unsaved = None
                    except OSError as err:  # read-only folder, disk full: the viewers still get the result
                        unsaved = f"{err.strerror or err}" + ("" if self.store.problem else f" (in {self.store.root})")
                        log.warning("result %s not stored: %s", result.key, unsaved)
                if job is not None:
                    job.progress.finish(result.losses)
                    job.result, job.unsaved, job.state = result, unsaved, JobState.DONE
        except BaseException as err:  # noqa: BLE001 - whatever broke, the jobs end and say so
            for j in mine:
                if not j.finished:
                    j.error, j.state = f"{type(err).__name__}: {err}", JobState.FAILED
            log.exception("finishing %s failed", [j.key for j in mine])
        finally:
            for j in mine:
                j.finished_at = now

    def _measure(self, results: list[RunResult]) -> None:
        """Record the speed of a finished training (the shapes' cost over the seconds it took) for estimates."""
        from core.practicum.costs import training_cost

        try:
            seconds = results[0].train_seconds + results[0].eval_seconds
            if seconds > 0:
                cost = training_cost([r.config for r in results])
                with self._lock:
                    self._speeds.append(cost / seconds)
        except (TypeError, ValueError, IndexError):  # no result: nothing to learn from
            pass

    def _prune(self, now: float, keep: float = 600.0) -> None:
        """Forget finished jobs after ``keep`` seconds (called under the lock); a saved result stays on disk."""
        for key, job in list(self._jobs.items()):
            if job.finished and job.finished_at is not None and now - job.finished_at > keep and (
                    job.state != JobState.DONE or job.unsaved is None or now - job.finished_at > 6 * keep):
                del self._jobs[key]

    # -- stopping ------------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Cancel everything queued or running and wait for the executor to stop."""
        with self._lock:
            for job in self._jobs.values():
                self._request_cancel(job)
        self.engine.close()

    def _request_cancel(self, job: Job) -> None:
        """Stop ``job`` (called under the lock): a queued task is dropped, a running one stops at its next report."""
        if job.finished:
            return
        job.cancel_requested = True
        if job.future is not None and all(j.cancel_requested for j in job.group):
            job.future.cancel()  # only a task not yet started; a running one stops at its next report (here only)

    def cancel(self, key: str, viewer: str | None = None) -> bool:
        """``viewer`` stops waiting for ``key``; the run stops if no other viewer waits. True if it stops."""
        with self._lock:
            job = self._jobs.get(key)
            if job is None or job.finished:
                return False
            job.viewers.pop(viewer, None)
            if viewer is not None and job.watched(self.limits.abandon_after):
                return False  # someone else still waits for it
            self._request_cancel(job)
            return True
