"""Boilerplate left inside an extracted article body: find it and drop it.

Works on trafilatura's body tree only; never fetches and never keys on a site.
"""

from __future__ import annotations

import re

from lxml import etree
from trafilatura.xml import delete_element

# --- cross-links inside the body ----------------------------------------------------------

# Labels that introduce a link to another article rather than a sentence of this one.
_CROSS_LINK_LABEL = re.compile(
    r"""^\W*(?:
        see\ also | read\ more | read\ also | also\ read | more\ reading | further\ reading
        | related(?:\ (?:stories|story|coverage|articles?|reading|content|posts?))?
        | recommended(?:\ reading)? | you\ (?:may|might)\ also\ like | don[’']t\ miss
        | more\ (?:from|on)\ [^:|–—]{1,60}
    )\s*[:|–—»>-]""",
    re.IGNORECASE | re.VERBOSE,
)
MAX_CROSS_LINK_CHARS = 300  # a cross-link is a headline, not a paragraph
MIN_LINKED_SHARE = 0.5  # of the text after the label that is link text


def drop_cross_links(body: etree._Element) -> None:
    """Remove paragraphs like "See also: <link>headline</link>" from an extracted body.

    A paragraph goes only if it is short, starts with such a label and is mostly
    a link: a sentence that merely starts with "Related:" stays.
    """
    for paragraph in list(body.iter("p")):
        if _is_cross_link(paragraph):
            delete_element(paragraph)


def _is_cross_link(paragraph: etree._Element) -> bool:
    text = "".join(paragraph.itertext()).strip()
    if len(text) > MAX_CROSS_LINK_CHARS:
        return False
    label = _CROSS_LINK_LABEL.match(text)
    if label is None:
        return False
    rest = text[label.end() :].strip()
    linked = sum(len("".join(ref.itertext()).strip()) for ref in paragraph.iter("ref"))
    return bool(rest) and linked >= MIN_LINKED_SHARE * len(rest)
