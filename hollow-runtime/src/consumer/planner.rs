//! The update planner: which blobs take a consumer from the version it holds
//! to the one it wants.

use std::collections::{HashMap, HashSet};

use crate::store::BlobName;

/// A plan: optionally a snapshot to start from, then deltas or reverse
/// deltas in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) snapshot: Option<u64>,
    pub(crate) steps: Vec<BlobName>,
}

/// The blobs a store holds, indexed for planning.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    snapshots: Vec<u64>,
    forward: HashMap<u64, u64>,
    backward: HashMap<u64, u64>,
}

impl Catalog {
    /// Indexes `names`, leaving out `bad` (blobs found missing or corrupt).
    pub(crate) fn new(names: &[BlobName], bad: &HashSet<BlobName>) -> Catalog {
        let mut c = Catalog::default();
        for n in names.iter().filter(|n| !bad.contains(n)) {
            match *n {
                BlobName::Snapshot(v) => c.snapshots.push(v),
                BlobName::Delta { from, to } => {
                    c.forward.insert(from, to);
                }
                BlobName::ReverseDelta { from, to } => {
                    c.backward.insert(from, to);
                }
            }
        }
        c.snapshots.sort_unstable();
        c
    }

    fn chain(&self, from: u64, to: u64, limit: usize) -> Option<Vec<BlobName>> {
        let mut steps = Vec::new();
        let mut v = from;
        while v != to {
            if steps.len() >= limit {
                return None;
            }
            if to > v {
                let next = *self.forward.get(&v)?;
                if next > to {
                    return None;
                }
                steps.push(BlobName::Delta { from: v, to: next });
                v = next;
            } else {
                let prev = *self.backward.get(&v)?;
                if prev < to {
                    return None;
                }
                steps.push(BlobName::ReverseDelta { from: v, to: prev });
                v = prev;
            }
        }
        Some(steps)
    }

    /// The cheapest plan from `current` (None: nothing held) to `target`:
    /// a delta chain of at most `max_chain` steps when there is one,
    /// otherwise the nearest snapshot then deltas (forward from an older
    /// snapshot, or backward from a newer one).
    pub(crate) fn plan(&self, current: Option<u64>, target: u64, max_chain: usize) -> Option<Plan> {
        if let Some(c) = current {
            if let Some(steps) = self.chain(c, target, max_chain) {
                return Some(Plan {
                    snapshot: None,
                    steps,
                });
            }
        }
        // Snapshots by distance to the target: the target itself first,
        // then older ones (forward deltas), then newer ones (reverse).
        let mut candidates: Vec<u64> = self.snapshots.clone();
        candidates.sort_by_key(|&s| (s != target, s > target, s.abs_diff(target)));
        for s in candidates {
            if let Some(steps) = self.chain(s, target, max_chain) {
                return Some(Plan {
                    snapshot: Some(s),
                    steps,
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<BlobName> {
        let mut v = vec![BlobName::Snapshot(1), BlobName::Snapshot(4)];
        for i in 1..6 {
            v.push(BlobName::Delta { from: i, to: i + 1 });
            v.push(BlobName::ReverseDelta { from: i + 1, to: i });
        }
        v
    }

    #[test]
    fn plans() {
        let c = Catalog::new(&names(), &HashSet::new());
        assert_eq!(
            c.plan(Some(2), 4, 32).unwrap().steps,
            vec![
                BlobName::Delta { from: 2, to: 3 },
                BlobName::Delta { from: 3, to: 4 }
            ]
        );
        assert_eq!(
            c.plan(Some(5), 3, 32).unwrap().steps,
            vec![
                BlobName::ReverseDelta { from: 5, to: 4 },
                BlobName::ReverseDelta { from: 4, to: 3 }
            ]
        );
        let fresh = c.plan(None, 5, 32).unwrap();
        assert_eq!(fresh.snapshot, Some(4));
        assert_eq!(fresh.steps, vec![BlobName::Delta { from: 4, to: 5 }]);
        // A chain longer than the limit: a snapshot instead.
        let p = c.plan(Some(1), 5, 2).unwrap();
        assert_eq!(p.snapshot, Some(4));
        // A missing delta: routed around through a snapshot.
        let mut bad = HashSet::new();
        bad.insert(BlobName::Delta { from: 2, to: 3 });
        let c = Catalog::new(&names(), &bad);
        let p = c.plan(Some(2), 5, 32).unwrap();
        assert_eq!(p.snapshot, Some(4));
        assert!(c.plan(Some(2), 99, 32).is_none());
    }
}
