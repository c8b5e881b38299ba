//! Validators: checks a new version must pass before it is announced.

use std::fmt;

use crate::hashing::HashKeyed;
use crate::read_state::ReadState;

/// What a validator sees: the new state and the previous one.
#[derive(Debug)]
pub struct ValidationContext<'a> {
    /// The version about to be announced.
    pub version: u64,
    /// The last announced state (`None` for the first version).
    pub previous: Option<&'a ReadState>,
    /// The state about to be announced.
    pub next: &'a ReadState,
}

/// A check run on every new version before it is announced; a refusal rolls
/// the cycle back.
pub trait Validator: Send + Sync {
    /// A name for messages.
    fn name(&self) -> &str;
    /// Checks the new version.
    ///
    /// # Errors
    /// Why the version is refused (the message is shown to the operator).
    /// A message converts into the error: `Err(format!(...).into())`.
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationError>;
}

/// Why a [`Validator`] refused a version: a message for the operator, and
/// the error behind it, if any.
///
/// ```
/// use hollow_runtime::producer::ValidationError;
///
/// let e: ValidationError = format!("{} movies is too few", 3).into();
/// assert_eq!(e.to_string(), "3 movies is too few");
/// let io = std::io::Error::other("feed unreachable");
/// let e = ValidationError::with_source("cannot compare with the feed", io);
/// assert_eq!(e.to_string(), "cannot compare with the feed: feed unreachable");
/// ```
#[derive(Debug)]
pub struct ValidationError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ValidationError {
    /// A refusal saying `message`.
    #[cold]
    pub fn new(message: impl Into<String>) -> Self {
        ValidationError {
            message: message.into(),
            source: None,
        }
    }

    /// A refusal saying `message`, caused by `source` (shown after it).
    #[cold]
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        ValidationError {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The message, without the source's.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.source {
            write!(f, ": {s}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for ValidationError {
    fn from(message: String) -> Self {
        ValidationError::new(message)
    }
}

impl From<&str> for ValidationError {
    fn from(message: &str) -> Self {
        ValidationError::new(message)
    }
}

/// Refuses a version whose record count of a type changed by more than a
/// percentage of the previous count (a feed that suddenly lost half its
/// data, say).
#[derive(Clone, Debug)]
pub struct RecordCountVariance {
    type_name: String,
    max_percent: f64,
}

impl RecordCountVariance {
    /// At most `max_percent` % change in the number of `type_name` records.
    pub fn new(type_name: impl Into<String>, max_percent: f64) -> Self {
        RecordCountVariance {
            type_name: type_name.into(),
            max_percent,
        }
    }
}

impl Validator for RecordCountVariance {
    fn name(&self) -> &str {
        "record-count-variance"
    }

    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationError> {
        let Some(prev) = ctx.previous else {
            return Ok(());
        };
        let (a, b) = (prev.count(&self.type_name), ctx.next.count(&self.type_name));
        if a == 0 {
            return Ok(());
        }
        let change = (b as f64 - a as f64).abs() * 100.0 / a as f64;
        if change > self.max_percent {
            return Err(ValidationError::new(format!(
                "{} records went from {a} to {b} ({change:.1} % change, limit {} %)",
                self.type_name, self.max_percent
            )));
        }
        Ok(())
    }
}

type CheckFn = dyn Fn(&ReadState) -> Result<(), ValidationError> + Send + Sync;

/// Refuses a version in which two records of a type share a primary key.
///
/// The producer always checks this while writing (a cycle with a duplicate
/// key fails naming the type and key); this validator states the rule
/// explicitly in a producer's configuration, and checks states restored from
/// blobs written elsewhere, through the given key function.
pub struct DuplicatePrimaryKey {
    type_name: String,
    check: Box<CheckFn>,
}

impl std::fmt::Debug for DuplicatePrimaryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuplicatePrimaryKey")
            .field("type_name", &self.type_name)
            .finish()
    }
}

impl DuplicatePrimaryKey {
    /// Checks the primary keys of `T`.
    pub fn of<T: crate::Record>() -> Self {
        DuplicatePrimaryKey {
            type_name: T::TYPE_NAME.to_string(),
            check: Box::new(|state: &ReadState| {
                let records = state.records::<T>();
                let mut seen: HashKeyed<Vec<u32>> = HashKeyed::default();
                for (o, r) in records.iter() {
                    let h = T::primary_key_hash_ref(&r);
                    let same = seen.entry(h).or_default();
                    for &p in same.iter() {
                        if let Some(other) = records.get(p) {
                            if let Ok(v) = T::from_ref(other) {
                                if v.primary_key_eq_ref(&r) {
                                    return Err(ValidationError::new(format!(
                                        "{} ordinals {p} and {o} share the primary key {}",
                                        T::TYPE_NAME,
                                        v.describe_primary_key()
                                    )));
                                }
                            }
                        }
                    }
                    same.push(o);
                }
                Ok(())
            }),
        }
    }
}

impl Validator for DuplicatePrimaryKey {
    fn name(&self) -> &str {
        "duplicate-primary-key"
    }

    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationError> {
        (self.check)(ctx.next)
    }
}
