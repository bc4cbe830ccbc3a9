"""The status bar: last refresh, feeds in error, health warnings, whether a daemon runs; a progress bar while
refreshing."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import ProgressBar, Static

from ..library import Status


def status_text(status: Status, view: str) -> Content:
    """One line, the short parts first: a long warning (a feed's URL) is what a narrow terminal cuts, never
    whether a daemon runs; a refresh of today is its time alone (80 columns hold the line then)."""
    when = "never"
    if status.last_refresh:
        local = status.last_refresh.astimezone()
        when = local.strftime("%H:%M" if local.date() == datetime.now().astimezone().date() else "%Y-%m-%d %H:%M")
    parts = [Content(f" {view} · last refresh {when}" if view else f" last refresh {when}")]
    if status.feeds_in_error:
        errors = status.feeds_in_error
        parts.append(Content.styled(f" · {errors} feed{'s' * (errors != 1)} in error", "$text-error"))
    daemon = "daemon running" if status.daemon_running else "no daemon"
    parts.append(Content.styled(f" · {daemon}", "$text-success" if status.daemon_running else "$text-muted"))
    if status.warnings:
        more = f" (+{len(status.warnings) - 1} more: reader doctor)" if len(status.warnings) > 1 else ""
        parts.append(Content.styled(f" · {status.warnings[0]}{more}", "$text-warning"))
    return Content.assemble(*parts)


class StatusBar(Horizontal):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        #status-text { width: 1fr; height: 1; }
        #refresh-label { width: auto; height: 1; padding: 0 1; display: none; }
        ProgressBar { width: 40; height: 1; display: none; }
        &.-refreshing #refresh-label, &.-refreshing ProgressBar { display: block; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="status-text")
        yield Static(id="refresh-label")
        yield ProgressBar(id="refresh-progress", show_eta=False)

    def show_status(self, status: Status, view: str) -> None:
        text = self.query_one("#status-text", Static)
        width = text.size.width  # (the warnings come last: they are what is cut)
        if width and status_text(replace(status, warnings=()), view).cell_length > width:
            view = ""  # the list's border counts the view too
        shown = status_text(status, view)
        if shown != text.content:
            text.update(shown, layout=False)  # one line of fixed size: no layout of the screen

    def show_progress(self, label: str, done: int, total: int | None) -> None:
        self.add_class("-refreshing")
        self.query_one("#refresh-label", Static).update(Content(label))
        self.query_one(ProgressBar).update(total=total, progress=done)

    def hide_progress(self) -> None:
        self.remove_class("-refreshing")
