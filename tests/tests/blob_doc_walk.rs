//! `docs/blob-format.md` matches the bytes: real blobs (snapshots, deltas,
//! reverse deltas) are walked by the tables and lists of the document,
//! parsed from the markdown, so the document and this test cannot drift.
//!
//! - Prefix table: every row's byte range and width, tiling bytes 0..64, and
//!   every field's value (magic, format version, the kind numbers the row
//!   lists, versions and tags agreeing across blobs, header length, zero).
//! - Layout block: the trailer's XXH3-64 and end magic.
//! - Header: the `BlobHeader` fields the list names, at the positions
//!   the compiler gives `schemas/hollow.capnp`; the directory table: every
//!   row's type against `hollow.capnp`, and every value against the bytes
//!   (offsets, lengths, checksums, counts, ordinal limits, state counts and
//!   state checksums, the latter by the formula of "State checksum" as the
//!   document writes it).
//! - Snapshot and delta sections: the root's section sizes and every
//!   documented pointer (list kind, element size, length, element `i` at
//!   word `tag + 1 + i * (dataWords + pointers)`, unpopulated elements all
//!   zero, null pointers for empty lists).
//!
//! Pointers are decoded here from the Cap'n Proto encoding, not through
//! the project's reader. A failure names the document row that is wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use capnp::schema_capnp::{field, node};
use hollow_runtime::store::{Compression, FileAnnouncer};
use hollow_runtime::{FsBlobStore, Producer};
use hollow_tests::{dataset, Actor, Movie};

const DOC: &str = include_str!("../../docs/blob-format.md");

// ---------------------------------------------------------------------------
// The document.

/// The text under `heading` (a whole line, e.g. `### Prefix (64 bytes)`)
/// up to the next heading of the same or a higher level.
fn doc_section(heading: &str) -> &'static str {
    let level = heading.chars().take_while(|&c| c == '#').count();
    let mut start = None;
    let mut at = 0;
    for line in DOC.split_inclusive('\n') {
        let text = line.trim_end_matches('\n');
        let n = text.chars().take_while(|&c| c == '#').count();
        let is_heading = n > 0 && text[n..].starts_with(' ');
        match start {
            None if text == heading => start = Some(at),
            Some(s) if is_heading && n <= level => return &DOC[s..at],
            _ => {}
        }
        at += line.len();
    }
    match start {
        Some(s) => &DOC[s..],
        None => panic!("docs/blob-format.md has no heading {heading:?}"),
    }
}

/// A table row: the line as written and its cells.
struct Row {
    line: &'static str,
    cells: Vec<String>,
}

impl Row {
    fn fail(&self, what: impl std::fmt::Display) -> ! {
        panic!("docs/blob-format.md, row `{}`: {what}", self.line)
    }
}

/// The rows of the first table in `text` whose header row is `header`.
fn table(text: &'static str, header: &[&str]) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        if !line.starts_with('|') {
            if in_table {
                break;
            }
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect();
        if !in_table {
            if cells.iter().map(String::as_str).eq(header.iter().copied()) {
                in_table = true;
            }
            continue;
        }
        if cells.iter().all(|c| c.chars().all(|x| x == '-')) {
            continue;
        }
        rows.push(Row { line, cells });
    }
    assert!(
        !rows.is_empty(),
        "docs/blob-format.md: no table with header {header:?}"
    );
    rows
}

/// The text between the first pair of backticks in `s`.
fn backticked(s: &str) -> Option<&str> {
    let a = s.find('`')?;
    let b = s[a + 1..].find('`')?;
    Some(&s[a + 1..a + 1 + b])
}

/// A documented pointer of a section root: `- pointer N, `name :Type``.
struct PointerDoc {
    line: &'static str,
    index: u16,
    name: String,
    ty: String,
}

/// The root struct's documented section sizes, from
/// "`Name` (D data words, P pointers)", and its pointer list.
fn root_doc(text: &'static str, name: &str) -> (u16, u16, Vec<PointerDoc>) {
    let needle = format!("`{name}` (");
    let at = text
        .find(&needle)
        .unwrap_or_else(|| panic!("docs/blob-format.md: no `{name}` (… data words, … pointers)"));
    let rest = &text[at + needle.len()..];
    let inner = &rest[..rest.find(')').expect("a closing parenthesis")];
    let nums: Vec<u16> = inner
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("a number"))
        .collect();
    assert_eq!(
        nums.len(),
        2,
        "docs/blob-format.md: `{name}` ({inner}): expected data words and pointers"
    );
    let mut pointers = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("- pointer ") else {
            continue;
        };
        let index: u16 = rest[..rest.find(',').expect("pointer N,")]
            .parse()
            .unwrap_or_else(|e| panic!("docs/blob-format.md, `{line}`: {e}"));
        let decl = backticked(rest).unwrap_or_else(|| panic!("`{line}`: no `name :Type`"));
        let (n, t) = decl
            .split_once(" :")
            .unwrap_or_else(|| panic!("`{line}`: no `name :Type`"));
        pointers.push(PointerDoc {
            line,
            index,
            name: n.to_owned(),
            ty: t.to_owned(),
        });
    }
    (nums[0], nums[1], pointers)
}

// ---------------------------------------------------------------------------
// `schemas/hollow.capnp`, compiled.

/// A compiled struct: section sizes and fields (name -> (type, offset)).
struct CStruct {
    data_words: u16,
    pointers: u16,
    fields: BTreeMap<String, (String, u32)>,
}

fn hollow_capnp() -> BTreeMap<String, CStruct> {
    let dir = hollow_tests::schemas_dir();
    let mut cmd = capnpc_embedded::CompileCommand::new();
    cmd.src_prefix(&dir).file(dir.join("hollow.capnp"));
    let request = cmd.compile().expect("compiling schemas/hollow.capnp");
    let mut options = capnp::message::ReaderOptions::new();
    options.traversal_limit_in_words(None);
    let message = capnp::serialize::read_message(&request[..], options).expect("a request");
    let request: capnp::schema_capnp::code_generator_request::Reader<'_> =
        message.get_root().expect("a request");
    let nodes: Vec<node::Reader<'_>> = request.get_nodes().expect("nodes").iter().collect();
    let text = |t: capnp::text::Reader<'_>| t.to_string().expect("UTF-8");
    let mut names = BTreeMap::new();
    for n in &nodes {
        for nested in n.get_nested_nodes().expect("nested") {
            names.insert(nested.get_id(), text(nested.get_name().expect("a name")));
        }
    }
    let mut out = BTreeMap::new();
    for n in &nodes {
        let node::Struct(s) = n.which().expect("a node") else {
            continue;
        };
        let Some(name) = names.get(&n.get_id()) else {
            continue;
        };
        let mut fields = BTreeMap::new();
        for f in s.get_fields().expect("fields") {
            if let field::Slot(slot) = f.which().expect("a field") {
                fields.insert(
                    text(f.get_name().expect("a name")),
                    (
                        hollow_tests::capnp_type_text(slot.get_type().expect("a type"), &names),
                        slot.get_offset(),
                    ),
                );
            }
        }
        out.insert(
            name.clone(),
            CStruct {
                data_words: s.get_data_word_count(),
                pointers: s.get_pointer_count(),
                fields,
            },
        );
    }
    out
}

// ---------------------------------------------------------------------------
// A single-segment message, decoded by the Cap'n Proto encoding.

#[derive(Clone, Copy)]
struct Msg<'a> {
    bytes: &'a [u8],
}

/// A struct: the word its data section starts at, and its sizes.
#[derive(Clone, Copy, Debug)]
struct SPtr {
    at: usize,
    data_words: u16,
    pointers: u16,
}

/// A list: the word its elements start at (after the tag of a composite
/// list), the element size code (0 void … 5 eight bytes, 6 pointer, 7
/// composite), the element count, and a composite list's tag position and
/// element sizes.
#[derive(Clone, Copy, Debug)]
struct LPtr {
    at: usize,
    size: u8,
    len: u32,
    tag: usize,
    data_words: u16,
    pointers: u16,
}

impl<'a> Msg<'a> {
    fn word(&self, i: usize) -> u64 {
        let b = &self.bytes[i * 8..i * 8 + 8];
        u64::from_le_bytes(b.try_into().expect("8 bytes"))
    }

    fn target(&self, pos: usize, w: u64) -> usize {
        let offset = (w as u32 as i32) >> 2;
        (pos as i64 + 1 + i64::from(offset)) as usize
    }

    /// The struct pointer at word `pos`, `None` when null.
    fn struct_ptr(&self, pos: usize) -> Option<SPtr> {
        let w = self.word(pos);
        if w == 0 {
            return None;
        }
        assert_eq!(w & 3, 0, "word {pos} is not a struct pointer: {w:#x}");
        Some(SPtr {
            at: self.target(pos, w),
            data_words: (w >> 32) as u16,
            pointers: (w >> 48) as u16,
        })
    }

    /// The list pointer at word `pos`, `None` when null.
    fn list_ptr(&self, pos: usize) -> Option<LPtr> {
        let w = self.word(pos);
        if w == 0 {
            return None;
        }
        assert_eq!(w & 3, 1, "word {pos} is not a list pointer: {w:#x}");
        let at = self.target(pos, w);
        let size = ((w >> 32) & 7) as u8;
        let count = (w >> 35) as u32;
        if size == 7 {
            let tag = self.word(at);
            Some(LPtr {
                at: at + 1,
                size,
                len: (tag as u32) >> 2,
                tag: at,
                data_words: (tag >> 32) as u16,
                pointers: (tag >> 48) as u16,
            })
        } else {
            Some(LPtr {
                at,
                size,
                len: count,
                tag: at,
                data_words: 0,
                pointers: 0,
            })
        }
    }

    fn u64_at(&self, s: SPtr, offset: u32) -> u64 {
        if offset >= u32::from(s.data_words) {
            return 0;
        }
        self.word(s.at + offset as usize)
    }

    fn u32_at(&self, s: SPtr, offset: u32) -> u32 {
        if offset / 2 >= u32::from(s.data_words) {
            return 0;
        }
        let b = s.at * 8 + offset as usize * 4;
        u32::from_le_bytes(self.bytes[b..b + 4].try_into().expect("4 bytes"))
    }

    fn u16_at(&self, s: SPtr, offset: u32) -> u16 {
        if offset / 4 >= u32::from(s.data_words) {
            return 0;
        }
        let b = s.at * 8 + offset as usize * 2;
        u16::from_le_bytes(self.bytes[b..b + 2].try_into().expect("2 bytes"))
    }

    fn bool_at(&self, s: SPtr, offset: u32) -> bool {
        if offset / 64 >= u32::from(s.data_words) {
            return false;
        }
        self.bytes[s.at * 8 + offset as usize / 8] >> (offset % 8) & 1 == 1
    }

    /// Word position of pointer `i` of `s`.
    fn ptr_pos(&self, s: SPtr, i: u32) -> usize {
        assert!(
            i < u32::from(s.pointers),
            "pointer {i} of a struct with {}",
            s.pointers
        );
        s.at + s.data_words as usize + i as usize
    }

    fn text(&self, pos: usize) -> Option<String> {
        let l = self.list_ptr(pos)?;
        assert_eq!(l.size, 2, "text is a list of bytes");
        let b = &self.bytes[l.at * 8..l.at * 8 + l.len as usize];
        assert_eq!(b.last(), Some(&0), "text ends with NUL");
        Some(String::from_utf8(b[..b.len() - 1].to_vec()).expect("UTF-8 text"))
    }

    /// Element `i` of a composite list.
    fn element(&self, l: LPtr, i: u32) -> SPtr {
        SPtr {
            at: l.at + i as usize * (usize::from(l.data_words) + usize::from(l.pointers)),
            data_words: l.data_words,
            pointers: l.pointers,
        }
    }

    fn u32_element(&self, l: LPtr, i: u32) -> u32 {
        let b = l.at * 8 + i as usize * 4;
        u32::from_le_bytes(self.bytes[b..b + 4].try_into().expect("4 bytes"))
    }
}

/// A compiled struct's field, read by type.
struct Fields<'c> {
    s: &'c CStruct,
    name: &'static str,
}

impl Fields<'_> {
    fn field(&self, f: &str) -> (&str, u32) {
        let (t, o) = self
            .s
            .fields
            .get(f)
            .unwrap_or_else(|| panic!("hollow.capnp: {} has no field {f}", self.name));
        (t, *o)
    }
    fn u64(&self, m: Msg<'_>, s: SPtr, f: &str) -> u64 {
        let (t, o) = self.field(f);
        assert_eq!(t, "UInt64", "{}.{f}", self.name);
        m.u64_at(s, o)
    }
    fn u32(&self, m: Msg<'_>, s: SPtr, f: &str) -> u32 {
        let (t, o) = self.field(f);
        assert_eq!(t, "UInt32", "{}.{f}", self.name);
        m.u32_at(s, o)
    }
    fn u16(&self, m: Msg<'_>, s: SPtr, f: &str) -> u16 {
        let (t, o) = self.field(f);
        assert_eq!(t, "UInt16", "{}.{f}", self.name);
        m.u16_at(s, o)
    }
    fn ptr(&self, m: Msg<'_>, s: SPtr, f: &str) -> usize {
        let (_, o) = self.field(f);
        m.ptr_pos(s, o)
    }
}

// ---------------------------------------------------------------------------
// The data: movies and actors over six versions.

/// What each version holds: type -> id -> record hash.
type Oracle = BTreeMap<u64, BTreeMap<&'static str, BTreeMap<u64, u64>>>;

fn produce(dir: &Path) -> Oracle {
    let rt = dataset::runtime();
    let store = Arc::new(FsBlobStore::new(dir).expect("a store"));
    let announcer = Arc::new(FileAnnouncer::new(dir).expect("an announcer"));
    // Plain blobs: the walk reads the store's files as the format page
    // describes a blob.
    let mut p = Producer::builder(store, announcer)
        .compression(Compression::None)
        .snapshot_interval(2)
        .record_type::<Movie>()
        .record_type::<Actor>()
        .build();
    let mut movies: BTreeMap<u64, Movie> = (0..70).map(|i| (i, dataset::movie(i, 1))).collect();
    let mut actors: BTreeMap<u64, Actor> = BTreeMap::new();
    let mut oracle = Oracle::new();
    for k in 1..=6u64 {
        if k > 1 {
            // Changes, removals (the highest ordinal too), additions; no
            // actors at all in the first version.
            for id in (k..70).step_by(9) {
                movies.insert(id, dataset::movie(id, k));
            }
            movies.remove(&(k * 5));
            let last = *movies.keys().next_back().expect("movies");
            if k == 3 {
                movies.remove(&last);
            }
            movies.insert(100 + k, dataset::movie(100 + k, k));
            for id in 0..k {
                actors.insert(id, dataset::actor(id, k));
            }
        }
        let outcome = rt
            .block_on(p.run_cycle(|w| {
                movies.values().try_for_each(|m| w.add(m))?;
                actors.values().try_for_each(|a| w.add(a))
            }))
            .expect("a cycle");
        let v = outcome.version.expect("a new version");
        let hash = |b: Vec<u8>| hollow_runtime::hash_bytes(&b);
        let canon = |r: &dyn Fn() -> Vec<u8>| hash(r());
        let mut state = BTreeMap::new();
        state.insert(
            "Movie",
            movies
                .iter()
                .map(|(id, m)| {
                    (
                        *id,
                        canon(&|| hollow_runtime::to_canonical_bytes(m).expect("bytes")),
                    )
                })
                .collect(),
        );
        state.insert(
            "Actor",
            actors
                .iter()
                .map(|(id, a)| {
                    (
                        *id,
                        canon(&|| hollow_runtime::to_canonical_bytes(a).expect("bytes")),
                    )
                })
                .collect(),
        );
        oracle.insert(v, state);
    }
    oracle
}

// ---------------------------------------------------------------------------
// The state checksum, as "State checksum" writes it.

/// `mix` from the code block of "State checksum": the multiplier of the
/// ordinal, then (shift, multiplier) steps, then the final shift.
struct Mix {
    ordinal_mul: u64,
    steps: Vec<(u32, u64)>,
    last_shift: u32,
}

fn hex(s: &str) -> u64 {
    let h = s.trim().trim_start_matches("0x");
    u64::from_str_radix(h, 16).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn between<'a>(s: &'a str, a: &str, b: &str) -> &'a str {
    let i = s.find(a).unwrap_or_else(|| panic!("{s:?}: no {a:?}")) + a.len();
    let j = s[i..].find(b).unwrap_or_else(|| panic!("{s:?}: no {b:?}")) + i;
    &s[i..j]
}

fn mix_doc() -> Mix {
    let text = doc_section("## State checksum");
    let block = between(text, "```\n", "```");
    let lines: Vec<&str> = block.lines().collect();
    assert!(
        lines.len() >= 3,
        "docs/blob-format.md, State checksum: a code block of the mix steps"
    );
    let ordinal_mul = hex(between(lines[0], "wrapping_mul(", ")"));
    let mut steps = Vec::new();
    for l in &lines[1..lines.len() - 1] {
        let shift = between(l, ">> ", ")").parse().expect("a shift");
        steps.push((shift, hex(between(l, "wrapping_mul(", ")"))));
    }
    let last = lines[lines.len() - 1];
    assert!(
        last.starts_with("mix = z ^ (z >> "),
        "State checksum: `{last}`"
    );
    let last_shift = between(last, ">> ", ")").parse().expect("a shift");
    Mix {
        ordinal_mul,
        steps,
        last_shift,
    }
}

impl Mix {
    fn mix(&self, o: u32, h: u64) -> u64 {
        let mut z = h ^ u64::from(o).wrapping_mul(self.ordinal_mul);
        for (shift, mul) in &self.steps {
            z = (z ^ (z >> shift)).wrapping_mul(*mul);
        }
        z ^ (z >> self.last_shift)
    }
}

// ---------------------------------------------------------------------------
// The walk.

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Snapshot,
    Delta,
    Reverse,
}

struct BlobFile {
    name: String,
    kind: Kind,
    from: u64,
    to: u64,
    bytes: Vec<u8>,
}

fn blobs(dir: &Path) -> Vec<BlobFile> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("the store") {
        let name = e
            .expect("an entry")
            .file_name()
            .into_string()
            .expect("UTF-8");
        let parts: Vec<&str> = name.split('-').collect();
        let num = |s: &str| s.parse::<u64>().expect("a version");
        let (kind, from, to) = match parts.as_slice() {
            ["snapshot", v] => (Kind::Snapshot, num(v), num(v)),
            ["delta", a, b] => (Kind::Delta, num(a), num(b)),
            ["reversedelta", a, b] => (Kind::Reverse, num(a), num(b)),
            _ => continue,
        };
        let bytes = std::fs::read(dir.join(&name)).expect("a blob");
        out.push(BlobFile {
            name,
            kind,
            from,
            to,
            bytes,
        });
    }
    out.sort_by_key(|b| (b.to, b.from, b.name.clone()));
    out
}

/// What the prefix holds, by the table.
#[derive(Default, Debug)]
struct Prefix {
    from_version: u64,
    to_version: u64,
    from_tag: u64,
    to_tag: u64,
    header_len: u64,
}

fn width(ty: &str) -> Option<usize> {
    match ty {
        "u32" => Some(4),
        "u64" => Some(8),
        "bytes" => None,
        _ => None,
    }
}

/// Walks the prefix of `b` by the Prefix table.
// One check per documented field, in the table's order.
#[allow(clippy::too_many_lines)]
fn walk_prefix(b: &BlobFile) -> Prefix {
    let rows = table(
        doc_section("### Prefix (64 bytes)"),
        &["bytes", "type", "field"],
    );
    let mut p = Prefix::default();
    let mut next = 0usize;
    for row in &rows {
        let [range, ty, field] = row.cells.as_slice() else {
            row.fail("expected three cells");
        };
        let (a, z) = range
            .split_once("..")
            .unwrap_or_else(|| row.fail("the bytes cell is not a..b"));
        let (a, z): (usize, usize) = (
            a.parse().unwrap_or_else(|e| row.fail(e)),
            z.parse().unwrap_or_else(|e| row.fail(e)),
        );
        if a != next {
            row.fail(format_args!(
                "starts at {a}; the previous row ended at {next}"
            ));
        }
        next = z;
        if ty != "bytes" && width(ty) != Some(z - a) {
            row.fail(format_args!("type {ty} is not {} bytes wide", z - a));
        }
        let bytes = &b.bytes[a..z];
        let int = || -> u64 {
            let mut x = [0u8; 8];
            x[..bytes.len()].copy_from_slice(bytes);
            u64::from_le_bytes(x)
        };
        let key = field
            .split([',', ':', '(', '`'])
            .next()
            .unwrap_or_default()
            .trim();
        match key {
            "magic" => {
                let magic = backticked(field).unwrap_or_else(|| row.fail("no `magic`"));
                if bytes != magic.as_bytes() {
                    row.fail(format_args!(
                        "{}: the bytes are {:?}",
                        b.name,
                        String::from_utf8_lossy(bytes)
                    ));
                }
                let hex_text = between(field, "(`", "`)");
                let listed: Vec<u8> = hex_text
                    .split(' ')
                    .map(|h| u8::from_str_radix(h, 16).unwrap_or_else(|e| row.fail(e)))
                    .collect();
                if listed != bytes {
                    row.fail(format_args!("the hex bytes {hex_text} are not the magic"));
                }
            }
            "format version" => {
                let v: u64 = backticked(field)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| row.fail("no `N`"));
                if int() != v {
                    row.fail(format_args!("{}: the blob has {}", b.name, int()));
                }
            }
            "kind" => {
                // "`1` snapshot, `2` delta, `3` reverse delta"
                let mut kinds = BTreeMap::new();
                for part in field.split(',') {
                    let n: u64 = backticked(part)
                        .and_then(|s| s.parse().ok())
                        .unwrap_or_else(|| row.fail(format_args!("{part:?}: no `N`")));
                    let what = part.rsplit('`').next().unwrap_or_default().trim();
                    kinds.insert(what.to_owned(), n);
                }
                let name = match b.kind {
                    Kind::Snapshot => "snapshot",
                    Kind::Delta => "delta",
                    Kind::Reverse => "reverse delta",
                };
                let want = kinds
                    .get(name)
                    .unwrap_or_else(|| row.fail(format_args!("no number for a {name}")));
                if int() != *want {
                    row.fail(format_args!("{} (a {name}) has kind {}", b.name, int()));
                }
            }
            "from_version" => {
                p.from_version = int();
                if p.from_version != b.from {
                    row.fail(format_args!(
                        "{}: the prefix says {}",
                        b.name, p.from_version
                    ));
                }
            }
            "to_version" => {
                p.to_version = int();
                if p.to_version != b.to {
                    row.fail(format_args!("{}: the prefix says {}", b.name, p.to_version));
                }
            }
            "from_tag" => {
                p.from_tag = int();
                if b.kind == Kind::Snapshot && field.contains("a snapshot: 0") && p.from_tag != 0 {
                    row.fail(format_args!(
                        "{}: a snapshot's from_tag is {}",
                        b.name, p.from_tag
                    ));
                }
            }
            "to_tag" => p.to_tag = int(),
            "header_len" => {
                p.header_len = int();
                if p.header_len % 8 != 0 {
                    row.fail(format_args!(
                        "{}: {} is not a multiple of 8",
                        b.name, p.header_len
                    ));
                }
            }
            "reserved" => {
                if int() != 0 {
                    row.fail(format_args!("{}: the bytes hold {}", b.name, int()));
                }
            }
            other => row.fail(format_args!("a field this test does not know: {other:?}")),
        }
    }
    if next != 64 {
        panic!("docs/blob-format.md, Prefix table: the rows end at byte {next}, not 64");
    }
    p
}

/// Checks the trailer by the Layout block and the Trailer section.
fn walk_trailer(b: &BlobFile) {
    let layout = doc_section("## Layout");
    let line = layout
        .lines()
        .find(|l| l.contains("end magic"))
        .expect("docs/blob-format.md, Layout: an end magic line");
    let magic = between(line, "\"", "\"");
    let len = b.bytes.len();
    assert!(
        line.contains("len - 8"),
        "docs/blob-format.md, Layout `{line}`: the end magic is at len - 8"
    );
    assert_eq!(
        &b.bytes[len - 8..],
        magic.as_bytes(),
        "docs/blob-format.md, Layout `{line}`: {}",
        b.name
    );
    let hash_line = layout
        .lines()
        .find(|l| l.contains("len - 16"))
        .expect("docs/blob-format.md, Layout: the checksum line");
    assert!(
        hash_line.contains("XXH3-64 of bytes [0, len - 16)"),
        "`{hash_line}`"
    );
    let stored = u64::from_le_bytes(b.bytes[len - 16..len - 8].try_into().expect("8 bytes"));
    assert_eq!(
        stored,
        hollow_runtime::hash_bytes(&b.bytes[..len - 16]),
        "docs/blob-format.md, Layout `{hash_line}`: {}",
        b.name
    );
}

/// One section of a blob, as the directory describes it.
#[derive(Debug)]
struct Dir {
    type_name: String,
    offset: u64,
    length: u64,
    record_count: u32,
    removed_count: u32,
    ordinal_limit: u32,
    state_count: u32,
    state_checksum: u64,
}

/// A record type of the header's schema: its section sizes and the data
/// word of its `id` field.
#[derive(Debug, Clone, Copy)]
struct RecordType {
    data_words: u16,
    pointers: u16,
    id_word: u32,
}

/// The record types of the header's `DatasetSchema`, read by the field
/// list of "The dataset schema".
fn dataset_schema(
    m: Msg<'_>,
    header: SPtr,
    capnp: &BTreeMap<String, CStruct>,
) -> BTreeMap<String, RecordType> {
    let bh = Fields {
        s: &capnp["BlobHeader"],
        name: "BlobHeader",
    };
    let ds = Fields {
        s: &capnp["DatasetSchema"],
        name: "DatasetSchema",
    };
    let td = Fields {
        s: &capnp["TypeDecl"],
        name: "TypeDecl",
    };
    let mb = Fields {
        s: &capnp["Member"],
        name: "Member",
    };
    let schema = m
        .struct_ptr(bh.ptr(m, header, "schema"))
        .expect("the header's schema");
    let types = m
        .list_ptr(ds.ptr(m, schema, "types"))
        .expect("the schema's types");
    let mut out = BTreeMap::new();
    for i in 0..types.len {
        let t = m.element(types, i);
        let name = m.text(td.ptr(m, t, "name")).expect("a type name");
        let (ty, o) = td.field("isRecord");
        assert_eq!(ty, "Bool");
        if !m.bool_at(t, o) {
            continue;
        }
        let members = m.list_ptr(td.ptr(m, t, "members")).expect("members");
        let mut id_word = None;
        for j in 0..members.len {
            let mem = m.element(members, j);
            if m.text(mb.ptr(m, mem, "name")).as_deref() == Some("id")
                && mb.u32(m, mem, "parent") == 0
            {
                // UInt64: the offset is in units of 64 bits, a data word.
                id_word = Some(mb.u32(m, mem, "offset"));
            }
        }
        out.insert(
            name.clone(),
            RecordType {
                data_words: td.u16(m, t, "dataWords"),
                pointers: td.u16(m, t, "pointers"),
                id_word: id_word.unwrap_or_else(|| panic!("{name}: no id field")),
            },
        );
    }
    out
}

/// Reads the header by the Header list and the directory by its table.
fn walk_header(
    b: &BlobFile,
    p: &Prefix,
    capnp: &BTreeMap<String, CStruct>,
) -> (Vec<Dir>, BTreeMap<String, RecordType>) {
    let header_text = doc_section("### Header");
    let start = 64usize;
    let end = start + p.header_len as usize;
    let m = Msg {
        bytes: &b.bytes[start..end],
    };
    let root = m.struct_ptr(0).expect("the header root");
    // "the header's canonical form, as the Rust writer makes it"
    let words = hollow_tests::aligned(m.bytes);
    let canonical = hollow_tests::capnp_reader(capnp::Word::words_to_bytes(&words))
        .canonicalize()
        .expect("canonicalizing the header");
    assert!(
        capnp::Word::words_to_bytes(&canonical) == m.bytes,
        "docs/blob-format.md, Header: {}: the header is not in canonical form",
        b.name
    );
    let bh = &capnp["BlobHeader"];
    // "- `tags :List(Tag)` — …": each documented field, with its type.
    let mut documented = BTreeSet::new();
    // The list before "#### The dataset schema".
    let own = &header_text[..header_text.find("\n#### ").unwrap_or(header_text.len())];
    let decls = own
        .lines()
        .filter(|l| l.starts_with("- `") && backticked(l).is_some_and(|d| d.contains(" :")));
    for line in decls {
        let decl = backticked(line).expect("a `name :Type`");
        let (n, t) = decl
            .split_once(" :")
            .unwrap_or_else(|| panic!("docs/blob-format.md, `{line}`: no `name :Type`"));
        let (ct, _) = bh.fields.get(n).unwrap_or_else(|| {
            panic!("docs/blob-format.md, `{line}`: BlobHeader has no field {n}")
        });
        assert_eq!(
            ct, t,
            "docs/blob-format.md, `{line}`: hollow.capnp says {ct}"
        );
        documented.insert(n.to_owned());
    }
    let all: BTreeSet<String> = bh.fields.keys().cloned().collect();
    assert_eq!(
        documented, all,
        "docs/blob-format.md, Header: the documented BlobHeader fields"
    );

    let sec = Fields {
        s: &capnp["Section"],
        name: "Section",
    };
    let rows = table(header_text, &["field", "type", "meaning"]);
    let mut names = BTreeSet::new();
    for row in &rows {
        let name = backticked(&row.cells[0]).unwrap_or_else(|| row.fail("no `field`"));
        let (ct, _) = sec
            .s
            .fields
            .get(name)
            .unwrap_or_else(|| row.fail(format_args!("hollow.capnp's Section has no {name}")));
        if *ct != row.cells[1] {
            row.fail(format_args!("hollow.capnp says {ct}"));
        }
        names.insert(name.to_owned());
    }
    let all: BTreeSet<String> = sec.s.fields.keys().cloned().collect();
    assert_eq!(
        names, all,
        "docs/blob-format.md: the directory table's rows"
    );

    let list = m
        .list_ptr(
            Fields {
                s: bh,
                name: "BlobHeader",
            }
            .ptr(m, root, "sections"),
        )
        .expect("the sections list");
    let mut dirs = Vec::new();
    for i in 0..list.len {
        let s = m.element(list, i);
        dirs.push(Dir {
            type_name: m.text(sec.ptr(m, s, "typeName")).expect("a type name"),
            offset: sec.u64(m, s, "offset"),
            length: sec.u64(m, s, "length"),
            record_count: sec.u32(m, s, "recordCount"),
            removed_count: sec.u32(m, s, "removedCount"),
            ordinal_limit: sec.u32(m, s, "ordinalLimit"),
            state_count: sec.u32(m, s, "stateCount"),
            state_checksum: sec.u64(m, s, "stateChecksum"),
        });
        // The checksum row: XXH3-64 of the section's bytes.
        let checksum = sec.u64(m, s, "checksum");
        let d = dirs.last().expect("pushed");
        let body = &b.bytes[d.offset as usize..(d.offset + d.length) as usize];
        if checksum != hollow_runtime::hash_bytes(body) {
            row_named(&rows, "checksum").fail(format_args!("{} section {}", b.name, d.type_name));
        }
    }
    (dirs, dataset_schema(m, root, capnp))
}

fn row_named<'r>(rows: &'r [Row], name: &str) -> &'r Row {
    rows.iter()
        .find(|r| backticked(&r.cells[0]) == Some(name))
        .unwrap_or_else(|| panic!("docs/blob-format.md: no directory row `{name}`"))
}

/// A type's state: ordinal -> record id.
type TypeState = BTreeMap<u32, u64>;

/// Per version, per type, the ordinal limit of its snapshot.
type Limits = BTreeMap<(u64, String), u32>;

#[test]
// One pass over the documented tables, in document order.
#[allow(clippy::too_many_lines)]
fn blobs_match_the_documented_format() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let oracle = produce(dir.path());
    let capnp = hollow_capnp();
    let mix = mix_doc();
    let files = blobs(dir.path());
    let header_text = doc_section("### Header");
    let rows = table(header_text, &["field", "type", "meaning"]);
    let snap_text = doc_section("### Snapshot section");
    let delta_text = doc_section("### Delta and reverse delta sections");
    let (snap_dw, snap_ptrs, snap_pointers) = root_doc(snap_text, "SnapshotSection");
    let (delta_dw, delta_ptrs, delta_pointers) = root_doc(delta_text, "DeltaSection");
    for (name, dw, ptrs, pointers) in [
        ("SnapshotSection", snap_dw, snap_ptrs, &snap_pointers),
        ("DeltaSection", delta_dw, delta_ptrs, &delta_pointers),
    ] {
        let c = &capnp[name];
        assert_eq!(
            (c.data_words, c.pointers),
            (dw, ptrs),
            "docs/blob-format.md: `{name}` sizes against hollow.capnp"
        );
        for pd in pointers {
            let (t, o) = c.fields.get(&pd.name).unwrap_or_else(|| {
                panic!(
                    "docs/blob-format.md, `{}`: {name} has no {}",
                    pd.line, pd.name
                )
            });
            assert_eq!(
                *o,
                u32::from(pd.index),
                "docs/blob-format.md, `{}`: hollow.capnp puts it at pointer {o}",
                pd.line
            );
            let ok = *t == pd.ty || (t == "AnyPointer" && pd.ty == "AnyPointer");
            assert!(
                ok,
                "docs/blob-format.md, `{}`: hollow.capnp says {t}",
                pd.line
            );
        }
        assert_eq!(
            pointers.len(),
            ptrs as usize,
            "docs/blob-format.md: every pointer of `{name}` is listed"
        );
    }

    // Pass 1: prefixes, trailers, tags.
    let mut prefixes = Vec::new();
    let mut tag_of: BTreeMap<u64, u64> = BTreeMap::new();
    for b in &files {
        let p = walk_prefix(b);
        walk_trailer(b);
        if let Some(t) = tag_of.insert(p.to_version, p.to_tag) {
            assert_eq!(
                t, p.to_tag,
                "docs/blob-format.md, Prefix to_tag: {} gives version {} another tag",
                b.name, p.to_version
            );
        }
        prefixes.push(p);
    }
    for (b, p) in files.iter().zip(&prefixes) {
        if b.kind != Kind::Snapshot {
            assert_eq!(
                Some(&p.from_tag),
                tag_of.get(&b.from),
                "docs/blob-format.md, Prefix from_tag: {} is not the tag of version {}",
                b.name,
                b.from
            );
        }
    }

    // Pass 2: headers and sections. Snapshots first, so deltas can be
    // applied to the states they give.
    let mut states: BTreeMap<u64, BTreeMap<String, TypeState>> = BTreeMap::new();
    let mut limits = Limits::new();
    let mut walked = BTreeSet::new();
    let mut pending: Vec<usize> = (0..files.len()).collect();
    pending.sort_by_key(|&i| files[i].kind != Kind::Snapshot);
    while !pending.is_empty() {
        let Some(at) = pending
            .iter()
            .position(|&i| files[i].kind == Kind::Snapshot || states.contains_key(&files[i].from))
        else {
            panic!("no state to apply {} to", files[pending[0]].name);
        };
        let i = pending.remove(at);
        let (b, p) = (&files[i], &prefixes[i]);
        let (dirs, records) = walk_header(b, p, &capnp);
        // Sections follow the header and each other, and end at the trailer.
        let mut at = 64 + p.header_len;
        for d in &dirs {
            let r = row_named(&rows, "offset");
            if d.offset != at || d.offset % 8 != 0 {
                r.fail(format_args!(
                    "{} section {} at {}, expected {at}",
                    b.name, d.type_name, d.offset
                ));
            }
            if d.length % 8 != 0 {
                row_named(&rows, "length").fail(format_args!("{}: {}", b.name, d.length));
            }
            at += d.length;
        }
        assert_eq!(
            at as usize,
            b.bytes.len() - 16,
            "docs/blob-format.md, Header: {}: the last section ends where the trailer starts",
            b.name
        );
        let types: BTreeSet<&String> = dirs.iter().map(|d| &d.type_name).collect();
        assert_eq!(
            types.len(),
            dirs.len(),
            "{}: a type has at most one section",
            b.name
        );
        let expected = &oracle[&b.to];
        let mut state = if b.kind == Kind::Snapshot {
            let all: BTreeSet<&String> = records.keys().collect();
            assert_eq!(
                types, all,
                "docs/blob-format.md: {}: a snapshot has a section for every record type",
                b.name
            );
            BTreeMap::new()
        } else {
            states
                .get(&b.from)
                .unwrap_or_else(|| panic!("no state of version {} to apply {} to", b.from, b.name))
                .clone()
        };
        for d in &dirs {
            let rt = records[&d.type_name];
            let body = &b.bytes[d.offset as usize..(d.offset + d.length) as usize];
            let m = Msg { bytes: body };
            let ts = state.entry(d.type_name.clone()).or_default();
            let root = m.struct_ptr(0).expect("a section root");
            if b.kind == Kind::Snapshot {
                walk_snapshot(b, d, m, root, rt, &snap_pointers, &rows, ts);
                limits.insert((b.to, d.type_name.clone()), d.ordinal_limit);
            } else {
                walk_delta(b, d, m, root, rt, &delta_pointers, &rows, ts);
            }
            // stateCount and stateChecksum against the oracle.
            let want = &expected[d.type_name.as_str()];
            if ts.len() != want.len() || d.state_count as usize != want.len() {
                row_named(&rows, "stateCount").fail(format_args!(
                    "{} {}: stateCount {}, the state after has {} records",
                    b.name,
                    d.type_name,
                    d.state_count,
                    want.len()
                ));
            }
            let sum = ts.iter().fold(0u64, |acc, (o, id)| {
                let h = want.get(id).unwrap_or_else(|| {
                    panic!(
                        "{} {}: id {id} is not in version {}",
                        b.name, d.type_name, b.to
                    )
                });
                acc.wrapping_add(mix.mix(*o, *h))
            });
            if sum != d.state_checksum {
                row_named(&rows, "stateChecksum").fail(format_args!(
                    "{} {}: the section says {:#x}, the documented formula gives {sum:#x}",
                    b.name, d.type_name, d.state_checksum
                ));
            }
        }
        if let Some(before) = states.get(&b.to) {
            assert_eq!(
                before, &state,
                "{}: version {} reached two ways holds different ordinals",
                b.name, b.to
            );
        }
        states.insert(b.to, state);
        walked.insert(b.kind as u8);
    }
    assert_eq!(
        walked.len(),
        3,
        "snapshots, deltas and reverse deltas were walked"
    );

    // ordinalLimit of a delta: the ordinal limit of the newer state.
    let mut compared = 0;
    for b in files.iter().filter(|b| b.kind != Kind::Snapshot) {
        let newer = b.from.max(b.to);
        let p = &prefixes[files.iter().position(|x| x.name == b.name).expect("listed")];
        let (dirs, _) = walk_header(b, p, &capnp);
        for d in &dirs {
            if let Some(limit) = limits.get(&(newer, d.type_name.clone())) {
                compared += 1;
                if *limit != d.ordinal_limit {
                    row_named(&rows, "ordinalLimit").fail(format_args!(
                        "{} {}: {}, the snapshot of version {newer} has {limit}",
                        b.name, d.type_name, d.ordinal_limit
                    ));
                }
            }
        }
    }
    assert!(
        compared > 0,
        "no delta's ordinalLimit was compared with a snapshot"
    );
    assert!(
        limits.values().any(|&l| l == 0),
        "no snapshot section with ordinalLimit 0 was walked"
    );
}

#[allow(clippy::too_many_arguments)]
fn walk_snapshot(
    b: &BlobFile,
    d: &Dir,
    m: Msg<'_>,
    root: SPtr,
    rt: RecordType,
    pointers: &[PointerDoc],
    rows: &[Row],
    ts: &mut TypeState,
) {
    let ptr = |name: &str| {
        let pd = pointers.iter().find(|p| p.name == name).unwrap_or_else(|| {
            panic!("docs/blob-format.md, Snapshot section: no pointer `{name}`")
        });
        (pd, m.ptr_pos(root, u32::from(pd.index)))
    };
    if d.removed_count != 0 {
        row_named(rows, "removedCount").fail(format_args!(
            "{} {}: {}",
            b.name, d.type_name, d.removed_count
        ));
    }
    let (pd, pos) = ptr("populated");
    let (rd, rpos) = ptr("records");
    if d.ordinal_limit == 0 {
        assert!(
            m.list_ptr(pos).is_none() && m.list_ptr(rpos).is_none(),
            "docs/blob-format.md, Snapshot section: both pointers are null when ordinalLimit is 0 ({} {})",
            b.name,
            d.type_name
        );
        assert_eq!(d.record_count, 0);
        ts.clear();
        return;
    }
    let bits = m
        .list_ptr(pos)
        .unwrap_or_else(|| panic!("`{}`: null in {}", pd.line, b.name));
    assert_eq!(
        (bits.size, bits.len),
        (5, d.ordinal_limit.div_ceil(64)),
        "docs/blob-format.md, `{}`: {} {}: a List(UInt64) of ceil(ordinalLimit / 64) words",
        pd.line,
        b.name,
        d.type_name
    );
    let list = m
        .list_ptr(rpos)
        .unwrap_or_else(|| panic!("`{}`: null in {}", rd.line, b.name));
    assert_eq!(
        (list.size, list.len, list.data_words, list.pointers),
        (7, d.ordinal_limit, rt.data_words, rt.pointers),
        "docs/blob-format.md, `{}`: {} {}: an inline-composite list of ordinalLimit \
         elements of the type's full section sizes",
        rd.line,
        b.name,
        d.type_name
    );
    // "The Rust writer places the root struct at word 1, the bitmap at word
    // 3, the list tag right after it, then the elements".
    let placement = (root.at, bits.at, list.tag);
    assert_eq!(
        placement,
        (1, 3, 3 + bits.len as usize),
        "docs/blob-format.md, Snapshot section: {} {}: (root, bitmap, list tag) words",
        b.name,
        d.type_name
    );
    ts.clear();
    let stride = usize::from(rt.data_words) + usize::from(rt.pointers);
    for o in 0..d.ordinal_limit {
        let word = m.word(bits.at + (o / 64) as usize);
        let set = word >> (o % 64) & 1 == 1;
        // "element i starts at word tag + 1 + i * (dataWords + pointers)"
        let at = list.tag + 1 + o as usize * stride;
        let element = &m.bytes[at * 8..(at + stride) * 8];
        if set {
            let id = m.u64_at(
                SPtr {
                    at,
                    data_words: rt.data_words,
                    pointers: rt.pointers,
                },
                rt.id_word,
            );
            ts.insert(o, id);
        } else {
            assert!(
                element.iter().all(|&x| x == 0),
                "docs/blob-format.md, `{}`: {} {} ordinal {o} is unpopulated but not all zero",
                rd.line,
                b.name,
                d.type_name
            );
        }
    }
    let past = bits.len * 64;
    for o in d.ordinal_limit..past {
        let word = m.word(bits.at + (o / 64) as usize);
        assert_eq!(
            word >> (o % 64) & 1,
            0,
            "docs/blob-format.md, `{}`: {} bit {o} past ordinalLimit is set",
            pd.line,
            b.name
        );
    }
    if ts.len() != d.record_count as usize || d.record_count != d.state_count {
        row_named(rows, "recordCount").fail(format_args!(
            "{} {}: recordCount {}, {} bits set, stateCount {}",
            b.name,
            d.type_name,
            d.record_count,
            ts.len(),
            d.state_count
        ));
    }
}

#[allow(clippy::too_many_arguments)]
fn walk_delta(
    b: &BlobFile,
    d: &Dir,
    m: Msg<'_>,
    root: SPtr,
    rt: RecordType,
    pointers: &[PointerDoc],
    rows: &[Row],
    ts: &mut TypeState,
) {
    let ptr = |name: &str| {
        let pd = pointers
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("docs/blob-format.md, Delta sections: no pointer `{name}`"));
        (pd, m.ptr_pos(root, u32::from(pd.index)))
    };
    let ordinals = |name: &str, count: u32| -> Vec<u32> {
        let (pd, pos) = ptr(name);
        match m.list_ptr(pos) {
            None => {
                assert_eq!(
                    count, 0,
                    "docs/blob-format.md, `{}`: {} {}: null, but the count is {count}",
                    pd.line, b.name, d.type_name
                );
                Vec::new()
            }
            Some(l) => {
                assert!(
                    count > 0,
                    "docs/blob-format.md: {} {}: empty lists are null pointers (`{}`)",
                    b.name,
                    d.type_name,
                    pd.line
                );
                assert_eq!(
                    (l.size, l.len),
                    (4, count),
                    "docs/blob-format.md, `{}`: {} {}: a List(UInt32) of the count",
                    pd.line,
                    b.name,
                    d.type_name
                );
                (0..l.len).map(|i| m.u32_element(l, i)).collect()
            }
        }
    };
    let removed = ordinals("removed", d.removed_count);
    let added = ordinals("added", d.record_count);
    for o in removed.iter().chain(&added) {
        if *o >= d.ordinal_limit {
            row_named(rows, "ordinalLimit").fail(format_args!(
                "{} {}: ordinal {o} is not below {}",
                b.name, d.type_name, d.ordinal_limit
            ));
        }
    }
    for o in &removed {
        assert!(
            ts.remove(o).is_some(),
            "docs/blob-format.md, Delta sections: {} {} removes ordinal {o}, not in the state",
            b.name,
            d.type_name
        );
    }
    let (rd, rpos) = ptr("records");
    if added.is_empty() {
        assert!(
            m.list_ptr(rpos).is_none(),
            "`{}`: {}: empty lists are null",
            rd.line,
            b.name
        );
        return;
    }
    let list = m
        .list_ptr(rpos)
        .unwrap_or_else(|| panic!("`{}`: null in {}", rd.line, b.name));
    assert_eq!(
        (list.size, list.len, list.data_words, list.pointers),
        (7, d.record_count, rt.data_words, rt.pointers),
        "docs/blob-format.md, `{}`: {} {}: the added records, full section sizes",
        rd.line,
        b.name,
        d.type_name
    );
    for (i, o) in added.iter().enumerate() {
        let id = m.u64_at(m.element(list, i as u32), rt.id_word);
        assert!(
            ts.insert(*o, id).is_none(),
            "{} {}: ordinal {o} added twice",
            b.name,
            d.type_name
        );
    }
}
