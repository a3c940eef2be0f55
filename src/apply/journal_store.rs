//! Where a rollout's journal lives and its lock: a journal belongs to (organisation, rollout),
//! kept in a local directory (`<dir>/<org-id>/<rollout>.jsonl`, the default `.entitle/journal`),
//! one given `.jsonl` file, or S3 (`s3://BUCKET/PREFIX/<org-id>/<rollout>/runs/<run>.jsonl`, one
//! object per run so that two writers never lose each other's lines, and `lock.json`). Every
//! command that changes grants holds the lock of its (organisation, rollout) for its whole run:
//! locally an OS file lock (a killed process releases it by itself), in S3 an object created with
//! `If-None-Match: *` (a killed process leaves it: `entitle force-unlock` removes it).
//!
//! The order of a run that changes grants: [`JournalStore::open`], then [`JournalStore::begin`]
//! (lock, journal, history) or the three by hand, then `Journal::record`..., then
//! [`JournalRun::finish`] (the journal's last upload, then the lock's release).

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::file_lock::{Attempt, FileLock, Inspected};
use super::journal::{Event, History, Journal, new_run_id};
use super::journal_s3::{RemoteRun, recover_spools};
use crate::aws::AwsClients;
use crate::aws::s3::{Bucket, Created};

pub use super::journal_error::JournalError;
pub(crate) use super::journal_lock::release_held_at_exit;
pub use super::journal_lock::{
    Holder, LockGuard, LockState, Unlocked, host_name, local_user, lock_state_file,
};

/// Where journals live when neither `--journal` nor the plan says.
pub const DEFAULT_DIRECTORY: &str = ".entitle/journal";

/// Where the lines of S3 journals are kept locally while their run lasts.
pub const DEFAULT_SPOOL: &str = ".entitle/spool";

/// How often, at most, a run's object is uploaded while the run goes on.
const UPLOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Run objects read at once when an S3 journal's history is read.
const READS_AT_ONCE: usize = 16;

/// Where journals live: `--journal`, `ENTITLE_JOURNAL`, a plan's `[journal] url`, or the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalLocation {
    /// A directory of journals: `<dir>/<org-id>/<rollout>.jsonl` (and the lock beside it).
    Directory(PathBuf),
    /// One journal file, used exactly as given whatever the organisation and rollout (its lock is
    /// `<file>.lock`).
    File(PathBuf),
    /// A bucket and a key prefix (without leading or trailing `/`; may be empty).
    S3 {
        /// The bucket.
        bucket: String,
        /// The prefix every key starts with.
        prefix: String,
    },
}

impl Default for JournalLocation {
    fn default() -> Self {
        Self::Directory(PathBuf::from(DEFAULT_DIRECTORY))
    }
}

impl fmt::Display for JournalLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Directory(path) | Self::File(path) => write!(f, "{}", path.display()),
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl std::str::FromStr for JournalLocation {
    type Err = JournalError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl JournalLocation {
    /// Parses a location: `s3://BUCKET/PREFIX` (the prefix may be empty), a path ending in
    /// `.jsonl` (one file), or any other path (a directory).
    pub fn parse(text: &str) -> Result<Self, JournalError> {
        let refuse = |reason: String| JournalError::Location {
            text: text.to_owned(),
            reason,
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(refuse("it is empty".to_owned()));
        }
        if let Some(rest) = strip_prefix_ignore_case(trimmed, "s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(refuse(
                    "an S3 location needs a bucket: `s3://BUCKET` or `s3://BUCKET/PREFIX`"
                        .to_owned(),
                ));
            }
            check_bucket_name(bucket).map_err(refuse)?;
            let prefix = prefix
                .split('/')
                .filter(|segment| !segment.is_empty())
                .collect::<Vec<_>>()
                .join("/");
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix,
            });
        }
        if let Some((scheme, _)) = trimmed.split_once("://") {
            return Err(refuse(format!(
                "`{scheme}://` is not a journal location: give a directory, a `.jsonl` file, or `s3://BUCKET/PREFIX`"
            )));
        }
        let path = PathBuf::from(trimmed);
        if trimmed.ends_with(".jsonl") {
            Ok(Self::File(path))
        } else {
            Ok(Self::Directory(path))
        }
    }

    /// The location a command uses: `--journal` (or `ENTITLE_JOURNAL`) first, then the plan's
    /// `[journal] url`, then the default directory.
    pub fn resolve(flag: Option<&str>, plan: Option<&str>) -> Result<Self, JournalError> {
        flag.or(plan)
            .map_or_else(|| Ok(Self::default()), Self::parse)
    }

    /// Whether it is in S3.
    pub fn is_s3(&self) -> bool {
        matches!(self, Self::S3 { .. })
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// S3's rules for (general purpose) bucket names, so that a typo fails here and not as a
/// signature or DNS error.
fn check_bucket_name(bucket: &str) -> Result<(), String> {
    let valid_chars = bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_well = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !(3..=63).contains(&bucket.len())
        || !valid_chars
        || !ends_well(bucket.bytes().next())
        || !ends_well(bucket.bytes().last())
    {
        return Err(format!(
            "`{bucket}` is not a bucket name: 3 to 63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// Whose journal: runs against different organisations (staging and production, the sandbox and
/// AWS) never share one, even for a rollout of the same name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JournalKey {
    /// The organisation's id (`o-...`).
    pub organization: String,
    /// The rollout's name (`cleanup` for `entitle cleanup`).
    pub rollout: String,
}

impl JournalKey {
    /// A key; both parts become path segments and key parts, so they are checked.
    pub fn new(
        organization: impl Into<String>,
        rollout: impl Into<String>,
    ) -> Result<Self, JournalError> {
        let key = Self {
            organization: organization.into(),
            rollout: rollout.into(),
        };
        let safe = |text: &str| {
            !text.is_empty()
                && !text.starts_with('.')
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        if !safe(&key.organization) || !safe(&key.rollout) {
            return Err(JournalError::Key {
                organization: key.organization,
                rollout: key.rollout,
            });
        }
        Ok(key)
    }
}

/// A journal's place, opened: where its lines, its history and its lock are.
#[derive(Debug, Clone)]
pub struct JournalStore {
    location: JournalLocation,
    key: JournalKey,
    backend: Backend,
    spool: PathBuf,
}

#[derive(Debug, Clone)]
enum Backend {
    Directory(PathBuf),
    File(PathBuf),
    S3 { bucket: Bucket, prefix: String },
}

impl JournalStore {
    /// Opens the journal of `key` at `location`. For S3, checks the bucket first (HeadBucket:
    /// a missing bucket or a refusal is reported here, with the permissions needed).
    pub async fn open(
        clients: &AwsClients,
        location: &JournalLocation,
        key: &JournalKey,
    ) -> Result<Self, JournalError> {
        let backend = match location {
            JournalLocation::Directory(root) => Backend::Directory(root.clone()),
            JournalLocation::File(path) => Backend::File(path.clone()),
            JournalLocation::S3 { bucket, prefix } => Backend::S3 {
                bucket: Bucket::open(clients, bucket, &probe_prefix(prefix))
                    .await
                    .map_err(|source| JournalError::S3 {
                        doing: "reach the journal's bucket",
                        location: format!("s3://{bucket}"),
                        source: Box::new(source),
                    })?,
                prefix: prefix.clone(),
            },
        };
        Ok(Self {
            location: location.clone(),
            key: key.clone(),
            backend,
            spool: PathBuf::from(DEFAULT_SPOOL),
        })
    }

    /// The journal of `rollout` in `organization`, at the location `--journal` (`flag`) or the
    /// plan's `[journal] url` (`plan`) names, else the default directory.
    pub async fn locate(
        clients: &AwsClients,
        flag: Option<&str>,
        plan: Option<&str>,
        organization: &str,
        rollout: &str,
    ) -> Result<Self, JournalError> {
        let location = JournalLocation::resolve(flag, plan)?;
        let key = JournalKey::new(organization, rollout)?;
        Self::open(clients, &location, &key).await
    }

    /// Keeps S3 runs' spool files under `directory` instead of `.entitle/spool`.
    #[must_use]
    pub fn with_spool(mut self, directory: impl Into<PathBuf>) -> Self {
        self.spool = directory.into();
        self
    }

    /// The location it was opened at.
    pub fn location(&self) -> &JournalLocation {
        &self.location
    }

    /// Whose journal it is.
    pub fn key(&self) -> &JournalKey {
        &self.key
    }

    /// Where this journal is, for messages: its file, or its `s3://` folder.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Directory(_) => self.keyed_file().display().to_string(),
            Backend::File(path) => path.display().to_string(),
            Backend::S3 { bucket, .. } => format!("s3://{}/{}", bucket.name(), self.base()),
        }
    }

    /// Where the lock is, for messages.
    pub fn describe_lock(&self) -> String {
        match &self.backend {
            Backend::S3 { bucket, .. } => format!("s3://{}/{}", bucket.name(), self.lock_key()),
            _ => self.lock_file().display().to_string(),
        }
    }

    /// `<dir>/<org>/<rollout>.jsonl`.
    fn keyed_file(&self) -> PathBuf {
        match &self.backend {
            Backend::Directory(root) => root
                .join(&self.key.organization)
                .join(format!("{}.jsonl", self.key.rollout)),
            Backend::File(path) => path.clone(),
            Backend::S3 { .. } => PathBuf::new(),
        }
    }

    /// `<dir>/<rollout>.jsonl`: where the journal was before journals were kept per organisation.
    fn legacy_file(&self) -> Option<PathBuf> {
        match &self.backend {
            Backend::Directory(root) => Some(root.join(format!("{}.jsonl", self.key.rollout))),
            _ => None,
        }
    }

    fn lock_file(&self) -> PathBuf {
        match &self.backend {
            Backend::Directory(root) => root
                .join(&self.key.organization)
                .join(format!("{}.lock", self.key.rollout)),
            Backend::File(path) => {
                let mut name = path.as_os_str().to_owned();
                name.push(".lock");
                PathBuf::from(name)
            }
            Backend::S3 { .. } => PathBuf::new(),
        }
    }

    /// `PREFIX/<org>/<rollout>/` (no leading `/`).
    fn base(&self) -> String {
        let prefix = match &self.backend {
            Backend::S3 { prefix, .. } if !prefix.is_empty() => format!("{prefix}/"),
            _ => String::new(),
        };
        format!("{prefix}{}/{}/", self.key.organization, self.key.rollout)
    }

    fn runs_prefix(&self) -> String {
        format!("{}runs/", self.base())
    }

    fn lock_key(&self) -> String {
        format!("{}lock.json", self.base())
    }

    /// The journal's history. A directory whose organisation has no journal yet shows the
    /// rollout's journal from before journals were kept per organisation (moved on the first
    /// write). S3: every run object, merged in time order.
    pub async fn read(&self) -> Result<History, JournalError> {
        let read = |path: &Path| {
            History::read(path).map_err(|source| JournalError::Io {
                doing: "read the journal",
                path: path.to_owned(),
                source,
            })
        };
        match &self.backend {
            Backend::File(path) => read(path),
            Backend::Directory(_) => {
                let mut history = read(&self.keyed_file())?;
                if let Some(legacy) = self.legacy_file() {
                    let old = read(&legacy)?;
                    history.entries.extend(old.entries);
                    history.unreadable += old.unreadable;
                    history.sort();
                }
                Ok(history)
            }
            Backend::S3 { bucket, .. } => self.read_s3(bucket).await,
        }
    }

    async fn read_s3(&self, bucket: &Bucket) -> Result<History, JournalError> {
        let prefix = self.runs_prefix();
        let failed = |doing, location: String| {
            move |source| JournalError::S3 {
                doing,
                location,
                source: Box::new(source),
            }
        };
        let listed = bucket.list(&prefix).await.map_err(failed(
            "list the journal's runs",
            format!("s3://{}/{prefix}", bucket.name()),
        ))?;
        let limit = Arc::new(tokio::sync::Semaphore::new(READS_AT_ONCE));
        let mut reads = tokio::task::JoinSet::new();
        for (index, object) in listed
            .into_iter()
            .filter(|object| object.key.ends_with(".jsonl"))
            .enumerate()
        {
            let bucket = bucket.clone();
            let limit = limit.clone();
            reads.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let read = bucket.get(&object.key).await;
                (index, object.key, read)
            });
        }
        let mut bodies = Vec::new();
        while let Some(joined) = reads.join_next().await {
            let Ok((index, key, read)) = joined else {
                continue;
            };
            match read {
                Ok(Some(object)) => bodies.push((index, object.body)),
                // Listed, then gone: nothing to read.
                Ok(None) => {}
                Err(source) => {
                    return Err(JournalError::S3 {
                        doing: "read a run of the journal",
                        location: format!("s3://{}/{key}", bucket.name()),
                        source: Box::new(source),
                    });
                }
            }
        }
        bodies.sort_by_key(|(index, _)| *index);
        let mut history = History::default();
        for (_, body) in &bodies {
            history.add_lines(body).map_err(|newer| JournalError::Io {
                doing: "read the journal",
                path: PathBuf::from(format!("s3://{}/{prefix}", bucket.name())),
                source: std::io::Error::other(newer),
            })?;
        }
        history.sort();
        Ok(history)
    }

    /// Opens the journal for a new run (a new run id).
    pub async fn journal(&self) -> Result<Journal, JournalError> {
        self.journal_for_run(&new_run_id()).await
    }

    /// Opens the journal for run `run`. In a directory, a journal from before journals were kept
    /// per organisation is moved under this organisation first, and a `migrated` line says so.
    /// In S3, the lines of runs killed on this machine whose spool files are left are uploaded
    /// first (the spool of a live run is locked and left alone).
    pub async fn journal_for_run(&self, run: &str) -> Result<Journal, JournalError> {
        match &self.backend {
            Backend::File(path) => open_file(path, run),
            Backend::Directory(_) => {
                let keyed = self.keyed_file();
                let migrated = match self.legacy_file() {
                    Some(legacy) => migrate(&legacy, &keyed)?,
                    None => None,
                };
                let journal = open_file(&keyed, run)?;
                if let Some((from, lines)) = migrated {
                    journal
                        .record(Event::Migrated { from, lines })
                        .map_err(|source| JournalError::Io {
                            doing: "write the journal",
                            path: keyed.clone(),
                            source,
                        })?;
                }
                Ok(journal)
            }
            Backend::S3 { bucket, .. } => {
                let spool = self.spool_directory(bucket);
                recover_spools(bucket, &spool, &self.runs_prefix(), run).await;
                let key = format!("{}{run}.jsonl", self.runs_prefix());
                let location = format!("s3://{}/{key}", bucket.name());
                let remote = RemoteRun::start(
                    bucket.clone(),
                    key,
                    spool.join(format!("{run}.jsonl")),
                    UPLOAD_INTERVAL,
                );
                Ok(Journal::remote(location, run.to_owned(), remote))
            }
        }
    }

    /// `.entitle/spool/<bucket>/<prefix>/<org>/<rollout>/`, each part made safe as a path segment.
    fn spool_directory(&self, bucket: &Bucket) -> PathBuf {
        let mut directory = self.spool.join(safe_segment(bucket.name()));
        for segment in self.base().split('/').filter(|segment| !segment.is_empty()) {
            directory.push(safe_segment(segment));
        }
        directory
    }

    /// Takes the lock of this (organisation, rollout) for `holder`, or refuses at once naming
    /// who holds it.
    pub async fn lock(&self, holder: &Holder) -> Result<LockGuard, JournalError> {
        match &self.backend {
            Backend::S3 { bucket, .. } => {
                let key = self.lock_key();
                let body = serde_json::to_vec_pretty(holder).unwrap_or_default();
                let lock = format!("s3://{}/{key}", bucket.name());
                // Twice at most: a lock released between our create and our read is free again.
                for _ in 0..2 {
                    let created = bucket
                        .put_if_absent(&key, body.clone(), "application/json")
                        .await
                        .map_err(|source| JournalError::S3 {
                            doing: "take the lock",
                            location: lock.clone(),
                            source: Box::new(source),
                        })?;
                    if created == Created::Created {
                        return Ok(LockGuard::s3(holder.clone(), bucket.clone(), key));
                    }
                    let found = bucket.get(&key).await.map_err(|source| JournalError::S3 {
                        doing: "read the lock",
                        location: lock.clone(),
                        source: Box::new(source),
                    })?;
                    if let Some(found) = found {
                        return Err(self.locked(serde_json::from_slice(&found.body).ok()));
                    }
                }
                Err(self.locked(None))
            }
            _ => {
                let path = self.lock_file();
                match FileLock::try_take(&path, holder).map_err(|source| JournalError::Io {
                    doing: "take the lock",
                    path: path.clone(),
                    source,
                })? {
                    Attempt::Taken(lock) => Ok(LockGuard::file(holder.clone(), lock)),
                    Attempt::Held(found) => Err(self.locked(found)),
                }
            }
        }
    }

    fn locked(&self, holder: Option<Holder>) -> JournalError {
        JournalError::Locked {
            organization: self.key.organization.clone(),
            rollout: self.key.rollout.clone(),
            lock: self.describe_lock(),
            holder: holder.map(Box::new),
        }
    }

    /// Who holds the lock, if anyone (for `force-unlock`).
    pub async fn lock_state(&self) -> Result<LockState, JournalError> {
        match &self.backend {
            Backend::S3 { bucket, .. } => {
                let found =
                    bucket
                        .get(&self.lock_key())
                        .await
                        .map_err(|source| JournalError::S3 {
                            doing: "read the lock",
                            location: self.describe_lock(),
                            source: Box::new(source),
                        })?;
                Ok(match found {
                    None => LockState::Free,
                    Some(object) => LockState::Held(serde_json::from_slice(&object.body).ok()),
                })
            }
            _ => {
                let path = self.lock_file();
                let inspected = FileLock::inspect(&path).map_err(|source| JournalError::Io {
                    doing: "read the lock",
                    path,
                    source,
                })?;
                Ok(match inspected {
                    Inspected::Free => LockState::Free,
                    Inspected::Released(holder) => LockState::Released(holder),
                    Inspected::Held(holder) => LockState::Held(holder),
                })
            }
        }
    }

    /// Removes a stale lock. In S3 the lock object is deleted, unless it changed hands since
    /// `seen` was shown. Locally only a dead process's details can be cleared: a live process's
    /// OS lock cannot be taken away, and is refused.
    pub async fn force_unlock(&self, seen: Option<&Holder>) -> Result<Unlocked, JournalError> {
        match &self.backend {
            Backend::S3 { bucket, .. } => {
                let LockState::Held(holder) = self.lock_state().await? else {
                    return Ok(Unlocked::NotLocked);
                };
                if let (Some(seen), Some(now)) = (seen, &holder)
                    && (seen.run != now.run || seen.since != now.since)
                {
                    return Err(JournalError::LockChanged {
                        lock: self.describe_lock(),
                        holder: Box::new(now.clone()),
                    });
                }
                bucket
                    .delete(&self.lock_key())
                    .await
                    .map_err(|source| JournalError::S3 {
                        doing: "remove the lock",
                        location: self.describe_lock(),
                        source: Box::new(source),
                    })?;
                Ok(Unlocked::Removed(holder.unwrap_or_else(|| Holder {
                    user: None,
                    host: "unknown-host".to_owned(),
                    pid: 0,
                    caller: None,
                    command: "unknown".to_owned(),
                    since: String::new(),
                    run: String::new(),
                })))
            }
            _ => match self.lock_state().await? {
                LockState::Free => Ok(Unlocked::NotLocked),
                LockState::Released(holder) => {
                    let path = self.lock_file();
                    FileLock::clear_released(&path).map_err(|source| JournalError::Io {
                        doing: "clear the lock",
                        path,
                        source,
                    })?;
                    Ok(Unlocked::AlreadyReleased(holder))
                }
                LockState::Held(holder) => Err(JournalError::HeldByLiveProcess {
                    lock: self.describe_lock(),
                    holder: holder.map(Box::new),
                }),
            },
        }
    }

    /// Everything a run that changes grants needs, in the right order: the lock (refused at once
    /// when held), the journal for a new run, and the history as it stands under the lock.
    pub async fn begin(
        &self,
        command: &str,
        caller: Option<String>,
    ) -> Result<JournalRun, JournalError> {
        let run = new_run_id();
        let lock = self.lock(&Holder::new(command, &run, caller)).await?;
        let opened = async {
            let journal = self.journal_for_run(&run).await?;
            let history = self.read().await?;
            Ok::<_, JournalError>((journal, history))
        }
        .await;
        match opened {
            Ok((journal, history)) => Ok(JournalRun {
                journal: Arc::new(journal),
                history,
                lock,
            }),
            Err(error) => {
                // The error is what matters; the lock goes with it.
                let _ = lock.release().await;
                Err(error)
            }
        }
    }
}

/// Opens a local journal file for a run, with the error this module reports.
fn open_file(path: &Path, run: &str) -> Result<Journal, JournalError> {
    Journal::open_file(path, run.to_owned()).map_err(|source| JournalError::Io {
        doing: "open the journal",
        path: path.to_owned(),
        source,
    })
}

/// Moves a journal from before journals were kept per organisation under the organisation now
/// in use: renamed when the organisation has none yet, appended to its journal otherwise (an
/// older entitle wrote the old place again). Returns where it was and how many lines it held.
fn migrate(legacy: &Path, keyed: &Path) -> Result<Option<(String, usize)>, JournalError> {
    let io = |doing, path: &Path| {
        let path = path.to_owned();
        move |source| JournalError::Io {
            doing,
            path,
            source,
        }
    };
    let bytes = match std::fs::read(legacy) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io("read the journal", legacy)(error)),
    };
    let lines = bytes
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .count();
    if let Some(parent) = keyed.parent() {
        std::fs::create_dir_all(parent).map_err(io("create the journal's directory", parent))?;
    }
    if keyed.exists() {
        let mut file = OpenOptions::new()
            .append(true)
            .read(true)
            .open(keyed)
            .map_err(io("open the journal", keyed))?;
        let mut text = Vec::new();
        if file.metadata().map(|meta| meta.len()).unwrap_or(0) > 0 {
            // Start on a line of our own, whatever the file ends with.
            text.push(b'\n');
        }
        text.extend_from_slice(&bytes);
        if !text.ends_with(b"\n") {
            text.push(b'\n');
        }
        file.write_all(&text)
            .map_err(io("write the journal", keyed))?;
        std::fs::remove_file(legacy).map_err(io("remove the old journal", legacy))?;
    } else {
        match std::fs::rename(legacy, keyed) {
            Ok(()) => {}
            // Another run moved it a moment ago.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(io("move the old journal", legacy)(error)),
        }
    }
    Ok(Some((legacy.display().to_string(), lines)))
}

/// What the bucket check lists: the journal's prefix as a folder (`PREFIX/`), which a policy
/// granting `s3:ListBucket` on `PREFIX/*` allows.
fn probe_prefix(prefix: &str) -> String {
    if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    }
}

/// A file name made of the characters every file system takes.
fn safe_segment(segment: &str) -> String {
    let safe: String = segment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    }
}

/// A run that changes grants, begun: its journal (shared with the executor), the history as it
/// stood when the run began, and the lock it holds.
#[derive(Debug)]
pub struct JournalRun {
    /// The journal this run records into.
    pub journal: Arc<Journal>,
    /// What the journal held when the run began.
    pub history: History,
    lock: LockGuard,
}

impl JournalRun {
    /// Who holds the lock (this run).
    pub fn holder(&self) -> &Holder {
        self.lock.holder()
    }

    /// Ends the run: the journal's last upload, then the lock's release (both, whatever the
    /// first does). The first error is returned.
    pub async fn finish(self) -> Result<(), JournalError> {
        let finished = self.journal.finish().await;
        let released = self.lock.release().await;
        finished.and(released)
    }
}

/// Takes the lock of `key` at `location` for `holder` (see [`JournalStore::lock`]).
pub async fn lock(
    clients: &AwsClients,
    location: &JournalLocation,
    key: &JournalKey,
    holder: &Holder,
) -> Result<LockGuard, JournalError> {
    JournalStore::open(clients, location, key)
        .await?
        .lock(holder)
        .await
}

/// Refuses an S3 journal under `--sandbox` unless `AWS_ENDPOINT_URL_S3` names where S3 is (the
/// emulator has no S3, and the sandbox never reaches AWS).
pub fn check_sandbox_journal(location: Option<&str>) -> Result<(), JournalError> {
    let Some(text) = location else {
        return Ok(());
    };
    let location = JournalLocation::parse(text)?;
    let named = std::env::var("AWS_ENDPOINT_URL_S3").is_ok_and(|url| !url.trim().is_empty());
    if location.is_s3() && !named {
        return Err(JournalError::SandboxWithoutS3 {
            location: location.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn locations_parse_into_s3_a_file_or_a_directory() {
        assert_eq!(
            JournalLocation::parse("s3://team-bucket/entitle/prod/").unwrap(),
            JournalLocation::S3 {
                bucket: "team-bucket".to_owned(),
                prefix: "entitle/prod".to_owned()
            }
        );
        assert_eq!(
            JournalLocation::parse("s3://team-bucket").unwrap(),
            JournalLocation::S3 {
                bucket: "team-bucket".to_owned(),
                prefix: String::new()
            }
        );
        assert_eq!(
            JournalLocation::parse("path/to/x.jsonl").unwrap(),
            JournalLocation::File(PathBuf::from("path/to/x.jsonl"))
        );
        assert_eq!(
            JournalLocation::parse("shared/journals").unwrap(),
            JournalLocation::Directory(PathBuf::from("shared/journals"))
        );
        assert_eq!(
            JournalLocation::resolve(None, None).unwrap(),
            JournalLocation::Directory(PathBuf::from(".entitle/journal"))
        );
        assert_eq!(
            JournalLocation::resolve(Some("a.jsonl"), Some("s3://b-b-b")).unwrap(),
            JournalLocation::File(PathBuf::from("a.jsonl"))
        );
        for (bad, says) in [
            ("s3://", "needs a bucket"),
            ("s3:///prefix", "needs a bucket"),
            ("s3://Team_Bucket/x", "not a bucket name"),
            ("gs://bucket/x", "`gs://` is not a journal location"),
            ("  ", "empty"),
        ] {
            let error = JournalLocation::parse(bad).unwrap_err().to_string();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn keys_refuse_what_cannot_name_a_file() {
        assert!(JournalKey::new("o-abc123", "claude-sonnet-4-5").is_ok());
        assert!(JournalKey::new("o-abc123", "../x").is_err());
        assert!(JournalKey::new("", "x").is_err());
        assert!(JournalKey::new("o/x", "x").is_err());
    }

    #[test]
    fn spool_segments_are_safe_file_names() {
        assert_eq!(safe_segment("a b/c"), "a_b_c");
        assert_eq!(safe_segment(".."), "_..");
        assert_eq!(safe_segment("o-abc"), "o-abc");
    }
}
