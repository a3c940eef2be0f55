//! `retire_superseded`: the grants of earlier phases that a later phase's organisation or OU
//! grant reaches. Superseded once that broader grant is ACTIVE in every account they reach
//! (deleted now); pending until then (kept, and deleted in the same run that activates the
//! broader grant, right after that activation).

use std::collections::{BTreeMap, BTreeSet};

use super::existing::Existing;
use super::output::{Action, Change, PhasePlan};
use super::principal_label;
use super::wanted::Wanted;
use crate::model::grant::{GrantStatus, Principal, ReceivedGrant};
use crate::model::plan::Activation;
use crate::model::{OrgTree, RolloutPlan};
use crate::planner::cover::CoverGrant;
use crate::planner::targets::{ancestors_of_account, is_within};

/// Whether `narrow` is reached entirely by `broad` (an organisation or OU principal).
fn covers(tree: &OrgTree, broad: &Principal, narrow: &Principal) -> bool {
    match (broad, narrow) {
        (Principal::Organization { .. }, Principal::Organization { .. }) => false,
        (Principal::Organization { .. }, _) => true,
        (Principal::Ou { id: outer, .. }, Principal::Ou { id: inner, .. }) => {
            outer != inner && is_within(tree, inner, outer)
        }
        (Principal::Ou { id: outer, .. }, Principal::Account { id, .. }) => {
            ancestors_of_account(tree, id).contains(outer)
        }
        _ => false,
    }
}

/// A wanted principal retired by a broader grant of a later phase.
#[derive(Debug, Clone)]
pub(super) struct Retirement {
    /// The index of the phase whose grant retires it.
    pub(super) by: usize,
    /// For people: the broader grant's principal (`organization o-...`, or the OU's name).
    pub(super) label: String,
    /// The broader grant's principal ARN.
    pub(super) broad_arn: String,
}

/// Which wanted principals `retire_superseded` retires, by principal ARN. A principal is listed
/// under the first broader grant (by phase, then cover order) that reaches it, in each map.
#[derive(Debug, Clone, Default)]
pub(super) struct Retirements {
    /// Reached by a broader grant that is ACTIVE in every one of their accounts: deleted now,
    /// in the broader grant's phase.
    pub(super) superseded: BTreeMap<String, Retirement>,
    /// Reached by a broader grant that is not ACTIVE everywhere yet: kept until it is.
    pub(super) pending: BTreeMap<String, Retirement>,
}

impl Retirements {
    /// Finds them for the phases up to `limit` that set `retire_superseded`. A broader grant is
    /// ACTIVE for a principal when its per-account grants (`by_parent`) are ACTIVE in every
    /// account the principal reaches, or, where none was read, when it is ACTIVE itself.
    pub(super) fn find(
        rollout: &RolloutPlan,
        tree: &OrgTree,
        limit: usize,
        covers_by_phase: &[Vec<CoverGrant>],
        wanted: &BTreeMap<String, Wanted>,
        existing: &Existing<'_>,
        by_parent: &BTreeMap<&str, Vec<&ReceivedGrant>>,
    ) -> Self {
        let mut retirements = Self::default();
        for (index, phase) in rollout.phases.iter().enumerate().take(limit + 1) {
            if !phase.retire_superseded {
                continue;
            }
            for broad in &covers_by_phase[index] {
                if matches!(broad.principal, Principal::Account { .. }) {
                    continue;
                }
                let broad_arn = broad.principal.arn();
                let broad_live = existing.live_for(&broad_arn);
                let per_account = broad_live.and_then(|grant| by_parent.get(grant.arn.as_str()));
                let active_in: BTreeSet<&crate::model::AccountId> = per_account
                    .into_iter()
                    .flatten()
                    .filter(|child| child.status == GrantStatus::Active)
                    .map(|child| &child.account)
                    .collect();
                let (label, _) = principal_label(tree, &broad.principal);
                for (arn, want) in wanted {
                    if want.phase >= index || !covers(tree, &broad.principal, &want.grant.principal)
                    {
                        continue;
                    }
                    let is_active = match broad_live {
                        None => false,
                        Some(_) if per_account.is_some() => {
                            !want.grant.accounts.is_empty()
                                && want
                                    .grant
                                    .accounts
                                    .iter()
                                    .all(|account| active_in.contains(account))
                        }
                        Some(grant) => grant.status == GrantStatus::Active,
                    };
                    let retirement = Retirement {
                        by: index,
                        label: label.clone(),
                        broad_arn: broad_arn.clone(),
                    };
                    let into = if is_active {
                        &mut retirements.superseded
                    } else {
                        &mut retirements.pending
                    };
                    into.entry(arn.clone()).or_insert(retirement);
                }
            }
        }
        retirements
    }

    /// Turns pending retirements into deletes of this run where the run activates the broader
    /// grant (create, recreate, activate, or an update that activates): each delete waits for
    /// that activation (`once_active`) and belongs to the broader grant's phase. Only when
    /// entitle activates (`activation = "grantor"`).
    pub(super) fn delete_once_active(
        &self,
        changes: &mut [Change],
        rollout: &RolloutPlan,
        phases: &[PhasePlan],
    ) {
        if rollout.entitlement.activation != Activation::Grantor {
            return;
        }
        let activated_now: BTreeSet<String> = changes
            .iter()
            // Blocked or not: the retirement is blocked exactly when the broader grant is (both
            // belong to its phase), and `--ignore-gates` lets both through.
            .filter(|change| match change.action {
                Action::Create | Action::Recreate | Action::Activate => true,
                Action::UpdateOperations => change
                    .after
                    .as_ref()
                    .is_some_and(|after| after.status == GrantStatus::Active),
                Action::Delete | Action::NoOp => false,
            })
            .map(|change| change.principal_arn.clone())
            .collect();
        for change in changes.iter_mut() {
            if change.action != Action::NoOp || change.before.is_none() {
                continue;
            }
            let Some(retirement) = self.pending.get(&change.principal_arn) else {
                continue;
            };
            if !activated_now.contains(&retirement.broad_arn) {
                continue;
            }
            let by_name = &rollout.phases[retirement.by].name.value;
            change.phase = by_name.clone();
            change.action = Action::Delete;
            change.after = None;
            change.blocked = phases[retirement.by].blocked.is_some();
            change.reason = format!(
                "superseded by the grant to {} of phase `{by_name}` (retire_superseded): deleted in this run once that grant is activated",
                retirement.label
            );
            change.once_active = Some(retirement.broad_arn.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{SANDBOX, WORKLOADS, tree};
    use super::*;

    fn principal(arn: &str) -> Principal {
        Principal::from_arn(arn).expect("a principal ARN")
    }

    fn ou(id: &str) -> Principal {
        principal(&format!(
            "arn:aws:organizations::100000000001:ou/o-test123456/{id}"
        ))
    }

    #[test]
    fn broader_grants_cover_what_they_reach_and_nothing_else() {
        let tree = tree();
        let organization =
            principal("arn:aws:organizations::100000000001:organization/o-test123456");
        let account = principal("arn:aws:iam::111111111111:root");
        assert!(covers(&tree, &organization, &ou(WORKLOADS)));
        assert!(covers(&tree, &organization, &account));
        assert!(!covers(&tree, &organization, &organization));
        assert!(covers(&tree, &ou(WORKLOADS), &account));
        assert!(!covers(&tree, &ou(SANDBOX), &account));
        assert!(!covers(&tree, &ou(WORKLOADS), &ou(WORKLOADS)));
        assert!(!covers(&tree, &account, &account));
    }

    #[test]
    fn an_ou_grant_covers_the_ous_nested_in_it() {
        let flat = tree();
        let nested_id = "ou-ab12-cccccccc";
        let nested = crate::model::OrgUnit {
            id: crate::model::OuId::parse(nested_id).expect("an OU id"),
            arn: format!("arn:aws:organizations::100000000001:ou/o-test123456/{nested_id}"),
            name: Some("Prod".to_owned()),
            parent: crate::model::ParentId::parse(WORKLOADS).expect("a parent id"),
        };
        let tree = OrgTree::new(
            flat.organization().clone(),
            flat.root().clone(),
            flat.units().cloned().chain([nested]),
            flat.accounts().cloned(),
        )
        .expect("a tree");
        assert!(covers(&tree, &ou(WORKLOADS), &ou(nested_id)));
        assert!(!covers(&tree, &ou(nested_id), &ou(WORKLOADS)));
        assert!(!covers(&tree, &ou(SANDBOX), &ou(nested_id)));
    }
}
