//! The benchmark's movies generated lazily, one record at a time, for runs
//! too large to hold the input records in memory (`hollow-big`).
//!
//! Movie `id` is drawn by the benchmark's own generator
//! ([`movie`](crate::movie)) from a `java.util.Random` seeded with a mix of
//! the run's seed, `id` and how often the movie has changed
//! (its *generation*), so any movie of any cycle can be made again on its
//! own, in any order: by the producer's populate, and by a consumer
//! checking what it reads. A movie changes in cycle `c` (from 2 on) when a
//! mix of the seed, its id and `c` falls in one case out of
//! [`CHANGE_ONE_IN`]: about 1 % of the movies change in each cycle. The
//! [`ACTORS`](crate::ACTORS) actors never change.
//!
//! The data has the benchmark's shape and value ranges, but not its
//! values: [`initial`](crate::initial) draws every record from one
//! generator in order, which cannot be done lazily.

use hollow_runtime::producer::CycleWriter;

use crate::{actor, movie, Actor, JavaRandom, Movie, ACTORS};

/// A movie changes in a cycle in one case out of this many (1 %).
pub const CHANGE_ONE_IN: u64 = 100;

/// SplitMix64's finaliser: a well-mixed 64-bit function of `x`.
fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A mix of `seed`, a stream tag, `id` and `n`.
fn key(seed: u64, stream: u64, id: u64, n: u64) -> u64 {
    mix64(mix64(mix64(seed ^ stream).wrapping_add(id)).wrapping_add(n))
}

const MOVIE_STREAM: u64 = 0x004d_4f56_4945;
const ACTOR_STREAM: u64 = 0x0041_4354_4f52;
const CHANGE_STREAM: u64 = 0x4348_414e_4745;

/// Whether movie `id` changes in cycle `cycle` (never in cycle 1, the
/// first).
pub fn changes_in(seed: u64, id: u64, cycle: u64) -> bool {
    cycle >= 2 && key(seed, CHANGE_STREAM, id, cycle).is_multiple_of(CHANGE_ONE_IN)
}

/// How often movie `id` has changed by cycle `cycle` (cycles 2..=`cycle`).
pub fn generation(seed: u64, id: u64, cycle: u64) -> u64 {
    (2..=cycle).filter(|&c| changes_in(seed, id, c)).count() as u64
}

/// Movie `id` in cycle `cycle`.
pub fn movie_at(seed: u64, id: u64, cycle: u64) -> Movie {
    let g = generation(seed, id, cycle);
    movie(&mut JavaRandom::new(key(seed, MOVIE_STREAM, id, g)), id)
}

/// Actor `id` (the same in every cycle).
pub fn actor_at(seed: u64, id: u64) -> Actor {
    actor(&mut JavaRandom::new(key(seed, ACTOR_STREAM, id, 0)), id)
}

/// A producer cycle adding the [`ACTORS`] actors, then movies `0..movies`
/// as they are in cycle `cycle`, each made as it is added (none is held).
pub fn populate(
    seed: u64,
    movies: u64,
    cycle: u64,
) -> impl FnOnce(&mut CycleWriter<'_>) -> Result<(), hollow_runtime::Error> {
    move |w| {
        for id in 0..ACTORS {
            w.add(&actor_at(seed, id))?;
        }
        for id in 0..movies {
            w.add(&movie_at(seed, id, cycle))?;
        }
        Ok(())
    }
}

/// The first field in which `got` differs from `want`, named, with both
/// values; `None` when they are equal.
pub fn movie_diff(got: &Movie, want: &Movie) -> Option<String> {
    macro_rules! field {
        ($f:ident) => {
            if got.$f != want.$f {
                return Some(format!(
                    concat!(stringify!($f), " is {:?}, the generator's {:?}"),
                    got.$f, want.$f
                ));
            }
        };
    }
    field!(id);
    field!(title);
    field!(year);
    field!(runtime_min);
    // Bit for bit: a rating read back must be the very float written.
    if got.rating.to_bits() != want.rating.to_bits() {
        return Some(format!(
            "rating is {:?}, the generator's {:?}",
            got.rating, want.rating
        ));
    }
    field!(genres);
    field!(cast_ids);
    field!(description);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_movie_is_a_function_of_seed_id_and_generation() {
        assert_eq!(movie_at(7, 123, 1), movie_at(7, 123, 1));
        assert_ne!(movie_at(7, 123, 1), movie_at(8, 123, 1));
        assert_ne!(movie_at(7, 123, 1).title, movie_at(7, 124, 1).title);
        assert_eq!(actor_at(7, 5), actor_at(7, 5));
        // A movie that changed in cycle 2 differs from cycle 1 and stays
        // as it is in cycle 2 until it changes again.
        let id = (0..10_000)
            .find(|&id| changes_in(7, id, 2))
            .expect("about 1 % of ids change");
        assert_ne!(movie_at(7, id, 1), movie_at(7, id, 2));
        let stay = (3..50).find(|&c| !changes_in(7, id, c)).unwrap();
        assert_eq!(movie_at(7, id, stay - 1), movie_at(7, id, stay));
        let unchanged = (0..10_000).find(|&id| !changes_in(7, id, 2)).unwrap();
        assert_eq!(movie_at(7, unchanged, 1), movie_at(7, unchanged, 2));
    }

    #[test]
    fn about_one_in_a_hundred_change_per_cycle() {
        let n = 100_000;
        let changed = (0..n).filter(|&id| changes_in(42, id, 2)).count() as u64;
        assert!((800..1200).contains(&changed), "{changed} of {n} changed");
        assert!(!(0..n).any(|id| changes_in(42, id, 1)));
    }

    #[test]
    fn movies_keep_the_benchmark_shape() {
        for id in 0..1000 {
            let m = movie_at(1, id, 1);
            assert_eq!(m.id, id);
            assert!((20..=40).contains(&m.title.len()));
            assert!((1..=3).contains(&m.genres.len()));
            assert!((3..=10).contains(&m.cast_ids.len()));
            assert!((100..=200).contains(&m.description.len()));
        }
    }

    #[test]
    fn a_diff_names_the_first_field_that_differs() {
        let want = movie_at(3, 9, 1);
        assert_eq!(movie_diff(&want, &want), None);
        let mut got = want.clone();
        got.cast_ids.push(1);
        got.description.push('x');
        let d = movie_diff(&got, &want).unwrap();
        assert!(d.starts_with("cast_ids is "), "{d}");
        let mut got = want.clone();
        got.rating = f32::from_bits(want.rating.to_bits() ^ 1);
        assert!(movie_diff(&got, &want).unwrap().starts_with("rating is "));
    }
}
