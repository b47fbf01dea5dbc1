"""The one escaping helper: what it returns can carry no Markdown, HTML or link, whatever went in."""

import string

from hypothesis import given
from hypothesis import strategies as st

from dashboard.safe import md


@given(st.text())
def test_every_punctuation_mark_is_escaped_and_no_link_marker_survives(text):
    out, shown, i = md(text, limit=10_000), [], 0
    while i < len(out):  # read it as CommonMark does: a backslash shows the punctuation mark after it
        if out[i] == "\\":
            assert out[i + 1] in string.punctuation
            shown.append(out[i + 1])
            i += 2
        else:
            assert out[i] not in string.punctuation
            shown.append(out[i])
            i += 1
    plain = "".join(shown)
    folded = text.translate({ord(c): " " for c in "\r\n\t\v\f\u2028\u2029"})
    assert plain.replace("\u200b", "") == folded.replace("\u200b", "")
    assert "://" not in plain and "@" not in plain.replace("@\u200b", "") and "www." not in plain.lower()


def test_payloads_hand_worked():
    assert md("![p](http://h/p.png)") == "\\!\\[p\\]\\(http\\:\u200b\\/\\/h\\/p\\.png\\)"
    assert md("`x`") == "\\`x\\`" and md("**b**") == "\\*\\*b\\*\\*" and md(":red[x]") == "\\:red\\[x\\]"
    assert md("a@b.org") == "a\\@\u200bb\\.org" and md("www.x.org") == "www\u200b\\.x\\.org"
    assert md("x" * 500, limit=10) == "x" * 10 + "…"
