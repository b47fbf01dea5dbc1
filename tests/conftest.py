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
