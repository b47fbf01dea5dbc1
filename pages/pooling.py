"""Pooling (lecture section 9)."""

import math

import numpy as np
import pandas as pd
import streamlit as st
import torch

from core.lecture.images import as_png, blocky, data_url, photo
from core.lecture.pooling import label, output_shape, pool, random_signals, shift_caption, shift_consistency, picture_alt
from dashboard import cache, charts, urlstate as url
from dashboard.charts import as_spec, show as show_chart


@cache.data(show_spinner=False, max_entries=64)
def signal_chart(p, k):
    x = random_signals(1, 64, seed=3)
    frames = [pd.DataFrame({"i": np.arange(64), "value": x[0, 0].numpy(), "curve": "input"})]
    for method in ("max", "average", "lp"):
        y = pool(x.abs() if method == "lp" else x, method, k, p=p)[0, 0].numpy()
        frames.append(pd.DataFrame({"i": np.arange(len(y)) * k + (k - 1) / 2, "value": y, "curve": label(method, p)}))
    return as_spec(charts.pooled_signal(pd.concat(frames)))


@cache.data(show_spinner=False, max_entries=64)
def pooled_images(p, k):
    img = torch.tensor(photo("coins", 96))[None, None]
    out = [("input", img[0, 0].numpy())]
    for method in ("max", "average", "lp"):
        out.append((label(method, p), pool(img, method, k, p=p)[0, 0].numpy()))
    # each drawn at 192 px with square pixels (nearest neighbour): a browser's smooth upscaling would hide the
    # blocks that pooling makes
    return [(f"{name}: {y.shape[0]}×{y.shape[1]}", data_url(as_png(blocky(y, 192))),
             picture_alt(name, img.shape[2:], y.shape, k)) for name, y in out]


@cache.data(show_spinner=False, max_entries=64)
def consistency_chart(k, p):
    changes = shift_consistency(random_signals(128, 128, seed=1), k, p=p)
    named = changes.assign(method=[label(m, p) for m in changes["method"]])  # the signal chart's names
    return as_spec(charts.shift_changes(named)), shift_caption(changes, p)


st.markdown("Apply one operator to each window, then stride. The Lp norm of the window, (Σ|x|ᵖ)^(1/p), goes from "
            "a sum of magnitudes (p = 1) through the Euclidean norm (p = 2) to the largest magnitude (p = ∞: max "
            "pooling of |x|, the same as max pooling once a ReLU has made the inputs non-negative). "
            "Average pooling is the other common choice. Pooling has no parameters; it shrinks the data so deeper "
            "layers are affordable.")
c = st.columns(2)
p_slider = url.slider("p (21 means ∞)", "pool_p", 1.0, 21.0, 2.0, 0.5, where=c[0])
p = math.inf if p_slider >= 21 else p_slider
k = url.slider("Window and stride", "pool_k", 2, 4, 2, where=c[1])
url.show_notices()

st.subheader("On a signal")
show_chart(st, signal_chart(p, k), width="stretch")
st.caption(f"Lp is applied to |x|. Output sizes: a 1 × 64 signal becomes {' × '.join(map(str, output_shape((1, 64), k)))}; "
           f"a 6 × 28 × 28 map becomes {' × '.join(map(str, output_shape((6, 28, 28), k)))}.")

st.subheader("On an image")
pictures = pooled_images(p, k)  # one element, data URLs: no media file per picture for the browser to fetch
st.image([image for _, image, _ in pictures], caption=[name for name, _, _ in pictures], width=192,
         alt=[alt_text for _, _, alt_text in pictures])

st.subheader("Is pooling shift invariant?")
shift_spec, shift_words = consistency_chart(k, p)
show_chart(st, shift_spec, width="stretch")
st.caption("How much the pooled output of 128 smooth random signals changes when the input shifts by a few "
           f"samples. {shift_words}")
