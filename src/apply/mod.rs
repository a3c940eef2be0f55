//! Doing: carrying out a plan against AWS (the executor), and what makes it safe to re-run: the
//! adaptive rate limiter, the retry decision, the journal (its lines; where it lives and its lock
//! in `journal_store`), and the shared wait for new grants to finish distributing.

pub mod distribution;
pub mod executor;
pub mod file_lock;
pub mod journal;
pub mod journal_store;
pub mod limiter;
pub mod prechecks;
pub mod retry;
