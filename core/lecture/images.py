"""Small grayscale test images: an MNIST digit or scikit-image's bundled photographs."""

from __future__ import annotations

import numpy as np

# scikit-image and ``core.practicum.data`` (torch) are imported where a picture is made: ``as_png`` and ``data_url`` serve
# pages that must show results before anything heavy is loaded

PHOTOS = ("camera", "chelsea", "coins", "coffee", "brick", "grass", "gravel", "text")


def photo(name: str, size: int | None = None) -> np.ndarray:
    """A bundled scikit-image photograph as float grayscale in [0, 1], optionally resized to size x size."""
    from skimage import data as skdata
    from skimage.color import rgb2gray
    from skimage.transform import resize

    if name not in PHOTOS:
        raise ValueError(f"photo must be one of {', '.join(PHOTOS)}, got {name!r}")
    img = getattr(skdata, name)()
    img = rgb2gray(img) if img.ndim == 3 else img.astype(np.float64) / (255.0 if img.dtype == np.uint8 else 1.0)
    if size is not None:
        img = resize(img, (size, size), anti_aliasing=True)
    return img.astype(np.float64)


def sample_image(name: str, size: int | None = None, directory: str | None = None) -> tuple[np.ndarray, str]:
    """(image, caption): ``mnist digit`` (the first test digit) when MNIST is on disk, else a photo.

    ``size``: the side in pixels; by default an MNIST digit keeps its own 28 and a photo is 48. A missing MNIST
    falls back to the camera man, and the caption says so.
    """
    from skimage.transform import resize

    from core.practicum import data

    if name == "mnist digit":
        side = size or 28
        if data.available("mnist", directory):
            try:
                test = data.load_images("mnist", train=False, directory=directory)
                digit = test.images[0].numpy() / 255.0
                if side != digit.shape[0]:
                    digit = resize(digit, (side, side), anti_aliasing=True)
                return digit, f"MNIST test digit 0 (a {int(test.labels[0])})" + (
                    f", resized to {side}×{side}" if side != 28 else "")
            except data.DataUnavailable as exc:
                return photo("camera", side), f"MNIST could not be read ({exc}), so: scikit-image's camera, resized"
        return photo("camera", side), "MNIST is not on this machine, so: scikit-image's camera, resized"
    side = size or 48
    return photo(name, side), f"scikit-image's {name}, resized to {side}×{side}"


def for_display(x: np.ndarray) -> np.ndarray:
    """Rescale any real image to [0, 1] (min to black, max to white) for ``st.image``."""
    x = np.asarray(x, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    return np.zeros_like(x) if hi - lo < 1e-12 else (x - lo) / (hi - lo)


def as_png(x: np.ndarray, width: int | None = None) -> bytes:
    """``for_display(x)`` as 8-bit PNG bytes (grey, or RGB for an (H, W, 3) array): encoded once, where it is
    cached, instead of on every page rerun. ``width``: shrink to at most this many pixels across (Streamlit
    would otherwise shrink and re-encode a wider image on every rerun)."""
    import io

    from PIL import Image

    img = Image.fromarray(np.round(for_display(x) * 255).astype(np.uint8))
    if width is not None and img.width > width:
        img = img.resize((width, max(1, round(img.height * width / img.width))), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def blocky(x: np.ndarray, side: int) -> np.ndarray:
    """``x`` (H, W) enlarged by a whole factor to about ``side`` pixels across, each pixel a square block
    (nearest neighbour): what a pooled map looks like, where a browser's smooth upscaling blurs it."""
    k = max(1, round(side / x.shape[1]))
    return np.repeat(np.repeat(x, k, axis=0), k, axis=1)


def data_url(png: bytes) -> str:
    """PNG bytes as a ``data:`` URL. For small pictures (a few hundred bytes): ``st.image`` sends a URL as it is,
    where it would open, check and register bytes with its media store on every rerun (about 0.2 ms each, and
    the inside section draws over a hundred)."""
    import base64

    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
