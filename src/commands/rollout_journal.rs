//! The journal of a rollout in the organisation looked at, as every command finds it: where
//! `--journal` (or `ENTITLE_JOURNAL`), else the plan's `[journal] url`, else the default
//! directory puts it, keyed by the organisation's id; under `--sandbox` an `s3://` journal needs
//! an S3 endpoint of its own (the emulator has none).

use super::Context;
use crate::apply::journal::History;
use crate::apply::journal_store::{JournalStore, check_sandbox_journal};
use crate::aws::AwsClients;

/// The journal of `rollout` in `organization`; `plan_url` is the plan's `[journal] url`.
pub async fn locate(
    context: &Context,
    clients: &AwsClients,
    organization: &str,
    rollout: &str,
    plan_url: Option<&str>,
) -> anyhow::Result<JournalStore> {
    if context.aws.fixed_endpoint.is_some() {
        check_sandbox_journal(context.journal.as_deref().or(plan_url))?;
    }
    Ok(JournalStore::locate(
        clients,
        context.journal.as_deref(),
        plan_url,
        organization,
        rollout,
    )
    .await?)
}

/// Warns when lines of the journal at `place` could not be read (a run killed while writing).
pub(super) fn warn_unreadable(printer: &crate::ui::Printer, history: &History, place: &str) {
    if history.unreadable > 0 {
        printer.warn(
            &format!(
                "{} of the journal `{place}` could not be read (a run killed while writing?)",
                crate::ui::counted(history.unreadable, "line")
            ),
            None,
        );
    }
}
