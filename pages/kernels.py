"""Kernels (lecture section 6)."""

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.lecture.audio import MAX_UPLOAD_MB, NAMES, SMOOTH_WIDTHS, clip, listen, playback_note, read_wav, wav_bytes
from core.lecture.images import as_png, photo
from core.lecture.kernels import (KERNELS_1D, KERNELS_2D, MIXES, apply_kernels, centre_shift, channel_mixing, collection,
                                  mixing_alts, output_alt,
                          impulse_responses, neighbourhood, rgb_photo, smallest_all_round, test_signal)
from dashboard import cache, urlstate as url
from dashboard.charts import FIT_X, as_spec, show as show_chart
from dashboard.tables import arrow
from core.palette import BLUE, PALE, RED
from dashboard.safe import md


@cache.data(show_spinner=False, max_entries=64)
def outputs_1d(names):
    x = test_signal()
    out = apply_kernels(x, names)
    frames = [pd.DataFrame({"i": np.arange(len(x)), "value": x, "channel": "input"})]
    frames += [pd.DataFrame({"i": np.arange(len(x)), "value": y, "channel": n}) for n, y in out.items()]
    df = pd.concat(frames, ignore_index=True)
    return as_spec(alt.Chart(df).mark_line().encode(
        x=alt.X("i:Q", title="position"), y=alt.Y("value:Q", title=None),
        color=alt.Color("channel:N", legend=None),
    ).properties(height=90, width=700).facet(  # the input on top, then the kernels in the order they were picked
        row=alt.Row("channel:N", title=None, sort=["input", *out])).resolve_scale(y="independent"))


@cache.data(show_spinner=False, max_entries=64)
def outputs_2d(image_name, names):
    img = photo(image_name, 96)
    return [(name, as_png(y), output_alt(name, image_name, y.shape[0]))
            for name, y in {"input": img, **apply_kernels(img, names)}.items()]


@cache.data(show_spinner=False, max_entries=8)
def odd_even(size):
    """(impulse-response chart spec, centre-shift table) for box kernels around ``size``."""
    spec = as_spec(alt.Chart(impulse_responses(size)).mark_line(point=True).encode(
        x="position:Q", y="value:Q", color="kernel:N").properties(height=220))
    return spec, arrow(centre_shift(size))




@cache.data(show_spinner="Filtering the sound…", max_entries=32)
def heard_bundled(names, width, typed):
    """``heard`` for the bundled clip, keyed by the kernels alone: hashing the clip for the key, and unpickling it
    from a cache, cost every run more than the rest of this section."""
    return heard(clip(), names, width, typed)


@cache.data(show_spinner=False, max_entries=4)
def uploaded_sound(data: bytes):
    return read_wav(data)


@cache.data(show_spinner="Filtering the sound…", max_entries=32)
def heard(sound, names, width, typed):
    """``core.lecture.audio.listen``, with each spectrum (and the response) as a chart spec."""
    rows = listen(sound, names, width, typed)
    for row in rows:
        if "audio" in row:
            row["audio"] = wav_bytes(row["audio"])  # encoded here, once, not by every rerun's player
        if "spectra" in row:
            alone = row["name"] == "input"  # the input's own row draws it in the data's colour; the others grey
            row["spectra_chart"] = as_spec(alt.Chart(row.pop("spectra")).mark_line(strokeWidth=1).encode(
                x=alt.X("frequency Hz:Q"), y=alt.Y("dB:Q", scale=alt.Scale(domain=[-80, 0])),
                color=alt.Color("sound:N", scale=alt.Scale(domain=["input", "output"],
                                                           range=[BLUE if alone else PALE, RED]),
                                legend=alt.Legend(orient="bottom", title=None)),
            ).properties(height=160, title="Spectrum", autosize=FIT_X))
        if "response" in row:
            row["response_chart"] = as_spec(alt.Chart(row.pop("response")).mark_line(color=BLUE).encode(
                x="frequency Hz:Q", y=alt.Y("gain:Q", title="|H(f)|")).properties(
                height=160, title="The kernel's gain", autosize=FIT_X))
    return rows


@cache.data(show_spinner=False)
def reach_table():
    """(the table as Arrow, the smallest all-round kernel, a 1×1 kernel's neighbours)."""
    table = neighbourhood(5)
    return arrow(table), smallest_all_round(table), int(table.iloc[0]["neighbours"])


@cache.data(show_spinner=False, max_entries=64)
def shapes_table(kernels, channels, size, nd):
    return arrow(collection(kernels, channels, size, nd))


@cache.data(show_spinner=False, max_entries=8)
def mixing(mix):
    image = rgb_photo("chelsea", 128)
    mixed = channel_mixing(image, mix)
    return as_png(image), [as_png(c) for c in mixed["outputs"]], mixed


st.markdown("A layer applies several kernels; each spans the full thickness (all channels) of the layer below, "
            "and each makes one output channel. For 1D data the collection is a 3D tensor, "
            "*kernels × channels × length*; for 2D data a 4D one.")

c = st.columns(4)
nd = url.dims("Data", "ker_nd", 1, where=c[0])


@st.fragment  # its sliders rerun the shape table alone; the data's dimension (above) reruns the page
def shapes(c, nd):
    kernels = url.slider("Kernels", "ker_k", 1, 16, 2, where=c[1])
    channels = url.slider("Input channels", "ker_c", 1, 16, 7, where=c[2])
    size = url.slider("Kernel size", "ker_s", 1, 7, 3, where=c[3])
    url.show_notices()
    st.dataframe(shapes_table(kernels, channels, size, nd), hide_index=True)
    st.caption("Shapes read off a real `torch.nn.Conv%dd(%d, %d, %d)`. The lecture's figure: 2 kernels × 7 channels "
               "× length 3." % (nd, channels, kernels, size))


shapes(c, nd)

st.subheader("Classic kernels at work")
names = list(KERNELS_1D if nd == 1 else KERNELS_2D) + ["random"]
chosen = url.multi("Kernels to apply", f"ker_apply{nd}", names, names)
chosen = [n for n in chosen if n in names] or names[:1]
if nd == 1:
    show_chart(st, outputs_1d(tuple(chosen)))
else:
    image = url.choice("Image", "ker_img", ["camera", "coins", "chelsea", "brick"], "camera")
    cols = st.columns(len(chosen) + 1)
    for col, (name, picture, alt_text) in zip(cols, outputs_2d(image, tuple(chosen))):
        col.image(picture, caption=name, width="stretch", output_format="PNG", alt=alt_text)
url.show_notices()

st.subheader("Odd vs even kernels")
even_size = url.slider("Box kernel size", "ker_box", 2, 6, 2)
url.show_notices()
left, right = st.columns([3, 2])
impulses, shifts = odd_even(even_size)
show_chart(left, impulses, width="stretch")
right.dataframe(shifts, hide_index=True)
right.caption("An odd kernel has a centre sample; an even kernel's centre falls between two samples, so its "
              "output is shifted by half a sample and averages neighbours (a low-pass effect).")

st.subheader("The smallest kernels: 3×3 looks around, 1×1 mixes channels")
reach, smallest, one_by_one = reach_table()
st.dataframe(reach, hide_index=True)  # the page's width: its eight columns did not fit three fifths of it
st.markdown(f"What one output pixel reads, from the gradient of a real `Conv2d` with 'same' padding. The smallest "
               f"kernel with a neighbour on every side and a centre pixel: **{smallest}**. A 1×1 kernel reads "
               f"{one_by_one} neighbours; a 2×2 one sees only down and right.")
mix = url.choice("1×1 mix", "ker_mix", list(MIXES), list(MIXES)[0])
url.show_notices()
image, channels, mixed = mixing(mix)
cols = st.columns(4)
names = [n.strip() for n in mix.split(",")] if mix.count(",") == 2 else ["channel 1", "channel 2", "channel 3"]
alts = mixing_alts(mix, names, mixed["outputs"].shape[-1])
cols[0].image(image, caption="input (RGB)", width="stretch", output_format="PNG", alt=alts[0])  # as encoded
for col, channel, name, alt_text in zip(cols[1:], channels, names, alts[1:]):
    col.image(channel, caption=name, width="stretch", output_format="PNG", alt=alt_text)
st.caption(f"A 1×1 convolution is a 3×3 matrix ({mixed['parameters']} weights) applied at every pixel: its output "
           f"equals that matrix times each pixel's colour (max |difference| = {mixed['max_diff']:.1e}), and an output "
           f"pixel reads {mixed['neighbours_read']} neighbours. The same weights take inputs of any size: "
           + ", ".join(f"{n}×{n} → {' × '.join(map(str, shape))}" for n, shape in mixed["shapes"].items()) + ".")

st.subheader("Listening to kernels")
st.markdown("A 1D kernel slid over a sound is a filter. A smoothing kernel averages neighbouring samples: slow "
            "oscillations survive, fast ones cancel, and the sound gets duller (low-pass). A difference kernel keeps "
            "only what changes from one sample to the next: thin and hissy (high-pass). The output's spectrum is the "
            "input's times the kernel's gain at each frequency: listen, then look.")

# the kernels to hear get a row of their own: with all six picked, a narrower box hid the last chip
hear = url.multi("Kernels to hear", "ker_hear", list(NAMES), ["smoothing", "difference"])
c = st.columns([2, 1, 3])
source = url.choice("Sound", "ker_snd", ["bundled clip", "your WAV"], "bundled clip", widget="segmented",
                    where=c[0]) or "bundled clip"
width = url.choice("Smoothing width", "ker_sw", list(SMOOTH_WIDTHS), 9, where=c[1])
typed = "1, -2, 1"
if "typed" in hear:
    typed = url.text("Your kernel (taps, comma-separated)", "ker_typed", "1, -2, 1", max_chars=400)
url.show_notices()
sound = None
if source == "your WAV":
    upload = st.file_uploader(f"A WAV file (up to {MAX_UPLOAD_MB} MB; the first 10 s are used)", type=["wav"],
                              help="Your file stays on this server for this session; it is not in the link.")
    if upload is None:
        st.info("No file yet: the bundled clip plays meanwhile. A link cannot carry your file.",
                icon=":material/upload_file:")
    else:
        try:
            sound, notes = uploaded_sound(upload.getvalue())
            if notes:
                st.caption(f"{md(upload.name, 80)}: " + ", ".join(notes) + ".")
        except ValueError as exc:
            st.error(f"{md(upload.name, 80)} cannot be used: {md(exc, 300)}. The bundled clip plays instead.",
                     icon=":material/error:")
if sound is None:
    st.caption("The bundled clip, made by the lab: an A-major chord, a voice-like buzz whose formants slide from "
               "“ee” to “ah”, then a hiss.")
for row in (heard(sound, tuple(hear), width, typed) if sound is not None else heard_bundled(tuple(hear), width, typed)):
    if "error" in row:
        st.error(f"Your kernel cannot be used: {md(row['error'], 300)}.", icon=":material/error:")
        continue
    left, mid, right = st.columns([2, 3, 3])
    if row["name"] == "input":
        left.markdown("**Input**")
        left.audio(row["audio"], format="audio/wav")
        show_chart(mid, row["spectra_chart"], width="stretch")
        continue
    taps = ", ".join(f"{t:.3g}" for t in row["taps"][:12]) + (", …" if len(row["taps"]) > 12 else "")
    left.markdown(f"**{row['name'].capitalize()}** [{md(taps, 200)}]")
    left.audio(row["audio"], format="audio/wav")
    left.caption(f"{row['sentence']} On this sound, the share of power below 500 Hz changed by "
                 f"{row['low_db']:+.1f} dB, above 2 kHz by {row['high_db']:+.1f} dB. {playback_note(row['gain'])}")
    show_chart(mid, row["spectra_chart"], width="stretch")
    show_chart(right, row["response_chart"], width="stretch")
