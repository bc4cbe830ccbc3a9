"""A subscriptions file into the store and the rules dir: the one import the CLI and the TUI share.

Feeds are subscribed; newsboat query feeds become saved-search rule files when
they translate faithfully; everything left out is reported with its line and
why, and a repaired OPML file says so in the report's one line. Never touches
the network and never prints: the caller shows the report.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .models import Feed
from .opml import MAX_INPUT_BYTES, ImportResult, OPMLError, QueryFeed, read_subscriptions, skipped_line
from .urls import normal_feed_url, redact_urls_in

if TYPE_CHECKING:
    from .store import Store

MAX_NAME_TRIES = 100


@dataclass(frozen=True)
class ImportReport:
    name: str  # the file's name, for messages
    added: int = 0  # feeds subscribed now
    known: int = 0  # feeds already subscribed
    searches: list[str] = field(default_factory=list)  # saved searches written now (rule names)
    known_searches: int = 0  # query feeds already saved by an earlier import
    skipped: list[str] = field(default_factory=list)  # "line N: why", for each entry left out
    recovered: str = ""  # how a malformed OPML file was read ("" if well-formed)
    examples: int = 0  # example rules copied into a rules dir the import was the first to write to

    def summary(self) -> str:
        """One line: what was imported, and how the file was read if it was not well-formed."""
        parts = [f"imported {self.added} new feed(s) from {self.name}", f"{self.known} already subscribed"]
        if self.searches:
            parts.append(f"{len(self.searches)} newsboat query feed(s) saved as searches: {', '.join(self.searches)}")
        if self.known_searches:
            parts.append(f"{self.known_searches} query feed(s) already saved as searches")
        if self.examples:
            parts.append(f"the new rules directory got the {self.examples} example rules first (as on a first start)")
        if self.recovered:
            parts.append(self.recovered)
        return "; ".join(parts)


def import_file(path: Path, store: Store, rules_dir: Path) -> ImportReport:
    """Import an OPML or newsboat `urls` file. Raises OPMLError (a file that cannot be read, or is not a list
    of subscriptions) or OSError (a saved search that could not be written, naming its file)."""
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)  # read_subscriptions names an oversize file
    except OSError as exc:
        raise OPMLError(f"cannot read {path}: {exc.strerror or exc}") from None
    return import_subscriptions(data, Path(path).name, store, rules_dir)


def import_subscriptions(data: bytes, name: str, store: Store, rules_dir: Path) -> ImportReport:
    result = read_subscriptions(data, name)
    added = sum(store.add_feed(s.url, s.title, s.group, s.site_url)[1] for s in result.subscriptions)
    searches: list[str] = []
    known_searches = examples = 0
    skipped = list(result.skipped)
    if result.queries:
        searches, known_searches, examples, not_saved = _save_query_feeds(result, store.feeds(), Path(rules_dir))
        skipped = sorted(skipped + not_saved, key=skipped_line)
    skipped = [redact_urls_in(line) for line in skipped]  # a feed URL's credentials are never shown
    known = len(result.subscriptions) - added
    return ImportReport(name, added, known, searches, known_searches, skipped, result.recovered, examples)


def _save_query_feeds(
    result: ImportResult, feeds: Sequence[Feed], rules_dir: Path
) -> tuple[list[str], int, int, list[str]]:
    """Each query feed as a saved search: (names written, how many were there already, example rules seeded,
    "line N: why" for the rest). A rules dir this import is the first to write to gets the example rules first,
    as the first start would have given it (which seeds only an empty dir): never in place of a file."""
    from .index import QueryError, parse_query  # the search engine and Apprise: only for files that need them
    from .newsboat_filters import Untranslatable, translate
    from .rules import seed_rules, write_rule

    texts, skipped = [], []
    for query in result.queries:
        try:
            text = translate(query.expression, lambda tag: _tag_problem(tag, result, feeds))
            parse_query(text)
        except (Untranslatable, QueryError) as exc:
            reason = exc.message if isinstance(exc, QueryError) else str(exc)
            where = f"line {query.line}: query feed {query.title!r}"
            skipped.append(f"{where} not imported: {query.expression!r}: {reason}")
            continue
        texts.append((query, text))
    examples = len(seed_rules(rules_dir)) if texts else 0
    saved, known = [], 0
    for query, text in texts:
        name, exists = _rule_name(rules_dir, query, text)
        if exists:
            known += 1
            continue
        write_rule(rules_dir, name, query=text, title=query.title)
        saved.append(name)
    return saved, known, examples, skipped


def _tag_problem(tag: str, result: ImportResult, feeds: Sequence[Feed]) -> str | None:
    """Why `tags # "tag"` is not the same as `group:"tag"`, or None if it is.

    Only a feed's first tag becomes its group, and group: matches words of a
    group's name: both must pick out exactly the feeds that carry the tag.
    """
    tagged = {url for url, tags in result.tags.items() if tag in tags}
    if not tagged:
        return "is on no feed of the file"
    groups = {normal_feed_url(feed.url): feed.group for feed in feeds}  # (the file's URLs are in that form)
    if any(groups.get(url, "").casefold() != tag.casefold() for url in tagged):
        return "is not the group of every feed that carries it (only a feed's first tag becomes its group)"
    words = set(tag.casefold().split())
    wider = sorted(
        {f.group for f in feeds if f.group.casefold() != tag.casefold() and words <= set(f.group.casefold().split())}
    )
    if wider:
        return f"would also match the group(s) {', '.join(map(repr, wider))}"
    return None


def _rule_name(rules_dir: Path, query: QueryFeed, text: str) -> tuple[str, bool]:
    """A free rule name from the title ("Unread tech" -> "unread-tech"), or the rule already saving `text`."""
    base = re.sub(r"[^a-z0-9]+", "-", query.title.lower()).strip("-")[:60] or f"newsboat-query-{query.line}"
    for attempt in range(1, MAX_NAME_TRIES + 1):
        name = base if attempt == 1 else f"{base}-{attempt}"
        path = rules_dir / f"{name}.toml"
        if not path.exists():
            return name, False
        if _saved_query(path) == text:
            return name, True  # imported before: not written twice
    raise ValueError(f"no free rule name for {query.title!r} in {rules_dir}")


def _saved_query(path: Path) -> str | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")).get("query")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
