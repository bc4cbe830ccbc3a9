"""A local feed server for benchmarks: N synthetic feeds × M articles, real feed files, latency, 304s.

Run in its own process so serving never competes with the client's event loop:

    with FeedServer(ServerOptions(feeds=300, items=20, latency=0.05)) as server:
        urls = server.layout.feed_urls()

or by hand: `python -m benchmarks.feedserver --feeds 30 --items 5` prints the
layout as one JSON line and serves until interrupted.

Paths (served on every address):
  /feed/{i}.xml           RSS 2.0, M items, descriptions of 100-300 words
  /article/{i}/{j}.html   the article page: ~600 words in <article>, with
                          nav, sidebar, related links and footer around it
  /real/{name}            a file of the real-feeds directory, as read at startup
  /_stats                 JSON counts of responses by kind and status

Feed i lives on loopback address 127.0.0.(1 + i % hosts) — every 127/8
address reaches this machine on Linux — so a client's per-host limit sees as
many sites as a real subscription list has, not one. Content is deterministic
(seeded) and built before the port is reported: generating it is never timed.
Every response carries ETag and Last-Modified and honours conditional
requests with 304; bodies are gzipped once, up front, for clients that ask.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import ipaddress
import json
import random
import socket
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from pathlib import Path
from types import TracebackType

from aiohttp import web

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_FEEDS_DIR = Path("/work/shared/benchdata/realfeeds")
FIRST_LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the newest article's date: fixed, so runs are comparable
GZIP_LEVEL = 6  # what typical web servers use

# -- options and URL layout -----------------------------------------------------------


@dataclass(frozen=True)
class ServerOptions:
    feeds: int = 300  # synthetic feeds
    items: int = 20  # articles per synthetic feed
    latency: float = 0.05  # seconds before every response
    hosts: int = 0  # loopback addresses to spread feeds over; 0 = one per feed
    seed: int = 1
    real_dir: str | None = None  # serve these files under /real/
    pages: bool = False  # build every article page at startup (else on first request, then kept)

    def host_count(self) -> int:
        real = len(real_feed_names(Path(self.real_dir))) if self.real_dir else 0
        wanted = self.hosts or max(self.feeds, real, 1)
        return max(1, min(wanted, 1000))


@dataclass(frozen=True)
class Layout:
    """Where things are served: enough for a client to build every URL."""

    port: int
    hosts: int
    feeds: int
    items: int
    real_names: tuple[str, ...] = ()

    def host(self, k: int) -> str:
        return str(FIRST_LOOPBACK + k % self.hosts)

    def base(self, k: int) -> str:
        return f"http://{self.host(k)}:{self.port}"

    def feed_url(self, i: int) -> str:
        return f"{self.base(i)}/feed/{i}.xml"

    def article_url(self, i: int, j: int) -> str:
        return f"{self.base(i)}/article/{i}/{j}.html"

    def feed_urls(self) -> list[str]:
        return [self.feed_url(i) for i in range(self.feeds)]

    def real_urls(self) -> list[str]:
        return [f"{self.base(k)}/real/{name}" for k, name in enumerate(self.real_names)]

    def stats_url(self) -> str:
        return f"{self.base(0)}/_stats"


def real_feed_names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))


# -- synthetic text -------------------------------------------------------------------

COMMON_WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which but have an they "
    "you were her she there been one all we their has would when if so no will can more other new some what about "
    "into than them only could time these two may first then do any like my now over such our man me even most made "
    "after also did many before must through back years where much your way well down should because each just "
    "those people how too little state good very make world still own see men work long get here between both life "
    "being under never day same another know while last might us great old year off come since against go came "
    "right used take three company government report market data policy security research system model people"
).split()
TOPIC_TERMS = (
    "DeepSeek", "export controls", "semiconductors", "Nvidia", "TSMC", "open-source models", "antitrust",
    "data centers", "the European Commission", "chip smuggling", "sanctions", "quantum computing", "Rust",
    "Python", "Linux kernel", "supply chain", "encryption", "ransomware", "zero-day", "climate policy",
    "battery storage", "satellite launches", "the Federal Reserve", "tariffs", "privacy regulators",
)  # fmt: skip
CATEGORIES = (
    "Technology", "Policy", "Security", "Science", "Business", "AI", "Hardware", "Open Source", "Energy",
    "Space", "Economy", "Privacy", "Research", "Opinion", "Analysis",
)  # fmt: skip
SYLLABLES = (
    "ba be bi bo bu ca ce co cu da de di do du fa fe fi fo ga ge go la le li lo lu ma me mi mo mu na ne ni no "
    "pa pe pi po ra re ri ro ru sa se si so ta te ti to tu va ve vi vo za ze zi zo tion ment ing er ly al"
)


@dataclass
class Article:
    title: str
    paragraphs: list[str]
    summary: str  # the lead: the first paragraphs, 100-300 words, as the feed's description
    category: str
    published: datetime
    author: str


class TextMaker:
    """Deterministic, plausible-looking prose: Zipf-weighted words cut into a pool of sentences."""

    def __init__(self, seed: int):
        rng = random.Random(seed)
        syllables = SYLLABLES.split()
        invented = {"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(6000)}
        words = COMMON_WORDS + sorted(invented)
        weights = [1.0 / (rank + 8) for rank in range(len(words))]  # Zipf-like: a few words are everywhere
        self.sentences = [self._sentence(rng, words, weights) for _ in range(5000)]
        self.seed = seed

    @staticmethod
    def _sentence(rng: random.Random, words: list[str], weights: list[float]) -> str:
        chosen = rng.choices(words, weights, k=rng.randint(8, 24))
        if rng.random() < 0.15:
            chosen.insert(rng.randrange(len(chosen)), rng.choice(TOPIC_TERMS))
        return " ".join(chosen).capitalize() + "."

    def article(self, i: int, j: int, words: int = 600) -> Article:
        rng = random.Random(f"{self.seed}/{i}/{j}")
        paragraphs, count = [], 0
        while count < words:
            paragraph = " ".join(rng.choices(self.sentences, k=rng.randint(3, 6)))
            paragraphs.append(paragraph)
            count += paragraph.count(" ") + 1
        lead, lead_words, wanted = [], 0, rng.randint(100, 300)
        for sentence in " ".join(paragraphs).split(". "):
            if lead_words >= wanted:
                break
            lead.append(sentence)
            lead_words += sentence.count(" ") + 1
        title = " ".join(rng.choice(self.sentences).rstrip(".").split()[:rng.randint(5, 10)]).title()
        published = EPOCH - timedelta(hours=j * 6 + i % 6, minutes=(i * 7 + j * 13) % 60)
        author = f"{rng.choice(COMMON_WORDS).title()} {rng.choice(COMMON_WORDS).title()}"
        return Article(title, paragraphs, ". ".join(lead).rstrip(".") + ".", rng.choice(CATEGORIES), published, author)


# -- documents ------------------------------------------------------------------------


def rss_document(layout: Layout, i: int, articles: list[Article]) -> str:
    items = []
    for j, a in enumerate(articles):
        link = escape(layout.article_url(i, j))
        description = escape(f"<p>{a.summary}</p>")
        items.append(
            f"<item><title>{escape(a.title)}</title><link>{link}</link>"
            f'<guid isPermaLink="false">synthetic-{i}-{j}</guid><pubDate>{format_datetime(a.published, True)}</pubDate>'
            f"<dc:creator>{escape(a.author)}</dc:creator><category>{escape(a.category)}</category>"
            f"<description>{description}</description></item>"
        )  # fmt: skip
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Synthetic site {i}</title><link>{layout.base(i)}/</link>"
        f"<description>News and analysis from synthetic site {i}</description><language>en</language>"
        f"<lastBuildDate>{format_datetime(articles[0].published, True)}</lastBuildDate>"
        + "".join(items) + "</channel></rss>\n"
    )  # fmt: skip


PAGE_STYLE = " ".join(
    f".{name} {{ margin: 0 auto; padding: {k}px {k * 2}px; font: {14 + k % 4}px/1.5 system-ui, sans-serif; "
    f"color: #{k * 111111 % 0xFFFFFF:06x}; border-bottom: 1px solid #ddd; }}"
    for k, name in enumerate(("site-header", "main-nav", "logo", "search", "cookie-banner", "post", "byline", "share",
                              "related", "newsletter", "sidebar", "ad", "footer", "comments", "tags", "author-bio")
                             * 2)
)  # some inline CSS, as most pages carry


def article_page(layout: Layout, i: int, j: int, article: Article, related: list[tuple[str, str]]) -> str:
    site = f"Synthetic site {i}"
    nav = "".join(f'<li><a href="{layout.base(i)}/section/{c.lower().replace(" ", "-")}">{c}</a></li>'
                  for c in CATEGORIES)  # fmt: skip
    links = "".join(f'<li><a href="{escape(url)}">{escape(title)}</a></li>' for url, title in related)
    body = "".join(f"<p>{escape(p)}</p>" for p in article.paragraphs)
    when = article.published.isoformat()
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(article.title)} | {site}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="og:title" content="{escape(article.title)}"><meta name="author" content="{escape(article.author)}">
<link rel="canonical" href="{escape(layout.article_url(i, j))}"><link rel="stylesheet" href="/static/site.css">
<style>{PAGE_STYLE}</style>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle",
"headline":"{escape(article.title)}","datePublished":"{when}","author":{{"@type":"Person",
"name":"{escape(article.author)}"}},"publisher":{{"@type":"Organization","name":"{site}"}}}}</script>
<script>window.dataLayer=window.dataLayer||[];
function gtag(){{dataLayer.push(arguments)}}gtag('js',new Date());</script>
</head><body>
<header class="site-header"><a class="logo" href="{layout.base(i)}/">{site}</a>
<nav class="main-nav"><ul>{nav}</ul></nav>
<form class="search" action="/search"><input name="q" placeholder="Search"><button>Go</button></form></header>
<div class="cookie-banner">We use cookies to improve your experience. <a href="/privacy">Privacy policy</a>
<button>Accept all</button><button>Manage settings</button></div>
<main><article class="post">
<h1>{escape(article.title)}</h1>
<p class="byline">By <a rel="author" href="/authors/{j}">{escape(article.author)}</a> ·
<time datetime="{when}">{article.published:%d %B %Y}</time> · {escape(article.category)}</p>
{body}
</article>
<aside class="share">Share this: <a href="/share/x">X</a> <a href="/share/mastodon">Mastodon</a>
<a href="/share/email">Email</a></aside>
<section class="related"><h2>Related stories</h2><ul>{links}</ul></section>
<section class="newsletter"><h2>Get the newsletter</h2><p>The day's most important stories, every morning.</p>
<form><input type="email" placeholder="you@example.com"><button>Subscribe</button></form></section>
</main>
<aside class="sidebar"><h2>Most popular</h2><ol>{links}</ol>
<div class="ad">Advertisement</div></aside>
<footer><ul><li><a href="/about">About</a></li><li><a href="/contact">Contact</a></li>
<li><a href="/terms">Terms</a></li><li><a href="/privacy">Privacy</a></li><li><a href="/rss">RSS</a></li></ul>
<p>© 2026 {site}. All rights reserved.</p></footer>
</body></html>
"""


def is_json_feed(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def feed_content_type(body: bytes) -> str:
    """The media type a careful server would send for a feed file, from its root element."""
    if is_json_feed(body):
        return "application/feed+json"
    head = body[:4096]
    for marker, media_type in ((b"<rss", "application/rss+xml"), (b"<feed", "application/atom+xml"),
                               (b"<rdf:RDF", "application/rdf+xml")):  # fmt: skip
        if marker in head:
            return media_type
    return "application/xml"


# -- responses ------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """A body ready to send, plain and gzipped, with its validators."""

    body: bytes
    gzipped: bytes
    content_type: str
    etag: str
    last_modified: datetime

    @classmethod
    def of(cls, body: bytes, content_type: str, last_modified: datetime) -> Resource:
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        return cls(body, gzip.compress(body, GZIP_LEVEL, mtime=0), content_type, etag, last_modified)

    def unchanged_for(self, request: web.Request) -> bool:
        """Whether a conditional request already holds this version (RFC 9110: If-None-Match wins)."""
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
            return "*" in tags or self.etag in tags
        since = request.headers.get("If-Modified-Since")
        if since:
            try:
                return parsedate_to_datetime(since) >= self.last_modified
            except (TypeError, ValueError):
                return False
        return False

    def response(self, request: web.Request) -> web.Response:
        headers = {"ETag": self.etag, "Last-Modified": format_datetime(self.last_modified, usegmt=True),
                   "Vary": "Accept-Encoding"}  # fmt: skip
        if self.unchanged_for(request):
            return web.Response(status=304, headers=headers)
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=self.gzipped, headers=headers, content_type=self.content_type)
        return web.Response(body=self.body, headers=headers, content_type=self.content_type)


@dataclass
class Content:
    """Everything the server sends, built from the options once the port is known."""

    options: ServerOptions
    layout: Layout
    text: TextMaker
    articles: list[list[Article]] = field(default_factory=list)
    feeds: list[Resource] = field(default_factory=list)
    pages: dict[tuple[int, int], Resource] = field(default_factory=dict)
    real: dict[str, Resource] = field(default_factory=dict)

    @classmethod
    def build(cls, options: ServerOptions, layout: Layout) -> Content:
        content = cls(options, layout, TextMaker(options.seed))
        o = options
        content.articles = [[content.text.article(i, j) for j in range(o.items)] for i in range(o.feeds)]
        content.feeds = [
            Resource.of(rss_document(layout, i, arts).encode(), "application/rss+xml", arts[0].published)
            for i, arts in enumerate(content.articles)
        ]  # fmt: skip
        if o.pages:
            for i in range(o.feeds):
                for j in range(o.items):
                    content.page(i, j)
        if o.real_dir:
            directory, mtime = Path(o.real_dir), EPOCH
            for name in layout.real_names:
                body = (directory / name).read_bytes()
                content.real[name] = Resource.of(body, feed_content_type(body), mtime)
        return content

    def page(self, i: int, j: int) -> Resource:
        """An article page, built on first use and kept."""
        resource = self.pages.get((i, j))
        if resource is None:
            article = self.articles[i][j]
            related = [(self.layout.article_url(i, k), self.articles[i][k].title)
                       for k in range(len(self.articles[i])) if k != j][:8]  # fmt: skip
            html = article_page(self.layout, i, j, article, related).encode()
            resource = self.pages[(i, j)] = Resource.of(html, "text/html", article.published)
        return resource


def build_app(content: Content, latency: float) -> web.Application:
    stats: Counter[str] = Counter()

    async def send(request: web.Request, kind: str, resource: Resource | None) -> web.StreamResponse:
        if latency:
            await asyncio.sleep(latency)
        response = resource.response(request) if resource else web.Response(status=404, text="not found")
        stats[f"{kind} {response.status}"] += 1
        return response

    def index(request: web.Request, name: str, limit: int) -> int | None:
        value = int(request.match_info[name])
        return value if value < limit else None

    async def feed(request: web.Request) -> web.StreamResponse:
        i = index(request, "i", len(content.feeds))
        return await send(request, "feed", None if i is None else content.feeds[i])

    async def page(request: web.Request) -> web.StreamResponse:
        i, j = index(request, "i", content.options.feeds), index(request, "j", content.options.items)
        return await send(request, "article", None if i is None or j is None else content.page(i, j))

    async def real(request: web.Request) -> web.StreamResponse:
        return await send(request, "real", content.real.get(request.match_info["name"]))

    async def show_stats(request: web.Request) -> web.Response:
        return web.json_response(dict(stats))

    app = web.Application()
    app.router.add_get(r"/feed/{i:\d+}.xml", feed)
    app.router.add_get(r"/article/{i:\d+}/{j:\d+}.html", page)
    app.router.add_get("/real/{name}", real)
    app.router.add_get("/_stats", show_stats)
    return app


# -- serving --------------------------------------------------------------------------


def bind_sockets(hosts: int, attempts: int = 20) -> list[socket.socket]:
    """Listening sockets on 127.0.0.1 … 127.0.0.(hosts), all on one free port."""
    for _ in range(attempts):
        sockets: list[socket.socket] = []
        try:
            for k in range(hosts):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind((str(FIRST_LOOPBACK + k), sockets[0].getsockname()[1] if k else 0))
                sock.listen(1024)
            return sockets
        except OSError:  # the port is taken on one of the addresses: start over on a new one
            for sock in sockets:
                sock.close()
    raise OSError(f"no port free on all of {hosts} loopback addresses")


async def serve(options: ServerOptions, ready) -> None:
    """Bind, build the content, report the layout through `ready(layout)`, then serve forever."""
    sockets = bind_sockets(options.host_count())
    real_names = tuple(real_feed_names(Path(options.real_dir))) if options.real_dir else ()
    layout = Layout(sockets[0].getsockname()[1], len(sockets), options.feeds, options.items, real_names)
    content = Content.build(options, layout)
    runner = web.AppRunner(build_app(content, options.latency), access_log=None, handle_signals=True)
    await runner.setup()
    for sock in sockets:
        await web.SockSite(runner, sock).start()
    ready(layout)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


class FeedServer:
    """The feed server in a child process, for the duration of a `with` block."""

    def __init__(self, options: ServerOptions):
        self.options = options
        self.process: subprocess.Popen | None = None
        self.layout: Layout | None = None

    def __enter__(self) -> FeedServer:
        command = [sys.executable, "-m", "benchmarks.feedserver", "--options", json.dumps(asdict(self.options))]
        self.process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                        text=True)  # fmt: skip
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise RuntimeError(f"the feed server exited with code {self.process.returncode} before it was ready")
        raw = json.loads(line)
        self.layout = Layout(**{**raw, "real_names": tuple(raw["real_names"])})
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def parse_options(argv: list[str] | None) -> ServerOptions:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.feedserver", description=__doc__.split("\n")[0])
    parser.add_argument("--options", help="every option as one JSON object (used by FeedServer)")
    parser.add_argument("--feeds", type=int, default=30)
    parser.add_argument("--items", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each response")
    parser.add_argument("--hosts", type=int, default=0,
                        help="loopback addresses to spread feeds over (0: one per feed)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--real", nargs="?", const=str(REAL_FEEDS_DIR), default=None, metavar="DIR",
                        help=f"also serve the files of DIR under /real/ (default DIR: {REAL_FEEDS_DIR})")
    parser.add_argument("--pages", action="store_true", help="build every article page at startup")
    args = parser.parse_args(argv)
    if args.options:
        return ServerOptions(**json.loads(args.options))
    return ServerOptions(args.feeds, args.items, args.latency, args.hosts, args.seed, args.real, args.pages)


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv)

    def report(layout: Layout) -> None:
        print(json.dumps(asdict(layout)), flush=True)
        if sys.stdout.isatty():
            print(f"serving {layout.feeds} feeds, e.g. {layout.feed_url(0)}; Ctrl-C to stop", file=sys.stderr)

    try:
        asyncio.run(serve(options, report))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
