//! The plan as a value: its changes (a closed set of actions, each with a reason), its phases,
//! the grants it leaves alone, its counts, and why no plan could be made. What `plan` returns,
//! what `ui` renders and what `apply` carries out.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::grant::{
    ActivationOverride, DistributedGrant, GrantStatus, LicenseStatus, Operation, Principal,
};
use crate::model::plan::{Activation, Gate, PlanFileErrors};
use crate::planner::targets::SkippedAccount;

/// What a change does. Closed: the apply step handles exactly these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// CreateGrant (with the change's client token and tags), then activate it when entitle
    /// activates (`activation = "grantor"`).
    Create,
    /// CreateGrantVersion Status=ACTIVE on an existing grant.
    Activate,
    /// CreateGrantVersion with new AllowedOperations (and Status=ACTIVE when it is not yet).
    UpdateOperations,
    /// The grant was deleted, rejected or failed outside entitle: create it anew with the next
    /// generation (deleting the dead one first when it still exists).
    Recreate,
    /// DeleteGrant with the grant's current version.
    Delete,
    /// Nothing to do; the reason says what state it is in.
    NoOp,
}

impl Action {
    /// Terraform's symbol for it.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Create => "+",
            Self::Activate | Self::UpdateOperations => "~",
            Self::Recreate => "-/+",
            Self::Delete => "-",
            Self::NoOp => " ",
        }
    }
}

/// A grant as it is, or as it will be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantState {
    /// The grant ARN (absent before creation).
    pub arn: Option<String>,
    /// The grant name.
    pub name: String,
    /// Its status (for `after`: what the change aims for).
    pub status: GrantStatus,
    /// Its version (absent before creation).
    pub version: Option<String>,
    /// The operations it allows.
    pub operations: BTreeSet<Operation>,
    /// Its generation (see [`crate::model::grant::TAG_GENERATION`]).
    pub generation: u32,
}

impl GrantState {
    pub(crate) fn observed(grant: &DistributedGrant) -> Self {
        Self {
            arn: Some(grant.arn.clone()),
            name: grant.name.clone(),
            status: grant.status.clone(),
            version: Some(grant.version.clone()),
            operations: grant.granted_operations.clone(),
            generation: grant.generation(),
        }
    }
}

/// One change of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The phase it belongs to (for deletions of grants no phase wants: the phase in the
    /// grant's tag, or `-`).
    pub phase: String,
    /// Who the grant is for.
    pub principal: Principal,
    /// The principal's ARN.
    pub principal_arn: String,
    /// For people: the account or OU name (the organisation id for the organisation).
    pub principal_name: String,
    /// For people: the OU path the principal sits in or is (empty at the root).
    pub principal_path: String,
    /// How many targeted accounts the grant reaches now.
    pub accounts: usize,
    /// What to do.
    pub action: Action,
    /// The grant as it is (absent for a create).
    pub before: Option<GrantState>,
    /// The grant as it will be (absent for a delete).
    pub after: Option<GrantState>,
    /// Why, for people.
    pub reason: String,
    /// The ClientToken of CreateGrant (create and recreate only).
    pub client_token: Option<String>,
    /// The tags CreateGrant puts on the grant (create and recreate only).
    pub tags: BTreeMap<String, String>,
    /// Whether the phase's gate blocks this change (see [`PhasePlan::blocked`]).
    pub blocked: bool,
    /// For a grant retired by `retire_superseded` in the same run that activates the broader
    /// grant: that grant's principal ARN. The delete happens only once that activation is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub once_active: Option<String>,
}

/// A phase as planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhasePlan {
    /// The phase name.
    pub name: String,
    /// Whether the phase is within `--phase` (phases after it are listed, not planned).
    pub included: bool,
    /// Why its changes may not be applied yet (its predecessor's gate), if so.
    pub blocked: Option<String>,
    /// How many accounts it targets.
    pub targeted: usize,
    /// How many of them have an ACTIVE grant of this rollout now.
    pub active: usize,
    /// Selected accounts that are not granted, and why.
    pub skipped: Vec<SkippedAccount>,
    /// Its gate, which the next phase waits for.
    pub gate: Option<Gate>,
    /// Why its predecessor's gate does not hold, when `--ignore-gate`/`--ignore-gates` let this
    /// phase through anyway (the journal records it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_ignored: Option<String>,
}

/// A grant of the license that the rollout does not own: shown, never touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnownedGrant {
    /// Grant ARN.
    pub arn: String,
    /// Grant name.
    pub name: String,
    /// Principal ARN.
    pub principal_arn: String,
    /// Status.
    pub status: GrantStatus,
    /// The rollout that owns it, when another entitle rollout does.
    pub owner: Option<String>,
}

/// Counts of a plan (blocked changes are counted apart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Creates and recreates.
    pub create: usize,
    /// Activations.
    pub activate: usize,
    /// Operation updates.
    pub update: usize,
    /// Deletions.
    pub delete: usize,
    /// Of `create`, how many replace a dead grant.
    pub recreate: usize,
    /// Grants left as they are.
    pub unchanged: usize,
    /// Changes held back by gates.
    pub blocked: usize,
}

impl Summary {
    /// Counts `changes` (blocked ones apart).
    pub fn of(changes: &[Change]) -> Self {
        let mut summary = Summary::default();
        for change in changes {
            if change.blocked && change.action != Action::NoOp {
                summary.blocked += 1;
                continue;
            }
            match change.action {
                Action::Create => summary.create += 1,
                Action::Recreate => {
                    summary.create += 1;
                    summary.recreate += 1;
                }
                Action::Activate => summary.activate += 1,
                Action::UpdateOperations => summary.update += 1,
                Action::Delete => summary.delete += 1,
                Action::NoOp => summary.unchanged += 1,
            }
        }
        summary
    }
}

/// The plan: every change, in phase order, and what was seen on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The rollout's name.
    pub rollout: String,
    /// The license distributed.
    pub license_arn: String,
    /// Its product (`prod-...`).
    pub product_sku: String,
    /// Its product name.
    pub product_name: String,
    /// `--phase`, when given.
    pub phase_limit: Option<String>,
    /// The operations every grant allows.
    pub operations: BTreeSet<Operation>,
    /// Who activates.
    pub activation: Activation,
    /// `Options.ActivationOverrideBehavior` for every activation.
    pub activation_override: ActivationOverride,
    /// The phases, in order.
    pub phases: Vec<PhasePlan>,
    /// The changes, by phase, then principal kind (organisation, OU, account) and id.
    pub changes: Vec<Change>,
    /// Grants of the license the rollout does not own.
    pub unowned: Vec<UnownedGrant>,
    /// Counts.
    pub summary: Summary,
    /// Whether this plan tears the rollout down (`--destroy`): the executor deletes in reverse
    /// phase order. Written to JSON only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroy: bool,
}

impl Plan {
    /// Whether applying the plan would change anything now (blocked changes do not count).
    pub fn has_changes(&self) -> bool {
        self.changes
            .iter()
            .any(|change| change.action != Action::NoOp && !change.blocked)
    }
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The plan file does not fit the organisation or the license (each problem located).
    #[error("{0}")]
    PlanFile(#[from] PlanFileErrors),
    /// `--phase` names no phase of the plan.
    #[error("the plan has no phase `{name}`")]
    UnknownPhase {
        /// The name given.
        name: String,
        /// The nearest phase name.
        suggestion: Option<String>,
    },
    /// The license cannot be distributed (the agreement was cancelled, or it expired).
    #[error("license `{arn}` is `{status}`, not AVAILABLE: its grants cannot be used")]
    LicenseNotAvailable {
        /// The license ARN.
        arn: String,
        /// Its status.
        status: LicenseStatus,
    },
}

impl PlanError {
    /// What a person can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::PlanFile(_) => None,
            Self::UnknownPhase { suggestion, .. } => suggestion
                .as_ref()
                .map(|name| format!("did you mean `{name}`?")),
            Self::LicenseNotAvailable { arn, .. } => Some(format!(
                "a cancelled or expired agreement leaves its grants behind: `entitle cleanup --license {arn}` deletes them"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: Action, blocked: bool) -> Change {
        let principal =
            Principal::from_arn("arn:aws:iam::111111111111:root").expect("an account principal");
        Change {
            phase: "pilot".to_owned(),
            principal_arn: principal.arn(),
            principal,
            principal_name: String::new(),
            principal_path: String::new(),
            accounts: 1,
            action,
            before: None,
            after: None,
            reason: String::new(),
            client_token: None,
            tags: BTreeMap::new(),
            blocked,
            once_active: None,
        }
    }

    #[test]
    fn actions_carry_terraform_s_symbols() {
        let symbols: Vec<&str> = [
            Action::Create,
            Action::Activate,
            Action::UpdateOperations,
            Action::Recreate,
            Action::Delete,
            Action::NoOp,
        ]
        .into_iter()
        .map(Action::symbol)
        .collect();
        assert_eq!(symbols, ["+", "~", "~", "-/+", "-", " "]);
    }

    #[test]
    fn the_summary_counts_blocked_changes_apart_and_blocked_no_ops_as_unchanged() {
        let changes = [
            change(Action::Create, false),
            change(Action::Create, false),
            change(Action::Recreate, false),
            change(Action::Activate, false),
            change(Action::UpdateOperations, false),
            change(Action::Delete, false),
            change(Action::NoOp, false),
            change(Action::NoOp, true),
            change(Action::Create, true),
        ];
        assert_eq!(
            Summary::of(&changes),
            Summary {
                create: 3,
                activate: 1,
                update: 1,
                delete: 1,
                recreate: 1,
                unchanged: 2,
                blocked: 1,
            }
        );
    }

    #[test]
    fn only_unblocked_changes_make_a_plan_that_changes_anything() {
        let mut plan = Plan {
            rollout: "r".to_owned(),
            license_arn: "arn:l".to_owned(),
            product_sku: "prod-a".to_owned(),
            product_name: "A".to_owned(),
            phase_limit: None,
            operations: BTreeSet::new(),
            activation: Activation::Grantor,
            activation_override: ActivationOverride::DistributedGrantsOnly,
            phases: Vec::new(),
            changes: vec![change(Action::NoOp, false), change(Action::Create, true)],
            unowned: Vec::new(),
            summary: Summary::default(),
            destroy: false,
        };
        assert!(!plan.has_changes());
        plan.changes.push(change(Action::Delete, false));
        assert!(plan.has_changes());
    }

    #[test]
    fn only_an_unknown_phase_with_a_near_miss_or_an_unavailable_license_has_a_hint() {
        let unknown = PlanError::UnknownPhase {
            name: "x".to_owned(),
            suggestion: None,
        };
        assert_eq!(unknown.hint(), None);
        let errors = PlanError::PlanFile(PlanFileErrors {
            diagnostics: Vec::new(),
        });
        assert_eq!(errors.hint(), None);
    }
}
