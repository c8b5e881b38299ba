@0xf43b48cfeac18aed;

using Hollow = import "/hollow.capnp";

struct AllTypes $Hollow.record $Hollow.primaryKey("id") {
  # A record with a field of every supported type.
  id @0 :UInt64;
  # Primary key.
  flag @1 :Bool;
  # `Bool`.
  int8 @2 :Int8;
  # `Int8`.
  int16 @3 :Int16;
  # `Int16`.
  int32 @4 :Int32;
  # `Int32`.
  int64 @5 :Int64;
  # `Int64`.
  uint8 @6 :UInt8;
  # `UInt8`.
  uint16 @7 :UInt16;
  # `UInt16`.
  uint32 @8 :UInt32;
  # `UInt32`.
  uint64 @9 :UInt64;
  # `UInt64`.
  float32 @10 :Float32;
  # `Float32`.
  float64 @11 :Float64;
  # `Float64`.
  text @12 :Text;
  # `Text`.
  data @13 :Data;
  # `Data`.
  bools @14 :List(Bool);
  # `List(Bool)`.
  int8s @15 :List(Int8);
  # `List(Int8)`.
  int16s @16 :List(Int16);
  # `List(Int16)`.
  uint16s @17 :List(UInt16);
  # `List(UInt16)`.
  int32s @18 :List(Int32);
  # `List(Int32)`.
  uint32s @19 :List(UInt32);
  # `List(UInt32)`.
  int64s @20 :List(Int64);
  # `List(Int64)`.
  uint64s @21 :List(UInt64);
  # `List(UInt64)`.
  float32s @22 :List(Float32);
  # `List(Float32)`.
  float64s @23 :List(Float64);
  # `List(Float64)`.
  texts @24 :List(Text);
  # `List(Text)`.
  blobs @25 :List(Data);
  # `List(Data)`.
  uint32Lists @26 :List(List(UInt32));
  # `List(List(UInt32))`.
  textLists @27 :List(List(Text));
  # `List(List(Text))`.
  inner @28 :Inner;
  # A nested struct.
  inners @29 :List(Inner);
  # `List(Inner)`.
  color @30 :Color;
  # An enum.
  colors @31 :List(Color);
  # `List(Color)`.
  maybeText @32 :Text;
  # Optional `Text` (`None` is a null pointer).
  maybeData @33 :Data;
  # Optional `Data`.
  maybeUint64s @34 :List(UInt64);
  # Optional `List(UInt64)`.
  maybeInner @35 :Inner;
  # Optional nested struct.
}

struct Inner {
  # A nested struct (not a record type) used by [`AllTypes`].
  id @0 :UInt32;
  # A data field.
  name @1 :Text;
  # A pointer field.
  flag @2 :Bool;
  # A bit.
  scores @3 :List(Int16);
  # A list.
  color @4 :Color;
  # An enum.
}

enum Color {
  # A plain Cap'n Proto enum.
  red @0;
  # First.
  green @1;
  # Second.
  blue @2;
  # Third.
}
