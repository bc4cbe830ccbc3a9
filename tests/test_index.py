"""The search index, on real temp directories: analysis, query semantics, writing, sorting, highlighting."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex

from reader.index import (
    ANALYZER, INDEXNAME, IndexBusy, SearchIndex, analyze, highlight, parse_query, required_terms,
)  # fmt: skip
from reader.index import segments
from reader.index.repair import current_segments
from reader.index.analysis import field_terms
from reader.store import IndexRow

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def row(article_id: int, title: str = "", text: str = "", *, date: datetime = NOW, version: int = 1,
        summary: str = "", feed: str = "Wired", group: str = "Tech", author: str = "",
        tags: tuple[str, ...] = (), link: str = "") -> IndexRow:  # fmt: skip
    return IndexRow(
        id=article_id, version=version, title=title, text=text, summary=summary, feed_title=feed, group=group,
        author=author, categories=tags, link=link, date=date,
    )  # fmt: skip


@pytest.fixture
def index(tmp_path):
    index = SearchIndex(tmp_path / "index", lock_timeout=0.5)
    yield index
    index.close()


def ids(index: SearchIndex, query: str, **kw) -> set[int]:
    return {hit.article_id for hit in index.search(parse_query(query, now=NOW), limit=None, **kw)}


def test_analysis_keeps_short_words_and_folds_case():
    assert analyze("The US, AI, IT and EU: a H800 for DeepSeek-R1's exports") == [
        "the", "US", "AI", "IT", "and", "EU", "a", "H800", "for", "deepseek", "R1", "s", "export",
    ]  # fmt: skip
    assert analyze("the us, ai, it and eu: a h800") == ["the", "us", "ai", "it", "and", "eu", "a", "h800"]


def test_whoosh_chain_in_the_schema_analyses_like_the_indexer():
    text = "Über-fast GPUs: NVIDIA's H20 & B200 chips — exported (2025) to the U.S. naïvely; 华为发布 R2"
    terms, acronyms = field_terms(text)
    expected = sorted([(p, t.decode()) for p, t in enumerate(terms)] + [(p, t.decode()) for p, t in acronyms])
    assert sorted((token.pos, token.text) for token in ANALYZER(text, positions=True)) == expected


def test_new_index_reports_it_was_created(tmp_path):
    first = SearchIndex(tmp_path / "index")
    assert first.created and first.doc_count() == 0
    first.add([row(1, "x")])
    first.close()
    again = SearchIndex(tmp_path / "index")
    assert not again.created and again.doc_count() == 1
    again.close()


def test_a_new_empty_index_answers_every_kind_of_query_with_nothing(index):
    """A new user's first search: a phrase took the empty index for a damaged one (a ValueError)."""
    for query in ('"export controls"', 'title:"a b" OR x', "DeepSeek", "NOT x", "date:7d"):
        for options in ({"limit": 20}, {"limit": None}, {"limit": 20, "sort": "newest"}):
            assert index.search(parse_query(query, now=NOW), **options) == [], (query, options)


def test_stemming_and_phrases(index):
    index.add([
        row(1, text="New export control rules were announced."),
        row(2, text="Exports are controlled by a new regime."),
        row(3, text="Nothing relevant here."),
    ])  # fmt: skip
    assert ids(index, '"export controls"') == {1}
    assert ids(index, "export controls") == {1, 2}
    assert ids(index, "Export") == {1, 2}


def test_short_words_are_searchable_even_in_phrases(index):
    index.add([
        row(1, text="The US export controls on AI chips tighten."),
        row(2, text="Export controls in the EU, and what IT teams can do."),
        row(3, text="us export? no: controls elsewhere"),
    ])  # fmt: skip
    assert ids(index, '"US export controls"') == {1}
    assert ids(index, '"the EU"') == {2}
    assert ids(index, "IT") == {2}
    assert ids(index, "ai") == {1}
    assert ids(index, '"on AI chips"') == {1}


def test_hyphenated_names_match_both_spellings_but_not_scattered_words(index):
    index.add([
        row(1, text="DeepSeek-R1 was released."),
        row(2, text="DeepSeek R1 beats others."),
        row(3, text="DeepSeek released V3; R1 came later."),
    ])  # fmt: skip
    assert ids(index, "DeepSeek-R1") == {1, 2}
    assert ids(index, "deepseek-r1") == {1, 2}


def test_model_numbers_are_single_tokens(index):
    index.add([row(1, text="Nvidia H800 and H20 shipments"), row(2, text="H 800 units")])
    assert ids(index, "H800") == {1}
    assert ids(index, "h20") == {1}
    assert ids(index, "800") == {2}


def test_a_mention_in_the_title_alone_counts(index):
    index.add([row(1, title="DeepSeek under export controls", text="A story about chips.")])
    assert ids(index, "DeepSeek export controls") == {1}
    assert ids(index, '"export controls" chips') == {1}  # terms may sit in different fields


def test_boolean_semantics(index):
    index.add([
        row(1, text="DeepSeek chips"),
        row(2, text="DeepSeek GPUs"),
        row(3, text="Nvidia chips"),
        row(4, text="Nvidia GPUs sanctions"),
    ])  # fmt: skip
    assert ids(index, "DeepSeek chips") == {1}
    assert ids(index, "DeepSeek AND chips") == {1}
    assert ids(index, "DeepSeek OR sanctions") == {1, 2, 4}
    assert ids(index, "DeepSeek NOT chips") == {2}
    assert ids(index, "DeepSeek -chips") == {2}
    assert ids(index, "NOT DeepSeek") == {3, 4}
    assert ids(index, "(DeepSeek OR Nvidia) AND GPUs NOT sanctions") == {2}
    assert ids(index, "DeepSeek chips OR sanctions") == {1, 4}  # (DeepSeek AND chips) OR sanctions
    assert ids(index, "chips or GPUs") == set()  # 'or' is a word no article contains


def test_field_prefixes(index):
    index.add([
        row(1, title="DeepSeek", text="chips", feed="MIT Technology Review", group="Policy", author="Jane Doe",
            tags=("export controls", "China")),
        row(2, title="chips", text="DeepSeek", feed="Wired", group="Tech", author="John Roe", tags=("AI",)),
        row(3, title="Other", text="about technology reviews", summary="DeepSeek summary"),
    ])  # fmt: skip
    assert ids(index, "title:DeepSeek") == {1}
    assert ids(index, "text:DeepSeek") == {2}
    assert ids(index, "summary:DeepSeek") == {3}
    assert ids(index, 'feed:"MIT Technology Review"') == {1}
    assert ids(index, "technology") == {3}  # a feed's name is not an article's text
    assert ids(index, "group:Policy") == {1}
    assert ids(index, 'author:"Jane Doe"') == {1}
    assert ids(index, 'tag:"export controls"') == {1}
    assert ids(index, '"controls China"') == set()  # two tags are not one phrase
    assert ids(index, "title:(DeepSeek OR chips) -group:Tech") == {1}


def test_a_summary_that_is_the_text_is_in_both_fields(index):
    """A field equal to the one before is analysed once (the segment builder keeps the last): each
    field still gets its postings."""
    index.add([
        row(1, title="Other", text="TSMC foundry news", summary="TSMC foundry news"),
        row(2, title="TSMC foundry news", text="Intel results", summary="Intel results"),
        row(3, title="Intel results", text="TSMC foundry news", summary="quarterly"),
    ])  # fmt: skip
    assert ids(index, "summary:TSMC") == {1}
    assert ids(index, 'text:"TSMC foundry"') == {1, 3}
    assert ids(index, "title:TSMC") == {2}
    assert ids(index, 'summary:"Intel results"') == {2}
    assert ids(index, "title:Intel") == {3}
    assert ids(index, "summary:quarterly") == {3}

def test_date_ranges_and_relative_dates(index):
    index.add([
        row(1, "chips", date=datetime(2025, 1, 1, 0, 0, tzinfo=UTC)),
        row(2, "chips", date=datetime(2025, 2, 1, 23, 59, tzinfo=UTC)),
        row(3, "chips", date=datetime(2025, 3, 31, 18, 0, tzinfo=UTC)),
        row(4, "chips", date=NOW - timedelta(hours=20)),
        row(5, "chips", date=NOW - timedelta(days=6)),
        row(6, "chips", date=NOW - timedelta(days=9)),
    ])  # fmt: skip
    assert ids(index, "date:>=2025-01-01 date:<2025-02-01") == {1}
    assert ids(index, "date:2025-01-01..2025-02-01") == {1, 2}
    assert ids(index, "date:2025-03") == {3}
    assert ids(index, "date:2025-03 OR date:2025-01") == {1, 3}
    assert ids(index, "date:<=2025-02-01") == {1, 2}
    assert ids(index, "date:>2025-02-01 date:<2025-06-07") == {3, 6}
    assert ids(index, "date:24h") == {4}
    assert ids(index, "date:7d chips") == {4, 5}
    assert ids(index, "date:2w") == {4, 5, 6}
    assert ids(index, "chips NOT date:2025") == set()


def test_random_date_ranges_match_exactly(index):
    rnd = random.Random(5)
    dates = {i: datetime(1971, 1, 1, tzinfo=UTC) + timedelta(minutes=rnd.randrange(80 * 365 * 24 * 60))
             for i in range(1, 201)}  # fmt: skip
    index.add(row(i, "x", date=d) for i, d in dates.items())
    for _ in range(25):
        a, b = sorted(rnd.sample(sorted(dates.values()), 2))
        query = f"date:{a:%Y-%m-%d}..{b:%Y-%m-%d}"
        first, after = a.replace(hour=0, minute=0), b.replace(hour=0, minute=0) + timedelta(days=1)
        assert ids(index, query) == {i for i, d in dates.items() if first <= d < after}, query
    assert ids(index, "date:<1990") == {i for i, d in dates.items() if d.year < 1990}


def test_dates_before_1970_count_as_1970(index):
    index.add([row(1, "old", date=datetime(1960, 5, 1, tzinfo=UTC))])
    assert ids(index, "date:<1971") == {1}
    assert ids(index, "old", sort="newest") == {1}


def test_rare_words_with_common_ones_across_many_blocks(index):
    common = "the state of the art in the field"
    index.add(row(i, text=common + (" DeepSeek export controls" if i % 97 == 0 else "")) for i in range(1, 701))
    index.add([row(701, text="the DeepSeek the export controls")])
    expected = {i for i in range(1, 701) if i % 97 == 0}
    assert ids(index, "DeepSeek the") == expected | {701}
    assert ids(index, '"field DeepSeek export controls"') == expected
    assert ids(index, '"the DeepSeek"') == {701}
    assert ids(index, "DeepSeek NOT art") == {701}
    assert index.count('"of the"') == 700
    assert index.count("the", restrict=[5, 194, 701, 9999]) == 3


def mixed_rows(rnd: random.Random, count: int) -> list[IndexRow]:
    """Articles of short and long texts mixing common words, acronyms, CJK, accents and tags."""
    words = ["the", "US", "export", "controls", "华为发布", "R2", "naïve", "GPUs", "of", "chips", "x"]
    return [row(i, " ".join(rnd.choices(words, k=5)), " ".join(rnd.choices(words, k=rnd.choice([3, 60, 3000]))),
                tags=tuple(rnd.choices(words, k=3)), link=f"https://example.org/{i}/us-export")
            for i in range(1, count + 1)]  # fmt: skip


def test_postings_sorted_on_three_keys_are_written_as_on_one(tmp_path, monkeypatch):
    """A field whose (term, docnum, position) does not fit one int64 sort key is sorted on three
    keys (`_KEY_LIMIT`): the postings file is the same, byte for byte, and so are the results."""
    rows = mixed_rows(random.Random(3), 79)

    def postings_file(directory):
        built = SearchIndex(directory)
        built.add(rows)
        found = ids(built, '"export controls"'), ids(built, "US"), ids(built, "tag:华为")
        built.close()
        (name,) = [p for p in directory.iterdir() if p.suffix == ".pst"]
        return name.read_bytes(), found

    one = postings_file(tmp_path / "one")
    monkeypatch.setattr(segments, "_KEY_LIMIT", 0)
    assert postings_file(tmp_path / "three") == one


def test_a_merged_segment_holds_the_postings_of_its_articles_added_at_once(tmp_path):
    """Small segments merged (`_merge_small`) are written from their postings as copied: the
    result is what one batch of the same articles writes."""
    rows = mixed_rows(random.Random(11), 40)

    def postings(index):
        storage = FileStorage(str(index.path))
        (segment,) = [s for s in current_segments(storage) if s.doc_count() == 40]
        found = segments.SegmentPostings(storage, segment)
        try:
            return [(field, term, p.docs.tolist(), p.tfs.tolist(), p.all_deltas().tolist())
                    for field, term, p in found.everything()]  # fmt: skip
        finally:
            found.close()

    merged = SearchIndex(tmp_path / "merged")
    for first in range(0, 40, 10):
        merged.add(rows[first : first + 10])
    merged.add([row(41, "later")])  # four segments of ten: merged before this one is added
    at_once = SearchIndex(tmp_path / "at-once")
    at_once.add(rows)
    assert postings(merged) == postings(at_once)
    assert ids(merged, '"export controls"') == ids(at_once, '"export controls"')
    merged.close()
    at_once.close()


def test_adding_a_row_twice_leaves_one_document(index):
    assert index.add([row(1, "first version DeepSeek")]) == [(1, 1)]
    assert ids(index, "DeepSeek") == {1}  # a searcher is now open and cached
    assert index.add([row(1, "second version Nvidia", version=2)]) == [(1, 2)]
    assert index.doc_count() == 1
    assert ids(index, "DeepSeek") == set()
    assert ids(index, "Nvidia") == {1}
    index.add([row(2, "one"), row(2, "two", version=2)])  # within one batch the last copy wins
    assert ids(index, "two") == {2} and ids(index, "one") == set()


def test_delete(index):
    index.add([row(1, "chips"), row(2, "chips"), row(3, "chips")])
    assert ids(index, "chips") == {1, 2, 3}
    index.delete([2, 99])
    assert ids(index, "chips") == {1, 3}
    assert index.count("chips") == 2 and index.doc_count() == 2
    index.clear()
    assert index.doc_count() == 0


def test_many_small_batches_merge_and_stay_correct(index):
    for i in range(1, 31):
        index.add([row(i, f"story {i}", text="US export controls on chips, more chips", date=NOW - timedelta(hours=i))])
        assert index.count('"US export controls"') == i
    index.add([row(5, "story 5 revised", text="nothing here", version=2)])
    index.delete([7])
    assert index.count('"US export controls"') == 28
    for i in range(31, 51):  # more merges, now of segments with deleted documents
        index.add([row(i, f"story {i}", text="chips", date=NOW - timedelta(hours=i))])
    assert index.count('"US export controls"') == 28
    assert index.doc_count() == 49
    assert ids(index, "revised") == {5}
    assert [hit.article_id for hit in index.search("chips", sort="newest", limit=3)] == [1, 2, 3]


def test_relevance_and_newest_sorting(index):
    index.add([
        row(1, "DeepSeek", text="DeepSeek DeepSeek DeepSeek news", date=NOW - timedelta(days=3)),
        row(2, "Other", text="a passing mention of DeepSeek among many other words here", date=NOW - timedelta(days=1)),
        row(3, "Other", text="DeepSeek news", date=NOW - timedelta(days=2)),
    ])  # fmt: skip
    by_relevance = index.search("DeepSeek")
    assert by_relevance[0].article_id == 1
    assert by_relevance[0].score > by_relevance[-1].score > 0
    assert [hit.article_id for hit in index.search("DeepSeek", sort="newest")] == [2, 3, 1]
    assert [hit.article_id for hit in index.search("DeepSeek", sort="newest", limit=2)] == [2, 3]
    with pytest.raises(ValueError, match="sort"):
        index.search("DeepSeek", sort="oldest")


def test_restrict_limits_results_to_given_articles(index):
    index.add([row(i, "chips") for i in range(1, 6)])
    index.add([row(i, "chips") for i in range(6, 11)])
    assert ids(index, "chips", restrict=[2, 7, 8, 42]) == {2, 7, 8}
    assert index.count("chips", restrict=[9, 10]) == 2
    assert ids(index, "chips", restrict=[]) == set()
    assert ids(index, "NOT chips", restrict=[1, 2]) == set()


def test_segment_terms_cover_a_new_batch(index):
    index.add([row(1, "old story about Nvidia")])
    index.add([row(2, "DeepSeek export controls"), row(3, "chips")])
    terms = index.segment_terms([2, 3])
    assert {("title", "deepseek"), ("title", "control"), ("title", "chip")} <= terms
    assert ("title", "nvidia") not in terms
    rule = parse_query("DeepSeek AND (chips OR sanctions)")
    assert all(clause & terms for clause in required_terms(rule))


def test_large_batches_are_built_in_worker_processes(tmp_path):
    index = SearchIndex(tmp_path / "index", workers=2, segment_docs=2)
    rows = [row(i, f"title {i}", text=f"DeepSeek export controls number {i}") for i in range(1, 8)]
    rows.append(row(3, "title 3 revised", text="Nvidia", version=2))  # repeats an id of an earlier chunk
    written = index.add(iter(rows))
    assert sorted(written) == [(1, 1), (2, 1), (3, 1), (3, 2), (4, 1), (5, 1), (6, 1), (7, 1)]
    assert index.doc_count() == 7
    assert ids(index, '"export controls"') == {1, 2, 4, 5, 6, 7}
    assert ids(index, "Nvidia") == {3}
    index.close()


def test_merging_a_segment_whose_first_article_was_replaced(index):
    index.add([row(1, "first chips"), row(2, "second chips")])
    index.add([row(1, "first revised", version=2)])  # the first document of the oldest segment is deleted
    index.add([row(3, "third chips")])
    index.add([row(4, "fourth chips")])
    index.add([row(5, "fifth chips")])  # four small segments: merged before this one is added
    assert ids(index, "chips") == {2, 3, 4, 5}
    assert ids(index, "first") == {1}
    assert index.doc_count() == 5


def test_with_one_worker_every_chunk_of_a_large_batch_is_built(tmp_path):
    index = SearchIndex(tmp_path / "index", workers=1, segment_docs=2)
    written = index.add(row(i, f"title {i}", text="DeepSeek export controls") for i in range(1, 8))
    assert len(written) == index.doc_count() == 7  # (only the first chunk was, and the rest marked indexed)
    assert ids(index, '"export controls"') == set(range(1, 8))
    index.close()


def test_a_second_writer_waits_then_gives_up(tmp_path):
    index = SearchIndex(tmp_path / "index", lock_timeout=0.3)
    other = FileIndex(FileStorage(str(tmp_path / "index")), indexname=INDEXNAME).writer()
    try:
        with pytest.raises(IndexBusy, match="another reader process is writing"):
            index.add([row(1, "chips")])
        with pytest.raises(IndexBusy):
            index.delete([1])
    finally:
        other.cancel()
    index.add([row(1, "chips")])
    assert ids(index, "chips") == {1}
    index.close()


def marked(snippet) -> list[str]:
    return [snippet.text[start:end] for start, end in snippet.spans]


def test_highlight_marks_stemmed_forms_and_whole_phrases():
    text = "Exports were controlled last year. Now the US export controls widen; DeepSeek responds."
    snippet = highlight(parse_query('"export controls" DeepSeek'), text)
    assert marked(snippet) == ["export controls", "DeepSeek"]
    snippet = highlight(parse_query("export controls"), text)
    assert marked(snippet) == ["Exports", "controlled", "export", "controls"]


def test_highlight_skips_excluded_terms_and_cuts_around_the_best_passage():
    text = ("filler words " * 60) + "DeepSeek and Nvidia meet export controls. " + ("more filler " * 60)
    snippet = highlight(parse_query("DeepSeek export NOT Nvidia"), text, max_chars=120)
    assert snippet.text.startswith("… ") and snippet.text.endswith(" …")
    assert len(snippet.text) <= 124
    assert marked(snippet) == ["DeepSeek", "export"]


def test_highlight_without_a_match_shows_the_start():
    snippet = highlight(parse_query("absent"), "Short text here.\n\nSecond   paragraph.")
    assert snippet.text == "Short text here. Second paragraph."
    assert snippet.spans == ()


def test_an_index_of_an_older_version_is_replaced(tmp_path):
    directory = tmp_path / "index"
    directory.mkdir()
    (directory / "_articles_v0_3.toc").write_bytes(b"old table of contents")
    (directory / "articles_v0_abc123.pst").write_bytes(b"old postings")
    (directory / "notes.txt").write_text("not ours")
    index = SearchIndex(directory)
    assert index.created
    assert sorted(p.name for p in directory.iterdir() if "v0" in p.name or p.suffix == ".txt") == ["notes.txt"]
    index.close()
