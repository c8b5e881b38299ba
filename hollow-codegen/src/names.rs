//! Cap'n Proto names to Rust names, matching what `#[derive(Hollow)]` maps
//! back (so a `rename` attribute is emitted only where it is needed).

/// Rust keywords that can be written as raw identifiers (`r#type`).
const RAW_OK: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try", "gen",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// `runtimeMin` → `runtime_min`; `castIDs` → `cast_i_ds`.
pub(crate) fn snake(capnp: &str) -> String {
    let mut out = String::with_capacity(capnp.len() + 4);
    for (i, c) in capnp.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `pending` → `Pending`; `sciFi` → `SciFi`.
pub(crate) fn upper_camel(capnp: &str) -> String {
    let mut out = String::with_capacity(capnp.len());
    let mut upper_next = true;
    for c in capnp.chars() {
        if c == '_' {
            upper_next = true;
        } else if upper_next {
            out.push(c.to_ascii_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A Rust identifier for `name` (a field or variant name already converted),
/// and the Cap'n Proto name to give in `#[hollow(rename = "…")]` when the
/// derive would not map the identifier back to `capnp`.
pub(crate) fn ident(name: String, capnp: &str) -> (String, Option<String>) {
    let ident = if NOT_RAW.contains(&name.as_str()) {
        format!("{name}_")
    } else if RAW_OK.contains(&name.as_str()) {
        format!("r#{name}")
    } else {
        name
    };
    let rename = (hollow_schema::lower_camel(&ident) != capnp).then(|| capnp.to_string());
    (ident, rename)
}

/// A Rust module name for a schema file (`movies.capnp` → `movies`,
/// `iot-devices.capnp` → `iot_devices`).
pub(crate) fn module_name(file: &str) -> String {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let stem = base.strip_suffix(".capnp").unwrap_or(base);
    let mut m: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if m.is_empty() || m.starts_with(|c: char| c.is_ascii_digit()) {
        m.insert(0, '_');
    }
    if RAW_OK.contains(&m.as_str()) || NOT_RAW.contains(&m.as_str()) || m == "mod" {
        m.push('_');
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_the_derive() {
        for capnp in [
            "id",
            "runtimeMin",
            "castIds",
            "httpURL",
            "a1b2",
            "epochMillis",
        ] {
            let (ident, rename) = ident(snake(capnp), capnp);
            assert_eq!(rename, None, "{capnp} -> {ident}");
        }
        assert_eq!(ident(snake("type"), "type"), ("r#type".into(), None));
        // The derive drops a trailing underscore, so no rename is needed.
        assert_eq!(ident(snake("self"), "self"), ("self_".into(), None));
        assert_eq!(hollow_schema::lower_camel("self_"), "self");
        assert_eq!(ident(upper_camel("sciFi"), "sciFi"), ("SciFi".into(), None));
    }

    #[test]
    fn module_names() {
        assert_eq!(module_name("movies.capnp"), "movies");
        assert_eq!(module_name("dir/iot-devices.capnp"), "iot_devices");
        assert_eq!(module_name("type.capnp"), "type_");
        assert_eq!(module_name("3d.capnp"), "_3d");
    }
}
