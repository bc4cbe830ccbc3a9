"""Fixtures for the TUI tests: a fixed library in a temp data dir, times shown in UTC, an app factory."""

from __future__ import annotations

import time

import pytest

from reader.index import SearchIndex
from reader.store import Store
from reader.tui.app import ReaderApp
from reader.tui.library import Library
from tests.tui.world import build_world


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Dates on screen are local time: make local time UTC so screens are the same everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def world(settings):
    """The fixed library (with hostile titles) in the settings' data dir; returns the settings."""
    build_world(settings, hostile=True).close()
    return settings


class RecordingApp(ReaderApp):
    """The app with the URLs it was asked to open (and opening them only if `browser`), and toasts recorded."""

    def __init__(self, *args, browser: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.browser = browser  # True: the real way of opening links ($BROWSER)
        self.opened: list[str] = []
        self.notices: list[tuple[str, str, str]] = []  # (title, message, severity)

    def open_url(self, url: str, *, new_tab: bool = True) -> None:
        self.opened.append(url)
        if self.browser:
            super().open_url(url, new_tab=new_tab)

    def notify(self, message: str, *, title: str = "", severity="information", **options) -> None:
        self.notices.append((title, message, severity))
        super().notify(message, title=title, severity=severity, **options)


@pytest.fixture
def make_app():
    """Build an app over a settings' data dir (a fresh Store and SearchIndex each time, as `reader` does)."""
    stores: list[Store] = []

    def make(settings, **options) -> RecordingApp:
        store = Store(settings.db_path)
        stores.append(store)
        options.setdefault("theme", "textual-dark")
        options.setdefault("poll_seconds", 0.2)
        return RecordingApp(Library(settings, store, SearchIndex(settings.index_dir)), **options)

    yield make
    for store in stores:
        store.close()
