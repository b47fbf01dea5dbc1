"""Measures of the three properties on known signals, the generator's dials, and uploads."""

import io
import wave

import numpy as np
import pytest
from PIL import Image

from core.lecture import signals as s
from core.lecture.signals.generate import _gaussian_power
from core.lecture.images import photo
from core.lecture.uploads import UploadError, read_upload


@pytest.fixture
def rng():
    """A generator of the test's own: a test run alone sees the data it sees in the suite."""
    return np.random.default_rng(0)


def test_white_noise_is_not_local(rng):
    w = rng.standard_normal(8192)
    assert s.correlation_length(w) <= 1.5
    assert abs(s.spectral_slope(w)) < 0.2
    img = rng.standard_normal((256, 256))
    assert s.correlation_length(img) <= 1.5 and abs(s.spectral_slope(img)) < 0.2


def test_random_walk_has_slope_minus_two(rng):
    walks = [s.spectral_slope(np.cumsum(rng.standard_normal(8192))) for _ in range(4)]
    assert -2.3 < np.mean(walks) < -1.7


def test_autocorrelation_hand_worked():
    # a period-4 square wave: +1 +1 -1 -1 ...: correlation 1, 0, -1, 0 at lags 0..3
    x = np.tile([1.0, 1.0, -1.0, -1.0], 64)
    ac = s.autocorrelation(x)["autocorrelation"].to_numpy()
    np.testing.assert_allclose(ac[:4], [1, 0, -1, 0], atol=1e-12)


@pytest.mark.parametrize("name", ["camera", "chelsea", "coffee", "coins", "brick", "grass", "gravel", "text"])
def test_bundled_photographs_are_natural_and_their_permutations_are_not(name):
    img = photo(name)
    assert -3.2 <= s.spectral_slope(img) <= -1.5
    scrambled = s.permute(img)
    assert abs(s.spectral_slope(scrambled)) < 0.3
    assert s.correlation_length(scrambled) < 1 < s.correlation_length(img)
    assert np.array_equal(np.sort(img.ravel()), np.sort(scrambled.ravel()))  # every value kept
    # compositionality collapses too: squinting at 16x keeps nothing of the scrambled copy (white noise: 1/16)
    squint = s.squint_curve(scrambled, (16,))["correlation"].iloc[0]
    assert squint < 0.1 < s.squint_curve(img, (16,))["correlation"].iloc[0]


@pytest.mark.parametrize("name", ["camera", "chelsea", "coffee", "text"])
def test_scenes_are_compositional_and_their_permutations_are_not(name):
    # a scene has coarse structure over its finest; a scrambled copy has one scale only (about 0.2)
    img = photo(name)
    assert s.compositionality_score(img) > s.compositionality_score(s.permute(img)) + 0.15


def _tone(hz=440.0, rate=8000, seconds=2.0):
    return np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate)


@pytest.mark.parametrize("make", [_tone, s.melody], ids=["pure tone", "melody"])
def test_measures_that_do_not_apply_to_a_tone_say_so(make):
    x = make()
    m = s.summary(x)
    # one spectral line (a tone) or a few (a tune) is no power law: no slope, not "+18.4"
    assert np.isnan(m["spectral slope"]) and "not a power law" in m["notes"]["spectral slope"]
    # the squint test on an oscillation reads its period: it does not apply (it said the scrambled copy was the
    # more compositional, 0.30 against 0.01)
    assert np.isnan(m["squint (compositionality)"]) and "oscillates" in m["notes"]["squint (compositionality)"]
    # the scrambled copy is white noise: every measure applies, and says one scale, no slope
    p = s.summary(s.permute(x))
    assert p["notes"] == {}
    assert abs(p["spectral slope"]) < 0.2 and p["squint (compositionality)"] < 0.35
    assert p["correlation length"] < 1 < m["correlation length"]
    shown, notes = s.summary_table([{"copy": "original", **m}, {"copy": "permuted", **p}])
    assert shown.set_index("copy").loc["original", "spectral slope"] == "does not apply"
    assert set(notes["measure"]) == {"spectral slope", "squint (compositionality)"}


def test_a_tone_is_still_local_and_stationary():
    x = _tone()
    assert s.stationarity_score(x) < 0.1  # the same everywhere
    ac = s.autocorrelation(x)["autocorrelation"].to_numpy()
    np.testing.assert_allclose(ac[:40], np.cos(2 * np.pi * 440 / 8000 * np.arange(40)), atol=1e-3)


@pytest.mark.parametrize("name", ["camera", "coffee", "text"])
def test_natural_images_and_their_scanlines_keep_every_measure(name):
    img = photo(name)
    assert s.summary(img)["notes"] == {}
    assert s.summary(img[len(img) // 2])["notes"] == {}  # one row: a short record of a few large shapes, no tone


@pytest.mark.parametrize("texture", ["brick", "grass", "gravel"])
def test_textures_are_more_stationary_than_sky_over_ground(texture):
    # the camera man: smooth sky at the top, textured grass at the bottom
    assert s.stationarity_score(photo(texture)) < 0.5 * s.stationarity_score(photo("camera"))


def _measures(nd, **dials):
    values = [(s.correlation_length(x), s.stationarity_score(x), s.compositionality_score(x))
              for x in (s.generate(nd, **dials, seed=seed) for seed in range(3))]
    return np.mean(values, axis=0)


@pytest.mark.parametrize("nd", [1, 2])
def test_each_dial_moves_its_own_measure(nd):
    base = {"locality": 0.5, "stationarity": 1.0, "compositionality": 0.0}
    grid = (0.0, 0.25, 0.5, 0.75, 1.0)
    for dial, index, direction in (("locality", 0, 1), ("stationarity", 1, -1), ("compositionality", 2, 1)):
        values = [_measures(nd, **{**base, dial: v})[index] for v in grid]
        assert all(direction * (b - a) > 0 for a, b in zip(values, values[1:])), (dial, values)


@pytest.mark.parametrize("nd", [1, 2])
def test_dials_leave_other_measures_in_a_band(nd):
    """Every dial, swept over its range, leaves the other two properties' measures near their base values."""
    base = {"locality": 0.5, "stationarity": 1.0, "compositionality": 0.0}
    length, drift, squint = _measures(nd, **base)
    comp_range = _measures(nd, **{**base, "compositionality": 1.0})[2] - squint
    assert comp_range > 0.15
    for v in (0.0, 0.5, 1.0):
        l_, d_, q_ = _measures(nd, **{**base, "locality": v})
        assert d_ < 0.2  # the stationarity dial moves it from about 0.05 to 0.9
        assert abs(q_ - squint) < 0.3 * comp_range, ("locality moved compositionality", v, q_, squint)
        l_, d_, q_ = _measures(nd, **{**base, "stationarity": v})
        assert abs(l_ / length - 1) < 0.15 and abs(q_ - squint) < 0.3 * comp_range, ("stationarity", v, l_, q_)
        l_, d_, q_ = _measures(nd, **{**base, "compositionality": v})
        assert abs(l_ / length - 1) < 0.15 and abs(d_ - drift) < 0.1, ("compositionality", v, l_, d_)


@pytest.mark.parametrize("nd", [1, 2])
def test_the_locality_dial_sets_the_correlation_length_it_promises(nd):
    # white noise: the autocorrelation is 1 at lag 0 and 0 at lag 1, so the 1/e crossing is at 1 - 1/e
    assert s.correlation_length(s.generate(nd, locality=0.0)) == pytest.approx(1 - 1 / np.e, abs=0.05)
    for loc in (0.25, 0.5, 0.75):
        for comp in (0.0, 1.0):
            measured = np.mean([s.correlation_length(s.generate(nd, loc, 1.0, comp, seed=k)) for k in range(3)])
            assert measured == pytest.approx(s.target_length(nd, loc), rel=0.2), (loc, comp)


def test_hierarchy_levels_hand_worked():
    # compositionality 1: four levels, each coarse one 10 % of the variance at 4x the scale of the one below
    levels = s.hierarchy(4096, 1, 0.5, 1.0)
    assert [round(w, 3) for w, _ in levels] == [0.7, 0.1, 0.1, 0.1]
    widths = [sg for _, sg in levels[1:]]
    assert widths[1] / widths[0] == pytest.approx(4) and widths[2] / widths[1] == pytest.approx(4)
    # half way: 2.5 levels, the last one entering with half its share
    assert [round(w, 3) for w, _ in s.hierarchy(4096, 1, 0.5, 0.5)] == [0.85, 0.1, 0.05]


def _squint_oracle(x, scale):
    """The squint test as first written: scikit-image's resize down (anti-aliased) and back up (linear)."""
    from skimage.transform import resize

    back = resize(resize(x, tuple(max(2, n // scale) for n in x.shape), anti_aliasing=True), x.shape, order=1)
    return np.corrcoef(x.ravel(), back.ravel())[0, 1]


@pytest.mark.parametrize("shape", [(256, 256), (300, 451), (512, 77), (37,), (512,), (40,)])
def test_the_squint_test_is_scikit_images_resize_there_and_back(shape, rng):
    x = rng.standard_normal(shape).cumsum(axis=0)  # some structure, so the correlations spread out
    scales = (1, 2, 3, 4, 8, 16)
    expected = [_squint_oracle(x, k) for k in scales]
    got = s.squint_curve(x, scales)["correlation"].to_numpy()
    assert np.abs(got - expected).max() < 1e-12
    assert len(set(np.round(expected, 3))) > 3  # the scales do differ


@pytest.mark.parametrize("shape", [(256, 256), (37, 53), (100, 8), (45,), (4096,), (5, 9), (6,)])
def test_local_statistics_are_each_tiles_mean_and_std(shape, rng):
    # the oracle: NumPy's mean and std of every tile np.array_split makes, one tile at a time
    x = rng.standard_normal(shape) * np.linspace(1, 3, shape[0]).reshape(-1, *([1] * (len(shape) - 1)))
    z = (x - x.mean()) / (x.std() + 1e-12)
    bands = np.array_split(z, 8, axis=0)
    tiles = [(0, i, b) for i, b in enumerate(bands)] if z.ndim == 1 else \
        [(i, j, t) for i, b in enumerate(bands) for j, t in enumerate(np.array_split(b, 8, axis=1))]
    got = s.local_statistics(x)
    assert list(zip(got["row"], got["col"])) == [(i, j) for i, j, _ in tiles]
    for (_, _, t), (_, row) in zip(tiles, got.iterrows()):
        if t.size:
            assert row["mean"] == pytest.approx(t.mean(), abs=1e-12) and row["std"] == pytest.approx(t.std(), abs=1e-12)
        else:  # fewer samples than tiles: the empty ones are NaN, and the stationarity score leaves them out
            assert np.isnan(row["mean"]) and np.isnan(row["std"])


def test_a_longer_signal_than_the_matrices_cover_is_squinted_by_resize_itself(rng):
    x = rng.standard_normal(s.SQUINT_MATRIX_MAX * 4).cumsum()
    assert s.squint_curve(x, (8,))["correlation"].iloc[0] == pytest.approx(_squint_oracle(x, 8), abs=1e-12)


@pytest.mark.parametrize("nd", [1, 2])
def test_generated_levels_are_the_full_complex_fft_synthesis(nd):
    # the oracle: each level synthesised with the full complex FFT, as the generator's docstring describes it
    size, seed = (1024, 64)[nd - 1], 5
    levels = s.hierarchy(size, nd, 0.6, 0.7)
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(size)
    f2 = f ** 2 if nd == 1 else f[:, None] ** 2 + f[None, :] ** 2
    x = np.zeros((size,) * nd)
    for share, sigma in levels:
        level = np.real(np.fft.ifftn(np.fft.fftn(rng.standard_normal(x.shape)) * np.sqrt(_gaussian_power(f2, sigma))))
        x += np.sqrt(share) * (level - level.mean()) / level.std()
    x = (x - x.mean()) / x.std()
    np.testing.assert_allclose(s.generate(nd, 0.6, 1.0, 0.7, size=size, seed=seed), x, atol=1e-10)

# --- uploads -----------------------------------------------------------------------------------------

def _png(w=64, h=48, mode="L"):
    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(w * h).random((h, w) if mode == "L" else (h, w, 3)) * 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _wav(channels=2, n=4000, rate=8000):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((np.random.default_rng(n).standard_normal(n * channels) * 3000).astype(np.int16).tobytes())
    return buf.getvalue()


def test_good_uploads():
    img = read_upload("a.png", _png(mode="RGB"))
    assert img.kind == "image" and img.channels == 3 and img.data.shape == (48, 64)
    snd = read_upload("a.wav", _wav(channels=6))
    assert snd.kind == "audio" and snd.channels == 6 and snd.data.ndim == 1 and snd.rate == 8000
    sig = read_upload("s.csv", ("value\n" + "\n".join(map(str, range(100)))).encode())
    assert sig.kind == "signal" and len(sig.data) == 100
    table = read_upload("t.csv", ("age,income,zip\n" + "\n".join(f"{i},{i * 7},{i % 5}" for i in range(100))).encode())
    assert table.kind == "table" and "order means nothing" in table.notes[0]


def test_large_valid_image_is_downsampled_with_a_notice():
    big = read_upload("big.png", _png(w=2000, h=1000))
    assert max(big.data.shape) == 512 and "downsampled" in big.notes[0]


def _bomb_png(w, h):
    """A PNG that announces w x h pixels in its header and holds no pixels: a decompression-bomb probe.

    Written chunk by chunk (signature, IHDR, an empty IDAT, IEND): encoding a real 400-megapixel image here
    cost seconds at every collection of the suite.
    """
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)  # 1-bit greyscale, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("name,raw,match", [
    ("empty.png", b"", "empty"),
    ("cut.png", _png()[:60], "damaged|not a readable"),
    ("fake.png", b"GIF89a" + b"\0" * 100, "not a readable|holds"),
    ("photo.jpg", _png(), "holds PNG"),
    ("bomb.png", _bomb_png(20000, 20000), "megapixels"),
    ("huge.png", _bomb_png(8000, 6250), "50 megapixels"),
    ("words.csv", b"name,city\nann,paris\nbob,rome\n", "no numeric column"),
    ("broken.wav", b"RIFF\0\0\0\0WAVEfmt ", "not a readable WAV"),
    ("notes.txt", b"hello", "only PNG, JPEG, WAV and CSV"),
])
def test_bad_uploads_get_one_line(name, raw, match):
    with pytest.raises(UploadError, match=match) as info:
        read_upload(name, raw)
    assert "\n" not in str(info.value)


def test_data_types_table_follows_the_lecture():
    df = s.data_types({"image, grayscale": ("camera", photo("camera", 128))}).set_index("data")
    assert df.loc["audio, 5.1 surround", "channels"] == "6" and df.loc["audio, 5.1 surround", "dimensions"] == "1"
    assert df.loc["image, RGB", "channels"] == "3" and df.loc["image, RGB", "dimensions"] == "2"
    assert not df.loc["tabular records", ["stationary", "local", "compositional"]].any()
    assert -3.2 < df.loc["image, grayscale", "spectral slope"] < -1.5


def _float_wav(samples):
    from scipy.io import wavfile

    buf = io.BytesIO()
    wavfile.write(buf, 8000, np.asarray(samples, dtype=np.float32))
    return buf.getvalue()


def _png_of(pixels, mode="L"):
    buf = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8), mode).save(buf, "PNG")
    return buf.getvalue()


DEGENERATE = [  # (name, bytes, what the one line must say)
    ("white.png", _png_of(np.full((64, 64), 255)), "constant"),
    ("black.png", _png_of(np.zeros((64, 64))), "constant"),
    ("rgb-grey.png", _png_of(np.full((32, 32, 3), 128), "RGB"), "constant"),
    ("tiny.png", _png_of(np.random.default_rng(1).integers(0, 255, (4, 4))), "too small"),
    ("strip.png", _png_of(np.random.default_rng(2).integers(0, 255, (8, 300))), "too small"),
    ("thin.png", _bomb_png(4_000_000, 1), "too small"),  # header only: refused before a pixel is decoded
    ("long.png", _bomb_png(50_000, 20), "too long and thin"),
    ("zeros.csv", b"x\n" + b"0\n" * 200, "constant"),
    ("same.csv", b"x\n" + b"3.5\n" * 200, "constant"),
    ("inf.csv", b"x\n" + b"1\n" * 100 + b"inf\n", "not finite"),
    ("minus-inf.csv", b"x\n" + b"-inf\n" + b"1\n2\n" * 50, "not finite"),
    ("short.csv", b"x\n1\n2\n3\n", "at least 64"),
    ("silent.wav", _float_wav(np.zeros(4000)), "constant"),
    ("nan.wav", _float_wav(np.r_[np.sin(np.arange(4000) / 5), np.nan]), "not finite"),
    ("inf.wav", _float_wav(np.r_[np.sin(np.arange(4000) / 5), np.inf]), "not finite"),
    ("click.wav", _float_wav(np.ones(10)), "no audio"),
]


@pytest.mark.parametrize("name,raw,match", DEGENERATE, ids=[d[0] for d in DEGENERATE])
def test_degenerate_uploads_get_one_line(name, raw, match):
    with pytest.raises(UploadError, match=match) as info:
        read_upload(name, raw)
    assert "\n" not in str(info.value)


def test_huge_values_are_scaled_not_overflowed(rng):
    walk = np.cumsum(rng.standard_normal(500))
    up = read_upload("big.csv", ("x\n" + "\n".join(f"{v * 1e306:.6e}" for v in walk)).encode())
    assert np.abs(up.data).max() == 1.0 and np.isfinite(up.data).all()
    # the measures see the same signal as at a sane scale: a random walk, spectral slope near -2
    assert -2.6 < s.spectral_slope(up.data) < -1.4


def test_a_wide_csv_is_cut_to_its_first_columns():
    header = ",".join(f"c{i}" for i in range(5000))
    rows = "\n".join(",".join(str((i * 7 + j) % 11) for j in range(5000)) for i in range(100))
    up = read_upload("wide.csv", f"{header}\n{rows}\n".encode())
    assert up.table.shape[1] == 64 and "5000 columns" in up.notes[0] and len(up.data) == 100
