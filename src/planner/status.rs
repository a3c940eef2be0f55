//! Where every targeted account of a rollout stands: its received grant's status per phase, the
//! activation share, and each phase's `min_active` verdict. Pure: reads observed values only.
//! Which grant reaches an account is `planner::activity`'s rule and the verdict
//! `planner::gates`'s, the same the plan judges its gates by.

use serde::Serialize;

use super::activity::AccountActivity;
use super::diff::{Observed, UnixSeconds};
use super::gates::GateFacts;
pub use super::gates::GateVerdict;
use super::targets::resolve_targets;
use crate::model::grant::GrantStatus;
use crate::model::plan::{PlanFileErrors, RolloutPlan};
use crate::model::{AccountId, OrgTree};

/// One targeted account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountStatus {
    /// The account.
    pub account: AccountId,
    /// Its name.
    pub name: String,
    /// The OU path it sits in (empty at the root).
    pub ou_path: String,
    /// The account's received grant from this rollout, if any.
    pub grant_arn: Option<String>,
    /// Its status; `None` when the account holds no grant of this rollout.
    pub status: Option<GrantStatus>,
}

/// One phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseStatus {
    /// The phase name.
    pub name: String,
    /// Every account it targets (earlier phases' accounts included: phases are cumulative).
    pub accounts: Vec<AccountStatus>,
    /// How many are ACTIVE.
    pub active: usize,
    /// Its gate, if it has one.
    pub gate: Option<GateVerdict>,
}

/// The whole rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// The rollout.
    pub rollout: String,
    /// The license it distributes.
    pub license_arn: String,
    /// The phases up to the limit.
    pub phases: Vec<PhaseStatus>,
}

impl StatusReport {
    /// The report of the phases up to and including `phase` (all when `None`).
    pub fn up_to(mut self, phase: Option<&str>) -> Self {
        if let Some(end) =
            phase.and_then(|name| self.phases.iter().position(|known| known.name == name))
        {
            self.phases.truncate(end + 1);
        }
        self
    }

    /// Whether every phase's gate holds (share reached and baked).
    pub fn gates_hold(&self) -> bool {
        self.phases
            .iter()
            .all(|phase| phase.gate.as_ref().is_none_or(|gate| gate.holds))
    }
}

/// Computes the report for every phase; bake times count from `facts` (the journal) to `now`.
pub fn status(
    rollout: &RolloutPlan,
    tree: &OrgTree,
    observed: &Observed,
    facts: &GateFacts,
    now: UnixSeconds,
) -> Result<StatusReport, PlanFileErrors> {
    let resolved = resolve_targets(rollout, tree)?;
    let activity = AccountActivity::observe(&rollout.name, observed);
    let mut phases = Vec::new();
    for (phase, plan_phase) in resolved.iter().zip(&rollout.phases) {
        let accounts: Vec<AccountStatus> = phase
            .targeted
            .iter()
            .map(|id| {
                let account = tree.account(id);
                let (grant_arn, status) = match activity.best(id) {
                    Some((arn, status)) => (Some(arn.to_owned()), Some(status.clone())),
                    None => (None, None),
                };
                AccountStatus {
                    account: id.clone(),
                    name: account
                        .map(|account| account.name.clone())
                        .unwrap_or_default(),
                    ou_path: account
                        .map(|account| tree.parent_path(&account.parent).to_owned())
                        .unwrap_or_default(),
                    grant_arn,
                    status,
                }
            })
            .collect();
        let share = activity.share(&phase.targeted);
        let gate = plan_phase.gate.as_ref().map(|gate| {
            let since = facts.share_reached_since(&phase.name);
            GateVerdict::judge(gate, share, since, now)
        });
        phases.push(PhaseStatus {
            name: phase.name.clone(),
            accounts,
            active: share.active,
            gate,
        });
    }
    Ok(StatusReport {
        rollout: rollout.name.clone(),
        license_arn: observed.license.arn.clone(),
        phases,
    })
}
