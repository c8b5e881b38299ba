//! The benchmark workload of `docs/benchmark.md`: the `Movie` and `Actor`
//! record types and their deterministic generator (Java's `java.util.Random`
//! with seed 42, reimplemented exactly, so the data matches the Netflix
//! Hollow run record for record).

use hollow_runtime::Hollow;

pub mod flags;
pub mod lazy;
pub mod maps;
pub mod netflix;
pub mod producer_rss;
pub mod pss;

/// A movie, as in the benchmark scenario.
#[derive(Hollow, Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[hollow(primary_key(id), hash_index(year), hash_index(genres))]
pub struct Movie {
    /// Primary key.
    pub id: u64,
    /// Title, 20 to 40 characters.
    pub title: String,
    /// Release year, 1900 to 2025.
    pub year: u16,
    /// Runtime in minutes, 60 to 200.
    pub runtime_min: u16,
    /// Rating, 0 to 10.
    pub rating: f32,
    /// One to three distinct genres.
    pub genres: Vec<String>,
    /// Three to ten actor ids.
    pub cast_ids: Vec<u64>,
    /// Description, 100 to 200 characters.
    pub description: String,
}

/// An actor, as in the benchmark scenario.
#[derive(Hollow, Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[hollow(primary_key(id))]
pub struct Actor {
    /// Primary key.
    pub id: u64,
    /// Name, 10 to 20 characters.
    pub name: String,
}

/// `java.util.Random`, bit for bit.
#[derive(Clone, Debug)]
pub struct JavaRandom {
    seed: u64,
}

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const MASK: u64 = (1 << 48) - 1;

impl JavaRandom {
    /// `new Random(seed)`.
    pub fn new(seed: u64) -> Self {
        JavaRandom {
            seed: (seed ^ MULTIPLIER) & MASK,
        }
    }

    /// `next(bits)`.
    pub fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(MULTIPLIER).wrapping_add(0xB)) & MASK;
        (self.seed >> (48 - bits)) as i64 as i32
    }

    /// `nextInt(bound)`, `bound > 0`.
    pub fn next_int(&mut self, bound: i32) -> i32 {
        assert!(bound > 0, "bound must be positive");
        if bound & (bound - 1) == 0 {
            return ((bound as i64 * self.next(31) as i64) >> 31) as i32;
        }
        loop {
            let r = self.next(31);
            let v = r % bound;
            if r.checked_sub(v)
                .and_then(|x| x.checked_add(bound - 1))
                .is_some()
            {
                return v;
            }
        }
    }

    /// `nextFloat()`.
    pub fn next_float(&mut self) -> f32 {
        self.next(24) as f32 / (1u32 << 24) as f32
    }
}

/// The 27-character alphabet of random strings.
pub const ALPHABET: &[u8; 27] = b"abcdefghijklmnopqrstuvwxyz ";

/// The twenty genres.
pub const GENRES: [&str; 20] = [
    "action",
    "adventure",
    "animation",
    "biography",
    "comedy",
    "crime",
    "documentary",
    "drama",
    "family",
    "fantasy",
    "history",
    "horror",
    "music",
    "musical",
    "mystery",
    "romance",
    "scifi",
    "sport",
    "thriller",
    "western",
];

/// Number of actors at every size.
pub const ACTORS: u64 = 200_000;

/// `rstr(len)`.
pub fn rstr(rng: &mut JavaRandom, len: i32) -> String {
    (0..len)
        .map(|_| ALPHABET[rng.next_int(27) as usize] as char)
        .collect()
}

/// Generates one movie with id `id` (step 2 of the scenario).
pub fn movie(rng: &mut JavaRandom, id: u64) -> Movie {
    let n = 20 + rng.next_int(21);
    let title = rstr(rng, n);
    let year = 1900 + rng.next_int(126) as u16;
    let runtime_min = 60 + rng.next_int(141) as u16;
    let rating = rng.next_float() * 10.0;
    let k = 1 + rng.next_int(3);
    let mut genres: Vec<String> = Vec::new();
    while genres.len() < k as usize {
        let g = GENRES[rng.next_int(20) as usize];
        if !genres.iter().any(|x| x == g) {
            genres.push(g.to_string());
        }
    }
    let k = 3 + rng.next_int(8);
    let cast_ids = (0..k).map(|_| rng.next_int(200_000) as u64).collect();
    let n = 100 + rng.next_int(101);
    let description = rstr(rng, n);
    Movie {
        id,
        title,
        year,
        runtime_min,
        rating,
        genres,
        cast_ids,
        description,
    }
}

/// Generates one actor with id `id` (step 1 of the scenario).
pub fn actor(rng: &mut JavaRandom, id: u64) -> Actor {
    let n = 10 + rng.next_int(11);
    Actor {
        id,
        name: rstr(rng, n),
    }
}

/// The initial dataset: `ACTORS` actors then `movies` movies, drawn in
/// that order from one generator (returned for the later cycles).
pub fn initial(movies: u64) -> (Vec<Actor>, Vec<Movie>, JavaRandom) {
    let mut rng = JavaRandom::new(42);
    let actors = (0..ACTORS).map(|id| actor(&mut rng, id)).collect();
    let movies = (0..movies).map(|id| movie(&mut rng, id)).collect();
    (actors, movies, rng)
}

/// One cycle of changes (step 4 of the scenario): modify `modify`
/// distinct positions (rating, then title), remove `n / 1000` movies, add
/// `n / 1000` new ones with ids from `next_id` upward.
pub fn change(
    rng: &mut JavaRandom,
    movies: &mut Vec<Movie>,
    n: u64,
    modify: u64,
    next_id: &mut u64,
) {
    // All positions are drawn first (redrawing duplicates), then modified
    // in draw order.
    let len = movies.len() as i32;
    let mut picked = std::collections::HashSet::new();
    let mut order = Vec::new();
    while (order.len() as u64) < modify.min(len as u64) {
        let pos = rng.next_int(len) as usize;
        if picked.insert(pos) {
            order.push(pos);
        }
    }
    for pos in order {
        let m = &mut movies[pos];
        m.rating = rng.next_float() * 10.0;
        let k = 20 + rng.next_int(21);
        m.title = rstr(rng, k);
    }
    for _ in 0..n / 1000 {
        let pos = rng.next_int(movies.len() as i32) as usize;
        let last = movies.len() - 1;
        movies.swap(pos, last);
        movies.pop();
    }
    for _ in 0..n / 1000 {
        let m = movie(rng, *next_id);
        *next_id += 1;
        movies.push(m);
    }
}

/// The middle value of timed repetitions (NaN when there are none).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A duration in milliseconds.
pub fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A duration in microseconds.
pub fn us(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A producer cycle adding every actor, then every movie.
pub fn populate<'a>(
    actors: &'a [Actor],
    movies: &'a [Movie],
) -> impl FnOnce(&mut hollow_runtime::producer::CycleWriter<'_>) -> Result<(), hollow_runtime::Error> + 'a
{
    move |w| {
        for a in actors {
            w.add(a)?;
        }
        for m in movies {
            w.add(m)?;
        }
        Ok(())
    }
}

/// Checks that `state` holds exactly `movies` (the producer's), naming
/// the first difference.
///
/// # Errors
/// A count that differs, an unreadable record, or a movie that differs.
pub fn check_equal(state: &hollow_runtime::ReadState, movies: &[Movie]) -> Result<(), String> {
    let recs = state.records::<Movie>();
    if recs.len() != movies.len() {
        return Err(format!(
            "consumer holds {} movies, producer {}",
            recs.len(),
            movies.len()
        ));
    }
    let by_id: std::collections::HashMap<u64, &Movie> = movies.iter().map(|m| (m.id, m)).collect();
    for (o, r) in recs.iter() {
        let v = r
            .to_value()
            .map_err(|e| format!("ordinal {o} unreadable: {e}"))?;
        if by_id.get(&v.id) != Some(&&v) {
            return Err(format!("movie {} differs from the producer's", v.id));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_random_matches_java() {
        // Printed by OpenJDK 17 for `new Random(42)` and these draws in order:
        // nextInt(100) x3, nextFloat(), nextInt(27), nextInt(1 << 20),
        // nextInt(200000) -> 30 63 48 0.0479393 9 987835 21505
        let mut r = JavaRandom::new(42);
        assert_eq!(r.next_int(100), 30);
        assert_eq!(r.next_int(100), 63);
        assert_eq!(r.next_int(100), 48);
        assert_eq!(format!("{}", r.next_float()), "0.0479393");
        assert_eq!(r.next_int(27), 9);
        assert_eq!(r.next_int(1 << 20), 987835);
        assert_eq!(r.next_int(200_000), 21505);
    }

    #[test]
    fn generation_is_deterministic() {
        let (a1, m1, _) = initial(100);
        let (a2, m2, _) = initial(100);
        assert_eq!(a1.len(), ACTORS as usize);
        assert_eq!(m1, m2);
        assert_eq!(a1[..10], a2[..10]);
        assert!(m1.iter().all(|m| (1..=3).contains(&m.genres.len())));
        assert!(m1.iter().all(|m| (20..=40).contains(&m.title.len())));
    }
}
