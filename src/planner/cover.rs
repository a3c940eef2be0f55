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
