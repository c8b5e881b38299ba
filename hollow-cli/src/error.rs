//! [`CliError`]: one line saying what is wrong, and the exit code.

use std::fmt;

/// Exit code of a failed command (unknown store, version, type or key; a
/// corrupt blob; a schema file that does not compile; I/O).
pub const EXIT_ERROR: u8 = 1;
/// Exit code of `hollow verify` when it found problems.
pub const EXIT_VERIFY_FAILED: u8 = 3;
/// Exit code of `hollow schema-diff` when a change is breaking.
pub const EXIT_BREAKING: u8 = 3;
/// Exit code of an admin command (`pin`, `unpin`, `announce`, `clean`)
/// that refused: a missing or incomplete version, no confirmation.
pub const EXIT_REFUSED: u8 = 4;
/// Exit code of an admin command that lost a compare-and-swap: the
/// announcement or pin changed since the command read it (a producer
/// announced, another operator pinned); nothing changed.
pub const EXIT_CONFLICT: u8 = 5;

/// A failed command: the message (one line) and the process exit code.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: u8,
    broken_pipe: bool,
}

impl CliError {
    /// An error with exit code [`EXIT_ERROR`].
    #[cold]
    pub fn new(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: EXIT_ERROR,
            broken_pipe: false,
        }
    }

    /// An error with the given exit code.
    #[cold]
    pub fn with_code(message: impl Into<String>, code: u8) -> CliError {
        CliError {
            message: message.into(),
            code,
            broken_pipe: false,
        }
    }

    /// The exit code.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// Whether the output was closed by its reader (`hollow export | head`):
    /// not worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line: newlines in wrapped messages become spaces.
        f.write_str(&self.message.replace('\n', " "))
    }
}

impl std::error::Error for CliError {}

impl From<hollow_runtime::dynamic::DynamicError> for CliError {
    fn from(e: hollow_runtime::dynamic::DynamicError) -> Self {
        CliError::new(e.to_string())
    }
}

impl From<hollow_runtime::blob::BlobError> for CliError {
    fn from(e: hollow_runtime::blob::BlobError) -> Self {
        CliError::new(e.to_string())
    }
}

impl From<hollow_runtime::Error> for CliError {
    fn from(e: hollow_runtime::Error) -> Self {
        CliError::new(e.to_string())
    }
}

impl From<hollow_runtime::StoreError> for CliError {
    fn from(e: hollow_runtime::StoreError) -> Self {
        CliError::new(e.to_string())
    }
}

/// Writing the output failed (a closed pipe, a full disk).
pub(crate) fn output(e: std::io::Error) -> CliError {
    let mut err = CliError::new(format!("cannot write the output: {e}"));
    err.broken_pipe = e.kind() == std::io::ErrorKind::BrokenPipe;
    err
}
