"""What every command needs: settings and the store, opened lazily, and feed lookup.

It never reads config.toml or opens the database before a command asks for them."""

from __future__ import annotations

import argparse
from functools import cached_property

from ..config import Settings, load_settings
from ..models import Feed
from ..store import Store
from ..urls import normal_feed_url


class UsageError(Exception):
    """The command line asks for something impossible; exit code 2."""


MAX_ID = 2**63 - 1  # SQLite's largest integer: a bigger id names nothing (and SQLite would refuse it)
MAX_WAIT_SECONDS = 24 * 3600


def number_from(low: float, high: float, kind: type = int):
    """An argparse type: a number (`kind`) from `low` to `high`, else a usage error saying what is allowed.
    (`int` alone takes -1 or 10**20; `float` takes nan and inf, which never compare past a deadline.)"""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None
        if not low <= value <= high:  # (false for nan too)
            raise argparse.ArgumentTypeError(f"must be a number from {low:,} to {high:,} (got {text})")
        return value

    return parse


LIMIT = number_from(1, 1_000_000_000)
ID = number_from(1, MAX_ID)
WAIT = number_from(0, MAX_WAIT_SECONDS, float)


class Context:
    def __init__(self, args: argparse.Namespace):
        self.args = args

    @cached_property
    def settings(self) -> Settings:
        a = self.args
        return load_settings(data_dir=a.data_dir, config_dir=a.config_dir, rules_dir=a.rules_dir)

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.db_path)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()

    def resolve_feeds(self, selectors: list[str]) -> list[Feed]:
        """Feeds named by id, URL, or a unique part of their title (case-insensitive)."""
        feeds = self.store.feeds()
        chosen: list[Feed] = []
        for sel in selectors:
            matches = [f for f in feeds if str(f.id) == sel or normal_feed_url(f.url) == normal_feed_url(sel)]
            if not matches:
                matches = [f for f in feeds if sel.casefold() in f.display_title.casefold()]
            if not matches:
                raise UsageError(f"no feed matches {sel!r} (give an id, a URL or part of a title; see 'reader feeds list')")
            if len(matches) > 1:
                names = ", ".join(f"{f.id}: {f.display_title}" for f in matches[:5])
                raise UsageError(f"{sel!r} matches {len(matches)} feeds ({names}); be more specific or use the id")
            chosen += [f for f in matches if f not in chosen]
        return chosen
