import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The MNIST data directory: $CONVLAB_DATA_DIR, else ../shared/data beside the checkout."""
    value = os.environ.get("CONVLAB_DATA_DIR")
    path = Path(value) if value else SHARED_DATA
    if not (path / "MNIST" / "raw").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"MNIST is missing from {path}; CI must provide it")
        pytest.skip(f"MNIST is not in {path}")
    return path


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Keep the tests' extracted data and results out of the user's cache; find ../shared/data as CI does."""
    os.environ.setdefault("CONVLAB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    if "CONVLAB_DATA_DIR" not in os.environ and (SHARED_DATA / "MNIST" / "raw").is_dir():
        os.environ["CONVLAB_DATA_DIR"] = str(SHARED_DATA)


@pytest.fixture
def offline_without_data(tmp_path, monkeypatch):
    """No data directory, an empty cache, and every network connection refused."""
    from core.practicum import data

    monkeypatch.setenv("CONVLAB_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("CONVLAB_CACHE_DIR", str(tmp_path / "cache"))

    def no_network(*args, **kwargs):
        raise OSError("network is unreachable")
    monkeypatch.setattr("socket.socket.connect", no_network)
    monkeypatch.setattr("socket.create_connection", no_network)
    data.load_images.cache_clear()
    yield
    data.load_images.cache_clear()


@pytest.fixture(scope="session")
def trained_practicum(data_dir, tmp_path_factory):
    """The practicum's four MNIST runs at pp_n=500, pp_seed=7, trained once for the whole session and stored with
    their weights: (the results folder, the four configurations). Tests that change the folder copy it first."""
    from core.practicum.data import load_dataset
    from core.practicum.practicum import practicum_configs
    from core.practicum.runs import pair_of
    from core.practicum.training import train_runs
    from core.service.store import ResultStore

    store = ResultStore(tmp_path_factory.mktemp("stored") / "results")
    data = load_dataset("mnist", str(data_dir))
    configs, _ = practicum_configs("mnist", ("fc", "cnn"), seed=7, train_size=500)
    done = set()
    for c in configs:
        if c.key() not in done:
            for r in train_runs(pair_of(c) or (c,), data):
                store.put(r)
                done.add(r.key)
    return store.root, configs


# `pytest --train-durations`: how long each training in the run took, and which test asked for it. The quick run
# (`-m "not slow"`) is meant to train nothing over a second; this shows it.
_TRAININGS: list[tuple[float, int, str]] = []


def pytest_addoption(parser):
    parser.addoption("--train-durations", action="store_true",
                     help="list the slowest trainings (core.practicum.training.train_runs calls) and their tests")


def pytest_configure(config):
    if not config.getoption("--train-durations"):
        return
    import time

    from core.practicum import training

    real = training.train_runs

    def timed(configs, *args, **kwargs):
        started = time.perf_counter()
        try:
            return real(configs, *args, **kwargs)
        finally:
            _TRAININGS.append((time.perf_counter() - started, len(configs), os.environ.get("PYTEST_CURRENT_TEST", "")))
    training.train_runs = timed


def pytest_terminal_summary(terminalreporter, config):
    if config.getoption("--train-durations"):
        terminalreporter.section("slowest trainings")
        for seconds, runs, test in sorted(_TRAININGS, reverse=True)[:10]:
            terminalreporter.write_line(f"{seconds:6.2f} s  {runs} run(s)  {test}")
        terminalreporter.write_line(f"{len(_TRAININGS)} trainings in all")
