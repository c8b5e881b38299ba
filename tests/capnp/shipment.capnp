@0xcbaf3e3a247efe23;

using Hollow = import "/hollow.capnp";

struct Shipment $Hollow.record $Hollow.primaryKey("id") {
  # A record with a group field between ordinary fields.
  id @0 :UInt64;
  # Primary key.
  express @1 :Bool;
  # A bit before the group.
  dims :group {
    # The group.
    fragile @2 :Bool;
    # A bit.
    grade @3 :UInt8;
    # A byte.
    width @4 :UInt16;
    # 16 bits.
    weight @5 :Float32;
    # 32 bits.
    volume @6 :Float64;
    # 64 bits.
    label @7 :Text;
    # A pointer.
    origin :group {
      # A group inside the group.
      zone @8 :UInt8;
      # A byte.
      code @9 :Text;
      # A pointer.
    }
  }
  stops @10 :UInt16;
  # A field after the group.
  carrier @11 :Text;
  # A pointer after the group.
}
