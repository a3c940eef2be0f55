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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::license;

    #[test]
    fn an_account_is_active_waiting_failed_or_missing() {
        assert_eq!(AccountState::of(None), AccountState::Missing);
        assert_eq!(
            AccountState::of(Some(&GrantStatus::Active)),
            AccountState::Active
        );
        for waiting in [
            GrantStatus::PendingWorkflow,
            GrantStatus::PendingAccept,
            GrantStatus::Disabled,
            GrantStatus::WorkflowCompleted,
        ] {
            assert_eq!(AccountState::of(Some(&waiting)), AccountState::Waiting);
        }
        for failed in [
            GrantStatus::Rejected,
            GrantStatus::FailedWorkflow,
            GrantStatus::Deleted,
            GrantStatus::PendingDelete,
        ] {
            assert_eq!(AccountState::of(Some(&failed)), AccountState::Failed);
        }
    }

    fn agreement(id: &str, status: &str, licenses: &[&str], products: &[&str]) -> AgreementInfo {
        AgreementInfo {
            id: id.into(),
            status: status.into(),
            products: products
                .iter()
                .map(|product| (*product).to_owned())
                .collect(),
            license_arns: licenses.iter().map(|arn| (*arn).to_owned()).collect(),
        }
    }

    const ARN: &str = "arn:aws:license-manager::1:license:l-1";

    #[test]
    fn a_live_subscription_names_its_active_agreement_and_is_usable() {
        let live = license(ARN, "prod-a", LicenseStatus::Available);
        let agreements = [
            agreement("agmt-old", "CANCELLED", &[ARN], &["prod-a"]),
            agreement("agmt-new", "ACTIVE", &[ARN], &["prod-a"]),
            agreement("agmt-other", "ACTIVE", &["arn:other"], &["prod-a"]),
        ];
        let subscription = SubscriptionStatus::of(&live, &agreements);
        assert_eq!(subscription.agreement_id.as_deref(), Some("agmt-new"));
        assert_eq!(subscription.agreement_status.as_deref(), Some("ACTIVE"));
        assert!(!subscription.ended);
        assert!(subscription.usable);
        assert_eq!(subscription.cleanup_hint(), None);
        // Without any agreement found, the license alone decides.
        let alone = SubscriptionStatus::of(&live, &[]);
        assert_eq!(alone.agreement_id, None);
        assert!(alone.usable && !alone.ended);
    }

    #[test]
    fn a_deleted_license_names_its_ended_agreement_and_the_cleanup() {
        let deleted = license(ARN, "prod-a", LicenseStatus::Deleted);
        let agreements = [
            agreement("agmt-new", "ACTIVE", &[ARN], &["prod-a"]),
            agreement("agmt-old", "CANCELLED", &[ARN], &["prod-a"]),
        ];
        let subscription = SubscriptionStatus::of(&deleted, &agreements);
        assert_eq!(subscription.agreement_id.as_deref(), Some("agmt-old"));
        assert!(subscription.ended);
        assert!(!subscription.usable);
        assert_eq!(
            subscription.cleanup_hint().as_deref(),
            Some(
                "`entitle cleanup --license arn:aws:license-manager::1:license:l-1` deletes the grants the ended subscription left behind"
            )
        );
    }

    #[test]
    fn an_ended_agreement_ends_a_license_still_shown_available() {
        let shown = license(ARN, "prod-a", LicenseStatus::Available);
        let subscription =
            SubscriptionStatus::of(&shown, &[agreement("agmt-1", "CANCELLED", &[ARN], &[])]);
        assert!(subscription.ended);
        assert!(!subscription.usable);
    }

    #[test]
    fn a_license_not_available_is_not_usable_without_having_ended() {
        let pending = license(ARN, "prod-a", LicenseStatus::PendingAvailable);
        let subscription = SubscriptionStatus::of(&pending, &[]);
        assert!(!subscription.ended);
        assert!(!subscription.usable);
    }

    #[test]
    fn an_agreement_naming_no_license_is_found_by_product_only() {
        let live = license(ARN, "prod-a", LicenseStatus::Available);
        // Older agreements name no license: the product links them.
        let by_product = [agreement("agmt-old-style", "ACTIVE", &[], &["prod-a"])];
        assert_eq!(
            SubscriptionStatus::of(&live, &by_product)
                .agreement_id
                .as_deref(),
            Some("agmt-old-style")
        );
        // An agreement naming another license of the same product is not this one's.
        let elsewhere = [agreement(
            "agmt-else",
            "ACTIVE",
            &["arn:other"],
            &["prod-a"],
        )];
        assert_eq!(SubscriptionStatus::of(&live, &elsewhere).agreement_id, None);
        // Nor one of another product.
        let other = [agreement("agmt-b", "ACTIVE", &[], &["prod-b"])];
        assert_eq!(SubscriptionStatus::of(&live, &other).agreement_id, None);
    }

    fn report(phase_limit: Option<&str>) -> StatusReport {
        let rollout = crate::model::parse_plan(
            "version = 1\nname = \"r\"\n[entitlement]\nproduct = \"prod-a\"\n\
             [[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\"]\ngate = { min_active = \"100%\" }\n\
             [[phase]]\nname = \"workloads\"\nous = [\"Workloads\"]\n\
             [[phase]]\nname = \"everyone\"\norganization = true\n",
            "r.toml",
        )
        .unwrap();
        let observed = Observed {
            license: license(ARN, "prod-a", LicenseStatus::Available),
            grants: Vec::new(),
            received: Vec::new(),
            own_subscriptions: Default::default(),
        };
        let tree = crate::planner::diff::fixtures::tree();
        status(&rollout, &tree, &observed, &GateFacts::default(), 0)
            .unwrap()
            .up_to(phase_limit)
    }

    #[test]
    fn a_report_goes_up_to_the_phase_asked_for() {
        let names = |report: &StatusReport| -> Vec<String> {
            report
                .phases
                .iter()
                .map(|phase| phase.name.clone())
                .collect()
        };
        assert_eq!(names(&report(None)), ["pilot", "workloads", "everyone"]);
        assert_eq!(names(&report(Some("pilot"))), ["pilot"]);
        assert_eq!(names(&report(Some("workloads"))), ["pilot", "workloads"]);
        assert_eq!(names(&report(Some("everyone"))).len(), 3);
        // Nothing granted: every account missing, the pilot's gate not holding.
        let all = report(None);
        assert_eq!(all.phases[2].accounts.len(), 3);
        assert!(all.phases.iter().all(|phase| phase.active == 0));
        assert!(!all.gates_hold());
        // Without gates (or with gates that hold) every gate holds.
        let mut ungated = report(None);
        for phase in &mut ungated.phases {
            phase.gate = None;
        }
        assert!(ungated.gates_hold());
        assert!(report(Some("workloads")).phases[0].gate.is_some());
        assert_eq!(all.subscription.license_status, LicenseStatus::Available);
    }
}
