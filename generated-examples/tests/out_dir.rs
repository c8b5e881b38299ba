//! The build-script path: `build.rs` runs `hollow_codegen::compile_to_out_dir`
//! on the example schemas, and `include_generated!()` brings the modules in.
//! They are the same types as the checked-in `models/src/gen` (same schema text,
//! same encoding).

#[allow(unreachable_pub, dead_code, missing_docs)]
mod from_build {
    hollow_codegen::include_generated!();
}

use generated_examples::gen;
use generated_examples::sample;
use hollow_runtime::{to_canonical_bytes, Struct};

#[test]
fn build_script_output_equals_the_checked_in_types() {
    assert_eq!(
        from_build::movies::Movie::capnp_schema(),
        gen::movies::Movie::capnp_schema()
    );
    assert_eq!(
        from_build::iot::Alert::capnp_schema(),
        gen::iot::Alert::capnp_schema()
    );
    let m = &sample::movies::at(1).movies[0];
    let same = from_build::movies::Movie {
        id: m.id,
        title: m.title.clone(),
        year: m.year,
        runtime_min: m.runtime_min,
        rating: m.rating,
        genres: m.genres.clone(),
        cast_ids: m.cast_ids.clone(),
        description: m.description.clone(),
        localized_titles: m.localized_titles.clone(),
        tags: m.tags.clone(),
    };
    assert_eq!(
        to_canonical_bytes(&same).expect("encode"),
        to_canonical_bytes(m).expect("encode")
    );
}
