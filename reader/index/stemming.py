"""Whoosh's Porter stemmer, cached for the process: the index's analysis and the story grouper stem the same words.

Both run in the same worker processes (a feed's story features, then its
articles' segment), so each word is stemmed once there. Imports nothing but
the stemmer (the story grouper must not load the rest of Whoosh). Never splits
or folds text: it is given lowercased words.
"""

from __future__ import annotations

from whoosh.lang import porter as _porter

# The last letters of every suffix the Porter stemmer takes off or rewrites (its steps 1a to 5,
# and a final "ll"): a word ending in anything else (a digit, k, h, o, a, p...) is its own stem.
_STEMMED_ENDINGS = frozenset("sdgyirnmelctu")
_LIMIT = 500_000  # words kept at most (a long-lived daemon sees unbounded vocabulary)
_STEMS: dict[str, str] = {}


def _suffixes(step) -> tuple[str, ...]:
    """The suffixes a step's pattern (`^(.+?)(a|b|...)$`) takes off."""
    return tuple(step.pattern[len("^(.+?)(") : -len(")$")].split("|"))


# Whoosh's `stem` (whoosh.lang.porter) tries its steps' patterns on every word, each scanning the
# word at every position for any of its suffixes: most of its time. `_whoosh_stem` is the same
# function, step for step, with the same patterns for every test of a stem's measure, but looks
# for a step's suffixes with `str.endswith` first, then by length (tested against `stem` on every
# word of the real feeds and millions of made-up ones).
_STEP2, _STEP3, _STEP4 = _suffixes(_porter._step2), _suffixes(_porter._step3), _suffixes(_porter._step4_1)
_MGR0, _MGR1, _MEQ1 = _porter._mgr0.match, _porter._mgr1.match, _porter._meq1.match
_S_V, _C_V, _STEP1B = _porter._s_v.match, _porter._c_v.match, _porter._step1b.match


def _lengths(suffixes: tuple[str, ...]) -> tuple[tuple[int, frozenset[str]], ...]:
    """The suffixes by length, longest first."""
    lengths = sorted({*map(len, suffixes)}, reverse=True)
    return tuple((n, frozenset(s for s in suffixes if len(s) == n)) for n in lengths)


_BY_LENGTH2, _BY_LENGTH3, _BY_LENGTH4 = _lengths(_STEP2), _lengths(_STEP3), _lengths(_STEP4)


def _longest(w: str, by_length: tuple[tuple[int, frozenset[str]], ...]) -> int:
    """The length of the longest suffix ending `w` after at least one letter (a step's
    `^(.+?)(...)$`: the shortest stem), 0 if none."""
    for n, suffixes in by_length:
        if len(w) > n and w[-n:] in suffixes:
            return n
    return 0


def _whoosh_stem(w: str) -> str:
    """`whoosh.lang.porter.stem(w)`, faster (see above)."""
    if len(w) < 3:
        return w
    first_is_y = w[0] == "y"
    if first_is_y:
        w = "Y" + w[1:]
    # Step 1a
    if w[-1] == "s":
        if w.endswith("sses") or w.endswith("ies"):
            w = w[:-2]
        elif w[-2] != "s":
            w = w[:-1]
    # Step 1b
    if w[-1] in "dg":
        if w.endswith("eed"):
            if _MGR0(w[:-3]):
                w = w[:-1]
        elif w.endswith("ed") or w.endswith("ing"):
            stem = w[:-2] if w[-1] == "d" else w[:-3]
            if _S_V(stem):
                w = stem
                if w in ("at", "bl", "iz"):  # (Whoosh's `match` anchors its "(at|bl|iz)$" at the start)
                    w += "e"
                elif _STEP1B(w):
                    w = w[:-1]
                elif _C_V(w):
                    w += "e"
    # Step 1c
    if w[-1] == "y":
        stem = w[:-1]
        if _S_V(stem):
            w = stem + "i"
    # Steps 2 and 3: the suffix replaced when the stem before it has a measure above 0
    if w.endswith(_STEP2):
        n = _longest(w, _BY_LENGTH2)
        if n and _MGR0(w[:-n]):
            w = w[:-n] + _porter._step2list[w[-n:]]
    if w.endswith(_STEP3):
        n = _longest(w, _BY_LENGTH3)
        if n and _MGR0(w[:-n]):
            w = w[:-n] + _porter._step3list[w[-n:]]
    # Step 4: the suffix taken off a stem of measure above 1; only without one, -ion after s or t
    n = _longest(w, _BY_LENGTH4) if w.endswith(_STEP4) else 0
    if n:
        if _MGR1(w[:-n]):
            w = w[:-n]
    elif (w.endswith("sion") or w.endswith("tion")) and len(w) > 4 and _MGR1(w[:-3]):
        w = w[:-3]
    # Step 5
    if w[-1] == "e" and len(w) > 1:
        stem = w[:-1]
        if _MGR1(stem) or (_MEQ1(stem) and not _C_V(stem)):
            w = stem
    if w.endswith("ll") and _MGR1(w):
        w = w[:-1]
    if first_is_y:
        w = "y" + w[1:]
    return w


def _stem(word: str) -> str:
    """Whoosh's Porter stem of a lowercased word, without the call where it cannot change the word."""
    return _whoosh_stem(word) if word[-1:] in _STEMMED_ENDINGS else word


def porter_stem(word: str) -> str:
    """Whoosh's Porter stem of a lowercased word (`stem(word)`), each word stemmed once per process."""
    global _STEMS
    found = _STEMS.get(word)
    if found is None:
        if len(_STEMS) >= _LIMIT:
            _STEMS = {}  # replaced, not cleared: a thread stemming meanwhile is unaffected
        found = _STEMS[word] = _whoosh_stem(word) if word[-1:] in _STEMMED_ENDINGS else word  # (`_stem`)
    return found
