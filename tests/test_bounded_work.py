"""Bounded work per document: a feed that would hold a worker for minutes fails alone, with a clear error.

Through the real CLI against real local servers: a feed of ~100,000 tags
beside ordinary feeds and a 10 MB title, with `[fetch] max_cpu_seconds` low enough that the
pathological one cannot finish in it while the ordinary ones easily do.
"""

from __future__ import annotations

import os

import pytest

from reader.process_pool import CpuLimitExceeded, cpu_limit
from tests.clirun import reader
from tests.feedgen import items, rss

RSS = {"Content-Type": "application/rss+xml"}


def tag_soup(entries: int) -> str:
    """A well-formed feed of `entries` items, each a handful of tags: a lot of parsing for its size."""
    body = "".join(f"<item><title>t{k}</title><link>http://127.0.0.1/x/{k}</link><guid>g{k}</guid>"
                   f"<description>&lt;p&gt;a &lt;b&gt;b&lt;/b&gt; c&lt;/p&gt;</description></item>"
                   for k in range(entries))  # fmt: skip
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>soup</title>{body}</channel></rss>'


def test_a_feed_past_its_cpu_limit_fails_alone(http_server, tmp_path):
    before = http_server.route("/before.xml", rss(items(3, "Before")), headers=RSS)
    soup = http_server.route("/soup.xml", tag_soup(100_000), headers=RSS)
    title = "word " * 2_000_000  # a 10 MB title: capped by the parser, not an error
    huge_title = http_server.route("/title.xml", rss(items(1, "Title")).replace("Title 0", title), headers=RSS)
    after = http_server.route("/after.xml", rss(items(2, "After")), headers=RSS)
    data, config = tmp_path / "data", tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text("[fetch]\nmax_cpu_seconds = 1\nmax_feed_bytes = 33554432\n")
    (tmp_path / "urls").write_text("\n".join([before, soup, huge_title, after]))
    assert reader("feeds", "import", str(tmp_path / "urls"), data=data, config=config).code == 0

    run = reader("fetch", "--no-fulltext", "--json", data=data, config=config)

    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    feeds = {f["url"]: f for f in run.json()["feeds"]}
    assert feeds[soup]["status"] == "error"
    assert "1 s of CPU" in feeds[soup]["error"] and "max_cpu_seconds" in feeds[soup]["error"]
    assert feeds[before]["status"] == feeds[after]["status"] == "ok"
    assert feeds[before]["new"] == 3 and feeds[after]["new"] == 2
    assert feeds[huge_title]["status"] == "ok" and feeds[huge_title]["new"] == 1
    listed = {f["url"]: f for f in reader("feeds", "list", "--json", data=data, config=config).json()}
    assert listed[soup]["articles"] == 0 and "CPU" in listed[soup]["last_error"]
    assert listed[before]["articles"] == 3 and listed[after]["articles"] == 2


def test_cpu_limit_interrupts_python_code_and_is_lifted_after():
    def spin() -> None:
        while True:
            pass

    try:
        with cpu_limit(0.05):
            spin()
    except CpuLimitExceeded:
        pass
    else:  # pragma: no cover - the loop never ends by itself
        raise AssertionError("not interrupted")
    with cpu_limit(5):  # a block within its limit runs to its end
        total = sum(range(100_000))
    assert total == 4_999_950_000


# Loaded by every Python started with the test's PYTHONPATH: the CLI's spawned pool workers (and only they) end
# at start-up, as a worker that cannot import or is killed before its first task does.
WORKER_DIES = """
import os, signal, sys
if "--multiprocessing-fork" in sys.argv:
    how = os.environ["TEST_WORKER_ENDS"]
    os.kill(os.getpid(), getattr(signal, how)) if how.startswith("SIG") else os._exit(int(how))
"""


@pytest.mark.parametrize("how, said", [("3", "exit code 3"), ("SIGKILL", "killed by SIGKILL"),
                                       ("SIGXCPU", "1 s of CPU")])  # fmt: skip
def test_a_worker_that_dies_at_start_up_is_named_as_such(http_server, tmp_path, how, said):
    feed = http_server.route("/feed.xml", rss(items(2, "Story")), headers=RSS)
    data, config, site = tmp_path / "data", tmp_path / "config", tmp_path / "site"
    config.mkdir()
    site.mkdir()
    (config / "config.toml").write_text("[fetch]\nmax_cpu_seconds = 1\n")
    (site / "sitecustomize.py").write_text(WORKER_DIES)
    (tmp_path / "urls").write_text(feed)
    assert reader("feeds", "import", str(tmp_path / "urls"), data=data, config=config).code == 0

    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    run = reader("fetch", "--no-fulltext", "--json", data=data, config=config, PYTHONPATH=path, TEST_WORKER_ENDS=how)

    assert run.code == 0 and "Traceback" not in run.err  # the run goes on: the feed is tried again next time
    error = run.json()["feeds"][0]["error"]
    assert said in error
    if how != "SIGXCPU":  # (the signal RLIMIT_CPU ends a worker stuck in C code with: the CPU limit's message)
        assert "worker process" in error and "too large" not in error
    listed = reader("feeds", "list", "--json", data=data, config=config).json()
    assert said in listed[0]["last_error"]
