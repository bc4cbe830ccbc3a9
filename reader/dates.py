"""Dates as people type them: `2025-01-31`, `2025-01`, `2025-01-31T08:00`, or `7d`/`24h`/`2w` back from now."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

DURATION = re.compile(r"^(\d+)\s*([mhdwy])$", re.IGNORECASE)
UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
         "w": timedelta(weeks=1), "y": timedelta(days=365)}  # fmt: skip


class DateError(ValueError):
    pass


def parse_duration(text: str) -> timedelta | None:
    """`7d` → 7 days; None when `text` is not a duration."""
    m = DURATION.match(text.strip())
    return int(m.group(1)) * UNITS[m.group(2).lower()] if m else None


def parse_when(text: str, *, now: datetime | None = None, end_of_day: bool = False) -> datetime:
    """An aware UTC datetime from a date, a month, a datetime, or a duration back from `now`.

    With `end_of_day`, a bare date or month means its last second (for "until").
    """
    now = now or datetime.now(UTC)
    text = text.strip()
    if (delta := parse_duration(text)) is not None:
        return now - delta
    try:
        if re.fullmatch(r"\d{4}-\d{2}", text):
            start = datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC)
            if not end_of_day:
                return start
            next_month = (start + timedelta(days=32)).replace(day=1)
            return next_month - timedelta(seconds=1)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise DateError(f"not a date or duration: {text!r} (try 2025-01-31, 2025-01, 7d, 24h or 2w)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if end_of_day and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        value += timedelta(days=1, seconds=-1)
    return value.astimezone(UTC)
