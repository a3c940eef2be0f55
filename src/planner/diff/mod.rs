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

    use std::collections::BTreeSet;

    use super::Observed;
    use crate::model::fixtures::{account, tree_of, unit};
    use crate::model::grant::{
        DistributedGrant, GrantStatus, LicenseInfo, LicenseStatus, Operation, TAG_PHASE,
        TAG_ROLLOUT,
    };
    use crate::model::{OrgTree, RolloutPlan};

    pub(in crate::planner) const LICENSE: &str =
        "arn:aws:license-manager::294406891311:license:l-1";
    pub(in crate::planner) const WORKLOADS: &str = "ou-ab12-aaaaaaaa";
    pub(in crate::planner) const SANDBOX: &str = "ou-ab12-bbbbbbbb";

    pub(in crate::planner) fn tree() -> OrgTree {
        tree_of(
            [
                unit(WORKLOADS, "Workloads", "r-ab12"),
                unit(SANDBOX, "Sandbox", "r-ab12"),
            ],
            [
                account("100000000001", "r-ab12"),
                account("111111111111", WORKLOADS),
                account("222222222222", WORKLOADS),
                account("333333333333", SANDBOX),
            ],
        )
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::fixtures::{LICENSE, SANDBOX, WORKLOADS, grant, observed, rollout, tree};
    use super::*;
    use crate::model::AccountId;
    use crate::model::grant::{GrantStatus, LicenseStatus, Operation, ReceivedGrant};
    use crate::planner::gates::IgnoreGates;

    const ACCOUNT_1: &str = "arn:aws:iam::111111111111:root";
    const ACCOUNT_2: &str = "arn:aws:iam::222222222222:root";
    const ACCOUNT_3: &str = "arn:aws:iam::333333333333:root";

    fn ou_arn(id: &str) -> String {
        format!("arn:aws:organizations::100000000001:ou/o-test123456/{id}")
    }

    /// Each change as `phase action principal [blocked]: reason`.
    fn lines(plan: &Plan) -> Vec<String> {
        plan.changes
            .iter()
            .map(|change| {
                format!(
                    "{} {:?} {}{}: {}",
                    change.phase,
                    change.action,
                    change.principal.id(),
                    if change.blocked { " blocked" } else { "" },
                    change.reason
                )
            })
            .collect()
    }

    fn plan_of(phases: &str, observed: &Observed, options: &PlanOptions) -> Plan {
        plan(&rollout(phases), &tree(), observed, options).unwrap()
    }

    fn received(account: &str, grant_arn: &str, status: GrantStatus) -> ReceivedGrant {
        ReceivedGrant {
            account: AccountId::parse(account).unwrap(),
            grant_arn: format!("{grant_arn}/{account}"),
            parent_arn: grant_arn.to_owned(),
            status,
        }
    }

    fn grant_arn(number: u32) -> String {
        format!("arn:aws:license-manager::100000000001:grant:g-{number}")
    }

    const PILOT_THEN_WORKLOADS: &str = r#"
[[phase]]
name = "pilot"
accounts = ["111111111111"]

[[phase]]
name = "workloads"
ous = ["Workloads"]
"#;

    #[test]
    fn nothing_granted_yet_creates_each_phase_s_principals_in_phase_order() {
        let plan = plan_of(
            PILOT_THEN_WORKLOADS,
            &observed(Vec::new()),
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&plan),
            [
                "pilot Create 111111111111: phase `pilot` targets it and no grant exists: create, then activate it",
                "workloads Create ou-ab12-aaaaaaaa: phase `workloads` targets it and no grant exists: create, then activate it",
            ]
        );
        let create = &plan.changes[1];
        assert_eq!(create.principal_arn, ou_arn(WORKLOADS));
        assert_eq!(
            (create.principal_name.as_str(), create.accounts),
            ("Workloads", 2)
        );
        let after = create.after.as_ref().unwrap();
        assert_eq!(after.status, GrantStatus::Active);
        assert_eq!(after.generation, 0);
        assert_eq!(
            after.name,
            crate::model::grant::grant_name("r", "workloads", 0, LICENSE, &ou_arn(WORKLOADS))
        );
        assert!(after.name.starts_with("entitle/r/workloads/0/"));
        assert_eq!(after.operations, [Operation::CheckoutLicense].into());
        assert!(create.client_token.is_some());
        assert_eq!(
            plan.summary,
            Summary {
                create: 2,
                ..Summary::default()
            }
        );
        assert!(plan.has_changes());
        assert_eq!(plan.operations, [Operation::CheckoutLicense].into());
        assert_eq!(
            plan.activation_override,
            ActivationOverride::DistributedGrantsOnly
        );
    }

    #[test]
    fn live_grants_are_left_activated_or_updated_as_they_differ() {
        let mut wider = grant(3, "all", ACCOUNT_3, GrantStatus::Active);
        wider.granted_operations.insert(Operation::CheckInLicense);
        let observed = observed(vec![
            grant(1, "all", ACCOUNT_1, GrantStatus::Active),
            grant(2, "all", ACCOUNT_2, GrantStatus::Disabled),
            wider,
        ]);
        let plan = plan_of(
            "[[phase]]\nname = \"all\"\naccounts = [\"111111111111\", \"222222222222\", \"333333333333\"]\n",
            &observed,
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&plan),
            [
                "all UpdateOperations 333333333333: allowed operations differ from the plan (-CheckInLicense)",
                "all NoOp 111111111111: active",
                "all Activate 222222222222: the grant is `DISABLED`: activate it",
            ]
        );
        assert_eq!(
            plan.summary,
            Summary {
                activate: 1,
                update: 1,
                unchanged: 1,
                ..Summary::default()
            }
        );
        let update = &plan.changes[0];
        assert_eq!(
            update.after.as_ref().unwrap().operations,
            [Operation::CheckoutLicense].into()
        );
        assert_eq!(update.after.as_ref().unwrap().status, GrantStatus::Active);
        assert_eq!(
            plan.changes[2].after.as_ref().unwrap().status,
            GrantStatus::Active
        );
    }

    #[test]
    fn an_update_of_a_disabled_grant_also_activates_it() {
        let mut disabled = grant(1, "all", ACCOUNT_1, GrantStatus::Disabled);
        disabled
            .granted_operations
            .insert(Operation::CheckInLicense);
        let plan = plan_of(
            "[[phase]]\nname = \"all\"\naccounts = [\"111111111111\"]\n",
            &observed(vec![disabled]),
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&plan),
            [
                "all UpdateOperations 111111111111: allowed operations differ from the plan (-CheckInLicense), and activate it"
            ]
        );
        assert_eq!(
            plan.changes[0].after.as_ref().unwrap().status,
            GrantStatus::Active
        );
    }

    #[test]
    fn with_member_activation_entitle_creates_and_leaves_activation_to_the_accounts() {
        let phases = "activation = \"member\"\n\n[[phase]]\nname = \"all\"\naccounts = [\"111111111111\", \"222222222222\", \"333333333333\"]\n";
        let plan = plan_of(
            phases,
            &observed(vec![
                grant(1, "all", ACCOUNT_1, GrantStatus::Disabled),
                grant(2, "all", ACCOUNT_2, GrantStatus::PendingWorkflow),
            ]),
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&plan),
            [
                "all Create 333333333333: phase `all` targets it and no grant exists: create; members activate it",
                "all NoOp 111111111111: distributed; member accounts activate it (`activation = \"member\"`)",
                "all NoOp 222222222222: being distributed; members activate it once it is",
            ]
        );
        assert_eq!(
            plan.changes[0].after.as_ref().unwrap().status,
            GrantStatus::Disabled
        );
        assert!(plan.has_changes());
    }

    #[test]
    fn an_account_grant_awaiting_acceptance_is_accepted_only_through_a_member_role() {
        let phases = "[[phase]]\nname = \"all\"\naccounts = [\"111111111111\"]\n";
        let seen = observed(vec![grant(1, "all", ACCOUNT_1, GrantStatus::PendingAccept)]);
        let waiting = plan_of(phases, &seen, &PlanOptions::default());
        assert_eq!(waiting.changes[0].action, Action::NoOp);
        assert!(
            waiting.changes[0].reason.starts_with(
                "waiting for account `111111111111` to accept it: pass `--member-role NAME`"
            ),
            "{}",
            waiting.changes[0].reason
        );
        assert!(!waiting.has_changes());
        let accepting = plan_of(
            phases,
            &seen,
            &PlanOptions {
                member_role: Some("Member".to_owned()),
                ..PlanOptions::default()
            },
        );
        assert_eq!(
            lines(&accepting),
            [
                "all Activate 111111111111: the account has not accepted the grant (`PENDING_ACCEPT`): accept it as the account through role `Member`, then activate it"
            ]
        );
    }

    #[test]
    fn a_dead_grant_is_created_again_as_the_next_generation() {
        let mut rejected = grant(1, "all", ACCOUNT_1, GrantStatus::Rejected);
        rejected.status_reason = Some("the grantee said no".to_owned());
        rejected.tags.insert(
            crate::model::grant::TAG_GENERATION.to_owned(),
            "2".to_owned(),
        );
        let deleted = grant(2, "all", ACCOUNT_2, GrantStatus::Deleted);
        let mut failed = grant(3, "all", ACCOUNT_3, GrantStatus::FailedWorkflow);
        failed.status_reason = Some("no link".to_owned());
        let plan = plan_of(
            "[[phase]]\nname = \"all\"\naccounts = [\"111111111111\", \"222222222222\", \"333333333333\"]\n",
            &observed(vec![rejected, deleted, failed]),
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&plan),
            [
                format!(
                    "all Recreate 333333333333: distribution of grant `{}` failed (no link); apply checks the prerequisites it needs (all features, License Manager linked, trusted access) before creating anything, so it is made again only where they now hold: create it again as generation 1",
                    grant_arn(3)
                ),
                format!(
                    "all Recreate 111111111111: the grantee rejected grant `{}` (the grantee said no): create it again as generation 3",
                    grant_arn(1)
                ),
                format!(
                    "all Recreate 222222222222: grant `{}` was deleted outside entitle: create it again as generation 1",
                    grant_arn(2)
                ),
            ]
        );
        assert_eq!(plan.changes[1].after.as_ref().unwrap().generation, 3);
        assert_eq!(
            plan.summary,
            Summary {
                create: 3,
                recreate: 3,
                ..Summary::default()
            }
        );
    }

    #[test]
    fn grants_no_phase_wants_are_deleted_and_duplicates_too() {
        let observed = observed(vec![
            grant(1, "all", ACCOUNT_1, GrantStatus::Disabled),
            grant(2, "all", ACCOUNT_1, GrantStatus::Active),
            grant(3, "all", ACCOUNT_3, GrantStatus::Active),
            grant(4, "all", ACCOUNT_2, GrantStatus::Deleted),
        ]);
        let plan = plan_of(
            "[[phase]]\nname = \"all\"\naccounts = [\"111111111111\"]\n",
            &observed,
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&plan),
            [
                "all Delete 333333333333: no phase of the plan targets this account any more: delete the grant".to_owned(),
                format!(
                    "all Delete 111111111111: a second grant of this rollout for the same principal; `{}` is kept",
                    grant_arn(2)
                ),
                "all NoOp 111111111111: active".to_owned(),
            ]
        );
        assert_eq!(
            plan.changes[1].before.as_ref().unwrap().arn,
            Some(grant_arn(1))
        );
        assert_eq!(
            plan.summary,
            Summary {
                delete: 2,
                unchanged: 1,
                ..Summary::default()
            }
        );
    }

    #[test]
    fn grants_of_others_are_listed_never_changed() {
        let mut theirs = grant(1, "all", ACCOUNT_1, GrantStatus::Active);
        theirs.tags.insert(
            crate::model::grant::TAG_ROLLOUT.to_owned(),
            "other".to_owned(),
        );
        let mut elsewhere = grant(2, "all", ACCOUNT_2, GrantStatus::Active);
        elsewhere.license_arn = "arn:aws:license-manager::1:license:l-2".to_owned();
        let plan = plan_of(
            "[[phase]]\nname = \"all\"\naccounts = [\"111111111111\", \"222222222222\"]\n",
            &observed(vec![theirs, elsewhere]),
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&plan),
            [
                "all Create 111111111111: phase `all` targets it and no grant exists: create, then activate it (note: grant `entitle/r/all`, not owned by this rollout, already names this principal)",
                "all Create 222222222222: phase `all` targets it and no grant exists: create, then activate it",
            ]
        );
        assert_eq!(
            plan.unowned.len(),
            1,
            "a grant of another license is not listed"
        );
        assert_eq!(plan.unowned[0].owner.as_deref(), Some("other"));
    }

    #[test]
    fn a_held_gate_blocks_the_next_phase_s_changes() {
        let phases = r#"
[[phase]]
name = "pilot"
accounts = ["111111111111"]
gate = { min_active = "100%" }

[[phase]]
name = "rest"
accounts = ["111111111111", "333333333333"]
"#;
        let held = observed(vec![grant(
            1,
            "pilot",
            ACCOUNT_1,
            GrantStatus::PendingWorkflow,
        )]);
        let plan = plan_of(phases, &held, &PlanOptions::default());
        assert_eq!(
            lines(&plan),
            [
                "pilot Activate 111111111111: the grant is being distributed (`PENDING_WORKFLOW`): activate it once it is (apply waits up to `--distribution-wait`; a later run finishes otherwise)",
                "rest Create 333333333333 blocked: phase `rest` targets it and no grant exists: create, then activate it",
            ]
        );
        assert_eq!(
            plan.summary,
            Summary {
                activate: 1,
                blocked: 1,
                ..Summary::default()
            }
        );
        let ignored = PlanOptions {
            ignore_gates: IgnoreGates::All,
            ..PlanOptions::default()
        };
        assert!(!plan_of(phases, &held, &ignored).changes[1].blocked);
        let only_pilot = PlanOptions {
            phase: Some("pilot".to_owned()),
            ..PlanOptions::default()
        };
        assert_eq!(plan_of(phases, &held, &only_pilot).changes.len(), 1);
    }

    #[test]
    fn an_account_grant_a_later_ou_grant_reaches_is_retired() {
        let phases = r#"
[[phase]]
name = "pilot"
accounts = ["111111111111"]

[[phase]]
name = "workloads"
ous = ["Workloads"]
retire_superseded = true
"#;
        let ou = ou_arn(WORKLOADS);
        // The OU grant is not there yet: the pilot's grant goes once it is activated.
        let pending = plan_of(
            phases,
            &observed(vec![grant(1, "pilot", ACCOUNT_1, GrantStatus::Active)]),
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&pending),
            [
                "workloads Create ou-ab12-aaaaaaaa: phase `workloads` targets it and no grant exists: create, then activate it",
                "workloads Delete 111111111111: superseded by the grant to Workloads of phase `workloads` (retire_superseded): deleted in this run once that grant is activated",
            ]
        );
        assert_eq!(pending.changes[1].once_active, Some(ou.clone()));
        // Active in both its accounts: the pilot's grant is deleted now.
        let mut ou_grant = grant(2, "workloads", &ou, GrantStatus::Active);
        ou_grant.status = GrantStatus::WorkflowCompleted;
        let mut seen = observed(vec![
            grant(1, "pilot", ACCOUNT_1, GrantStatus::Active),
            ou_grant,
        ]);
        seen.received = vec![
            received("111111111111", &grant_arn(2), GrantStatus::Active),
            received("222222222222", &grant_arn(2), GrantStatus::Active),
        ];
        let superseded = plan_of(phases, &seen, &PlanOptions::default());
        assert_eq!(
            lines(&superseded),
            [
                "workloads NoOp ou-ab12-aaaaaaaa: distributed and activated in its accounts".to_owned(),
                "workloads Delete 111111111111: superseded by the ACTIVE grant to Workloads of phase `workloads` (retire_superseded)".to_owned(),
            ]
        );
        assert_eq!(superseded.changes[1].once_active, None);
        // The pilot's account still holds it DISABLED: the OU grant is activated, the pilot's
        // grant goes after.
        seen.received[0].status = GrantStatus::Disabled;
        let activating = plan_of(phases, &seen, &PlanOptions::default());
        assert_eq!(
            lines(&activating),
            [
                "workloads Activate ou-ab12-aaaaaaaa: the grant is `WORKFLOW_COMPLETED` and 1 of its accounts hold it `DISABLED`: activate it",
                "workloads Delete 111111111111: superseded by the grant to Workloads of phase `workloads` (retire_superseded): deleted in this run once that grant is activated",
            ]
        );
    }

    #[test]
    fn a_retirement_waits_for_the_gate_before_the_retiring_phase() {
        let phases = r#"
[[phase]]
name = "pilot"
accounts = ["111111111111"]
gate = { min_active = "100%", bake = "1d" }

[[phase]]
name = "workloads"
ous = ["Workloads"]
retire_superseded = true
"#;
        let mut seen = observed(vec![
            grant(1, "pilot", ACCOUNT_1, GrantStatus::Active),
            grant(2, "workloads", &ou_arn(WORKLOADS), GrantStatus::Active),
        ]);
        seen.received = vec![
            received("111111111111", &grant_arn(2), GrantStatus::Active),
            received("222222222222", &grant_arn(2), GrantStatus::Active),
        ];
        // The pilot's bake has not started: the workloads phase, and its retirement, wait.
        assert_eq!(
            lines(&plan_of(phases, &seen, &PlanOptions::default())),
            [
                "workloads NoOp ou-ab12-aaaaaaaa blocked: active",
                "workloads Delete 111111111111 blocked: superseded by the ACTIVE grant to Workloads of phase `workloads` (retire_superseded)",
            ]
        );
    }

    #[test]
    fn without_retire_superseded_an_account_grant_inside_an_ou_grant_stays() {
        let plan = plan_of(
            PILOT_THEN_WORKLOADS,
            &observed(vec![grant(1, "pilot", ACCOUNT_1, GrantStatus::Active)]),
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&plan),
            [
                "pilot NoOp 111111111111: active",
                "workloads Create ou-ab12-aaaaaaaa: phase `workloads` targets it and no grant exists: create, then activate it",
            ]
        );
    }

    #[test]
    fn destroy_deletes_every_live_grant_of_the_rollout() {
        let observed = observed(vec![
            grant(1, "pilot", ACCOUNT_1, GrantStatus::Active),
            grant(2, "workloads", &ou_arn(WORKLOADS), GrantStatus::Active),
            grant(3, "workloads", &ou_arn(SANDBOX), GrantStatus::Deleted),
        ]);
        let plan = plan_of(
            PILOT_THEN_WORKLOADS,
            &observed,
            &PlanOptions {
                destroy: true,
                ..PlanOptions::default()
            },
        );
        assert_eq!(
            lines(&plan),
            [
                "pilot Delete 111111111111: `--destroy` tears the rollout down: delete the grant",
                "workloads Delete ou-ab12-aaaaaaaa: `--destroy` tears the rollout down: delete the grant",
            ]
        );
        assert!(plan.destroy);
    }

    #[test]
    fn a_license_that_is_not_available_or_an_unknown_phase_makes_no_plan() {
        let mut seen = observed(Vec::new());
        seen.license.status = LicenseStatus::Expired;
        let error = plan(
            &rollout(PILOT_THEN_WORKLOADS),
            &tree(),
            &seen,
            &PlanOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            error.hint(),
            Some(format!(
                "a cancelled or expired agreement leaves its grants behind: `entitle cleanup --license {LICENSE}` deletes them"
            ))
        );
        let unknown = plan(
            &rollout(PILOT_THEN_WORKLOADS),
            &tree(),
            &observed(Vec::new()),
            &PlanOptions {
                phase: Some("pilt".to_owned()),
                ..PlanOptions::default()
            },
        )
        .unwrap_err();
        assert_eq!(unknown.hint().as_deref(), Some("did you mean `pilot`?"));
    }

    #[test]
    fn accounts_keeping_their_own_subscription_are_named_where_activation_is_refused() {
        let phases = "[[phase]]\nname = \"all\"\naccounts = [\"111111111111\", \"222222222222\", \"333333333333\"]\n";
        let mut seen = observed(vec![grant(1, "all", ACCOUNT_1, GrantStatus::Active)]);
        seen.own_subscriptions = [
            AccountId::parse("111111111111").unwrap(),
            AccountId::parse("222222222222").unwrap(),
        ]
        .into();
        let plan = plan_of(phases, &seen, &PlanOptions::default());
        assert_eq!(
            lines(&plan),
            [
                "all Create 333333333333: phase `all` targets it and no grant exists: create, then activate it",
                "all NoOp 111111111111: active",
                "all Create 222222222222: phase `all` targets it and no grant exists: create, then activate it (note: `222222222222` holds its own subscription of the product: AWS refuses to activate this grant there while `on_existing_subscription = \"keep\"`; `replace` activates it and disables theirs)",
            ]
        );
        let replacing = plan_of(
            &format!("on_existing_subscription = \"replace\"\n\n{phases}"),
            &seen,
            &PlanOptions::default(),
        );
        assert!(
            replacing
                .changes
                .iter()
                .all(|change| !change.reason.contains("note")),
            "{:?}",
            lines(&replacing)
        );
        assert_eq!(
            replacing.activation_override,
            ActivationOverride::AllGrantsPermittedByIssuer
        );
        // An OU grant is not activated again for the accounts that refuse it.
        let ou = ou_arn(WORKLOADS);
        let mut seen = observed(vec![grant(2, "all", &ou, GrantStatus::WorkflowCompleted)]);
        seen.received = vec![
            received("111111111111", &grant_arn(2), GrantStatus::Disabled),
            received("222222222222", &grant_arn(2), GrantStatus::Disabled),
        ];
        seen.own_subscriptions = [
            AccountId::parse("111111111111").unwrap(),
            AccountId::parse("222222222222").unwrap(),
        ]
        .into();
        let ous = "[[phase]]\nname = \"all\"\nous = [\"Workloads\"]\n";
        assert_eq!(
            lines(&plan_of(ous, &seen, &PlanOptions::default())),
            [
                "all NoOp ou-ab12-aaaaaaaa: distributed and activated in its accounts (note: `111111111111`, `222222222222` hold their own subscription of the product: AWS refuses to activate this grant there while `on_existing_subscription = \"keep\"`; `replace` activates it and disables theirs)"
            ]
        );
    }

    #[test]
    fn organisation_and_ou_grants_are_activated_by_their_disabled_accounts() {
        let ous = "[[phase]]\nname = \"all\"\nous = [\"Workloads\", \"Sandbox\"]\n";
        let mut seen = observed(vec![
            grant(1, "all", &ou_arn(WORKLOADS), GrantStatus::Active),
            grant(2, "all", &ou_arn(SANDBOX), GrantStatus::Disabled),
        ]);
        seen.received = vec![
            received("111111111111", &grant_arn(1), GrantStatus::Active),
            received("222222222222", &grant_arn(1), GrantStatus::Disabled),
        ];
        assert_eq!(
            lines(&plan_of(ous, &seen, &PlanOptions::default())),
            [
                "all Activate ou-ab12-bbbbbbbb: the grant is `DISABLED`: activate it",
                "all Activate ou-ab12-aaaaaaaa: the grant is `ACTIVE` and 1 of its accounts hold it `DISABLED`: activate it",
            ]
        );
        seen.received[1].status = GrantStatus::Active;
        assert_eq!(
            lines(&plan_of(ous, &seen, &PlanOptions::default()))[1],
            "all NoOp ou-ab12-aaaaaaaa: active"
        );
        // An account grant reports WORKFLOW_COMPLETED only before its activation.
        let accounts = "[[phase]]\nname = \"all\"\naccounts = [\"111111111111\"]\n";
        let seen = observed(vec![grant(
            3,
            "all",
            ACCOUNT_1,
            GrantStatus::WorkflowCompleted,
        )]);
        assert_eq!(
            lines(&plan_of(accounts, &seen, &PlanOptions::default())),
            ["all Activate 111111111111: the grant is `WORKFLOW_COMPLETED`: activate it"]
        );
        // An OU grant waits for no acceptance, member role or not.
        let seen = observed(vec![grant(
            4,
            "all",
            &ou_arn(SANDBOX),
            GrantStatus::PendingAccept,
        )]);
        let with_role = PlanOptions {
            member_role: Some("Member".to_owned()),
            ..PlanOptions::default()
        };
        let sandbox = "[[phase]]\nname = \"all\"\nous = [\"Sandbox\"]\n";
        assert_eq!(
            plan_of(sandbox, &seen, &with_role).changes[0].action,
            Action::NoOp
        );
    }

    #[test]
    fn each_unwanted_grant_says_why_no_phase_wants_it() {
        let observed = observed(vec![
            grant(
                1,
                "all",
                "arn:aws:iam::100000000001:root",
                GrantStatus::Active,
            ),
            grant(
                2,
                "all",
                "arn:aws:iam::999999999999:root",
                GrantStatus::Active,
            ),
            grant(3, "all", &ou_arn("ou-ab12-zzzzzzzz"), GrantStatus::Active),
            grant(4, "all", &ou_arn(SANDBOX), GrantStatus::Active),
            grant(
                5,
                "all",
                "arn:aws:organizations::100000000001:organization/o-test123456",
                GrantStatus::Active,
            ),
        ]);
        let plan = plan_of(
            "[[phase]]\nname = \"all\"\naccounts = [\"111111111111\"]\n",
            &observed,
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&plan),
            [
                "all Delete o-test123456: no phase of the plan grants to this principal any more: delete the grant",
                "all Delete ou-ab12-zzzzzzzz: the OU is no longer in the organisation: delete the grant",
                "all Delete ou-ab12-bbbbbbbb: no phase of the plan grants to this principal any more: delete the grant",
                "all Delete 100000000001: `100000000001` is the management account: delete the grant",
                "all Delete 999999999999: account `999999999999` is no longer in the organisation: delete the grant",
                "all Create 111111111111: phase `all` targets it and no grant exists: create, then activate it",
            ]
        );
    }

    #[test]
    fn an_account_grant_a_later_phase_reaches_goes_once_that_phase_s_grant_is_active() {
        let phases = "[[phase]]\nname = \"workloads\"\nous = [\"Workloads\"]\n";
        let ou = ou_arn(WORKLOADS);
        let account_grant = grant(1, "old", ACCOUNT_2, GrantStatus::Active);
        let waiting = plan_of(
            phases,
            &observed(vec![account_grant.clone()]),
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&waiting),
            [
                "workloads Create ou-ab12-aaaaaaaa: phase `workloads` targets it and no grant exists: create, then activate it",
                "workloads Delete 222222222222: phase `workloads` reaches this account through its grant to Workloads, so the account's own grant goes once that grant is activated: delete the grant",
            ]
        );
        assert_eq!(waiting.changes[1].once_active, Some(ou.clone()));
        let active = plan_of(
            phases,
            &observed(vec![
                account_grant,
                grant(2, "workloads", &ou, GrantStatus::Active),
            ]),
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&active),
            [
                "workloads NoOp ou-ab12-aaaaaaaa: active",
                "old Delete 222222222222: phase `workloads` reaches this account through its ACTIVE grant to Workloads, so the account's own grant is no longer needed: delete the grant",
            ]
        );
        assert_eq!(active.changes[1].once_active, None);
    }

    #[test]
    fn a_phase_limited_run_deletes_only_what_the_phases_it_plans_no_longer_want() {
        let observed = observed(vec![
            // Tagged with the planned phase: deleted.
            grant(1, "pilot", ACCOUNT_3, GrantStatus::Active),
            // Reached by the later phase's OU grant: left for that phase.
            grant(2, "pilot", ACCOUNT_2, GrantStatus::Active),
            // Of a later phase, or of no phase of the plan: left alone.
            grant(3, "workloads", &ou_arn(SANDBOX), GrantStatus::Active),
            grant(
                4,
                "gone",
                "arn:aws:iam::100000000001:root",
                GrantStatus::Active,
            ),
        ]);
        let only_pilot = PlanOptions {
            phase: Some("pilot".to_owned()),
            ..PlanOptions::default()
        };
        assert_eq!(
            lines(&plan_of(PILOT_THEN_WORKLOADS, &observed, &only_pilot)),
            [
                "pilot Delete 333333333333: no phase of the plan targets this account any more: delete the grant",
                "pilot Create 111111111111: phase `pilot` targets it and no grant exists: create, then activate it",
            ]
        );
        let everything = plan_of(PILOT_THEN_WORKLOADS, &observed, &PlanOptions::default());
        assert_eq!(everything.changes.len(), 6, "{:?}", lines(&everything));
    }

    #[test]
    fn with_member_activation_grants_waiting_on_their_accounts_are_left_to_them() {
        let phases = "activation = \"member\"\n\n[[phase]]\nname = \"all\"\naccounts = [\"111111111111\"]\nous = [\"Sandbox\"]\n";
        let plan = plan_of(
            phases,
            &observed(vec![
                grant(1, "all", ACCOUNT_1, GrantStatus::PendingAccept),
                grant(2, "all", &ou_arn(SANDBOX), GrantStatus::WorkflowCompleted),
            ]),
            &PlanOptions {
                member_role: Some("Member".to_owned()),
                ..PlanOptions::default()
            },
        );
        assert_eq!(
            lines(&plan),
            [
                "all NoOp ou-ab12-bbbbbbbb: distributed; member accounts activate it (`activation = \"member\"`)",
                "all NoOp 111111111111: waiting for the account to accept it",
            ]
        );
    }

    #[test]
    fn an_unwanted_grant_of_a_held_phase_waits_for_its_gate_unless_destroying() {
        let phases = r#"
[[phase]]
name = "pilot"
accounts = ["111111111111"]
gate = { min_active = "100%", bake = "1d" }

[[phase]]
name = "rest"
accounts = ["111111111111", "333333333333"]
"#;
        let seen = observed(vec![
            grant(1, "pilot", ACCOUNT_1, GrantStatus::Active),
            grant(2, "rest", ACCOUNT_3, GrantStatus::Active),
            grant(3, "rest", ACCOUNT_2, GrantStatus::Active),
        ]);
        assert_eq!(
            lines(&plan_of(phases, &seen, &PlanOptions::default())),
            [
                "pilot NoOp 111111111111: active",
                "rest NoOp 333333333333 blocked: active",
                "rest Delete 222222222222 blocked: no phase of the plan targets this account any more: delete the grant",
            ]
        );
        let destroy = PlanOptions {
            destroy: true,
            ..PlanOptions::default()
        };
        assert!(
            plan_of(phases, &seen, &destroy)
                .changes
                .iter()
                .all(|change| change.action == Action::Delete && !change.blocked),
            "tearing down waits for no gate"
        );
    }

    #[test]
    fn a_grant_being_deleted_outside_entitle_is_created_again() {
        let plan = plan_of(
            "[[phase]]\nname = \"all\"\naccounts = [\"111111111111\"]\n",
            &observed(vec![grant(1, "all", ACCOUNT_1, GrantStatus::PendingDelete)]),
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&plan),
            [format!(
                "all Recreate 111111111111: grant `{}` is being deleted outside entitle: create it again as generation 1",
                grant_arn(1)
            )]
        );
    }

    #[test]
    fn the_grant_of_an_account_that_is_no_longer_active_is_deleted_saying_so() {
        let tree = tree();
        let suspended = OrgTree::new(
            tree.organization().clone(),
            tree.root().clone(),
            tree.units().cloned(),
            tree.accounts().cloned().map(|mut account| {
                if account.id.as_str() == "333333333333" {
                    account.state = crate::model::AccountState::from_aws("SUSPENDED");
                }
                account
            }),
        )
        .unwrap();
        let plan = plan(
            &rollout("[[phase]]\nname = \"all\"\naccounts = [\"111111111111\"]\n"),
            &suspended,
            &observed(vec![
                grant(1, "all", ACCOUNT_1, GrantStatus::Active),
                grant(3, "all", ACCOUNT_3, GrantStatus::Active),
            ]),
            &PlanOptions::default(),
        )
        .unwrap();
        assert_eq!(
            lines(&plan),
            [
                "all Delete 333333333333: account `333333333333` is `SUSPENDED`: delete the grant",
                "all NoOp 111111111111: active",
            ]
        );
    }

    #[test]
    fn a_broader_grant_retires_only_the_earlier_grants_it_reaches() {
        let phases = r#"
[[phase]]
name = "pilot"
accounts = ["111111111111", "333333333333"]

[[phase]]
name = "workloads"
ous = ["Workloads"]
retire_superseded = true
"#;
        let plan = plan_of(
            phases,
            &observed(vec![
                grant(1, "pilot", ACCOUNT_1, GrantStatus::Active),
                grant(3, "pilot", ACCOUNT_3, GrantStatus::Active),
            ]),
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&plan),
            [
                "pilot NoOp 333333333333: active",
                "workloads Create ou-ab12-aaaaaaaa: phase `workloads` targets it and no grant exists: create, then activate it",
                "workloads Delete 111111111111: superseded by the grant to Workloads of phase `workloads` (retire_superseded): deleted in this run once that grant is activated",
            ]
        );
    }

    #[test]
    fn without_per_account_grants_read_a_broader_grant_is_judged_by_its_own_status() {
        let phases = r#"
[[phase]]
name = "pilot"
accounts = ["111111111111"]

[[phase]]
name = "workloads"
ous = ["Workloads"]
retire_superseded = true
"#;
        let seen = |status| {
            observed(vec![
                grant(1, "pilot", ACCOUNT_1, GrantStatus::Active),
                grant(2, "workloads", &ou_arn(WORKLOADS), status),
            ])
        };
        assert_eq!(
            lines(&plan_of(
                phases,
                &seen(GrantStatus::Active),
                &PlanOptions::default()
            )),
            [
                "workloads NoOp ou-ab12-aaaaaaaa: active",
                "workloads Delete 111111111111: superseded by the ACTIVE grant to Workloads of phase `workloads` (retire_superseded)",
            ]
        );
        assert_eq!(
            lines(&plan_of(
                phases,
                &seen(GrantStatus::Disabled),
                &PlanOptions::default()
            )),
            [
                "workloads Activate ou-ab12-aaaaaaaa: the grant is `DISABLED`: activate it",
                "workloads Delete 111111111111: superseded by the grant to Workloads of phase `workloads` (retire_superseded): deleted in this run once that grant is activated",
            ]
        );
    }

    #[test]
    fn an_update_that_activates_the_broader_grant_lets_a_retirement_go_in_the_same_run() {
        let phases = r#"
[[phase]]
name = "pilot"
accounts = ["111111111111", "222222222222"]

[[phase]]
name = "workloads"
ous = ["Workloads"]
retire_superseded = true
"#;
        let mut ou_grant = grant(3, "workloads", &ou_arn(WORKLOADS), GrantStatus::Disabled);
        ou_grant
            .granted_operations
            .insert(Operation::CheckInLicense);
        let plan = plan_of(
            phases,
            &observed(vec![
                grant(1, "pilot", ACCOUNT_1, GrantStatus::Active),
                // Not active yet: activated in this run, not deleted.
                grant(2, "pilot", ACCOUNT_2, GrantStatus::Disabled),
                ou_grant,
            ]),
            &PlanOptions::default(),
        );
        assert_eq!(
            lines(&plan),
            [
                "pilot Activate 222222222222: the grant is `DISABLED`: activate it; retired once the grant to Workloads of phase `workloads` is ACTIVE",
                "workloads UpdateOperations ou-ab12-aaaaaaaa: allowed operations differ from the plan (-CheckInLicense), and activate it",
                "workloads Delete 111111111111: superseded by the grant to Workloads of phase `workloads` (retire_superseded): deleted in this run once that grant is activated",
            ]
        );
    }
}
