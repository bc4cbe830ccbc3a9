"""The one grammar for dates and time spans: CLI options, the query language, rule settings and config.

Pure functions over text (the clock is read only when no `now` is given); never returns a span it
cannot represent: a span longer than `MAX_SPAN_YEARS` is refused with a message, not an OverflowError.

    spans    30m  24h  7d  2w  3mo  1y     minutes, hours, days, weeks, months (30 days), years (365 days)
    periods  2025  2025-03  2025-03-31     a whole UTC year, month or day: [start, end)
    instants 2025-03-31T08:00              ISO 8601; UTC unless it names an offset
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

SPAN_RE = re.compile(r"(\d+)\s*(mo|[mhdwy])", re.IGNORECASE)  # "mo" before "m": 3mo is months
UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1),
         "mo": timedelta(days=30), "y": timedelta(days=365)}  # fmt: skip
MAX_SPAN_YEARS = 100
MAX_SPAN = MAX_SPAN_YEARS * UNITS["y"]
PERIOD_RE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
SPAN_FORMS = "30m, 24h, 7d, 2w, 3mo or 1y"
FORMS = f"a date (2025, 2025-03, 2025-03-31, 2025-03-31T08:00) or a span back from now ({SPAN_FORMS})"


class DateError(ValueError):
    """Text that is not a date or a span, or a span too long; the message says which and why."""


def parse_span(text: str) -> timedelta | None:
    """`7d` → 7 days; None when `text` is not written as a span; DateError when it is one but too long."""
    m = SPAN_RE.fullmatch(text.strip())
    if not m:
        return None
    digits, unit = m.group(1), UNITS[m.group(2).lower()]
    if len(digits) > 12 or int(digits) > MAX_SPAN // unit:
        raise DateError(f"'{text.strip()}' is too long a span: at most {MAX_SPAN_YEARS} years")
    return int(digits) * unit


def span(text: str) -> timedelta:
    """A span, for settings that take nothing else (`interval = "30m"`); DateError otherwise."""
    found = parse_span(text)
    if found is None:
        raise DateError(f"'{text.strip()}' is not a span; write a number and a unit: {SPAN_FORMS}")
    return found


def period(text: str) -> tuple[datetime, datetime]:
    """A year, month, day or instant as [start, end) in aware UTC; DateError if it is none of them."""
    text = text.strip()
    m = PERIOD_RE.fullmatch(text)
    if m is None:
        return _instant(text)
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if month is None:
            return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
        if day is None:
            start = datetime(year, int(month), 1, tzinfo=UTC)
            return start, datetime(year + int(month) // 12, int(month) % 12 + 1, 1, tzinfo=UTC)
        start = datetime(year, int(month), int(day), tzinfo=UTC)
        return start, start + timedelta(days=1)
    except (ValueError, OverflowError):
        raise DateError(f"'{text}' is not a real date (years 1 to 9998)") from None


def _instant(text: str) -> tuple[datetime, datetime]:
    if not re.match(r"\d{4}-\d{1,2}-\d{1,2}[T ]\d", text):
        raise DateError(f"'{text}' is not a date or a span")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise DateError(f"'{text}' is not a real date and time") from None
    try:
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        return value, value + timedelta(microseconds=1)
    except OverflowError:
        raise DateError(f"'{text}' is not a real date and time (years 1 to 9998)") from None


def parse_when(text: str, *, now: datetime | None = None, end_of_day: bool = False) -> datetime:
    """An aware UTC datetime from a span back from `now`, or a date's start (its last moment with `end_of_day`)."""
    if (delta := parse_span(text)) is not None:
        return utc(now or datetime.now(UTC)) - delta
    start, end = period(text)
    return end - timedelta(microseconds=1) if end_of_day else start


def utc(dt: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken as UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
