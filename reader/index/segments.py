"""The segment writer: Whoosh's W3 segment files, written and read back by hand.

THE ONE MODULE ON WHOOSH INTERNALS (W3TermInfo._struct, hand-made pickle
opcodes for positions, the posting block layout, NumericColumn's fields).
whoosh-reloaded is pinned exactly for this module, and a differential test
against Whoosh's own writer and searcher guards it. Never decides what to
index or when: it writes what it is given.

Whoosh's own writer is too slow for the targets (1,000 articles/s on two
cores), so each document's terms are grouped as they are analysed and each
term's postings written in one go, instead of one sorted tuple and method call
per posting. Large batches are split across worker processes, a segment each.
"""

from __future__ import annotations

import pickle
import sys
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from itertools import accumulate, chain

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.columns import NumericColumn
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.reading import SegmentReader
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort

from ..store import IndexRow
from .analysis import ANALYSED_FIELDS, INDEXNAME, SCHEMA, _minutes, _positions
from .errors import WrongWhoosh

# The release whose files this module writes and reads; pyproject.toml pins the same.
WHOOSH_RELEASE = "2.7.5"


@cache
def check_whoosh_release() -> None:
    """Refuse to open the index under any other whoosh-reloaded: a change in its file
    format would make what this module writes unreadable, or wrong, without a word."""
    try:
        installed = version("whoosh-reloaded")
    except PackageNotFoundError:
        installed = "not installed"
    if installed != WHOOSH_RELEASE:
        raise WrongWhoosh(
            f"the search index needs whoosh-reloaded {WHOOSH_RELEASE} exactly (found: {installed}), because the "
            f"reader writes its files itself; reinstall it with: pip install whoosh-reloaded=={WHOOSH_RELEASE}"
        )

_BLOCK_POSTINGS = 128  # postings per block, as Whoosh writes them
_INLINE_POSTINGS = 4  # a term with this few postings keeps them in the term table
_MIN_COMPRESSED_BYTES = 64  # every block but the tiniest is compressed: postings shrink by 40 % (4.6 to 2.8 KB an article)
_TERM_INFO = W3TermInfo._struct  # flags, weight, doc freq, min/max length, max weight, first/last id
# Whoosh pickles blocks with protocol 2, which stores each bytes value as a
# call to codecs.encode; its reader loads any protocol, and 5 stores bytes as bytes.
_PICKLE_PROTOCOL = 5


def _pickled_int(n: int) -> bytes:
    """The pickle opcode for a non-negative int (BININT1, BININT2 or BININT)."""
    if n < 256:
        return b"K" + n.to_bytes(1, "little")
    if n < 65536:
        return b"M" + n.to_bytes(2, "little")
    return b"J" + n.to_bytes(4, "little", signed=True)


_PICKLED_INTS = [_pickled_int(n) for n in range(4096)]
_ONE_POSITION = [pack_uint(1) + b"]" + op + b"a." for op in _PICKLED_INTS]  # the commonest posting value


def _encode_positions(positions: list[int]) -> bytes:
    """Whoosh's `Positions` value: a count, then the position deltas as a pickled list.

    Written by hand as the shortest pickle that loads to the list (no protocol
    header, no memo): about half the size of pickle.dumps, and as fast.
    """
    if len(positions) == 1 and positions[0] < 4096:
        return _ONE_POSITION[positions[0]]
    ops, ints, previous = [], _PICKLED_INTS, 0
    for p in positions:
        delta = p - previous
        ops.append(ints[delta] if delta < 4096 else _pickled_int(delta))
        previous = p
    return pack_uint(len(positions)) + b"](" + b"".join(ops) + b"e."


def _row_fields(row: IndexRow) -> dict[str, str | Sequence[str]]:
    return {
        "title": row.title, "text": row.text, "summary": row.summary, "feed": row.feed_title,
        "group": row.group, "author": row.author, "tags": row.categories, "link": row.link,
    }  # fmt: skip


class _SegmentBuilder:
    """Writes articles straight into one new segment, in Whoosh's W3 format.

    Postings are collected per field and term as flat lists
    [docnum, frequency, value, docnum, …] and written term by term at the end.
    The segment is returned uncommitted: the caller adds it to the index.
    """

    def __init__(self, storage: FileStorage):
        codec = W3Codec()
        self.storage = storage
        self.segment = codec.new_segment(storage, INDEXNAME)
        self.perdoc = codec.per_document_writer(storage, self.segment)
        self.postings: dict[str, dict[bytes, list]] = {name: {} for name in ANALYSED_FIELDS}
        self.docnum = 0

    def add(self, row: IndexRow) -> None:
        self.perdoc.start_doc(self.docnum)
        for name, value in _row_fields(row).items():
            self._add_analysed(name, value)
        self.perdoc.add_column_value("id", SCHEMA["id"].column_type, row.id)
        self.perdoc.add_column_value("date", SCHEMA["date"].column_type, _minutes(row.date))
        self.perdoc.finish_doc()
        self.docnum += 1

    def _add_analysed(self, name: str, value: str | Sequence[str]) -> None:
        docnum, postings = self.docnum, self.postings[name]
        positions = _positions(value)
        one = _ONE_POSITION
        for term, where in positions.items():
            entry = postings.get(term)
            if entry is None:
                postings[term] = entry = []
            if len(where) == 1 and where[0] < 4096:
                entry += (docnum, 1, one[where[0]])
            else:
                entry += (docnum, len(where), _encode_positions(where))
        length = sum(map(len, positions.values()))
        self.perdoc.add_field(name, SCHEMA[name], None, length)

    def add_segment(self, reader: SegmentReader) -> None:
        """Copy the live documents of an existing segment (for merging), postings term by term."""
        docmap = self._copy_documents(reader)
        base = docmap[0] if docmap else 0
        compact = base >= 0 and docmap == list(range(base, base + len(docmap)))  # no deletions: docnums just shift
        postfile = reader.segment().open_file(self.storage, W3Codec.POSTS_EXT)
        try:
            for (name, term), info in reader:
                ids, weights, values = _read_postings(postfile, info)
                if compact:
                    ids = [docnum + base for docnum in ids]
                else:
                    kept = [k for k, docnum in enumerate(ids) if docmap[docnum] >= 0]
                    if not kept:
                        continue
                    ids = [docmap[ids[k]] for k in kept]
                    weights, values = [weights[k] for k in kept], [values[k] for k in kept]
                entry = self.postings[name].setdefault(term, [])
                entry += chain.from_iterable(zip(ids, weights, values))
        finally:
            postfile.close()

    def _copy_documents(self, reader: SegmentReader) -> list[int]:
        """Per-document data (field lengths, id, date) of the live documents; old -> new docnum, -1 if deleted."""
        columns = {name: _numeric_column(reader, name) for name in ("id", "date")}
        docmap = []
        for old in range(reader.doc_count_all()):
            if reader.is_deleted(old):
                docmap.append(-1)
                continue
            self.perdoc.start_doc(self.docnum)
            for name in ANALYSED_FIELDS:
                self.perdoc.add_field(name, SCHEMA[name], None, reader.doc_field_length(old, name))
            for name, column in columns.items():
                self.perdoc.add_column_value(name, SCHEMA[name].column_type, column[old])
            self.perdoc.finish_doc()
            docmap.append(self.docnum)
            self.docnum += 1
        return docmap

    def finish(self):
        """Write the term table and postings; returns the (uncommitted) segment."""
        self.perdoc.close()
        terms = _TermsWriter(self.storage, self.segment)
        for name in sorted(self.postings):
            postings = self.postings[name]
            if postings:
                terms.start_field(name)
                for term in sorted(postings):
                    terms.add(term, postings[term])
        terms.close()
        self.segment.set_doc_count(self.docnum)
        # The size of each file, kept in the table of contents with the segment, so that a
        # file cut short or gone is noticed when the index is opened (`repair.file_problem`).
        prefix = self.segment.segment_id() + "."
        self.segment.file_sizes = {
            name: self.storage.file_length(name) for name in self.storage.list() if name.startswith(prefix)
        }
        return self.segment


class _TermsWriter:
    """Whoosh's W3 term table and posting blocks, written a whole term at a time."""

    def __init__(self, storage: FileStorage, segment):
        self.table = OrderedHashWriter(segment.create_file(storage, W3Codec.TERMS_EXT))
        self.fieldmap: dict[str, int] = {}
        self.table.extras["fieldmap"] = self.fieldmap
        self.postfile = segment.create_file(storage, W3Codec.POSTS_EXT)
        self.prefix = b""

    def start_field(self, name: str) -> None:
        self.fieldmap[name] = len(self.fieldmap)
        self.prefix = pack_ushort(self.fieldmap[name])

    def add(self, term: bytes, flat: list) -> None:
        ids, weights, values = flat[0::3], flat[1::3], flat[2::3]  # a weight is the term's frequency
        if len(ids) <= _INLINE_POSTINGS:
            flags, tail = 1, pickle.dumps((tuple(ids), tuple(weights), tuple(values)), _PICKLE_PROTOCOL)
        else:
            start = self.postfile.tell()
            self.postfile.write(WHOOSH3_HEADER_MAGIC)
            for first in range(0, len(ids), _BLOCK_POSTINGS):
                end = first + _BLOCK_POSTINGS
                self._write_block(ids[first:end], weights[first:end], values[first:end], end >= len(ids))
            flags, tail = 0, pack_long(start) + pack_int(self.postfile.tell() - start)
        # What W3TermInfo.to_bytes writes. Lengths are left out: Whoosh uses them only to
        # bound scores when skipping blocks, and 0 keeps that bound safe (if looser).
        info = _TERM_INFO.pack(flags, sum(weights), len(ids), 0, 0, max(weights), ids[0], ids[-1])
        self.table.add(self.prefix + term, info + tail)

    def _write_block(self, ids: list[int], weights: list[int], values: list[bytes], last: bool) -> None:
        deltas = [ids[0]] + [b - a for a, b in zip(ids, ids[1:])]
        if weights.count(weights[0]) < len(weights):
            packed_weights = tuple(weights)
        else:
            packed_weights = None if weights[0] == 1 else float(weights[0])  # the reader wants a float here
        data = pickle.dumps((tuple(deltas), packed_weights, tuple(values)), _PICKLE_PROTOCOL)
        level = 3 if len(data) >= _MIN_COMPRESSED_BYTES else 0
        if level:
            data = zlib.compress(data, level)
        # count, last id, max weight, compression, min and max length
        info = pickle.dumps((len(ids), ids[-1], max(weights), level, 0, 0), _PICKLE_PROTOCOL)
        size = len(info) + len(data)
        self.postfile.write_int(-size if last else size)
        self.postfile.write(info)
        self.postfile.write(data)

    def close(self) -> None:
        self.table.close()
        self.postfile.close()


def _read_postings(postfile, info, wanted: list[int] | None = None) -> tuple[list[int], list, list[bytes]]:
    """A term's (docnums, weights, values), read back from the W3 format `_TermsWriter` writes.

    With `wanted` (sorted docnums), blocks that cannot hold any of them are
    skipped unread: each block's header names its last docnum.
    """
    if info.is_inlined():
        ids, weights, values = info.inlined_postings()
        return list(ids), list(weights), list(values)
    offset, _length = info.extent()  # (whoosh-reloaded reads this length back as a tuple: unused)
    postfile.seek(offset)
    if postfile.read(4) != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"not a posting list at offset {offset}")
    ids, weights, values = [], [], []
    previous_last, next_wanted = -1, 0
    while True:
        size = postfile.read_int()
        start = postfile.tell()
        count, last, _max_weight, level, _min_length, _max_length = postfile.read_pickle()
        data_size = abs(size) - (postfile.tell() - start)
        if wanted is not None:
            next_wanted = bisect_right(wanted, previous_last, next_wanted)
            if next_wanted == len(wanted):
                break
        if wanted is None or wanted[next_wanted] <= last:
            data = postfile.read(data_size)
            deltas, block_weights, block_values = pickle.loads(zlib.decompress(data) if level else data)
            ids += accumulate(deltas)
            weights += block_weights if isinstance(block_weights, tuple) else [block_weights or 1] * count
            values += block_values
        else:
            postfile.seek(data_size, 1)
        previous_last = last
        if size < 0:
            break
    return ids, weights, values


def _build_segment(index_dir: str, rows: Sequence[IndexRow]):
    """One uncommitted segment holding `rows`; runs in a worker process for large batches."""
    builder = _SegmentBuilder(FileStorage(index_dir))
    for row in rows:
        builder.add(row)
    return builder.finish()


def _numeric_column(reader: SegmentReader, name: str) -> list[int]:
    """A whole NumericColumn, read in one go: Whoosh's reader unpacks one value per call,
    ~2 µs each, which made opening a 100,000-article index take half a second."""
    column = reader.column_reader(name, translate=False)
    documents = reader.doc_count_all()
    found = column._count if isinstance(column, NumericColumn.Reader) else 0
    # Whoosh leaves out trailing default values (0), and with them a column of zeros (dates
    # before 1970); an article id is never 0, so a short id column is damage, which Whoosh
    # itself would answer with 0 for every document past its end.
    if name == "id" and found != documents:
        raise ValueError(f"the id column of segment {reader.segment().segment_id()} holds {found} values "
                         f"for {documents} documents")  # fmt: skip
    if not found:
        return [0] * documents
    size = column._count * column._fixedlen  # (the column reader's own fields)
    values = array(column._typecode, column._dbfile.get(column._basepos, size))
    if sys.byteorder == "little":  # stored big-endian
        values.byteswap()
    return values.tolist() + [column._default] * (documents - found)


def _length_bytes(reader: SegmentReader, field: str) -> bytes:
    """Every document's length of `field`, one byte each as Whoosh codes it (`byte_to_length`),
    read in one go: asking Whoosh's reader a document at a time costs ~2 µs each."""
    documents = reader.doc_count_all()
    perdoc = reader._perdoc  # (the segment's per-document reader)
    name = f"_{field}_len"  # (whoosh3._lenfield)
    if not perdoc.has_column(name):
        return bytes(documents)
    column = perdoc.column_reader(name, LENGTHS_COLUMN)
    found = column._count if isinstance(column, NumericColumn.Reader) else 0
    return column._dbfile.get(column._basepos, found)[:documents].ljust(documents, b"\0") if found else bytes(documents)


def _decode_positions(value: bytes) -> list[int]:
    """Positions from a Whoosh `Positions` value (a count, then pickled deltas)."""
    return list(accumulate(pickle.loads(value[4:])))


