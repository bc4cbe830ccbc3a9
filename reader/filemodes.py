"""Owner-only files: the umask the reader runs under, and tightening what an earlier run or umask left open
to others. Only permission bits: never reads, writes or moves a file."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from .config import Settings

log = logging.getLogger(__name__)

OWNER_ONLY = 0o077  # the bits of group and others


def keep_private() -> None:
    """From now on every file the reader creates is 0600 and every directory 0700, whatever the user's umask:
    the database, the index, logs and exports hold what the user reads and where their alerts go."""
    os.umask(OWNER_ONLY)


def private_paths(settings: Settings, *, index_files: bool = False) -> list[Path]:
    """The data directory and what the reader keeps there (the database and its side files, the key of
    its notification targets, the writer lock, the index directory and, if asked, its files), and the
    daemon's log: the paths that must be owner-only. Some may not exist."""
    data, db = settings.data_dir, settings.db_path
    paths = [data, data / "targets.key", settings.lock_path]  # targets.KEY_FILE (importing it loads Apprise)
    paths += [db.with_name(db.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
    paths.append(settings.index_dir)
    if index_files and settings.index_dir.is_dir():
        paths += settings.index_dir.iterdir()
    if settings.daemon.log_file:
        paths.append(Path(settings.daemon.log_file).expanduser())
    return paths


def tighten(settings: Settings) -> list[Path]:
    """Make `private_paths` (the index's files too) owner-only; one line says which were open to others.
    The paths changed."""
    changed = []
    for path in private_paths(settings, index_files=True):
        try:
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode) or not stat.S_IMODE(mode) & OWNER_ONLY:
                continue
            os.chmod(path, stat.S_IMODE(mode) & ~OWNER_ONLY)
        except FileNotFoundError:
            continue
        except OSError as exc:  # not ours to change (another owner): say so rather than fail
            log.warning("could not make %s owner-only: %s", path, exc.strerror)
            continue
        changed.append((path, stat.S_IMODE(mode)))
    if changed:
        shown = ", ".join(f"{p} ({m:04o})" for p, m in changed[:3]) + (", …" if len(changed) > 3 else "")
        log.warning("made %d path(s) owner-only that others could read: %s", len(changed), shown)
    return [p for p, _ in changed]
