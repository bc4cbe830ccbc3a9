"""`reader feeds …`: list, add, remove, import and export subscriptions."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from .. import console
from ..models import Feed, FetchStatus
from ..opml import MAX_INPUT_BYTES, OPMLError, read_subscriptions, write_opml
from ..urls import redact_url, redact_urls_in
from .context import Context, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    feeds = sub.add_parser("feeds", help="list, add, remove, import and export feeds")
    fsub = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)

    p = fsub.add_parser("list", help="every feed with its last status and article count")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=list_feeds)

    p = fsub.add_parser("add", help="subscribe to a feed URL")
    p.add_argument("url")
    p.add_argument("--group", default="", help="the group (folder) to put it in")
    p.add_argument("--title", default="", help="a title of your own (default: the feed's)")
    p.add_argument("--no-fulltext", action="store_true", help="never fetch this feed's article pages")
    p.set_defaults(func=add_feed)

    p = fsub.add_parser("remove", help="unsubscribe (its articles are deleted)")
    p.add_argument("feeds", nargs="+", metavar="FEED", help="id, URL or part of the title")
    p.set_defaults(func=remove_feeds)

    p = fsub.add_parser("import", help="subscribe to the feeds of an OPML file or a newsboat urls file")
    p.add_argument("file", type=Path)
    p.set_defaults(func=import_feeds)

    p = fsub.add_parser("export", help="write every subscription as OPML")
    p.add_argument("-o", "--out", type=Path, help="file to write (default: standard output)")
    p.set_defaults(func=export_feeds)


def feed_json(f: Feed) -> dict:
    """A feed for scripts; credentials in its URL are masked here too (`feeds export` writes them)."""
    return {
        "id": f.id, "title": f.display_title, "url": redact_url(f.url), "group": f.group, "site_url": f.site_url,
        "enabled": f.enabled, "fulltext": f.fulltext, "last_status": f.last_status,
        "last_error": f.last_error and redact_urls_in(f.last_error),
        "last_fetched": console.iso(f.last_fetched_at), "last_new_article": console.iso(f.last_new_at),
        "articles": f.article_count, "unread": f.unread_count,
    }  # fmt: skip


def status_text(f: Feed) -> console.Text:
    f = replace(f, last_error=f.last_error and redact_urls_in(f.last_error))
    if not f.enabled:
        return console.safe(f"disabled: {f.last_error or ''}".rstrip(": "), "dim")
    if f.last_status is None:
        return console.safe("never fetched", "dim")
    if f.last_status == FetchStatus.ERROR:
        return console.safe(f"error: {f.last_error}", "red")
    if f.last_error:  # fetched, with a warning (e.g. a broken but readable feed)
        return console.safe(f"{f.last_status}: {f.last_error}", "yellow")
    return console.safe(f.last_status, "green")


def list_feeds(args, ctx: Context) -> int:
    feeds = ctx.store.feeds(with_counts=True)
    if args.json:
        console.print_json([feed_json(f) for f in feeds])
        return 0
    if not feeds:
        console.out.print("No feeds yet. Add one with 'reader feeds add URL' or 'reader feeds import FILE'.")
        return 0
    rows = [
        (str(f.id), f.group, f.display_title, redact_url(f.url), status_text(f), str(f.article_count),
         console.local_time(f.last_new_at))
        for f in feeds
    ]  # fmt: skip
    console.out.print(console.table(["id", "group", "title", "url", "status", "articles", "last new"], rows))
    return 0


def _check_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"not a feed URL: {url!r} (it must start with http:// or https://)")
    return url


def add_feed(args, ctx: Context) -> int:
    feed, created = ctx.store.add_feed(_check_url(args.url), args.title, args.group)
    if args.no_fulltext:
        ctx.store.set_feed_options(feed.id, fulltext=False)
    if created:
        console.out.print(console.safe(f"added feed {feed.id}: {redact_url(feed.url)}"))
        console.out.print("Run 'reader fetch' to load its articles.")
    else:
        console.out.print(console.safe(f"already subscribed: feed {feed.id} ({feed.display_title})"))
    return 0


def remove_feeds(args, ctx: Context) -> int:
    for feed in ctx.resolve_feeds(args.feeds):
        ctx.store.remove_feed(feed.id)
        console.out.print(console.safe(f"removed feed {feed.id}: {feed.display_title}"))
    return 0


def import_feeds(args, ctx: Context) -> int:
    try:
        with args.file.open("rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)  # read_subscriptions names an oversize file
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        result = read_subscriptions(data, args.file.name)
    except OPMLError as exc:
        console.error(str(exc))
        return 1
    added = 0
    for s in result.subscriptions:
        added += ctx.store.add_feed(s.url, s.title, s.group, s.site_url)[1]
    known = len(result.subscriptions) - added
    console.out.print(f"imported {added} new feed(s) from {args.file.name}; {known} already subscribed")
    for line in result.skipped:
        console.warn(f"skipped: {line}")
    return 0


def export_feeds(args, ctx: Context) -> int:
    opml = write_opml((f.url, f.display_title, f.group, f.site_url) for f in ctx.store.feeds())
    if args.out:
        args.out.write_text(opml, encoding="utf-8")
        console.err.print(f"wrote {args.out}")
    else:
        sys.stdout.write(opml)
    return 0
