"""The background worker and its result store: sharing runs, bounds, cancelling, broken storage, crashes."""

import re
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.practicum.runs import Progress, RunConfig, RunResult
from core.service.store import ResultStore
from core.limits import ServiceLimits as Limits
from core.service.worker import Busy, Trainer

ROOT = Path(__file__).resolve().parents[3]


def fake_result(config: RunConfig, accuracy: float = 99.0) -> RunResult:
    """What ``train_runs`` returns for one run, with made-up numbers."""
    return RunResult(config, params=6442, accuracy=accuracy, test_loss=0.1, per_class=[accuracy] * 10,
                     losses=[2.0, 1.0])


def wait_for(predicate, timeout=20.0):
    deadline = time.time() + timeout
    while not predicate() and time.time() < deadline:
        time.sleep(0.02)
    return predicate()


class Gate:
    """A fake ``train_runs`` that blocks until released, counting calls; it honours ``should_stop``."""

    def __init__(self):
        self.calls, self.release, self.started = [], threading.Event(), threading.Event()

    def __call__(self, configs, progresses=None, should_stop=None, **kwargs):
        self.calls.append(tuple(configs))
        self.started.set()
        while not self.release.wait(0.02):
            if should_stop is not None and should_stop():
                from core.practicum.runs import Cancelled
                raise Cancelled("stopped")
        return [fake_result(c, 90.0 + c.permuted) for c in configs]


@pytest.fixture
def gate(monkeypatch):
    """The fake trainer; every Trainer made in the test is closed after it, so no queued task outlives it."""
    g, made = Gate(), []
    monkeypatch.setattr("core.practicum.training.train_runs", g)

    class Closing(Trainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)
    monkeypatch.setattr(sys.modules[__name__], "Trainer", Closing)
    yield g
    g.release.set()
    for trainer in made:
        trainer.close()


def test_worker_trains_one_configuration_once(tmp_path, gate):
    trainer = Trainer(ResultStore(tmp_path))
    config = RunConfig(model="fc")
    jobs = []
    threads = [threading.Thread(target=lambda: jobs.append(trainer.submit(config))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert jobs[0] is jobs[1]
    gate.release.set()
    assert wait_for(lambda: jobs[0].finished)
    assert jobs[0].state == "done" and jobs[1].result.accuracy == 90.0 and len(gate.calls) == 1
    # a new trainer (a restarted server) finds the stored result without training
    again = Trainer(ResultStore(tmp_path)).submit(config)
    assert again.state == "done" and again.result.accuracy == 90.0 and len(gate.calls) == 1


def test_a_convnet_trains_with_its_permuted_twin_once(tmp_path, gate):
    trainer = Trainer(ResultStore(tmp_path))
    original, twin = RunConfig(model="cnn"), RunConfig(model="cnn", permuted=True)
    job = trainer.submit(original)
    assert trainer.submit(twin) is trainer.lookup(twin) and trainer.lookup(twin) is not None  # queued with it
    gate.release.set()
    assert wait_for(lambda: job.finished and trainer.lookup(twin).finished)
    assert gate.calls == [(original, twin)]  # one task for the pair, in the canonical order
    assert job.result.accuracy == 90.0 and trainer.lookup(twin).result.accuracy == 91.0
    assert ResultStore(tmp_path).get(twin.key()).accuracy == 91.0


@pytest.mark.slow  # starts a process pool
def test_an_executor_in_other_processes_trains_and_stores(tmp_path):
    """The Dask case with a standard library stand-in: the work runs in another process, results come back."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from core.practicum.training import train

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        trainer = Trainer(ResultStore(tmp_path), executor=pool)
        config = RunConfig(model="cnn", dataset="mnist1d", epochs=1, train_size=300)
        job = trainer.submit(config)
        assert not trainer.engine.in_process and trainer.submit(config) is job
        assert wait_for(lambda: job.finished, 120)
    assert job.state == "done", job.error
    assert job.result.key == config.key() and job.progress.losses == job.result.losses
    assert ResultStore(tmp_path).get(config.key()).accuracy == job.result.accuracy
    # the same configuration trained here, in this process, gives the same numbers
    assert train(config, device="cpu").accuracy == job.result.accuracy


def test_a_process_killed_inside_the_write_leaves_the_old_result(tmp_path):
    """The child signals once it is inside ``put`` with half a record written; only then is it killed."""
    old = fake_result(RunConfig(model="fc"), 50.0)
    key = old.key
    ResultStore(tmp_path).put(old)
    before = (tmp_path / f"{key}.json").read_text()
    marker = tmp_path / "inside"
    script = (f"import sys, time; sys.path.insert(0, {str(ROOT)!r})\n"
              "from core.service import store\n"
              "from core.practicum.runs import RunConfig, RunResult\n"
              "real = store.atomic_write\n"
              "def stalling(path, write):  # the real atomic write, with a writer that stops halfway\n"
              "    def half(f):\n"
              "        f.write('{\"format\": \"convlab.run-result/1\", \"accuracy\": 9'); f.flush()\n"
              f"        open({str(marker)!r}, 'w').close()\n"
              "        time.sleep(60)\n"
              "    real(path, half)\n"
              "store.atomic_write = stalling\n"
              "store.ResultStore(" + repr(str(tmp_path)) + ").put(RunResult(RunConfig(model='fc'), 6442, 99.0, 0.1, [], []))\n")
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        assert wait_for(marker.exists, 60), "the writer never got inside the write"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    assert (tmp_path / f"{key}.json").read_text() == before  # never half a file
    assert ResultStore(tmp_path).get(key).accuracy == 50.0
    leftovers = list(tmp_path.glob(".*.tmp"))
    assert len(leftovers) == 1  # the killed writer's temporary file, swept once it is old
    os.utime(leftovers[0], (time.time() - 7200, time.time() - 7200))
    ResultStore(tmp_path)
    assert not list(tmp_path.glob(".*.tmp"))


def test_damaged_or_foreign_files_are_ignored_and_logged(tmp_path, caplog):
    store = ResultStore(tmp_path)
    config = RunConfig(model="fc")
    good = fake_result(config).to_dict()
    for text in ("[]", "{}", "null", "{half", json.dumps({**good, "key": "someoneelse"}),
                 json.dumps({**good, "accuracy": "high"}), json.dumps({**good, "accuracy": True}),
                 json.dumps({**good, "accuracy": 140.0}), json.dumps({**good, "format": "other-tool/3"}),
                 json.dumps({**good, "model": "cnn"}), json.dumps({**good, "config": {"model": "fc", "colour": 1}}),
                 json.dumps({k: v for k, v in good.items() if k != "losses"}),
                 json.dumps({**good, "config": {**good["config"], "seed": 7}})):  # another configuration's
        (tmp_path / f"{config.key()}.json").write_text(text)
        assert store.get(config.key()) is None, text
    assert "not a training result" in caplog.text
    (tmp_path / f"{config.key()}.json").write_text(json.dumps(good))
    assert store.get(config.key()) == fake_result(config)
    (tmp_path / f"{config.key()}.json").write_text("[]")
    trainer = Trainer(store)
    assert trainer.lookup(config) is None  # the page offers Train again


def test_a_full_disk_still_shows_the_result_and_says_why(tmp_path, gate, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr("core.practicum.files.os.fsync", full)  # the disk fills while the result is written
    trainer = Trainer(ResultStore(tmp_path))
    job = trainer.submit(RunConfig(model="fc"))
    gate.release.set()
    assert wait_for(lambda: job.finished)
    assert job.state == "done" and job.result.accuracy == 90.0
    assert "No space left on device" in job.unsaved
    assert trainer.lookup(RunConfig(model="fc")) is job  # other viewers get it from memory
    assert not list(tmp_path.iterdir())


def test_a_results_folder_that_cannot_be_created_is_explained(tmp_path, gate):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = ResultStore(blocker / "results")
    assert store.problem and "CONVLAB_RESULTS_DIR" in store.problem and store.get("abc") is None
    trainer = Trainer(store)
    job = trainer.submit(RunConfig(model="fc"))
    gate.release.set()
    assert wait_for(lambda: job.finished)
    assert job.state == "done" and "CONVLAB_RESULTS_DIR" in job.unsaved


def test_the_results_folder_keeps_the_recently_used_under_its_cap(tmp_path):
    configs = [RunConfig(model="fc", seed=s) for s in range(6)]
    size = len(fake_result(configs[0]).to_json())
    store = ResultStore(tmp_path, max_bytes=3.5 * size)
    for i, c in enumerate(configs[:3]):
        store.put(fake_result(c))
        os.utime(tmp_path / f"{c.key()}.json", (1000 + i, 1000 + i))
    assert store.get(configs[0].key()) is not None  # opened again: now the most recently used
    store.put(fake_result(configs[3]))
    kept = {p.stem for p in tmp_path.glob("*.json")}
    assert kept == {configs[0].key(), configs[2].key(), configs[3].key()}  # the least recently used went


def test_a_result_read_again_is_the_file_as_it_is_now(tmp_path):
    config = RunConfig(model="fc", seed=3)
    store, other = ResultStore(tmp_path), ResultStore(tmp_path)  # two replicas on one shared folder
    store.put(fake_result(config, accuracy=91.0))
    assert store.get(config.key()).accuracy == 91.0
    assert store.get(config.key()) is store.get(config.key())  # unchanged: not parsed again
    other.put(fake_result(config, accuracy=97.5))  # retrained elsewhere, written over it
    assert store.get(config.key()).accuracy == 97.5
    (tmp_path / f"{config.key()}.json").unlink()  # trimmed by another replica
    assert store.get(config.key()) is None
    (tmp_path / f"{config.key()}.json").write_text("not json")
    assert store.get(config.key()) is None


def test_a_result_read_often_is_marked_used_once_a_minute(tmp_path):
    from core.service.store import TOUCH_EVERY

    config = RunConfig(model="fc", seed=4)
    store = ResultStore(tmp_path)
    store.put(fake_result(config))
    path = tmp_path / f"{config.key()}.json"
    old = time.time() - 2 * TOUCH_EVERY
    os.utime(path, (old, old))
    store.get(config.key())
    touched = path.stat().st_mtime
    assert touched > old + TOUCH_EVERY  # an old file read again: marked as used
    os.utime(path, (touched - 1, touched - 1))
    store.get(config.key())
    assert path.stat().st_mtime == touched - 1  # read again within the minute: no write


def test_a_full_queue_refuses_and_queues_nothing(tmp_path, gate):
    trainer = Trainer(ResultStore(tmp_path), limits=Limits(max_waiting=2, per_viewer=8))
    running = trainer.submit(RunConfig(model="fc", seed=0), viewer="a")
    assert gate.started.wait(10)
    trainer.submit_all([RunConfig(model="fc", seed=1), RunConfig(model="fc", seed=2)], viewer="b")
    with pytest.raises(Busy) as busy:
        trainer.submit_all([RunConfig(model="fc", seed=3), RunConfig(model="fc", seed=4)], viewer="c")
    assert busy.value.ahead == 3 and "3 training(s)" in str(busy.value)
    assert trainer.lookup(RunConfig(model="fc", seed=3)) is None  # all or nothing
    # asking again for what is already queued costs nothing and is never refused
    assert trainer.submit(RunConfig(model="fc", seed=1), viewer="c").state == "queued"
    assert trainer.ahead(trainer.lookup(RunConfig(model="fc", seed=2))) == 2 and running.state == "running"


def test_one_viewer_has_a_small_share_of_the_queue(tmp_path, gate):
    trainer = Trainer(ResultStore(tmp_path), limits=Limits(max_waiting=50, per_viewer=3))
    trainer.submit_all([RunConfig(model="fc", seed=s) for s in range(3)], viewer="a")
    with pytest.raises(Busy, match="at most 3"):
        trainer.submit(RunConfig(model="fc", seed=9), viewer="a")
    assert trainer.submit(RunConfig(model="fc", seed=9), viewer="b").state in ("queued", "running")


def test_queued_runs_nobody_watches_are_dropped(tmp_path, gate):
    trainer = Trainer(ResultStore(tmp_path), limits=Limits(abandon_after=0.3))
    first, second = trainer.submit_all([RunConfig(model="fc", seed=0), RunConfig(model="fc", seed=1)], viewer="a")
    assert gate.started.wait(10)
    time.sleep(0.5)  # the viewer left: no more looks
    assert trainer.queue() == [first] and second.state == "cancelled"
    gate.release.set()
    assert wait_for(lambda: first.finished) and len(gate.calls) == 1


def test_cancel_stops_a_run_only_when_nobody_else_waits(tmp_path, gate):
    trainer = Trainer(ResultStore(tmp_path))
    config = RunConfig(model="fc")
    job = trainer.submit(config, viewer="a")
    trainer.lookup(config, viewer="b")  # a second viewer of the same link
    assert gate.started.wait(10)
    assert not trainer.cancel(job.key, viewer="a") and not job.cancel_requested  # b still waits
    assert trainer.cancel(job.key, viewer="b")
    assert wait_for(lambda: job.finished) and job.state == "cancelled"
    assert not list(Path(tmp_path).glob("*"))  # nothing stored, nothing left behind


class _SlowAppend(list):
    """A loss list whose append pauses first: the writer sits between setting the step and appending its loss,
    the interleaving a snapshot without the lock would read half of."""

    def append(self, value):
        time.sleep(0.0002)
        super().append(value)


def test_progress_is_read_from_a_consistent_snapshot():
    progress, done = Progress(losses=_SlowAppend()), threading.Event()

    def writer():
        for i in range(1, 1001):
            progress.report(i, 1.0 / i, 50.0)
        done.set()
    t = threading.Thread(target=writer)
    t.start()
    torn = 0
    try:
        while not done.is_set():
            snap = progress.snapshot()
            torn += len(snap.losses) != snap.step
            assert snap.losses is not progress.losses
    finally:
        t.join()
    assert torn == 0


CHILD = """
import sys, time, signal
sys.path.insert(0, {root!r})
from core.practicum.runs import RunConfig
from core.service.store import ResultStore
from core.service.worker import Trainer
trainer = Trainer(ResultStore({results!r}))
job = trainer.submit(RunConfig(model="fc", dataset="mnist1d", epochs=50, width=64))
while job.state != "running" or job.progress.step < 30:
    time.sleep(0.01)
print("running", flush=True)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))  # what the server does: stop, then leave the main thread
time.sleep(600)
"""


@pytest.mark.slow  # a child process that trains
def test_sigterm_stops_the_running_training_and_leaves_no_temporary_files(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT), results=str(tmp_path))],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "running"
        started = time.time()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        assert time.time() - started < 5, "the server would still be training"
    finally:
        proc.kill()
    assert not list(tmp_path.iterdir())  # no result, no temporary file


@pytest.mark.slow  # two child processes
def test_a_kill_during_training_then_a_restart_offers_train_again(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT), results=str(tmp_path))],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "running"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    # killed while training: nothing was stored (a kill inside the write itself is
    # test_a_process_killed_inside_the_write_leaves_the_old_result)
    assert not list(tmp_path.glob("*.json"))
    config = RunConfig(model="fc", dataset="mnist1d", epochs=1, width=64)
    trainer = Trainer(ResultStore(tmp_path))
    assert trainer.lookup(RunConfig(model="fc", dataset="mnist1d", epochs=50, width=64)) is None  # Train again
    job = trainer.submit(config)
    assert wait_for(lambda: job.finished, 120) and job.state == "done" and job.unsaved is None
    assert ResultStore(tmp_path).get(config.key()) == job.result


def test_the_trainer_measures_its_own_speed_for_estimates(tmp_path):
    from core.practicum.costs import time_estimate, training_cost

    trainer = Trainer(ResultStore(tmp_path))
    assert trainer.speed() is None
    said = time_estimate(3e10, None, ahead=3)
    assert not re.search(r"\d (s|min|h)\b", said) and "no time estimate" in said  # no first guess as a duration
    assert "3 run(s) of other viewers are ahead" in said
    config = RunConfig(model="fc", dataset="mnist1d", epochs=2, train_size=400)
    job = trainer.submit(config)
    assert wait_for(lambda: job.finished, 120) and job.state == "done"
    r = job.result
    # the speed is the cost the shapes say over the seconds the run reported: 2 epochs of 400 samples and the
    # 1,000 test sequences, 15,000 multiply-adds each (40x100 + 100x100 + 100x10), backward twice the forward
    assert training_cost([config]) == 15_000 * 2 * (3 * 400 + 1000)
    assert trainer.speed() == pytest.approx(training_cost([config]) / (r.train_seconds + r.eval_seconds))
    assert trainer.speed_range() == (trainer.speed(), trainer.speed())
    assert time_estimate(3e10, (1e9, 1e9)).startswith("about 30 s at this server's measured speeds")
    # the range: the slowest speed gives the longest time; 3e12 at 1e9 is 3,000 s, at 2e9 1,500 s
    assert time_estimate(3e12, (1e9, 2e9)).startswith("25 min to 50 min")
    assert "ahead" not in time_estimate(3e12, (1e9, 2e9)) and "1 run(s)" in time_estimate(3e12, (1e9, 2e9), 1)
    trainer.close()


def test_progress_says_how_long_is_left_at_its_pace():
    p = Progress()
    assert p.seconds_left() is None  # nothing to go on before the first report
    p.start(100)
    p.started = 1000.0
    p.report(25, 1.0, 50.0)
    assert p.seconds_left(now=1010.0) == pytest.approx(30.0)  # 25 steps in 10 s: 75 more take 30 s
    assert p.snapshot().seconds_left(now=1010.0) == pytest.approx(30.0)
