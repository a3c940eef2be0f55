//! `entitle status`: where every targeted account of a rollout stands, each phase's gate, and
//! (with `--watch`) refreshing until every gate holds. It records what it sees in the rollout's
//! journal (that of the organisation it looks at, wherever the journal lives), so bake times and
//! "since when" count from the first sighting. It changes no grant, so it takes no lock.

use std::time::Duration;

use anyhow::{Context as _, anyhow};

use super::observe::{note_unnamed_ous, observe_units, read_plan, unix_now};
use super::{Context, Reported};
use crate::apply::journal::{History, Journal};
use crate::aws::{license_manager, marketplace};
use crate::cli::{OutputFormat, StatusArgs};
use crate::exit::{Outcome, UsageError};
use crate::model::agreement::AgreementInfo;
use crate::model::plan::{RolloutPlan, format_duration, parse_duration};
use crate::model::{OrgTree, UnitScope};
use crate::planner::Observed;
use crate::planner::reads::unit_scope;
use crate::planner::status::{StatusReport, status};
use crate::ui;
use crate::ui::status::{StatusDocument, View};

/// `--watch` ran out of time before every gate held.
#[derive(Debug, thiserror::Error)]
#[error("the gates still do not hold after {waited}")]
pub struct WatchTimedOut {
    /// How long it watched.
    pub waited: String,
}

/// Shows the rollout's status, once or until the gates hold.
pub async fn run(context: &Context, args: &StatusArgs) -> anyhow::Result<Outcome> {
    // A usage error (exit 2), found before anything is read.
    let timeout = match &args.timeout {
        Some(text) => Some(Duration::from_secs(parse_duration(text).ok_or_else(
            || UsageError {
                message: format!("`--timeout {text}` is not a duration"),
                hint: "write it like `90s`, `30m`, `2h` or `1d`".to_owned(),
            },
        )?)),
        None => None,
    };
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
    let clients = context.clients().await;
    // `--tree` shows every OU by name: the whole tree is read; otherwise only the plan's OUs.
    let units = if args.tree {
        UnitScope::Whole
    } else {
        unit_scope(&rollout)
    };
    let (discovery, mut observed) = observe_units(context, &clients, &rollout, units).await?;
    // The journal of the organisation looked at: another organisation's runs never mix in.
    let store = super::rollout_journal::locate(
        context,
        &clients,
        discovery.tree.organization().id.as_str(),
        &rollout.name,
        rollout.journal_url.as_deref(),
    )
    .await?;
    let mut history = store.read().await?;
    super::rollout_journal::warn_unreadable(&context.printer, &history, &store.describe());
    // The agreement behind the license, for the subscription's state at the top. Best effort:
    // the license's own status (DELETED after a cancellation) already says whether it ended.
    let agreements = marketplace::purchase_agreements(&clients)
        .await
        .unwrap_or_else(|error| {
            tracing::debug!(%error, "could not search the purchase agreements");
            Vec::new()
        });
    let journal = store.journal().await?;
    let watched = watch(
        context,
        args,
        timeout,
        (&rollout, &discovery.tree, &clients, &agreements),
        &mut observed,
        (&journal, &mut history),
    )
    .await;
    // The sightings' last upload (S3); an error of the look itself comes first.
    let finished = journal.finish().await;
    let outcome = watched?;
    finished?;
    Ok(outcome)
}

/// Looks, and with `--watch` looks again every interval until the gates hold or time runs out.
async fn watch(
    context: &Context,
    args: &StatusArgs,
    timeout: Option<Duration>,
    (rollout, tree, clients, agreements): (
        &RolloutPlan,
        &OrgTree,
        &crate::aws::AwsClients,
        &[AgreementInfo],
    ),
    observed: &mut Observed,
    (journal, history): (&Journal, &mut History),
) -> anyhow::Result<Outcome> {
    let started = tokio::time::Instant::now();
    let mut noted = false;
    loop {
        let report = look(context, rollout, tree, observed, args, (journal, history))?
            .with_agreements(&observed.license, agreements);
        let finished = !args.watch || report.gates_hold();
        let left = timeout.map(|timeout| timeout.saturating_sub(started.elapsed()));
        let timed_out = left.is_some_and(|left| left.is_zero());
        // With --watch, people see every look; scripts (JSON) get one document: the last.
        let printer = &context.printer;
        if printer.format == OutputFormat::Human || finished || timed_out {
            let view = View {
                only: args.only.clone(),
                summary: args.summary,
                now: unix_now(),
            };
            let document = StatusDocument::new(&report, history, &view);
            printer.result(&document, |out| {
                ui::status::render_human(&document, args.tree, &printer.style, out)
            })?;
            if !noted {
                noted = true;
                let places = report
                    .phases
                    .iter()
                    .flat_map(|phase| &phase.accounts)
                    .filter_map(|status| tree.account(&status.account))
                    .map(|account| account.parent.clone());
                note_unnamed_ous(printer, tree, places);
            }
        }
        if finished {
            return Ok(Outcome::Success);
        }
        if timed_out {
            return Err(WatchTimedOut {
                waited: format_duration(timeout.map_or(0, |timeout| timeout.as_secs())),
            }
            .into());
        }
        // The last look is taken at the deadline, not an interval past it.
        let pause = left.map_or(Duration::from_secs(args.interval), |left| {
            left.min(Duration::from_secs(args.interval))
        });
        tokio::time::sleep(pause).await;
        // The organisation and the license stay; the grants and their statuses are read again.
        observed.grants = license_manager::distributed_grants(clients, &observed.license.arn, 8)
            .await
            .context("could not list the license's grants")?;
        observed.received = license_manager::received_grants(clients, &observed.license.arn)
            .await
            .context("could not list the accounts' received grants")?;
    }
}

/// One look: the report, with what it shows first recorded in the journal.
fn look(
    context: &Context,
    rollout: &RolloutPlan,
    tree: &OrgTree,
    observed: &Observed,
    args: &StatusArgs,
    (journal, history): (&Journal, &mut History),
) -> anyhow::Result<StatusReport> {
    let report_of = |history: &History| {
        status(rollout, tree, observed, &history.gate_facts(), unix_now()).map_err(|errors| {
            context.printer.diagnostics(&errors);
            anyhow::Error::from(Reported)
        })
    };
    let mut report = report_of(history)?;
    let written = journal
        .record_sightings(history, &report)
        .with_context(|| format!("could not write the journal `{}`", journal.path().display()))?;
    if written > 0 {
        // What was just recorded may start a bake clock.
        report = report_of(history)?;
    }
    Ok(report.up_to(args.phase.as_deref()))
}
