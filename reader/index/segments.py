"""The segment writer and reader: each segment's terms and postings in a format of our own, beside Whoosh's files.

THE ONE MODULE ON FILE FORMATS. Whoosh keeps the table of contents, the
segments' per-document columns (ids, dates, field lengths) and deletions; the
terms and postings are ours, in the segment's `.pst` file (its `.trm` is an
empty Whoosh term table, so that Whoosh still opens the segment). A
differential test against Whoosh's own writer and searcher guards both. Never
decides what to index or when: it writes what it is given.

Why our own: Whoosh's writer is too slow (the target is 1,000 articles/s on two cores), its
pickled postings cost ~4 KB an article, and decoding them costs ~3 µs a
posting, which put a search for `the` by relevance at 0.4 s. Here a term's
docnums and frequencies are two packed arrays read in one go (numpy), and its
positions sit apart, in blocks of about `BLOCK_POSITIONS` positions (at most
`BLOCK` postings), read only for phrases and only where a candidate is: large
enough that a phrase checked in every title decodes a few blocks, small
enough that checking one candidate decodes little.

The `.pst` file: `MAGIC`, the posting records, the term dictionary (blocks of
`TERMS_PER_BLOCK` sorted terms, each a zlib-compressed pickle of the terms,
their document frequencies and their records' lengths; for the SHARED field,
also the records' own document frequencies), the directory (per field: each
block's first term and offsets; and one bit per document: whether its SHARED
field is its LENDER field, whose postings then stand for it), and a footer
locating it.
A posting record: a flags byte, the doc part (docnum deltas, then
frequencies unless all are 1; zlib-compressed when large) with its length,
then the position blocks: each a code byte and the position deltas of its
postings (each posting's first from 0), with a table of the blocks' ends when
there is more than one (their count, ends and first postings). The zlib streams
are written with ISA-L (`isal`, ~3x faster than the standard library's zlib, as
small) and read with `zlib`.
"""

from __future__ import annotations

import mmap
import os
import pickle
import struct
import sys
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from itertools import accumulate

import numpy as np
from isal.isal_zlib import compress as _compress
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3PerDocWriter
from whoosh.columns import NumericColumn
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.reading import SegmentReader
from whoosh.util.numeric import _length_byte_cache

from ..models import IndexRow  # (not `..store`: an index worker need not load the store)
from .analysis import ANALYSED_FIELDS, SCHEMA, Numbering, _minutes, field_parts
from .errors import WrongWhoosh
from .files import INDEXNAME

# The release whose files this module writes and reads; pyproject.toml pins the same.
WHOOSH_RELEASE = "2.7.5"


@cache
def check_whoosh_release() -> None:
    """Refuse to open the index under any other whoosh-reloaded: a change in its file
    format would make what this module writes unreadable, or wrong, without a word."""
    from importlib.metadata import PackageNotFoundError, version  # (here: an index worker never asks)

    try:
        installed = version("whoosh-reloaded")
    except PackageNotFoundError:
        installed = "not installed"
    if installed != WHOOSH_RELEASE:
        raise WrongWhoosh(
            f"the search index needs whoosh-reloaded {WHOOSH_RELEASE} exactly (found: {installed}), because the "
            f"reader writes its files itself; reinstall it with: pip install whoosh-reloaded=={WHOOSH_RELEASE}"
        )


MAGIC = b"RDX2"
# The summary of most articles (81 % of real feeds') is their text: such a document's summary
# postings are not written, but read from the text's (`_JoinedPostings`); the summary's term
# dictionary still holds every term with its whole document frequency.
SHARED, LENDER = "summary", "text"
BLOCK = 1024  # postings per position block at most
BLOCK_POSITIONS = 2048  # positions per block, about: a word frequent in each document has fewer postings a block
TERMS_PER_BLOCK = 64  # terms per dictionary block
_GROUP_VALUES = 200_000  # positions of small records put together at a time
_KEY_LIMIT = 2**62  # a field's (term, docnum, position) sort key is one int64 below this; else three keys
_FOOTER = struct.Struct("<QI4s")  # the directory's offset and length, MAGIC
_COMPRESS_FROM = 128  # bytes: a smaller part is stored as it is (compressing it saves ~1%, costs a call)
_ZLIB_LEVEL = 1  # ISA-L's levels (0-3): a zlib stream as small as zlib's level 6, made ~3x faster
_ALL_ONES = 3  # the frequencies' code when every one is 1 (and none are stored)
_DTYPES = (np.dtype("<u1"), np.dtype("<u2"), np.dtype("<u4"))  # unsigned 1, 2 and 4 bytes, by code
assert array("I").itemsize == 4
_BIG_ENDIAN = sys.byteorder == "big"
_BYTE_LENGTHS = np.array(_length_byte_cache, dtype=np.int64)  # a length byte -> its length, as Whoosh reads it


def _pack(values: np.ndarray) -> tuple[int, bytes]:
    """(code, bytes) of non-negative ints, in the narrowest of 1, 2 or 4 bytes each (little-endian)."""
    top = int(values.max())
    code = 0 if top < 256 else 1 if top < 65536 else 2
    return code, values.astype(_DTYPES[code]).tobytes()


def _squeeze(raw: bytes) -> tuple[bool, bytes]:
    """(compressed?, bytes): zlib when that saves something."""
    if len(raw) >= _COMPRESS_FROM:
        packed = _compress(raw, _ZLIB_LEVEL)
        if len(packed) < len(raw):
            return True, packed
    return False, raw


# Fields whose values recur from article to article (a feed's name, its authors, tags): each
# value is analysed once a segment.
_RECURRING = frozenset(("feed", "group", "author", "tags"))


def _row_fields(row: IndexRow) -> dict[str, str | Sequence[str]]:
    return {
        "title": row.title, "text": row.text, "summary": row.summary, "feed": row.feed_title,
        "group": row.group, "author": row.author, "tags": row.categories, "link": row.link,
    }  # fmt: skip


class _FieldTokens:
    """One field's terms as added, in arrays of 4-byte ints (no Python object per position, which
    the garbage collector would walk again and again): the term id of each position, the parts
    (a field value, or one tag) one after another, and the extra terms (acronyms, a CJK run's
    last character) with their documents and positions."""

    __slots__ = ("ids", "part_docs", "part_starts", "part_sizes", "extra_ids", "extra_docs", "extra_positions")

    def __init__(self):
        self.ids = array("I")
        self.part_docs, self.part_starts, self.part_sizes = array("I"), array("I"), array("I")
        self.extra_ids, self.extra_docs, self.extra_positions = array("I"), array("I"), array("I")

    def positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term ids, docnums, positions) of every term added, in 4-byte ints (a field's positions are many)."""
        sizes = _uint32(self.part_sizes)
        offsets = (np.cumsum(sizes, dtype=np.int64) - sizes - _uint32(self.part_starts)).astype(np.int32)
        positions = np.arange(len(self.ids), dtype=np.int32)
        positions -= np.repeat(offsets, sizes)  # each part's (index of its first term) - (position of it)
        return (np.concatenate([_uint32(self.ids), _uint32(self.extra_ids)]),
                np.concatenate([np.repeat(_uint32(self.part_docs), sizes), _uint32(self.extra_docs)]),
                np.concatenate([positions, _uint32(self.extra_positions).astype(np.int32)]))  # fmt: skip


def _joined(parts: list[np.ndarray], order: list[int]) -> np.ndarray:
    """The parts (int32 arrays) one after another in `order`, each let go once copied."""
    joined = np.empty(sum(map(len, parts)), dtype=np.int32)
    at = 0
    for k in order:
        part = parts[k]
        parts[k] = None
        joined[at : at + len(part)] = part
        at += len(part)
    return joined


def _write_column(perdoc: W3PerDocWriter, name: str, column: NumericColumn, values: np.ndarray) -> None:
    """A NumericColumn of every document's value, as its writer leaves it: the values big-endian,
    up to the last that is not the column's default (the writer skips defaults, fills gaps)."""
    perdoc._create_column(name, column)
    writer = perdoc._colwriters[name]  # (the per-document writer's own fields)
    count = int(np.flatnonzero(values != column._default)[-1]) + 1 if (values != column._default).any() else 0
    writer._dbfile.write(values[:count].astype(np.dtype(column._typecode).newbyteorder(">")).tobytes())
    writer._count = count


def _uint32(values: array) -> np.ndarray:
    return np.frombuffer(values, np.uint32) if len(values) else np.zeros(0, dtype=np.uint32)


class _SegmentBuilder:
    """Writes articles straight into one new segment.

    Built of rows (`add`) or of segments being merged (`add_segment`), not both.
    Each term is given an id once per segment; a field's positions are kept as
    term ids (`_FieldTokens`). At the end each field's postings are sorted in one
    go (numpy: by term, document and position) and written in bulk; postings
    copied from segments are joined term by term. The segment is returned
    uncommitted: the caller adds it to the index.
    """

    def __init__(self, storage: FileStorage):
        codec = W3Codec()
        self.storage = storage
        self.segment = codec.new_segment(storage, INDEXNAME)
        self.perdoc = codec.per_document_writer(storage, self.segment)
        self.numbering = Numbering()  # term ids
        self.tokens = {name: _FieldTokens() for name in ANALYSED_FIELDS}
        # Per field: postings copied from other segments, as (term ids, docnums, frequencies, position deltas).
        self.copied: dict[str, tuple[list[int], list[np.ndarray], list[np.ndarray], list[np.ndarray]]] = {
            name: ([], [], [], []) for name in ANALYSED_FIELDS
        }
        # The value analysed last and its parts: two fields of an article are sometimes the same.
        self._last: tuple[object, list] = (None, [])
        self._recurring: dict[object, list] = {}  # the parts of each value of a _RECURRING field
        self.shared: list[int] = []  # docnums whose SHARED field is their LENDER field
        # Per document: each field's length, the id and the date, written as Whoosh's columns at the end.
        self.lengths = {name: array("I") for name in ANALYSED_FIELDS}
        self.ids, self.dates = array("Q"), array("I")
        self.docnum = 0

    def add(self, row: IndexRow) -> None:
        fields = _row_fields(row)
        lengths = self.lengths
        for name, value in fields.items():
            if name == SHARED and value and value == fields[LENDER]:  # its postings are the lender's
                self.shared.append(self.docnum)
                lengths[name].append(lengths[LENDER][-1])
            else:
                lengths[name].append(self._add_analysed(name, value))
        self.ids.append(row.id)
        self.dates.append(_minutes(row.date))
        self.docnum += 1

    def _add_analysed(self, name: str, value: str | Sequence[str]) -> int:
        """Add the terms of one field of the current document; returns the field's length."""
        last_value, parts = self._last
        if value != last_value:
            if name in _RECURRING:
                parts = self._recurring.get(value)
                if parts is None:
                    parts = self._recurring[value] = field_parts(value, self.numbering)
            else:
                parts = field_parts(value, self.numbering)
            self._last = (value, parts)
        docnum, tokens = self.docnum, self.tokens[name]
        length = 0
        for start, ids, extras in parts:
            if ids:
                tokens.ids.extend(ids)
                tokens.part_docs.append(docnum)
                tokens.part_starts.append(start)
                tokens.part_sizes.append(len(ids))
            for position, term in extras:
                tokens.extra_ids.append(term)
                tokens.extra_docs.append(docnum)
                tokens.extra_positions.append(position)
            length += len(ids) + len(extras)
        return length

    def add_segment(self, reader: SegmentReader) -> None:
        """Copy the live documents of an existing segment (for merging), postings term by term."""
        source = SegmentPostings(self.storage, reader.segment())
        try:
            docmap = np.array(self._copy_documents(reader, source.shared), dtype=np.int64)
            for field, term, postings in source.everything(joined=False):
                docs = docmap[postings.docs]
                deltas = postings.all_deltas()
                kept = docs >= 0
                if not kept.all():
                    if not kept.any():
                        continue
                    deltas = deltas[np.repeat(kept, postings.tfs)]
                    docs, tfs = docs[kept], postings.tfs[kept]
                else:
                    tfs = postings.tfs
                copied = (self.numbering.number(term), docs.astype(np.int32), tfs.astype(np.int32),
                          deltas.astype(np.int32))  # (4-byte ints: a merge holds whole segments' postings)
                for part, values in zip(self.copied[field], copied):
                    part.append(values)
        finally:
            source.close()

    def _copy_documents(self, reader: SegmentReader, shared: np.ndarray) -> list[int]:
        """Per-document data (field lengths, id, date, whether SHARED is LENDER) of the live documents;
        old -> new docnum, -1 if deleted."""
        documents = reader.doc_count_all()
        live = [old for old in range(documents) if not reader.is_deleted(old)]
        for name in ANALYSED_FIELDS:  # (each length as Whoosh reads it back: its byte's length)
            codes = np.frombuffer(_length_bytes(reader, name), dtype=np.uint8)[live]
            self.lengths[name].extend(_BYTE_LENGTHS[codes].tolist())
        for name, values in (("id", self.ids), ("date", self.dates)):
            column = _numeric_column(reader, name)
            values.extend([column[old] for old in live])
        docmap = [-1] * documents
        for old in live:
            if shared[old]:
                self.shared.append(self.docnum)
            docmap[old] = self.docnum
            self.docnum += 1
        return docmap

    def _write_columns(self) -> None:
        """Every document's field lengths, id and date, written in bulk as Whoosh's per-document
        writer would write them one value a call (the same files, byte for byte)."""
        perdoc = self.perdoc
        perdoc._doccount = self.docnum  # (the writer's own fields: its documents, fields' total lengths)
        for name in ANALYSED_FIELDS:
            lengths = _uint32(self.lengths[name])
            if lengths.any():  # Whoosh makes a length column at the first document with a length
                perdoc._fieldlengths[name] += int(lengths.sum(dtype=np.int64))
                codes = np.minimum(np.searchsorted(_BYTE_LENGTHS, lengths), 255)  # `length_to_byte`
                _write_column(perdoc, f"_{name}_len", LENGTHS_COLUMN, codes)
        if self.docnum:
            _write_column(perdoc, "id", SCHEMA["id"].column_type, np.frombuffer(self.ids, np.uint64))
            _write_column(perdoc, "date", SCHEMA["date"].column_type, _uint32(self.dates))

    def finish(self):
        """Write the terms and postings; returns the (uncommitted) segment."""
        self._write_columns()
        self.perdoc.close()
        terms = self.numbering.terms
        order = sorted(range(len(terms)), key=terms.__getitem__)
        ranks = np.empty(len(order), dtype=np.int64)
        ranks[order] = np.arange(len(order), dtype=np.int64)
        sorted_terms = [terms[i] for i in order]
        shared = np.zeros(self.docnum, dtype=bool)
        shared[self.shared] = True
        lent = None  # (ranks, counts): the LENDER's terms in documents sharing it, how many documents each
        writer = _PostingsWriter(self.storage, self.segment)
        for name in ANALYSED_FIELDS:
            found = self._postings(name, ranks, sorted_terms)
            if name == LENDER and found and self.shared:
                term_ranks, dfs, docs = found[:3]
                counts = np.add.reduceat(shared[docs].astype(np.int64), np.cumsum(dfs) - dfs)
                lent = term_ranks[counts > 0], counts[counts > 0]
            if found or (name == SHARED and lent is not None):
                writer.add_field(name, sorted_terms, *(found or _NO_POSTINGS), lent=lent if name == SHARED else None)
        writer.close(shared)
        self.segment.set_doc_count(self.docnum)
        # The size of each file, kept in the table of contents with the segment, so that a
        # file cut short or gone is noticed when the index is opened (`repair.file_problem`).
        prefix = self.segment.segment_id() + "."
        self.segment.file_sizes = {
            name: self.storage.file_length(name) for name in self.storage.list() if name.startswith(prefix)
        }
        return self.segment

    def _copied_postings(self, name: str, ranks: np.ndarray, sorted_terms: list[bytes]):
        """`_postings` of a field whose every posting was copied (a merge): each term's parts joined
        in the order copied, which is their docnums' (no positions taken apart, no sort of them)."""
        ids, docs, tfs, deltas = self.copied[name]
        self.copied[name] = ([], [], [], [])
        part_ranks = ranks[np.array(ids, dtype=np.int64)]
        order = np.argsort(part_ranks, kind="stable")
        sizes = np.array([len(part) for part in docs], dtype=np.int64)[order]
        part_ranks = part_ranks[order]
        term_parts = np.flatnonzero(np.diff(part_ranks, prepend=-1))
        order = order.tolist()
        return (part_ranks[term_parts], np.add.reduceat(sizes, term_parts), _joined(docs, order), _joined(tfs, order),
                _joined(deltas, order))  # fmt: skip

    def _postings(self, name: str, ranks: np.ndarray, sorted_terms: list[bytes]):
        """(term ranks, document frequencies, docnums, frequencies, position deltas) of field `name`, by
        term (None if it has no terms); `ranks` gives each term id's place in `sorted_terms`.

        Each position gets one int64 key (term, docnum, position), sorted in place, then taken
        apart; the arrays are dropped as soon as used (a segment's text has millions of positions).
        """
        tokens = self.tokens[name]
        self.tokens[name] = _FieldTokens()
        if self.copied[name][0]:
            assert not len(tokens.ids) and not len(tokens.extra_ids), "a segment is built of rows or of segments"
            return self._copied_postings(name, ranks, sorted_terms)
        ids, docs, positions = tokens.positions()
        del tokens
        if not len(ids):
            return None
        span = int(docs.max()) + 1
        reach = int(positions.max()) + 1
        if len(ranks) * span * reach < _KEY_LIMIT:
            key = ranks[ids]
            del ids
            key *= span
            key += docs
            del docs
            key *= reach
            key += positions
            key.sort()
            np.remainder(key, reach, out=positions, casting="unsafe")
            key //= reach  # now (rank * span + docnum) of each position
        else:  # too wide for one key: three
            order = np.lexsort((positions, docs, ranks[ids]))
            key = ranks[ids[order]] * span + docs[order]
            positions = positions[order]
            del ids, docs, order
        count = len(positions)
        change = np.empty(count, dtype=bool)
        change[0] = True
        np.not_equal(key[1:], key[:-1], out=change[1:])
        starts = np.flatnonzero(change)  # each posting's first position
        del change
        term_docs = key[starts]
        del key
        posting_ranks, docs = np.empty(len(starts), dtype=np.int64), np.empty(len(starts), dtype=np.int32)
        np.divmod(term_docs, span, out=(posting_ranks, docs), casting="unsafe")
        del term_docs
        tfs = np.diff(starts, append=count).astype(np.int32)
        deltas = np.empty_like(positions)
        deltas[0] = positions[0]
        np.subtract(positions[1:], positions[:-1], out=deltas[1:])
        deltas[starts] = positions[starts]
        del positions, starts
        term_starts = np.flatnonzero(np.diff(posting_ranks, prepend=-1))
        dfs = np.diff(term_starts, append=len(posting_ranks))
        return posting_ranks[term_starts], dfs, docs, tfs, deltas


_WIDTHS = np.array([1, 2, 4, 0], dtype=np.int64)  # bytes per value, by code (_ALL_ONES: none)
_NO_POSTINGS = (np.zeros(0, dtype=np.int64),) * 2 + (np.zeros(0, dtype=np.int32),) * 3


def _codes(tops: np.ndarray) -> np.ndarray:
    """The code (`_DTYPES`) of the narrowest width holding each of `tops`."""
    return (tops >= 256).astype(np.int64) + (tops >= 65536)


def _record(doc_deltas: np.ndarray, tfs: np.ndarray, deltas: np.ndarray, doc_code: int, tf_code: int,
            position_code: int) -> bytes:  # fmt: skip
    """One term's posting record (see the module docstring) from its docnum deltas, frequencies and
    position deltas, with the codes of their widths (the positions' for all of them)."""
    packed = doc_deltas.astype(_DTYPES[doc_code]).tobytes()
    if tf_code != _ALL_ONES:
        packed += tfs.astype(_DTYPES[tf_code]).tobytes()
    compressed, doc_part = _squeeze(packed)
    count = len(tfs)
    if count <= BLOCK and len(deltas) - tfs[-1] < BLOCK_POSITIONS:  # one block
        squeezed, data = _squeeze(deltas.astype(_DTYPES[position_code]).tobytes())
        blocks, firsts = [bytes((position_code | squeezed << 2,)) + data], [0]
    else:
        blocks, firsts = [], []
        ends = np.cumsum(tfs).tolist()
        first = start = 0
        while first < count:  # BLOCK postings, fewer if they hold more than BLOCK_POSITIONS positions
            after = min(first + BLOCK, bisect_left(ends, start + BLOCK_POSITIONS, first) + 1, count)
            end = ends[after - 1]
            code, packed = _pack(deltas[start:end])
            squeezed, data = _squeeze(packed)
            blocks.append(bytes((code | squeezed << 2,)) + data)
            firsts.append(first)
            first, start = after, end
    several = len(blocks) > 1
    flags = doc_code | tf_code << 2 | compressed << 4 | several << 5
    size = len(doc_part)
    head = bytes((flags, size)) if size < 255 else bytes((flags, 255)) + struct.pack("<I", size)
    table = b""
    if several:  # how many blocks; where each ends; the first posting of each
        table = array("I", [len(blocks), *accumulate(map(len, blocks)), *firsts])
        if _BIG_ENDIAN:
            table.byteswap()
        table = table.tobytes()
    return head + doc_part + table + b"".join(blocks)


def _put(out: np.ndarray, at: np.ndarray, values: np.ndarray, widths: np.ndarray) -> None:
    """Write each of `values` little-endian at `out[at]` in its width (1, 2 or 4 bytes)."""
    for k in range(4):
        if k:
            wide = widths > k
            if not wide.any():
                return
            at, values, widths = at[wide], values[wide], widths[wide]
        out[at + k] = values >> 8 * k & 255


def _runs(terms: np.ndarray, firsts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the values of the given terms (term k's are at `firsts[k]`, `counts[k]` of them): each
    value's term, its place among its term's values, and its index."""
    lengths = counts[terms]
    owner = np.repeat(terms, lengths)
    within = np.arange(len(owner)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return owner, within, firsts[owner] + within


class _PostingsWriter:
    """The `.pst` file of one segment (see the module docstring), and an empty Whoosh term table."""

    def __init__(self, storage: FileStorage, segment):
        table = OrderedHashWriter(segment.create_file(storage, W3Codec.TERMS_EXT))
        table.extras["fieldmap"] = {}
        table.close()
        self.file = segment.create_file(storage, W3Codec.POSTS_EXT)
        self.position = 0
        self._write(MAGIC)
        self.directory: dict[str, tuple[list[bytes], list[int], list[int]]] = {}

    def add_field(self, field: str, sorted_terms: list[bytes], ranks: np.ndarray, dfs: np.ndarray, docs: np.ndarray,
                  tfs: np.ndarray, deltas: np.ndarray, lent: tuple[np.ndarray, np.ndarray] | None = None) -> None:  # fmt: skip
        """Every term of a field (its rank in `sorted_terms`), in order, with their postings one term
        after another: document frequencies, sorted docnums, frequencies and position deltas (each
        posting's first from 0). For the SHARED field, `lent` is the LENDER's terms (ranks) in the
        documents that share it, and how many of those documents each is in: they count in the
        dictionary's document frequencies, which also keeps the postings' own.
        """
        sizes, records = self._records(dfs, docs, tfs, deltas) if len(dfs) else (np.zeros(0, np.int64), b"")
        own = None
        if lent is not None:
            lent_ranks, counts = lent
            present = np.zeros(len(sorted_terms), dtype=bool)  # (not np.union1d: it loads numpy.ma, ~60 ms)
            present[ranks] = present[lent_ranks] = True
            every = np.flatnonzero(present)
            at = np.searchsorted(every, ranks)
            own = np.zeros(len(every), dtype=np.int64)
            own[at] = dfs
            dfs = own.copy()
            dfs[np.searchsorted(every, lent_ranks)] += counts
            every_size = np.zeros(len(every), dtype=np.int64)
            every_size[at] = sizes
            ranks, sizes, own = every, every_size, own.tolist()
        terms = list(map(sorted_terms.__getitem__, ranks.tolist()))
        starts = np.cumsum(sizes) - sizes
        self._write_blocks(field, terms, dfs.tolist(), sizes.tolist(), starts.tolist(), memoryview(records), own)

    def _records(self, dfs: np.ndarray, docs: np.ndarray, tfs: np.ndarray, deltas: np.ndarray):
        """(each term's record size, the records one after another) of a field's terms, as `add_field` has them.

        The records of most terms (a few postings, nothing to compress, one position block) are
        put together in bulk with numpy; the others one by one (`_record`).
        """
        firsts = np.cumsum(dfs) - dfs  # each term's first posting
        counts = np.add.reduceat(tfs, firsts)  # each term's positions
        position_firsts = np.cumsum(counts) - counts
        doc_deltas = np.diff(docs, prepend=0)
        doc_deltas[firsts] = docs[firsts]
        doc_codes = _codes(np.maximum.reduceat(doc_deltas, firsts))
        top_tfs = np.maximum.reduceat(tfs, firsts)
        tf_codes = np.where(top_tfs == 1, _ALL_ONES, _codes(top_tfs))
        position_codes = _codes(np.maximum.reduceat(deltas, position_firsts))
        doc_sizes = dfs * (_WIDTHS[doc_codes] + _WIDTHS[tf_codes])
        position_sizes = counts * _WIDTHS[position_codes]
        # Under _COMPRESS_FROM bytes each, the parts are stored as they are, in one block: a flags
        # byte, the doc part's size, the doc part, the block's code byte, the positions.
        simple = (doc_sizes < min(_COMPRESS_FROM, 255)) & (position_sizes < _COMPRESS_FROM)  # (a size byte)
        sizes = 3 + doc_sizes + position_sizes
        others = np.flatnonzero(~simple).tolist()
        records = []
        for k, a, b, c, d, doc_code, tf_code, position_code in zip(
            others, firsts[others].tolist(), (firsts + dfs)[others].tolist(), position_firsts[others].tolist(),
            (position_firsts + counts)[others].tolist(), doc_codes[others].tolist(), tf_codes[others].tolist(),
            position_codes[others].tolist(),
        ):  # fmt: skip
            records.append(_record(doc_deltas[a:b], tfs[a:b], deltas[c:d], doc_code, tf_code, position_code))
            sizes[k] = len(records[-1])
        ends = np.cumsum(sizes)
        starts = ends - sizes
        out = np.zeros(int(ends[-1]), dtype=np.uint8)
        ones = np.flatnonzero(simple)
        at = starts[ones]
        out[at] = doc_codes[ones] | tf_codes[ones] << 2
        out[at + 1] = doc_sizes[ones]
        out[at + 2 + doc_sizes[ones]] = position_codes[ones]
        # The doc parts and positions of those records, value by value (about _GROUP_VALUES
        # positions at a time: the arrays for a whole segment's text would be large).
        totals = np.cumsum(counts[ones])
        bounds = np.searchsorted(totals, np.arange(_GROUP_VALUES, int(totals[-1]) if len(totals) else 0, _GROUP_VALUES))
        for group in np.split(ones, bounds):
            owner, within, source = _runs(group, firsts, dfs)
            doc_widths, tf_widths = _WIDTHS[doc_codes[owner]], _WIDTHS[tf_codes[owner]]
            _put(out, starts[owner] + 2 + within * doc_widths, doc_deltas[source], doc_widths)
            has_tfs = tf_widths > 0
            at = starts[owner] + 2 + dfs[owner] * doc_widths + within * tf_widths
            _put(out, at[has_tfs], tfs[source[has_tfs]], tf_widths[has_tfs])
            owner, within, source = _runs(group, position_firsts, counts)
            widths = _WIDTHS[position_codes[owner]]
            _put(out, starts[owner] + 3 + doc_sizes[owner] + within * widths, deltas[source], widths)
        for k, record in zip(others, records):
            out[starts[k] : ends[k]] = np.frombuffer(record, dtype=np.uint8)
        return sizes, out

    def _write_blocks(self, field: str, terms: list[bytes], dfs: list[int], sizes: list[int], starts: list[int],
                      records: memoryview, own: list[int] | None) -> None:  # fmt: skip
        """The records by TERMS_PER_BLOCK terms, each group followed by its dictionary block (with the
        postings' own document frequencies where they differ: `own`)."""
        firsts, offsets, bases = self.directory[field] = ([], [], [])
        for k in range(0, len(terms), TERMS_PER_BLOCK):
            block = slice(k, k + TERMS_PER_BLOCK)
            last = min(k + TERMS_PER_BLOCK, len(terms)) - 1
            bases.append(self.position)
            self._write(records[starts[k] : starts[last] + sizes[last]])
            offsets.append(self.position)
            entries = (tuple(terms[block]), tuple(dfs[block]), tuple(sizes[block]))
            if own is not None:
                entries += (tuple(own[block]),)
            self._write(_compress(pickle.dumps(entries, 5), _ZLIB_LEVEL))
            offsets.append(self.position)
            firsts.append(terms[k])

    def _write(self, data: bytes | memoryview) -> None:
        self.file.write(data)
        self.position += len(data)

    def close(self, shared: np.ndarray) -> None:
        """Write the directory, with which documents share the SHARED field (`shared`, one bool each)."""
        offset = self.position
        directory = _compress(pickle.dumps((self.directory, len(shared), np.packbits(shared).tobytes()), 5),
                              _ZLIB_LEVEL)  # fmt: skip
        self._write(directory)
        self._write(_FOOTER.pack(offset, len(directory), MAGIC))
        self.file.close()


class Postings:
    """One term's postings in one field of a segment: docnums and frequencies (arrays), positions on demand."""

    def __init__(self, data: mmap.mmap | bytes, start: int, end: int, df: int):
        """The record at data[start:end]; only its doc part is read now."""
        flags, size = data[start], data[start + 1]
        at = start + 2
        if size == 255:
            (size,) = struct.unpack_from("<I", data, at)
            at += 4
        doc_part = data[at : at + size]
        if flags & 16:
            doc_part = zlib.decompress(doc_part)
        doc_type = _DTYPES[flags & 3]
        self.docs = np.cumsum(np.frombuffer(doc_part, doc_type, df), dtype=np.int64)
        tf_code = flags >> 2 & 3
        if tf_code == _ALL_ONES:
            self.tfs = np.ones(df, dtype=np.int64)
        else:
            self.tfs = np.frombuffer(doc_part, _DTYPES[tf_code], df, df * doc_type.itemsize).astype(np.int64)
        self._data = data
        at += size
        if flags & 32:
            (blocks,) = struct.unpack_from("<I", data, at)
            table = np.frombuffer(data, "<u4", 2 * blocks, at + 4).astype(np.int64)
            self._ends, self._firsts = table[:blocks].tolist(), table[blocks:]
            self._blocks_at = at + 4 + 8 * blocks
        else:
            self._blocks_at = at
            self._ends, self._firsts = [end - at], np.zeros(1, dtype=np.int64)

    def _block_deltas(self, block: int) -> np.ndarray:
        start = self._blocks_at + (self._ends[block - 1] if block else 0)
        end = self._blocks_at + self._ends[block]
        code = self._data[start]
        data = self._data[start + 1 : end]
        if code & 4:
            data = zlib.decompress(data)
        return np.frombuffer(data, _DTYPES[code & 3]).astype(np.int64)

    def all_deltas(self) -> np.ndarray:
        """Every posting's position deltas, in order (each posting's first from 0)."""
        return np.concatenate([self._block_deltas(b) for b in range(len(self._ends))])

    def positions(self, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(docnum, position) of every position of the postings at indexes `which` (sorted),
        decoding only the blocks that hold them."""
        blocks = sorted(set((np.searchsorted(self._firsts, which, "right") - 1).tolist()))
        deltas = np.concatenate([self._block_deltas(b) for b in blocks])
        count = len(self.docs)
        bounds = [*self._firsts.tolist(), count]
        postings = np.concatenate([np.arange(bounds[b], bounds[b + 1]) for b in blocks])
        tfs = self.tfs[postings]
        totals = np.cumsum(deltas)
        firsts = np.cumsum(tfs) - tfs
        positions = totals - np.repeat(totals[firsts] - deltas[firsts], tfs)
        wanted = np.zeros(count, dtype=bool)
        wanted[which] = True
        kept = np.repeat(wanted[postings], tfs)
        return np.repeat(self.docs[postings], tfs)[kept], positions[kept]



class _JoinedPostings:
    """A term's postings in the SHARED field: its record's own (documents whose SHARED field is
    not their LENDER field) and the LENDER's in the documents where it is, as one `Postings`."""

    def __init__(self, own: Postings | None, lent: Postings, shared: np.ndarray):
        self._own, self._lent = own, lent
        self._kept = np.flatnonzero(shared[lent.docs])  # the lender's postings of sharing documents
        docs, tfs = lent.docs[self._kept], lent.tfs[self._kept]
        self._order = None  # joined -> (own's postings, then the lent ones kept), when there are own ones
        if own is not None:
            docs, tfs = np.concatenate([own.docs, docs]), np.concatenate([own.tfs, tfs])
            self._order = np.argsort(docs, kind="stable")
            docs, tfs = docs[self._order], tfs[self._order]
        self.docs, self.tfs = docs, tfs

    def positions(self, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As `Postings.positions`: (docnum, position) of every position of the postings at `which` (sorted)."""
        if self._order is None:
            return self._lent.positions(self._kept[which])
        parts = self._order[which]
        mine = len(self._own.docs)
        found = [self._own.positions(parts[parts < mine])] if (parts < mine).any() else []
        if (parts >= mine).any():
            found.append(self._lent.positions(self._kept[parts[parts >= mine] - mine]))
        if len(found) == 1:
            return found[0]
        docs, positions = np.concatenate([found[0][0], found[1][0]]), np.concatenate([found[0][1], found[1][1]])
        order = np.argsort(docs, kind="stable")
        return docs[order], positions[order]


class SegmentPostings:
    """The terms and postings of one segment, read from its `.pst` file (mapped into memory)."""

    def __init__(self, storage: FileStorage, segment):
        path = os.path.join(storage.folder, segment.make_filename(W3Codec.POSTS_EXT))
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        offset, length, magic = _FOOTER.unpack_from(self._map, len(self._map) - _FOOTER.size)
        if magic != MAGIC or self._map[:4] != MAGIC:
            raise ValueError(f"{path} is not a postings file of this index")
        directory, documents, shared = pickle.loads(zlib.decompress(self._map[offset : offset + length]))
        self._directory: dict[str, tuple[list[bytes], list[int], list[int]]] = directory
        # Per document: whether its SHARED field is its LENDER field (and its postings the lender's)
        self.shared = np.unpackbits(np.frombuffer(shared, dtype=np.uint8), count=documents).astype(bool)
        self._blocks: dict[tuple[str, int], tuple[tuple[bytes, ...], tuple[int, ...], list[int], tuple[int, ...]]] = {}

    def close(self) -> None:
        self._map.close()

    def _block(self, field: str, k: int) -> tuple[tuple[bytes, ...], tuple[int, ...], list[int], tuple[int, ...]]:
        """Dictionary block `k` of `field`: its terms, their document frequencies, their records' starts
        (and the end of the last), and the records' own document frequencies (less where lent)."""
        found = self._blocks.get((field, k))
        if found is None:
            _firsts, offsets, bases = self._directory[field]
            terms, dfs, lengths, *own = pickle.loads(zlib.decompress(self._map[offsets[2 * k] : offsets[2 * k + 1]]))
            if len(self._blocks) > 20_000:
                self._blocks.clear()
            starts = list(accumulate(lengths, initial=bases[k]))
            found = self._blocks[(field, k)] = (terms, dfs, starts, own[0] if own else dfs)
        return found

    def lookup(self, field: str, term: bytes) -> tuple | None:
        """Where a term's postings are, or None: (document frequency, record start, record end), and
        for a term of the SHARED field partly in the LENDER's postings, (its record's own document
        frequency, the term) too."""
        where = self._directory.get(field)
        if where is None:
            return None
        k = bisect_right(where[0], term) - 1
        if k < 0:
            return None
        terms, dfs, starts, own = self._block(field, k)
        j = bisect_left(terms, term)
        if j == len(terms) or terms[j] != term:
            return None
        if own[j] != dfs[j]:
            return dfs[j], starts[j], starts[j + 1], own[j], term
        return dfs[j], starts[j], starts[j + 1]

    def postings(self, entry: tuple, lent: Callable[[], Postings] | None = None) -> Postings | _JoinedPostings:
        """The postings of a term `lookup` found (`lent`: the LENDER's postings of a SHARED field's term,
        if the caller has them decoded already)."""
        if len(entry) == 3:
            df, start, end = entry
            return Postings(self._map, start, end, df)
        _df, start, end, own, term = entry
        lender = lent() if lent else self.postings(self.lookup(LENDER, term))
        return _JoinedPostings(Postings(self._map, start, end, own) if own else None, lender, self.shared)

    def terms(self, field: str, prefix: bytes = b"") -> Iterator[bytes]:
        """The terms of `field` (those starting with `prefix`), in order."""
        where = self._directory.get(field)
        if where is None:
            return
        firsts = where[0]
        for k in range(max(0, bisect_right(firsts, prefix) - 1), len(firsts)):
            if not firsts[k].startswith(prefix) and firsts[k] > prefix:
                return
            for term in self._block(field, k)[0]:
                if term.startswith(prefix):
                    yield term
                elif term > prefix:
                    return

    def fields(self) -> list[str]:
        return list(self._directory)

    def everything(self, *, joined: bool = True) -> Iterator[tuple[str, bytes, Postings | _JoinedPostings]]:
        """(field, term, postings) of every term, in order; without `joined`, the postings as their
        records hold them (the SHARED field's without the documents sharing the LENDER's)."""
        for field, (firsts, _offsets, _bases) in self._directory.items():
            for k in range(len(firsts)):
                terms, dfs, starts, own = self._block(field, k)
                for j, term in enumerate(terms):
                    if own[j] != dfs[j] and joined:
                        yield field, term, self.postings((dfs[j], starts[j], starts[j + 1], own[j], term))
                    elif own[j]:
                        yield field, term, Postings(self._map, starts[j], starts[j + 1], own[j])


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
