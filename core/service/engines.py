"""Where a ``Trainer``'s tasks run: one small engine per backend, each saying how a task is submitted, whether it
still runs tasks, and how it stops. The ``Trainer`` keeps what does not depend on the backend: deduplication, the
limits, viewers and cancelling.

- ``LocalEngine``: a thread pool of this process (one training at a time). Progress streams into the jobs and a
  cancel stops a run mid-way.
- ``ExecutorEngine``: any other ``concurrent.futures`` executor (a process pool): a plain function runs elsewhere
  and its result comes back through the future.
- ``DaskEngine``: a ``distributed.Client``. The task's key is the configuration's, so every replica asking for it
  shares one run; its progress arrives as Dask events on ``PROGRESS_TOPIC``.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Callable

from core.service.cluster import PROGRESS_TOPIC, is_dask_client, task_key, train_task


def local_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="convlab-train")


class Engine:
    in_process = False  # progress streams and cancelling works mid-run
    dask = False
    starts_at_once = False  # a submitted task counts as running (nothing tells when it starts)

    def __init__(self, executor: Executor):
        self.executor = executor

    @property
    def name(self) -> str:
        return f"a {type(self.executor).__name__}"

    def submit(self, members, here: Callable[[], object], elsewhere: tuple) -> Future:
        """Run one task: ``here()`` for an engine in this process, else ``train_task(members, *elsewhere)``."""
        return self.executor.submit(train_task, members, *elsewhere)

    def problem(self) -> str | None:
        """Why this engine no longer runs tasks, or None while it does."""
        return None

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


class LocalEngine(Engine):
    in_process = True

    @property
    def name(self) -> str:
        return "this server, one training at a time"

    def submit(self, members, here, elsewhere) -> Future:
        return self.executor.submit(here)


class ExecutorEngine(Engine):
    starts_at_once = True


class DaskEngine(Engine):
    dask = True

    def __init__(self, client, on_event: Callable[[tuple], None]):
        super().__init__(client)
        self.address = client.scheduler.address  # kept: a closed client's scheduler is None
        client.subscribe_topic(PROGRESS_TOPIC, on_event)  # every replica hears every task's progress

    @property
    def name(self) -> str:
        return f"the Dask cluster at {self.address}"

    def submit(self, members, here, elsewhere) -> Future:
        return self.executor.submit(train_task, members, *elsewhere, key=task_key(members), pure=False)

    def problem(self) -> str | None:
        status = getattr(self.executor, "status", "running")
        if status == "running":
            return None
        return (f"the Dask cluster at {self.address} stopped answering (its client is {status}); training runs on "
                "this server now")

    def close(self) -> None:  # the client only: the cluster serves other replicas
        self.executor.close()

    def close_soon(self) -> None:
        """Close the client on a thread of its own: a dead cluster's client can take seconds to let go."""
        threading.Thread(target=lambda: self.executor.close(timeout=2), name="convlab-dask-close",
                         daemon=True).start()


def engine_for(executor: Executor | None, on_event: Callable[[tuple], None]) -> Engine:
    """The engine for ``executor``: none is this server's thread pool."""
    if executor is None or isinstance(executor, ThreadPoolExecutor):
        return LocalEngine(executor or local_pool())
    if is_dask_client(executor):
        return DaskEngine(executor, on_event)
    return ExecutorEngine(executor)
