//! The runtime's modules import downward only: no top-level module names a
//! module that names it back, directly or through others. (A read state
//! holds its indexes; an index never reaches into the read state; blobs
//! know nothing of stores.)
//!
//! The graph is read from the sources: a module depends on another when a
//! line of its code (comments and `#[cfg(test)] mod tests` blocks aside)
//! names `crate::other`, alone or inside `use crate::{…}`, or an item the
//! crate root re-exports from it (`crate::ReadState` is `read_state`'s).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every `.rs` file under `dir`.
fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its test module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The items `lib` re-exports from the crate's own modules (`pub use
/// module::{A, B};`), by name.
fn reexports(lib: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for stmt in code(lib).split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        if !modules.contains(module) {
            continue;
        }
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = item.trim().rsplit("::").next().unwrap_or("").trim();
            if !name.is_empty() {
                out.insert(name.to_string(), module.to_string());
            }
        }
    }
    out
}

/// The modules `code` names through `crate::` (directly, or through an
/// item of `roots`, the crate root's re-exports).
fn named(
    code: &str,
    modules: &BTreeSet<String>,
    roots: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let paths: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end].split(',').collect()
        } else {
            vec![rest]
        };
        for p in paths {
            let name: String = p
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if modules.contains(&name) {
                out.insert(name);
            } else if let Some(module) = roots.get(&name) {
                out.insert(module.clone());
            }
        }
    }
    out
}

/// A path from `from` back to itself through `graph`, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap();
        for next in graph.get(last).into_iter().flatten() {
            if next == from {
                let mut p = path.clone();
                p.push(next.clone());
                return Some(p);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push(p);
            }
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let module_of = |path: &Path| -> String {
        let rel = path.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        first.trim_end_matches(".rs").to_string()
    };
    let modules: BTreeSet<String> = all
        .iter()
        .map(|p| module_of(p))
        .filter(|m| m != "lib")
        .collect();
    assert!(
        [
            "blob",
            "index",
            "read_state",
            "store",
            "producer",
            "consumer"
        ]
        .iter()
        .all(|m| modules.contains(*m)),
        "the runtime's modules were not found in {}: {modules:?}",
        src.display()
    );
    let roots = reexports(
        &std::fs::read_to_string(src.join("lib.rs")).unwrap(),
        &modules,
    );
    assert!(
        roots.get("ReadState").map(String::as_str) == Some("read_state"),
        "the root's re-exports were not read: {roots:?}"
    );
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in &all {
        let module = module_of(path);
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let deps = graph.entry(module.clone()).or_default();
        deps.extend(named(&code(&text), &modules, &roots));
        deps.remove(&module);
    }
    let cycles: Vec<String> = modules
        .iter()
        .filter_map(|m| cycle(&graph, m))
        .map(|p| p.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

/// The reading of imports finds what it must: a grouped import, a path in
/// code, and nothing in a comment.
#[test]
fn imports_are_read_from_code_only() {
    let modules: BTreeSet<String> = ["blob", "store", "index", "read_state"]
        .map(String::from)
        .into();
    let roots = reexports(
        "pub use read_state::{RawRecords, ReadState};\npub use hollow_core::Value;\n",
        &modules,
    );
    assert_eq!(
        roots.get("ReadState").map(String::as_str),
        Some("read_state")
    );
    assert!(!roots.contains_key("Value"));
    let text = "use crate::{blob::BlobName, error::Error};\n// crate::store\nlet x = crate::index::f();\nlet s: crate::ReadState;\n#[cfg(test)]\nmod tests {\n use crate::store;\n}\n";
    let found = named(&code(text), &modules, &roots);
    assert_eq!(
        found,
        ["blob", "index", "read_state"].map(String::from).into()
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), ["b".to_string()].into()),
        ("b".to_string(), ["a".to_string()].into()),
    ]
    .into();
    assert_eq!(cycle(&graph, "a").unwrap(), ["a", "b", "a"]);
}
