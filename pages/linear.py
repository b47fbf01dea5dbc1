"""The linear layer: rotation and squashing (lecture section 3)."""

import numpy as np
import streamlit as st

from core.lecture.linear import SQUASHES, decompose, matrix_from, point_cloud, stages
from dashboard import cache, charts, urlstate as url
from dashboard.charts import as_spec, show as show_chart


@cache.data(show_spinner=False, max_entries=128)
def stage_chart(kind, angle, sx, sy, shear, bx, by, squash):
    w = matrix_from(angle, sx, sy, shear)
    # one spec for every setting, its rows a named dataset: a new setting swaps the rows into the chart on the page
    # instead of building a new one
    return as_spec(charts.stages(stages(point_cloud(kind), w, np.array([bx, by]), squash))), w, \
        decompose(w).describe()


st.markdown("A fully connected layer computes **y = f(W x + b)**. By the singular value decomposition, "
            "W = U · diag(s) · Vᵀ: a rotation, a stretch along the axes, another rotation. The offset b "
            "moves the cloud, the non-linearity f squashes it. Every output sees every input.")

c = st.columns(4)
kind = url.choice("Points", "lin_pts", ["grid", "spiral"], "grid", widget="segmented", where=c[0]) or "grid"
angle = url.slider("Rotation (°)", "lin_rot", -180, 180, 30, where=c[1])
sx = url.slider("Scale x", "lin_sx", -2.0, 2.0, 1.5, 0.1, where=c[2])
sy = url.slider("Scale y", "lin_sy", -2.0, 2.0, 0.5, 0.1, where=c[3])
c = st.columns(4)
shear = url.slider("Shear", "lin_sh", -2.0, 2.0, 0.0, 0.1, where=c[0])
bx = url.slider("Offset b (x)", "lin_bx", -2.0, 2.0, 0.0, 0.1, where=c[1])
by = url.slider("Offset b (y)", "lin_by", -2.0, 2.0, 0.0, 0.1, where=c[2])
squash = url.choice("Squashing f", "lin_f", list(SQUASHES), "tanh", where=c[3])
url.show_notices()

spec, w, description = stage_chart(kind, angle, sx, sy, shear, bx, by, squash)
left, right = st.columns([1, 3])
left.markdown("**W** =")
left.dataframe(np.round(w, 3), hide_index=True)
left.markdown(f"**SVD:** {description}")
show_chart(right, spec)
st.caption("Colour follows each point through the steps. Without f, any stack of such layers is still one "
           "linear map; f is what lets a network fold and bend space.")
