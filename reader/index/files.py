"""The index's file names, and a note of how its files looked when last checked: importable without Whoosh.

Never opens, writes or deletes a file of the index itself (the note is a file of its own).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

INDEXNAME = "articles_v5"  # bump when the schema, analysis or file format changes: the index is then rebuilt
_INDEX_FILE = re.compile(r"_?articles_v\d+_")  # the files of any version of the index
CHECKED_NOTE = "CHECKED.json"  # {"indexed": n, "files": {name: [size, mtime_ns]}}, see `note_checked`


def _listing(path: Path) -> dict[str, list[int]] | None:
    """Each file of the index (not its lock) with its size and modification time; None without a
    table of contents of this version."""
    try:
        entries = list(os.scandir(path))
        listing = {e.name: [(s := e.stat()).st_size, s.st_mtime_ns] for e in entries
                   if _INDEX_FILE.match(e.name) and not e.name.endswith("_WRITELOCK")}  # fmt: skip
    except OSError:
        return None
    toc = f"_{INDEXNAME}_"
    if not any(name.startswith(toc) and name.endswith(".toc") for name in listing):
        return None
    return listing


def note_checked(path: Path, indexed: int) -> None:
    """Record the index's files as they are now, just checked and holding `indexed` articles."""
    listing = _listing(path)
    note = Path(path) / CHECKED_NOTE
    if listing is None:
        note.unlink(missing_ok=True)
        return
    temporary = note.with_suffix(".tmp")
    temporary.write_text(json.dumps({"indexed": indexed, "files": listing}))
    temporary.replace(note)


def unchanged_since_checked(path: Path, indexed: int) -> bool:
    """Whether the index's files (names, sizes, times) and its article count are what the last
    `note_checked` saw: a look at the directory that stands in for opening the index to check it.
    Anything changed since (a file cut short or gone, a commit by another process, a missing index) is false.
    """
    try:
        note = json.loads((Path(path) / CHECKED_NOTE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(note, dict) and note.get("indexed") == indexed and note.get("files") == _listing(path)
