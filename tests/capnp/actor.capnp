@0xf865a44470a1eb3a;

using Hollow = import "/hollow.capnp";

struct Actor $Hollow.record $Hollow.primaryKey("id") {
  # An actor, the other benchmark record.
  id @0 :UInt64;
  # Primary key.
  name @1 :Text;
  # Name.
}
