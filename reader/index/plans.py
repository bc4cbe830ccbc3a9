"""Query plans: a parsed query compiled into a small plan, explained, and reduced to the terms a match needs.

Never reads the index: `evaluation` runs the plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..query import And, DateRange, Node, Not, Or, Phrase, QueryError, Word
from ..query import parse as parse_syntax
from .analysis import SEARCHED_FIELDS, _minutes, is_acronym, is_cjk, query_terms

# -- queries ---------------------------------------------------------------------------
#
# A query is compiled into a small plan, and the plan is evaluated segment by
# segment on arrays (`evaluation`): each term's docnums are read whole, combined
# with array operations, and scored in bulk. Whoosh's own matchers cost ~50 µs
# per candidate document, too slow for a phrase found in 2,000 of 100,000 articles.


@dataclass(frozen=True)
class _Terms:
    """A word (one term) or a phrase (adjacent terms), in any of `fields`."""

    fields: tuple[str, ...]
    terms: tuple[str, ...]


@dataclass(frozen=True)
class _Char:
    """A single CJK character, in any of `fields`: inside any bigram, or standing alone."""

    fields: tuple[str, ...]
    char: str


@dataclass(frozen=True)
class _Window:
    """Dated in [low, high) minutes since 1970."""

    low: int
    high: int


@dataclass(frozen=True)
class _All:
    parts: tuple[Plan, ...]


@dataclass(frozen=True)
class _Any:
    parts: tuple[Plan, ...]


@dataclass(frozen=True)
class _Without:
    part: Plan


Plan = _Terms | _Char | _Window | _All | _Any | _Without


@dataclass(frozen=True)
class ParsedQuery:
    """A query ready to run: the text, what the user should be told, the syntax and the plan.

    `relative_dates` is true when the query says `date:7d` or similar: those
    are fixed at parse time, so parse again (with a fresh `now`) before reuse.
    """

    text: str
    warnings: tuple[str, ...]
    tree: Node
    plan: Plan
    relative_dates: bool


def parse_query(text: str, *, now: datetime | None = None) -> ParsedQuery:
    """Parse query text (see `reader.query` for the language); raises QueryError.

    Bare terms are ANDed: `DeepSeek export controls` needs all three words,
    each anywhere in the title, text, summary, author or tags (they may be in
    different fields).
    """
    syntax = parse_syntax(text, now=now)
    warnings = list(syntax.warnings)
    plan = _compile(syntax.tree, warnings)
    if plan is None:
        raise QueryError("nothing in the query can be searched for: it has no letters or digits", text, None)
    return ParsedQuery(text, tuple(warnings), syntax.tree, plan, syntax.relative_dates)


def _terms_of(node: Word | Phrase) -> list[str]:
    return query_terms(node.text)


def is_char(term: str) -> bool:
    """A lone CJK character: indexed only inside bigrams (or alone), so looked for by scanning."""
    return len(term) == 1 and is_cjk(term)


def char_parts(terms: tuple[str, ...]) -> list[tuple[str, ...]]:
    """A word's or phrase's terms split around its lone CJK characters, each a part of its own."""
    parts: list[tuple[str, ...]] = []
    run: list[str] = []
    for term in terms:
        if is_char(term):
            parts += [tuple(run), (term,)] if run else [(term,)]
            run = []
        else:
            run.append(term)
    return parts + [tuple(run)] if run else parts


def _terms_plan(fields: tuple[str, ...], terms: tuple[str, ...]) -> Plan:
    """A word or phrase; lone CJK characters in it are looked for on their own (a looser match)."""
    plans = [_Char(fields, part[0]) if is_char(part[0]) else _Terms(fields, part) for part in char_parts(terms)]
    unique = tuple(dict.fromkeys(plans))
    return unique[0] if len(unique) == 1 else _All(unique)


def _fields_of(node: Word | Phrase) -> tuple[str, ...]:
    return (node.field,) if node.field else SEARCHED_FIELDS


def _compile(node: Node, warnings: list[str]) -> Plan | None:
    """The plan for a syntax tree; None for parts with nothing searchable (with a warning)."""
    match node:
        case Word() | Phrase():
            terms = tuple(_terms_of(node))
            if not terms:
                warnings.append(f"'{node.text}' has no letters or digits, so it is ignored")
                return None
            return _terms_plan(_fields_of(node), terms)
        case DateRange(start, end):
            return _Window(_minutes(start) if start else 0, _minutes(end, round_up=True) if end else 2**32)
        case Not(child):
            inner = _compile(child, warnings)
            return None if inner is None else _Without(inner)
        case And(children) | Or(children):
            parts = tuple(p for p in (_compile(c, warnings) for c in children) if p is not None)
            if not parts:
                return None
            return parts[0] if len(parts) == 1 else (_All if isinstance(node, And) else _Any)(parts)
    raise TypeError(node)


def explain(q: ParsedQuery) -> str:
    """The query as the engine runs it: structure, fields, and analysed (stemmed) terms."""
    lines = [f"query: {q.text}"]
    lines += _explain_node(q.tree, "  ")
    lines.append(
        "Bare terms must ALL match (AND); each may be in a different field. "
        f"'any text field' means one of: {', '.join(SEARCHED_FIELDS)}. "
        "Words match after lowercasing, accent folding and stemming (contrôles = controls = control); "
        "a word in capitals is an acronym and matches only itself in capitals (BIS, not bis); "
        "Chinese, Japanese and Korean words match as runs of overlapping character pairs."
    )
    lines += [f"warning: {w}" for w in q.warnings]
    return "\n".join(lines)


def _explain_node(node: Node, indent: str) -> list[str]:
    match node:
        case Word() | Phrase():
            terms = _terms_of(node)
            where = f"in {node.field}" if node.field else "in any text field"
            if not terms:
                return [f"{indent}(ignored: '{node.text}' has no letters or digits)"]
            shown = _shown_terms(node, terms)
            return [f"{indent}{shown} {where}"]
        case DateRange(start, end, text):
            since = f"on or after {start:%Y-%m-%d %H:%M}" if start else ""
            until = f"before {end:%Y-%m-%d %H:%M}" if end else ""
            return [f"{indent}date {' and '.join(filter(None, (since, until)))} UTC (date:{text})"]
        case Not(child):
            return [f"{indent}NOT (must not match):", *_explain_node(child, indent + "  ")]
        case And(children):
            return [f"{indent}ALL of:", *(line for c in children for line in _explain_node(c, indent + "  "))]
        case Or(children):
            return [f"{indent}ANY of:", *(line for c in children for line in _explain_node(c, indent + "  "))]
    raise TypeError(node)


def _shown_terms(node: Word | Phrase, terms: list[str]) -> str:
    """`word "control" (from "controls")`, `acronym "BIS" (case kept, not stemmed)`, `phrase "…"`."""
    if len(terms) == 1:
        term = terms[0]
        if is_acronym(term):
            return f'acronym "{term}" (case kept, not stemmed)'
        if is_char(term):
            return f'character "{term}" (alone or inside any Chinese/Japanese/Korean word)'
        return f'word "{term}"' + (f' (from "{node.text}")' if term != node.text.lower() else "")
    parts = [f"{t} (acronym)" if is_acronym(t) else t for t in terms]
    shown = f'phrase "{" ".join(parts)}"'
    return shown + (f' (from "{node.text}")' if isinstance(node, Word) or any(map(is_cjk, terms)) else "")


def words_only(q: ParsedQuery) -> bool:
    """Whether the plan is words and dates alone (no phrase, no lone CJK character to scan for): its first
    matches then cost reading each word's docnums, never positions (a few ms at 100,000 articles)."""
    return _words_only(q.plan)


def _words_only(plan: Plan) -> bool:
    match plan:
        case _Terms(_fields, terms):
            return len(terms) == 1
        case _Window():
            return True
        case _All(parts) | _Any(parts):
            return all(map(_words_only, parts))
        case _Without(part):
            return _words_only(part)
    return False  # a lone CJK character: found by scanning


Clause = frozenset[tuple[str, str]]


def required_terms(q: ParsedQuery) -> tuple[Clause, ...]:
    """What any match must contain, for skipping rules cheaply before searching.

    A tuple of clauses: a matching article holds at least one (field, term)
    of every clause. An empty tuple means nothing is required (e.g. a query
    that only excludes), so the query must always be run.
    """
    return _required(q.plan)


def _required(plan: Plan) -> tuple[Clause, ...]:
    match plan:
        case _Terms(fields, terms):
            return tuple(frozenset((f, t) for f in fields) for t in dict.fromkeys(terms))
        case _All(parts):
            return tuple(clause for p in parts for clause in _required(p))
        case _Any(parts):
            needs = [_required(p) for p in parts]
            if not all(needs):
                return ()
            return (frozenset(term for need in needs for clause in need for term in clause),)
    return ()  # exclusions and dates require no particular term


