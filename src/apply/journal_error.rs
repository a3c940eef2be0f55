//! What can go wrong with a journal or its lock, and what a person can do about each: the
//! location that does not parse, the file or bucket that cannot be reached (with the permissions
//! an S3 journal needs), the lock another run holds (and how to remove a stale one), the journal
//! that stopped taking lines.

use std::path::PathBuf;

use super::journal_lock::Holder;
use crate::aws::{AwsError, AwsErrorKind};

/// The permissions an S3 journal needs, for error hints.
const S3_PERMISSIONS: &str = "`s3:GetObject`, `s3:PutObject` and `s3:DeleteObject` on `arn:aws:s3:::BUCKET/PREFIX/*`, and `s3:ListBucket` on `arn:aws:s3:::BUCKET`";

/// What went wrong with a journal or its lock.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// `--journal`, `ENTITLE_JOURNAL` or a plan's `[journal] url` does not parse.
    #[error("`{text}` is not a journal location: {reason}")]
    Location {
        /// What was given.
        text: String,
        /// Why it is refused.
        reason: String,
    },
    /// An organisation id or rollout name that cannot name a journal.
    #[error(
        "organisation `{organization}` and rollout `{rollout}` cannot name a journal (letters, digits, `-`, `_` and `.` only)"
    )]
    Key {
        /// The organisation id.
        organization: String,
        /// The rollout.
        rollout: String,
    },
    /// A local file could not be read or written.
    #[error("could not {doing} `{}`", path.display())]
    Io {
        /// What was being done.
        doing: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An S3 call failed.
    #[error("could not {doing} `{location}`")]
    S3 {
        /// What was being done.
        doing: &'static str,
        /// The bucket, object or prefix.
        location: String,
        /// The S3 error.
        #[source]
        source: Box<AwsError>,
    },
    /// Another run holds the lock.
    #[error(
        "rollout `{rollout}` of organisation `{organization}` is locked by {}",
        holder.as_ref().map_or_else(|| "another run (its details could not be read)".to_owned(), ToString::to_string)
    )]
    Locked {
        /// The organisation.
        organization: String,
        /// The rollout.
        rollout: String,
        /// The lock (file or `s3://` object).
        lock: String,
        /// Who holds it, when its details could be read.
        holder: Option<Box<Holder>>,
    },
    /// `force-unlock` of a local lock whose process still runs: the OS lock cannot be taken away.
    #[error(
        "the lock `{lock}` is held by a running process: {}",
        holder.as_ref().map_or_else(|| "its details could not be read".to_owned(), ToString::to_string)
    )]
    HeldByLiveProcess {
        /// The lock file.
        lock: String,
        /// Who holds it.
        holder: Option<Box<Holder>>,
    },
    /// The S3 lock changed hands between being shown and being removed.
    #[error("the lock `{lock}` changed hands while you were asked: now {holder}")]
    LockChanged {
        /// The lock object.
        lock: String,
        /// Who holds it now.
        holder: Box<Holder>,
    },
    /// A journal stopped taking lines (a failed write or upload).
    #[error("the journal `{location}` could not be written: {reason}")]
    Failed {
        /// The journal.
        location: String,
        /// The first failure.
        reason: String,
    },
    /// An S3 journal under `--sandbox`, whose emulator has no S3, without an S3 endpoint named.
    #[error(
        "`--sandbox` reaches no S3 (its emulator has none), so the journal `{location}` cannot be used"
    )]
    SandboxWithoutS3 {
        /// The journal's location.
        location: String,
    },
    /// Another command uses the `--sandbox` state file.
    #[error(
        "the sandbox state `{}` is in use by {}",
        path.display(),
        holder.as_ref().map_or_else(|| "another command".to_owned(), ToString::to_string)
    )]
    StateInUse {
        /// The state file.
        path: PathBuf,
        /// Who uses it.
        holder: Option<Box<Holder>>,
    },
}

impl JournalError {
    /// What a person can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Location { .. } => Some(
                "give a directory (`.entitle/journal`), one file (`path/to/journal.jsonl`), or `s3://BUCKET/PREFIX`"
                    .to_owned(),
            ),
            Self::Key { .. } | Self::LockChanged { .. } => None,
            Self::Io { .. } => Some(
                "check that the journal's directory exists or can be created and is writable, or choose another with `--journal`"
                    .to_owned(),
            ),
            Self::S3 { source, .. } => Some(s3_hint(source)),
            Self::Locked { rollout, .. } => {
                let unlock = if rollout == crate::planner::cleanup::CLEANUP {
                    "entitle force-unlock --rollout cleanup".to_owned()
                } else {
                    "entitle force-unlock PLAN.toml".to_owned()
                };
                Some(format!(
                    "wait for that run to finish; if it is gone (killed, or its runner crashed), remove the stale lock with `{unlock}`"
                ))
            }
            Self::HeldByLiveProcess { holder, .. } => Some(match holder {
                Some(holder) => format!(
                    "stop process {} on `{}` (the OS releases its lock when it ends); nothing else can take a live process's lock",
                    holder.pid, holder.host
                ),
                None => "stop the process that holds it: the OS releases its lock when it ends".to_owned(),
            }),
            Self::Failed { .. } => Some(
                "nothing more was changed after the failure; fix its cause (disk space, permissions, the bucket) and run again: the next run picks up where this one stopped"
                    .to_owned(),
            ),
            Self::SandboxWithoutS3 { .. } => Some(
                "point `AWS_ENDPOINT_URL_S3` at an S3 emulator (moto, MinIO), or keep the sandbox's journal local (leave `--journal` and `ENTITLE_JOURNAL` unset)"
                    .to_owned(),
            ),
            Self::StateInUse { .. } => Some(
                "wait for the other command to end (it saves the state when it does), or use another state file: `--sandbox=OTHER.json`"
                    .to_owned(),
            ),
        }
    }
}

/// What to do about a failed S3 call of the journal.
pub(crate) fn s3_hint(error: &AwsError) -> String {
    match error.kind {
        // A listing answered 404 has no bucket to list.
        AwsErrorKind::NotFound
            if error.is_code("NoSuchBucket") || error.operation == "ListObjectsV2" =>
        {
            "the bucket does not exist (or is not visible to this account): create it, or fix the name in `--journal`".to_owned()
        }
        AwsErrorKind::AccessDenied => format!(
            "the identity in use needs {S3_PERMISSIONS} (`entitle iam-policy` prints them); check it with `aws sts get-caller-identity`"
        ),
        AwsErrorKind::Configuration => {
            "set up AWS credentials and a region (`aws configure`, `--profile NAME`); under `--sandbox`, set `AWS_ENDPOINT_URL_S3` to an S3 emulator".to_owned()
        }
        _ => "S3 failed after retries; running the command again is safe".to_owned(),
    }
}
