"""The tasks that run inside the process pool: feed parsing and page extraction.

Never import feedparser or trafilatura at module level here: the main process imports this module.

The main process never imports feedparser or trafilatura (about 0.3 s of
start-up it would pay on every run): these wrappers import them in the
worker, and return only light types (models, tuples, strings) so unpickling
a result in the main process imports nothing heavy either. Each returns the
CPU time it spent, for the stage timings.
"""

from __future__ import annotations

import time

from .models import ParsedFeed


def parse(body: bytes, url: str, content_type: str) -> tuple[ParsedFeed | None, str | None, float]:
    """(parsed feed, None) or (None, why it is not a feed), plus CPU seconds."""
    from .parse import ParseError, parse_feed

    start = time.process_time()
    try:
        return parse_feed(body, url, content_type), None, time.process_time() - start
    except ParseError as exc:
        return None, str(exc), time.process_time() - start


def extract(html: bytes, url: str) -> tuple[tuple[str, str] | None, str | None, float]:
    """((text, markdown), None) or (None, why nothing was extracted), plus CPU seconds."""
    from .fulltext import extract_article

    start = time.process_time()
    try:
        found = extract_article(html, url)
    except Exception as exc:  # noqa: BLE001 - a page that breaks the extractor must not break the run
        return None, f"extraction failed: {type(exc).__name__}", time.process_time() - start
    if found is None:
        return None, "no article text found on the page", time.process_time() - start
    return (found.text, found.markdown), None, time.process_time() - start
