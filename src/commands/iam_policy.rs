//! `entitle iam-policy`: prints the least-privilege IAM policy the chosen commands need, or (`--for
//! member`) the policy of the role entitle assumes in member accounts; with a journal in S3, the
//! statements its bucket needs.

use super::Context;
use crate::apply::journal_store::JournalLocation;
use crate::cli::{IamPolicyArgs, PolicyFor};
use crate::exit::Outcome;
use crate::planner::iam_policy::{Commands, journal_statements, policy};

/// Prints the policy document (the same JSON for people and scripts: it is meant to be pasted).
pub fn run(context: &Context, args: &IamPolicyArgs) -> anyhow::Result<Outcome> {
    let commands = match args.for_commands {
        PolicyFor::Plan => Commands::Plan,
        PolicyFor::Apply => Commands::Apply,
        PolicyFor::Cleanup => Commands::Cleanup,
        PolicyFor::Verify => Commands::Verify,
        PolicyFor::Usage => Commands::Usage,
        PolicyFor::Fix => Commands::Fix,
        PolicyFor::All => Commands::All,
        PolicyFor::Member => Commands::Member,
    };
    let mut document = policy(commands, args.partition.as_str());
    // A journal in S3 (`--journal`, `ENTITLE_JOURNAL`): its bucket's statements too (verify
    // writes no journal).
    if !matches!(commands, Commands::Member | Commands::Verify)
        && let Some(location) = context.journal.as_deref()
        && let JournalLocation::S3 { bucket, prefix } = JournalLocation::parse(location)?
    {
        document.statement.extend(journal_statements(
            commands,
            args.partition.as_str(),
            &bucket,
            &prefix,
        ));
    }
    let text = serde_json::to_string_pretty(&document)?;
    context
        .printer
        .result(&document, |out| writeln!(out, "{text}"))?;
    Ok(Outcome::Success)
}
