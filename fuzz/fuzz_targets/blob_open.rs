//! Fuzz target `blob_open`: see `hollow_tests::fuzz::Target::Open`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hollow_fuzz::run(hollow_tests::fuzz::Target::Open, data);
});
