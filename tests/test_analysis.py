"""The analyzer: acronyms and shouted capitals, accent folding, CJK bigrams; the same in the
Whoosh tokenizer of the schema, in a real index, in highlights and in the terms alerts skip on."""

from __future__ import annotations

import random

import pytest
from whoosh.lang import porter as _porter
from whoosh.lang.porter import stem

from reader.index import ANALYZER, SearchIndex, highlight, parse_query, required_terms
from reader.index.analysis import WORD_RE, Numbering, _words, field_terms, fold, is_acronym, query_terms
from reader.index.stemming import _stem, _suffixes, _whoosh_stem
from tests.test_index import NOW, row


def acronyms(text: str) -> list[str]:
    return [term.decode() for _position, term in field_terms(text)[1] if is_acronym(term.decode())]


@pytest.mark.parametrize(("text", "expected"), [
    ("BIS and the US act; H20, R2, SMIC", ["BIS", "US", "H20", "R2", "SMIC"]),
    ("The US EU summit", ["US", "EU"]),  # two in a row are acronyms
    ("THEY TOLD US THE TRUTH", []),  # a shouted sentence: three or more in a row
    ("Breaking: THE US WILL ACT, he said", []),
    ("IT WORKS", []),  # a field written entirely in capitals (a shouted title)
    ("BIS", ["BIS"]),  # ... but one word alone is an acronym
    ("US 2025 EU report", ["US", "EU"]),  # numbers neither join nor break a run
    ("美国BIS对华为实施H20出口管制", ["BIS", "H20"]),  # CJK text has no lowercase, and does not shout
    ("A I x", []),  # one letter is never an acronym
    ("NVIDIA H20 BANNED IN CHINA", ["H20"]),  # a name with digits is one even in a shouted headline
    ("the H20, H800, B200 chips", ["H20", "H800", "B200"]),
    ("ÖPNV streik", ["OPNV"]),  # folded, case kept
    ("Nvidia GPUs and CEOs, Ms Li, Its", ["GPU", "CEO"]),  # plurals of acronyms
])  # fmt: skip
def test_words_in_capitals_are_acronyms_unless_they_shout(text, expected):
    assert acronyms(text) == expected


def test_acronyms_sit_on_their_words_positions():
    terms, extra = field_terms("the BIS rules")
    assert terms == [b"the", b"bi", b"rule"] and extra == [(1, b"BIS")]


def test_a_cjk_run_is_its_bigrams_and_its_last_character():
    terms, extra = field_terms("华为发布 R2 年")
    assert [t.decode() for t in terms] == ["华为", "为发", "发布", "r2", "年"]
    assert [(p, t.decode()) for p, t in extra] == [(2, "布"), (3, "R2")]


def test_queries_read_capitals_as_acronyms_and_never_shout():
    assert query_terms("BIS US EU IT") == ["BIS", "US", "EU", "IT"]
    assert query_terms("bis us Us") == ["bi", "us", "us"]
    assert query_terms("DeepSeek-R1") == ["deepseek", "R1"]


@pytest.mark.parametrize(("accented", "plain"), [
    ("contrôles", "controles"), ("européenne", "europeenne"), ("Übersee", "Ubersee"), ("naïve", "naive"),
    ("Straße", "Strasse"), ("Æsir", "AEsir"), ("Øresund", "Oresund"), ("œuvre", "oeuvre"), ("ＡＩ", "AI"),
])  # fmt: skip
def test_accents_fold_as_lucene_folds_them(accented, plain):
    assert fold(accented) == plain
    assert query_terms(accented) == query_terms(plain)


def test_other_scripts_are_not_folded_away():
    assert fold("Москва й") == "Москва й"
    assert query_terms("ガス") == ["ガス"]  # the voiced mark is part of the letter, not an accent


def test_cjk_runs_become_bigrams_and_mixed_text_splits_by_script():
    assert query_terms("出口管制") == ["出口", "口管", "管制"]
    assert query_terms("DeepSeek发布R2") == ["deepseek", "发布", "R2"]
    assert query_terms("华") == ["华"]
    assert query_terms("반도체") == ["반도", "도체"]


def test_the_schemas_whoosh_tokenizer_gives_what_the_segment_writer_stores():
    rnd = random.Random(5)
    words = ["BIS", "us", "US", "IT", "it", "THE", "NEW", "RULES", "2025", "H20", "contrôles", "Straße", "A",
             "美国商务部", "华为", "の", "半導体", "반도체를", "DeepSeek", "R2", "naïve", "ÖPNV", "ＡＩ", "x", "GPUs", "年"]
    for _ in range(200):
        text = " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 12)))
        terms, extra = field_terms(text)
        expected = sorted([(p, t.decode()) for p, t in enumerate(terms)] + [(p, t.decode()) for p, t in extra])
        got = sorted((token.pos, token.text) for token in ANALYZER(text, positions=True))
        assert got == expected, text


def test_words_are_the_word_pattern_s_on_any_text_and_numbered_terms_are_the_terms():
    """The fast paths (ASCII text, common punctuation replaced, Latin-1 text once symbols are
    spaces, terms numbered per segment) change nothing."""
    rnd = random.Random(7)
    pool = ("a", "Z", "7", "_", " ", "-", "'", ".", "\t", "\x1c", "\x7f", "\u2019", "\u201c", "\u2014",
            "\u00a0", "\u2026", "é", "ß", "²", "½", "美", "国", "반", "ＡＩ", "\u200b", "\u0301", "US", "GPUs", "H20",
            "ü", "\xad", "ª", "¼", "ÿ", "×", "═", "″", "😉", "\ufe0f", "\u2004", "π", "Ж", "\ua97d")
    numbering = Numbering()
    for _ in range(500):
        text = "".join(rnd.choice(pool) for _ in range(rnd.randint(0, 30)))
        assert _words(text) == WORD_RE.findall(text), repr(text)
        terms, extras = field_terms(text)
        numbered, numbered_extras = field_terms(text, numbering=numbering)
        assert [numbering.terms[n] for n in numbered] == terms, repr(text)
        assert [(p, numbering.terms[n]) for p, n in numbered_extras] == extras, repr(text)


def test_the_stem_is_whooshs_porter_stem_whatever_the_last_letter():
    """Words ending in a letter no Porter suffix ends with skip the stemmer: the same stems."""
    rnd = random.Random(9)
    letters = "abcdefghijklmnopqrstuvwxyz0_é"
    words = {"".join(rnd.choice(letters) for _ in range(rnd.randint(1, 12))) for _ in range(20_000)}
    words |= {"generalization", "hopefulness", "controlled", "hopping", "agreed", "sky", "fall", "bio", "2025"}
    assert [_stem(w) for w in sorted(words)] == [stem(w) for w in sorted(words)]


def test_our_porter_stemmer_is_whooshs_on_words_made_of_its_suffixes():
    """`_whoosh_stem` (suffixes found by `endswith`) is Whoosh's `stem` on words built to reach every
    step: random letters (vowels, y, doubled consonants) followed by one or two Porter suffixes."""
    rnd = random.Random(11)
    suffixes = [*_porter._step2list, *_porter._step3list, *_suffixes(_porter._step4_1)]
    suffixes += ["s", "ss", "sses", "ies", "ed", "eed", "ing", "y", "e", "ll", "ion", "sion", "tion", "at", "bl", "iz"]
    suffixes += ["ying", "ated"]
    letters = "aeiouyybcdfglmnprstvwxzsllte0_é"
    words = {"ational", "relational", "hopping", "hopped", "filing", "agreed", "feed", "sky", "yelling", "sensibility",
             "generalizations", "oscillators", "controlling", "fall", "ion", "ation", "yes", "y", ""}  # fmt: skip
    for _ in range(30_000):
        word = "".join(rnd.choice(letters) for _ in range(rnd.randint(0, 7)))
        word += "".join(rnd.choice(suffixes) for _ in range(rnd.choice((0, 1, 1, 1, 2))))
        words.add(("y" if rnd.random() < 0.1 else "") + word)
    assert [_whoosh_stem(w) for w in sorted(words)] == [stem(w) for w in sorted(words)]


@pytest.fixture
def index(tmp_path):
    index = SearchIndex(tmp_path / "index", lock_timeout=0.5)
    index.add([
        row(1, "BIS tightens rules", "The US acts."),
        row(2, "Ten BI dashboards", "bis repetita; they told us"),
        row(3, "美国商务部宣布对华为实施新的出口管制"),
        row(4, "华盛顿为此发表声明", "出口增长，管制放松。"),
        row(5, "2025年发布", "单"),
        row(6, "Les contrôles", "Straße"),
    ])  # fmt: skip
    yield index
    index.close()


def ids(index: SearchIndex, query: str) -> set[int]:
    return {hit.article_id for hit in index.search(parse_query(query, now=NOW), limit=None)}


@pytest.mark.parametrize(("query", "expected"), [
    ("BIS", {1}), ("bis", {1, 2}), ("US", {1}), ("us", {1, 2}), ('"BIS tightens"', {1}), ('"bis tightens"', {1}),
    ("华为", {3}), ('"出口管制"', {3}), ("出口 管制", {3, 4}), ("华", {3, 4}), ("制", {3, 4}), ("部", {3}),
    ("单", {5}), ("年", {5}), ("2025年", {5}), ("为此", {4}),
    ("controles", {6}), ("contrôles", {6}), ("strasse", {6}), ("Strasse", {6}),
])  # fmt: skip
def test_the_index_finds_each_form(index, query, expected):
    assert ids(index, query) == expected


def test_alerts_skip_rules_by_the_acronym_term(index):
    assert required_terms(parse_query("BIS")) == (frozenset((f, "BIS") for f in ("title", "text", "summary",
                                                                                 "author", "tags")),)  # fmt: skip
    present = index.segment_terms([1, 2])
    assert ("title", "BIS") in present and ("title", "BI") in present and ("text", "US") in present
    assert ("text", "bi") in present


def test_highlights_mark_acronyms_words_and_characters():
    def marked(query: str, text: str, field: str | None = None) -> list[str]:
        snippet = highlight(parse_query(query), text, field=field)
        return [snippet.text[s:e] for s, e in snippet.spans]

    assert marked("BIS", "BIS, bis and BI") == ["BIS"]
    assert marked("bis", "BIS, bis and BI") == ["BIS", "bis", "BI"]
    assert marked("华为", "美国商务部宣布对华为实施") == ["华为"]
    assert marked('"出口管制"', "新的出口管制") == ["出口管制"]
    assert marked("制", "管制") == ["制"]
    assert marked("controles", "Les contrôles") == ["contrôles"]
    assert marked("title:H20", "the H20", field="text") == []
    assert marked("title:H20", "the H20", field="title") == ["H20"]
    assert marked("title:H20", "the H20") == ["H20"]  # no field given: any text field


def test_a_text_of_many_symbols_beyond_latin1_splits_as_the_word_pattern_does():
    """Past a few distinct symbols the fast split clears them in one pass (a page listing every emoji
    stays linear); the words must be the pattern's either way."""
    rng = random.Random(7)
    symbols = [chr(0x1F300 + i) for i in range(400)] + [chr(0xE000 + i) for i in range(400)]
    for count in (1, 8, 9, 800):
        text = "café " + " ".join(rng.choice(symbols[:count]) + rng.choice(["mot", "ÿ", "ª1"]) for _ in range(3000))
        assert _words(text) == WORD_RE.findall(text)
