//! What the fuzz targets share: the seed sets, read once from `fuzz/seeds/`,
//! and the allocator that turns an allocation sized by a blob's bytes into
//! a crash the fuzzer records instead of the machine running out of memory.
//! The targets themselves are `hollow_tests::fuzz`, which the replay test
//! (`tests/tests/fuzz_replay.rs`) runs too.

use std::sync::OnceLock;

use hollow_tests::fuzz::{CappedAlloc, Target};
use hollow_tests::mutate::{self, SeedSet};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

/// Runs `target` on one fuzzer input.
pub fn run(target: Target, data: &[u8]) {
    static SEEDS: OnceLock<Vec<SeedSet>> = OnceLock::new();
    let sets = SEEDS.get_or_init(|| {
        mutate::load_seed_sets(&mutate::seeds_dir()).expect("the seed blobs under fuzz/seeds")
    });
    let _ = hollow_tests::fuzz::run(target, sets, data);
}
