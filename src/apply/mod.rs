//! Doing: carrying out a plan against AWS (the executor), and what makes it safe to re-run.

pub mod executor;
