//! The update planner: which blobs take a consumer from the version it holds
//! to the one it wants.

use std::collections::{HashMap, HashSet};

use crate::blob::BlobName;

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
    /// Every delta from a version (several when a failed cycle left a delta
    /// to a version that was never announced, beside the announced one).
    forward: HashMap<u64, Vec<u64>>,
    backward: HashMap<u64, Vec<u64>>,
}

impl Catalog {
    /// Indexes `names`, leaving out `bad` (blobs found missing or corrupt).
    pub(crate) fn new(names: &[BlobName], bad: &HashSet<BlobName>) -> Catalog {
        let mut c = Catalog::default();
        for n in names.iter().filter(|n| !bad.contains(n)) {
            match *n {
                BlobName::Snapshot(v) => c.snapshots.push(v),
                BlobName::Delta { from, to } if to > from => {
                    c.forward.entry(from).or_default().push(to);
                }
                BlobName::ReverseDelta { from, to } if to < from => {
                    c.backward.entry(from).or_default().push(to);
                }
                // A delta that does not move forward (or a reverse delta
                // that does not move back) is no step of any plan.
                BlobName::Delta { .. } | BlobName::ReverseDelta { .. } => {}
            }
        }
        c.snapshots.sort_unstable();
        for targets in c.forward.values_mut().chain(c.backward.values_mut()) {
            targets.sort_unstable();
        }
        c
    }

    /// The shortest chain of at most `limit` deltas (forward when `to` is
    /// above `from`, reverse deltas when below) that never passes `to`.
    /// Breadth-first, so a delta to a version that leads nowhere (left by a
    /// failed cycle) does not hide the one that does.
    fn chain(&self, from: u64, to: u64, limit: usize) -> Option<Vec<BlobName>> {
        if from == to {
            return Some(Vec::new());
        }
        let up = to > from;
        let edges = if up { &self.forward } else { &self.backward };
        let mut came_from: HashMap<u64, u64> = HashMap::new();
        let mut frontier = vec![from];
        for _ in 0..limit {
            let mut next = Vec::new();
            for &v in &frontier {
                for &w in edges.get(&v).map_or(&[][..], Vec::as_slice) {
                    let within = if up { w <= to } else { w >= to };
                    if !within || came_from.contains_key(&w) {
                        continue;
                    }
                    came_from.insert(w, v);
                    if w == to {
                        let mut steps = Vec::new();
                        let mut at = to;
                        while at != from {
                            let prev = came_from[&at];
                            steps.push(if up {
                                BlobName::Delta { from: prev, to: at }
                            } else {
                                BlobName::ReverseDelta { from: prev, to: at }
                            });
                            at = prev;
                        }
                        steps.reverse();
                        return Some(steps);
                    }
                    next.push(w);
                }
            }
            if next.is_empty() {
                return None;
            }
            frontier = next;
        }
        None
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

    #[test]
    fn plans_around_deltas_to_versions_never_announced() {
        // Failed cycles left delta-10-20 and delta-10-30 (and a reverse
        // delta back from 20); version 40 follows 10.
        let names = [
            BlobName::Snapshot(10),
            BlobName::Delta { from: 10, to: 20 },
            BlobName::Delta { from: 10, to: 30 },
            BlobName::ReverseDelta { from: 20, to: 10 },
            BlobName::Delta { from: 10, to: 40 },
            BlobName::ReverseDelta { from: 40, to: 10 },
            BlobName::Delta { from: 40, to: 50 },
            BlobName::ReverseDelta { from: 50, to: 40 },
        ];
        for rotate in 0..names.len() {
            let mut n = names.to_vec();
            n.rotate_left(rotate);
            let c = Catalog::new(&n, &HashSet::new());
            assert_eq!(
                c.plan(Some(10), 50, 32).unwrap().steps,
                vec![
                    BlobName::Delta { from: 10, to: 40 },
                    BlobName::Delta { from: 40, to: 50 }
                ]
            );
            let p = c.plan(None, 50, 32).unwrap();
            assert_eq!(p.snapshot, Some(10));
            assert_eq!(p.steps.len(), 2);
            assert_eq!(
                c.plan(Some(50), 10, 32).unwrap().steps,
                vec![
                    BlobName::ReverseDelta { from: 50, to: 40 },
                    BlobName::ReverseDelta { from: 40, to: 10 }
                ]
            );
            assert_eq!(c.plan(Some(10), 50, 1), None);
        }
    }
}
