"""Analysis and schema: how text becomes terms (case, accents, stems, acronyms, CJK), and the Whoosh schema.

The same analysis serves the segment writer, the schema (Whoosh's own writer),
queries and highlighting. Never reads or writes index files.

- Words are runs of letters and digits. A word is lowercased, folded to ASCII
  as Lucene's ASCIIFoldingFilter does (é→e, ü→u, ß→ss, æ→ae, ø→o, œ→oe) and
  Porter-stemmed; nothing is dropped (no stop words, no minimum length).
- A word written in capitals (two or more characters, every letter a capital,
  digits allowed: BIS, US, H20) also gets an acronym term at the same position:
  the word as written, accents folded, case kept, not stemmed. It holds a
  capital, which no lowercased term does, so `BIS` can never meet "bis"/"bi".
  Capitals that shout are not acronyms: a run of three or more words of
  letters in capitals, or a field (a title) whose two or more words of letters
  are all in capitals, is ordinary text (`THEY TOLD US` has no acronym US). A
  name with digits in capitals (H20, B200) is an acronym wherever it is, and
  the plural of an acronym (GPUs) is the acronym.
- Han, Hiragana, Katakana and Hangul runs become overlapping bigrams, one
  position each (美国商务部 → 美国 国商 商务 务部), as Lucene's CJK analyzer
  does; a one-character run is kept as it is. A CJK word in a query is the
  phrase of its bigrams, so any word of two or more characters is found
  without a dictionary, in any of those languages. A run's last character is
  indexed too (on the last bigram's position): a one-character query then
  finds the character as itself or as the start of a bigram.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import compress

from whoosh.analysis import Token, Tokenizer
from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN, TEXT, FieldType, Schema

from .files import _INDEX_FILE, INDEXNAME  # noqa: F401 - importable from here too
from .stemming import porter_stem

_CJK = (
    "\u1100-\u11ff\u3005-\u3007\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u3131-\u318e"
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7a3\ud7b0-\ud7ff\uf900-\ufaff"
    "\uff66-\uff9d\U00020000-\U0003134f"
)
CJK_RUN = re.compile(f"[{_CJK}]+")
# A token is a CJK run, or a run of other letters and digits: `DeepSeek发布R2` is three.
WORD_RE = re.compile(f"[^\\W{_CJK}]+|[{_CJK}]+")  # the commoner first (the two never overlap)
MAX_FIELD_CHARS = 400_000  # untrusted text: analyse at most this much of one field
SHOUTING_RUN = 3  # this many words in capitals in a row are a shouted sentence, not acronyms

# Letters without a decomposition to ASCII, as ASCIIFoldingFilter folds them.
_FOLD_SPECIAL = {
    "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE",
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ł": "l", "Ł": "L", "ı": "i",
    "ħ": "h", "Ħ": "H", "ŋ": "n", "Ŋ": "N", "ŧ": "t", "Ŧ": "T", "ſ": "s", "ĸ": "q", "ƒ": "f",
    "ŀ": "l", "Ŀ": "L", "ĳ": "ij", "Ĳ": "IJ",
}  # fmt: skip
_FOLDED_CHARS: dict[str, str] = {}
# Punctuation common in English text, none of it a word character: replaced by spaces, most
# texts are ASCII, which `_words` splits at C speed.
_COMMON_PUNCTUATION = "\u2019\u201c\u201d\u2014\u2013\u2026\u2018\u00a0\u2022\u00ab\u00bb\u2032"
# Latin-1 bytes (ASCII's among them) that are no word characters (`\w`) made spaces; the characters beyond it.
_LATIN1_SPACES = bytes(c if chr(c).isalnum() or chr(c) == "_" else 32 for c in range(256))
_BEYOND_LATIN1_RE = re.compile("[^\x00-\xff]")
_BEYOND_LATIN1 = _BEYOND_LATIN1_RE.findall
_REPLACE_AT_MOST = 8  # distinct symbols beyond Latin-1 cleared one `str.replace` each; more in one regex pass


def _fold_char(c: str) -> str:
    folded = _FOLDED_CHARS.get(c)
    if folded is None:
        folded = _FOLD_SPECIAL.get(c)
        if folded is None:
            bare = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x))
            folded = bare if bare.isascii() and bare.isalnum() else c  # other scripts stay as they are
        _FOLDED_CHARS[c] = folded
    return folded


def fold(word: str) -> str:
    """Accents and ligatures folded to ASCII, case kept (contrôles → controles, Straße → Strasse)."""
    return word if word.isascii() else "".join(map(_fold_char, word))


def _words(text: str) -> list[str]:
    """`WORD_RE.findall(text)`, faster for text that is ASCII but for common punctuation, and for
    text in Latin-1 but for characters that are not letters (box drawing, symbols, emoji)."""
    if not text.isascii():
        for c in _COMMON_PUNCTUATION:
            if c in text:
                text = text.replace(c, " ")
        if not text.isascii():
            return _latin1_words(text)
    # (As bytes: `bytes.translate` is ~5x faster than `str.translate`; encoding and decoding ASCII are copies.)
    return text.encode("ascii").translate(_LATIN1_SPACES).decode("ascii").split()


def _latin1_words(text: str) -> list[str]:
    """`_words` of a text beyond ASCII: the characters beyond Latin-1 that are no word characters
    made spaces, it is split as Latin-1 bytes at C speed; with letters or digits beyond Latin-1
    (Greek, Cyrillic, CJK...), by the word pattern."""
    beyond = set(_BEYOND_LATIN1(text))
    for c in beyond:
        if c.isalnum() or is_cjk(c):  # (`\w` is `isalnum` or "_"; a few code points of _CJK are neither)
            return WORD_RE.findall(text)
    if len(beyond) > _REPLACE_AT_MOST:  # one pass, not one a symbol: a page of emoji stays linear
        text = _BEYOND_LATIN1_RE.sub(" ", text)
    else:
        for c in beyond:
            text = text.replace(c, " ")
    # Decoded whole, then split: `str.split` makes each word at C speed, where decoding word by word cost a
    # call each. (Every byte the table keeps is a word character, none of which `str.split` splits on.)
    return text.encode("latin-1").translate(_LATIN1_SPACES).decode("latin-1").split()


def is_acronym_word(word: str) -> bool:
    """A word that reads as an acronym when written so: two or more characters, in capitals."""
    return len(word) >= 2 and word.isupper()


def is_acronym(term: str) -> bool:
    """Whether an analysed term is an acronym term (the only terms holding capitals)."""
    return term != term.lower()


def is_cjk(word: str) -> bool:
    return CJK_RUN.fullmatch(word) is not None


def bigrams(run: str) -> list[str]:
    """A CJK run's overlapping bigrams; a one-character run stays whole."""
    return [run] if len(run) < 2 else list(map(str.__add__, run[:-1], run[1:]))


def word_term(word: str) -> str:
    """The ordinary term of a (non-CJK) word: lowercased, folded, stemmed."""
    return porter_stem(fold(word.lower()))


# -- indexing: terms by position ----------------------------------------------------------------
#
# Each word seen is analysed once and cached as what the index stores: its ordinary term and,
# for a word in capitals (or an acronym's plural), its acronym term, in two dicts. A segment
# numbers the terms, and looks a field's words up by `map` on its own dict of numbers
# (`Numbering.words`), without a Python call per word. CJK runs
# (often whole sentences, rarely seen twice) are not cached: their term is None. A full cache
# is replaced, never cleared in place: a thread analysing meanwhile keeps a consistent pair.
_CACHES: tuple[dict[str, bytes], dict[str, bytes]] = ({}, {})  # word -> ordinary term, word -> acronym term
_STEMS: dict[str, bytes] = {}  # lowercased, folded word -> its term: `The` and `THE` are stemmed once
_CACHE_LIMIT = 500_000  # a long-lived daemon sees unbounded vocabulary


def _acronym_term(word: str) -> bytes | None:
    if is_acronym_word(word):
        return fold(word).encode()
    if word[-1:] == "s" and is_acronym_word(word[:-1]):  # a plural: GPUs, CEOs are the acronyms GPU, CEO
        return fold(word[:-1]).encode()
    return None


def _lookup(words: list[str]) -> tuple[list[bytes | None], dict[str, bytes]]:
    """Each word's ordinary term (None for a CJK run), and a dict holding the acronym term of
    every word of `words` that has one."""
    terms, acronyms = _CACHES
    found = list(map(terms.get, words))
    if None in found:
        analysed = {word: _analysed(word) for word in set(words)}
        found = [analysed[word][0] for word in words]
        acronyms = {word: acronym for word, (_term, acronym) in analysed.items() if acronym is not None}
    return found, acronyms


_ACRONYM = 1 << 31  # set on a word's number (`Numbering.words`) when the word has an acronym term too
_RUN = (1 << 32) - 1  # a CJK run's "number" there: its bigrams are numbered where it is read
_NUMPY_FROM = 64  # words in a field from which numpy finds its largest number faster than `max`


class _WordNumbers(dict):
    """word -> the number of its ordinary term, with `_ACRONYM` set when the word also has an
    acronym term, or `_RUN` for a CJK run (not kept). A word not seen yet in the segment is
    numbered on its first lookup (`__missing__`), so a field costs one C-level lookup a word."""

    def __init__(self, numbering: Numbering):
        super().__init__()
        self.numbering = numbering

    def __missing__(self, word: str) -> int:
        terms, acronyms = _CACHES
        term = terms.get(word)
        if term is None:
            term, acronym = _new_word(word)
            if term is None:
                return _RUN
        else:
            acronym = acronyms.get(word)
        numbering = self.numbering
        numbers = numbering.numbers
        number = numbers.get(term)
        if number is None:
            number = numbers[term] = len(numbering.terms)
            numbering.terms.append(term)
        if acronym is not None:
            numbering.acronyms[word] = numbering.number(acronym)
            number |= _ACRONYM
        self[word] = number
        return number


def _analysed(word: str) -> tuple[bytes | None, bytes | None]:
    """A word's ordinary term (None for a CJK run) and acronym term (or None), through the
    module's cache (the same words come back segment after segment)."""
    terms, acronyms = _CACHES
    term = terms.get(word)
    if term is not None:
        return term, acronyms.get(word)
    return _new_word(word)


def _new_word(word: str) -> tuple[bytes | None, bytes | None]:
    """`_analysed` of a word not in the module's cache yet."""
    global _CACHES, _STEMS
    terms, acronyms = _CACHES
    if not word.isascii() and is_cjk(word):
        return None, None
    if len(terms) >= _CACHE_LIMIT:
        terms, acronyms = _CACHES = ({}, {})
        _STEMS = {}
    base = word.lower()
    if not base.isascii():
        base = fold(base)
    term = _STEMS.get(base)
    if term is None:
        term = _STEMS[base] = porter_stem(base).encode()
    acronym = None if word.islower() else _acronym_term(word)  # (no capital: no acronym)
    if acronym is not None:
        acronyms[word] = acronym  # (first: a word in `terms` has its acronym here, for another thread too)
    terms[word] = term
    return term, acronym


class Numbering:
    """Terms numbered in the order first seen (the segment writer's term ids), and each word's
    term numbers (`words`, the acronym terms' in `acronyms`): analysing a field then costs one
    dict lookup a word. New words are analysed through the module's cache, which outlives one
    segment."""

    def __init__(self):
        self.terms: list[bytes] = []  # number -> term
        self.numbers: dict[bytes, int] = {}  # term -> number
        self.words = _WordNumbers(self)  # word -> number of its ordinary term (see `_WordNumbers`)
        self.acronyms: dict[str, int] = {}  # word -> number of its acronym term, for words that have one

    def number(self, term: bytes) -> int:
        found = self.numbers.get(term)
        if found is None:
            found = self.numbers[term] = len(self.terms)
            self.terms.append(term)
        return found


def _candidates(words: list[str], acronyms: dict[str, bytes]) -> list[int]:
    """The indices of the words that have an acronym term."""
    return list(compress(range(len(words)), map(acronyms.__contains__, words)))


def _run_terms(run: str) -> tuple[list[bytes], bytes | None]:
    """A CJK run's bigrams, and its last character (indexed too, on the last bigram's position,
    so a one-character query finds it: every other character starts a bigram); a one-character
    run is itself."""
    if len(run) < 2:
        return [run.encode()], None
    return list(map(str.encode, map(str.__add__, run[:-1], run[1:]))), run[-1].encode()


def _breaks_run(word: str) -> bool:
    """A word of letters not in capitals ends a run of capitals (numbers neither break nor join one)."""
    return not word.isupper() and word.isalpha()


def _acronyms_kept(words: list[str], candidates: list[int], whole: bool = True) -> list[int]:
    """Of the candidates (indices of words with an acronym term), those whose capitals count as an
    acronym here (see the module docstring).

    Only words of letters make a run of capitals: a model name with digits (H20,
    B200) is an acronym even in a shouted headline, and numbers neither break a
    run nor lengthen it. With `whole` false (one tag of several: the field is all of them),
    the rule for a field wholly in capitals is left out. Only the words between the two
    words that break a candidate's run are read, so a field costs one pass at most.
    """
    kept: list[int] = []
    n = len(words)
    end = -1  # the words [start, end) between two run breakers, around the last candidate read
    shouted = False
    for k in candidates:
        word = words[k]
        if not word.isalpha():
            if word.isupper():  # H20 (a digit and a capital); not the plural H20s
                kept.append(k)
            continue
        if not word.isupper():  # the plural of an acronym: GPUs
            kept.append(k)
            continue
        if k >= end:
            start = k
            while start > 0 and not _breaks_run(words[start - 1]):
                start -= 1
            end = k + 1
            while end < n and not _breaks_run(words[end]):
                end += 1
            # (no breaker: every word of letters is in capitals; most often the candidate alone)
            capitals = 1 if end - start == 1 else sum(1 for w in words[start:end] if w.isalpha())
            shouted = capitals >= SHOUTING_RUN or (whole and start == 0 and end == n and capitals >= 2)
        if not shouted:
            kept.append(k)
    return kept


def field_terms(text: str, *, whole: bool = True,
                numbering: Numbering | None = None) -> tuple[Sequence, list[tuple[int, bytes]]]:  # fmt: skip
    """The terms of one field: one per position, and (position, term) of the extra terms on the
    same positions (acronyms on their words, a CJK run's last character on its last bigram).
    Given a `numbering`, the terms are their numbers in it (a list, or an array of 4-byte ints)."""
    words = _words(text[:MAX_FIELD_CHARS])
    if numbering is not None:
        return _numbered_terms(words, whole, numbering)
    found, acronyms = _lookup(words)
    candidates = _candidates(words, acronyms)
    kept = _acronyms_kept(words, candidates, whole) if candidates else []
    if None not in found:  # no CJK: a word's position is its index
        return found, [(k, acronyms[words[k]]) for k in kept]
    return _with_runs(words, found, kept, acronyms, None)


def _numbered_terms(words: list[str], whole: bool, numbering: Numbering) -> tuple[Sequence[int], list[tuple[int, int]]]:
    """`field_terms` in numbers, an array of 4-byte ints (the segment writer's own): one lookup a
    word; the words with an acronym term (flagged in their numbers) are found and unflagged with
    numpy, only in a field that has any."""
    ids = array("I", map(numbering.words.__getitem__, words))
    if len(ids) < _NUMPY_FROM:
        top = max(ids, default=0)
    else:
        import numpy as np  # (loaded already by the segment writer; not at import: the rules load this module)

        top = int(np.frombuffer(ids, np.uint32).max())
    if top < _ACRONYM:  # no acronym, no CJK (most fields)
        return ids, []
    acronyms = numbering.acronyms
    if top == _RUN:  # a CJK run
        found = ids.tolist()
        candidates = [k for k, value in enumerate(found) if _ACRONYM <= value < _RUN]
        kept = _acronyms_kept(words, candidates, whole) if candidates else []
        unflagged = [None if value == _RUN else value & ~_ACRONYM for value in found]
        return _with_runs(words, unflagged, kept, acronyms, numbering.number)
    import numpy as np

    flagged = np.frombuffer(ids, np.uint32)
    candidates = np.flatnonzero(flagged >= _ACRONYM)
    flagged[candidates] -= _ACRONYM
    del flagged  # (an array viewed by numpy cannot grow)
    kept = _acronyms_kept(words, candidates.tolist(), whole)
    return ids, [(k, acronyms[words[k]]) for k in kept]


def _with_runs(words: list[str], found: list, kept: list[int], acronyms: dict,
               number: Callable[[bytes], int] | None) -> tuple[list, list[tuple[int, object]]]:  # fmt: skip
    """The terms and extra terms of a field holding CJK runs (their term None in `found`): a run
    takes one position a bigram, and its last character is an extra term (`_run_terms`)."""
    terms: list = []
    extras: list[tuple[int, object]] = []
    kept_set = set(kept)
    for k, value in enumerate(found):
        if value is not None:
            if k in kept_set:
                extras.append((len(terms), acronyms[words[k]]))
            terms.append(value)
        else:
            grams, last = _run_terms(words[k])
            terms += map(number, grams) if number else grams
            if last is not None:
                extras.append((len(terms) - 1, number(last) if number else last))
    return terms, extras


def spans(text: str) -> Iterator[tuple[int, str, int, int]]:
    """(position, term, start, end) of every term of `text`, in order: what `field_terms` stores,
    with where each term's characters are (a bigram's two characters, a word's whole span)."""
    matches = list(WORD_RE.finditer(text[:MAX_FIELD_CHARS]))
    words = [m.group() for m in matches]
    found, acronyms = _lookup(words)
    kept = set(_acronyms_kept(words, _candidates(words, acronyms)))
    position = 0
    for k, (m, word, value) in enumerate(zip(matches, words, found)):
        start = m.start()
        if value is None:
            grams, last = _run_terms(word)
            for j, term in enumerate(grams):
                yield position, term.decode(), start + j, start + j + len(term.decode())
                position += 1
            if last is not None:
                yield position - 1, last.decode(), m.end() - 1, m.end()
            continue
        yield position, value.decode(), start, m.end()
        if k in kept:
            yield position, acronyms[word].decode(), start, m.end()
        position += 1


class ReaderTokenizer(Tokenizer):
    """The analysis above as a Whoosh analyzer, for the schema: Whoosh's own writer,
    given a document, stores exactly the terms and positions `field_terms` gives ours;
    with mode="query" it gives a query's terms (`query_terms`)."""

    def __eq__(self, other):
        return self.__class__ is other.__class__

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):  # fmt: skip
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if mode == "query":  # what a query word or phrase looks for (no characters kept)
            for position, term in enumerate(query_terms(value)):
                token.text, token.boost, token.stopped = term, 1.0, False
                if positions:
                    token.pos = start_pos + position
                yield token
            return
        for position, term, start, end in spans(value):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[start:end]
            if positions:
                token.pos = start_pos + position
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


ANALYZER = ReaderTokenizer()


# -- queries --------------------------------------------------------------------------------------


def query_terms(text: str) -> list[str]:
    """The terms a query word or phrase looks for, one per position.

    As in articles, except that a word in capitals is its acronym term alone
    (`BIS` looks for BIS, not for "bis"), and nothing shouts: a query is
    written on purpose. A CJK word is its bigrams, to be found adjacent.
    """
    terms: list[str] = []
    for word in WORD_RE.findall(text):
        if is_cjk(word):
            terms += bigrams(word)
        else:
            terms.append(fold(word) if is_acronym_word(word) else word_term(word))
    return terms


def analyze(text: str) -> list[str]:
    """The terms of `text` as a query reads them (kept for callers that ask what a word becomes)."""
    return query_terms(text)


# -- schema ------------------------------------------------------------------------

ANALYSED_FIELDS = ("title", "text", "summary", "feed", "group", "author", "tags", "link")
# Where a term with no field prefix is looked for (the feed's and group's names
# are left out: a feed called "AI News" must not make every one of its articles match `AI`).
SEARCHED_FIELDS = ("title", "text", "summary", "author", "tags")
TAG_GAP = 100  # positions between two tags, so a phrase never spans two of them


def _schema() -> Schema:
    fields: dict[str, FieldType] = {name: TEXT(analyzer=ANALYZER, phrase=True) for name in ANALYSED_FIELDS}
    # The article id and date (whole minutes since 1970, UTC) are per-document
    # columns, read by docnum; date ranges are answered from the column too.
    return Schema(id=COLUMN(NumericColumn("Q")), date=COLUMN(NumericColumn("I")), **fields)


SCHEMA = _schema()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _minutes(dt: datetime, *, round_up: bool = False) -> int:
    """Minutes since 1970 (UTC); naive datetimes count as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    minutes, rest = divmod((dt - _EPOCH).total_seconds(), 60)
    return min(max(0, int(minutes) + (1 if round_up and rest else 0)), 2**32 - 1)


Part = tuple[int, list, list[tuple[int, bytes]]]  # (first position, terms, (position, term) of the extra terms)


def field_parts(value: str | Sequence[str], numbering: Numbering | None = None) -> list[Part]:
    """The parts of one field as the index stores them: (first position, the terms one per position
    from there, (position, term) of the extra terms); the parts of a sequence (tags) are TAG_GAP
    apart. Given a `numbering`, the terms are their numbers in it."""
    if isinstance(value, str):
        terms, extras = field_terms(value, numbering=numbering)
        return [(0, terms, extras)]
    parts = []
    start = 0
    for part in value:
        terms, extras = field_terms(part, whole=len(value) == 1, numbering=numbering)
        parts.append((start, terms, [(start + offset, term) for offset, term in extras]))
        start += len(terms) + TAG_GAP
    return parts
