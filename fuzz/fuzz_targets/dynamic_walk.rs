//! Fuzz target `dynamic_walk`: see `hollow_tests::fuzz::Target::Dynamic`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hollow_fuzz::run(hollow_tests::fuzz::Target::Dynamic, data);
});
