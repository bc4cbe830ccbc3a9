"""`reader alerts`: recent alerts with their delivery state; `reader alerts retry`: send the undelivered now.

It never shows a notification URL: targets appear only as their redacted labels."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace

from .. import console
from ..lock import WriterLock
from ..models import Alert, Delivery, DeliveryState
from ..store import utcnow
from .context import LIMIT, WAIT, Context, UsageError

STATE_STYLE = {DeliveryState.SENT: "green", DeliveryState.PENDING: "yellow", DeliveryState.HELD: "cyan",
               DeliveryState.FAILED: "red"}  # fmt: skip
Col = console.Col
ALERT_COLUMNS = [Col("time"), Col("rule", max=24), Col("state", max=32), Col("sources", max=24, drop=2),
                 Col("title", flex=3), Col("to", max=24, drop=3), Col("last error", flex=2, drop=1)]  # fmt: skip


COMMANDS = ("alerts",)  # the commands `register` adds (the CLI builds only the one asked for)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="recent alerts and their delivery state; 'alerts retry' resends")
    p.add_argument("--limit", type=LIMIT, default=30, metavar="N", help="how many alerts, newest first (default 30)")
    p.add_argument("--rule", metavar="NAME", help="only this rule's alerts")
    p.add_argument("--json", action="store_true", help="one JSON array (notification URLs redacted)")
    p.set_defaults(func=list_alerts)
    actions = p.add_subparsers(dest="alerts_command", metavar="ACTION")
    r = actions.add_parser("retry", help="send every failed or retrying alert now, with fresh attempts")
    r.add_argument("--wait", type=WAIT, default=30.0, metavar="SECONDS",
                   help="how long to wait for a running fetch to finish (default 30)")  # fmt: skip
    r.set_defaults(func=retry)


def delivery_json(d: Delivery) -> dict:
    return {"target": d.label, "state": d.state, "attempts": d.attempts,
            "next_attempt_at": console.iso(d.next_attempt_at), "last_error": d.last_error,
            "sent_at": console.iso(d.sent_at)}  # fmt: skip


def alert_json(a: Alert) -> dict:
    return {
        "id": a.id, "rule": a.rule, "article_id": a.article_id, "title": a.title, "link": a.link,
        "feeds": [s.feed_title for s in a.sources], "outlets": len(a.outlets), "story": a.story_id,
        "sources": [{"feed": s.feed_title, "link": s.link} for s in a.sources],
        "published": console.iso(a.published), "created_at": console.iso(a.created_at), "state": a.state,
        "snippet": a.snippet, "deliveries": [delivery_json(d) for d in a.deliveries],
    }  # fmt: skip


def _sources(a: Alert) -> str:
    """The outlets that carried the alert's story: one by name, several as "N outlets: A, B, …"."""
    names = a.outlets
    return ", ".join(names) if len(names) < 2 else f"{len(names)} outlets: {', '.join(names)}"


def _last_error(a: Alert) -> str:
    return next((f"{d.label}: {d.last_error}" for d in a.deliveries if d.last_error and d.state != DeliveryState.SENT), "")


def _state(a: Alert, outlets_wanted: dict[str, int]) -> console.Text:
    if not a.deliveries:  # nothing to send (yet): say why rather than the bare "none"
        wanted = outlets_wanted.get(a.rule, 1)
        if wanted > len(a.outlets):
            return console.Text(f"waiting for {wanted} outlets ({len(a.outlets)} so far)", "cyan")
        return console.Text("not sent: no target (reader rules check)", "dim")
    tries = max((d.attempts for d in a.deliveries), default=0)
    held = [d.next_attempt_at for d in a.deliveries if d.state == DeliveryState.HELD]
    text = a.state + (f" until {console.local_time(min(held))}" if held else "")
    return console.Text(text + (f" ({tries} tries)" if tries > 1 else ""), STATE_STYLE.get(a.state, "dim"))


def list_alerts(args, ctx: Context) -> int:
    alerts = ctx.store.recent_alerts(limit=args.limit, rule=args.rule)
    if args.json:
        # the story as it is now: an alert made before its story merged into another names the survivor
        console.print_json([alert_json(replace(a, story_id=a.story_id and ctx.store.current_story(a.story_id)))
                            for a in alerts])  # fmt: skip
        return 0
    if not alerts:
        from ..rules import rule_files  # the query parser: not for every command's start

        names = [p.stem for p in rule_files(ctx.settings.rules_dir)]
        if args.rule and args.rule not in names:
            raise UsageError(f"no rule named {args.rule!r} in {ctx.settings.rules_dir}"
                             f" (rules: {', '.join(names) or 'none'})")  # fmt: skip
        console.out.print("No alerts yet." + ("" if args.rule else " Rules with notify targets alert on new articles."))
        return 0
    outlets_wanted = _outlets_wanted(ctx) if any(not a.deliveries for a in alerts) else {}
    rows = [
        (console.local_time(a.created_at), a.rule, _state(a, outlets_wanted), _sources(a), a.title,
         ", ".join(dict.fromkeys(d.label for d in a.deliveries)), _last_error(a))
        for a in alerts
    ]  # fmt: skip
    console.out.print(console.table(ALERT_COLUMNS, rows))
    return 0


def _outlets_wanted(ctx: Context) -> dict[str, int]:
    """Each rule's `outlets`: an alert without deliveries may be waiting for its story to reach that many."""
    from ..rules import load_rules

    rules = load_rules(ctx.settings.rules_dir, apprise_config=ctx.settings.alerts.apprise_config).rules
    return {rule.name: rule.outlets for rule in rules}


def retry(args, ctx: Context) -> int:
    settings = ctx.settings
    lock = WriterLock(settings.lock_path)
    if lock.is_held_elsewhere():  # a daemon: reset the deliveries; it notices within seconds and sends them
        count = ctx.store.retry_deliveries(utcnow())
        console.out.print(f"{console.plural(count, 'delivery', 'deliveries')} made due now; "
                          "the running reader process (daemon or fetch) sends them")  # fmt: skip
        return 0
    lock.acquire(wait=args.wait)  # WriterBusy: the command ends with its message, exit 1
    try:
        from ..alerts import retry_undelivered  # Apprise loads only when sending

        count, report = asyncio.run(retry_undelivered(settings, ctx.store))
    finally:
        lock.release()
    for line in report.errors:
        console.warn(line)
    console.out.print(f"{console.plural(count, 'delivery', 'deliveries')} retried: {report.sent} message(s) sent, "
                      f"{report.failed} failed")  # fmt: skip
    return 1 if report.failed else 0
