"""The query language: syntax, errors with positions, warnings, dates, and what the engine is told."""

from datetime import UTC, datetime, timedelta

import pytest

from reader.index import explain, parse_query, required_terms, words_only
from reader.query import And, DateRange, Not, Or, Phrase, QueryError, Word, parse, parse_date_value, render

NOW = datetime(2025, 6, 15, 12, 30, tzinfo=UTC)


def tree(text: str):
    return parse(text, now=NOW).tree


def test_bare_terms_are_anded():
    assert tree("DeepSeek export controls") == And((Word("DeepSeek", None, 0), Word("export", None, 9),
                                                    Word("controls", None, 16)))  # fmt: skip


def test_precedence_not_and_or():
    assert render(tree("a b OR c")) == "(a AND b) OR c"
    assert render(tree("a AND (b OR c)")) == "a AND (b OR c)"
    assert tree("NOT a OR b") == Or((Not(Word("a", None, 4)), Word("b", None, 9)))
    assert tree("NOT a b") == And((Not(Word("a", None, 4)), Word("b", None, 6)))


def test_minus_negates_but_hyphens_inside_words_do_not():
    assert tree("-group:Tech chips") == And((Not(Word("Tech", "group", 7)), Word("chips", None, 12)))
    assert tree("DeepSeek-R1") == Word("DeepSeek-R1", None, 0)
    assert tree("-(a OR b)") == Not(Or((Word("a", None, 2), Word("b", None, 7))))


def test_field_prefixes_phrases_and_groups():
    assert tree('feed:"MIT Technology Review"') == Phrase("MIT Technology Review", "feed", 5)
    assert tree("tag:policy") == Word("policy", "tags", 4)
    assert tree("Title:DeepSeek") == Word("DeepSeek", "title", 6)
    assert tree('title:(DeepSeek OR "export controls")') == Or(
        (Word("DeepSeek", "title", 7), Phrase("export controls", "title", 19))
    )


def test_urls_and_times_are_words_not_fields():
    assert tree("https://example.com/a") == Word("https://example.com/a", None, 0)
    assert tree("10:30") == Word("10:30", None, 0)


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("(a OR b", "this '(' is never closed", 0),
        ("a (b c", "this '(' is never closed", 2),
        ("x title:(a OR b", "this '(' is never closed", 8),  # the '(' itself, not the prefix
        ("title:()", "empty parentheses", 6),
        ("a OR b)", "this ')' has no matching '('", 6),
        ("a AND", "AND needs a term after it", 2),
        ("AND a", "AND needs a term before it", 0),
        ("a OR OR b", "OR needs a term after it", 2),
        ("a NOT", "NOT needs a term after it", 2),
        ('DeepSeek "export controls', "this quote is never closed", 9),
        ("()", "empty parentheses", 0),
        ("chips foo:bar", "unknown field 'foo'", 6),
        ("title: x", "'title:' needs a value", 0),
        ("date:2025-13", "'2025-13' is not a real date", 5),
        ("date:2025-02-30", "'2025-02-30' is not a real date", 5),
        ("date:yesterday", "'yesterday' is not a date", 5),
        ("date:2025-03-01..2025-02-01", "ends before it starts", 5),
    ],
)
def test_errors_name_the_column(query, message, position):
    with pytest.raises(QueryError) as caught:
        parse_query(query, now=NOW)
    error = caught.value
    assert message in error.message
    assert error.position == position
    assert f"(column {position + 1})" in error.message
    shown = str(error).splitlines()
    assert shown[1] == f"  {query}"
    assert shown[2] == "  " + " " * position + "^"


def test_empty_and_unsearchable_queries_are_errors():
    for text in ("", "   "):
        with pytest.raises(QueryError, match="empty"):
            parse_query(text)
    with pytest.raises(QueryError, match="nothing in the query can be searched"):
        parse_query("& —")


@pytest.mark.parametrize(
    ("query", "warning"),
    [
        ("cats or dogs", "'or' is searched as a word here; write OR to mean either term"),
        ("cats and dogs", "'and' is searched as a word here; write AND, or nothing at all"),
        ("cats not dogs", "'not' is searched as a word here; write NOT to exclude the next term"),
        ("cats Or dogs", "'Or' is searched as a word here"),
    ],
)
def test_lowercase_operators_are_words_with_a_warning(query, warning):
    parsed = parse_query(query)
    assert any(w.startswith(warning) for w in parsed.warnings), parsed.warnings
    assert isinstance(parsed.tree, And) and len(parsed.tree.children) == 3
    assert "warning: " + parsed.warnings[0] in explain(parsed)


def test_operators_in_phrases_and_fields_need_no_warning():
    assert parse_query('"war or peace"').warnings == ()
    assert parse_query("title:or").warnings == ()
    assert parse_query("cats OR dogs").warnings == ()


def test_mixing_and_with_or_warns_how_it_reads():
    (warning,) = parse_query("DeepSeek chips OR GPUs").warnings
    assert "(DeepSeek AND chips) OR GPUs" in warning
    assert parse_query("DeepSeek AND (chips OR GPUs)").warnings == ()


def test_ignored_characters_are_reported():
    assert "'&' has no letters or digits, so it is ignored" in parse_query("AT & T").warnings
    assert any("wildcards are not supported" in w for w in parse_query("deep*").warnings)


def period(value: str) -> tuple:
    start, end, _relative = parse_date_value(value, NOW)
    return start, end


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_dates_are_whole_utc_periods():
    assert period("2025-03") == (utc(2025, 3, 1), utc(2025, 4, 1))
    assert period("2025-12") == (utc(2025, 12, 1), utc(2026, 1, 1))
    assert period("2024") == (utc(2024, 1, 1), utc(2025, 1, 1))
    assert period("2025-01-01..2025-02-01") == (utc(2025, 1, 1), utc(2025, 2, 2))  # both ends included
    assert period("2025-01-15..") == (utc(2025, 1, 15), None)
    assert period(">=2025-01-01") == (utc(2025, 1, 1), None)
    assert period(">2025-01-01") == (utc(2025, 1, 2), None)
    assert period("<2025-06-01") == (None, utc(2025, 6, 1))
    assert period("<=2025-06-01") == (None, utc(2025, 6, 2))


def test_relative_dates_count_back_from_now():
    assert parse_date_value("7d", NOW) == (NOW - timedelta(days=7), None, True)
    assert period("24h") == (NOW - timedelta(hours=24), None)
    assert period("2w") == (NOW - timedelta(weeks=2), None)
    assert parse_query("date:7d chips", now=NOW).relative_dates
    assert not parse_query("date:2025-03 chips", now=NOW).relative_dates
    assert tree("date:24h") == DateRange(NOW - timedelta(hours=24), None, "24h", 0)


def test_explain_shows_and_fields_and_stemmed_terms():
    shown = explain(parse_query('DeepSeek "export controls" -group:Tech', now=NOW))
    assert "ALL of:" in shown
    assert 'word "deepseek" in any text field' in shown
    assert 'phrase "export control" in any text field' in shown
    assert "NOT (must not match):" in shown and 'word "tech" in group' in shown
    assert "Bare terms must ALL match (AND); each may be in a different field" in shown
    assert 'phrase "deepseek R1 (acronym)" (from "DeepSeek-R1")' in explain(parse_query("DeepSeek-R1"))


def test_required_terms_say_what_any_match_contains():
    clauses = required_terms(parse_query('title:DeepSeek ("export controls" OR sanctions) NOT group:Tech'))
    assert clauses[0] == {("title", "deepseek")}
    assert {("text", "export"), ("text", "control"), ("text", "sanction")} <= clauses[1]
    assert len(clauses) == 2
    assert required_terms(parse_query("NOT group:Tech")) == ()
    assert required_terms(parse_query("chips OR date:7d", now=NOW)) == ()
    assert len(required_terms(parse_query('"US export controls"'))) == 3


def test_words_only_tells_queries_without_phrases_or_lone_cjk_characters():
    """What the TUI runs on its event loop: words (in fields, with NOT, OR, dates) read no positions."""
    assert words_only(parse_query("title:Nvidia (export OR sanctions) NOT intel date:7d", now=NOW))
    assert not words_only(parse_query('nvidia "export controls"'))
    assert not words_only(parse_query("DeepSeek-R1"))  # one word, two terms: a phrase
    assert not words_only(parse_query("NOT 芯"))  # a lone CJK character: scanned for
