"""Listening to kernels: the sound, the filters and the spectra against closed forms and hand-worked numbers."""

import io

import numpy as np
import pytest
from scipy.io import wavfile

from core.lecture.audio import (MAX_SECONDS, RATE, band_change, character, clip, convolve, describe, kernel, parse_kernel,
                        playback_note, read_wav, response, spectrum)


def test_convolve_is_a_same_length_cross_correlation():
    x = np.random.default_rng(0).standard_normal(50).astype(np.float32)
    taps = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(convolve(x, taps), np.correlate(x, taps, "same"), atol=1e-5)
    # an even kernel, by hand: torch's 'same' pads 0 before and 1 after: [1-2, 2-4, 4-0]
    np.testing.assert_allclose(convolve(np.array([1.0, 2.0, 4.0]), np.array([1.0, -1.0])), [-1.0, -2.0, 4.0])


def test_response_matches_the_closed_forms():
    r = response(kernel("smoothing", width=9))
    w = 2 * np.pi * r["frequency Hz"].to_numpy()[1:] / RATE
    np.testing.assert_allclose(r["gain"].to_numpy()[1:], np.abs(np.sin(9 * w / 2) / (9 * np.sin(w / 2))), atol=1e-9)
    d = response(kernel("difference"))
    w = 2 * np.pi * d["frequency Hz"].to_numpy() / RATE
    np.testing.assert_allclose(d["gain"], 2 * np.abs(np.sin(w / 2)), atol=1e-9)


@pytest.mark.parametrize("name, kind", [("smoothing", "low-pass"), ("difference", "high-pass"),
                                        ("edge", "high-pass"), ("sharpen", "high-boost")])
def test_each_kernel_is_named_by_its_response(name, kind):
    assert character(kernel(name))[0] == kind


W = np.linspace(0, np.pi, 2049)  # radians per sample, 0 Hz to Nyquist
# Each kernel's gain in closed form, and the name a reader of that curve gives it (worked by hand):
ANALYTIC = [
    ([1.0], np.ones_like(W), "all-pass"),  # flat
    ([0.25, 0.5, 0.25], (1 + np.cos(W)) / 2, "low-pass"),  # 1 at 0 Hz, a null at Nyquist
    ([1.0, -1.0], 2 * np.abs(np.sin(W / 2)), "high-pass"),  # a null at 0 Hz, 2 at Nyquist
    ([1.0, 0.0, -1.0], 2 * np.abs(np.sin(W)), "band-pass"),  # nulls at 0 Hz and at Nyquist, 2 at half Nyquist
    ([1.0, 0.0, 1.0], 2 * np.abs(np.cos(W)), "band-stop"),  # 2 at both ends, a notch at half Nyquist
    ([0.5, 0, 0, 0, 0.5], np.abs(np.cos(2 * W)), "comb"),  # peaks at 0, 1/2, 1 x Nyquist, nulls between
    ([1.0, 0, 0, 0, 0, 0, 0, 0, -1.0], 2 * np.abs(np.sin(4 * W)), "comb"),  # 5 evenly spaced nulls
    ([-1.0, 3.0, -1.0], 3 - 2 * np.cos(W), "high-boost"),  # 1 at 0 Hz (kept), 5 at Nyquist (lifted)
    ([1.0, 0.5], np.sqrt(1.25 + np.cos(W)), "low-boost"),  # 1.5 at 0 Hz, 0.5 at Nyquist: nothing removed
]


@pytest.mark.parametrize("taps, gain, kind", ANALYTIC, ids=[str(t) for t, _, _ in ANALYTIC])
def test_a_kernel_is_named_from_its_whole_closed_form_response(taps, gain, kind):
    taps = np.array(taps)
    r = response(taps, points=len(W))
    np.testing.assert_allclose(r["gain"], gain, atol=1e-9)  # the chart's curve is the closed form
    got, ripple = character(taps)
    assert got == kind
    floor = max(gain.min(), gain.max() * 1e-6)
    assert ripple == pytest.approx(min(120.0, 20 * np.log10(gain.max() / floor)), abs=0.05)


def test_the_default_random_kernel_is_not_called_flat():
    taps = kernel("random")
    g = response(taps)["gain"]
    assert g.min() < 0.1 and g.max() > 1.0  # the reading of its chart: 0.05 to 1.06
    kind, ripple = character(taps)
    assert kind != "all-pass" and ripple > 20


def test_irregular_bands_get_no_simple_name():
    # a windowed pair of tones at 0.25 and 0.8 x Nyquist: two pass bands, unevenly placed, neither at an edge
    n = np.arange(-7, 8)
    taps = np.hanning(17)[1:-1] * (np.cos(0.25 * np.pi * n) + np.cos(0.8 * np.pi * n))
    gain = np.abs(np.exp(-1j * np.outer(W, np.arange(len(taps)))) @ taps)  # H(w) summed by hand
    passing = gain >= gain.max() / np.sqrt(2)
    assert not passing[0] and not passing[-1] and np.sum(np.diff(passing.astype(int)) == 1) == 2
    assert character(taps)[0] == "no simple name"


@pytest.mark.parametrize("kind, article", [("all-pass", "An all-pass"), ("low-pass", "A low-pass"),
                                           ("band-stop", "A band-stop"), ("no simple name", "A filter with no")])
def test_the_sentence_has_the_right_article(kind, article):
    assert describe(kind, 4.0).startswith(article)
    assert "4.0 dB" in describe(kind, 4.0) and "nulls" in describe(kind, 120.0)


def test_the_sentence_says_how_far_each_end_lies_below_the_peak():
    from core.lecture.audio import ends_db

    # [1, 0.5]: 1.5 at 0 Hz, 0.5 at Nyquist, by hand: 0 dB and 20 log10(1/3) = -9.5 dB
    dc, top = ends_db(np.array([1.0, 0.5]))
    assert dc == pytest.approx(0.0, abs=1e-9) and top == pytest.approx(20 * np.log10(1 / 3))
    said = describe("low-boost", 9.54, (dc, top))
    assert "at 0 Hz: its peak; at Nyquist: -9.5 dB" in said
    assert "at 0 Hz: a null" in describe("high-pass", 120.0, ends_db(np.array([1.0, -1.0])))


@pytest.mark.parametrize("gain, words", [(2.5, "2.5× louder"), (0.25, "4× softer"), (1.0, "as it came out")])
def test_the_playback_note_says_which_way(gain, words):
    assert words in playback_note(gain)


def test_the_ear_and_the_spectrum_agree_on_the_bundled_clip():
    sound = clip()
    dl, dh = band_change(sound, convolve(sound, kernel("smoothing", width=9)))
    assert dl > 0 > dh and dh < -10  # smoothing: a larger share of lows, far fewer highs
    dl, dh = band_change(sound, convolve(sound, kernel("difference")))
    assert dh > 0 > dl


def test_the_clip_holds_its_chord_voice_and_hiss():
    sound = clip()
    assert len(sound) == 3 * RATE and np.abs(sound).max() == pytest.approx(0.9, abs=1e-6)
    chord = spectrum(sound[:RATE])
    loudest = chord.nlargest(3, "dB")["frequency Hz"]
    assert all(any(abs(f - n) <= 15 for n in (220.0, 277.18, 329.63, 440.0, 554.4, 659.3)) for f in loudest)
    hiss = spectrum(sound[int(2.5 * RATE):])
    assert hiss.loc[hiss["frequency Hz"] > 2500, "dB"].mean() > hiss.loc[hiss["frequency Hz"] < 500, "dB"].mean()


@pytest.mark.parametrize("text, words", [("", "at least one"), ("1, two, 3", "“two” is not a number"),
                                         ("0 0 0", "all taps are zero"), ("nan", "finite"),
                                         (", ".join(["1"] * 64), "at most 63"), ("1e9", "at most 1e6")])
def test_typed_kernels_that_cannot_be_used_say_why(text, words):
    with pytest.raises(ValueError, match=words):
        parse_kernel(text)


def test_typed_kernel_separators():
    np.testing.assert_array_equal(parse_kernel(" 1,-2 ;  1 "), [1.0, -2.0, 1.0])


def _wav(x, rate, dtype=np.int16) -> bytes:
    buf = io.BytesIO()
    wavfile.write(buf, rate, x.astype(dtype))
    return buf.getvalue()


def test_an_uploaded_stereo_wav_is_mono_resampled_and_keeps_its_pitch():
    t = np.arange(44100) / 44100
    tone = (np.sin(2 * np.pi * 440 * t) * 20000)
    sound, notes = read_wav(_wav(np.stack([tone, tone], axis=1), 44100))
    assert len(sound) == RATE and "mixed to mono" in notes and any("44100 Hz" in n for n in notes)
    freq = np.fft.rfftfreq(len(sound), 1 / RATE)[np.argmax(np.abs(np.fft.rfft(sound)))]
    assert freq == pytest.approx(440, abs=2)


def test_long_and_broken_wavs():
    sound, notes = read_wav(_wav(np.random.default_rng(0).standard_normal(int(RATE * 12)) * 1000, RATE))
    assert len(sound) == MAX_SECONDS * RATE and any("cut" in n for n in notes)
    with pytest.raises(ValueError, match="not a WAV file"):
        read_wav(b"RIFF....not really")
    with pytest.raises(ValueError, match="silent"):
        read_wav(_wav(np.zeros(100), RATE))


def test_wav_bytes_round_trip():
    from core.lecture.audio import wav_bytes

    sound = clip()[:800]
    rate, back = wavfile.read(io.BytesIO(wav_bytes(sound)))
    assert rate == RATE and back.dtype == np.int16
    np.testing.assert_allclose(back / 32767, sound, atol=1 / 32767)
