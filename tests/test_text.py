"""reader.text: untrusted text made safe for a terminal, HTML made readable."""

from __future__ import annotations

import random
import re
import unicodedata

import lxml.etree
import pytest

from reader.text import clean_line, clean_text, html_to_text

BIDI_CONTROL_CLASSES = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}


def assert_terminal_safe(text: str) -> None:
    """No control character but newline and tab, no bidi controls, no lone surrogates."""
    for char in text:
        assert char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cs"), repr(char)
        assert unicodedata.bidirectional(char) not in BIDI_CONTROL_CLASSES, repr(char)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[31mred\x1b[0m plain", "red plain"),
        ("\x1b[1;38;5;196mbold\x1b[m", "bold"),
        ("\x1b[?1049h\x1b[2J\x1b[Hscreen", "screen"),
        ("\x1b]0;pwned\x07title", "title"),  # OSC ended by BEL
        ("\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink, ended by ST
        ("\x1bP1$qm\x1b\\after DCS", "after DCS"),
        ("\x1b_apc payload\x1b\\after APC", "after APC"),
        ("\x1b^pm payload\x1b\\after PM", "after PM"),
        ("\x1bXsos payload\x1b\\after SOS", "after SOS"),
        ("\x1bcreset \x1b7saved \x1b(Bcharset", "reset saved charset"),
        ("\x9b31mC1 CSI", "C1 CSI"),
        ("\x9d0;pwned\x9cC1 OSC", "C1 OSC"),
        ("\x1b]0;unterminated", "0;unterminated"),  # introducer gone, the rest is inert text
        ("bell\x07 back\x08space nul\x00 del\x7f", "bell backspace nul del"),
    ],
)
def test_clean_text_removes_escape_sequences_and_controls(raw, expected):
    assert clean_text(raw) == expected


def test_clean_text_removes_every_control_character_but_newline_and_tab():
    controls = "".join(chr(c) for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)])

    cleaned = clean_text(f"a{controls}b")

    assert cleaned == "a\t\n\n\nb"  # tab and LF kept; CR and NEL are line breaks too


@pytest.mark.parametrize("raw", ["one\r\ntwo", "one\rtwo", "one\u2028two", "one\x85two"])
def test_clean_text_turns_every_line_break_into_newline(raw):
    assert clean_text(raw) == "one\ntwo"


def test_clean_text_removes_every_bidi_embedding_override_and_isolate():
    bidi_controls = [
        chr(c) for c in range(0x10000) if unicodedata.bidirectional(chr(c)) in BIDI_CONTROL_CLASSES
    ]
    assert len(bidi_controls) == 9  # U+202A-202E, U+2066-2069

    assert clean_text("safe" + "".join(bidi_controls) + "text") == "safetext"


def test_clean_text_removes_invisible_format_characters():
    invisible = "\u200b\u200e\u200f\u2060\ufeff\u00ad\u061c\U000e0041\U000e0042"

    assert clean_text(f"pay{invisible}pal") == "paypal"


def test_clean_text_keeps_right_to_left_scripts_emoji_and_wide_characters():
    england_flag = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    text = f"שלום עולם مرحبا 👩\u200d💻 👍🏽 中文字符 한국어 {england_flag}"

    assert clean_text(text) == text


def test_clean_text_keeps_zero_width_non_joiner_for_persian():
    assert clean_text("می\u200cخواهم") == "می\u200cخواهم"


def test_clean_text_normalizes_to_nfc_and_caps_length():
    assert clean_text("Cafe\u0301") == "Café"
    assert clean_text("abcdef", max_chars=3) == "abc"
    assert clean_text("\x1b[31mabcdef", max_chars=3) == "abc"  # the cap counts visible text


def test_clean_text_keeps_markup_like_text_verbatim():
    text = "[bold red]x[/] [link=https://e.com]y[/link] [/"

    assert clean_text(text) == text
    assert clean_line(text) == text
    assert html_to_text(f"<p>{text}</p>") == text


def test_clean_text_drops_lone_surrogates():
    assert clean_text("a\ud800b") == "ab"


def test_clean_line_collapses_all_whitespace():
    assert clean_line("  Breaking:\n\tnews \r\n  today  ") == "Breaking: news today"
    assert clean_line("\x1b[31m x \x1b]0;t\x07 y") == "x y"


def test_clean_line_caps_length():
    assert clean_line("word " * 500, max_chars=12) == "word word wo"


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("<p>One <b>bold</b> word.</p><p>Two.</p>", "One bold word.\n\nTwo."),
        ("line<br>break<br/><br>blank", "line\nbreak\n\nblank"),
        ("<div>a</div><div>b</div>", "a\nb"),
        ("<h1>Title</h1>Body", "Title\n\nBody"),
        ("<blockquote>quoted</blockquote>after", "quoted\n\nafter"),
        ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
        ("<ol><li><p>loose item</p></li><li>next</li></ol>", "- loose item\n\n- next"),
        ("<ul><li>a<ul><li>nested</li></ul></li><li>b</li></ul>", "- a\n  - nested\n- b"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
        ("<pre>def f():\n    return 1</pre><p>after</p>", "def f():\n    return 1\n\nafter"),
        ("<p>\n   lots   of\n\n  space  </p>", "lots of space"),
        ("AT&amp;T &lt;3 &#x2014; &eacute;", "AT&T <3 — é"),
        ("<p>a&nbsp;b</p>", "a b"),
        ("a < b and c > d", "a < b and c > d"),
        ("plain text\n\n\n\nsecond   paragraph", "plain text\n\nsecond paragraph"),
        ("<p>x</p><p></p><div> </div><p>y</p>", "x\n\ny"),
    ],
)
def test_html_to_text_lays_out_blocks(fragment, expected):
    assert html_to_text(fragment) == expected


@pytest.mark.parametrize("tag", ["script", "style", "template", "noscript"])
def test_html_to_text_drops_invisible_elements(tag):
    assert html_to_text(f"<p>before<{tag}>hidden <b>stuff</b></{tag}>after</p>") == "beforeafter"


@pytest.mark.parametrize("fragment", ["", "   \n\t  ", "<!-- only a comment -->", "<p></p><br>"])
def test_html_to_text_of_nothing_is_empty(fragment):
    assert html_to_text(fragment) == ""


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("<p><b>unclosed <i>tags</p></div></span> & &bogus; <a href=\"", "unclosed tags\n\n& &bogus;"),
        ('<?xml version="1.0" encoding="iso-8859-1"?><p>declared</p>', "declared"),
        ("<p>nul\x00byte</p>", "nul\ufffdbyte"),
        ("<p>lone\ud800surrogate</p>", "lone?surrogate"),
        ("<html><head><title>Page</title></head><body><p>body</p></body></html>", "body"),
    ],
)
def test_html_to_text_survives_broken_html(fragment, expected):
    assert html_to_text(fragment) == expected


def test_html_to_text_handles_huge_input():
    fragment = "<p>" + "word " * 1_000_000 + "</p>" + "<p>para <b>x</b></p>" * 50_000

    text = html_to_text(fragment)

    assert text.startswith("word word")
    assert text.endswith("para x")


def test_html_to_text_survives_absurd_nesting():
    text = html_to_text("<div>" * 100_000 + "deep" + "</div>" * 100_000 + "<p>after</p>")

    assert_terminal_safe(text)  # libxml2 gives up below 256 levels: no crash, no recursion error


def test_html_to_text_caps_length():
    assert html_to_text("<p>" + "x" * 1000 + "</p>", max_chars=10) == "x" * 10


def test_html_to_text_removes_escape_sequences_even_when_split_by_tags():
    hostile = "<p>\x1b<b></b>[31mred\x1b]0;pwned\x07 <i>\x9b</i>2Jbell\x07 \u202eevil</p>"

    text = html_to_text(hostile)

    assert text == "red bell evil"
    assert_terminal_safe(text)


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("<p>a<span> </span>b<b>\n</b>c</p>", "a b c"),
        ("<p><a href='x'>link</a><em>  em </em> <code>code</code></p>", "link em code"),
        ("<pre><span>def</span> <b>f</b>():\n    <i>return</i>  1</pre>", "def f():\n    return  1"),
        ("<ul><li><span>one</span></li><li><a>two</a><ul><li><b>deep</b></li></ul></li></ul>", "- one\n- two\n  - deep"),
        ("<p>x<span><script>hidden</script>y</span>z</p>", "xyz"),
        ("<table><tbody><tr><td><span>a</span></td><td>b</td></tr></tbody></table>", "a b"),
    ],
)
def test_html_to_text_reads_inline_elements_as_their_text_in_place(fragment, expected):
    assert html_to_text(fragment) == expected


# --- the layout walk against the one it replaced ----------------------------------------------------------------


class _ReferenceWriter:
    """The layout as html_to_text wrote it before the walk kept its state in local variables: the oracle."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.pending_breaks = 0
        self.pending_bullet = ""
        self.after_space = True

    def text(self, s: str, preformatted: bool = False) -> None:
        if not preformatted:
            s = re.sub(r"[ \t\n\r\f\xa0]+", " ", s)
            if self.after_space or self.pending_breaks or self.pending_bullet:
                s = s.lstrip(" ")
        if not s:
            return
        if self.pending_breaks:
            if self.chunks:
                self.chunks.append("\n" * self.pending_breaks)
            self.pending_breaks = 0
        s, self.pending_bullet = self.pending_bullet + s, ""
        self.chunks.append(s)
        self.after_space = s[-1] in " \n"

    def line_break(self, n: int) -> None:
        if not self.pending_bullet and n > self.pending_breaks:
            self.pending_breaks = n

    def result(self) -> str:
        text = re.sub(r"[ \t]+\n", "\n", "".join(self.chunks))
        return re.sub(r"\n{3,}", "\n\n", text).strip("\n").rstrip()


def _reference_layout(root: lxml.etree._Element) -> str:
    out, lists, pres = _ReferenceWriter(), 0, 0
    paragraphs = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "dl", "table", "figure",
                  "hr"}  # fmt: skip
    lines = {"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "aside", "nav", "main", "address",
             "details", "summary", "figcaption", "caption", "form", "fieldset", "center"}  # fmt: skip
    skipped = {"script", "style", "template", "noscript", "head", "title", "svg", "math", "select"}
    walker = lxml.etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag if isinstance(element.tag, str) else None
        if event == "start":
            if tag in skipped:
                walker.skip_subtree()
                continue
            if tag == "br":
                if out.chunks:
                    out.pending_breaks = min(out.pending_breaks + 1, 2)
            elif tag in ("ul", "ol"):
                out.line_break(1 if lists else 2)
                lists += 1
            elif tag in ("td", "th"):
                out.text(" ")
            elif tag == "li":
                out.line_break(1)
                out.pending_bullet = "  " * max(lists - 1, 0) + "- "
            elif tag in paragraphs:
                out.line_break(2)
                pres += tag == "pre"
            elif tag in lines:
                out.line_break(1)
            if element.text:
                out.text(element.text, pres > 0)
        else:
            if tag in ("ul", "ol"):
                lists -= 1
                out.line_break(1 if lists else 2)
            elif tag in paragraphs:
                pres -= tag == "pre"
                out.line_break(2)
            elif tag in lines:
                out.line_break(1)
            if element.tail:
                out.text(element.tail, pres > 0)
    return out.result()


def _random_fragment(rng: random.Random) -> str:
    tags = ["p", "div", "li", "ul", "ol", "pre", "br", "td", "tr", "table", "h2", "hr", "script", "span", "b", "foo",
            "svg", "blockquote", "figure", "figcaption"]  # fmt: skip
    texts = [" ", "\n", "  x  ", "\t", "\xa0", "a", "b c", "word ", " lead", "\u2003", "\x1b[31m", "&amp;", "&nbsp;",
             "\n\n\n", " \n ", "y\u2028z", "c\fd", "e&#13;f", "g\x0b h", " \xa0\t\n "]  # fmt: skip
    pieces = ["<div>"]  # a tag: text alone takes another way
    for _ in range(rng.randint(1, 25)):
        roll = rng.random()
        tag = rng.choice(tags)
        pieces.append(f"<{tag}>" if roll < 0.35 else f"</{tag}>" if roll < 0.6 else rng.choice(texts))
    return "".join(pieces)


def test_html_to_text_lays_out_random_fragments_as_the_reference_walk_does():
    rng = random.Random(19)
    parser = lxml.etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    for _ in range(3000):
        fragment = _random_fragment(rng)
        root = lxml.etree.fromstring(fragment.encode(), parser)
        expected = "" if root is None else clean_text(_reference_layout(root))
        assert html_to_text(fragment) == expected, fragment
