//! `entitle apply`: plan (or load a saved plan and refuse it if stale), show the plan, confirm,
//! carry it out, and report every change's outcome.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};

use super::plan::{observe, read_plan, unix_now};
use super::{Context, NoTerminal};
use crate::apply::executor::{ApplyOptions, Outcome as ChangeOutcome, execute};
use crate::cli::ApplyArgs;
use crate::exit::Outcome;
use crate::planner::{GateFacts, Plan, PlanError, PlanOptions, SavedPlan, fingerprint};
use crate::ui::{self, apply::ApplyReport, plan::PlanDocument, progress::ApplyProgress};

/// Applies a rollout plan or a saved plan.
pub async fn run(context: &Context, args: &ApplyArgs) -> anyhow::Result<Outcome> {
    let clients = context.clients().await;
    let plan = match load_saved(&args.plan)? {
        Some(saved) => {
            let rollout = read_plan(context, Path::new(&saved.plan_file))
                .with_context(|| format!("the saved plan was made from `{}`", saved.plan_file))?;
            let (discovery, observed) = observe(context, &clients, &rollout).await?;
            saved.check_fresh(
                Some(&rollout.sha256),
                &fingerprint(&discovery.tree, &observed),
            )?;
            saved.plan
        }
        None => {
            let rollout = read_plan(context, &args.plan)?;
            let (discovery, observed) = observe(context, &clients, &rollout).await?;
            let options = PlanOptions {
                phase: args.phase.clone(),
                now: unix_now(),
                gate_facts: GateFacts::default(),
            };
            match crate::planner::plan(&rollout, &discovery.tree, &observed, &options) {
                Ok(plan) => plan,
                Err(PlanError::PlanFile(errors)) => {
                    context.printer.diagnostics(&errors);
                    return Err(super::Reported.into());
                }
                Err(other) => return Err(other.into()),
            }
        }
    };
    let printer = &context.printer;
    if !plan.has_changes() {
        printer.result(&PlanDocument::new(&plan), |out| {
            ui::plan::render_human(&plan, &printer.style, out)
        })?;
        return Ok(Outcome::Success);
    }
    if !args.auto_approve {
        printer.result(&PlanDocument::new(&plan), |out| {
            ui::plan::render_human(&plan, &printer.style, out)
        })?;
        confirm(&plan)?;
    }
    let progress = Arc::new(ApplyProgress::new(printer, applicable(&plan)));
    let options = ApplyOptions {
        concurrency: usize::from(args.concurrency),
        ..ApplyOptions::default()
    };
    let results = execute(&clients, &plan, &options, progress.clone()).await;
    progress.finish();
    let report = ApplyReport::new(&plan, &results);
    printer.result(&report, |out| {
        ui::apply::render_human(&report, &printer.style, out)
    })?;
    let failed = results
        .iter()
        .any(|result| matches!(result.outcome, ChangeOutcome::Failed { .. }));
    Ok(if failed {
        Outcome::PartialFailure
    } else {
        Outcome::Success
    })
}

/// Changes the executor will attempt.
fn applicable(plan: &Plan) -> usize {
    plan.changes
        .iter()
        .filter(|change| change.action != crate::planner::Action::NoOp && !change.blocked)
        .count()
}

/// A saved plan, if the file is one (JSON with a `format_version`); `None` for a rollout plan.
fn load_saved(path: &Path) -> anyhow::Result<Option<SavedPlan>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read `{}`", path.display()))?;
    if !text.trim_start().starts_with('{') {
        return Ok(None);
    }
    let saved: SavedPlan = serde_json::from_str(&text).with_context(|| {
        format!(
            "`{}` is not a plan saved by `entitle plan --out`",
            path.display()
        )
    })?;
    Ok(Some(saved))
}

/// Asks on the terminal; refuses without one.
fn confirm(plan: &Plan) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(NoTerminal.into());
    }
    let question = format!(
        "Apply these changes to rollout `{}`? Only `yes` goes on: ",
        plan.rollout
    );
    if ui::ask(&question)?.trim() != "yes" {
        bail!("apply cancelled: nothing was changed");
    }
    Ok(())
}
