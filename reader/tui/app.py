"""The Textual app: themes, help, the command palette, and `run_tui`, what `reader` with no command runs.

Refreshing happens when the user asks (R, r) — the first paint shows what is
stored and never waits for the network — except on a database with no
articles yet, where a first refresh starts right after the first paint.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import webbrowser
from collections.abc import Iterable, Mapping
from functools import partial
from multiprocessing import resource_tracker
from pathlib import Path

from textual.app import App, SuspendNotSupported, SystemCommand
from textual.binding import Binding
from textual.content import Content
from textual.dom import DOMNode
from textual.filter import LineFilter
from textual.screen import Screen

from ..config import Settings
from ..store import Store
from .glyphs import CharsetFilter, can_show, locale_charset
from .keys import keymap
from .library import THEME_KEY, Library
from .screens.help import HelpScreen, live_bindings
from .screens.main import POLL_SECONDS, MainScreen

DARK, LIGHT = "textual-dark", "textual-light"


def find_browser(environ: Mapping[str, str] = os.environ, setting: str = "") -> webbrowser.BaseBrowser | None:
    """The `[ui] browser` setting, else $BROWSER's first command (read afresh, `%s` for the URL, a trailing `&`
    runs it in the background), else what Python's webbrowser finds; None when there is no browser at all."""
    for command in filter(None, (c.strip() for c in (setting or environ.get("BROWSER", "")).split(os.pathsep))):
        background = command.endswith("&")
        words = shlex.split(command.rstrip("&"))
        words += [] if any("%s" in w for w in words) else ["%s"]
        return (DetachedBrowser if background else webbrowser.GenericBrowser)(words)
    try:
        return webbrowser.get()
    except webbrowser.Error:
        return None


class DetachedBrowser(webbrowser.BackgroundBrowser):
    """A `$BROWSER` command ending in `&`. Python's own counts a command that hands the URL to a running
    browser and exits at once (`firefox &`) as a failure; here only a command that fails does."""

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:  # noqa: ARG002 (webbrowser's signature)
        try:
            started = subprocess.Popen([self.name, *(a.replace("%s", url) for a in self.args)], close_fds=True,
                                       start_new_session=True, stdin=subprocess.DEVNULL)  # fmt: skip
        except OSError:
            return False
        try:
            return started.wait(timeout=0.3) == 0
        except subprocess.TimeoutExpired:
            return True  # still running: it is the browser


class ReaderApp(App):
    """The reader's TUI over one library (store, index, rules)."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "reader"

    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Every key"),
        # Its own action: a binding of `command_palette` itself would stop Textual from binding Ctrl+P.
        Binding("colon", "commands", "Commands", show=False, id="app.commands",
                tooltip="Run any action by name (as Ctrl+P)"),  # fmt: skip
        Binding("T", "toggle_theme", "Theme", show=False, id="app.toggle_theme", tooltip="Switch light / dark"),
        Binding("Q", "quit", "Quit", show=False, id="app.quit", tooltip="Quit at once"),
    ]

    def __init__(self, library: Library, *, theme: str | None = None, refresh_on_start: bool = False,
                 poll_seconds: float = POLL_SECONDS, charset: str | None = None,
                 quit_question: str | None = None) -> None:  # fmt: skip
        super().__init__()
        self.quit_question = Content(quit_question) if quit_question else None  # q from the sidebar asks this first
        self.charset = charset or locale_charset()
        self.charset_filter = CharsetFilter(self.charset)  # ASCII stand-ins for what the locale cannot show
        # Refreshing starts worker processes, whose multiprocessing helper passes on stderr's file
        # descriptor; while the app runs, stderr is Textual's print capture (fileno -1), so start
        # the helper now, while stderr is real.
        resource_tracker.ensure_running()
        self.library = library
        self.initial_theme = theme or library.settings.ui.theme or None  # else the last one chosen
        self.set_keymap(keymap(library.settings))  # [keys]: checked (ConfigError) before anything shows
        self.refresh_on_start = refresh_on_start
        self.poll_seconds = poll_seconds  # how often to look for rule edits, a daemon's refresh, new alerts

    def on_mount(self) -> None:
        remembered = self.library.store.get_meta(THEME_KEY)
        self.theme = self.initial_theme or (remembered if remembered in self.available_themes else DARK)
        main = MainScreen(self.library, poll_seconds=self.poll_seconds)
        self.push_screen(main)
        if self.library.store.read_only:
            self.notify(f"The data directory {self.library.store.path.parent} is read-only: everything stored is "
                        "shown; marking, starring, muting and refreshing are off.", title="Read-only",
                        severity="warning", markup=False, timeout=10)  # fmt: skip
        if self.refresh_on_start:
            self.call_after_refresh(main.start_refresh, None)

    def open_url(self, url: str, *, new_tab: bool = True) -> None:
        """Open a link in $BROWSER or the system's browser; say so when there is none or it fails.

        A browser in this terminal (w3m, lynx) gets the terminal while it runs.
        """
        browser = find_browser(setting=self.library.settings.ui.browser)
        if browser is None:
            self.notify(f"No browser to open {url}: set $BROWSER (e.g. BROWSER=w3m, or firefox) or [ui] browser.",
                        title="Not opened", severity="warning", markup=False, timeout=10)  # fmt: skip
            return
        new = 2 if new_tab else 0
        if type(browser) is webbrowser.GenericBrowser:
            try:
                with self.suspend():
                    opened = browser.open(url, new=new)
            except SuspendNotSupported:  # no terminal to hand over (a test, the web driver)
                opened = browser.open(url, new=new)
        else:
            opened = browser.open(url, new=new)
        if not opened:
            name = (getattr(browser, "name", "") or "the browser").split()[0]
            self.notify(f"{name} did not open {url}. [ui] browser, else $BROWSER, chooses the browser.", title="Not opened",
                        severity="warning", markup=False, timeout=10)  # fmt: skip

    def get_line_filters(self) -> list[LineFilter]:
        own = [self.charset_filter] if self.charset_filter.enabled else []
        return [*super().get_line_filters(), *own]

    def get_key_display(self, binding: Binding) -> str:
        """Textual's key names (`⏎`), or the key's own name where the locale cannot show them."""
        shown = super().get_key_display(binding)
        return shown if can_show(shown, self.charset) else binding.key.split(",")[0]

    def watch_theme(self, theme: str) -> None:
        """Remember the theme (chosen with T or the command palette) for next time."""
        self.library.remember(THEME_KEY, theme)

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.current_theme.dark else DARK

    def action_commands(self) -> None:
        self.action_command_palette()

    def action_help(self) -> None:
        if isinstance(self.screen, MainScreen):
            self.push_screen(HelpScreen(self._binding_sections(self.screen)))

    def _binding_sections(self, main: MainScreen) -> list[tuple[str, DOMNode]]:
        return [
            ("Everywhere", self),
            ("Reader", main),
            ("Sidebar", main.sidebar),
            ("Article list", main.articles),
            ("Article", main.reader),
            ("Search box", main.search_bar),
        ]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own commands, then every action with a key (so the palette lists them all)."""
        yield from super().get_system_commands(screen)
        if not isinstance(screen, MainScreen):
            return
        seen: set[str] = set()
        for _title, node in self._binding_sections(screen):
            for key, binding in live_bindings(node):
                if binding.action in seen or not (binding.show or binding.tooltip) or binding.system:
                    continue
                seen.add(binding.action)
                keys = self.get_key_display(binding.with_key(key))
                yield SystemCommand(binding.description, f"{binding.tooltip or binding.description} ({keys})",
                                    partial(self.run_action, binding.action, node))  # fmt: skip


def run_tui(settings: Settings, store: Store, *, quit_question: str | None = None) -> int:
    """Open the TUI on the user's data; returns an exit code. `quit_question`: ask it before q quits."""
    library = Library(settings, store)  # the index opens after the first paint
    app = ReaderApp(library, refresh_on_start=store.article_count() == 0 and bool(store.feeds()),
                    quit_question=quit_question)  # fmt: skip
    app.run()
    return app.return_code or 0
