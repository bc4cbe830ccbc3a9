"""Rule files: loading, validation that teaches, redaction, writing, seeding, and the `reader rules` commands."""

from __future__ import annotations

import datetime
import stat
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from reader.config import BUNDLED_RULES
from reader.index import QueryError, SearchIndex
from reader.ingest import update_index
from reader.models import ParsedArticle
from reader.rules import (
    QuietHours, RuleSet, allowed_feed_ids, load_rule, load_rules, seed_rules, write_rule,
)  # fmt: skip
from reader.store import Store
from reader.targets import redact
from tests.clirun import reader


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def only(ruleset: RuleSet, severity: str) -> list[str]:
    return [str(p) for p in ruleset.problems if p.severity == severity]


def problem_of(path: Path, severity: str = "error"):
    rule, problems = load_rule(path)
    found = [p for p in problems if p.severity == severity]
    assert found, problems
    return rule, found[0]


# -- the bundled rules ------------------------------------------------------------------------------


def test_bundled_rules_load_with_no_error_and_only_the_tag_reminder():
    ruleset = load_rules(BUNDLED_RULES)
    rules = {r.name: r for r in ruleset.rules}
    assert set(rules) == {"deepseek-export-controls", "chip-export-controls", "china-ai-policy"}
    assert rules["deepseek-export-controls"].query_text == 'DeepSeek AND "export controls"'
    assert rules["china-ai-policy"].is_saved_search
    assert not rules["chip-export-controls"].is_saved_search
    assert only(ruleset, "error") == []
    assert all("'reader' is an Apprise tag" in w for w in only(ruleset, "warning")), ruleset.problems


def test_bundled_rules_pass_rules_check(tmp_path):
    run = reader("--rules", str(BUNDLED_RULES), "rules", "check", data=tmp_path)
    assert run.code == 0, run.err
    assert "3 rules OK" in run.out


# -- validation ---------------------------------------------------------------------------------------


def test_toml_syntax_error_names_its_line(tmp_path):
    path = write(tmp_path, "broken", 'title = "x"\n\nquery = DeepSeek\n')
    rule, problem = problem_of(path)
    assert rule is None
    assert problem.line == 3
    assert str(problem).startswith(f"{path}:3: error: TOML syntax: Invalid value (column 9)")


def test_double_quotes_inside_a_double_quoted_query_get_a_hint(tmp_path):
    path = write(tmp_path, "quotes", 'query = "DeepSeek AND "export controls""\n')
    _rule, problem = problem_of(path)
    assert problem.line == 1
    assert "put it in single quotes" in problem.message
    path = write(tmp_path, "entity", 'query = "BIS AND "Entity List" AND O\'Brien"\n')  # the hint shows the user's own
    assert problem_of(path)[1].message.endswith("""put it in single quotes: query = '''BIS AND "Entity List" AND O'Brien'''""")


def test_unknown_key_is_an_error_with_its_line_and_a_suggestion(tmp_path):
    path = write(tmp_path, "typo", "query = 'DeepSeek'\nnotfy = ['json://localhost/x']\n")
    rule, problem = problem_of(path)
    assert rule is None  # a typo in notify must not silently turn an alert into a saved search
    assert (problem.line, problem.message) == (2, "unknown key 'notfy'; did you mean 'notify'?")


def test_missing_query_and_wrong_types_are_errors(tmp_path):
    _rule, problem = problem_of(write(tmp_path, "empty", "title = 'nothing'\n"))
    assert "has no query" in problem.message
    _rule, problem = problem_of(write(tmp_path, "types", "query = 'a'\n\nenabled = 'no'\n"))
    assert (problem.line, problem.message) == (3, 'enabled should be true or false, not "no"')


def test_every_wrong_key_of_a_file_is_its_own_error_with_its_line(tmp_path):
    """Fixing one key must not reveal the next only on the following run."""
    path = write(tmp_path, "many", "query = 'a AND (b'\nenabled = 'yes'\ngroups = 3\nmode = 'weekly'\n"
                                   "quiet_hours = '25:00-07:00'\ntimezone = 'Mars/Olympus'\noutlets = 0\n"
                                   "story_updates = 5\n")  # fmt: skip
    rule, problems = load_rule(path)
    assert rule is None
    errors = [(p.line, p.message.split(" ")[0]) for p in problems if p.severity == "error"]
    assert errors == [(1, "the"), (2, "enabled"), (3, "groups"), (4, "mode"), (5, "quiet_hours:"), (6, "unknown"),
                      (7, "outlets"), (8, "story_updates")]  # fmt: skip


def test_a_directory_or_a_dangling_link_named_like_a_rule_is_an_error_not_skipped(tmp_path):
    (tmp_path / "folder.toml").mkdir()
    (tmp_path / "gone.toml").symlink_to(tmp_path / "moved-away.toml")
    write(tmp_path, "good", "query = 'x'\n")
    ruleset = load_rules(tmp_path)
    assert [r.name for r in ruleset.rules] == ["good"]
    assert only(ruleset, "error") == [f"{tmp_path / 'folder.toml'}: error: cannot read the file: Is a directory",
                                      f"{tmp_path / 'gone.toml'}: error: cannot read the file: No such file or directory"]


def test_bad_query_reports_the_column_and_the_line_it_is_on(tmp_path):
    path = write(tmp_path, "paren", "# a comment\nquery = 'DeepSeek AND (chips'\n")
    _rule, problem = problem_of(path)
    assert problem.line == 2
    assert "this '(' is never closed (column 14)" in problem.message
    assert "  DeepSeek AND (chips\n               ^" in problem.message  # the caret under the '('

    path = write(tmp_path, "multiline", "query = '''\nDeepSeek\nAND bogus:field\n'''\n")
    _rule, problem = problem_of(path)
    assert problem.line == 3
    assert "unknown field 'bogus'" in problem.message


def test_unknown_apprise_services_and_refused_urls_are_errors_without_their_secrets(tmp_path):
    path = write(tmp_path, "scheme", "query = 'x'\nnotify = [\n  'ntfy://ntfy.sh/topic',\n  'nosuch://abc123secret@host',\n]\n")
    _rule, problem = problem_of(path)
    assert problem.line == 4
    assert "Apprise has no service 'nosuch://'" in problem.message
    assert "abc123secret" not in str(problem)

    path = write(tmp_path, "slack", "query = 'x'\nnotify = ['slack://T1JJ3T3L2']\n")
    _rule, problem = problem_of(path)
    assert "Apprise does not accept this Slack URL" in problem.message
    assert "T1JJ3T3L2" not in str(problem)

    path = write(tmp_path, "nohost", "query = 'x'\nnotify = ['json://user:hunter2@']\n")
    _rule, problem = problem_of(path)
    assert "hunter2" not in str(problem)


def test_a_url_apprise_accepts_is_fine(tmp_path):
    rule, problems = load_rule(write(tmp_path, "ok", "query = 'x'\nnotify = ['json://127.0.0.1:9/hook']\n"))
    assert rule is not None and rule.notify == ("json://127.0.0.1:9/hook",)
    assert problems == []


def test_one_bad_rule_never_hides_the_others(tmp_path):
    write(tmp_path, "good", "query = 'DeepSeek'\n")
    write(tmp_path, "bad", "query = 'DeepSeek AND'\n")
    write(tmp_path, "also-good", "query = 'chips'\nenabled = false\n")
    ruleset = load_rules(tmp_path)
    assert [r.name for r in ruleset.rules] == ["also-good", "good"]
    assert [p.path.name for p in ruleset.errors] == ["bad.toml"]
    disabled = only(ruleset, "warning")
    assert len(disabled) == 1 and "also-good.toml:2: warning: this rule is disabled" in disabled[0]


def test_warnings_for_the_usual_traps(tmp_path):
    cases = {
        "DeepSeek and chips": "'and' is searched as a word here",
        "Entity List AND chips": 'did you mean the phrase "Entity List"?',
        "title:Commerce Department": "did you mean the phrase title:\"Commerce Department\"?",
        "C++ compilers": "'C++' is searched as \"c\": the analyzer ignores '+'",
        "generative": "'generative' is searched as its stem \"gener\"",
    }
    for i, (query, expected) in enumerate(cases.items()):
        rule, problems = load_rule(write(tmp_path, f"trap{i}", f"# trap\nquery = '{query}'\n"))
        assert rule is not None, query
        assert [(p.line, p.severity) for p in problems] == [(2, "warning")], (query, problems)
        assert expected in problems[0].message, (query, problems[0].message)


def test_names_joined_by_an_operator_or_quoted_are_not_traps(tmp_path):
    for i, query in enumerate(['"Entity List" AND chips', "DeepSeek AND Nvidia", "DeepSeek OR Huawei", "AI chips"]):
        rule, problems = load_rule(write(tmp_path, f"fine{i}", f"query = '{query}'\n"))
        assert rule is not None and problems == [], (query, problems)


def test_scheduling_keys(tmp_path):
    rule, problems = load_rule(write(tmp_path, "digest", """
query = 'x'
notify = ['json://127.0.0.1:9/hook']
mode = "digest"
digest_at = ["18:00", "08:30"]
quiet_hours = "22:00-07:00"
timezone = "Europe/Berlin"
"""))  # fmt: skip
    assert problems == [] and rule is not None
    assert rule.digest_at == (datetime.time(8, 30), datetime.time(18, 0))
    assert rule.quiet_hours == QuietHours(datetime.time(22), datetime.time(7))
    assert rule.timezone == "Europe/Berlin"

    rule, _ = load_rule(write(tmp_path, "default", "query = 'x'\nnotify = ['reader']\nmode = 'digest'\n"))
    assert rule is not None and rule.digest_at == (datetime.time(8, 0),)

    _rule, problem = problem_of(write(tmp_path, "zone", "query = 'x'\ntimezone = 'Mars/Olympus'\n"))
    assert problem.line == 2 and "unknown time zone" in problem.message
    _rule, problem = problem_of(write(tmp_path, "time", "query = 'x'\ndigest_at = ['25:00']\n"))
    assert "not a time of day" in problem.message
    _rule, problem = problem_of(write(tmp_path, "saved", "query = 'x'\nmode = 'digest'\n"), "warning")
    assert "saved search" in problem.message


def test_quiet_hours_may_wrap_midnight():
    night = QuietHours(datetime.time(22), datetime.time(7))
    assert night.contains(datetime.time(23, 30)) and night.contains(datetime.time(6, 59))
    assert not night.contains(datetime.time(7)) and not night.contains(datetime.time(12))
    lunch = QuietHours(datetime.time(12), datetime.time(13))
    assert lunch.contains(datetime.time(12, 30)) and not lunch.contains(datetime.time(13))


def test_tags_are_looked_up_in_the_apprise_config(tmp_path):
    config = tmp_path / "apprise.yml"
    config.write_text("urls:\n  - json://127.0.0.1:9/hook:\n      tag: team, phone\n")
    rules_dir = tmp_path / "rules"
    write(rules_dir, "known", "query = 'x'\nnotify = ['team']\n")
    write(rules_dir, "unknown", "query = 'x'\nnotify = ['nobody']\n")
    ruleset = load_rules(rules_dir, apprise_config=str(config))
    assert len(ruleset.rules) == 2  # an unknown tag is a warning: the config may be fixed later
    assert only(ruleset, "warning") == [
        f"{rules_dir / 'unknown.toml'}:2: warning: notify: 'nobody' is not a tag of any URL in {config} (its tags: phone, team)"
    ]


def test_a_readable_file_with_credentials_is_flagged(tmp_path):
    path = write(tmp_path, "open", "query = 'x'\nnotify = ['json://user:s3cretpw@127.0.0.1/hook']\n")
    path.chmod(0o644)
    _rule, problem = problem_of(path, "warning")
    assert "others can read it (mode 0644); run: chmod 600" in problem.message
    path.chmod(0o600)
    assert load_rule(path)[1] == []


# -- redaction ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("json://user:pass@host/path", "json://user:****@host/path"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "slack://****/****/****"),
        ("mailto://bob:secret@gmail.com", "mailto://bob:****@gmail.com"),
        ("tgram://123456789:ABCdefGhIJKlmnoPQRsTUVwxyZ/12345", "tgram://****:****/12345"),
        ("ntfy://ntfy.sh/topic?token=tk_abc", "ntfy://ntfy.sh/topic?token=****"),
        ("json://localhost:8080/notify", "json://localhost:8080/notify"),
        ("unknownscheme://user:pw@host/abcdef123456", "unknownscheme://user:****@host/****"),
        ("reader", "reader"),  # a tag
    ],
)
def test_redact(url, shown):
    assert redact(url) == shown


# -- writing and seeding -----------------------------------------------------------------------------


def test_write_rule_round_trips_and_is_owner_only(tmp_path):
    rules_dir = tmp_path / "rules"
    path = write_rule(rules_dir, "chips", query='"Entity List" AND chips', notify=["json://u:p4ssw0rd@127.0.0.1/x"],
                      title="Chips", groups=["Policy"], mode="digest", digest_at=[datetime.time(9)],
                      quiet_hours=QuietHours(datetime.time(22), datetime.time(7)))  # fmt: skip
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(rules_dir.stat().st_mode) == 0o700
    assert path.read_text().startswith("# A reader rule")
    ruleset = load_rules(rules_dir)
    assert ruleset.problems == ()
    (rule,) = ruleset.rules
    assert (rule.name, rule.title, rule.query_text, rule.notify, rule.groups, rule.mode) == (
        "chips", "Chips", '"Entity List" AND chips', ("json://u:p4ssw0rd@127.0.0.1/x",), ("Policy",), "digest"
    )
    assert rule.digest_at == (datetime.time(9),) and str(rule.quiet_hours) == "22:00-07:00"

    with pytest.raises(FileExistsError):
        write_rule(rules_dir, "chips", query="other")
    write_rule(rules_dir, "chips", query="other", overwrite=True)
    (rule,) = load_rules(rules_dir).rules
    assert rule.query_text == "other" and rule.is_saved_search
    with pytest.raises(ValueError):
        write_rule(rules_dir, "../escape", query="x")
    with pytest.raises(QueryError):
        write_rule(rules_dir, "broken", query="a AND")
    assert not (rules_dir / "broken.toml").exists()


def test_seed_rules_fills_a_new_dir_once_and_never_overwrites(tmp_path):
    fresh = tmp_path / "fresh"
    made = seed_rules(fresh)
    assert sorted(p.name for p in made) == sorted(p.name for p in BUNDLED_RULES.glob("*.toml"))
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in made)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    for p in made:
        p.unlink()
    assert seed_rules(fresh) == []  # the user deleted them: they stay deleted

    mine = write(tmp_path / "mine", "deepseek-export-controls", "query = 'mine'\n")
    assert seed_rules(mine.parent) == []
    assert mine.read_text() == "query = 'mine'\n"


# -- restrictions, and the commands against real data ---------------------------------------------------


def _article(key: str, title: str, text: str, days_ago: float) -> ParsedArticle:
    when = datetime.datetime.now(UTC) - timedelta(days=days_ago)
    return ParsedArticle(key=key, title=title, link=f"http://127.0.0.1/{key}", published=when, summary=text,
                         content=text, content_hash=key)  # fmt: skip


@pytest.fixture
def world(settings):
    """Two feeds in two groups with DeepSeek stories of various ages, indexed for real."""
    store = Store(settings.db_path)
    policy, _ = store.add_feed("http://127.0.0.1/policy.xml", "Policy Wire", "Policy")
    tech, _ = store.add_feed("http://127.0.0.1/tech.xml", "Tech Daily", "Tech")
    story = "DeepSeek faces new export controls on its chips."
    store.upsert_articles(policy.id, [
        _article("p1", "Two days old", story, 2), _article("p2", "Ten days old", story, 10),
        _article("p3", "Two months old", story, 60), _article("p4", "Unrelated", "Weather and sport.", 1),
    ], fulltext=False, canonical={})  # fmt: skip
    store.upsert_articles(tech.id, [_article("t1", "Tech take", story, 3)], fulltext=False, canonical={})
    update_index(store, SearchIndex(settings.index_dir))
    feeds = store.feeds()
    store.close()
    return settings, feeds


def test_allowed_feed_ids(world, tmp_path):
    _settings, feeds = world
    by_title = {f.title: f.id for f in feeds}
    write(tmp_path, "a", "query = 'x'\ngroups = ['policy']\n")
    write(tmp_path, "b", "query = 'x'\nfeeds = ['tech', 'http://127.0.0.1/policy.xml']\n")
    write(tmp_path, "c", "query = 'x'\n")
    a, b, c = load_rules(tmp_path).rules
    assert allowed_feed_ids(a, feeds) == {by_title["Policy Wire"]}
    assert allowed_feed_ids(b, feeds) == {by_title["Policy Wire"], by_title["Tech Daily"]}
    assert allowed_feed_ids(c, feeds) is None


def test_rules_test_backtests_over_7_and_30_days(world, tmp_path):
    settings, _feeds = world
    write(settings.rules_dir, "deepseek", "query = 'DeepSeek AND \"export controls\"'\n")
    write(settings.rules_dir, "policy-only", "query = 'DeepSeek'\ngroups = ['Policy']\n")
    run = reader("rules", "test", "deepseek", "--json", data=settings.data_dir, config=settings.config_dir)
    assert run.code == 0, run.err
    result = run.json()
    assert result["counts"] == {"7d": 2, "30d": 3, "all": 4}
    assert sorted(m["title"] for m in result["matches"]) == ["Tech take", "Ten days old", "Two days old"]
    assert "**DeepSeek**" in result["matches"][0]["snippet"] and "**export controls**" in result["matches"][0]["snippet"]

    run = reader("rules", "test", "policy-only", "--json", data=settings.data_dir, config=settings.config_dir)
    assert run.json()["counts"] == {"7d": 1, "30d": 2, "all": 3}  # the Tech feed's story is left out

    run = reader("rules", "test", "--query", "weather", data=settings.data_dir, config=settings.config_dir)
    assert run.code == 0 and "would have matched 1 article in the last 7 days" in run.out


def test_rules_list_shows_counts_and_never_a_secret(world):
    settings, _feeds = world
    path = write(settings.rules_dir, "alert", "query = 'DeepSeek'\nnotify = ['json://me:s3cretpw@127.0.0.1/hook']\n")
    path.chmod(0o600)
    write(settings.rules_dir, "saved", "query = 'weather'\ntitle = 'Weather'\n")
    write(settings.rules_dir, "odd", 'query = "x"\ntitle = "a\\u009b2Jb\\u202ec\\u0085"\n')  # C1 CSI, bidi, NEL
    run = reader("rules", "list", "--json", data=settings.data_dir, config=settings.config_dir)
    assert run.code == 0, run.err
    assert not any(c in run.out for c in "\x9b\u202e\x85")  # escaped in the JSON, never raw to a terminal
    entries = {e["name"]: e for e in run.json()}
    assert entries["odd"]["title"] == "a\x9b2Jb\u202ec\x85"  # the value itself unchanged
    assert entries["alert"]["matches"] == 4 and entries["alert"]["kind"] == "alert"
    assert entries["alert"]["notify"] == ["json://me:****@127.0.0.1/hook"]
    assert entries["saved"]["kind"] == "saved search" and entries["saved"]["title"] == "Weather"
    assert "s3cretpw" not in run.out + run.err


def test_rules_check_and_explain_from_the_command_line(world):
    settings, _feeds = world
    write(settings.rules_dir, "good", "title = 'Good'\nquery = 'DeepSeek AND \"export controls\"'\nfeeds = ['No Such Feed']\n")
    write(settings.rules_dir, "bad", "\nquery = 'DeepSeek AND'\n")
    run = reader("rules", "check", data=settings.data_dir, config=settings.config_dir)
    assert run.code == 1
    assert f"{settings.rules_dir / 'bad.toml'}:2: error: the query does not parse: AND needs a term after it" in run.out
    assert f"{settings.rules_dir / 'good.toml'}:3: warning: feeds: no subscribed feed" in run.out
    assert "1 rule OK, 1 with errors (left out), 1 warning" in run.out

    run = reader("rules", "explain", "good", data=settings.data_dir, config=settings.config_dir)
    assert run.code == 0, run.err
    assert 'phrase "export control" in any text field' in run.out
    assert "only articles of 0 feed(s)" in run.out

    run = reader("rules", "explain", "bad", data=settings.data_dir, config=settings.config_dir)
    assert run.code == 2 and "has errors" in run.err
    run = reader("rules", "explain", "missing", data=settings.data_dir, config=settings.config_dir)
    assert run.code == 2 and "no rule named 'missing'" in run.err


def test_the_first_rules_command_seeds_the_rules_dir(settings):
    run = reader("rules", "list", "--json", data=settings.data_dir, config=settings.config_dir)
    assert run.code == 0, run.err
    assert "created" in run.err and "3 example rules" in run.err
    assert {e["name"] for e in run.json()} == {"deepseek-export-controls", "chip-export-controls", "china-ai-policy"}
