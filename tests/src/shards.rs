//! Checks on blobs whose record types may be cut into several sections
//! (shards by ordinal range, `docs/blob-format.md`, "Shards").

use hollow_runtime::blob::BlobView;

/// Each record type of the blob `bytes` (called `name`) with how many
/// sections it has and their total length in bytes, in directory order.
///
/// # Panics
/// The blob does not open.
pub fn sections_per_type(name: &str, bytes: &[u8]) -> Vec<(String, usize, u64)> {
    let view = BlobView::open(name, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut out: Vec<(String, usize, u64)> = Vec::new();
    for s in view.sections() {
        let len = s.bytes().len() as u64;
        match out.iter_mut().find(|(n, _, _)| n == s.type_name()) {
            Some((_, k, total)) => {
                *k += 1;
                *total += len;
            }
            None => out.push((s.type_name().to_string(), 1, len)),
        }
    }
    out
}

/// Asserts that a producer writing sections cut at `limit` bytes did cut
/// every type of blob `name` whose sections add up to more than `limit`
/// (the writer cuts by the records' unshared size, never less than what
/// is written), and that none of its sections passes `limit` by more than
/// one record's worth (`slack` bytes). Returns the most sections a type
/// has.
///
/// # Panics
/// When it does not hold, naming the blob and the type.
pub fn assert_cut_at(name: &str, bytes: &[u8], limit: u64, slack: u64) -> usize {
    let view = BlobView::open(name, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    for s in view.sections() {
        assert!(
            (s.bytes().len() as u64) <= limit + slack,
            "{name}: a section of {} ({:?}) is {} bytes, past the limit {limit} by more than \
             {slack}",
            s.type_name(),
            s.ordinal_range(),
            s.bytes().len()
        );
    }
    let mut most = 0;
    for (type_name, n, total) in sections_per_type(name, bytes) {
        assert!(
            total <= limit || n > 1,
            "{name}: {type_name} takes {total} bytes in one section, past the limit {limit}"
        );
        most = most.max(n);
    }
    most
}
