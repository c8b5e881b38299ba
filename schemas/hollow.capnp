# Hollow for Rust: annotations that mark record types and declare their keys.
#
# A dataset schema imports this file as
#
#     using Hollow = import "hollow.capnp";
#
# and marks its record types:
#
#     struct Movie $Hollow.record $Hollow.primaryKey("id")
#                  $Hollow.hashIndexes(["year", "genres"]) {
#       id @0 :UInt64;
#       ...
#     }
#
# The names and the file id below are an interface: do not change them.

@0xb5e1c0a7d3f29e41;

annotation record(struct) :Void;
# Marks a struct as a record type: it gets ordinals, a section in every blob
# and typed access in the consumer.

annotation primaryKey(struct) :Text;
# The primary key: one or more field paths separated by commas ("id",
# "region,sku", "actor.id"). Unique within a version.

annotation uniqueKeys(struct) :List(Text);
# Further unique keys, one per entry, each in the primaryKey form.

annotation hashIndexes(struct) :List(Text);
# Hash (many-match) indexes, one per entry, each in the primaryKey form. A
# list field ("genres") indexes each element.

annotation map(field) :Void;
# Marks a List(Entry) field as a map: Entry is a struct whose first two
# fields are `key @0` and `value @1`. Entries are stored sorted by key,
# without duplicate keys (docs/maps-and-sets.md gives the order of each key
# kind). Stock Cap'n Proto readers read the field as a plain list.

annotation set(field) :Void;
# Marks a List(T) field as a set: elements stored sorted, without
# duplicates, in the order of map keys.

# ---------------------------------------------------------------------------
# The blob envelope, format version 1 (docs/blob-format.md).
#
# A blob is a 64-byte prefix, a BlobHeader message, one section message per
# record type, and a 16-byte trailer. Every message is a single Cap'n Proto
# segment (root pointer first, no segment table). The header structs below
# are also Rust types in hollow_runtime::blob::envelope, laid out identically
# (a test checks it against this file).

struct BlobHeader {
  tags @0 :List(Tag);
  # Key/value tags set by the producer.
  schema @1 :DatasetSchema;
  # The dataset schema the records are written in.
  sections @2 :List(Section);
  # The directory: one entry per record type section.
}

struct Tag {
  key @0 :Text;
  value @1 :Text;
}

struct Section {
  # Where a record type's section is in the blob, and what it holds.
  typeName @0 :Text;
  # The record type (a struct name of the schema).
  offset @1 :UInt64;
  # Byte offset of the section message from the start of the blob
  # (a multiple of 8).
  length @2 :UInt64;
  # Length of the section message in bytes (a multiple of 8).
  checksum @3 :UInt64;
  # XXH3-64 (seed 0) of the section's bytes.
  recordCount @4 :UInt32;
  # Snapshot: populated records. Delta: added records.
  removedCount @5 :UInt32;
  # Delta: removed ordinals. Snapshot: 0.
  ordinalLimit @6 :UInt32;
  # The end of the section's ordinal range. A type's only (or last)
  # section: snapshot, the length of the records list (max ordinal + 1);
  # delta and reverse delta, the ordinal limit of the newer of the two
  # states (the producer's at the higher version); every removed and added
  # ordinal is below it. An earlier shard: where the next one starts.
  stateCount @7 :UInt32;
  # Records of this type in the state after this blob is applied.
  stateChecksum @8 :UInt64;
  # The producer's checksum of the type's state after this blob is applied.
  firstOrdinal @9 :UInt32;
  # The first ordinal of this section's range (format version 2: a type
  # may have several sections, shards of consecutive ordinal ranges; the
  # range is [firstOrdinal, ordinalLimit)). 0 in format version 1.
}

struct DatasetSchema {
  types @0 :List(TypeDecl);
  # Every struct and enum type, records and the nested types they use.
}

enum TypeKind {
  struct @0;
  enum @1;
}

struct TypeDecl {
  # A struct or enum type of the dataset schema.
  name @0 :Text;
  doc @1 :Text;
  # Null when the type has no doc comment.
  kind @2 :TypeKind;
  isRecord @3 :Bool;
  dataWords @4 :UInt16;
  # Struct: data section size in words.
  pointers @5 :UInt16;
  # Struct: pointer section size.
  members @6 :List(Member);
  # Struct: every field, group and union member, flattened in pre-order.
  unnamedUnion @7 :UnionDecl;
  # Struct: the unnamed union, null when there is none.
  primaryKey @8 :Text;
  # Struct: the primary key ("region,sku"), null when there is none.
  uniqueKeys @9 :List(Text);
  hashIndexes @10 :List(Text);
  enumerants @11 :List(EnumerantDecl);
  # Enum: the enumerants, in wire-value order.
}

struct UnionDecl {
  discriminantOffset @0 :UInt32;
  # In 16-bit units.
  rustTypeName @1 :Text;
  # The Rust type the union maps to, if any.
}

enum MemberKind {
  slot @0;
  group @1;
  union @2;
}

struct Member {
  # One member of a struct, group or union (a flattened Field).
  name @0 :Text;
  doc @1 :Text;
  parent @2 :UInt32;
  # 0: a field of the struct itself; n > 0: a member of members[n - 1]
  # (a group or named union, which comes earlier); 0xFFFFFFFF: a member of
  # the struct's unnamed union.
  kind @3 :MemberKind;
  ordinal @4 :UInt16;
  # Slot: the @N ordinal.
  offset @5 :UInt32;
  # Slot: offset in units of the value's size (pointer index for pointer
  # types). Union: discriminant offset in 16-bit units. Group: 0.
  typeBase @6 :TypeBase;
  # Slot: the value type, with lists unwrapped listDepth times.
  typeName @7 :Text;
  # Slot: the enum or struct name when typeBase is enum or struct.
  listDepth @8 :UInt8;
  # Slot: how many List( ) wrap typeBase.
  rustTypeName @9 :Text;
  # Group or union: the Rust type it maps to, if any.
  collection @10 :Collection;
  # Slot: whether the list is a map or a set (`$Hollow.map`, `$Hollow.set`);
  # none for every other member, and in blobs written before the field.
}

enum Collection {
  none @0;
  map @1;
  set @2;
}

enum TypeBase {
  void @0;
  bool @1;
  int8 @2;
  int16 @3;
  int32 @4;
  int64 @5;
  uint8 @6;
  uint16 @7;
  uint32 @8;
  uint64 @9;
  float32 @10;
  float64 @11;
  text @12;
  data @13;
  enum @14;
  struct @15;
}

struct EnumerantDecl {
  name @0 :Text;
  doc @1 :Text;
}

# The section messages. Cap'n Proto cannot express "a list of the struct
# given as a generic parameter" (List(T) of a parameter is refused), so
# `records` is an AnyPointer that always holds a List(Record) of the
# section's record type (`Section.typeName`, a struct of the header's
# schema): read it with getAs<List(Record)> (C++ `getAs<List<Movie>>()`,
# Rust `get_as::<struct_list::Reader<movie::Owned>>()`).

struct SnapshotSection {
  # The root of a snapshot section message.
  populated @0 :List(UInt64);
  # Bit i % 64 of word i / 64 is set when ordinal i is populated.
  records @1 :AnyPointer;
  # A List(Record) indexed by ordinal (ordinalLimit elements); unpopulated
  # ordinals are all-zero elements. Every element has the record type's
  # full section sizes, so element i is found in O(1).
}

struct DeltaSection {
  # The root of a delta or reverse delta section message.
  removed @0 :List(UInt32);
  # Ordinals removed from the state.
  added @1 :List(UInt32);
  # Ordinals added to the state.
  records @2 :AnyPointer;
  # A List(Record): the added records, in the order of `added`, with the
  # record type's full section sizes.
}
