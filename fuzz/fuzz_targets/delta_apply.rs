//! Fuzz target `delta_apply`: see `hollow_tests::fuzz::Target::Delta`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hollow_fuzz::run(hollow_tests::fuzz::Target::Delta, data);
});
