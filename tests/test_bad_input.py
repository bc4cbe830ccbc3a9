"""Bad input gets a clear message and loses nothing, through the real CLI: feed URLs, import files,
items sharing one guid, a full disk, a read-only data dir, an emptied database, and the modes of the files the reader writes."""

from __future__ import annotations

import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from reader.parse.fast_path import parse_fast
from reader.parse.feedparser_path import parse_with_feedparser
from tests.clirun import reader
from tests.feedgen import Item, items, recent, rss

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def folded(text: str) -> str:
    return " ".join(text.split())  # stderr wraps long messages at the terminal's width


BAD_FEED_URLS = [
    ("http://", "it names no host"),
    ("http://example.org:99999/feed", "its port must be a number from 1 to 65535"),
    ("http://example.org:0/feed", "its port must be a number from 1 to 65535"),
    ("http://example.org/fe\r\ned", r"it holds a control character or space ('\r' at position 22)"),
    ("ftp://example.org/feed", "it must start with http:// or https:// (not ftp:)"),
    ("example.org/feed", "it must start with http:// or https://"),
    ("http://exa_mple..org/feed", "its host 'exa_mple..org' is not a valid host name"),
]


def test_feeds_add_refuses_what_is_not_a_feed_url_and_says_why(tmp_path):
    data = tmp_path / "data"

    def add(url: str):
        return reader("feeds", "add", "--as-is", url, data=data)

    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(add, [url for url, _ in BAD_FEED_URLS]))
    for (url, why), run in zip(BAD_FEED_URLS, runs):
        assert run.code == 2 and f"not a feed URL: {url!r}: {why}" in folded(run.err), (url, run.err)
    assert reader("feeds", "list", "--json", data=data).json() == []
    ok = reader("feeds", "add", "--as-is", "http://127.0.0.1:8080/feed.xml", data=data)
    assert ok.code == 0, ok.err


def test_feeds_import_takes_every_good_line_and_names_each_skipped_one(tmp_path):
    data = tmp_path / "data"
    urls = tmp_path / "urls"
    urls.write_text(
        "https://a.example/feed.xml\n"
        "this line is not a url\n"
        "http://b.example:99999/rss\n"
        'https://c.example/atom "~C" tech\n'
        'https://d.example/feed "unterminated\n'
        "gopher://e.example/feed\n"
        "https://f.example/feed\n",
        encoding="utf-8",
    )
    run = reader("feeds", "import", str(urls), data=data)
    assert run.code == 0, run.err
    err = folded(run.err)
    for expected in ("line 2: not a URL: 'this line is not a url'",
                     "line 3: its port must be a number from 1 to 65535: 'http://b.example:99999/rss'",
                     "line 5: unterminated double quote",
                     "line 6: not an http(s) URL: 'gopher://e.example/feed'"):  # fmt: skip
        assert expected in err, run.err
    feeds = {f["url"] for f in reader("feeds", "list", "--json", data=data).json()}
    assert feeds == {"https://a.example/feed.xml", "https://c.example/atom", "https://f.example/feed"}


def fetched(http_server, tmp_path, count: int):
    """A data dir holding a local feed's `count` articles (no pages), fetched."""
    data = tmp_path / "data"
    url = http_server.route("/feed.xml", rss(items(count)), headers=RSS)
    assert reader("feeds", "add", "--as-is", "--no-fulltext", url, data=data).code == 0
    assert reader("fetch", data=data).code == 0
    return data


def shared_items(n: int) -> list[Item]:
    """n items, each its own story with its own link, all under one <guid> (a misconfigured CMS)."""
    return [Item(f"Story {k}", f"http://127.0.0.1/a/{k}", f"About {k}.", guid="http://127.0.0.1/",
                 published=recent(k)) for k in range(n)]  # fmt: skip


def shared_guid_feed(n: int, *, reverse: bool = False, broken: bool = False) -> str:
    body = rss(shared_items(n)[:: -1 if reverse else 1])
    return body.replace("</channel>", "<unclosed></channel>") if broken else body  # broken: feedparser's path


def test_items_sharing_one_guid_are_told_apart_and_the_feed_says_so(http_server, tmp_path):
    data = tmp_path / "data"
    url = http_server.route("/shared.xml", shared_guid_feed(20), headers=RSS)
    assert reader("feeds", "add", "--as-is", url, data=data).code == 0
    first = reader("fetch", "--json", data=data)
    assert first.code == 0, first.err
    assert first.json()["feeds"][0]["new"] == 20
    [feed] = reader("feeds", "list", "--json", data=data).json()
    assert feed["last_status"] == "ok" and "20 items shared one guid" in feed["last_error"]
    # The next fetch: another order, one more item, read by the other parser; each keeps its identity.
    http_server.route("/shared.xml", shared_guid_feed(21, reverse=True, broken=True), headers=RSS)
    second = reader("fetch", "--json", data=data).json()["feeds"][0]
    assert (second["new"], second["updated"]) == (1, 0), second
    titles = [a["title"] for a in reader("articles", "--json", "--limit", "100", data=data).json()]
    assert sorted(titles) == sorted(f"Story {k}" for k in range(21))


def test_both_parsers_tell_shared_guids_apart_alike():
    entries = shared_items(5)
    body = rss(entries + entries[:1]).encode()  # the first item listed twice
    fast = parse_fast(body, "http://127.0.0.1/f", "application/rss+xml")
    slow = parse_with_feedparser(body, "http://127.0.0.1/f", "application/rss+xml")
    assert fast is not None
    assert [a.key for a in fast.articles] == [a.key for a in slow.articles]
    assert len(fast.articles) == 5 and len({a.key for a in fast.articles}) == 5  # the repeat is kept once
    assert fast.warning == "6 items shared one guid; told apart by link, title and date"


def run_in(setup, *args: str, data, config=None) -> subprocess.CompletedProcess:
    """The real command, in a process that first runs `setup` (a file size limit, a umask)."""
    env = {**os.environ, "READER_DATA_DIR": str(data), "READER_CONFIG_DIR": str(config or data / "config"),
           "COLUMNS": "200"}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "reader", *args], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL, preexec_fn=setup)  # fmt: skip


def run_with_file_size_limit(limit: int, *args: str, data) -> subprocess.CompletedProcess:
    """Files cannot grow past `limit` bytes: a full disk, without one."""
    return run_in(lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)), *args, data=data)


def test_a_full_disk_stops_the_run_with_one_line_and_loses_nothing(http_server, tmp_path):
    data = tmp_path / "data"
    url = http_server.route("/big.xml", rss(items(300)), headers=RSS)
    assert reader("feeds", "add", "--as-is", url, data=data).code == 0
    db = data / "reader.sqlite"
    run = run_with_file_size_limit(db.stat().st_size + 64 * 1024, "fetch", data=data)
    err = folded(run.stderr)
    assert run.returncode == 1, run.stderr
    assert err.count("reader:") == 1 and "Traceback" not in err, run.stderr
    assert f"could not write to the database {db}" in err and "Nothing was lost" in err
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    # With room again, the same command does everything it could not: every article stored (by the first run
    # before the disk filled, or by this one), indexed and found.
    again = reader("fetch", "--json", data=data)
    assert again.code == 0, again.err
    assert len(reader("articles", "--json", "--limit", "1000", data=data).json()) == 300
    assert len(reader("search", "--json", "--limit", "1000", "Story", data=data).json()) == 300


def test_an_emptied_database_is_refused_while_the_index_holds_its_articles(http_server, tmp_path):
    data = tmp_path / "data"
    url = http_server.route("/feed.xml", rss(items(5)), headers=RSS)
    assert reader("feeds", "add", "--as-is", url, data=data).code == 0
    assert reader("fetch", data=data).code == 0
    db = data / "reader.sqlite"
    db.write_bytes(b"")  # truncated: a crash of the disk, a bad copy, a sync tool
    for command in (("feeds", "list"), ("fetch",)):
        run = reader(*command, data=data)
        err = folded(run.err)
        assert run.code == 1 and "Traceback" not in err, run.err
        assert f"{db} is empty (0 bytes), but the index beside it" in err and "Restore it from a backup" in err
    assert db.stat().st_size == 0  # left as found, for the user to restore
    # A new user's first run, with no index yet, is not refused.
    assert reader("feeds", "list", data=tmp_path / "new").code == 0


def run_under_umask(umask: int, *args: str, data, config=None) -> subprocess.CompletedProcess:
    return run_in(lambda: os.umask(umask), *args, data=data, config=config)


def modes(*paths) -> dict[str, str]:
    return {p.name: oct(p.stat().st_mode & 0o777) for p in paths}


def test_what_the_reader_writes_is_owner_only_under_umask_022(http_server, tmp_path):
    data, config = tmp_path / "data", tmp_path / "config"
    config.mkdir()
    log = tmp_path / "reader.log"
    (config / "config.toml").write_text(f"[daemon]\nlog_file = {str(log)!r}\n")
    url = http_server.route("/feed.xml", rss(items(3)), headers=RSS)
    added = run_under_umask(0o022, "feeds", "add", "--as-is", "--no-fulltext", url, data=data, config=config)
    assert added.returncode == 0, added.stderr
    daemon = run_under_umask(0o022, "daemon", "--once", data=data, config=config)
    assert daemon.returncode == 0, daemon.stderr
    export = tmp_path / "out.jsonl"
    assert run_under_umask(0o022, "export", "--out", str(export), data=data, config=config).returncode == 0
    index = data / "index"
    assert set(modes(data / "reader.sqlite", export, log).values()) == {oct(0o600)}
    assert set(modes(data, index).values()) == {oct(0o700)}
    assert not [p for p in data.rglob("*") if p.stat().st_mode & 0o077]  # the index's files too (its lock is 0700)
    # Left open by an older reader: tightened on the next run, with one line saying so.
    os.chmod(data, 0o755)
    os.chmod(data / "reader.sqlite", 0o644)
    run = run_under_umask(0o022, "fetch", data=data, config=config)
    assert run.returncode == 0, run.stderr
    notice = [line for line in run.stderr.splitlines() if "owner-only" in line]
    assert len(notice) == 1 and "made 2 path(s) owner-only that others could read" in notice[0], run.stderr
    assert modes(data, data / "reader.sqlite") == {"data": oct(0o700), "reader.sqlite": oct(0o600)}
    again = run_under_umask(0o022, "fetch", data=data, config=config)
    assert "owner-only" not in again.stderr


def run_on_read_only(data, *args: str) -> subprocess.CompletedProcess:
    """The real command with `data` read-only: a read-only bind mount for root (whom modes do not stop),
    else the modes."""
    command = [*read_only_prefix(data), sys.executable, "-m", "reader", *args]
    env = {**os.environ, "READER_DATA_DIR": str(data), "READER_CONFIG_DIR": str(data / "config"), "COLUMNS": "200"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_a_read_only_data_dir_is_one_line_for_each_command_that_writes(
        http_server, tmp_path):  # fmt: skip
    data = fetched(http_server, tmp_path, 3)
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    make_read_only(data)
    try:
        for command in (("fetch",), ("feeds", "add", "--as-is", "http://127.0.0.1:9/other.xml"), ("daemon", "--once"),
                        ("feeds", "remove", "1")):  # fmt: skip
            run = run_on_read_only(data, *command)
            err = folded(run.stderr)
            assert run.returncode == 1 and "Traceback" not in err and err.count("reader:") == 1, (command, run.stderr)
            assert "Nothing was lost" in err and ("make them writable" in err or "make it writable" in err), command
    finally:
        for path in [data, *data.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    assert {p: p.read_bytes() for p in before} == before


def read_only_prefix(data) -> list[str]:
    """What runs a command with `data` read-only: a read-only bind mount for root (whom modes do not stop); for
    anyone else the modes do it (`make_read_only`)."""
    if os.geteuid() != 0:
        return []
    return ["unshare", "-m", "sh", "-c", f"mount --bind {data} {data} && mount -o remount,ro,bind {data} {data} && "
            'exec "$@"', "sh"]  # fmt: skip


def make_read_only(data) -> None:
    if os.geteuid() != 0:
        for path in [data, *data.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
    elif run_on_read_only(data, "--version").returncode != 0:
        pytest.skip("root here, and no mount namespace to make a directory read-only in")


def test_a_read_only_data_dir_after_a_clean_exit_is_read_by_every_reading_command_and_the_tui(http_server, tmp_path):
    """No -wal/-shm left and none can be made: SQLite's WAL mode cannot open it read-only (the file alone holds
    everything then, so it is opened as immutable). A command that must write names the directory."""
    data = fetched(http_server, tmp_path, 3)
    assert reader("feeds", "list", data=data).code == 0  # the last connection to close folds the WAL in
    assert not [p.name for p in data.glob("reader.sqlite-*")]
    make_read_only(data)
    try:
        listed = run_on_read_only(data, "articles", "--json")
        assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 3, listed.stderr
        title = json.loads(listed.stdout)[0]["title"]
        for command in (("search", title), ("show", "1"), ("stories", "show", "1"), ("export",), ("doctor",)):
            run = run_on_read_only(data, *command)
            assert run.returncode in (0, 1) and "reader:" not in run.stderr and run.stdout, (command, run.stderr)
        assert title in run_on_read_only(data, "search", title).stdout
        run = run_on_read_only(data, "stories", "mute", "1")
        err = folded(run.stderr)
        assert run.returncode == 1 and err.count("reader:") == 1, run.stderr
        assert f"the data directory {data} is read-only" in err and "make it writable" in err, run.stderr
        screen = tui_on_read_only(data, title.encode())
        assert b"Read-only" in screen and b"Traceback" not in screen
    finally:
        for path in [data, *data.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)


def tui_on_read_only(data, title: bytes) -> bytes:
    """`reader` on a terminal, `data` read-only: the first screen, then m (mark read: off there) and Q."""
    import fcntl
    import struct
    import termios

    from tests.tui.test_entry import exit_code, read_until

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    env = {**os.environ, "READER_DATA_DIR": str(data), "READER_CONFIG_DIR": str(data.parent / "config"),
           "TERM": "xterm-256color"}  # fmt: skip
    proc = subprocess.Popen([*read_only_prefix(data), sys.executable, "-m", "reader"], stdin=slave, stdout=slave,
                            stderr=slave, env=env)  # fmt: skip
    os.close(slave)
    try:
        seen = read_until(master, title)
        seen += read_until(master, b"Read-only")
        os.write(master, b"\tm")
        os.write(master, b"Q")
        assert exit_code(proc, master, timeout=30) == 0, seen[-2000:]
        return seen
    finally:
        proc.kill()
        os.close(master)


def test_a_data_dir_that_is_a_file_or_an_output_path_that_is_not_there_is_one_line_naming_it(tmp_path):
    """`--data-dir` pointing at the database file, say, or `export --out` into a directory not made yet."""
    in_the_way = tmp_path / "reader.sqlite"
    in_the_way.write_bytes(b"precious")
    for data in (in_the_way, in_the_way / "sub"):
        run = reader("fetch", data=data)
        err = folded(run.err)
        assert run.code == 1 and "Traceback" not in err and err.count("reader:") == 1, run.err
        assert f"could not write {data} (" in err and "something else is in its place" in err, run.err
    assert in_the_way.read_bytes() == b"precious"
    missing = tmp_path / "no" / "such" / "dir" / "out.jsonl"
    run = reader("export", "--out", str(missing), data=tmp_path / "data")
    assert run.code == 1 and f"could not write {missing} (No such file or directory)" in folded(run.err), run.err


def test_an_unexpected_error_is_one_line_and_its_traceback_under_debug_masks_every_secret(capsys):
    """A bug's message may quote a feed's URL: masked like every log line, with or without --debug (Python's
    own traceback printer would show it whole)."""
    from reader.cli import _unexpected

    try:
        raise ValueError("refreshing http://u:Feedpasswd@x.example/f?token=Plantedhooktoken went wrong")
    except ValueError as exc:
        assert _unexpected(exc, debug=False) == 1
        quiet = capsys.readouterr().err
        assert _unexpected(exc, debug=True) == 1
        loud = capsys.readouterr().err
    assert "Traceback" not in quiet and "run with --debug" in " ".join(quiet.split())
    assert "Traceback" in loud and "raise ValueError" in loud
    for shown in (quiet, loud):
        assert "unexpected error: ValueError" in shown and "http://****@x.example/f?token=****" in shown
        assert "Plantedhooktoken" not in shown and "Feedpasswd" not in shown


BAD_NUMBERS = [
    (("articles", "--limit", "-1"), "argument --limit: must be a number from 1 to 1,000,000,000 (got -1)"),
    (("search", "--limit", "0", "x"), "argument --limit: must be a number from 1 to 1,000,000,000 (got 0)"),
    (("alerts", "--limit", "99999999999999999999"), "must be a number from 1 to 1,000,000,000"),
    (("stories", "show", "99999999999999999999"), "argument ID: must be a number from 1 to 9,223,372,036,854,775,807"),
    (("fetch", "--wait", "nan"), "argument --wait: must be a number from 0 to 86,400 (got nan)"),  # a wait forever
    (("index", "check", "--sample", "x"), "argument --sample: 'x' is not a whole number"),
]


def test_a_number_out_of_range_on_the_command_line_is_refused_naming_what_is_allowed(tmp_path):
    """Each was taken: -1 and 0 listed nothing as if nothing matched; an id past SQLite's integers was a traceback."""
    with ThreadPoolExecutor(3) as pool:
        runs = list(pool.map(lambda case: reader(*case[0], data=tmp_path / "data"), BAD_NUMBERS))
    for (args, message), run in zip(BAD_NUMBERS, runs):
        assert run.code == 2 and message in folded(run.err) and "Traceback" not in run.err, (args, run.err)
    show = reader("show", "99999999999999999999", data=tmp_path / "data")  # an id, or else a link: neither
    assert show.code == 2 and "no article '99999999999999999999'" in folded(show.err), show.err


def test_output_closed_early_ends_the_command_quietly(http_server, tmp_path):
    """`reader export | head`: no error and no traceback for what the pipe's reader chose not to read."""
    data = fetched(http_server, tmp_path, 300)
    env = {**os.environ, "READER_DATA_DIR": str(data), "READER_CONFIG_DIR": str(data / "config")}
    proc = subprocess.Popen([sys.executable, "-m", "reader", "export"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)  # fmt: skip
    assert proc.stdout.read(100)
    proc.stdout.close()  # as `head -c 100` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and err == "", err


def test_a_broken_pipe_other_than_standard_output_is_an_error_naming_it(http_server, tmp_path):
    """`export --out FIFO` whose reader stops early: not the quiet 141 of `export | head` (stdout is fine)."""
    import threading

    data = fetched(http_server, tmp_path, 300)
    fifo = tmp_path / "out.jsonl"
    os.mkfifo(fifo)

    def read_a_little() -> None:
        with fifo.open("rb") as f:
            f.read(100)

    reading = threading.Thread(target=read_a_little)
    reading.start()
    run = reader("export", "--out", str(fifo), data=data)
    reading.join()
    err = folded(run.err)
    assert run.code == 1 and err.count("reader:") == 1 and "Traceback" not in err, run.err
    assert f"could not write {fifo} (Broken pipe" in err, run.err


def test_a_damaged_database_is_one_line_naming_it_and_how_to_save_what_it_holds(http_server, tmp_path):
    data = fetched(http_server, tmp_path, 300)
    db = data / "reader.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    [root] = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'articles'").fetchone()
    conn.close()
    with db.open("r+b") as f:  # a bad sector under the articles (the schema is whole: the database opens)
        f.seek((root - 1) * page_size)
        f.write(random.Random(7).randbytes(page_size))
    run = reader("export", data=data)
    err = folded(run.err)
    assert run.code == 1 and "Traceback" not in err and err.count("reader:") == 1, run.err
    assert f"the database {db} is damaged (database disk image is malformed)" in err and ".recover" in err, run.err
