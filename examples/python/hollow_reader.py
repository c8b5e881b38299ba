#!/usr/bin/env python3
"""Read a Hollow store's blobs in Python, by docs/blob-format.md alone.

A self-contained example of a non-Rust reader: it needs only `pycapnp`
(Cap'n Proto) and `xxhash` (XXH3-64), plus `schemas/hollow.capnp`, and no
code of the Hollow project; `zstandard` too for a store holding blobs
compressed (`snapshot-7.zst`, a producer's default). Copy it and adapt it.

What it does, following docs/blob-format.md:

0. reads each blob from the store as stored: plain (`snapshot-7`), or
   compressed (`snapshot-7.zst`: one zstd frame declaring its plain size,
   with zstd's content checksum), decompressed in memory and refused by
   name if it is not one whole frame of its declared size (with no
   `zstandard` module, a `.zst` blob is refused saying so); when both
   files of a blob exist the compressed one is read, as the Rust stores
   do;
1. frames a blob: the 64-byte prefix (magic, format version, kind,
   versions, tags, header length), the trailer (XXH3-64 of everything
   before it, then the end magic), the header message and the section
   directory; checks the whole-file checksum and every section's checksum;
2. gets the dataset schema: either a `.capnp` file given with `--schema`,
   or the header's `DatasetSchema` turned into `.capnp` text here (the same
   text `hollow schema` prints), compiled in this process by pycapnp
   together with `hollow.capnp`; the layout the compiler gives is checked
   against the offsets the header declares;
3. reads snapshot sections (the `populated` bitmap, and `records` as a
   `List(Record)` indexed by ordinal) and delta / reverse delta sections
   (`removed`, `added`, and `records` holding the added records), and
   applies deltas to the state a snapshot gave; a record type may span
   several sections (format version 2: shards of consecutive ordinal
   ranges, element `i` of a snapshot shard being ordinal
   `firstOrdinal + i`);
4. recomputes each type's `stateChecksum` from the records' canonical bytes
   (Cap'n Proto canonical form, written here since pycapnp has no
   canonicalizer), after a snapshot and after each delta;
5. prints every record as JSON Lines in the form `hollow export` prints:
   `{"type": "Movie", "ordinal": 7, "record": {...}}`.

Usage:

    python hollow_reader.py STORE_DIR --version V [--type T]
        [--via snapshot|forward|reverse] [--schema FILE.capnp ...]
        [--import-path DIR] [--hollow-capnp FILE] [--no-state-checksums]
    python hollow_reader.py STORE_DIR --version V --print-schema
    python hollow_reader.py --check-blob FILE[.zst] [--hollow-capnp FILE]

`--via forward` starts from the newest snapshot at or below V and applies
deltas; `--via reverse` starts from the oldest snapshot at or above V and
applies reverse deltas; `--via snapshot` reads `snapshot-V` only. The
default is `snapshot` when `snapshot-V` exists, else `forward`.

Exit codes: 0 success, 2 a blob or the store is refused (the message on
stderr says which blob and why), 1 bad usage.
"""

import argparse
import base64
import json
import math
import os
import re
import struct
import sys
import tempfile

import capnp  # pycapnp
import xxhash

try:
    import zstandard  # only for blobs stored compressed (`.zst`)
except ImportError:  # pragma: no cover - reported when a `.zst` blob is read
    zstandard = None

# --------------------------------------------------------------------------
# Framing (docs/blob-format.md, "Layout", "Prefix", "Trailer").

MAGIC = b"HOLLOWRS"
END_MAGIC = b"HOLLOWEN"
# Version 1: one section per record type. Version 2: a type may have
# several (shards by ordinal range).
FORMAT_VERSIONS = (1, 2)
PREFIX_LEN = 64
TRAILER_LEN = 16
KINDS = {1: "snapshot", 2: "delta", 3: "reversedelta"}
# Member.parent of a member of the struct's unnamed union.
UNNAMED_UNION_PARENT = 0xFFFFFFFF


class BlobError(Exception):
    """A blob or a store this reader refuses; the message names the blob."""


def xxh3_64(data):
    """XXH3-64 with seed 0, the hash of every checksum of the format."""
    return xxhash.xxh3_64_intdigest(data, seed=0)


def traversal_limit(data):
    """A Cap'n Proto traversal limit large enough for a message of `data`
    (pycapnp's default, 8 Mi words, would refuse large sections)."""
    return max(8 * 1024 * 1024, len(data) // 8 * 4)


class Blob:
    """One blob, framed and checked: `prefix` fields as attributes, the
    `header` (a `BlobHeader` reader) and the raw bytes of each section."""

    def __init__(self, name, data, hollow):
        self.name = name
        self.data = data
        if len(data) < PREFIX_LEN + TRAILER_LEN or data[:8] != MAGIC:
            raise BlobError(f"{name}: not a Hollow blob (no HOLLOWRS magic)")
        (self.format_version, kind, self.from_version, self.to_version,
         self.from_tag, self.to_tag, header_len, reserved) = struct.unpack_from(
            "<IIQQQQQQ", data, 8)
        if self.format_version not in FORMAT_VERSIONS:
            raise BlobError(f"{name}: format version {self.format_version}; "
                            f"this reader knows versions 1 and 2")
        if data[-8:] != END_MAGIC:
            raise BlobError(f"{name}: truncated (no HOLLOWEN end magic)")
        (stored,) = struct.unpack_from("<Q", data, len(data) - TRAILER_LEN)
        actual = xxh3_64(data[:len(data) - TRAILER_LEN])
        if stored != actual:
            raise BlobError(f"{name}: whole-file checksum mismatch "
                            f"(trailer {stored:#018x}, bytes {actual:#018x})")
        if kind not in KINDS:
            raise BlobError(f"{name}: unknown kind {kind}")
        self.kind = KINDS[kind]
        if reserved != 0:
            raise BlobError(f"{name}: reserved prefix word is {reserved}, not 0")
        header_end = PREFIX_LEN + header_len
        if header_len % 8 or header_end > len(data) - TRAILER_LEN:
            raise BlobError(f"{name}: header length {header_len} is not a "
                            "multiple of 8 or runs past the trailer")
        header_bytes = data[PREFIX_LEN:header_end]
        # A single-segment message without a segment table: the bytes are
        # the only segment.
        self.header = hollow.BlobHeader.from_segments(
            [header_bytes], traversal_limit_in_words=traversal_limit(header_bytes))
        # `schema` is also a pycapnp attribute name: read the field by name.
        self.schema = self.header._get("schema")
        self.sections = {}
        at = header_end
        for s in self.header.sections:
            where = f"{name}: section {s.typeName}"
            if s.offset != at or s.offset % 8 or s.length % 8:
                raise BlobError(f"{where} at offset {s.offset}, length {s.length}: "
                                f"sections must be 8-aligned and follow each "
                                f"other from offset {at}")
            at = s.offset + s.length
            if at > len(data) - TRAILER_LEN:
                raise BlobError(f"{where} runs past the trailer")
            body = data[s.offset:at]
            if xxh3_64(body) != s.checksum:
                raise BlobError(f"{where}: section checksum mismatch")
            if s.typeName in self.sections and self.format_version == 1:
                raise BlobError(f"{where}: two sections for one type in format "
                                "version 1")
            # Record type -> its sections (shards), in directory order.
            self.sections.setdefault(s.typeName, []).append((s, body))
        if at != len(data) - TRAILER_LEN:
            raise BlobError(f"{name}: the sections end at {at}, the trailer "
                            f"starts at {len(data) - TRAILER_LEN}")
        # A type's sections cover consecutive ordinal ranges from 0 and
        # agree on the type's state.
        for type_name, shards in self.sections.items():
            at_ordinal = 0
            first = shards[0][0]
            for j, (s, _) in enumerate(shards):
                where = f"{name}: section {j} of {type_name}"
                if s.firstOrdinal != at_ordinal:
                    raise BlobError(f"{where} starts at ordinal {s.firstOrdinal}, "
                                    f"not {at_ordinal} where the previous ends")
                if s.ordinalLimit < s.firstOrdinal or (
                        len(shards) > 1 and s.ordinalLimit == s.firstOrdinal):
                    raise BlobError(f"{where} has the ordinal range "
                                    f"{s.firstOrdinal}..{s.ordinalLimit}")
                if (s.stateCount, s.stateChecksum) != (first.stateCount,
                                                       first.stateChecksum):
                    raise BlobError(f"{where} disagrees with section 0 on the "
                                    "type's state")
                at_ordinal = s.ordinalLimit


# --------------------------------------------------------------------------
# The dataset schema (docs/blob-format.md, "The dataset schema").

BASE_TYPES = {
    "void": "Void", "bool": "Bool", "int8": "Int8", "int16": "Int16",
    "int32": "Int32", "int64": "Int64", "uint8": "UInt8", "uint16": "UInt16",
    "uint32": "UInt32", "uint64": "UInt64", "float32": "Float32",
    "float64": "Float64", "text": "Text", "data": "Data",
}


class TypeInfo:
    """A struct or enum of the header's DatasetSchema, with its members
    arranged as a tree: `children[0]` the struct's own fields,
    `children[UNNAMED_UNION_PARENT]` its unnamed union's members,
    `children[n]` the members of `members[n - 1]` (a group or union)."""

    def __init__(self, decl):
        self.decl = decl
        self.name = decl.name
        self.kind = str(decl.kind)
        self.members = list(decl.members)
        self.children = {}
        for i, m in enumerate(self.members):
            self.children.setdefault(m.parent, []).append((i + 1, m))
        self.enumerants = [e.name for e in decl.enumerants]
        self.has_unnamed_union = decl._has("unnamedUnion")


def type_text(m):
    """A slot's Cap'n Proto type: the base, wrapped listDepth times."""
    base = str(m.typeBase)
    t = m.typeName if base in ("enum", "struct") else BASE_TYPES[base]
    for _ in range(m.listDepth):
        t = f"List({t})"
    return t


def schema_to_capnp(types):
    """The header's DatasetSchema as `.capnp` text (what `hollow schema`
    prints, without doc comments and annotations, which a reader does not
    need). The compiler lays fields out from their ordinals, so the text
    compiles to the layout the header declares."""
    out = []

    def members(t, parent, indent):
        for idx, m in t.children.get(parent, []):
            kind = str(m.kind)
            if kind == "slot":
                out.append(f"{indent}{m.name} @{m.ordinal} :{type_text(m)};")
            else:
                out.append(f"{indent}{m.name} :{kind} {{")
                members(t, idx, indent + "  ")
                out.append(f"{indent}}}")

    for t in types.values():
        if t.kind == "enum":
            out.append(f"enum {t.name} {{")
            out.extend(f"  {e} @{i};" for i, e in enumerate(t.enumerants))
        else:
            out.append(f"struct {t.name} {{")
            members(t, 0, "  ")
            if t.has_unnamed_union:
                out.append("  union {")
                members(t, UNNAMED_UNION_PARENT, "    ")
                out.append("  }")
        out.append("}")
        out.append("")
    body = "\n".join(out)
    # A file id must have its top bit set; derive it from the text so two
    # different schemas loaded in one process get different ids.
    file_id = xxh3_64(body.encode()) | (1 << 63)
    return f"@{file_id:#x};\n\n{body}"


class Schema:
    """A dataset schema: the header's types and the pycapnp module whose
    structs read the records."""

    _loaded = {}  # schema text -> module (pycapnp refuses a file id twice)

    def __init__(self, blob, import_path, schema_files=None):
        self.types = {}
        for decl in blob.schema.types:
            self.types[decl.name] = TypeInfo(decl)
        self.records = [t.name for t in self.types.values()
                        if t.kind == "struct" and t.decl.isRecord]
        if not schema_files:
            text = schema_to_capnp(self.types)
            module = Schema._loaded.get(text)
            if module is None:
                with tempfile.TemporaryDirectory(prefix="hollow-schema-") as tmp:
                    path = os.path.join(tmp, "dataset.capnp")
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(text)
                    module = capnp.load(path, imports=import_path)
                Schema._loaded[text] = module
            self.modules = [module]
        else:
            self.modules = [Schema._load_file(f, import_path) for f in schema_files]
        self.check_layout()

    @staticmethod
    def _load_file(path, import_path):
        path = os.path.abspath(path)
        module = Schema._loaded.get(path)
        if module is None:
            module = capnp.load(path, imports=import_path)
            Schema._loaded[path] = module
        return module

    def struct(self, name):
        """The pycapnp struct type `name` (searched in nested scopes too)."""
        for module in self.modules:
            found = getattr(module, name, None)
            if found is None:
                found = find_nested(module, name)
            if found is not None:
                return found
        raise BlobError(f"type {name} is not in the loaded .capnp schema")

    def check_layout(self):
        """Checks that the compiled structs have the section sizes and field
        offsets the header declares, so records are read where the writer
        put them."""
        for t in self.types.values():
            if t.kind != "struct":
                continue
            node = self.struct(t.name).schema.node.struct
            if (node.dataWordCount, node.pointerCount) != (t.decl.dataWords, t.decl.pointers):
                raise BlobError(
                    f"{t.name}: the .capnp schema has {node.dataWordCount} data "
                    f"words and {node.pointerCount} pointers, the blob "
                    f"{t.decl.dataWords} and {t.decl.pointers}")
            self._check_members(t, 0, self.struct(t.name).schema, t.name)
            if t.has_unnamed_union:
                want = t.decl.unnamedUnion.discriminantOffset
                if node.discriminantOffset != want:
                    raise BlobError(f"{t.name}: unnamed union discriminant at "
                                    f"{node.discriminantOffset}, the blob says {want}")
                self._check_members(t, UNNAMED_UNION_PARENT,
                                    self.struct(t.name).schema, t.name)

    def _check_members(self, t, parent, schema, path):
        fields = schema.fields
        for idx, m in t.children.get(parent, []):
            where = f"{path}.{m.name}"
            f = fields.get(m.name)
            if f is None:
                continue  # an older .capnp file: the field is not read
            kind = str(m.kind)
            if kind == "slot":
                if f.proto.which() != "slot" or f.proto.slot.offset != m.offset:
                    raise BlobError(f"{where}: the .capnp schema puts it at "
                                    f"{f.proto.slot.offset if f.proto.which() == 'slot' else 'a group'}, "
                                    f"the blob at offset {m.offset}")
            else:
                group = f.schema
                if kind == "union" and group.node.struct.discriminantOffset != m.offset:
                    raise BlobError(f"{where}: union discriminant at "
                                    f"{group.node.struct.discriminantOffset}, "
                                    f"the blob says {m.offset}")
                self._check_members(t, idx, group, where)


def find_nested(module, name):
    for attr in dir(module):
        v = getattr(module, attr, None)
        if isinstance(v, capnp.lib.capnp._StructModule):
            if attr == name:
                return v
            inner = find_nested(v, name)
            if inner is not None:
                return inner
    return None


# --------------------------------------------------------------------------
# Records as JSON, in `hollow export`'s form (see hollow_runtime::dynamic):
# structs and groups are objects, a named union is {"member": value}, an
# unnamed union's active member is a field of the struct, Void is null,
# 64-bit integers are exact, Float32 is shown in its shortest decimal form,
# non-finite floats are "NaN" / "Infinity" / "-Infinity", Data is base64,
# an enum is its enumerant's name (its number when the schema has none), a
# set is an array and a map (a member whose `collection` is map) an object
# from key to value when its keys are Text, else an array of [key, value]
# pairs, and a null pointer is null.

def float_value(x, single):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if not single:
        return x
    # The shortest decimal that reads back as the same Float32.
    for digits in range(1, 10):
        s = "%.*g" % (digits, x)
        try:
            if struct.unpack("<f", struct.pack("<f", float(s)))[0] == x:
                return float(s)
        except OverflowError:
            continue
    return x


def collection(m):
    """A header member's map/set mark ("none", "map" or "set"); "none" when
    the hollow.capnp read has no such field."""
    if "collection" not in m.schema.fields:
        return "none"
    return str(m.collection)


class Renderer:
    def __init__(self, schema):
        self.schema = schema

    def record(self, type_name, reader):
        return self.members(self.schema.types[type_name], 0, reader)

    def members(self, t, parent, r):
        out = {}
        for idx, m in t.children.get(parent, []):
            if m.name not in r.schema.fields:
                continue  # not in an older .capnp file
            out[m.name] = self.member(t, idx, m, r)
        if parent == 0 and t.has_unnamed_union:
            active = str(r.which())
            for idx, m in t.children.get(UNNAMED_UNION_PARENT, []):
                if m.name == active:
                    out[m.name] = self.member(t, idx, m, r)
        return out

    def member(self, t, idx, m, r):
        kind = str(m.kind)
        if kind == "group":
            return self.members(t, idx, r._get(m.name))
        if kind == "union":
            u = r._get(m.name)
            active = str(u.which())
            for cidx, c in t.children.get(idx, []):
                if c.name == active:
                    return {c.name: self.member(t, cidx, c, u)}
            raise BlobError(f"{t.name}.{m.name}: active member {active} unknown")
        base = str(m.typeBase)
        if (m.listDepth > 0 or base in ("text", "data", "struct")) and not r._has(m.name):
            return None  # a null pointer
        value = self.value(base, m.typeName, m.listDepth, r._get(m.name))
        if collection(m) == "map":
            return self.map(m.typeName, value)
        return value

    def map(self, entry_name, entries):
        """A map's entries (rendered as {"key", "value"} objects) in
        `hollow export`'s form."""
        key = next(
            (m for _, m in self.schema.types[entry_name].children.get(0, []) if m.name == "key"),
            None,
        )
        if key is not None and str(key.typeBase) == "text" and key.listDepth == 0:
            # A null key reads as "", as the Rust accessors read it.
            return {(e.get("key") or ""): e.get("value") for e in entries}
        return [[e.get("key"), e.get("value")] for e in entries]

    def value(self, base, type_name, depth, v):
        if depth > 0:
            return [self.value(base, type_name, depth - 1, e) for e in v]
        if base == "void":
            return None
        if base in ("float32", "float64"):
            return float_value(v, base == "float32")
        if base == "data":
            return base64.b64encode(bytes(v)).decode("ascii")
        if base == "enum":
            raw = v.raw
            names = self.schema.types[type_name].enumerants
            return names[raw] if raw < len(names) else raw
        if base == "struct":
            return self.members(self.schema.types[type_name], 0, v)
        return v  # bool, integers, text


# --------------------------------------------------------------------------
# Canonical bytes and the state checksum (docs/blob-format.md, "Records and
# their hashes", "State checksum"; docs/records.md, "Canonical bytes").
#
# pycapnp cannot canonicalize a message, so this part reads the Cap'n Proto
# encoding directly: it finds each record element in its section's bytes
# and re-encodes it in canonical form (objects in pre-order, data sections
# stripped of trailing zero words and pointer sections of trailing nulls,
# every element of a struct list at the largest stripped size, zero-sized
# structs pointed to with offset -1, padding zeroed).

MASK64 = (1 << 64) - 1
MAX_DEPTH = 64


class Segment:
    """The words of a single-segment message, bounds-checked."""

    def __init__(self, data, what):
        self.data = data
        self.words = len(data) // 8
        self.what = what

    def word(self, i):
        if not 0 <= i < self.words:
            raise BlobError(f"{self.what}: a pointer leads outside the section (word {i})")
        return struct.unpack_from("<Q", self.data, i * 8)[0]

    def target(self, pos, w):
        offset = (w & 0xFFFFFFFF) >> 2
        if offset & (1 << 29):
            offset -= 1 << 30
        return pos + 1 + offset

    def struct_at(self, pos):
        """(word of its data section, data words, pointers) of the struct
        pointer at word `pos`, or None when null."""
        w = self.word(pos)
        if w == 0:
            return None
        if w & 3 != 0:
            raise BlobError(f"{self.what}: word {pos} is not a struct pointer")
        return self.target(pos, w), (w >> 32) & 0xFFFF, w >> 48

    def composite_list_at(self, pos):
        """(word of element 0, element count, data words, pointers) of the
        struct list pointer at word `pos`, or None when null."""
        w = self.word(pos)
        if w == 0:
            return None
        if w & 3 != 1 or (w >> 32) & 7 != 7:
            raise BlobError(f"{self.what}: word {pos} is not a struct list pointer")
        tag_at = self.target(pos, w)
        tag = self.word(tag_at)
        return tag_at + 1, (tag & 0xFFFFFFFF) >> 2, (tag >> 32) & 0xFFFF, tag >> 48


def stripped(seg, at, data_words, pointers):
    """A struct's section sizes without trailing zero data words and null
    pointers."""
    d, p = data_words, pointers
    while p and seg.word(at + data_words + p - 1) == 0:
        p -= 1
    while d and seg.word(at + d - 1) == 0:
        d -= 1
    return d, p


class Canonicalizer:
    """Writes one record in canonical form."""

    # Bits per element of each list element size code (6: a pointer).
    ELEMENT_BITS = {0: 0, 1: 1, 2: 8, 3: 16, 4: 32, 5: 64, 6: 64}

    def __init__(self, seg):
        self.seg = seg
        self.out = bytearray()

    def alloc(self, words):
        at = len(self.out) // 8
        self.out.extend(bytes(words * 8))
        return at

    def put(self, pos, value):
        struct.pack_into("<Q", self.out, pos * 8, value & MASK64)

    def root(self, at, data_words, pointers):
        self.alloc(1)
        self.struct(0, at, data_words, pointers, 0)
        return bytes(self.out)

    def struct(self, dst, at, data_words, pointers, depth):
        if depth > MAX_DEPTH:
            raise BlobError(f"{self.seg.what}: records nest deeper than {MAX_DEPTH}")
        d, p = stripped(self.seg, at, data_words, pointers)
        if d == 0 and p == 0:
            self.put(dst, 0xFFFFFFFC)  # offset -1, no sections
            return
        start = self.alloc(d + p)
        self.put(dst, (((start - dst - 1) << 2) & 0xFFFFFFFF) | (d << 32) | (p << 48))
        self.out[start * 8:(start + d) * 8] = self.seg.data[at * 8:(at + d) * 8]
        for i in range(p):
            self.pointer(start + d + i, at + data_words + i, depth + 1)

    def pointer(self, dst, src, depth):
        seg = self.seg
        w = seg.word(src)
        if w == 0:
            return
        kind = w & 3
        target = seg.target(src, w)
        if kind == 0:
            self.struct(dst, target, (w >> 32) & 0xFFFF, w >> 48, depth)
        elif kind == 1:
            self.list(dst, target, (w >> 32) & 7, w >> 35, depth)
        else:
            raise BlobError(f"{seg.what}: a far or capability pointer in a record")

    def list_pointer(self, dst, start, size, count):
        self.put(dst, (((start - dst - 1) << 2) & 0xFFFFFFFF) | 1 | (size << 32) | (count << 35))

    def list(self, dst, target, size, count, depth):
        if depth > MAX_DEPTH:
            raise BlobError(f"{self.seg.what}: records nest deeper than {MAX_DEPTH}")
        seg = self.seg
        if size == 7:
            tag = seg.word(target)
            n, dw, pc = (tag & 0xFFFFFFFF) >> 2, (tag >> 32) & 0xFFFF, tag >> 48
            if n * (dw + pc) > count:
                raise BlobError(f"{seg.what}: a struct list larger than its words")
            first = target + 1
            sizes = [stripped(seg, first + i * (dw + pc), dw, pc) for i in range(n)]
            md = max((s[0] for s in sizes), default=0)
            mp = max((s[1] for s in sizes), default=0)
            start = self.alloc(1 + n * (md + mp))
            self.put(start, (n << 2) | (md << 32) | (mp << 48))
            self.list_pointer(dst, start, 7, n * (md + mp))
            for i in range(n):
                e, o = first + i * (dw + pc), start + 1 + i * (md + mp)
                self.out[o * 8:(o + md) * 8] = seg.data[e * 8:(e + md) * 8]
            for i in range(n):
                e, o = first + i * (dw + pc), start + 1 + i * (md + mp)
                for j in range(mp):
                    self.pointer(o + md + j, e + dw + j, depth + 1)
            return
        bits = self.ELEMENT_BITS[size] * count
        words = (bits + 63) // 64
        if target + words > seg.words:
            raise BlobError(f"{seg.what}: a list runs past the section")
        start = self.alloc(words)
        self.list_pointer(dst, start, size, count)
        if size == 6:
            for i in range(count):
                self.pointer(start + i, target + i, depth + 1)
            return
        nbytes = (bits + 7) // 8
        self.out[start * 8:start * 8 + nbytes] = seg.data[target * 8:target * 8 + nbytes]
        if bits % 8:
            self.out[start * 8 + nbytes - 1] &= (1 << (bits % 8)) - 1


def record_hash(seg, at, data_words, pointers):
    """XXH3-64 of the canonical bytes of the struct at word `at`."""
    return xxh3_64(Canonicalizer(seg).root(at, data_words, pointers))


def mix(o, h):
    """SplitMix64's finalizer of `h ^ (o * 0x9E3779B97F4A7C15)`."""
    z = (h ^ (o * 0x9E3779B97F4A7C15)) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def element_hashes(body, what, records_pointer, count):
    """The record hash of each element of the `List(Record)` that pointer
    `records_pointer` of the section's root holds."""
    seg = Segment(body, what)
    root = seg.struct_at(0)
    if root is None:
        raise BlobError(f"{what}: no root struct")
    at, dw, _ = root
    found = seg.composite_list_at(at + dw + records_pointer)
    if found is None:
        return []
    first, n, edw, epc = found
    if n != count:
        raise BlobError(f"{what}: {n} records, expected {count}")
    return [record_hash(seg, first + i * (edw + epc), edw, epc) for i in range(n)]


# --------------------------------------------------------------------------
# Sections and states (docs/blob-format.md, "Snapshot section", "Delta and
# reverse delta sections").

class Elements:
    """The `records` list of one section, read as a list of whichever
    struct type asks: a record added by a delta written with an older
    schema is read with the struct of the state's current schema, as Cap'n
    Proto allows (fields it lacks read as defaults)."""

    def __init__(self, section):
        self.section = section
        self.lists = {}

    def get(self, struct_type, i):
        key = struct_type.schema.node.id
        items = self.lists.get(key)
        if items is None:
            # `records` is an AnyPointer holding a List(Record).
            items = self.section.records.as_list(capnp._ListSchema(struct_type))
            self.lists[key] = items
        return items[i]


class State:
    """A version held in memory: for each record type, ordinal -> (the
    section's Elements, index). Readers point into the blobs' bytes, which
    stay referenced."""

    def __init__(self, check_state=True):
        self.version = None
        self.tag = None
        self.schema = None
        self.records = {}
        # Whether to recompute each type's stateChecksum; then, per type,
        # ordinal -> record hash and the running checksum.
        self.check_state = check_state
        self.hashes = {}
        self.checksums = {}

    def check_checksum(self, blob, name, s):
        if not self.check_state:
            return
        if self.checksums[name] != s.stateChecksum:
            raise BlobError(f"{blob.name}: {name} state checksum "
                            f"{self.checksums[name]:#018x} after the blob; the "
                            f"section says {s.stateChecksum:#018x}")

    def load_snapshot(self, blob, schema, hollow):
        if blob.kind != "snapshot":
            raise BlobError(f"{blob.name}: a {blob.kind}, not a snapshot")
        self.records, self.hashes, self.checksums = {}, {}, {}
        for name in schema.records:
            if name not in blob.sections:
                raise BlobError(f"{blob.name}: no section for record type {name}")
        for name, shards in blob.sections.items():
            records = {}
            hashes = {}
            for s, body in shards:
                section = hollow.SnapshotSection.from_segments(
                    [body], traversal_limit_in_words=traversal_limit(body))
                # Element i of the shard is ordinal first + i.
                first, span = s.firstOrdinal, s.ordinalLimit - s.firstOrdinal
                here = {}
                if span > 0:
                    refs = Elements(section)
                    elements = refs.section.records.as_list(
                        capnp._ListSchema(schema.struct(name)))
                    populated = section.populated
                    if len(elements) != span or len(populated) != (span + 63) // 64:
                        raise BlobError(f"{blob.name}: section {name} has "
                                        f"{len(elements)} records and {len(populated)} "
                                        f"bitmap words for ordinals "
                                        f"{first}..{s.ordinalLimit}")
                    for w, word in enumerate(populated):
                        while word:
                            bit = (word & -word).bit_length() - 1
                            word &= word - 1
                            here[first + w * 64 + bit] = (refs, w * 64 + bit)
                if len(here) != s.recordCount:
                    raise BlobError(f"{blob.name}: section {name} populates "
                                    f"{len(here)} ordinals; recordCount "
                                    f"{s.recordCount}")
                records.update(here)
                if self.check_state:
                    # SnapshotSection.records is pointer 1 of the root.
                    every = element_hashes(body, f"{blob.name} section {name}", 1, span)
                    hashes.update({o: every[o - first] for o in here})
            s = shards[0][0]
            if len(records) != s.stateCount:
                raise BlobError(f"{blob.name}: {name} populates {len(records)} "
                                f"ordinals; stateCount {s.stateCount}")
            self.records[name] = records
            if self.check_state:
                self.hashes[name] = hashes
                self.checksums[name] = sum(mix(o, h) for o, h in hashes.items()) & MASK64
                self.check_checksum(blob, name, s)
        self.version, self.tag, self.schema = blob.to_version, blob.to_tag, schema

    def apply_delta(self, blob, schema, hollow):
        if blob.kind == "snapshot":
            raise BlobError(f"{blob.name}: a snapshot, not a delta")
        if blob.from_tag != self.tag or blob.from_version != self.version:
            raise BlobError(f"{blob.name} applies to version {blob.from_version} "
                            f"(tag {blob.from_tag:#x}), the state is version "
                            f"{self.version} (tag {self.tag:#x})")
        for name, shards in blob.sections.items():
            records = self.records.setdefault(name, {})
            hashes = self.hashes.setdefault(name, {})
            checksum = self.checksums.get(name, 0)
            # Each shard removes and adds ordinals of its own range only.
            for s, body in shards:
                section = hollow.DeltaSection.from_segments(
                    [body], traversal_limit_in_words=traversal_limit(body))
                removed = list(section.removed)
                added = list(section.added)
                if len(removed) != s.removedCount or len(added) != s.recordCount:
                    raise BlobError(f"{blob.name}: section {name} lists "
                                    f"{len(removed)} removed and {len(added)} added "
                                    f"ordinals; the directory says {s.removedCount} "
                                    f"and {s.recordCount}")
                outside = [o for o in removed + added
                           if not s.firstOrdinal <= o < s.ordinalLimit]
                if outside:
                    raise BlobError(f"{blob.name}: section {name} names ordinal "
                                    f"{outside[0]}, outside its range "
                                    f"{s.firstOrdinal}..{s.ordinalLimit}")
                for o in removed:
                    if records.pop(o, None) is None:
                        raise BlobError(f"{blob.name}: {name} ordinal {o} is removed "
                                        "but not in the state")
                    if self.check_state:
                        checksum = (checksum - mix(o, hashes.pop(o))) & MASK64
                if added:
                    refs = Elements(section)
                    elements = section.records.as_list(capnp._ListSchema(schema.struct(name)))
                    if len(elements) != len(added):
                        raise BlobError(f"{blob.name}: {name} has {len(elements)} "
                                        f"records for {len(added)} added ordinals")
                    for i, o in enumerate(added):
                        if o in records:
                            raise BlobError(f"{blob.name}: {name} ordinal {o} is "
                                            "added but already in the state")
                        records[o] = (refs, i)
                    if self.check_state:
                        # DeltaSection.records is pointer 2 of the root.
                        new = element_hashes(body, f"{blob.name} section {name}", 2, len(added))
                        for o, h in zip(added, new):
                            hashes[o] = h
                            checksum = (checksum + mix(o, h)) & MASK64
            # Every shard states the type's state after the blob.
            s = shards[0][0]
            if len(records) != s.stateCount:
                raise BlobError(f"{blob.name}: {name} has {len(records)} records "
                                f"after the delta; stateCount says {s.stateCount}")
            self.checksums[name] = checksum
            self.check_checksum(blob, name, s)
        # Types without a section are unchanged; a type the new schema no
        # longer has is dropped.
        self.records = {n: r for n, r in self.records.items() if n in schema.types}
        self.version, self.tag, self.schema = blob.to_version, blob.to_tag, schema


# --------------------------------------------------------------------------
# A store directory: blobs named snapshot-V, delta-A-B, reversedelta-A-B,
# each stored plain under that name or compressed under it plus `.zst`.

BLOB_NAME = re.compile(
    r"^(?:(snapshot)-(\d+)|(delta|reversedelta)-(\d+)-(\d+))(\.zst)?$")
ZSTD_SUFFIX = ".zst"


def decompress_blob(name, stored_name, data):
    """The plain bytes of blob `name`, stored compressed as `stored_name`:
    one zstd frame that declares its plain size, nothing after it."""
    where = f"{name} (stored compressed as {stored_name})"
    if zstandard is None:
        raise BlobError(f"{where}: no zstd module to decompress it: install "
                        f"the `zstandard` package (pip install zstandard)")
    try:
        declared = zstandard.get_frame_parameters(data).content_size
    except zstandard.ZstdError as e:
        raise BlobError(f"{where}: not a zstd frame: {e}") from None
    if declared == zstandard.CONTENTSIZE_UNKNOWN:
        raise BlobError(f"{where}: the zstd frame does not declare its content size")
    decoder = zstandard.ZstdDecompressor().decompressobj()
    try:
        plain = decoder.decompress(data)
    except zstandard.ZstdError as e:
        raise BlobError(f"{where}: the zstd frame is corrupt: {e}") from None
    if not decoder.eof:
        raise BlobError(f"{where}: the zstd frame is truncated: it ends after "
                        f"{len(plain)} of its {declared} plain bytes")
    if decoder.unused_data:
        raise BlobError(f"{where}: more bytes follow the end of the zstd frame")
    if len(plain) != declared:
        raise BlobError(f"{where}: the zstd frame decodes to {len(plain)} bytes, "
                        f"not the {declared} it declares")
    return plain


def read_blob_file(path, name=None):
    """The plain bytes of the blob in file `path` (decompressed if its name
    ends in `.zst`), and the blob's name (the file name without `.zst`)."""
    stored_name = os.path.basename(path)
    with open(path, "rb") as f:
        data = f.read()
    if not stored_name.endswith(ZSTD_SUFFIX):
        return data, name or stored_name
    name = name or stored_name[:-len(ZSTD_SUFFIX)]
    return decompress_blob(name, stored_name, data), name


class Store:
    def __init__(self, directory, hollow, import_path, schema_files=None,
                 check_state=True):
        self.dir = directory
        self.hollow = hollow
        self.import_path = import_path
        self.schema_files = schema_files
        self.check_state = check_state
        self.snapshots = set()
        self.deltas = {}   # from -> to
        self.reverse = {}  # from -> to
        if not os.path.isdir(directory):
            raise BlobError(f"store {directory}: not a directory")
        self.files = {}    # blob name -> file name in the store
        for f in sorted(os.listdir(directory)):
            m = BLOB_NAME.match(f)
            if not m:
                continue
            # Sorted, `name.zst` comes after `name`: the compressed file
            # wins when both are there.
            self.files[f[:-len(ZSTD_SUFFIX)] if m.group(6) else f] = f
            if m.group(1):
                self.snapshots.add(int(m.group(2)))
            else:
                table = self.deltas if m.group(3) == "delta" else self.reverse
                table[int(m.group(4))] = int(m.group(5))

    def blob(self, name):
        stored = self.files.get(name, name)
        data, name = read_blob_file(os.path.join(self.dir, stored), name)
        return Blob(name, data, self.hollow)

    def schema_of(self, blob):
        return Schema(blob, self.import_path, self.schema_files)

    def state_at(self, version, via=None):
        """The state of `version`, reached as `via` says (see the module
        docs); returns it with the names of the blobs read."""
        if via is None:
            via = "snapshot" if version in self.snapshots else "forward"
        if via == "snapshot":
            start = version if version in self.snapshots else None
        elif via == "forward":
            start = max((v for v in self.snapshots if v <= version), default=None)
        else:
            start = min((v for v in self.snapshots if v >= version), default=None)
        if start is None:
            where = {"snapshot": "of", "forward": "at or below",
                     "reverse": "at or above"}[via]
            raise BlobError(f"store {self.dir}: no snapshot {where} version "
                            f"{version} (snapshots: {sorted(self.snapshots)})")
        state = State(self.check_state)
        blob = self.blob(f"snapshot-{start}")
        state.load_snapshot(blob, self.schema_of(blob), self.hollow)
        path = [blob.name]
        table, prefix = ((self.deltas, "delta") if via == "forward"
                         else (self.reverse, "reversedelta"))
        while state.version != version:
            nxt = table.get(state.version)
            if nxt is None:
                raise BlobError(f"store {self.dir}: no {prefix} from version "
                                f"{state.version} towards {version}")
            blob = self.blob(f"{prefix}-{state.version}-{nxt}")
            state.apply_delta(blob, self.schema_of(blob), self.hollow)
            path.append(blob.name)
        return state, path


def export_lines(state, only_type=None):
    """JSON Lines of every record of `state`, as `hollow export` orders
    them: record types in schema order, ordinals ascending."""
    renderer = Renderer(state.schema)
    for name in state.schema.records:
        if only_type is not None and name != only_type:
            continue
        records = state.records.get(name, {})
        struct_type = state.schema.struct(name)
        for o in sorted(records):
            refs, i = records[o]
            record = renderer.record(name, refs.get(struct_type, i))
            line = {"type": name, "ordinal": o, "record": record}
            yield json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def default_hollow_capnp():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "schemas", "hollow.capnp")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("store", nargs="?", help="the store directory")
    p.add_argument("--version", type=int, help="the version to read")
    p.add_argument("--type", dest="type_name", help="only this record type")
    p.add_argument("--via", choices=["snapshot", "forward", "reverse"])
    p.add_argument("--schema", action="append", help="a .capnp file of the "
                   "dataset (repeat for the files it imports whose types the "
                   "records use; default: the schema in the blob header)")
    p.add_argument("--import-path", action="append", default=[],
                   help="a directory .capnp imports are resolved in "
                   "(the one of hollow.capnp is always included)")
    p.add_argument("--hollow-capnp", default=default_hollow_capnp(),
                   help="path of schemas/hollow.capnp")
    p.add_argument("--no-state-checksums", action="store_true",
                   help="do not recompute each type's stateChecksum (which "
                   "hashes every record's canonical bytes)")
    p.add_argument("--print-schema", action="store_true",
                   help="print the header's schema as .capnp text")
    p.add_argument("--check-blob", metavar="FILE",
                   help="only frame and checksum one blob")
    args = p.parse_args(argv)

    hollow_capnp = os.path.abspath(args.hollow_capnp)
    import_path = [os.path.dirname(hollow_capnp)] + [os.path.abspath(d) for d in args.import_path]
    try:
        # Load hollow.capnp with the import path the dataset schemas use, so
        # a dataset file importing "/hollow.capnp" finds the same file.
        hollow = capnp.load(hollow_capnp, imports=import_path)
        if args.check_blob:
            data, name = read_blob_file(args.check_blob)
            blob = Blob(name, data, hollow)
            print(f"{blob.name}: {blob.kind} {blob.from_version} -> "
                  f"{blob.to_version}, {len(blob.header.sections)} sections, checksums ok")
            return 0
        if args.store is None or args.version is None:
            p.error("give STORE and --version V (or --check-blob FILE)")
        store = Store(args.store, hollow, import_path, args.schema,
                      not args.no_state_checksums)
        if args.print_schema:
            name = (f"snapshot-{args.version}" if args.version in store.snapshots
                    else next((f"delta-{a}-{b}" for a, b in store.deltas.items()
                               if b == args.version), None))
            if name is None:
                raise BlobError(f"store {args.store}: no blob leads to version {args.version}")
            blob = store.blob(name)
            types = {d.name: TypeInfo(d) for d in blob.schema.types}
            print(schema_to_capnp(types), end="")
            return 0
        state, _ = store.state_at(args.version, args.via)
        if args.type_name is not None and args.type_name not in state.schema.records:
            raise BlobError(f"version {args.version} has no record type {args.type_name}")
        out = sys.stdout
        for line in export_lines(state, args.type_name):
            out.write(line)
            out.write("\n")
        return 0
    except (BlobError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except capnp.KjException as e:
        print(f"error: Cap'n Proto: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
