//! [`List`]: the zero-copy view of a `List(T)` field.

use std::fmt;
use std::marker::PhantomData;

use crate::value::Element;
use crate::wire::ListReader;

/// A list field read in place: `len()`, `get(i)` and iteration, each element
/// read on demand.
///
/// A list whose encoding on the wire does not match `T` (possible only in
/// corrupt or foreign data) reads as empty.
///
/// ```
/// use hollow_core::Hollow;
///
/// #[derive(Hollow)]
/// struct Movie {
///     genres: Vec<String>,
/// }
///
/// let bytes = hollow_core::to_canonical_bytes(&Movie {
///     genres: vec!["drama".into(), "crime".into()],
/// })
/// .unwrap();
/// let movie = hollow_core::read_root::<Movie>(&bytes).unwrap();
/// assert_eq!(movie.genres().len(), 2);
/// assert_eq!(movie.genres().get(1), Some("crime"));
/// assert_eq!(movie.genres().iter().collect::<Vec<_>>(), ["drama", "crime"]);
/// ```
pub struct List<'a, T> {
    reader: ListReader<'a>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Element> Clone for List<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Element> Copy for List<'_, T> {}

impl<'a, T: Element> List<'a, T> {
    /// Wraps a list reader (an empty list if its encoding does not fit `T`).
    #[inline]
    pub fn new(reader: ListReader<'a>) -> Self {
        let reader = if reader.is(T::SIZE) {
            reader
        } else {
            ListReader::empty()
        };
        List {
            reader,
            _t: PhantomData,
        }
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.reader.len() as usize
    }

    /// Whether the list is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.reader.is_empty()
    }

    /// The list as stored.
    #[inline]
    pub(crate) fn reader(&self) -> &ListReader<'a> {
        &self.reader
    }

    /// The bytes element `i` points to, unchecked (a text's include its
    /// terminating zero); `None` past the end, for a list of other than
    /// pointers, or a pointer to other than bytes.
    #[inline]
    pub(crate) fn text_bytes(&self, i: usize) -> Option<&'a [u8]> {
        if i < self.len() && T::SIZE == crate::wire::ElementSize::Pointer {
            self.reader.pointer(i as u32).data().ok()
        } else {
            None
        }
    }

    /// Element `i`, or `None` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T::Item<'a>> {
        if i < self.len() {
            Some(T::get(&self.reader, i as u32))
        } else {
            None
        }
    }

    /// Iterates over the elements.
    #[inline]
    pub fn iter(&self) -> Iter<'a, T> {
        Iter {
            list: *self,
            front: 0,
            back: self.len(),
        }
    }
}

impl<'a, T: Element> IntoIterator for List<'a, T> {
    type Item = T::Item<'a>;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<'a, T: Element> fmt::Debug for List<'a, T>
where
    T::Item<'a>: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over a [`List`].
pub struct Iter<'a, T: Element> {
    list: List<'a, T>,
    front: usize,
    back: usize,
}

impl<'a, T: Element> Iterator for Iter<'a, T> {
    type Item = T::Item<'a>;
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.front < self.back {
            let v = T::get(&self.list.reader, self.front as u32);
            self.front += 1;
            Some(v)
        } else {
            None
        }
    }
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl<T: Element> DoubleEndedIterator for Iter<'_, T> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front < self.back {
            self.back -= 1;
            Some(T::get(&self.list.reader, self.back as u32))
        } else {
            None
        }
    }
}

impl<T: Element> ExactSizeIterator for Iter<'_, T> {}

impl<T: Element> std::iter::FusedIterator for Iter<'_, T> {}
