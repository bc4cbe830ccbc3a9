"""`[keys]` of config.toml turned into a Textual keymap: action names to binding ids, key names, conflicts.

It only reads settings and the classes' BINDINGS; a key it cannot understand or
one bound twice is a ConfigError naming the file and line, raised before the screen opens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from textual.binding import Binding
from textual.keys import Keys, _character_to_key

from ..config import ConfigError, Settings, setting_line

# Each action name of [keys] (reader.config.KEY_ACTIONS) and the bindings it moves.
BINDING_IDS: dict[str, tuple[str, ...]] = {
    "help": ("app.help",),
    "cmdline": ("app.commands",),
    "toggle-theme": ("app.toggle_theme",),
    "hard-quit": ("app.quit",),
    "quit": ("main.back",),
    "search": ("main.search",),
    "next-unread": ("main.next_unread",),
    "prev-unread": ("main.previous_unread",),
    "next": ("main.next_article",),
    "prev": ("main.previous_article",),
    "undo-mark-read": ("main.undo_read",),
    "toggle-show-read-feeds": ("main.unread_only",),
    "sources": ("main.sources",),
    "toggle-article-read": ("main.toggle_read",),
    "mark-feed-read": ("main.mark_all_read",),
    "toggle-star": ("main.toggle_star",),
    "open-in-browser": ("main.open_in_browser",),
    "reload": ("main.refresh",),
    "reload-all": ("main.refresh_all",),
    "sort": ("main.sort",),
    "save-search": ("main.save_search",),
    "show-urls": ("main.links",),
    "add-feed": ("main.add_feed",),
    "remove-feed": ("main.remove_feed",),
    "edit-feed": ("main.feed_info",),
    "rules": ("main.rules",),
    "import-opml": ("main.import_opml",),
    "pipe-to": ("main.pipe",),
    "next-pane": ("main.next_pane",),
    "prev-pane": ("main.previous_pane",),
    "up": ("list.up", "reader.up"),
    "down": ("list.down", "reader.down"),
    "pageup": ("list.page_up", "reader.page_up"),
    "pagedown": ("list.page_down", "reader.page_down"),
    "home": ("list.first", "reader.top"),
    "end": ("list.last", "reader.bottom"),
    "open": ("list.open",),
    "expand-story": ("main.toggle_story",),  # the story keys: newsboat has no stories
    "mute-story": ("main.mute_story",),
    "toggle-stories": ("main.toggle_plain",),
}

_NAMED = {k.value for k in Keys} | {"space", "enter", "tab", "backspace", "escape", "delete", "insert"}
_NAMED |= {f"f{n}" for n in range(1, 25)}
_MODIFIERS = ("ctrl", "shift", "alt", "meta", "super")


def textual_key(key: str) -> str:
    """Textual's name for a key as people write it: `j`, `|`, `?`, `^R` (newsboat's Ctrl+R), `ctrl+r`, `ENTER`,
    `F5`, `space`. ValueError says why a key is not one."""
    if len(key) == 1:
        if not key.isprintable() or key.isspace():
            raise ValueError("is not a key one can type")
        return _character_to_key(key)
    if re.fullmatch(r"\^[A-Za-z]", key):
        return f"ctrl+{key[1].lower()}"
    *mods, name = key.split("+")
    lowered = name if len(name) == 1 else name.lower()
    if any(m.lower() not in _MODIFIERS for m in mods) or not name:
        raise ValueError(f"is not a key: modifiers are {', '.join(_MODIFIERS)}, as in ctrl+r")
    if len(name) == 1:
        lowered = _character_to_key(name.lower() if mods else name)
    elif lowered == "return":
        lowered = "enter"
    elif lowered not in _NAMED and f"ctrl+{lowered}" not in _NAMED:
        raise ValueError("is not a key name (such as j, ^R, ctrl+r, enter, space, f5, pagedown)")
    return "+".join([*(m.lower() for m in mods), lowered])


def default_layers() -> dict[str, list[type]]:
    """Bindings that are live together: everywhere (app and main screen), and each pane with its own keys."""
    from ..tui.app import ReaderApp
    from .screens.main import MainScreen
    from .widgets.alert_list import AlertList
    from .widgets.article_list import ArticleList
    from .widgets.article_view import ArticleView
    from .widgets.sidebar import Sidebar

    return {"": [ReaderApp, MainScreen], "the sidebar": [Sidebar], "the article list": [ArticleList],
            "the article": [ArticleView], "the Alerts list": [AlertList]}  # fmt: skip


def _bindings(classes: Iterable[type]) -> list[Binding]:
    found: list[Binding] = []
    for cls in classes:
        for klass in cls.__mro__:  # a widget inherits its base's keys (the sidebar, a VirtualList)
            found += [b for b in Binding.make_bindings(klass.__dict__.get("BINDINGS", [])) if b.id]
    return found


def keymap(settings: Settings, layers: Mapping[str, list[type]] | None = None) -> dict[str, str]:
    """The keymap for `App.set_keymap` from `[keys]`; ConfigError (file:line) for a bad key or a key bound twice."""
    wanted = settings.keys.bindings
    if not wanted:
        return {}
    path = settings.settings_file
    layers = default_layers() if layers is None else layers
    chosen: dict[str, tuple[str, ...]] = {}  # binding id → its new keys
    owner: dict[str, str] = {}  # binding id → action name
    for action, keys in wanted.items():
        converted = []
        for key in keys:
            try:
                converted.append(textual_key(key))
            except ValueError as exc:
                raise ConfigError(f"{setting_line(path, 'keys', action)}: [keys] {action}: {key!r} {exc}") from None
        for binding_id in BINDING_IDS[action]:
            chosen[binding_id] = tuple(converted)
            owner[binding_id] = action
    names = {binding_id: name for name, ids in BINDING_IDS.items() for binding_id in ids}
    everywhere = _bindings(layers.get("", []))
    for pane, classes in layers.items():
        live = everywhere + (_bindings(classes) if pane else [])
        holders: dict[str, set[str]] = {}
        for binding in live:
            for key in chosen.get(binding.id, (binding.key,)):
                holders.setdefault(key, set()).add(binding.id)
        for key, ids in holders.items():
            mine = sorted(i for i in ids if i in chosen and key in chosen[i])
            if len(ids) > 1 and mine and len({names.get(i, i) for i in ids}) > 1:
                action = owner[mine[0]]
                other = next(names.get(i) or i for i in sorted(ids) if names.get(i) != action)
                where = f" in {pane}" if pane else ""
                raise ConfigError(f"{setting_line(path, 'keys', action)}: [keys] {action}: the key {key!r} is already bound to "
                                  f"{other}{where}; bind {other} to another key too, or choose another key")  # fmt: skip
    return {binding_id: ",".join(keys) for binding_id, keys in chosen.items()}
