//! Runs fuzz inputs (crash files, corpus entries) through a fuzz target
//! outside the fuzzer and prints what each does: read, refused with which
//! error, or the panic's message and location. An input that allocates
//! past the cap aborts the process, after naming itself on standard error.
//!
//! `cargo run -p hollow-tests --example fuzz_triage -- <target> <file>...`
//! with `<target>` one of `blob_open`, `snapshot_load`, `delta_apply`,
//! `dynamic_walk`.

use hollow_tests::fuzz::{run_caught, set_current_input, CappedAlloc, Target};
use hollow_tests::mutate;

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(target) = args.next().as_deref().and_then(Target::from_name) else {
        eprintln!(
            "usage: fuzz_triage <blob_open|snapshot_load|delta_apply|dynamic_walk> <file>..."
        );
        std::process::exit(2);
    };
    let sets =
        mutate::load_seed_sets(&mutate::seeds_dir()).expect("the seed blobs under fuzz/seeds");
    for file in args {
        let input = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        set_current_input(&file);
        match run_caught(target, &sets, &input) {
            Ok(outcome) => println!("{file}: {outcome:?}"),
            Err(panic) => println!("{file}: PANIC {panic}"),
        }
    }
}
