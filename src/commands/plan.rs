//! `entitle plan`: read the rollout plan, look at the organisation and the license's grants, and
//! show (or save) what `apply` would change.

use anyhow::Context as _;

use super::observe::{note_unnamed_ous, observe, read_plan, unix_now, warn_collisions};
use super::{Context, Reported};
use crate::aws::AwsClients;
use crate::cli::PlanArgs;
use crate::exit::Outcome;
use crate::model::plan::RolloutPlan;
use crate::model::{ParentId, Principal};
use crate::planner::{GateFacts, PlanError, PlanOptions, SavedPlan, fingerprint};
use crate::ui::{self, plan::PlanDocument};

/// Plans and prints; exit code 3 with `--detailed-exitcode` when changes are pending.
pub async fn run(context: &Context, args: &PlanArgs) -> anyhow::Result<Outcome> {
    let rollout = read_plan(context, &args.plan)?;
    let clients = context.clients().await;
    let (discovery, observed) = observe(context, &clients, &rollout).await?;
    // Gates are judged as `apply` and `status` judge them: bake clocks from the journal of the
    // organisation looked at.
    let gate_facts = read_gate_facts(context, &clients, &rollout, &discovery.tree).await?;
    let options = PlanOptions {
        phase: args.phase.clone(),
        now: unix_now(),
        gate_facts,
        destroy: args.destroy,
        member_role: rollout.entitlement.member_role.clone(),
        ..PlanOptions::default()
    };
    let plan = match crate::planner::plan(&rollout, &discovery.tree, &observed, &options) {
        Ok(plan) => plan,
        Err(PlanError::PlanFile(errors)) => {
            context.printer.diagnostics(&errors);
            return Err(Reported.into());
        }
        Err(other) => return Err(other.into()),
    };
    if let Some(out) = &args.out {
        let saved = SavedPlan::new(
            plan.clone(),
            &args.plan.display().to_string(),
            &rollout.sha256,
            fingerprint(&discovery.tree, &observed),
        );
        let text = serde_json::to_string_pretty(&saved)?;
        std::fs::write(out, text + "\n")
            .with_context(|| format!("could not write the saved plan `{}`", out.display()))?;
        context
            .printer
            .info(&format!("saved the plan to `{}`", out.display()));
    }
    let printer = &context.printer;
    warn_collisions(printer, &plan);
    printer.result(&PlanDocument::new(&plan), |out| {
        ui::plan::render_human(&plan, &printer.style, out)
    })?;
    let tree = &discovery.tree;
    note_unnamed_ous(
        printer,
        tree,
        plan.changes
            .iter()
            .filter_map(|change| match &change.principal {
                Principal::Account { id, .. } => {
                    tree.account(id).map(|account| account.parent.clone())
                }
                Principal::Ou { id, .. } => Some(ParentId::Ou(id.clone())),
                Principal::Organization { .. } => None,
            }),
    );
    Ok(if args.detailed_exitcode && plan.has_changes() {
        Outcome::ChangesPending
    } else {
        Outcome::Success
    })
}

/// The bake clocks the rollout's journal records (read only: `plan` writes nothing and takes no
/// lock).
async fn read_gate_facts(
    context: &Context,
    clients: &AwsClients,
    rollout: &RolloutPlan,
    tree: &crate::model::OrgTree,
) -> anyhow::Result<GateFacts> {
    let store = super::rollout_journal::locate(
        context,
        clients,
        tree.organization().id.as_str(),
        &rollout.name,
        rollout.journal_url.as_deref(),
    )
    .await?;
    Ok(store.read().await?.gate_facts())
}
