//! What identifies a record type compiled into this program: its name and
//! its compiled schema. The schema checks compare it with a blob's schema;
//! a typed index spec carries the one its record type has.

use hollow_schema::Schema;

use crate::record::Struct;

/// A type read through compiled code: its name and its compiled schema.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Compiled {
    pub(crate) name: &'static str,
    pub(crate) schema: &'static Schema,
}

impl Compiled {
    /// Compiled type `T`.
    pub(crate) fn of<T: Struct>() -> Compiled {
        Compiled {
            name: T::TYPE_NAME,
            schema: T::schema(),
        }
    }

    /// What tells compiled types apart: the address of the schema
    /// [`Struct::schema`] returns (one static per type).
    #[inline(always)]
    pub(crate) fn id(&self) -> usize {
        self.schema as *const Schema as usize
    }
}
