//! Where every targeted account of a rollout stands: its received grant's status per phase, the
//! activation share, and each phase's `min_active` verdict. Pure: reads observed values only.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::diff::{GateFacts, Observed, UnixSeconds};
use super::targets::resolve_targets;
use crate::model::grant::{GrantStatus, account_of_principal_arn};
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

/// A phase's gate verdict: what the next phase waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateVerdict {
    /// The share of accounts that must be ACTIVE, in percent.
    pub min_active_percent: u8,
    /// Whether that share is reached now.
    pub min_active_holds: bool,
    /// The bake time after the share is reached, in seconds.
    pub bake_seconds: u64,
    /// When the share was first seen reached (seconds since the epoch, from the journal).
    pub active_since: Option<UnixSeconds>,
    /// How long it has baked so far, in seconds.
    pub baked_seconds: u64,
    /// Whether the whole gate holds: the share reached and baked long enough.
    pub holds: bool,
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

/// Which status says most about an account's access: ACTIVE first, then how close it is.
fn rank(status: &GrantStatus) -> u8 {
    match status {
        GrantStatus::Active => 0,
        GrantStatus::Disabled => 1,
        GrantStatus::PendingAccept => 2,
        GrantStatus::PendingWorkflow => 3,
        GrantStatus::WorkflowCompleted => 4,
        GrantStatus::Rejected => 5,
        GrantStatus::FailedWorkflow => 6,
        _ => 7,
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
    let ours: BTreeMap<&str, &crate::model::grant::DistributedGrant> = observed
        .grants
        .iter()
        .filter(|grant| grant.is_owned_by(&rollout.name) && !grant.status.is_dead())
        .map(|grant| (grant.arn.as_str(), grant))
        .collect();
    // The best received grant of ours per account; direct account grants without a received
    // row count by their own status.
    let mut best: BTreeMap<AccountId, (String, GrantStatus)> = BTreeMap::new();
    let mut offer = |account: AccountId, arn: &str, status: &GrantStatus| {
        let better = best
            .get(&account)
            .is_none_or(|(_, current)| rank(status) < rank(current));
        if better {
            best.insert(account, (arn.to_owned(), status.clone()));
        }
    };
    let received_accounts: BTreeSet<&AccountId> = observed
        .received
        .iter()
        .map(|received| &received.account)
        .collect();
    for received in &observed.received {
        if ours.contains_key(received.parent_arn.as_str())
            || ours.contains_key(received.grant_arn.as_str())
        {
            offer(
                received.account.clone(),
                &received.grant_arn,
                &received.status,
            );
        }
    }
    for grant in ours.values() {
        if let Some(account) = account_of_principal_arn(&grant.principal_arn)
            && !received_accounts.contains(&account)
        {
            offer(account, &grant.arn, &grant.status);
        }
    }
    let mut phases = Vec::new();
    for (phase, plan_phase) in resolved.iter().zip(&rollout.phases) {
        let accounts: Vec<AccountStatus> = phase
            .targeted
            .iter()
            .map(|id| {
                let account = tree.account(id);
                let (grant_arn, status) = match best.get(id) {
                    Some((arn, status)) => (Some(arn.clone()), Some(status.clone())),
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
        let active = accounts
            .iter()
            .filter(|account| account.status == Some(GrantStatus::Active))
            .count();
        let gate = plan_phase.gate.as_ref().map(|gate| {
            let min_active_holds = accounts.is_empty()
                || active * 100 >= usize::from(gate.min_active_percent) * accounts.len();
            let active_since = facts
                .fully_active_since
                .get(&phase.name)
                .copied()
                .filter(|_| min_active_holds);
            let baked_seconds = active_since.map_or(0, |since| {
                u64::try_from(now.saturating_sub(since)).unwrap_or(0)
            });
            GateVerdict {
                min_active_percent: gate.min_active_percent,
                min_active_holds,
                bake_seconds: gate.bake_seconds,
                active_since,
                baked_seconds,
                holds: min_active_holds
                    && (gate.bake_seconds == 0 || baked_seconds >= gate.bake_seconds),
            }
        });
        phases.push(PhaseStatus {
            name: phase.name.clone(),
            accounts,
            active,
            gate,
        });
    }
    Ok(StatusReport {
        rollout: rollout.name.clone(),
        license_arn: observed.license.arn.clone(),
        phases,
    })
}
