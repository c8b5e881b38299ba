//! Copying a canonical record message into a struct-list element, in place
//! in a message being assembled as bytes (how blob sections are built).

use super::reader::{pointer_target, word_at};

/// Copies the record `record` (a single-segment message with its root struct
/// pointer first, as canonical bytes are) into the struct slot at word
/// `slot` of `out`, whose sections are `data_words` and `pointers` long.
///
/// The slot must already be allocated and zeroed. The record's root struct
/// sections are copied into the slot; everything after them (the objects the
/// root points to, in any order) is appended to `out` verbatim, and only the
/// root struct's own pointers are adjusted, by the constant shift between
/// their old and new positions. Objects inside the appended block keep their
/// relative offsets, and a zero-sized struct pointer (offset -1) is kept as
/// it is, so the copy costs one `memcpy` per record plus a few pointer
/// fixups.
///
/// # Errors
/// A description of the problem when `record` is not a whole number of
/// words, its root is not a struct pointer to word 1, the root struct is
/// larger than the slot, a root pointer is far, a capability or points
/// before the block, or a shifted offset would not fit in 30 bits.
#[doc(hidden)]
pub fn splice_record(
    out: &mut Vec<u8>,
    slot: usize,
    data_words: u16,
    pointers: u16,
    record: &[u8],
) -> Result<(), &'static str> {
    if record.len() < 8 || !record.len().is_multiple_of(8) {
        return Err("not a whole number of words");
    }
    let words = record.len() / 8;
    let root = word_at(record, 0);
    if root & 3 != 0 {
        return Err("the root pointer is not a struct pointer");
    }
    let dw = (root >> 32) as u16;
    let pc = (root >> 48) as u16;
    if dw == 0 && pc == 0 {
        // A zero-sized (or null) root: the slot stays all zero.
        return Ok(());
    }
    if (root as u32) >> 2 != 0 {
        return Err("the root struct does not follow the root pointer (not canonical)");
    }
    if dw > data_words || pc > pointers {
        return Err("the root struct is larger than the record type's sections");
    }
    let block_src = 1 + dw as usize + pc as usize;
    if block_src > words {
        return Err("the root struct extends past the end of the message");
    }
    let slot_end = (slot + data_words as usize + pointers as usize) * 8;
    if slot_end > out.len() || !out.len().is_multiple_of(8) {
        return Err("the element slot lies outside the message being built");
    }
    // Data section.
    out[slot * 8..(slot + dw as usize) * 8].copy_from_slice(&record[8..8 + dw as usize * 8]);
    // The objects after the root struct, verbatim.
    let block_dst = out.len() / 8;
    out.extend_from_slice(&record[block_src * 8..]);
    // The root struct's pointers, shifted.
    for j in 0..pc as usize {
        let src_at = 1 + dw as usize + j;
        let w = word_at(record, src_at);
        if w == 0 {
            continue;
        }
        let dst_at = slot + data_words as usize + j;
        let new = match w & 3 {
            // A zero-sized struct: offset -1 is valid anywhere.
            0 if w >> 32 == 0 => 0xffff_fffc,
            0 | 1 => {
                let target = pointer_target(src_at, w);
                if target < block_src as i64 || target > words as i64 {
                    return Err("a root pointer points outside the objects after the root struct");
                }
                let new_target = block_dst as i64 + (target - block_src as i64);
                let new_offset = new_target - dst_at as i64 - 1;
                if !(-(1 << 29)..(1 << 29)).contains(&new_offset) {
                    return Err("the message being built is too large for a pointer offset");
                }
                (w & !0xffff_ffff) | (((new_offset as i32) << 2) as u32 | (w as u32 & 3)) as u64
            }
            _ => return Err("a root pointer is a far or capability pointer"),
        };
        out[dst_at * 8..dst_at * 8 + 8].copy_from_slice(&new.to_le_bytes());
    }
    Ok(())
}
