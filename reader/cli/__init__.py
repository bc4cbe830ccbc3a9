"""The command line: `reader [global options] COMMAND …`, or the TUI when no command is given.

It never imports Textual before it knows the TUI is wanted.

Each command lives in its own module under `reader/cli/` and registers its
parser; commands only parse arguments, call the pipeline/store/index, and
format results. Exit codes: 0 done, 1 failed (message on stderr),
2 bad usage or a wrong setting, 130 interrupted, 141 output closed early.
"""

from __future__ import annotations

import argparse
import errno
import os
import select
import sqlite3
import sys
import traceback
from collections.abc import Sequence

from ..config import VERSION, ConfigError
from ..filemodes import keep_private
from ..index.errors import IndexDamaged, WrongWhoosh
from ..lock import WriterBusy
from ..logs import redact_secrets, setup_logging
from ..store import StoreDamaged, StoreError
from .. import console
from .context import Context, UsageError
from . import alerts, articles, daemon, doctor, feeds, fetch, rules, searching, stories

COMMAND_MODULES = [feeds, fetch, searching, articles, stories, rules, alerts, daemon, doctor]


# The global options that take a value: the word after them is not the command.
VALUED_OPTIONS = frozenset({"--data-dir", "--config-dir", "--rules"})


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; for an `argv` naming a command, the parser of that command alone (the others' options
    cost ~4 ms to declare, a tenth of a fetch of unchanged feeds)."""
    command = command_named(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="reader",
        description="A terminal RSS reader whose reason to exist is topic alerts.",
        epilog=("Without a command it opens the reader's screen (the TUI) on what is stored; it refreshes by "
                "itself only when nothing is stored yet. 'reader COMMAND --help' for details."),
    )
    parser.add_argument("--data-dir", metavar="DIR", help="where the database and index live (env READER_DATA_DIR)")
    parser.add_argument("--config-dir", metavar="DIR", help="where config.toml lives (env READER_CONFIG_DIR)")
    parser.add_argument("--rules", metavar="DIR", dest="rules_dir", help="the rules directory (env READER_RULES_DIR)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors (env READER_DEBUG=1)")
    parser.add_argument("--version", action="version", version=f"reader {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        if command is None or command in module.COMMANDS:
            module.register(sub)
    return parser


def command_named(argv: Sequence[str]) -> str | None:
    """The command `argv` names, when it is plainly one (after global options spelt out in full); else None."""
    words = iter(argv)
    for word in words:
        if word in VALUED_OPTIONS:
            next(words, None)
        elif word.startswith("-"):
            if word != "--debug" and word.split("=", 1)[0] not in VALUED_OPTIONS:
                return None  # --help, --version, an abbreviation, a mistake: the whole parser answers
        else:
            return word if any(word in module.COMMANDS for module in COMMAND_MODULES) else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    keep_private()  # files the reader creates are owner-only, whatever the umask
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    setup_logging(debug=args.debug or None)
    debug = args.debug or bool(os.environ.get("READER_DEBUG"))
    ctx = Context(args)
    try:
        ctx.settings  # a wrong setting stops every command before it starts
        if args.command is None:
            return open_tui(ctx)
        return args.func(args, ctx)
    except (UsageError, ConfigError) as exc:
        console.error(str(exc))
        return 2
    except StoreDamaged as exc:
        console.error(f"{exc}. Restore it from a backup, or see 'reader doctor' for how to save what it holds")
        return 1
    except (StoreError, WriterBusy, WrongWhoosh, IndexDamaged) as exc:
        console.error(str(exc))
        return 1
    except sqlite3.DatabaseError as exc:
        code = getattr(exc, "sqlite_errorcode", None)  # (Python's own sqlite3 errors carry none)
        if code is None or code & 0xFF not in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return _unexpected(exc, debug)
        db = ctx.settings.db_path
        console.error(f"the database {db} is damaged ({exc}); nothing was changed. Restore it from a backup, or "
                      f"save what it still holds with: sqlite3 {db} .recover | sqlite3 recovered.sqlite")  # fmt: skip
        return 1
    except BrokenPipeError as exc:  # `reader export | head`: the reader of the output has what it wanted
        if not _stdout_closed():  # another pipe or socket: an error like any other
            console.error(f"could not write {exc.filename or 'its output'} (Broken pipe: the program reading it "
                          "ended before the end)")  # fmt: skip
            return 1
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 141  # as a command killed by SIGPIPE
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            why, then = f"{exc.strerror}; is the disk full?", "free some space and run the command again"
        elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):  # a read-only data dir, another user's files
            folder = os.path.dirname(exc.filename) if isinstance(exc.filename, str) else ""
            why = f"{exc.strerror}: the directory {folder} is read-only" if folder and not os.access(folder, os.W_OK) \
                else exc.strerror
            then = "make it writable and run the command again"
        elif exc.errno in (errno.EEXIST, errno.ENOTDIR, errno.EISDIR):  # --data-dir naming a file, say
            why, then = f"{exc.strerror}: something else is in its place", "move that away and run the command again"
        elif exc.errno == errno.ENOENT:  # `export --out missing/dir/file`
            why, then = exc.strerror, "check the path and run the command again"
        else:
            return _unexpected(exc, debug)
        console.error(f"could not write {exc.filename or 'a file'} ({why}). Nothing was lost: the database keeps "
                      f"everything stored; {then}")  # fmt: skip
        return 1
    except KeyboardInterrupt:
        console.err.print("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug
        return _unexpected(exc, debug)
    finally:
        ctx.close()


def _stdout_closed() -> bool:
    """Whether standard output is a pipe whose reading end was closed (poll reports an error or a hang-up on it)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no stdout at all, or no poll on this system
        return False


def _unexpected(exc: Exception, debug: bool) -> int:
    """A bug: one line, or the traceback too with --debug; secrets (feed credentials, notification URLs) masked
    either way, as in the logs."""
    if debug:
        sys.stderr.write(redact_secrets("".join(traceback.format_exception(exc))))
    console.error(redact_secrets(f"unexpected error: {type(exc).__name__}: {exc}") +
                  ("" if debug else " (run with --debug for the traceback, and please report it)"))  # fmt: skip
    return 1


def open_tui(ctx: Context) -> int:
    """`reader` with no command: first-run setup, then the TUI (Textual is imported only here)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the reader's screen needs a terminal; without one, use a command such as 'reader fetch'")
    from ..firstrun import ensure_setup  # subscribes the bundled feeds and seeds the rules, once
    from ..tui.app import run_tui

    ensure_setup(ctx.settings, ctx.store)
    return run_tui(ctx.settings, ctx.store)


def entry_point() -> None:
    sys.exit(main())
