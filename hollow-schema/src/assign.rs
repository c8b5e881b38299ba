//! Computes the wire layout of every struct in a [`Schema`] from its fields.

use crate::ir::{Field, FieldKind, Schema, Storage, TypeDef};
use crate::layout::{compute, LayoutNode};
use crate::SchemaError;

/// Computes and stores the layout of every struct in `schema`: each slot's
/// offset, each union's discriminant offset and each struct's section sizes,
/// exactly as the Cap'n Proto compiler would for the equivalent schema text.
///
/// Fields are allocated in increasing ordinal order.
///
/// # Errors
/// A struct whose layout cannot be computed (see
/// [`LayoutError`](crate::layout::LayoutError)); the message names the struct.
pub fn assign_layout(schema: &mut Schema) -> Result<(), SchemaError> {
    for def in &mut schema.types {
        if let TypeDef::Struct(s) = def {
            let mut nodes = Vec::new();
            let mut ordinals = Vec::new();
            flatten(&s.fields, &mut nodes, &mut ordinals);
            // Rank the leaf ordinals so gaps (e.g. left by a union ordinal) do
            // not matter; the relative order is what the compiler follows.
            let mut leaf_ords: Vec<(u16, usize)> = nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.is_leaf())
                .map(|(i, _)| (ordinals[i], i))
                .collect();
            leaf_ords.sort();
            for (rank, (_, i)) in leaf_ords.iter().enumerate() {
                ordinals[*i] = rank as u16;
            }
            let mut out = vec![0u32; nodes.len()];
            let size = compute(&nodes, Some(&ordinals), &mut out).map_err(|e| {
                SchemaError::new(format!("struct {}: cannot lay out: {e}", s.name))
            })?;
            let mut next = 0;
            store(&mut s.fields, &out, &mut next);
            s.size = size;
        }
    }
    Ok(())
}

/// Converts fields to layout nodes in pre-order (with each leaf's ordinal).
pub(crate) fn flatten(fields: &[Field], nodes: &mut Vec<LayoutNode>, ordinals: &mut Vec<u16>) {
    for f in fields {
        match &f.kind {
            FieldKind::Slot(slot) => {
                nodes.push(match slot.ty.storage() {
                    Storage::Void => LayoutNode::Void,
                    Storage::Data(lg) => LayoutNode::Data(lg),
                    Storage::Pointer => LayoutNode::Pointer,
                });
                ordinals.push(slot.ordinal);
            }
            FieldKind::Group(g) => {
                nodes.push(LayoutNode::Group(g.fields.len() as u16));
                ordinals.push(0);
                flatten(&g.fields, nodes, ordinals);
            }
            FieldKind::Union(u) => {
                nodes.push(LayoutNode::Union(u.variants.len() as u16));
                ordinals.push(0);
                flatten(&u.variants, nodes, ordinals);
            }
        }
    }
}

fn store(fields: &mut [Field], out: &[u32], next: &mut usize) {
    for f in fields {
        let here = out[*next];
        *next += 1;
        match &mut f.kind {
            FieldKind::Slot(slot) => slot.offset = here,
            FieldKind::Group(g) => store(&mut g.fields, out, next),
            FieldKind::Union(u) => {
                u.discriminant_offset = here;
                store(&mut u.variants, out, next);
            }
        }
    }
}
