//! The journal lines that open and close a run that changes grants, shared by `apply` (and
//! `activate`) and `cleanup`: what the previous run left unfinished, the `run_started` line (who,
//! as which AWS identity, how many changes), and the `run_finished` or `interrupted` line.

use anyhow::Context as _;

use crate::apply::executor::Execution;
use crate::apply::journal::{Event, History, Journal};
use crate::apply::journal_store::local_user;
use crate::ui::Printer;
use crate::ui::apply::ChangeOutcomes;

/// What a `run_started` line says.
pub(super) struct RunStart<'a> {
    /// `apply`, `activate`, `cleanup`.
    pub command: &'a str,
    /// The rollout (`cleanup` for cleanup).
    pub rollout: &'a str,
    /// `--phase`, if given.
    pub phase: Option<String>,
    /// The AWS identity (STS caller ARN), when known.
    pub caller: Option<String>,
    /// Changes the run sets out to make.
    pub changes: usize,
}

/// Journals the start of the changes: no call goes out before this line is written.
pub(super) fn record_started(journal: &Journal, start: RunStart<'_>) -> anyhow::Result<()> {
    journal
        .record(Event::RunStarted {
            command: start.command.to_owned(),
            rollout: start.rollout.to_owned(),
            phase: start.phase,
            user: local_user(),
            caller: start.caller,
            changes: start.changes,
        })
        .with_context(|| {
            format!(
                "could not write the journal `{}`, so nothing was changed",
                journal.path().display()
            )
        })?;
    Ok(())
}

/// Journals how the run ended: `interrupted` (with the signal and the calls in flight) when a
/// signal stopped it, else `run_finished`.
pub(super) fn record_ended(
    journal: &Journal,
    execution: &Execution,
    outcomes: &ChangeOutcomes,
) -> anyhow::Result<()> {
    let total = |outcome: &str| outcomes.totals.get(outcome).copied().unwrap_or(0);
    let event = match &execution.interrupted {
        Some(interruption) => Event::Interrupted {
            signal: interruption.signal.name().to_owned(),
            done: total("done"),
            failed: total("failed"),
            waiting: total("waiting"),
            skipped: total("skipped"),
            in_flight: interruption.in_flight.clone(),
        },
        None => Event::RunFinished {
            done: total("done"),
            failed: total("failed"),
            skipped: total("skipped"),
        },
    };
    journal.record(event).with_context(|| {
        format!(
            "could not write the journal `{}` at the end of the run",
            journal.path().display()
        )
    })?;
    Ok(())
}

/// Says where the previous run stopped, when it did not finish: interrupted by a signal (and
/// which), or stopped without a word (killed, crashed), with the calls it never saw answered.
pub(super) fn report_previous_run(printer: &Printer, history: &History, place: &str) {
    super::rollout_journal::warn_unreadable(printer, history, place);
    let Some(last) = history.last_run() else {
        return;
    };
    if last.finished.is_some() {
        return;
    }
    let how = match &last.interrupted {
        Some(signal) => format!("was interrupted by {signal}"),
        None => "stopped before it finished".to_owned(),
    };
    let mut message = format!(
        "the previous `{}` (run {}, started {}) {how}: {} answered",
        last.command,
        last.run,
        last.started_at,
        crate::ui::counted(last.calls_finished, "call")
    );
    for (call, at) in &last.unanswered {
        message.push_str(&format!(
            "; {} for {} (sent {at}, token {}) never answered",
            call.operation,
            call.principal,
            call.client_token.as_deref().unwrap_or("none")
        ));
    }
    printer.warn(
        &message,
        Some("this run plans again from what AWS shows now; repeated calls reuse their client tokens, so nothing is made twice"),
    );
}
