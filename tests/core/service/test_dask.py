"""The Dask engine, for real: a ``distributed.LocalCluster`` (2 worker processes) behind two Trainers, as two
replicas of the lab would use it. Small MNIST-1D trainings keep it to seconds."""

import os
import time

import pytest

from core.practicum.runs import RunConfig
from core.service.cluster import PROGRESS_TOPIC, executor_from_env, task_key
from core.service.store import ResultStore
from core.service.worker import Trainer

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
    assert a.engine.dask and b.engine.dask and "Dask cluster" in a.engine.name
    seen = {"a": 0, "b": 0}  # progress steps each replica saw before the run ended

    def look():
        for name, job in (("a", job_a), ("b", job_b)):
            if not job.finished:
                seen[name] = max(seen[name], job.progress.snapshot().step)
        return job_a.finished and job_b.finished
    assert wait_for(look, 120, every=0.02)
    assert job_a.state == job_b.state == "done", (job_a.error, job_b.error)
    assert seen["a"] > 0 and seen["b"] > 0  # both pages had a moving progress bar
    assert starts(a.engine.executor, config.key()) == 1  # one training, however many asked
    assert job_a.result == job_b.result and job_a.result.device_name.startswith("CPU")
    # written once, by the task, into the shared folder: both replicas (and a restarted one) read it
    files = list((tmp_path / "results").glob("*.json"))
    assert [f.stem for f in files] == [config.key()] and job_a.unsaved is None and job_b.unsaved is None
    assert ResultStore(tmp_path / "results").get(config.key()) == job_a.result
    assert b.submit(config).state == "done" and starts(a.engine.executor, config.key()) == 1  # stored: no new run


def test_a_convnet_pair_is_one_task_with_one_key(replicas):
    a, b = replicas
    config = RunConfig(model="cnn", dataset="mnist", epochs=1, train_size=300, seed=12)
    from core.practicum.runs import pair_of

    assert task_key(pair_of(config)) == task_key(pair_of(RunConfig(**{**config.__dict__, "permuted": True})))


def test_a_worker_lost_mid_run_restarts_the_task_and_the_result_arrives(replicas, cluster):
    a, _ = replicas
    client = a.engine.executor
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


# --- failing safe --------------------------------------------------------------------------------------------

def _silent_listener():
    """A port that accepts connections and never says a word (a scheduler hung, a firewall that swallows)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass
    threading.Thread(target=accept, daemon=True).start()
    return server, stop, held


def test_a_silent_scheduler_is_given_up_on_in_the_time_allowed():
    server, stop, held = _silent_listener()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    began = time.monotonic()
    try:
        with pytest.raises(OSError, match="did not answer within 2 s|cannot be reached"):
            executor_from_env(address, timeout=2)
        took = time.monotonic() - began
    finally:
        stop.set()
        for s in held:
            s.close()
        server.close()
    assert took < 2 + 2, f"the connection took {took:.1f} s to give up"


@pytest.mark.parametrize("address, words", [
    ("not an address", "not a Dask scheduler address"), ("http://127.0.0.1:8786", "not a Dask scheduler address"),
    ("tls://127.0.0.1:8786", "needs certificates"), ("tcp://127.0.0.1", "not a Dask scheduler address"),
    ("tcp://127.0.0.1:99999", "not a Dask scheduler address"),
])
def test_a_malformed_address_is_said_in_words_at_once(address, words):
    began = time.monotonic()
    with pytest.raises(OSError, match=words):
        executor_from_env(address, timeout=10)
    assert time.monotonic() - began < 1


def test_a_dead_cluster_is_noticed_and_train_works_here_without_a_restart(tmp_path):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    trainer = Trainer(ResultStore(tmp_path / "results"), executor=Client(cluster))
    try:
        assert trainer.engine.dask and trainer.check_engine()
        address = cluster.scheduler_address
        cluster.close()  # the scheduler and its worker die
        assert wait_for(lambda: not trainer.check_engine() or not trainer.engine.dask, 60)
        assert not trainer.engine.dask and trainer.engine.in_process
        assert f"the Dask cluster at {address} stopped answering" in trainer.engine_problem
        assert trainer.engine.name == "this server, one training at a time"  # no AttributeError on a closed client
        config = RunConfig(model="fc", dataset="mnist1d", epochs=1, train_size=400, width=32)
        job = trainer.submit(config, viewer="alice")  # Train works again, here
        assert wait_for(lambda: job.finished, 120) and job.state == "done", job.error
    finally:
        trainer.close()
        cluster.close()
