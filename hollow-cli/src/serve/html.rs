//! The pages, rendered from the JSON documents with maud (which escapes
//! every value it writes). Inline CSS only: a page fetches nothing else.

use std::time::Instant;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

use super::ServeError;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;\
text-align:left;vertical-align:top}th{background:#f3f3f3}pre{background:#f7f7f7;padding:.5em;\
overflow:auto}.old{background:#fdd}.new{background:#dfd}.changed{font-weight:bold}\
.err{color:#a00}nav a{margin-right:1em}ul.rec{margin:0;padding-left:1.2em}";

/// A page: title, navigation, body.
fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html {
            head {
                meta charset="utf-8";
                title { (title) " — hollow" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                nav { a href="/" { "versions" } }
                h1 { (title) }
                (body)
            }
        }
    }
}

/// Percent-encodes `s` for a path segment or query value.
pub(super) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A key as the text `?key=` takes: a scalar as itself, a composite key
/// as its JSON array.
fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A JSON value shown as it is: objects as field tables, arrays as lists.
fn value(v: &Value) -> Markup {
    match v {
        Value::Object(m) => html! {
            table { @for (k, x) in m { tr { th { (k) } td { (value(x)) } } } }
        },
        Value::Array(a) if a.is_empty() => html! { "[]" },
        Value::Array(a) => html! { ul.rec { @for x in a { li { (value(x)) } } } },
        Value::String(s) => html! { (s) },
        other => html! { code { (other.to_string()) } },
    }
}

fn u(v: &Value, field: &str) -> u64 {
    v.get(field).and_then(Value::as_u64).unwrap_or(0)
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or("")
}

fn list<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v.get(field)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The versions page.
pub(super) fn versions(d: &Value) -> Markup {
    let opt = |f: &str| {
        d.get(f)
            .and_then(Value::as_u64)
            .map_or("none".to_owned(), |x| x.to_string())
    };
    let versions = list(d, "versions");
    page(
        "Versions",
        html! {
            p { "store: " (s(d, "store")) }
            p { "announced: " (opt("announced")) "; pinned: " (opt("pinned")) "; latest: " (opt("latest")) }
            table {
                tr { th { "version" } th { "status" } th { "snapshot bytes" } th { "deltas" } th { "reverse deltas" } }
                @for x in versions {
                    @let v = u(x, "version");
                    tr {
                        td { a href={ "/v/" (v) } { (v) } }
                        td { (s(x, "status")) }
                        td { @if let Some(b) = x.get("snapshot").and_then(|s| s.get("bytes")) { (b.to_string()) } @else { "-" } }
                        td { @for dl in list(x, "deltas") {
                            @let from = u(dl, "from");
                            a href={ "/diff/" (from) "/" (v) } { "from " (from) } " (" (u(dl, "bytes")) " B) "
                        } }
                        td { @for r in list(x, "reverse_deltas") { "to " (u(r, "to")) " (" (u(r, "bytes")) " B) " } }
                    }
                }
            }
        },
    )
}

/// One version: tags and types.
pub(super) fn version(d: &Value) -> Markup {
    let v = u(d, "version");
    page(
        &format!("Version {v}"),
        html! {
            p { "status: " (s(d, "status")) " · " a href={ "/v/" (v) "/schema" } { "schema" } }
            h2 { "Header tags" }
            @if list(d, "tags").is_empty() { p { "none" } }
            table { @for t in list(d, "tags") { tr { th { (s(t, "key")) } td { (s(t, "value")) } } } }
            h2 { "Record types" }
            p { "counts and bytes from the " (s(d, "counted_from")) " leading to this version" }
            table {
                tr { th { "type" } th { "primary key" } th { "records" } th { "bytes" } th { "look up" } }
                @for t in list(d, "types") {
                    @let name = s(t, "name");
                    tr {
                        td { a href={ "/v/" (v) "/types/" (enc(name)) } { (name) } }
                        td { (s(t, "primary_key")) }
                        td { (u(t, "records")) }
                        td { (u(t, "bytes")) }
                        td { @if !s(t, "primary_key").is_empty() {
                            form action={ "/v/" (v) "/types/" (enc(name)) "/record" } method="get" {
                                input name="key" placeholder="key" size="12"; " " button { "find" }
                            }
                        } }
                    }
                }
            }
            @let declared = list(d, "types").iter().any(|t| !list(t, "unique_keys").is_empty() || !list(t, "hash_indexes").is_empty());
            @if declared {
                h2 { "Unique keys and hash indexes" }
                table {
                    tr { th { "type" } th { "kind" } th { "fields" } th { "look up" } }
                    @for t in list(d, "types") {
                        @let name = s(t, "name");
                        @let base = format!("/v/{v}/types/{}", enc(name));
                        @for k in list(t, "unique_keys") {
                            (lookup_row(&Lookup { class: "unique", kind: "unique key", name, fields: k.as_str().unwrap_or(""), action: format!("{base}/record"), param: "unique", button: "find" }))
                        }
                        @for k in list(t, "hash_indexes") {
                            (lookup_row(&Lookup { class: "hash", kind: "hash index", name, fields: k.as_str().unwrap_or(""), action: format!("{base}/index"), param: "fields", button: "find all" }))
                        }
                    }
                }
            }
        },
    )
}

/// The schema as `.capnp` text.
pub(super) fn schema(d: &Value) -> Markup {
    let v = u(d, "version");
    page(
        &format!("Schema of version {v}"),
        html! { pre { (s(d, "capnp")) } },
    )
}

/// A page of records.
pub(super) fn records(d: &Value) -> Markup {
    let (v, t) = (u(d, "version"), s(d, "type"));
    let (p, pages, per) = (u(d, "page"), u(d, "pages"), u(d, "per_page"));
    let base = format!("/v/{v}/types/{}", enc(t));
    page(
        &format!("{t} in version {v}"),
        html! {
            p { (u(d, "total")) " records · page " (p) " of " (pages) " · "
                @if p > 1 { a href={ (base) "?page=" (p - 1) "&per_page=" (per) } { "previous" } " " }
                @if p < pages { a href={ (base) "?page=" (p + 1) "&per_page=" (per) } { "next" } }
            }
            form action={ (base) "/record" } method="get" { "key " input name="key" size="12"; " " button { "find" } }
            (record_rows(&base, list(d, "records")))
        },
    )
}

/// Records in a table: ordinal and key (each a link to the record) and
/// the record; `base` is the type's path.
fn record_rows(base: &str, records: &[Value]) -> Markup {
    html! {
        table {
            tr { th { "ordinal" } th { "key" } th { "record" } }
            @for r in records {
                @let o = u(r, "ordinal");
                tr {
                    td { a href={ (base) "/record?ordinal=" (o) } { (o) } }
                    td { @if let Some(k) = r.get("key").filter(|k| !k.is_null()) {
                        a href={ (base) "/record?key=" (enc(&key_text(k))) } { (key_text(k)) }
                    } }
                    td { (value(&r["record"])) }
                }
            }
        }
    }
}

/// The records a hash index finds, one page.
pub(super) fn matches(d: &Value) -> Markup {
    let (v, t) = (u(d, "version"), s(d, "type"));
    let (index, val) = (s(d, "index"), s(d, "value"));
    let (p, pages, per) = (u(d, "page"), u(d, "pages"), u(d, "per_page"));
    let base = format!("/v/{v}/types/{}", enc(t));
    let here = format!("{base}/index?fields={}&key={}", enc(index), enc(val));
    page(
        &format!("{t} with {index} = {val} in version {v}"),
        html! {
            p { (u(d, "total")) " records · page " (p) " of " (pages) " · "
                @if p > 1 { a href={ (here) "&page=" (p - 1) "&per_page=" (per) } { "previous" } " " }
                @if p < pages { a href={ (here) "&page=" (p + 1) "&per_page=" (per) } { "next" } }
            }
            (record_rows(&base, list(d, "records")))
        },
    )
}

/// One record.
pub(super) fn record(d: &Value) -> Markup {
    let (v, t) = (u(d, "version"), s(d, "type"));
    let key = d.get("key").filter(|k| !k.is_null()).map(key_text);
    page(
        &format!("{t} ordinal {} in version {v}", u(d, "ordinal")),
        html! {
            @if let Some(k) = &key {
                p { "primary key " code { (k) } " · "
                    a href={ "/history/" (enc(t)) "?key=" (enc(k)) } { "history" } }
            }
            (value(&d["record"]))
        },
    )
}

/// Field changes, old and new values highlighted.
fn changes(ch: &[Value]) -> Markup {
    html! {
        table {
            tr { th { "field" } th { "old" } th { "new" } }
            @for c in ch {
                tr.changed {
                    td { (s(c, "path")) }
                    td.old { @match c.get("old") { Some(x) => (value(x)), None => "(unset)" } }
                    td.new { @match c.get("new") { Some(x) => (value(x)), None => "(unset)" } }
                }
            }
        }
    }
}

/// The diff of two versions.
pub(super) fn diff(d: &Value) -> Markup {
    let (from, to) = (u(d, "from"), u(d, "to"));
    let (p, per) = (u(d, "page"), u(d, "per_page"));
    let types = list(d, "types");
    let more = types.iter().any(|t| {
        ["added", "removed", "modified"]
            .iter()
            .any(|l| u(t, &format!("{l}_total")) > p * per)
    });
    let base = format!("/diff/{from}/{to}");
    page(
        &format!("Diff {from} → {to}"),
        html! {
            p { "through " (s(d, "through")) " · page " (p) " · "
                @if p > 1 { a href={ (base) "?page=" (p - 1) "&per_page=" (per) } { "previous" } " " }
                @if more { a href={ (base) "?page=" (p + 1) "&per_page=" (per) } { "next" } }
            }
            @for t in types {
                @let name = s(t, "type");
                h2 { (name) ": " (u(t, "added_total")) " added, " (u(t, "removed_total")) " removed, "
                    (u(t, "modified_total")) " modified" }
                @for (label, ver) in [("added", to), ("removed", from)] {
                    @if !list(t, label).is_empty() {
                        h3 { (label) }
                        table { @for r in list(t, label) { tr {
                            td { @if let Some(k) = r.get("key").filter(|k| !k.is_null()) {
                                a href={ "/v/" (ver) "/types/" (enc(name)) "/record?key=" (enc(&key_text(k))) } { (key_text(k)) }
                            } @else { "ordinal " (u(r, "ordinal")) } }
                            td { (value(&r["record"])) }
                        } } }
                    }
                }
                @if !list(t, "modified").is_empty() {
                    h3 { "modified" }
                    table { @for m in list(t, "modified") { tr {
                        td { @let k = key_text(&m["key"]);
                            a href={ "/history/" (enc(name)) "?key=" (enc(&k)) } { (k) } }
                        td { (changes(list(m, "changes"))) }
                    } } }
                }
            }
        },
    )
}

/// The history of one key.
pub(super) fn history(d: &Value) -> Markup {
    let t = s(d, "type");
    let k = key_text(&d["key"]);
    page(
        &format!("History of {t} {k}"),
        html! {
            table {
                tr { th { "version" } th { "event" } th { "status" } th { "changes or record" } }
                @for e in list(d, "events") {
                    @let v = u(e, "version");
                    tr {
                        td { a href={ "/v/" (v) "/types/" (enc(t)) "/record?key=" (enc(&k)) } { (v) } }
                        td { (s(e, "event")) }
                        td { (s(e, "status")) }
                        td { @if e.get("changes").is_some() { (changes(list(e, "changes"))) }
                             @else if let Some(r) = e.get("record") { (value(r)) } }
                    }
                }
            }
        },
    )
}

/// An error page (from the JSON error document).
pub(super) fn error(d: &Value) -> Markup {
    page("Error", html! { p.err { (s(d, "error")) } })
}

/// The page of a failed request.
pub(super) fn error_page(e: &ServeError) -> Markup {
    page(
        &format!(
            "{} {}",
            e.status.as_u16(),
            e.status.canonical_reason().unwrap_or("")
        ),
        html! { p.err { (e.message) } },
    )
}

/// `202`: something the page needs is still being done (`what`: "loading
/// version 3"); the page says so, shows a progress bar and refreshes
/// itself each second.
pub(super) fn working(what: &str, started: Instant) -> Response {
    let mut title = String::new();
    let mut chars = what.chars();
    if let Some(c) = chars.next() {
        title.extend(c.to_uppercase());
        title.push_str(chars.as_str());
    }
    title.push('…');
    let body = page(
        &title,
        html! {
            p { progress {} }
            p { (what) " for " (started.elapsed().as_secs()) " s; this page refreshes when it is ready" }
        },
    );
    (
        StatusCode::ACCEPTED,
        [
            ("refresh", "1"),
            (header::CONTENT_TYPE.as_str(), "text/html; charset=utf-8"),
        ],
        body,
    )
        .into_response()
}

/// One row of the version page's lookup table: a unique key or a hash
/// index, with its form.
struct Lookup<'a> {
    class: &'a str,
    kind: &'a str,
    name: &'a str,
    fields: &'a str,
    action: String,
    /// The hidden parameter naming the key's fields.
    param: &'a str,
    button: &'a str,
}

fn lookup_row(l: &Lookup<'_>) -> Markup {
    html! {
        tr class=(l.class) {
            td { (l.name) } td { (l.kind) } td { code { (l.fields) } }
            td { form action=(l.action) method="get" {
                input type="hidden" name=(l.param) value=(l.fields);
                input name="key" placeholder=(l.fields) size="12"; " " button { (l.button) }
            } }
        }
    }
}
