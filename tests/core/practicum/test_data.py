"""The data directory: IDX files read for their content (oracle: torchvision's md5-checked reader)."""

import gzip
import shutil

import pytest
import torch

from core.practicum import data


@pytest.fixture(scope="module")
def torchvision_mnist(data_dir, tmp_path_factory):
    """torchvision's own reading of the original files (it checks their md5)."""
    import torchvision.datasets as tvd

    root = tmp_path_factory.mktemp("tv")
    shutil.copytree(data_dir / "MNIST" / "raw", root / "MNIST" / "raw")
    return {train: tvd.MNIST(str(root), train=train, download=True) for train in (True, False)}


def _recompressed(data_dir, target, level=1, files="*.gz"):
    """The same files, decompressed and gzipped again: other bytes, other md5, the same data."""
    raw = target / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for src in (data_dir / "MNIST" / "raw").glob("*.gz"):
        if not src.match(files):  # the others as they are
            (raw / src.name).symlink_to(src.resolve())
            continue
        content = gzip.decompress(src.read_bytes())
        packed = gzip.compress(content, compresslevel=level, mtime=0)
        assert packed != src.read_bytes()
        (raw / src.name).write_bytes(packed)
    return target


@pytest.fixture(autouse=True)
def _fresh():
    data.load_images.cache_clear()
    yield
    data.load_images.cache_clear()


def test_recompressed_files_load_and_equal_torchvisions_reading(data_dir, torchvision_mnist, tmp_path):
    import torchvision.datasets as tvd

    folder = _recompressed(data_dir, tmp_path / "data")
    with pytest.raises(RuntimeError):  # torchvision's md5 check refuses these files
        tvd.MNIST(str(folder), train=False, download=True)
    for train in (True, False):
        got = data.load_images("mnist", train, str(folder))
        assert torch.equal(got.images, torchvision_mnist[train].data)
        assert torch.equal(got.labels, torchvision_mnist[train].targets)


def test_extracted_files_load_too(data_dir, torchvision_mnist, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for src in (data_dir / "MNIST" / "raw").glob("t10k-*.gz"):
        (raw / src.name.removesuffix(".gz")).write_bytes(gzip.decompress(src.read_bytes()))
    got = data.load_images("mnist", False, str(tmp_path))
    assert torch.equal(got.images, torchvision_mnist[False].data)


@pytest.mark.parametrize("damage, said", [
    (lambda b: b[: len(b) // 2], "bytes of data after its header, expected 7840000"),  # truncated
    (lambda b: b"\x00\x00\x08\x01" + b[4:], "magic number 0x801, expected 0x803"),  # a labels header
    (lambda b: b[:4] + (9999).to_bytes(4, "big") + b[8:], "holds 9999 × 28 × 28 values, expected 10000 × 28 × 28"),
    (lambda b: b[:10], "shorter than an IDX header"),
])
def test_a_damaged_file_is_named_with_what_is_wrong(data_dir, tmp_path, damage, said):
    folder = _recompressed(data_dir, tmp_path / "data", files="t10k-images-*.gz")  # the one file damaged here
    bad = folder / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(gzip.compress(damage(gzip.decompress(bad.read_bytes())), compresslevel=1))
    assert data.available("mnist", str(folder))  # present: the sidebar says found, and the error says why not
    with pytest.raises(data.DataUnavailable) as err:
        data.load_images("mnist", False, str(folder))
    assert str(bad) in str(err.value) and said in str(err.value)
    assert "could not be downloaded" not in str(err.value)


def test_a_file_that_is_not_gzip_is_named(data_dir, tmp_path):
    folder = _recompressed(data_dir, tmp_path / "data", files="t10k-*.gz")
    bad = folder / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(data.DataUnavailable, match="t10k-labels-idx1-ubyte.gz cannot be read"):
        data.load_images("mnist", False, str(folder))


def test_a_download_into_a_cache_that_cannot_be_written_names_the_setting(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("CONVLAB_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setenv("CONVLAB_DATA_DIR", str(tmp_path / "no-data-here"))
    with pytest.raises(data.DataUnavailable, match="CONVLAB_CACHE_DIR"):
        data.load_images("kmnist", False)


def test_a_failed_download_is_not_tried_again_by_every_viewer_for_a_minute(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CONVLAB_DATA_DIR", str(tmp_path / "no-data-here"))
    monkeypatch.setattr(data, "_FAILED_DOWNLOADS", {})
    tries = []

    from torchvision.datasets import FashionMNIST

    class Offline(FashionMNIST):  # torchvision's dataset on a machine without a network: every try fails
        def __init__(self, *args, **kwargs):
            tries.append(1)
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")
    Offline.__name__ = "FashionMNIST"
    monkeypatch.setattr(data, "_dataset_class", lambda name: Offline)
    clock = [1000.0]
    monkeypatch.setattr(data.time, "monotonic", lambda: clock[0])
    for _ in range(5):  # a class opening the link: one download attempt, the same sentence for everyone
        data.load_images.cache_clear()
        with pytest.raises(data.DataUnavailable, match="could not be downloaded"):
            data.load_images("fashion-mnist", True)
    assert len(tries) == 1
    clock[0] += data.RETRY_DOWNLOAD_AFTER + 1  # a minute on: the next viewer tries again
    data.load_images.cache_clear()
    with pytest.raises(data.DataUnavailable):
        data.load_images("fashion-mnist", True)
    assert len(tries) == 2


def test_sample_image_honours_its_size(data_dir):
    from core.lecture.images import sample_image

    digit, caption = sample_image("mnist digit", directory=str(data_dir))
    assert digit.shape == (28, 28) and caption == "MNIST test digit 0 (a 7)"  # the first test digit is a 7
    bigger, caption = sample_image("mnist digit", 40, directory=str(data_dir))
    assert bigger.shape == (40, 40) and caption.endswith("resized to 40×40")
    assert sample_image("coins")[0].shape == (48, 48) and sample_image("coins", 20)[0].shape == (20, 20)


# ---- MNIST-1D, generated once per machine and kept in the cache folder ----

SMALL = {"num_samples": 300, "seed": 3, "shuffle_seq": False, "max_translation": 48, "iid_noise_scale": 2e-2,
         "corr_noise_scale": 0.25}


def _made_by_mnist1d(knobs):
    """The oracle: the package's own generator, called directly."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    for k, v in knobs.items():
        setattr(args, k, v)
    return make_dataset(args)


def test_mnist1d_is_generated_once_then_read_back_equal(tmp_path, monkeypatch):
    import mnist1d.data
    import numpy as np

    monkeypatch.setenv("CONVLAB_CACHE_DIR", str(tmp_path))
    first = data._generated_mnist1d(**SMALL)
    want = _made_by_mnist1d(SMALL)
    assert len(list((tmp_path / "mnist1d").glob("*.npz"))) == 1
    assert not list((tmp_path / "mnist1d").glob("*.tmp"))

    def refuse(args):
        raise AssertionError("generated again")
    monkeypatch.setattr(mnist1d.data, "make_dataset", refuse)
    again = data._generated_mnist1d(**SMALL)  # from the file: the generator is not called
    for k in data.MNIST1D_ARRAYS:
        assert np.array_equal(first[k], want[k]) and np.array_equal(again[k], want[k]), k
        assert again[k].dtype == np.asarray(want[k]).dtype
    with pytest.raises(AssertionError, match="generated again"):  # other knobs are another file
        data._generated_mnist1d(**{**SMALL, "seed": 4})


def test_a_damaged_mnist1d_cache_is_generated_again(tmp_path, monkeypatch, caplog):
    import numpy as np

    monkeypatch.setenv("CONVLAB_CACHE_DIR", str(tmp_path))
    data._generated_mnist1d(**SMALL)
    (kept,) = (tmp_path / "mnist1d").glob("*.npz")
    kept.write_bytes(b"PK\x03\x04 half a file")
    with caplog.at_level("WARNING", logger="convlab.data"):
        got = data._generated_mnist1d(**SMALL)
    assert "unreadable" in caplog.text
    assert np.array_equal(got["x"], _made_by_mnist1d(SMALL)["x"])
    with np.load(kept, allow_pickle=False) as stored:  # replaced by a good copy
        assert np.array_equal(stored["y_test"], got["y_test"])


def test_mnist1d_without_a_writable_cache_still_loads(tmp_path, monkeypatch, caplog):
    import numpy as np

    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")  # mkdir fails, as on a full or read-only disk
    monkeypatch.setenv("CONVLAB_CACHE_DIR", str(blocked))
    with caplog.at_level("WARNING", logger="convlab.data"):
        got = data._generated_mnist1d(**SMALL)
    assert "not kept" in caplog.text
    assert np.array_equal(got["x_test"], _made_by_mnist1d(SMALL)["x_test"])
