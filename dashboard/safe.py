"""Hostile text made plain: the one helper every notice, error and caption uses for outside values.

A value that came from a link, an upload (file name, CSV header) or a text
field is never Markdown or HTML on this lab's pages. Streamlit renders the
body of ``st.warning``/``st.error``/``st.caption``/``st.markdown`` as
Markdown (links, images, code spans, ``:red[...]`` directives, ``$`` maths)
and drops raw HTML only when it is not allowed; ``md`` backslash-escapes every
ASCII punctuation character (CommonMark shows ``\\x`` as a literal ``x``), so the
text shows exactly as typed, folds line breaks, and cuts it to a bounded length.
GitHub-flavoured Markdown also turns bare ``http://``, ``www.`` and e-mail
addresses into links after escapes are read, so a zero-width space is put
inside each such marker: the text looks the same and links nowhere.
"""

from __future__ import annotations

import re
import string

_ESCAPE = {ord(c): "\\" + c for c in string.punctuation}
_FOLD = {ord(c): " " for c in "\r\n\t\v\f\u2028\u2029"}
_ZWSP = "\u200b"
_UNLINK = re.compile(r"(?<=:)(?=//)|(?<=@)|(?<=www)(?=\.)", re.IGNORECASE)


def md(value: object, limit: int = 120) -> str:
    """``value`` as Markdown that renders as its own plain text (at most ``limit`` characters, then '…')."""
    text = str(value).translate(_FOLD)
    if len(text) > limit:
        text = text[:limit] + "…"
    return _UNLINK.sub(_ZWSP, text).translate(_ESCAPE)
