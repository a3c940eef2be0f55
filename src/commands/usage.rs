//! `entitle usage`: one grouped Cost Explorer query of the rollout's product (every page), joined
//! with the rollout's and cleanup's journals and License Manager's grants now; prints the report
//! (and a CSV for finance), and fails (exit 1) when an account is flagged. It changes nothing and
//! records nothing, so it takes no lock.

use std::path::Path;

use anyhow::{Context as _, anyhow};

use super::observe::{observe, read_plan, unix_now};
use super::{Context, Reported};
use crate::apply::journal::{CallOutcome, Event, History};
use crate::aws::cost_explorer;
use crate::cli::{UsageArgs, UsageGranularity};
use crate::exit::Outcome;
use crate::model::AccountId;
use crate::model::bedrock::bedrock_product;
use crate::model::usage::{CostQuery, Date, GrantDeletion, GrantSighting, Granularity};
use crate::planner::cleanup::CLEANUP;
use crate::planner::usage::{ServiceSource, UsageInput, usage_report};
use crate::ui::{self, usage::UsageDocument};

/// How Marketplace names a Bedrock model's product, after the model's name.
pub const BEDROCK_EDITION: &str = " (Amazon Bedrock Edition)";

/// How many days the window covers by default, ending with `--until`.
const DEFAULT_DAYS: i64 = 30;

/// Something is flagged: the report said what (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("{} flagged by the usage report", crate::ui::counted(*.flagged, "account"))]
pub struct UsageFlagged {
    /// How many.
    pub flagged: usize,
}

impl UsageFlagged {
    /// What to do.
    pub fn hint(&self) -> String {
        "docs/usage.md says what to do about each flag; `entitle status PLAN` shows every grant's status".to_owned()
    }
}

fn parse_date(flag: &str, text: &str) -> anyhow::Result<Date> {
    Date::parse(text).ok_or_else(|| {
        anyhow!("`{flag} {text}` is not a date: write it as YYYY-MM-DD, e.g. `2026-11-01`")
    })
}

/// Reports usage and spend of the rollout's product per account.
pub async fn run(context: &Context, args: &UsageArgs) -> anyhow::Result<Outcome> {
    let rollout = read_plan(context, &args.plan)?;
    if let Some(phase) = &args.phase
        && !rollout
            .phases
            .iter()
            .any(|known| known.name.value == *phase)
    {
        let names: Vec<&str> = rollout
            .phases
            .iter()
            .map(|known| known.name.value.as_str())
            .collect();
        return Err(anyhow!(
            "the plan has no phase `{phase}`; its phases are: {}",
            names.join(", ")
        ));
    }
    let today = Date::from_unix(unix_now());
    let until = match &args.until {
        Some(text) => parse_date("--until", text)?,
        None => today,
    };
    let since = match &args.since {
        Some(text) => parse_date("--since", text)?,
        None => until.add_days(-DEFAULT_DAYS),
    };
    if until > today {
        return Err(anyhow!(
            "`--until {until}` is after today ({today}, UTC): Cost Explorer has no usage from the future"
        ));
    }
    if since > until {
        return Err(anyhow!(
            "`--since {since}` is after `--until {until}`: the window would be empty"
        ));
    }
    let granularity = match args.granularity {
        UsageGranularity::Daily => Granularity::Daily,
        UsageGranularity::Monthly => Granularity::Monthly,
    };
    if let Some(csv) = &args.csv
        && csv != Path::new("-")
        && let Some(parent) = csv.parent().filter(|parent| !parent.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(anyhow!(
            "cannot write the CSV to `{}`: the directory `{}` does not exist",
            csv.display(),
            parent.display()
        ));
    }

    let clients = context.clients().await;
    let (discovery, observed) = observe(context, &clients, &rollout).await?;
    let (service, service_source) = match &args.service {
        Some(service) => (service.clone(), ServiceSource::Flag),
        None => match bedrock_product(&observed.license.product_sku) {
            Some(product) => (
                format!("{}{BEDROCK_EDITION}", product.name),
                ServiceSource::Catalog,
            ),
            None if !observed.license.product_name.is_empty() => (
                observed.license.product_name.clone(),
                ServiceSource::License,
            ),
            None => {
                return Err(anyhow!(
                    "entitle does not know Cost Explorer's SERVICE name of product `{}`",
                    observed.license.product_sku
                ))
                .context("pass `--service NAME` as Cost Explorer shows the product, e.g. `Claude Sonnet 4.5 (Amazon Bedrock Edition)`");
            }
        },
    };

    // The grant history: the rollout's journal (sightings, its own deletions) and cleanup's.
    let organization = discovery.tree.organization().id.as_str();
    let store = super::rollout_journal::locate(
        context,
        &clients,
        organization,
        &rollout.name,
        rollout.journal_url.as_deref(),
    )
    .await?;
    let history = store.read().await?;
    let cleanup_store =
        super::rollout_journal::locate(context, &clients, organization, CLEANUP, None).await?;
    let cleanup_history = cleanup_store.read().await?;
    for (read, store) in [(&history, &store), (&cleanup_history, &cleanup_store)] {
        super::rollout_journal::warn_unreadable(&context.printer, read, &store.describe());
    }
    if history.entries.is_empty() {
        context.printer.notice(&format!(
            "the journal `{}` is empty: no activation date is known, so no account's usage is split before and after it",
            store.describe()
        ));
    }
    let sightings = sightings(&history);
    let mut deletions = deletions(&history);
    deletions.extend(deletions_of_license(
        &cleanup_history,
        &history,
        &observed.grants,
        &observed.license.arn,
    ));

    let query = CostQuery {
        start: since,
        end: until.add_days(1),
        granularity,
        service,
    };
    let costs = cost_explorer::marketplace_usage(&clients, &query)
        .await
        .context("could not read usage from Cost Explorer")?;
    let report = usage_report(&UsageInput {
        rollout: &rollout,
        tree: &discovery.tree,
        observed: &observed,
        sightings: &sightings,
        deletions: &deletions,
        costs: &costs,
        query: &query,
        service_source,
        phase: args.phase.as_deref(),
        today,
    })
    .map_err(|errors| {
        context.printer.diagnostics(&errors);
        anyhow::Error::from(Reported)
    })?;

    let printer = &context.printer;
    let to_stdout = args.csv.as_deref() == Some(Path::new("-"));
    if let Some(path) = args.csv.as_deref().filter(|_| !to_stdout) {
        let mut text = Vec::new();
        ui::usage::render_csv(&report, &mut text)?;
        std::fs::write(path, text)
            .with_context(|| format!("could not write the CSV to `{}`", path.display()))?;
        printer.info(&format!("wrote the CSV to `{}`", path.display()));
    }
    if to_stdout {
        ui::raw(|out| ui::usage::render_csv(&report, out))?;
    } else {
        let document = UsageDocument::new(&report, ui::timestamp(unix_now()));
        printer.result(&document, |out| {
            ui::usage::render_human(&report, &printer.style, out)
        })?;
    }
    if report.is_flagged() {
        return Err(UsageFlagged {
            flagged: report.flagged,
        }
        .into());
    }
    Ok(Outcome::Success)
}

/// Every account status the rollout's journal recorded, in time order.
fn sightings(history: &History) -> Vec<GrantSighting> {
    history
        .entries
        .iter()
        .filter_map(|entry| match &entry.event {
            Event::AccountStatus { account, status } => Some(GrantSighting {
                account: AccountId::parse(account.as_str()).ok()?,
                at: entry.unix_seconds(),
                status: status.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// Every grant deletion a journal recorded as done.
fn deletions(history: &History) -> Vec<GrantDeletion> {
    history
        .entries
        .iter()
        .filter_map(|entry| match &entry.event {
            Event::CallFinished {
                call,
                outcome: CallOutcome::Ok,
                ..
            } if call.operation == "DeleteGrant" => Some(GrantDeletion {
                principal: call.principal.clone(),
                grant_arn: call.grant_arn.clone(),
                at: entry.unix_seconds(),
            }),
            _ => None,
        })
        .collect()
}

/// The deletions cleanup recorded of this rollout's grants (cleanup's journal holds every
/// license's): grants the rollout's journal saw created or changed, or License Manager still lists
/// under the license (deleted grants drop out of that listing).
fn deletions_of_license(
    cleanup: &History,
    rollout: &History,
    grants: &[crate::model::DistributedGrant],
    license_arn: &str,
) -> Vec<GrantDeletion> {
    let mut known: std::collections::BTreeSet<&str> = grants
        .iter()
        .filter(|grant| grant.license_arn == license_arn)
        .map(|grant| grant.arn.as_str())
        .collect();
    for entry in &rollout.entries {
        if let Event::CallFinished {
            call,
            outcome: CallOutcome::Ok,
            ..
        } = &entry.event
            && let Some(arn) = &call.grant_arn
        {
            known.insert(arn);
        }
    }
    deletions(cleanup)
        .into_iter()
        .filter(|deletion| {
            deletion
                .grant_arn
                .as_deref()
                .is_some_and(|arn| known.contains(arn))
        })
        .collect()
}
