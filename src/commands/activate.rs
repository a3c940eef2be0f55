//! `entitle activate`: grantor-side activation of a rollout's existing grants, for rollouts with
//! `activation = "member"` that decide to activate centrally after all. It creates, updates and
//! deletes nothing: only the plan's activations are carried out, through apply's path (gates,
//! confirmation, journal, report).

use super::Context;
use super::apply::{Job, PlanScope, Session, ignored_gates, member_role, observe_prechecked};
use super::observe::read_plan;
use crate::cli::ActivateArgs;
use crate::exit::Outcome;
use crate::model::plan::Activation;
use crate::planner::Action;
use crate::planner::diff::Summary;

/// Activates every grant of the phases up to `--phase` that is not ACTIVE yet.
pub async fn run(context: &Context, args: &ActivateArgs) -> anyhow::Result<Outcome> {
    // A signal ends the command with 130 or 143, and stops it cleanly once it changes grants.
    crate::interrupt::Interrupt::process();
    let mut rollout = read_plan(context, &args.plan)?;
    if rollout.entitlement.activation == Activation::Member {
        context.printer.info(
            "the plan leaves activation to the member accounts; activating centrally as asked",
        );
    }
    rollout.entitlement.activation = Activation::Grantor;
    let clients = context.clients().await;
    let mut session = Session::begin(context, &clients, &rollout, "activate").await?;
    let result = async {
        let (discovery, observed) = observe_prechecked(context, &clients, &rollout).await?;
        let mut plan = session.plan(
            context,
            &rollout,
            &discovery.tree,
            &observed,
            PlanScope {
                phase: args.phase.clone(),
                destroy: false,
                member_role: member_role(&args.run, &rollout),
                ignore_gates: ignored_gates(&args.run, &rollout)?,
            },
        )?;
        // Only activations: grants that are missing or need other changes are `apply`'s
        // business.
        plan.changes
            .retain(|change| matches!(change.action, Action::Activate | Action::NoOp));
        plan.summary = Summary::of(&plan.changes);
        session
            .carry_out(
                context,
                &clients,
                Job {
                    command: "activate",
                    rollout: &rollout,
                    tree: &discovery.tree,
                    observed: &observed,
                    phase: args.phase.clone(),
                    run: &args.run,
                },
                plan,
            )
            .await
    }
    .await;
    session.finish(result).await
}
