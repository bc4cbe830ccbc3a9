"""`reader doctor`: is everything that keeps the alerts coming in order? Exit 1 naming what needs you.

It only reads: it never repairs, fetches or sends anything.
"""

from __future__ import annotations

import argparse

from .. import console
from .context import Context


COMMANDS = ("doctor",)  # the commands `register` adds (the CLI builds only the one asked for)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check the daemon, feeds, deliveries, index, rules and file modes; "
                                      "exit 1 if something needs you")  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON array of findings")
    p.set_defaults(func=doctor)


def doctor(args, ctx: Context) -> int:
    from ..health import damaged_database, doctor as checks
    from ..store import StoreDamaged

    try:
        findings = checks(ctx.settings, ctx.store)
    except StoreDamaged as exc:  # so damaged it does not open
        findings = damaged_database(ctx.settings, str(exc))
    problems = [f for f in findings if not f.ok]
    if args.json:
        console.print_json([{"check": f.check, "ok": f.ok, "text": f.text} for f in findings])
        return 1 if problems else 0
    for f in findings:
        mark = console.Text("ok    ", "green") if f.ok else console.Text("NEEDS ", "bold red")
        console.out.print(mark + console.safe(f"{f.check}: {f.text}"))
    if problems:
        checks_named = ", ".join(dict.fromkeys(f.check for f in problems))
        console.out.print(console.safe(f"{len(problems)} thing(s) need you ({checks_named})", "bold"))
        return 1
    console.out.print(console.safe("all well", "bold"))
    return 0
