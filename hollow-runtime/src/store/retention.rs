//! Retention: deletes old snapshots and deltas from a blob store, never one
//! that a consumer may still need to reach the announced version.
//!
//! [`RetentionCleaner::clean`] reads the announced version `A` and the
//! store's blobs, and keeps:
//! - the `keep_versions` newest versions up to `A` (the *retained*
//!   versions; a version counts when a blob names it), with every delta
//!   from them, so a consumer at any retained version still reaches `A` by
//!   deltas;
//! - the newest snapshot from which `A` is reachable by deltas, and the
//!   deltas after it, so a new consumer can start;
//! - every blob of a version above `A` (a producer may be publishing it);
//! - when consumers are pinned (see [`Announcer::set_pin`]) to a version
//!   `P` below the floor, the newest snapshot from which `P` is reachable
//!   by deltas and everything after it, so pinned consumers can still load
//!   `P`.
//!
//! Everything entirely older (a snapshot below the floor, a delta leaving
//! or a reverse delta reaching a version below it) is deleted.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use hollow_runtime::store::retention::RetentionCleaner;
//! use hollow_runtime::store::{Announcer, BlobName, BlobStore, InProcessAnnouncer, MemoryBlobStore};
//!
//! let store = MemoryBlobStore::new();
//! let announcer = InProcessAnnouncer::new();
//! for v in 1..=5u64 {
//!     store.put(BlobName::Snapshot(v), b"s").await.unwrap();
//!     if v > 1 {
//!         store.put(BlobName::Delta { from: v - 1, to: v }, b"d").await.unwrap();
//!     }
//!     announcer.announce(v, (v > 1).then(|| v - 1)).await.unwrap();
//! }
//! let cleaner = RetentionCleaner::new(Arc::new(store.clone()), Arc::new(announcer), 2);
//! let report = cleaner.clean().await.unwrap();
//! assert_eq!(report.floor, Some(4));
//! let mut left = store.names();
//! left.sort();
//! assert_eq!(
//!     left,
//!     vec![BlobName::Snapshot(4), BlobName::Snapshot(5), BlobName::Delta { from: 4, to: 5 }]
//! );
//! # });
//! ```

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::{Announcer, BlobName, BlobStore, StoreError, StoreErrorKind};

/// What a [`RetentionCleaner::clean`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CleanReport {
    /// The announced version the clean kept reachable (`None`: nothing
    /// announced, nothing deleted).
    pub announced: Option<u64>,
    /// The pinned version the clean kept reachable, if consumers are
    /// pinned.
    pub pinned: Option<u64>,
    /// The oldest version kept: blobs entirely below it were deleted.
    pub floor: Option<u64>,
    /// The retained versions, oldest first.
    pub retained: Vec<u64>,
    /// The blobs deleted (planned to be, for a plan).
    pub deleted: Vec<BlobName>,
    /// Blobs planned for deletion but kept because the store refused with
    /// a conflict (an object store's version claim: another producer is
    /// publishing, or recently published, that version), with the reason.
    /// A later clean retries them.
    pub skipped: Vec<(BlobName, String)>,
    /// The blobs kept.
    pub kept: Vec<BlobName>,
}

/// Deletes old blobs; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct RetentionCleaner {
    store: Arc<dyn BlobStore>,
    announcer: Arc<dyn Announcer>,
    keep_versions: usize,
}

impl RetentionCleaner {
    /// A cleaner keeping the `keep_versions` newest versions (at least 1)
    /// of `store`, as announced by `announcer`.
    pub fn new(
        store: Arc<dyn BlobStore>,
        announcer: Arc<dyn Announcer>,
        keep_versions: usize,
    ) -> Self {
        RetentionCleaner {
            store,
            announcer,
            keep_versions: keep_versions.max(1),
        }
    }

    /// Plans a clean without deleting anything.
    ///
    /// # Errors
    /// The announcement or the listing cannot be read.
    pub async fn plan(&self) -> Result<CleanReport, StoreError> {
        let announced = self.announcer.announced().await?;
        let pinned = self.announcer.pinned().await?;
        let names = self.store.list().await?;
        let mut report = plan(&names, announced, self.keep_versions);
        if let Some(p) = pinned {
            report = keep_pinned(report, &names, p);
        }
        Ok(report)
    }

    /// Deletes the blobs no retained version needs.
    ///
    /// # Errors
    /// The announcement or listing cannot be read, or a delete failed
    /// (blobs deleted before it stay deleted; a later clean continues).
    pub async fn clean(&self) -> Result<CleanReport, StoreError> {
        let report = self.plan().await?;
        self.execute(report).await
    }

    /// Deletes the blobs of `report`, a [`plan`](Self::plan) made earlier
    /// (shown to an operator, say), provided the announcement and the pin
    /// are still what the plan was made for.
    ///
    /// A delete the store refuses with a conflict (see
    /// [`CleanReport::skipped`]) is skipped, not an error.
    ///
    /// # Errors
    /// [`StoreErrorKind::Conflict`] when a version was announced or pinned
    /// since the plan (nothing is deleted: plan again); the announcement
    /// cannot be read; a delete failed (blobs deleted before it stay
    /// deleted; a later clean continues).
    pub async fn execute(&self, report: CleanReport) -> Result<CleanReport, StoreError> {
        let announced = self.announcer.announced().await?;
        let pinned = self.announcer.pinned().await?;
        if report.announced.is_some() && (announced, pinned) != (report.announced, report.pinned) {
            let show = |v: Option<u64>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
            return Err(StoreError::new(
                StoreErrorKind::Conflict,
                format!(
                    "not cleaning {}: the announced version is {} and the pin {} now, not {} and {}                      as planned; nothing deleted, plan again",
                    self.store.describe(),
                    show(announced),
                    show(pinned),
                    show(report.announced),
                    show(report.pinned)
                ),
            ));
        }
        let mut report = report;
        let planned = std::mem::take(&mut report.deleted);
        for name in planned {
            match self.store.delete(name).await {
                Ok(()) => report.deleted.push(name),
                Err(e) if e.kind() == StoreErrorKind::Conflict => {
                    tracing::warn!(blob = %name, error = %e, "retention: delete refused; kept for a later clean");
                    report.kept.push(name);
                    report.skipped.push((name, e.to_string()));
                }
                Err(e) => return Err(e),
            }
        }
        if !report.deleted.is_empty() {
            tracing::info!(
                store = %self.store.describe(),
                deleted = report.deleted.len(),
                floor = ?report.floor,
                "retention: deleted old blobs"
            );
        }
        Ok(report)
    }
}

/// The newest snapshot at or below `target` from which `target` is
/// reachable by forward deltas within `[snapshot, target]`.
fn reachable_snapshot(
    snapshots: &BTreeSet<u64>,
    forward: &HashMap<u64, Vec<u64>>,
    target: u64,
) -> Option<u64> {
    // Versions from which `target` is reachable: walk the deltas backwards.
    let mut reaches: BTreeSet<u64> = BTreeSet::from([target]);
    let mut frontier = vec![target];
    let mut backward: HashMap<u64, Vec<u64>> = HashMap::new();
    for (&from, tos) in forward {
        for &to in tos {
            backward.entry(to).or_default().push(from);
        }
    }
    while let Some(v) = frontier.pop() {
        for &from in backward.get(&v).map_or(&[][..], Vec::as_slice) {
            if reaches.insert(from) {
                frontier.push(from);
            }
        }
    }
    snapshots
        .range(..=target)
        .rev()
        .find(|s| reaches.contains(s))
        .copied()
}

/// `report` changed to keep what consumers pinned to `pinned` need: the
/// newest snapshot reaching it and everything from there (when it is below
/// the floor).
fn keep_pinned(mut report: CleanReport, names: &[BlobName], pinned: u64) -> CleanReport {
    report.pinned = Some(pinned);
    let Some(floor) = report.floor else {
        return report;
    };
    if pinned >= floor {
        return report;
    }
    let mut snapshots = BTreeSet::new();
    let mut forward: HashMap<u64, Vec<u64>> = HashMap::new();
    for n in names {
        match *n {
            BlobName::Snapshot(v) => {
                snapshots.insert(v);
            }
            BlobName::Delta { from, to } if to > from && to <= pinned => {
                forward.entry(from).or_default().push(to);
            }
            _ => {}
        }
    }
    // No snapshot reaches the pinned version: keep everything.
    let new_floor = reachable_snapshot(&snapshots, &forward, pinned).unwrap_or(0);
    let (deleted, mut kept): (Vec<BlobName>, Vec<BlobName>) =
        report.deleted.iter().partition(|n| below(**n, new_floor));
    report.kept.append(&mut kept);
    report.deleted = deleted;
    report.floor = Some(new_floor.min(floor));
    report
}

/// Whether blob `n` lies entirely below `floor`.
fn below(n: BlobName, floor: u64) -> bool {
    match n {
        BlobName::Snapshot(v) => v < floor,
        BlobName::Delta { from, .. } => from < floor,
        BlobName::ReverseDelta { to, .. } => to < floor,
    }
}

/// The plan of a clean (pure, for tests).
fn plan(names: &[BlobName], announced: Option<u64>, keep: usize) -> CleanReport {
    let Some(a) = announced else {
        return CleanReport {
            kept: names.to_vec(),
            ..CleanReport::default()
        };
    };
    let mut versions = BTreeSet::new();
    let mut snapshots = BTreeSet::new();
    let mut forward: HashMap<u64, Vec<u64>> = HashMap::new();
    for n in names {
        match *n {
            BlobName::Snapshot(v) => {
                snapshots.insert(v);
                versions.insert(v);
            }
            BlobName::Delta { from, to } => {
                versions.extend([from, to]);
                if to > from && to <= a {
                    forward.entry(from).or_default().push(to);
                }
            }
            BlobName::ReverseDelta { from, to } => {
                versions.extend([from, to]);
            }
        }
    }
    versions.insert(a);
    let retained: Vec<u64> = {
        let mut r: Vec<u64> = versions.range(..=a).rev().take(keep).copied().collect();
        r.reverse();
        r
    };
    let oldest_retained = retained.first().copied().unwrap_or(a);
    let floor = match reachable_snapshot(&snapshots, &forward, a) {
        Some(s) => s.min(oldest_retained),
        // No snapshot reaches the announced version: keep everything (the
        // store is damaged; deleting could only make it worse).
        None => {
            tracing::warn!(
                announced = a,
                "retention: no snapshot reaches the announced version; deleting nothing"
            );
            0
        }
    };
    let (deleted, kept): (Vec<BlobName>, Vec<BlobName>) =
        names.iter().partition(|n| below(**n, floor));
    CleanReport {
        announced: Some(a),
        pinned: None,
        floor: Some(floor),
        retained,
        deleted,
        skipped: Vec::new(),
        kept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(from: u64, to: u64) -> BlobName {
        BlobName::Delta { from, to }
    }
    fn r(from: u64, to: u64) -> BlobName {
        BlobName::ReverseDelta { from, to }
    }
    fn s(v: u64) -> BlobName {
        BlobName::Snapshot(v)
    }

    #[test]
    fn keeps_the_snapshot_chain_below_the_retained_versions() {
        // Snapshots every 4 versions; 10 announced; a failed cycle left 11.
        let mut names = vec![s(1), s(5), s(9), s(11), d(10, 11)];
        for v in 2..=10 {
            names.push(d(v - 1, v));
            names.push(r(v, v - 1));
        }
        let p = plan(&names, Some(10), 3);
        assert_eq!(p.retained, vec![8, 9, 10]);
        // Snapshot 9 reaches 10, but versions 8.. are retained.
        assert_eq!(p.floor, Some(8));
        let mut deleted = p.deleted.clone();
        deleted.sort();
        let mut expected = vec![s(1), s(5)];
        for v in 2..=8 {
            expected.push(d(v - 1, v));
        }
        for v in 2..=8 {
            expected.push(r(v, v - 1));
        }
        expected.sort();
        assert_eq!(deleted, expected);
        assert!(p.kept.contains(&s(11)) && p.kept.contains(&d(10, 11)));
        assert!(p.kept.contains(&r(9, 8)));

        // Keeping 1 version with the nearest snapshot 9 below: floor 9.
        let p = plan(&names, Some(10), 1);
        assert_eq!(p.floor, Some(9));
        // A snapshot interval wider than the window keeps the chain from it.
        let names = vec![s(1), d(1, 2), d(2, 3), d(3, 4), r(4, 3)];
        let p = plan(&names, Some(4), 1);
        assert_eq!(p.floor, Some(1));
        assert!(p.deleted.is_empty());
    }

    #[test]
    fn deletes_nothing_without_an_announcement_or_a_reaching_snapshot() {
        let names = vec![s(1), d(1, 2)];
        assert!(plan(&names, None, 1).deleted.is_empty());
        // Snapshot 1 cannot reach 3 (delta 2-3 missing).
        assert!(plan(&names, Some(3), 1).deleted.is_empty());
    }

    #[test]
    fn keeps_what_a_pinned_version_needs() {
        let mut names = vec![s(1), s(4), s(8)];
        for v in 2..=10 {
            names.push(d(v - 1, v));
            names.push(r(v, v - 1));
        }
        let unpinned = plan(&names, Some(10), 2);
        assert_eq!(unpinned.floor, Some(8));
        // Pinned to 6: snapshot 4 and the deltas 4..6 stay; 1..4 go.
        let p = keep_pinned(unpinned.clone(), &names, 6);
        assert_eq!(p.pinned, Some(6));
        assert_eq!(p.floor, Some(4));
        assert!(p.kept.contains(&s(4)) && p.kept.contains(&d(4, 5)) && p.kept.contains(&d(5, 6)));
        assert!(p.deleted.contains(&s(1)) && p.deleted.contains(&d(3, 4)));
        assert!(!p.deleted.contains(&s(4)));
        assert_eq!(p.deleted.len() + p.kept.len(), names.len());
        // Pinned above the floor: nothing changes.
        let p = keep_pinned(unpinned.clone(), &names, 9);
        assert_eq!(
            (p.floor, p.deleted.len()),
            (unpinned.floor, unpinned.deleted.len())
        );
    }
}
