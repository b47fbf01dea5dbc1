"""The lab's colours, in one place (the theme's in ``.streamlit/config.toml`` match)."""

BLUE = "#3b6e8f"  # the original, the data: the theme's primary colour
RED = "#e4572e"  # the permuted copy, what a unit sees, a highlight
ORANGE = "#f2a541"  # invented cells (padding)
INK = "#25303b"  # text and outlines: the theme's text colour
PALE = "#d5d9e0"  # connections not taken
WHITE = "#ffffff"
COPIES = {"domain": ["original", "permuted"], "range": [BLUE, RED]}  # original vs permuted, on every page
