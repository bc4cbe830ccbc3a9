"""The tasks that run inside the process pool: feed parsing and page extraction, each under a CPU limit.

Never import feedparser or trafilatura at module level here: the main process imports this module.

The main process never imports feedparser or trafilatura (about 0.3 s of
start-up it would pay on every run): these wrappers import them in the
worker, and return only light types (models, tuples, strings) so unpickling
a result in the main process imports nothing heavy either. Each returns the
CPU time it spent, for the stage timings. A document that takes more than
its CPU seconds (a hostile feed of millions of tags) fails alone, with a
message saying so; the worker goes on with the next task.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import replace
from datetime import UTC, datetime

from .bodies import BodyError, decoded
from .models import Feed, ParsedArticle, ParsedFeed, TextSource, initial_text
from .process_pool import CpuLimitExceeded, cpu_limit, how_ended
from .stories import Tuning, feature_key, features, packed
from .urls import canonical_url


def too_costly(what: str, size: int, seconds: float) -> str:
    """The error of a document that hit its CPU limit."""
    return (f"{what} stopped after {seconds:g} s of CPU: the document ({size / 1e6:.1f} MB) is too large or too "
            f"complex to read ([fetch] max_cpu_seconds)")  # fmt: skip


def worker_lost(what: str, size: int, seconds: float, exit_code: int | None) -> str:
    """The error of a document whose worker process ended under it: its CPU limit (SIGXCPU, in C code), else
    what ended it (a worker that could not start, the OOM killer), never the CPU limit's message."""
    if exit_code == -signal.SIGXCPU:
        return too_costly(what, size, seconds)
    how = f" ({how_ended(exit_code)})" if exit_code is not None else ""
    return f"{what} failed: its worker process died or could not start{how}"


def parse(body: bytes, url: str, content_type: str, max_items: int, cpu_seconds: float = 5.0, *, words: bool = True,
          grouped: frozenset[str] = frozenset(), known: Mapping[str, bytes] | None = None, encoding: str = "",
          max_bytes: int = 1 << 62,
          ) -> tuple[tuple[ParsedFeed, dict[bytes, bytes], dict[str, str]] | None, str | None, float]:  # fmt: skip
    """((parsed feed, its articles' story features if `words`, their links' canonical URLs), None) or (None,
    why it is not a feed), plus CPU seconds. The body's Content-Encoding (`encoding`) is undone here first,
    to at most `max_bytes` (`bodies.decoded`). The feed keeps its newest `max_items` entries (`newest`). No
    `words` for a feed whose articles wait for their page: the page's text is what the grouper reads then;
    none for the articles whose key is in `grouped` (stored with their story: the grouper never reads them
    again). `known`: the raw digests of the feed's stored articles by key; an entry whose raw fields are
    unchanged is not converted, it comes back `unchanged` (the store leaves its article as it is)."""
    from .parse import ParseError, parse_feed

    start = time.process_time()
    try:
        with cpu_limit(cpu_seconds):
            parsed = newest(parse_feed(decoded(body, encoding, max_bytes), url, content_type, known), max_items)
            found = story_features(parsed, grouped) if words else {}
            links = {a.link: canonical_url(a.link) for a in parsed.articles if a.link}
    except (BodyError, ParseError) as exc:
        return None, str(exc), time.process_time() - start
    except CpuLimitExceeded:
        return None, too_costly("parsing", len(body), cpu_seconds), time.process_time() - start
    return (parsed, found, links), None, time.process_time() - start


def newest(parsed: ParsedFeed, cap: int) -> ParsedFeed:
    """The feed with its newest `cap` entries only, its warning saying so when some were dropped."""
    if len(parsed.articles) <= cap:
        return parsed
    oldest = datetime.min.replace(tzinfo=UTC)
    kept = sorted(parsed.articles, key=lambda a: a.published or a.updated or oldest, reverse=True)[:cap]
    note = f"the feed lists {len(parsed.articles):,} entries; kept the newest {cap:,}"
    return replace(parsed, articles=kept, warning="; ".join(filter(None, [parsed.warning, note])))


def story_features(parsed: ParsedFeed, grouped: frozenset[str] = frozenset()) -> dict[bytes, bytes]:
    """Each article's story features, `packed`, by `feature_key`: made here beside the parse, so the main
    process only weighs them and looks stories up (`ingest.group_stories`). None for the articles whose key
    is in `grouped`, nor for those `unchanged` (not converted; should one wait for its story, the grouper reads
    its words from the store): a feed with one new entry costs one entry's words."""
    found, weight = {}, Tuning.title_weight  # the weight the key names is the one the features are made with
    for a in parsed.articles:
        if a.unchanged or a.key in grouped:
            continue
        title, text = story_text(a)
        found[feature_key(title, text, weight)] = packed(features(title, text, title_weight=weight))
    return found


def story_text(article: ParsedArticle) -> tuple[str, str]:
    """What the grouper reads of a new article: its title and the feed's text, as `articles_to_group`
    gives them before any page."""
    text, source = initial_text(article)
    return article.title, "" if source == TextSource.TITLE else text  # a title is not text


def extract(html: bytes, url: str, cpu_seconds: float = 5.0, *, encoding: str = "", max_bytes: int = 1 << 62
            ) -> tuple[tuple[str, str] | None, str | None, float]:  # fmt: skip
    """((text, markdown), None) or (None, why nothing was extracted), plus CPU seconds; the page's
    Content-Encoding (`encoding`) undone here first, to at most `max_bytes`."""
    from .fulltext import extract_article

    start = time.process_time()
    try:
        with cpu_limit(cpu_seconds):
            found = extract_article(decoded(html, encoding, max_bytes), url)
    except BodyError as exc:
        return None, str(exc), time.process_time() - start
    except CpuLimitExceeded:
        return None, too_costly("extraction", len(html), cpu_seconds), time.process_time() - start
    except Exception as exc:  # noqa: BLE001 - a page that breaks the extractor must not break the run
        return None, f"extraction failed: {type(exc).__name__}", time.process_time() - start
    if found is None:
        return None, "no article text found on the page", time.process_time() - start
    return (found.text, found.markdown), None, time.process_time() - start


def warm_up() -> None:
    """Import the parser, as a run that is sure to parse starts its workers (`start_for`)."""
    from . import parse  # noqa: F401


def start_for(pool: Executor, feeds: Iterable[Feed]) -> int:
    """Start the workers of `pool` (a `WorkerPool`) at once if one of `feeds` was never read: the run is sure to
    parse, and they start (~0.15 CPU-s each) while a core is idle, beside the run's own start, rather than when
    the first feed arrives and the main process would wait on them. How many feeds were never read."""
    from .process_pool import WorkerPool

    never = sum(f.last_fetched_at is None for f in feeds)
    if never and isinstance(pool, WorkerPool):
        pool.warm(warm_up)
    return never
