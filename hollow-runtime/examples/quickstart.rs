//! The README's demo: derive a record type, encode records into their
//! canonical bytes, and read them back in place.
//!
//! ```text
//! cargo run -p hollow-runtime --example quickstart
//! ```

use hollow_runtime::{Encoder, Hollow, Record};

/// A genre, stored as a Cap'n Proto enum.
#[derive(Hollow, Debug, Clone, Copy, PartialEq)]
enum Genre {
    Drama,
    Crime,
    Scifi,
}

/// Where a movie was shot, stored inline in the movie's sections.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(group)]
struct Location {
    city: String,
    lat: f64,
    lon: f64,
}

/// A movie: the record type.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(primary_key(id), hash_index(genres))]
struct Movie {
    id: u64,
    title: String,
    year: u16,
    rating: f32,
    genres: Vec<Genre>,
    cast_ids: Vec<u64>,
    location: Location,
    tagline: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let movies = vec![
        Movie {
            id: 1,
            title: "The Borrow Checker".into(),
            year: 2024,
            rating: 8.1,
            genres: vec![Genre::Drama, Genre::Crime],
            cast_ids: vec![10, 11, 12],
            location: Location {
                city: "Oslo".into(),
                lat: 59.91,
                lon: 10.75,
            },
            tagline: Some("Ownership is everything.".into()),
        },
        Movie {
            id: 2,
            title: "Zero Copy".into(),
            year: 2026,
            rating: 7.4,
            genres: vec![Genre::Scifi],
            cast_ids: vec![11],
            location: Location {
                city: "Lisbon".into(),
                lat: 38.72,
                lon: -9.14,
            },
            tagline: None,
        },
    ];

    println!("Schema of Movie, as any Cap'n Proto compiler would read it:\n");
    println!("{}", Movie::CAPNP_SCHEMA);

    let mut encoder = Encoder::new();
    let mut stored = Vec::new();
    for m in &movies {
        let bytes = encoder.encode(m)?.to_vec();
        let hash = hollow_runtime::hash_bytes(&bytes);
        println!(
            "encoded movie {} into {} canonical bytes, hash {hash:016x}",
            m.id,
            bytes.len()
        );
        stored.push(bytes);
    }

    println!("\nRead back in place (no copies, no parsing):");
    for bytes in &stored {
        let r = hollow_runtime::read_root::<Movie>(bytes)?;
        let genres: Vec<String> = r
            .genres()
            .iter()
            .map(|g| g.map_or_else(|e| e.to_string(), |g| format!("{g:?}")))
            .collect();
        println!(
            "  #{} {:?} ({}), rated {:.1}, genres [{}], {} cast, shot in {} ({:.2}, {:.2}), tagline: {}",
            Movie::primary_key_ref(&r),
            r.title(),
            r.year(),
            r.rating(),
            genres.join(", "),
            r.cast_ids().len(),
            r.location().city(),
            r.location().lat(),
            r.location().lon(),
            r.tagline().unwrap_or("(none)"),
        );
        assert!(movies.contains(&r.to_value()?));
    }

    let again = encoder.encode(&movies[0].clone())?;
    println!(
        "\nEncoding an equal record gives identical bytes: {}",
        again == stored[0].as_slice()
    );
    Ok(())
}
