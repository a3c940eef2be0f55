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
use crate::model::agreement::AgreementInfo;
use crate::model::grant::{GrantStatus, LicenseInfo, LicenseStatus};
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

/// Where an account stands, in the words `status --only` filters by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// Its grant is ACTIVE: it can use the product.
    Active,
    /// Its grant is on the way: being distributed, waiting to be accepted (PENDING_ACCEPT) or
    /// activated (DISABLED, WORKFLOW_COMPLETED).
    Waiting,
    /// Its grant can never serve: REJECTED, FAILED_WORKFLOW, DELETED or being deleted.
    Failed,
    /// No grant of this rollout reaches it.
    Missing,
}

impl AccountState {
    /// The state of an account whose best grant of the rollout has `status` (`None`: no grant).
    pub fn of(status: Option<&GrantStatus>) -> Self {
        match status {
            None => Self::Missing,
            Some(GrantStatus::Active) => Self::Active,
            Some(status) if status.is_dead() => Self::Failed,
            Some(_) => Self::Waiting,
        }
    }
}

/// The subscription the rollout distributes: its license's status and its agreement's. When it
/// has ended, the grants still standing (even ACTIVE ones) give no access any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionStatus {
    /// The license.
    pub license_arn: String,
    /// Its product (`prod-...`).
    pub product: String,
    /// The license's status (`AVAILABLE` while the subscription lasts).
    pub license_status: LicenseStatus,
    /// The purchase agreement that leads to the license, when one was found.
    pub agreement_id: Option<String>,
    /// Its status (`ACTIVE`, `CANCELLED`, `EXPIRED`, ...).
    pub agreement_status: Option<String>,
    /// Whether the subscription has ended (license DELETED or EXPIRED, or its agreement ended).
    pub ended: bool,
    /// Whether the license can be distributed and used (AVAILABLE and not ended).
    pub usable: bool,
}

impl SubscriptionStatus {
    /// The subscription of `license`, with the agreement among `agreements` that leads to it:
    /// by its entitlements, or (agreements naming none) by product; an ACTIVE one first while
    /// the license is AVAILABLE, an ended one first otherwise.
    pub fn of(license: &LicenseInfo, agreements: &[AgreementInfo]) -> Self {
        let license_ended = matches!(
            license.status,
            LicenseStatus::Deleted | LicenseStatus::Expired | LicenseStatus::PendingDelete
        );
        let by_entitlement: Vec<&AgreementInfo> = agreements
            .iter()
            .filter(|agreement| agreement.license_arns.contains(&license.arn))
            .collect();
        let candidates = if by_entitlement.is_empty() {
            agreements
                .iter()
                .filter(|agreement| {
                    agreement.license_arns.is_empty()
                        && agreement.products.contains(&license.product_sku)
                })
                .collect()
        } else {
            by_entitlement
        };
        let agreement = candidates
            .iter()
            .find(|agreement| {
                (agreement.status == "ACTIVE") == (license.status == LicenseStatus::Available)
            })
            .or(candidates.first())
            .copied();
        let agreement_ended =
            agreement.is_some_and(|agreement| super::cleanup::agreement_ended(&agreement.status));
        let ended = license_ended || agreement_ended;
        Self {
            license_arn: license.arn.clone(),
            product: license.product_sku.clone(),
            license_status: license.status.clone(),
            agreement_id: agreement.map(|agreement| agreement.id.clone()),
            agreement_status: agreement.map(|agreement| agreement.status.clone()),
            ended,
            usable: !ended && license.status == LicenseStatus::Available,
        }
    }

    /// What a person can do about an ended subscription: delete the grants it left behind.
    pub fn cleanup_hint(&self) -> Option<String> {
        self.ended.then(|| {
            format!(
                "`entitle cleanup --license {}` deletes the grants the ended subscription left behind",
                self.license_arn
            )
        })
    }
}

/// The whole rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// The rollout.
    pub rollout: String,
    /// The license it distributes.
    pub license_arn: String,
    /// The subscription: the license's status and its agreement's.
    pub subscription: SubscriptionStatus,
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

    /// The report with the subscription's agreement among `agreements` (what `status` found).
    pub fn with_agreements(mut self, license: &LicenseInfo, agreements: &[AgreementInfo]) -> Self {
        self.subscription = SubscriptionStatus::of(license, agreements);
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
        subscription: SubscriptionStatus::of(&observed.license, &[]),
        phases,
    })
}
