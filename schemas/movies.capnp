# The movie catalog of the benchmark scenario (BENCHMARK.md): Movie and
# Actor exactly as the benchmark defines them, plus reviews.

@0xa3c9e0f4b1d27e62;

using Hollow = import "/hollow.capnp";
using Common = import "common.capnp";

struct Movie $Hollow.record $Hollow.primaryKey("id")
             $Hollow.hashIndexes(["year", "genres", "tags", "localizedTitles.key"]) {
  # A film of the catalog.
  id @0 :UInt64;
  title @1 :Text;
  year @2 :UInt16;
  # Year of release.
  runtimeMin @3 :UInt16;
  # Running time in minutes.
  rating @4 :Float32;
  # Average rating, 0 to 10.
  genres @5 :List(Text);
  castIds @6 :List(UInt64);
  # Actor ids, in billing order.
  description @7 :Text;
  localizedTitles @8 :List(MovieLocalizedTitlesEntry) $Hollow.map;
  # The title by locale ("fr", "pt-BR"), for catalogs shown in many languages.
  tags @9 :List(Text) $Hollow.set;
  # Editorial labels ("classic", "award-winner"), each once.
}

struct MovieLocalizedTitlesEntry {
  # One entry of Movie.localizedTitles.
  key @0 :Text;
  value @1 :Text;
}

struct Actor $Hollow.record $Hollow.primaryKey("id") {
  # A person who appears in movies.
  id @0 :UInt64;
  name @1 :Text;
}

struct Review $Hollow.record $Hollow.primaryKey("movieId,reviewer")
              $Hollow.hashIndexes(["movieId"]) {
  # One reviewer's opinion of one movie (a composite primary key).
  movieId @0 :UInt64;
  reviewer @1 :Text;
  stars @2 :UInt8;
  # 1 to 5.
  postedAt @3 :Common.Timestamp;
  text @4 :Text;
}
