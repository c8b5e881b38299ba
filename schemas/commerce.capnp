# An online shop: customers, their orders and stock levels.

@0xe4b7a1c9d2f03a57;

using Hollow = import "/hollow.capnp";
using Common = import "common.capnp";

struct Customer $Hollow.record $Hollow.primaryKey("id")
                $Hollow.uniqueKeys(["email"]) {
  # Someone who can place orders.
  id @0 :UInt64;
  email @1 :Text;
  # Unique among customers.
  name @2 :Text;
  address :group {
    # Where orders are shipped.
    street @3 :Text;
    city @4 :Text;
    country @5 :Text;
    # ISO 3166 alpha-2 code.
  }
  since @6 :Common.Timestamp;
  # When the customer signed up.
}

enum OrderStatus {
  # Where an order is in its life.
  pending @0;
  paid @1;
  shipped @2;
  delivered @3;
  cancelled @4;
}

struct OrderItem {
  # One line of an order.
  sku @0 :Text;
  quantity @1 :UInt32;
  unitPrice @2 :Common.Money;
}

struct Order $Hollow.record $Hollow.primaryKey("id")
             $Hollow.hashIndexes(["customerId", "status"]) {
  # An order placed by a customer.
  id @0 :UInt64;
  customerId @1 :UInt64;
  status @2 :OrderStatus;
  items @3 :List(OrderItem);
  total @4 :Common.Money;
  placedAt @5 :Common.Timestamp;
}

struct StockLevel $Hollow.record $Hollow.primaryKey("warehouse,sku") {
  # How many units of a product a warehouse holds (a composite key).
  warehouse @0 :Text;
  sku @1 :Text;
  onHand @2 :Int32;
  reserved @3 :Int32;
}

struct Product $Hollow.record $Hollow.primaryKey("sku") {
  # A product the shop sells.
  sku @0 :Text;
  name @1 :Text;
  attributes @2 :List(ProductAttributesEntry) $Hollow.map;
  # Attribute values by name ("color": "red", "size": "M").
}

struct ProductAttributesEntry {
  # One entry of Product.attributes.
  key @0 :Text;
  value @1 :Text;
}
