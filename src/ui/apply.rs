//! Rendering of `entitle apply`'s outcome: a table of what was done, failed or skipped.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::{FORMAT_VERSION, Style};
use crate::apply::executor::{CallCounts, ChangeResult, Outcome};
use crate::planner::{Action, Plan};

/// The JSON document of `entitle apply --output json`.
#[derive(Debug, Serialize)]
pub struct ApplyReport {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// The rollout.
    pub rollout: String,
    /// The license distributed.
    pub license_arn: String,
    /// Every change attempted or skipped, in plan order.
    pub changes: Vec<ChangeReport>,
    /// Counts per outcome (`done`, `waiting`, `failed`, `skipped`).
    pub totals: BTreeMap<&'static str, usize>,
    /// License Manager calls sent, throttled and retried: throttles are absorbed (the rate
    /// limiter slows down and the call is repeated), they fail nothing.
    pub calls: CallCounts,
}

/// One change's outcome.
#[derive(Debug, Serialize)]
pub struct ChangeReport {
    /// Its phase.
    pub phase: String,
    /// The principal's ARN.
    pub principal_arn: String,
    /// For people: name and path.
    pub principal: String,
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

impl ApplyReport {
    /// The report of a finished apply, in the plan's order.
    pub fn new(plan: &Plan, results: &[ChangeResult], calls: CallCounts) -> Self {
        let order = |result: &ChangeResult| {
            plan.changes.iter().position(|change| {
                change.principal_arn == result.change.principal_arn
                    && change.action == result.change.action
            })
        };
        let mut sorted: Vec<&ChangeResult> = results.iter().collect();
        sorted.sort_by_key(|result| order(result));
        let mut totals =
            BTreeMap::from([("done", 0), ("waiting", 0), ("failed", 0), ("skipped", 0)]);
        let changes = sorted
            .into_iter()
            .map(|result| {
                let change = &result.change;
                let principal = if change.principal_path.is_empty() {
                    change.principal_name.clone()
                } else {
                    format!("{} ({})", change.principal_name, change.principal_path)
                };
                let mut report = ChangeReport {
                    phase: change.phase.clone(),
                    principal_arn: change.principal_arn.clone(),
                    principal,
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
            format_version: FORMAT_VERSION,
            rollout: plan.rollout.clone(),
            license_arn: plan.license_arn.clone(),
            changes,
            totals,
            calls,
        }
    }
}

/// The table and a one-line summary.
pub fn render_human(report: &ApplyReport, style: &Style, out: &mut dyn Write) -> io::Result<()> {
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
            change.phase, change.principal, change.detail
        )?;
        if let Some(hint) = &change.hint {
            writeln!(out, "           hint: {hint}")?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        style.dim(format!(
            "{} License Manager calls, {} throttled and {} failed transiently (all retried).",
            report.calls.calls, report.calls.throttled, report.calls.retried
        ))
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
                "{} change(s) waiting on AWS or an account (not failed): run apply again later to finish them.",
                report.totals["waiting"]
            ))
        )?;
    }
    Ok(())
}
