"""`reader search` and `reader index`: the query language from the command line.

It never changes an article: the index is only brought up to date from the store, under the writer lock."""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .. import console
from ..lock import WriterBusy, WriterLock
from .context import LIMIT, WAIT, Context, UsageError, number_from

if TYPE_CHECKING:  # Whoosh and the pipeline load only when a command needs them (start-up time)
    from ..index import ParsedQuery, SearchIndex, Snippet

SORTS = ("relevance", "newest")


COMMANDS = ("search", "index")  # the commands `register` adds (the CLI builds only the one asked for)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="search every article's full text (see README: query language)")
    p.add_argument("query", nargs="+", help='e.g. DeepSeek AND "export controls" date:30d')
    p.add_argument("--sort", choices=SORTS, default="relevance")
    p.add_argument("--limit", type=LIMIT, default=20, metavar="N")
    p.add_argument("--json", action="store_true", help="one JSON array of results")
    p.set_defaults(func=search)

    p = sub.add_parser("index", help="look after the search index")
    isub = p.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    r = isub.add_parser("rebuild", help="rebuild the index from the database")
    r.add_argument("--wait", type=WAIT, default=30.0, metavar="SECONDS")
    r.set_defaults(func=rebuild)
    r = isub.add_parser("status", help="documents in the index, and articles waiting to be indexed")
    r.set_defaults(func=status)
    r = isub.add_parser("check", help="check the index against the database: files, articles, a sample of words")
    r.add_argument("--sample", type=number_from(0, 1_000_000_000), default=200, metavar="N",
                   help="articles whose words are looked up (0: none, files and articles only)")
    r.set_defaults(func=check)


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
    """The index, first brought up to date from the store (and rebuilt, if damaged) when this
    process can take the writer lock; otherwise the process holding it does that, and a
    rebuild it is running is reported."""
    from ..index import IndexDamaged
    from ..index.repair import rebuild_progress
    from ..ingest import open_index, repair_index

    settings, store = ctx.settings, ctx.store
    if store.read_only:
        return _index_as_it_is(ctx)
    index = open_index(settings, store)
    try:
        index.check()
        damaged = None
    except IndexDamaged as exc:
        damaged = exc
    if damaged or store.count_to_index() or store.pending_index_deletions():
        lock = WriterLock(settings.lock_path)
        try:
            lock.acquire()
        except WriterBusy:
            if damaged:
                raise IndexDamaged(f"the search index is damaged ({damaged}); the reader process writing to it "
                                   "now rebuilds it from the database on its next cycle") from None
        else:
            try:
                if damaged:
                    repair_index(store, index, damaged)
                elif index.created and (waiting := store.count_to_index()):
                    console.err.print(f"refilling the search index from the database: {waiting} articles "
                                      "(it was missing, or made by an older version)")  # fmt: skip
                _update_with_bar(store, index)
            finally:
                lock.release()
    if progress := rebuild_progress(index.path):
        console.warn(f"the search index is being rebuilt from the database ({progress[0]:,} of {progress[1]:,} "
                     "articles so far): results may be incomplete")  # fmt: skip
    return index


def _index_as_it_is(ctx: Context) -> SearchIndex:
    """In a read-only data directory the index is searched as it is: what waits to be indexed is named."""
    from ..index import SearchIndex
    from ..store import StoreError

    data = ctx.settings.index_dir.parent
    if not ctx.settings.index_dir.is_dir():
        raise StoreError(f"the data directory {data} is read-only and holds no search index yet; making one writes "
                         "there: make it writable and run the command again")  # fmt: skip
    if waiting := ctx.store.count_to_index():
        console.warn(f"{waiting:,} article(s) are not in the search index yet and are not searched: the data "
                     f"directory {data} is read-only")  # fmt: skip
    return SearchIndex(ctx.settings.index_dir)


def _update_with_bar(store, index) -> int:
    """`update_index`, with a progress bar on a terminal when there is much to do."""
    from ..ingest import BACKLOG_SLICE, update_index

    if store.count_to_index() < BACKLOG_SLICE:
        return update_index(store, index)
    with index_progress() as progress:
        return update_index(store, index, progress)


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
    """The snippet with matched terms wrapped in ** (Markdown bold), for the JSON of `search` and `rules test`
    (notifications mark theirs in reader.messages, escaped for each format)."""
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
    console.out.print(f"indexed {console.plural(done, 'article')}")
    return 0


def status(args, ctx: Context) -> int:
    from ..index import SearchIndex
    from ..index.repair import rebuild_progress

    index = SearchIndex(ctx.settings.index_dir)
    console.out.print(f"{index.doc_count()} documents in the index; {ctx.store.article_count()} articles stored; "
                      f"{ctx.store.count_to_index()} waiting to be indexed")  # fmt: skip
    if progress := rebuild_progress(index.path):
        console.out.print(f"being rebuilt from the database: {progress[0]:,} of {progress[1]:,} articles so far")
    return 0


def check(args, ctx: Context) -> int:
    """Exit 0 if the index matches the store, 1 (saying what is wrong) if not."""
    import random

    from ..index.repair import check_against_store
    from ..ingest import open_index
    from ..store import ArticleFilter

    store = ctx.store
    index = open_index(ctx.settings, store)
    stored = store.article_ids_in(ArticleFilter())
    waiting = store.count_to_index()
    sample = []
    if not waiting:  # (an article waiting may differ from its indexed version)
        chosen = random.sample(sorted(stored), min(max(args.sample, 0), len(stored)))
        sample = [(a.id, a.title, a.text) for a in store.articles_by_ids(chosen, with_text=True).values()]
    r = check_against_store(index, stored, waiting, sample)
    print_ = console.out.print
    print_(f"files: {'damaged: ' + r.files if r.files else 'intact'}")
    print_(f"articles: {r.documents:,} in the index, {r.stored:,} in the database, {r.waiting:,} waiting to be indexed")
    if r.missing > r.waiting:
        print_(f"  {r.missing:,} stored articles are missing from the index")
    if r.extra:
        print_(f"  {r.extra:,} articles in the index are no longer in the database")
    if r.sampled:
        print_(f"words: {r.sampled - len(r.wrong)} of {r.sampled} sampled articles found under their title and text words")
    if r.wrong:
        print_(f"  missing words: articles {', '.join(map(str, r.wrong[:10]))}")
    if r.ok:
        print_("the index matches the database")
        return 0
    print_("the next fetch or daemon cycle repairs it from the database; or run 'reader index rebuild'")
    return 1
