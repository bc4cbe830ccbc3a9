"""URL helpers: canonical forms for recognising one story carried by several feeds, the one form a feed's URL
is stored and known by, feed URLs with their credentials masked for people, and whether a URL can be a feed's.
Pure: never touches the network, never changes a stored URL."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

# Query parameters that only track where a click came from; they never change the page.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "ref", "ref_src", "cmpid",
     "ocid", "smid", "sr_share", "taid", "guccounter", "_hsenc", "_hsmi", "mkt_tok", "yclid", "twclid"}
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "at_", "itm_")
DEFAULT_PORTS = {"http": 80, "https": 443}


def _http_parts(url: str) -> tuple[SplitResult, str, str] | None:
    """An http(s) URL's parts, its scheme in lowercase, and its port as it follows the host (`:8080`; '' for
    none or the scheme's default); None for any other URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts, scheme, f":{port}" if port and port != DEFAULT_PORTS[scheme] else ""


def canonical_url(url: str) -> str:
    """`url` without tracking parameters, fragment, default port or letter-case noise in scheme and host.

    Returns the input unchanged when it is not an http(s) URL.
    """
    http = _http_parts(url.strip())
    if http is None:
        return url
    parts, scheme, port = http
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    ]
    return urlunsplit((scheme, parts.hostname.lower() + port, parts.path or "/", urlencode(query), ""))


def normal_feed_url(url: str) -> str:
    """`url` as one feed is stored and known: scheme and host in lowercase, a default port dropped, an empty
    path made `/` (`HTTP://Host:80` is `http://host/`). Credentials, path, query and fragment stay exactly as
    given: servers may tell their case apart. Returns the input unchanged when it is not an http(s) URL."""
    http = _http_parts(url)
    if http is None:
        return url
    parts, scheme, port = http
    userinfo, at, host = parts.netloc.rpartition("@")
    host = host if host.endswith("]") or ":" not in host else host.rpartition(":")[0]  # ([IPv6] keeps its colons)
    return urlunsplit((scheme, f"{userinfo}{at}{host.lower()}{port}", parts.path or "/", parts.query, parts.fragment))


# -- credentials ------------------------------------------------------------------------------

MASK = "****"
_USERINFO_RE = re.compile(r"^([A-Za-z][\w+.-]*://)([^/?#@\s]*)@")
_URL_IN_TEXT_RE = re.compile(r"""[A-Za-z][\w+.-]*://[^\s'"<>]+""")
_SECRET_WORDS = frozenset({"token", "key", "secret", "auth", "password", "passwd", "pass", "pwd", "sig",
                           "signature", "apikey", "session", "sid", "credential", "credentials", "jwt"})  # fmt: skip
_SECRET_ENDINGS = ("token", "key", "secret", "password", "passwd", "auth")


def is_secret_param(name: str) -> bool:
    """A query parameter named like a credential: token, api_key, X-Auth, accessToken, password…"""
    name = unquote(name).lower()
    return name.endswith(_SECRET_ENDINGS) or any(w in _SECRET_WORDS for w in re.split(r"[^a-z0-9]+", name))


def same_feed_notes(feeds: Iterable[tuple[int, str]]) -> list[str]:
    """For (id, url) subscriptions: one line for each feed subscribed in several spellings before URLs were
    compared as `normal_feed_url` writes them (`HTTP://Host/feed` and `http://host/feed`), naming them and how
    to drop one. They are never merged: each keeps its articles and their read states."""
    by_url: dict[str, list[int]] = {}
    for feed_id, url in feeds:
        by_url.setdefault(normal_feed_url(url), []).append(feed_id)
    return [
        f"feeds {', '.join(map(str, sorted(ids)))} are one feed, {redact_url(url)}, subscribed in {len(ids)} "
        f"spellings: each keeps its articles and read states; 'reader feeds remove {max(ids)}' drops the newer "
        f"one and its articles"
        for url, ids in by_url.items()
        if len(ids) > 1
    ]


def redact_url(url: str) -> str:
    """`url` as people may see it (lists, the TUI, logs, errors): its userinfo and the values of
    credential-like query parameters masked. The stored URL, with its secrets, is what is fetched."""
    url = _USERINFO_RE.sub(lambda m: f"{m.group(1)}{MASK}@", url)
    head, question, rest = url.partition("?")
    if not question:
        return url
    query, hash_, fragment = rest.partition("#")
    pairs = []
    for pair in query.split("&"):
        key, eq, value = pair.partition("=")
        pairs.append(f"{key}{eq}{MASK}" if eq and value and is_secret_param(key) else pair)
    return f"{head}?{'&'.join(pairs)}{hash_}{fragment}"


def redact_urls_in(text: str) -> str:
    """Free text (an error, a log line) with every URL in it passed through `redact_url`."""
    return _URL_IN_TEXT_RE.sub(lambda m: redact_url(m.group(0)), text) if "://" in text else text


MAX_FEED_URL_CHARS = 2048
_HOST_LABEL = re.compile(r"(?!-)[\w-]{1,63}(?<!-)")  # letters (any script), digits, '-' and '_' (seen in the wild)


def feed_url_problem(url: str) -> str | None:
    """Why `url` cannot be a feed's URL (said for people), or None when it can: http(s), a valid host and port,
    no control characters or spaces anywhere."""
    bad = next((c for c in url if not c.isprintable() or c.isspace()), None)
    if bad is not None:
        return f"it holds a control character or space ({bad!r} at position {url.index(bad) + 1})"
    if len(url) > MAX_FEED_URL_CHARS:
        return f"it is longer than {MAX_FEED_URL_CHARS} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a port out of 0-65535 or not a number, a broken [IPv6] literal
        if "port" in str(exc).lower():
            return "its port must be a number from 1 to 65535"
        return f"it is not a valid URL ({exc})"
    if parts.scheme.lower() not in DEFAULT_PORTS:
        return f"it must start with http:// or https://{f' (not {parts.scheme}:)' if parts.scheme else ''}"
    host = parts.hostname or ""
    if not host:
        return "it names no host"
    if port == 0:
        return "its port must be a number from 1 to 65535"
    if "[" not in parts.netloc and not all(_HOST_LABEL.fullmatch(label) for label in host.removesuffix(".").split(".")):
        return f"its host {host!r} is not a valid host name"
    return None
