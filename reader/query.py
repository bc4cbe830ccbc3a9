"""The query language of the reader: its syntax, with no search engine in sight.

One language serves the search box, `reader search`, saved searches and alert
rules. This module turns query text into a small syntax tree and says what is
wrong with it, with a position; `reader.index` gives the tree its meaning
(analysis, fields, the engine's query objects).

    DeepSeek "export controls"          bare terms: ALL must appear (AND),
                                        each anywhere in the text fields
    DeepSeek AND (chips OR GPUs)        AND / OR / NOT in capitals, parentheses
    -group:Tech, NOT group:Tech         exclusion
    title:DeepSeek  feed:"MIT Technology Review"  tag:policy  title:(a OR b)
    date:>=2025-01-01  date:<2025-06-01  date:2025-03  date:2025-01-01..2025-02-01
    date:30m  date:24h  date:7d  date:3mo  within the last N minutes, hours, days, weeks (w),
                                        months (mo) or years (y): the spans of `--since`

NOT binds tighter than AND, and AND tighter than OR: `a b OR c` is
`(a AND b) OR c` (the parser warns when a query mixes them without
parentheses). Lowercase `and`/`or`/`not` are ordinary words, with a warning.
Dates are whole UTC periods: `date:2025-03` is all of March, `<=2025-03-04`
includes that day, `A..B` includes both ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from .dates import FORMS, DateError, parse_span, period
from .dates import utc as _utc

# The field prefixes a query may use, and the index field each one searches.
FIELD_PREFIXES: dict[str, str] = {
    "title": "title",
    "text": "text",
    "summary": "summary",
    "feed": "feed",
    "group": "group",
    "author": "author",
    "tag": "tags",
    "link": "link",
}
DATE_PREFIX = "date"
OPERATORS = ("AND", "OR", "NOT")
# Bounds that keep one pathological query (a rule nested 200 deep, 1,000 NOTs, a pasted book) from
# exhausting the stack or the time of every search and every match after it.
MAX_DEPTH = 64  # nested parentheses and NOTs
MAX_TERMS = 4096  # words, phrases and dates


class QueryError(ValueError):
    """A query that does not parse. `message` names the column; str() adds a caret line."""

    def __init__(self, message: str, text: str = "", position: int | None = None):
        super().__init__(message)
        self.message = message
        self.text = text
        self.position = position

    def __str__(self) -> str:
        if self.position is None or not self.text:
            return self.message
        shown = "".join(" " if not c.isprintable() else c for c in self.text)
        return f"{self.message}\n  {shown}\n  {' ' * self.position}^"


# -- the syntax tree -----------------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str  # as typed; may analyse to several terms (DeepSeek-R1)
    field: str | None  # an index field, or None for every text field
    position: int


@dataclass(frozen=True)
class Phrase:
    text: str
    field: str | None
    position: int


@dataclass(frozen=True)
class DateRange:
    start: datetime | None  # inclusive, aware UTC
    end: datetime | None  # exclusive, aware UTC
    text: str
    position: int


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Word | Phrase | DateRange | And | Or | Not


@dataclass(frozen=True)
class Syntax:
    """A parsed query: its tree, what the user should know, and whether it depends on `now`."""

    tree: Node
    warnings: tuple[str, ...]
    relative_dates: bool


def render(node: Node) -> str:
    """The tree as query text, with every grouping in parentheses."""
    match node:
        case Word(text, field) | Phrase(text, field):
            value = f'"{text}"' if isinstance(node, Phrase) else text
            return f"{_prefix_of(field)}:{value}" if field else value
        case DateRange(text=text):
            return f"date:{text}"
        case Not(child):
            return f"NOT {_grouped(child)}"
        case And(children):
            return " AND ".join(_grouped(c) for c in children)
        case Or(children):
            return " OR ".join(_grouped(c) for c in children)
    raise TypeError(node)


def _grouped(node: Node) -> str:
    return f"({render(node)})" if isinstance(node, And | Or) else render(node)


def _prefix_of(field: str) -> str:
    return next(prefix for prefix, name in FIELD_PREFIXES.items() if name == field)


# -- lexing ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # WORD, PHRASE, DATE, LPAREN, RPAREN, AND, OR, NOT
    text: str
    position: int  # where the token starts (its field prefix, if any)
    value_position: int = 0  # where the value after a prefix starts
    field: str | None = None


@dataclass(frozen=True)
class _DateToken(_Token):
    start: datetime | None = None
    end: datetime | None = None


_SEPARATORS = set('()"') | {" ", "\t", "\n", "\r"}
_FIELD_RE = re.compile(r"([A-Za-z]+):")
_LOWERCASE_OPERATOR_HINTS = {
    "and": "write AND, or nothing at all: every term is already required",
    "or": "write OR to mean either term",
    "not": "write NOT to exclude the next term",
}


class _Lexer:
    def __init__(self, text: str, now: datetime):
        self.text = text
        self.now = now
        self.i = 0
        self.tokens: list[_Token] = []
        self.relative_dates = False

    def error(self, message: str, position: int) -> QueryError:
        return QueryError(f"{message} (column {position + 1})", self.text, position)

    def run(self) -> list[_Token]:
        text = self.text
        while self.i < len(text):
            c = text[self.i]
            if c.isspace():
                self.i += 1
            elif c in "()":
                kind = "LPAREN" if c == "(" else "RPAREN"
                self.tokens.append(_Token(kind, c, self.i, self.i))
                self.i += 1
            elif c == "-" and self._negation_follows():
                self.tokens.append(_Token("NOT", "-", self.i, self.i))
                self.i += 1
            else:
                self._value(self.i, None)
        return self.tokens

    def _negation_follows(self) -> bool:
        """A leading '-' negates what follows it directly (not '-' alone, nor 'a-b')."""
        nxt = self.text[self.i + 1 : self.i + 2]
        return bool(nxt) and not nxt.isspace() and nxt not in ")-"

    def _value(self, start: int, field: str | None) -> None:
        """A phrase, a group, or a word at self.i, maybe behind a field prefix at `start`."""
        text, here = self.text, self.i
        if text[here] == '"':
            close = text.find('"', here + 1)
            if close < 0:
                raise self.error("this quote is never closed", here)
            self.tokens.append(_Token("PHRASE", text[here + 1 : close], start, here, field))
            self.i = close + 1
            return
        if text[here] == "(":  # only reached behind a field prefix
            self.tokens.append(_Token("LPAREN", "(", start, here, field))
            self.i += 1
            return
        end = here
        while end < len(text) and text[end] not in _SEPARATORS:
            end += 1
        word = text[here:end]
        prefix = _FIELD_RE.match(word)
        if field is None and prefix and not word.startswith("//", prefix.end()):
            self._fielded(prefix.group(1).lower(), start)
            return
        self.i = end
        kind = word if word in OPERATORS and field is None else "WORD"
        self.tokens.append(_Token(kind, word, start, here, field))

    def _fielded(self, name: str, start: int) -> None:
        self.i = start + len(name) + 1
        if name == DATE_PREFIX:
            self._date(start)
        elif name in FIELD_PREFIXES:
            if self.i >= len(self.text) or self.text[self.i].isspace() or self.text[self.i] == ")":
                raise self.error(f"'{name}:' needs a value", start)
            self._value(start, FIELD_PREFIXES[name])
        else:
            known = ", ".join([*dict.fromkeys(FIELD_PREFIXES), DATE_PREFIX])
            raise self.error(f"unknown field '{name}'; the fields are {known}", start)

    def _date(self, start: int) -> None:
        end = self.i
        while end < len(self.text) and self.text[end] not in _SEPARATORS:
            end += 1
        value = self.text[self.i : end]
        try:
            lo, hi, relative = parse_date_value(value, self.now)
        except ValueError as exc:
            raise self.error(str(exc), self.i) from None
        self.relative_dates |= relative
        self.tokens.append(_DateToken("DATE", value, start, self.i, None, lo, hi))
        self.i = end


# -- dates -----------------------------------------------------------------------

_DATE_FORMS = f"{FORMS}, a range A..B, or a comparison like >=2025-01-01"


def parse_date_value(value: str, now: datetime) -> tuple[datetime | None, datetime | None, bool]:
    """`date:` values → (start inclusive, end exclusive, relative to now?); ValueError if bad.

    Dates and spans are those of `reader.dates`, the grammar `--since` takes too.
    """
    if not value:
        raise ValueError(f"'date:' needs a value: {_DATE_FORMS}")
    if (span := parse_span(value)) is not None:
        return _utc(now) - span, None, True
    for op in (">=", "<=", ">", "<", "="):
        if value.startswith(op):
            lo, hi = _period(value[len(op) :])
            return {">=": (lo, None), ">": (hi, None), "<": (None, lo), "<=": (None, hi), "=": (lo, hi)}[op] + (
                False,
            )
    if ".." in value:
        left, _, right = value.partition("..")
        if not left and not right:
            raise ValueError(f"'..' needs a date on at least one side: {_DATE_FORMS}")
        start = _period(left)[0] if left else None
        end = _period(right)[1] if right else None
        if start and end and start >= end:
            raise ValueError(f"the date range '{value}' ends before it starts")
        return start, end, False
    lo, hi = _period(value)
    return lo, hi, False


def _period(text: str) -> tuple[datetime, datetime]:
    try:
        return period(text)
    except DateError as exc:
        raise ValueError(f"{exc}: use {_DATE_FORMS}") from None


# -- parsing ---------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, tokens: list[_Token]):
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.depth = 0  # parentheses and NOTs open around the current token
        self.warnings: list[str] = []

    def error(self, message: str, position: int) -> QueryError:
        return QueryError(f"{message} (column {position + 1})", self.text, position)

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Node:
        node = self.parse_or(None)
        extra = self.peek()
        if extra is not None:  # parse_or stops only at ')' or the end
            raise self.error("this ')' has no matching '('", extra.position)
        return node

    def parse_or(self, field: str | None) -> Node:
        alternatives = [self.parse_and(field)]
        bare_and = len(alternatives[0]) > 1
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            self.expect_operand(token)
            alternatives.append(self.parse_and(field))
            bare_and |= len(alternatives[-1]) > 1
        nodes = [items[0] if len(items) == 1 else And(tuple(items)) for items in alternatives]
        if len(nodes) == 1:
            return nodes[0]
        node = Or(tuple(nodes))
        if bare_and:
            self.warn(f"AND binds tighter than OR, so this reads as {render(node)}; add parentheses if you meant otherwise")
        return node

    def parse_and(self, field: str | None) -> list[Node]:
        """The terms of one AND (explicit or implied by spaces), up to an OR or ')'."""
        items = [self.parse_unary(field)]
        while (token := self.peek()) is not None and token.kind not in ("OR", "RPAREN"):
            if token.kind == "AND":
                self.take()
                self.expect_operand(token)
            items.append(self.parse_unary(field))
        return items

    def expect_operand(self, operator: _Token) -> None:
        token = self.peek()
        if token is None or token.kind in ("AND", "OR", "RPAREN"):
            raise self.error(f"{operator.text} needs a term after it", operator.position)

    def parse_unary(self, field: str | None) -> Node:
        token = self.peek()
        assert token is not None
        if token.kind == "NOT":
            self.take()
            self.expect_operand(token)
            with self.nested(token.position):
                return Not(self.parse_unary(field))
        return self.parse_atom(field)

    @contextmanager
    def nested(self, position: int) -> Iterator[None]:
        """One level deeper (a '(' or a NOT at `position`), refused past MAX_DEPTH."""
        if self.depth >= MAX_DEPTH:
            raise self.error(f"the query nests deeper than {MAX_DEPTH} levels of parentheses and NOTs; "
                             "write it flatter", position)  # fmt: skip
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def parse_atom(self, field: str | None) -> Node:
        token = self.take()
        match token.kind:
            case "LPAREN":
                return self.parse_group(token, token.field or field)
            case "RPAREN":
                raise self.error("this ')' has no matching '('", token.position)
            case "AND" | "OR":
                raise self.error(f"{token.text} needs a term before it", token.position)
            case "PHRASE":
                return Phrase(token.text, token.field or field, token.value_position)
            case "DATE":
                assert isinstance(token, _DateToken)
                return DateRange(token.start, token.end, token.text, token.position)
        return self.word(token, field)

    def parse_group(self, opening: _Token, field: str | None) -> Node:
        # Errors point at the '(' itself, not at a field prefix before it (`title:(`).
        closing = self.peek()
        if closing is not None and closing.kind == "RPAREN":
            raise self.error("empty parentheses", opening.value_position)
        if closing is None:
            raise self.error("this '(' is never closed", opening.value_position)
        with self.nested(opening.value_position):
            node = self.parse_or(field)
        if self.peek() is None:
            raise self.error("this '(' is never closed", opening.value_position)
        self.take()
        return node

    def word(self, token: _Token, field: str | None) -> Word:
        if token.field is None and field is None and token.text.lower() in _LOWERCASE_OPERATOR_HINTS:
            hint = _LOWERCASE_OPERATOR_HINTS[token.text.lower()]
            self.warn(f"'{token.text}' is searched as a word here; {hint}")
        if any(c in token.text for c in "*?"):
            self.warn(f"'{token.text}': wildcards are not supported, so '*' and '?' are ignored")
        return Word(token.text, token.field or field, token.value_position)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def parse(text: str, *, now: datetime | None = None) -> Syntax:
    """Parse query text; raises QueryError naming the column of the first problem."""
    lexer = _Lexer(text, _utc(now) if now else datetime.now(UTC))
    tokens = lexer.run()
    if not tokens:
        raise QueryError("the query is empty", text, None)
    terms = [t for t in tokens if t.kind in ("WORD", "PHRASE", "DATE")]
    if len(terms) > MAX_TERMS:
        extra = terms[MAX_TERMS]
        raise QueryError(f"the query has {len(terms):,} terms, more than the {MAX_TERMS:,} a query may have "
                         f"(column {extra.position + 1}); split it into several rules", text, extra.position)  # fmt: skip
    parser = _Parser(text, tokens)
    tree = parser.parse()
    return Syntax(tree, tuple(parser.warnings), lexer.relative_dates)
