//! Doing: carrying out a plan against AWS (the executor), and what makes it safe to re-run: the
//! adaptive rate limiter, the retry decision and the journal.

pub mod executor;
pub mod journal;
pub mod limiter;
pub mod retry;
