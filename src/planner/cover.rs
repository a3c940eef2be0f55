//! The principal cover: the smallest honest set of grant principals (organisation, OUs,
//! accounts) that reaches exactly a phase's targeted accounts, never one more.
//!
//! Rules (`docs/plan-format.md` explains them to users):
//! - `grant_to = "accounts"`: one account grant per targeted account.
//! - `grant_to = "ous"`: one grant per selected OU (nested selections folded into their
//!   ancestor), or one organisation grant; the plan parser already refused exclusions and account
//!   or tag selectors for it. Inactive accounts inside are reported, not granted by anyone else.
//! - `grant_to = "auto"`: `organization = true` without exclusions is one organisation grant.
//!   The organisation principal also names the management account; that is accepted because the
//!   management account is the grantor and already holds the license (License Manager distributes
//!   an organisation grant to the member accounts), and inactive accounts cannot use a grant.
//!   Otherwise an OU is granted as a whole only when it was selected structurally (by `ous`, or
//!   by `organization` with exclusions elsewhere) and every account of its subtree is targeted:
//!   nothing in it is excluded, inactive or the management account, and it holds at least one
//!   account. Accounts selected by id or by tag are granted one by one, even when they happen to
//!   fill an OU, because an OU grant would also reach accounts that join the OU later.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::targets::ResolvedPhase;
use crate::model::plan::GrantTo;
use crate::model::{AccountId, OrgTree, OuId, ParentId, Principal};

/// One principal of a phase's cover and the accounts it reaches today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverGrant {
    /// Who the grant is for.
    pub principal: Principal,
    /// The targeted accounts it reaches now.
    pub accounts: BTreeSet<AccountId>,
}

/// Computes the cover of one resolved phase.
pub fn cover(phase: &ResolvedPhase, tree: &OrgTree) -> Vec<CoverGrant> {
    let organization = tree.organization();
    let org_grant = || CoverGrant {
        principal: Principal::Organization {
            id: organization.id.clone(),
            arn: organization.arn.clone(),
        },
        accounts: phase.targeted.clone(),
    };
    // Nothing to reach (everything selected is inactive or the management account): no grant,
    // not even an organisation one.
    if phase.targeted.is_empty() {
        return Vec::new();
    }
    match phase.grant_to {
        GrantTo::Accounts => account_grants(tree, phase.targeted.iter()),
        GrantTo::Ous => {
            if phase.organization {
                return vec![org_grant()];
            }
            let outermost: Vec<&OuId> = phase
                .selected_ous
                .iter()
                .filter(|id| {
                    !phase
                        .selected_ous
                        .iter()
                        .any(|other| other != *id && super::targets::is_within(tree, id, other))
                })
                .collect();
            outermost
                .into_iter()
                .filter_map(|id| {
                    let unit = tree.unit(id)?;
                    let accounts = tree
                        .accounts_under(&ParentId::Ou(id.clone()))
                        .into_iter()
                        .filter(|account| phase.targeted.contains(&account.id))
                        .map(|account| account.id.clone())
                        .collect();
                    Some(CoverGrant {
                        principal: Principal::Ou {
                            id: id.clone(),
                            arn: unit.arn.clone(),
                        },
                        accounts,
                    })
                })
                .collect()
        }
        GrantTo::Auto => {
            if phase.organization && !phase.has_exclusions() {
                return vec![org_grant()];
            }
            auto_cover(phase, tree)
        }
    }
}

fn account_grants<'a>(
    tree: &OrgTree,
    accounts: impl Iterator<Item = &'a AccountId>,
) -> Vec<CoverGrant> {
    accounts
        .map(|id| CoverGrant {
            principal: Principal::Account {
                id: id.clone(),
                partition: tree.partition().to_owned(),
            },
            accounts: BTreeSet::from([id.clone()]),
        })
        .collect()
}

/// Facts about one OU subtree, computed bottom-up.
struct Subtree {
    clean: bool,
    accounts: usize,
}

fn auto_cover(phase: &ResolvedPhase, tree: &OrgTree) -> Vec<CoverGrant> {
    // Bottom-up: whether each OU subtree may be granted whole. An explicit stack keeps deep trees
    // off the call stack.
    let root = ParentId::Root(tree.root().id.clone());
    let mut facts: BTreeMap<OuId, Subtree> = BTreeMap::new();
    let mut order: Vec<(OuId, bool)> = Vec::new();
    let mut stack: Vec<(ParentId, bool)> = vec![(root.clone(), phase.organization)];
    while let Some((parent, in_scope)) = stack.pop() {
        for child in tree.child_units(&parent) {
            let scoped = in_scope || phase.selected_ous.contains(child);
            order.push((child.clone(), scoped));
            stack.push((ParentId::Ou(child.clone()), scoped));
        }
    }
    // `order` lists parents before children: walking it backwards sees children first.
    for (id, in_scope) in order.iter().rev() {
        let parent = ParentId::Ou(id.clone());
        let direct = tree.child_accounts(&parent);
        let mut clean = *in_scope
            && !phase.excluded_ous.contains(id)
            && direct
                .iter()
                .all(|account| phase.targeted.contains(account));
        let mut accounts = direct.len();
        for child in tree.child_units(&parent) {
            if let Some(child_facts) = facts.get(child) {
                clean &= child_facts.clean;
                accounts += child_facts.accounts;
            }
        }
        facts.insert(id.clone(), Subtree { clean, accounts });
    }
    // Top-down: take the highest clean, non-empty OUs; grant remaining targeted accounts directly.
    let mut grants = Vec::new();
    let mut stack = vec![root];
    while let Some(parent) = stack.pop() {
        grants.extend(account_grants(
            tree,
            tree.child_accounts(&parent)
                .iter()
                .filter(|account| phase.targeted.contains(*account)),
        ));
        for child in tree.child_units(&parent) {
            let child_facts = &facts[child];
            if child_facts.clean && child_facts.accounts > 0 {
                let unit_arn = tree
                    .unit(child)
                    .map(|unit| unit.arn.clone())
                    .unwrap_or_default();
                let accounts = tree
                    .accounts_under(&ParentId::Ou(child.clone()))
                    .into_iter()
                    .map(|account| account.id.clone())
                    .collect();
                grants.push(CoverGrant {
                    principal: Principal::Ou {
                        id: child.clone(),
                        arn: unit_arn,
                    },
                    accounts,
                });
            } else {
                stack.push(ParentId::Ou(child.clone()));
            }
        }
    }
    grants.sort_by(|a, b| a.principal.cmp(&b.principal));
    grants
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::RolloutPlan;
    use crate::model::fixtures::{account, tree_of, unit};
    use crate::planner::targets::resolve_targets;

    const WORKLOADS: &str = "ou-ab12-aaaaaaaa";
    const PROD: &str = "ou-ab12-cccccccc";
    const SANDBOX: &str = "ou-ab12-bbbbbbbb";
    const TEAM: &str = "ou-ab12-dddddddd";
    const EMPTY: &str = "ou-ab12-eeeeeeee";

    /// Workloads (111, 222) holding Prod (444); Sandbox (no account of its own) holding Team
    /// (333); Empty (no account at all); the management account at the root.
    fn tree() -> OrgTree {
        tree_of(
            [
                unit(WORKLOADS, "Workloads", "r-ab12"),
                unit(PROD, "Prod", WORKLOADS),
                unit(SANDBOX, "Sandbox", "r-ab12"),
                unit(TEAM, "Team", SANDBOX),
                unit(EMPTY, "Empty", "r-ab12"),
            ],
            [
                account("100000000001", "r-ab12"),
                account("111111111111", WORKLOADS),
                account("222222222222", WORKLOADS),
                account("444444444444", PROD),
                account("333333333333", TEAM),
            ],
        )
    }

    fn rollout(phase: &str) -> RolloutPlan {
        let text = format!(
            "version = 1\nname = \"r\"\n\n[entitlement]\nproduct = \"prod-a\"\n\n[[phase]]\nname = \"p\"\n{phase}"
        );
        crate::model::parse_plan(&text, "r.toml").unwrap()
    }

    /// The cover of the plan's one phase, as (kind, principal id, accounts reached).
    fn cover_of(phase: &str) -> Vec<(&'static str, String, Vec<String>)> {
        let tree = tree();
        let resolved = resolve_targets(&rollout(phase), &tree).unwrap();
        cover(&resolved[0], &tree)
            .into_iter()
            .map(|grant| {
                (
                    grant.principal.kind(),
                    grant.principal.id().to_owned(),
                    grant
                        .accounts
                        .iter()
                        .map(|id| id.as_str().to_owned())
                        .collect(),
                )
            })
            .collect()
    }

    fn grant(
        kind: &'static str,
        id: &str,
        accounts: &[&str],
    ) -> (&'static str, String, Vec<String>) {
        (
            kind,
            id.to_owned(),
            accounts.iter().map(|id| (*id).to_owned()).collect(),
        )
    }

    const EVERY_MEMBER: [&str; 4] = [
        "111111111111",
        "222222222222",
        "333333333333",
        "444444444444",
    ];

    #[test]
    fn the_whole_organisation_is_one_organisation_grant() {
        let organization = grant("organization", "o-test123456", &EVERY_MEMBER);
        assert_eq!(
            cover_of("organization = true"),
            std::slice::from_ref(&organization)
        );
        assert_eq!(
            cover_of("organization = true\ngrant_to = \"ous\""),
            [organization]
        );
    }

    #[test]
    fn accounts_selected_by_id_are_granted_one_by_one_even_when_they_fill_an_ou() {
        assert_eq!(
            cover_of("accounts = [\"111111111111\", \"222222222222\", \"444444444444\"]"),
            [
                grant("account", "111111111111", &["111111111111"]),
                grant("account", "222222222222", &["222222222222"]),
                grant("account", "444444444444", &["444444444444"]),
            ]
        );
        assert_eq!(
            cover_of("ous = [\"Workloads\"]\ngrant_to = \"accounts\""),
            [
                grant("account", "111111111111", &["111111111111"]),
                grant("account", "222222222222", &["222222222222"]),
                grant("account", "444444444444", &["444444444444"]),
            ]
        );
    }

    #[test]
    fn a_phase_that_targets_nobody_has_no_grant() {
        assert_eq!(cover_of("accounts = [\"100000000001\"]"), []);
        assert_eq!(cover_of("ous = [\"Empty\"]\ngrant_to = \"ous\""), []);
    }

    #[test]
    fn grant_to_ous_folds_nested_selections_into_the_outermost_ou() {
        assert_eq!(
            cover_of("ous = [\"Workloads/Prod\", \"Workloads\", \"Sandbox\"]\ngrant_to = \"ous\""),
            [
                grant(
                    "ou",
                    WORKLOADS,
                    &["111111111111", "222222222222", "444444444444"]
                ),
                grant("ou", SANDBOX, &["333333333333"]),
            ]
        );
        assert_eq!(
            cover_of("ous = [\"Workloads/Prod\"]\ngrant_to = \"ous\""),
            [grant("ou", PROD, &["444444444444"])]
        );
    }

    #[test]
    fn auto_grants_a_selected_ou_whole_counting_the_accounts_of_nested_ous() {
        assert_eq!(
            cover_of("ous = [\"Workloads\"]"),
            [grant(
                "ou",
                WORKLOADS,
                &["111111111111", "222222222222", "444444444444"]
            )]
        );
        // Sandbox holds no account of its own, only Team's.
        assert_eq!(
            cover_of("ous = [\"Sandbox\"]"),
            [grant("ou", SANDBOX, &["333333333333"])]
        );
    }

    #[test]
    fn auto_splits_an_ou_with_an_excluded_account_down_to_its_clean_parts() {
        assert_eq!(
            cover_of("ous = [\"Workloads\"]\nexclude = { accounts = [\"111111111111\"] }"),
            [
                grant("ou", PROD, &["444444444444"]),
                grant("account", "222222222222", &["222222222222"]),
            ]
        );
        // An excluded account in a nested OU spoils its ancestors too.
        assert_eq!(
            cover_of("ous = [\"Workloads\"]\nexclude = { accounts = [\"444444444444\"] }"),
            [
                grant("account", "111111111111", &["111111111111"]),
                grant("account", "222222222222", &["222222222222"]),
            ]
        );
    }

    #[test]
    fn auto_with_exclusions_grants_the_clean_top_ous_and_never_an_empty_one() {
        assert_eq!(
            cover_of("organization = true\nexclude = { ous = [\"Workloads/Prod\"] }"),
            [
                grant("ou", SANDBOX, &["333333333333"]),
                grant("account", "111111111111", &["111111111111"]),
                grant("account", "222222222222", &["222222222222"]),
            ]
        );
        assert_eq!(
            cover_of("organization = true\nexclude = { accounts = [\"222222222222\"] }"),
            [
                grant("ou", SANDBOX, &["333333333333"]),
                grant("ou", PROD, &["444444444444"]),
                grant("account", "111111111111", &["111111111111"]),
            ]
        );
    }
}
