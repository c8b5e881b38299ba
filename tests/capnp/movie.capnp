@0xe35de1f96af7ec6f;

using Hollow = import "/hollow.capnp";

struct Movie $Hollow.record $Hollow.primaryKey("id") $Hollow.hashIndexes(["year", "genres"]) {
  # The benchmark record: a film with a primary key and two hash indexes.
  id @0 :UInt64;
  # Primary key.
  title @1 :Text;
  # Title.
  year @2 :UInt16;
  # Release year.
  runtimeMin @3 :UInt16;
  # Running time in minutes.
  rating @4 :Float32;
  # Average rating.
  genres @5 :List(Text);
  # Genres (each one is indexed).
  castIds @6 :List(UInt64);
  # Ids of the cast's [`Actor`]s.
  description @7 :Text;
  # Free text.
}
