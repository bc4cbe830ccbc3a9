"""reader.fetch against real servers on 127.0.0.1: the shared test server, and raw sockets for misbehaviour."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import ssl
import subprocess
import sys
import threading
import tracemalloc
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from reader.bodies import BodyError, decoded
from reader.config import FetchSettings
from reader.fetch import Fetcher, is_private_host
from tests.httpserver import HTTPServer, Response, Seen

MiB = 1 << 20
SETTINGS = FetchSettings(connect_timeout=2, read_timeout=2, total_timeout=5, max_redirects=5)
RSS = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


@pytest.fixture
async def fetcher():
    async with Fetcher(SETTINGS) as f:
        yield f


def gzipped_zeros(size: int) -> bytes:
    """`size` zero bytes, gzipped a MiB at a time so the test never holds them all."""
    packer = zlib.compressobj(wbits=31)
    block = bytes(MiB)
    return b"".join(packer.compress(block) for _ in range(size // MiB)) + packer.flush()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- success, conditional GET, encodings, headers


async def test_etag_then_not_modified(http_server, fetcher):
    url = http_server.route("/feed", RSS, etag='"v1"', headers={"Content-Type": "application/rss+xml"})
    first = await fetcher.get(url)
    assert first.ok and first.body == RSS and first.status == 200
    assert first.etag == '"v1"' and first.content_type == "application/rss+xml"
    second = await fetcher.get(url, etag=first.etag)
    assert second.not_modified and second.status == 304 and second.body is None and not second.ok
    assert second.etag == '"v1"' and second.error is None
    assert http_server.requests[-1].headers["if-none-match"] == '"v1"'


async def test_last_modified_conditional(http_server, fetcher):
    stamp = "Wed, 01 Jan 2025 00:00:00 GMT"
    url = http_server.route("/feed", RSS, last_modified=stamp)
    first = await fetcher.get(url)
    assert first.ok and first.last_modified == stamp
    assert "if-modified-since" not in http_server.requests[-1].headers
    second = await fetcher.get(url, last_modified=stamp)
    assert second.not_modified and second.last_modified == stamp
    assert http_server.requests[-1].headers["if-modified-since"] == stamp


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_body_is_decoded(http_server, fetcher, encoding):
    packed = zlib.compress(RSS * 100, wbits=31 if encoding == "gzip" else 15)
    url = http_server.route("/feed", packed, headers={"Content-Encoding": encoding})
    result = await fetcher.get(url)
    assert result.ok and result.body == RSS * 100
    assert "gzip" in http_server.requests[-1].headers["accept-encoding"]


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_body_left_encoded_is_decoded_by_its_reader(http_server, fetcher, encoding):
    """`decoded=False`: the bytes as sent, for the parse worker to inflate (`bodies.decoded`), as aiohttp would."""
    packed = zlib.compress(RSS * 100, wbits=31 if encoding == "gzip" else 15)
    url = http_server.route("/feed", packed, headers={"Content-Encoding": encoding.upper()})
    result = await fetcher.get(url, decoded=False)
    assert result.ok and result.body == packed and result.content_encoding == encoding.upper()
    assert decoded(result.body, result.content_encoding, len(RSS) * 100) == RSS * 100
    with pytest.raises(BodyError, match="^body larger than 5999 bytes$"):
        decoded(result.body, result.content_encoding, len(RSS) * 100 - 1)
    plain = await fetcher.get(http_server.route("/plain", RSS), decoded=False)
    assert (plain.body, plain.content_encoding) == (RSS, "")


def test_decoding_follows_aiohttp():
    """Several gzip members, raw deflate (no zlib header), and unknown encodings left alone read as aiohttp
    reads them; a cut deflate body and encodings the reader never asks for are refused in words."""
    gzip_members = zlib.compress(RSS, wbits=31) + zlib.compress(RSS, wbits=31)
    assert decoded(gzip_members, "gzip", 10**6) == RSS * 2
    assert decoded(zlib.compress(RSS, wbits=-15), "deflate", 10**6) == RSS
    assert decoded(RSS, "x-custom", 10**6) == RSS and decoded(b"", "gzip", 10) == b""
    with pytest.raises(BodyError, match="cut short"):
        decoded(zlib.compress(RSS * 50)[:-20], "deflate", 10**6)
    with pytest.raises(BodyError, match=r"cannot read \(br\)"):
        decoded(b"x", "br", 10**6)


def test_decoding_a_gzip_bomb_stops_at_the_cap():
    bomb = gzipped_zeros(50 * MiB)
    tracemalloc.start()
    try:
        with pytest.raises(BodyError, match="^body larger than 1 MiB$"):
            decoded(bomb, "gzip", MiB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * MiB


async def test_user_agent_and_accept_are_sent(http_server, fetcher):
    url = http_server.route("/feed", RSS)
    await fetcher.get(url)
    await fetcher.get(url, accept="text/html")
    feed_request, page_request = http_server.requests
    assert feed_request.headers["user-agent"] == SETTINGS.user_agent
    assert "application/rss+xml" in feed_request.headers["accept"]
    assert page_request.headers["accept"] == "text/html"


async def test_cache_control_max_age(http_server, fetcher):
    url = http_server.route("/feed", RSS, headers={"Cache-Control": "public, max-age=900"})
    assert (await fetcher.get(url)).max_age == 900


# --- redirects


@pytest.mark.parametrize(
    ("statuses", "permanent"),
    [((301,), True), ((308,), True), ((302,), False), ((301, 302), False), ((307, 301), False), ((301, 308), True)],
)
async def test_permanent_url_only_when_every_hop_is_permanent(http_server, fetcher, statuses, permanent):
    final = http_server.route("/final", RSS)
    for i, status in enumerate(statuses):
        target = f"/hop{i + 1}" if i + 1 < len(statuses) else "/final"
        http_server.route(f"/hop{i}", status=status, headers={"Location": target})
    result = await fetcher.get(http_server.url("/hop0"))
    assert result.ok and result.final_url == final and result.url == http_server.url("/hop0")
    assert result.permanent_url == (final if permanent else None)


async def test_no_redirect_no_permanent_url(http_server, fetcher):
    assert (await fetcher.get(http_server.route("/feed", RSS))).permanent_url is None


async def test_redirect_loop(http_server, fetcher):
    http_server.route("/a", status=302, headers={"Location": "/b"})
    http_server.route("/b", status=301, headers={"Location": http_server.url("/a")})
    result = await fetcher.get(http_server.url("/a"))
    assert result.error == "redirect loop" and result.status is None and not result.ok
    assert http_server.hits("/a") == 1 and http_server.hits("/b") == 1


@pytest.mark.parametrize(("redirects", "error"), [(5, None), (6, "too many redirects (more than 5)")])
async def test_redirect_limit(http_server, fetcher, redirects, error):
    for i in range(redirects):
        http_server.route(f"/r{i}", status=302, headers={"Location": f"/r{i + 1}"})
    http_server.route(f"/r{redirects}", RSS)
    result = await fetcher.get(http_server.url("/r0"))
    assert result.error == error and result.ok == (error is None)
    assert sum(http_server.hits(f"/r{i}") for i in range(redirects + 1)) == min(redirects + 1, 6)


async def test_redirect_to_unsupported_scheme(http_server, fetcher):
    http_server.route("/feed", status=302, headers={"Location": "ftp://example.com/feed"})
    result = await fetcher.get(http_server.url("/feed"))
    assert result.error == "unsupported scheme 'ftp'" and result.final_url == "ftp://example.com/feed"


# --- HTTP errors


@pytest.mark.parametrize(
    ("status", "error"), [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error"), (599, "HTTP 599")]
)
async def test_http_error_status(http_server, fetcher, status, error):
    result = await fetcher.get(http_server.route("/feed", b"oops", status=status))
    assert result.status == status and result.error == error and result.body is None and not result.ok
    assert not result.gone and result.retry_after is None


async def test_gone(http_server, fetcher):
    result = await fetcher.get(http_server.route("/feed", status=410))
    assert result.gone and result.error == "HTTP 410 Gone" and result.status == 410


async def test_429_with_delta_seconds(http_server, fetcher):
    result = await fetcher.get(http_server.route("/feed", status=429, headers={"Retry-After": "120"}))
    assert result.retry_after == 120
    assert result.error == "HTTP 429 Too Many Requests (retry after 120 s)"


async def test_503_with_http_date(http_server, fetcher):
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=300), usegmt=True)
    result = await fetcher.get(http_server.route("/feed", status=503, headers={"Retry-After": when}))
    assert result.retry_after is not None and 290 <= result.retry_after <= 300
    assert result.error.startswith("HTTP 503 Service Unavailable (retry after ")


async def test_retry_after_is_capped(http_server, fetcher):
    result = await fetcher.get(http_server.route("/feed", status=429, headers={"Retry-After": "99999999"}))
    assert result.retry_after == SETTINGS.max_retry_after


async def test_retry_after_garbage_is_ignored(http_server, fetcher):
    result = await fetcher.get(http_server.route("/feed", status=503, headers={"Retry-After": "soon-ish"}))
    assert result.retry_after is None and result.error == "HTTP 503 Service Unavailable"


# --- body caps


async def test_body_at_cap_is_kept(http_server, fetcher):
    result = await fetcher.get(http_server.route("/feed", b"x" * MiB), max_bytes=MiB)
    assert result.ok and len(result.body) == MiB


async def test_body_over_cap_with_content_length(http_server, fetcher):
    result = await fetcher.get(http_server.route("/feed", b"x" * (MiB + 1)), max_bytes=MiB)
    assert result.error == "body larger than 1 MiB" and result.status == 200 and result.body is None


async def test_default_cap_is_max_feed_bytes(http_server):
    async with Fetcher(FetchSettings(max_feed_bytes=1000)) as fetcher:
        result = await fetcher.get(http_server.route("/feed", b"x" * 1001))
    assert result.error == "body larger than 1000 bytes"


async def test_body_over_cap_without_content_length():
    """A chunked body with no end: the fetch gives up at the cap and stops reading."""
    sent = 0

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
        try:
            while sent < 200 * MiB:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
        except ConnectionError:
            pass
        writer.close()

    server = await asyncio.start_server(endless, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, Fetcher(SETTINGS) as fetcher:
        result = await fetcher.get(f"http://127.0.0.1:{port}/feed", max_bytes=MiB)
    assert result.error == "body larger than 1 MiB" and result.status == 200
    assert sent < 100 * MiB  # the connection was dropped, not drained


async def test_gzip_bomb_is_stopped_at_the_cap(http_server, fetcher):
    bomb = gzipped_zeros(50 * MiB)
    url = http_server.route("/feed", bomb, headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        result = await fetcher.get(url, max_bytes=MiB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.error == "body larger than 1 MiB"
    assert peak < 10 * MiB


# --- network failures


async def test_silent_server_times_out():
    """The kernel accepts the connection (listen backlog) but nobody ever answers."""
    quick = FetchSettings(connect_timeout=0.5, read_timeout=0.5, total_timeout=3)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        async with Fetcher(quick) as fetcher:
            result = await fetcher.get(f"http://127.0.0.1:{port}/feed")
    assert result.error == "no answer within 0.5 s" and result.status is None


async def test_connect_timeout():
    """A listener with a full accept queue: the kernel drops further SYNs, so connecting hangs."""
    quick = FetchSettings(connect_timeout=0.5, read_timeout=0.5, total_timeout=3)
    with socket.create_server(("127.0.0.1", 0), backlog=0) as full:
        port = full.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        try:
            async with Fetcher(quick) as fetcher:
                result = await fetcher.get(f"http://127.0.0.1:{port}/feed")
        finally:
            for filler in fillers:
                filler.close()
    assert result.error == "timed out connecting (0.5 s)"


async def test_total_timeout_bounds_a_slow_drip():
    """Bytes keep coming, each in time for the read timeout, but the whole takes too long."""
    done = asyncio.Event()

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        try:
            while not done.is_set():
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.05)
        except ConnectionError:
            pass
        writer.close()

    server = await asyncio.start_server(drip, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, Fetcher(FetchSettings(read_timeout=2, total_timeout=0.5)) as fetcher:
        result = await fetcher.get(f"http://127.0.0.1:{port}/feed")
        done.set()
    assert result.error == "took longer than 0.5 s"


async def test_connection_refused(fetcher):
    result = await fetcher.get(f"http://127.0.0.1:{closed_port()}/feed")
    assert result.error == "connection refused" and result.status is None and not result.ok


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://example.com/feed.xml", "unsupported scheme 'ftp'"),
        ("file:///etc/passwd", "unsupported scheme 'file'"),
        ("feed.xml", "unsupported scheme ''"),
        ("http:///feed.xml", "invalid URL"),
        ("http://[::1/feed", "invalid URL"),
    ],
)
async def test_unusable_urls(fetcher, url, error):
    result = await fetcher.get(url)
    assert result.error == error and result.url == url and result.status is None


# --- concurrency


class InFlightGate:
    """A handler that holds each request until `width` are in flight (or no more will come), then a moment
    longer so that an excess request would show; records the peak."""

    def __init__(self, width: int, total: int):
        self.width, self.total = width, total
        self.started = self.now = self.peak = 0
        self.changed = threading.Condition()

    def __call__(self, seen: Seen) -> Response:
        with self.changed:
            self.started += 1
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.changed.notify_all()
            self.changed.wait_for(lambda: self.now >= self.width or self.started == self.total, timeout=5)
            self.changed.wait_for(lambda: self.now > self.width, timeout=0.05)
            self.now -= 1
        return Response(200, RSS)


async def test_per_host_bound(http_server):
    gate = InFlightGate(width=2, total=10)
    url = http_server.route("/feed", handler=gate)
    async with Fetcher(FetchSettings(per_host=2)) as fetcher:
        results = await asyncio.gather(*(fetcher.get(url) for _ in range(10)))
    assert all(r.ok for r in results)
    assert gate.peak == 2


async def test_overall_bound_across_hosts(http_server):
    """127.0.0.1 and localhost are two hosts to the fetcher, one server to us."""
    gate = InFlightGate(width=3, total=10)
    http_server.route("/feed", handler=gate)
    urls = [f"http://{host}:{http_server.port}/feed" for host in ("127.0.0.1", "localhost")] * 5
    async with Fetcher(FetchSettings(concurrency=3, per_host=10)) as fetcher:
        results = await asyncio.gather(*(fetcher.get(url) for url in urls))
    assert all(r.ok for r in results)
    assert gate.peak == 3


# In a child process, as the hard limit cannot be raised again once lowered.
LOW_LIMIT_CHILD = """
import asyncio, resource, sys
from reader.config import FetchSettings
from reader.fetch import FD_RESERVE, Fetcher

resource.setrlimit(resource.RLIMIT_NOFILE, (FD_RESERVE + 6, FD_RESERVE + 6))

async def main():
    async with Fetcher(FetchSettings(concurrency=10, per_host=10)) as fetcher:
        results = await asyncio.gather(*(fetcher.get(url) for url in sys.argv[1:]))
    print(sum(r.ok for r in results))

asyncio.run(main())
"""


def test_overall_bound_fits_the_descriptor_limit(http_server):
    """A file-descriptor limit that cannot be raised holds two sockets per request and a reserve for the rest:
    room for 3 requests, not the 10 configured."""
    gate = InFlightGate(width=3, total=10)
    http_server.route("/feed", handler=gate)
    urls = [f"http://{host}:{http_server.port}/feed" for host in ("127.0.0.1", "localhost")] * 5
    done = subprocess.run([sys.executable, "-c", LOW_LIMIT_CHILD, *urls], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["10"] and gate.peak == 3


def test_a_low_soft_descriptor_limit_is_raised_toward_the_hard_one():
    child = ("import resource; from reader.fetch import sockets_allowed; "
             "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE); "
             "resource.setrlimit(resource.RLIMIT_NOFILE, (300, hard)); "
             "print(sockets_allowed(512), resource.getrlimit(resource.RLIMIT_NOFILE)[0])")  # fmt: skip
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 2 * 512 + 256:
        pytest.skip(f"the hard descriptor limit ({hard}) is too low to show it")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["512", str(2 * 512 + 256)], done.stderr


async def test_time_spent_queueing_is_not_counted_against_the_timeout(http_server):
    """Five requests through one slot take longer than one request may; none of them times out."""
    url = http_server.route("/slow", RSS, delay=0.2)
    async with Fetcher(FetchSettings(per_host=1, total_timeout=0.6)) as fetcher:
        results = await asyncio.gather(*(fetcher.get(url) for _ in range(5)))
    assert [r.error for r in results] == [None] * 5


# --- TLS

TLS_DIR = os.path.join(os.path.dirname(__file__), "data", "tls")  # certificates: its README

# A child process, so that the CA certificates it trusts (SSL_CERT_FILE) are read afresh.
FETCH_CHILD = """
import asyncio, json, sys
from reader.config import FetchSettings
from reader.fetch import Fetcher

async def main():
    async with Fetcher(FetchSettings(connect_timeout=5, read_timeout=5, total_timeout=10)) as fetcher:
        results = [await fetcher.get(url) for url in sys.argv[1:]]
    print(json.dumps([r.body.decode() if r.ok else r.error for r in results]))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def https_servers():
    """Two https servers with a certificate for 127.0.0.1 and localhost: one on 127.0.0.1, one on 127.0.0.2."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(os.path.join(TLS_DIR, "server.pem"), os.path.join(TLS_DIR, "server.key"))
    servers = [HTTPServer(host, tls=tls) for host in ("127.0.0.1", "127.0.0.2")]
    for server in servers:
        server.route("/feed", RSS)
    yield servers
    for server in servers:
        server.close()


def fetched_in_child(urls: list[str], **env: str) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    done = subprocess.run([sys.executable, "-c", FETCH_CHILD, *urls], capture_output=True, text=True, timeout=60,
                          env={**environ, **env})  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_https_checks_certificates_as_strictly_as_ever(https_servers, http_server):
    """A certificate from a CA the system trusts (here, by SSL_CERT_FILE) for the host asked for is accepted
    (not by aiohttp's own default context: `tls_context()`);
    the same certificate for another host, or from a CA not trusted, is refused; plain http goes on alike."""
    right, wrong_host = (server.url("/feed") for server in https_servers)
    plain = http_server.route("/feed", RSS)
    by_localhost = right.replace("127.0.0.1", "localhost")
    trusted = fetched_in_child([plain, right, wrong_host, by_localhost], SSL_CERT_FILE=os.path.join(TLS_DIR, "ca.pem"),
                               SSL_CERT_DIR=TLS_DIR)  # fmt: skip
    assert trusted == [RSS.decode(), RSS.decode(), "TLS certificate not trusted", RSS.decode()]
    untrusted = fetched_in_child([right, plain])  # the system's own CAs
    assert untrusted == ["TLS certificate not trusted", RSS.decode()]


# --- private addresses


@pytest.mark.parametrize(
    ("url", "private"),
    [
        ("http://127.0.0.1:8080/feed", True),
        ("http://localhost/feed", True),
        ("http://LOCALHOST./feed", True),
        ("http://127.0.0.1./feed", True),
        ("http://intranet.localhost/", True),
        ("http://10.0.0.5/", True),
        ("http://192.168.1.1/", True),
        ("http://172.16.0.1/", True),
        ("http://169.254.169.254/latest/meta-data", True),
        ("http://100.64.0.1/", True),
        ("http://0.0.0.0/", True),
        ("http://224.0.0.1/", True),
        ("http://[::1]/", True),
        ("http://[fe80::1]/", True),
        ("http://[fd00::1]/", True),
        ("http://[::ffff:10.0.0.1]/", True),
        ("https://example.com/feed", False),
        ("http://8.8.8.8/", False),
        ("http://[2606:4700:4700::1111]/", False),
        ("http://[::ffff:8.8.8.8]/", False),
        ("not a url", False),
    ],
)
def test_is_private_host(url, private):
    assert is_private_host(url) is private


async def test_private_literal_refused_without_a_request(http_server, fetcher):
    url = http_server.route("/page", b"<html></html>")
    result = await fetcher.get(url, allow_private=False)
    assert result.error == "refused: 127.0.0.1 is a private address" and not result.ok
    assert http_server.hits("/page") == 0
    assert (await fetcher.get(url)).ok


# Not a literal IP to us (nor to is_private_host), but the system resolver reads it as 127.0.0.1:
# the old inet_aton spelling, a classic way round host-name checks.
DISGUISED_LOOPBACK = "0x7f.0.0.1"


def disguised_loopback_url(server, path: str) -> str:
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(DISGUISED_LOOPBACK, server.port)}
    except OSError:
        resolved = set()
    if resolved != {"127.0.0.1"}:
        pytest.skip(f"this system does not resolve {DISGUISED_LOOPBACK} to 127.0.0.1")
    return f"http://{DISGUISED_LOOPBACK}:{server.port}{path}"


async def test_private_name_refused_on_the_address_connected_to(http_server, fetcher):
    http_server.route("/page", b"<html></html>")
    url = disguised_loopback_url(http_server, "/page")
    assert not is_private_host(url)
    result = await fetcher.get(url, allow_private=False)
    assert result.error == "refused: 127.0.0.1 is a private address"
    assert http_server.hits("/page") == 0  # refused after connecting, before sending


async def test_pooled_private_connection_is_not_reused_when_refusing(http_server, fetcher):
    http_server.route("/page", b"<html></html>")
    url = disguised_loopback_url(http_server, "/page")
    assert (await fetcher.get(url, allow_private=True)).ok
    refused = await fetcher.get(url, allow_private=False)
    assert refused.error == "refused: 127.0.0.1 is a private address"
    assert http_server.hits("/page") == 1
    assert (await fetcher.get(url)).ok
