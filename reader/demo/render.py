"""The demo world as a web site: RSS feeds, article pages wrapped in news-site boilerplate, an index.

Pure functions of the world, the server's base URL and "now". Pages carry what
real outlets put around an article — a menu of the outlet's other headlines, a
cross-link inside the body, related posts, a newsletter box, a "Most read" rail
with other outlets' headlines, a footer — so that the reader's full-text
extraction has something to remove, and a rule that only the boilerplate
would satisfy visibly does not fire.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import format_datetime

from .world import Outlet, Story, World

MENU_HEADLINES = 5
RELATED_POSTS = 3
MOST_READ = 5

# Where each layout's article body lives and whether its newsletter box sits inside the
# body (as on Substack/Ghost posts) or beside it: class names as the real themes use them.
BODY_CLASS = {
    "wire": "article-body__content",
    "blog": "entry-content",
    "newsletter": "gh-content available-content",
    "techsite": "duet--article--article-body-component",
}
INLINE_NEWSLETTER = {"newsletter"}


def feed_path(outlet: Outlet) -> str:
    return f"/{outlet.slug}/feed.xml"


def page_path(outlet: Outlet, story: Story) -> str:
    return f"/{outlet.slug}/{story.slug}/"


def published(story: Story, now: datetime) -> datetime:
    return now - timedelta(hours=story.hours_ago)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


# -- feeds --------------------------------------------------------------------------


def render_feed(outlet: Outlet, base_url: str, now: datetime) -> str:
    """RSS 2.0 for one outlet: each story's title, link, date, author, categories and teaser."""
    items = "\n".join(_feed_item(outlet, story, base_url, now) for story in outlet.stories)
    newest = min((s.hours_ago for s in outlet.stories), default=0)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
<title>{_e(outlet.name)}</title>
<link>{base_url}/{outlet.slug}/</link>
<description>{_e(outlet.tagline)} (a fictional outlet of the reader demo)</description>
<language>en</language>
<lastBuildDate>{format_datetime(now - timedelta(hours=newest))}</lastBuildDate>
{items}
</channel>
</rss>
"""


def _feed_item(outlet: Outlet, story: Story, base_url: str, now: datetime) -> str:
    link = base_url + page_path(outlet, story)
    categories = "".join(f"<category>{_e(c)}</category>" for c in story.categories)
    return f"""<item>
<title>{_e(story.title)}</title>
<link>{_e(link)}</link>
<guid isPermaLink="true">{_e(link)}</guid>
<pubDate>{format_datetime(published(story, now))}</pubDate>
<dc:creator>{_e(story.author)}</dc:creator>
{categories}
<description>{_e(story.summary)}</description>
</item>"""


# -- article pages ------------------------------------------------------------------


def render_page(world: World, outlet: Outlet, story: Story, base_url: str, now: datetime) -> str:
    """One article page, its text surrounded by the outlet's boilerplate."""
    menu, related, most_read = _surroundings(world, outlet, story)
    cross_link = menu[0] if menu else None
    date = published(story, now)
    newsletter = _newsletter_box(outlet)
    body = _body(outlet, story, cross_link, newsletter if outlet.layout in INLINE_NEWSLETTER else "")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(story.title)} | {_e(outlet.name)}</title>
<link rel="canonical" href="{_e(base_url + page_path(outlet, story))}">
<meta property="og:title" content="{_e(story.title)}">
<meta property="og:site_name" content="{_e(outlet.name)}">
<meta property="og:type" content="article">
<meta name="author" content="{_e(story.author)}">
<meta property="article:published_time" content="{date.isoformat()}">
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"page": "article"}});</script>
</head>
<body class="layout-{outlet.layout}">
<div class="cookie-banner" role="dialog" aria-label="Cookies">
<p>We use cookies and similar technologies to remember your preferences and measure how our pages are used.</p>
<button type="button">Accept all</button><button type="button">Manage settings</button></div>
<header class="site-header">
<a class="site-logo" href="/{outlet.slug}/">{_e(outlet.name)}</a>
<p class="site-tagline">{_e(outlet.tagline)}</p>
<nav class="main-navigation" aria-label="Main"><ul>{_sections(outlet)}</ul>
<div class="nav-latest"><span>Latest</span><ul>{_links(outlet, menu)}</ul></div></nav>
<form class="search" action="/search"><input type="search" name="q" placeholder="Search"></form>
</header>
<main id="main">
<article class="post">
<header class="entry-header">
<nav class="breadcrumbs"><a href="/{outlet.slug}/">{_e(outlet.name)}</a> › <a href="#">{_e(story.categories[0] if story.categories else "News")}</a></nav>
<h1 class="entry-title">{_e(story.title)}</h1>
<div class="byline">By <a rel="author" href="#">{_e(story.author)}</a>
<time datetime="{date.isoformat()}">{date.strftime("%B %-d, %Y %H:%M UTC")}</time></div>
</header>
<div class="share-bar" aria-label="Share"><button type="button">Share</button><button type="button">Email</button><button type="button">Copy link</button></div>
<div class="{BODY_CLASS[outlet.layout]}">
{body}
</div>
<div class="author-card"><p>{_e(story.author)} writes for {_e(outlet.name)}. Follow their reporting for more stories like this one.</p></div>
</article>
<section class="related-posts"><h2>Related posts</h2><ul>{_links(outlet, related)}</ul></section>
{"" if outlet.layout in INLINE_NEWSLETTER else newsletter}
<aside class="most-read"><h2>Most read</h2><ol>{"".join(f'<li><a href="#">{_e(t)}</a></li>' for t in most_read)}</ol></aside>
</main>
<footer class="site-footer"><ul>{_sections(outlet)}</ul><p>{_e(outlet.footer)}</p></footer>
</body>
</html>
"""


def _body(outlet: Outlet, story: Story, cross_link: Story | None, interlude: str) -> str:
    """The paragraphs, with a "Read more:" cross-link and maybe a widget between the halves."""
    half = max(1, len(story.paragraphs) // 2)
    head = "\n".join(f"<p>{_e(p)}</p>" for p in story.paragraphs[:half])
    tail = "\n".join(f"<p>{_e(p)}</p>" for p in story.paragraphs[half:])
    read_more = ""
    if cross_link is not None:
        href = _e(page_path(outlet, cross_link))
        read_more = f'<p class="read-more">Read more: <a href="{href}">{_e(cross_link.title)}</a></p>'
    return f"{head}\n{read_more}\n{interlude}\n{tail}"


def _newsletter_box(outlet: Outlet) -> str:
    return f"""<div class="newsletter-signup"><h3>Newsletter</h3><p>{_e(outlet.newsletter)}</p>
<form action="/subscribe" method="post"><input type="email" name="email" placeholder="Your email address">
<button type="submit">Subscribe</button></form></div>"""


def _sections(outlet: Outlet) -> str:
    return "".join(f'<li><a href="#">{_e(s)}</a></li>' for s in outlet.sections)


def _links(outlet: Outlet, stories: Sequence[Story]) -> str:
    return "".join(f'<li><a href="{_e(page_path(outlet, s))}">{_e(s.title)}</a></li>' for s in stories)


def _surroundings(world: World, outlet: Outlet, story: Story) -> tuple[list[Story], list[Story], list[str]]:
    """The headlines around `story` on its page: the menu, related posts and the "Most read" rail."""
    others = [s for s in outlet.stories if s is not story]
    elsewhere = sorted((s for o, s in world.stories() if o is not outlet), key=lambda s: s.hours_ago)
    most_read = [*story.sidebar, *(s.title for s in elsewhere[:MOST_READ])]
    return others[:MENU_HEADLINES], others[-RELATED_POSTS:], most_read


def boilerplate_of(world: World, outlet: Outlet, story: Story) -> list[str]:
    """Strings on `story`'s page that belong to the site around it, not to the article."""
    menu, related, most_read = _surroundings(world, outlet, story)
    headlines = [s.title for s in (*menu, *related)]
    return [*headlines, *most_read, outlet.newsletter, outlet.footer, outlet.tagline]


# -- the index page -----------------------------------------------------------------


def render_index(world: World, base_url: str) -> str:
    """A plain page listing the outlets, their feeds and the notifications page."""
    rows = "\n".join(
        f'<li><a href="{_e(feed_path(o))}">{_e(o.name)}</a> ({_e(o.group)}, {len(o.stories)} stories): '
        f"<code>{_e(base_url + feed_path(o))}</code></li>"
        for o in world.outlets
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>The reader's demo world</title></head>
<body><h1>The reader's demo world</h1>
<p>Fictional outlets and invented stories, served from this machine for <code>make demo</code>.</p>
<ul>{rows}</ul>
<p><a href="/notifications">Notifications the reader has sent</a></p>
</body></html>
"""
