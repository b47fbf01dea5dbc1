"""The lab's colours, in one place: the charts and pictures the pages draw, and the GIF the stepper exports (the
theme's in ``.streamlit/config.toml`` match). A shared leaf of ``core``."""

BLUE = "#3b6e8f"  # the original, the data: the theme's primary colour
RED = "#e4572e"  # the permuted copy, what a unit sees, a highlight
ORANGE = "#f2a541"  # invented cells (padding)
INK = "#0f1720"  # text and outlines: the theme's text colour
PALE = "#d5d9e0"  # connections not taken
WHITE = "#ffffff"
GREY = "#555555"  # cell outlines in an exported picture
COPIES = {"domain": ["original", "permuted"], "range": [BLUE, RED]}  # original vs permuted, on every page
# series without colours of their own (the charts' category scheme): told apart under the three common colour-vision
# deficiencies and at 3:1 or more on the background (tests/core/test_palette.py); a chart's lines also differ by
# dash and its points by shape (dashboard.charts.as_spec), so no series is told by colour alone
CATEGORY = (BLUE, RED, "#8a6d00", "#6a3d9a", "#1f1f1f")
BACKGROUND = "#fbfaf7"  # the theme's


def rgb(colour: str) -> tuple[int, int, int]:
    """``"#e4572e"`` as ``(228, 87, 46)``."""
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
