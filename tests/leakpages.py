"""Article pages carrying the boilerplate that real sites leave inside the article body.

Each `LeakPage` is one news article laid out as a CMS renders it (header, menu,
article container, footer), with one kind of leak put where real sites put it:
inside the article container, in markup trafilatura alone keeps (a dialog
without "cookie" in its class, a promo paragraph, an italic sign-off, a
bold "Related:" line, a newsletter box with a heading, a credit line).
`article` are paragraphs that must survive extraction, `leaks` strings that
must not, `decoys` article sentences that look like a leak and must stay.
"""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class LeakPage:
    kind: str  # consent, paywall, related, newsletter, caption, bio
    title: str
    article: tuple[str, ...]
    leaks: tuple[str, ...]
    decoys: tuple[str, ...]
    html: str

    @property
    def path(self) -> str:
        return f"/news/2025/03/{self.kind}-story.html"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def article_page(kind: str, title: str, body: str, *, before_body: str = "", after_article: str = "") -> str:
    """A news site's article page around `body` (HTML of the article's text)."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)} | The Harbour Ledger</title>
<meta property="og:title" content="{_e(title)}"><meta name="viewport" content="width=device-width">
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"section": "{kind}"}});</script></head>
<body class="article-page">
<header class="site-header"><a class="logo" href="/">The Harbour Ledger</a>
<nav class="primary-nav"><ul><li><a href="/news/">News</a></li><li><a href="/business/">Business</a></li>
<li><a href="/opinion/">Opinion</a></li><li><a href="/sport/">Sport</a></li></ul></nav></header>
{before_body}
<main id="main">
<article class="story">
<h1 class="headline">{_e(title)}</h1>
<div class="byline">By <a href="/staff/m-okafor">Mara Okafor</a> · <time datetime="2025-03-04T09:30:00Z">March 4, 2025</time></div>
<div class="story-body">
{body}
</div>
{after_article}
</article>
</main>
<footer class="site-footer"><p>© 2025 The Harbour Ledger. All rights reserved.</p>
<ul><li><a href="/privacy">Privacy</a></li><li><a href="/terms">Terms</a></li></ul></footer>
</body></html>"""


def _paragraphs(paragraphs: tuple[str, ...]) -> list[str]:
    return [f"<p>{_e(p)}</p>" for p in paragraphs]


# --- consent wall: a dialog whose class does not say "cookie", and the banner's line in the body

_CONSENT_ARTICLE = (
    "The port authority approved a plan on Tuesday to replace the ageing container cranes at the north "
    "terminal, ending a dispute with the dockworkers' union that had stalled the project for two years.",
    "Under the agreement, the eight cranes will be replaced in stages through 2028, so that at least six "
    "berths stay open while the work goes on, the authority's chair, Ingrid Salo, told reporters.",
    "The union had argued that automated cranes would cut hundreds of jobs. The final plan keeps operators "
    "in the cabs and adds a retraining fund paid for by a levy on each container moved.",
    "Shipping lines welcomed the decision. Delays at the north terminal added an average of nine hours to "
    "each call last year, according to figures the authority published in January.",
)
_CONSENT_DIALOG = (
    "We value your privacy. We and our 842 partners store and access information on your device, such as "
    "unique identifiers, to show you personalised ads and content and to measure their performance."
)
_CONSENT_LINE = "This site uses cookies. By continuing to browse the site you are agreeing to our use of cookies."

CONSENT = LeakPage(
    kind="consent",
    title="Port authority approves crane replacement after union deal",
    article=_CONSENT_ARTICLE,
    leaks=(_CONSENT_DIALOG, _CONSENT_LINE),
    decoys=(),
    html=article_page(
        "consent",
        "Port authority approves crane replacement after union deal",
        "\n".join(
            [
                *_paragraphs(_CONSENT_ARTICLE[:2]),
                f'<div class="gdpr-wall" role="dialog" aria-label="Privacy choices"><p>{_e(_CONSENT_DIALOG)}</p>'
                '<p><a href="#accept">I agree</a> <a href="#options">More options</a></p></div>',
                *_paragraphs(_CONSENT_ARTICLE[2:]),
                f"<p><small>{_e(_CONSENT_LINE)}</small></p>",
            ]
        ),
    ),
)

# --- paywall teaser: a subscription box at the end, and a plea in italics; the body itself sits in a
# "paywall" box (sites wrap the subscriber text in one) and must stay

_PAYWALL_ARTICLE = (
    "Harbour City's council voted 9-2 on Monday to cap short-term rentals in the old town at 300 homes, "
    "a limit that would take effect in June and cut the number of listed flats by more than half.",
    "Councillor Tomas Reyes, who drafted the measure, said residents had been priced out of streets their "
    "families had lived on for generations, and that the cap would return homes to the rental market.",
    "Hosts who already hold a licence will keep it until it expires, but no new licences will be issued "
    "until the number of active listings falls below the cap, city officials said.",
    "A group of property owners said it would challenge the vote in court, arguing that the council had "
    "not studied the effect on the tourism jobs that the old town depends on.",
)
_PAYWALL_TEASER = "You have read 3 of your 5 free articles this month."
_PAYWALL_OFFER = "Subscribe now for as little as $1 a week and get unlimited digital access."
_PAYWALL_PLEA = "If you value this reporting, support independent journalism: become a member today."
_PAYWALL_BANNER = (  # one bare link after the text, holding one plea and a longer pitch
    "Get Ledger Pro for as little as $2 a month. Pro gives you market data, company filings, analysis and "
    "trading ideas from our analysts on every device, every day, with the morning brief before the markets "
    "open and the closing report after they shut. For more information, see the Pro page or our mobile app."
)
_PAYWALL_DECOY = (
    "Officials said hosts who subscribe to the city's registry before April will be told by email when "
    "the first licences lapse."
)

PAYWALL = LeakPage(
    kind="paywall",
    title="Council caps short-term rentals in the old town",
    article=(*_PAYWALL_ARTICLE, _PAYWALL_DECOY),
    leaks=(_PAYWALL_TEASER, _PAYWALL_OFFER, _PAYWALL_PLEA, _PAYWALL_BANNER),
    decoys=(_PAYWALL_DECOY,),
    html=article_page(
        "paywall",
        "Council caps short-term rentals in the old town",
        "\n".join(
            [
                '<div class="paywall" data-access="subscriber">',
                *_paragraphs((*_PAYWALL_ARTICLE[:3], _PAYWALL_DECOY, _PAYWALL_ARTICLE[3])),
                f'<br><br><a href="/pro?src=article" rel="nofollow">{_e(_PAYWALL_BANNER)}</a>',
                "</div>",
                f'<div class="article-paywall-offer"><p>{_e(_PAYWALL_TEASER)}</p>'
                f'<p><a href="/subscribe?src=article">{_e(_PAYWALL_OFFER)}</a> Already a subscriber? '
                '<a href="/login">Log in</a>.</p></div>',
                f"<p><em>{_e(_PAYWALL_PLEA)}</em></p>",
            ]
        ),
    ),
)

# --- "related stories" inside the body: a bold "Related:" line, a "SEE MORE:" line, a labelled list of links

_RELATED_ARTICLE = (
    "A magnitude 5.1 earthquake shook the coast south of Harbour City early on Sunday, rattling windows "
    "and knocking goods off shelves but causing no serious injuries, emergency services said.",
    "The quake struck at 4:12 a.m. about 30 kilometres offshore at a depth of 12 kilometres, the national "
    "seismology institute said, and was followed by a dozen smaller aftershocks.",
    "Rail operators halted trains on the coastal line for three hours while engineers inspected bridges "
    "and tunnels; services resumed before the morning rush with minor delays.",
    "Seismologists said the fault that moved is one of several monitored since a stronger quake in 1987, "
    "and that Sunday's event did not change their estimate of the region's risk.",
)
_RELATED_LINE = "Five ways to prepare your home for an earthquake"
_SEE_MORE_LINE = "Coastal towns test new tsunami sirens"
_RELATED_LIST = (
    "Why the 1987 quake still shapes building codes",
    "Insurers raise premiums for older coastal homes",
    "Inside the lab that listens to the sea floor",
)

RELATED = LeakPage(
    kind="related",
    title="Moderate earthquake rattles coast, no serious injuries",
    article=_RELATED_ARTICLE,
    leaks=(_RELATED_LINE, _SEE_MORE_LINE, *_RELATED_LIST),
    decoys=(),
    html=article_page(
        "related",
        "Moderate earthquake rattles coast, no serious injuries",
        "\n".join(
            [
                *_paragraphs(_RELATED_ARTICLE[:2]),
                f"<p><strong>Related: </strong><strong>{_e(_RELATED_LINE)}</strong></p>",
                *_paragraphs(_RELATED_ARTICLE[2:3]),
                f'<p><strong>SEE MORE:</strong> {_e(_SEE_MORE_LINE)}</p>',
                *_paragraphs(_RELATED_ARTICLE[3:]),
                "<h3>More on this story</h3>",
                "<ul>" + "".join(f'<li><a href="/news/{i}">{_e(h)}</a></li>' for i, h in enumerate(_RELATED_LIST)) + "</ul>",
            ]
        ),
    ),
)

# --- newsletter box in the body: a heading and its blurb in a box whose class does not say "newsletter"

_NEWSLETTER_ARTICLE = (
    "The regional hospital will open a second emergency department in the eastern suburbs next spring, "
    "the health board said on Thursday, after waiting times reached a record in the winter.",
    "The new unit will have 24 treatment bays and a children's area, and will be staffed by 140 nurses "
    "and doctors, about a third of them recruited from abroad, the board's director said.",
    "Patients waited a median of five hours and forty minutes in January, against a national target of "
    "four hours, according to figures published by the health ministry last week.",
    "The board said its own weekly bulletin to staff had warned since October that the main hospital "
    "could not absorb the growth in the eastern suburbs, where the population has doubled in ten years.",
)
_NEWSLETTER_HEADING = "The Morning Brief"
_NEWSLETTER_BLURB = "Get the day's top headlines delivered to your inbox every morning by signing up for our newsletter."

NEWSLETTER = LeakPage(
    kind="newsletter",
    title="Hospital to open second emergency department in the east",
    article=_NEWSLETTER_ARTICLE,
    leaks=(_NEWSLETTER_BLURB,),
    decoys=(_NEWSLETTER_ARTICLE[3],),
    html=article_page(
        "newsletter",
        "Hospital to open second emergency department in the east",
        "\n".join(
            [
                *_paragraphs(_NEWSLETTER_ARTICLE[:2]),
                f'<div class="inline-module"><h3>{_e(_NEWSLETTER_HEADING)} newsletter</h3>'
                f"<p>{_e(_NEWSLETTER_BLURB)}</p>"
                '<form action="/signup"><input type="email" name="email"><button>Sign up</button></form></div>',
                *_paragraphs(_NEWSLETTER_ARTICLE[2:]),
            ]
        ),
    ),
)

# --- captions and credits: a photo's credit box and a credit line set in italics in the body

_CAPTION_ARTICLE = (
    "Fishermen in the northern bays say the spring herring run arrived three weeks early this year, the "
    "latest sign of warming water that researchers have tracked along the coast since 2010.",
    "Boats landed more than 2,000 tonnes in the first week of March, a volume that usually comes in April, "
    "the fishermen's cooperative said, and prices at the morning auction fell by a quarter.",
    "Marine biologists at the university said the sea surface in the bays averaged 1.4 degrees above its "
    "long-term mean in February, and that herring follow the temperature more than the calendar.",
)
_CAPTION_TEXT = "Crates of herring on the quay at dawn"
_CAPTION_CREDIT = "Photo by Lena Varga for The Harbour Ledger"
_CAPTION_LINE = "Image courtesy of the Northern Bays Fishermen's Cooperative"

CAPTION = LeakPage(
    kind="caption",
    title="Herring run arrives weeks early in northern bays",
    article=_CAPTION_ARTICLE,
    leaks=(_CAPTION_TEXT, _CAPTION_CREDIT, _CAPTION_LINE),
    decoys=(),
    html=article_page(
        "caption",
        "Herring run arrives weeks early in northern bays",
        "\n".join(
            [
                *_paragraphs(_CAPTION_ARTICLE[:1]),
                '<div class="media"><img src="/img/herring.jpg" alt="">'
                f'<div class="media-credit"><span>{_e(_CAPTION_TEXT)}</span> <span>{_e(_CAPTION_CREDIT)}</span></div></div>',
                *_paragraphs(_CAPTION_ARTICLE[1:2]),
                f"<p><em>{_e(_CAPTION_LINE)}</em></p>",
                *_paragraphs(_CAPTION_ARTICLE[2:]),
            ]
        ),
    ),
)

# --- author bio: the reporter's italic sign-off at the end of the body

_BIO_ARTICLE = (
    "The national rail company will run night trains between Harbour City and the capital from September, "
    "reviving a service that was cut in 2009 when budget airlines took most of its passengers.",
    "Trains will leave each city at 10 p.m. and arrive at 7 a.m., with sleeping cars, couchettes and "
    "seats, and fares starting at 49 euros, the company's chief executive said on Wednesday.",
    "The company said bookings on a trial run last summer sold out within hours, and that travellers "
    "now weigh the carbon cost of flying against a night spent on board.",
)
_BIO_NOTE = (
    "Mara Okafor is a reporter covering transport for The Harbour Ledger. Have a tip? She may be reached at "
    "m.okafor@ledger.example. Follow her on Twitter @maraokafor."
)

BIO = LeakPage(
    kind="bio",
    title="Night trains to return to the capital route in September",
    article=_BIO_ARTICLE,
    leaks=(_BIO_NOTE, "m.okafor@ledger.example"),
    decoys=(),
    html=article_page(
        "bio",
        "Night trains to return to the capital route in September",
        "\n".join([*_paragraphs(_BIO_ARTICLE), f"<p><em>{_e(_BIO_NOTE)}</em></p>"]),
    ),
)

LEAK_PAGES = (CONSENT, PAYWALL, RELATED, NEWSLETTER, CAPTION, BIO)
