"""The footer of key hints: one line of text drawn by one widget, redrawn only when the keys it shows change.

Textual's footer mounts and styles a widget per key on every change of the
screen's bindings (each focus move between the list and the article: ~10–30 ms
a key press then waits for); this one draws the same hints as one line. It
never decides which keys exist (the screens' BINDINGS do).
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget


class Footer(Widget, can_focus=False):
    """Each shown binding as ` key description`, disabled ones dim, the command palette's key at the right;
    a click presses the key, hovering shows its tooltip."""

    COMPONENT_CLASSES = {"footer-key--key", "footer-key--description"}

    DEFAULT_CSS = """
    Footer {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        text-overflow: clip;
        & > .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .footer-key--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    show_command_palette = reactive(True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[tuple[Binding, bool, str], ...] = ()  # (binding, enabled, tooltip), in order
        self._palette: tuple[Binding, bool, str] | None = None
        self._spans: list[tuple[int, int, Binding, str]] = []  # (first cell, end cell, binding, tooltip) as drawn

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        """The screen's keys changed (focus moved, an action turned on or off): redraw if what shows differs."""
        active = screen.active_bindings
        first: dict[str, tuple[Binding, bool, str]] = {}  # one hint per action: its first key
        for _node, binding, enabled, tooltip in active.values():
            if binding.show:
                first.setdefault(binding.action, (binding, enabled, tooltip))
        palette = None
        if self.app.ENABLE_COMMAND_PALETTE and (found := active.get(self.app.COMMAND_PALETTE_BINDING)):
            palette = (found[1], found[2], found[1].tooltip or found[1].description)
        shown = tuple(first.values())
        if (shown, palette) != (self._shown, self._palette):
            self._shown, self._palette = shown, palette
            self.refresh()

    def render(self) -> Content:
        key_style = self.get_visual_style("footer-key--key")
        description_style = self.get_visual_style("footer-key--description")
        parts: list[Content] = []
        self._spans = []
        at = 0
        for binding, enabled, tooltip in self._shown:
            hint = Content.assemble((f" {self.app.get_key_display(binding)} ", key_style),
                                    (f"{binding.description} ", description_style))  # fmt: skip
            if not enabled:
                hint = hint.stylize("dim")
            parts.append(hint)
            self._spans.append((at, at + hint.cell_length, binding, tooltip or binding.description))
            at += hint.cell_length
        if self.show_command_palette and self._palette is not None:
            binding, enabled, tooltip = self._palette
            hint = Content.assemble(("▏", "$foreground 20%"), (self.app.get_key_display(binding), key_style),
                                    (f" {binding.description} ", description_style))  # fmt: skip
            start = max(0, self.size.width - hint.cell_length)  # over the keys that do not fit, as Textual's
            keys = Content.assemble(*parts).truncate(start, pad=True)
            self._spans = [span for span in self._spans if span[1] <= start]
            self._spans.append((start, start + hint.cell_length, binding, tooltip))
            return Content.assemble(keys, hint if enabled else hint.stylize("dim"))
        return Content.assemble(*parts)

    def _at(self, x: int) -> tuple[Binding, str] | None:
        return next(((binding, tip) for start, end, binding, tip in self._spans if start <= x < end), None)

    def on_click(self, event: events.Click) -> None:
        if (found := self._at(event.x)) is not None:
            self.app.simulate_key(found[0].key.split(",")[0])

    def on_mouse_move(self, event: events.MouseMove) -> None:
        found = self._at(event.x)
        self.tooltip = found[1] if found else None
