"""The one HTTP layer: every feed and article-page fetch goes through `Fetcher.get`.

    async with Fetcher(settings.fetch) as fetcher:
        result = await fetcher.get(feed.url, etag=feed.etag, last_modified=feed.last_modified)

`get` never raises for network, HTTP or size problems: it returns a
`FetchResult` whose `error` is a short readable reason. It follows redirects
itself (to limit them, catch loops and tell permanent moves from temporary
ones), caps bodies while they stream (after decompression), bounds requests in
flight overall and per host, and can refuse to talk to private addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import re
import resource
import ssl
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import cache
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from yarl import URL

from .bodies import size_words
from .config import FetchSettings


@contextmanager
def _no_ca_certificates_loaded_here() -> Iterator[None]:
    """In this thread, SSL contexts made meanwhile load no CA certificates (other threads are not affected).

    aiohttp makes two SSL contexts when imported, loading the system's CA bundle into each: ~40 ms, a
    tenth of a fetch of unchanged feeds, for contexts this module never uses (every https request gets
    `tls_context()`, made at the first one). Made without certificates, they trust no server: a request
    that reached one would fail, never go unchecked.
    """
    if "aiohttp" in sys.modules:  # imported already: nothing to save
        yield
        return
    importer, default_paths = threading.get_ident(), ssl.SSLContext.set_default_verify_paths

    def set_default_verify_paths(context: ssl.SSLContext) -> None:
        if threading.get_ident() != importer:
            default_paths(context)

    ssl.SSLContext.set_default_verify_paths = set_default_verify_paths  # type: ignore[method-assign]
    try:
        yield
    finally:
        del ssl.SSLContext.set_default_verify_paths  # (inherited from _ssl._SSLContext again)


with _no_ca_certificates_loaded_here():
    import aiohttp


@cache
def tls_context() -> ssl.SSLContext:
    """The context of every https request: the system's CA certificates, host names checked; as strict as
    aiohttp's default (`ssl.create_default_context()`, HTTP/1.1 offered by ALPN). Made once per process."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"

SCHEMES = frozenset({"http", "https"})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
MAX_ERROR_CHARS = 200
CHUNK_BYTES = 64 * 1024
# File descriptors kept for everything but this client's sockets (SQLite, the index, pipes to the workers, logs).
FD_RESERVE = 256
_MAX_AGE = re.compile(r"max-age\s*=\s*\"?(\d+)", re.IGNORECASE)

# True while the current task's request must not reach a private address. A
# context variable because the check runs inside aiohttp's connector, which
# only sees the request, and each task has its own copy.
_refuse_private: ContextVar[bool] = ContextVar("refuse_private", default=False)


@dataclass(frozen=True)
class FetchResult:
    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int | None  # final HTTP status, None if no response
    body: bytes | None  # the body, decompressed unless asked otherwise (None on error / 304)
    content_type: str = ""
    etag: str | None = None  # on a 304 without one, the validator that was sent
    last_modified: str | None = None  # likewise
    permanent_url: str | None = None  # set only when every redirect hop was permanent (301/308)
    not_modified: bool = False  # 304
    gone: bool = False  # 410
    retry_after: float | None = None  # seconds, from Retry-After on 429/503, capped
    max_age: float | None = None  # Cache-Control max-age, if any
    error: str | None = None  # a short human reason
    content_encoding: str = ""  # the Content-Encoding a body fetched with `decoded=False` still has (`bodies.decoded`)

    @property
    def ok(self) -> bool:
        """A 2xx with a body."""
        return self.status is not None and 200 <= self.status < 300 and self.body is not None


def is_private_host(url: str) -> bool:
    """Whether `url` names localhost or a literal non-public IP address. Pure: no DNS."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return _is_private_ip(ipaddress.ip_address(host))
    except ValueError:
        return False


def _is_private_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local, reserved, multicast, unspecified or shared (CGNAT) space."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


class _PrivateAddress(Exception):
    """The request would reach a non-public address while those are refused."""

    def __init__(self, address: str):
        super().__init__(address)
        self.address = address


class _BodyTooLarge(Exception):
    """The body grew past the cap while streaming."""


class _GuardedConnector(aiohttp.TCPConnector):
    """A connector that checks the address each connection actually reached, before any request is sent on it.

    Checking the connected socket, rather than a hostname or a DNS answer, covers
    DNS rebinding and connections reused from the pool alike.
    """

    async def connect(self, req: Any, *args: Any, **kwargs: Any) -> aiohttp.connector.Connection:
        conn = await super().connect(req, *args, **kwargs)
        if _refuse_private.get():
            address = _peer_address(conn)
            if address is None or _is_private_ip(address):
                conn.close()
                raise _PrivateAddress(str(address) if address else str(req.url.host))
        return conn


def _peer_address(conn: aiohttp.connector.Connection) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    peer = conn.transport.get_extra_info("peername") if conn.transport else None
    try:
        return ipaddress.ip_address(peer[0]) if peer else None
    except ValueError:
        return None


class _HostSlots:
    """At most `per_host` requests in flight to one host; a host's entry goes when it is idle."""

    def __init__(self, per_host: int):
        self._per_host = per_host
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        semaphore, users = self._slots.get(host) or (asyncio.Semaphore(self._per_host), 0)
        self._slots[host] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._slots[host]
            if users == 1:
                del self._slots[host]
            else:
                self._slots[host] = (semaphore, users - 1)


class _Budget:
    """The time one `get` may spend on the network, across its redirect hops; waiting for a slot is free."""

    def __init__(self, seconds: float):
        self.left = seconds

    @asynccontextmanager
    async def spend(self) -> AsyncIterator[None]:
        start = time.monotonic()
        try:
            async with asyncio.timeout(max(self.left, 0.0)):
                yield
        finally:
            self.left -= time.monotonic() - start


@dataclass(frozen=True)
class _Redirect:
    status: int
    location: URL


class Fetcher:
    """async with Fetcher(settings.fetch) as fetcher: result = await fetcher.get(url, ...)"""

    def __init__(self, settings: FetchSettings):
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._host_slots = _HostSlots(settings.per_host)
        self._in_flight = sockets_allowed(settings.concurrency)
        self._tls: asyncio.Future[ssl.SSLContext] | None = None  # one load of the CA bundle, however many wait
        self._all_slots = asyncio.Semaphore(self._in_flight)

    async def __aenter__(self) -> Fetcher:
        s = self._settings
        self._session = aiohttp.ClientSession(
            connector=_GuardedConnector(limit=self._in_flight, limit_per_host=s.per_host),
            # sock_read is the gap allowed between bytes; the total is enforced per
            # `get` by _Budget so that time spent queueing for a slot is not counted.
            timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_connect=s.connect_timeout,
                                          sock_read=s.read_timeout),  # fmt: skip
            headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate"},
            cookie_jar=aiohttp.DummyCookieJar(),  # no state shared between feeds; makes loop detection exact
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        allow_private: bool = True,
        accept: str = FEED_ACCEPT,
        decoded: bool = True,
    ) -> FetchResult:
        """Fetch `url` (following redirects); never raises for network, HTTP or size problems.

        `decoded=False`: the body as the server sent it, its Content-Encoding (`content_encoding`) left for the
        process that reads it to undo with `bodies.decoded` (the cap then bounds the bytes sent, and the
        decoding bounds what they inflate to)."""
        if self._session is None:
            raise RuntimeError("use the Fetcher inside `async with`")
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        limit = max_bytes if max_bytes is not None else self._settings.max_feed_bytes
        token = _refuse_private.set(not allow_private)
        try:
            result = await self._follow(url, headers, limit, allow_private, decoded)
        finally:
            _refuse_private.reset(token)
        if result.not_modified:
            result = replace(result, etag=result.etag or etag, last_modified=result.last_modified or last_modified)
        return result

    async def _follow(self, url: str, headers: dict[str, str], limit: int, allow_private: bool,
                      decoded: bool) -> FetchResult:  # fmt: skip
        """Request `url` one hop at a time, following up to `max_redirects` redirects."""
        budget = _Budget(self._settings.total_timeout)
        current, seen, redirects, permanent = url, set[str](), 0, True
        while True:
            try:
                target = URL(current)
                seen.add(str(target))
                refusal = _refusal(target, allow_private)
                if refusal:
                    return _failure(url, current, refusal)
                outcome = await self._hop(target, headers, limit, budget, decoded)
            except Exception as exc:  # noqa: BLE001 (a stranger's server must never crash the run)
                return _failure(url, current, self._describe(exc))
            if isinstance(outcome, FetchResult):
                moved = outcome.final_url if redirects and permanent else None
                return replace(outcome, url=url, permanent_url=moved)
            redirects += 1
            permanent = permanent and outcome.status in PERMANENT_REDIRECTS
            current = str(outcome.location)
            if current in seen:
                return _failure(url, current, "redirect loop")
            if redirects > self._settings.max_redirects:
                return _failure(url, current, f"too many redirects (more than {self._settings.max_redirects})")

    async def _hop(self, url: URL, headers: dict[str, str], limit: int, budget: _Budget,
                   decoded: bool) -> FetchResult | _Redirect:  # fmt: skip
        """One request, holding its host's slot and an overall slot until the body is read."""
        assert self._session is not None and url.host is not None
        tls = await self._tls_for(url)
        async with self._host_slots.hold(url.host.lower()), self._all_slots, budget.spend():
            async with self._session.get(url, headers=headers, allow_redirects=False, ssl=tls,
                                         auto_decompress=decoded) as resp:  # fmt: skip
                location = resp.headers.get("Location")
                if resp.status in REDIRECTS and location:
                    return _Redirect(resp.status, resp.url.join(URL(location)))
                return await self._final(resp, limit, decoded)

    async def _tls_for(self, url: URL) -> ssl.SSLContext | bool:
        """`tls_context()` for https, made in a thread at the first (it reads the CA bundle); True for http
        (aiohttp's default, unused without TLS)."""
        if url.scheme != "https":
            return True
        if self._tls is None:  # (the first wave of requests all get here before the bundle is read)
            self._tls = asyncio.ensure_future(asyncio.to_thread(tls_context))
        return await self._tls

    async def _final(self, resp: aiohttp.ClientResponse, limit: int, decoded: bool) -> FetchResult:
        """The result for a response that is not a redirect; reads the body of a 2xx."""
        result = FetchResult(
            url=str(resp.url),
            final_url=str(resp.url),
            status=resp.status,
            body=None,
            content_type=resp.headers.get("Content-Type", "")[:MAX_ERROR_CHARS],
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
            max_age=_max_age(resp.headers.get("Cache-Control", "")),
        )
        if resp.status == 304:
            return replace(result, not_modified=True)
        if 200 <= resp.status < 300:
            try:
                body = await _read_capped(resp, limit, decoded)
            except _BodyTooLarge:
                return replace(result, error=f"body larger than {size_words(limit)}")
            encoding = "" if decoded else resp.headers.get("Content-Encoding", "")[:MAX_ERROR_CHARS]
            return replace(result, body=body, content_encoding=encoding)
        retry_after = None
        if resp.status in RETRY_AFTER_STATUSES:
            retry_after = _retry_after(resp.headers.get("Retry-After", ""), self._settings.max_retry_after)
        return replace(result, gone=resp.status == 410, retry_after=retry_after,
                       error=_status_error(resp.status, retry_after))  # fmt: skip

    def _describe(self, exc: Exception) -> str:
        """A short readable reason for a failed request (order matters: specific classes first)."""
        s = self._settings
        if isinstance(exc, _PrivateAddress):
            return f"refused: {exc.address} is a private address"
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return f"timed out connecting ({s.connect_timeout:g} s)"
        if isinstance(exc, aiohttp.SocketTimeoutError):
            return f"no answer within {s.read_timeout:g} s"
        if isinstance(exc, TimeoutError):
            return f"took longer than {s.total_timeout:g} s"
        if isinstance(exc, aiohttp.ClientConnectorDNSError):
            return "host not found"
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return "TLS certificate not trusted"
        if isinstance(exc, aiohttp.ClientSSLError):
            return "TLS handshake failed"
        if isinstance(exc, aiohttp.ClientConnectorError):
            return _connect_error(exc.os_error)
        if isinstance(exc, aiohttp.ServerDisconnectedError):
            return "server closed the connection"
        if isinstance(exc, aiohttp.ClientPayloadError):
            return "body cut short or badly encoded"
        if isinstance(exc, aiohttp.ClientResponseError):
            return "malformed HTTP response"
        if isinstance(exc, (aiohttp.InvalidURL, ValueError)):
            return "invalid URL"
        if isinstance(exc, (aiohttp.ClientError, OSError)):
            return f"network error ({type(exc).__name__})"
        log.warning("unexpected error fetching", exc_info=exc)
        return f"unexpected error ({type(exc).__name__})"


def sockets_allowed(wanted: int) -> int:
    """Requests that may be in flight at once: `wanted`, or fewer when the file-descriptor limit could not
    give each two sockets (a connection may try two addresses at once) and keep FD_RESERVE for the rest.

    A soft limit (RLIMIT_NOFILE) below that is first raised toward the hard one, as Go programs do at
    start-up: the soft limit stays low (often 1024) only for programs that still use select(), and none here does.
    """
    need = 2 * wanted + FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need and (hard == resource.RLIM_INFINITY or soft < hard):
        raised = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):  # e.g. macOS refuses more than OPEN_MAX
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, (soft - FD_RESERVE) // 2))


def _refusal(url: URL, allow_private: bool) -> str | None:
    """Why `url` must not be requested at all, if it must not."""
    if url.scheme not in SCHEMES:
        return f"unsupported scheme {url.scheme[:20]!r}"
    if not url.host:
        return "invalid URL"
    if not allow_private and is_private_host(str(url)):
        return f"refused: {url.host.rstrip('.')} is a private address"
    return None


async def _read_capped(resp: aiohttp.ClientResponse, limit: int, decoded: bool) -> bytes:
    """The body (decompressed if `decoded`), given up as soon as it grows past `limit` bytes.

    aiohttp decompresses in bounded steps as we read, so a gzip bomb never
    inflates more than about a chunk beyond the limit.
    """
    sent_as_is = not decoded or not resp.headers.get("Content-Encoding")
    if resp.content_length is not None and resp.content_length > limit and sent_as_is:
        raise _BodyTooLarge
    body = bytearray()
    async for chunk in resp.content.iter_chunked(CHUNK_BYTES):
        body += chunk
        if len(body) > limit:
            raise _BodyTooLarge
    return bytes(body)


def _failure(url: str, final_url: str, error: str) -> FetchResult:
    return FetchResult(url=url, final_url=final_url, status=None, body=None, error=error[:MAX_ERROR_CHARS])


def _status_error(status: int, retry_after: float | None) -> str:
    """E.g. "HTTP 404 Not Found", "HTTP 429 Too Many Requests (retry after 120 s)"."""
    try:
        text = f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:  # a status Python has no name for; the server's own reason is not trusted
        text = f"HTTP {status}"
    if retry_after is not None:
        text += f" (retry after {math.ceil(retry_after)} s)"
    return text


def _connect_error(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ConnectionResetError):
        return "connection reset"
    reason = error.strerror or type(error).__name__
    return f"could not connect ({reason[:80]})"


def _retry_after(value: str, cap: float) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date), capped at `cap`."""
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no claim about local time
        when = when.replace(tzinfo=timezone.utc)
    return min(max((when - datetime.now(timezone.utc)).total_seconds(), 0.0), cap)


def _max_age(cache_control: str) -> float | None:
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None

