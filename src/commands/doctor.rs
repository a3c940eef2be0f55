//! `entitle doctor`: checks the prerequisites of a rollout and says how to fix what fails.

use super::{Context, placeholders};
use crate::cli::DoctorArgs;
use crate::exit::Outcome;

/// Runs every check.
pub async fn run(_context: &Context, _args: &DoctorArgs) -> anyhow::Result<Outcome> {
    placeholders::not_built("doctor", "issue #6 (cleanup and doctor)")
}
