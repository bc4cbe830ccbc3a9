"""`reader fetch` end to end against a real local server full of broken and hostile feeds."""

from __future__ import annotations

import gc
import socket
import threading
import zlib

import pytest

from reader.ingest import fewer_collections
from reader.store import Store
from tests.clirun import reader
from tests.feedgen import Item, atom, items, recent, rss

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title><link>http://x/1</link></item></channel></rss>"""


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/feed.xml"
    stop.set()
    thread.join()
    for s in held:
        s.close()
    sock.close()


@pytest.fixture
def world(http_server, silent_server, tmp_path):
    """Good feeds and every kind of bad one, subscribed in one data dir with tight limits."""
    s = http_server
    good = s.route("/good.xml", rss(items(3, "Good")), headers=RSS, etag='"v1"')
    good_atom = s.route("/atom.xml", atom(items(2, "Atomic")), headers={"Content-Type": "application/atom+xml"})
    hostile = s.route("/hostile.xml", rss([
        Item("Red \x1b[31malert\x1b[0m and \x1b]0;pwned\x07 title", "http://127.0.0.1/h1", "bell \x07 here"),
        Item("[bold red]not markup[/] x [/] y", "http://127.0.0.1/h2", "[@click=app.quit]Click[/]"),
    ]), headers=RSS)  # fmt: skip
    latin = rss([Item("Café société", "http://127.0.0.1/l1")]).encode("utf-8")
    wrong_charset = s.route("/wrong-charset.xml", latin, headers={"Content-Type": "application/rss+xml; charset=iso-8859-1"})
    no_charset = s.route("/no-charset.xml", latin.replace(b' encoding="utf-8"', b""), headers={"Content-Type": "text/xml"})
    gzipped = s.route("/gzipped.xml", rss(items(2, "Zipped")), headers=RSS, gzip=True)
    bad = {
        "malformed": s.route("/malformed.xml", "<rss><channel><title>x</titl", headers=RSS),
        "html": s.route("/page.html", "<!doctype html><html><head><title>Hi</title></head><body><p>Welcome</p></body></html>",
                        headers={"Content-Type": "text/html"}),
        "empty": s.route("/empty.xml", b"", headers=RSS),
        "huge": s.route("/huge.xml", rss(items(50)) + " " * 300_000, headers=RSS),
        "bomb": s.route("/bomb.xml", zlib.compress(rss(items(1)).encode() + b" " * 5_000_000, wbits=31),
                        headers={**RSS, "Content-Encoding": "gzip"}),  # 5 kB inflating past max_feed_bytes
        "silent": silent_server,
        "loop": s.route("/loop-a", status=302, headers={"Location": "/loop-b"}),
        "404": s.route("/missing.xml", status=404),
        "500": s.route("/broken.xml", status=500),
        "410": s.route("/gone.xml", status=410),
        "429": s.route("/busy.xml", status=429, headers={"Retry-After": "120"}),
        "laughs": s.route("/laughs.xml", BILLION_LAUGHS, headers=RSS),
    }  # fmt: skip
    s.route("/loop-b", status=302, headers={"Location": "/loop-a"})
    data, config = tmp_path / "data", tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text(
        "[fetch]\nconnect_timeout = 2\nread_timeout = 2\ntotal_timeout = 3\nmax_feed_bytes = 200000\n"
    )
    urls = [good, good_atom, hostile, wrong_charset, no_charset, gzipped, *bad.values()]
    (tmp_path / "world.txt").write_text("\n".join(urls))  # a newsboat urls file: one import, not 17 runs
    assert reader("feeds", "import", str(tmp_path / "world.txt"), data=data, config=config).code == 0
    return {"data": data, "config": config, "good": good, "atom": good_atom, "hostile": hostile, "bad": bad,
            "gzipped": gzipped, "server": s}  # fmt: skip


def feeds_by_url(world) -> dict[str, dict]:
    run = reader("feeds", "list", "--json", data=world["data"], config=world["config"])
    assert run.code == 0, run.err
    return {f["url"]: f for f in run.json()}


def test_one_run_survives_every_bad_feed(world):
    run = reader("fetch", "--no-fulltext", data=world["data"], config=world["config"])
    assert run.code == 0, run.err
    assert "Traceback" not in run.err + run.out
    feeds = feeds_by_url(world)
    assert feeds[world["good"]]["articles"] == 3 and feeds[world["good"]]["last_status"] == "ok"
    assert feeds[world["atom"]]["articles"] == 2
    assert feeds[world["gzipped"]]["articles"] == 2  # inflated by the worker that parsed it
    laughs = feeds[world["bad"].pop("laughs")]  # defused: an error, or articles with the entities unexpanded
    assert laughs["last_status"] == "error" or ("lol" not in laughs["title"].replace("&lol9;", ""))
    for name, url in world["bad"].items():
        f = feeds[url]
        assert f["last_status"] in ("error", "gone"), (name, f)
        assert f["last_error"], name
        assert f["articles"] == 0, (name, f)
    assert "410" in feeds[world["bad"]["410"]]["last_error"] and not feeds[world["bad"]["410"]]["enabled"]
    assert "redirect" in feeds[world["bad"]["loop"]]["last_error"]
    assert "MiB" in feeds[world["bad"]["huge"]]["last_error"] or "larger" in feeds[world["bad"]["huge"]]["last_error"]
    assert feeds[world["bad"]["bomb"]]["last_error"] == "body larger than 200000 bytes"


def test_hostile_titles_are_stored_clean(world):
    reader("fetch", "--no-fulltext", data=world["data"], config=world["config"])
    from reader.store import Store

    store = Store(world["data"] / "reader.sqlite")
    titles = {a.title for a in store.iter_articles()}
    texts = " ".join(a.summary for a in store.iter_articles())
    assert "Red alert and title" in " ".join(titles).replace("  ", " ")
    assert "[bold red]not markup[/] x [/] y" in titles  # markup kept literally, as data
    assert not any(ch in "".join(titles) + texts for ch in "\x1b\x07\x9b")
    assert "Café société" in titles


def test_conditional_get_and_identical_bodies(world):
    reader("fetch", "--no-fulltext", data=world["data"], config=world["config"])
    server = world["server"]
    before = server.hits("/good.xml")
    run = reader("fetch", "--no-fulltext", "--json", world["good"], data=world["data"], config=world["config"])
    outcome = run.json()["feeds"][0]
    assert outcome["status"] == "not-modified" and outcome["new"] == 0
    assert server.hits("/good.xml") == before + 1
    assert server.requests[-1].headers.get("if-none-match") == '"v1"'


def test_retry_after_defers_the_next_fetch(world):
    reader("fetch", "--no-fulltext", data=world["data"], config=world["config"])
    server = world["server"]
    hits = server.hits("/busy.xml")
    run = reader("fetch", "--no-fulltext", "--json", world["bad"]["429"], data=world["data"], config=world["config"])
    assert run.json()["feeds"][0]["status"] == "deferred"
    assert server.hits("/busy.xml") == hits  # honoured: not asked again before the time is up


def test_permanent_redirect_moves_the_feed(http_server, tmp_path):
    new = http_server.route("/new.xml", rss(items(1)), headers=RSS)
    old = http_server.route("/old.xml", status=301, headers={"Location": "/new.xml"})
    data = tmp_path / "data"
    reader("feeds", "add", old, data=data)
    run = reader("fetch", "--no-fulltext", "--json", data=data)
    assert run.json()["feeds"][0]["moved_to"] == new
    assert [f["url"] for f in reader("feeds", "list", "--json", data=data).json()] == [new]


def test_updated_entry_updates_instead_of_duplicating(http_server, tmp_path):
    entry = Item("First title", "http://127.0.0.1/a/1", "v1", guid="id-1", published=recent())
    http_server.route("/f.xml", rss([entry]), headers=RSS)
    data = tmp_path / "data"
    reader("feeds", "add", http_server.url("/f.xml"), data=data)
    reader("fetch", "--no-fulltext", data=data)
    entry.title, entry.summary = "Corrected title", "v2"
    http_server.route("/f.xml", rss([entry, Item("Second", "http://127.0.0.1/a/2", guid="id-2")]), headers=RSS)
    run = reader("fetch", "--no-fulltext", "--json", data=data).json()
    assert (run["new"], run["updated"]) == (1, 1)
    http_server.route("/f.xml", rss([]), headers=RSS)  # everything vanished from the feed
    reader("fetch", "--no-fulltext", data=data)
    assert reader("feeds", "list", "--json", data=data).json()[0]["articles"] == 2


def test_second_writer_is_told_another_is_running(http_server, tmp_path):
    from reader.lock import WriterLock

    data = tmp_path / "data"
    reader("feeds", "add", http_server.route("/f.xml", rss(items(1)), headers=RSS), data=data)
    lock = WriterLock(data / "writer.lock")
    lock.acquire()
    try:
        run = reader("fetch", "--no-fulltext", "--wait", "0", data=data)
    finally:
        lock.release()
    assert run.code == 1
    assert "another reader process" in run.err and "Traceback" not in run.err


def test_a_feed_added_while_the_daemon_runs_says_the_daemon_fetches_it(http_server, tmp_path):
    from reader.lock import WriterLock

    data = tmp_path / "data"
    lock = WriterLock(data / "writer.lock")
    lock.acquire(daemon=True)  # as `reader daemon` holds it
    try:
        run = reader("feeds", "add", http_server.route("/f.xml", rss(items(1)), headers=RSS), "--as-is", data=data)
    finally:
        lock.release()
    assert run.code == 0 and "The running daemon fetches it within seconds." in run.out
    assert "reader fetch" not in run.out


def test_a_100k_item_feed_is_capped_not_a_crash(http_server, tmp_path):
    flood = [Item(f"F{k}", f"http://127.0.0.1/f/{k}") for k in range(100_000)]
    body = rss(flood).encode()
    assert len(body) < 16 * 2**20  # under the size cap: this test is about the entry count
    data = tmp_path / "data"
    (data / "config").mkdir(parents=True)  # this test is about the cap, not the CPU limit (test_bounded_work.py)
    (data / "config" / "config.toml").write_text("[fetch]\nmax_cpu_seconds = 120\n")
    reader("feeds", "add", http_server.route("/flood.xml", body, headers=RSS), data=data)
    good = http_server.route("/good.xml", rss(items(2, "Fine")), headers=RSS)
    reader("feeds", "add", good, data=data)
    run = reader("fetch", "--no-fulltext", "--json", data=data, timeout=300)
    assert run.code == 0, run.err
    outcomes = {o["url"]: o for o in run.json()["feeds"]}
    flood = outcomes[http_server.url("/flood.xml")]
    assert flood["status"] == "ok" and flood["new"] == 2000
    assert "100,000 entries" in flood["error"]
    assert outcomes[good]["new"] == 2


def test_cache_control_max_age_is_kept_for_the_schedule(http_server, tmp_path):
    data = tmp_path / "data"
    url = http_server.route("/f.xml", rss(items(1)), headers={**RSS, "Cache-Control": "max-age=7200"}, etag='"a"')
    reader("feeds", "add", url, data=data)
    for expected in ("ok", "not-modified"):  # stored on a full answer and on a 304 alike
        run = reader("fetch", "--no-fulltext", "--json", data=data)
        assert run.json()["feeds"][0]["status"] == expected
        assert Store(data / "reader.sqlite").feed_max_ages() == {1: 7200}


def test_a_run_collects_garbage_seldom_and_leaves_the_thresholds_as_it_found_them():
    before = gc.get_threshold()
    try:
        with fewer_collections(young=20_000):
            assert gc.get_threshold() == (20_000, *before[1:])
        assert gc.get_threshold() == before
        with fewer_collections(young=20_000):
            gc.set_threshold(2000, 10, 50)  # the TUI's, set while a refresh runs in its thread: kept
        assert gc.get_threshold() == (2000, 10, 50)
    finally:
        gc.set_threshold(*before)
