//! Fuzz target `snapshot_load`: see `hollow_tests::fuzz::Target::Snapshot`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hollow_fuzz::run(hollow_tests::fuzz::Target::Snapshot, data);
});
