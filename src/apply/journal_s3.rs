//! The lines of an S3 journal's run on their way up: kept whole in memory and in a local spool
//! file, uploaded as the run's one object at most once per interval by a background task and a
//! last time when the run finishes; and the spool files of runs killed on this machine, uploaded
//! by the next run.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::journal::Failure;
use super::journal_error::s3_hint;
use crate::aws::s3::Bucket;

/// Uploads what runs killed on this machine left in their spool files (their object may lack
/// their last second of lines), then removes those files. A spool file whose run still lives is
/// locked by it and left alone. Failures here only cost the recovery: they are logged.
pub(crate) async fn recover_spools(
    bucket: &Bucket,
    directory: &Path,
    runs_prefix: &str,
    own_run: &str,
) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        if !name.ends_with(".jsonl") || name == format!("{own_run}.jsonl") {
            continue;
        }
        let Ok(mut file) = OpenOptions::new().read(true).write(true).open(&path) else {
            continue;
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(error)) => {
                tracing::warn!(spool = %path.display(), %error, "could not lock a spool file");
                continue;
            }
        }
        let mut body = Vec::new();
        if file.read_to_end(&mut body).is_err() {
            continue;
        }
        let key = format!("{runs_prefix}{name}");
        if !body.is_empty() {
            let uploaded = match bucket.get(&key).await {
                Ok(Some(object)) if object.body.len() >= body.len() => Ok(()),
                Ok(_) => bucket.put(&key, body, NDJSON).await,
                Err(error) => Err(error),
            };
            if let Err(error) = uploaded {
                tracing::warn!(spool = %path.display(), %error, "could not upload the lines a killed run left");
                continue;
            }
            tracing::info!(spool = %path.display(), object = %key, "uploaded the lines a killed run left");
        }
        drop(file);
        let _ = std::fs::remove_file(&path);
    }
}

/// The content type of run objects.
const NDJSON: &str = "application/x-ndjson";

/// A run's lines on their way to S3: the whole run object in memory (uploaded whole, so an
/// upload never depends on an earlier one), a spool file beside it (what a killed process
/// leaves), and the task that uploads at most once per interval.
#[derive(Debug)]
pub(crate) struct RemoteRun {
    bucket: Bucket,
    key: String,
    spool_path: PathBuf,
    pending: Mutex<Pending>,
    failure: Failure,
    wake: tokio::sync::Notify,
    stop: tokio::sync::Notify,
    uploading: tokio::sync::Mutex<()>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    finished: AtomicBool,
}

#[derive(Debug, Default)]
struct Pending {
    body: Vec<u8>,
    lines: usize,
    uploaded: usize,
    spool: Option<File>,
}

impl RemoteRun {
    /// Starts the run's uploader (on the current tokio runtime).
    pub(crate) fn start(
        bucket: Bucket,
        key: String,
        spool_path: PathBuf,
        interval: Duration,
    ) -> Arc<Self> {
        let run = Arc::new(Self {
            bucket,
            key,
            spool_path,
            pending: Mutex::new(Pending::default()),
            failure: Failure::default(),
            wake: tokio::sync::Notify::new(),
            stop: tokio::sync::Notify::new(),
            uploading: tokio::sync::Mutex::new(()),
            task: Mutex::new(None),
            finished: AtomicBool::new(false),
        });
        let task = tokio::spawn(upload_while_running(run.clone(), interval));
        *run.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
        run
    }

    /// The failure shared with the journal.
    pub(crate) fn failure(&self) -> Failure {
        self.failure.clone()
    }

    /// Adds a line: to the spool file (created, and locked for the run's life, on the first
    /// line), then to the object, and wakes the uploader.
    pub(crate) fn push(&self, line: &[u8]) -> std::io::Result<()> {
        if self.finished.load(Ordering::SeqCst) {
            return Err(std::io::Error::other(
                "the run's journal was finished: no more lines",
            ));
        }
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.spool.is_none() {
            pending.spool = Some(open_spool(&self.spool_path)?);
        }
        if let Some(spool) = pending.spool.as_mut() {
            spool.write_all(line)?;
        }
        pending.body.extend_from_slice(line);
        pending.lines += 1;
        drop(pending);
        self.wake.notify_one();
        Ok(())
    }

    /// Uploads the object if it has lines not uploaded yet; false when the upload failed (the
    /// failure is noted).
    async fn upload(&self) -> bool {
        let _one_at_a_time = self.uploading.lock().await;
        let (body, lines) = {
            let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if pending.lines == pending.uploaded {
                return true;
            }
            (pending.body.clone(), pending.lines)
        };
        match self.bucket.put(&self.key, body, NDJSON).await {
            Ok(()) => {
                let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                pending.uploaded = pending.uploaded.max(lines);
                true
            }
            Err(error) => {
                let hint = s3_hint(&error);
                self.failure.set(format!(
                    "could not upload `s3://{}/{}`: {error} ({hint})",
                    self.bucket.name(),
                    self.key
                ));
                false
            }
        }
    }

    /// Stops the uploader, uploads the last lines, and removes the spool file once they are up.
    pub(crate) async fn finish(&self) {
        if self.finished.swap(true, Ordering::SeqCst) {
            return;
        }
        self.stop.notify_one();
        self.wake.notify_one();
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
        if self.failure.get().is_none() && self.upload().await {
            let spool = self
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .spool
                .take();
            if spool.is_some() {
                drop(spool);
                let _ = std::fs::remove_file(&self.spool_path);
            }
        }
    }

    /// [`RemoteRun::finish`] from a `Drop`: only where blocking is allowed (a worker of a
    /// multi-threaded runtime); elsewhere the spool file keeps the lines for the next run.
    pub(crate) fn finish_blocking(&self) {
        if self.finished.load(Ordering::SeqCst) {
            return;
        }
        block_on_if_allowed(self.finish());
    }
}

/// Runs `future` to completion from synchronous code (a `Drop`) when the current tokio runtime
/// allows blocking; does nothing otherwise.
pub(crate) fn block_on_if_allowed(future: impl std::future::Future<Output = ()>) {
    if let Ok(handle) = tokio::runtime::Handle::try_current()
        && handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
    {
        tokio::task::block_in_place(|| handle.block_on(future));
    }
}

fn open_spool(path: &Path) -> std::io::Result<File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    // Held for the run's life: a later run recovers only the spools of dead runs.
    match file.try_lock() {
        Ok(()) | Err(TryLockError::WouldBlock) => Ok(file),
        Err(TryLockError::Error(error)) => Err(error),
    }
}

/// The uploader: wakes on new lines, uploads, then rests for `interval` (or stops).
async fn upload_while_running(run: Arc<RemoteRun>, interval: Duration) {
    loop {
        run.wake.notified().await;
        if !run.upload().await || run.finished.load(Ordering::SeqCst) {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = run.stop.notified() => return,
        }
    }
}
