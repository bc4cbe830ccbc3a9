"""The errors the index raises to its callers, importable without loading Whoosh (the CLI catches them).

Never imports Whoosh or any other module of the index.
"""


class IndexBusy(Exception):
    """Another process holds the index's writer lock for longer than we wait."""


class WrongWhoosh(Exception):
    """The installed whoosh-reloaded is not the exact release the segment writer is written for."""


class IndexDamaged(Exception):
    """The index's files are missing, cut short or unreadable; the store still has everything
    (the caller rebuilds the index from it: see `reader.ingest.repair_index`)."""
