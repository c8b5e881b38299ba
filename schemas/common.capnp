# Types shared by the example datasets (movies, commerce, iot).
#
# Not record types themselves: they are stored inline in the records that
# use them.

@0xd6f1a4b2c3e58f01;

struct Timestamp {
  # A point in time.
  epochMillis @0 :Int64;
  # Milliseconds since 1970-01-01T00:00:00Z.
}

struct Money {
  # An amount of money in a currency's minor unit (cents for EUR).
  currency @0 :Text;
  # ISO 4217 code ("EUR").
  minorUnits @1 :Int64;
  # The amount, in minor units.
}

struct Location {
  # A point on Earth (WGS 84).
  lat @0 :Float64;
  # Latitude in degrees.
  lon @1 :Float64;
  # Longitude in degrees.
}
