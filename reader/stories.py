"""Stories: joining each new article to the story it covers, or starting one. Pure: never does I/O or sends.

A story is the articles of many outlets about one event. Each article is
judged, in arrival order, against the stories that were active within
`window` of its date and share at least `min_shared` of its keys (an inverted
index kept for those stories only, so the cost does not grow with the archive):

- its words (its title, weighted above the first `MAX_TEXT_CHARS` of its text)
  are weighted by rarity, IDF over the running corpus of articles seen so far
  (`Corpus`), names (capitalised words, acronyms, CamelCase; in a title in Title
  Case, where every word is capitalised, only acronyms and CamelCase) counting
  `name_weight` times; its vector keeps the `vector_terms` heaviest, its keys
  (what stories are looked up by) are the `key_terms` heaviest informative
  ones, so an article costs the same however long its text (`weigh`);
- a story is the running sum of its articles' vectors (its centroid, capped
  to its `profile_terms` heaviest terms; what the caps leave out still counts
  in its length); the article joins the story whose centroid is most similar
  (cosine), if that similarity reaches the threshold (higher the more text the
  article has), they share at least one informative name, and the terms but
  the strongest carry `second_evidence` of it: one word alone (a country, a
  company) never ties two events;
- a story only the article's own outlet has run is not joined: an outlet's
  follow-ups (and its templates) are not a story, other outlets' rewrites are;
- the same canonical link is the same story, whatever the words say.

Articles arrive in whatever order feeds do, so a story may start from a later
rewrite, or twice. After each batch, `Grouper.settle` compares each story the
batch started or grew with the open stories its new articles' keys find, and
merges two when the evidence holds both ways: each story's articles, on
average, would have joined the other (the same threshold, shared name and
second evidence as a join). The younger story merges into the older, never
the reverse, and stories never split, so what was said of a story stays true.

Same input in the same order, same stories: ties break on the story id. Every
decision says why (`Decision`, `Merge`: the similarity and the shared terms).
The caller loads the `Corpus` counts of a batch's terms, has `Grouper.count`
it (which gives each article's keys), `open`s the stored stories sharing those
keys, runs `Grouper.group` on it, `open`s the stories sharing the `probes` of
the stories it changed, runs `Grouper.settle`, and saves what changed.
"""

from __future__ import annotations

import hashlib
import heapq
import marshal
import math
import re
from collections import Counter, _count_elements, defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from operator import mul
from datetime import datetime, timedelta

# -- features -----------------------------------------------------------------------------

# A word, after the first sentence's end between it and the word before if there is one (then it opens a sentence).
# A hyphen parts words: "Chiquita-Fyffes" names both companies, as other headlines do one at a time.
_END_AND_WORD = re.compile(r"[^\w.!?:\n]*(?:([.!?:\n])\W*)?(\w+(?:['’.&]\w+)*)")
_ACRONYM_DOTS = re.compile(r"^(?:\w\.)+\w?$")
# Function words and the words headlines use about every story; rarity does the rest.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours out over own same she should so some such than that the
    their theirs them then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours s t don isn wasn won re ve ll d m
    says said say new news update updated report reports video photos photo watch live via how
    today yesterday tomorrow week weekend day year month monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december jan feb mar apr jun
    jul aug sep sept oct nov dec
    """.split()
)
_CALENDAR_NUMBER = re.compile(r"^(?:\d{1,2}|(?:19|20)\d\d)(?:st|nd|rd|th)?$")  # days and years tie nothing
MAX_TEXT_CHARS = 1500  # the lead of the full text carries the event; the rest adds noise and cost


@dataclass(frozen=True)
class StoryInput:
    """What the grouper sees of one article."""

    article_id: int
    title: str
    text: str  # summary or full text, whatever the article has ('' for headlines only)
    date: datetime
    outlet: str  # the feed's title or host: a story's reach is counted in outlets
    link: str = ""  # canonical URL: the same link is the same story


@dataclass(frozen=True)
class Features:
    """An article's terms: stemmed words with their weight in the article, and which of them are names."""

    terms: Mapping[str, float]
    names: frozenset[str]
    text_words: int = 0  # words of text beside the title


def _stem(lower: str) -> str:
    """The term of a lowercased word: possessive and apostrophes dropped, letters stemmed."""
    word = lower.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    word = word.replace("'", "").replace(".", "")
    return word if not word.isalpha() else _porter()(word)


@lru_cache(maxsize=1)
def _porter():
    """The Porter stemmer the index uses, loaded on first use (commands that never group never load Whoosh);
    its cache is the index's: a parse worker stems a feed's words once for both."""
    from .index.stemming import porter_stem

    return porter_stem


def _names(word: str) -> tuple[bool, bool]:
    """Whether a word not all lowercase is a name inside a sentence, and opening one: a capitalised word not
    opening a sentence, an acronym (US, H20, U.S.), or CamelCase (iPhone, DeepSeek)."""
    caps = sum(map(str.isupper, word))
    if caps >= 2 or word[0].isupper() and _ACRONYM_DOTS.match(word):
        return True, True
    if word[0].isupper():
        return True, False
    return caps >= 1, caps >= 1  # iPhone, eBay


def _token(word: str) -> tuple[str, bool | None, bool | None] | None:
    """(term, a name inside a sentence, a name opening one) of a word as written; None if it ties nothing. A number
    (a word opening with a digit) is a name if it has capitals (3M), and else neither name nor lowercase (None)."""
    lower = word.lower()
    term = _stem(lower)
    if len(term) < 2 or term in STOPWORDS or lower in STOPWORDS:
        return None
    if term[0].isdecimal() and _CALENDAR_NUMBER.match(term):  # (\d is what isdecimal says)
        return None
    if not word[0].isalpha():
        name = any(map(str.isupper, word)) or None
        return term, name, name
    if word.islower():
        return term, False, False
    return term, *_names(word)


_TOKENS: dict[str, tuple[str, bool | None, bool | None] | None] = {}  # `_token` of each word seen, for the process
_TOKENS_LIMIT = 200_000  # words kept at most (a long-lived daemon meets unbounded vocabulary)


def _new_token(word: str) -> tuple[str, bool | None, bool | None] | None:
    """`_token`, kept in `_TOKENS`."""
    global _TOKENS
    if len(_TOKENS) >= _TOKENS_LIMIT:
        _TOKENS = {}  # replaced, not cleared: a thread reading it meanwhile is unaffected
    token = _TOKENS[word] = _token(word)
    return token


def _terms(text: str) -> tuple[dict[str, int], set[str], set[str], int]:
    """How often each term occurs in `text` (stop words dropped), which are names by their letters (acronyms,
    CamelCase), which by a capital inside a sentence, and how many of its words are lowercase (numbers aside)."""
    counts: dict[str, int] = {}
    names: set[str] = set()
    capitalised: set[str] = set()
    lower = 0
    known = _TOKENS.get
    for end, word in _END_AND_WORD.findall(text):
        token = known(word, 0)
        if token == 0:
            token = _new_token(word)
        if token is not None:
            term, inside, opening = token  # a name opening a sentence is a name inside one
            counts[term] = counts.get(term, 0) + 1
            if inside:
                if opening:
                    names.add(term)
                elif not end:
                    capitalised.add(term)
            elif inside is False:  # (a number is None)
                lower += 1
    return counts, names, capitalised, lower


# 1 + ln(n), the weight of a text word found n times, for every n a lead can hold (a word and a gap: 2 characters).
_TEXT_WEIGHTS = [0.0] + [1.0 + math.log(n) for n in range(1, MAX_TEXT_CHARS // 2 + 2)]


def features(title: str, text: str, *, title_weight: float = 3.0) -> Features:
    """The weighted terms of an article: each title word counts `title_weight`, each text word once
    (sublinear in repeats), so a headline alone and a headline with its page land near each other."""
    lead = text[:MAX_TEXT_CHARS]
    heading, names, capitalised, lower = _terms("\n" + title)  # the first word opens a sentence
    if lower or len(capitalised) < 3:  # (in Title Case capitals are style, not names; its text may name them)
        names |= capitalised
    body, body_names, capitalised, _lower = _terms("\n" + lead)
    body_names |= capitalised
    titled = {term: n * title_weight for term, n in heading.items()}
    counts = {**titled, **dict(zip(body, map(_TEXT_WEIGHTS.__getitem__, body.values())))}
    for term in titled.keys() & body.keys():  # in both: the title's weight, then the text's, as one sum
        counts[term] = titled[term] + 1.0 + math.log(body[term])
    return Features(counts, frozenset(names | body_names), len(lead.split()))


# -- rarity -------------------------------------------------------------------------------


@dataclass
class Corpus:
    """Document frequencies over every article grouped so far (kept incrementally, loaded per batch)."""

    documents: int = 0
    df: Counter[str] = field(default_factory=Counter)
    _idf: dict[str, float] = field(default_factory=dict, repr=False, compare=False)  # until the next `add`

    def __post_init__(self) -> None:
        if not isinstance(self.df, Counter):  # (a Counter counts a batch's terms in C: `add`)
            self.df = Counter(self.df)

    def idf(self, term: str) -> float:
        value = self._idf.get(term)
        if value is None:
            value = self._idf[term] = math.log((self.documents + 1) / (self.df.get(term, 0) + 1)) + 1.0
        return value

    def add(self, terms: Iterable[str]) -> None:
        self.add_all([terms])

    def add_all(self, documents: Sequence[Iterable[str]]) -> None:
        """Count each of `documents` (its distinct terms), in one pass."""
        self.documents += len(documents)
        self._idf.clear()
        self.df.update(chain.from_iterable(documents))  # (an iterator: each term counted once, never as a mapping)

    def rarities(self, terms: Iterable[str]) -> Mapping[str, float]:
        """The `idf` of each of `terms` (and of others asked since the last `add`), for lookups in bulk."""
        known, df, documents, log = self._idf, self.df, self.documents + 1, math.log
        for term in set(terms).difference(known):
            known[term] = log(documents / (df.get(term, 0) + 1)) + 1.0
        return known


# -- stories ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tuning:
    """The grouper's constants, chosen by cross-validation across stories (`python -m benchmarks stories`)."""

    window: timedelta = timedelta(days=3)  # a story quiet this long is over
    threshold: float = 0.13  # cosine similarity to a story's centroid needed to join it, for a headline alone
    text_threshold: float = 0.35  # the same for an article with `text_words` words of text or more (in between:
    text_words: int = 40  # by length), since longer texts share more words by chance
    min_shared: int = 2  # informative terms in common, at least
    min_idf: float = 1.5  # a term rarer than this is informative (and a candidate key)
    young_corpus: int = 50  # below this many articles every term is informative
    second_evidence: float = 0.7  # the shared terms but the strongest must reach this share of the threshold
    name_weight: float = 2.0
    title_weight: float = 3.0
    profile_terms: int = 120  # a story's centroid keeps its heaviest terms
    # Bounds, so an article costs the same however long its text and however many stories are open:
    # an article is its `vector_terms` heaviest terms (a headline has fewer; a page's tail adds only
    # noise); stories are looked up through its `key_terms` heaviest informative terms; a key found in
    # `max_key_stories` open stories names none of them (it still counts in the similarity); and only
    # the `max_candidates` stories sharing the most keys with the article are scored.
    vector_terms: int = 40
    key_terms: int = 12
    max_key_stories: int = 50
    max_candidates: int = 16


@dataclass
class StoryProfile:
    """A story as the grouper keeps it: its time span, size, outlets, centroid and keys."""

    id: int
    first_seen: datetime
    last_seen: datetime
    size: int = 0
    outlets: set[str] = field(default_factory=set)
    centroid: dict[str, float] = field(default_factory=dict)  # term -> summed weight of its articles' vectors
    names: set[str] = field(default_factory=set)
    links: set[str] = field(default_factory=set)
    dropped: float = 0.0  # the squared weight of the terms its articles' vectors and its centroid left out
    keys: set[str] = field(default_factory=set)  # what it is looked up by: its articles' keys (loaded: those asked)
    text: float = 0.0  # how much of it is full text: per article, its words of text over `Tuning.text_words` (≤ 1)

    def active_at(self, when: datetime, window: timedelta) -> bool:
        return self.first_seen - window <= when <= self.last_seen + window


@dataclass(frozen=True)
class Decision:
    """Where an article went, and why."""

    article_id: int
    story_id: int
    new: bool  # it started the story
    similarity: float  # to the story's centroid when it joined (0 when it started one)
    shared: tuple[str, ...]  # the terms that tied it in, heaviest first
    shared_names: tuple[str, ...]
    same_link: bool = False  # it joined because another outlet's article has its link

    def explained(self) -> dict:
        """The decision as stored beside the article (`reader stories show`)."""
        if self.new:
            return {"started": True}
        if self.same_link:
            return {"same_link": True}
        return {"similarity": self.similarity, "shared": list(self.shared), "names": list(self.shared_names)}

    @property
    def reason(self) -> str:
        return describe(self.explained())


@dataclass(frozen=True)
class Merge:
    """Two stories found to be one: `gone`'s articles join `kept` (the older), and why."""

    kept: int
    gone: int
    similarity: float  # the lower of the two ways: each story's articles, on average, to the other's centroid
    shared: tuple[str, ...]
    shared_names: tuple[str, ...]

    def explained(self) -> dict:
        """The merge as stored beside the story that went (`reader stories show`)."""
        return {"similarity": self.similarity, "shared": list(self.shared), "names": list(self.shared_names)}


def describe(reason: Mapping) -> str:
    """A stored decision in words: why an article is in its story (and, if it came by a merge, with which)."""
    came = f"; came with story {reason['merged_from']}" if reason.get("merged_from") else ""
    if reason.get("started"):
        return "started the story" + came
    if reason.get("same_link"):
        return "same link as an article of the story" + came
    if "similarity" not in reason:
        return "grouped before reasons were kept" + came
    names = f"; names: {', '.join(reason.get('names', []))}" if reason.get("names") else ""
    return f"similarity {reason['similarity']:.2f}; shared: {', '.join(reason.get('shared', []))}{names}{came}"


@dataclass(slots=True)
class Weighed:
    """An article as the grouper compares it (`weigh`)."""

    features: Features
    vector: dict[str, float]  # its heaviest terms, weighted by rarity, as parts of a whole vector of length 1
    keys: tuple[str, ...]  # its heaviest informative terms: what stories are looked up by
    dropped: float  # the squared weight of the terms the vector left out
    informative: frozenset[str]  # the vector's informative terms (rare enough to tie stories)


def weigh(f: Features, corpus: Corpus, tuning: Tuning, idf: Mapping[str, float] | None = None) -> Weighed:
    """An article's vector: its `vector_terms` heaviest terms, weighted by rarity (names counting more)
    and divided by the length of the whole vector, so a dropped tail lowers similarities, never raises them.
    `idf`: the corpus's `rarities` of (at least) the article's terms, made once for a batch."""
    names, name_weight = f.names, tuning.name_weight
    idf = corpus.rarities(f.terms) if idf is None else idf
    weights = [(w * idf[term] * (name_weight if term in names else 1.0), term) for term, w in f.terms.items()]
    squares = sum([w * w for w, _ in weights]) or 1.0
    weights.sort(reverse=True)
    if len(weights) > tuning.vector_terms:
        del weights[tuning.vector_terms :]
        dropped = max(0.0, 1.0 - sum([w * w for w, _ in weights]) / squares)
    else:
        dropped = 0.0
    if corpus.documents < tuning.young_corpus:  # too few articles to tell rare from common
        keys = [term for _w, term in weights]
    else:
        least = tuning.min_idf
        keys = [term for _w, term in weights if idf[term] >= least]
    norm = math.sqrt(squares)
    vector = {term: w / norm for w, term in weights}
    return Weighed(f, vector, tuple(keys[: tuning.key_terms]), dropped, frozenset(keys))


def feature_key(title: str, text: str, title_weight: float = Tuning.title_weight) -> bytes:
    """A digest of what an article's `features` are made of: its title, the lead of its text, the title's weight
    (the key the parse workers' features are kept by until the article is grouped)."""
    lead = text[:MAX_TEXT_CHARS]
    made_of = f"{title_weight!r} {len(title)} {title}{lead}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(made_of, digest_size=16).digest()


def packed(f: Features) -> bytes:
    """Features as kept between the worker that made them and the grouper: a tenth of their size as objects,
    in `marshal`'s format (the worker runs this interpreter): a fifth faster to read than a pickle of them."""
    return marshal.dumps((dict(f.terms), frozenset(f.names), int(f.text_words)))  # (its exact types)


def features_of(articles: Iterable[StoryInput], tuning: Tuning,
                known: dict[bytes, bytes] | None = None) -> dict[int, Features]:  # fmt: skip
    """Each article's features, by id: their terms are what to load corpus counts and candidate stories for.
    `known`: features made already (by the worker that parsed the feed), `packed`, by `feature_key`, taken
    out as they are used; the rest are made here."""
    found = {}
    for a in articles:
        f = known.pop(feature_key(a.title, a.text, tuning.title_weight), None) if known else None
        found[a.article_id] = (Features(*marshal.loads(f)) if f is not None  # made by our own worker
                               else features(a.title, a.text, title_weight=tuning.title_weight))  # fmt: skip
    return found


def most_shared(posted: Sequence[Iterable[int]], least: int, most: int) -> list[int]:
    """The stories found under at least `least` of an article's keys (`posted`: each key's stories), at most
    `most` of them, those under the most keys first (then the lower id), in id order."""
    hits: dict[int, int] = {}
    _count_elements(hits, chain.from_iterable(posted))  # (counted in C, without a Counter's own Python)
    if least > 1 and len(hits) == sum(map(len, posted)):  # (most articles: no story is under two of their keys)
        return []
    shared = [(-n, sid) for sid, n in hits.items() if n >= least]
    if len(shared) > most:
        shared = heapq.nsmallest(most, shared)
    return sorted(sid for _n, sid in shared)


class Grouper:
    """Assigns articles to stories, one at a time, over the given corpus counts and active stories."""

    def __init__(self, corpus: Corpus, stories: Iterable[StoryProfile] = (), *, next_id: int = 1,
                 tuning: Tuning = Tuning()):  # fmt: skip
        self.corpus = corpus
        self.tuning = tuning
        self.stories: dict[int, StoryProfile] = {}
        self.postings: defaultdict[str, set[int]] = defaultdict(set)
        self.by_link: dict[str, int] = {}
        self.next_id = next_id
        self.changed: set[int] = set()  # stories created or grown since the grouper was made
        self.squares: dict[int, float] = {}  # each story's centroid's squared length
        self.weighed: dict[int, Weighed] = {}  # articles counted, not grouped yet
        self.crowded: set[str] = set()
        self.unsettled: dict[int, set[str]] = {}  # stories grown since the last `settle`: their new articles' keys
        self.merges: list[Merge] = []  # since the grouper was made, in order
        self.gone: dict[int, StoryProfile] = {}  # the stories merged into others, as they were then
        self.merged_into: dict[int, int] = {}
        self.open(stories)

    def open(self, stories: Iterable[StoryProfile], crowded: Iterable[str] = ()) -> None:
        """Take these (stored) stories into account: articles may join them. `crowded`: terms too many
        stored stories share to look any of them up by (those stories need not be loaded for them). A story
        already open keeps what it is here; only its keys asked this time are added. Their centroids are
        never changed in place (the loader may hold them too): a story's is copied when it first grows."""
        self.crowded.update(crowded)
        for story in stories:
            if story.id in self.stories or story.id in self.gone:
                self._post(self.stories.get(story.id) or self.stories[self.resolve(story.id)], story.keys)
                continue
            self.stories[story.id] = story
            self._post(story, story.keys)
            self.by_link.update(dict.fromkeys(story.links, story.id))
            weights = story.centroid.values()
            self.squares[story.id] = sum(map(mul, weights, weights))
            self.next_id = max(self.next_id, story.id + 1)

    def _post(self, story: StoryProfile, terms: Iterable[str]) -> None:
        postings, story_id = self.postings, story.id
        for term in terms:
            postings[term].add(story_id)

    def count(self, articles: Sequence[StoryInput], found: Mapping[int, Features] | None = None) -> list[tuple[str, ...]]:
        """Count a batch in the corpus and weigh its articles: the keys each will look stories up by (what
        the stored stories to `open` before `group` share). The whole batch counts first, so the first
        articles of a young corpus are weighed against their batch, not against nothing."""
        found = found or features_of(articles, self.tuning)
        batch = [found[a.article_id] for a in articles]
        terms = [f.terms for f in batch]
        self.corpus.add_all(terms)
        idf = self.corpus.rarities(chain.from_iterable(terms))  # (each term's once: the hot loop of a batch)
        for a, f in zip(articles, batch):
            self.weighed[a.article_id] = weigh(f, self.corpus, self.tuning, idf)
        return [self.weighed[a.article_id].keys for a in articles]

    def group(self, articles: Sequence[StoryInput], found: Mapping[int, Features] | None = None) -> list[Decision]:
        """Give each of `articles` (a batch, in order) its story; the batch is counted first unless it was."""
        if not all(a.article_id in self.weighed for a in articles):
            self.count(articles, found)
        return [self._assign(a, self.weighed.pop(a.article_id)) for a in articles]

    def _assign(self, article: StoryInput, w: Weighed) -> Decision:
        """Join `article` to its story or start one, and grow the story."""
        t = self.tuning
        linked = self.by_link.get(article.link) if article.link else None
        if linked is not None and not self.stories[linked].active_at(article.date, t.window):
            linked = None
        decision = (
            Decision(article.article_id, linked, False, 0.0, (), (), same_link=True)
            if linked is not None
            else self._best(article, w)
        )
        if decision.new:
            story = self.stories[decision.story_id] = StoryProfile(decision.story_id, article.date, article.date)
            self.next_id = max(self.next_id, decision.story_id + 1)
        else:
            story = self.stories[decision.story_id]
        self._grow(story, article, w)
        return decision

    def _candidates(self, keys: Sequence[str]) -> list[int]:
        """The stories sharing at least `min_shared` of the article's keys, the most shared first (at most
        `max_candidates`), in id order."""
        t, postings, crowded = self.tuning, self.postings, self.crowded
        posted = [p for term in keys
                  if (p := postings.get(term)) and len(p) <= t.max_key_stories and term not in crowded]  # fmt: skip
        return most_shared(posted, t.min_shared, t.max_candidates) if len(posted) >= t.min_shared else []

    def _best(self, article: StoryInput, w: Weighed) -> Decision:
        t, f, vector, informative = self.tuning, w.features, w.vector, w.informative
        named = informative & f.names  # the article's informative names
        threshold = self._threshold(min(1.0, f.text_words / t.text_words))
        floor = t.second_evidence * threshold
        when, window, outlet = article.date, t.window, article.outlet
        best: tuple[float, int] | None = None
        for sid in self._candidates(w.keys):
            story = self.stories[sid]
            if not story.first_seen - window <= when <= story.last_seen + window or (
                len(story.outlets) == 1 and outlet in story.outlets
            ):
                continue  # an outlet's own follow-ups and templates are not other outlets' rewrites
            centroid = story.centroid
            shared = list(filter(centroid.__contains__, vector))  # (in C, in the vector's order)
            if named.isdisjoint(shared) and story.names.isdisjoint(informative.intersection(shared)):
                continue  # no informative name in common
            parts = list(map(mul, map(vector.__getitem__, shared), map(centroid.__getitem__, shared)))
            norm = math.sqrt(self.squares[sid] + story.dropped) or 1.0
            score = sum(parts) / norm
            if score - max(parts) / norm < floor:  # one word alone never ties a story
                continue
            if score >= threshold and (best is None or score > best[0]):
                best = (score, sid)
        if best is None:
            return Decision(article.article_id, self.next_id, True, 0.0, (), ())
        score, sid = best
        centroid = self.stories[sid].centroid
        ranked = sorted([(-x * centroid[term], term) for term, x in vector.items()
                         if term in informative and term in centroid])  # fmt: skip
        shared = [term for _w, term in ranked]  # heaviest first, ties by term
        names = tuple(term for term in shared if term in f.names)
        return Decision(article.article_id, sid, False, round(score, 4), tuple(shared[:8]), names[:8])

    def _threshold(self, text: float) -> float:
        """Longer texts share more words by chance: from a headline's threshold to a full text's, by how much
        of it (0 to 1) is text."""
        t = self.tuning
        return t.threshold + (t.text_threshold - t.threshold) * text

    def _grow(self, story: StoryProfile, article: StoryInput, w: Weighed) -> None:
        """Add the article's vector to the story's centroid; what either leaves out still counts in the
        centroid's length (as if in terms of their own), so a story's similarities stay those of whole texts."""
        t = self.tuning
        squares = self.squares.get(story.id, 0.0)
        story.dropped += w.dropped
        if story.centroid:
            if story.id not in self.changed:  # (an opened story's centroid may be its loader's: changed in a copy)
                story.centroid = dict(story.centroid)
            for term, x in w.vector.items():
                old = story.centroid.get(term, 0.0)
                story.centroid[term] = old + x
                squares += x * (2 * old + x)
        else:  # (a new story: the same sums, in C; the vector, weighed for this article alone, becomes its centroid)
            story.centroid = w.vector
            squares = sum(map(mul, w.vector.values(), w.vector.values()), squares)
        story.keys.update(w.keys)
        self._post(story, w.keys)
        self.unsettled.setdefault(story.id, set()).update(w.keys)
        self._trim(story, squares)
        centroid = story.centroid
        story.names.update([name for name in w.features.names if name in centroid])
        story.size += 1
        story.text += min(1.0, w.features.text_words / t.text_words)
        story.outlets.add(article.outlet)
        story.first_seen = min(story.first_seen, article.date)
        story.last_seen = max(story.last_seen, article.date)
        if article.link:
            story.links.add(article.link)
            self.by_link[article.link] = story.id
        self.changed.add(story.id)

    def _trim(self, story: StoryProfile, squares: float) -> None:
        """Keep the centroid to its heaviest terms (now and then, not on every article); `squares`: its
        squared length before, of which what is cut still counts in its length (`dropped`)."""
        t = self.tuning
        if len(story.centroid) > t.profile_terms * 3 // 2:
            ranked = sorted([(-x, term) for term, x in story.centroid.items()])  # heaviest first, ties by term
            story.centroid = {term: -x for x, term in ranked[: t.profile_terms]}
            kept_squares = sum(x * x for x in story.centroid.values())
            story.dropped += squares - kept_squares
            squares = kept_squares
        self.squares[story.id] = squares

    # -- merging stories the arrival order split ------------------------------------------

    def resolve(self, story_id: int) -> int:
        """The story `story_id` is now (itself, or the one it was merged into)."""
        while story_id in self.merged_into:
            story_id = self.merged_into[story_id]
        return story_id

    def probes(self) -> list[tuple[str, ...]]:
        """For each story grown since the last `settle`: the keys to find its merge candidates by (the stored
        stories sharing them are to be `open`ed before `settle`)."""
        return [self._probe(sid) for sid in sorted(self.unsettled) if sid in self.stories]

    def _probe(self, story_id: int) -> tuple[str, ...]:
        """The story's heaviest terms among the keys its new articles brought."""
        centroid = self.stories[story_id].centroid
        keys = list(filter(centroid.__contains__, self.unsettled.get(story_id, ())))
        if len(keys) <= self.tuning.key_terms:  # all of them (the stories they find do not depend on the order)
            return tuple(keys)
        return tuple(term for _w, term in sorted([(-centroid[term], term) for term in keys])[: self.tuning.key_terms])

    def settle(self) -> list[Merge]:
        """Merge each story grown since the last call with the open story the evidence ties it to, if any
        (see the module's docstring), until none is left to merge; the merges, in order."""
        merges: list[Merge] = []
        queue = deque(sorted(self.unsettled))
        while queue:
            sid = queue.popleft()
            if sid not in self.stories:
                continue
            best: tuple[float, int, list[tuple[float, str]]] | None = None
            for other in self._candidates(self._probe(sid)):
                if other != sid and (tie := self._tie(self.stories[sid], self.stories[other])) is not None:
                    if best is None or tie[0] > best[0]:
                        best = (tie[0], other, tie[1])
            if best is None:
                continue
            score, other, parts = best
            kept, gone = min(sid, other), max(sid, other)
            names = self.stories[kept].names & self.stories[gone].names
            shared = [term for _p, term in sorted([(-p, term) for p, term in parts]) if self._informative(term)]
            merges.append(Merge(kept, gone, round(score, 4), tuple(shared[:8]),
                                tuple(term for term in shared if term in names)[:8]))  # fmt: skip
            self._merge(kept, gone)
            queue.append(kept)
        self.unsettled.clear()
        self.merges += merges
        return merges

    def _informative(self, term: str) -> bool:
        return self.corpus.documents < self.tuning.young_corpus or self.corpus.idf(term) >= self.tuning.min_idf

    def _tie(self, a: StoryProfile, b: StoryProfile) -> tuple[float, list[tuple[float, str]]] | None:
        """How strongly two stories are one, and the terms' parts of it; None unless it holds both ways.

        Each way is how similar one story's articles are, on average, to the other's centroid (its sum over
        their count: a story of one article is that article); the lower of the two must reach the stricter
        story's join threshold, with an informative name both have and the same second evidence as a join.
        Stories whose times are a window apart, or that one outlet alone has run, are not one."""
        t = self.tuning
        if a.last_seen < b.first_seen - t.window or b.last_seen < a.first_seen - t.window:
            return None
        if len(a.outlets | b.outlets) <= 1:
            return None
        small, large = (a, b) if len(a.centroid) <= len(b.centroid) else (b, a)
        if not any(term in small.centroid and term in large.centroid and self._informative(term)
                   for term in a.names & b.names):  # fmt: skip
            return None
        shared = list(filter(large.centroid.__contains__, small.centroid))  # (in C, in the small one's order)
        parts = list(map(mul, map(small.centroid.__getitem__, shared), map(large.centroid.__getitem__, shared)))
        norm = max(a.size * self._length(b.id), b.size * self._length(a.id)) or 1.0
        score = sum(parts) / norm
        threshold = max(self._threshold(a.text / max(1, a.size)), self._threshold(b.text / max(1, b.size)))
        if score < threshold or score - max(parts) / norm < t.second_evidence * threshold:
            return None
        return score, list(zip(parts, shared))

    def _length(self, story_id: int) -> float:
        return math.sqrt(self.squares[story_id] + self.stories[story_id].dropped)

    def _merge(self, kept: int, gone: int) -> None:
        """`gone`'s articles join `kept`: its centroid, names, keys, outlets, links and times."""
        story, old = self.stories[kept], self.stories.pop(gone)
        if kept not in self.changed:  # (as in `_grow`)
            story.centroid = dict(story.centroid)
        for term, x in old.centroid.items():
            story.centroid[term] = story.centroid.get(term, 0.0) + x
        story.dropped += old.dropped
        self._trim(story, sum(x * x for x in story.centroid.values()))
        story.names = (story.names | old.names) & story.centroid.keys()
        story.keys |= old.keys
        story.outlets |= old.outlets
        story.links |= old.links
        story.size += old.size
        story.text += old.text
        story.first_seen = min(story.first_seen, old.first_seen)
        story.last_seen = max(story.last_seen, old.last_seen)
        for term in old.keys:
            posted = self.postings.get(term)
            if posted is not None:
                posted.discard(gone)
                posted.add(kept)
        self.by_link.update(dict.fromkeys(old.links, kept))
        self.unsettled.setdefault(kept, set()).update(self.unsettled.pop(gone, ()))
        self.squares.pop(gone, None)
        self.changed.discard(gone)
        self.changed.add(kept)
        self.gone[gone] = old
        self.merged_into[gone] = kept
