"""`reader feeds …`: list, add, remove, import and export subscriptions.

It never shows a feed URL's credentials (only `export` writes URLs whole)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import console
from ..models import Feed, FetchStatus
from ..text import clean_line
from ..urls import feed_url_problem, normal_feed_url, redact_url, redact_urls_in, same_feed_notes
from .context import Context, UsageError


COMMANDS = ("feeds",)  # the commands `register` adds (the CLI builds only the one asked for)


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
    p.add_argument("--as-is", action="store_true",
                   help="subscribe to the URL as given, without looking for a web page's feeds")  # fmt: skip
    p.set_defaults(func=add_feed)

    p = fsub.add_parser("remove", help="unsubscribe (its articles are deleted)")
    p.add_argument("feeds", nargs="+", metavar="FEED", help="id, URL or part of the title")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask (scripts); needed for a title match off a terminal")
    p.set_defaults(func=remove_feeds)

    p = fsub.add_parser("import", help="subscribe to the feeds of an OPML file or a newsboat urls file")
    p.add_argument("file", type=Path)
    p.set_defaults(func=import_feeds)

    p = fsub.add_parser("export", help="write every subscription as OPML or as a newsboat urls file")
    p.add_argument("-o", "--out", type=Path, help="file to write (default: standard output)")
    p.add_argument("--format", choices=("opml", "urls"), default="opml",
                   help="opml (default), or urls: newsboat's urls file (groups as tags, ~titles)")  # fmt: skip
    p.set_defaults(func=export_feeds)


Col = console.Col
FEED_COLUMNS = [Col("id"), Col("group", max=16), Col("title", flex=2), Col("url", flex=2, drop=2),
                Col("status", flex=1), Col("articles", drop=1), Col("last new", drop=3)]  # fmt: skip


def feed_json(f: Feed) -> dict:
    """A feed for scripts; credentials in its URL are masked here too (`feeds export` writes them), and the
    store masks them in its last error."""
    return {
        "id": f.id, "title": f.display_title, "url": redact_url(f.url), "group": f.group, "site_url": f.site_url,
        "enabled": f.enabled, "fulltext": f.fulltext, "last_status": f.last_status,
        "last_error": f.last_error,
        "last_fetched": console.iso(f.last_fetched_at), "last_new_article": console.iso(f.last_new_at),
        "articles": f.article_count, "unread": f.unread_count,
    }  # fmt: skip


def status_text(f: Feed) -> console.Text:
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
    console.out.print(console.table(FEED_COLUMNS, rows))
    for note in same_feed_notes((f.id, f.url) for f in feeds):
        console.warn(note)
    return 0


def _check_url(url: str) -> str:
    if problem := feed_url_problem(url):
        raise UsageError(f"not a feed URL: {redact_url(url)!r}: {problem}")
    return url


def find_feed_url(url: str, ctx: Context) -> str | None:
    """The feed to subscribe to for `url`: itself if it is a feed (or cannot be checked now), the
    page's one feed, the user's pick of several on a terminal; None, with the reason said, otherwise."""
    import asyncio

    from ..discover import discover

    found = asyncio.run(discover(url, ctx.settings.fetch))
    shown = redact_url(url)
    if found.error:
        console.warn(f"could not check {shown} now ({redact_urls_in(found.error)}); subscribing to it as given")
        return url
    if found.is_feed:
        return url
    if not found.feeds:
        console.error(f"{shown} is a web page that names no feed, and none was found at the usual paths "
                      "(/feed, /rss, /atom.xml…); give the feed's own URL, or --as-is to subscribe anyway")  # fmt: skip
        return None
    if len(found.feeds) == 1:
        feed = redact_url(found.feeds[0].url)
        console.out.print(console.safe(f"{shown} is a web page; subscribing to its feed {feed}"))
        return found.feeds[0].url
    console.out.print(console.safe(f"{shown} is a web page offering {len(found.feeds)} feeds:"))
    for n, f in enumerate(found.feeds, 1):
        console.out.print(console.safe(f"  {n}. {redact_url(f.url)}  {f.title} ({f.kind})".rstrip()))
    if not console.stdin_is_tty():
        console.error("several feeds: run 'reader feeds add' again with the one you want")
        return None
    answer = console.ask(f"Which one (1-{len(found.feeds)}, empty for none)?")
    if answer.isdigit() and 1 <= int(answer) <= len(found.feeds):
        return found.feeds[int(answer) - 1].url
    console.err.print("nothing added")
    return None


def add_feed(args, ctx: Context) -> int:
    url = _check_url(args.url)
    if not args.as_is and ctx.store.feed_by_url(url) is None:
        url = find_feed_url(url, ctx)
        if url is None:
            return 1
    feed, created = ctx.store.add_feed(url, args.title, args.group)
    if args.no_fulltext:
        ctx.store.set_feed_options(feed.id, fulltext=False)
    if created:
        console.out.print(console.safe(f"added feed {feed.id}: {redact_url(feed.url)}"))
        from ..lock import WriterLock

        daemon = WriterLock(ctx.settings.lock_path).held_by_daemon()
        console.out.print("The running daemon fetches it within seconds." if daemon
                          else "Run 'reader fetch' to load its articles.")  # fmt: skip
    else:
        console.out.print(console.safe(f"already subscribed: feed {feed.id} ({feed.display_title})"))
    return 0


def remove_feeds(args, ctx: Context) -> int:
    """Removing deletes articles: ask on a terminal; off one, act on an exact id or URL only (or --yes)."""
    feeds = ctx.resolve_feeds(args.feeds)
    exact = {str(f.id) for f in feeds} | {normal_feed_url(f.url) for f in feeds}
    by_title = [s for s in args.feeds if s not in exact and normal_feed_url(s) not in exact]
    counts = {f.id: f.article_count for f in ctx.store.feeds(with_counts=True)}
    if not args.yes:
        for f in feeds:
            listed = f"feed {f.id}: {f.display_title} ({counts.get(f.id, 0)} articles) {redact_url(f.url)}"
            console.err.print(console.safe(listed))
        articles = sum(counts.get(f.id, 0) for f in feeds)
        question = f"Remove {console.plural(len(feeds), 'feed')} and {console.plural(articles, 'article')}?"
        if console.stdin_is_tty():
            if not console.confirm(question):
                console.err.print("nothing removed")
                return 1
        elif by_title:
            raise UsageError(f"{by_title[0]!r} matched a title, not an id or URL: give the id, or --yes to remove "
                             "without asking")  # fmt: skip
    for feed in feeds:
        ctx.store.remove_feed(feed.id)
        console.out.print(console.safe(f"removed feed {feed.id}: {feed.display_title}"))
    return 0


def import_feeds(args, ctx: Context) -> int:
    from ..importing import import_file
    from ..opml import OPMLError

    try:
        report = import_file(args.file, ctx.store, ctx.settings.rules_dir)
    except OPMLError as exc:  # (what could not be written is an OSError: the CLI names it as such)
        console.error(str(exc))
        return 1
    console.out.print(console.Text(clean_line(report.summary(), 4000)))
    for line in report.skipped:
        console.warn(f"skipped: {line}")
    return 0


def export_feeds(args, ctx: Context) -> int:
    from ..opml import write_newsboat_urls, write_opml  # (lxml and the OPML writer load only here)

    feeds = [(f.url, f.display_title, f.group, f.site_url) for f in ctx.store.feeds()]
    text = write_newsboat_urls(feeds) if args.format == "urls" else write_opml(feeds)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        console.err.print(console.safe(f"wrote {args.out}"))
    else:
        sys.stdout.write(text)
    return 0
