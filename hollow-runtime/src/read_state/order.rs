//! The stored order of maps and sets, checked as records are loaded: at
//! snapshot load every record of a type that can hold a map or a set, at
//! delta apply only the records added (so every record a state holds was
//! checked once, and the deep check does not walk them again). Types
//! without maps or sets, and schemas without any, are not read.

use std::sync::Arc;

use hollow_schema::Schema;

use super::{ReadState, TypeRead};
use crate::dynamic::{DynType, DynamicSchema};
use crate::error::{Error, ErrorKind};
use crate::wire::StructReader;

/// The dynamic schema the order of maps and sets is checked by: `None`
/// when `schema` has no map or set field (nothing to check).
///
/// # Errors
/// [`ErrorKind::CorruptBlob`], naming `blob`: the schema cannot be read
/// dynamically.
pub(super) fn order_schema(
    schema: &Schema,
    blob: &dyn std::fmt::Display,
) -> Result<Option<Arc<DynamicSchema>>, Error> {
    DynamicSchema::for_order_check(schema)
        .map(|d| d.map(Arc::new))
        .map_err(|e| {
            Error::new(
                ErrorKind::CorruptBlob,
                format!("blob {blob}: its schema's maps and sets cannot be checked: {e}"),
            )
        })
}

/// The check of one record type: the schema and the type, when the type
/// can hold a map or a set.
#[derive(Clone, Copy)]
pub(super) struct OrderCheck<'d> {
    schema: &'d DynamicSchema,
    ty: DynType,
}

impl OrderCheck<'_> {
    /// Why record `r` is damaged, if it is: the struct type and field of a
    /// map or set out of order or repeating a key.
    pub(super) fn problem(&self, r: StructReader<'_>) -> Option<String> {
        self.schema
            .record(self.ty, r)
            .check_order()
            .err()
            .map(|e| e.to_string())
    }
}

impl ReadState {
    /// The check of record type `type_name`, `None` when its records hold
    /// no map or set.
    pub(super) fn order_check(&self, type_name: &str) -> Option<OrderCheck<'_>> {
        let schema = self.order.as_deref()?;
        let ty = schema.ordered_type(type_name)?;
        Some(OrderCheck { schema, ty })
    }

    /// Checks the maps and sets of every record of type `t`, naming the
    /// first damaged record by its ordinal.
    pub(super) fn check_order_of(&self, t: &TypeRead) -> Result<(), String> {
        let Some(check) = self.order_check(&t.name) else {
            return Ok(());
        };
        let base = self.base_reader(t);
        for o in 0..t.table.limit() {
            if let Some(why) = self.read(t, &base, o).and_then(|r| check.problem(r)) {
                return Err(format!("ordinal {o}: {why}"));
            }
        }
        Ok(())
    }

    /// Checks the maps and sets of every record of a snapshot's state.
    ///
    /// # Errors
    /// [`ErrorKind::CorruptBlob`] naming `blob`, the type, the ordinal and
    /// the field.
    pub(super) fn check_order_loaded(&self, blob: &dyn std::fmt::Display) -> Result<(), Error> {
        for t in &self.types {
            self.check_order_of(t).map_err(|e| {
                Error::new(
                    ErrorKind::CorruptBlob,
                    format!("blob {blob}: type {}: {e}", t.name),
                )
            })?;
        }
        Ok(())
    }
}
