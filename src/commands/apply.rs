//! `entitle apply`: plan (or load a saved plan and refuse it if stale), hold it against the
//! phase gates, show it, confirm, carry it out with a journal, and report every change's outcome.
//! The carrying out is shared with `entitle activate`. A signal while changes are carried out
//! stops the run (see `crate::interrupt`): what was done is journalled and reported, and the
//! command exits 130 or 143.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use tokio::task::JoinSet;

use super::confirm::{self, Changes};
use super::observe::{observe, read_plan, unix_now};
use super::run_log::{self, RunStart};
use super::{Context, Reported};
use crate::apply::executor::{
    ApplyOptions, ChangeResult, MemberRole, Outcome as ChangeOutcome, execute,
};
use crate::apply::journal::Event;
use crate::apply::journal_store::JournalRun;
use crate::aws::{AwsClients, identity, license_manager};
use crate::cli::{ApplyArgs, ChangeArgs};
use crate::exit::Outcome;
use crate::interrupt::{Guard, Interrupt, Interrupted};
use crate::model::OrgTree;
use crate::model::grant::DistributedGrant;
use crate::model::plan::RolloutPlan;
use crate::planner::status::status;
use crate::planner::{IgnoreGates, Observed, Plan, PlanError, PlanOptions, SavedPlan, fingerprint};
use crate::ui::apply::{ApplyReport, HeldPhase};
use crate::ui::{self, progress::ApplyProgress};

/// A later phase was to be applied while an earlier phase's gate does not hold.
#[derive(Debug, thiserror::Error)]
#[error("phase `{phase}` is held back by its gate: {reason}")]
pub struct GateClosed {
    /// The phase held back.
    pub phase: String,
    /// Why.
    pub reason: String,
}

impl GateClosed {
    /// What to do about it.
    pub fn hint(&self) -> String {
        format!(
            "apply without `--phase` to carry out what the gates allow now, watch the gate with \
             `entitle status --watch`, or pass `--ignore-gate PHASE` (the phase whose gate holds) or \
             `--ignore-gates` to apply `{}` anyway (the journal records it)",
            self.phase
        )
    }
}

/// A saved plan keeps the `--phase` and `--destroy` it was made with: a different one given to
/// `apply` is refused before anything is read, instead of being silently ignored.
fn check_saved_scope(args: &ApplyArgs, saved: &SavedPlan) -> Result<(), crate::exit::UsageError> {
    let made_with = match &saved.plan.phase_limit {
        Some(phase) => format!("with `--phase {phase}`"),
        None if saved.plan.destroy => "with `--destroy`".to_owned(),
        None => "without `--phase`".to_owned(),
    };
    let asked = match (&args.phase, args.destroy) {
        (Some(phase), _) if saved.plan.phase_limit.as_ref() != Some(phase) => {
            format!("`--phase {phase}`")
        }
        (_, true) if !saved.plan.destroy => "`--destroy`".to_owned(),
        _ => return Ok(()),
    };
    Err(crate::exit::UsageError {
        message: format!(
            "{asked} does not match the saved plan `{}`, which was made {made_with}",
            args.plan.display()
        ),
        hint: "a saved plan is applied as it was made: apply it without the flag, or save a new \
               plan with it (`entitle plan PLAN_FILE --phase NAME --out FILE`)"
            .to_owned(),
    })
}

/// Applies a rollout plan or a saved plan.
pub async fn run(context: &Context, args: &ApplyArgs) -> anyhow::Result<Outcome> {
    // From here on a signal ends the command with 130 or 143, and stops it cleanly once it
    // changes grants.
    Interrupt::process();
    let clients = context.clients().await;
    let saved = load_saved(&args.plan)?;
    if let Some(saved) = &saved {
        check_saved_scope(args, saved)?;
    }
    let plan_file = match &saved {
        Some(saved) => PathBuf::from(&saved.plan_file),
        None => args.plan.clone(),
    };
    let rollout = read_plan(context, &plan_file).with_context(|| match &saved {
        Some(_) => format!("the saved plan was made from `{}`", plan_file.display()),
        None => format!("could not read `{}`", plan_file.display()),
    })?;
    // The lock first, then what AWS shows: nothing another run does can slip in between.
    let mut session = Session::begin(context, &clients, &rollout, "apply").await?;
    let result = async {
        let (discovery, observed) = observe_prechecked(context, &clients, &rollout).await?;
        // A saved plan keeps its own `--phase` and `--destroy`.
        let (phase, destroy) = match &saved {
            Some(saved) => (saved.plan.phase_limit.clone(), saved.plan.destroy),
            None => (args.phase.clone(), args.destroy),
        };
        let scope = PlanScope {
            phase: phase.clone(),
            destroy,
            member_role: member_role(&args.run, &rollout),
            ignore_gates: ignored_gates(&args.run, &rollout)?,
        };
        let plan = session.plan(context, &rollout, &discovery.tree, &observed, scope)?;
        if let Some(saved) = &saved {
            saved.check_fresh(
                Some(&rollout.sha256),
                &fingerprint(&discovery.tree, &observed),
            )?;
            // The changes are derived again from the plan file and what AWS shows now, and
            // must be the saved ones: a saved plan edited by hand is refused. The gates are
            // judged now, against the journal, so a phase whose gate has come to hold since
            // goes ahead.
            same_changes(&saved.plan, &plan)?;
        }
        refuse_unowned_deletes(&plan, &observed, &rollout.name)?;
        session
            .carry_out(
                context,
                &clients,
                Job {
                    command: "apply",
                    rollout: &rollout,
                    tree: &discovery.tree,
                    observed: &observed,
                    phase,
                    run: &args.run,
                },
                plan,
            )
            .await
    }
    .await;
    session.finish(result).await
}

/// A saved plan whose changes are not what the plan file and AWS give now.
#[derive(Debug, thiserror::Error)]
#[error(
    "the saved plan's changes are not the ones the plan file and AWS give now ({difference}): it was edited, or made with other flags"
)]
pub struct SavedPlanAltered {
    /// The first difference found.
    pub difference: String,
}

impl SavedPlanAltered {
    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        "make a new saved plan with `entitle plan PLAN.toml --out FILE` (with the same `--member-role`), review it, and apply that"
    }
}

/// Compares what a change does (not its wording, nor whether a gate holds it back now).
fn same_changes(saved: &Plan, derived: &Plan) -> Result<(), SavedPlanAltered> {
    let essence = |plan: &Plan| -> Vec<String> {
        plan.changes
            .iter()
            .map(|change| {
                serde_json::json!({
                    "phase": change.phase,
                    "principal": change.principal_arn,
                    "action": change.action,
                    "before": change.before.as_ref().map(|before| (&before.arn, &before.version)),
                    "after": change.after.as_ref().map(|after| (&after.status, &after.operations, after.generation)),
                    "client_token": change.client_token,
                    "tags": change.tags,
                    "once_active": change.once_active,
                })
                .to_string()
            })
            .collect()
    };
    let (saved, derived) = (essence(saved), essence(derived));
    if saved == derived {
        return Ok(());
    }
    let difference = saved
        .iter()
        .find(|change| !derived.contains(change))
        .map(|change| format!("saved, not derived: {change}"))
        .or_else(|| {
            derived
                .iter()
                .find(|change| !saved.contains(change))
                .map(|change| format!("derived, not saved: {change}"))
        })
        .unwrap_or_else(|| "the same changes in another order".to_owned());
    Err(SavedPlanAltered { difference })
}

/// No path of apply deletes a grant the rollout does not own: every delete must name a grant
/// observed with the rollout's ownership tag.
fn refuse_unowned_deletes(plan: &Plan, observed: &Observed, rollout: &str) -> anyhow::Result<()> {
    for change in &plan.changes {
        if change.action != crate::planner::Action::Delete {
            continue;
        }
        let arn = change
            .before
            .as_ref()
            .and_then(|before| before.arn.as_deref())
            .unwrap_or_default();
        let owned = observed
            .grants
            .iter()
            .any(|grant| grant.arn == arn && grant.is_owned_by(rollout));
        if !owned {
            bail!(
                "the plan deletes grant `{arn}`, which rollout `{rollout}` does not own: nothing was changed"
            );
        }
    }
    Ok(())
}

/// Observes the organisation and the license while checking what doctor would fail (all
/// features, License Manager linked, trusted access): a broken prerequisite refuses the run with
/// doctor's fix before anything is changed (an organisation grant would otherwise end in
/// FAILED_WORKFLOW), and its error comes first. The license itself is judged by the planner
/// (a license that is not AVAILABLE is refused with the cleanup hint).
pub(super) async fn observe_prechecked(
    context: &Context,
    clients: &AwsClients,
    rollout: &RolloutPlan,
) -> anyhow::Result<(crate::aws::organizations::Discovery, Observed)> {
    let (prechecked, observed) = tokio::join!(
        crate::apply::prechecks::require(clients, None),
        observe(context, clients, rollout)
    );
    prechecked?;
    observed
}

/// What `apply` and `activate` set out to do.
pub(super) struct Job<'a> {
    /// `apply` or `activate`, for the journal.
    pub command: &'static str,
    /// The rollout plan.
    pub rollout: &'a RolloutPlan,
    /// The organisation.
    pub tree: &'a OrgTree,
    /// The grants as they were before.
    pub observed: &'a Observed,
    /// `--phase`.
    pub phase: Option<String>,
    /// `--auto-approve`, `--concurrency`, `--ignore-gates`, `--journal`.
    pub run: &'a ChangeArgs,
}

/// What part of the rollout a run plans.
pub(super) struct PlanScope {
    /// `--phase`.
    pub phase: Option<String>,
    /// `--destroy`.
    pub destroy: bool,
    /// The member role, if any (see [`member_role`]).
    pub member_role: Option<String>,
    /// Gates let through (`--ignore-gate`, `--ignore-gates`).
    pub ignore_gates: IgnoreGates,
}

/// The gates a run lets through, from `--ignore-gates` and `--ignore-gate PHASE`; a phase the
/// plan does not have is refused with the nearest name.
pub(super) fn ignored_gates(
    run: &ChangeArgs,
    rollout: &RolloutPlan,
) -> anyhow::Result<IgnoreGates> {
    if run.ignore_gates {
        return Ok(IgnoreGates::All);
    }
    if run.ignore_gate.is_empty() {
        return Ok(IgnoreGates::None);
    }
    let names: Vec<&str> = rollout
        .phases
        .iter()
        .map(|phase| phase.name.value.as_str())
        .collect();
    for phase in &run.ignore_gate {
        if !names.contains(&phase.as_str()) {
            let near = crate::model::plan::nearest(phase, names.iter().copied())
                .map(|near| format!(" (did you mean `{near}`?)"))
                .unwrap_or_default();
            bail!(
                "`--ignore-gate {phase}`: the plan has no phase `{phase}`{near}; its phases are {}",
                names.join(", ")
            );
        }
    }
    Ok(IgnoreGates::Phases(
        run.ignore_gate.iter().cloned().collect(),
    ))
}

/// The member role of a run: `--member-role`, else the plan's `member_role`.
pub(super) fn member_role(run: &ChangeArgs, rollout: &RolloutPlan) -> Option<String> {
    run.member_role
        .clone()
        .or_else(|| rollout.entitlement.member_role.clone())
}

/// A run that may change grants: the rollout's lock, its journal for this run, and what the
/// journal said before it began.
pub(super) struct Session {
    run: JournalRun,
    /// Where the journal is, for messages.
    place: String,
    /// The AWS identity the run acts as (STS caller ARN), when known.
    caller: Option<String>,
    /// Held from the first change to the journal's last line and the lock's release: meanwhile
    /// a signal stops the run instead of ending the process.
    guard: Option<Guard>,
}

impl Session {
    /// Takes the rollout's lock in the journal of the organisation looked at (refused at once
    /// when another run holds it), opens the journal for this run, and says where the previous
    /// run stopped if it did not finish. Every `begin` must end with [`Session::finish`].
    pub async fn begin(
        context: &Context,
        clients: &AwsClients,
        rollout: &RolloutPlan,
        command: &str,
    ) -> anyhow::Result<Self> {
        // `apply DIR` goes no further once a signal stopped one of its rollouts.
        if let Some(signal) = Interrupt::process().received() {
            return Err(Interrupted { signal }.into());
        }
        // The journal belongs to (organisation, rollout): the organisation is read first.
        let organization = crate::aws::organizations::organization(clients)
            .await
            .context("could not describe the organisation")?;
        // Who is making the change, for the lock and the audit trail; a failure here is not
        // worth stopping for.
        let caller = identity::caller(clients)
            .await
            .ok()
            .map(|caller| caller.arn);
        let store = super::rollout_journal::locate(
            context,
            clients,
            organization.id.as_str(),
            &rollout.name,
            rollout.journal_url.as_deref(),
        )
        .await?;
        let run = store.begin(command, caller.clone()).await?;
        let place = store.describe();
        run_log::report_previous_run(&context.printer, &run.history, &place);
        Ok(Self {
            run,
            place,
            caller,
            guard: None,
        })
    }

    /// Ends the run: the journal's last upload and the lock's release, whatever `result` is;
    /// `result`'s error comes first.
    pub async fn finish(self, result: anyhow::Result<Outcome>) -> anyhow::Result<Outcome> {
        let finished = self.run.finish().await;
        drop(self.guard);
        let outcome = result?;
        finished?;
        Ok(outcome)
    }

    /// The plan, with bake gates counted from the journal.
    pub fn plan(
        &self,
        context: &Context,
        rollout: &RolloutPlan,
        tree: &OrgTree,
        observed: &Observed,
        scope: PlanScope,
    ) -> anyhow::Result<Plan> {
        let options = PlanOptions {
            phase: scope.phase,
            now: unix_now(),
            gate_facts: self.run.history.gate_facts(),
            destroy: scope.destroy,
            member_role: scope.member_role,
            ignore_gates: scope.ignore_gates,
        };
        match crate::planner::plan(rollout, tree, observed, &options) {
            Ok(plan) => Ok(plan),
            Err(PlanError::PlanFile(errors)) => {
                context.printer.diagnostics(&errors);
                Err(Reported.into())
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Records what the observation shows that the journal does not know yet (account statuses,
    /// phases reaching their share), so that bake times count from the first sighting.
    fn record_sightings(
        &mut self,
        rollout: &RolloutPlan,
        tree: &OrgTree,
        observed: &Observed,
    ) -> anyhow::Result<()> {
        let facts = self.run.history.gate_facts();
        let Ok(report) = status(rollout, tree, observed, &facts, unix_now()) else {
            return Ok(());
        };
        self.run
            .journal
            .record_sightings(&mut self.run.history, &report)
            .with_context(|| format!("could not write the journal `{}`", self.place))?;
        Ok(())
    }

    /// Holds the plan against the gates, shows it, confirms, executes with the journal, records
    /// what the accounts look like afterwards, and reports.
    pub async fn carry_out(
        &mut self,
        context: &Context,
        clients: &AwsClients,
        job: Job<'_>,
        plan: Plan,
    ) -> anyhow::Result<Outcome> {
        let printer = &context.printer;
        self.record_sightings(job.rollout, job.tree, job.observed)?;
        super::observe::warn_collisions(printer, &plan);
        // Phases held back by a gate that the run would change something in.
        let held: Vec<(String, String)> = plan
            .phases
            .iter()
            .filter(|phase| phase.included)
            .filter_map(|phase| Some((phase.name.clone(), phase.blocked.clone()?)))
            .filter(|(name, _)| {
                plan.changes.iter().any(|change| {
                    change.phase == *name
                        && change.blocked
                        && change.action != crate::planner::Action::NoOp
                })
            })
            .collect();
        // `--phase P` asks for P: a gate holding it back refuses the run. Without `--phase`, apply
        // carries out every phase its gates allow now and stops before the first one held back.
        if job.phase.is_some()
            && let Some((phase, reason)) = held.first()
        {
            let held = HeldPhase {
                phase: phase.clone(),
                reason: reason.clone(),
            };
            printer.result(&ApplyReport::nothing_ran(&plan, Some(held)), |out| {
                ui::plan::render_human(&plan, &printer.style, out)
            })?;
            return Err(GateClosed {
                phase: phase.clone(),
                reason: reason.clone(),
            }
            .into());
        }
        if let Some((phase, reason)) = held.first() {
            printer.notice(&format!(
                "phase `{phase}` and the phases after it wait for a gate: {reason}; this run applies the phases before it, and a later run (a scheduled `entitle apply --auto-approve`) goes on once the gate holds"
            ));
        }
        let ignored: Vec<(String, String)> = plan
            .phases
            .iter()
            .filter(|phase| phase.included)
            .filter_map(|phase| Some((phase.name.clone(), phase.gate_ignored.clone()?)))
            .collect();
        if !plan.has_changes() {
            printer.result(&ApplyReport::nothing_ran(&plan, None), |out| {
                ui::plan::render_human(&plan, &printer.style, out)
            })?;
            return Ok(Outcome::Success);
        }
        for (phase, reason) in &ignored {
            printer.warn(
                &format!("applying phase `{phase}` although its gate does not hold: {reason}"),
                None,
            );
        }
        if !job.run.auto_approve {
            ui::plan::show_before_confirming(printer, &plan)?;
            confirm(&plan, job.command, &ignored)?;
        } else {
            ui::apply::show_approved_plan(printer, &plan)?;
        }
        let interrupt = Interrupt::process();
        self.guard = Some(interrupt.guard());
        for (phase, reason) in &ignored {
            self.run.journal.record(Event::GateIgnored {
                phase: phase.clone(),
                reason: reason.clone(),
            })?;
        }
        let caller = self.caller.clone();
        // Role ARNs are built in the caller's partition (aws, aws-us-gov, aws-cn).
        let partition = caller
            .as_deref()
            .and_then(crate::aws::member::partition_of)
            .unwrap_or("aws")
            .to_owned();
        run_log::record_started(
            &self.run.journal,
            RunStart {
                command: job.command,
                rollout: &plan.rollout,
                phase: job.phase.clone(),
                caller,
                changes: applicable(&plan),
            },
        )?;
        let progress = Arc::new(ApplyProgress::new(printer, applicable(&plan)));
        let options = ApplyOptions {
            concurrency: usize::from(job.run.concurrency),
            distribution_wait: job.run.distribution_wait,
            member_role: member_role(job.run, job.rollout).map(|name| MemberRole {
                name,
                partition,
                session_name: format!("entitle-{}", self.run.journal.run()),
            }),
            interrupt: interrupt.clone(),
            ..ApplyOptions::default()
        };
        let execution = execute(
            clients,
            &plan,
            &options,
            self.run.journal.clone(),
            progress.clone(),
        )
        .await;
        progress.finish();
        // How the accounts look now is read at once, while the run's report is built and
        // journalled (for 2,000 changes that takes a moment). The rollout's grants are what was
        // observed plus what this run wrote (no second tag read per grant). A stopped run
        // reads nothing more; a run that ends otherwise drops the set, which stops the read.
        let mut read_after = JoinSet::new();
        if execution.interrupted.is_none() {
            let (clients, license_arn) = (clients.clone(), plan.license_arn.clone());
            read_after.spawn(async move {
                license_manager::received_grants(&clients, &license_arn).await
            });
        }
        for result in &execution.results {
            if let ChangeOutcome::Waiting { what, grant } = &result.outcome {
                let known = !grant.grant_arn.is_empty();
                self.run.journal.record(Event::ChangeWaiting {
                    phase: result.change.phase.clone(),
                    principal: result.change.principal_arn.clone(),
                    grant_arn: known.then(|| grant.grant_arn.clone()),
                    status: known.then(|| grant.status.as_str().to_owned()),
                    reason: what.clone(),
                })?;
            }
        }
        let report = ApplyReport::new(
            &plan,
            &execution.results,
            execution.counts,
            execution.interrupted.as_ref(),
        );
        run_log::record_ended(&self.run.journal, &execution, &report.outcomes)?;
        if let Some(interruption) = &execution.interrupted {
            // Stopped: what was done and what was in flight, and no further read.
            printer.result(&report, |out| {
                ui::apply::render_human(&report.outcomes, &printer.style, out)
            })?;
            ui::apply::render_interrupted(printer, &report.outcomes);
            return Err(Interrupted {
                signal: interruption.signal,
            }
            .into());
        }
        // The sightings that start bake clocks. A signal now only cuts the read short: the run
        // is journalled as finished, and `status` records the sightings later.
        let read_after = tokio::select! {
            // The read ends by finishing or by panicking (it is stopped only by dropping the set).
            joined = read_after.join_next() => joined.map(|joined| {
                joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
            }),
            _ = interrupt.wait() => None,
        };
        match read_after {
            None => {}
            Some(Ok(received)) => {
                let after = Observed {
                    grants: grants_after(job.observed, &execution.results),
                    received,
                    license: job.observed.license.clone(),
                    own_subscriptions: job.observed.own_subscriptions.clone(),
                };
                self.record_sightings(job.rollout, job.tree, &after)?;
            }
            Some(Err(error)) => printer.warn(
                &format!("could not read the accounts' grants after the apply: {error}"),
                Some(
                    "`entitle status` reads them again and records when each account became active",
                ),
            ),
        }
        printer.result(&report, |out| {
            ui::apply::render_human(&report.outcomes, &printer.style, out)
        })?;
        let failed = execution
            .results
            .iter()
            .any(|result| matches!(result.outcome, ChangeOutcome::Failed { .. }));
        Ok(if failed {
            Outcome::PartialFailure
        } else {
            Outcome::Success
        })
    }
}

/// The distributed grants after a run: those observed before, with what the run wrote.
fn grants_after(observed: &Observed, results: &[ChangeResult]) -> Vec<DistributedGrant> {
    let mut grants: BTreeMap<String, DistributedGrant> = observed
        .grants
        .iter()
        .map(|grant| (grant.arn.clone(), grant.clone()))
        .collect();
    for result in results {
        let (ChangeOutcome::Done { grant: written, .. }
        | ChangeOutcome::Waiting { grant: written, .. }) = &result.outcome
        else {
            continue;
        };
        if written.grant_arn.is_empty() {
            continue;
        }
        let change = &result.change;
        let entry = grants
            .entry(written.grant_arn.clone())
            .or_insert_with(|| DistributedGrant {
                arn: written.grant_arn.clone(),
                name: change
                    .after
                    .as_ref()
                    .map(|after| after.name.clone())
                    .unwrap_or_default(),
                principal_arn: change.principal_arn.clone(),
                status: written.status.clone(),
                status_reason: None,
                version: written.version.clone(),
                granted_operations: change
                    .after
                    .as_ref()
                    .map(|after| after.operations.clone())
                    .unwrap_or_default(),
                tags: change.tags.clone(),
                license_arn: observed.license.arn.clone(),
            });
        entry.status = written.status.clone();
        entry.version = written.version.clone();
    }
    grants.into_values().collect()
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
    let text = super::observe::read_text(path, "the plan", super::observe::SAVED_PLAN_MAX_BYTES)?;
    if !text.trim_start().starts_with('{') {
        return Ok(None);
    }
    // The version before the shape: a newer layout would otherwise fail on some field.
    if let Some(found) = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|value| value.get("format_version")?.as_u64())
        && found != u64::from(crate::planner::saved::SAVED_PLAN_FORMAT_VERSION)
    {
        let stale = crate::planner::StalePlan::FormatVersion {
            found: u32::try_from(found).unwrap_or(u32::MAX),
            expected: crate::planner::saved::SAVED_PLAN_FORMAT_VERSION,
        };
        let context = format!("could not apply the saved plan `{}`", path.display());
        return Err(anyhow::Error::new(stale).context(context));
    }
    let saved: SavedPlan = serde_json::from_str(&text).with_context(|| {
        format!(
            "`{}` is not a plan saved by `entitle plan --out`",
            path.display()
        )
    })?;
    Ok(Some(saved))
}

/// Asks on the terminal, repeating the gates being ignored; refuses without one.
fn confirm(plan: &Plan, command: &str, ignored: &[(String, String)]) -> anyhow::Result<()> {
    let gates = if ignored.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = ignored
            .iter()
            .map(|(phase, _)| format!("`{phase}`"))
            .collect();
        format!(
            " (ignoring the gate{} before phase {})",
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        )
    };
    let question = format!(
        "{} these changes to rollout `{}`{gates}? Only `yes` goes on: ",
        capitalised(command),
        plan.rollout
    );
    confirm::typed(
        Changes::Grants,
        &question,
        "yes",
        &format!("{command} cancelled: nothing was changed"),
    )
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
