//! A parser of the Prometheus text exposition format (0.0.4), enough to
//! check the figures of a `/metrics` page: samples with their labels
//! (escapes included) and values, and the declared type of each metric.
//!
//! ```
//! use hollow_tests::prometheus::Page;
//!
//! let page = Page::parse("# TYPE x_total counter\nx_total{a=\"1\"} 3\n");
//! assert_eq!(page.kind("x_total"), "counter");
//! assert_eq!(page.value("x_total", &[("a", "1")]), 3.0);
//! ```

use std::collections::BTreeMap;

/// One sample of a Prometheus text page: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name (with `_bucket`, `_sum`, `_count` for histograms).
    pub name: String,
    /// The labels.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

/// A parsed Prometheus text page (exposition format 0.0.4).
#[derive(Debug)]
pub struct Page {
    /// Every sample, in page order.
    pub samples: Vec<Sample>,
    /// `# TYPE` lines: metric name to type.
    pub types: BTreeMap<String, String>,
}

impl Page {
    /// Parses `text`.
    ///
    /// # Panics
    /// On any line that is not a comment, a blank line or a well-formed
    /// sample (this is for tests: the panic fails the test, naming the
    /// line).
    pub fn parse(text: &str) -> Page {
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if line.trim().is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                let (Some(name), Some(kind), None) = (parts.next(), parts.next(), parts.next())
                else {
                    panic!("bad TYPE line: {line:?}");
                };
                types.insert(name.to_string(), kind.to_string());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            samples.push(parse_sample(line));
        }
        Page { samples, types }
    }

    /// The value of the sample `name` with exactly the labels `labels`.
    ///
    /// # Panics
    /// When the page holds that sample twice.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut found = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.labels == want);
        let first = found.next()?;
        assert!(found.next().is_none(), "{name} {labels:?} twice");
        Some(first.value)
    }

    /// [`Page::get`].
    ///
    /// # Panics
    /// When there is no such sample.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name} {labels:?} in {:#?}", self.samples))
    }

    /// The declared type of metric `name`.
    ///
    /// # Panics
    /// When the page declares none.
    pub fn kind(&self, name: &str) -> &str {
        self.types
            .get(name)
            .unwrap_or_else(|| panic!("no TYPE line for {name}"))
    }
}

/// Parses `name{k="v",…} value` or `name value`.
///
/// # Panics
/// When the line is not one.
pub fn parse_sample(line: &str) -> Sample {
    let bad = || -> ! { panic!("bad sample line: {line:?}") };
    let name_end = line.find(['{', ' ']).unwrap_or_else(|| bad());
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        bad();
    }
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = inner.find("=\"").unwrap_or_else(|| bad());
            let key = &inner[..eq];
            let mut value = String::new();
            let mut chars = inner[eq + 2..].char_indices();
            let end = loop {
                match chars.next() {
                    Some((i, '"')) => break eq + 2 + i + 1,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c @ ('\\' | '"'))) => value.push(c),
                        _ => bad(),
                    },
                    Some((_, c)) => value.push(c),
                    None => bad(),
                }
            };
            labels.insert(key.to_string(), value);
            inner = &inner[end..];
            inner = inner.strip_prefix(',').unwrap_or(inner);
        }
    }
    let value_text = rest.trim();
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        t => t.parse().unwrap_or_else(|_| bad()),
    };
    Sample {
        name: name.to_string(),
        labels,
        value,
    }
}
