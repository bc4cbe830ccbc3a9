"""Waiting on the app in Pilot tests: on conditions, never on fixed sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from reader.tui.screens.main import MainScreen


async def wait_until(pilot: Pilot, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.02)


async def settle(pilot: Pilot) -> None:
    """Until no worker runs and the messages they posted are handled."""
    for _ in range(50):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:
            pass  # replaced by a newer worker of its group (a recount): the next round waits for that one
        await pilot.pause()
        if not any(w.is_running for w in pilot.app.workers):
            return


def main_screen(pilot: Pilot) -> MainScreen:
    screen = pilot.app.screen_stack[1]
    assert isinstance(screen, MainScreen)
    return screen


async def started(pilot: Pilot) -> MainScreen:
    """The main screen once its list, rules and counts have loaded."""
    await wait_until(pilot, lambda: len(pilot.app.screen_stack) > 1)
    screen = main_screen(pilot)
    await wait_until(pilot, lambda: screen.rules_signature is not None and screen.articles.row_count > 0)
    await settle(pilot)
    return screen
