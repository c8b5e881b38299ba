//! Writes the fuzzers' seed blobs to `fuzz/seeds/` (or the folder given as
//! the first argument): two versions of each seed dataset, published by a
//! real producer (see `hollow_tests::mutate::make_seed_sets`).
//!
//! `cargo run -p hollow-tests --example make_fuzz_seeds`

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(hollow_tests::mutate::seeds_dir, Into::into);
    let sets = hollow_tests::mutate::make_seed_sets();
    hollow_tests::mutate::write_seed_sets(&dir, &sets)?;
    for set in &sets {
        for b in &set.blobs {
            eprintln!("{}/{}: {} bytes", set.name, b.name, b.bytes.len());
        }
    }
    Ok(())
}
