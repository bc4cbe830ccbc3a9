"""Repair and rebuild: opening the index directory, noticing damage, and starting afresh.

The index is derived from the store, so a damaged one (files missing or cut
short, a table of contents that does not read) is replaced by a new, empty one,
which the caller refills from the store. A rebuild in progress leaves a note in
the directory, so that another process's search can say how far it has got.
Never reads or writes segments, and never deletes a file that is not one of the index's.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import struct
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from whoosh.codec.whoosh3 import W3Codec
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import FileFormatError
from whoosh.index import TOC, FileIndex

from ..query import QueryError
from .analysis import _INDEX_FILE, INDEXNAME, SCHEMA, analyze
from .errors import IndexBusy, IndexDamaged

REPAIR_NOTE = "REBUILDING.json"  # {"done": n, "total": m}, while a rebuild from the store runs


def busy_message(path: Path, lock_timeout: float) -> str:
    return (
        f"another reader process is writing to the search index at {path} "
        f"(waited {lock_timeout:g} s); try again when it has finished"
    )


def open_or_create(storage: FileStorage, path: Path, lock_timeout: float) -> tuple[FileIndex, bool, str | None]:
    """The index in `storage`; whether it was created (empty) because it was missing, of an older
    version, or unreadable; and in that last case, what was wrong (for the caller to report)."""
    try:
        return FileIndex(storage, indexname=INDEXNAME), False, None
    except Exception as exc:  # noqa: BLE001 - missing, or unreadable: it is derived data, so start afresh
        problem = f"its files do not open ({_describe(exc)})" if _own_files(storage) else None
        created = _create(storage, path, lock_timeout)
        return FileIndex(storage, indexname=INDEXNAME), created, problem


def reset(storage: FileStorage, path: Path, lock_timeout: float) -> FileIndex:
    """Delete every file of the index and create a new, empty one (its directory too, if it was deleted)."""
    path.mkdir(parents=True, exist_ok=True)
    with _write_locked(storage, path, lock_timeout):
        _delete_files(storage)
        FileIndex.create(storage, SCHEMA, INDEXNAME)
    return FileIndex(storage, indexname=INDEXNAME)


def file_problem(storage: FileStorage, segments: Sequence) -> str | None:
    """What is wrong with the segments' files, from the directory alone, or None.

    Each segment written by `segments` carries its files' sizes; for older
    segments, only the presence of the term table and postings is checked.
    """
    for segment in segments:
        expected = getattr(segment, "file_sizes", None) or {
            segment.make_filename(ext): None for ext in (W3Codec.TERMS_EXT, W3Codec.POSTS_EXT)
        }
        for name, size in expected.items():
            if not storage.file_exists(name):
                return f"{name} is missing"
            if size is not None and (found := storage.file_length(name)) != size:
                return f"{name} holds {found:,} bytes, {size:,} were written"
    return None


def current_segments(storage: FileStorage) -> list:
    """The segments the table of contents names; IndexDamaged if it does not read."""
    try:
        return TOC.read(storage, INDEXNAME).segments
    except Exception as exc:  # noqa: BLE001 - any failure to read it is damage
        raise IndexDamaged(f"its table of contents does not read ({_describe(exc)})") from None


def damage(exc: BaseException) -> IndexDamaged | None:
    """`exc` as index damage, if it is the kind that files cut short or gone raise; else None.

    A full disk or a refused permission is not damage: rebuilding would not help.
    """
    if isinstance(exc, IndexDamaged):
        return exc
    if isinstance(exc, QueryError):  # a ValueError, but about the query
        return None
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM):
        return None
    if isinstance(exc, (OSError, EOFError, struct.error, pickle.UnpicklingError, zlib.error, FileFormatError)):
        return IndexDamaged(_describe(exc))
    if isinstance(exc, (ValueError, IndexError, KeyError)) and _raised_reading_files(exc):
        return IndexDamaged(_describe(exc))
    return None


# Where the bytes of the index's files are decoded (besides Whoosh's own modules): a ValueError, IndexError or
# KeyError raised there may be a file's garbage; raised anywhere else (evaluation, plans, the searcher) it is a
# bug or a bad argument, which a rebuild would not mend.
FILE_READERS = ("reader.index.segments",)


def _raised_reading_files(exc: BaseException) -> bool:
    """Whether the innermost of the reader's and Whoosh's frames `exc` passed through decodes files (numpy's
    and the standard library's frames in between are skipped: they raise for whoever called them)."""
    innermost, tb = "", exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("reader.", "whoosh.")):
            innermost = module
        tb = tb.tb_next
    return innermost.startswith("whoosh.") or innermost in FILE_READERS


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


# -- the note a rebuild leaves ---------------------------------------------------------------


def note_rebuild(path: Path, done: int | None, total: int = 0) -> None:
    """Record a rebuild's progress (None: it has ended)."""
    note = Path(path) / REPAIR_NOTE
    if done is None:
        note.unlink(missing_ok=True)
        return
    temporary = note.with_suffix(".tmp")
    temporary.write_text(json.dumps({"done": done, "total": total, "pid": os.getpid()}))
    temporary.replace(note)


def rebuild_progress(path: Path) -> tuple[int, int] | None:
    """(done, total) of a rebuild running now, in any process; None if there is none."""
    try:
        note = json.loads((Path(path) / REPAIR_NOTE).read_text())
        os.kill(int(note["pid"]), 0)  # a rebuild whose process is gone is not running
        return int(note["done"]), int(note["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


# -- files and the lock --------------------------------------------------------------------


@contextmanager
def _write_locked(storage: FileStorage, path: Path, lock_timeout: float) -> Iterator[None]:
    lock = storage.lock(f"{INDEXNAME}_WRITELOCK")
    deadline = time.monotonic() + lock_timeout
    while not lock.acquire():
        if time.monotonic() > deadline:
            raise IndexBusy(busy_message(path, lock_timeout))
        time.sleep(0.05)
    try:
        yield
    finally:
        lock.release()


def _create(storage: FileStorage, path: Path, lock_timeout: float) -> bool:
    """A new, empty index, under the writer lock in case another process is creating it too;
    false if that other process created it first."""
    with _write_locked(storage, path, lock_timeout):
        try:
            FileIndex(storage, indexname=INDEXNAME)
        except Exception:  # noqa: BLE001
            _delete_files(storage)  # an older version's, or the unreadable remains of this one
            FileIndex.create(storage, SCHEMA, INDEXNAME)
            return True
        return False


def _own_files(storage: FileStorage) -> list[str]:
    """The files of this version of the index (not its lock)."""
    return [name for name in storage.list() if name.lstrip("_").startswith(INDEXNAME + "_")
            and name != f"{INDEXNAME}_WRITELOCK"]  # fmt: skip


def _delete_files(storage: FileStorage) -> None:
    """Delete every file of the index, of any version, but the lock held now."""
    for name in storage.list():
        if _INDEX_FILE.match(name) and name != f"{INDEXNAME}_WRITELOCK":
            storage.delete_file(name)


# -- checking the index against the store -----------------------------------------------------


@dataclass
class CheckReport:
    """What `reader index check` found."""

    files: str | None  # what is wrong with the files, or None
    documents: int  # articles in the index
    stored: int  # articles in the store
    waiting: int  # stored articles waiting to be (re)indexed
    missing: int  # stored articles absent from the index
    extra: int  # articles in the index the store no longer has
    sampled: int = 0  # stored articles whose words were looked up in the postings
    wrong: list[int] = field(default_factory=list)  # sampled articles missing some of their words

    @property
    def ok(self) -> bool:
        return not self.files and not self.wrong and self.missing <= self.waiting and not self.extra


def check_against_store(index, stored_ids: set[int], waiting: int,
                        sample: Sequence[tuple[int, str, str]]) -> CheckReport:  # fmt: skip
    """Compare the index with the store: files, article ids, and for each sampled
    (id, title, text) that its title's and text's first words are in its postings."""
    try:
        index.check()
        indexed = index.article_ids()
    except IndexDamaged as exc:
        return CheckReport(str(exc), 0, len(stored_ids), waiting, len(stored_ids), 0)
    report = CheckReport(None, len(indexed), len(stored_ids), waiting, len(stored_ids - indexed),
                         len(indexed - stored_ids))  # fmt: skip
    for article_id, title, text in sample:
        if article_id not in indexed:
            continue
        report.sampled += 1
        words = {"title": analyze(title)[:30], "text": analyze(text[:3000])[:60]}
        if not all(index.holds_terms(article_id, name, terms) for name, terms in words.items() if terms):
            report.wrong.append(article_id)
    return report
