"""The index's file names, and whether its table of contents is on disk: importable without loading Whoosh.

Never opens or writes a file (the directory listing only).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

INDEXNAME = "articles_v4"  # bump when the schema or analysis changes: the index is then rebuilt
_INDEX_FILE = re.compile(r"_?articles_v\d+_")  # the files of any version of the index


def has_contents(path: Path) -> bool:
    """Whether `path` holds a table of contents of this version of the index (a `_articles_vN_GEN.toc`).

    The cheap look a run with nothing to index takes instead of opening the index: a missing
    or older index fails it; files cut short are found when the index is next opened.
    """
    try:
        names = os.listdir(path)
    except OSError:
        return False
    prefix = f"_{INDEXNAME}_"
    return any(name.startswith(prefix) and name.endswith(".toc") and name[len(prefix):-4].isdigit()
               for name in names)  # fmt: skip
