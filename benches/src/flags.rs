//! The command-line flags the bench binaries share, read one way in all of
//! them: `--movies N` (at least 1 000, `_` allowed between digits) and
//! `--reps R` (at least 1), each with an error that names the flag.
//!
//! ```
//! use hollow_benches::flags::{unknown, Flags};
//!
//! let mut f = Flags::new(["--movies", "20_000", "--json"].map(String::from));
//! let (mut movies, mut json) = (1_000_000, false);
//! while let Some(flag) = f.next_flag() {
//!     match flag.as_str() {
//!         "--movies" => movies = f.movies()?,
//!         "--json" => json = true,
//!         other => return Err(unknown(other)),
//!     }
//! }
//! assert_eq!((movies, json), (20_000, true));
//! # Ok::<(), String>(())
//! ```

/// The arguments after the program's name, read flag by flag.
pub struct Flags<I> {
    args: I,
}

impl Flags<std::iter::Skip<std::env::Args>> {
    /// The process's own arguments.
    pub fn from_env() -> Self {
        Flags::new(std::env::args().skip(1))
    }
}

impl<I: Iterator<Item = String>> Flags<I> {
    /// Flags read from `args` (without the program's name).
    pub fn new(args: impl IntoIterator<IntoIter = I>) -> Self {
        Flags {
            args: args.into_iter(),
        }
    }

    /// The next flag, if any is left.
    pub fn next_flag(&mut self) -> Option<String> {
        self.args.next()
    }

    /// The value following `flag`.
    ///
    /// # Errors
    /// No argument follows it.
    pub fn value(&mut self, flag: &str) -> Result<String, String> {
        self.args
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))
    }

    /// The value of `--movies`: a number of movies, at least 1 000.
    ///
    /// # Errors
    /// No value, not a number, or fewer than 1 000.
    pub fn movies(&mut self) -> Result<u64, String> {
        let v = self.value("--movies")?;
        let n: u64 = v
            .replace('_', "")
            .parse()
            .map_err(|_| format!("--movies takes a number, not {v:?}"))?;
        if n < 1000 {
            return Err(format!("--movies must be at least 1000, not {n}"));
        }
        Ok(n)
    }

    /// The value of `--reps`: how many times each figure is timed, at
    /// least once.
    ///
    /// # Errors
    /// No value, not a number, or 0.
    pub fn reps(&mut self) -> Result<usize, String> {
        let v = self.value("--reps")?;
        match v.parse() {
            Ok(0) => Err("--reps must be at least 1".into()),
            Ok(r) => Ok(r),
            Err(_) => Err(format!("--reps takes a number, not {v:?}")),
        }
    }
}

/// The error for a flag no binary knows.
pub fn unknown(flag: &str) -> String {
    format!("unknown argument {flag:?}; try --help")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags<std::vec::IntoIter<String>> {
        Flags::new(args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn values_are_read_after_their_flag() {
        let mut f = flags(&["--movies", "1_000_000", "--reps", "3", "--dir", "/x"]);
        assert_eq!(f.next_flag().as_deref(), Some("--movies"));
        assert_eq!(f.movies(), Ok(1_000_000));
        assert_eq!(f.next_flag().as_deref(), Some("--reps"));
        assert_eq!(f.reps(), Ok(3));
        assert_eq!(f.next_flag().as_deref(), Some("--dir"));
        assert_eq!(f.value("--dir").as_deref(), Ok("/x"));
        assert_eq!(f.next_flag(), None);
    }

    #[test]
    fn bad_values_name_the_flag() {
        assert_eq!(
            flags(&["ten"]).movies(),
            Err("--movies takes a number, not \"ten\"".into())
        );
        assert_eq!(
            flags(&["999"]).movies(),
            Err("--movies must be at least 1000, not 999".into())
        );
        assert_eq!(
            flags(&["0"]).reps(),
            Err("--reps must be at least 1".into())
        );
        assert_eq!(
            flags(&["-1"]).reps(),
            Err("--reps takes a number, not \"-1\"".into())
        );
        assert_eq!(flags(&[]).value("--dir"), Err("--dir needs a value".into()));
        assert_eq!(unknown("--fast"), "unknown argument \"--fast\"; try --help");
    }
}
