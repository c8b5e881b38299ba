@0xca7fed2bef53cb99;

using Hollow = import "/hollow.capnp";

struct Role $Hollow.record $Hollow.primaryKey("actor.id") {
  # A record keyed by a nested field (`actor.id`).
  actor @0 :Performer;
  # Holds the key.
  character @1 :Text;
  # The part played.
  billing @2 :UInt8;
  # Billing order.
}

struct Performer {
  # A nested struct holding the key of [`Role`].
  id @0 :UInt64;
  # The key, read as `actor.id`.
  name @1 :Text;
  # Name.
}
