@0xd0ea7366ebc403ff;

using Hollow = import "/hollow.capnp";

struct Event $Hollow.record $Hollow.primaryKey("id") {
  # A record with two union fields.
  id @0 :UInt64;
  # Primary key.
  payload :union {
    # The main union.
    empty @1 :Void;
    # A unit (`Void`) member.
    count @2 :Int64;
    # A primitive.
    message @3 :Text;
    # Text.
    location @4 :Coord;
    # A nested struct.
    window :group {
      # A group.
      start @5 :UInt32;
      # Start.
      end @6 :UInt32;
      # End.
    }
    detail :union {
      # A union inside the union.
      unknown @7 :Void;
      # Nothing.
      code @8 :UInt16;
      # A code.
      reason @9 :Text;
      # A reason.
    }
    cancelled @10 :Void;
    # A second unit member.
    urgent @11 :Bool;
    # A bit.
  }
  seq @12 :UInt16;
  # A field after the union.
  outcome :union {
    # The second union.
    pending @13 :Void;
    # Not done.
    done @14 :UInt32;
    # A 32-bit code.
    failed @15 :Text;
    # A message.
  }
}

struct Coord {
  # A nested struct held by a [`Payload`] variant.
  lat @0 :Float64;
  # Latitude.
  lon @1 :Float64;
  # Longitude.
}
