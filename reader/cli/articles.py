"""`reader articles`, `reader show`, `reader export`: what the reader stored, out to people and tools.

It only reads: it never fetches, and never prints feed text unsanitised."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import TextIO

from .. import console
from ..console import Col
from ..dates import FORMS, DateError, parse_when
from ..models import Article
from ..store import ArticleFilter, Store
from ..text import clean_text
from .context import LIMIT, MAX_ID, Context, UsageError
from .searching import search_ids


def add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--feed", action="append", default=[], metavar="FEED", help="id, URL or part of a title (repeatable)")
    p.add_argument("--group", help="only this group")
    p.add_argument("--unread", action="store_true", help="only unread articles")
    p.add_argument("--starred", action="store_true", help="only starred articles")
    p.add_argument("--since", metavar="WHEN", help="a date (2025-01-31) or a span back from now (30m, 24h, 7d, 3mo…)")
    p.add_argument("--until", metavar="WHEN", help="a date (its end) or a span back from now")
    p.add_argument("--query", "-q", metavar="QUERY", help="only articles matching this search (see 'reader search')")
    p.add_argument("--limit", type=LIMIT, metavar="N", help="at most N articles")


COMMANDS = ("articles", "show", "export")  # the commands `register` adds (the CLI builds only the one asked for)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("articles", help="list stored articles, newest first")
    add_filters(p)
    p.add_argument("--json", action="store_true", help="one JSON array of articles")
    p.set_defaults(func=list_articles, limit_default=50)

    p = sub.add_parser("show", help="print one article with its extracted full text")
    p.add_argument("article", metavar="ARTICLE", help="an article id or its link")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="the Markdown form of the text")
    fmt.add_argument("--json", action="store_true", help="every field, text included")
    p.set_defaults(func=show_article)

    p = sub.add_parser("export", help="write the selected articles as JSON Lines, JSON or Markdown files")
    add_filters(p)
    p.add_argument("--format", choices=["jsonl", "json", "markdown"], default="jsonl")
    p.add_argument("--out", "-o", default="-", metavar="PATH",
                   help="a file (jsonl/json) or a directory (markdown); '-' is standard output")  # fmt: skip
    p.set_defaults(func=export_articles)


def article_json(a: Article, story_sizes: dict[int, int]) -> dict:
    return {
        "id": a.id, "feed": a.feed_title, "feed_id": a.feed_id, "group": a.group, "title": a.title,
        "link": a.link, "author": a.author, "published": console.iso(a.published), "updated": console.iso(a.updated),
        "first_seen": console.iso(a.first_seen), "categories": list(a.categories), "read": a.read,
        "starred": a.starred, "text_source": a.text_source,
        "story": a.story_id, "story_size": story_sizes.get(a.story_id, 1),
    }  # fmt: skip


def article_full_json(a: Article, story_sizes: dict[int, int]) -> dict:
    return {**article_json(a, story_sizes), "summary": a.summary, "text": a.text, "markdown": a.markdown,
            "text_length": len(a.text), "enclosures": [e.__dict__ for e in a.enclosures]}  # fmt: skip


def build_filter(args, ctx: Context) -> ArticleFilter:
    since = _when("--since", args.since)
    until = _when("--until", args.until, end_of_day=True)
    feed_ids = [f.id for f in ctx.resolve_feeds(args.feed)] if args.feed else None
    ids = search_ids(ctx, args.query) if args.query else None
    return ArticleFilter(feed_ids=feed_ids, group=args.group, unread=args.unread, starred=args.starred,
                         since=since, until=until, ids=ids)  # fmt: skip


def _when(option: str, text: str | None, *, end_of_day: bool = False):
    try:
        return parse_when(text, end_of_day=end_of_day) if text else None
    except DateError as exc:
        raise UsageError(f"{option}: {exc}; use {FORMS}") from None


def list_articles(args, ctx: Context) -> int:
    limit = args.limit if args.limit is not None else 50
    articles = ctx.store.iter_articles(build_filter(args, ctx), limit=limit)
    if args.json:
        articles = list(articles)
        sizes = ctx.store.story_sizes(sorted({a.story_id for a in articles if a.story_id}))
        console.print_json([article_json(a, sizes) for a in articles])
        return 0
    rows = [
        (str(a.id), " " if a.read else "N", "*" if a.starred else " ", console.local_time(a.date), a.feed_title, a.title)
        for a in articles
    ]
    if not rows:
        console.out.print("No articles match.")
        return 0
    console.out.print(console.table([Col("id"), Col(""), Col(""), Col("date"), Col("feed", max=24, drop=1), Col("title", flex=1)], rows))
    return 0


def find_article(ctx: Context, ref: str) -> Article:
    article = ctx.store.article(int(ref)) if ref.isdigit() and int(ref) <= MAX_ID else ctx.store.article_by_link(ref)
    if article is None:
        raise UsageError(f"no article {ref!r} (give an id from 'reader articles' or the article's link)")
    return article


def show_article(args, ctx: Context) -> int:
    a = find_article(ctx, args.article)
    if args.json:
        console.print_json(article_full_json(a, ctx.store.story_sizes([a.story_id] if a.story_id else [])))
        return 0
    header = [("title", a.title), ("feed", a.feed_title), ("author", a.author),
              ("date", console.local_time(a.date)), ("link", a.link), ("text from", a.text_source)]  # fmt: skip
    header += [("enclosure", enclosure_line(e)) for e in a.enclosures]
    size = ctx.store.story_sizes([a.story_id]).get(a.story_id, 1) if a.story_id else 1
    if size > 1:  # one event, several outlets: `reader stories show` lists them
        header.append(("story", f"{a.story_id}: {size} articles (reader stories show {a.story_id})"))
    for label, value in header:
        if value:
            console.out.print(console.Text(f"{label:>10}: ", "bold") + console.safe(value), crop=False)
    console.out.print()
    body = clean_text(a.markdown if args.markdown else a.text)
    sys.stdout.write((wrap_paragraphs(body, console.out.width) if console.is_tty() else body) + "\n")
    return 0


def enclosure_line(e) -> str:
    """A podcast episode or attachment: its URL, then its type and size when the feed gave them."""
    size = f"{e.length / 1_000_000:.1f} MB" if e.length else ""
    details = ", ".join(x for x in (e.type, size) if x)
    return f"{e.url} ({details})" if details else e.url


def wrap_paragraphs(text: str, width: int) -> str:
    """Fold long lines to the terminal's width, keeping blank lines, list markers and indentation."""
    import textwrap

    width = max(20, min(width, 100))  # past ~100 columns, lines get hard to read
    out = []
    for line in text.split("\n"):
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        marker = re.match(r"([-*+]|\d+[.)]|>)\s+", stripped)
        hang = indent + " " * (marker.end() if marker else 0)
        out.append(textwrap.fill(line, width, subsequent_indent=hang, break_long_words=False,
                                 break_on_hyphens=False) if len(line) > width else line)  # fmt: skip
    return "\n".join(out)


# -- export ----------------------------------------------------------------------------


MAX_SLUG_CHARS = 60
EXPORT_CHUNK = 500  # articles written per story-size query


def slugify(title: str) -> str:
    slug = re.sub(r"[^\w]+", "-", title.casefold(), flags=re.UNICODE).strip("-")
    return slug[:MAX_SLUG_CHARS].rstrip("-") or "untitled"


def front_matter(a: Article) -> str:
    """YAML front matter as Obsidian and other notes tools read it (JSON strings are valid YAML)."""
    fields = {"title": a.title, "feed": a.feed_title, "link": a.link, "author": a.author,
              "published": console.iso(a.date)}  # fmt: skip
    lines = [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in fields.items()]
    lines.append("tags: " + json.dumps(list(a.categories), ensure_ascii=False))
    return "---\n" + "\n".join(lines) + "\n---\n\n"


def markdown_name(a: Article, taken: set[str]) -> str:
    name = f"{a.date:%Y-%m-%d}-{slugify(a.title)}"
    if name in taken:
        name = f"{name}-{a.id}"
    taken.add(name)
    return name + ".md"


def with_progress(articles: Iterator[Article], total: int) -> Iterator[Article]:
    """Pass articles through, advancing a progress bar on a terminal (stderr)."""
    if not sys.stderr.isatty():
        yield from articles
        return
    with console.progress_bar() as bar:
        task = bar.add_task("export", total=total)
        for a in articles:
            yield a
            bar.advance(task)


def write_stream(articles: Iterator[Article], fmt: str, out: TextIO, store: Store) -> int:
    count = 0
    if fmt == "json":
        out.write("[")
    while chunk := list(islice(articles, EXPORT_CHUNK)):  # story sizes asked once per chunk, not per article
        sizes = store.story_sizes(sorted({a.story_id for a in chunk if a.story_id}))
        for a in chunk:
            data = console.json_text(article_full_json(a, sizes))
            out.write((("," if count else "") + "\n" + data) if fmt == "json" else data + "\n")
            count += 1
    if fmt == "json":
        out.write("\n]\n")
    return count


def write_markdown(articles: Iterator[Article], directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    taken = {p.stem for p in directory.glob("*.md")}
    count = 0
    for a in articles:
        body = clean_text(a.markdown or a.text)
        text = front_matter(a) + f"# {a.title}\n\n" + without_title_line(body, a.title) + "\n"
        (directory / markdown_name(a, taken)).write_text(text, encoding="utf-8")
        count += 1
    return count


def without_title_line(markdown: str, title: str) -> str:
    """The body without a first line that only repeats the title (pages and feeds often open with
    their own heading), so the file's `# title` is not followed by the same words again."""
    first, _, rest = markdown.lstrip().partition("\n")
    same = " ".join(first.lstrip("#").split()).casefold() == " ".join(title.split()).casefold()
    return rest.lstrip("\n") if same else markdown


def export_articles(args, ctx: Context) -> int:
    flt = build_filter(args, ctx)
    total = ctx.store.count_articles(flt)
    if args.limit is not None:
        total = min(total, args.limit)
    articles = with_progress(ctx.store.iter_articles(flt, with_text=True, limit=args.limit), total)
    if args.format == "markdown":
        if args.out == "-":
            raise UsageError("--format markdown writes one file per article: give a directory with --out DIR")
        count = write_markdown(articles, Path(args.out))
    elif args.out == "-":
        count = write_stream(articles, args.format, sys.stdout, ctx.store)
    else:
        try:
            with open(args.out, "w", encoding="utf-8") as fh:
                count = write_stream(articles, args.format, fh, ctx.store)
        except OSError as exc:  # (a write's error does not name its file: a full disk, a FIFO closed early)
            exc.filename = exc.filename or args.out
            raise
    console.err.print(f"exported {console.plural(count, 'article')}" + ("" if args.out == "-" else f" to {args.out}"))
    return 0
