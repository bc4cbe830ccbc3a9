"""The connection, transactions and schema upgrade every table family shares.

It never holds a table's queries (those are the family modules'), and never shares a connection
between threads."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, split_sql

log = logging.getLogger(__name__)

# SQLite drops a column from 3.35 (2021) on; an older library (some LTS systems' Python) keeps the blanked
# column instead: the step's rows and queries are the same either way (no query names a dropped column).
DROPS_COLUMNS = sqlite3.sqlite_version_info >= (3, 35, 0)
_DROP_COLUMN = re.compile(r"ALTER\s+TABLE\s+\w+\s+DROP\s+COLUMN\b", re.IGNORECASE)


class StoreError(Exception):
    """Something is wrong with the database file itself."""


class StoreDamaged(StoreError):
    """SQLite found the database file damaged while opening it (a page that does not read)."""


def _opening_failed(message: str, exc: sqlite3.DatabaseError) -> StoreError:
    damaged = getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_CORRUPT
    return (StoreDamaged if damaged else StoreError)(f"{message}: {exc}")


class StoreWriteError(StoreError):
    """The disk refused a write (full, a file size limit, read-only) or another process kept the database
    locked: the transaction was rolled back, nothing lost."""


# What SQLite says when the disk refuses a write: full, or an I/O error (e.g. past RLIMIT_FSIZE).
_DISK_REFUSED = (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)
_READ_ONLY = (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN)  # a read-only file or directory
_LOCKED = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)  # another process held the write lock past the timeout
BUSY_TIMEOUT = 30  # seconds a write waits for another process's transaction to end
HELD_TIMEOUT = 2  # seconds a held file's checkpoint waits for readers (the daemon looks again next cycle)


# A story id as it is now, given twice (`?, ?`): an id merged away (schema 10) names the story holding its articles.
CURRENT_STORY = "coalesce((SELECT story_id FROM story_aliases WHERE old_id = {0}), {0})"


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _writable(path: Path) -> bool:
    """Whether this process may write `path` (false on a read-only file system, even for root)."""
    return os.access(path, os.W_OK)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Database:
    """One SQLite file: a connection per thread, short write transactions, the schema kept current.

    In a data directory the reader may not write to (or a database file it may not write), it opens the
    database for reading only: listing, search and showing work, and a write says in one line that the
    directory is read-only."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existed = self.path.exists()
        if existed and self.path.stat().st_size == 0:
            self._refuse_if_history("is empty (0 bytes)")
        self.read_only = not _writable(self.path.parent) or (existed and not _writable(self.path))
        if self.read_only and not existed:
            raise StoreWriteError(f"the data directory {self.path.parent} is read-only and holds no database yet "
                                  f"({self.path.name}): make it writable and run the command again")
        self._local = threading.local()
        self._made = False  # the file exists: later connections open it only (a missing file is an error, not a new one)
        self._migrate(self._conn(), existed)

    def _read_only_refusal(self, doing: str) -> StoreWriteError:
        return StoreWriteError(
            f"the data directory {self.path.parent} is read-only, and {doing} writes to the database in it. "
            "Nothing was lost; make it writable and run the command again"
        )

    def _refuse_if_history(self, state: str) -> None:
        """Refuse to start a new database in place of one that was emptied while what derives from it remains:
        the index beside it (Settings.index_dir) holding segments means this file held articles."""
        index = self.path.parent / "index"
        files = [f for f in index.glob("*") if f.is_file() and not f.name.endswith("LOCK")] if index.is_dir() else []
        if len(files) > 1:  # a table of contents and at least one segment
            raise StoreError(
                f"{self.path} {state}, but the index beside it ({index}) holds {len(files)} files of articles: the "
                "database was truncated or replaced, and a new empty one would hide that. Restore it from a backup; "
                "or, to start afresh on purpose, move the index away too (it is rebuilt from the database)"
            )

    # -- connections and schema -------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                if self.read_only:
                    conn = self._open_read_only()
                elif not self._made:
                    conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
                    conn.execute("PRAGMA journal_mode=WAL")
                else:
                    conn = self._open_existing()
            except sqlite3.DatabaseError as exc:
                raise _opening_failed(f"cannot open the database {self.path}", exc) from None
            self._made = True
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def _open_existing(self, **kwargs) -> sqlite3.Connection:
        """A connection to the file at the path, which must exist: deleted meanwhile, this raises rather than
        make a new empty database that a running daemon would take for a backup put back."""
        if not self.path.exists():
            raise StoreError(f"the database {self.path} is gone: it was deleted while the reader ran. Nothing "
                             "was made in its place; a running daemon writes it back from the copy it holds open")
        uri = self.path.resolve().as_uri()
        return sqlite3.connect(f"{uri}?mode=rw", uri=True, timeout=BUSY_TIMEOUT, isolation_level=None, **kwargs)

    def hold(self) -> sqlite3.Connection:
        """A second connection, kept for the process's life and used by one thread at a time (the daemon's
        look for a swapped file): through it the file first opened stays readable whatever becomes of its path."""
        conn = self._open_existing(check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {HELD_TIMEOUT * 1000}")  # (a stop is never held up for long)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the -wal and -shm now, while named
        return conn

    def _open_read_only(self) -> sqlite3.Connection:
        """A read-only connection. WAL mode reads through the `-shm` file: where it is missing and cannot be
        made (a read-only directory after a clean exit), the file alone holds everything when no `-wal` is
        left, and is opened as immutable; a `-wal` still holding changes without its `-shm` cannot be read."""
        uri = self.path.resolve().as_uri()
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            conn.execute("PRAGMA schema_version").fetchone()  # opens the -wal and -shm files, if it can
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_CANTOPEN:
                raise
        wal = self.path.with_name(self.path.name + "-wal")
        if wal.exists() and wal.stat().st_size:
            raise StoreError(
                f"the data directory {self.path.parent} is read-only, and the last changes to the database are "
                f"still in {wal.name} without its {self.path.name}-shm: make the directory writable once (any "
                "reader command then folds them into the database) and run the command again"
            )
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken immediately so writers queue rather than deadlock.

        A write the disk refuses becomes one StoreWriteError saying so: the
        transaction is rolled back (SQLite may already have done it), so the
        database holds everything it held before.
        """
        if self.read_only:
            raise self._read_only_refusal("this command")
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")  # inside: a database locked or read-only refuses it here
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite rolls back by itself when the connection closes; the file stays whole
            refused = self._refused(exc) if isinstance(exc, sqlite3.OperationalError) else None
            if refused:
                why, then = refused
                raise StoreWriteError(
                    f"could not write to the database {self.path} ({why}). Nothing was lost: "
                    f"that change was rolled back and everything stored before it is intact; {then}"
                ) from None
            raise

    @staticmethod
    def _refused(exc: sqlite3.OperationalError) -> tuple[str, str] | None:
        """(why, what to do) when the write was refused by the disk, the file's mode or another process."""
        code = exc.sqlite_errorcode & 0xFF
        if code in _DISK_REFUSED:
            why = str(exc) if "full" in str(exc) else f"{exc}; is the disk full?"
            return why, "free some space and run the command again"
        if code in _READ_ONLY:
            return f"{exc}: the file or its directory is read-only", "make them writable and run the command again"
        if code in _LOCKED:
            return (f"{exc}: another process kept it locked for over {BUSY_TIMEOUT} s",
                    "run the command again once that process is done")
        return None

    def _select_in(self, sql: str, column: str, ids: Sequence[int] | None, tail: str = "",
                   params: Sequence = ()) -> list[tuple]:  # fmt: skip
        """Run `sql` (with `params`), restricted to `column IN ids` (in chunks) when ids are given."""
        conn = self._conn()
        if ids is None:
            return conn.execute(sql + tail, params).fetchall()
        rows: list[tuple] = []
        ids = list(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += conn.execute(f"{sql} AND {column} IN ({marks}){tail}", [*params, *chunk]).fetchall()
        return rows

    def _migrate(self, conn: sqlite3.Connection, existed: bool = False) -> None:
        """Bring the database to SCHEMA_VERSION, one numbered step per transaction; refuse a newer one."""
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise _opening_failed(f"{self.path} is not a reader database", exc) from None
        if app_id not in (0, APPLICATION_ID):
            raise StoreError(f"{self.path} belongs to another program (application_id {app_id:#x})")
        if version == 0 and existed and not conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            self._refuse_if_history("holds no tables")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this reader knows ({SCHEMA_VERSION}): "
                "it was written by a newer reader; upgrade the reader to open it (the file was left unchanged)"
            )
        if self.read_only and version < SCHEMA_VERSION:
            raise self._read_only_refusal(f"upgrading it from schema version {version} to {SCHEMA_VERSION} "
                                          "(needed before this reader can read it)")
        if 0 < version < SCHEMA_VERSION:  # a step may rewrite every article: minutes at 100k, so say so first
            log.warning("upgrading the database %s from version %d to %d, once (a large one may take a minute); "
                        "older readers cannot open it afterwards", self.path, version, SCHEMA_VERSION)
        for step in MIGRATIONS[version:]:
            try:
                self._step(step)
            except sqlite3.DatabaseError as exc:  # a damaged page the step read: the step was rolled back
                failed = _opening_failed(f"upgrading {self.path} to schema version {step.version} stopped, nothing "
                                         "was changed: the file is damaged", exc)  # fmt: skip
                if isinstance(failed, StoreDamaged):
                    raise failed from None
                raise

    def _step(self, step) -> None:
        """One migration step, in one transaction."""
        with self._tx() as tx:
            for statement in split_sql(step.sql):
                if DROPS_COLUMNS or not _DROP_COLUMN.match(statement.strip()):
                    tx.execute(statement)
            if step.rewrite is not None:
                step.rewrite(tx)
            tx.execute(f"PRAGMA user_version = {step.version}")
            tx.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            problems = tx.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise StoreError(f"migration to version {step.version} broke foreign keys: {problems[:3]}")

    def quick_check(self, limit: int) -> list[str]:
        """SQLite's `quick_check`: ["ok"], or up to `limit` lines saying what is wrong (one pass over the file,
        without `integrity_check`'s comparison of each index with its table)."""
        return [row[0] for row in self._conn().execute(f"PRAGMA quick_check({int(limit)})")]


    def schema_version(self) -> int:
        return self._conn().execute("PRAGMA user_version").fetchone()[0]

    def get_meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as tx:
            tx.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?",
                       (key, value, value))


# -- a file held open (the daemon's copy of a database swapped under it) -------------------


def checkpoint(conn: sqlite3.Connection) -> bool:
    """Fold the connection's -wal into its database file and empty it; False when another connection kept
    some of it (busy, or frames not yet copied): then the -wal still holds changes and nothing may replace it."""
    busy, logged, done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return busy == 0 and logged == done


def copy(conn: sqlite3.Connection, path: Path) -> None:
    """Write the connection's database, whole and consistent, to `path` (SQLite's backup)."""
    target = sqlite3.connect(path)
    try:
        conn.backup(target)
    finally:
        target.close()


def article_count(conn_or_path: sqlite3.Connection | Path) -> int | None:
    """How many articles a reader database holds; None when it is not one (empty, another file, no schema).
    A path is read as it lies on disk (immutable: no -wal or -shm by its name is opened or made, and those may
    be another file's)."""
    conn = conn_or_path
    if isinstance(conn_or_path, Path):
        try:
            conn = sqlite3.connect(f"{conn_or_path.resolve().as_uri()}?immutable=1", uri=True)
        except sqlite3.Error:
            return None
    try:
        if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            return None
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.Error:
        return None
    finally:
        if conn is not conn_or_path:
            conn.close()
