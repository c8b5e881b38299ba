//! The fuzz targets (`hollow_tests::fuzz`) as plain tests: the checked-in
//! corpus and regression inputs under `fuzz/`, and a fixed number of
//! mutants generated from a seeded RNG with the fuzzers' own mutators
//! (`hollow_tests::mutate`). Every input must be read or refused with an
//! error: no panic, no allocation beyond `ALLOCATION_CAP` (the process
//! aborts on one, naming the input), and a loaded state must agree with
//! itself (`len()` against the records walked, its version against the
//! blob's name). See `docs/fuzzing.md`.

use std::path::{Path, PathBuf};

use hollow_tests::fuzz::{run_caught, set_current_input, CappedAlloc, Outcome, Target};
use hollow_tests::mutate::{self, Rng, SeedSet};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

/// Generated mutants per target.
const MUTANTS: u64 = 2000;

fn seeds() -> Vec<SeedSet> {
    let sets = mutate::load_seed_sets(&mutate::seeds_dir()).expect("fuzz/seeds");
    assert!(
        sets.len() >= 2,
        "seed sets under fuzz/seeds: {}",
        sets.len()
    );
    sets
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Runs one input, naming it for the allocation cap's message.
fn replay(target: Target, sets: &[SeedSet], name: &str, input: &[u8]) -> Result<Outcome, String> {
    set_current_input(&format!("{} {name}", target.name()));
    run_caught(target, sets, input)
}

/// The files of `dir`, sorted (none when it does not exist).
fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            let bytes = std::fs::read(e.path()).expect("a corpus file");
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    files.sort();
    files
}

/// The seeds themselves: every target reads every seed blob unchanged,
/// with records.
#[test]
fn seeds_are_read_by_every_target() {
    let sets = seeds();
    for target in Target::ALL {
        for set in 0..sets.len() as u8 {
            for pick in 0..4u8 {
                let name = format!("set {set} blob {pick}");
                match replay(target, &sets, &name, &[set, pick]) {
                    Ok(Outcome::Read { records }) if records > 0 => {}
                    other => panic!("{} on {name}: {other:?}", target.name()),
                }
            }
        }
    }
}

/// A fresh production of the seeds is read too (the generator still works
/// with the current producer, and its blobs agree with the checked-in
/// ones in shape).
#[test]
fn fresh_seeds_match_the_checked_in_ones() {
    let fresh = mutate::make_seed_sets();
    let stored = seeds();
    assert_eq!(fresh.len(), stored.len());
    for (f, s) in fresh.iter().zip(&stored) {
        assert_eq!(f.name, s.name);
        for (a, b) in f.blobs.iter().zip(&s.blobs) {
            assert_eq!(a.name, b.name);
            assert_eq!(
                a.bytes.len(),
                b.bytes.len(),
                "{}/{}: rerun `cargo run -p hollow-tests --example make_fuzz_seeds`",
                f.name,
                a.name
            );
        }
    }
}

/// The checked-in corpus (`fuzz/corpus/<target>/`) and the inputs of
/// crashes found (`fuzz/regressions/<target>/`).
#[test]
fn corpus_and_regressions_replay() {
    let sets = seeds();
    let mut failures = Vec::new();
    let mut count = 0;
    for target in Target::ALL {
        for folder in ["corpus", "regressions"] {
            let dir = fuzz_dir().join(folder).join(target.name());
            for (name, input) in inputs(&dir) {
                count += 1;
                if let Err(e) = replay(target, &sets, &name, &input) {
                    failures.push(format!("{folder}/{}/{name}: {e}", target.name()));
                }
            }
        }
    }
    assert!(count > 0, "no corpus under {}", fuzz_dir().display());
    assert!(
        failures.is_empty(),
        "{} of {count} inputs fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Mutants from a seeded RNG: the same every run.
#[test]
fn generated_mutants() {
    let sets = seeds();
    let mut failures = Vec::new();
    for target in Target::ALL {
        let (mut read, mut refused) = (0, 0);
        for i in 0..MUTANTS {
            let mut rng = Rng::new(i ^ ((target as u64) << 32));
            let len = 2 + (rng.next_u64() % 48) as usize;
            let input = rng.bytes(len);
            match replay(target, &sets, &format!("mutant {i}"), &input) {
                Ok(Outcome::Read { .. }) => read += 1,
                Ok(_) => refused += 1,
                Err(e) => failures.push(format!("{} mutant {i} {input:?}: {e}", target.name())),
            }
        }
        // The checksums are recomputed, so mutants get past them: both
        // outcomes are common.
        assert!(
            read >= MUTANTS / 20 && refused >= MUTANTS / 20,
            "{}: {read} read, {refused} refused",
            target.name()
        );
    }
    assert!(
        failures.is_empty(),
        "{} mutants fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
