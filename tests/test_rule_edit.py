"""Editing rule files in place (the TUI's rule edits): comments and other keys stay, a bad edit is undone."""

from __future__ import annotations

import stat

import pytest

from reader.rules import delete_rule, edit_rule

RULE = """\
# Chips export news, for the policy team.
query = "export controls AND chips"  # the words that matter
title = "Chip exports"

# where it goes
notify = [
    "json://127.0.0.1:9/hook",  # the team's hook
]
enabled = true   # paused over the holidays
"""


@pytest.fixture
def rule_file(tmp_path):
    path = tmp_path / "chips.toml"
    path.write_text(RULE, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_pausing_changes_one_line_and_keeps_every_comment(rule_file):
    rule = edit_rule(rule_file, {"enabled": False})
    assert rule.enabled is False
    text = rule_file.read_text()
    assert text == RULE.replace("enabled = true   # paused over the holidays", "enabled = false  # paused over the holidays")
    assert stat.S_IMODE(rule_file.stat().st_mode) == 0o600


def test_query_and_multiline_notify_edits_keep_the_comments_around_them(rule_file):
    rule = edit_rule(rule_file, {"query": 'export controls AND "H20"', "notify": ["json://127.0.0.1:9/a", "ops"],
                                 "groups": ["Tech"], "mode": "digest", "quiet_hours": "22:00-07:00"})  # fmt: skip
    assert rule.query_text == 'export controls AND "H20"'
    assert rule.groups == ("Tech",) and rule.mode == "digest" and str(rule.quiet_hours) == "22:00-07:00"
    text = rule_file.read_text()
    for comment in ("# Chips export news", "# the words that matter", "# where it goes", "# paused over the holidays"):
        assert comment in text
    assert "the team's hook" not in text  # a comment inside the replaced value goes with it


def test_none_removes_a_key(rule_file):
    edit_rule(rule_file, {"title": None})
    assert "title" not in rule_file.read_text()
    assert "# the words that matter" in rule_file.read_text()


def test_an_edit_the_loader_refuses_is_undone_with_the_reason(rule_file):
    with pytest.raises(ValueError, match="query"):
        edit_rule(rule_file, {"query": "export AND (chips"})
    assert rule_file.read_text() == RULE
    with pytest.raises(ValueError, match="mode"):
        edit_rule(rule_file, {"mode": "weekly"})
    assert rule_file.read_text() == RULE


def test_delete_removes_the_file(rule_file):
    delete_rule(rule_file)
    assert not rule_file.exists()
