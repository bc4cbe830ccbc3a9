"""The Alerts list: delivery state, rule (by its title), article title and time of every alert, newest first.

Like the article list it holds only ids and reads alerts a window at a time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.strip import Strip

from ...store import Alert
from ...text import clean_line
from .virtual_list import VirtualList, text_strip

WINDOW = 50
CACHE_ROWS = 1000
STATE_LABELS = {"sent": "sent", "pending": "pending", "held": "held", "failed": "FAILED", "none": "none",
                "waiting": "waiting"}  # fmt: skip
STATE_W = 8


class AlertList(VirtualList):
    """One line per alert."""

    BINDINGS = [
        Binding("r", "screen.retry_alerts", "Retry", id="alerts.retry",
                tooltip="Send failed and pending alerts again now"),  # fmt: skip
    ]

    FOCUS_STYLED = False  # its pane's border shows the focus (MainScreen.watch_focused)

    COMPONENT_CLASSES = {
        "alert-list--cursor",
        "alert-list--cursor-blurred",
        "alert-list--rule",
        "alert-list--time",
        "alert-list--failed",
        "alert-list--sent",
        "alert-list--waiting",
    }

    DEFAULT_CSS = """
    AlertList {
        & > .alert-list--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
        & > .alert-list--cursor-blurred { background: $block-cursor-blurred-background; }
        & > .alert-list--rule { color: $text-accent; text-style: bold; }
        & > .alert-list--time { color: $text-muted; }
        & > .alert-list--failed { color: $text-error; text-style: bold; }
        & > .alert-list--sent { color: $text-success; }
        & > .alert-list--waiting { color: $text-warning; }
    }
    """

    def __init__(self, fetch: Callable[[Sequence[int]], dict[int, Alert]], **kwargs) -> None:
        super().__init__(placeholder="No alerts yet. Rules with notify targets alert when a refresh brings a match.",
                         **kwargs)  # fmt: skip
        self._fetch = fetch
        self.rule_titles: dict[str, str] = {}  # rule name → the title the sidebar shows
        self.rule_outlets: dict[str, int] = {}  # rule name → its `outlets`: an alert waits for that many
        self._ids: list[int] = []
        self._alerts: OrderedDict[int, Alert] = OrderedDict()

    def show(self, ids: list[int]) -> None:
        keep = self.current_alert.id if self.current_alert else None
        self._ids = ids
        self._alerts.clear()
        self.set_rows(len(ids), ids.index(keep) if keep in ids else 0)

    @property
    def ids(self) -> list[int]:
        return self._ids

    @property
    def current_alert(self) -> Alert | None:
        return self.alert(self.cursor) if self._ids else None

    def alert(self, index: int) -> Alert | None:
        if not 0 <= index < len(self._ids):
            return None
        alert_id = self._ids[index]
        if alert_id not in self._alerts:
            window = self._ids[max(0, index - WINDOW) : index + WINDOW]
            self._alerts.update(self._fetch([i for i in window if i not in self._alerts]))
            while len(self._alerts) > CACHE_ROWS:
                self._alerts.popitem(last=False)
        return self._alerts.get(alert_id)

    def rule_title(self, name: str) -> str:
        return self.rule_titles.get(name) or name

    def outlets_wanted(self, alert: Alert) -> int:
        """How many outlets the alert's story must reach before it is sent (more than it has: waiting)."""
        return self.rule_outlets.get(alert.rule, 1)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"alert-list--{name}", partial=True)

    def render_row(self, index: int, width: int, selected: bool) -> Strip:
        base = self.rich_style
        if selected:
            base = base + self.cursor_style("alert-list")
        alert = self.alert(index)
        if alert is None:
            return Strip.blank(width, base)
        state = alert.state
        if not alert.deliveries and self.outlets_wanted(alert) > len(alert.outlets):
            state = "waiting"
        state_style = {"failed": "failed", "sent": "sent"}.get(state, "waiting")
        rule_w = min(28, max(8, width // 4))
        time_w = 16 if width >= 70 else 5
        title_w = max(1, width - STATE_W - rule_w - time_w - 2)
        row = Text(style=base, no_wrap=True, end="")
        row.append(STATE_LABELS.get(state, state)[: STATE_W - 1].ljust(STATE_W), self._style(state_style))
        rule = Text(clean_line(self.rule_title(alert.rule)), self._style("rule"))
        rule.truncate(rule_w, overflow="ellipsis", pad=True)
        row.append_text(rule)
        row.append(" ")
        outlets = len(alert.outlets)
        more = f" +{outlets - 1}" if outlets > 1 else ""  # the story's other outlets, as in the article list
        title = Text(clean_line(alert.title) or "(no title)")
        title.truncate(max(1, title_w - len(more)), overflow="ellipsis", pad=not more)
        row.append_text(title)
        if more:
            row.append(more.ljust(title_w - title.cell_len), self._style("time"))
        row.append(" ")
        when = alert.created_at.astimezone().strftime("%Y-%m-%d %H:%M" if time_w == 16 else "%H:%M")
        row.append(when.rjust(time_w), self._style("time"))
        return text_strip(row, width, base, self.app.console)
