//! `entitle iam-policy`: prints the least-privilege IAM policy the chosen commands need, or (`--for
//! member`) the policy of the role entitle assumes in member accounts.

use super::Context;
use crate::cli::{IamPolicyArgs, PolicyFor};
use crate::exit::Outcome;
use crate::planner::iam_policy::{Commands, policy};

/// Prints the policy document (the same JSON for people and scripts: it is meant to be pasted).
pub fn run(context: &Context, args: &IamPolicyArgs) -> anyhow::Result<Outcome> {
    let commands = match args.for_commands {
        PolicyFor::Plan => Commands::Plan,
        PolicyFor::Apply => Commands::Apply,
        PolicyFor::Cleanup => Commands::Cleanup,
        PolicyFor::All => Commands::All,
        PolicyFor::Member => Commands::Member,
    };
    let document = policy(commands, args.partition.as_str());
    let text = serde_json::to_string_pretty(&document)?;
    context
        .printer
        .result(&document, |out| writeln!(out, "{text}"))?;
    Ok(Outcome::Success)
}
