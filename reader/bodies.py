"""A response body's Content-Encoding undone (gzip, deflate) under a size cap, in whichever process reads the body.

It never imports aiohttp: the parse workers run it, so the main process never inflates a feed or a page.

`Fetcher.get(decoded=False)` hands a body on as the server sent it: inflating it
(~0.15 CPU-s on 100 real feeds) and moving it to a worker four times larger
were the main process's work. The rules are aiohttp's, which decodes the other
bodies: only a Content-Encoding of exactly `gzip` or `deflate` (any case) is
undone, gzip members may follow one another, a deflate body may lack its zlib
header, and any other value leaves the body as it is, except `br` and `zstd`,
which the reader never asks for and cannot read. Inflated with ISA-L (`isal`),
~3x faster than the standard library's zlib.
"""

from __future__ import annotations

import zlib

from isal import isal_zlib  # zlib's interface, inflating ~3x faster (ISA-L)

UNREADABLE = frozenset({"br", "zstd"})
STEP = 1 << 20  # compressed bytes fed to the inflater at a time: a bomb never inflates far past the cap


class BodyError(ValueError):
    """The body cannot be decoded, or decodes to more than the cap; the message says which, in a few words."""


def too_large(limit: int) -> BodyError:
    return BodyError(f"body larger than {size_words(limit)}")


def decoded(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """`body` with its `content_encoding` undone, at most `limit` bytes (BodyError past it, or when unreadable)."""
    encoding = (content_encoding or "").lower() if (content_encoding or "").isascii() else ""
    if encoding in UNREADABLE:
        raise BodyError(f"body in an encoding the reader cannot read ({encoding})")
    if encoding == "gzip":
        body = _inflate(body, 16 + zlib.MAX_WBITS, limit, members=True)
    elif encoding == "deflate":  # RFC 1950 says zlib-wrapped; some servers send raw deflate
        wbits = zlib.MAX_WBITS if body[:1] and body[0] & 0xF == 8 else -zlib.MAX_WBITS
        body = _inflate(body, wbits, limit, members=False)
    if len(body) > limit:
        raise too_large(limit)
    return body


def _inflate(data: bytes, wbits: int, limit: int, *, members: bool) -> bytes:
    """Inflate `data` a step at a time, giving up as soon as the output passes `limit`. A gzip body may hold
    several members, one after another (bytes after the last are ignored); a deflate body must end (a cut
    gzip body gives what it holds, as aiohttp does)."""
    out, view, at = bytearray(), memoryview(data), 0  # `at`: where the bytes fed so far end
    inflater = isal_zlib.decompressobj(wbits)
    try:
        while True:
            if inflater.eof:  # a member ended: another may follow
                at -= len(inflater.unused_data)
                if not members or view[at:at + 2] != b"\x1f\x8b":  # (what follows the last member is ignored)
                    break
                inflater = isal_zlib.decompressobj(wbits)
            room = limit + 1 - len(out)
            if inflater.unconsumed_tail:  # (the output was capped: the rest of the last step)
                chunk = inflater.decompress(inflater.unconsumed_tail, room)
            elif at < len(view):
                chunk, at = inflater.decompress(view[at:at + STEP], room), min(at + STEP, len(view))
            else:
                break
            out += chunk
            if len(out) > limit:
                raise too_large(limit)
    except (isal_zlib.error, zlib.error):
        raise BodyError("body cut short or badly encoded") from None
    if not members and data and not inflater.eof:
        raise BodyError("body cut short or badly encoded")
    return bytes(out)


def size_words(n: int) -> str:
    """16777216 -> "16 MiB"."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"
