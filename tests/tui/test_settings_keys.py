"""config.toml's [keys] and [ui]: rebinding by newsboat-style action names, checked with file and line;
the theme; `|` piping an article to the [ui] pipe command."""

from __future__ import annotations

import pytest

from reader.config import ConfigError, load_settings
from reader.tui.keys import BINDING_IDS, default_layers, keymap, textual_key
from tests.tui.helpers import settle, started, wait_until


def configured(world, text: str):
    """The world's settings read again with `text` as config.toml."""
    world.config_dir.mkdir(parents=True, exist_ok=True)
    world.settings_file.write_text(text, encoding="utf-8")
    return load_settings()


def test_every_action_name_moves_bindings_that_exist():
    from reader.config import KEY_ACTIONS
    from reader.tui.keys import _bindings

    ids = {b.id for classes in default_layers().values() for b in _bindings(classes)}
    assert set(BINDING_IDS) == set(KEY_ACTIONS)
    missing = {name: i for name, group in BINDING_IDS.items() for i in group if i not in ids}
    assert not missing


@pytest.mark.parametrize(("written", "textual"), [
    ("j", "j"), ("N", "N"), ("|", "vertical_line"), ("?", "question_mark"), ("^R", "ctrl+r"), ("ctrl+r", "ctrl+r"),
    ("ENTER", "enter"), ("F5", "f5"), ("space", "space"), ("PageDown", "pagedown"), (",", "comma"),
])  # fmt: skip
def test_keys_as_people_write_them(written, textual):
    assert textual_key(written) == textual


@pytest.mark.parametrize("bad", ["foo", "hyper+x", "\t"])
def test_a_key_that_is_not_one_is_refused(bad):
    with pytest.raises(ValueError):
        textual_key(bad)


def test_unknown_action_says_did_you_mean_with_the_line(world):
    with pytest.raises(ConfigError, match=r"config\.toml:3: \[keys\] has no action 'reloadall'; did you mean 'reload-all'\?"):
        configured(world, '[keys]\nnext-unread = "x"\nreloadall = "X"\n')


def test_a_key_taken_by_another_action_is_an_error_with_the_line(world):
    settings = configured(world, '[keys]\nreload = "R"\n\ntoggle-star = "n"\n')
    with pytest.raises(ConfigError, match=r"config\.toml:4: \[keys\] toggle-star: the key 'n' is already bound to next-unread;"):
        keymap(settings)
    settings = configured(world, '[keys]\nnext-unread = "j"\n')
    with pytest.raises(ConfigError, match=r"config\.toml:2: .*'j' is already bound to down in the sidebar;"):
        keymap(settings)
    settings = configured(world, '[keys]\nreload = "hyper+r"\n')
    with pytest.raises(ConfigError, match=r"config\.toml:2: \[keys\] reload: 'hyper\+r' is not a key"):
        keymap(settings)
    # moving the other action too is no conflict
    assert keymap(configured(world, '[keys]\ntoggle-star = "n"\nnext-unread = "x"\n')) == {
        "main.toggle_star": "n", "main.next_unread": "x"}


def test_a_bad_theme_names_the_line(world):
    with pytest.raises(ConfigError, match=r"config\.toml:2: \[ui\] theme is not a theme; did you mean 'nord'\?"):
        configured(world, '[ui]\ntheme = "nordd"\n')


async def test_rebound_keys_and_the_theme_apply_in_the_tui(world, make_app):
    settings = configured(world, '[ui]\ntheme = "nord"\n[keys]\nnext-unread = "x"\ntoggle-star = ["n", "^T"]\n')
    app = make_app(settings, theme=None)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await started(pilot)
        assert app.theme == "nord"
        await pilot.press("x")  # next-unread now
        await wait_until(pilot, lambda: screen.reader.article is not None)
        opened = screen.reader.article.id
        await pilot.press("n")  # now toggle-star
        await settle(pilot)
        assert screen.library.article(opened).starred


async def test_pipe_sends_the_article_text_to_the_command(world, make_app, tmp_path):
    out = tmp_path / "piped.txt"
    settings = configured(world, f'[ui]\npipe = "cat > {out}"\n')
    app = make_app(settings)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await started(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.reader.article is not None)
        await pilot.press("|")
        await wait_until(pilot, lambda: out.exists() and out.stat().st_size > 0)
        text = out.read_text()
        assert text.startswith(screen.reader.article.title[:20] or "(no title)")
        assert "\x1b" not in text and "\x07" not in text


async def test_the_browser_setting_opens_links_before_BROWSER(world, make_app, monkeypatch, tmp_path):
    opened = tmp_path / "opened"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    script.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(tmp_path / "not-this-one") + " %s")
    settings = configured(world, f'[ui]\nbrowser = "{script} %s"\n')
    app = make_app(settings, browser=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await pilot.press("o")
        await wait_until(pilot, lambda: opened.exists() and opened.read_text() == "https://example.com/s0")
        assert not any(title == "Not opened" for title, _, _ in app.notices), app.notices
