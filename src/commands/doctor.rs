//! `entitle doctor`: checks the prerequisites of a rollout and says how to fix what fails.
//!
//! Glue: the organisation's reads come from `aws::prerequisites::organization_reads` (the same
//! ones `apply::prechecks` makes), the plan's are made here; a failed read becomes a fact, not an
//! error. The verdicts come from `planner::doctor::diagnose`, and `ui::doctor` prints them.

use std::path::Path;

use super::Context;
use super::observe::unix_now;
use crate::aws::organizations::{DiscoverError, DiscoverOptions, NoProgress, discover};
use crate::aws::{AwsClients, AwsError, license_manager, marketplace, prerequisites};
use crate::cli::DoctorArgs;
use crate::exit::{Outcome, aws_hint};
use crate::model::doctor::{Read, ReadFailure};
use crate::model::plan::{EntitlementSelector, RolloutPlan, parse_plan};
use crate::planner::doctor::{PlanFacts, diagnose};
use crate::planner::entitlement::choose_license;
use crate::ui::doctor::{DoctorDocument, render_human};

/// A check failed: exit 1 without another message (the report said it all).
#[derive(Debug, thiserror::Error)]
#[error("doctor found problems that block a rollout")]
pub struct ChecksFailed;

/// Runs every check.
pub async fn run(context: &Context, args: &DoctorArgs) -> anyhow::Result<Outcome> {
    let clients = context.clients().await;
    let facts = prerequisites::organization_reads(&clients)
        .await
        .facts(aws_hint);
    let plan = match &args.plan {
        Some(path) if matches!(facts.caller, Some(Ok(_))) => {
            Some(plan_facts(context, &clients, path).await)
        }
        Some(path) => Some(PlanFacts {
            file: path.display().to_string(),
            ..PlanFacts::default()
        }),
        None => None,
    };
    let report = diagnose(&facts, plan.as_ref());
    let printer = &context.printer;
    let document = DoctorDocument::new(&report, args.plan.as_deref());
    printer.result(&document, |out| render_human(&report, &printer.style, out))?;
    if report.has_failures() {
        return Err(ChecksFailed.into());
    }
    Ok(Outcome::Success)
}

fn read<T>(result: Result<T, AwsError>) -> Read<T> {
    prerequisites::read(result, aws_hint)
}

fn discover_failure(error: &DiscoverError) -> ReadFailure {
    prerequisites::discover_failure(error, aws_hint)
}

/// Reads the plan, then what its checks need; stops reading where a check it depends on failed.
async fn plan_facts(context: &Context, clients: &AwsClients, path: &Path) -> PlanFacts {
    let mut facts = PlanFacts {
        file: path.display().to_string(),
        now: unix_now(),
        ..PlanFacts::default()
    };
    let rollout = match read_plan(context, path) {
        Ok(rollout) => rollout,
        Err(problem) => {
            facts.rollout = Some(Err(problem));
            return facts;
        }
    };
    let needs_tags = rollout.phases.iter().any(|phase| !phase.tags.is_empty());
    let options = DiscoverOptions {
        tags: needs_tags,
        ..DiscoverOptions::default()
    };
    let (tree, licenses) = tokio::join!(
        discover(clients, &options, &NoProgress),
        license_manager::marketplace_licenses(clients),
    );
    facts.tree = Some(
        tree.map(|discovery| discovery.tree)
            .map_err(|error| discover_failure(&error)),
    );
    facts.licenses = Some(read(licenses));
    if let EntitlementSelector::Agreement(id) = &rollout.entitlement.selector {
        facts.named_agreement = Some(read(marketplace::agreement(clients, id).await));
    }
    let license = match (&facts.licenses, &facts.named_agreement) {
        (Some(Ok(licenses)), agreement) => choose_license(
            &rollout.entitlement.selector,
            licenses,
            agreement
                .as_ref()
                .and_then(|agreement| agreement.as_ref().ok()),
        )
        .ok(),
        _ => None,
    };
    if let Some(license) = license {
        let (agreements, grants, organization_licenses) = tokio::join!(
            prerequisites::agreements_for_product(clients, &license.product_sku),
            license_manager::distributed_grants(clients, &license.arn, 8),
            prerequisites::organization_licenses(clients, &license.product_sku),
        );
        facts.agreements = Some(read(agreements));
        facts.grants = Some(read(grants));
        facts.organization_licenses = Some(read(organization_licenses));
    }
    facts.rollout = Some(Ok(rollout));
    facts
}

/// Reads and parses the plan; its problems go to stderr as diagnostics, and come back as one
/// sentence for the report.
fn read_plan(context: &Context, path: &Path) -> Result<RolloutPlan, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("could not read `{}`: {error}", path.display()))?;
    parse_plan(&text, &path.display().to_string()).map_err(|errors| {
        context.printer.diagnostics(&errors);
        let count = errors.diagnostics.len();
        let first = errors
            .diagnostics
            .first()
            .map(|diagnostic| match &diagnostic.location {
                Some(location) => format!("{location}: {}", diagnostic.message),
                None => diagnostic.message.clone(),
            })
            .unwrap_or_default();
        format!(
            "{count} problem{} in the plan file, the first: {first}",
            if count == 1 { "" } else { "s" }
        )
    })
}
