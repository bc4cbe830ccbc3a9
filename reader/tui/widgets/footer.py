"""The footer of key hints: Textual's, laid out again only when the keys it shows change.

Textual's footer mounts a widget per key on every change of the screen's bindings:
each focus move and each `refresh_bindings`, ~10 ms a time that a key press then
waits for. It never decides which keys exist (the screens' BINDINGS do).
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    _shown: tuple = ()

    def bindings_changed(self, screen: Screen) -> None:
        shown = tuple((b.key, b.action, b.description, enabled, tooltip)
                      for _, b, enabled, tooltip in screen.active_bindings.values() if b.show)  # fmt: skip
        if not screen.app.app_focus:
            super().bindings_changed(screen)  # lays nothing out; the next change after focus comes back does
            return
        if self._bindings_ready and shown == self._shown:
            return
        self._shown = shown
        super().bindings_changed(screen)
