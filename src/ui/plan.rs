//! Rendering of `entitle plan`: Terraform-like text grouped by phase for people, and a versioned
//! JSON document (every change with its reason) for scripts.

use std::io::{self, Write};

use serde::Serialize;

use super::{FORMAT_VERSION, Style};
use crate::model::plan::{PlanFileErrors, format_duration};
use crate::model::{
    Principal,
    grant::{GrantStatus, Operation},
};
use crate::planner::{Action, Change, Plan, SkipReason};

/// The JSON document of `entitle plan --output json`.
#[derive(Debug, Serialize)]
pub struct PlanDocument<'a> {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// `plan`: what document this is (docs/schema/plan.schema.json).
    pub kind: &'static str,
    /// The plan, changes in a stable order, each with its reason.
    #[serde(flatten)]
    pub plan: &'a Plan,
}

impl<'a> PlanDocument<'a> {
    /// Wraps a plan.
    pub fn new(plan: &'a Plan) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            kind: "plan",
            plan,
        }
    }
}

/// Shows the plan a person is about to confirm: on stdout for people; under `--output json` on
/// stderr as text, so that stdout carries one document (the command's report) whatever happens.
pub fn show_before_confirming(printer: &super::Printer, plan: &Plan) -> io::Result<()> {
    match printer.format {
        crate::cli::OutputFormat::Human => printer.result(&PlanDocument::new(plan), |out| {
            render_human(plan, &printer.style, out)
        }),
        crate::cli::OutputFormat::Json => {
            let mut err = io::stderr().lock();
            render_human(plan, &printer.err_style, &mut err)?;
            err.flush()
        }
    }
}

fn principal_text(change: &Change) -> String {
    match &change.principal {
        Principal::Organization { id, .. } => format!("organization {id} (every account)"),
        Principal::Ou { id, .. } => {
            let path = if change.principal_path.is_empty() {
                change.principal_name.clone()
            } else {
                change.principal_path.clone()
            };
            format!(
                "OU {path} ({id}, {})",
                super::counted(change.accounts, "account")
            )
        }
        Principal::Account { id, .. } => {
            let place = if change.principal_path.is_empty() {
                "root".to_owned()
            } else {
                change.principal_path.clone()
            };
            if change.principal_name.is_empty() {
                format!("account {id} ({place})")
            } else {
                format!("account {} {id} ({place})", change.principal_name)
            }
        }
    }
}

fn action_word(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Activate => "activate",
        Action::UpdateOperations => "update operations",
        Action::Recreate => "recreate",
        Action::Delete => "delete",
        Action::NoOp => "unchanged",
    }
}

fn operations_text(operations: &std::collections::BTreeSet<Operation>) -> String {
    operations
        .iter()
        .map(Operation::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn paint(style: &Style, action: Action, text: &str) -> String {
    match action {
        Action::Create => style.good(text),
        Action::Delete | Action::Recreate => style.bad(text),
        Action::Activate | Action::UpdateOperations => style.warning(text),
        Action::NoOp => style.dim(text),
    }
}

/// The one-line summary: `Plan: 3 to create, 1 to activate, 0 to update, 0 to delete.`
pub fn summary_line(plan: &Plan) -> String {
    let summary = &plan.summary;
    if !plan.has_changes() && summary.blocked == 0 {
        return format!(
            "No changes. The grants of `{}` match the plan ({} unchanged).",
            plan.rollout, summary.unchanged
        );
    }
    let mut line = format!(
        "Plan: {} to create, {} to activate, {} to update, {} to delete.",
        summary.create, summary.activate, summary.update, summary.delete
    );
    if summary.blocked > 0 {
        line.push_str(&format!(" {} more blocked by gates.", summary.blocked));
    }
    line
}

/// Writes the plan for people.
pub fn render_human(plan: &Plan, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Rollout {} of {} ({})",
        style.bold(&plan.rollout),
        plan.product_name,
        plan.product_sku
    )?;
    writeln!(out, "  license    {}", plan.license_arn)?;
    writeln!(out, "  operations {}", operations_text(&plan.operations))?;
    if let Some(limit) = &plan.phase_limit {
        writeln!(out, "  phases     up to `{limit}` (--phase)")?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Symbols: {} create, {} update or activate, {} delete, {} recreate",
        style.good("+"),
        style.warning("~"),
        style.bad("-"),
        style.bad("-/+")
    )?;
    let mut groups: Vec<&str> = plan
        .phases
        .iter()
        .map(|phase| phase.name.as_str())
        .collect();
    for change in &plan.changes {
        if !groups.contains(&change.phase.as_str()) {
            groups.push(&change.phase);
        }
    }
    for group in groups {
        let phase = plan.phases.iter().find(|phase| phase.name == group);
        let changes: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|change| change.phase == group)
            .collect();
        writeln!(out)?;
        match phase {
            Some(phase) => {
                let mut heading = format!(
                    "Phase {}: {} targeted, {} active",
                    style.bold(&phase.name),
                    super::counted(phase.targeted, "account"),
                    phase.active
                );
                // Tearing down waits for no gate: none is shown.
                if let Some(gate) = phase.gate.as_ref().filter(|_| !plan.destroy) {
                    heading.push_str(&format!(
                        "; gate {}% active, bake {}",
                        gate.min_active_percent,
                        format_duration(gate.bake_seconds)
                    ));
                }
                writeln!(out, "{heading}")?;
                if !phase.included {
                    writeln!(
                        out,
                        "  {}",
                        style.dim("not planned: after the --phase limit")
                    )?;
                    continue;
                }
                if let Some(blocked) = &phase.blocked {
                    writeln!(out, "  {} {blocked}", style.warning("blocked:"))?;
                }
            }
            None => writeln!(
                out,
                "Grants of phase {} (no longer in the plan)",
                style.bold(group)
            )?,
        }
        let mut unchanged = 0;
        for change in &changes {
            if change.action == Action::NoOp {
                // A grant waiting on AWS or on its account is shown with what it waits for.
                let waiting = change.before.as_ref().is_some_and(|before| {
                    matches!(
                        before.status,
                        GrantStatus::PendingAccept | GrantStatus::PendingWorkflow
                    )
                });
                if waiting {
                    writeln!(out, "  {} {}", style.warning("  …"), principal_text(change))?;
                    writeln!(out, "        waiting: {}", change.reason)?;
                } else {
                    unchanged += 1;
                }
                continue;
            }
            let symbol = format!("{:>3}", change.action.symbol());
            let blocked = if change.blocked { " (blocked)" } else { "" };
            writeln!(
                out,
                "  {} {}{}",
                paint(style, change.action, &symbol),
                principal_text(change),
                style.dim(blocked)
            )?;
            writeln!(
                out,
                "        {}: {}",
                action_word(change.action),
                change.reason
            )?;
            if let (Some(before), Some(after)) = (&change.before, &change.after)
                && change.action != Action::Recreate
            {
                if before.status != after.status {
                    writeln!(out, "        status {} -> {}", before.status, after.status)?;
                }
                if before.operations != after.operations {
                    writeln!(
                        out,
                        "        operations [{}] -> [{}]",
                        operations_text(&before.operations),
                        operations_text(&after.operations)
                    )?;
                }
            }
        }
        if unchanged > 0 {
            writeln!(
                out,
                "  {}",
                style.dim(format!(
                    "{unchanged} grant{} unchanged",
                    if unchanged == 1 { "" } else { "s" }
                ))
            )?;
        }
        if let Some(phase) = phase
            && !phase.skipped.is_empty()
        {
            for skipped in &phase.skipped {
                let why = match &skipped.reason {
                    SkipReason::Management => "management account, holds the license".to_owned(),
                    SkipReason::Inactive(state) => format!("{state}, not granted"),
                };
                writeln!(
                    out,
                    "  {} {} skipped: {why}",
                    style.dim("!"),
                    skipped.account
                )?;
            }
        }
    }
    if !plan.unowned.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Grants of this license not owned by `{}` (shown, never touched):",
            plan.rollout
        )?;
        for grant in &plan.unowned {
            let owner = grant
                .owner
                .as_ref()
                .map(|owner| format!(", rollout `{owner}`"))
                .unwrap_or_default();
            writeln!(
                out,
                "  = {} -> {} ({}{owner})",
                grant.name, grant.principal_arn, grant.status
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", style.bold(summary_line(plan)))?;
    Ok(())
}

/// Writes plan-file problems like rustc: `error: ...`, `  --> file:line:col`, `  hint: ...`.
pub fn render_diagnostics(
    errors: &PlanFileErrors,
    style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    for diagnostic in errors.diagnostics.iter().take(DIAGNOSTICS_SHOWN) {
        writeln!(out, "{} {}", style.error("error:"), diagnostic.message)?;
        if let Some(location) = &diagnostic.location {
            writeln!(out, "  {} {location}", style.dim("-->"))?;
        }
        if let Some(hint) = &diagnostic.hint {
            writeln!(out, "  {} {hint}", style.hint("hint:"))?;
        }
    }
    let count = errors.diagnostics.len();
    // A generated or binary file can hold thousands: the first ones say what is wrong.
    let shown = if count > DIAGNOSTICS_SHOWN {
        format!(" (the first {DIAGNOSTICS_SHOWN} shown)")
    } else {
        String::new()
    };
    writeln!(
        out,
        "{}",
        style.bold(format!(
            "{count} problem{} in the plan file{shown}",
            if count == 1 { "" } else { "s" }
        ))
    )?;
    Ok(())
}

/// The most plan-file problems printed; the count says how many there are in all.
pub const DIAGNOSTICS_SHOWN: usize = 200;
