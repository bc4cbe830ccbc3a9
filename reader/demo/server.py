"""The demo world served on 127.0.0.1, plus an endpoint that records the notifications sent to it.

    GET  /                      the outlets and their feed URLs
    GET  /<outlet>/feed.xml     an outlet's RSS feed
    GET  /<outlet>/<story>/     an article page, boilerplate and all
    POST /notify                what Apprise's json:// sends: {"title", "message", "type", ...}
    GET  /notifications         the notifications received so far (HTML, refreshes itself)

aiohttp in a background thread with its own event loop, so the demo's
pipeline and TUI run undisturbed in the main thread. Everything is rendered
once, at start: dates are relative to that moment, and a refresh gets the same
bytes back.
"""

from __future__ import annotations

import asyncio
import html
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from ..text import clean_line, clean_text
from .render import feed_path, page_path, render_feed, render_index, render_page
from .world import World

MAX_NOTIFICATION_BYTES = 64 * 1024
MAX_TITLE_CHARS = 500
MAX_MESSAGE_CHARS = 10_000
RSS_TYPE = "application/rss+xml"


@dataclass(frozen=True)
class Notification:
    """One notification received at /notify, made safe to show."""

    received: datetime
    title: str
    message: str
    type: str


class DemoServer:
    """Serves `world` until `stop()`; use as a context manager."""

    def __init__(self, world: World, *, host: str = "127.0.0.1", port: int = 0):
        self.world = world
        self.host = host
        self.port = port  # the bound port once started
        self.started_at = datetime.now(UTC).replace(microsecond=0)
        self._notifications: list[Notification] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._pages: dict[str, tuple[bytes, str]] = {}

    # -- life cycle --

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Bind and start serving; returns once requests are accepted (or raises why not)."""
        self._thread = threading.Thread(target=self._serve, name="demo-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        runner = web.AppRunner(self._app(), access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, self.host, self.port).start())
            self.port = runner.addresses[0][1]
            self._render()
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that called start()
            self._startup_error = exc
            self._ready.set()
            loop.run_until_complete(runner.cleanup())
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    # -- what it serves --

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def notify_url(self) -> str:
        """The Apprise URL that delivers to this server's /notify."""
        return f"json://{self.host}:{self.port}/notify"

    @property
    def notifications_url(self) -> str:
        return f"{self.base_url}/notifications"

    def feed_urls(self) -> list[tuple[str, str, str]]:
        """(url, title, group) of every outlet's feed."""
        return [(self.base_url + feed_path(o), o.name, o.group) for o in self.world.outlets]

    def notifications(self) -> list[Notification]:
        with self._lock:
            return list(self._notifications)

    def _render(self) -> None:
        """Every feed and page, rendered once with the bound port and the start time."""
        base, now = self.base_url, self.started_at
        self._pages["/"] = (render_index(self.world, base).encode(), "text/html")
        for outlet in self.world.outlets:
            self._pages[feed_path(outlet)] = (render_feed(outlet, base, now).encode(), RSS_TYPE)
            for story in outlet.stories:
                page = render_page(self.world, outlet, story, base, now)
                self._pages[page_path(outlet, story)] = (page.encode(), "text/html")

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_NOTIFICATION_BYTES)
        app.router.add_post("/notify", self._notify)
        app.router.add_get("/notifications", self._show_notifications)
        app.router.add_get("/{path:.*}", self._static)
        return app

    async def _static(self, request: web.Request) -> web.Response:
        found = self._pages.get(request.path)
        if found is None:
            raise web.HTTPNotFound(text="not part of the demo world")
        body, content_type = found
        return web.Response(body=body, content_type=content_type, charset="utf-8")

    async def _notify(self, request: web.Request) -> web.Response:
        try:
            payload = json.loads(await request.read())
        except ValueError:
            raise web.HTTPBadRequest(text="expected a JSON object") from None
        if not isinstance(payload, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        notification = Notification(
            received=datetime.now(UTC),
            title=clean_line(str(payload.get("title", "")), MAX_TITLE_CHARS),
            message=clean_text(str(payload.get("message", payload.get("body", ""))), MAX_MESSAGE_CHARS),
            type=clean_line(str(payload.get("type", "")), 20),
        )
        with self._lock:
            self._notifications.append(notification)
        return web.json_response({"ok": True})

    async def _show_notifications(self, request: web.Request) -> web.Response:
        return web.Response(text=render_notifications(self.notifications()), content_type="text/html")


def render_notifications(notifications: list[Notification]) -> str:
    """The notifications as a page that reloads itself every few seconds, newest first."""
    items = "\n".join(
        f"<li><p><small>{n.received.astimezone().strftime('%H:%M:%S')} · {html.escape(n.type)}</small><br>"
        f"<b>{html.escape(n.title)}</b></p><pre>{html.escape(n.message)}</pre></li>"
        for n in reversed(notifications)
    )
    empty = "" if notifications else "<p>None yet. They appear here as soon as the reader sends one.</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Notifications sent by the reader ({len(notifications)})</title>
<style>body {{ font-family: sans-serif; max-width: 50em; margin: 2em auto }} pre {{ white-space: pre-wrap }}</style>
</head><body><h1>Notifications sent by the reader: {len(notifications)}</h1>
<p>This is the demo's stand-in for your phone or desktop: its alert rules send here through Apprise's
<code>json://</code> target.</p>
{empty}<ol>{items}</ol>
</body></html>
"""
