"""Whoosh's Porter stemmer, cached for the process: the index's analysis and the story grouper stem the same words.

Both run in the same worker processes (a feed's story features, then its
articles' segment), so each word is stemmed once there. Imports nothing but
the stemmer (the story grouper must not load the rest of Whoosh). Never splits
or folds text: it is given lowercased words.
"""

from __future__ import annotations

from whoosh.lang.porter import stem

# The last letters of every suffix the Porter stemmer takes off or rewrites (its steps 1a to 5,
# and a final "ll"): a word ending in anything else (a digit, k, h, o, a, p...) is its own stem.
_STEMMED_ENDINGS = frozenset("sdgyirnmelctu")
_LIMIT = 500_000  # words kept at most (a long-lived daemon sees unbounded vocabulary)
_STEMS: dict[str, str] = {}


def _stem(word: str) -> str:
    """Whoosh's Porter stem of a lowercased word, without the call where it cannot change the word."""
    return stem(word) if word[-1:] in _STEMMED_ENDINGS else word


def porter_stem(word: str) -> str:
    """Whoosh's Porter stem of a lowercased word (`stem(word)`), each word stemmed once per process."""
    global _STEMS
    found = _STEMS.get(word)
    if found is None:
        if len(_STEMS) >= _LIMIT:
            _STEMS = {}  # replaced, not cleared: a thread stemming meanwhile is unaffected
        found = _STEMS[word] = _stem(word)
    return found
