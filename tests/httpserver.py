"""A real HTTP server on 127.0.0.1 for tests: routes map paths to canned or computed responses.

    server.route("/feed.xml", body=b"<rss>…", headers={"Content-Type": "application/rss+xml"})
    server.route("/slow", handler=lambda req: Response(200, body=b"x", delay=5))
    server.url("/feed.xml")  ->  "http://127.0.0.1:PORT/feed.xml"
    HTTPServer(tls=context)   ->  the same over https
    server.requests          ->  every request seen, as `Seen(method, path, headers)`
    server.events            ->  "GET /feed.xml answered" as each response is sent in full, in order

It honours If-None-Match / If-Modified-Since for routes given an `etag` or
`last_modified`, and gzips bodies when asked to (`gzip=True`).
"""

from __future__ import annotations

import gzip as gzip_module
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    trickle: float = 0.0  # seconds between the body's bytes: a server that sends a byte at a time


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.owner.posted.append((self.path, dict(self.headers), body))
        self._answer(send_body=True)

    def _answer(self, send_body: bool) -> None:
        owner = self.server.owner
        headers = {k.lower(): v for k, v in self.headers.items()}
        owner.requests.append(Seen(self.command, self.path, headers))
        route = owner.routes.get(self.path.split("?")[0]) or owner.routes.get(self.path)
        if route is None:
            resp = Response(404, b"not found")
        elif callable(route):
            resp = route(Seen(self.command, self.path, headers))
        else:
            resp = route
        if resp.delay:
            time.sleep(resp.delay)
        status, body, out = resp.status, resp.body, dict(resp.headers)
        if resp.etag:
            out["ETag"] = resp.etag
        if resp.last_modified:
            out["Last-Modified"] = resp.last_modified
        if status == 200 and (
            (resp.etag and headers.get("if-none-match") == resp.etag)
            or (resp.last_modified and headers.get("if-modified-since") == resp.last_modified)
        ):
            status, body = 304, b""
        if resp.gzip and body and "gzip" in headers.get("accept-encoding", ""):
            body = gzip_module.compress(body)
            out["Content-Encoding"] = "gzip"
        out.setdefault("Content-Length", str(len(body)))
        try:
            self.send_response(status)
            for k, v in out.items():
                self.send_header(k, v)
            self.end_headers()
            if send_body and status not in (204, 304):
                self._write(body, resp.trickle)
            owner.events.append(f"{self.command} {self.path} answered")
        except (BrokenPipeError, ConnectionResetError):
            owner.events.append(f"{self.command} {self.path} hung up")

    def _write(self, body: bytes, trickle: float) -> None:
        if not trickle:
            self.wfile.write(body)
            return
        for k in range(len(body)):
            self.wfile.write(body[k : k + 1])
            self.wfile.flush()
            time.sleep(trickle)  # ok: a slow server is what is being served


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: HTTPServer
    tls: ssl.SSLContext | None = None

    def get_request(self):
        """With TLS, each connection's handshake happens in its own handler thread."""
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request, client_address) -> None:
        """Clients that hang up early (timeouts under test) are expected: stay quiet."""

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse lookup of the address (slow for 127.0.0.N outlets)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class HTTPServer:
    """Start with `HTTPServer()`, stop with `.close()` (the fixture does both)."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None):
        self.routes: dict[str, Response | Callable[[Seen], Response]] = {}
        self.requests: list[Seen] = []
        self.posted: list[tuple[str, dict, bytes]] = []
        self.events: list[str] = []  # "GET /path answered" (or "hung up") as each response ends, in order
        self._server = _Server((host, 0), _Handler)
        self._server.owner = self
        self._server.tls = tls
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return f"{'https' if self._server.tls else 'http'}://{self.host}:{self.port}{path}"

    def route(self, path: str, body: bytes | str = b"", *, status: int = 200,
              headers: dict[str, str] | None = None, handler: Callable[[Seen], Response] | None = None,
              **options) -> str:  # fmt: skip
        """Serve `path`; returns its full URL."""
        if handler is not None:
            self.routes[path] = handler
        else:
            data = body.encode() if isinstance(body, str) else body
            self.routes[path] = Response(status, data, dict(headers or {}), **options)
        return self.url(path)

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
