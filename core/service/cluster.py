"""Training on a Dask cluster: the task every replica submits under one key, and how a replica connects.

A class's servers (replicas) share one Dask scheduler: ``train_task`` runs under ``task_key`` (the
configurations' keys), so the scheduler runs it once however many replicas ask; it stores its results in the
shared results folder itself and reports progress as Dask events on ``PROGRESS_TOPIC``, which every replica's
``Trainer`` subscribes to. See ``deploy/`` for the processes.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from core.practicum.runs import Progress, RunConfig, RunResult
from core.service.store import ResultStore

DASK_ENV = "CONVLAB_DASK_SCHEDULER"
PROGRESS_TOPIC = "convlab-progress"  # the Dask event topic a task reports its progress on


def task_key(members) -> str:
    """The Dask key of the task that trains ``members``: the same on every replica, so it runs once."""
    return "convlab-train-" + "-".join(m.key() for m in members)


@dataclass
class TaskOutput:
    """What ``train_task`` returns: the results, and whether it stored them (and if not, why)."""

    results: list[RunResult]
    stored: bool = False
    unsaved: str | None = None


def _dask_events():
    """``log_event`` of the Dask worker running this task, or None outside one."""
    try:
        from distributed import get_worker

        return get_worker().log_event
    except (ImportError, ValueError):  # not installed, or not inside a Dask task
        return None


def train_task(members: tuple[RunConfig, ...], device: str, data_dir: str | None,
               results_dir: str | None = None) -> TaskOutput:
    """One task for an executor that runs elsewhere (Dask, a process pool): plain records in and out.

    With ``results_dir`` (the replicas' shared results folder) the task stores its results there itself, so
    they are written once however many replicas wait for them. Inside a Dask worker it reports progress as
    events on ``PROGRESS_TOPIC``: ``started`` once per attempt, then each report's step, loss and accuracy.
    """
    from core.practicum.device import describe_device, pick_device
    from core.practicum.training import train_runs

    emit = _dask_events()
    keys = [m.key() for m in members]
    progresses = [Progress() for _ in members]

    def report() -> bool:  # called at every progress report; never asks to stop
        if emit is not None:
            for key, p in zip(keys, progresses):
                emit(PROGRESS_TOPIC, p.event(key))
        return False

    if emit is not None:
        where = describe_device(pick_device(device))
        for key in keys:
            emit(PROGRESS_TOPIC, Progress.start_event(key, where))
    results = train_runs(members, device=device, data_dir=data_dir, progresses=progresses, should_stop=report)
    if results_dir is None:
        return TaskOutput(results)
    try:
        store = ResultStore(results_dir)
        for r in results:
            store.put(r)
        return TaskOutput(results, stored=True)
    except OSError as err:
        return TaskOutput(results, unsaved=f"{err.strerror or err} (in {results_dir}, on the training worker)")


SCHEMES = ("tcp", "ws")  # what a lab server can speak to a scheduler without certificates


def check_address(address: str) -> str:
    """``address`` as Dask takes it (``tcp://host:port``; a bare ``host:port`` is TCP), or ValueError in words."""
    from urllib.parse import urlsplit

    text = str(address).strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    if scheme in ("tls", "wss"):
        raise ValueError(f"{text!r} asks for {scheme}://, which needs certificates this lab is not given; use "
                         "tcp://host:8786")
    if scheme not in SCHEMES:
        raise ValueError(f"{text!r} is not a Dask scheduler address (tcp://host:8786)")
    try:
        parts = urlsplit(f"{scheme}://{rest}")
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or not 0 < port < 65536 or parts.path not in ("", "/") or " " in rest:
        raise ValueError(f"{text!r} is not a Dask scheduler address (tcp://host:8786)")
    return f"{scheme}://{rest.rstrip('/')}"


def executor_from_env(address: str | None = None, timeout: float = 10.0):
    """A Dask client for ``address`` (else ``$CONVLAB_DASK_SCHEDULER``), or None when neither is set.

    The connection gets ``timeout`` seconds in all, on a thread of its own: a port that accepts and never
    answers held ``Client`` for as long as it liked (over 15 minutes); one that answers late is closed.

    Raises:
        OSError: the address is malformed, or the scheduler cannot be reached in time (the message names it).
    """
    address = address or os.environ.get(DASK_ENV)
    if not address:
        return None
    try:
        address = check_address(address)
    except ValueError as exc:
        raise OSError(str(exc)) from None
    from distributed import Client

    box: dict = {}
    done, abandoned = threading.Event(), threading.Event()

    def connect() -> None:
        try:
            client = Client(address, timeout=timeout, set_as_default=False)
            if abandoned.is_set():
                client.close()
            else:
                box["client"] = client
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, in words
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=connect, name="convlab-dask-connect", daemon=True).start()
    if not done.wait(timeout + 1):
        abandoned.set()
        raise OSError(f"the Dask scheduler at {address} did not answer within {timeout:g} s")
    if "error" in box:
        exc = box["error"]
        raise OSError(f"the Dask scheduler at {address} cannot be reached ({type(exc).__name__}: "
                      f"{str(exc)[:200]})") from exc
    return box["client"]


def is_dask_client(executor) -> bool:
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "subscribe_topic")


if __name__ == "__main__":  # python -m core.service.cluster tcp://SCHEDULER:8786 --nthreads 1: a Dask worker for the lab
    # run from the repository's folder, this process and the worker processes it starts import core as is
    from distributed.cli.dask_worker import main

    main()
