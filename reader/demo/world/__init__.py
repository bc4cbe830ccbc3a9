"""The demo's sample world: fictional outlets and their stories, one TOML file per outlet.

Each `*.toml` beside this module holds an `[outlet]` table and its `[[story]]`
entries. A story's date is given as `hours_ago`, so that whenever the demo runs
its newest stories are minutes to hours old — inside the window in which a
newly added feed may alert.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

WORLD_DIR = Path(__file__).resolve().parent
LAYOUTS = ("wire", "blog", "newsletter", "techsite")


@dataclass(frozen=True)
class Story:
    slug: str
    title: str
    hours_ago: float
    author: str
    summary: str  # what the feed carries: a teaser, shorter than the page
    paragraphs: tuple[str, ...]  # what the page carries
    categories: tuple[str, ...] = ()
    sidebar: tuple[str, ...] = ()  # extra "Most read" headlines on this story's page only


@dataclass(frozen=True)
class Outlet:
    slug: str  # the file's stem; also its URL prefix
    name: str
    group: str
    layout: str  # one of LAYOUTS
    tagline: str
    sections: tuple[str, ...]
    newsletter: str  # the newsletter box's blurb: boilerplate on every page
    footer: str
    stories: tuple[Story, ...]


@dataclass(frozen=True)
class World:
    outlets: tuple[Outlet, ...]

    def outlet(self, slug: str) -> Outlet | None:
        return next((o for o in self.outlets if o.slug == slug), None)

    def stories(self) -> Iterator[tuple[Outlet, Story]]:
        for outlet in self.outlets:
            for story in outlet.stories:
                yield outlet, story

    def story(self, slug: str) -> tuple[Outlet, Story]:
        """The outlet and story of `slug` (slugs are unique across the world)."""
        found = next(((o, s) for o, s in self.stories() if s.slug == slug), None)
        if found is None:
            raise KeyError(f"no story {slug!r} in the demo world")
        return found


class WorldError(Exception):
    """A world file is malformed (a bug in the shipped files, or in an edit of them)."""


def load_world(directory: Path = WORLD_DIR) -> World:
    """Every outlet file of `directory`, in name order."""
    outlets = tuple(_load_outlet(path) for path in sorted(directory.glob("*.toml")))
    slugs = [s.slug for o in outlets for s in o.stories]
    if len(slugs) != len(set(slugs)):
        raise WorldError("story slugs must be unique across the world")
    return World(outlets)


def _load_outlet(path: Path) -> Outlet:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        head = raw["outlet"]
        if head["layout"] not in LAYOUTS:
            raise WorldError(f"{path.name}: layout must be one of {', '.join(LAYOUTS)}")
        return Outlet(
            slug=path.stem, name=head["name"], group=head["group"], layout=head["layout"],
            tagline=head["tagline"], sections=tuple(head["sections"]), newsletter=head["newsletter"],
            footer=head["footer"], stories=tuple(_story(s) for s in raw["story"]),
        )  # fmt: skip
    except (KeyError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise WorldError(f"{path.name}: {type(exc).__name__}: {exc}") from None


def _story(raw: dict) -> Story:
    return Story(
        slug=raw["slug"], title=raw["title"], hours_ago=float(raw["hours_ago"]), author=raw["author"],
        summary=raw["summary"], paragraphs=tuple(raw["paragraphs"]),
        categories=tuple(raw.get("categories", ())), sidebar=tuple(raw.get("sidebar", ())),
    )  # fmt: skip
