"""The article's text: its Markdown drawn by one widget as wrapped lines (headings, paragraphs, lists, quotes, code, tables).

Textual's Markdown widget mounts a widget per block, so opening an article and
every focus move that restyles the reading pane cost tens of milliseconds per
key at any size of article. Here the Markdown is parsed once into blocks of
`Content` (feed text stays data: never markup), wrapped once per width, and
drawn as one piece. The current query's terms and the words being found are
marked per block; a link is clicked by its index (no URL in an action string).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from textual.content import Content, Span
from textual.message import Message
from textual.style import Style
from textual.widget import Widget

from ..highlighting import match_spans

MATCH = ".article-view--match"  # the reading pane's component class for marked words
CODE = "$text-accent"
HEADINGS = {"h1": "bold underline $text-primary", "h2": "bold $text-primary", "h3": "bold", "h4": "bold",
            "h5": "bold italic", "h6": "italic"}  # fmt: skip
RULE = "$text-muted"
PREFIX = "$text-primary"  # bullets, numbers, quote bars


@dataclass(frozen=True)
class Block:
    """One block of the text: its content, the prefix of its first line and of the others (list bullets,
    quote bars), blank lines before it, whether it wraps (code keeps its lines, folded at the width)."""

    content: Content
    first: str = ""
    rest: str = ""
    above: int = 1
    wrap: bool = True
    rule: bool = False  # a horizontal rule: a line across the width


def parse(markdown: str) -> tuple[list[Block], list[str]]:
    """The blocks of a Markdown text, and the targets of its links in order (a link's index there)."""
    return _Builder().build(_markdown().parse(markdown))


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    """One parser for every article (building one costs more than parsing most articles)."""
    return MarkdownIt("gfm-like")


class _Builder:
    """Walks markdown-it's block tokens once, keeping the open lists and quotes as line prefixes."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.hrefs: list[str] = []
        self.prefixes: list[str] = []  # one per open list item or quote: what its lines start with
        self.bullet: str | None = None  # the bullet of the list item whose first block comes next
        self.lists: list[list[int | None]] = []  # open lists: [next number] (None: bullets)
        self.list_starts = False  # a list (not within another) opened: a blank line above it

    def build(self, tokens: list[Token]) -> tuple[list[Block], list[str]]:
        it = iter(tokens)
        for token in it:
            kind = token.type
            if kind in ("bullet_list_open", "ordered_list_open"):
                start = int(token.attrs.get("start", 1) or 1) if kind == "ordered_list_open" else None
                self.list_starts = not self.lists
                self.lists.append([start])
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.lists.pop()
            elif kind == "list_item_open":
                number = self.lists[-1][0] if self.lists else None
                if number is None:
                    self.bullet = ("•", "◦", "▪")[min(2, len(self.lists) - 1)] + " "
                else:
                    self.bullet = f"{number}. "
                    self.lists[-1][0] = number + 1
                self.prefixes.append(" " * len(self.bullet))
            elif kind == "list_item_close":
                self.prefixes.pop()
            elif kind == "blockquote_open":
                self.prefixes.append("▌ ")
            elif kind == "blockquote_close":
                self.prefixes.pop()
            elif kind == "heading_open":
                inline = next(it)
                self._add(inline_content(inline, self.hrefs).stylize_before(HEADINGS.get(token.tag, "bold")),
                          above=2 if token.tag in ("h1", "h2") else 1)  # fmt: skip
            elif kind == "paragraph_open":
                inline = next(it)
                self._add(inline_content(inline, self.hrefs), above=0 if token.hidden else 1)  # hidden: in a tight list
            elif kind in ("fence", "code_block"):
                code = token.content.rstrip("\n").expandtabs(4)
                self._add(Content.styled(printable(code), CODE), wrap=False)
            elif kind == "hr":
                self._add(Content(""), rule=True)
            elif kind == "table_open":
                self._table(it)
            elif kind == "html_block":
                self._add(Content(printable(token.content.strip())))  # shown as text
        return self.blocks, self.hrefs

    def _add(self, content: Content, *, above: int = 1, wrap: bool = True, rule: bool = False) -> None:
        rest = "".join(self.prefixes)
        first = rest
        if self.bullet is not None:  # the first block of a list item starts with its bullet
            first = rest[: len(rest) - len(self.bullet)] + self.bullet
            self.bullet = None
        if self.list_starts:
            above, self.list_starts = max(above, 1), False
        self.blocks.append(Block(content, first, rest, above if self.blocks else 0, wrap, rule))

    def _table(self, it: Iterator[Token]) -> None:
        """A table as lines of cells padded to their column's width (its header bold)."""
        rows: list[list[Content]] = []
        header = 0
        for token in it:
            if token.type == "table_close":
                break
            if token.type == "tr_open":
                rows.append([])
            elif token.type == "inline" and rows:
                rows[-1].append(inline_content(token, self.hrefs))
            elif token.type == "thead_close":
                header = len(rows)
        if not rows:
            return
        columns = max(len(r) for r in rows)
        widths = [max((r[c].cell_length for r in rows if c < len(r)), default=0) for c in range(columns)]
        lines = []
        for n, row in enumerate(rows):
            cells = [(row[c] if c < len(row) else Content("")).pad_right(widths[c] - (row[c].cell_length if c < len(row) else 0))
                     for c in range(columns)]  # fmt: skip
            line = Content(" │ ").join(cells)
            lines.append(line.stylize_before("bold") if n < header else line)
            if n == header - 1:
                lines.append(Content.styled("─┼─".join("─" * w for w in widths), RULE))
        self._add(Content("\n").join(lines), wrap=False)


def inline_content(token: Token, hrefs: list[str]) -> Content:
    """An inline token's text with its emphasis, code and links as styles; a link's click names its index."""
    text: list[str] = []
    spans: list[Span] = []
    opened: list[tuple[str | Style, int]] = []
    at = 0

    def add(part: str) -> None:
        nonlocal at
        text.append(part)
        at += len(part)

    for child in token.children or ():
        kind = child.type
        if kind == "text":
            add(re.sub(r"\s+", " ", child.content))
        elif kind == "softbreak":
            add(" ")
        elif kind == "hardbreak":
            add("\n")
        elif kind == "code_inline":
            spans.append(Span(at, at + len(child.content), CODE))
            add(child.content)
        elif kind in ("em_open", "strong_open", "s_open"):
            opened.append(({"em_open": "italic", "strong_open": "bold", "s_open": "strike"}[kind], at))
        elif kind == "link_open":
            hrefs.append(str(child.attrs.get("href", "")))
            opened.append((Style.from_meta({"@click": f"link({len(hrefs) - 1})"}) + Style(underline=True), at))
        elif kind == "image":
            hrefs.append(str(child.attrs.get("src", "")))
            start = at
            add("🖼  " + (f"({child.attrs.get('alt') or child.content})" if child.attrs.get("alt") or child.content else ""))
            spans.append(Span(start, at, Style.from_meta({"@click": f"link({len(hrefs) - 1})"})))
        elif kind == "html_inline":
            add(child.content)
        elif kind.endswith("_close") and opened:
            style, start = opened.pop()
            spans.append(Span(start, at, style))
    plain = "".join(text)
    return Content(printable(plain), spans=spans)


def printable(text: str) -> str:
    """Control and format characters (but line breaks) as spaces: the offsets of the spans stay."""
    if text.isprintable():  # most runs
        return text
    return "".join(c if c.isprintable() or c == "\n" else " " for c in text)


class ArticleBody(Widget):
    """The article's text, drawn from blocks wrapped to the width (once per width)."""

    DEFAULT_CSS = """
    ArticleBody {
        height: auto;
        width: 1fr;
    }
    """

    class LinkClicked(Message):
        def __init__(self, href: str) -> None:
            super().__init__()
            self.href = href

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.blocks: list[Block] = []  # as parsed
        self.marked: list[Block] = []  # with the query's terms and the found words marked
        self.hrefs: list[str] = []
        self.match_query = None  # a ParsedQuery whose terms are marked
        self.find_text = ""
        self._wrapped: tuple[int, Content, list[int], int] | None = None  # width, lines joined, each block's
        # first line, how many lines

    def show(self, markdown: str, query=None) -> None:
        """Show this Markdown, `query`'s terms marked."""
        self.blocks, self.hrefs = parse(markdown) if markdown else ([], [])
        self.match_query, self.find_text = query, ""
        self._mark()

    def find(self, text: str) -> list[tuple[int, int]]:
        """Mark every place `text` is (ignoring case); returns them as (block, offset in its text)."""
        self.find_text = text
        self._mark()
        return [(n, m.start()) for n, block in enumerate(self.blocks) for m in occurrences(block.content.plain, text)]

    def _mark(self) -> None:
        marked = []
        for block in self.blocks:
            content = block.content
            if self.match_query is not None and not block.rule:
                content = mark(content, self.match_query)
            for found in occurrences(content.plain, self.find_text):
                content = content.stylize(MATCH, found.start(), found.end())
            marked.append(Block(content, block.first, block.rest, block.above, block.wrap, block.rule))
        self.marked = marked
        self._wrapped = None
        self.refresh(layout=True)

    def line_of(self, block: int, offset: int) -> int:
        """The line (from the body's top) where `offset` of block `block`'s text is drawn."""
        width = self.content_region.width or self.size.width
        tops = self._layout(width)[2]
        lines = self._block_lines(self.marked[block], width)
        text, at = self.marked[block].content.plain, 0
        for n, line in enumerate(lines):  # wrapping drops the spaces where it breaks: find each line again
            part = line.plain.strip()
            start = text.find(part, at) if part else at
            at = (start if start >= 0 else at) + len(part)
            if offset < at:
                return tops[block] + n
        return tops[block] + max(0, len(lines) - 1)

    def _block_lines(self, block: Block, width: int) -> list[Content]:
        """A block's lines without their prefixes."""
        room = max(1, width - len(block.rest))
        if block.rule:
            return [Content.styled("─" * room, RULE)]
        if not block.wrap:
            return [line for part in block.content.split("\n") for line in part.wrap(room, overflow="fold")] or [Content("")]
        return block.content.wrap(room) or [Content("")]

    def _layout(self, width: int) -> tuple[int, Content, list[int], int]:
        if self._wrapped is not None and self._wrapped[0] == width:
            return self._wrapped
        lines: list[Content] = []
        tops = []
        previous = ""
        for block in self.marked:
            blank = block.rest.rstrip() if previous.startswith(block.rest) else ""  # within the same quote
            lines += [Content.styled(blank, PREFIX)] * block.above
            previous = block.rest
            tops.append(len(lines))
            for n, line in enumerate(self._block_lines(block, width)):
                prefix = block.first if n == 0 else block.rest
                lines.append(Content.assemble((prefix, PREFIX), line) if prefix else line)
        if lines:
            lines.append(Content(""))  # below the last block, as below every other
        self._wrapped = (width, Content("\n").join(lines), tops, len(lines))
        return self._wrapped

    def get_content_height(self, container, viewport, width: int) -> int:
        return self._layout(width)[3]

    def render(self) -> Content:
        return self._layout(self.content_region.width or self.size.width)[1]

    def action_link(self, index: int) -> None:
        if 0 <= index < len(self.hrefs):
            self.post_message(self.LinkClicked(self.hrefs[index]))


def mark(content: Content, query, field: str = "text") -> Content:
    """The query's terms marked in `content`, one of the article's `field`s (`title:H20` marks the title only)."""
    for start, end in match_spans(query, content.plain, field=field):
        content = content.stylize(MATCH, start, end)
    return content


def occurrences(text: str, needle: str) -> list[re.Match]:
    """Where `needle` is in `text`, ignoring case (offsets into `text` itself)."""
    return list(re.finditer(re.escape(needle), text, re.IGNORECASE)) if needle else []
