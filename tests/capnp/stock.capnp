@0x84e13613e8f15f55;

using Hollow = import "/hollow.capnp";

struct Stock $Hollow.record $Hollow.primaryKey("region,sku") {
  # A record with a composite primary key.
  region @0 :Text;
  # First key part.
  sku @1 :UInt32;
  # Second key part.
  quantity @2 :Int32;
  # Units in stock.
  price @3 :Float64;
  # Unit price.
}
