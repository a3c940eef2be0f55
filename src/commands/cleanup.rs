//! `entitle cleanup`: check the organisation's prerequisites (doctor's, before anything else),
//! take the lock of the organisation's `cleanup` journal, find the licenses of ended Marketplace
//! subscriptions, plan the deletion of their grants, confirm with the organisation id, delete
//! with current versions (journalled), then verify that no account still holds a grant that was
//! meant to go. Like `apply`, it says where the previous cleanup stopped, and a signal while it
//! deletes stops it cleanly (journalled, reported, exit 130 or 143).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};

use super::Context;
use super::confirm::{self, Changes};
use super::run_log::{self, RunStart};
use crate::apply::executor::{
    ApplyOptions, CallCounts, Execution, Outcome as ChangeOutcome, execute,
};
use crate::apply::journal_store::{JournalRun, JournalStore};
use crate::apply::prechecks;
use crate::aws::organizations::{self, DiscoverOptions, NoProgress, discover};
use crate::aws::{AwsClients, identity, license_manager, marketplace};
use crate::cli::CleanupArgs;
use crate::exit::Outcome;
use crate::interrupt::{Interrupt, Interrupted};
use crate::model::{OrgTree, Organization, UnitScope};
use crate::planner::cleanup::{
    CLEANUP, EndedLicense, LicenseCleanup, Scope, cleanup, ended_licenses,
};
use crate::ui::apply::ChangeOutcomes;
use crate::ui::cleanup::{AccountEndState, CleanupDocument, CleanupResult, VerifiedLicense};
use crate::ui::progress::{ApplyProgress, DiscoverSpinner};
use crate::ui::{self};

/// Finds, shows, confirms, deletes and verifies, holding the lock of the organisation's
/// `cleanup` journal from before the grants are read until the end.
pub async fn run(context: &Context, args: &CleanupArgs) -> anyhow::Result<Outcome> {
    // A signal ends the command with 130 or 143, and stops it cleanly once it deletes.
    let interrupt = Interrupt::process();
    let clients = context.clients().await;
    // Refused up front, with doctor's fixes: in an organisation that is not set up the listings
    // below would fail on a raw AccessDenied. The license check is left out: cleanup is for
    // licenses that ended.
    prechecks::require(&clients, None).await?;
    let organization = organizations::organization(&clients)
        .await
        .context("could not describe the organisation")?;
    let caller = identity::caller(&clients)
        .await
        .ok()
        .map(|caller| caller.arn);
    let store = JournalStore::locate(
        &clients,
        context.journal.as_deref(),
        None,
        organization.id.as_str(),
        CLEANUP,
    )
    .await?;
    let journal = store.begin(CLEANUP, caller.clone()).await?;
    run_log::report_previous_run(&context.printer, &journal.history, &store.describe());
    let mut guard = None;
    let deleting = Deleting {
        context,
        clients: &clients,
        run: &journal,
        caller,
        interrupt: &interrupt,
    };
    let cleaned = clean(&deleting, args, &organization, &mut guard).await;
    // The journal's last upload and the lock's release, whatever happened; the cleanup's own
    // error comes first.
    let finished = journal.finish().await;
    drop(guard);
    let outcome = cleaned?;
    finished?;
    Ok(outcome)
}

/// The cleanup itself, under the lock. `guard` is taken before the first deletion and kept by
/// the caller until the journal is finished.
///
/// Asked on a terminal, the deletions are shown (with account names) and confirmed first. With
/// `--auto-approve` no one reads them beforehand, so they do not wait for the accounts' listing
/// (one call per 20 accounts, which only names them in the report): the deletions and the
/// listing run at once.
async fn clean(
    deleting: &Deleting<'_>,
    args: &CleanupArgs,
    organization: &Organization,
    guard: &mut Option<crate::interrupt::Guard>,
) -> anyhow::Result<Outcome> {
    let Deleting {
        context,
        clients,
        run,
        ..
    } = *deleting;
    let printer = &context.printer;
    let scope = match (&args.agreement, &args.product, &args.license) {
        (Some(id), _, _) => Scope::Agreement(id.clone()),
        (_, Some(product), _) => Scope::Product(product.clone()),
        (_, _, Some(arn)) => Scope::License(arn.clone()),
        _ => Scope::All,
    };
    // The accounts, for the report and the verification; neither tags nor OU names are needed
    // (an OU grant's OU is shown by id).
    let options = DiscoverOptions {
        tags: false,
        units: UnitScope::Some(Vec::new()),
        ..DiscoverOptions::default()
    };
    if !args.auto_approve {
        let spinner = DiscoverSpinner::new(printer.progress);
        // The organisation and the licenses are read at once: different services, different
        // limits.
        let organisation = async {
            discover(clients, &options, &spinner)
                .await
                .context("could not discover the organisation")
        };
        let (discovery, found) = tokio::join!(organisation, find_grants(clients, &scope));
        spinner.finish();
        let discovery = discovery?;
        let (ended, grants, received) = found?;
        let planned = cleanup(
            ended,
            &grants,
            &received,
            &discovery.tree,
            args.include_unowned,
        );
        let deletions: usize = planned.iter().map(|license| license.deletions.len()).sum();
        if deletions == 0 {
            return nothing_to_delete(context, &planned);
        }
        ui::cleanup::show_before_confirming(printer, &planned)?;
        confirm(organization.id.as_str(), deletions)?;
        let execution = deleting.delete(&planned, guard).await?;
        return report(context, clients, run, &planned, execution).await;
    }
    // Unattended: the deletions are planned against the organisation without its accounts
    // (which only label them), then planned again with the accounts for the report.
    let bare = OrgTree::new(
        organization.clone(),
        organizations::root(clients)
            .await
            .context("could not read the organisation's root")?,
        [],
        [],
    )?;
    let listing = async {
        discover(clients, &options, &NoProgress)
            .await
            .context("could not list the organisation's accounts")
    };
    let deleted = async {
        let (ended, grants, received) = find_grants(clients, &scope).await?;
        let planned = cleanup(
            ended.clone(),
            &grants,
            &received,
            &bare,
            args.include_unowned,
        );
        let deletions: usize = planned.iter().map(|license| license.deletions.len()).sum();
        let mut slot = None;
        let execution = if deletions == 0 {
            None
        } else {
            Some(deleting.delete(&planned, &mut slot).await?)
        };
        Ok::<_, anyhow::Error>(((ended, grants, received), execution, slot))
    };
    let (discovery, deleted) = tokio::join!(listing, deleted);
    let ((ended, grants, received), execution, taken) = deleted?;
    *guard = taken;
    let tree = match discovery {
        Ok(discovery) => discovery.tree,
        Err(error) => {
            printer.warn(
                &format!("{error:#}; the report shows account ids without names"),
                None,
            );
            bare
        }
    };
    let planned = cleanup(ended, &grants, &received, &tree, args.include_unowned);
    match execution {
        None => nothing_to_delete(context, &planned),
        Some(mut execution) => {
            relabel(&mut execution, &planned);
            report(context, clients, run, &planned, execution).await
        }
    }
}

/// Gives each deletion carried out the name and OU path the organisation's accounts give its
/// principal (it was planned without them).
fn relabel(execution: &mut Execution, planned: &[LicenseCleanup]) {
    let grant_of = |change: &crate::planner::Change| {
        change.before.as_ref().and_then(|before| before.arn.clone())
    };
    for result in &mut execution.results {
        let named = planned
            .iter()
            .flat_map(|license| &license.deletions)
            .find(|deletion| grant_of(deletion) == grant_of(&result.change));
        if let Some(named) = named {
            result.change.principal_name = named.principal_name.clone();
            result.change.principal_path = named.principal_path.clone();
        }
    }
}

/// Reports that nothing is left to delete.
fn nothing_to_delete(context: &Context, planned: &[LicenseCleanup]) -> anyhow::Result<Outcome> {
    let printer = &context.printer;
    printer.result(&CleanupDocument::new(planned, None), |out| {
        ui::cleanup::render_plan(planned, &printer.style, out)
    })?;
    Ok(Outcome::Success)
}

/// What the deletions need besides the plan.
struct Deleting<'a> {
    context: &'a Context,
    clients: &'a AwsClients,
    run: &'a JournalRun,
    caller: Option<String>,
    interrupt: &'a Interrupt,
}

impl Deleting<'_> {
    /// Journals the run's start and deletes every license's grants; the interrupt guard is
    /// taken (into `guard`) before the first deletion.
    async fn delete(
        &self,
        planned: &[LicenseCleanup],
        guard: &mut Option<crate::interrupt::Guard>,
    ) -> anyhow::Result<Execution> {
        let deletions: usize = planned.iter().map(|license| license.deletions.len()).sum();
        let journal = &self.run.journal;
        *guard = Some(self.interrupt.guard());
        run_log::record_started(
            journal,
            RunStart {
                command: CLEANUP,
                rollout: CLEANUP,
                phase: None,
                caller: self.caller.clone(),
                changes: deletions,
            },
        )?;
        let progress = Arc::new(ApplyProgress::new(&self.context.printer, deletions));
        let options = ApplyOptions {
            interrupt: self.interrupt.clone(),
            ..ApplyOptions::default()
        };
        let mut execution = Execution {
            results: Vec::new(),
            counts: CallCounts::default(),
            interrupted: None,
        };
        for license in planned {
            if license.deletions.is_empty() {
                continue;
            }
            // A license after a signal: its deletions are reported as not started.
            let done = execute(
                self.clients,
                &license.as_plan(),
                &options,
                journal.clone(),
                progress.clone(),
            )
            .await;
            execution.counts.calls += done.counts.calls;
            execution.counts.throttled += done.counts.throttled;
            execution.counts.retried += done.counts.retried;
            execution.results.extend(done.results);
            if let Some(stopped) = done.interrupted {
                let in_flight = execution
                    .interrupted
                    .take()
                    .map(|earlier| earlier.in_flight)
                    .unwrap_or_default();
                execution.interrupted = Some(crate::apply::executor::Interruption {
                    in_flight: [in_flight, stopped.in_flight].concat(),
                    ..stopped
                });
            }
        }
        progress.finish();
        Ok(execution)
    }
}

/// Journals the run's end, verifies every account's grants are gone and prints the result.
async fn report(
    context: &Context,
    clients: &AwsClients,
    run: &JournalRun,
    planned: &[LicenseCleanup],
    execution: Execution,
) -> anyhow::Result<Outcome> {
    let printer = &context.printer;
    let journal = &run.journal;
    let results = &execution.results;
    let failed = results
        .iter()
        .filter(|result| matches!(result.outcome, ChangeOutcome::Failed { .. }))
        .count();

    let all_changes: Vec<_> = planned.iter().flat_map(|l| l.deletions.clone()).collect();
    let mut combined = planned
        .first()
        .map(LicenseCleanup::as_plan)
        .ok_or_else(|| anyhow!("no license to report on"))?;
    combined.changes = all_changes;
    combined.license_arn = planned
        .iter()
        .filter(|license| !license.deletions.is_empty())
        .map(|license| license.ended.license.arn.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let changes = ChangeOutcomes::new(&combined, results, execution.counts)
        .interrupted(execution.interrupted.as_ref());
    run_log::record_ended(journal, &execution, &changes)?;
    if let Some(interruption) = &execution.interrupted {
        // Stopped: what was deleted and what was in flight, without the verification.
        let document = CleanupDocument::new(
            planned,
            Some(CleanupResult {
                changes,
                verified: Vec::new(),
                clean: false,
            }),
        );
        printer.result(&document, |out| match &document.result {
            Some(result) => ui::cleanup::render_result(planned, result, &printer.style, out),
            None => Ok(()),
        })?;
        if let Some(result) = &document.result {
            ui::apply::render_interrupted(printer, &result.changes);
        }
        return Err(Interrupted {
            signal: interruption.signal,
        }
        .into());
    }
    let verified = verify(clients, planned).await?;
    let clean = verified
        .iter()
        .all(|license| license.accounts.iter().all(|account| account.ok));
    let result = CleanupResult {
        changes,
        verified,
        clean,
    };
    let document = CleanupDocument::new(planned, Some(result));
    printer.result(&document, |out| match &document.result {
        Some(result) => ui::cleanup::render_result(planned, result, &printer.style, out),
        None => Ok(()),
    })?;
    Ok(if failed > 0 || !clean {
        Outcome::PartialFailure
    } else {
        Outcome::Success
    })
}

type Grants = BTreeMap<String, Vec<crate::model::grant::DistributedGrant>>;
type Received = BTreeMap<String, Vec<crate::model::grant::ReceivedGrant>>;

/// The licenses whose subscription ended (within the scope), with their grants.
async fn find_grants(
    clients: &AwsClients,
    scope: &Scope,
) -> anyhow::Result<(Vec<EndedLicense>, Grants, Received)> {
    let (agreements, licenses) = tokio::join!(
        marketplace::purchase_agreements(clients),
        license_manager::marketplace_licenses(clients),
    );
    let agreements = agreements.context("could not search the purchase agreements")?;
    let licenses = licenses.context("could not list the Marketplace licenses")?;
    let ended = ended_licenses(&agreements, &licenses, scope);
    explain_empty_scope(scope, &ended, &agreements, &licenses)?;
    let (grants, received) =
        read_grants(clients, ended.iter().map(|e| e.license.arn.as_str())).await?;
    Ok((ended, grants, received))
}

/// Each license's distributed grants (with tags: ownership) and per-account received grants.
async fn read_grants(
    clients: &AwsClients,
    license_arns: impl Iterator<Item = &str>,
) -> anyhow::Result<(Grants, Received)> {
    let mut grants = BTreeMap::new();
    let mut received = BTreeMap::new();
    for arn in license_arns {
        let (distributed, held) = tokio::join!(
            license_manager::distributed_grants(clients, arn, 8),
            license_manager::received_grants(clients, arn),
        );
        grants.insert(
            arn.to_owned(),
            distributed.with_context(|| format!("could not list the grants of `{arn}`"))?,
        );
        received.insert(
            arn.to_owned(),
            held.with_context(|| format!("could not list the accounts' grants of `{arn}`"))?,
        );
    }
    Ok((grants, received))
}

/// A narrowed cleanup that finds nothing says why, when the reason is not "already clean".
fn explain_empty_scope(
    scope: &Scope,
    ended: &[EndedLicense],
    agreements: &[crate::model::agreement::AgreementInfo],
    licenses: &[crate::model::grant::LicenseInfo],
) -> anyhow::Result<()> {
    if !ended.is_empty() {
        return Ok(());
    }
    match scope {
        Scope::All => Ok(()),
        Scope::Agreement(id) => match agreements.iter().find(|agreement| agreement.id == *id) {
            None => bail!("no purchase agreement `{id}` was found for this account"),
            Some(agreement) if !crate::planner::cleanup::agreement_ended(&agreement.status) => {
                bail!(
                    "agreement `{id}` is {}: its subscription has not ended, so its grants stay",
                    agreement.status
                )
            }
            Some(_) => Ok(()),
        },
        Scope::Product(product) => {
            match crate::planner::cleanup::live_product(product, agreements, licenses) {
                Some(refusal) => bail!(refusal),
                None => bail!("no Marketplace license of product `{product}` was found"),
            }
        }
        Scope::License(arn) => match licenses.iter().find(|license| license.arn == *arn) {
            None => bail!("no Marketplace license `{arn}` was found"),
            Some(license) => bail!(
                "license `{arn}` is {} and no ended agreement leads to it: its grants stay",
                license.status.as_str()
            ),
        },
    }
}

/// Asks for the organisation id on the terminal; refuses without one.
fn confirm(org_id: &str, deletions: usize) -> anyhow::Result<()> {
    let question = format!(
        "Delete {}? Accounts lose access to these products. Type the organisation id ({org_id}) to go on: ",
        crate::ui::counted(deletions, "grant")
    );
    confirm::typed(
        Changes::Grants,
        &question,
        org_id,
        "cleanup cancelled: nothing was deleted",
    )
}

/// Reads each cleaned license's received grants again: every account reached before should hold
/// no live grant of it now, except through grants left alone on purpose.
async fn verify(
    clients: &AwsClients,
    planned: &[LicenseCleanup],
) -> anyhow::Result<Vec<VerifiedLicense>> {
    let mut verified = Vec::new();
    for license in planned
        .iter()
        .filter(|license| !license.deletions.is_empty())
    {
        let arn = &license.ended.license.arn;
        let now = license_manager::received_grants(clients, arn)
            .await
            .with_context(|| format!("could not verify the accounts' grants of `{arn}`"))?;
        let deleted: BTreeSet<&str> = license
            .deletions
            .iter()
            .filter_map(|change| change.before.as_ref()?.arn.as_deref())
            .collect();
        let kept: BTreeSet<&str> = license
            .untouched
            .iter()
            .map(|grant| grant.arn.as_str())
            .collect();
        let accounts = license
            .accounts
            .iter()
            .map(|account| {
                let live: Vec<&crate::model::grant::ReceivedGrant> = now
                    .iter()
                    .filter(|grant| grant.account == account.account && !grant.status.is_dead())
                    .collect();
                let meant_to_go = live.iter().find(|grant| {
                    deleted.contains(grant.parent_arn.as_str())
                        || deleted.contains(grant.grant_arn.as_str())
                });
                let (end_state, ok) = match (meant_to_go, live.first()) {
                    (Some(grant), _) => (
                        format!(
                            "still holds {} ({})",
                            grant.grant_arn,
                            grant.status.as_str()
                        ),
                        false,
                    ),
                    (None, Some(grant))
                        if kept.contains(grant.parent_arn.as_str())
                            || kept.contains(grant.grant_arn.as_str()) =>
                    {
                        ("kept (not entitle's)".to_owned(), true)
                    }
                    (None, Some(grant)) => (
                        format!("holds {} ({})", grant.grant_arn, grant.status.as_str()),
                        false,
                    ),
                    (None, None) => ("no grant".to_owned(), true),
                };
                AccountEndState {
                    account: account.account.as_str().to_owned(),
                    name: account.name.clone(),
                    before: account.status.clone(),
                    end_state,
                    ok,
                }
            })
            .collect();
        verified.push(VerifiedLicense {
            license_arn: arn.clone(),
            accounts,
        });
    }
    Ok(verified)
}
