"""Article pages shaped like real news sites, for extraction, integration tests and the demo.

Four layouts, each carrying the boilerplate its kind of outlet really has:

- ``wire``: a wire service (Reuters-like): consent banner, section nav with a
  "Top stories" drop-down, "Read more:" lines in the body, "Most Read" rail.
- ``wordpress``: a WordPress blog theme: Jetpack share buttons and related
  posts inside ``entry-content``, author box, comment list and reply form,
  widget sidebar (Trending, newsletter signup).
- ``newsletter``: a Substack/Ghost post: subscribe widget in the middle of
  the body, like/share bar, "You may also like", discussion thread.
- ``techsite``: a big tech site (The Verge/Ars-like): a mega-menu full of
  headlines, a "Related" box in the body, "Most Popular" rail, author card.

``news_page`` builds one page and says which strings are the article
(``paragraphs``) and which are boilerplate that extraction must drop
(``boilerplate``). ``STORIES`` are canned articles; the ``DEEPSEEK_*`` scenarios
are the pages the alert tests use, each with the summary its feed would carry.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

STYLES = ("wire", "wordpress", "newsletter", "techsite")


@dataclass(frozen=True)
class NewsPage:
    """A built page: its HTML, the article it carries and the boilerplate around it."""

    html: str
    url: str
    title: str
    paragraphs: tuple[str, ...]
    boilerplate: tuple[str, ...]  # strings that must not survive extraction
    charset: str = "utf-8"

    def encoded(self) -> bytes:
        """The page as a server would send it, in its declared charset."""
        return self.html.encode(self.charset, errors="xmlcharrefreplace")


@dataclass(frozen=True)
class Story:
    """A canned article: what a feed entry and its page say."""

    slug: str
    title: str
    paragraphs: tuple[str, ...]
    summary: str  # the feed entry's summary
    subheading: str = ""
    link: tuple[str, str] | None = None  # (anchor text found in a paragraph, href)
    emphasis: str = ""  # a phrase of a paragraph set in <em>


@dataclass(frozen=True)
class Chrome:
    """The fixed furniture of one outlet's pages."""

    outlet: str
    host: str
    sections: tuple[str, ...]
    cookie_text: str
    cookie_buttons: tuple[str, ...]
    newsletter_heading: str
    newsletter_blurb: str
    newsletter_button: str
    share_label: str
    related_heading: str
    sidebar_heading: str
    see_also_label: str
    comments_heading: str
    comment_prompt: str
    comments: tuple[str, ...]
    author_bio: str
    footer: str

    def phrases(self) -> tuple[str, ...]:
        """Sentences of this chrome distinctive enough to look for in extracted text."""
        return (
            self.cookie_text,
            self.newsletter_heading,
            self.newsletter_blurb,
            self.related_heading,
            self.sidebar_heading,
            self.comments_heading,
            self.comment_prompt,
            *self.comments,
            self.author_bio,
            self.footer,
        )


CHROME: dict[str, Chrome] = {
    "wire": Chrome(
        outlet="Meridian Wire",
        host="www.meridianwire.example",
        sections=("World", "Business", "Markets", "Technology", "Legal", "Breakingviews"),
        cookie_text=(
            "We use cookies and similar technologies to recognise your repeat visits and "
            "preferences, to measure the effectiveness of campaigns, and to analyse traffic."
        ),
        cookie_buttons=("Accept All Cookies", "Cookie Settings"),
        newsletter_heading="Get the Tech Briefing newsletter",
        newsletter_blurb="Sign up for our newsletter and get the biggest technology stories in your inbox every weekday.",
        newsletter_button="Sign up",
        share_label="Share this article",
        related_heading="Related Coverage",
        sidebar_heading="Most Read",
        see_also_label="Read more:",
        comments_heading="Reader feedback on this report",
        comment_prompt="Submit your feedback to the desk using the form below. We read every message.",
        comments=(),
        author_bio=(
            "Dana Whitfield reports on technology regulation from Brussels, where she has "
            "covered the AI Act since the first draft."
        ),
        footer="All quotes delayed a minimum of 15 minutes. © 2025 Meridian Wire. All rights reserved.",
    ),
    "wordpress": Chrome(
        outlet="Policy Loop",
        host="policyloop.example",
        sections=("Home", "Tech Policy", "Privacy", "Security", "About", "Contact"),
        cookie_text=(
            "This website uses cookies to improve your experience while you navigate through "
            "the website. You can opt out if you wish."
        ),
        cookie_buttons=("Accept", "Reject", "Cookie settings"),
        newsletter_heading="Sign up for our newsletter",
        newsletter_blurb="Join 12,000 readers who get our weekly policy roundup. No spam, unsubscribe at any time.",
        newsletter_button="Subscribe",
        share_label="Share this:",
        related_heading="Related Posts",
        sidebar_heading="Trending",
        see_also_label="See also:",
        comments_heading="Leave a Reply",
        comment_prompt="Your email address will not be published. Required fields are marked *",
        comments=(
            "Great write-up, thanks for digging through the filings so the rest of us do not have to!",
            "I would love a follow-up on how smaller vendors are supposed to afford any of this compliance work.",
        ),
        author_bio=(
            "Marcus Oyelaran writes about technology law and the people it affects. Before "
            "starting this blog he spent eight years as a legislative aide."
        ),
        footer="Proudly powered by WordPress | Theme: Newsup by Themeansar.",
    ),
    "newsletter": Chrome(
        outlet="Silicon Ledger",
        host="siliconledger.example",
        sections=("Home", "Archive", "Podcast", "About"),
        cookie_text="We use cookies to improve your experience, for analytics, and for marketing.",
        cookie_buttons=("Accept", "Only necessary"),
        newsletter_heading="Thanks for reading Silicon Ledger!",
        newsletter_blurb="Subscribe for free to receive new posts and support my work.",
        newsletter_button="Subscribe",
        share_label="Share",
        related_heading="You may also like",
        sidebar_heading="Recent posts",
        see_also_label="Related:",
        comments_heading="Discussion about this post",
        comment_prompt="Write a comment...",
        comments=(
            "This is the clearest explanation of the supply chain angle I have read anywhere this month.",
        ),
        author_bio=(
            "Priya Raman is a former chip industry analyst who writes Silicon Ledger, a "
            "newsletter about the economics of semiconductors."
        ),
        footer="© 2025 Priya Raman · Privacy ∙ Terms ∙ Collection notice · Start writing · Get the app",
    ),
    "techsite": Chrome(
        outlet="Voltage",
        host="www.voltage.example",
        sections=("Tech", "Reviews", "Science", "Entertainment", "AI", "Policy"),
        cookie_text=(
            "We care about your privacy. We and our 842 partners store and/or access information "
            "on a device, such as unique IDs in cookies, to process personal data."
        ),
        cookie_buttons=("I Accept", "Show Purposes"),
        newsletter_heading="Installer: the week in tech, delivered",
        newsletter_blurb="Sign up for our newsletter: enter your email to get the best of Voltage every Sunday.",
        newsletter_button="Sign me up",
        share_label="Share this story",
        related_heading="More from Voltage",
        sidebar_heading="Most Popular",
        see_also_label="See also:",
        comments_heading="Comments (58)",
        comment_prompt="Log in or sign up to join the conversation, and be respectful of other readers.",
        comments=(),
        author_bio=(
            "Theo Marchetti is a senior reporter covering chips, cloud and the policy fights "
            "around them. He has been at Voltage since 2019."
        ),
        footer="© 2025 Voltage Media, Inc. All Rights Reserved. Cookie Settings · Terms of Use · Privacy Notice",
    ),
}

DEFAULT_MENU = (
    "Apple delays its smart home hub again as Siri rebuild slips",
    "Meta signs 20-year nuclear power deal for its Ohio data centers",
    "Why the FCC wants to redraw the rules for satellite broadband",
    "Samsung's foldable sales beat forecasts in the third quarter",
)
DEFAULT_RELATED = (
    "Inside the scramble to secure high-bandwidth memory supply",
    "Google faces second antitrust trial over its ad-tech stack",
    "The quiet rise of RISC-V in data-center accelerators",
)
DEFAULT_SIDEBAR = (
    "Microsoft to cut 3 percent of workforce in sweeping reorganisation",
    "Tesla recalls 120,000 vehicles over seat-belt warning software",
    "Inside Amazon's plan to build its own satellite constellation",
    "OpenAI board weighs new governance structure ahead of funding round",
)
DEFAULT_SEE_ALSO = "Taiwan tightens rules on overseas chip-plant investments"


def news_page(
    style: str,
    title: str,
    paragraphs: Sequence[str],
    *,
    menu_headlines: Sequence[str] = DEFAULT_MENU,
    related: Sequence[str] = DEFAULT_RELATED,
    see_also: str = DEFAULT_SEE_ALSO,
    see_also_label: str = "",
    sidebar: Sequence[str] = DEFAULT_SIDEBAR,
    author: str = "Dana Whitfield",
    published: str = "2025-03-04T09:30:00Z",
    slug: str = "",
    subheading: str = "",
    link: tuple[str, str] | None = None,
    emphasis: str = "",
    charset: str = "utf-8",
) -> NewsPage:
    """One article page in `style` (see STYLES) wrapped in that outlet's boilerplate.

    `paragraphs` are plain text. `link` turns the first occurrence of its anchor
    text into a link, `emphasis` sets a phrase in <em>, `subheading` adds an <h2>
    in the body's second half. `see_also` is put between two body paragraphs
    behind `see_also_label`, by default the style's own ("See also:", "Read more:"…).
    """
    chrome = CHROME[style]
    slug = slug or _slugify(title)
    url = f"https://{chrome.host}/{_section_path(style)}/{slug}/"
    body = _Body(
        paragraphs=tuple(_inline(p, link, emphasis) for p in paragraphs),
        see_also=_see_also_html(style, see_also_label or chrome.see_also_label, see_also),
        subheading=subheading,
    )
    page = _RENDERERS[style](
        _Parts(
            chrome=chrome,
            title=title,
            url=url,
            author=author,
            published=published,
            charset=charset,
            menu=tuple(menu_headlines),
            related=tuple(related),
            sidebar=tuple(sidebar),
            body=body,
        )
    )
    boilerplate = (*menu_headlines, *related, *sidebar, see_also, *chrome.phrases())
    return NewsPage(
        html=page,
        url=url,
        title=title,
        paragraphs=tuple(paragraphs),
        boilerplate=tuple(boilerplate),
        charset=charset,
    )


def story_page(style: str, story: Story, **overrides) -> NewsPage:
    """A canned story laid out in `style`; keyword overrides go to news_page."""
    options = {
        "slug": story.slug,
        "subheading": story.subheading,
        "link": story.link,
        "emphasis": story.emphasis,
    } | overrides
    return news_page(style, story.title, story.paragraphs, **options)


# --- internals: one page is parts rendered by its style's template ---------------------------


@dataclass(frozen=True)
class _Body:
    paragraphs: tuple[str, ...]  # HTML, one per <p>
    see_also: str  # HTML of the see-also paragraph
    subheading: str

    def html(self, p_attrs: str = "", interlude: str = "") -> str:
        """First half of the paragraphs, the see-also line, `interlude` (a widget), the
        subheading, the second half."""
        half = max(1, len(self.paragraphs) // 2)
        head = "\n".join(f"<p{p_attrs}>{p}</p>" for p in self.paragraphs[:half])
        tail = "\n".join(f"<p{p_attrs}>{p}</p>" for p in self.paragraphs[half:])
        sub = f"<h2>{_e(self.subheading)}</h2>" if self.subheading else ""
        return f"{head}\n{self.see_also}\n{interlude}\n{sub}\n{tail}"


@dataclass(frozen=True)
class _Parts:
    chrome: Chrome
    title: str
    url: str
    author: str
    published: str
    charset: str
    menu: tuple[str, ...]
    related: tuple[str, ...]
    sidebar: tuple[str, ...]
    body: _Body

    def head(self, extra: str = "") -> str:
        c = self.chrome
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="{self.charset}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(self.title)} | {_e(c.outlet)}</title>
<link rel="canonical" href="{self.url}">
<meta property="og:title" content="{_e(self.title)}">
<meta property="og:site_name" content="{_e(c.outlet)}">
<meta property="og:type" content="article">
<meta name="author" content="{_e(self.author)}">
<meta property="article:published_time" content="{self.published}">
<link rel="stylesheet" href="/assets/main.css">
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"page": "article"}});</script>
{extra}
</head>"""

    def links(self, headlines: Sequence[str], item: str = "<li>{}</li>") -> str:
        return "\n".join(item.format(f'<a href="/{_slugify(h)}/">{_e(h)}</a>') for h in headlines)

    def sections(self) -> str:
        return "\n".join(f'<li><a href="/{_slugify(s)}/">{_e(s)}</a></li>' for s in self.chrome.sections)

    def buttons(self, labels: Sequence[str], cls: str) -> str:
        return "\n".join(f'<button class="{cls}" type="button">{_e(b)}</button>' for b in labels)


def _wire(p: _Parts) -> str:
    c = p.chrome
    return f"""{p.head()}
<body>
<div id="onetrust-consent-sdk"><div id="onetrust-banner-sdk" class="otFlat" role="dialog" aria-label="Cookie banner">
<p id="onetrust-policy-text">{_e(c.cookie_text)} <a href="/privacy/">Privacy Statement</a></p>
{p.buttons(c.cookie_buttons, "ot-button")}
</div></div>
<header class="site-header__header">
<a class="site-header__logo" href="/">{_e(c.outlet)}</a>
<nav class="site-header__nav" aria-label="Main navigation">
<ul class="nav-bar__items">{p.sections()}</ul>
<div class="nav-dropdown" data-testid="TopStories"><span>Top stories</span>
<ul>{p.links(p.menu)}</ul></div>
</nav>
<form class="search-bar" action="/search/"><input type="search" name="q" placeholder="Search"></form>
</header>
<main id="main-content" class="regular-article-layout">
<article class="article__container" data-testid="Article">
<header class="article-header">
<nav class="article-header__breadcrumbs"><a href="/technology/">Technology</a></nav>
<h1 data-testid="Heading">{_e(p.title)}</h1>
<div class="article-header__byline">By <a href="/authors/{_slugify(p.author)}/" rel="author">{_e(p.author)}</a></div>
<time datetime="{p.published}">March 4, 2025 9:30 AM GMT</time>
</header>
<div class="article-body__share" aria-label="{_e(c.share_label)}">{p.buttons(("Facebook", "X", "LinkedIn", "Email", "Link"), "share")}</div>
<div class="article-body__content" data-testid="ArticleBody">
{p.body.html(' data-testid="paragraph"')}
<p class="sign-off">Reporting by {_e(p.author)}; Editing by Mark Potter</p>
</div>
<div class="author-bio"><p>{_e(c.author_bio)}</p></div>
</article>
<section class="related-coverage" data-testid="RelatedCoverage">
<h2>{_e(c.related_heading)}</h2>
<ul>{p.links(p.related)}</ul>
</section>
<div class="newsletter-signup" data-testid="NewsletterSignup">
<h3>{_e(c.newsletter_heading)}</h3>
<p>{_e(c.newsletter_blurb)}</p>
<form action="/newsletters/subscribe"><input type="email" name="email" placeholder="Enter your email address">
<button type="submit">{_e(c.newsletter_button)}</button></form>
</div>
<section class="feedback">
<h3>{_e(c.comments_heading)}</h3>
<p>{_e(c.comment_prompt)}</p>
<form class="feedback-form" action="/feedback/"><label>Your message <textarea name="message"></textarea></label>
<button type="submit">Send feedback</button></form>
</section>
<aside class="most-read" data-testid="MostRead">
<h2>{_e(c.sidebar_heading)}</h2>
<ol>{p.links(p.sidebar)}</ol>
</aside>
</main>
<footer class="site-footer"><ul>{p.sections()}</ul>
<p>{_e(c.footer)}</p></footer>
</body>
</html>"""


def _wordpress(p: _Parts) -> str:
    c = p.chrome
    comments = "\n".join(
        f'<li class="comment"><article class="comment-body"><footer class="comment-meta">'
        f'<b class="fn">Reader {i}</b> <time>March {i + 4}, 2025 at 8:1{i} am</time></footer>'
        f'<div class="comment-content"><p>{_e(text)}</p></div>'
        f'<div class="reply"><a class="comment-reply-link" href="#respond">Reply</a></div></article></li>'
        for i, text in enumerate(c.comments, start=1)
    )
    return f"""{p.head('<link rel="stylesheet" id="wp-block-library-css" href="/wp-includes/css/dist/block-library/style.min.css">')}
<body class="post-template-default single single-post postid-4821 single-format-standard">
<div id="cookie-law-info-bar" data-nosnippet="true"><span>{_e(c.cookie_text)}
{p.buttons(c.cookie_buttons, "cli-plugin-button")}</span></div>
<div id="page" class="site">
<a class="skip-link screen-reader-text" href="#primary">Skip to content</a>
<header id="masthead" class="site-header">
<div class="site-branding"><p class="site-title"><a href="/" rel="home">{_e(c.outlet)}</a></p>
<p class="site-description">Technology law, in plain words</p></div>
<nav id="site-navigation" class="main-navigation">
<ul id="primary-menu" class="menu">{p.sections()}
<li class="menu-item-has-children"><a href="/latest/">Latest</a>
<ul class="sub-menu">{p.links(p.menu, '<li class="menu-item">{}</li>')}</ul></li>
</ul></nav>
</header>
<div id="content" class="site-content">
<div id="primary" class="content-area"><main id="main" class="site-main">
<article id="post-4821" class="post-4821 post type-post status-publish format-standard hentry category-tech-policy">
<header class="entry-header">
<h1 class="entry-title">{_e(p.title)}</h1>
<div class="entry-meta"><span class="posted-on">Posted on <time class="entry-date published" datetime="{p.published}">March 4, 2025</time></span>
<span class="byline"> by <span class="author vcard"><a class="url fn n" href="/author/{_slugify(p.author)}/">{_e(p.author)}</a></span></span></div>
</header>
<div class="entry-content">
{p.body.html()}
<div class="sharedaddy sd-sharing-enabled"><div class="robots-nocontent sd-block sd-social">
<h3 class="sd-title">{_e(c.share_label)}</h3>
<ul><li><a class="share-twitter" href="#">Click to share on X (Opens in new window)</a></li>
<li><a class="share-facebook" href="#">Click to share on Facebook (Opens in new window)</a></li>
<li><a class="share-email" href="#">Click to email a link to a friend (Opens in new window)</a></li></ul>
</div></div>
<div id="jp-relatedposts" class="jp-relatedposts">
<h3 class="jp-relatedposts-headline"><em>{_e(c.related_heading)}</em></h3>
<div class="jp-relatedposts-items">{p.links(p.related, '<div class="jp-relatedposts-post"><h4 class="jp-relatedposts-post-title">{}</h4></div>')}</div>
</div>
</div>
<footer class="entry-footer"><span class="cat-links">Posted in <a href="/tech-policy/" rel="category tag">Tech Policy</a></span></footer>
</article>
<div class="author-info"><h2 class="author-title">About {_e(p.author)}</h2>
<p class="author-bio">{_e(c.author_bio)}</p></div>
<nav class="navigation post-navigation"><div class="nav-previous"><a href="/prev/">Previous post</a></div>
<div class="nav-next"><a href="/next/">Next post</a></div></nav>
<div id="comments" class="comments-area">
<h2 class="comments-title">{len(c.comments)} thoughts on &ldquo;{_e(p.title)}&rdquo;</h2>
<ol class="comment-list">{comments}</ol>
<div id="respond" class="comment-respond">
<h3 id="reply-title" class="comment-reply-title">{_e(c.comments_heading)}</h3>
<form action="/wp-comments-post.php" method="post" id="commentform" class="comment-form">
<p class="comment-notes">{_e(c.comment_prompt)}</p>
<p class="comment-form-comment"><label for="comment">Comment *</label><textarea id="comment" name="comment"></textarea></p>
<p class="comment-form-author"><label for="author">Name *</label><input id="author" name="author" type="text"></p>
<p class="comment-form-email"><label for="email">Email *</label><input id="email" name="email" type="email"></p>
<p class="form-submit"><input name="submit" type="submit" id="submit" class="submit" value="Post Comment"></p>
</form></div></div>
</main></div>
<aside id="secondary" class="widget-area">
<section id="search-2" class="widget widget_search"><form role="search" class="search-form"><input type="search" name="s"></form></section>
<section id="recent-posts-2" class="widget widget_recent_entries"><h2 class="widget-title">{_e(c.sidebar_heading)}</h2>
<ul>{p.links(p.sidebar)}</ul></section>
<section id="mc4wp_form_widget-2" class="widget widget_mc4wp_form_widget"><h2 class="widget-title">{_e(c.newsletter_heading)}</h2>
<form id="mc4wp-form-1" class="mc4wp-form" method="post"><div class="mc4wp-form-fields"><p>{_e(c.newsletter_blurb)}</p>
<p><input type="email" name="EMAIL" placeholder="Your email address" required></p>
<p><input type="submit" value="{_e(c.newsletter_button)}"></p></div></form></section>
</aside>
</div>
<footer id="colophon" class="site-footer"><div class="site-info">{_e(c.footer)}</div></footer>
</div>
</body>
</html>"""


def _newsletter(p: _Parts) -> str:
    c = p.chrome
    widget = f"""<div class="subscription-widget-wrap" data-component-name="SubscribeWidget">
<div class="subscription-widget show-subscribe"><div class="preamble">
<p class="cta-caption">{_e(c.newsletter_heading)} {_e(c.newsletter_blurb)}</p></div>
<form class="subscription-widget-subscribe" action="/api/v1/free" method="post">
<input type="email" class="email-input" name="email" placeholder="Type your email…">
<input type="submit" class="button primary" value="{_e(c.newsletter_button)}"></form></div></div>"""
    comments = "\n".join(
        f'<div class="comment"><div class="comment-meta"><a href="/@reader{i}">reader{i}</a> <span>Mar {i + 4}</span></div>'
        f'<div class="comment-body"><p>{_e(text)}</p></div><div class="comment-actions">'
        f'<button type="button">Like</button><button type="button">Reply</button></div></div>'
        for i, text in enumerate(c.comments, start=1)
    )
    return f"""{p.head()}
<body class="post-template">
<div class="cookie-consent-banner" role="dialog"><p>{_e(c.cookie_text)}</p>
{p.buttons(c.cookie_buttons, "cookie-button")}</div>
<div class="topbar-content"><a class="navbar-title-link" href="/">{_e(c.outlet)}</a>
<div class="navbar-buttons"><a class="button subscribe-btn" href="/subscribe">Subscribe</a><a href="/sign-in">Sign in</a></div></div>
<nav class="gh-navigation"><ul class="nav">{p.sections()}</ul>
<div class="gh-navigation-latest"><span>Latest posts</span><ul>{p.links(p.menu)}</ul></div></nav>
<main class="gh-main">
<article class="gh-article post">
<header class="gh-article-header gh-canvas">
<h1 class="gh-article-title post-title">{_e(p.title)}</h1>
<div class="gh-article-meta"><span class="gh-article-author-name"><a href="/author/{_slugify(p.author)}/">{_e(p.author)}</a></span>
<time class="gh-article-meta-date" datetime="{p.published}">Mar 4, 2025</time><span>7 min read</span></div>
</header>
<section class="gh-content gh-canvas available-content">
{p.body.html(interlude=widget)}
</section>
<div class="post-footer"><div class="post-ufi">
<button class="like-button" type="button">Like 214</button><button class="comment-button" type="button">Comment 31</button>
<button class="share-button" type="button">{_e(c.share_label)}</button><button class="restack-button" type="button">Restack</button></div></div>
<section class="gh-author-card"><p>{_e(c.author_bio)}</p></section>
</article>
<section class="gh-read-next"><h3 class="gh-read-next-title">{_e(c.related_heading)}</h3>
<div class="gh-read-next-feed">{p.links(p.related, '<article class="gh-card"><h3 class="gh-card-title">{}</h3></article>')}</div></section>
<aside class="gh-sidebar"><h3>{_e(c.sidebar_heading)}</h3><ul>{p.links(p.sidebar)}</ul></aside>
<div id="discussion" class="comments-page"><h2>{_e(c.comments_heading)}</h2>
<form class="comment-input"><textarea placeholder="{_e(c.comment_prompt)}"></textarea><button type="submit">Post</button></form>
<div class="comment-list">{comments}</div></div>
</main>
<footer class="footer-wrap"><div class="footer">{_e(c.footer)}</div></footer>
</body>
</html>"""


def _techsite(p: _Parts) -> str:
    c = p.chrome
    per_column = max(1, -(-len(p.menu) // 2))
    columns = [p.menu[i : i + per_column] for i in range(0, len(p.menu), per_column)]
    mega_menu = "\n".join(
        f'<div class="mega-menu__column"><h3 class="mega-menu__heading">{_e(section)}</h3><ul>{p.links(headlines)}</ul></div>'
        for section, headlines in zip(c.sections, columns, strict=False)
    )
    return f"""{p.head()}
<body>
<div id="qc-cmp2-container" class="qc-cmp2-ui" role="dialog" aria-label="Privacy">
<div class="qc-cmp2-summary-info"><p>{_e(c.cookie_text)}</p></div>
<div class="qc-cmp2-summary-buttons">{p.buttons(c.cookie_buttons, "css-47sehv")}</div></div>
<div class="duet--layout--page">
<header class="duet--navigation--header">
<a href="/" class="logo">{_e(c.outlet)}</a>
<nav class="duet--navigation--navigation" aria-label="Site"><ul>{p.sections()}</ul>
<div class="mega-menu" hidden>{mega_menu}</div></nav>
</header>
<main id="content">
<article class="duet--article--article">
<div class="duet--article--lede"><a class="kicker" href="/policy/">Policy</a>
<h1 class="duet--article--dangerously-set-cms-markup">{_e(p.title)}</h1>
<div class="duet--article--byline">by <a href="/authors/{_slugify(p.author)}/">{_e(p.author)}</a>
<time datetime="{p.published}">Mar 4, 2025, 9:30 AM UTC</time></div></div>
<div class="duet--article--share-bar" aria-label="{_e(c.share_label)}">
<a href="#" class="share-link">Share on Facebook</a><a href="#" class="share-link">Share on X</a><a href="#" class="share-link">Copy link</a>
<span class="comment-count">58 Comments</span></div>
<div class="duet--article--article-body-component-container">
{p.body.html(' class="duet--article--dangerously-set-cms-markup"')}
</div>
<div class="duet--article--related-list"><h2>{_e(c.related_heading)}</h2><ul>{p.links(p.related)}</ul></div>
<div class="duet--article--author-card"><p>{_e(c.author_bio)}</p><a href="/authors/">See all stories by this author</a></div>
</article>
<aside class="duet--recirculation--popular"><h2>{_e(c.sidebar_heading)}</h2>
<ol>{p.links(p.sidebar, '<li class="popular-item"><span class="rank"></span>{}</li>')}</ol></aside>
<div class="duet--cta--newsletter"><h2>{_e(c.newsletter_heading)}</h2><p>{_e(c.newsletter_blurb)}</p>
<form><label>Email (required)<input type="email" name="email" required></label><button type="submit">{_e(c.newsletter_button)}</button>
<p>By submitting your email, you agree to our Terms and Privacy Notice.</p></form></div>
<section id="comments" class="duet--comments"><h2>{_e(c.comments_heading)}</h2><p>{_e(c.comment_prompt)}</p>
<form class="comment-form"><textarea aria-label="Add a comment"></textarea><button type="submit">Post</button></form></section>
</main>
<footer class="duet--navigation--footer"><ul>{p.sections()}</ul><p>{_e(c.footer)}</p></footer>
</div>
</body>
</html>"""


_RENDERERS = {"wire": _wire, "wordpress": _wordpress, "newsletter": _newsletter, "techsite": _techsite}


def _see_also_html(style: str, label: str, headline: str) -> str:
    """The in-body cross-link, marked up the way each kind of CMS tends to do it."""
    if not headline:
        return ""
    href = f"/{_slugify(headline)}/"
    anchor = f'<a href="{href}">{_e(headline)}</a>'
    return {
        "wire": f"<p>{_e(label)} {anchor}</p>",
        "wordpress": f"<p><strong>{_e(label)}</strong> {anchor}</p>",
        "newsletter": f"<p><em>{_e(label)}</em> {anchor}</p>",
        "techsite": f'<p class="duet--article--dangerously-set-cms-markup"><strong>{_e(label)} {anchor}</strong></p>',
    }[style]


def _inline(paragraph: str, link: tuple[str, str] | None, emphasis: str) -> str:
    """Escape a plain paragraph and mark up its first link anchor and emphasised phrase."""
    out = _e(paragraph)
    if link and _e(link[0]) in out:
        anchor, href = _e(link[0]), link[1]
        out = out.replace(anchor, f'<a href="{_e(href)}">{anchor}</a>', 1)
    if emphasis and _e(emphasis) in out:
        out = out.replace(_e(emphasis), f"<em>{_e(emphasis)}</em>", 1)
    return out


def _section_path(style: str) -> str:
    return {"wire": "technology", "wordpress": "2025/03/04", "newsletter": "p", "techsite": "policy"}[style]


def _slugify(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())[:80]


def _e(text: str) -> str:
    return html.escape(text, quote=True)


# --- canned stories -------------------------------------------------------------------------

AI_ACT_PROBE = Story(
    slug="eu-opens-first-ai-act-probe",
    title="EU opens first AI Act probe into a general-purpose model provider",
    summary="Brussels asks a US lab for training-data documentation under the new transparency rules.",
    subheading="A test case for the AI Office",
    link=("published guidance", "https://digital-strategy.ec.example/ai-act/guidance"),
    emphasis="sufficiently detailed summary",
    paragraphs=(
        "The European Commission has opened its first formal inquiry under the AI Act's rules for "
        "general-purpose models, asking a US developer to hand over documentation about how its "
        "latest system was trained. Officials said the request concerns the law's transparency "
        "obligations, which since August require providers to publish a sufficiently detailed summary "
        "of the content used for training and to keep technical files available for regulators.",
        "The inquiry is not yet an enforcement action, and no fine has been proposed. Under the "
        "regulation the Commission can levy penalties of up to three percent of global turnover on "
        "model providers, but only after a formal finding of non-compliance. People familiar with the "
        "matter said the request runs to more than forty questions, covering data provenance, "
        "copyright opt-outs and the energy consumed during the final training run.",
        "Lawyers who advise technology companies in Brussels said the choice of target was less "
        "important than the signal. For two years providers have argued about how much detail the "
        "training summary must contain, and the Commission's published guidance left room for "
        "interpretation. A first case will show whether officials expect a list of datasets, a "
        "description of categories, or something in between.",
        "The company said in a statement that it had cooperated with the AI Office since the code of "
        "practice was drafted and would answer the questions in full. It added that some of the "
        "information requested was commercially sensitive and asked for confidentiality protections. "
        "Civil society groups, which had pushed for stricter disclosure, welcomed the move but warned "
        "that a slow process would let providers ship several new models before any ruling arrives.",
        "Smaller developers are watching closely. Several open-source labs told a parliamentary "
        "hearing last month that compliance costs fall hardest on teams without in-house legal staff. "
        "One founder said his company now spends more on documentation than on compute for "
        "fine-tuning, and that the monthly newsletter from the AI Office had become required reading "
        "for his engineers, a sentence he said he never expected to say.",
        "Member states are building their own enforcement teams for the parts of the law that apply "
        "to high-risk systems, which take effect later. National regulators have complained about "
        "hiring: salaries for machine learning specialists in the private sector are often double what "
        "public agencies can offer. The Commission has proposed a shared pool of experts that "
        "national authorities could call on for complex technical assessments.",
        "The next milestone comes in the spring, when the Commission is due to report on whether the "
        "code of practice is working. If officials conclude that voluntary commitments are not "
        "enough, they can adopt binding standards instead. Industry groups have asked for more time, "
        "arguing that the rules were written before the latest generation of models existed and "
        "that guidance keeps changing.",
    ),
)

PACKAGING_RACE = Story(
    slug="chipmakers-race-advanced-packaging",
    title="Chipmakers race to qualify advanced packaging lines before subsidy deadlines",
    summary="Grant milestones tied to packaging capacity are forcing firms to compress qualification schedules.",
    subheading="Yield is the bottleneck",
    link=("milestone schedule", "https://chips.commerce.example/awards/milestones"),
    emphasis="not the lithography",
    paragraphs=(
        "Semiconductor manufacturers in Arizona and Texas are compressing qualification schedules "
        "for new advanced packaging lines as the first milestones attached to federal grants come "
        "due. Packaging, the step that stacks and connects chips after they leave the fab, has become "
        "the tightest link in the supply chain for artificial intelligence accelerators, and the "
        "grants pay out only when lines reach agreed volumes.",
        "Executives said the constraint is not the lithography but the bonding equipment and the "
        "engineers who know how to run it. Hybrid bonding tools are built by a handful of suppliers "
        "with order books stretching well into next year. Several firms have begun poaching "
        "technicians from each other, offering retention bonuses that one recruiter described as the "
        "highest she had seen in two decades.",
        "The Commerce Department's milestone schedule ties each tranche of money to capacity, yield "
        "and local hiring targets. Officials have said they will not move the dates, though they "
        "have allowed companies to substitute one milestone for another when equipment deliveries "
        "slip. Analysts expect at least two recipients to ask for such substitutions before the end "
        "of the year.",
        "Customers are pushing too. Cloud providers that design their own accelerators want domestic "
        "packaging to reduce the risk of shipping wafers across the Pacific and back. One said it had "
        "signed a capacity reservation that commits it to paying for output whether or not the line "
        "reaches its yield targets, a sign of how scarce the capacity has become.",
        "Yields on the new lines remain the central question. Engineers said early runs of "
        "chip-on-wafer stacking often lose a significant share of units to warpage and bonding "
        "voids, and that fixing those problems takes months of tuning. A line that hits its volume "
        "target but not its yield target could still fall short of the grant conditions.",
        "Industry groups have asked Congress to extend the investment tax credit to packaging "
        "equipment purchased after the current deadline. Lawmakers from both parties have signalled "
        "support, but the measure is tied up in broader negotiations over the budget. Without it, "
        "several companies said, they would slow the second phase of their expansion plans.",
    ),
)

CABLE_REPAIRS = Story(
    slug="undersea-cable-repairs-lag",
    title="Undersea cable repairs lag as operators lean on satellite backhaul",
    summary="A shortage of repair ships leaves damaged links out of service for months.",
    subheading="Ships, not cables, are scarce",
    link=("industry tracker", "https://cables.example/tracker"),
    emphasis="four months",
    paragraphs=(
        "Repairs to three damaged undersea cables in the Red Sea and the Baltic are taking far longer "
        "than operators planned, forcing telecom carriers to reroute traffic and, in some regions, to "
        "lease satellite capacity as backhaul. The delays stem less from the damage itself than from "
        "a shortage of specialised repair ships, most of which are booked months in advance.",
        "According to an industry tracker, the average time to restore a cable after a fault has "
        "risen to nearly four months in contested waters, compared with a few weeks a decade ago. "
        "Repair crews need permits from coastal states and, increasingly, naval escorts. Insurers "
        "have raised premiums for vessels operating near conflict zones, adding to costs.",
        "Carriers said the rerouting has so far been invisible to most consumers because the "
        "networks were built with redundancy. Latency for traffic between Europe and parts of Asia "
        "has risen by tens of milliseconds, which matters to financial firms and online gaming but "
        "not to video streaming. Enterprise customers with strict service agreements have been "
        "offered credits.",
        "Satellite operators have benefited. Several have signed short-term contracts to carry "
        "backhaul traffic for island nations whose only cable was cut. Engineers cautioned that "
        "satellite links cannot replace the capacity of a modern fibre pair, which carries many "
        "terabits per second, but they can keep essential services running while repairs wait.",
        "Governments are responding with funding for new repair vessels. The European Union has "
        "proposed co-financing two ships to be based in the Mediterranean and the North Sea, and "
        "several Asian governments are discussing a shared fleet. Shipyards said a new cable ship "
        "takes about three years to build, so the shortage will persist for some time.",
        "Operators are also laying more diverse routes. New cables planned for the next five years "
        "avoid the busiest chokepoints where possible, even at higher cost. Planners said the goal "
        "is not to prevent every fault, which is impossible, but to make sure no single incident "
        "can cut a country off.",
    ),
)

DATA_CENTER_WATER = Story(
    slug="councils-weigh-data-center-water-limits",
    title="City councils weigh limits on data-center water use during droughts",
    summary="Three councils consider caps that would force operators to switch to dry cooling in summer.",
    subheading="Operators say dry cooling costs power",
    link=("draft ordinance", "https://council.example/ordinances/2025-14"),
    emphasis="drought emergency",
    paragraphs=(
        "Councils in three fast-growing cities are considering rules that would cap the water used "
        "by data centers during declared droughts, a response to residents who say new facilities "
        "are competing with homes and farms for a scarce supply. The proposals would require "
        "operators to switch to air-based cooling once a drought emergency is declared.",
        "The draft ordinance in the largest of the three cities would apply to facilities drawing "
        "more than a set volume each day from the municipal system. Operators would have to report "
        "their consumption monthly and publish it on a public dashboard. The local utility said in "
        "its quarterly newsletter to customers that data centers now account for about six percent "
        "of summer demand.",
        "Operators argue that dry cooling is not free. Systems that reject heat to the air use more "
        "electricity, particularly on hot days, which raises emissions where the grid still relies "
        "on gas. One company said its newest campus already recycles water several times before "
        "discharging it and that further cuts would require redesigning buildings under construction.",
        "Residents who spoke at a public hearing last week were unconvinced. Several described "
        "watering restrictions on their gardens while construction crews filled cooling towers "
        "nearby. A farmer said his well had dropped by several metres in two years and asked the "
        "council to study groundwater effects before approving any more projects.",
        "Council members said they expect to vote before the summer. Economic development officials "
        "warned that strict limits could push investment to neighbouring counties, taking tax "
        "revenue with it. Supporters of the rules said the cities should not compete by offering "
        "the cheapest water, and that clear requirements would help operators plan.",
    ),
)

STORIES = (AI_ACT_PROBE, PACKAGING_RACE, CABLE_REPAIRS, DATA_CENTER_WATER)


# --- the DeepSeek scenarios the alert tests use ----------------------------------------------
# A rule `DeepSeek AND "export controls"` must fire on the first two and stay silent on the
# third; the fourth matches only through stemming ("export control" -> "export controls").


@dataclass(frozen=True)
class Scenario:
    """One article as its feed announces it (title, summary) and as its page shows it."""

    name: str
    title: str
    summary: str
    page: NewsPage

    @property
    def url(self) -> str:
        return self.page.url


def _scenario(name: str, style: str, story: Story, **page_options) -> Scenario:
    return Scenario(name=name, title=story.title, summary=story.summary, page=story_page(style, story, **page_options))


_DEEPSEEK_MODEL = Story(
    slug="deepseek-model-chip-strategy",
    title="DeepSeek's latest model puts Washington's chip strategy under scrutiny",
    summary="The Chinese lab's new reasoning model rivals US systems at a fraction of the cost.",
    link=("technical report", "https://deepseek.example/papers/r2"),
    paragraphs=(
        "DeepSeek, the Hangzhou-based artificial intelligence lab, released a reasoning model this "
        "week that matches leading American systems on several public benchmarks while, by the "
        "company's account, costing a fraction as much to train. The technical report describes a "
        "mixture-of-experts design that activates only a small share of its parameters for each "
        "token, cutting the compute needed for both training and inference.",
        "Researchers who have tested the model said its performance on mathematics and coding tasks "
        "was close to what the company claimed, though it lagged on long documents. The weights were "
        "published under a permissive licence, and developers had posted thousands of fine-tuned "
        "variants on public hubs within two days of the release.",
        "The release landed in Washington as officials debate how to respond to capable Chinese "
        "models. Several lawmakers said the result showed that American restrictions were leaking, "
        "while others argued that efficient training was exactly what scarcity would be expected "
        "to produce. The White House declined to comment on the specific model.",
        "At the centre of the argument are the export controls the Commerce Department first imposed "
        "in 2022 and has tightened twice since, which bar the sale of the most advanced accelerators "
        "to Chinese buyers. Officials have said the rules were never meant to stop Chinese research "
        "outright, only to slow the build-out of large training clusters.",
        "Analysts pointed out that the lab is believed to have bought a stockpile of accelerators "
        "before the later restrictions took effect, and that the chips still permitted for sale "
        "remain useful for inference. Investors sold shares of several American chip designers on "
        "the news before most of the losses were recovered by the end of the week.",
        "The company has said little about its plans. In a short post accompanying the release it "
        "thanked the open-source community and said it would publish more about its training "
        "infrastructure in the coming months, a promise that researchers on both sides of the "
        "Pacific said they would hold it to.",
    ),
)

DEEPSEEK_BODY_MATCH = _scenario(
    "body_match",
    "wire",
    _DEEPSEEK_MODEL,
)

_PODCAST = Story(
    slug="podcast-week-in-ai-hardware",
    title="Podcast: The week in AI hardware",
    summary=(
        "This week: how DeepSeek trained its newest model on a budget, and what tighter export "
        "controls mean for accelerator sales to China."
    ),
    paragraphs=(
        "In this episode our hosts run through the week's biggest stories in computing hardware, "
        "from new accelerator launches to the race to power ever larger data centers.",
        "Listen on your favourite podcast app, or subscribe to get every episode the moment it "
        "comes out.",
    ),
)

DEEPSEEK_SUMMARY_MATCH = _scenario(
    "summary_match",
    "techsite",
    _PODCAST,
    sidebar=(
        "DeepSeek's app tops download charts in thirty countries",
        *DEFAULT_SIDEBAR[:2],
    ),
)

_DEEPSEEK_APP = Story(
    slug="deepseek-app-downloads",
    title="DeepSeek's chatbot app climbs app store charts as developers test its open weights",
    summary="The assistant became the most downloaded free app in several countries within a week.",
    link=("download figures", "https://appfigures.example/reports/deepseek"),
    paragraphs=(
        "DeepSeek's chatbot app climbed to the top of the free download charts in more than a dozen "
        "countries this week, days after the company released the open weights behind it. The "
        "assistant answers questions, writes code and shows a step-by-step trace of its reasoning, "
        "a feature that users on social media singled out as the reason they tried it.",
        "According to download figures from a market research firm, the app was installed several "
        "million times in its first five days, with the strongest growth in India, Brazil and "
        "Indonesia. Usage in the United States and Europe was lower but rising, and the company "
        "briefly limited new registrations after what it described as a large-scale attack on its "
        "servers.",
        "Developers have been quicker still. Because the weights are public, engineers can run "
        "smaller versions of the model on their own hardware, and hosting companies raced to offer "
        "it through their platforms. Several said the price per token was lower than that of "
        "comparable American models, which made it attractive for start-ups watching their cloud "
        "bills.",
        "Privacy regulators in two European countries have asked the company how it stores user "
        "data, noting that its policy says information is kept on servers in China. The company has "
        "not said whether it will open data centers abroad. Some corporate security teams have "
        "already told employees not to install the app on work phones.",
        "For now the company appears content to let the downloads speak for themselves. It has no "
        "advertising campaign and a small team, and its founder rarely gives interviews. Rivals have "
        "responded by cutting the prices of their own assistants and promising faster releases of "
        "their next models.",
    ),
)

DEEPSEEK_SIDEBAR_ONLY = _scenario(
    "sidebar_only",
    "wordpress",
    _DEEPSEEK_APP,
    menu_headlines=(
        "Commerce tightens export controls on AI accelerators again",
        *DEFAULT_MENU[:3],
    ),
    related=(
        "Lawmakers call for broader export controls after chatbot surge",
        *DEFAULT_RELATED[:2],
    ),
    sidebar=(
        "Export controls, explained: what changes for Chinese AI labs",
        *DEFAULT_SIDEBAR[:3],
    ),
    see_also="How export controls reshaped the market for training chips",
)

_DEEPSEEK_STOCKPILE = Story(
    slug="deepseek-accelerator-stockpile",
    title="How DeepSeek built its accelerator stockpile before the rules changed",
    summary="Filings suggest the lab's parent bought thousands of chips ahead of new limits.",
    paragraphs=(
        "DeepSeek's ability to train competitive models rests partly on hardware its parent company "
        "bought years ago, according to procurement records and people familiar with its purchases. "
        "The quantitative hedge fund behind the lab acquired thousands of data-center accelerators "
        "for trading research well before the company turned to language models.",
        "Those purchases were legal at the time. The first American export control package aimed at "
        "advanced chips took effect in October 2022, and the lab's largest orders appear to predate "
        "it. Later rules closed gaps that had allowed sales of slightly modified chips designed to "
        "fall under the performance thresholds.",
        "Former employees said the company treated its compute as a scarce resource long before "
        "scarcity became national policy. Researchers had to justify large training runs in "
        "writing, and engineers spent months squeezing more throughput out of older cards rather "
        "than waiting for new ones. That discipline, they said, shaped the efficient designs the "
        "lab later became known for.",
        "Officials in Washington have discussed whether any export control regime can prevent a "
        "determined buyer from assembling a large cluster over time. Some favour tracking chips "
        "after sale; others argue that restrictions on cloud access matter more than restrictions "
        "on hardware, since renting compute abroad requires no shipment at all.",
        "The company did not respond to questions about its current hardware. In public talks its "
        "researchers have said only that they work with what they have, and that constraints "
        "encourage invention, a line that has been quoted back to them in congressional hearings.",
    ),
)

DEEPSEEK_STEMMED = _scenario("stemmed", "newsletter", _DEEPSEEK_STOCKPILE)

DEEPSEEK_SCENARIOS = (DEEPSEEK_BODY_MATCH, DEEPSEEK_SUMMARY_MATCH, DEEPSEEK_SIDEBAR_ONLY, DEEPSEEK_STEMMED)
