//! Rendering of `entitle apply`'s outcome: a table of what was done, failed or skipped for
//! people, and one versioned JSON document (`kind: apply`) whatever happened; and what a signal
//! stopped (on stderr for people, `interrupted` in the document).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::{FORMAT_VERSION, Style};
use crate::apply::executor::{CallCounts, ChangeResult, Interruption, Outcome};
use crate::interrupt::Signal;
use crate::model::Principal;
use crate::planner::{Action, PhasePlan, Plan};

/// What an apply came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyStatus {
    /// Changes were carried out (each change says how it went).
    Applied,
    /// The grants already match the plan (as far as the gates allow): nothing was called.
    NoChanges,
    /// The phase asked for (`--phase`) is held back by a gate: nothing was called.
    Held,
    /// A signal (Ctrl-C, SIGTERM) stopped the run part way: `interrupted` says which and what
    /// was in flight; each change says how far it got.
    Interrupted,
}

/// The phase a gate holds back, when `--phase` asked for it.
#[derive(Debug, Clone, Serialize)]
pub struct HeldPhase {
    /// The phase asked for.
    pub phase: String,
    /// Why its gate does not let it through.
    pub reason: String,
}

/// The JSON document of `entitle apply --output json`: one shape whatever happened.
#[derive(Debug, Serialize)]
pub struct ApplyReport {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// `apply`: what document this is (docs/schema/apply.schema.json).
    pub kind: &'static str,
    /// The rollout.
    pub rollout: String,
    /// The license distributed.
    pub license_arn: String,
    /// What the run came to.
    pub status: ApplyStatus,
    /// The phase held back, when `status` is `held`.
    pub held: Option<HeldPhase>,
    /// `--phase`, when given.
    pub phase_limit: Option<String>,
    /// The plan's phases: targets, gates and what holds each back.
    pub phases: Vec<PhasePlan>,
    /// What was done.
    #[serde(flatten)]
    pub outcomes: ChangeOutcomes,
}

/// The changes a run attempted or skipped, with totals and call counts (apply, and cleanup's
/// deletions).
#[derive(Debug, Default, Serialize)]
pub struct ChangeOutcomes {
    /// Every change attempted or skipped, in plan order (empty when nothing ran).
    pub changes: Vec<ChangeReport>,
    /// Counts per outcome (`done`, `waiting`, `failed`, `skipped`).
    pub totals: BTreeMap<&'static str, usize>,
    /// License Manager calls sent, throttled and retried: throttles are absorbed (the rate
    /// limiter slows down and the call is repeated), they fail nothing.
    pub calls: CallCounts,
    /// Set when a signal stopped the run; `null` otherwise.
    pub interrupted: Option<InterruptedRun>,
}

/// What a signal stopped.
#[derive(Debug, Clone, Serialize)]
pub struct InterruptedRun {
    /// `SIGINT` or `SIGTERM`.
    pub signal: Signal,
    /// Calls sent and never answered when the run stopped waiting: AWS may or may not have
    /// carried them out; the next run finds out (their client tokens make a repeat harmless).
    pub in_flight: Vec<InFlightCall>,
}

/// A call in flight when a run stopped.
#[derive(Debug, Clone, Serialize)]
pub struct InFlightCall {
    /// `CreateGrant`, `CreateGrantVersion`, `DeleteGrant`, `AcceptGrant`.
    pub operation: String,
    /// The phase of its change.
    pub phase: String,
    /// The grant's principal.
    pub principal_arn: String,
    /// The grant, when it existed before the call.
    pub grant_arn: Option<String>,
    /// The ClientToken sent, if the operation takes one.
    pub client_token: Option<String>,
}

impl InterruptedRun {
    /// The report of an executor's interruption.
    pub fn new(interruption: &Interruption) -> Self {
        Self {
            signal: interruption.signal,
            in_flight: interruption
                .in_flight
                .iter()
                .map(|call| InFlightCall {
                    operation: call.operation.clone(),
                    phase: call.phase.clone(),
                    principal_arn: call.principal.clone(),
                    grant_arn: call.grant_arn.clone(),
                    client_token: call.client_token.clone(),
                })
                .collect(),
        }
    }
}

/// One change's outcome.
#[derive(Debug, Serialize)]
pub struct ChangeReport {
    /// Its phase.
    pub phase: String,
    /// The principal, spelt as the plan document spells it (`kind`, `id`, `arn`).
    pub principal: Principal,
    /// The principal's ARN.
    pub principal_arn: String,
    /// The principal's name (account or OU name).
    pub principal_name: String,
    /// Where it sits: OU path from the root (empty at the root).
    pub principal_path: String,
    /// The planned action, spelt as the plan document spells it (`update_operations`).
    pub action: Action,
    /// `done`, `waiting` (not failed, but still distributing, awaiting the account's acceptance
    /// or being deleted: a later run picks it up), `failed` or `skipped`.
    pub outcome: &'static str,
    /// What was done, what it waits for, why it failed, or why it was skipped.
    pub detail: String,
    /// What a person can do about a failure, where entitle knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The grant, when known.
    pub grant_arn: Option<String>,
    /// Its status after the last call, when known.
    pub grant_status: Option<String>,
    /// The AWS error code of a failure.
    pub error_code: Option<String>,
    /// The request id of a failure.
    pub request_id: Option<String>,
}

impl ChangeReport {
    /// For people: name and path.
    pub fn principal_text(&self) -> String {
        if self.principal_path.is_empty() {
            self.principal_name.clone()
        } else {
            format!("{} ({})", self.principal_name, self.principal_path)
        }
    }
}

fn zero_totals() -> BTreeMap<&'static str, usize> {
    BTreeMap::from([("done", 0), ("waiting", 0), ("failed", 0), ("skipped", 0)])
}

impl ChangeOutcomes {
    /// Nothing ran.
    pub fn none() -> Self {
        Self {
            changes: Vec::new(),
            totals: zero_totals(),
            calls: CallCounts::default(),
            interrupted: None,
        }
    }

    /// The outcomes of a finished run, in the plan's order.
    pub fn new(plan: &Plan, results: &[ChangeResult], calls: CallCounts) -> Self {
        let order = |result: &ChangeResult| {
            plan.changes.iter().position(|change| {
                change.principal_arn == result.change.principal_arn
                    && change.action == result.change.action
            })
        };
        let mut sorted: Vec<&ChangeResult> = results.iter().collect();
        sorted.sort_by_key(|result| order(result));
        let mut totals = zero_totals();
        let changes = sorted
            .into_iter()
            .map(|result| {
                let change = &result.change;
                let mut report = ChangeReport {
                    phase: change.phase.clone(),
                    principal: change.principal.clone(),
                    principal_arn: change.principal_arn.clone(),
                    principal_name: change.principal_name.clone(),
                    principal_path: change.principal_path.clone(),
                    action: change.action,
                    outcome: "done",
                    detail: String::new(),
                    hint: None,
                    grant_arn: None,
                    grant_status: None,
                    error_code: None,
                    request_id: None,
                };
                match &result.outcome {
                    Outcome::Done { what, grant } => {
                        report.detail = what.clone();
                        report.grant_arn = Some(grant.grant_arn.clone());
                        report.grant_status = Some(grant.status.as_str().to_owned());
                    }
                    Outcome::Waiting { what, grant } => {
                        report.outcome = "waiting";
                        report.detail = what.clone();
                        if !grant.grant_arn.is_empty() {
                            report.grant_arn = Some(grant.grant_arn.clone());
                            report.grant_status = Some(grant.status.as_str().to_owned());
                        }
                    }
                    Outcome::Failed { step, error, hint } => {
                        report.outcome = "failed";
                        report.detail = format!("{step}: {error}");
                        report.hint = hint.clone();
                        report.error_code = error.code.clone();
                        report.request_id = error.request_id.clone();
                    }
                    Outcome::Skipped { why } => {
                        report.outcome = "skipped";
                        report.detail = why.clone();
                    }
                }
                *totals.entry(report.outcome).or_default() += 1;
                report
            })
            .collect();
        Self {
            changes,
            totals,
            calls,
            interrupted: None,
        }
    }

    /// Marks the outcomes as stopped by a signal.
    #[must_use]
    pub fn interrupted(mut self, interruption: Option<&Interruption>) -> Self {
        self.interrupted = interruption.map(InterruptedRun::new);
        self
    }
}

impl ApplyReport {
    /// The report of a finished apply (or one a signal stopped), in the plan's order.
    pub fn new(
        plan: &Plan,
        results: &[ChangeResult],
        calls: CallCounts,
        interruption: Option<&Interruption>,
    ) -> Self {
        let status = if interruption.is_some() {
            ApplyStatus::Interrupted
        } else {
            ApplyStatus::Applied
        };
        Self::of(
            plan,
            status,
            None,
            ChangeOutcomes::new(plan, results, calls).interrupted(interruption),
        )
    }

    /// The report of an apply that called nothing: no changes to make, or (`held`) the phase
    /// asked for is held back by a gate.
    pub fn nothing_ran(plan: &Plan, held: Option<HeldPhase>) -> Self {
        let status = if held.is_some() {
            ApplyStatus::Held
        } else {
            ApplyStatus::NoChanges
        };
        Self::of(plan, status, held, ChangeOutcomes::none())
    }

    fn of(
        plan: &Plan,
        status: ApplyStatus,
        held: Option<HeldPhase>,
        outcomes: ChangeOutcomes,
    ) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            kind: "apply",
            rollout: plan.rollout.clone(),
            license_arn: plan.license_arn.clone(),
            status,
            held,
            phase_limit: plan.phase_limit.clone(),
            phases: plan.phases.clone(),
            outcomes,
        }
    }
}

/// What the calls added up to: retries are said to have been made, not to have succeeded (a
/// change whose retries ran out is listed as failed above).
fn calls_line(calls: &CallCounts, failed_changes: usize) -> String {
    let sent = super::counted(
        usize::try_from(calls.calls).unwrap_or(usize::MAX),
        "License Manager call",
    );
    if calls.throttled == 0 && calls.retried == 0 {
        return format!("{sent}, none throttled or failed.");
    }
    let outlasted = if failed_changes > 0 {
        " (a failed change above ran out of retries)"
    } else {
        ""
    };
    format!(
        "{sent}: {} throttled and {} failed transiently, each retried{outlasted}.",
        calls.throttled, calls.retried
    )
}

/// The table and a one-line summary.
pub fn render_human(report: &ChangeOutcomes, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    for change in &report.changes {
        let mark = match change.outcome {
            "done" => style.good("done   "),
            "waiting" => style.warning("waiting"),
            "failed" => style.bad("failed "),
            _ => style.dim("skipped"),
        };
        writeln!(
            out,
            "  {mark}  {:<10} {:<40} {}",
            change.phase,
            change.principal_text(),
            change.detail
        )?;
        if let Some(hint) = &change.hint {
            writeln!(out, "           hint: {hint}")?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        style.dim(calls_line(&report.calls, report.totals["failed"]))
    )?;
    writeln!(
        out,
        "{}",
        style.bold(format!(
            "Apply: {} done, {} failed, {} skipped.",
            report.totals["done"], report.totals["failed"], report.totals["skipped"]
        ))
    )?;
    if report.totals["waiting"] > 0 {
        writeln!(
            out,
            "{}",
            style.warning(format!(
                "{} waiting on AWS or an account (not failed): run apply again later to finish them.",
                super::counted(report.totals["waiting"], "change")
            ))
        )?;
    }
    Ok(())
}

/// What a signal stopped, on stderr for people (stdout has the table): the counts, and each call
/// in flight that never came back.
pub fn render_interrupted(printer: &super::Printer, outcomes: &ChangeOutcomes) {
    let Some(interrupted) = &outcomes.interrupted else {
        return;
    };
    let style = &printer.err_style;
    let mut err = io::stderr().lock();
    let _ = writeln!(
        err,
        "{} {} stopped the run: {} done, {} failed, {} waiting, {} not started.",
        style.warning("interrupted:"),
        interrupted.signal,
        outcomes.totals["done"],
        outcomes.totals["failed"],
        outcomes.totals["waiting"],
        outcomes.totals["skipped"]
    );
    if interrupted.in_flight.is_empty() {
        let _ = writeln!(
            err,
            "  no call was left in flight: every call sent was answered and journalled."
        );
    }
    for call in &interrupted.in_flight {
        let _ = writeln!(
            err,
            "  in flight, never answered: {} for {} (token {})",
            call.operation,
            call.principal_arn,
            call.client_token.as_deref().unwrap_or("none")
        );
    }
    let _ = err.flush();
}

/// Shows the plan an `--auto-approve` run is about to carry out when stdout is not a terminal (a
/// CI log), so the log says what was approved before what was done: as the plan shown before a
/// confirmation (on stderr under `--output json`). On a terminal the progress bar and the report
/// say it.
pub fn show_approved_plan(printer: &super::Printer, plan: &Plan) -> io::Result<()> {
    if io::IsTerminal::is_terminal(&io::stdout()) {
        return Ok(());
    }
    super::plan::show_before_confirming(printer, plan)
}

/// The line a person sees as soon as a signal asks a run to stop.
pub fn stopping(signal: &str) {
    eprintln!(
        "\n{signal} received: stopping; no new call starts, and the calls in flight get a few seconds to come back (again to exit at once)"
    );
}

/// The one line of a process ending at once on a signal: a second Ctrl-C, or one before any
/// change was under way.
pub fn exiting_at_once(signal: &str, during_run: bool) {
    if during_run {
        eprintln!(
            "\ninterrupted by a second {signal}: exiting at once without waiting for the calls in flight; the journal has every call sent, and the next run plans again from what AWS shows"
        );
    } else {
        eprintln!("\ninterrupted by {signal}: no change was under way");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calls_line_never_claims_a_retry_succeeded() {
        let quiet = CallCounts {
            calls: 1,
            throttled: 0,
            retried: 0,
        };
        assert_eq!(
            calls_line(&quiet, 0),
            "1 License Manager call, none throttled or failed."
        );
        let busy = CallCounts {
            calls: 33,
            throttled: 2,
            retried: 1,
        };
        assert_eq!(
            calls_line(&busy, 0),
            "33 License Manager calls: 2 throttled and 1 failed transiently, each retried."
        );
        assert!(calls_line(&busy, 1).ends_with("(a failed change above ran out of retries)."));
    }
}
