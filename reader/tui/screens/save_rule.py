"""Save a search as a saved search or an alert rule, after seeing what it would have matched.

The figures are those of `reader rules test`; saving writes a rule file with
`reader.rules.write_rule` and reads it back with the daemon's loader, so a
rule the daemon would reject (an unknown Apprise scheme or tag) is never left behind.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Static

from ...index import ParsedQuery
from ...text import clean_line
from ..library import Library
from .dialogs import Dialog
from .rules import RuleScope


_EXCLUDED = re.compile(r'\bNOT\s+(?:\w+:)?(?:"[^"]*"?|\([^)]*\)?|\S+)|\bdate:\S+|\b\w+:')


def suggested_name(query_text: str) -> str:
    """A file name made of the words the query looks for (not the NOT-ed ones, not `field:` names or dates):
    `DeepSeek AND "export controls" AND NOT title:filler` → deepseek-export-controls."""
    words = [w for w in re.findall(r"[A-Za-z0-9]+", _EXCLUDED.sub(" ", query_text)) if w not in ("AND", "OR", "NOT")]
    return "-".join(words).lower()[:60].strip("-") or "search"


def free_name(rules_dir: Path, name: str) -> str:
    """`name`, or `name-2`, `name-3`… when a rule of that name exists already (saving would be refused)."""
    taken = {p.stem for p in rules_dir.glob("*.toml")} if rules_dir.is_dir() else set()
    free, n = name, 1
    while free in taken:
        n += 1
        free = f"{name}-{n}"
    return free


def split_targets(text: str) -> list[str]:
    """Apprise URLs and tags, separated by commas or spaces."""
    return [t for t in re.split(r"[,\s]+", text.strip()) if t]


def backtest_text(counts: dict[str, int]) -> Content:
    return Content.assemble(
        "Would have matched ",
        (f"{counts['7d']}", "bold"), " in the last 7 days, ",
        (f"{counts['30d']}", "bold"), " in the last 30 days (",
        (f"{counts['all']}", "bold"), " among all stored articles).",
    )  # fmt: skip


class SaveRuleScreen(Dialog):
    """Name the search, optionally add notify targets, save. Returns the rule file's path."""

    BINDING_GROUP_TITLE = "Save search"

    def __init__(self, library: Library, query: ParsedQuery) -> None:
        super().__init__()
        self.library = library
        self.parsed = query

    DEFAULT_CSS = """
    SaveRuleScreen {
        #backtest { margin: 0 0 1 0; }
        Horizontal.buttons { margin-top: 0; }  /* the error line above keeps them apart */
    }
    """

    def compose(self) -> ComposeResult:
        # One line per field and compact buttons: the whole dialog fits a 24-line terminal.
        with Vertical():
            yield Label("Save this search", classes="dialog-title")
            yield Static(Content.styled(clean_line(self.parsed.text, 2000), "bold"), id="rule-query")
            yield Static(Content("Counting what it would have matched…"), id="backtest")
            for label, field_id, value, placeholder in (
                ("Name", "rule-name", free_name(self.library.settings.rules_dir, suggested_name(self.parsed.text)),
                 "letters, digits, - _ ."),
                ("Title", "rule-title", "", "shown in the sidebar (optional)"),
                ("Notify", "rule-notify", "", "Apprise URLs or tags, comma-separated"),
            ):
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input(value, placeholder=placeholder, id=field_id, compact=True)
            yield RuleScope(id="rule-scope")  # feeds, groups, mode, quiet hours
            yield Static(id="save-error", classes="dialog-error")
            with Horizontal(classes="buttons"):
                yield Button("Save search", id="save-search", variant="primary", compact=True)
                yield Button("Save alert rule", id="save-rule", variant="warning", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Static(Content("No targets: a saved search; with targets: an alert rule. Saved as a TOML file in "
                                 "the rules directory: edit it there any time."), classes="dialog-hint")  # fmt: skip

    def on_mount(self) -> None:
        self.query_one("#rule-name", Input).focus()
        self.count_matches()

    @work(thread=True, exclusive=True)
    def count_matches(self) -> None:
        counts = self.library.backtest(self.parsed)
        self.app.call_from_thread(self.query_one("#backtest", Static).update, backtest_text(counts))

    @on(Button.Pressed, "#cancel")
    def cancelled(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#save-search")
    def save_search(self) -> None:
        self.save(alerting=False)

    @on(Button.Pressed, "#save-rule")
    def save_alert_rule(self) -> None:
        self.save(alerting=True)

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.save(alerting=bool(split_targets(self.query_one("#rule-notify", Input).value)))

    def save(self, *, alerting: bool) -> None:
        targets = split_targets(self.query_one("#rule-notify", Input).value)
        if alerting and not targets:
            self.show_error("An alert rule needs somewhere to send alerts: an Apprise URL or a tag.")
            self.query_one("#rule-notify", Input).focus()
            return
        try:
            path = self.write(targets if alerting else [])
        except FileExistsError:
            self.show_error(f"A rule named {self.query_one('#rule-name', Input).value.strip()!r} exists already; "
                            "choose another name (its file is not replaced).")  # fmt: skip
            self.query_one("#rule-name", Input).focus()
            return
        except (ValueError, OSError) as exc:  # QueryError is a ValueError
            self.show_error(str(exc))
            return
        if path is not None:
            self.dismiss(path)

    def write(self, targets: list[str]) -> Path | None:
        """Write the file, then load it as the daemon will; a rejected file is removed again."""
        from ...rules import load_rule, write_rule

        name = self.query_one("#rule-name", Input).value.strip()
        title = self.query_one("#rule-title", Input).value.strip()
        rules_dir = self.library.settings.rules_dir
        path = write_rule(rules_dir, name, query=self.parsed.text, notify=targets, title=title,
                          **self.query_one(RuleScope).values())  # fmt: skip
        rule, problems = load_rule(path, apprise_config=self.library.settings.alerts.apprise_config)
        if rule is None:
            path.unlink(missing_ok=True)
            self.show_error("\n".join(p.message for p in problems if p.severity == "error"))
            return None
        return path

    def show_error(self, message: str) -> None:
        self.query_one("#save-error", Static).update(Content(clean_line(message, 2000)))
