//! Computes the wire layout of every struct in a [`Schema`] from its fields.

use crate::ir::{Field, FieldKind, Schema, Storage, StructType, TypeDef};
use crate::layout::{compute, LayoutNode};
use crate::SchemaError;

/// Computes and stores the layout of every struct in `schema`: each slot's
/// offset, each union's discriminant offset (the unnamed union's included)
/// and each struct's section sizes, exactly as the Cap'n Proto compiler would
/// for the equivalent schema text.
///
/// Fields are allocated in increasing ordinal order. Only the relative order
/// of ordinals matters here; [`validate`](crate::validate) checks they are
/// also gap-free, as the compiler requires.
///
/// # Errors
/// A struct whose layout cannot be computed; the message names the struct and
/// [`SchemaError::layout_error`] gives the
/// [`LayoutError`](crate::layout::LayoutError). The first such struct stops
/// the computation (earlier structs keep their new layout).
pub fn assign_layout(schema: &mut Schema) -> Result<(), SchemaError> {
    for def in &mut schema.types {
        if let TypeDef::Struct(s) = def {
            assign_struct(s)?;
        }
    }
    Ok(())
}

fn assign_struct(s: &mut StructType) -> Result<(), SchemaError> {
    let mut nodes = Vec::new();
    let mut ordinals = Vec::new();
    flatten(&s.fields, &mut nodes, &mut ordinals);
    if let Some(u) = &s.unnamed_union {
        nodes.push(LayoutNode::Union(u.variants.len() as u16));
        ordinals.push(0);
        flatten(&u.variants, &mut nodes, &mut ordinals);
    }
    // Rank the leaf ordinals so gaps do not matter; the relative order is
    // what the compiler follows.
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
        SchemaError::from_layout(format!("struct {}: cannot lay out: {e}", s.name), e)
    })?;
    let mut next = 0;
    store(&mut s.fields, &out, &mut next);
    if let Some(u) = &mut s.unnamed_union {
        u.discriminant_offset = out[next];
        next += 1;
        store(&mut u.variants, &out, &mut next);
    }
    s.size = size;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Type, Union};
    use crate::layout::LayoutError;

    #[test]
    fn lays_out_fields_and_the_unnamed_union() {
        // struct Shape { area @0 :Float64; union { circle @1 :Float64; square @2 :Float32; } }
        let mut s = StructType::new("Shape");
        s.fields.push(Field::slot("area", 0, Type::Float64));
        s.unnamed_union = Some(Union::new(vec![
            Field::slot("circle", 1, Type::Float64),
            Field::slot("square", 2, Type::Float32),
        ]));
        let mut schema = Schema::new();
        schema.insert(TypeDef::Struct(s));
        assign_layout(&mut schema).unwrap();
        let s = schema.get_struct("Shape").unwrap();
        let u = s.unnamed_union.as_ref().unwrap();
        // circle: word 1; discriminant: u16 #8 (word 2) when square arrives;
        // square shares circle's word.
        assert_eq!(u.variants[0].as_slot().unwrap().offset, 1);
        assert_eq!(u.discriminant_offset, 8);
        assert_eq!(u.variants[1].as_slot().unwrap().offset, 2);
        assert_eq!((s.size.data_words, s.size.pointers), (3, 0));
    }

    #[test]
    fn layout_errors_name_the_struct_and_keep_the_cause() {
        let mut s = StructType::new("Bad");
        s.fields
            .push(Field::union("u", vec![Field::slot("only", 0, Type::Bool)]));
        let mut schema = Schema::new();
        schema.insert(TypeDef::Struct(s));
        let err = assign_layout(&mut schema).unwrap_err();
        assert!(err.message().starts_with("struct Bad:"), "{err}");
        assert_eq!(err.layout_error(), Some(LayoutError::UnionTooSmall));
    }
}
