"""The Dask engine, for real: a ``distributed.LocalCluster`` (2 worker processes) behind two Trainers, as two
replicas of the lab would use it. Small MNIST-1D trainings keep it to seconds."""

import os
import time

import pytest

from core.runs import RunConfig
from core.cluster import PROGRESS_TOPIC, executor_from_env, task_key
from core.store import ResultStore
from core.worker import Trainer

pytestmark = pytest.mark.slow  # a cluster of processes and real trainings


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


@pytest.fixture
def replicas(cluster, tmp_path):
    """Two Trainers with their own clients and one shared results folder: two servers of one class."""
    from distributed import Client

    made = [Trainer(ResultStore(tmp_path / "results"), executor=Client(cluster)) for _ in range(2)]
    yield made
    for t in made:
        t.close()


def wait_for(predicate, timeout=120.0, every=0.05):
    deadline = time.time() + timeout
    while not predicate() and time.time() < deadline:
        time.sleep(every)
    return predicate()


def starts(client, key) -> int:
    """How many times a task began training ``key``, counted from inside the task (its own events)."""
    return sum(1 for _, msg in client.get_events(PROGRESS_TOPIC) if msg.get("key") == key and msg.get("started"))


def test_two_replicas_asking_for_one_link_get_one_training(replicas, tmp_path):
    a, b = replicas
    config = RunConfig(model="fc", dataset="mnist1d", epochs=8, seed=11)
    job_a = a.submit(config, viewer="alice")
    assert wait_for(lambda: job_a.state == "running", 60)  # its first event has arrived
    job_b = b.submit(config, viewer="bob")
    assert a.dask and b.dask and "Dask cluster" in a.engine
    seen = {"a": 0, "b": 0}  # progress steps each replica saw before the run ended

    def look():
        for name, job in (("a", job_a), ("b", job_b)):
            if not job.finished:
                seen[name] = max(seen[name], job.progress.snapshot().step)
        return job_a.finished and job_b.finished
    assert wait_for(look, 120, every=0.02)
    assert job_a.state == job_b.state == "done", (job_a.error, job_b.error)
    assert seen["a"] > 0 and seen["b"] > 0  # both pages had a moving progress bar
    assert starts(a.executor, config.key()) == 1  # one training, however many asked
    assert job_a.result == job_b.result and job_a.result.device_name.startswith("CPU")
    # written once, by the task, into the shared folder: both replicas (and a restarted one) read it
    files = list((tmp_path / "results").glob("*.json"))
    assert [f.stem for f in files] == [config.key()] and job_a.unsaved is None and job_b.unsaved is None
    assert ResultStore(tmp_path / "results").get(config.key()) == job_a.result
    assert b.submit(config).state == "done" and starts(a.executor, config.key()) == 1  # stored: no new run


def test_a_convnet_pair_is_one_task_with_one_key(replicas):
    a, b = replicas
    config = RunConfig(model="cnn", dataset="mnist", epochs=1, train_size=300, seed=12)
    from core.runs import pair_of

    assert task_key(pair_of(config)) == task_key(pair_of(RunConfig(**{**config.__dict__, "permuted": True})))


def test_a_worker_lost_mid_run_restarts_the_task_and_the_result_arrives(replicas, cluster):
    a, _ = replicas
    client = a.executor
    config = RunConfig(model="fc", dataset="mnist1d", epochs=12, seed=13)
    job = a.submit(config)
    assert wait_for(lambda: job.progress.snapshot().step > 0, 60)
    busy = [w for w, keys in client.processing().items() if task_key((config,)) in keys]
    assert len(busy) == 1
    try:
        client.run(os._exit, 1, workers=busy)  # the worker process dies mid-run (its nanny starts a new one)
    except Exception:  # noqa: BLE001 - the call's own connection dies with it
        pass
    assert wait_for(lambda: job.finished, 180)
    assert job.state == "done", job.error
    assert job.attempts == 2 and starts(client, config.key()) == 2  # the viewers saw it start again


def test_an_unreachable_scheduler_is_a_message():
    with pytest.raises(OSError, match="tcp://127.0.0.1:9 cannot be reached"):
        executor_from_env("tcp://127.0.0.1:9", timeout=2)
    assert executor_from_env(None) is None or os.environ.get("CONVLAB_DASK_SCHEDULER")
