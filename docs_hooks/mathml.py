"""MkDocs hook: the pages' TeX becomes MathML when the site is built, so the math shows in any
current browser with no script and no network (pymdownx.arithmatex marks it, generic mode)."""

from __future__ import annotations

import html
import re
from typing import Any

from latex2mathml.converter import convert

# arithmatex's generic output: \( … \) in a span for inline math, \[ … \] in a div for display.
INLINE = re.compile(r'<span class="arithmatex">\\\((.*?)\\\)</span>', re.S)
DISPLAY = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', re.S)


def to_mathml(tex: str, display: str) -> str:
    """The TeX of one formula (HTML-escaped, as it sits in the page) as a MathML element."""
    return convert(html.unescape(tex).strip(), display=display)


# The table of contents holds a heading's text with its markup stripped: bare \( … \).
TOC_INLINE = re.compile(r"\\\((.*?)\\\)", re.S)


def on_page_content(content: str, page: Any, **_: Any) -> str:
    """Every formula of a page rendered, in its text and in its table of contents."""
    entries = list(page.toc)
    while entries:
        entry = entries.pop()
        entry.title = TOC_INLINE.sub(lambda m: to_mathml(m[1], "inline"), entry.title)
        entries.extend(entry.children)
    content = DISPLAY.sub(lambda m: f'<div class="math">{to_mathml(m[1], "block")}</div>', content)
    return INLINE.sub(lambda m: to_mathml(m[1], "inline"), content)
