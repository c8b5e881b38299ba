//! Small deterministic datasets for the examples and tests: the state of
//! each dataset at cycle 1, 2, 3, … (records added, changed and removed
//! between cycles).

/// The movie catalog (`movies.capnp`).
pub mod movies {
    use crate::gen::common::Timestamp;
    use crate::gen::movies::{Actor, Movie, Review};

    /// Every record of the catalog at one cycle.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Catalog {
        /// The movies.
        pub movies: Vec<Movie>,
        /// The actors.
        pub actors: Vec<Actor>,
        /// The reviews.
        pub reviews: Vec<Review>,
    }

    fn movie(id: u64, title: &str, year: u16, rating: f32, genres: &[&str]) -> Movie {
        Movie {
            id,
            title: title.into(),
            year,
            runtime_min: 90 + (id % 5) as u16 * 10,
            rating,
            genres: genres.iter().map(|g| g.to_string()).collect(),
            cast_ids: vec![id % 4 + 1, (id + 1) % 4 + 1],
            description: format!("Movie number {id}."),
            localized_titles: [("en", title.to_string()), ("fr", format!("{title} (fr)"))]
                .into_iter()
                .map(|(l, t)| (l.to_string(), t))
                .collect(),
            tags: std::iter::once(if year < 2025 { "classic" } else { "new" })
                .map(str::to_string)
                .collect(),
        }
    }

    /// The catalog at `cycle` (1-based): cycle 2 adds a movie and changes a
    /// rating, cycle 3 removes a movie, retitles one and adds a review; later
    /// cycles equal cycle 3.
    pub fn at(cycle: u32) -> Catalog {
        let mut movies = vec![
            movie(1, "The Borrow Checker", 2024, 8.1, &["drama", "crime"]),
            movie(2, "Zero Copy", 2026, 7.4, &["scifi"]),
            movie(3, "Fearless Concurrency", 2025, 6.9, &["drama"]),
        ];
        let actors = ["Ada", "Grace", "Linus", "Barbara"]
            .iter()
            .enumerate()
            .map(|(i, n)| Actor {
                id: i as u64 + 1,
                name: (*n).into(),
            })
            .collect();
        let mut reviews = vec![Review {
            movie_id: 1,
            reviewer: "ana".into(),
            stars: 5,
            posted_at: Timestamp {
                epoch_millis: 1_700_000_000_000,
            },
            text: "Kept me borrowed till the end.".into(),
        }];
        if cycle >= 2 {
            movies.push(movie(4, "Lifetimes", 2023, 7.7, &["drama"]));
            movies[1].rating = 8.8;
        }
        if cycle >= 3 {
            movies.retain(|m| m.id != 3);
            movies[0].title = "The Borrow Checker (Director's Cut)".into();
            // A new locale, a changed title in another, and a new tag.
            movies[0]
                .localized_titles
                .insert("de".into(), "Der Ausleihprüfer".into());
            movies[0]
                .localized_titles
                .insert("fr".into(), "Le Vérificateur d'emprunts".into());
            movies[0].tags.insert("award-winner".into());
            reviews.push(Review {
                movie_id: 2,
                reviewer: "bo".into(),
                stars: 4,
                posted_at: Timestamp {
                    epoch_millis: 1_700_000_360_000,
                },
                text: "Nothing was copied.".into(),
            });
        }
        Catalog {
            movies,
            actors,
            reviews,
        }
    }
}

/// The online shop (`commerce.capnp`).
pub mod commerce {
    use crate::gen::commerce::{
        Customer, CustomerAddress, Order, OrderItem, OrderStatus, Product, StockLevel,
    };
    use crate::gen::common::{Money, Timestamp};

    /// Every record of the shop at one cycle.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Shop {
        /// The customers.
        pub customers: Vec<Customer>,
        /// The orders.
        pub orders: Vec<Order>,
        /// Stock per (warehouse, sku).
        pub stock: Vec<StockLevel>,
        /// The products, with their attributes.
        pub products: Vec<Product>,
    }

    fn product(sku: &str, name: &str, attributes: &[(&str, &str)]) -> Product {
        Product {
            sku: sku.into(),
            name: name.into(),
            attributes: attributes
                .iter()
                .map(|&(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn eur(minor_units: i64) -> Money {
        Money {
            currency: "EUR".into(),
            minor_units,
        }
    }

    fn customer(id: u64, name: &str, city: &str) -> Customer {
        Customer {
            id,
            email: format!("{}@example.com", name.to_lowercase()),
            name: name.into(),
            address: CustomerAddress {
                street: format!("{id} Main Street"),
                city: city.into(),
                country: "SE".into(),
            },
            since: Timestamp {
                epoch_millis: 1_600_000_000_000 + id as i64 * 86_400_000,
            },
        }
    }

    fn order(id: u64, customer_id: u64, status: OrderStatus, items: &[(&str, u32, i64)]) -> Order {
        let items: Vec<OrderItem> = items
            .iter()
            .map(|&(sku, quantity, price)| OrderItem {
                sku: sku.into(),
                quantity,
                unit_price: eur(price),
            })
            .collect();
        let total = items
            .iter()
            .map(|i| i64::from(i.quantity) * i.unit_price.minor_units)
            .sum();
        Order {
            id,
            customer_id,
            status,
            items,
            total: eur(total),
            placed_at: Timestamp {
                epoch_millis: 1_700_000_000_000 + id as i64 * 60_000,
            },
        }
    }

    /// The shop at `cycle` (1-based): orders move through their states, a
    /// customer joins, stock changes.
    pub fn at(cycle: u32) -> Shop {
        let mut customers = vec![
            customer(1, "Ada", "Stockholm"),
            customer(2, "Grace", "Uppsala"),
        ];
        let mut orders = vec![
            order(
                100,
                1,
                OrderStatus::Paid,
                &[("mug", 2, 1_250), ("tea", 1, 890)],
            ),
            order(101, 2, OrderStatus::Pending, &[("kettle", 1, 4_900)]),
        ];
        let mut stock = vec![
            StockLevel {
                warehouse: "north".into(),
                sku: "mug".into(),
                on_hand: 40,
                reserved: 2,
            },
            StockLevel {
                warehouse: "south".into(),
                sku: "mug".into(),
                on_hand: 12,
                reserved: 0,
            },
            StockLevel {
                warehouse: "north".into(),
                sku: "kettle".into(),
                on_hand: 5,
                reserved: 1,
            },
        ];
        let mut products = vec![
            product("mug", "Mug", &[("color", "white"), ("volume_ml", "330")]),
            product("tea", "Green tea", &[("origin", "JP"), ("weight_g", "100")]),
            product(
                "kettle",
                "Kettle",
                &[("color", "steel"), ("power_w", "2200")],
            ),
        ];
        if cycle >= 2 {
            // A recolored mug and a new attribute on the kettle.
            products[0].attributes.insert("color".into(), "blue".into());
            products[2]
                .attributes
                .insert("volume_ml".into(), "1700".into());
            orders[0].status = OrderStatus::Shipped;
            orders[1].status = OrderStatus::Paid;
            customers.push(customer(3, "Linus", "Lund"));
            orders.push(order(102, 3, OrderStatus::Pending, &[("tea", 4, 890)]));
            stock[0].on_hand -= 2;
            stock[0].reserved = 0;
        }
        if cycle >= 3 {
            orders[0].status = OrderStatus::Delivered;
            orders[2].status = OrderStatus::Cancelled;
            stock.retain(|s| s.warehouse != "south");
            products[1].attributes.remove("weight_g");
        }
        Shop {
            customers,
            orders,
            stock,
            products,
        }
    }
}

/// The device fleet (`iot.capnp`).
pub mod iot {
    use crate::gen::common::{Location, Timestamp};
    use crate::gen::iot::{
        Alert, AlertCause, AlertCauseThreshold, Device, DeviceKind, Metric, MetricValue, Severity,
    };

    /// Every record of the fleet at one cycle.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Fleet {
        /// The devices.
        pub devices: Vec<Device>,
        /// The latest metrics.
        pub metrics: Vec<Metric>,
        /// The open alerts.
        pub alerts: Vec<Alert>,
    }

    fn at_ms(ms: i64) -> Timestamp {
        Timestamp { epoch_millis: ms }
    }

    fn device(id: u64, kind: DeviceKind, tags: &[&str]) -> Device {
        Device {
            id,
            serial: format!("SN-{id:05}"),
            kind,
            location: Location {
                lat: 59.0 + id as f64 / 10.0,
                lon: 18.0 - id as f64 / 10.0,
            },
            tags: tags.iter().map(|t| t.to_string()).collect(),
            installed_at: at_ms(1_650_000_000_000 + id as i64 * 1_000),
            labels: [
                ("owner", "facilities".to_string()),
                ("site", format!("stockholm-{}", id % 2 + 1)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        }
    }

    fn metric(device_id: u64, name: &str, ms: i64, value: MetricValue) -> Metric {
        Metric {
            device_id,
            name: name.into(),
            at: at_ms(ms),
            value,
        }
    }

    /// The fleet at `cycle` (1-based): new readings each cycle, an alert
    /// raised then resolved, a device replaced.
    pub fn at(cycle: u32) -> Fleet {
        let t = 1_700_000_000_000 + i64::from(cycle) * 60_000;
        let mut devices = vec![
            device(1, DeviceKind::Thermostat, &["hall", "floor-1"]),
            device(2, DeviceKind::Camera, &["door"]),
            device(3, DeviceKind::Gateway, &["floor-1"]),
        ];
        let mut metrics = vec![
            metric(
                1,
                "temperature",
                t,
                MetricValue::Gauge(20.5 + f64::from(cycle)),
            ),
            metric(
                3,
                "packets",
                t,
                MetricValue::Counter(1_000 * u64::from(cycle)),
            ),
            metric(2, "firmware", t, MetricValue::Text(format!("2.{cycle}.0"))),
        ];
        let mut alerts = vec![Alert {
            id: 1,
            device_id: 2,
            severity: Severity::Warning,
            raised_at: at_ms(1_700_000_000_000),
            message: "door camera offline".into(),
            cause: AlertCause::Offline,
        }];
        if cycle >= 2 {
            metrics.push(metric(2, "battery", t, MetricValue::Missing));
            alerts.push(Alert {
                id: 2,
                device_id: 1,
                severity: Severity::Critical,
                raised_at: at_ms(t),
                message: "too hot".into(),
                cause: AlertCause::Threshold(AlertCauseThreshold {
                    metric: "temperature".into(),
                    limit: 21.0,
                }),
            });
        }
        if cycle >= 3 {
            alerts.retain(|a| a.id != 1);
            alerts.push(Alert {
                id: 3,
                device_id: 3,
                severity: Severity::Info,
                raised_at: at_ms(t),
                message: "maintenance window".into(),
                cause: AlertCause::Manual("planned by ops".into()),
            });
            devices[1] = device(2, DeviceKind::Meter, &["door", "replaced"]);
            devices[2].labels.insert("owner".into(), "network".into());
        }
        Fleet {
            devices,
            metrics,
            alerts,
        }
    }
}
