"""`python -m reader.demo` (what `make demo` runs): the whole reader on a fictional world, offline.

Serves the demo world on 127.0.0.1, subscribes a throwaway data dir to it,
installs the bundled rules with their alerts pointed at the demo's own
notification endpoint, runs one real ingest (fetch, full text, index, alerts),
then opens the TUI. The data dir is removed on exit unless `--keep DIR`.
`--no-tui` stops after the ingest and prints what happened.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import console
from ..cli.fetch import TerminalProgress
from ..config import Settings
from ..filemodes import keep_private
from ..ingest import IngestReport, run_ingest
from ..models import FetchStatus, TextSource
from ..store import Alert, Store
from .sandbox import SandboxError, export_paths, install_rules, sandbox, subscribe
from .server import DemoServer, Notification
from .world import World, load_world


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m reader.demo",
        description="The reader on a small fictional world served from this machine: no network, "
        "no changes to your own feeds, rules or data.",
    )
    parser.add_argument("--no-tui", action="store_true", help="fetch the demo world, print what happened, exit")
    parser.add_argument("--json", action="store_true", help="the --no-tui summary as one JSON object (implies --no-tui)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the demo's data, config and rules in DIR (new or empty) instead of a temp dir")  # fmt: skip
    args = parser.parse_args(argv)
    args.no_tui = args.no_tui or args.json
    return args


@dataclass(frozen=True)
class Summary:
    """What one run of the demo did."""

    world: World
    base_url: str
    notifications_url: str
    report: IngestReport
    data_dir: Path
    articles: int
    full_text: int  # articles whose text came from their page
    alerts: list[Alert]
    notifications: list[Notification]

    @property
    def ok(self) -> bool:
        return not self.report.errors and self.articles > 0


def ingest_world(settings: Settings, *, quiet: bool) -> IngestReport:
    """One ingest of every demo feed, with progress bars on a terminal."""
    if quiet or not console.err.is_terminal:
        return run_ingest(settings)
    with TerminalProgress() as progress:
        return run_ingest(settings, progress=progress)


def collect(settings: Settings, server: DemoServer, report: IngestReport) -> Summary:
    store = Store(settings.db_path)
    try:
        stored = list(store.iter_articles())
        alerts = sorted(store.alerts_by_ids(report.alerts.new_alerts).values(), key=lambda a: a.id)
    finally:
        store.close()
    return Summary(
        world=server.world, base_url=server.base_url, notifications_url=server.notifications_url, report=report,
        data_dir=settings.data_dir, articles=len(stored),
        full_text=sum(a.text_source == TextSource.PAGE for a in stored), alerts=alerts,
        notifications=server.notifications(),
    )  # fmt: skip


def summary_json(summary: Summary) -> dict:
    return {
        "base_url": summary.base_url,
        "data_dir": str(summary.data_dir),
        "feeds": [{"title": o.title, "status": o.status, "new": o.new, "error": o.error}
                  for o in sorted(summary.report.outcomes, key=lambda o: o.title)],  # fmt: skip
        "articles": summary.articles,
        "full_text": summary.full_text,
        "alerts": [{"rule": a.rule, "title": a.title, "state": a.state, "sources": a.outlets} for a in summary.alerts],
        "notifications": [{"title": n.title, "message": n.message, "type": n.type} for n in summary.notifications],
    }


def print_summary(summary: Summary) -> None:
    """What the demo fetched, which rules fired and what the notification endpoint received."""
    out = console.out
    out.print(f"Demo world: {len(summary.world.outlets)} fictional outlets at {summary.base_url}/")
    for o in sorted(summary.report.outcomes, key=lambda o: o.title):
        outcome = f"{o.new} new" if o.status == FetchStatus.OK else f"{o.status}: {o.error}"
        out.print(_item(o.title, outcome))
    out.print(f"Stored {summary.articles} articles, {summary.full_text} with the full text of their page.")
    out.print(f"Alerts: {len(summary.alerts)}")
    for alert in summary.alerts:
        outlets = alert.outlets
        more = f" ({len(outlets)} outlets: {', '.join(outlets)})" if len(outlets) > 1 else ""
        out.print(_item(alert.rule, alert.title + more))
    out.print(f"Notifications received at {summary.notifications_url}: {len(summary.notifications)}")
    for n in summary.notifications:
        out.print(console.Text("  ") + console.safe(n.title))


def _item(label: str, value: str) -> console.Text:
    """An indented "label: value" line of untrusted text."""
    return console.Text("  ") + console.safe(label, "bold") + console.Text(": ") + console.safe(value)


def print_banner(summary: Summary) -> None:
    out = console.out
    out.print(
        f"[bold]The reader's demo[/bold]: {summary.articles} articles from {len(summary.world.outlets)} "
        f"fictional outlets, {len(summary.alerts)} alerts fired."
    )
    for o in summary.report.errors:
        console.warn(f"{o.title}: {o.error}")
    for alert in summary.alerts:
        if len(outlets := alert.outlets) > 1:
            out.print(console.Text(f"  one story, one alert: {len(outlets)} outlets ran ") + console.safe(alert.title))
    out.print(f"  notifications sent: [link={summary.notifications_url}]{summary.notifications_url}[/link]")
    out.print(f"  the demo world:     [link={summary.base_url}/]{summary.base_url}/[/link]")
    out.print('  try: search (/) for "export controls", the Alerts entry in the sidebar, an article (enter)')
    out.print("  press ? for keys, q to quit (from the sidebar; Q quits from anywhere)")


def open_tui(settings: Settings, *, kept: bool) -> int:
    from ..tui.app import run_tui  # Textual is imported only when the screen opens

    store = Store(settings.db_path)
    question = None if kept else "Quit the demo? Its articles, rules and alerts are thrown away (--keep DIR keeps them)."
    try:
        return run_tui(settings, store, quit_question=question)
    finally:
        store.close()


def run(args: argparse.Namespace) -> int:
    with DemoServer(load_world()) as server, sandbox(args.keep) as settings:
        export_paths(settings)
        subscribe(settings, server.feed_urls())
        install_rules(settings, server.notify_url)
        report = ingest_world(settings, quiet=args.json)
        summary = collect(settings, server, report)
        if args.no_tui:
            if args.json:
                console.print_json(summary_json(summary))
            else:
                print_summary(summary)
            return 0 if summary.ok else 1
        print_banner(summary)
        try:
            input("Press Enter to open the reader… ")
        except EOFError:  # Ctrl-D: the user changed their mind
            return 0
        code = open_tui(settings, kept=args.keep is not None)
    kept = f"kept in {args.keep}" if args.keep else "removed"
    console.out.print(f"The demo is over; its server has stopped and its data was {kept}.")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    keep_private()  # the sandbox is created owner-only, as the reader's own data is
    if not args.no_tui and not (sys.stdin.isatty() and sys.stdout.isatty()):
        console.error("the demo's reader needs a terminal; without one, use --no-tui for a summary")
        return 2
    try:
        return run(args)
    except SandboxError as exc:
        console.error(str(exc))
        return 2
    except KeyboardInterrupt:
        console.err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
