"""The one grammar for time: the same spans and errors in `--since`, `date:` queries and settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reader.dates import MAX_SPAN_YEARS, DateError, parse_span, parse_when, period, span
from reader.query import QueryError, parse
from tests.clirun import reader
from tests.feedgen import Item, recent, rss

NOW = datetime(2025, 6, 15, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "delta"),
    [("30m", timedelta(minutes=30)), ("24h", timedelta(hours=24)), ("7d", timedelta(days=7)),
     ("2w", timedelta(weeks=2)), ("3mo", timedelta(days=90)), ("1y", timedelta(days=365)),
     ("2MO", timedelta(days=60)), (f"{MAX_SPAN_YEARS}y", timedelta(days=365 * MAX_SPAN_YEARS))],
)  # fmt: skip
def test_every_unit_means_the_same_everywhere(text, delta):
    assert parse_span(text) == span(text) == delta
    assert parse_when(text, now=NOW) == NOW - delta
    assert parse(f"date:{text}", now=NOW).tree.start == NOW - delta


@pytest.mark.parametrize("text", ["99999999999d", "36501d", f"{MAX_SPAN_YEARS + 1}y", "9" * 5000 + "m"])
def test_a_span_too_long_is_refused_with_its_bound(text):
    with pytest.raises(DateError, match=f"too long a span: at most {MAX_SPAN_YEARS} years"):
        parse_when(text, now=NOW)
    with pytest.raises(QueryError, match=f"at most {MAX_SPAN_YEARS} years"):
        parse(f"date:{text}", now=NOW)


def test_what_is_not_a_span_or_a_date_gets_the_same_words():
    assert parse_span("2025") is None and parse_span("7x") is None
    with pytest.raises(DateError, match="'7x' is not a date or a span"):
        parse_when("7x")
    with pytest.raises(QueryError, match="'7x' is not a date or a span"):
        parse("date:7x", now=NOW)
    with pytest.raises(DateError, match="not a span; write a number and a unit"):
        span("2025-01")


def test_periods_and_instants():
    assert period("2025") == (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    assert period("2025-02-28")[1] == datetime(2025, 3, 1, tzinfo=UTC)
    assert parse_when("2025-03", end_of_day=True) < datetime(2025, 4, 1, tzinfo=UTC) <= parse_when("2025-04")
    assert parse_when("2025-03-31T08:00+02:00") == datetime(2025, 3, 31, 6, 0, tzinfo=UTC)
    assert parse("date:>=2025-03-31T08:00", now=NOW).tree.start == datetime(2025, 3, 31, 8, 0, tzinfo=UTC)
    for impossible in ("2025-02-30", "9999-12-31", "9999", "0000-01"):
        with pytest.raises(DateError, match="not a real date"):
            period(impossible)


def test_date_30m_in_a_query_selects_what_since_30m_selects(tmp_path):
    from tests.httpserver import HTTPServer

    server = HTTPServer()
    try:
        fresh = Item("Chips fresh", server.url("/a"), "chips news", guid="a", published=recent(0.1))
        older = Item("Chips older", server.url("/b"), "chips news", guid="b", published=recent(2))
        feed = server.route("/feed.xml", rss([fresh, older]), headers={"Content-Type": "application/rss+xml"})
        data = tmp_path / "data"
        reader("feeds", "add", feed, data=data)
        assert reader("fetch", "--no-fulltext", data=data).code == 0
        since = reader("articles", "--json", "--since", "30m", data=data)
        query = reader("search", "chips date:30m", "--json", data=data)
        assert since.code == query.code == 0, (since.err, query.err)
        assert [a["title"] for a in since.json()] == [a["title"] for a in query.json()] == ["Chips fresh"]
        huge = reader("articles", "--since", "99999999999d", data=data)
        assert huge.code == 2 and "Traceback" not in huge.err
        assert f"--since: '99999999999d' is too long a span: at most {MAX_SPAN_YEARS} years" in huge.err
    finally:
        server.close()
