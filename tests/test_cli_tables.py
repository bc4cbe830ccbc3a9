"""CLI tables on ordinary terminals: ids and states stay, long text gets the rest, pipes get whole records."""

from __future__ import annotations

import pytest
from rich.text import Text

from reader.console import Col, column_widths
from tests.clirun import reader, reader_in_terminal
from tests.feedgen import Item, recent, rss

LONG = "A very long headline about export controls on advanced chips that goes on and on for many words"


def test_key_columns_keep_their_width_and_flexible_ones_share_the_rest():
    cols = [Col("id"), Col("title", flex=2), Col("url", flex=1, drop=2), Col("status"), Col("notes", drop=1)]
    row = [Text("1234"), Text(LONG), Text("https://example.org/" + "x" * 80), Text("ok"), Text("n" * 40)]
    widths = column_widths(cols, [row], 80)
    assert widths[0] == 4 and widths[3] == len("status")
    assert 2 not in widths and widths[4] == 40  # the highest `drop` goes first, and only as far as needed
    assert sum(widths.values()) + 2 * (len(widths) - 1) <= 80
    narrow = column_widths(cols, [row], 60)
    assert set(narrow) == {0, 1, 3} and narrow[1] == 60 - 4 - 6 - 4  # the title takes what is left
    roomy = column_widths(cols, [row], 160)
    assert set(roomy) == {0, 1, 2, 3, 4} and roomy[1] > roomy[2] >= 16  # flexible columns share 2:1
    wide = column_widths(cols, [row], 400)
    assert set(wide) == {0, 1, 2, 3, 4} and wide[1] == len(LONG)  # never wider than the content


@pytest.fixture
def world(http_server, tmp_path):
    data = tmp_path / "data"
    items = [Item(LONG + f" {k}", http_server.url(f"/a/{k}"), "Summary.", published=recent(k)) for k in range(3)]
    url = http_server.route("/feed-with-a-rather-long-path/that/keeps/going/rss.xml", rss(items, "Policy Wire Daily"))
    assert reader("feeds", "add", url, "--group", "Policy", data=data).code == 0
    assert reader("fetch", "--no-fulltext", data=data).code == 0
    return data


@pytest.mark.parametrize("columns", [80, 120])
def test_feeds_list_keeps_id_group_title_and_status_at_ordinary_widths(world, columns):
    run = reader_in_terminal("feeds", "list", data=world, columns=columns)
    assert run.code == 0, run.err
    lines = [line for line in run.out.splitlines() if line.strip()]
    header = lines[0].split()
    assert header[:3] == ["id", "group", "title"] and "status" in header
    assert lines[1].split()[:2] == ["1", "Policy"]
    assert all(len(line) <= columns for line in lines)


def test_articles_keep_id_and_give_the_title_the_width(world):
    run = reader_in_terminal("articles", data=world, columns=80)
    lines = [line for line in run.out.splitlines() if line.strip()]
    assert lines[0].split()[0] == "id" and lines[1].split()[0].isdigit()
    assert all(len(line) <= 80 for line in lines)
    assert "A very long headline" in lines[1]


def test_piped_tables_are_one_full_record_per_line(world):
    run = reader("feeds", "list", data=world)
    record = run.out.splitlines()[1]
    assert "/feed-with-a-rather-long-path/that/keeps/going/rss.xml" in record and "Policy Wire Daily" in record
    run = reader("articles", data=world)
    assert all(LONG in line for line in run.out.splitlines()[1:])
