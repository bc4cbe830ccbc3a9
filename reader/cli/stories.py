"""`reader stories show|mute|unmute ID`: a story's articles and outlets, and keeping a story quiet.

It never regroups or deletes articles: muting only keeps a story from alerting and from the unread counts."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from .. import console
from ..dates import DateError, span
from ..stories import MAX_TEXT_CHARS, describe
from ..models import StoryRecord
from ..store import Store, utcnow
from .context import ID, Context, UsageError

FOREVER = datetime(9999, 12, 31, tzinfo=UTC)


COMMANDS = ("stories",)  # the commands `register` adds (the CLI builds only the one asked for)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stories", help="a story's articles and outlets; mute or unmute a story")
    commands = p.add_subparsers(dest="stories_command", metavar="SUBCOMMAND", required=True)
    show = commands.add_parser("show", help="a story's articles, outlets, first/last seen, and what tied each in")
    show.add_argument("story", type=ID, metavar="ID", help="a story id (the `story` of `reader articles --json`)")
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(func=show_story)
    mute = commands.add_parser("mute", help="no alerts from this story (every rule stays armed)")
    mute.add_argument("story", type=ID, metavar="ID")
    mute.add_argument("--for", dest="span", metavar="SPAN",
                      help="for a while only: 30m, 12h, 7d, 2w (default: for good)")  # fmt: skip
    mute.set_defaults(func=mute_story)
    unmute = commands.add_parser("unmute", help="undo `reader stories mute`")
    unmute.add_argument("story", type=ID, metavar="ID")
    unmute.set_defaults(func=unmute_story)


def _story(ctx: Context, story_id: int) -> StoryRecord:
    story = ctx.store.story(story_id)
    if story is None:
        raise UsageError(f"no story {story_id} (see the `story` field of `reader articles --json`)")
    return story


def _current(ctx: Context, story_id: int) -> int:
    """The story that holds `story_id`'s articles now (itself, unless it was merged into another)."""
    return _story(ctx, story_id).merged_into or story_id


def story_words(store: Store, s: StoryRecord) -> Callable[[Mapping], Mapping]:
    """A stored reason with its terms (stems: "chines", "commerc") as the story's articles write them
    ("Chinese", "Commerce"): the form most used in their titles and the leads the grouper read, a term none
    of them holds any more left as it is. The stems stay the grouper's own."""
    from ..stories import _END_AND_WORD, _token  # the grouper's own words and terms, so the two never disagree

    forms: dict[str, Counter[str]] = {}
    for member in s.articles:
        article = store.article(member.article_id)
        text = f"{article.summary}\n{article.text[:MAX_TEXT_CHARS]}" if article else ""
        for _end, word in _END_AND_WORD.findall(f"{member.title}\n{text}"):
            token = _token(word)
            if token is not None:
                forms.setdefault(token[0], Counter())[word] += 1
    words = {term: seen.most_common(1)[0][0] for term, seen in forms.items()}

    def worded(reason: Mapping) -> Mapping:
        lists = {key: [words.get(t, t) for t in reason[key]] for key in ("shared", "names") if key in reason}
        return {**reason, **lists}

    return worded


def story_json(s: StoryRecord, worded: Callable[[Mapping], Mapping]) -> dict:
    return {
        "id": s.id, "first_seen": console.iso(s.first_seen), "last_seen": console.iso(s.last_seen),
        "muted_until": console.iso(s.muted_until), "size": len(s.articles), "outlets": s.outlets,
        "merged_into": s.merged_into,
        "merges": [{"story": m.story_id, "into": m.into, "tied_by": worded(m.reason), "why": describe(worded(m.reason))}
                   for m in s.merges],
        "articles": [
            {"id": m.article_id, "title": m.title, "link": m.link, "outlet": m.outlet, "date": console.iso(m.date),
             "tied_by": worded(m.reason), "why": describe(worded(m.reason))}
            for m in s.articles
        ],
    }  # fmt: skip


def show_story(args, ctx: Context) -> int:
    """A story merged into another is shown as the story that holds its articles now (its merges name it)."""
    s = _story(ctx, args.story)
    if s.merged_into is not None:
        s = _story(ctx, s.merged_into)
        if not args.json:
            console.out.print(f"story {args.story} was merged into story {s.id}, which holds its articles:")
    worded = story_words(ctx.store, s)
    if args.json:
        console.print_json(story_json(s, worded))
        return 0
    muted = f" · muted until {console.local_time(s.muted_until)}" if s.muted_until else ""
    console.out.print(
        f"story {s.id}: {len(s.articles)} article(s) from {len(s.outlets)} outlet(s), "
        f"first seen {console.local_time(s.first_seen)}, last seen {console.local_time(s.last_seen)}{muted}"
    )
    console.out.print(console.safe("outlets: " + ", ".join(s.outlets)))
    rows = [(str(m.article_id), console.local_time(m.date), m.outlet, m.title, describe(worded(m.reason)))
            for m in s.articles]  # fmt: skip
    console.out.print(console.table(["id", "date", "outlet", "title", "tied in by"], rows))
    for m in s.merges:
        console.out.print(console.safe(f"story {m.story_id} merged into story {m.into}: {describe(worded(m.reason))}"))
    return 0


def mute_story(args, ctx: Context) -> int:
    args.story = _current(ctx, args.story)
    until = FOREVER
    if args.span:
        try:
            length = span(args.span)
        except DateError as exc:
            raise UsageError(f"--for: {exc}") from None
        if not length:
            raise UsageError("--for: a mute lasts longer than nothing; write 30m, 12h, 7d or 2w")
        until = utcnow() + length
    ctx.store.set_story_muted(args.story, until)
    when = "for good" if until == FOREVER else f"until {console.local_time(until)}"
    console.out.print(f"story {args.story} muted {when}: it alerts no rule; "
                      f"`reader stories unmute {args.story}` undoes it")  # fmt: skip
    return 0


def unmute_story(args, ctx: Context) -> int:
    args.story = _current(ctx, args.story)
    ctx.store.set_story_muted(args.story, None)
    console.out.print(f"story {args.story} unmuted")
    return 0
