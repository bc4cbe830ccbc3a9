"""Making untrusted text (feed titles, summaries, article HTML) safe for a terminal.

Everything here is pure: str in, str out, never raises on odd input. The output
holds no escape sequences, no control characters but newline and tab, and no
invisible characters that can reorder or hide part of a line. Markup-looking
text such as ``[bold]`` is kept verbatim: it is data, and escaping it is the UI
layer's job.
"""

from __future__ import annotations

import html
import re
import unicodedata

import lxml.etree

# Terminal escape sequences, 7-bit (ESC ...) and 8-bit (C1) forms. Strings (OSC,
# DCS, SOS, PM, APC) go first: their payload must vanish with them.
_ESCAPE_SEQUENCE = re.compile(
    # strings, ended by BEL or ST; the payload stops at any ESC or C1 so that many
    # unterminated introducers cost linear time, not quadratic
    "(?:\x1b[\\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x80-\x9f]*(?:\x07|\x1b\\\\|\x9c)"
    "|(?:\x1b\\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: parameters, intermediates, final byte
    "|\x1b[ -/]*[0-~]"  # any other ESC sequence: intermediates, final byte
)

_ESCAPE_START = re.compile("[\x1b\x90-\x9f]")

_LINE_BREAK = re.compile("\r\n?|[\x85\u2028\u2029]")
_LINE_BREAK_START = re.compile("[\r\x85\u2028\u2029]")

# C0/C1 controls except \t and \n; lone surrogates (unprintable); invisible
# format characters that hide text or reorder a line: soft hyphen, Arabic letter
# mark, Mongolian vowel separator, zero-width space, LRM/RLM, bidi embeddings and
# overrides (202A-202E), word joiner and invisible operators, bidi isolates and
# deprecated format controls (2066-206F), BOM, interlinear annotations.
# ZWNJ/ZWJ (200C/200D) stay: emoji sequences and Persian/Indic text need them.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff"
    "\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)

# Tag characters are invisible ("ASCII smuggling") except inside an emoji tag
# sequence, which is how subdivision flags such as England's are written.
_TAG_OR_FLAG = re.compile("(\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f)|[\U000e0000-\U000e007f]")
_TAG = re.compile("[\U000e0000-\U000e007f]")

# Any character one of the patterns above acts on: most text holds none, and one scan for
# them all costs what each pattern's own scan did (a third of clean_text's time each).
_ANY_TO_CLEAN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u00ad\u061c\u180e\u200b\u200e\u200f\u2028\u2029"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)

_SPACES_BEFORE_NEWLINE = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n\n\n+")  # a literal start: found 4x faster than \n{3,}


def clean_text(s: str, max_chars: int | None = None) -> str:
    """Remove escape sequences, control and invisible format characters; NFC; cap length.

    Newlines (any of CR LF, CR, NEL, U+2028/2029 become LF) and tabs are kept.
    """
    if _ANY_TO_CLEAN.search(s):
        # Each alternation is slow to scan with, so a one-class search decides whether to run it.
        if _ESCAPE_START.search(s):
            s = _ESCAPE_SEQUENCE.sub("", s)
        if _LINE_BREAK_START.search(s):
            s = _LINE_BREAK.sub("\n", s)
        s = _INVISIBLE.sub("", s)
        if not s.isascii() and _TAG.search(s):
            s = _TAG_OR_FLAG.sub(lambda m: m.group(1) or "", s)
    if not s.isascii():
        s = unicodedata.normalize("NFC", s)
    return s if max_chars is None else s[:max_chars]


def clean_line(s: str, max_chars: int = 500) -> str:
    """`clean_text`, then all whitespace runs (newlines too) become one space; stripped."""
    return " ".join(clean_text(s).split())[:max_chars]


# Elements whose text a reader never sees.
_SKIPPED = frozenset({"script", "style", "template", "noscript", "head", "title", "svg", "math", "select"})
# Blocks separated by a blank line, and blocks that only start a new line.
_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "dl", "table", "figure", "hr"}
)
_LINES = frozenset(
    {"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "aside", "nav", "main",
     "address", "details", "summary", "figcaption", "caption", "form", "fieldset", "center"}
)
_CELLS = frozenset({"td", "th"})
_LISTS = frozenset({"ul", "ol"})

_TAG_START = re.compile(r"<[A-Za-z!/?]")
# HTML's whitespace is " \t\n\r\f" and the no-break space; in text (not <pre>) each run of it is one space.
_SPACE_RUNS = re.compile("  +")
_HTML_SPACES = " \t\n\r\f\xa0"

# lxml.etree's parser, not lxml.html's: its element class lookup costs ~10% here. Without a
# table of id attributes (nothing here looks an element up by id) it parses a quarter faster.
_HTML_PARSER = lxml.etree.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True, default_doctype=False,
    collect_ids=False,
)


# What each element does to the layout, by tag (other tags are inline: they only hold text).
_SKIP, _BREAK, _LIST, _PARAGRAPH, _LINE, _CELL, _ITEM, _PRE = range(8)
_KINDS = {
    **dict.fromkeys(_SKIPPED, _SKIP), **dict.fromkeys(_LINES, _LINE), **dict.fromkeys(_PARAGRAPHS, _PARAGRAPH),
    **dict.fromkeys(_LISTS, _LIST), **dict.fromkeys(_CELLS, _CELL), "br": _BREAK, "li": _ITEM, "pre": _PRE,
}  # fmt: skip


# Inline elements only hold text: lxml takes the common ones out of the tree (their text and
# children kept in place) in C, so the walk below visits blocks and far fewer, longer text runs.
# (Collapsing whitespace run by run or over runs joined gives the same text.) As bytes: lxml reads
# the names on every call, and bytes a third faster than str (~5 µs a fragment).
_INLINE = tuple(name.encode("ascii") for name in sorted({
    "a", "abbr", "acronym", "audio", "b", "bdi", "bdo", "big", "body", "button", "cite", "code", "data", "del",
    "dfn", "em", "font", "i", "iframe", "img", "input", "ins", "kbd", "label", "mark", "nobr", "picture", "q",
    "s", "samp", "small", "source", "span", "strike", "strong", "sub", "sup", "tbody", "tfoot", "thead", "time",
    "tt", "u", "var", "video", "wbr",
} - _KINDS.keys()))  # fmt: skip


def _layout(root: lxml.etree._Element) -> str:
    """The tree's text laid out the way a browser lays out blocks, tidied (see `_tidy`).

    Walks without recursion (deeply nested HTML must not blow the stack), one dict lookup
    per element. Line breaks and list bullets wait until the next text, so empty elements
    leave no blank lines and there are none at the start or the end; a break adds to those
    pending only for <br> (<br><br> makes a blank line). The state lives in local variables,
    not an object: this loop runs for every element of every article.
    """
    chunks: list[str] = []
    append = chunks.append
    pending = 0  # line breaks to write before the next text
    bullet = ""  # a list item's "- " (indented), written before its first text
    after_space = True  # at the start, or the last text ended with a space
    list_depth = pre_depth = 0
    preformatted = False  # any text from <pre> (only it can hold spaces before a newline or 3 newlines)
    kinds, space_runs, html_spaces = _KINDS, _SPACE_RUNS, _HTML_SPACES
    walker = lxml.etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        kind = kinds.get(element.tag)  # a comment's or entity's tag is a function: no kind
        if event == "start":
            if kind is not None:
                if kind == _SKIP:
                    walker.skip_subtree()
                    continue
                if kind == _PARAGRAPH:
                    if not bullet:  # blocks opening inside a list item before its text stay on its line
                        pending = 2
                elif kind == _BREAK:
                    if chunks:
                        pending = min(pending + 1, 2)
                elif kind == _LINE:
                    if not bullet and not pending:
                        pending = 1
                elif kind == _ITEM:
                    if not bullet and not pending:
                        pending = 1
                    bullet = "  " * max(list_depth - 1, 0) + "- "
                elif kind == _LIST:
                    if not bullet and (1 if list_depth else 2) > pending:
                        pending = 1 if list_depth else 2  # a nested list continues its item
                    list_depth += 1
                elif kind == _CELL:
                    if not (after_space or pending or bullet):
                        append(" ")
                        after_space = True
                else:  # <pre>
                    if not bullet:
                        pending = 2
                    pre_depth += 1
            text = element.text
        else:
            if kind is not None:
                if kind == _PARAGRAPH:
                    if not bullet:
                        pending = 2
                elif kind == _LINE or kind == _ITEM:
                    if not bullet and not pending:
                        pending = 1
                elif kind == _LIST:
                    list_depth -= 1
                    if not bullet and (1 if list_depth else 2) > pending:
                        pending = 1 if list_depth else 2
                elif kind == _PRE:
                    pre_depth -= 1
                    if not bullet:
                        pending = 2
            text = element.tail
        if not text:
            continue
        if pre_depth:
            preformatted = True
        else:
            # Printable text without two spaces in a row has no HTML whitespace run to collapse
            # (tab, newline, CR, FF and no-break space are not printable): most runs skip this.
            if not text.isprintable() or "  " in text:
                if not text.strip(html_spaces):  # HTML whitespace alone (half the runs: what lies between blocks)
                    if after_space or pending or bullet:
                        continue
                    text = " "
                else:
                    # Each HTML space as " ", then each run of them as one: str.replace's scans and a literal
                    # pattern cost a third less than a regex scanning for a class of characters.
                    text = (text.replace("\n", " ").replace("\t", " ").replace("\r", " ").replace("\f", " ")
                            .replace("\xa0", " "))  # fmt: skip
                    if "  " in text:
                        text = space_runs.sub(" ", text)
            if after_space or pending or bullet:
                text = text.lstrip(" ")
                if not text:
                    continue
        if pending:
            if chunks:
                if not preformatted and chunks[-1][-1] == " ":
                    chunks[-1] = chunks[-1][:-1]  # what `_tidy` would remove: a line's trailing space
                append("\n" * pending)
            pending = 0
        if bullet:
            text = bullet + text
            bullet = ""
        append(text)
        after_space = text[-1] in " \n"
    result = "".join(chunks)
    # Without <pre>, text holds no newline of its own and at most one space before a break
    # (removed above): what is left of `_tidy` is the end's spaces.
    return _tidy(result) if preformatted else result.rstrip()


def _tidy(text: str) -> str:
    """No trailing spaces on lines, at most one blank line in a row, no outer blank lines.

    Leading spaces stay: they can only come from <pre>, where they are indentation.
    """
    # (Substring tests and replacements are ten times faster than a regex scan; a long run of
    # spaces before a newline, which would need a replacement per space, goes to the regex.)
    for _ in range(3):
        if " \n" not in text and "\t\n" not in text:
            break
        text = text.replace(" \n", "\n").replace("\t\n", "\n")
    else:
        text = _SPACES_BEFORE_NEWLINE.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip("\n").rstrip()


def _plain_to_text(s: str) -> str:
    """Text with no tags at all: decode entities, keep its own line breaks, tidy spaces."""
    lines = (" ".join(line.split()) for line in html.unescape(s).splitlines())
    return _tidy("\n".join(lines))


def html_to_text(html_fragment: str, max_chars: int | None = None) -> str:
    """An HTML fragment as readable plain text: blocks on their own lines, paragraphs
    separated by a blank line, list items as "- ", entities decoded, made safe by
    `clean_text`. Never raises: unparsable input yields its text as-is, cleaned.
    """
    if not _TAG_START.search(html_fragment):
        return clean_text(_plain_to_text(html_fragment), max_chars)
    try:
        # Bytes, not str: lxml refuses str with an XML encoding declaration.
        root = lxml.etree.fromstring(html_fragment.encode("utf-8", "replace"), _HTML_PARSER)
    except (lxml.etree.LxmlError, ValueError):
        return clean_text(_plain_to_text(html_fragment), max_chars)
    if root is None:  # nothing but whitespace or comments
        return ""
    lxml.etree.strip_tags(root, *_INLINE)
    # clean_text runs last: an escape sequence may have been split by tags.
    return clean_text(_layout(root), max_chars)
