"""`reader search` and `reader index`: the query language from the command line."""

from __future__ import annotations

import argparse
from contextlib import contextmanager

from typing import TYPE_CHECKING

from .. import console
from ..lock import WriterBusy, WriterLock
from .context import Context, UsageError

if TYPE_CHECKING:  # Whoosh and the pipeline load only when a command needs them (start-up time)
    from ..index import ParsedQuery, SearchIndex, Snippet

SORTS = ("relevance", "newest")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="search every article's full text (see README: query language)")
    p.add_argument("query", nargs="+", help='e.g. DeepSeek AND "export controls" date:30d')
    p.add_argument("--sort", choices=SORTS, default="relevance")
    p.add_argument("--limit", type=int, default=20, metavar="N")
    p.add_argument("--json", action="store_true", help="one JSON array of results")
    p.set_defaults(func=search)

    p = sub.add_parser("index", help="look after the search index")
    isub = p.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    r = isub.add_parser("rebuild", help="rebuild the index from the database")
    r.add_argument("--wait", type=float, default=30.0, metavar="SECONDS")
    r.set_defaults(func=rebuild)
    r = isub.add_parser("status", help="documents in the index, and articles waiting to be indexed")
    r.set_defaults(func=status)


def parse_or_explain(text: str) -> ParsedQuery:
    """Parse a query; a bad one becomes a usage error that points at the position."""
    from ..index import QueryError, parse_query

    try:
        query = parse_query(text)
    except QueryError as exc:
        raise UsageError(str(exc)) from None
    for warning in query.warnings:
        console.warn(warning)
    return query


def catch_up_index(ctx: Context) -> SearchIndex:
    """The index, first repaired from the store if an earlier run stopped between the two writes,
    or refilled if it was missing or of an older format (with a progress bar on a terminal).

    Skipped when another process holds the writer lock: it will do the same.
    """
    from ..ingest import open_index, update_index

    settings = ctx.settings
    index = open_index(settings, ctx.store)
    waiting = ctx.store.count_to_index()
    if waiting or ctx.store.pending_index_deletions():
        lock = WriterLock(settings.lock_path)
        try:
            lock.acquire()
        except WriterBusy:
            pass
        else:
            try:
                if index.created and waiting:
                    console.err.print(f"refilling the search index from the database: {waiting} articles "
                                      "(it was missing, or made by an older version)")  # fmt: skip
                with index_progress() as progress:
                    update_index(ctx.store, index, progress if index.created else None)
            finally:
                lock.release()
    return index


@contextmanager
def index_progress():
    """A progress callback for indexing: a bar on a terminal, nothing otherwise."""
    from ..ingest import IndexProgress

    if not console.err.is_terminal:
        yield None
        return
    with console.progress_bar() as bar:
        task = bar.add_task("index", total=None)

        def update(event) -> None:
            if isinstance(event, IndexProgress):
                bar.update(task, completed=event.done, total=event.total)

        yield update


def search_ids(ctx: Context, text: str) -> list[int]:
    """Every article id matching `text` (for --query filters)."""
    query = parse_or_explain(text)
    return [hit.article_id for hit in catch_up_index(ctx).search(query, limit=None)]


def marked(snippet: Snippet, style: str = "bold yellow") -> console.Text:
    text = console.Text(snippet.text)
    for start, end in snippet.spans:
        text.stylize(style, start, end)
    return text


def marked_plain(snippet: Snippet) -> str:
    """The snippet with matched terms wrapped in ** (Markdown bold), for JSON and notifications."""
    out, last = [], 0
    for start, end in snippet.spans:
        out += [snippet.text[last:start], "**", snippet.text[start:end], "**"]
        last = end
    return "".join(out + [snippet.text[last:]])


def search(args, ctx: Context) -> int:
    from ..index import article_snippet

    query = parse_or_explain(" ".join(args.query))
    hits = catch_up_index(ctx).search(query, limit=args.limit, sort=args.sort)
    articles = ctx.store.articles_by_ids([h.article_id for h in hits], with_text=True)
    results = []
    for hit in hits:
        a = articles.get(hit.article_id)
        if a is not None:  # deleted since it was indexed
            results.append((hit, a, article_snippet(query, a)))
    if args.json:
        console.print_json([
            {"id": a.id, "title": a.title, "feed": a.feed_title, "published": console.iso(a.date), "link": a.link,
             "snippet": marked_plain(snip), "score": round(hit.score, 4)}
            for hit, a, snip in results
        ])  # fmt: skip
        return 0
    if not results:
        console.out.print("No articles match.")
        return 0
    for hit, a, snip in results:
        console.out.print(console.safe(a.title or "(no title)", "bold") + console.safe(f"  [{a.id}]", "dim"))
        console.out.print(console.safe(f"{a.feed_title} · {console.local_time(a.date)} · {a.link}", "dim"))
        console.out.print(marked(snip))
        console.out.print()
    return 0


def rebuild(args, ctx: Context) -> int:
    from ..index import IndexBusy
    from ..ingest import rebuild_index, writer

    ctx.close()
    try:
        with writer(ctx.settings, wait=args.wait) as (store, index), index_progress() as progress:
            done = rebuild_index(store, index, progress)
    except IndexBusy as exc:
        raise WriterBusy(str(exc)) from None
    console.out.print(f"indexed {done} article{'s' * (done != 1)}")
    return 0


def status(args, ctx: Context) -> int:
    from ..index import SearchIndex

    index = SearchIndex(ctx.settings.index_dir)
    console.out.print(f"{index.doc_count()} documents in the index; {ctx.store.article_count()} articles stored; "
                      f"{ctx.store.count_to_index()} waiting to be indexed")  # fmt: skip
    return 0
