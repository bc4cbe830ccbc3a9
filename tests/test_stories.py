"""The grouper on its own (reader/stories.py): one event from several outlets is one story, other events
about the same company stay apart; deterministic, explained, bounded by time, incremental."""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from reader.index.stemming import porter_stem
from reader.stories import (_ACRONYM_DOTS, _CALENDAR_NUMBER, MAX_TEXT_CHARS, STOPWORDS, Corpus, Decision, Features,
                            Grouper, StoryInput, Tuning, describe, features, weigh)
from tests.storyworld import ENTITY_LIST, OTHERS, RECALL

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
# The event's four rewrites interleaved with four other events about DeepSeek and its chips, hours apart.
ORDER = (ENTITY_LIST[0], OTHERS[0], ENTITY_LIST[1], OTHERS[1], OTHERS[2], ENTITY_LIST[2], OTHERS[3], ENTITY_LIST[3])


def inputs(pieces=ORDER, start=START, first_id=1) -> list[StoryInput]:
    return [StoryInput(first_id + i, p.title, f"{p.summary}\n\n{p.text}", start + timedelta(hours=i), p.outlet,
                       f"https://{p.outlet.replace(' ', '').lower()}.example/{p.slug}")
            for i, p in enumerate(pieces)]  # fmt: skip


def stories_of(decisions) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    for d in decisions:
        found.setdefault(d.story_id, set()).add(d.article_id)
    return found


def test_one_event_rewritten_by_four_outlets_is_one_story_and_the_others_stay_apart():
    articles = inputs()
    decisions = Grouper(Corpus()).group(articles)
    event = {a.article_id for a, p in zip(articles, ORDER) if p in ENTITY_LIST}
    assert sorted(stories_of(decisions).values(), key=min) == sorted(
        [event, *({a.article_id} for a in articles if a.article_id not in event)], key=min
    )


def test_each_decision_says_what_tied_the_article_in():
    decisions = Grouper(Corpus()).group(inputs())
    first, *joined = [d for d, p in zip(decisions, ORDER) if p in ENTITY_LIST]
    assert first.new and first.reason == "started the story"
    for d in joined:
        assert not d.new and d.similarity >= 0.35
        assert {"entiti", "list"} <= set(d.shared) or "whitcomb" in d.shared_names
        assert describe(d.explained()).startswith(f"similarity {d.similarity:.2f}; shared: ")


def test_the_same_input_in_the_same_order_gives_the_same_stories():
    once = [(d.article_id, d.story_id, d.shared) for d in Grouper(Corpus()).group(inputs())]
    again = [(d.article_id, d.story_id, d.shared) for d in Grouper(Corpus()).group(inputs())]
    assert once == again


def test_a_story_quiet_for_its_window_is_over_and_the_event_again_starts_a_new_one():
    grouper = Grouper(Corpus())
    early = grouper.group(inputs(ENTITY_LIST[:2]))
    late = grouper.group(inputs(ENTITY_LIST[2:], start=START + timedelta(days=10), first_id=10))
    assert len({d.story_id for d in early}) == 1 and len({d.story_id for d in late}) == 1
    assert early[0].story_id != late[0].story_id


def test_the_same_link_is_the_same_story_whatever_the_words():
    grouper = Grouper(Corpus())
    [first] = grouper.group([StoryInput(1, "Entity List adds DeepSeek", "", START, "Wire", "https://x.example/a")])
    [copy] = grouper.group([StoryInput(2, "Totally different words", "", START, "Other", "https://x.example/a")])
    assert copy.story_id == first.story_id and copy.same_link and copy.reason == "same link as an article of the story"


def test_grouping_resumes_from_saved_profiles_as_if_it_never_stopped():
    """What the pipeline does between batches and runs: keep the profiles and counts, start a new grouper."""
    articles = inputs()
    first = Grouper(Corpus())
    part = first.group(articles[:4])
    resumed = Grouper(first.corpus, first.stories.values(), next_id=first.next_id)
    rest = resumed.group(articles[4:])
    event = [d.story_id for d, p in zip(part + rest, ORDER) if p in ENTITY_LIST]
    assert len(set(event)) == 1
    assert len({d.story_id for d in part + rest}) == 5


def test_an_opened_story_grows_and_merges_in_a_copy_of_its_centroid():
    """The store hands the grouper the centroids its run's memo holds (no copy per story opened): the grouper
    changes a story's centroid only in a copy of its own, so what the memo holds stays what is stored."""
    articles = inputs()
    first = Grouper(Corpus())
    first.group(articles[:4])
    first.settle()
    held = {sid: (dict(p.centroid), p.centroid) for sid, p in first.stories.items()}
    resumed = Grouper(first.corpus, first.stories.values(), next_id=first.next_id)
    resumed.group(articles[4:])
    resumed.settle()
    assert resumed.changed & held.keys()  # (an opened story grew)
    assert all(centroid == before for before, centroid in held.values())


def test_the_reason_stored_beside_an_article_is_its_decision_as_json():
    """The store writes the common reasons without the JSON encoder's per-call Python: the same text, whatever
    the terms hold (quotes, backslashes, non-ASCII, line separators) and whatever the similarity."""
    from reader.store.stories import _reason

    rng = random.Random(15)
    words = ["deepseek", "é", "中文", 'q"uote', "back\\slash", "tab\t", "\u2028", ""]
    for _ in range(2000):
        similarity = rng.choice([round(rng.random(), 4), 0.0, 1e-05, 123.0, 0.1 + 0.2])
        d = Decision(1, 2, rng.random() < 0.1, similarity, tuple(rng.choices(words, k=rng.randint(0, 8))),
                     tuple(rng.choices(words, k=rng.randint(0, 3))), same_link=rng.random() < 0.1)  # fmt: skip
        assert _reason(d) == json.dumps(d.explained())


def test_names_are_capitalised_words_inside_a_sentence_acronyms_and_camel_case():
    f = features("The Commerce Department adds DeepSeek and iPhone maker to a list", "EU and U.S. officials said so.")
    assert {"commerc", "depart", "deepseek", "iphon", "eu", "us"} <= f.names
    assert "the" not in f.terms and "list" in f.terms and "list" not in f.names


def test_a_hyphen_parts_names_so_a_merger_ties_to_each_company_named_alone():
    assert {"chiquita", "fyffe"} <= features("Regulators eye the Chiquita-Fyffes merger", "").names


def test_in_a_title_in_title_case_only_acronyms_and_camel_case_are_names_unless_its_text_names_them():
    """Every word of "Everything You Need To Know" is capitalised: that is the headline's style, not five names
    (two such headlines about different things would share a "name")."""
    f = features("Everything You Need To Know About DeepSeek's New AI Chip", "")
    assert f.names == {"deepseek", "ai"} and {"everyth", "need", "know", "chip"} <= f.terms.keys()
    assert "chip" in features("Everything You Need To Know About DeepSeek's New AI Chip", "Its Chip ships.").names
    assert {"commerc", "depart"} <= features("The Commerce Department adds DeepSeek", "").names  # (a lowercase word)


_REFERENCE_GAP_WORD = re.compile(r"(\W*)(\w+(?:['’.&]\w+)*)")


def _reference_features(title: str, text: str, title_weight: float = 3.0) -> Features:
    """`features` as first written: every word with what comes between it and the word before."""

    def stem(word):
        word = word.lower().replace("’", "'")
        word = word[:-2] if word.endswith("'s") else word
        word = word.replace("'", "").replace(".", "")
        return word if not word.isalpha() else porter_stem(word)

    def is_name(word, first):
        if not word[:1].isalpha():
            return any(c.isupper() for c in word)
        caps = sum(c.isupper() for c in word)
        if caps >= 2 or _ACRONYM_DOTS.match(word) and word[0].isupper():
            return True
        return not first if word[0].isupper() else caps >= 1

    def token(word):
        term = stem(word)
        if len(term) < 2 or term in STOPWORDS or word.lower() in STOPWORDS or _CALENDAR_NUMBER.match(term):
            return None
        if word.islower() or word.isdigit():
            return term, False, False
        return term, is_name(word, False), is_name(word, True)

    def terms(text, title=False):
        counts, names, capitalised, lower = {}, set(), set(), 0
        for (gap, word), n in Counter(_REFERENCE_GAP_WORD.findall(text)).items():
            token_ = token(word)
            if token_ is not None:
                term, inside, opening = token_
                counts[term] = counts.get(term, 0) + n
                lower += n * (not inside and word[0].isalpha())
                if inside and (opening or frozenset(".!?:\n").isdisjoint(gap)):
                    (names if opening else capitalised).add(term)
        title_case = title and not lower and len(capitalised) >= 3  # its capitals are its style
        return counts, names if title_case else names | capitalised

    lead = text[:MAX_TEXT_CHARS]
    heading, names = terms("\n" + title, title=True)
    body, body_names = terms("\n" + lead)
    counts = {term: n * title_weight for term, n in heading.items()}
    for term, n in body.items():
        counts[term] = counts.get(term, 0.0) + 1.0 + math.log(n)
    return Features(counts, frozenset(names | body_names), len(lead.split()))


def test_features_of_random_text_are_those_of_the_reference_reading_term_for_term_in_order():
    """Words, names at a sentence's start or inside one, repeats and the title's weight: the same features,
    their terms in the same order (the heaviest terms' ties break by it)."""
    rng = random.Random(15)
    pieces = ["the", "The", "U.S.", "U.S", "iPhone", "DeepSeek", "EU", "eu", "said", "2024", "12th", "1s", "x", "Ä",
              "élan", "Élan", "rock-n-roll", "O'Neil", "Trump’s", "trump's", "H20", "_x", "a&b", "AT&T", "3.5", "中文",
              "١٢٣", "3rd", "1999", ".", "!", "?", ":", "\n", " ", "  ", ", ", "(", "'", "’", "-", "&", "—", "…", "\t",
              "\u2028"]  # fmt: skip
    for _ in range(1000):
        title, text = ("".join(rng.choices(pieces, k=rng.randint(0, n))) for n in (12, 700))
        found, expected = features(title, text), _reference_features(title, text)
        assert found == expected and list(found.terms.items()) == list(expected.terms.items()), (title, text)


def test_an_article_is_weighed_by_its_heaviest_terms_whatever_its_length():
    """The cost per article is bounded: a long page gives no more terms to compare or keys to look up."""
    text = " ".join(f"Word{i} appears here." for i in range(600))
    corpus = Corpus()
    f = features("Commerce Department adds DeepSeek to the Entity List", text)
    corpus.add(f.terms)
    w = weigh(f, corpus, Tuning())
    assert len(f.terms) < 400  # only the lead of the text is read
    assert len(w.vector) == Tuning().vector_terms and len(w.keys) == Tuning().key_terms
    assert {"deepseek", "commerc", "entiti"} <= set(w.vector)  # title words and names outweigh the rest
    assert w.dropped > 0 and abs(sum(x * x for x in w.vector.values()) + w.dropped - 1) < 1e-9


def test_a_key_many_open_stories_share_loads_none_of_them(tmp_path):
    """Through the store: a word in more stories than `max_key_stories` is only probed, never read whole."""
    from reader.ingest import group_stories
    from reader.models import ParsedArticle
    from reader.store import Store

    store = Store(tmp_path / "reader.sqlite")
    feeds = [store.add_feed(f"http://127.0.0.1/{k}.xml")[0].id for k in range(6)]
    for k, feed in enumerate(feeds):  # six outlets, six unrelated events, all naming Zorblatt
        store.upsert_articles(feed, [ParsedArticle(key=f"{k}", title=f"Zorblatt {chr(65 + k)}{k}xq Qu{k}vr",
                                                   link=f"https://x.example/{k}", published=START,
                                                   content_hash=f"{k}")], fulltext=False, canonical={})  # fmt: skip
    assert group_stories(store, Tuning(max_key_stories=3)) == 6
    assert len(set(store.story_of(list(range(1, 7))).values())) == 6  # one word in common ties nothing
    since, keys = START - timedelta(days=3), [("zorblatt", "qu0vr")]
    stories, crowded = store.open_stories(keys, [], since, df={"zorblatt": 6}, crowd=3, shared=2, most=16)
    assert (stories, crowded) == ([], {"zorblatt"})  # the one key left cannot make two in common
    stories, crowded = store.open_stories(keys, [], since, df={"zorblatt": 6}, crowd=6, shared=2, most=16)
    assert crowded == set() and [s.keys for s in stories] == [{"zorblatt", "qu0vr"}]


def test_a_batch_reads_the_same_stories_through_its_memo_and_both_centroid_forms(tmp_path):
    """The merges' lookup reuses what the joins' lookup read (`memo`) and answers as a fresh lookup would, at a
    later date (fewer stories; a common key no longer crowded) and an earlier one; a centroid stored as JSON
    (before schema 8) reads as the packed one does."""
    from reader.ingest import group_stories
    from reader.models import ParsedArticle
    from reader.store import Store
    from reader.store.stories import StoryMemo

    store = Store(tmp_path / "reader.sqlite")
    feeds = [store.add_feed(f"http://127.0.0.1/{k}.xml")[0].id for k in range(6)]
    for k, feed in enumerate(feeds):  # six outlets, six unrelated events a day apart, all naming Zorblatt
        store.upsert_articles(feed, [ParsedArticle(key=f"{k}", title=f"Zorblatt {chr(65 + k)}{k}xq Qu{k}vr",
                                                   link=f"https://x.example/{k}", published=START + timedelta(days=k),
                                                   content_hash=f"{k}")], fulltext=False, canonical={})  # fmt: skip
    assert group_stories(store, Tuning(max_key_stories=3)) == 6
    keys = [("zorblatt", "qu0vr"), ("a0xq", "qu0vr"), ("zorblatt", "qu4vr"), ("qu5vr", "zorblatt")]

    df = {"zorblatt": 6, "a0xq": 1, "qu0vr": 1, "qu4vr": 1, "qu5vr": 1}

    def lookup(since: datetime, memo: StoryMemo | None = None) -> tuple[list, set[str]]:
        stories, crowded = store.open_stories(keys, [], since, df=df, crowd=3, shared=2, most=16, memo=memo)

        return [(s.id, s.keys, s.centroid) for s in stories], crowded

    memo = StoryMemo()
    for days in (0, 4, 3, -1, 5):  # each lookup through the memo of those before it
        since = START + timedelta(days=days)
        assert lookup(since, memo) == lookup(since)
    assert lookup(START + timedelta(days=4))[1] == set() and lookup(START)[1] == {"zorblatt"}
    before = lookup(START + timedelta(days=3))
    assert [story_id for story_id, _keys, _centroid in before[0]] == [5, 6]  # (the lookup says something)
    store._conn().execute("UPDATE stories SET centroid = json_object('zorblatt', 0.5, 'qu5vr', 0.25) WHERE id = 6")
    assert lookup(START + timedelta(days=3))[0][1][2] == {"zorblatt": 0.5, "qu5vr": 0.25}


# The recall's rewrites arriving newest first, one landing each, after the DeepSeek world: the maker's bill
# (Chip Letter) and the regulator's recall (Policy Wire) are too far apart to join each other, so the
# second starts a story of its own; the third tells both, joins one, and the two stories are then one.
UNLUCKY = (RECALL[1], RECALL[0], RECALL[2])


def unlucky(settle: bool) -> tuple[Grouper, list]:
    grouper = Grouper(Corpus())
    grouper.group(inputs(ORDER, start=START - timedelta(days=1), first_id=100))
    grouper.settle()
    decisions = []
    for k, piece in enumerate(UNLUCKY):
        decisions += grouper.group(inputs((piece,), start=START - timedelta(hours=k), first_id=1 + k))
        if settle:
            grouper.settle()
    return grouper, decisions


def test_rewrites_arriving_in_an_unlucky_order_still_form_one_story_and_the_others_stay_apart():
    grouper, decisions = unlucky(settle=True)
    bill, recall, both = decisions
    assert recall.new and not both.new and both.story_id == recall.story_id  # apart until the third came
    assert {grouper.resolve(d.story_id) for d in decisions} == {bill.story_id}
    [merge] = grouper.merges  # the younger story went into the older, and says why
    assert (merge.kept, merge.gone) == (bill.story_id, recall.story_id)
    assert merge.similarity >= 0.35 and {"kestrel", "okafor"} <= set(merge.shared_names)
    assert len(grouper.stories) == 6  # the DeepSeek event, its four neighbours, the recall


def test_settling_is_deterministic_and_without_it_the_unlucky_order_leaves_two_stories():
    def stories(settle: bool) -> list[int]:
        grouper, decisions = unlucky(settle)
        return [grouper.resolve(d.story_id) for d in decisions]

    assert stories(True) == stories(True)
    assert len(set(stories(False))) == 2 and len(set(stories(True))) == 1


def test_the_parse_workers_features_are_those_the_grouper_reads_from_the_store(tmp_path):
    """The parse worker reads each article's words once (`pool_tasks.story_features`); the grouper uses
    them only if they are made of what it reads from the store, or every article would be read twice."""
    from reader import pool_tasks
    from reader.models import ParsedArticle, ParsedFeed
    from reader.store import Store
    from reader.stories import features_of

    long_text = " ".join(f"Sentence {i} of the Entity List story." for i in range(400))
    parsed = ParsedFeed("Wire", "https://wire.example/", [
        ParsedArticle(key="title", title="DeepSeek added to the Entity List", link="https://wire.example/1"),
        ParsedArticle(key="summary", title="Commerce acts", link="https://wire.example/2", summary="A short summary."),
        ParsedArticle(key="content", title="Chips", link="https://wire.example/3", summary="Short.", content=long_text),
        ParsedArticle(key="both", title="Rules", link="https://wire.example/4", summary=long_text, content="Less."),
    ])  # fmt: skip
    store = Store(tmp_path / "reader.sqlite")
    feed = store.add_feed("http://127.0.0.1/feed.xml")[0].id
    store.upsert_articles(feed, parsed.articles, fulltext=False, canonical={})
    made = pool_tasks.story_features(parsed)
    stored = store.articles_to_group()
    assert features_of(stored, Tuning(), made) == {a.article_id: features(a.title, a.text) for a in stored}
    assert made == {}  # every one was used


def test_the_parse_worker_makes_no_features_for_articles_already_grouped(tmp_path):
    """A feed read again with one new entry costs one entry's words: the worker skips the articles the store
    holds with their story (`known_entries`), and the grouper still finds the new one's features."""
    from reader import pool_tasks
    from reader.ingest import group_stories
    from reader.store import Store
    from reader.stories import feature_key
    from tests.feedgen import Item, recent, rss

    items = [Item(f"Kestrel Dynamics recalls model {k}", f"http://127.0.0.1/{k}", f"Recall number {k} of the drones.",
                  published=recent(k + 1)) for k in range(3)]  # fmt: skip
    store = Store(tmp_path / "reader.sqlite")
    feed = store.add_feed("http://127.0.0.1/feed.xml")[0].id

    def grouped_keys(limit: int = 100) -> frozenset[str]:
        return store.known_entries(feed, limit)[0]

    def read(feed_items: list[Item], grouped: frozenset[str]):
        found, error, _cpu = pool_tasks.parse(rss(feed_items).encode(), "http://127.0.0.1/feed.xml",
                                              "application/rss+xml", 100, grouped=grouped)  # fmt: skip
        assert error is None
        return found

    parsed, made, _links = read(items, grouped_keys())
    assert len(made) == 3 and grouped_keys() == frozenset()
    store.upsert_articles(feed, parsed.articles, fulltext=False, canonical={})
    group_stories(store, known=made)
    assert grouped_keys() == {f"http://127.0.0.1/{k}" for k in range(3)}
    assert grouped_keys(2) == {f"http://127.0.0.1/{k}" for k in (0, 1)}  # the newest by date

    new = Item("Okafor Freight buys Kestrel Dynamics", "http://127.0.0.1/new", "A deal.", published=recent(0.5))
    parsed, made, _links = read([new, *items], grouped_keys())
    fresh = parsed.articles[0]
    assert list(made) == [feature_key(*pool_tasks.story_text(fresh))]
    upserted = store.upsert_articles(feed, parsed.articles, fulltext=False, canonical={})
    group_stories(store, known=made)
    assert made == {} and len(upserted.new_ids) == 1  # the grouper used the worker's features
    assert grouped_keys() == {a.key for a in parsed.articles}


def test_a_run_that_keeps_what_its_passes_read_groups_as_passes_that_read_afresh(tmp_path):
    """`StoryMemo` (what a run's grouping passes read of the store) stays true through the passes' saves:
    stories grown later than a lookup's date, merges, keys of quiet stories dropped, common keys crowding.
    Worlds of made-up events on a small vocabulary, landed a few articles at a time over three weeks: after
    each pass, every key the memo holds looks up, since any date, what a fresh read finds; and the run groups
    into the same stories, reasons, keys and counts with one memo as with none."""
    import random

    from reader.ingest import group_stories
    from reader.models import ParsedArticle
    from reader.store import Store
    from reader.store.stories import StoryMemo

    tuning = Tuning(max_key_stories=4, window=timedelta(days=2))
    names = [f"Zor{c}{k}" for k, c in enumerate("bcdfghjklmnpqrstvwxz")]
    words = [f"qu{c}{k}x" for k, c in enumerate("bcdfghjklmnpqrstvwxz" * 3)]

    def world(rng: random.Random) -> list[list[tuple[int, ParsedArticle]]]:
        events = [(rng.sample(names, 3) + [f"sector{k % 3}"], rng.sample(words, 6),
                   START + timedelta(days=rng.uniform(0, 21))) for k in range(40)]  # fmt: skip
        landings = []
        for n in range(30):
            landing = []
            now = START + timedelta(days=0.7 * n)  # (news of the last days and some older)
            for k in range(rng.randint(2, 6) if n else 24):  # (a first large landing: keys common from the start)
                who, what, when = rng.choice([e for e in events if abs(e[2] - now) < timedelta(days=3)] or events)
                title = " ".join(rng.sample(who[:3], 2) + who[3:] + rng.sample(what, 3) + rng.sample(words, 1))
                landing.append((n % 7, ParsedArticle(key=f"{n}-{k}", title=title, link=f"https://x.example/{n}/{k}",
                                                     published=when + timedelta(hours=rng.uniform(0, 30)),
                                                     content_hash=f"{n}-{k}")))  # fmt: skip
            landings.append(landing)
        return landings

    def grouped(landings: list, memo: StoryMemo | None, path) -> list:
        store = Store(path)
        feeds = [store.add_feed(f"http://127.0.0.1/{k}.xml")[0].id for k in range(7)]
        for landing in landings:
            for feed, article in landing:
                store.upsert_articles(feeds[feed], [article], fulltext=False, canonical={})
            group_stories(store, tuning, chunk=4 if len(landing) < 9 else 30, memo=memo)
            if memo is not None:  # each story and key it holds as a fresh read finds it, since any date
                rows = store._select_in("SELECT id, first_seen, last_seen, size, outlets, names, centroid, dropped, "
                                        "text FROM stories WHERE 1", "id", sorted(memo.stories))  # fmt: skip
                def same(row: tuple) -> tuple:  # (outlets and names in any order)
                    return *row[:3], set(row[3]), set(row[4]), *row[5:]

                assert {r[0]: same(StoryMemo.row(r)) for r in rows} == {i: same(r) for i, r in memo.stories.items()}
                if memo.every_df:  # (a first run: it reads no term counts back, so it holds every one it saved)
                    stored_df = dict(store._conn().execute("SELECT term, df FROM story_df"))
                    assert stored_df == {term: n for term, n in memo.df.items() if n}
                terms = sorted(memo.read)
                for since in sorted({*memo.read.values(), *memo.last_seen.values()} - {""}):
                    fresh = store._postings(terms, since, memo.df, tuning.max_key_stories, StoryMemo())
                    posted, crowded = store._postings(terms, since, memo.df, tuning.max_key_stories, memo)
                    assert ({t: set(s) for t, s in posted.items() if s}, crowded) == (
                        {t: set(s) for t, s in fresh[0].items() if s}, fresh[1])
        conn = store._conn()
        return [conn.execute(sql).fetchall() for sql in (
            "SELECT id, story_id, story_reason FROM articles ORDER BY id",
            "SELECT id, first_seen, last_seen, size, outlets, names, centroid, merged_into FROM stories ORDER BY id",
            "SELECT term, story_id FROM story_terms ORDER BY term, story_id",
            "SELECT term, df FROM story_df ORDER BY term")]  # fmt: skip

    class Seen(StoryMemo):  # what the memo held when each pass saved
        def saved(self, *args) -> None:
            first_runs.append(self.every_df)
            held.append((sum(bool(since) for since in self.read.values()), sum(v is None for v in self.found.values()),
                         bool(args[2]), bool(args[3])))  # fmt: skip
            super().saved(*args)

    held: list[tuple[int, int, bool, bool]] = []
    first_runs: list[bool] = []
    for seed in (1, 2, 7):
        landings = world(random.Random(seed))
        kept = grouped(landings, Seen(), tmp_path / f"{seed}-memo.sqlite")
        assert kept == grouped(landings, None, tmp_path / f"{seed}.sqlite")
    dated, crowded, merged, quieted = (sum(h[i] for h in held) for i in range(4))
    assert dated and crowded and merged and quieted  # (what the memo must follow happened)
    assert any(first_runs)  # (each world's run began with no term counts: the memo held them all)


def test_a_key_read_since_a_date_is_read_again_once_a_story_seen_before_it_is_seen_after_it():
    """The key may be one of that story's (not among those the pass asked): the list read since the date
    lacks it. So too for a story merged into one seen after the date (it holds the merged story's keys)."""
    from reader.stories import Merge, StoryProfile
    from reader.store.stories import StoryMemo, _iso

    day = [START + timedelta(days=k) for k in range(6)]

    def memo() -> StoryMemo:
        m = StoryMemo()
        m.read = {"zorblatt": _iso(day[2]), "whole": "", "later": _iso(day[5])}
        m.found = {"zorblatt": [1], "whole": [1, 2], "later": [1]}
        m.last_seen = {1: _iso(day[3]), 2: _iso(day[1]), 3: _iso(day[0])}
        return m

    grown = memo()  # story 2, seen before day 2, is now seen on day 4
    grown.saved([StoryProfile(2, day[0], day[4])], {2: set()}, [], None, Corpus())
    assert set(grown.read) == {"whole", "later"}
    merged = memo()  # story 3 (seen on day 0) went into story 1, now seen on day 4
    merged.saved([StoryProfile(1, day[0], day[4]), StoryProfile(3, day[0], day[0])], {1: set()},
                 [Merge(1, 3, 0.5, (), ())], None, Corpus())  # fmt: skip
    assert set(merged.read) == {"whole", "later"} and merged.found["whole"] == [1, 2]


def test_a_pass_whose_read_fails_leaves_the_next_pass_reading_afresh(tmp_path):
    """A grouping pass that fails while reading (SQLite refuses the read: I/O, a lock, memory) must not leave
    its run's `StoryMemo` saying what it never read: the run's next pass groups as a run without the failure."""
    import sqlite3

    import pytest

    from reader.ingest import group_stories
    from reader.models import ParsedArticle
    from reader.store import Store
    from reader.store.stories import StoryMemo

    def article(n: int, title: str) -> ParsedArticle:
        return ParsedArticle(key=f"a{n}", title=title, link=f"https://x.example/{n}", content_hash=f"h{n}",
                             published=START + timedelta(hours=n))  # fmt: skip

    first = [article(n, t) for n, t in enumerate(["Glimmerwort Snarfblat wins the Quibble award",
                                                   "Zentrox recalls Plonkers over battery fires"])]  # fmt: skip
    second = article(5, "Quibble award goes to Glimmerwort Snarfblat")

    def run(path, fail: str | None) -> list:
        store = Store(path)
        a, b = (store.add_feed(f"http://127.0.0.1/{k}.xml")[0].id for k in "ab")
        store.upsert_articles(a, first, fulltext=False, canonical={})
        group_stories(store, memo=StoryMemo())  # an earlier run
        store.upsert_articles(b, [second], fulltext=False, canonical={})
        memo = StoryMemo()  # this run's: it has read nothing yet
        if fail:
            conn = store._conn()
            conn.set_authorizer(lambda action, table, *_: sqlite3.SQLITE_DENY
                                if action == sqlite3.SQLITE_READ and table == fail else sqlite3.SQLITE_OK)  # fmt: skip
            with pytest.raises(sqlite3.DatabaseError):
                group_stories(store, memo=memo)
            conn.set_authorizer(None)
        group_stories(store, memo=memo)
        return store._conn().execute("SELECT key, story_id FROM articles ORDER BY key").fetchall()

    clean = run(tmp_path / "clean.sqlite", None)
    assert dict(clean)["a0"] == dict(clean)["a5"]  # (the world works: the rewrite joins its story)
    for table in ("story_df", "story_terms"):
        assert run(tmp_path / f"{table}.sqlite", table) == clean, table
