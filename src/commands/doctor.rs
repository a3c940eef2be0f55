//! `entitle doctor`: checks the prerequisites of a rollout and says how to fix what fails; with
//! `--fix`, fixes what the management account can (after a typed confirmation), journals each
//! change, and checks again.
//!
//! Glue: the organisation's reads come from `aws::prerequisites::organization_reads` (the same
//! ones `apply::prechecks` makes), the plan's are made here, the use-case form, service-linked
//! roles and member role come from `aws::prerequisites`; a failed read becomes a fact, not an
//! error. The verdicts come from `planner::doctor::diagnose`, the fixes from
//! `planner::doctor::fix::plan_fixes`, the writes from `aws::fixes`, and `ui::doctor` prints.

use std::path::Path;

use anyhow::{Context as _, bail};

use super::confirm::{self, Changes};
use super::observe::unix_now;
use super::{Context, rollout_journal};
use crate::apply::journal::{Call, CallOutcome, Event, Journal};
use crate::aws::organizations::{DiscoverError, DiscoverOptions, NoProgress, discover};
use crate::aws::{
    AwsClients, AwsError, fixes, license_manager, marketplace, member, prerequisites,
};
use crate::cli::DoctorArgs;
use crate::exit::{Outcome, aws_hint};
use crate::model::doctor::{MemberRoleProbe, PrerequisiteFacts, Read, ReadFailure};
use crate::model::plan::{EntitlementSelector, RolloutPlan, parse_plan};
use crate::model::{AccountId, OrgTree};
use crate::planner::doctor::fix::{Fix, FixPlan, plan_fixes};
use crate::planner::doctor::{MEMBER_ROLE_SAMPLE, PlanFacts, diagnose, sample_member_accounts};
use crate::planner::entitlement::choose_license;
use crate::ui::doctor::{DoctorDocument, FixDocument, FixOutcome, render_fix_plan, render_human};

/// A check failed: exit 1 without another message (the report said it all).
#[derive(Debug, thiserror::Error)]
#[error("doctor found problems that block a rollout")]
pub struct ChecksFailed;

/// The journal's name for `doctor --fix` runs without a plan: one per organisation, beside
/// `cleanup`'s.
const FIX_JOURNAL: &str = "doctor";

/// Runs every check, and with `--fix` fixes what it can and checks again.
pub async fn run(context: &Context, args: &DoctorArgs) -> anyhow::Result<Outcome> {
    let delegated_admin = args
        .delegated_admin
        .as_deref()
        .map(|account| {
            AccountId::parse(account).map_err(|_| {
                anyhow::anyhow!("`--delegated-admin {account}` is not an account id (12 digits)")
            })
        })
        .transpose()?;
    let clients = context.clients().await;
    let (facts, plan) = gather(context, &clients, args).await;
    let report = diagnose(&facts, plan.as_ref());
    let printer = &context.printer;
    if !args.fix {
        let document = DoctorDocument::new(&report, args.plan.as_deref());
        printer.result(&document, |out| render_human(&report, &printer.style, out))?;
        return if report.has_failures() {
            Err(ChecksFailed.into())
        } else {
            Ok(Outcome::Success)
        };
    }

    let admins = match (&delegated_admin, &facts.organization) {
        (Some(account), Some(Ok(organization))) => {
            if *account == organization.management_account {
                bail!(
                    "`--delegated-admin {account}` is the management account, which cannot be its own delegated \
                     administrator"
                );
            }
            prerequisites::license_manager_administrators(&clients)
                .await
                .ok()
        }
        _ => None,
    };
    let fix_plan = plan_fixes(&facts, &report, delegated_admin.as_ref(), admins.as_ref());
    render_fix_plan(printer, &report, &fix_plan)?;
    let mut outcomes = Vec::new();
    let mut journal_at = None;
    if !fix_plan.fixes.is_empty() {
        if !args.auto_approve {
            let count = fix_plan.fixes.len();
            confirm::typed(
                Changes::Other("change the organisation's prerequisites"),
                &format!(
                    "Make {count} change{} to the organisation? Only `yes` goes on: ",
                    if count == 1 { "" } else { "s" }
                ),
                "yes",
                "doctor --fix cancelled: nothing was changed",
            )?;
        }
        let (outcome, location) = apply_fixes(context, &clients, &facts, &plan, &fix_plan).await?;
        outcomes = outcome;
        journal_at = Some(location);
    }

    // The checks again, on what AWS says now.
    let (after, plan_after) = if outcomes.is_empty() {
        (facts, plan)
    } else {
        gather(context, &clients, args).await
    };
    let report_after = diagnose(&after, plan_after.as_ref());
    let fix_document = FixDocument {
        fixes: outcomes,
        not_fixed: fix_plan.not_fixed.clone(),
        blocked: fix_plan.blocked.clone(),
        feature_set_note: fix_plan.feature_set_note.clone(),
        journal: journal_at,
    };
    let document = DoctorDocument::new(&report_after, args.plan.as_deref()).with_fix(&fix_document);
    printer.result(&document, |out| {
        crate::ui::doctor::render_fixed(&fix_document, &printer.style, out)?;
        render_human(&report_after, &printer.style, out)
    })?;
    let any_failed = fix_document.fixes.iter().any(|fix| fix.error.is_some());
    if report_after.has_failures() || any_failed {
        return Err(ChecksFailed.into());
    }
    Ok(Outcome::Success)
}

/// Every fact doctor judges: the organisation's, the plan's, the use-case form and
/// service-linked roles, and the member role tried in a sample of accounts.
async fn gather(
    context: &Context,
    clients: &AwsClients,
    args: &DoctorArgs,
) -> (PrerequisiteFacts, Option<PlanFacts>) {
    let mut facts = prerequisites::organization_reads(clients)
        .await
        .facts(aws_hint);
    let plan = match &args.plan {
        Some(path) if matches!(facts.caller, Some(Ok(_))) => {
            Some(plan_facts(context, clients, path).await)
        }
        Some(path) => Some(PlanFacts {
            file: path.display().to_string(),
            ..PlanFacts::default()
        }),
        None => None,
    };
    prerequisites::access_reads(clients, &mut facts, aws_hint).await;
    let plan_role = plan.as_ref().and_then(|plan| match &plan.rollout {
        Some(Ok(rollout)) => rollout.entitlement.member_role.clone(),
        _ => None,
    });
    if let Some(role) = args.member_role.clone().or(plan_role) {
        let tree = plan.as_ref().and_then(|plan| match &plan.tree {
            Some(Ok(tree)) => Some(tree.clone()),
            _ => None,
        });
        facts.member_role = Some(member_role_probe(clients, &facts, role, tree).await);
    }
    (facts, plan)
}

/// Tries the member role in a few ACTIVE member accounts spread over the OUs.
async fn member_role_probe(
    clients: &AwsClients,
    facts: &PrerequisiteFacts,
    role: String,
    tree: Option<OrgTree>,
) -> MemberRoleProbe {
    let unread = |role| MemberRoleProbe {
        role,
        eligible: None,
        tried: Vec::new(),
    };
    let Some(Ok(caller)) = &facts.caller else {
        return unread(role);
    };
    let tree = match tree {
        Some(tree) => tree,
        None => {
            let options = DiscoverOptions {
                tags: false,
                ..DiscoverOptions::default()
            };
            match discover(clients, &options, &NoProgress).await {
                Ok(discovery) => discovery.tree,
                Err(_) => return unread(role),
            }
        }
    };
    let partition = member::partition_of(&caller.arn)
        .unwrap_or(tree.partition())
        .to_owned();
    let (eligible, sample) = sample_member_accounts(&tree, MEMBER_ROLE_SAMPLE);
    let tried =
        prerequisites::member_role_attempts(clients, &partition, &role, &sample, aws_hint).await;
    MemberRoleProbe {
        role,
        eligible: Some(eligible),
        tried,
    }
}

/// Makes each fix in order, journalled (the plan's rollout journal, else the organisation's
/// `doctor` journal), under the journal's lock. Returns each fix's outcome and where the
/// journal is.
async fn apply_fixes(
    context: &Context,
    clients: &AwsClients,
    facts: &PrerequisiteFacts,
    plan: &Option<PlanFacts>,
    fix_plan: &FixPlan,
) -> anyhow::Result<(Vec<FixOutcome>, String)> {
    let Some(Ok(organization)) = &facts.organization else {
        bail!("the organisation could not be read, so nothing was changed");
    };
    let caller = match &facts.caller {
        Some(Ok(caller)) => Some(caller.arn.clone()),
        _ => None,
    };
    let rollout = plan.as_ref().and_then(|plan| match &plan.rollout {
        Some(Ok(rollout)) => Some(rollout),
        _ => None,
    });
    let (name, url) = match rollout {
        Some(rollout) => (rollout.name.as_str(), rollout.journal_url.as_deref()),
        None => (FIX_JOURNAL, None),
    };
    let store =
        rollout_journal::locate(context, clients, organization.id.as_str(), name, url).await?;
    let location = store.describe();
    let run = store.begin("doctor --fix", caller.clone()).await?;
    let fixed = record_fixes(clients, &run.journal, name, caller, fix_plan).await;
    let finished = run.finish().await;
    let outcomes = fixed?;
    finished?;
    Ok((outcomes, location))
}

async fn record_fixes(
    clients: &AwsClients,
    journal: &Journal,
    rollout: &str,
    caller: Option<String>,
    fix_plan: &FixPlan,
) -> anyhow::Result<Vec<FixOutcome>> {
    journal
        .record(Event::RunStarted {
            command: "doctor --fix".to_owned(),
            rollout: rollout.to_owned(),
            phase: None,
            user: crate::apply::journal_store::local_user(),
            caller,
            changes: fix_plan.fixes.len(),
        })
        .context("could not write the journal, so nothing was changed")?;
    let mut outcomes = Vec::new();
    for fix in &fix_plan.fixes {
        let call = Call {
            operation: fix.operation().to_owned(),
            phase: "prerequisites".to_owned(),
            principal: fix.target(),
            client_token: None,
            grant_arn: None,
            attempt: 1,
        };
        journal.record(Event::CallStarted(call.clone()))?;
        let result = make(clients, fix).await;
        let (outcome, request_id, error) = match &result {
            Ok(request_id) => (CallOutcome::Ok, request_id.clone(), None),
            Err(error) => (
                CallOutcome::Failed,
                error.request_id.clone(),
                Some(error.to_string()),
            ),
        };
        journal.record(Event::CallFinished {
            call,
            outcome,
            request_id: request_id.clone(),
            status: None,
            version: None,
            error: error.clone(),
        })?;
        outcomes.push(FixOutcome {
            fix: fix.clone(),
            description: fix.describe(),
            request_id,
            error,
        });
    }
    let failed = outcomes.iter().filter(|fix| fix.error.is_some()).count();
    journal.record(Event::RunFinished {
        done: outcomes.len() - failed,
        failed,
        skipped: 0,
    })?;
    Ok(outcomes)
}

async fn make(clients: &AwsClients, fix: &Fix) -> Result<Option<String>, AwsError> {
    match fix {
        Fix::EnableTrustedAccess { principal } => {
            fixes::enable_service_access(clients, principal).await
        }
        Fix::LinkLicenseManager => fixes::link_license_manager(clients).await,
        Fix::RegisterDelegatedAdministrator { account, principal } => {
            fixes::register_delegated_administrator(clients, account, principal).await
        }
    }
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
