//! Discovery against moto's Organizations server: an independent implementation of the API,
//! driven through the real SDK, with organisations built through the SDK first.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use entitle::aws::organizations::{DiscoverOptions, NoProgress, discover};
use entitle::aws::{AwsClients, AwsSettings};
use entitle::model::plan::OuRef;
use entitle::model::{AccountState, ParentId, UnitRead, UnitScope};
use support::{BuiltAccount, MANAGEMENT, Moto, build_org, organizations_client};

async fn clients_for(endpoint: &str) -> AwsClients {
    AwsClients::load(&AwsSettings {
        fixed_endpoint: Some(endpoint.to_owned()),
        ..AwsSettings::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_finds_every_account_unit_path_state_and_tag() {
    let moto = Moto::start(MANAGEMENT);
    let built = build_org(&organizations_client(&moto.endpoint), 160, 2, true).await;

    let discovery = discover(
        &clients_for(&moto.endpoint).await,
        &DiscoverOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap();
    let tree = &discovery.tree;

    assert_eq!(tree.organization().management_account.as_str(), MANAGEMENT);
    let found_units: BTreeMap<String, String> = tree
        .units()
        .map(|unit| {
            (
                tree.path_of(&unit.id).unwrap().to_owned(),
                unit.id.to_string(),
            )
        })
        .collect();
    assert_eq!(found_units, built.units);
    for (path, id) in &built.units {
        assert_eq!(
            tree.unit_by_path(path).unwrap().id.as_str(),
            id,
            "lookup by path {path}"
        );
    }
    let found_accounts: BTreeMap<String, BuiltAccount> = tree
        .accounts()
        .map(|account| {
            let state = match account.state {
                AccountState::Active => "ACTIVE",
                AccountState::Suspended => "SUSPENDED",
                _ => "OTHER",
            };
            (
                account.id.to_string(),
                (
                    account.name.clone(),
                    tree.parent_path(&account.parent).to_owned(),
                    state,
                    account.tags.clone(),
                ),
            )
        })
        .collect();
    assert_eq!(found_accounts.len(), 161);
    assert_eq!(found_accounts, built.accounts);

    // The walk asked each parent once for its OUs and (moto sends no Paths) once per page for
    // its accounts, and each account once for its tags.
    assert!(
        !discovery.placed_by_paths,
        "moto does not send account Paths"
    );
    let parents = built.units.len() as u64 + 1;
    let calls = &discovery.api_calls;
    assert_eq!(calls["DescribeOrganization"], 1);
    assert_eq!(calls["ListRoots"], 1);
    assert_eq!(calls["ListOrganizationalUnitsForParent"], parents);
    assert!(calls["ListAccountsForParent"] >= parents);
    assert_eq!(calls["ListTagsForResource"], 161);
    // One probe of ListAccounts decides between the two ways of placing accounts.
    assert_eq!(calls["ListAccounts"], 1);
    eprintln!("150-account discovery API calls: {calls:?}");

    // A plan's discovery, which reads only the OUs it names where accounts carry `Paths`, walks
    // the whole tree here: moto's accounts carry none.
    let (path, _) = built.units.iter().next().unwrap();
    let options = DiscoverOptions {
        units: UnitScope::Some(vec![UnitRead {
            unit: OuRef::Path(path.clone()),
            subtree: false,
        }]),
        ..DiscoverOptions::default()
    };
    let needed = discover(&clients_for(&moto.endpoint).await, &options, &NoProgress)
        .await
        .unwrap();
    assert!(!needed.placed_by_paths && needed.every_unit);
    assert_eq!(&needed.tree, tree);
    assert_eq!(
        needed.api_calls["ListOrganizationalUnitsForParent"],
        parents
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_accounts_are_discovered_without_tags() {
    let moto = Moto::start(MANAGEMENT);
    let built = build_org(&organizations_client(&moto.endpoint), 1000, 0, false).await;
    let options = DiscoverOptions {
        tags: false,
        ..DiscoverOptions::default()
    };
    let discovery = discover(&clients_for(&moto.endpoint).await, &options, &NoProgress)
        .await
        .unwrap();
    let tree = &discovery.tree;
    let found: BTreeSet<String> = tree
        .accounts()
        .map(|account| account.id.to_string())
        .collect();
    let expected: BTreeSet<String> = built.accounts.keys().cloned().collect();
    assert_eq!(found, expected);
    for account in tree.accounts() {
        assert_eq!(
            tree.parent_path(&account.parent),
            built.accounts[account.id.as_str()].1
        );
    }
    let sandbox = tree.unit_by_path("Sandbox").unwrap();
    let in_sandbox = built
        .accounts
        .values()
        .filter(|account| account.1 == "Sandbox")
        .count();
    assert!(
        in_sandbox > 300,
        "the test means to need many pages in Sandbox"
    );
    assert_eq!(
        tree.child_accounts(&ParentId::Ou(sandbox.id.clone())).len(),
        in_sandbox
    );
    assert!(!discovery.api_calls.contains_key("ListTagsForResource"));
    eprintln!(
        "1,000-account discovery API calls: {:?}",
        discovery.api_calls
    );
}
