//! `entitle guardrails`: prints the service control policy that goes with a rollout plan.

use super::{Context, placeholders};
use crate::cli::GuardrailsArgs;
use crate::exit::Outcome;

/// Prints the policy.
pub async fn run(_context: &Context, _args: &GuardrailsArgs) -> anyhow::Result<Outcome> {
    placeholders::not_built("guardrails", "issue #6 (cleanup and doctor)")
}
