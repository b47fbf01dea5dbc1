"""The lab's colours against colour-vision deficiency and contrast: Machado, Oliveira and Fernandes (2009)
simulations at full severity, CIELAB distances (scikit-image) and WCAG 2's contrast ratio."""

import itertools

import numpy as np
import pytest
from skimage.color import rgb2lab

from core.palette import BACKGROUND, BLUE, CATEGORY, INK, ORANGE, RED

MACHADO = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def linear(colour: str) -> np.ndarray:
    c = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def seen(colour: str, vision: str | None) -> np.ndarray:
    rgb = linear(colour) if vision is None else np.array(MACHADO[vision]) @ linear(colour)
    rgb = np.clip(rgb, 0, 1)
    return rgb2lab(np.where(rgb <= 0.0031308, 12.92 * rgb, 1.055 * rgb ** (1 / 2.4) - 0.055)[None, None])[0, 0]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((float(linear(c) @ [0.2126, 0.7152, 0.0722]) for c in (a, b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_the_contrast_ratio_is_wcags():
    assert contrast("#000000", "#ffffff") == pytest.approx(21) and contrast("#777777", "#ffffff") == \
        pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("vision", [None, *MACHADO])
def test_series_colours_stay_apart_under_each_deficiency(vision):
    """Every pair of the charts' series colours at ΔE ≥ 10 (Vega-Lite's default scheme, tableau10, puts its green
    and red 7.3 apart for a deuteranope and its orange and green 4.6 for a protanope)."""
    worst = min(np.linalg.norm(seen(a, vision) - seen(b, vision)) for a, b in itertools.combinations(CATEGORY, 2))
    assert worst >= 10


def test_a_too_close_pair_fails():
    assert np.linalg.norm(seen("#ff7f0e", "protanopia") - seen("#2ca02c", "protanopia")) < 10
    assert np.linalg.norm(seen("#2ca02c", "deuteranopia") - seen("#d62728", "deuteranopia")) < 10


def test_series_and_marks_stand_out_from_the_background():
    """1.4.11: lines, points and cell outlines at 3:1 or more on the page's background; orange fills are outlined
    in ink."""
    assert all(contrast(c, BACKGROUND) >= 3 for c in (*CATEGORY, BLUE, RED, INK))
    assert contrast(ORANGE, BACKGROUND) < 3  # why padded bars and cells carry an ink outline
