//! The journal's lines and how they are written and read: one JSON line per event of every run
//! that changes grants, written before and after each mutating call. It is the audit trail (who
//! granted what, when, and when each account became active), the record bake gates count from,
//! and how a run learns where the last one stopped. Where a journal lives (a directory keyed by
//! organisation, one file, or S3) and the lock are `journal_store`'s.
//!
//! Locally, lines are appended with one `write` each to a file opened in append mode, so a
//! process killed at any point leaves at most its last line torn; readers skip a torn line and
//! count it, and a writer that finds the file ending in a torn line starts on a new line, so the
//! torn line never swallows the next run's first. The journal survives a crashed process, not a
//! crashed machine: lines are not synced to disk. A journal that failed to write once refuses
//! every later line, so no further change starts without its audit trail.
//!
//! Every line carries the journal's `format_version`: a journal holding a line of a newer
//! format (written by a newer entitle) is refused, naming the file and both versions, rather than
//! misread. The file is created with its first line: a run that writes nothing (it failed to
//! start, or found nothing to do) leaves no empty journal behind.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::journal_error::JournalError;
use super::journal_lock::Holder;
use super::journal_s3::RemoteRun;
use crate::planner::status::StatusReport;

/// The format of the journal's lines this entitle writes, and the newest it reads. Lines without
/// a `format_version` (written before it was recorded) are of format 1.
pub const JOURNAL_FORMAT_VERSION: u32 = 1;

/// One line as written: the entry with the journal's format version first.
#[derive(Serialize)]
struct Line<'a> {
    format_version: u32,
    #[serde(flatten)]
    entry: &'a Entry,
}

/// What is read of a line before the rest of it: its format.
#[derive(Deserialize)]
struct LineVersion {
    #[serde(default)]
    format_version: Option<u64>,
}

/// Journal lines are written one at a time in the whole process, so that a process ending at
/// once on a second Ctrl-C (see `crate::interrupt`) can wait for the line being written and
/// never leave it torn.
static WRITES: Mutex<()> = Mutex::new(());

/// Waits for the journal line being written, if any, and lets no other line start: the process
/// is about to exit.
pub(crate) fn hold_writes() {
    let held = WRITES.lock().unwrap_or_else(PoisonError::into_inner);
    std::mem::forget(held);
}

/// Where a rollout's journal lived before journals were kept per organisation (`--journal` unset):
/// `journal_store` reads it, and moves it under the organisation on the first write.
pub fn default_path(rollout: &str) -> PathBuf {
    Path::new(".entitle")
        .join("journal")
        .join(format!("{rollout}.jsonl"))
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When, in RFC 3339 UTC with milliseconds.
    pub at: String,
    /// The run that wrote it (one per command invocation).
    pub run: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

impl Entry {
    /// When, as seconds since the epoch (0 when the line's time does not parse).
    pub fn unix_seconds(&self) -> i64 {
        humantime::parse_rfc3339(&self.at)
            .ok()
            .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
            })
    }
}

/// The largest journal file read: years of runs over thousands of accounts stay far below it.
const JOURNAL_MAX_BYTES: u64 = 1024 * 1024 * 1024;

/// A journal file's bytes, only from a regular file and up to [`JOURNAL_MAX_BYTES`]: a FIFO or a
/// device would hang the read or never end (the caller names the file).
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (a directory, FIFO, socket or device)",
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(JOURNAL_MAX_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > JOURNAL_MAX_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB",
            JOURNAL_MAX_BYTES / (1024 * 1024)
        )));
    }
    Ok(bytes)
}

/// What a journal line records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A command that may change grants began.
    RunStarted {
        /// `apply`, `activate`, ...
        command: String,
        /// The rollout.
        rollout: String,
        /// `--phase`, if given.
        phase: Option<String>,
        /// Who ran it: the local user (`$USER`, `$LOGNAME`, or the OS's name for the process's
        /// user), for the audit trail.
        user: Option<String>,
        /// The AWS identity it ran as (STS caller ARN), when known.
        caller: Option<String>,
        /// Changes it set out to make.
        changes: usize,
    },
    /// `--ignore-gates` let a phase through although its predecessor's gate does not hold.
    GateIgnored {
        /// The phase let through.
        phase: String,
        /// Why its gate did not hold.
        reason: String,
    },
    /// A mutating call is about to be sent.
    CallStarted(Call),
    /// A mutating call came back (or failed).
    CallFinished {
        /// The call.
        #[serde(flatten)]
        call: Call,
        /// `ok`, `throttled`, `failed`.
        outcome: CallOutcome,
        /// The request id AWS gave the response.
        request_id: Option<String>,
        /// The grant's status after the call, when it succeeded.
        status: Option<String>,
        /// The grant's version after the call, when it succeeded.
        version: Option<String>,
        /// The AWS error, when it failed.
        error: Option<String>,
    },
    /// An account's received grant was seen in a new status (by `status`, or `apply` as it plans).
    AccountStatus {
        /// The account.
        account: String,
        /// Its best received grant's status from this rollout; `None` when it has none.
        status: Option<String>,
    },
    /// A phase's `min_active` share was seen reached (bake gates count from the first sighting).
    PhaseActive {
        /// The phase.
        phase: String,
    },
    /// A phase's `min_active` share was seen lost again (its bake starts over).
    PhaseInactive {
        /// The phase.
        phase: String,
    },
    /// A change ended without failing but short of its goal: its grant is still distributing,
    /// awaiting the account's acceptance, or being deleted. A later run picks it up.
    ChangeWaiting {
        /// The phase of the change.
        phase: String,
        /// The grant's principal.
        principal: String,
        /// The grant.
        grant_arn: Option<String>,
        /// Its status as last seen.
        status: Option<String>,
        /// What it waits for.
        reason: String,
    },
    /// A journal written before journals were kept per organisation was moved here (it is taken
    /// to be this organisation's: the first run against an organisation after the upgrade claims
    /// it). Its lines come before this one.
    Migrated {
        /// Where it was.
        from: String,
        /// How many lines it held.
        lines: usize,
    },
    /// `entitle force-unlock` removed the rollout's lock.
    LockForced {
        /// Whose lock it was.
        holder: Holder,
        /// Who removed it: the local user (see `journal_lock::local_user`).
        user: Option<String>,
        /// On which machine.
        host: String,
        /// As which AWS identity, when known.
        caller: Option<String>,
    },
    /// The run was stopped by a signal (Ctrl-C, SIGTERM) before it finished: no new call was
    /// started after it, and the calls in flight were given a few seconds to come back.
    Interrupted {
        /// `SIGINT` or `SIGTERM`.
        signal: String,
        /// Changes done.
        done: usize,
        /// Changes failed.
        failed: usize,
        /// Changes left waiting (part done, or in flight) for the next run.
        waiting: usize,
        /// Changes not started.
        skipped: usize,
        /// Calls sent and never answered when the run stopped waiting: AWS may or may not have
        /// carried them out; the next run finds out (their client tokens make a repeat harmless).
        in_flight: Vec<Call>,
    },
    /// The run ended normally.
    RunFinished {
        /// Changes done.
        done: usize,
        /// Changes failed.
        failed: usize,
        /// Changes skipped.
        skipped: usize,
    },
}

/// A mutating call: what, to whom, with which idempotency token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// `CreateGrant`, `CreateGrantVersion`, `DeleteGrant`.
    pub operation: String,
    /// The phase of the change.
    pub phase: String,
    /// The grant's principal.
    pub principal: String,
    /// The ClientToken sent, if the operation takes one.
    pub client_token: Option<String>,
    /// The grant, when it exists already.
    pub grant_arn: Option<String>,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// It worked.
    Ok,
    /// Throttled: it will be retried.
    Throttled,
    /// Failed (it may be retried if the failure is transient).
    Failed,
}

/// An open journal, shared by the tasks of one run. `record` is synchronous: locally it writes
/// the line at once; in S3 it adds the line to the run's object (and its local spool file), which
/// a background task uploads about once a second and [`Journal::finish`] uploads a last time.
#[derive(Debug)]
pub struct Journal {
    location: PathBuf,
    run: String,
    sink: Sink,
    failure: Failure,
}

/// Where the lines go.
#[derive(Debug)]
enum Sink {
    Disabled,
    File(Mutex<LocalFile>),
    Remote(Arc<RemoteRun>),
}

/// A local journal file, opened when it existed already, else created with the first line.
#[derive(Debug)]
struct LocalFile {
    path: PathBuf,
    file: Option<File>,
}

impl LocalFile {
    /// Opens an existing journal for appending (a file ending in a torn line gets a newline
    /// first); a journal that does not exist yet is left to the first line.
    fn open(path: &Path) -> std::io::Result<Self> {
        let file = match OpenOptions::new().append(true).read(true).open(path) {
            Ok(file) => Some(Self::untorn(file)?),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(error),
        };
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }

    fn untorn(mut file: File) -> std::io::Result<File> {
        if ends_torn(&mut file)? {
            file.write_all(b"\n")?;
        }
        Ok(file)
    }

    fn write(&mut self, line: &[u8]) -> std::io::Result<()> {
        let file = match &mut self.file {
            Some(file) => file,
            None => {
                if let Some(parent) = self
                    .path
                    .parent()
                    .filter(|parent| !parent.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(parent)?;
                }
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .read(true)
                    .open(&self.path)?;
                self.file.insert(Self::untorn(file)?)
            }
        };
        file.write_all(line)
    }
}

/// Why a journal stopped taking lines, once it did; shared with the S3 uploader.
#[derive(Debug, Clone, Default)]
pub(crate) struct Failure(Arc<Mutex<Option<String>>>);

impl Failure {
    /// Notes the first failure (later ones are consequences).
    pub(crate) fn set(&self, reason: String) {
        let mut failure = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if failure.is_none() {
            *failure = Some(reason);
        }
    }

    /// The first failure, if any.
    pub(crate) fn get(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Journal {
    /// Opens the journal file at `path` for a new run: an existing file at once, a new one (and
    /// its directory) with the first line, so a run that writes nothing leaves no file. A file
    /// ending in a torn line (a process killed mid-write) gets a newline first, so the torn line
    /// stays alone and readers skip it.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Self::open_file(path, new_run_id())
    }

    /// [`Journal::open`] for a given run id.
    pub(crate) fn open_file(path: &Path, run: String) -> std::io::Result<Self> {
        Ok(Self {
            location: path.to_owned(),
            run,
            sink: Sink::File(Mutex::new(LocalFile::open(path)?)),
            failure: Failure::default(),
        })
    }

    /// A journal whose lines go to S3 (see `journal_store`).
    pub(crate) fn remote(location: String, run: String, remote: Arc<RemoteRun>) -> Self {
        Self {
            location: PathBuf::from(location),
            run,
            failure: remote.failure(),
            sink: Sink::Remote(remote),
        }
    }

    /// A journal that records nothing (benchmarks, library callers that keep their own).
    pub fn disabled() -> Self {
        Self {
            location: PathBuf::new(),
            run: new_run_id(),
            sink: Sink::Disabled,
            failure: Failure::default(),
        }
    }

    /// Where the lines go, for messages: the file, or the run's `s3://` object.
    pub fn path(&self) -> &Path {
        &self.location
    }

    /// This run's id.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// Why the journal stopped taking lines, if it did.
    pub fn failed(&self) -> Option<String> {
        self.failure.get()
    }

    /// Appends one event. A journal that cannot be written stops the run: changing grants without
    /// an audit trail is worse than not changing them. Once a write (or, in S3, an upload) has
    /// failed, every later call fails too.
    pub fn record(&self, event: Event) -> std::io::Result<Entry> {
        if let Some(reason) = self.failure.get() {
            return Err(std::io::Error::other(format!(
                "the journal `{}` takes no more lines since a write failed: {reason}",
                self.location.display()
            )));
        }
        let entry = Entry {
            at: now_rfc3339(),
            run: self.run.clone(),
            event,
        };
        let mut line = serde_json::to_string(&Line {
            format_version: JOURNAL_FORMAT_VERSION,
            entry: &entry,
        })
        .map_err(std::io::Error::other)?;
        line.push('\n');
        let written = match &self.sink {
            Sink::Disabled => Ok(()),
            Sink::File(file) => {
                let _one_at_a_time = WRITES.lock().unwrap_or_else(PoisonError::into_inner);
                file.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .write(line.as_bytes())
            }
            Sink::Remote(remote) => {
                let _one_at_a_time = WRITES.lock().unwrap_or_else(PoisonError::into_inner);
                remote.push(line.as_bytes())
            }
        };
        match written {
            Ok(()) => Ok(entry),
            Err(error) => {
                self.failure.set(error.to_string());
                Err(error)
            }
        }
    }

    /// Records what `report` shows that `history` does not know yet (see [`History::sightings`])
    /// and adds it to `history`; returns how many lines were written.
    pub fn record_sightings(
        &self,
        history: &mut History,
        report: &StatusReport,
    ) -> std::io::Result<usize> {
        let sightings = history.sightings(report);
        let written = sightings.len();
        for event in sightings {
            let entry = self.record(event)?;
            history.entries.push(entry);
        }
        Ok(written)
    }

    /// Ends the run's writing: in S3, stops the background uploads and uploads the run's object a
    /// last time (then removes the local spool file). Fails when any line could not be written or
    /// uploaded. Locally there is nothing to do but report an earlier failure.
    pub async fn finish(&self) -> Result<(), JournalError> {
        if let Sink::Remote(remote) = &self.sink {
            remote.finish().await;
        }
        match self.failure.get() {
            None => Ok(()),
            Some(reason) => Err(JournalError::Failed {
                location: self.location.display().to_string(),
                reason,
            }),
        }
    }
}

impl Drop for Journal {
    /// A journal dropped without [`Journal::finish`] (an error on the way) still uploads its last
    /// lines when it can block for it; otherwise they stay in the spool file.
    fn drop(&mut self) {
        if let Sink::Remote(remote) = &self.sink {
            remote.finish_blocking();
        }
    }
}

/// Whether the file is not empty and does not end with a newline.
fn ends_torn(file: &mut File) -> std::io::Result<bool> {
    let length = file.metadata()?.len();
    if length == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(length - 1))?;
    let mut last = [0_u8; 1];
    let read = file.read(&mut last)?;
    Ok(read == 1 && last[0] != b'\n')
}

/// The current time in RFC 3339 UTC, to the millisecond.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// A run id: the start time (so ids sort by time), the process id, a count of the ids this
/// process made (two runs opened in the same millisecond by one process differ by it) and a
/// random part (runners in containers often share process ids), unique across the machines
/// sharing an S3 journal.
pub fn new_run_id() -> String {
    static MADE: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    format!(
        "{:x}-{:x}-{:x}{:04x}",
        now.as_millis(),
        std::process::id(),
        MADE.fetch_add(1, Ordering::Relaxed),
        fastrand::u16(..)
    )
}

/// What a journal file holds: its entries and how many lines could not be read (a torn last line
/// after a crash, or someone's edit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Entries in file order.
    pub entries: Vec<Entry>,
    /// Lines skipped as unreadable.
    pub unreadable: usize,
}

impl History {
    /// Reads the journal at `path`; a missing file is an empty history.
    pub fn read(path: &Path) -> std::io::Result<Self> {
        let bytes = match read_bounded(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(error) => return Err(error),
        };
        let mut history = Self::default();
        history.add_lines(&bytes).map_err(std::io::Error::other)?;
        history.sort();
        Ok(history)
    }

    /// Adds the readable lines of `bytes` (one journal file or run object), counting the others.
    /// A line of a newer format than this entitle reads refuses the whole journal.
    pub(crate) fn add_lines(&mut self, bytes: &[u8]) -> Result<(), NewerJournal> {
        // A torn line may end inside a multi-byte character: judge each line on its own.
        for line in bytes.split(|byte| *byte == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // The version before the shape: a newer line may read as an older one and mean
            // something else.
            if let Ok(LineVersion {
                format_version: Some(found),
            }) = serde_json::from_slice(line)
                && found > u64::from(JOURNAL_FORMAT_VERSION)
            {
                return Err(NewerJournal { found });
            }
            match serde_json::from_slice(line) {
                Ok(entry) => self.entries.push(entry),
                Err(_) => self.unreadable += 1,
            }
        }
        Ok(())
    }

    /// Puts the entries in time order (`at` is fixed-width RFC 3339 UTC, so text order is time
    /// order); entries of the same millisecond keep the order they were read in. Runs written at
    /// once, or a migrated journal's lines, interleave by time.
    pub(crate) fn sort(&mut self) {
        self.entries.sort_by(|a, b| a.at.cmp(&b.at));
    }
}

/// A journal line written by a newer entitle, in a format this one does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "it holds lines of journal format_version {found}, written by a newer entitle; this entitle reads up to format_version {JOURNAL_FORMAT_VERSION}: upgrade entitle to use this journal"
)]
pub struct NewerJournal {
    /// The version found.
    pub found: u64,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn call(operation: &str, principal: &str) -> Call {
        Call {
            operation: operation.to_owned(),
            phase: "pilot".to_owned(),
            principal: principal.to_owned(),
            client_token: Some("entitle-abc".to_owned()),
            grant_arn: None,
            attempt: 1,
        }
    }

    fn started(changes: usize) -> Event {
        Event::RunStarted {
            command: "apply".to_owned(),
            rollout: "r".to_owned(),
            phase: None,
            user: None,
            caller: None,
            changes,
        }
    }

    #[test]
    fn lines_round_trip_and_a_torn_last_line_is_skipped() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("deep/er/r.jsonl");
        let journal = Journal::open(&path).unwrap();
        journal.record(started(1)).unwrap();
        journal
            .record(Event::CallStarted(call("CreateGrant", "arn:a")))
            .unwrap();
        // A crash in the middle of a write.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"at\":\"2026-").unwrap();
        let history = History::read(&path).unwrap();
        assert_eq!(history.entries.len(), 2);
        assert_eq!(history.unreadable, 1);
        assert_eq!(
            history.entries[1].event,
            Event::CallStarted(call("CreateGrant", "arn:a"))
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"event\":\"call_started\""), "{text}");
        assert!(text.contains("\"operation\":\"CreateGrant\""), "{text}");
    }

    #[test]
    fn the_last_run_says_which_calls_were_never_answered() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("r.jsonl");
        let first = Journal::open(&path).unwrap();
        first.record(started(1)).unwrap();
        first
            .record(Event::RunFinished {
                done: 1,
                failed: 0,
                skipped: 0,
            })
            .unwrap();
        // No sleep: a second run opened in the same millisecond still has its own id.
        let second = Journal::open(&path).unwrap();
        assert_ne!(first.run(), second.run());
        second.record(started(2)).unwrap();
        second
            .record(Event::CallStarted(call("CreateGrant", "arn:a")))
            .unwrap();
        second
            .record(Event::CallStarted(call("CreateGrant", "arn:b")))
            .unwrap();
        second
            .record(Event::CallFinished {
                call: call("CreateGrant", "arn:a"),
                outcome: CallOutcome::Ok,
                request_id: Some("req".to_owned()),
                status: Some("PENDING_WORKFLOW".to_owned()),
                version: Some("1".to_owned()),
                error: None,
            })
            .unwrap();
        let last = History::read(&path).unwrap().last_run().unwrap();
        assert_eq!(last.run, second.run());
        assert_eq!(last.finished, None);
        assert_eq!(last.calls_finished, 1);
        assert_eq!(last.unanswered.len(), 1);
        assert_eq!(last.unanswered[0].0.principal, "arn:b");
    }

    #[test]
    fn bake_counts_from_the_first_sighting_and_restarts_when_the_share_is_lost() {
        let entry = |at: &str, event: Event| Entry {
            at: at.to_owned(),
            run: "x".to_owned(),
            event,
        };
        let phase = |name: &str| name.to_owned();
        let history = History {
            entries: vec![
                entry(
                    "2026-11-01T00:00:00.000Z",
                    Event::PhaseActive {
                        phase: phase("pilot"),
                    },
                ),
                entry(
                    "2026-11-02T00:00:00.000Z",
                    Event::PhaseActive {
                        phase: phase("pilot"),
                    },
                ),
                entry(
                    "2026-11-01T00:00:00.000Z",
                    Event::PhaseActive {
                        phase: phase("waves"),
                    },
                ),
                entry(
                    "2026-11-03T00:00:00.000Z",
                    Event::PhaseInactive {
                        phase: phase("waves"),
                    },
                ),
            ],
            unreadable: 0,
        };
        let facts = history.gate_facts();
        assert_eq!(facts.share_reached.get("pilot"), Some(&1_793_491_200));
        assert_eq!(facts.share_reached.get("waves"), None);
    }

    #[test]
    fn a_journal_is_created_with_its_first_line_and_lines_carry_their_format() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("new/r.jsonl");
        let quiet = Journal::open(&path).unwrap();
        drop(quiet);
        assert!(!path.exists(), "a run that wrote nothing left a file");
        let journal = Journal::open(&path).unwrap();
        journal.record(started(1)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\"format_version\":1,"), "{text}");
        assert_eq!(History::read(&path).unwrap().entries.len(), 1);
    }

    #[test]
    fn a_line_of_a_newer_format_refuses_the_journal_and_older_lines_read_as_format_one() {
        let mut history = History::default();
        let old = b"{\"at\":\"2026-11-01T00:00:00.000Z\",\"run\":\"a\",\"event\":\"phase_active\",\"phase\":\"p\"}\n";
        history.add_lines(old).unwrap();
        assert_eq!(history.entries.len(), 1);
        let newer = b"{\"format_version\":2,\"at\":\"2026-11-01T00:00:00.000Z\",\"run\":\"a\",\"event\":\"phase_active\",\"phase\":\"p\"}\n";
        let refused = history.add_lines(newer).unwrap_err();
        assert_eq!(refused.found, 2);
        assert!(
            refused.to_string().contains("format_version 2"),
            "{refused}"
        );
    }

    #[test]
    fn an_interrupted_run_is_unfinished_and_names_its_signal() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("r.jsonl");
        let journal = Journal::open(&path).unwrap();
        journal.record(started(2)).unwrap();
        journal
            .record(Event::CallStarted(call("CreateGrant", "arn:a")))
            .unwrap();
        journal
            .record(Event::Interrupted {
                signal: "SIGTERM".to_owned(),
                done: 0,
                failed: 0,
                waiting: 1,
                skipped: 1,
                in_flight: vec![call("CreateGrant", "arn:a")],
            })
            .unwrap();
        let last = History::read(&path).unwrap().last_run().unwrap();
        assert_eq!(last.finished, None);
        assert_eq!(last.interrupted.as_deref(), Some("SIGTERM"));
        assert_eq!(last.unanswered.len(), 1);
    }

    #[test]
    fn run_ids_made_at_once_never_collide() {
        let ids: std::collections::BTreeSet<String> = (0..10_000).map(|_| new_run_id()).collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn a_disabled_journal_writes_nothing_and_a_missing_one_reads_empty() {
        let journal = Journal::disabled();
        let entry = journal.record(started(0)).unwrap();
        assert_eq!(entry.run, journal.run());
        // It holds no file and no upload: there is nowhere for a line to go.
        assert!(matches!(journal.sink, Sink::Disabled), "{:?}", journal.sink);
        assert_eq!(journal.path(), Path::new(""));
        assert_eq!(journal.failed(), None);
        let directory = tempfile::tempdir().unwrap();
        let history = History::read(&directory.path().join("none.jsonl")).unwrap();
        assert_eq!(history, History::default());
        assert!(history.last_run().is_none());
    }
}
