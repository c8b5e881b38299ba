//! The admin commands: `hollow pin`, `unpin`, `announce` and `clean`, and
//! what `hollow serve --admin` shares with them.
//!
//! Each command first checks ([`plan`]): the version exists and is
//! complete (its snapshot, or an earlier snapshot and the deltas to it,
//! read and checked), and reads the current announcement and pin. It then
//! says what it will do, asks for confirmation ([`confirm`]: on a terminal
//! unless `--yes`; never without `--yes` when stdin is not a terminal),
//! and changes the store ([`apply`]) with a compare-and-swap against what
//! it read: an announcement or pin changed meanwhile (a producer announced,
//! another operator pinned) makes it fail with [`EXIT_CONFLICT`], changing
//! nothing. `--dry-run` stops after the plan.
//!
//! After `announce` rolls back (say from 10 to 7), consumers go back to 7,
//! and the next producer cycle (a producer restores the announced version
//! on start) publishes a version above every version in the store (11),
//! never one whose blobs exist.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use hollow_runtime::store::retention::{CleanReport, RetentionCleaner};
use hollow_runtime::store::{BlobName, StoreErrorKind};
use hollow_runtime::StoreError;
use serde_json::{json, Value};

use crate::cmd::{write, write_json};
use crate::error::{CliError, EXIT_CONFLICT, EXIT_REFUSED};
use crate::store::{list_versions, Store};
use crate::version::{delta_chain, Loaded};

/// What an operator asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Pin every consumer to a version.
    Pin {
        /// The version.
        version: u64,
    },
    /// Remove the pin.
    Unpin,
    /// Announce a published version (a rollback or roll forward).
    Announce {
        /// The version.
        version: u64,
        /// Proceed only if this version is announced now.
        expect: Option<u64>,
    },
    /// Delete old blobs, keeping the newest `keep` versions.
    Clean {
        /// How many versions to keep (at least 1).
        keep: usize,
    },
}

impl Request {
    /// The command's name.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Pin { .. } => "pin",
            Request::Unpin => "unpin",
            Request::Announce { .. } => "announce",
            Request::Clean { .. } => "clean",
        }
    }
}

/// The change a plan makes, with what it expects to find.
#[derive(Debug)]
enum Change {
    /// Nothing to do (already so).
    Nothing,
    Pin {
        version: Option<u64>,
        expected: Option<u64>,
    },
    Announce {
        version: u64,
        expected: Option<u64>,
    },
    Clean {
        keep: usize,
        report: CleanReport,
    },
}

/// A checked plan: what the command will do, as text and as JSON.
#[derive(Debug)]
pub struct Plan {
    request: Request,
    change: Change,
    /// What will be done, for people (several lines).
    pub text: String,
    /// What will be done, as JSON.
    pub json: Value,
}

impl Plan {
    /// Whether applying the plan changes anything.
    pub fn changes_anything(&self) -> bool {
        !matches!(self.change, Change::Nothing)
    }

    /// The question to ask before applying.
    pub fn question(&self) -> String {
        match &self.change {
            Change::Pin {
                version: Some(v), ..
            } => format!("Pin every consumer of the store to version {v}?"),
            Change::Pin { version: None, .. } => "Unpin the store's consumers?".to_owned(),
            Change::Announce { version, .. } => format!("Announce version {version}?"),
            Change::Clean { report, .. } => {
                format!("Delete {} blobs?", report.deleted.len())
            }
            Change::Nothing => "Nothing to do.".to_owned(),
        }
    }
}

/// An error that refuses the request (exit code [`EXIT_REFUSED`]).
fn refused(message: String) -> CliError {
    CliError::with_code(message, EXIT_REFUSED)
}

/// A store error; a lost compare-and-swap gets [`EXIT_CONFLICT`] and says
/// nothing changed.
fn store_error(e: StoreError, what: &str) -> CliError {
    if e.kind() == StoreErrorKind::Conflict {
        CliError::with_code(
            format!("{what} refused, nothing changed: {e}; check the store and run again"),
            EXIT_CONFLICT,
        )
    } else {
        CliError::new(format!("{what} failed: {e}"))
    }
}

fn show(v: Option<u64>) -> String {
    v.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

/// Checks that `version` exists and is complete: its snapshot, or an
/// earlier snapshot and the chain of deltas to it, read and checked (a
/// consumer can load it). Returns what was checked.
///
/// # Errors
/// [`EXIT_REFUSED`]: no blob names the version, no snapshot reaches it,
/// or a blob on the way is corrupt or does not chain.
pub fn check_complete(store: &Store, version: u64) -> Result<String, CliError> {
    let versions = store.versions();
    if !versions.contains(&version) {
        return Err(refused(format!(
            "no version {version} in store {}: no blob of it was published; it has versions {}",
            store.describe(),
            list_versions(&versions)
        )));
    }
    let incomplete = |e: CliError| {
        refused(format!(
            "version {version} of store {} is not complete, so consumers could not load it: {e}",
            store.describe()
        ))
    };
    let loaded = Loaded::load(store, version).map_err(incomplete)?;
    loaded.view().map_err(incomplete)?;
    Ok(match &loaded {
        Loaded::Snapshot { .. } => format!("{} checked", BlobName::Snapshot(version)),
        Loaded::State(_) => {
            let from = store
                .blobs()
                .iter()
                .filter_map(|n| match n {
                    BlobName::Snapshot(s) if *s < version => Some(*s),
                    _ => None,
                })
                .rev()
                .find(|s| delta_chain(store, *s, version).is_some());
            match from {
                Some(s) => format!(
                    "{} and the deltas from it to {version} checked",
                    BlobName::Snapshot(s)
                ),
                None => format!("the chain to {version} checked"),
            }
        }
    })
}

/// Checks the request against the store and plans it; changes nothing.
///
/// # Errors
/// [`EXIT_REFUSED`]: the version is missing or incomplete, `--expect`
/// does not hold, nothing is announced to pin or clean; the store cannot
/// be read.
pub fn plan(store: &Store, request: &Request) -> Result<Plan, CliError> {
    let announced = store.announced()?;
    let pinned = store.pinned()?;
    let mut text = format!(
        "store: {}\nannounced: {}\npinned: {}\n",
        store.describe(),
        show(announced),
        pinned.map_or_else(|| "no".to_owned(), |p| p.to_string())
    );
    let mut plan_json = json!({
        "store": store.describe(),
        "announced": announced,
        "pinned": pinned,
    });
    let mut at = At {
        store,
        announced,
        pinned,
        text: &mut text,
        json: &mut plan_json,
    };
    let change = match *request {
        Request::Pin { version } => plan_pin(&mut at, version)?,
        Request::Unpin => plan_unpin(&mut at),
        Request::Announce { version, expect } => plan_announce(&mut at, version, expect)?,
        Request::Clean { keep } => plan_clean(&mut at, keep)?,
    };
    plan_json["changes"] = json!(!matches!(change, Change::Nothing));
    Ok(Plan {
        request: request.clone(),
        change,
        text,
        json: plan_json,
    })
}

/// What a plan reads and writes.
struct At<'a> {
    store: &'a Store,
    announced: Option<u64>,
    pinned: Option<u64>,
    text: &'a mut String,
    json: &'a mut Value,
}

fn plan_pin(at: &mut At<'_>, version: u64) -> Result<Change, CliError> {
    let checked = check_complete(at.store, version)?;
    at.json["checked"] = json!(checked);
    at.text.push_str(&format!("version {version}: {checked}\n"));
    if at.pinned == Some(version) {
        at.text
            .push_str(&format!("already pinned to {version}: nothing to do\n"));
        return Ok(Change::Nothing);
    }
    at.text.push_str(&format!(
        "will pin every consumer to version {version} (they load it at their next \
         refresh and stay there, whatever is announced, until `hollow unpin`)\n"
    ));
    Ok(Change::Pin {
        version: Some(version),
        expected: at.pinned,
    })
}

fn plan_unpin(at: &mut At<'_>) -> Change {
    let Some(p) = at.pinned else {
        at.text.push_str("not pinned: nothing to do\n");
        return Change::Nothing;
    };
    at.text.push_str(&format!(
        "will unpin: consumers leave version {p} for the announced version {}\n",
        show(at.announced)
    ));
    Change::Pin {
        version: None,
        expected: Some(p),
    }
}

fn plan_announce(at: &mut At<'_>, version: u64, expect: Option<u64>) -> Result<Change, CliError> {
    if let Some(e) = expect {
        if at.announced != Some(e) {
            return Err(CliError::with_code(
                format!(
                    "announce refused, nothing changed: the announced version of store \
                     {} is {}, not {e} as --expect says",
                    at.store.describe(),
                    show(at.announced)
                ),
                EXIT_CONFLICT,
            ));
        }
    }
    let checked = check_complete(at.store, version)?;
    at.json["checked"] = json!(checked);
    at.text.push_str(&format!("version {version}: {checked}\n"));
    if at.announced == Some(version) {
        at.text.push_str(&format!(
            "version {version} is announced already: nothing to do\n"
        ));
        return Ok(Change::Nothing);
    }
    let newest = at.store.versions().last().copied().unwrap_or(version);
    let what = match at.announced {
        Some(a) if version < a => format!(
            "a rollback from {a}: consumers go back to {version}; the next \
             producer cycle continues from {version} as version {} or above",
            newest.max(a) + 1
        ),
        Some(a) => format!("a roll forward from {a}"),
        None => "the first announcement".to_owned(),
    };
    at.text
        .push_str(&format!("will announce version {version} ({what})\n"));
    if let Some(p) = at.pinned {
        at.text.push_str(&format!(
            "note: consumers are pinned to {p} and stay there until `hollow unpin`\n"
        ));
    }
    Ok(Change::Announce {
        version,
        expected: at.announced,
    })
}

fn plan_clean(at: &mut At<'_>, keep: usize) -> Result<Change, CliError> {
    if keep == 0 {
        return Err(refused("clean --keep must be at least 1".to_owned()));
    }
    let report = at
        .store
        .block_on(cleaner(at.store, keep).plan())
        .map_err(|e| store_error(e, "planning the clean"))?;
    at.json["keep"] = json!(keep);
    at.json["retained"] = json!(report.retained);
    at.json["floor"] = json!(report.floor);
    at.json["delete"] = json!(names(&report.deleted));
    at.json["kept"] = json!(report.kept.len());
    if report.announced.is_none() {
        at.text.push_str("nothing announced: nothing to delete\n");
        return Ok(Change::Nothing);
    }
    let retained: Vec<String> = report.retained.iter().map(u64::to_string).collect();
    at.text.push_str(&format!(
        "keeping the {keep} newest versions up to {} ({}), the snapshot they are \
         reached from{}, and every version above it\n",
        show(report.announced),
        retained.join(", "),
        report
            .pinned
            .map_or_else(String::new, |p| format!(", the pinned version {p}")),
    ));
    if report.deleted.is_empty() {
        at.text.push_str("nothing to delete\n");
        return Ok(Change::Nothing);
    }
    at.text.push_str(&format!(
        "will delete {} blobs (keeping {}): {}\n",
        report.deleted.len(),
        report.kept.len(),
        names(&report.deleted).join(", ")
    ));
    Ok(Change::Clean { keep, report })
}

fn cleaner(store: &Store, keep: usize) -> RetentionCleaner {
    RetentionCleaner::new(
        Arc::clone(store.blob_store()),
        Arc::clone(store.announcer()),
        keep,
    )
}

fn names(blobs: &[BlobName]) -> Vec<String> {
    let mut n: Vec<BlobName> = blobs.to_vec();
    n.sort();
    n.iter().map(ToString::to_string).collect()
}

/// Applies a plan: a compare-and-swap against the announcement and pin
/// the plan read. Returns what was done, as text and JSON.
///
/// # Errors
/// [`EXIT_CONFLICT`]: the announcement or pin changed since the plan (a
/// producer announced, another operator pinned): nothing changed. A
/// store that cannot be written.
pub fn apply(store: &Store, plan: Plan) -> Result<(String, Value), CliError> {
    let what = plan.request.name();
    match plan.change {
        Change::Nothing => Ok(("nothing changed\n".to_owned(), json!({"changed": false}))),
        Change::Pin { version, expected } => {
            store
                .block_on(store.announcer().set_pin(version, expected))
                .map_err(|e| store_error(e, what))?;
            tracing::info!(?version, store = %store.describe(), "pin set by an operator");
            let text = match version {
                Some(v) => format!("pinned to version {v}\n"),
                None => "unpinned\n".to_owned(),
            };
            Ok((text, json!({"changed": true, "pinned": version})))
        }
        Change::Announce { version, expected } => {
            store
                .block_on(store.announcer().announce(version, expected))
                .map_err(|e| store_error(e, what))?;
            tracing::info!(version, previous = ?expected, store = %store.describe(), "announced by an operator");
            Ok((
                format!("announced version {version} (was {})\n", show(expected)),
                json!({"changed": true, "announced": version, "previous": expected}),
            ))
        }
        Change::Clean { keep, report } => {
            let done = store
                .block_on(cleaner(store, keep).execute(report))
                .map_err(|e| store_error(e, what))?;
            let mut text = format!("deleted {} blobs\n", done.deleted.len());
            for (name, why) in &done.skipped {
                text.push_str(&format!("kept {name}: {why}; a later clean retries it\n"));
            }
            let skipped: Vec<Value> = done
                .skipped
                .iter()
                .map(|(n, why)| json!({"name": n.to_string(), "reason": why}))
                .collect();
            Ok((
                text,
                json!({"changed": true, "deleted": names(&done.deleted), "skipped": skipped}),
            ))
        }
    }
}

/// How the command line confirms a change.
#[derive(Clone, Copy, Debug, Default)]
pub struct Confirm {
    /// `--yes`: do not ask.
    pub yes: bool,
    /// `--dry-run`: only show the plan.
    pub dry_run: bool,
}

/// Asks the operator to confirm `plan` on the terminal (on stderr, with
/// the plan itself first when `show_plan`): `Ok` to go on.
///
/// # Errors
/// [`EXIT_REFUSED`]: stdin is not a terminal (and `--yes` was not given),
/// or the answer was not yes.
pub fn confirm(plan: &Plan, show_plan: bool) -> Result<(), CliError> {
    let name = plan.request.name();
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(refused(format!(
            "{name} needs confirmation and stdin is not a terminal: pass --yes to {name} \
             without asking (or --dry-run to only see the plan); nothing changed"
        )));
    }
    let mut err = std::io::stderr().lock();
    if show_plan {
        let _ = write!(err, "{}", plan.text);
    }
    let _ = write!(err, "{} [y/N] ", plan.question());
    let _ = err.flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::new(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(refused(format!("{name} cancelled; nothing changed")))
    }
}

/// Runs an admin command: plan, show it, confirm, apply.
///
/// # Errors
/// As [`plan`], [`confirm`] and [`apply`].
pub fn run(
    store: &Store,
    request: &Request,
    confirmation: Confirm,
    json: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let plan = plan(store, request)?;
    let doc = |plan_json: Value, result: Option<Value>| {
        json!({
            "command": request.name(),
            "plan": plan_json,
            "dry_run": confirmation.dry_run,
            "result": result,
        })
    };
    if confirmation.dry_run || !plan.changes_anything() {
        if json {
            return write_json(out, &doc(plan.json, None));
        }
        write(out, &plan.text)?;
        if confirmation.dry_run && plan.changes_anything() {
            write(out, "dry run: nothing changed\n")?;
        }
        return Ok(());
    }
    if !json {
        write(out, &plan.text)?;
        out.flush().map_err(crate::error::output)?;
    }
    if !confirmation.yes {
        confirm(&plan, json)?;
    }
    let plan_json = plan.json.clone();
    let (text, result) = apply(store, plan)?;
    if json {
        write_json(out, &doc(plan_json, Some(result)))
    } else {
        write(out, &text)
    }
}
