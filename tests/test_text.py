"""reader.text: untrusted text made safe for a terminal, HTML made readable."""

from __future__ import annotations

import unicodedata

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
