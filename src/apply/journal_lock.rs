//! The lock of a journal's (organisation, rollout), and of a `--sandbox` state file: who holds
//! it (`Holder`, written into the lock), the guard a run keeps while it holds it, and what
//! `force-unlock` finds and does. Taking a lock is `JournalStore::lock`'s; here is holding and
//! releasing it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::file_lock::{Attempt, FileLock};
use super::journal::{new_run_id, now_rfc3339};
use super::journal_error::JournalError;
use super::journal_s3::block_on_if_allowed;
use crate::aws::s3::Bucket;

/// Who holds a lock: written into the lock, shown to whoever finds it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The local user (see [`local_user`]).
    #[serde(default)]
    pub user: Option<String>,
    /// The machine.
    #[serde(default)]
    pub host: String,
    /// The process id on that machine.
    #[serde(default)]
    pub pid: u32,
    /// The AWS identity (STS caller ARN), when known.
    #[serde(default)]
    pub caller: Option<String>,
    /// The command (`apply`, `activate`, `cleanup`, ...).
    #[serde(default)]
    pub command: String,
    /// Since when, RFC 3339 UTC.
    #[serde(default)]
    pub since: String,
    /// The run id (its journal lines carry it).
    #[serde(default)]
    pub run: String,
}

impl Holder {
    /// This process, now, running `command` as run `run`.
    pub fn new(command: &str, run: &str, caller: Option<String>) -> Self {
        Self {
            user: local_user(),
            host: host_name(),
            pid: std::process::id(),
            caller,
            command: command.to_owned(),
            since: now_rfc3339(),
            run: run.to_owned(),
        }
    }

    /// How long ago it was taken, in words (`4m`), when its time reads.
    pub fn age(&self) -> Option<String> {
        let since = humantime::parse_rfc3339(&self.since).ok()?;
        let elapsed = std::time::SystemTime::now().duration_since(since).ok()?;
        Some(crate::model::plan::format_duration(elapsed.as_secs()))
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.user {
            Some(user) => write!(f, "`{user}`")?,
            None => write!(f, "an unknown user")?,
        }
        write!(f, " on `{}` (pid {})", self.host, self.pid)?;
        if let Some(caller) = &self.caller {
            write!(f, " as `{caller}`")?;
        }
        write!(
            f,
            ", running `{}` (run {}) since {}",
            self.command, self.run, self.since
        )?;
        if let Some(age) = self.age() {
            write!(f, " ({age} ago)")?;
        }
        Ok(())
    }
}

/// The local user, for the audit trail and the lock: `$USER`, `$LOGNAME` (set by login and cron
/// where `$USER` is not), `%USERNAME%`, else the OS's name for the process's user (`/etc/passwd`
/// for the uid owning `/proc/self`, else `id -un`; its number, `uid 1001`, when the user has no
/// name, as in many containers). Every command that records who ran it asks here.
pub fn local_user() -> Option<String> {
    let named = |variable: &str| {
        std::env::var(variable)
            .ok()
            .map(|user| user.trim().to_owned())
            .filter(|user| !user.is_empty())
    };
    // Asked once per process: the answer does not change, and a child process started while a
    // lock's descriptor is open would hold the lock until it execs.
    static USER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    USER.get_or_init(|| {
        named("USER")
            .or_else(|| named("LOGNAME"))
            .or_else(|| named("USERNAME"))
            .or_else(user_of_this_process)
            .or_else(|| id(&["-un"]))
            .or_else(|| id(&["-u"]).map(|uid| format!("uid {uid}")))
    })
    .clone()
}

/// The name `/etc/passwd` gives the uid owning `/proc/self` (`uid 1001` when it names none), on
/// systems that have both; no process is started.
fn user_of_this_process() -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let named = passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid.to_string() && !name.is_empty()).then(|| name.to_owned())
    });
    Some(named.unwrap_or_else(|| format!("uid {uid}")))
}

/// What `id` answers, when it answers.
fn id(args: &[&str]) -> Option<String> {
    std::process::Command::new("id")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .filter(|answer| !answer.is_empty())
}

/// This machine's name: `HOSTNAME`, the kernel's, or `hostname`'s answer.
pub fn host_name() -> String {
    let from_env = std::env::var("HOSTNAME").ok();
    let from_kernel = || std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let from_command = || {
        std::process::Command::new("hostname")
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
    };
    from_env
        .or_else(from_kernel)
        .or_else(from_command)
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// The state of a lock, for `force-unlock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// Nobody holds it.
    Free,
    /// Nobody holds it, but a dead process's details are left (a local lock: the OS released it
    /// when the process ended).
    Released(Holder),
    /// Held (by a live process, locally; by whoever created the object, in S3).
    Held(Option<Holder>),
}

/// What `force-unlock` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlocked {
    /// There was no lock.
    NotLocked,
    /// A local lock whose process had ended: the OS had released it already; its details were
    /// cleared.
    AlreadyReleased(Holder),
    /// The S3 lock object was removed.
    Removed(Holder),
}

/// A held lock. Release it with [`LockGuard::release`]; dropped unreleased, it releases itself
/// where it can (a local lock always; an S3 lock when the runtime allows blocking).
#[derive(Debug)]
pub struct LockGuard {
    holder: Holder,
    held: Option<Held>,
}

#[derive(Debug)]
enum Held {
    File(FileLock),
    S3 { bucket: Bucket, key: String },
}

/// The S3 locks this process holds, by key: what [`release_held_at_exit`] removes when a signal
/// ends the process before their guards could (a local lock dies with its process anyway).
static HELD_S3: std::sync::Mutex<Vec<(Bucket, String, Holder)>> = std::sync::Mutex::new(Vec::new());

fn forget_held(key: &str) {
    if let Ok(mut held) = HELD_S3.lock() {
        held.retain(|(_, held_key, _)| held_key != key);
    }
}

/// Releases the S3 locks this process still holds, waiting at most `limit` for S3: called when a
/// signal ends the process at once, so that the next run is not refused until `force-unlock`.
/// Does nothing outside a multi-threaded runtime.
pub(crate) fn release_held_at_exit(limit: std::time::Duration) {
    let held = HELD_S3
        .lock()
        .map(|mut held| std::mem::take(&mut *held))
        .unwrap_or_default();
    if held.is_empty() {
        return;
    }
    block_on_if_allowed(async move {
        let releases = async {
            for (bucket, key, holder) in &held {
                if let Err(error) = release_s3(bucket, key, holder).await {
                    tracing::warn!(%error, "could not release the journal's lock");
                }
            }
        };
        if tokio::time::timeout(limit, releases).await.is_err() {
            tracing::warn!("S3 did not answer in time: the journal's lock was left");
        }
    });
}

impl LockGuard {
    /// Who holds it: this run.
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Releases the lock: unlocks the file, or deletes the lock object (unless someone removed it
    /// and took the lock since: then it is theirs and stays).
    pub async fn release(mut self) -> Result<(), JournalError> {
        match self.held.take() {
            None => Ok(()),
            Some(Held::File(lock)) => {
                let path = lock.path().to_owned();
                lock.release().map_err(|source| JournalError::Io {
                    doing: "release the lock",
                    path,
                    source,
                })
            }
            Some(Held::S3 { bucket, key }) => {
                let released = release_s3(&bucket, &key, &self.holder).await;
                forget_held(&key);
                released
            }
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        match self.held.take() {
            None => {}
            Some(Held::File(lock)) => {
                let _ = lock.release();
            }
            Some(Held::S3 { bucket, key }) => {
                forget_held(&key);
                let holder = self.holder.clone();
                block_on_if_allowed(async move {
                    if let Err(error) = release_s3(&bucket, &key, &holder).await {
                        tracing::warn!(%error, "could not release the journal's lock");
                    }
                });
            }
        }
    }
}

async fn release_s3(bucket: &Bucket, key: &str, holder: &Holder) -> Result<(), JournalError> {
    let location = format!("s3://{}/{key}", bucket.name());
    let found = bucket.get(key).await.map_err(|source| JournalError::S3 {
        doing: "read the lock",
        location: location.clone(),
        source: Box::new(source),
    })?;
    let ours = found
        .and_then(|object| serde_json::from_slice::<Holder>(&object.body).ok())
        .is_some_and(|found| found.run == holder.run);
    if !ours {
        tracing::warn!(lock = %location, "the lock was removed (force-unlock?) while this run held it; left as it is");
        return Ok(());
    }
    bucket.delete(key).await.map_err(|source| JournalError::S3 {
        doing: "release the lock",
        location,
        source: Box::new(source),
    })
}

impl LockGuard {
    /// A local lock, held.
    pub(crate) fn file(holder: Holder, lock: FileLock) -> Self {
        Self {
            holder,
            held: Some(Held::File(lock)),
        }
    }

    /// An S3 lock object, created.
    pub(crate) fn s3(holder: Holder, bucket: Bucket, key: String) -> Self {
        if let Ok(mut held) = HELD_S3.lock() {
            held.push((bucket.clone(), key.clone(), holder.clone()));
        }
        Self {
            holder,
            held: Some(Held::S3 { bucket, key }),
        }
    }
}

/// Takes the OS lock of a `--sandbox` state file (`<state file>.lock`) for a whole command,
/// waiting up to `wait` for another command on the same state to end: the emulator saves its
/// whole state when it ends, so two at once would lose one's changes.
pub async fn lock_state_file(
    state_file: &Path,
    command: &str,
    wait: Duration,
) -> Result<FileLock, JournalError> {
    let mut name = state_file.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let holder = Holder::new(command, &new_run_id(), None);
    match FileLock::take_within(&path, &holder, wait)
        .await
        .map_err(|source| JournalError::Io {
            doing: "lock the sandbox state",
            path: path.clone(),
            source,
        })? {
        Attempt::Taken(lock) => Ok(lock),
        Attempt::Held(holder) => Err(JournalError::StateInUse {
            path: state_file.to_owned(),
            holder: holder.map(Box::new),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_names_user_host_command_caller_and_since() {
        let holder = Holder {
            user: Some("alice".to_owned()),
            host: "laptop".to_owned(),
            pid: 42,
            caller: Some("arn:aws:iam::1:user/alice".to_owned()),
            command: "apply".to_owned(),
            since: "2026-11-01T00:00:00.000Z".to_owned(),
            run: "r1".to_owned(),
        };
        let text = holder.to_string();
        for part in [
            "`apply`",
            "`alice`",
            "`laptop`",
            "pid 42",
            "`arn:aws:iam::1:user/alice`",
            "since 2026-11-01T00:00:00.000Z",
        ] {
            assert!(text.contains(part), "{text}");
        }
    }
}
