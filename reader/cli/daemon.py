"""`reader daemon`: refresh, match and notify on a schedule, in the foreground, with no screen.

It holds no pipeline logic (that is `reader.daemon`): it checks the options and the log file, then hands over."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import SettingError, with_setting
from .context import Context, UsageError

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


COMMANDS = ("daemon",)  # the commands `register` adds (the CLI builds only the one asked for)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("daemon", help="refresh feeds on a schedule and send alerts (foreground; for systemd or cron)")
    p.add_argument("--once", action="store_true", help="run exactly one cycle, then exit (for cron and tests)")
    p.add_argument("--interval", type=float, metavar="MINUTES",
                   help="minutes between refreshes of a feed (default: [daemon] interval_minutes, 30)")  # fmt: skip
    p.add_argument("--log-file", metavar="FILE", help="log here instead of stderr ([daemon] log_file)")
    p.add_argument("--log-level", type=str.upper, choices=LEVELS, help="least important messages logged (default INFO)")
    p.set_defaults(func=daemon)


def daemon(args, ctx: Context) -> int:
    settings = ctx.settings
    if args.interval is not None:
        try:
            settings = with_setting(settings, "daemon", "interval_minutes", args.interval)
        except SettingError as exc:
            raise UsageError(f"--interval {exc.reason}") from None
    log_file = None
    if configured := args.log_file or settings.daemon.log_file:
        log_file = Path(configured).expanduser()
        _prepare_log_file(log_file, "--log-file" if args.log_file else "[daemon] log_file in config.toml")
    ctx.close()  # the daemon opens its own connections under the writer lock
    from ..daemon import run_daemon  # the pipeline loads only when the daemon runs

    return run_daemon(settings, once=args.once, level=args.log_level or settings.daemon.log_level,
                      log_file=log_file, interval=args.interval)  # fmt: skip


def _prepare_log_file(path: Path, source: str) -> None:
    """Make the log file's directory (owner-only) and check the file can be written, so that a wrong
    path is one line naming it, not a traceback from the logging module."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with path.open("a"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write the log file {path} ({source}): {exc.strerror}") from None
