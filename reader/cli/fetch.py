"""`reader fetch`: refresh feeds (and their article pages), with progress.

It holds no pipeline logic of its own (that is `reader.ingest`), and never shows a URL's credentials."""

from __future__ import annotations

import argparse
from functools import partial

from .. import console
from typing import TYPE_CHECKING
from ..models import FetchStatus
from ..urls import redact_url, redact_urls_in
from .context import WAIT, Context

if TYPE_CHECKING:  # the pipeline (aiohttp and friends) loads only when fetching
    from ..ingest import FeedOutcome, IngestReport

STATUS_STYLE = {
    FetchStatus.OK: "green", FetchStatus.NOT_MODIFIED: "dim", FetchStatus.ERROR: "red",
    FetchStatus.GONE: "red", FetchStatus.DEFERRED: "yellow",
}  # fmt: skip


COMMANDS = ("fetch",)  # the commands `register` adds (the CLI builds only the one asked for)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fetch", help="refresh feeds: new articles, their pages, the index")
    p.add_argument("feeds", nargs="*", metavar="FEED", help="id, URL or part of a title (default: all)")
    p.add_argument("--no-fulltext", action="store_true", help="do not fetch article pages; keep the feed's text")
    p.add_argument("--json", action="store_true", help="one JSON object with every feed's outcome")
    p.add_argument("--wait", type=WAIT, default=30.0, metavar="SECONDS",
                   help="how long to wait for another running fetch to finish (default 30)")  # fmt: skip
    p.set_defaults(func=fetch)


def outcome_json(o: FeedOutcome) -> dict:
    return {"id": o.feed_id, "title": o.title, "url": redact_url(o.url), "status": o.status, "new": o.new,
            "updated": o.updated, "error": o.error and redact_urls_in(o.error),
            "moved_to": o.moved_to and redact_url(o.moved_to)}  # fmt: skip


def outcome_line(o: FeedOutcome) -> console.Text:
    line = console.Text(f"{o.status:<13} ", STATUS_STYLE.get(o.status, ""))
    line += console.safe(o.title)
    if o.new or o.updated:
        line += console.Text(f"  {o.new} new" + (f", {o.updated} updated" if o.updated else ""), "bold")
    if o.error:
        line += console.Text("  ") + console.safe(redact_urls_in(o.error), "red" if o.status in (FetchStatus.ERROR, FetchStatus.GONE) else "dim")
    if o.moved_to:
        line += console.Text("  ") + console.safe(f"(moved to {redact_url(o.moved_to)})", "yellow")
    return line


class TerminalProgress:
    """A progress bar per stage on a terminal; feed lines only for feeds that failed."""

    def __init__(self):
        self.bar = console.progress_bar()
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        self.bar.__exit__(*exc)

    def _set(self, name: str, done: int, total: int) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.bar.add_task(name, total=total)
        self.bar.update(self.tasks[name], completed=done, total=total)

    def __call__(self, event) -> None:
        from ..ingest import FeedDone, FeedsStarted, IndexProgress, PagesProgress

        if isinstance(event, FeedsStarted):
            self._set("feeds", 0, event.total)
        elif isinstance(event, FeedDone):
            self._set("feeds", event.done, event.total)
            if event.outcome.status in (FetchStatus.ERROR, FetchStatus.GONE):
                self.bar.console.print(outcome_line(event.outcome))
        elif isinstance(event, PagesProgress) and event.total:
            self._set("pages", event.done, event.total)
        elif isinstance(event, IndexProgress):
            self._set("index", event.done, event.total)


def plain_progress(event) -> None:
    """Not a terminal: one plain line per feed as it finishes."""
    from ..ingest import FeedDone

    if isinstance(event, FeedDone):
        console.out.print(outcome_line(event.outcome), no_wrap=True, crop=False)


def summary(report: IngestReport) -> str:
    errors = len(report.errors)
    p = report.pages
    plural = console.plural
    text = f"{plural(len(report.outcomes), 'feed')}: {plural(len(report.new_ids), 'new article')}, "
    text += f"{len(report.updated_ids)} updated"
    text += f", {plural(errors, 'feed error')}" if errors else ""
    if p.fetched or p.failed:
        text += f"; pages: {p.used} full text, {p.fallback} kept the feed's text, {p.failed} failed"
    if report.alerts.new_alerts:
        text += f"; {plural(len(report.alerts.new_alerts), 'new alert')}"
    return text


def report_json(report: IngestReport) -> dict:
    return {
        "feeds": [outcome_json(o) for o in report.outcomes],
        "new": len(report.new_ids), "updated": len(report.updated_ids),
        "errors": len(report.errors), "pages": report.pages.__dict__, "indexed": report.indexed,
        "grouped": report.grouped, "unchanged": report.unchanged,
        "alerts": len(report.alerts.new_alerts),
        "timings": {k: round(v, 3) for k, v in report.timings.items()},
    }  # fmt: skip


def run_fetch(ctx: Context, selectors: list[str], *, fulltext: bool, as_json: bool, wait: float) -> IngestReport:
    from .. import pool_tasks
    from ..process_pool import WorkerPool

    if selectors:
        feeds = ctx.resolve_feeds(selectors)
    else:  # (no database yet: the pipeline makes it, under the writer lock)
        feeds = [f for f in ctx.store.feeds() if f.enabled] if ctx.settings.db_path.exists() else []
    feed_ids = [f.id for f in feeds] if selectors else None
    pool = WorkerPool()
    pool_tasks.start_for(pool, feeds)  # (feeds never read: the workers start beside the pipeline's imports)
    ctx.close()  # the pipeline opens its own connections under the writer lock
    from .. import ingest as pipeline

    run = partial(pipeline.run_ingest, ctx.settings, feed_ids=feed_ids, fulltext=fulltext, wait=wait, pool=pool)
    if as_json:
        report = run()
        console.print_json(report_json(report))
        return report
    if console.is_tty():
        with TerminalProgress() as progress:
            report = run(progress=progress)
    else:
        report = run(progress=plain_progress)
    console.out.print(summary(report))
    return report


def fetch(args, ctx: Context) -> int:
    run_fetch(ctx, args.feeds, fulltext=not args.no_fulltext, as_json=args.json, wait=args.wait)
    return 0
