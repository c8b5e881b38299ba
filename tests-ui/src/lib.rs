//! Compile-time tests of `#[derive(Hollow)]`, in `tests/ui.rs`: inputs
//! that must expand and compile (`tests/ui/pass`) and inputs that must be
//! rejected with a clear message pointing at the offending token
//! (`tests/ui/fail`, each with its `.stderr`). The library is empty; the
//! crate exists so that trybuild builds only `hollow-runtime` for them.
