# Connected devices, the metrics they report and the alerts raised on them.

@0xc1f83e5a7b2d4e90;

using Hollow = import "/hollow.capnp";
using Common = import "common.capnp";

enum DeviceKind {
  thermostat @0;
  camera @1;
  gateway @2;
  meter @3;
}

struct Device $Hollow.record $Hollow.primaryKey("id")
              $Hollow.uniqueKeys(["serial"]) $Hollow.hashIndexes(["kind", "tags"]) {
  # A device in the fleet.
  id @0 :UInt64;
  serial @1 :Text;
  # The manufacturer's serial number, unique.
  kind @2 :DeviceKind;
  location @3 :Common.Location;
  tags @4 :List(Text);
  installedAt @5 :Common.Timestamp;
  labels @6 :List(DeviceLabelsEntry) $Hollow.map;
  # Operator-set labels by name ("site": "berlin-2", "owner": "facilities").
}

struct DeviceLabelsEntry {
  # One entry of Device.labels.
  key @0 :Text;
  value @1 :Text;
}

struct Metric $Hollow.record $Hollow.primaryKey("deviceId,name,at.epochMillis") {
  # One reading reported by a device.
  deviceId @0 :UInt64;
  name @1 :Text;
  at @2 :Common.Timestamp;
  value :union {
    # What was read.
    gauge @3 :Float64;
    counter @4 :UInt64;
    text @5 :Text;
    missing @6 :Void;
    # The device reported no value.
  }
}

enum Severity {
  info @0;
  warning @1;
  critical @2;
}

struct Alert $Hollow.record $Hollow.primaryKey("id")
             $Hollow.hashIndexes(["deviceId", "severity"]) {
  # An alert raised on a device.
  id @0 :UInt64;
  deviceId @1 :UInt64;
  severity @2 :Severity;
  raisedAt @3 :Common.Timestamp;
  message @4 :Text;
  cause :union {
    # Why the alert was raised.
    threshold :group {
      # A metric crossed a limit.
      metric @5 :Text;
      limit @6 :Float64;
    }
    offline @7 :Void;
    manual @8 :Text;
    # Raised by an operator, with their note.
  }
}
