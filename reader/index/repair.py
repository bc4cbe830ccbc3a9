"""Repair and rebuild: opening the index directory, and replacing an index that is missing,
unreadable or of an older version with a new, empty one (the caller refills it from the store).

Never reads or writes segments, and never deletes a file that is not one of the index's.
"""

from __future__ import annotations

import time
from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex

from .analysis import _INDEX_FILE, INDEXNAME, SCHEMA
from .errors import IndexBusy


def busy_message(path: Path, lock_timeout: float) -> str:
    return (
        f"another reader process is writing to the search index at {path} "
        f"(waited {lock_timeout:g} s); try again when it has finished"
    )


def open_or_create(storage: FileStorage, path: Path, lock_timeout: float) -> tuple[FileIndex, bool]:
    """The index in `storage`, and whether it was created (empty) because it was missing or unreadable."""
    try:
        return FileIndex(storage, indexname=INDEXNAME), False
    except Exception:  # missing, or unreadable: it is derived data, so start afresh
        created = _create(storage, path, lock_timeout)
        return FileIndex(storage, indexname=INDEXNAME), created


def _create(storage: FileStorage, path: Path, lock_timeout: float) -> bool:
    """A new, empty index, under the writer lock in case another process is creating it too;
    false if that other process created it first."""
    lock = storage.lock(f"{INDEXNAME}_WRITELOCK")
    deadline = time.monotonic() + lock_timeout
    while not lock.acquire():
        if time.monotonic() > deadline:
            raise IndexBusy(busy_message(path, lock_timeout))
        time.sleep(0.05)
    try:
        try:
            FileIndex(storage, indexname=INDEXNAME)
        except Exception:
            FileIndex.create(storage, SCHEMA, INDEXNAME)
            _remove_old_versions(storage)
            return True
        return False
    finally:
        lock.release()


def _remove_old_versions(storage: FileStorage) -> None:
    """Delete the files of indexes with an older INDEXNAME: they are never read again."""
    for name in storage.list():
        if _INDEX_FILE.match(name) and not name.lstrip("_").startswith(INDEXNAME + "_"):
            storage.delete_file(name)
