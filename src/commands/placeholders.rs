//! Commands of the contract that later work fills in: they fail clearly instead of pretending.

use super::NotBuiltYet;
use crate::exit::Outcome;

/// Fails with a "not built yet" error naming where the work is tracked.
pub fn not_built(command: &'static str, issue: &'static str) -> anyhow::Result<Outcome> {
    Err(NotBuiltYet { command, issue }.into())
}
