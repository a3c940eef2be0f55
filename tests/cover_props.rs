//! Property tests of the principal cover over random organisations: the cover reaches exactly the
//! targeted accounts (no account twice, none more), and never needs more grants than one per
//! account.
// Test helpers outside `#[test]` functions panic on a broken fixture, as the tests do.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use entitle::model::plan::GrantTo;
use entitle::model::{
    Account, AccountId, AccountState, FeatureSet, OrgId, OrgTree, OrgUnit, Organization, OuId,
    ParentId, Principal, Root, RootId,
};
use entitle::planner::{ResolvedPhase, cover};
use proptest::prelude::*;

const MANAGEMENT: u64 = 100_000_000_001;

#[derive(Debug, Clone)]
struct Shape {
    /// For each OU, the index of its parent among the earlier OUs (`None`: the root).
    units: Vec<Option<usize>>,
    /// For each account, its parent OU index (`None`: the root) and whether it is active.
    accounts: Vec<(Option<usize>, bool)>,
    organization: bool,
    selected_ous: Vec<usize>,
    selected_accounts: Vec<usize>,
    excluded_ous: Vec<usize>,
    excluded_accounts: Vec<usize>,
    by_accounts: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    (1usize..12, 1usize..40).prop_flat_map(|(units, accounts)| {
        let parents = (0..units)
            .map(|index| {
                if index == 0 {
                    Just(None).boxed()
                } else {
                    prop::option::weighted(0.8, 0..index).boxed()
                }
            })
            .collect::<Vec<_>>();
        (
            parents,
            prop::collection::vec(
                (
                    prop::option::weighted(0.9, 0..units),
                    prop::bool::weighted(0.85),
                ),
                accounts,
            ),
            prop::bool::weighted(0.2),
            prop::collection::vec(0..units, 0..3),
            prop::collection::vec(0..accounts, 0..4),
            prop::collection::vec(0..units, 0..2),
            prop::collection::vec(0..accounts, 0..2),
            prop::bool::weighted(0.2),
        )
            .prop_map(
                |(
                    units,
                    accounts,
                    organization,
                    selected_ous,
                    selected_accounts,
                    excluded_ous,
                    excluded_accounts,
                    by_accounts,
                )| Shape {
                    units,
                    accounts,
                    organization,
                    selected_ous,
                    selected_accounts,
                    excluded_ous,
                    excluded_accounts,
                    by_accounts,
                },
            )
    })
}

fn ou_id(index: usize) -> OuId {
    OuId::parse(format!("ou-test-{index:08}")).unwrap()
}

fn account_id(index: usize) -> AccountId {
    AccountId::parse(format!("{:012}", 200_000_000_000u64 + index as u64)).unwrap()
}

fn build(shape: &Shape) -> (OrgTree, ResolvedPhase) {
    let root = RootId::parse("r-test").unwrap();
    let parent = |index: Option<usize>| match index {
        None => ParentId::Root(root.clone()),
        Some(index) => ParentId::Ou(ou_id(index)),
    };
    let units = shape.units.iter().enumerate().map(|(index, up)| OrgUnit {
        id: ou_id(index),
        arn: format!(
            "arn:aws:organizations::{MANAGEMENT}:ou/o-test/{}",
            ou_id(index)
        ),
        name: Some(format!("unit{index}")),
        parent: parent(*up),
    });
    let mut accounts: Vec<Account> = shape
        .accounts
        .iter()
        .enumerate()
        .map(|(index, (up, active))| Account {
            id: account_id(index),
            name: format!("account{index}"),
            email: String::new(),
            arn: String::new(),
            state: if *active {
                AccountState::Active
            } else {
                AccountState::Suspended
            },
            parent: parent(*up),
            tags: BTreeMap::new(),
        })
        .collect();
    let management = AccountId::parse(MANAGEMENT.to_string()).unwrap();
    accounts.push(Account {
        id: management.clone(),
        name: "management".into(),
        email: String::new(),
        arn: String::new(),
        state: AccountState::Active,
        parent: ParentId::Root(root.clone()),
        tags: BTreeMap::new(),
    });
    let tree = OrgTree::new(
        Organization {
            id: OrgId::parse("o-test").unwrap(),
            arn: format!("arn:aws:organizations::{MANAGEMENT}:organization/o-test"),
            management_account: management,
            feature_set: FeatureSet::All,
        },
        Root {
            id: root.clone(),
            arn: String::new(),
            name: "Root".into(),
        },
        units,
        accounts,
    )
    .unwrap();

    // Targets as `resolve_targets` computes them: union of selectors minus exclusions, active
    // non-management accounts only.
    let selected_ous: BTreeSet<OuId> = shape.selected_ous.iter().map(|i| ou_id(*i)).collect();
    let excluded_ous: BTreeSet<OuId> = shape
        .excluded_ous
        .iter()
        .map(|i| ou_id(*i))
        .filter(|id| !selected_ous.contains(id))
        .collect();
    let excluded_accounts: BTreeSet<AccountId> = shape
        .excluded_accounts
        .iter()
        .map(|i| account_id(*i))
        .collect();
    let mut selected: BTreeSet<AccountId> = BTreeSet::new();
    if shape.organization {
        selected.extend(tree.accounts().map(|a| a.id.clone()));
    }
    for id in &selected_ous {
        selected.extend(
            tree.accounts_under(&ParentId::Ou(id.clone()))
                .iter()
                .map(|a| a.id.clone()),
        );
    }
    selected.extend(shape.selected_accounts.iter().map(|i| account_id(*i)));
    for id in &excluded_ous {
        for account in tree.accounts_under(&ParentId::Ou(id.clone())) {
            selected.remove(&account.id);
        }
    }
    for id in &excluded_accounts {
        selected.remove(id);
    }
    let targeted = selected
        .into_iter()
        .filter(|id| {
            !tree.is_management(id) && tree.account(id).unwrap().state == AccountState::Active
        })
        .collect();
    let phase = ResolvedPhase {
        index: 0,
        name: "p".into(),
        targeted,
        skipped: vec![],
        organization: shape.organization,
        selected_ous,
        excluded_ous,
        excluded_accounts,
        grant_to: if shape.by_accounts {
            GrantTo::Accounts
        } else {
            GrantTo::Auto
        },
    };
    (tree, phase)
}

/// Who a principal reaches, computed from the tree alone. The organisation principal reaches the
/// active member accounts (the management account holds the license; see `cover.rs`).
fn reach(tree: &OrgTree, principal: &Principal) -> Vec<AccountId> {
    match principal {
        Principal::Organization { .. } => tree
            .accounts()
            .filter(|a| a.state == AccountState::Active && !tree.is_management(&a.id))
            .map(|a| a.id.clone())
            .collect(),
        Principal::Ou { id, .. } => tree
            .accounts_under(&ParentId::Ou(id.clone()))
            .iter()
            .map(|a| a.id.clone())
            .collect(),
        Principal::Account { id, .. } => vec![id.clone()],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_cover_reaches_exactly_the_targets(shape in shape()) {
        let (tree, phase) = build(&shape);
        let grants = cover(&phase, &tree);
        let mut reached: Vec<AccountId> = grants.iter().flat_map(|g| reach(&tree, &g.principal)).collect();
        let count = reached.len();
        reached.sort();
        reached.dedup();
        prop_assert_eq!(count, reached.len(), "an account is reached twice");
        let reached: BTreeSet<AccountId> = reached.into_iter().collect();
        prop_assert_eq!(&reached, &phase.targeted);
        prop_assert!(grants.len() <= phase.targeted.len(), "{} grants for {} accounts", grants.len(), phase.targeted.len());
        if shape.by_accounts {
            let only_accounts = grants.iter().all(|g| matches!(g.principal, Principal::Account { .. }));
            prop_assert!(only_accounts, "grant_to = accounts gave a broader principal");
        }
    }
}
