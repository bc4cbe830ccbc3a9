"""extract_article on pages shaped like real news sites: the article in, the site around it out."""

from __future__ import annotations

import html
import pickle
import random
from concurrent.futures import ProcessPoolExecutor

import pytest

from reader.fulltext import MAX_HTML_BYTES, MAX_TEXT_CHARS, Extracted, extract_article
from tests.sites import (
    AI_ACT_PROBE,
    DATA_CENTER_WATER,
    DEEPSEEK_BODY_MATCH,
    DEEPSEEK_SCENARIOS,
    DEEPSEEK_SIDEBAR_ONLY,
    DEEPSEEK_STEMMED,
    DEEPSEEK_SUMMARY_MATCH,
    STORIES,
    STYLES,
    NewsPage,
    news_page,
    story_page,
)

STORY_PAGES = [story_page(style, story) for style in STYLES for story in STORIES]
ALL_PAGES = STORY_PAGES + [scenario.page for scenario in DEEPSEEK_SCENARIOS]


def _page_id(page: NewsPage) -> str:
    return page.url.split("//", 1)[1].split(".", 1)[0] + ":" + page.url.rstrip("/").rsplit("/", 1)[1]


def _extract(page: NewsPage) -> Extracted:
    extracted = extract_article(page.encoded(), page.url)
    assert extracted is not None, f"no article found in {page.url}"
    return extracted


# --- the article in, the site out -----------------------------------------------------------


@pytest.mark.parametrize("page", ALL_PAGES, ids=_page_id)
def test_page_builder_puts_boilerplate_on_the_page_and_not_in_the_body(page):
    """Guards the tests below: a phrase missing from the output was on the page to drop."""
    for phrase in page.boilerplate:
        assert html.escape(phrase) in page.html
        assert not any(phrase in paragraph for paragraph in page.paragraphs)


@pytest.mark.parametrize("page", STORY_PAGES, ids=_page_id)
def test_every_body_paragraph_is_kept_as_its_own_block(page):
    blocks = _extract(page).text.split("\n\n")
    for paragraph in page.paragraphs:
        assert paragraph in blocks


@pytest.mark.parametrize("page", ALL_PAGES, ids=_page_id)
def test_no_boilerplate_survives(page):
    """Menus, sidebars, related lists, the see-also line, cookie, newsletter, comments, bio, footer."""
    extracted = _extract(page)
    leaked = [p for p in page.boilerplate if p in extracted.text or p in extracted.markdown]
    assert leaked == []


@pytest.mark.parametrize("style", STYLES)
def test_paragraph_mentioning_a_newsletter_in_passing_is_kept(style):
    text = _extract(story_page(style, DATA_CENTER_WATER)).text
    assert "said in its quarterly newsletter to customers that data centers" in text
    assert "Sign up for our newsletter" not in text


@pytest.mark.parametrize("style", STYLES)
def test_title_comes_from_the_page(style):
    assert _extract(story_page(style, AI_ACT_PROBE)).title == AI_ACT_PROBE.title


@pytest.mark.parametrize("style", STYLES)
def test_markdown_keeps_heading_link_and_emphasis(style):
    extracted = _extract(story_page(style, AI_ACT_PROBE))
    anchor, href = AI_ACT_PROBE.link
    assert "\n## A test case for the AI Office\n" in extracted.markdown
    assert f"[{anchor}]({href})" in extracted.markdown
    assert f"*{AI_ACT_PROBE.emphasis}*" in extracted.markdown


def test_plain_text_has_link_text_without_markup():
    text = _extract(story_page("wire", AI_ACT_PROBE)).text
    assert "the Commission's published guidance left room" in text
    assert "](" not in text and "*" not in text and "#" not in text


# --- cross-links inside the body -------------------------------------------------------------


@pytest.mark.parametrize(
    "label",
    ["See also:", "Read more:", "READ MORE |", "Related:", "Related coverage:", "Also read —", "More from Voltage:",
     "Read next:", "MORE:", "WATCH:", "Don't miss:", "In case you missed it:", "Recommended for you »"],
)
def test_cross_link_line_in_the_body_is_dropped_whatever_its_label(label):
    headline = "Regulators fine a cloud provider over data transfers"
    page = story_page("wordpress", AI_ACT_PROBE, see_also=headline, see_also_label=label)
    extracted = _extract(page)
    assert headline not in extracted.text
    assert not any(block.startswith(label) for block in extracted.text.split("\n\n"))
    assert AI_ACT_PROBE.paragraphs[2] in extracted.text  # its neighbours stay
    assert AI_ACT_PROBE.paragraphs[3] in extracted.text


def test_sentences_that_start_like_a_cross_link_are_kept():
    prose = (
        "Related: the ministry said the same rules would apply to cloud contracts signed before the law, "
        "a point that several providers dispute in their filings."
    )
    linked_prose = (
        "See also the dissent, in which two judges argued that the regulator had overstepped its "
        "mandate by treating model weights as personal data, a view the majority rejected."
    )
    paragraphs = [*AI_ACT_PROBE.paragraphs[:3], prose, linked_prose, *AI_ACT_PROBE.paragraphs[3:]]
    page = news_page("wire", AI_ACT_PROBE.title, paragraphs, link=("the dissent", "https://court.example/dissent"))
    text = _extract(page).text
    assert prose in text
    assert linked_prose in text


# --- the DeepSeek scenarios the alert tests rely on ------------------------------------------


def test_body_match_keeps_both_terms_from_different_paragraphs():
    text = _extract(DEEPSEEK_BODY_MATCH.page).text
    assert "DeepSeek" in text
    assert "export controls" in text
    assert not any("DeepSeek" in p and "export controls" in p for p in DEEPSEEK_BODY_MATCH.page.paragraphs)


def test_summary_match_has_the_terms_only_in_the_feed_summary():
    extracted = extract_article(DEEPSEEK_SUMMARY_MATCH.page.encoded(), DEEPSEEK_SUMMARY_MATCH.url)
    text = extracted.text if extracted else ""
    assert "DeepSeek" not in text  # the page's sidebar has a DeepSeek headline: dropped
    assert "export controls" not in text
    assert "DeepSeek" in DEEPSEEK_SUMMARY_MATCH.summary
    assert "export controls" in DEEPSEEK_SUMMARY_MATCH.summary


def test_sidebar_only_drops_every_mention_of_export_controls():
    page = DEEPSEEK_SIDEBAR_ONLY.page
    assert page.html.lower().count("export controls") >= 4  # menu, related, sidebar, see-also
    extracted = _extract(page)
    assert "DeepSeek" in extracted.text
    assert "export" not in extracted.text.lower()
    assert "export" not in extracted.markdown.lower()


def test_stemmed_keeps_the_singular_form_only():
    text = _extract(DEEPSEEK_STEMMED.page).text
    assert "DeepSeek" in text
    assert "export control " in text
    assert "export controls" not in text
    assert "export controls" not in DEEPSEEK_STEMMED.page.html


# --- encodings ------------------------------------------------------------------------------

_SPEAKER = "Søren Müller, speaking in Zürich"


def _article_with(sentence: str, charset: str) -> NewsPage:
    paragraphs = list(AI_ACT_PROBE.paragraphs)
    paragraphs[1] += f" {sentence}"
    return news_page("wire", AI_ACT_PROBE.title, paragraphs, charset=charset)


def test_latin1_page_is_decoded_by_its_declared_charset():
    page = _article_with(f"The request was confirmed by {_SPEAKER}.", "iso-8859-1")
    with pytest.raises(UnicodeDecodeError):
        page.encoded().decode("utf-8")
    assert f"confirmed by {_SPEAKER}." in _extract(page).text


def test_latin1_label_means_windows_1252_as_in_browsers():
    """Pages that say iso-8859-1 use cp1252's curly quotes and dashes; Latin-1 would make them controls."""
    quote = "\u201cWe will cooperate fully\u201d \u2014 " + _SPEAKER
    page = _article_with(quote, "iso-8859-1")
    extracted = extract_article(page.html.encode("cp1252"), page.url)
    assert quote in extracted.text


@pytest.mark.parametrize(
    ("charset", "sentence"),
    [("windows-1251", "The spokesman, Дмитрий Иванов, declined to comment."), ("koi8-r", "Он отказался от комментариев.")],
)
def test_declared_cyrillic_charsets(charset, sentence):
    page = _article_with(sentence, charset)
    assert sentence in _extract(page).text


def test_http_equiv_charset_declaration():
    page = _article_with(f"Confirmed by {_SPEAKER}.", "utf-8")
    http_equiv = page.html.replace(
        '<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">'
    )
    assert f"Confirmed by {_SPEAKER}." in extract_article(http_equiv.encode("latin-1"), page.url).text


@pytest.mark.parametrize("declared", ["x-no-such-charset", "utf-16", "utf-32", "cp037", "rot13", "idna", "base64"])
def test_declared_charset_that_cannot_be_the_pages_is_ignored(declared):
    """A declaration readable as ASCII rules out charsets that are not ASCII-compatible (as browsers do)."""
    page = _article_with(f"Confirmed by {_SPEAKER}.", "utf-8")
    mislabelled = page.html.replace('<meta charset="utf-8">', f'<meta charset="{declared}">')
    assert f"Confirmed by {_SPEAKER}." in extract_article(mislabelled.encode("utf-8"), page.url).text


def test_utf16_page_with_byte_order_mark():
    page = _article_with(f"Confirmed by {_SPEAKER}.", "utf-8")
    assert f"Confirmed by {_SPEAKER}." in extract_article(page.html.encode("utf-16"), page.url).text


# --- hostile and odd input -------------------------------------------------------------------

LOGIN_PAGE = """<!DOCTYPE html><html><head><title>Sign in</title></head><body>
<header><nav><a href="/">Home</a> <a href="/pricing">Pricing</a></nav></header>
<main><form action="/login" method="post"><h1>Sign in to your account</h1>
<label>Email <input type="email" name="email"></label><label>Password <input type="password" name="password"></label>
<button type="submit">Sign in</button><p><a href="/forgot">Forgot your password?</a></p></form></main>
<footer>© 2025 Example Inc.</footer></body></html>"""


@pytest.mark.parametrize(
    "html_input",
    [
        pytest.param("", id="empty-str"),
        pytest.param(b"", id="empty-bytes"),
        pytest.param(" \n\t ", id="whitespace"),
        pytest.param("<html><head></head><body></body></html>", id="empty-body"),
        pytest.param(LOGIN_PAGE, id="login-page"),
        pytest.param(bytes(random.Random(1).randrange(256) for _ in range(20_000)), id="random-bytes"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\n" * 50, id="pdf"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, id="png"),
        pytest.param("<div>" * 50_000 + "<p>deep</p>" + "</div>" * 50_000, id="deeply-nested"),
    ],
)
def test_input_without_an_article_gives_none(html_input):
    assert extract_article(html_input, "https://example.com/page") is None


def test_truncated_page_still_yields_its_first_paragraphs():
    page = story_page("techsite", AI_ACT_PROBE)
    cut = page.html.index(AI_ACT_PROBE.paragraphs[3][:40])
    extracted = extract_article(page.html[:cut], page.url)
    assert AI_ACT_PROBE.paragraphs[0] in extracted.text


def test_oversized_page_is_skipped():
    page = story_page("wire", AI_ACT_PROBE)
    padding = "<!-- " + "x" * MAX_HTML_BYTES + " -->"
    huge = page.html.replace("</body>", padding + "</body>")
    assert extract_article(huge, page.url) is None
    assert extract_article(huge.encode("utf-8"), page.url) is None


def test_output_is_capped_at_a_paragraph_break():
    filler = "Lawmakers debated the measure at length without reaching a conclusion on the budget. " * 9
    paragraphs = [f"Section {i}. {filler}" for i in range(450)]
    extracted = _extract(news_page("wordpress", "A very long report", paragraphs))
    assert 0.8 * MAX_TEXT_CHARS < len(extracted.text) <= MAX_TEXT_CHARS
    assert len(extracted.markdown) <= MAX_TEXT_CHARS
    assert extracted.text.split("\n\n")[-1] in [p.strip() for p in paragraphs]


def test_escape_sequences_and_control_characters_never_reach_the_output():
    hostile = "The filing \x1b[2J\x1b]0;pwned\x07was \x1b[31mred\x1b[0m and\x08 \u202eflipped\u202c here."
    paragraphs = [*AI_ACT_PROBE.paragraphs[:2], hostile + " " + AI_ACT_PROBE.paragraphs[2]]
    extracted = _extract(news_page("wire", "Title with \x1b[5mblink\x1b[0m", paragraphs))
    for out in (extracted.text, extracted.markdown, extracted.title):
        assert not any(ch < " " and ch not in "\n\t" for ch in out)
        assert "\x1b" not in out and "\u202e" not in out and "pwned" not in out
    assert "The filing was red and flipped here." in extracted.text


# --- runs in the pipeline's worker processes -------------------------------------------------


def test_extraction_runs_in_a_process_pool():
    pages = STORY_PAGES[:4]
    with ProcessPoolExecutor(max_workers=1) as pool:
        results = list(pool.map(extract_article, [p.encoded() for p in pages], [p.url for p in pages]))
    for page, extracted in zip(pages, results, strict=True):
        assert page.paragraphs[0] in extracted.text
    assert pickle.loads(pickle.dumps(results[0])) == results[0]
