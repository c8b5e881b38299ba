//! Reading Cap'n Proto structs and lists in place, from untrusted bytes.
//!
//! A message here is one segment (the form every Hollow blob section and
//! every canonical record uses): a byte slice whose first word is the root
//! pointer. Every read is bounds-checked against the segment; a pointer that
//! is out of bounds, of the wrong kind, or a far pointer (multi-segment) is a
//! [`ReadError`]. The typed accessors built on top turn such errors into the
//! field's default value, so reading never panics whatever the bytes.

use std::fmt;

/// Why a pointer or message could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The message is shorter than one word, or not a whole number of words.
    Truncated,
    /// A pointer's target lies outside the segment.
    OutOfBounds,
    /// A pointer of another kind than the field's type needs.
    WrongKind,
    /// A list whose element encoding does not fit the field's type.
    WrongElementSize,
    /// A far pointer: only single-segment messages are read.
    FarPointer,
    /// A capability pointer (interfaces are not supported).
    Capability,
    /// Text without its NUL terminator, or not UTF-8.
    BadText,
    /// Nesting deeper than the limit, or more words than the traversal
    /// limit allows (a message built to amplify reads).
    LimitExceeded,
    /// A null pointer where a value is required.
    Null,
}

impl ReadError {
    /// A description of the error.
    pub const fn message(&self) -> &'static str {
        match self {
            ReadError::Truncated => "message truncated (not a whole number of words)",
            ReadError::OutOfBounds => "pointer target out of bounds",
            ReadError::WrongKind => "pointer of the wrong kind for the field's type",
            ReadError::WrongElementSize => "list element size does not match the field's type",
            ReadError::FarPointer => "far pointer (multi-segment messages are not supported)",
            ReadError::Capability => "capability pointer (interfaces are not supported)",
            ReadError::BadText => "text not NUL-terminated or not UTF-8",
            ReadError::LimitExceeded => "nesting or traversal limit exceeded",
            ReadError::Null => "null pointer where a value is required",
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ReadError {}

/// Maximum struct/list nesting followed by readers and the canonicalizer.
pub const NESTING_LIMIT: u32 = 64;

/// Most elements a list of zero-sized elements (`List(Void)`, or structs
/// with empty sections) may claim: such elements take no bytes, so without a
/// cap a few bytes could claim billions of them. 8 Mi, as Cap'n Proto's
/// default traversal limit in words; the encoder refuses longer ones.
pub const MAX_ZERO_SIZED_ELEMENTS: u64 = 8 << 20;

#[inline(always)]
pub(crate) fn word_at(seg: &[u8], word: usize) -> u64 {
    // One 8-byte load: built from single bytes, the word was loaded in
    // pieces, a few bits at a time, where only some of its bits are used.
    match seg
        .get(word.wrapping_mul(8)..)
        .and_then(<[u8]>::first_chunk)
    {
        Some(b) => u64::from_le_bytes(*b),
        None => 0,
    }
}

/// The word a struct or list pointer `w` stored at word `at` points to
/// (its offset counts from the word after the pointer; may be out of
/// bounds, or negative).
#[inline(always)]
pub(crate) fn pointer_target(at: usize, w: u64) -> i64 {
    at as i64 + 1 + ((w as u32) as i32 >> 2) as i64
}

/// Asks the processor to start loading word `word` of `seg` (a hint:
/// nothing is read, and any word, even out of bounds, is harmless).
#[inline(always)]
pub(crate) fn prefetch_word(seg: &[u8], word: usize) {
    crate::prefetch(seg.as_ptr().wrapping_add(word.wrapping_mul(8)));
}

/// A segment as a sequence of little-endian words: bytes (what blobs and
/// records are) or `u64`s (what the builder writes).
#[doc(hidden)]
pub trait Words {
    fn words(&self) -> usize;
    fn word(&self, i: usize) -> u64;
}

impl Words for [u8] {
    #[inline(always)]
    fn words(&self) -> usize {
        self.len() / 8
    }
    #[inline(always)]
    fn word(&self, i: usize) -> u64 {
        word_at(self, i)
    }
}

impl Words for [u64] {
    #[inline(always)]
    fn words(&self) -> usize {
        self.len()
    }
    #[inline(always)]
    fn word(&self, i: usize) -> u64 {
        self.get(i).copied().unwrap_or(0)
    }
}

/// List element encodings (the 3-bit size field of a list pointer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementSize {
    /// 0 bits (List(Void)).
    Void,
    /// 1 bit (List(Bool)).
    Bit,
    /// 1 byte.
    Byte,
    /// 2 bytes.
    TwoBytes,
    /// 4 bytes.
    FourBytes,
    /// 8 bytes.
    EightBytes,
    /// One pointer per element.
    Pointer,
    /// Structs, with a tag word giving each element's section sizes.
    InlineComposite,
}

impl ElementSize {
    /// Decodes the 3-bit field.
    #[inline]
    pub const fn from_bits(b: u64) -> ElementSize {
        match b & 7 {
            0 => ElementSize::Void,
            1 => ElementSize::Bit,
            2 => ElementSize::Byte,
            3 => ElementSize::TwoBytes,
            4 => ElementSize::FourBytes,
            5 => ElementSize::EightBytes,
            6 => ElementSize::Pointer,
            _ => ElementSize::InlineComposite,
        }
    }

    /// The 3-bit field.
    #[inline]
    pub const fn bits(self) -> u64 {
        self as u64
    }

    /// Bits per element (pointer = 64; inline composite: not fixed, 0).
    #[inline]
    pub const fn data_bits(self) -> u64 {
        match self {
            ElementSize::Void | ElementSize::InlineComposite => 0,
            ElementSize::Bit => 1,
            ElementSize::Byte => 8,
            ElementSize::TwoBytes => 16,
            ElementSize::FourBytes => 32,
            ElementSize::EightBytes | ElementSize::Pointer => 64,
        }
    }
}

/// A decoded pointer (within one segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
pub enum Decoded {
    Null,
    Struct {
        /// Word index of the struct's data section.
        start: usize,
        data_words: u16,
        pointers: u16,
    },
    List {
        /// Word index of the first element (after the tag for composites).
        start: usize,
        size: ElementSize,
        count: u32,
        /// For inline composite lists: each element's sections.
        data_words: u16,
        pointers: u16,
    },
}

/// Decodes the pointer stored at word `at` of `seg`, checking that what it
/// points to lies inside the segment.
#[inline(always)]
#[doc(hidden)]
pub fn decode<W: Words + ?Sized>(seg: &W, at: usize) -> Result<Decoded, ReadError> {
    let w = seg.word(at);
    if w == 0 {
        return Ok(Decoded::Null);
    }
    let seg_words = seg.words();
    let target = pointer_target(at, w);
    match w & 3 {
        0 => {
            let data_words = (w >> 32) as u16;
            let pointers = (w >> 48) as u16;
            let end = target + data_words as i64 + pointers as i64;
            if target < 0 || end > seg_words as i64 {
                return Err(ReadError::OutOfBounds);
            }
            Ok(Decoded::Struct {
                start: target as usize,
                data_words,
                pointers,
            })
        }
        1 => {
            let size = ElementSize::from_bits(w >> 32);
            let count = (w >> 35) as u32;
            if target < 0 {
                return Err(ReadError::OutOfBounds);
            }
            if size == ElementSize::InlineComposite {
                // `count` is the word count of the elements (excluding the tag).
                let end = target + 1 + count as i64;
                if end > seg_words as i64 {
                    return Err(ReadError::OutOfBounds);
                }
                let tag = seg.word(target as usize);
                if tag & 3 != 0 {
                    return Err(ReadError::WrongKind);
                }
                let elements = ((tag as u32) >> 2) as u64;
                let data_words = (tag >> 32) as u16;
                let pointers = (tag >> 48) as u16;
                let per = data_words as u64 + pointers as u64;
                if elements * per > count as u64 {
                    return Err(ReadError::OutOfBounds);
                }
                if per == 0 && elements > MAX_ZERO_SIZED_ELEMENTS {
                    // Zero-sized elements cost nothing to store; cap them so a
                    // tiny message cannot claim billions of elements.
                    return Err(ReadError::LimitExceeded);
                }
                Ok(Decoded::List {
                    start: target as usize + 1,
                    size,
                    count: elements as u32,
                    data_words,
                    pointers,
                })
            } else {
                let bits = size.data_bits() * count as u64;
                let words = bits.div_ceil(64);
                if target as u64 + words > seg_words as u64 {
                    return Err(ReadError::OutOfBounds);
                }
                if size == ElementSize::Void && count as u64 > MAX_ZERO_SIZED_ELEMENTS {
                    return Err(ReadError::LimitExceeded);
                }
                Ok(Decoded::List {
                    start: target as usize,
                    size,
                    count,
                    data_words: 0,
                    pointers: 0,
                })
            }
        }
        2 => Err(ReadError::FarPointer),
        _ => Err(ReadError::Capability),
    }
}

/// A struct in a message: its data and pointer sections.
///
/// Reads past the end of a section give zero / null, as Cap'n Proto
/// requires (that is how older and newer schemas read each other's
/// records).
#[derive(Clone, Copy)]
pub struct StructReader<'a> {
    seg: &'a [u8],
    data: &'a [u8],
    /// Word index of the pointer section.
    ptr_start: usize,
    pointers: u16,
    depth: u32,
}

impl fmt::Debug for StructReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StructReader")
            .field("data_bytes", &self.data.len())
            .field("pointers", &self.pointers)
            .finish()
    }
}

impl<'a> StructReader<'a> {
    /// An empty struct (every field reads as its default).
    #[inline]
    pub const fn empty() -> StructReader<'a> {
        StructReader {
            seg: &[],
            data: &[],
            ptr_start: 0,
            pointers: 0,
            depth: 0,
        }
    }

    /// Reads the root struct of a single-segment message (`message` starts
    /// with the root pointer).
    ///
    /// # Errors
    /// A message that is not a whole number of words, or whose root pointer
    /// is not a struct pointer inside the message.
    pub fn root(message: &'a [u8]) -> Result<StructReader<'a>, ReadError> {
        if message.len() < 8 || !message.len().is_multiple_of(8) {
            return Err(ReadError::Truncated);
        }
        PointerReader::new(message, 0, NESTING_LIMIT).struct_reader()
    }

    #[inline(always)]
    #[doc(hidden)]
    pub fn at(
        seg: &'a [u8],
        start: usize,
        data_words: u16,
        pointers: u16,
        depth: u32,
    ) -> StructReader<'a> {
        let data_start = start * 8;
        let data_end = data_start + data_words as usize * 8;
        StructReader {
            seg,
            data: seg.get(data_start..data_end).unwrap_or(&[]),
            ptr_start: start + data_words as usize,
            pointers,
            depth,
        }
    }

    /// [`StructReader::at`] of the struct whose data section is the
    /// `data_bytes` bytes from byte `byte` of `seg`, without a bounds
    /// check, for a reader that has checked a whole list of structs once.
    ///
    /// # Safety
    /// `byte` and `data_bytes` are multiples of 8, and
    /// `byte + data_bytes <= seg.len()`, computed without overflow.
    #[inline(always)]
    #[doc(hidden)]
    pub unsafe fn at_byte_unchecked(
        seg: &'a [u8],
        byte: usize,
        data_bytes: usize,
        pointers: u16,
        depth: u32,
    ) -> StructReader<'a> {
        // SAFETY: the caller promises the data section is inside `seg`.
        let data = unsafe { std::slice::from_raw_parts(seg.as_ptr().add(byte), data_bytes) };
        StructReader {
            seg,
            data,
            ptr_start: (byte + data_bytes) / 8,
            pointers,
            depth,
        }
    }

    /// Asks the processor to start loading the struct's first bytes (a
    /// hint: nothing is read, nothing can fault).
    #[inline]
    #[doc(hidden)]
    pub fn prefetch(&self) {
        crate::prefetch(self.data.as_ptr());
    }

    /// Asks the processor to start loading what the struct's pointers
    /// point to, so a reader about to follow them overlaps their cache
    /// misses: with `depth` 1 the first bytes of each text, list and
    /// struct; with `depth` 2 instead the targets of the first elements
    /// of each list of pointers (the texts of a list of texts). Only the
    /// pointers `which` names are followed (bit `i`: pointer `i`; all
    /// bits: every pointer). Reads the struct's pointer section (and at
    /// depth 2 those lists), which an earlier call should have brought
    /// into cache (see [`StructReader::prefetch`]); reads stay in bounds
    /// and a prefetch cannot fault.
    #[inline]
    #[doc(hidden)]
    pub fn prefetch_targets(&self, depth: u32, which: u64) {
        // Struct and list pointers name their target by offset (a word
        // out of bounds reads as null); far and other pointers are left
        // alone.
        let target = |at: usize, w: u64| pointer_target(at, w) as usize;
        let fetch = |word: usize| prefetch_word(self.seg, word);
        for (i, at) in
            (self.ptr_start..self.ptr_start.saturating_add(self.pointers as usize)).enumerate()
        {
            let wanted = if i < 64 {
                (which >> i) & 1 == 1
            } else {
                which == u64::MAX
            };
            let w = word_at(self.seg, at);
            if !wanted || w == 0 || w & 3 >= 2 {
                continue;
            }
            if depth == 1 {
                fetch(target(at, w));
            } else if w & 3 == 1 && (w >> 32) & 7 == ElementSize::Pointer.bits() {
                let first = target(at, w);
                for e in (0..((w >> 35) as usize).min(4)).map(|i| first.wrapping_add(i)) {
                    let w = word_at(self.seg, e);
                    if w != 0 && w & 3 < 2 {
                        fetch(target(e, w));
                    }
                }
            }
        }
    }

    /// The segment, the struct's first word, and its section sizes.
    #[doc(hidden)]
    #[inline]
    pub fn parts(&self) -> (&'a [u8], usize, u16, u16) {
        let dw = (self.data.len() / 8) as u16;
        (self.seg, self.ptr_start - dw as usize, dw, self.pointers)
    }

    /// The data section's size in bytes.
    #[inline]
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    /// The number of pointers.
    #[inline]
    pub fn pointer_count(&self) -> u16 {
        self.pointers
    }

    /// Reads a bit (`offset` in bits).
    #[inline(always)]
    pub fn read_bool(&self, offset: u32) -> bool {
        match self.data.get((offset / 8) as usize) {
            Some(b) => (b >> (offset % 8)) & 1 == 1,
            None => false,
        }
    }

    /// Reads a byte (`offset` in bytes).
    #[inline(always)]
    pub fn read_u8(&self, offset: u32) -> u8 {
        match self.data.get(offset as usize) {
            Some(b) => *b,
            None => 0,
        }
    }

    /// Reads a little-endian u16 (`offset` in 16-bit units).
    #[inline(always)]
    pub fn read_u16(&self, offset: u32) -> u16 {
        let p = offset as usize * 2;
        match self.data.get(p..p + 2) {
            Some(b) => u16::from_le_bytes([b[0], b[1]]),
            None => 0,
        }
    }

    /// Reads a little-endian u32 (`offset` in 32-bit units).
    #[inline(always)]
    pub fn read_u32(&self, offset: u32) -> u32 {
        let p = offset as usize * 4;
        match self.data.get(p..p + 4) {
            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            None => 0,
        }
    }

    /// Reads a little-endian u64 (`offset` in words).
    #[inline(always)]
    pub fn read_u64(&self, offset: u32) -> u64 {
        let p = offset as usize * 8;
        match self.data.get(p..p + 8) {
            Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            None => 0,
        }
    }

    /// The pointer at index `index` (a null pointer past the section's end).
    #[inline(always)]
    pub fn pointer(&self, index: u32) -> PointerReader<'a> {
        if index < self.pointers as u32 {
            PointerReader::new(self.seg, self.ptr_start + index as usize, self.depth)
        } else {
            PointerReader::null()
        }
    }
}

/// One pointer in a message, not yet followed.
#[derive(Clone, Copy, Debug)]
pub struct PointerReader<'a> {
    seg: &'a [u8],
    /// Word index of the pointer, or `usize::MAX` for a null pointer that is
    /// not stored anywhere.
    at: usize,
    depth: u32,
}

impl<'a> PointerReader<'a> {
    #[inline]
    pub(crate) fn new(seg: &'a [u8], at: usize, depth: u32) -> PointerReader<'a> {
        PointerReader { seg, at, depth }
    }

    /// A null pointer.
    #[inline]
    pub const fn null() -> PointerReader<'a> {
        PointerReader {
            seg: &[],
            at: usize::MAX,
            depth: 0,
        }
    }

    /// Whether the pointer is null.
    #[inline]
    pub fn is_null(&self) -> bool {
        self.at == usize::MAX || word_at(self.seg, self.at) == 0
    }

    #[inline(always)]
    fn decoded(&self) -> Result<Decoded, ReadError> {
        if self.at == usize::MAX {
            return Ok(Decoded::Null);
        }
        if self.depth == 0 {
            return Err(ReadError::LimitExceeded);
        }
        decode(self.seg, self.at)
    }

    /// Follows a struct pointer; null reads as an empty struct.
    ///
    /// # Errors
    /// Not a struct pointer, or out of bounds.
    #[inline]
    pub fn struct_reader(&self) -> Result<StructReader<'a>, ReadError> {
        match self.decoded()? {
            Decoded::Null => Ok(StructReader::empty()),
            Decoded::Struct {
                start,
                data_words,
                pointers,
            } => Ok(StructReader::at(
                self.seg,
                start,
                data_words,
                pointers,
                self.depth - 1,
            )),
            Decoded::List { .. } => Err(ReadError::WrongKind),
        }
    }

    /// Follows a list pointer; null reads as an empty list.
    ///
    /// # Errors
    /// Not a list pointer, or out of bounds.
    #[inline]
    pub fn list_reader(&self) -> Result<ListReader<'a>, ReadError> {
        // Fast path: a pointer to a list of other than structs, in bounds
        // (the common case), decoded in a few instructions; anything else
        // by the general decoder below.
        if self.at != usize::MAX && self.depth != 0 {
            let w = word_at(self.seg, self.at);
            let size = ElementSize::from_bits(w >> 32);
            if w & 3 == 1 && size != ElementSize::InlineComposite && size != ElementSize::Void {
                if let Some(l) = self.flat_list(w, size) {
                    return Ok(l);
                }
            } else if w & 3 == 1 && size == ElementSize::InlineComposite {
                if let Some(l) = self.composite_list(w) {
                    return Ok(l);
                }
            }
        }
        self.list_reader_decoded()
    }

    /// The struct list that inline-composite list pointer `w`, stored here,
    /// points to, with the checks of [`decode`]: `None` when it is out of
    /// bounds, its tag is not a struct tag, or its elements are zero-sized
    /// (all of which the general decoder reports).
    #[inline(always)]
    fn composite_list(&self, w: u64) -> Option<ListReader<'a>> {
        let target = pointer_target(self.at, w);
        // The elements' words, excluding the tag.
        let words = w >> 35;
        if target < 0 || target as u64 + 1 + words > self.seg.words() as u64 {
            return None;
        }
        let tag = word_at(self.seg, target as usize);
        let (elements, data_words, pointers) =
            ((tag as u32) >> 2, (tag >> 32) as u16, (tag >> 48) as u16);
        let per = u64::from(data_words) + u64::from(pointers);
        (tag & 3 == 0 && per != 0 && u64::from(elements) * per <= words).then_some(ListReader {
            seg: self.seg,
            start: target as usize + 1,
            size: ElementSize::InlineComposite,
            count: elements,
            data_words,
            pointers,
            depth: self.depth - 1,
        })
    }

    /// The list that list pointer `w`, stored here, points to, its elements
    /// `size` wide (not `InlineComposite` or `Void`): `None` when it is not
    /// in bounds.
    #[inline(always)]
    fn flat_list(&self, w: u64, size: ElementSize) -> Option<ListReader<'a>> {
        let target = pointer_target(self.at, w);
        let count = (w >> 35) as u32;
        let words = (size.data_bits() * count as u64).div_ceil(64);
        (target >= 0 && target as u64 + words <= self.seg.words() as u64).then_some(ListReader {
            seg: self.seg,
            start: target as usize,
            size,
            count,
            data_words: 0,
            pointers: 0,
            depth: self.depth - 1,
        })
    }

    /// [`PointerReader::list_reader`] of a list whose elements are `size`
    /// wide (a list type's own element size; `InlineComposite` lists always
    /// take the general path), empty when that fails. A pointer to such a
    /// list, in bounds, is decoded inline in a few instructions; anything
    /// else (null, another encoding, out of bounds) by the general decoder,
    /// out of line. With `size` a constant, as in a list accessor, the
    /// check of the pointer's element size is one compare.
    #[inline(always)]
    pub fn list_of(&self, size: ElementSize) -> ListReader<'a> {
        if self.at != usize::MAX
            && self.depth != 0
            && size != ElementSize::InlineComposite
            && size != ElementSize::Void
        {
            let w = word_at(self.seg, self.at);
            if w & (7 << 32 | 3) == size.bits() << 32 | 1 {
                if let Some(l) = self.flat_list(w, size) {
                    return l;
                }
            }
        }
        self.list_or_empty()
    }

    /// [`PointerReader::list_reader`], empty when that fails.
    #[inline(never)]
    fn list_or_empty(&self) -> ListReader<'a> {
        self.list_reader().unwrap_or(ListReader::empty())
    }

    /// [`PointerReader::list_reader`] by the general decoder.
    fn list_reader_decoded(&self) -> Result<ListReader<'a>, ReadError> {
        match self.decoded()? {
            Decoded::Null => Ok(ListReader::empty()),
            Decoded::List {
                start,
                size,
                count,
                data_words,
                pointers,
            } => Ok(ListReader {
                seg: self.seg,
                start,
                size,
                count,
                data_words,
                pointers,
                depth: self.depth - 1,
            }),
            Decoded::Struct { .. } => Err(ReadError::WrongKind),
        }
    }

    /// Follows a `Data` pointer (a list of bytes); null reads as empty.
    ///
    /// # Errors
    /// Not a byte list, or out of bounds.
    #[inline]
    pub fn data(&self) -> Result<&'a [u8], ReadError> {
        // Fast path: a byte-list pointer whose target is in bounds (the
        // common case, decoded without the general machinery).
        let w = if self.at == usize::MAX || self.depth == 0 {
            0
        } else {
            word_at(self.seg, self.at)
        };
        if w & 3 == 1 && (w >> 32) & 7 == ElementSize::Byte.bits() {
            let target = pointer_target(self.at, w);
            let count = (w >> 35) as usize;
            if target >= 0 {
                let start = (target as usize).wrapping_mul(8);
                if let Some(bytes) = self.seg.get(start..start.wrapping_add(count)) {
                    return Ok(bytes);
                }
            }
            return Err(ReadError::OutOfBounds);
        }
        self.data_decoded()
    }

    /// [`PointerReader::data`] of anything but a byte-list pointer (null, a
    /// far pointer, another kind or element size), by the general decoder.
    /// It gives what the fast path gives for any pointer (tested).
    #[inline(never)]
    fn data_decoded(&self) -> Result<&'a [u8], ReadError> {
        let l = self.list_reader()?;
        if l.count == 0 {
            return Ok(&[]);
        }
        if l.size != ElementSize::Byte {
            return Err(ReadError::WrongElementSize);
        }
        let start = l.start * 8;
        self.seg
            .get(start..start + l.count as usize)
            .ok_or(ReadError::OutOfBounds)
    }

    /// Follows a `Text` pointer; null reads as `""`.
    ///
    /// # Errors
    /// Not a byte list, no NUL terminator, not UTF-8, or out of bounds.
    #[inline]
    pub fn text(&self) -> Result<&'a str, ReadError> {
        let bytes = self.data()?;
        match bytes.split_last() {
            None => Ok(""),
            Some((0, body)) => utf8(body),
            Some(_) => Err(ReadError::BadText),
        }
    }
}

/// Validates UTF-8, checking eight bytes at a time for the common all-ASCII
/// case (std's validator is slow to start on the short strings records hold).
#[inline]
fn utf8(body: &[u8]) -> Result<&str, ReadError> {
    let (words, tail) = body.as_chunks::<8>();
    let mut high = 0u64;
    for w in words {
        high |= u64::from_ne_bytes(*w);
    }
    let mut last = [0u8; 8];
    last[..tail.len()].copy_from_slice(tail);
    high |= u64::from_ne_bytes(last);
    if high & 0x8080_8080_8080_8080 == 0 {
        // SAFETY: every byte of `body` is below 0x80 (checked just above:
        // the OR of all bytes has no high bit set in any lane), and a string
        // of ASCII bytes is valid UTF-8.
        Ok(unsafe { core::str::from_utf8_unchecked(body) })
    } else {
        core::str::from_utf8(body).map_err(|_| ReadError::BadText)
    }
}

/// A list's place in its segment, without the borrow (for long-lived
/// structures that rebuild readers on demand).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
pub struct ListPosition {
    start: usize,
    size: ElementSize,
    count: u32,
    data_words: u16,
    pointers: u16,
}

impl ListPosition {
    /// A position from its parts (as `decode` gives them).
    #[doc(hidden)]
    #[inline]
    pub fn new(
        start: usize,
        size: ElementSize,
        count: u32,
        data_words: u16,
        pointers: u16,
    ) -> ListPosition {
        ListPosition {
            start,
            size,
            count,
            data_words,
            pointers,
        }
    }
}

/// A list in a message.
#[derive(Clone, Copy, Debug)]
pub struct ListReader<'a> {
    seg: &'a [u8],
    start: usize,
    size: ElementSize,
    count: u32,
    data_words: u16,
    pointers: u16,
    depth: u32,
}

impl<'a> ListReader<'a> {
    /// An empty list.
    #[inline]
    pub const fn empty() -> ListReader<'a> {
        ListReader {
            seg: &[],
            start: 0,
            size: ElementSize::Void,
            count: 0,
            data_words: 0,
            pointers: 0,
            depth: 0,
        }
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> u32 {
        self.count
    }

    /// Whether the list has no elements.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The element encoding.
    #[inline]
    pub fn element_size(&self) -> ElementSize {
        self.size
    }

    /// Whether the list's encoding can be read as elements of `expected`
    /// (an empty list always can).
    #[inline]
    pub fn is(&self, expected: ElementSize) -> bool {
        self.count == 0 || self.size == expected
    }

    #[inline(always)]
    fn bytes_at(&self, i: u32, width: usize) -> Option<&'a [u8]> {
        if i >= self.count {
            return None;
        }
        let p = self.start * 8 + i as usize * width;
        self.seg.get(p..p + width)
    }

    /// The bytes of a list of 8-byte elements (empty for any other list):
    /// a bitmap kept as `List(UInt64)` is tested bit by bit from these.
    #[inline]
    #[doc(hidden)]
    pub fn eight_byte_body(&self) -> &'a [u8] {
        if self.size != ElementSize::EightBytes {
            return &[];
        }
        let start = self.start * 8;
        self.seg
            .get(start..start + self.count as usize * 8)
            .unwrap_or(&[])
    }

    /// Reads bit `i` of a bit list (false when out of range or not a bit list).
    #[inline]
    pub fn bit(&self, i: u32) -> bool {
        if i >= self.count || self.size != ElementSize::Bit {
            return false;
        }
        match self.seg.get(self.start * 8 + (i / 8) as usize) {
            Some(b) => (b >> (i % 8)) & 1 == 1,
            None => false,
        }
    }

    /// Reads byte element `i` (0 when out of range or of another width).
    #[inline]
    pub fn u8_at(&self, i: u32) -> u8 {
        if self.size != ElementSize::Byte {
            return 0;
        }
        self.bytes_at(i, 1).map_or(0, |b| b[0])
    }

    /// Reads 16-bit element `i`.
    #[inline]
    pub fn u16_at(&self, i: u32) -> u16 {
        if self.size != ElementSize::TwoBytes {
            return 0;
        }
        self.bytes_at(i, 2)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
    }

    /// Reads 32-bit element `i`.
    #[inline]
    pub fn u32_at(&self, i: u32) -> u32 {
        if self.size != ElementSize::FourBytes {
            return 0;
        }
        self.bytes_at(i, 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads 64-bit element `i`.
    #[inline]
    pub fn u64_at(&self, i: u32) -> u64 {
        if self.size != ElementSize::EightBytes {
            return 0;
        }
        self.bytes_at(i, 8).map_or(0, |b| {
            u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        })
    }

    /// Pointer element `i` of a pointer list (null when out of range).
    #[inline]
    pub fn pointer(&self, i: u32) -> PointerReader<'a> {
        if i >= self.count || self.size != ElementSize::Pointer {
            return PointerReader::null();
        }
        PointerReader::new(self.seg, self.start + i as usize, self.depth)
    }

    /// A reader over `seg` at a position taken from a reader over the same
    /// bytes (reads stay bounds-checked whatever the position says).
    #[doc(hidden)]
    #[inline]
    pub fn at_position(seg: &'a [u8], p: ListPosition) -> ListReader<'a> {
        ListReader {
            seg,
            start: p.start,
            size: p.size,
            count: p.count,
            data_words: p.data_words,
            pointers: p.pointers,
            depth: NESTING_LIMIT - 2,
        }
    }

    /// The word struct element `i` of an inline-composite list starts at
    /// (`None` when out of range or not a struct list): read it with
    /// [`ListReader::struct_at_word`], or fetch it ahead with
    /// [`ListReader::prefetch_word`], with no test repeated.
    #[inline(always)]
    pub(crate) fn word_of(&self, i: u32) -> Option<usize> {
        let (start, per) = self.struct_words()?;
        (i < self.count).then(|| start + i as usize * per)
    }

    /// Where struct element `i` of an inline-composite list starts is
    /// `start + i * per`: `(start, per)`, or `None` for another kind of
    /// list (for a reader that keeps both, and tests `i` against
    /// [`ListReader::len`] itself).
    #[inline(always)]
    #[doc(hidden)]
    pub fn struct_words(&self) -> Option<(usize, usize)> {
        (self.size == ElementSize::InlineComposite).then(|| {
            (
                self.start,
                self.data_words as usize + self.pointers as usize,
            )
        })
    }

    /// The struct element starting at `word` (from [`ListReader::word_of`];
    /// any other word reads a struct of this list's shape there, bounds
    /// checked as every struct is).
    #[inline(always)]
    #[doc(hidden)]
    pub fn struct_at_word(&self, word: usize) -> StructReader<'a> {
        StructReader::at(self.seg, word, self.data_words, self.pointers, self.depth)
    }

    /// The struct element whose data section starts at byte `byte` of the
    /// list's segment, without a bounds check; `data_bytes` is
    /// [`ListReader::data_bytes`] (passed in, so a reader of many elements
    /// computes it once).
    ///
    /// # Safety
    /// `byte` is a multiple of 8, `data_bytes` is this list's, and
    /// `byte + data_bytes` is at most the segment's length (see
    /// [`ListReader::seg_words`]), computed without overflow.
    #[inline(always)]
    #[doc(hidden)]
    pub unsafe fn struct_at_byte_unchecked(
        &self,
        byte: usize,
        data_bytes: usize,
    ) -> StructReader<'a> {
        // SAFETY: as the caller promises.
        unsafe {
            StructReader::at_byte_unchecked(self.seg, byte, data_bytes, self.pointers, self.depth)
        }
    }

    /// Bytes of each struct element's data section.
    #[inline]
    #[doc(hidden)]
    pub fn data_bytes(&self) -> usize {
        self.data_words as usize * 8
    }

    /// Whole words in the segment the list is in.
    #[inline]
    #[doc(hidden)]
    pub fn seg_words(&self) -> usize {
        self.seg.len() / 8
    }

    /// Asks the processor to start loading the bytes at `word` of the list's
    /// segment (a hint: nothing is read, any word is harmless).
    #[inline(always)]
    #[doc(hidden)]
    pub fn prefetch_word(&self, word: usize) {
        prefetch_word(self.seg, word);
    }

    /// Struct element `i` of an inline-composite list (empty when out of
    /// range or not a struct list).
    #[inline(always)]
    pub fn struct_at(&self, i: u32) -> StructReader<'a> {
        match self.word_of(i) {
            Some(w) => self.struct_at_word(w),
            None => StructReader::empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list reader's fields, to compare two.
    fn fields(l: &ListReader<'_>) -> (usize, usize, ElementSize, u32, u16, u16, u32) {
        let seg = l.seg.as_ptr() as usize;
        (
            seg,
            l.start,
            l.size,
            l.count,
            l.data_words,
            l.pointers,
            l.depth,
        )
    }

    #[test]
    fn the_list_pointer_fast_paths_agree_with_the_general_decoder() {
        let mut next = crate::xorshift(0x11ce);
        let (mut seen_fast, mut seen_composite) = (0, 0);
        for round in 0..20_000 {
            // Word 0 a pointer (mostly a list pointer with a small offset
            // and count, in bounds or not), the rest random.
            let mut words = [0u64; 16];
            for w in &mut words[1..] {
                *w = next();
            }
            let r = next();
            let offset = (r % 24) as i32 - 4;
            let size = (r >> 16) & 7;
            // A struct list's count is its words, which must fit the 16.
            let count = (r >> 8) % if size == 7 { 16 } else { 200 };
            let kind = match round % 8 {
                0 => r & 3,
                _ => 1,
            };
            words[0] = (((offset << 2) as u32) as u64 & !3) | kind | size << 32 | count << 35;
            // Inline-composite lists: mostly a plausible tag (a few small
            // elements; now and then a tag of another kind or zero-sized
            // elements) where the pointer lands.
            let target = 1 + offset as i64;
            if size == 7 && (1..16).contains(&target) && round % 4 != 0 {
                let t = next();
                let tag_kind = if t.is_multiple_of(16) {
                    (t >> 4) & 3
                } else {
                    0
                };
                let (elements, data_words, pointers) =
                    ((t >> 8) % 12, (t >> 16) % 3, (t >> 24) % 3);
                words[target as usize] =
                    tag_kind | elements << 2 | data_words << 32 | pointers << 48;
            }
            if round % 97 == 0 {
                words[0] = 0;
            }
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            for depth in [0, 1, NESTING_LIMIT] {
                let p = PointerReader::new(&bytes, 0, depth);
                let general = p.list_reader_decoded();
                let got = p.list_reader();
                match (&got, &general) {
                    (Ok(a), Ok(b)) if a.count > 0 || b.count > 0 => {
                        assert_eq!(fields(a), fields(b), "word {:#x}", words[0]);
                        seen_fast += 1;
                        seen_composite += u32::from(a.size == ElementSize::InlineComposite);
                    }
                    (Ok(a), Ok(b)) => assert_eq!(a.count, b.count),
                    _ => assert_eq!(got.err(), general.err(), "word {:#x}", words[0]),
                }
                // A list accessor's read: what the general decoder gives,
                // or an empty list where it fails.
                let or_empty = general.unwrap_or(ListReader::empty());
                for bits in 0..8 {
                    let typed = p.list_of(ElementSize::from_bits(bits));
                    assert_eq!(typed.count, or_empty.count, "word {:#x}", words[0]);
                    if typed.count > 0 {
                        assert_eq!(fields(&typed), fields(&or_empty), "word {:#x}", words[0]);
                    }
                }
                // A `Data` read: the same bytes, or the same error.
                assert_eq!(p.data(), p.data_decoded(), "word {:#x}", words[0]);
            }
        }
        assert!(seen_fast > 1000, "{seen_fast} lists read");
        assert!(seen_composite > 200, "{seen_composite} struct lists read");
    }

    #[test]
    fn root_of_garbage_is_an_error_not_a_panic() {
        assert_eq!(
            StructReader::root(&[1, 2, 3]).unwrap_err(),
            ReadError::Truncated
        );
        // A list pointer as root.
        let msg = [1u8, 0, 0, 0, 2, 0, 0, 0];
        assert_eq!(StructReader::root(&msg).unwrap_err(), ReadError::WrongKind);
        // A struct pointer that points past the end.
        let msg = [0u8, 0, 0, 0, 1, 0, 0, 0];
        assert_eq!(
            StructReader::root(&msg).unwrap_err(),
            ReadError::OutOfBounds
        );
        // Far pointer.
        let msg = [2u8, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(StructReader::root(&msg).unwrap_err(), ReadError::FarPointer);
    }

    #[test]
    fn reads_past_the_sections_give_defaults() {
        // Root: struct with 1 data word, 0 pointers, value 0x0102.
        let mut msg = vec![0u8; 16];
        msg[4] = 1; // data words = 1
        msg[8] = 2;
        msg[9] = 1;
        let s = StructReader::root(&msg).unwrap();
        assert_eq!(s.read_u16(0), 0x0102);
        assert_eq!(s.read_u64(1), 0);
        assert!(s.pointer(0).is_null());
        assert_eq!(s.pointer(5).text(), Ok(""));
    }

    #[test]
    fn prefetching_pointer_targets_of_garbage_reads_nothing_out_of_bounds() {
        // Random words (every pointer kind, offsets anywhere, huge
        // counts): asking for targets never reads past the segment, and a
        // struct reads the same afterwards.
        let mut next = crate::xorshift(0x0bad_cafe);
        for round in 0..2_000u64 {
            let words = 1 + (round % 24) as usize;
            let seg: Vec<u8> = (0..words).flat_map(|_| next().to_le_bytes()).collect();
            let start = (next() % words as u64) as usize;
            let (dw, ptrs) = ((next() % 3) as u16, (next() % 6) as u16);
            let s = StructReader::at(&seg, start, dw, ptrs, 8);
            let before: Vec<u64> = (0..3).map(|i| s.read_u64(i)).collect();
            s.prefetch();
            for which in [u64::MAX, 0, 0b101, 1 << 63] {
                s.prefetch_targets(1, which);
                s.prefetch_targets(2, which);
            }
            let after: Vec<u64> = (0..3).map(|i| s.read_u64(i)).collect();
            assert_eq!(before, after);
        }
    }
}
