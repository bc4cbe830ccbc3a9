"""Boilerplate that trafilatura leaves in an article: remove it before and after extraction.

Never fetches and never keys on a site: every signal is generic (what a box's
class or role calls it, a block's words, its share of link text, where it
sits). It removes what alert rules must not match: consent dialogs, promos,
subscription and newsletter pleas, "related" lists, captions and credits, bios.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from lxml import etree
from trafilatura.xml import delete_element

# --- before extraction: boxes named as furniture -------------------------------------------

# Words that name a box by what it is, in class/id (tokens trafilatura's own list lacks).
_FURNITURE_WORDS = (
    "promo", "rollover", "tooltip", "popover", "hovercard", "caption", "credit", "subscribe", "subscription",
    "signup", "sign-up", "paywall", "regwall", "recirc", "recommend", "recommendation", "trending", "read-more",
    "readmore", "more-stories", "also-read", "sponsor", "bio",
    "consent", "gdpr", "onetrust", "didomi", "usercentrics",  # consent platforms name their boxes so
)
_FURNITURE = re.compile(
    r"(?:^|[\s_-])(?:" + "|".join(re.escape(w) for w in _FURNITURE_WORDS) + r")(?:s|ed|ions?)?(?:$|[\s_-])"
)  # matched against the lowercased class and id
_DIALOG_ROLES = ("dialog", "alertdialog")
_NEVER_PRUNED = frozenset({"html", "body", "main", "article"})
_PROSE_PARAGRAPHS = etree.XPath("count(.//p[string-length(normalize-space(.)) > 120])")
MAX_PROSE_PARAGRAPHS = 2  # a box holding more than this may be the article itself (paywalled bodies are)


def prune_furniture(tree: etree._Element) -> None:
    """Remove promos, pop-overs, captions, subscription and recommendation boxes before extraction.

    An element goes when its class or id names it as such (as a whole word) or it
    is a dialog, unless it holds paragraphs of prose: sites wrap paywalled
    article bodies in a "paywall" box.
    """
    doomed = []
    for element in tree.iter(etree.Element):
        attributes = element.attrib
        if not attributes and element.tag != "figcaption":
            continue
        if element.tag == "figcaption" or attributes.get("role") in _DIALOG_ROLES or _FURNITURE.search(
            f"{attributes.get('class', '')} {attributes.get('id', '')}".lower()
        ):
            doomed.append(element)
    for element in doomed:
        if element.tag not in _NEVER_PRUNED and _PROSE_PARAGRAPHS(element) <= MAX_PROSE_PARAGRAPHS:
            element.drop_tree()  # a descendant of one already dropped goes with it, harmlessly


# --- after extraction: blocks of the body that are the site talking -------------------------


def clean_body(body: etree._Element, title: str) -> None:
    """Remove from trafilatura's body tree the blocks that are not the article's own text."""
    drop_cross_links(body)
    drop_site_blocks(body, title)


_BLOCK_TAGS = frozenset({"p", "head", "list", "quote", "table"})

# A sentence that speaks to the reader about the site, not about the story: (a word it must
# contain, lowercase; the pattern). The word is a cheap first test: most blocks contain none.
_PROMO_RULES = tuple(
    (hint, re.compile(pattern, re.IGNORECASE))
    for hint, pattern in (
        # follow us, contact the author
        ("follow", r"\bfollow\b[^.!?]{0,40}\b(?:on|at|@)\s*"
                   r"(?:twitter|facebook|instagram|linkedin|youtube|tiktok|threads|bluesky|x\b)"),
        ("follow", r"\bfollow\b[^.!?]{0,60}\bcoverage\b"),
        ("like us", r"\blike us on facebook\b"),
        ("reached at", r"\b(?:may|can) be reached at\b"),
        ("tip", r"\bhave a (?:news )?tip\b|\bsend (?:us )?(?:your )?(?:news )?tips?\b"),
        ("mail", r"\be-?mail (?:him|her|them|us|the (?:author|writer|reporter|editor))\b"),
        ("contact", r"\bcontact (?:him|her|them|us|the (?:author|writer|reporter|editor))\b"),
        ("@", r"(?<![\w.+-])[\w.+-]+@[\w-]+\.\w+"),  # an e-mail address
        # newsletters, subscriptions, paywalls
        ("inbox", r"\bin(?:to)? your inbox\b"),
        ("sign", r"\bsign(?:ing)? up (?:here|now|today|for (?:our|free))\b"),
        ("subscri", r"\bsubscrib(?:e|ing) (?:to (?:our|us)|now|today|here)\b|\bsubscribers? only\b"),
        ("already a", r"\balready a (?:subscriber|member)\b"),
        ("continue reading", r"\bto continue reading\b"),
        ("unlimited", r"\bunlimited (?:digital )?access\b"),
        ("as little as", r"\bfor as little as\b"),
        ("issues for", r"\b\d+ issues for\b"),
        ("delivered", r"\bdelivered (?:to|through) your (?:door|letterbox|mailbox|home)\b"),
        ("free trial", r"\bfree trial\b"),
        ("if you", r"\bif you (?:enjoyed|liked|value) this\b"),
        ("journalism", r"\bsupport (?:our|independent|quality) journalism\b"),
        ("paywall", r"\bno paywalls?\b"),
        ("become a", r"\bbecome a (?:member|subscriber|patron)\b"),
        ("here", r"\b(?:click|tap) here\b"),
        # consent banners, copyright and credit lines, citations of the page itself
        ("cookies", r"\b(?:we|this (?:web)?site) uses? cookies\b|\baccept (?:all )?cookies\b"),
        ("by ", r"\bby (?:continuing to (?:use|browse)|using) (?:this|our|the) (?:site|website)\b"),
        ("©", r"©"),
        ("copyright", r"\bcopyright\b"),
        ("rights reserved", r"\ball rights reserved\b"),
        ("photo", r"\bphotos?(?: by| credits?| courtesy|:)"),
        ("image", r"\bimages?(?: by| credits?| courtesy|:)"),
        ("picture", r"\bpictures? (?:by|credits?|courtesy)\b"),
        ("illustration", r"\billustrations? (?:by|credits?|courtesy)\b"),
        ("video", r"\bvideos? (?:by|credits?|courtesy)\b"),
        ("getty", r"\bgetty images\b|\bafp via getty\b"),
        ("shutterstock", r"\bshutterstock\b"),
        ("ap photo", r"\bap photo\b"),
        ("retrieved", r"\bretrieved\b.{0,60}\bfrom https?://"),  # "cite this page"
        # the desk's own lines: bylines and credits, filing tags, sources, time stamps
        ("by", r"^(?:additional )?(?:reporting|editing|edited|writing|written|compiled) by\b"),
        ("filed under", r"^filed under\b"),
        (":", r"^(?:tags?|topics?|categories|source)\s*:.{0,60}$"),
        ("updated", r"^(?:last )?updated\b.{0,60}$"),
        ("published", r"^published\b.{0,60}$"),
        ("posted", r"^posted\b.{0,60}$"),
        # ad slots' labels and "continue" prompts left as lines of text
        ("advert", r"^\W*(?:story continues below )?advert(?:isement|ising)?\W*$"),
        ("continue", r"^\W*(?:story continues below|continue reading (?:below|the main story))\W*$"),
        # bios, comment prompts, CMS shortcodes printed as text
        ("is ", r"(?:^|(?<=[.!?] ))(?-i:[A-Z][\w'’.-]+(?: [A-Z][\w'’.-]+){1,3})"  # "Jane Doe"
                r" is (?:a|an|the|\w+['’]s)\b[^.!?]{0,60}"
                r"\b(?:writer|reporter|editor|correspondent|columnist|contributor|journalist|curator|producer|critic)\b"),
        ("tell us", r"\btell us what you think\b"),
        ("leave a", r"\bleave a (?:reply|comment)\b"),
        ("comment", r"^\W*\d* ?comments?\W*$"),
        ("[/", r"\[(\w+)\b[^\]]*\][^\[]*\[/\1\]"),  # [button link=…]…[/button]
    )
)
# "Newsletter" is a plea only with a call to act, or as the heading of a box: stories mention newsletters too.
_NEWSLETTER = re.compile(r"\bnewsletters?\b", re.IGNORECASE)
_CALL_TO_ACT = re.compile(r"\b(?:sign(?:ing)?\ up|subscrib\w*|join|get|receive|delivered|register)\b", re.IGNORECASE)
_SENTENCE_ENDINGS = frozenset(".!?…\"”’)")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
MAX_PROMO_CHARS = 600  # a plea to subscribe is short; a paragraph longer than this is prose
MIN_PROMO_SHARE = 0.5  # of a block's characters in such sentences
MIN_BANNER_LINKED = 0.9  # of a block's text inside links, for one plea to make the whole block a promo

# Labels a site puts over other stories: alone on a line over a list of them ("Related"), or
# before one headline on the same line ("See also: …").
_STORY_LABELS = r"""(?:
    related(?:\ \w+){0,2} | see\ (?:more|also) | read\ (?:more|also|next|this) | also\ read | must[-\ ]read
    | (?:more|further|keep)\ reading | what\ to\ read\ next
    | more(?:\ (?:stories|news|coverage|headlines|videos?|to\ read|from\ [^:|–—]{1,40}|on\ [^:|–—]{1,40}))?
    | also
    | don[’']?t\ miss | in\ case\ you\ missed\ it | recommended(?:\ \w+){0,2} | suggested(?:\ \w+){0,2}
    | you\ (?:may|might)\ also\ (?:like|enjoy|be\ interested\ in) | most\ (?:read|popular|viewed|shared)
    | trending(?:\ now)? | top\ stories | editor[’']?s?\ picks? | latest(?:\ news|\ stories)? | popular(?:\ stories)?
    | sponsored(?:\ \w+)? | promoted(?:\ stories)? | (?:around|from)\ the\ web | partner\ content
    | watch | listen | photos? | videos?
)"""
_LIST_LABEL = re.compile(rf"^\W*{_STORY_LABELS}\W*$", re.IGNORECASE | re.VERBOSE)
_CROSS_LINK_LABEL = re.compile(rf"^\W*{_STORY_LABELS}\s*[:|–—»>-]", re.IGNORECASE | re.VERBOSE)
MAX_HEADLINE_CHARS = 150
MAX_TITLE_POSITION = 3  # the headline is repeated among the first blocks, if at all
MIN_TITLE_OVERLAP = 0.6  # share of words a block and the title have in common to be the same headline
MAX_BOX_HEADING_CHARS = 60  # a promo this short heads a box ...
MAX_BOX_BLURB_CHARS = 200  # ... whose next block, if this short, is its blurb
MAX_TAIL_NOTES = 3  # italic sign-off notes looked for at the end of the body
MIN_ITALIC_SHARE = 0.8  # of a sign-off note's text set in italics
_WORD = re.compile(r"[^\W_]")
MIN_HEADLINE_LINKED = 0.6  # share of a headline-list entry that is link text


@dataclass(frozen=True, eq=False)  # compared by identity
class _Block:
    element: etree._Element
    text: str
    linked: int  # characters of link text

    @classmethod
    def of(cls, element: etree._Element) -> _Block:
        return cls(element, " ".join("".join(element.itertext()).split()), _linked_chars(element))

    @property
    def is_list(self) -> bool:
        return self.element.tag == "list"

    @property
    def link_share(self) -> float:
        return self.linked / len(self.text) if self.text else 0.0

    def box_heading(self) -> bool:
        """A heading (or a short line naming a newsletter) that is not a sentence: the title of a box."""
        return (
            0 < len(self.text) <= MAX_BOX_HEADING_CHARS
            and self.text[-1] not in _SENTENCE_ENDINGS
            and (self.element.tag == "head" or bool(_NEWSLETTER.search(self.text)))
        )

    def headline_like(self) -> bool:
        """Short and either mostly a link or not a sentence: an entry of a list of stories."""
        return 0 < len(self.text) <= MAX_HEADLINE_CHARS and (
            self.link_share >= MIN_HEADLINE_LINKED or self.text[-1] not in _SENTENCE_ENDINGS
        )


def drop_site_blocks(body: etree._Element, title: str) -> None:
    """Remove the blocks of an extracted body that are the site talking, not the article.

    Those are: the headline again above the body; blocks made mostly of pleas to
    the reader (subscribe, follow, sign up, contact, accept cookies) or of desk
    lines (credits, tags, stamps), with the blurb under such a box's heading;
    lists of linked headlines; a label ("Related", "Don't miss") with the
    headlines under it; italic sign-off notes at the end.
    """
    blocks = [_Block.of(e) for e in body if e.tag in _BLOCK_TAGS]
    doomed: list[_Block] = []
    position = 0
    while position < len(blocks):
        block = blocks[position]
        position += 1
        if not _WORD.search(block.text) or (position <= MAX_TITLE_POSITION and _restates(block.text, title)):
            doomed.append(block)  # a rule of underscores; the headline again (or a variant), above the article
        elif _is_promo(block) or (block.is_list and _is_story_list(block.element)):
            doomed.append(block)
            if block.box_heading() and position < len(blocks):
                if len(blocks[position].text) <= MAX_BOX_BLURB_CHARS:  # "Our newsletter" + its blurb
                    doomed.append(blocks[position])
                    position += 1
        elif _LIST_LABEL.match(block.text):
            doomed.append(block)  # "Related", "Don't miss": it and the headlines under it
            while position < len(blocks) and (blocks[position].headline_like() or blocks[position].is_list):
                doomed.append(blocks[position])
                position += 1
    gone = set(map(id, doomed))
    kept = [b for b in blocks if id(b) not in gone]
    for block in reversed(kept[-MAX_TAIL_NOTES:]):
        if not _is_signoff(block):
            break
        doomed.append(block)
    for block in doomed:
        delete_element(block.element)


def _is_signoff(block: _Block) -> bool:
    """An italic note at the end that asks something of the reader ("Follow us…", "Subscribe…")."""
    if len(block.text) > MAX_PROMO_CHARS * 2 or not any(map(_is_promo_sentence, _SENTENCE_END.split(block.text))):
        return False
    italic = sum(len(t) for t in block.element.xpath(".//hi[@rend='#i']//text()"))
    return italic >= MIN_ITALIC_SHARE * len(block.text)


def _restates(text: str, title: str) -> bool:
    """A short line, not a sentence, sharing most of its words with the title: the headline reworded.

    A lede that retells the headline is a sentence, and stays.
    """
    if not title or not text or len(text) > MAX_HEADLINE_CHARS or text[-1] in _SENTENCE_ENDINGS:
        return False
    words, title_words = Counter(_words(text)), Counter(_words(title))
    shared = sum((words & title_words).values())
    return shared >= MIN_TITLE_OVERLAP * max(sum(words.values()), sum(title_words.values()), 1)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _is_promo(block: _Block) -> bool:
    """Mostly pleas to the reader, or one big link that holds one (a banner for an offer)."""
    text = block.text
    if not text or len(text) > MAX_PROMO_CHARS or not _is_promo_sentence(text):
        return False  # (most blocks: one scan of the whole block rules them out)
    if block.link_share >= MIN_BANNER_LINKED:
        return True
    promo = sum(len(s) for s in _SENTENCE_END.split(text) if _is_promo_sentence(s))
    return promo >= MIN_PROMO_SHARE * len(text)


def _is_promo_sentence(sentence: str) -> bool:
    lowered = sentence.lower()
    if any(hint in lowered and pattern.search(sentence) for hint, pattern in _PROMO_RULES):
        return True
    return bool(_NEWSLETTER.search(sentence)) and (
        len(sentence) <= MAX_BOX_HEADING_CHARS or bool(_CALL_TO_ACT.search(sentence))
    )


def _is_story_list(element: etree._Element) -> bool:
    """A list of two or more entries, each a short link: other stories, not a list the article makes."""
    items = [_Block.of(item) for item in element.iter("item")]
    return len(items) >= 2 and all(
        0 < len(i.text) <= MAX_HEADLINE_CHARS and i.link_share >= MIN_HEADLINE_LINKED for i in items
    )


# --- cross-links inside the body ----------------------------------------------------------

MAX_CROSS_LINK_CHARS = 300  # a cross-link is a headline, not a paragraph
MIN_LINKED_SHARE = 0.5  # of the text after the label that is link text


def drop_cross_links(body: etree._Element) -> None:
    """Remove paragraphs like "See also: <link>headline</link>" from an extracted body.

    A paragraph goes only if it is short, starts with such a label and the rest is
    mostly a link or a bare headline (short, no full stop): a sentence that
    merely starts with "Related:" stays.
    """
    for paragraph in list(body.iter("p")):
        if _is_cross_link(paragraph):
            delete_element(paragraph)


def _is_cross_link(paragraph: etree._Element) -> bool:
    text = "".join(paragraph.itertext()).strip()
    if len(text) > MAX_CROSS_LINK_CHARS:
        return False
    label = _CROSS_LINK_LABEL.match(text)
    if label is None:
        return False
    rest = text[label.end() :].strip()
    if not rest:
        return False
    headline = len(rest) <= MAX_HEADLINE_CHARS and rest[-1] not in _SENTENCE_ENDINGS
    return headline or _linked_chars(paragraph) >= MIN_LINKED_SHARE * len(rest)


def _linked_chars(element: etree._Element) -> int:
    """Characters of link text (trafilatura's `ref` elements) in `element`."""
    return sum(len("".join(ref.itertext()).strip()) for ref in element.iter("ref"))
