"""Home: what the lab is, the three properties, a map of the pages."""

import streamlit as st

from dashboard.shell import PAGES, ROOT

st.markdown(
    "An interactive lab for NYU Deep Learning lecture 04.1. Every page measures what the lecture "
    "claims, with PyTorch as the engine and as the oracle, and every setting lives in the URL: "
    "copy the link to share exactly what you see."
)

st.subheader("Three properties of natural signals")
cols = st.columns(3)
cols[0].markdown("**Stationarity**  \nThe same motifs appear everywhere; statistics do not depend on "
                 "position. → *parameter sharing*: one kernel slides over the whole signal.")
cols[1].markdown("**Locality**  \nNearby samples are strongly correlated, far ones nearly independent. "
                 "→ *sparsity*: each unit looks at a small window.")
cols[2].markdown("**Compositionality**  \nSamples form motifs, motifs form parts, parts form objects. "
                 "→ *depth*: stacked layers see larger and larger fields.")

st.subheader("Map of the lab")
for file, title, icon, *_ in PAGES[1:]:
    st.page_link(str(ROOT / "pages" / file), label=title, icon=icon)
