//! Netflix Hollow's figures on the same workload, read from the `key value`
//! lines its benchmark program prints (one run; see `docs/benchmark.md`),
//! so `hollow-bench --netflix FILE` sets each of ours beside the one
//! measured on the same machine.
//!
//! ```
//! let f = hollow_benches::netflix::Netflix::parse(
//!     "onheap.pk_lookup_1M_random_ns_per 361.70\nblob.delta_all_bytes 1.0,2.0\n",
//! );
//! assert_eq!(f.get("onheap.pk_lookup_1M_random_ns_per").unwrap(), 361.7);
//! assert!(f.get("consumer.snapshot_load_v1_median_ms").is_err());
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One run's figures by key.
pub struct Netflix {
    source: PathBuf,
    figures: HashMap<String, f64>,
}

/// A figure the file does not hold, or a file that cannot be read.
#[derive(Debug)]
pub struct NetflixError(String);

impl std::fmt::Display for NetflixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NetflixError {}

impl Netflix {
    /// Reads the lines at `path`.
    ///
    /// # Errors
    /// The file cannot be read, or holds no figure at all.
    pub fn read(path: &Path) -> Result<Netflix, NetflixError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            NetflixError(format!(
                "cannot read Netflix Hollow's figures at {}: {e}",
                path.display()
            ))
        })?;
        let mut n = Netflix::parse(&text);
        if n.figures.is_empty() {
            return Err(NetflixError(format!(
                "{} holds no `key value` line of Netflix Hollow's figures",
                path.display()
            )));
        }
        n.source = path.to_path_buf();
        Ok(n)
    }

    /// The figures of `text`: every line `key number` (a line whose value
    /// is not one number, such as a list of every round, is skipped).
    pub fn parse(text: &str) -> Netflix {
        let figures = text
            .lines()
            .filter_map(|l| {
                let mut parts = l.split_whitespace();
                let key = parts.next()?;
                let value = parts.next()?.parse().ok()?;
                Some((key.to_string(), value))
            })
            .collect();
        Netflix {
            source: PathBuf::from("the text given"),
            figures,
        }
    }

    /// The figure under `key`.
    ///
    /// # Errors
    /// The run printed no such figure.
    pub fn get(&self, key: &str) -> Result<f64, NetflixError> {
        self.figures.get(key).copied().ok_or_else(|| {
            NetflixError(format!(
                "{} has no figure `{key}` of Netflix Hollow",
                self.source.display()
            ))
        })
    }
}
