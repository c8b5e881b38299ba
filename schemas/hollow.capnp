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
