//! Cap'n Proto canonical form.
//!
//! The canonical form of a message is unique for its value: one segment,
//! objects in pre-order (a struct's sections, then what its pointers point
//! to, in pointer order), each struct's data section stripped of trailing
//! zero words and its pointer section of trailing null pointers (for struct
//! lists, every element takes the largest stripped size), zero-sized structs
//! pointed to with offset -1, and padding zeroed. Two records are the same
//! record exactly when their canonical bytes are equal, which is what the
//! producer deduplicates by.
//!
//! [`canonicalize`] also validates: it follows every pointer of an untrusted
//! message within the nesting and traversal limits, so bytes it accepts can
//! be read by any reader.

use super::reader::{decode, Decoded, ElementSize, ReadError, Words, NESTING_LIMIT};
use super::{list_ptr, struct_ptr};

/// Writes the canonical form of the single-segment message `message` (root
/// pointer first) into `out` (cleared first).
///
/// # Errors
/// The root is not a struct, a pointer is out of bounds or far, or the limits
/// are exceeded.
pub fn canonicalize(message: &[u8], out: &mut Vec<u8>) -> Result<(), ReadError> {
    canonicalize_bounded(message, out, u64::MAX)
}

/// As [`canonicalize`], and refused ([`ReadError::LimitExceeded`]) when the
/// message's lists of zero-sized elements (`List(Void)`, structs with empty
/// sections) hold more than `zero_sized` elements in all. Such elements
/// take no bytes, so a reader that allocates per element (decoding a blob
/// header into values, say) bounds them by what it expects.
///
/// # Errors
/// As [`canonicalize`].
#[doc(hidden)]
pub fn canonicalize_bounded(
    message: &[u8],
    out: &mut Vec<u8>,
    zero_sized: u64,
) -> Result<(), ReadError> {
    if message.len() < 8 || !message.len().is_multiple_of(8) {
        return Err(ReadError::Truncated);
    }
    let mut words = Vec::new();
    words_with(message, &mut words, zero_sized)?;
    out.clear();
    out.extend_from_slice(as_le_bytes(&mut words));
    Ok(())
}

/// Canonical words as the little-endian bytes they stand for, in place
/// (byte-swapping first on big-endian hosts; a no-op on little-endian ones).
#[doc(hidden)]
pub fn as_le_bytes(words: &mut [u64]) -> &[u8] {
    if cfg!(target_endian = "big") {
        for w in words.iter_mut() {
            *w = w.to_le();
        }
    }
    bytemuck::cast_slice(words)
}

/// [`canonicalize_struct`] as bytes, into `out` (cleared first).
///
/// # Errors
/// As [`canonicalize_struct`].
#[doc(hidden)]
pub fn canonical_struct_bytes(
    r: &super::StructReader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), ReadError> {
    let mut words = Vec::new();
    canonicalize_struct(r, &mut words)?;
    out.clear();
    out.extend_from_slice(as_le_bytes(&mut words));
    Ok(())
}

/// As [`canonicalize`], for a message held as words (the builder's output),
/// writing words (`u64` values; byte order is the caller's business).
pub(crate) fn canonicalize_words<W: Words + ?Sized>(
    message: &W,
    out: &mut Vec<u64>,
) -> Result<(), ReadError> {
    words_with(message, out, u64::MAX)
}

/// How much a walk of a message of `words` words may read: 8 units per
/// word, plus 1024. A message cannot make a walk read much more than its
/// own length (elements of zero-sized lists and pointers to one shared
/// object would otherwise amplify a few KB into gigabytes).
#[doc(hidden)]
pub fn traversal_budget(words: u64) -> u64 {
    words * 8 + 1024
}

fn words_with<W: Words + ?Sized>(
    message: &W,
    out: &mut Vec<u64>,
    zero_sized: u64,
) -> Result<(), ReadError> {
    out.clear();
    let mut c = Copier {
        src: message,
        out,
        budget: traversal_budget(message.words() as u64),
        zero_sized,
    };
    c.alloc(1);
    match decode(message, 0)? {
        Decoded::Struct { .. } | Decoded::Null => c.copy_pointer(0, 0, NESTING_LIMIT),
        Decoded::List { .. } => Err(ReadError::WrongKind),
    }
}

/// The canonical form of the struct `r` reads (a record inside a blob
/// section, say) as a message of its own: what its canonical bytes, and so
/// its hash, were when it was written.
///
/// # Errors
/// A pointer out of bounds or the limits exceeded.
pub fn canonicalize_struct(
    r: &super::StructReader<'_>,
    out: &mut Vec<u64>,
) -> Result<(), ReadError> {
    let mut budget = u64::MAX;
    canonicalize_struct_within(r, out, &mut budget)
}

/// As [`canonicalize_struct`], drawing the words it reads and writes from
/// `budget` as well (left with what remains): the walks of every record
/// of a section sharing one budget of [`traversal_budget`] of the
/// section's length cannot read more than the section's size justifies,
/// however many records point at the same values. Each walk also stays
/// within the traversal budget of its own segment.
///
/// # Errors
/// As [`canonicalize_struct`]; [`ReadError::LimitExceeded`] when `budget`
/// runs out.
#[doc(hidden)]
pub fn canonicalize_struct_within(
    r: &super::StructReader<'_>,
    out: &mut Vec<u64>,
    budget: &mut u64,
) -> Result<(), ReadError> {
    out.clear();
    let (seg, start, dw, pc) = r.parts();
    if seg.is_empty() {
        // An empty struct reader: the all-default record.
        out.push(0xffff_fffc);
        return Ok(());
    }
    let own = traversal_budget(seg.words() as u64);
    let mut c = Copier {
        src: seg,
        out,
        budget: own.min(*budget),
        zero_sized: u64::MAX,
    };
    c.alloc(1);
    let result = c.copy_struct(start, dw, pc, 0, NESTING_LIMIT);
    let used = own.min(*budget) - c.budget;
    *budget -= used;
    result
}

struct Copier<'s, 'o, W: Words + ?Sized> {
    src: &'s W,
    out: &'o mut Vec<u64>,
    /// Words that may still be read or written (guards against a small
    /// message whose pointers all point at the same large object).
    budget: u64,
    /// Zero-sized list elements that may still be followed.
    zero_sized: u64,
}

impl<W: Words + ?Sized> Copier<'_, '_, W> {
    #[inline]
    fn alloc(&mut self, n: usize) -> usize {
        let start = self.out.len();
        self.out.resize(start + n, 0);
        start
    }

    #[inline]
    fn set(&mut self, word: usize, value: u64) {
        self.out[word] = value;
    }

    fn charge_zero_sized(&mut self, n: u64) -> Result<(), ReadError> {
        if n > self.zero_sized {
            return Err(ReadError::LimitExceeded);
        }
        self.zero_sized -= n;
        Ok(())
    }

    fn charge(&mut self, n: u64) -> Result<(), ReadError> {
        if n > self.budget {
            return Err(ReadError::LimitExceeded);
        }
        self.budget -= n;
        Ok(())
    }

    fn copy_pointer(&mut self, src_at: usize, dst_at: usize, depth: u32) -> Result<(), ReadError> {
        if depth == 0 {
            return Err(ReadError::LimitExceeded);
        }
        match decode(self.src, src_at)? {
            Decoded::Null => Ok(()),
            Decoded::Struct {
                start,
                data_words,
                pointers,
            } => self.copy_struct(start, data_words, pointers, dst_at, depth),
            Decoded::List {
                start,
                size,
                count,
                data_words,
                pointers,
            } => self.copy_list(start, size, count, data_words, pointers, dst_at, depth),
        }
    }

    fn stripped(&self, start: usize, data_words: u16, pointers: u16) -> (u16, u16) {
        let mut dw = data_words;
        while dw > 0 && self.src.word(start + dw as usize - 1) == 0 {
            dw -= 1;
        }
        let ps = start + data_words as usize;
        let mut pc = pointers;
        while pc > 0 && self.src.word(ps + pc as usize - 1) == 0 {
            pc -= 1;
        }
        (dw, pc)
    }

    fn copy_struct(
        &mut self,
        start: usize,
        data_words: u16,
        pointers: u16,
        dst_at: usize,
        depth: u32,
    ) -> Result<(), ReadError> {
        // Reading the sections costs their size even when they strip to
        // nothing: pay for it, or many pointers to one large all-zero struct
        // take time quadratic in the message size.
        self.charge(data_words as u64 + pointers as u64)?;
        let (dw, pc) = self.stripped(start, data_words, pointers);
        if dw == 0 && pc == 0 {
            // Zero-sized struct: offset -1, by convention.
            self.set(dst_at, 0xffff_fffc);
            return Ok(());
        }
        self.charge(dw as u64 + pc as u64)?;
        let at = self.alloc(dw as usize + pc as usize);
        self.set(dst_at, struct_ptr(dst_at, at, dw, pc));
        self.copy_sections(start, data_words, dw, pc, at, dw, depth)
    }

    /// Copies `dw` data words and follows `pc` pointers of the struct at
    /// `start` (whose data section is `src_dw` words) into the sections at
    /// `at` (whose data section is `dst_dw` words).
    #[allow(clippy::too_many_arguments)]
    fn copy_sections(
        &mut self,
        start: usize,
        src_dw: u16,
        dw: u16,
        pc: u16,
        at: usize,
        dst_dw: u16,
        depth: u32,
    ) -> Result<(), ReadError> {
        for i in 0..dw as usize {
            let w = self.src.word(start + i);
            self.set(at + i, w);
        }
        for i in 0..pc as usize {
            self.copy_pointer(
                start + src_dw as usize + i,
                at + dst_dw as usize + i,
                depth - 1,
            )?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn copy_list(
        &mut self,
        start: usize,
        size: ElementSize,
        count: u32,
        data_words: u16,
        pointers: u16,
        dst_at: usize,
        depth: u32,
    ) -> Result<(), ReadError> {
        match size {
            ElementSize::InlineComposite => {
                let per = data_words as usize + pointers as usize;
                // As for structs: pay for the words read, and skip the loops
                // over zero-sized elements (their count is not paid for).
                self.charge(per as u64 * count as u64)?;
                if per == 0 {
                    self.charge_zero_sized(count as u64)?;
                }
                let count_read = if per == 0 { 0 } else { count as usize };
                let (mut dw, mut pc) = (0u16, 0u16);
                for i in 0..count_read {
                    let (d, p) = self.stripped(start + i * per, data_words, pointers);
                    dw = dw.max(d);
                    pc = pc.max(p);
                }
                let new_per = dw as u64 + pc as u64;
                self.charge(1 + new_per * count as u64)?;
                let tag = self.alloc(1 + (new_per * count as u64) as usize);
                self.set(
                    tag,
                    ((count as u64) << 2) | (dw as u64) << 32 | (pc as u64) << 48,
                );
                self.set(
                    dst_at,
                    list_ptr(
                        dst_at,
                        tag,
                        ElementSize::InlineComposite,
                        (new_per * count as u64) as u32,
                    ),
                );
                for i in 0..count_read {
                    self.copy_sections(
                        start + i * per,
                        data_words,
                        dw,
                        pc,
                        tag + 1 + i * new_per as usize,
                        dw,
                        depth,
                    )?;
                }
                Ok(())
            }
            ElementSize::Pointer => {
                self.charge(count as u64)?;
                let at = self.alloc(count as usize);
                self.set(dst_at, list_ptr(dst_at, at, size, count));
                for i in 0..count as usize {
                    self.copy_pointer(start + i, at + i, depth - 1)?;
                }
                Ok(())
            }
            _ => {
                if size == ElementSize::Void {
                    self.charge_zero_sized(count as u64)?;
                }
                let bits = size.data_bits() * count as u64;
                let words = bits.div_ceil(64);
                self.charge(words)?;
                let at = self.alloc(words as usize);
                self.set(dst_at, list_ptr(dst_at, at, size, count));
                for i in 0..words as usize {
                    let mut w = self.src.word(start + i);
                    if i as u64 == words - 1 && !bits.is_multiple_of(64) {
                        // Zero the padding after the last element.
                        w &= (1u64 << (bits % 64)) - 1;
                    }
                    self.set(at + i, w);
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A root struct (0 data words, 2 pointers) whose pointers are a
    /// `List(Void)` of `voids` elements and a list of `empties` structs
    /// with empty sections: neither takes a byte.
    fn zero_sized_lists(voids: u32, empties: u32) -> Vec<u8> {
        let words = [
            struct_ptr(0, 1, 0, 2),
            list_ptr(1, 3, ElementSize::Void, voids),
            list_ptr(2, 3, ElementSize::InlineComposite, 0),
            u64::from(empties) << 2,
        ];
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn zero_sized_elements_count_against_the_bound() {
        let message = zero_sized_lists(100, 20);
        let mut out = Vec::new();
        canonicalize(&message, &mut out).unwrap();
        canonicalize_bounded(&message, &mut out, 120).unwrap();
        assert_eq!(
            canonicalize_bounded(&message, &mut out, 119),
            Err(ReadError::LimitExceeded)
        );
        assert_eq!(
            canonicalize_bounded(&zero_sized_lists(0, 21), &mut out, 20),
            Err(ReadError::LimitExceeded)
        );
        canonicalize_bounded(&zero_sized_lists(0, 0), &mut out, 0).unwrap();
    }
}
