"""newsboat filter expressions (its query feeds) -> the reader's query language, only where the meaning holds.

A translation is written only when the query means what the filter meant;
anything else raises `Untranslatable` with the reason, never a guess. Pure:
no store, no files.

What translates (newsboat matches regular expressions case-insensitively):
  title/content/author/feedtitle =~ "plain words"   ->  title:/text or summary:/author:/feed: word or "phrase"
  ... !~ "plain words"                              ->  NOT ...
  tags # "t", tags !# "t"                           ->  group:"t", NOT group:"t" (when t is that feed's group)
  age < N, <= N, > N, >= N, between A:B             ->  date:Nd spans (age is whole days since publication)
  and, or, parentheses                              ->  AND, OR, parentheses (newsboat groups right to left)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# newsboat attribute -> the query fields that hold the same text
TEXT_ATTRIBUTES = {"title": ("title",), "content": ("text", "summary"), "author": ("author",), "feedtitle": ("feed",)}
MAX_AGE_DAYS = 36_500
MAX_COMPARISONS = 200  # real query feeds hold a handful; the query language allows 4,096 terms
MAX_DEPTH = 64  # parentheses, as the query language allows
_TOKEN = re.compile(
    r"""\s*(?:(?P<open>\()|(?P<close>\))|(?P<op>=~|==|!=|!~|<=|>=|!\#|=|<|>|\#|between\b)"""
    r"""|(?P<string>"(?:[^"\\]|\\.)*")|(?P<range>-?\d+:-?\d+)|(?P<number>-?\d+)|(?P<name>[A-Za-z0-9_.-]+))"""
)
# A plain word or phrase: letters, digits, spaces, and the hyphens and apostrophes inside words.
_PLAIN = re.compile(r"\w+(?:[ '’-]+\w+)*")
_POSITIVE = {"!~": "=~", "!#": "#"}


class Untranslatable(Exception):
    """The filter has no faithful translation; str() says why."""


@dataclass(frozen=True)
class _Comparison:
    attribute: str
    op: str
    value: str  # a string's text (backslashes kept, as newsboat keeps them), a number or "a:b"
    kind: str  # "string" | "number" | "range"


@dataclass(frozen=True)
class _Logical:
    op: str  # "and" | "or"
    parts: tuple[_Node, ...]  # a chain of one operator, flattened: and/or are associative


_Node = _Comparison | _Logical


def translate(expression: str, tag_problem: Callable[[str], str | None]) -> str:
    """The query text for a newsboat filter expression, or Untranslatable with the reason.

    `tag_problem(tag)` says why `tags # "tag"` cannot become `group:"tag"` (None if it can).
    """
    tokens = _tokens(expression)
    comparisons = sum(kind == "op" for kind, _ in tokens)
    if comparisons > MAX_COMPARISONS:
        raise Untranslatable(f"{comparisons} comparisons; a saved search holds at most {MAX_COMPARISONS}")
    node, rest = _expression(tokens, 0, 0)
    if rest != len(tokens):
        raise Untranslatable(f"not a newsboat filter expression: unexpected {tokens[rest][1]!r}")
    return _without_outer_parentheses(_query(node, tag_problem))


def _without_outer_parentheses(text: str) -> str:
    """ "(a AND b)" -> "a AND b"; "(a) OR (b)" stays. Quoted words never hold parentheses."""
    depth = 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return text[1:-1] if position == len(text) - 1 and text.startswith("(") else text
    return text


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(expression.rstrip()):
        match = _TOKEN.match(expression, position)
        if match is None or match.end() == position:
            raise Untranslatable(f"not a newsboat filter expression: cannot read {expression[position:].strip()!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _expression(tokens: list[tuple[str, str]], i: int, depth: int) -> tuple[_Node, int]:
    """newsboat's grammar: comparisons or groups joined by `and`/`or`, nested to the right with no
    precedence (`a and b or c` is `a and (b or c)`)."""
    if depth > MAX_DEPTH:
        raise Untranslatable(f"parentheses nested deeper than {MAX_DEPTH}")
    node, i = _primary(tokens, i, depth)
    parts, ops = [node], []
    while i < len(tokens) and tokens[i][0] == "name" and tokens[i][1] in ("and", "or"):
        ops.append(tokens[i][1])
        node, i = _primary(tokens, i + 1, depth)
        parts.append(node)
    node = parts[-1]
    for op, left in zip(reversed(ops), reversed(parts[:-1]), strict=True):
        node = _Logical(op, _chain(op, left) + _chain(op, node))
    return node, i


def _chain(op: str, node: _Node) -> tuple[_Node, ...]:
    return node.parts if isinstance(node, _Logical) and node.op == op else (node,)


def _primary(tokens: list[tuple[str, str]], i: int, depth: int) -> tuple[_Node, int]:
    if i < len(tokens) and tokens[i][0] == "open":
        node, i = _expression(tokens, i + 1, depth + 1)
        if i >= len(tokens) or tokens[i][0] != "close":
            raise Untranslatable("not a newsboat filter expression: a '(' is never closed")
        return node, i + 1
    if len(tokens) < i + 3:
        raise Untranslatable("not a newsboat filter expression: a comparison is cut short")
    (name_kind, name), (op_kind, op), (value_kind, value) = tokens[i : i + 3]
    if name_kind != "name" or op_kind != "op" or value_kind not in ("string", "number", "range"):
        raise Untranslatable(f"not a newsboat filter expression: expected 'attribute operator value' at {name!r}")
    text = value[1:-1] if value_kind == "string" else value
    return _Comparison(name, op, text, value_kind), i + 3


def _query(node: _Node, tag_problem: Callable[[str], str | None]) -> str:
    if isinstance(node, _Logical):
        return "(" + f" {node.op.upper()} ".join(_query(part, tag_problem) for part in node.parts) + ")"
    positive = _POSITIVE.get(node.op, node.op)
    translated = _comparison(node, positive, tag_problem)
    return f"NOT {translated}" if positive != node.op else translated


def _comparison(node: _Comparison, op: str, tag_problem: Callable[[str], str | None]) -> str:
    """One comparison, with `op` made positive (the caller adds NOT for !~ and !#)."""
    attribute, value, kind = node.attribute, node.value, node.kind
    shown = f"{attribute} {node.op}"
    if attribute in TEXT_ATTRIBUTES:
        if op != "=~":
            raise Untranslatable(f"'{shown}' compares the whole field; the query language matches words")
        return _words(TEXT_ATTRIBUTES[attribute], _plain(value, kind))
    if attribute == "tags":
        if op != "#":
            raise Untranslatable(f"'{shown}' has no counterpart; tags translate only with '#' and '!#'")
        if '"' in value or "\\" in value or not value.strip():
            raise Untranslatable(f"the tag {value!r} cannot be written as a group name")
        if problem := tag_problem(value):
            raise Untranslatable(f"the tag {value!r} {problem}")
        return f'group:"{value}"'
    if attribute == "age":
        return _age(op, value, kind)
    if attribute == "unread":
        raise Untranslatable("the query language has no unread term (a saved search lists read and unread articles)")
    raise Untranslatable(f"attribute '{attribute}' has no counterpart in the query language")


def _plain(value: str, kind: str) -> str:
    """The value as plain words (lowercased: newsboat ignores case), or Untranslatable."""
    words = " ".join(value.split())
    if kind != "string" or not _PLAIN.fullmatch(words):
        raise Untranslatable(f'"{value}" is a regular expression, not a plain word or phrase')
    return words.lower()


def _words(fields: tuple[str, ...], words: str) -> str:
    term = words if re.fullmatch(r"\w+", words) else f'"{words}"'
    parts = [f"{field}:{term}" for field in fields]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def _age(op: str, value: str, kind: str) -> str:
    """`age` is the whole days since publication: age < N is "published within the last N days"."""
    if kind == "range" and op == "between":
        low, high = sorted(int(part) for part in value.split(":"))
        if low <= 0:
            return _age("<=", str(high), "number")
        return f"(date:{_days(high + 1)}d AND NOT date:{_days(low)}d)"
    if kind != "number" or op not in ("<", "<=", ">", ">="):
        raise Untranslatable(f"'age {op}' has no counterpart; age translates with <, <=, >, >= and between")
    days = int(value) + (1 if op in ("<=", ">") else 0)  # age <= N is age < N + 1
    return f"date:{_days(days)}d" if op in ("<", "<=") else f"NOT date:{_days(days)}d"


def _days(days: int) -> int:
    if not 1 <= days <= MAX_AGE_DAYS:
        raise Untranslatable(f"an age of {days} days is outside 1..{MAX_AGE_DAYS}")
    return days
