//! The Rust → Cap'n Proto name mapping shared by `#[derive(Hollow)]` and
//! `hollow-codegen` (which must agree with it to know when a `rename` is
//! needed).

/// A Rust identifier as the Cap'n Proto name the derive gives it:
/// `runtime_min` → `runtimeMin`, `Drama` → `drama`, `r#type` → `type`,
/// `self_` → `self`.
///
/// ```
/// assert_eq!(hollow_schema::lower_camel("cast_ids"), "castIds");
/// ```
pub fn lower_camel(rust: &str) -> String {
    let rust = rust.strip_prefix("r#").unwrap_or(rust);
    let mut out = String::with_capacity(rust.len());
    let mut upper_next = false;
    for (i, c) in rust.chars().enumerate() {
        if c == '_' {
            upper_next = !out.is_empty();
        } else if upper_next {
            out.extend(c.to_uppercase());
            upper_next = false;
        } else if i == 0 || out.is_empty() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The name `#[derive(Hollow)]` gives the entry struct of map field `field`
/// (its Cap'n Proto name) of struct `owner`: `<Owner><Field>Entry`, the
/// field's first letter made upper case. A map whose value is a map has
/// the inner entry `map_entry_name(entry, "value")`. `hollow-codegen` uses
/// it to know when a field needs `#[hollow(entry = "…")]`.
///
/// ```
/// assert_eq!(hollow_schema::map_entry_name("Movie", "localizedTitles"), "MovieLocalizedTitlesEntry");
/// assert_eq!(
///     hollow_schema::map_entry_name("MovieTitlesEntry", "value"),
///     "MovieTitlesEntryValueEntry"
/// );
/// ```
pub fn map_entry_name(owner: &str, field: &str) -> String {
    let mut c = field.chars();
    let field: String = c
        .next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default();
    format!("{owner}{field}Entry")
}

#[cfg(test)]
mod tests {
    use super::lower_camel;

    #[test]
    fn converts() {
        assert_eq!(lower_camel("runtime_min"), "runtimeMin");
        assert_eq!(lower_camel("id"), "id");
        assert_eq!(lower_camel("Drama"), "drama");
        assert_eq!(lower_camel("SciFi"), "sciFi");
        assert_eq!(lower_camel("r#type"), "type");
        assert_eq!(lower_camel("cast_ids"), "castIds");
    }
}
