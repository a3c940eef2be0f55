//! How `entitle force-unlock` looks: whose lock it was and what became of it, as a line for
//! people or the versioned JSON document.

use std::io::{self, Write};

use serde::Serialize;

use super::{FORMAT_VERSION, Style};
use crate::apply::journal_store::Holder;

/// What became of the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlockOutcome {
    /// There was no lock: nothing to do.
    NotLocked,
    /// A local lock whose process had ended: the OS had released it already; only its holder's
    /// details were cleared.
    AlreadyReleased,
    /// The lock (an S3 object) was removed, and the journal says so.
    Removed,
}

/// The JSON document of `entitle force-unlock --output json`.
#[derive(Debug, Serialize)]
pub struct UnlockDocument {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// `force-unlock`: what document this is (docs/schema/force-unlock.schema.json).
    pub kind: &'static str,
    /// The organisation.
    pub organization: String,
    /// The rollout.
    pub rollout: String,
    /// The lock: a file, or an `s3://` object.
    pub lock: String,
    /// What became of it.
    pub outcome: UnlockOutcome,
    /// Who held it, when someone did.
    pub holder: Option<Holder>,
}

impl UnlockDocument {
    /// The document of an outcome.
    pub fn new(
        organization: &str,
        rollout: &str,
        lock: String,
        outcome: UnlockOutcome,
        holder: Option<Holder>,
    ) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            kind: "force-unlock",
            organization: organization.to_owned(),
            rollout: rollout.to_owned(),
            lock,
            outcome,
            // The lock records milliseconds; documents spell every time to the second.
            holder: holder.map(|mut holder| {
                holder.since = super::timestamp_of(&holder.since);
                holder
            }),
        }
    }
}

/// One line (two for a removal: whose lock it was).
pub fn render_human(
    document: &UnlockDocument,
    style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let subject = format!(
        "rollout `{}` of organisation `{}`",
        document.rollout, document.organization
    );
    let holder = document
        .holder
        .as_ref()
        .map_or_else(|| "an unknown holder".to_owned(), ToString::to_string);
    match document.outcome {
        UnlockOutcome::NotLocked => writeln!(
            out,
            "{} {subject} is not locked (`{}`): nothing to remove.",
            style.good("✓"),
            document.lock
        ),
        UnlockOutcome::AlreadyReleased => writeln!(
            out,
            "{} the lock of {subject} (`{}`) was already released: the OS released it when the process of {holder} ended. Nothing to remove.",
            style.good("✓"),
            document.lock
        ),
        UnlockOutcome::Removed => {
            writeln!(
                out,
                "{} removed the lock of {subject} (`{}`).",
                style.good("✓"),
                document.lock
            )?;
            writeln!(
                out,
                "  {} {holder}; the journal records the removal.",
                style.dim("it was held by")
            )
        }
    }
}
