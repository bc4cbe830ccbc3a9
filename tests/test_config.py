"""Every key of config.toml has a type and a range: a wrong value stops the real command at once, naming the file,
line, key and allowed range, with exit code 2; the TUI's setter runs the same checks."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path

import pytest

from reader.config import SECTIONS, ConfigError, SettingError, Spec, _number, load_settings, with_setting
from tests.clirun import reader

README = Path(__file__).resolve().parent.parent / "README.md"

# (config.toml, the line the message names, the message): the failures the issue names, and their like.
CASES = [
    ("[fetch]\nconcurrency = 0\n", 2, "[fetch] concurrency must be ≥ 1 (got 0)"),
    ("# mine\n\n[fetch]\nper_host = 0\n", 4, "[fetch] per_host must be ≥ 1 (got 0)"),
    ("[daemon]\nlog_level = 'INFO'\ninterval_minutes = 0\n", 3, "[daemon] interval_minutes must be ≥ 1 (got 0)"),
    ("[daemon]\nmin_interval_minutes = 0.5\n", 2, "[daemon] min_interval_minutes must be ≥ 1 (got 0.5)"),
    ("[daemon]\nmin_interval_minutes = 60\nmax_interval_minutes = 30\n", 3,
     "[daemon] max_interval_minutes must be ≥ min_interval_minutes (60) (got 30)"),
    ('[daemon.feed_intervals]\n"https://a.example/feed" = 10\n"https://b.example/feed" = 0\n', 3,
     "[daemon] feed_intervals 'https://b.example/feed' must be ≥ 1 (got 0)"),
    ("[daemon]\nfeed_intervals = { 'https://a.example/' = 'often' }\n", 2,
     "[daemon] feed_intervals 'https://a.example/' must be a number of minutes (got 'often')"),
    ("[daemon]\nlog_level = 'LOUD'\n", 2, "[daemon] log_level must be one of DEBUG, INFO, WARNING, ERROR (got 'LOUD')"),
    ("[alerts]\nmax_attempts = -5\n", 2, "[alerts] max_attempts must be ≥ 1 (got -5)"),
    ("[alerts]\nretry_base_seconds = 600\nretry_max_seconds = 60\n", 3,
     "[alerts] retry_max_seconds must be ≥ retry_base_seconds (600) (got 60)"),
    ("[fetch]\nconnect_timeout = 0\n", 2, "[fetch] connect_timeout must be ≥ 0.1 (got 0)"),
    ("[fetch]\ntotal_timeout = 1e9\n", 2, "[fetch] total_timeout must be ≤ 3600 (got 1000000000)"),
    ("[fetch]\nmax_retry_after = 0\n", 2, "[fetch] max_retry_after must be ≥ 60 (got 0)"),
    ("[fetch]\nconcurrency = '4'\n", 2, "[fetch] concurrency must be a whole number (got '4')"),
    ("[fetch]\nfulltext = 1\n", 2, "[fetch] fulltext must be true or false (got 1)"),
    ('[fetch]\nuser_agent = "reader\\r\\nX-Evil: 1"\n', 2, "[fetch] user_agent must not hold control characters"),
    ('[fetch]\nuser_agent = "reader\\u009b2J"\n', 2, "[fetch] user_agent must not hold control characters"),
    ("[fetch]\nuser_agent = ' '\n", 2, "[fetch] user_agent must not be empty"),
    ("[health]\nnotify = 'desktop'\n", 2, "[health] notify must be a list of strings"),
    ("[health]\nnotify = ['desktop']\nfailing_cycles = 0\n", 3, "[health] failing_cycles must be ≥ 1 (got 0)"),
    ("[fetch]\nconcurency = 3\n", 2, "[fetch] has no key 'concurency'; did you mean 'concurrency'?"),
    ("[fetch]\nconcurrency = 3\n\n[helth]\nnotify = []\n", 4, "unknown section [helth]; did you mean [health]?"),
    ("concurrency = 3\n", 1, "'concurrency' is outside any section; settings go in one, such as [fetch]"),
    ("[fetch]\nconcurrency = = 2\n", 2, "Invalid value"),
]


def run_all(tmp_path: Path, configs: list[str], *args: str):
    """The real command once per config, a few at a time (each is a fresh interpreter)."""

    def one(i_text):
        i, text = i_text
        config = tmp_path / f"c{i}"
        config.mkdir()
        (config / "config.toml").write_text(text, encoding="utf-8")
        return reader(*args, data=tmp_path / f"d{i}", config=config)

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, enumerate(configs)))


def test_every_wrong_setting_stops_the_command_with_its_line(tmp_path):
    runs = run_all(tmp_path, [text for text, _, _ in CASES], "feeds", "list")
    for (text, line, message), run in zip(CASES, runs):
        err = " ".join(run.err.split())  # stderr wraps long messages at the terminal's width
        assert run.code == 2, (text, run.err)
        assert f"config.toml:{line}: {' '.join(message.split())}" in err, (text, run.err)
        assert "Traceback" not in run.err and run.out == ""
    assert not any((tmp_path / f"d{i}").exists() for i in range(len(CASES)))  # stopped before touching the data


def wrong_values(spec: Spec):
    """A value below, above and of the wrong type for a key, with the words its message must hold."""
    if spec.kind in ("int", "number"):
        yield spec.min - (1 if spec.kind == "int" else 0.05), f"must be ≥ {_number(spec.min)}"
        yield spec.max + 1, f"must be ≤ {_number(spec.max)}"
        yield '"1"', "must be a"
        if spec.kind == "number":
            yield "nan", "must be a number (got nan)"  # NaN passes every comparison with a bound
    elif spec.kind == "bool":
        yield '"yes"', "must be true or false"
    elif spec.kind == "minutes":
        yield '{ "https://x.example/" = 0 }', "'https://x.example/' must be ≥ 1"
        yield '{ "https://x.example/" = nan }', "'https://x.example/' must be a number (got nan)"
    else:
        yield "1", "must be a"


def test_every_key_has_a_type_and_a_range_and_refuses_what_is_outside(tmp_path):
    """Each key below, above and beside its range, loaded as the CLI loads it (in-process: dozens of cases)."""
    config = tmp_path / "config.toml"
    for name, cls in SECTIONS.items():
        if getattr(cls, "TABLE", False):
            continue  # [keys]: its keys are action names (tests/tui/test_settings_keys.py)
        for f in fields(cls):
            spec = f.metadata["spec"]
            if spec.kind in ("int", "number"):  # a number without both bounds could hang or flood
                assert spec.min is not None and spec.max is not None, (name, f.name)
            for value, words in wrong_values(spec):
                config.write_text(f"# a comment\n[{name}]\n{f.name} = {value}\n", encoding="utf-8")
                with pytest.raises(ConfigError) as caught:
                    load_settings(config_dir=tmp_path, data_dir=tmp_path / "data")
                assert f"config.toml:3: [{name}] {f.name} {words}" in str(caught.value)


def test_the_documented_settings_load(tmp_path, monkeypatch):
    """The README's example config.toml is valid, so the docs stay true."""
    block = re.search(r"## Settings.*?```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    (tmp_path / "config.toml").write_text(block, encoding="utf-8")
    monkeypatch.delenv("READER_DATA_DIR", raising=False)
    settings = load_settings(config_dir=tmp_path)
    assert settings.health.failing_cycles == 3 and settings.fetch.concurrency == 512
    assert settings.daemon.feed_intervals == {"https://example.com/feed.xml": 120}


def test_a_settings_file_that_is_a_directory_is_named_not_taken_for_no_settings(tmp_path):
    (tmp_path / "config.toml").mkdir()
    with pytest.raises(ConfigError, match=r"config\.toml: cannot read it \(Is a directory\)"):
        load_settings(config_dir=tmp_path, data_dir=tmp_path / "data")


def test_health_section_is_known(tmp_path):
    (tmp_path / "config.toml").write_text("[health]\nnotify = ['desktop', 'json://127.0.0.1/hook']\n")
    settings = load_settings(config_dir=tmp_path, data_dir=tmp_path / "data")
    assert settings.health.notify == ("desktop", "json://127.0.0.1/hook") and settings.health.failing_cycles == 3


def test_the_tui_setter_runs_the_same_checks(tmp_path):
    settings = load_settings(config_dir=tmp_path, data_dir=tmp_path / "data")
    assert with_setting(settings, "fetch", "concurrency", 8).fetch.concurrency == 8
    assert with_setting(settings, "daemon", "log_level", "debug").daemon.log_level == "DEBUG"
    with pytest.raises(SettingError, match=re.escape("[fetch] concurrency must be ≥ 1 (got 0)")):
        with_setting(settings, "fetch", "concurrency", 0)
    with pytest.raises(SettingError, match=re.escape("max_interval_minutes must be ≥ min_interval_minutes (5)")):
        with_setting(settings, "daemon", "max_interval_minutes", 2)
    with pytest.raises(SettingError, match="did you mean 'per_host'"):
        with_setting(settings, "fetch", "perhost", 2)
    with pytest.raises(SettingError, match=re.escape("did you mean [alerts]")):
        with_setting(settings, "alert", "max_attempts", 2)


def test_the_daemon_interval_flag_has_the_same_floor(tmp_path):
    run = reader("daemon", "--once", "--interval", "0.5", data=tmp_path / "data")
    assert run.code == 2 and "--interval must be ≥ 1 (got 0.5)" in " ".join(run.err.split())
