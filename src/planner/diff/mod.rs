//! The diff: what must change so that the grants of the license match the rollout plan, with a
//! closed set of actions and a reason for every change.
//!
//! The inputs are values (the plan, the tree, the observed grants, the gate facts, `now`); the
//! output is a [`Plan`]. Nothing here calls AWS, reads a clock or prints.
//!
//! [`plan`] runs the stages in order, each in a module a reader can take alone:
//!
//! 1. `wanted`: how far `--phase` reaches, the operations, and which phase first wants each
//!    principal of the phases' covers (within [`MAX_GRANTS_PER_LICENSE`]);
//! 2. `existing`: the license's grants split into the rollout's own (by principal, with the
//!    live one a change works on) and everyone else's;
//! 3. `planner::activity`: which accounts are active, and each organisation or OU
//!    grant's per-account grants;
//! 4. `phases`: each phase's gate verdict (`planner::gates`), which blocks the phases
//!    after it unless `--ignore-gate` lets it through;
//! 5. `retire`: which earlier grants `retire_superseded` retires now, and which once the
//!    broader grant is activated;
//! 6. `changes`: the change for each wanted principal and the deletes of grants no phase wants;
//! 7. here: pending retirements turned into deletes of this run, then ordering and counts.

mod changes;
mod existing;
mod inputs;
mod output;
mod phases;
mod retire;
mod wanted;

use crate::model::grant::{ActivationOverride, LicenseStatus, Principal};
use crate::model::plan::OnExistingSubscription;
use crate::model::{OrgTree, RolloutPlan};
use crate::planner::activity::{AccountActivity, grants_by_parent};
use crate::planner::cover::{CoverGrant, cover};
use crate::planner::targets::resolve_targets;

pub(crate) use changes::principal_label;
pub use inputs::{Observed, PlanOptions, UnixSeconds};
pub use output::{Action, Change, GrantState, PhasePlan, Plan, PlanError, Summary, UnownedGrant};
pub use wanted::MAX_GRANTS_PER_LICENSE;

/// Plans the rollout: resolves targets, computes each phase's cover, and diffs it against the
/// observed grants. See `docs/plan-format.md` for the semantics.
pub fn plan(
    rollout: &RolloutPlan,
    tree: &OrgTree,
    observed: &Observed,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let license = &observed.license;
    let limit = wanted::phase_limit(rollout, options.phase.as_deref())?;
    let resolved = resolve_targets(rollout, tree)?;
    if license.status != LicenseStatus::Available {
        return Err(PlanError::LicenseNotAvailable {
            arn: license.arn.clone(),
            status: license.status.clone(),
        });
    }
    let operations = wanted::check_operations(rollout, license)?;
    let covers_by_phase: Vec<Vec<CoverGrant>> =
        resolved.iter().map(|phase| cover(phase, tree)).collect();
    let wanted = wanted::wanted_principals(rollout, &covers_by_phase, options.destroy)?;

    let existing = existing::Existing::split(&rollout.name, observed);
    let activity = AccountActivity::observe(&rollout.name, observed);
    let by_parent = grants_by_parent(&observed.received, &license.arn);
    let phases = phases::plan_phases(rollout, &resolved, &activity, limit, options);
    let retirements = retire::Retirements::find(
        rollout,
        tree,
        limit,
        &covers_by_phase,
        &wanted,
        &existing,
        &by_parent,
    );

    let differ = changes::Differ {
        rollout,
        tree,
        observed,
        options,
        limit,
        operations: &operations,
        existing: &existing,
        activity: &activity,
        by_parent: &by_parent,
        phases: &phases,
        retirements: &retirements,
        maker: changes::ChangeMaker {
            tree,
            rollout: &rollout.name,
            license_arn: &license.arn,
        },
    };
    let mut changes = differ.wanted_changes(&wanted);
    changes.extend(differ.unwanted_deletes(&wanted));
    retirements.delete_once_active(&mut changes, rollout, &phases);
    sort_changes(&mut changes, rollout);
    let summary = Summary::of(&changes);

    Ok(Plan {
        rollout: rollout.name.clone(),
        license_arn: license.arn.clone(),
        product_sku: license.product_sku.clone(),
        product_name: license.product_name.clone(),
        phase_limit: options.phase.clone(),
        operations,
        activation: rollout.entitlement.activation,
        activation_override: match rollout.entitlement.on_existing_subscription {
            OnExistingSubscription::Keep => ActivationOverride::DistributedGrantsOnly,
            OnExistingSubscription::Replace => ActivationOverride::AllGrantsPermittedByIssuer,
        },
        phases,
        changes,
        unowned: existing.unowned,
        summary,
        destroy: options.destroy,
    })
}

/// Puts the changes in the order people read and the executor runs them: by phase (deletes of
/// no current phase last), then organisation, OU and account principals, then OU path, principal
/// and action.
fn sort_changes(changes: &mut [Change], rollout: &RolloutPlan) {
    changes.sort_by_key(|change| {
        let phase = rollout.phase_index(&change.phase).unwrap_or(usize::MAX);
        let kind = match change.principal {
            Principal::Organization { .. } => 0,
            Principal::Ou { .. } => 1,
            Principal::Account { .. } => 2,
        };
        (
            phase,
            kind,
            change.principal_path.clone(),
            change.principal_arn.clone(),
            change.action,
        )
    });
}

/// A small organisation and plan for the stages' unit tests: Workloads (two accounts) and
/// Sandbox (one) under the root, beside the management account.
#[cfg(test)]
pub(in crate::planner) mod fixtures {
    #![allow(clippy::unwrap_used)]

    use std::collections::{BTreeMap, BTreeSet};

    use super::Observed;
    use crate::model::grant::{
        DistributedGrant, GrantStatus, LicenseInfo, LicenseStatus, Operation, TAG_PHASE,
        TAG_ROLLOUT,
    };
    use crate::model::{
        Account, AccountId, AccountState, FeatureSet, OrgId, OrgTree, OrgUnit, Organization, OuId,
        ParentId, RolloutPlan, Root, RootId,
    };

    pub(in crate::planner) const LICENSE: &str =
        "arn:aws:license-manager::294406891311:license:l-1";
    pub(in crate::planner) const WORKLOADS: &str = "ou-ab12-aaaaaaaa";
    pub(in crate::planner) const SANDBOX: &str = "ou-ab12-bbbbbbbb";

    pub(in crate::planner) fn tree() -> OrgTree {
        let account = |id: &str, parent: &str| Account {
            id: AccountId::parse(id).unwrap(),
            name: format!("acct-{id}"),
            email: format!("{id}@example.com"),
            arn: format!("arn:aws:organizations::100000000001:account/o-test123456/{id}"),
            state: AccountState::Active,
            parent: ParentId::parse(parent).unwrap(),
            tags: BTreeMap::new(),
        };
        let unit = |id: &str, name: &str| OrgUnit {
            id: OuId::parse(id).unwrap(),
            arn: format!("arn:aws:organizations::100000000001:ou/o-test123456/{id}"),
            name: name.into(),
            parent: ParentId::parse("r-ab12").unwrap(),
        };
        OrgTree::new(
            Organization {
                id: OrgId::parse("o-test123456").unwrap(),
                arn: "arn:aws:organizations::100000000001:organization/o-test123456".into(),
                management_account: AccountId::parse("100000000001").unwrap(),
                feature_set: FeatureSet::All,
            },
            Root {
                id: RootId::parse("r-ab12").unwrap(),
                arn: "arn:aws:organizations::100000000001:root/o-test123456/r-ab12".into(),
                name: "Root".into(),
            },
            [unit(WORKLOADS, "Workloads"), unit(SANDBOX, "Sandbox")],
            [
                account("100000000001", "r-ab12"),
                account("111111111111", WORKLOADS),
                account("222222222222", WORKLOADS),
                account("333333333333", SANDBOX),
            ],
        )
        .unwrap()
    }

    /// A rollout `r` with the given `[[phase]]` tables.
    pub(super) fn rollout(phases: &str) -> RolloutPlan {
        let text =
            format!("version = 1\nname = \"r\"\n\n[entitlement]\nproduct = \"prod-a\"\n\n{phases}");
        crate::model::parse_plan(&text, "r.toml").unwrap()
    }

    /// A grant of rollout `r` in phase `phase`.
    pub(super) fn grant(
        number: u32,
        phase: &str,
        principal_arn: &str,
        status: GrantStatus,
    ) -> DistributedGrant {
        DistributedGrant {
            arn: format!("arn:aws:license-manager::100000000001:grant:g-{number}"),
            name: format!("entitle/r/{phase}"),
            principal_arn: principal_arn.into(),
            status,
            status_reason: None,
            version: "1".into(),
            granted_operations: [Operation::CheckoutLicense].into(),
            tags: [
                (TAG_ROLLOUT.to_owned(), "r".to_owned()),
                (TAG_PHASE.to_owned(), phase.to_owned()),
            ]
            .into(),
            license_arn: LICENSE.into(),
        }
    }

    pub(super) fn observed(grants: Vec<DistributedGrant>) -> Observed {
        Observed {
            license: LicenseInfo {
                arn: LICENSE.into(),
                product_sku: "prod-a".into(),
                product_name: "A".into(),
                status: LicenseStatus::Available,
                allowed_operations: [Operation::CheckoutLicense].into(),
                issuer: "AWS/Marketplace".into(),
                home_region: "us-east-1".into(),
            },
            grants,
            received: Vec::new(),
            own_subscriptions: BTreeSet::new(),
        }
    }
}
