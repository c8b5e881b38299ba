//! Writing a Cap'n Proto message into one growable segment.
//!
//! Objects are appended in the order they are initialized; the result is a
//! valid single-segment message but not necessarily canonical (sections are
//! not truncated). [`canonicalize`](super::canonicalize) turns it into the
//! canonical form that records are hashed and stored in.

use super::reader::ElementSize;
use super::{list_ptr, struct_ptr};

/// A message under construction: word 0 is the root pointer.
#[derive(Debug, Default, Clone)]
pub struct MessageBuilder {
    words: Vec<u64>,
}

impl MessageBuilder {
    /// An empty message.
    pub fn new() -> Self {
        Self::default()
    }

    /// The words written so far (word 0 is the root pointer).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    #[inline]
    fn alloc(&mut self, n: usize) -> usize {
        let start = self.words.len();
        self.words.resize(start + n, 0);
        start
    }

    /// Starts a new message whose root is a struct of the given size.
    pub fn init_root(&mut self, data_words: u16, pointers: u16) -> StructBuilder<'_> {
        self.words.clear();
        self.alloc(1);
        self.init_struct_at(0, data_words, pointers)
    }

    /// Allocates a struct and stores a pointer to it at word `ptr_word`.
    pub fn init_struct_at(
        &mut self,
        ptr_word: usize,
        data_words: u16,
        pointers: u16,
    ) -> StructBuilder<'_> {
        let start = self.alloc(data_words as usize + pointers as usize);
        self.words[ptr_word] = struct_ptr(ptr_word, start, data_words, pointers);
        StructBuilder {
            msg: self,
            data: start,
            data_words,
            ptrs: start + data_words as usize,
            pointers,
        }
    }

    /// Stores `bytes` as a byte list (`Data`) pointed to from `ptr_word`.
    pub fn set_data_at(&mut self, ptr_word: usize, bytes: &[u8]) {
        self.byte_list(ptr_word, bytes, false);
    }

    /// Stores `text` (NUL-terminated) pointed to from `ptr_word`.
    pub fn set_text_at(&mut self, ptr_word: usize, text: &str) {
        self.byte_list(ptr_word, text.as_bytes(), true);
    }

    fn byte_list(&mut self, ptr_word: usize, bytes: &[u8], nul: bool) {
        let count = bytes.len() + nul as usize;
        let start = self.alloc(count.div_ceil(8));
        let mut chunks = bytes.chunks_exact(8);
        let mut w = start;
        for c in &mut chunks {
            self.words[w] = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            w += 1;
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.words[w] = u64::from_le_bytes(b);
        }
        self.words[ptr_word] = list_ptr(ptr_word, start, ElementSize::Byte, count as u32);
    }

    /// Allocates a list of `count` non-struct elements pointed to from
    /// `ptr_word`.
    pub fn init_list_at(
        &mut self,
        ptr_word: usize,
        size: ElementSize,
        count: u32,
    ) -> ListBuilder<'_> {
        let words = (size.data_bits() * count as u64).div_ceil(64) as usize;
        let start = self.alloc(words);
        self.words[ptr_word] = list_ptr(ptr_word, start, size, count);
        ListBuilder {
            msg: self,
            start,
            data_words: 0,
            pointers: 0,
        }
    }

    /// Allocates a list of `count` structs (inline composite) pointed to from
    /// `ptr_word`.
    pub fn init_struct_list_at(
        &mut self,
        ptr_word: usize,
        count: u32,
        data_words: u16,
        pointers: u16,
    ) -> ListBuilder<'_> {
        let per = data_words as usize + pointers as usize;
        let total = per * count as usize;
        let tag = self.alloc(1 + total);
        self.words[tag] =
            ((count as u64) << 2) | (data_words as u64) << 32 | (pointers as u64) << 48;
        self.words[ptr_word] = list_ptr(ptr_word, tag, ElementSize::InlineComposite, total as u32);
        ListBuilder {
            msg: self,
            start: tag + 1,
            data_words,
            pointers,
        }
    }

    #[inline(always)]
    fn set_bits(&mut self, word: usize, shift: u32, mask: u64, value: u64) {
        let w = &mut self.words[word];
        *w = (*w & !(mask << shift)) | ((value & mask) << shift);
    }
}

/// A struct being written: setters take offsets in units of the value's size
/// (bits for bools, bytes for 8-bit values, …), as the layout assigns them.
#[derive(Debug)]
pub struct StructBuilder<'b> {
    msg: &'b mut MessageBuilder,
    data: usize,
    data_words: u16,
    ptrs: usize,
    pointers: u16,
}

impl StructBuilder<'_> {
    /// The message being written (to write pointer targets).
    pub fn message(&mut self) -> &mut MessageBuilder {
        self.msg
    }

    /// Word index of pointer `index` (for [`MessageBuilder`]'s `*_at` methods).
    ///
    /// # Panics
    /// If `index` is not inside the pointer section (a bug in the caller's
    /// layout, never a property of input data).
    #[inline]
    pub fn pointer_word(&self, index: u32) -> usize {
        assert!(index < self.pointers as u32, "pointer index out of range");
        self.ptrs + index as usize
    }

    #[inline(always)]
    fn check(&self, bit_end: u64) {
        assert!(
            bit_end <= self.data_words as u64 * 64,
            "data offset out of range"
        );
    }

    /// Sets bit `offset`.
    #[inline]
    pub fn set_bool(&mut self, offset: u32, value: bool) {
        self.check(offset as u64 + 1);
        self.msg.set_bits(
            self.data + (offset / 64) as usize,
            offset % 64,
            1,
            value as u64,
        );
    }

    /// Sets the byte at `offset`.
    #[inline]
    pub fn set_u8(&mut self, offset: u32, value: u8) {
        self.check((offset as u64 + 1) * 8);
        self.msg.set_bits(
            self.data + (offset / 8) as usize,
            (offset % 8) * 8,
            0xff,
            value as u64,
        );
    }

    /// Sets the u16 at `offset` (16-bit units).
    #[inline]
    pub fn set_u16(&mut self, offset: u32, value: u16) {
        self.check((offset as u64 + 1) * 16);
        self.msg.set_bits(
            self.data + (offset / 4) as usize,
            (offset % 4) * 16,
            0xffff,
            value as u64,
        );
    }

    /// Sets the u32 at `offset` (32-bit units).
    #[inline]
    pub fn set_u32(&mut self, offset: u32, value: u32) {
        self.check((offset as u64 + 1) * 32);
        self.msg.set_bits(
            self.data + (offset / 2) as usize,
            (offset % 2) * 32,
            0xffff_ffff,
            value as u64,
        );
    }

    /// Sets the u64 at `offset` (words).
    #[inline]
    pub fn set_u64(&mut self, offset: u32, value: u64) {
        self.check((offset as u64 + 1) * 64);
        self.msg.words[self.data + offset as usize] = value;
    }
}

/// A list being written.
#[derive(Debug)]
pub struct ListBuilder<'b> {
    msg: &'b mut MessageBuilder,
    start: usize,
    data_words: u16,
    pointers: u16,
}

impl ListBuilder<'_> {
    /// The message being written.
    pub fn message(&mut self) -> &mut MessageBuilder {
        self.msg
    }

    /// Sets bit element `i`.
    #[inline]
    pub fn set_bit(&mut self, i: u32, v: bool) {
        self.msg
            .set_bits(self.start + (i / 64) as usize, i % 64, 1, v as u64);
    }

    /// Sets byte element `i`.
    #[inline]
    pub fn set_u8(&mut self, i: u32, v: u8) {
        self.msg
            .set_bits(self.start + (i / 8) as usize, (i % 8) * 8, 0xff, v as u64);
    }

    /// Sets 16-bit element `i`.
    #[inline]
    pub fn set_u16(&mut self, i: u32, v: u16) {
        self.msg.set_bits(
            self.start + (i / 4) as usize,
            (i % 4) * 16,
            0xffff,
            v as u64,
        );
    }

    /// Sets 32-bit element `i`.
    #[inline]
    pub fn set_u32(&mut self, i: u32, v: u32) {
        self.msg.set_bits(
            self.start + (i / 2) as usize,
            (i % 2) * 32,
            0xffff_ffff,
            v as u64,
        );
    }

    /// Sets 64-bit element `i`.
    #[inline]
    pub fn set_u64(&mut self, i: u32, v: u64) {
        self.msg.words[self.start + i as usize] = v;
    }

    /// Word index of pointer element `i` of a pointer list.
    #[inline]
    pub fn pointer_word(&self, i: u32) -> usize {
        self.start + i as usize
    }

    /// Struct element `i` of a struct list.
    pub fn struct_at(&mut self, i: u32) -> StructBuilder<'_> {
        let per = self.data_words as usize + self.pointers as usize;
        let data = self.start + i as usize * per;
        StructBuilder {
            msg: self.msg,
            data,
            data_words: self.data_words,
            ptrs: data + self.data_words as usize,
            pointers: self.pointers,
        }
    }
}
