//! OS file locks with their holder written inside: the lock of a local journal and of a
//! `--sandbox` state file. The lock is the OS's (advisory, `flock`-style through `std::fs::File`),
//! so a process that dies releases it by itself; the holder's details in the file only say who
//! holds it (or who held it last, when its process died without releasing it).
//!
//! Lock files are never deleted: a process waiting on a path that another deletes and re-creates
//! would lock a different file than the next one, and two would hold "the" lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::journal_lock::Holder;

/// A held lock; dropping it releases it (the OS would anyway when the process ends).
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

/// What trying to take a lock found.
#[derive(Debug)]
pub enum Attempt {
    /// Taken.
    Taken(FileLock),
    /// Held by another process (its details, when the file holds readable ones).
    Held(Option<Holder>),
}

/// What a lock file says, without taking the lock for longer than a look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspected {
    /// Nobody holds it, and nobody died holding it (or there is no lock file).
    Free,
    /// Nobody holds it, but its last holder's details are still there: its process ended
    /// without releasing it (killed), and the OS released the lock.
    Released(Holder),
    /// A live process holds it.
    Held(Option<Holder>),
}

impl FileLock {
    /// Takes the lock at `path` (creating the file and its directory) and writes `holder` in it,
    /// or says who holds it.
    pub fn try_take(path: &Path, holder: &Holder) -> std::io::Result<Attempt> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(Attempt::Held(read_holder(&mut file)?)),
            Err(TryLockError::Error(error)) => return Err(error),
        }
        let mut text = serde_json::to_string_pretty(holder).map_err(std::io::Error::other)?;
        text.push('\n');
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(text.as_bytes())?;
        file.flush()?;
        Ok(Attempt::Taken(Self {
            file,
            path: path.to_owned(),
        }))
    }

    /// [`FileLock::try_take`], trying again for up to `wait` while another process holds it.
    pub async fn take_within(
        path: &Path,
        holder: &Holder,
        wait: Duration,
    ) -> std::io::Result<Attempt> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match Self::try_take(path, holder)? {
                Attempt::Held(found) if tokio::time::Instant::now() >= deadline => {
                    return Ok(Attempt::Held(found));
                }
                Attempt::Held(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                taken @ Attempt::Taken(_) => return Ok(taken),
            }
        }
    }

    /// Looks at the lock at `path`: free, released by a dead process, or held.
    pub fn inspect(path: &Path) -> std::io::Result<Inspected> {
        let mut file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Inspected::Free);
            }
            Err(error) => return Err(error),
        };
        match file.try_lock() {
            Ok(()) => {
                let holder = read_holder(&mut file)?;
                file.unlock()?;
                Ok(holder.map_or(Inspected::Free, Inspected::Released))
            }
            Err(TryLockError::WouldBlock) => Ok(Inspected::Held(read_holder(&mut file)?)),
            Err(TryLockError::Error(error)) => Err(error),
        }
    }

    /// Clears the details a dead holder left behind, unless a live process holds the lock now.
    /// Returns whether it cleared anything.
    pub fn clear_released(path: &Path) -> std::io::Result<bool> {
        let file = match OpenOptions::new().write(true).open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(error) => return Err(error),
        };
        match file.try_lock() {
            Ok(()) => {
                let had = file.metadata()?.len() > 0;
                file.set_len(0)?;
                file.unlock()?;
                Ok(had)
            }
            Err(TryLockError::WouldBlock) => Ok(false),
            Err(TryLockError::Error(error)) => Err(error),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Releases the lock, leaving an empty file (so nobody mistakes it for a dead holder's).
    pub fn release(self) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.file.unlock()
    }
}

/// The holder written in a lock file; `None` when it is empty or unreadable (being written).
fn read_holder(file: &mut File) -> std::io::Result<Option<Holder>> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_string(&mut text)?;
    Ok(serde_json::from_str(&text).ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn holder(command: &str) -> Holder {
        Holder::new(
            command,
            "run-1",
            Some("arn:aws:iam::1:user/alice".to_owned()),
        )
    }

    #[test]
    fn a_second_taker_is_refused_with_the_holder_and_a_released_lock_is_free() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("deep/r.lock");
        let Attempt::Taken(first) = FileLock::try_take(&path, &holder("apply")).unwrap() else {
            panic!("the first taker gets the lock");
        };
        match FileLock::try_take(&path, &holder("cleanup")).unwrap() {
            Attempt::Held(Some(found)) => assert_eq!(found.command, "apply"),
            other => panic!("expected the lock held by apply, got {other:?}"),
        }
        assert!(matches!(
            FileLock::inspect(&path).unwrap(),
            Inspected::Held(Some(_))
        ));
        first.release().unwrap();
        assert_eq!(FileLock::inspect(&path).unwrap(), Inspected::Free);
        assert!(matches!(
            FileLock::try_take(&path, &holder("cleanup")).unwrap(),
            Attempt::Taken(_)
        ));
    }

    #[test]
    fn a_lock_dropped_without_release_is_free_again_with_its_holder_left() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("r.lock");
        let Attempt::Taken(lock) = FileLock::try_take(&path, &holder("apply")).unwrap() else {
            panic!("taken");
        };
        // Like a killed process: the descriptor closes without the file being cleared.
        drop(lock);
        match FileLock::inspect(&path).unwrap() {
            Inspected::Released(found) => assert_eq!(found.command, "apply"),
            other => panic!("expected a released lock, got {other:?}"),
        }
        assert!(FileLock::clear_released(&path).unwrap());
        assert_eq!(FileLock::inspect(&path).unwrap(), Inspected::Free);
    }
}
