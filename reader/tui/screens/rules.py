"""The rules screen: every rule with its matches and last alert, its recent matching articles, and its edits.

Edits (query, title, feeds, groups, mode, quiet hours, pause) go through
`reader.rules.edit_rule`, which keeps the file's comments and undoes an edit
the daemon's loader would refuse; this module never writes a file itself.
Feed and rule text is shown as plain `Text`/`Content`, never as markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, DataTable, Footer, Input, Label, Select, Static

from ...index import ParsedQuery, QueryError, parse_query
from ...rules import MODES, Rule, delete_rule, edit_rule
from ...text import clean_line
from ..library import Library
from ..widgets.article_view import ArticleView
from .dialogs import ConfirmScreen, Dialog

RECENT_MATCHES = 200  # articles listed under a rule, newest first
BACKTEST_DEBOUNCE = 0.25  # seconds of no typing before the edited query is counted again


@dataclass(frozen=True)
class RuleRow:
    """One rule with what it has matched (worked out in a thread)."""

    rule: Rule
    matches: list[int]  # article ids, newest first
    unread: int
    last_alert: str  # "2025-06-02 09:00 · title", or ""


def split_list(text: str) -> list[str]:
    """Feed or group names typed comma-separated (names may hold spaces)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def matches_text(counts: dict[str, int], stored: int) -> Content:
    """`matches 12 of 4031 stored articles (3 in 7 days, 9 in 30 days)`, as `reader rules test` counts."""
    return Content.assemble(
        "matches ", (str(counts["all"]), "bold"), f" of {stored} stored articles (",
        (str(counts["7d"]), "bold"), " in 7 days, ", (str(counts["30d"]), "bold"), " in 30 days)",
    )  # fmt: skip


class RuleScope(Vertical):
    """Which feeds and groups a rule looks at, its mode and quiet hours: two lines, in the edit and save dialogs."""

    DEFAULT_CSS = """
    RuleScope {
        height: auto;
        Horizontal { height: 1; margin: 0; }
        Label { width: 8; text-style: bold; }
        Label.second { width: 8; margin-left: 1; }
        Input, Select { width: 1fr; }
    }
    """

    def __init__(self, rule: Rule | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rule = rule

    def compose(self) -> ComposeResult:
        rule = self.rule
        with Horizontal():
            yield Label("Feeds")
            yield Input(clean_line(", ".join(rule.feeds) if rule else "", 2000), placeholder="all (titles, URLs)",
                        id="scope-feeds", compact=True)  # fmt: skip
            yield Label("Groups", classes="second")
            yield Input(clean_line(", ".join(rule.groups) if rule else "", 2000), placeholder="all",
                        id="scope-groups", compact=True)  # fmt: skip
        with Horizontal():
            yield Label("Mode")
            yield Select([(m, m) for m in MODES], value=rule.mode if rule else MODES[0], allow_blank=False,
                         id="scope-mode", compact=True)  # fmt: skip
            yield Label("Quiet", classes="second")
            yield Input(str(rule.quiet_hours or "") if rule else "", placeholder="none, or 22:00-07:00",
                        id="scope-quiet", compact=True)  # fmt: skip

    def values(self) -> dict:
        """feeds, groups, mode and quiet_hours as the rule file holds them (empty lists and "" when not set)."""
        return {
            "feeds": split_list(self.query_one("#scope-feeds", Input).value),
            "groups": split_list(self.query_one("#scope-groups", Input).value),
            "mode": str(self.query_one("#scope-mode", Select).value),
            "quiet_hours": re.sub(r"\s+", "", self.query_one("#scope-quiet", Input).value),
        }


TABLE_BESIDE_TITLE = 58  # the rules table's other columns up to the last alert's time, padding and scroll bar


class RulesScreen(Screen):
    """Rules above, the highlighted rule's recent matches below."""

    BINDING_GROUP_TITLE = "Rules"
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="rules.close"),
        Binding("e", "edit", "Edit", id="rules.edit", tooltip="Edit the rule's query, sources, mode, quiet hours"),
        Binding("p", "pause", "Pause/resume", id="rules.pause", tooltip="Pause the rule, or resume it"),
        Binding("d", "delete", "Delete", id="rules.delete", tooltip="Delete the rule's file, after asking"),
        Binding("tab", "switch", "Rules/matches", show=False, id="rules.switch"),
        Binding("j", "move(1)", "Down", show=False, id="rules.down"),
        Binding("k", "move(-1)", "Up", show=False, id="rules.up"),
    ]

    DEFAULT_CSS = """
    RulesScreen {
        #rules-table { height: 2fr; border-bottom: solid $primary 50%; }
        #rule-summary { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
        #matches-table { height: 3fr; }
    }
    """

    def __init__(self, library: Library, select: str | None = None, then: str = "", by_story: bool = False) -> None:
        super().__init__()
        self.library = library
        self.by_story = by_story  # unread counted in stories, as the sidebar does in the story view
        self.rows: list[RuleRow] = []
        self.select = select  # the rule to put the cursor on once loaded
        self.then = then  # "edit" or "delete": what to do with that rule once loaded (e / d on it in the sidebar)
        self.problems: tuple = ()

    def compose(self) -> ComposeResult:
        table = DataTable(id="rules-table", cursor_type="row", zebra_stripes=True)
        # Unread counts as the sidebar does (stories in the story view); one word keeps Last alert on 80 columns
        table.add_columns("Rule", "Kind", "State", "Matches", "Unread", "Last alert")
        yield table
        yield Static(Content("Reading the rules…"), id="rule-summary")
        matches = DataTable(id="matches-table", cursor_type="row")
        matches.add_columns("Date", "Feed", "Title")
        yield matches
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#rules-table", DataTable).focus()
        self.load()

    @property
    def table(self) -> DataTable:
        return self.query_one("#rules-table", DataTable)

    def current(self) -> RuleRow | None:
        row = self.table.cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    @work(thread=True, exclusive=True, group="rules")
    def load(self) -> None:
        rule_set = self.library.load_rules()
        feeds = self.library.feeds()
        rows = []
        for rule in sorted(rule_set.rules, key=lambda r: r.display_title.lower()):
            hits = self.library.matches(rule.query, rule, feeds)
            unread = self.library.unread_count(hits, self.by_story)
            alert = self.library.last_alert(rule.name)
            last = f"{alert.created_at.astimezone():%Y-%m-%d %H:%M} · {clean_line(alert.title, 200)}" if alert else ""
            rows.append(RuleRow(rule, hits, unread, last))
        self.app.call_from_thread(self.show_rows, rows, rule_set.problems)

    def show_rows(self, rows: list[RuleRow], problems: tuple) -> None:
        keep = self.select or (self.current().rule.name if self.current() else None)
        self.rows, self.problems = rows, problems
        table = self.table
        table.clear()
        title_width = max(12, self.size.width - TABLE_BESIDE_TITLE)  # a long title gives way, never the alert's time
        for row in rows:
            rule = row.rule
            title = Text(clean_line(rule.display_title, 200), no_wrap=True)
            title.truncate(title_width, overflow="ellipsis")
            table.add_row(
                title,
                "search" if rule.is_saved_search else rule.mode,
                "on" if rule.enabled else Text("paused", style="italic"),
                str(len(row.matches)), str(row.unread),
                Text(row.last_alert or "—", no_wrap=True, overflow="ellipsis"),
                key=rule.name,
            )  # fmt: skip
        self.select = None
        at = next((i for i, r in enumerate(rows) if r.rule.name == keep), 0)
        if rows:
            table.move_cursor(row=at)
        self.show_matches()
        then, self.then = self.then, ""
        if then and rows:
            getattr(self, f"action_{then}")()

    @on(DataTable.RowHighlighted, "#rules-table")
    def show_matches(self) -> None:
        row = self.current()
        summary = self.query_one("#rule-summary", Static)
        broken = sorted({p.path.name for p in self.problems if p.severity == "error"})
        left_out = Content.styled(f"Not listed, with errors ('reader rules check' says which): {', '.join(broken)}\n",
                                  "$text-warning") if broken else Content("")  # a line of its own  # fmt: skip
        if row is None:
            summary.update(left_out + "No rules yet: save a search with w (Ctrl+S in the search box).")
            self.query_one("#matches-table", DataTable).clear()
            return
        rule = row.rule
        targets = ", ".join(rule.redacted_notify) or "no targets (a saved search)"
        quiet = f" · quiet {rule.quiet_hours}" if rule.quiet_hours else ""
        sources = ", ".join([*rule.feeds, *(f"group {g}" for g in rule.groups)]) or "every feed"
        summary.update(left_out + clean_line(f"{rule.query_text}  →  {targets} · {sources}{quiet}", 2000))
        self.fill_matches(row.matches[:RECENT_MATCHES])

    def fill_matches(self, ids: list[int]) -> None:
        lines = self.library.lines(ids)
        table = self.query_one("#matches-table", DataTable)
        table.clear()
        for article_id in ids:
            line = lines.get(article_id)
            if line is None:
                continue
            style = "" if line.read else "bold"
            table.add_row(
                f"{line.date.astimezone():%Y-%m-%d %H:%M}",
                Text(clean_line(line.feed_title, 40), no_wrap=True, overflow="ellipsis"),
                Text(clean_line(line.title, 300) or "(no title)", style=style, no_wrap=True, overflow="ellipsis"),
                key=str(article_id),
            )  # fmt: skip

    @on(DataTable.RowSelected, "#matches-table")
    def open_match(self, event: DataTable.RowSelected) -> None:
        article = self.library.article(int(event.row_key.value))
        row = self.current()
        if article is not None:
            self.app.push_screen(ArticleScreen(self.library, article, row.rule.query if row else None))

    @on(DataTable.RowSelected, "#rules-table")
    def focus_matches(self) -> None:
        self.query_one("#matches-table", DataTable).focus()

    def action_move(self, step: int) -> None:
        """j / k move the cursor of the focused table, as in the main screen's lists."""
        if isinstance(table := self.focused, DataTable):
            table.action_cursor_down() if step > 0 else table.action_cursor_up()

    def action_switch(self) -> None:
        other = "#matches-table" if self.table.has_focus else "#rules-table"
        self.query_one(other, DataTable).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_edit(self) -> None:
        if (row := self.current()) is not None:
            self.app.push_screen(RuleEditScreen(self.library, row.rule), self.edited)

    def edited(self, rule: Rule | None) -> None:
        if rule is not None:
            self.notify(f"Saved {rule.path.name}.", markup=False)
            self.select = rule.name
            self.load()

    def action_pause(self) -> None:
        row = self.current()
        if row is None:
            return
        try:
            rule = edit_rule(row.rule.path, {"enabled": not row.rule.enabled},
                             apprise_config=self.library.settings.alerts.apprise_config)  # fmt: skip
        except (ValueError, OSError) as exc:
            self.notify(clean_line(str(exc), 2000), title="Not changed", severity="error", markup=False)
            return
        self.notify(f"{clean_line(rule.display_title)}: {'resumed' if rule.enabled else 'paused'}.", markup=False)
        self.select = rule.name
        self.load()

    def action_delete(self) -> None:
        row = self.current()
        if row is None:
            return
        question = Content.assemble("Delete the rule ", (clean_line(row.rule.display_title), "bold"), " (its file ",
                                    (clean_line(str(row.rule.path), 500), "bold"), ")? Its alerts stay in the history.")  # fmt: skip
        self.app.push_screen(ConfirmScreen(question), lambda yes: yes and self.delete(row.rule))

    def delete(self, rule: Rule) -> None:
        try:
            delete_rule(rule.path)
        except OSError as exc:
            self.notify(f"{rule.path}: {exc.strerror}", title="Not deleted", severity="error", markup=False)
            return
        self.notify(f"Deleted {rule.path.name}.", markup=False)
        self.load()


class ArticleScreen(Screen):
    """One article full screen, the rule's words marked; q or Escape goes back."""

    BINDINGS = [
        Binding("escape,q", "close", "Back", id="rule_article.close"),
        Binding("o", "open", "Browser", id="rule_article.open"),
    ]

    def __init__(self, library: Library, article, query: ParsedQuery | None) -> None:
        super().__init__()
        self.library, self.article, self.marked = library, article, query

    def compose(self) -> ComposeResult:
        yield ArticleView(id="rule-article")
        yield Footer()

    async def on_mount(self) -> None:
        view = self.query_one(ArticleView)
        await view.show_article(self.article, self.marked)
        view.focus()
        if not self.article.read:
            self.library.set_read([self.article.id], True)

    def action_close(self) -> None:
        self.dismiss(None)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        return action != "full_screen"  # the article view's Enter: this screen is full screen already

    def action_open(self) -> None:
        if self.article.link:
            self.app.open_url(self.article.link)


class RuleEditScreen(Dialog):
    """Edit a rule; the query is counted again as it is typed ("matches N of M"). Returns the saved Rule."""

    BINDING_GROUP_TITLE = "Edit rule"
    DEFAULT_CSS = """
    RuleEditScreen {
        #edit-backtest { margin: 0 0 0 8; }
        #edit-notify { margin-top: 0; }
    }
    """

    def __init__(self, library: Library, rule: Rule) -> None:
        super().__init__()
        self.library, self.rule = library, rule
        self._timer: Timer | None = None
        self.parsed: ParsedQuery | None = rule.query

    def compose(self) -> ComposeResult:
        rule = self.rule
        with Vertical():
            yield Label(Content(f"Edit {clean_line(rule.display_title)}"), classes="dialog-title")
            for label, field_id, value, placeholder in (
                ("Query", "edit-query", rule.query_text, "words, \"phrases\", AND OR NOT, title:…"),
                ("Title", "edit-title", rule.title, "shown in the sidebar (empty: the file name)"),
            ):
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input(clean_line(value, 2000), placeholder=placeholder, id=field_id, compact=True,
                                select_on_focus=False)  # fmt: skip
                if field_id == "edit-query":
                    yield Static(Content("counting…"), id="edit-backtest")
            yield RuleScope(rule)
            yield Static(Content("Notify: " + clean_line(", ".join(rule.redacted_notify) or "none (a saved search)", 500)
                                 + " · targets are edited in the file"), classes="dialog-hint", id="edit-notify")  # fmt: skip
            yield Static(id="edit-error", classes="dialog-error")
            with Horizontal():
                yield Button("Save", id="edit-save", variant="primary", compact=True)
                yield Button("Cancel", id="edit-cancel", compact=True)
            yield Static(Content(f"Enter saves {clean_line(rule.path.name, 200)} (its comments kept) · Esc cancels"),
                         classes="dialog-hint")  # fmt: skip

    def on_mount(self) -> None:
        self.query_one("#edit-query", Input).focus()
        self.count(self.rule.query)

    @on(Input.Changed, "#edit-query")
    def query_changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(BACKTEST_DEBOUNCE, lambda: self.parse(event.value))

    def parse(self, text: str) -> None:
        backtest = self.query_one("#edit-backtest", Static)
        try:
            self.parsed = parse_query(text)
        except QueryError as exc:
            self.parsed = None
            backtest.update(Content.styled(clean_line(str(exc), 2000), "$text-error"))
            return
        backtest.update(Content("counting…"))
        self.count(self.parsed)

    @work(thread=True, exclusive=True, group="backtest")
    def count(self, query: ParsedQuery) -> None:
        counts = self.library.backtest(query)
        stored = self.library.store.article_count()
        self.app.call_from_thread(self.counted, query, matches_text(counts, stored))

    def counted(self, query: ParsedQuery, text: Content) -> None:
        if query is self.parsed:  # not a count of a query typed over since
            self.query_one("#edit-backtest", Static).update(text)

    def changes(self) -> dict:
        """The keys whose value changed (only those are written, so the others keep their lines); None removes."""
        rule = self.rule
        wanted = {"query": self.query_one("#edit-query", Input).value.strip(),
                  "title": self.query_one("#edit-title", Input).value.strip(), **self.query_one(RuleScope).values()}
        now = {"query": rule.query_text, "title": rule.title, "feeds": list(rule.feeds), "groups": list(rule.groups),
               "mode": rule.mode, "quiet_hours": str(rule.quiet_hours or "")}  # fmt: skip
        return {key: value or None for key, value in wanted.items() if value != now[key]}

    @on(Input.Submitted)
    @on(Button.Pressed, "#edit-save")
    def save(self) -> None:
        changes = self.changes()
        if not changes:
            self.dismiss(None)
            return
        try:
            rule = edit_rule(self.rule.path, changes, apprise_config=self.library.settings.alerts.apprise_config)
        except (ValueError, OSError) as exc:  # QueryError is a ValueError
            self.query_one("#edit-error", Static).update(Content(clean_line(str(exc), 2000)))
            return
        self.dismiss(rule)

    @on(Button.Pressed, "#edit-cancel")
    def cancelled(self) -> None:
        self.dismiss(None)
