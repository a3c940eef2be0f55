//! Doing: carrying out a plan against AWS (the executor, paced by `crate::limiter`), and what
//! makes it safe to re-run: the retry decision, the journal (its lines in `journal`, what they
//! mean in `journal_history`; where it lives,
//! its S3 uploads, its lock and their errors in `journal_store` and the private modules beside
//! it; OS file locks in `file_lock`), and the shared wait for new grants to finish distributing.

pub mod distribution;
pub mod executor;
pub mod file_lock;
pub mod journal;
mod journal_error;
pub mod journal_history;
mod journal_lock;
mod journal_s3;
pub mod journal_store;
pub mod prechecks;
pub mod retry;
