//! Discovery against moto's Organizations server: an independent implementation of the API,
//! driven through the real SDK, with organisations built through the SDK first.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_organizations::types::{OrganizationFeatureSet, Tag};
use entitle::aws::organizations::{DiscoverOptions, NoProgress, discover};
use entitle::aws::{AwsClients, AwsSettings};
use entitle::model::{AccountState, ParentId};
use support::{Moto, moto_opted_out, organizations_client};

const MANAGEMENT: &str = "100000000001";

/// What the test built, to compare discovery with.
#[derive(Debug, Default)]
struct Built {
    /// OU path -> OU id.
    units: BTreeMap<String, String>,
    /// account id -> (name, OU path, state, tags).
    accounts: BTreeMap<String, (String, String, &'static str, BTreeMap<String, String>)>,
}

/// The OU tree of the test organisation: five levels deep at its deepest.
const PATHS: &[&str] = &[
    "Workloads",
    "Workloads/ML",
    "Workloads/ML/Training",
    "Workloads/ML/Training/GPU",
    "Workloads/ML/Training/GPU/Experiments",
    "Workloads/Web",
    "Workloads/Web/Prod",
    "Sandbox",
    "Security",
];

/// Builds an organisation in moto: the OUs above, `accounts` accounts spread over them (and the
/// root), a third tagged `bedrock=approved`, and `closed` of them closed.
async fn build(
    client: &aws_sdk_organizations::Client,
    accounts: usize,
    closed: usize,
    tags: bool,
) -> Built {
    client
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let root = client.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_owned();
    let mut built = Built::default();
    for path in PATHS {
        let (parent_path, name) = path.rsplit_once('/').unwrap_or(("", path));
        let parent = if parent_path.is_empty() {
            root.clone()
        } else {
            built.units[parent_path].clone()
        };
        let unit = client
            .create_organizational_unit()
            .parent_id(&parent)
            .name(name)
            .send()
            .await
            .unwrap();
        built.units.insert(
            (*path).to_owned(),
            unit.organizational_unit().unwrap().id().unwrap().to_owned(),
        );
    }
    built.accounts.insert(
        MANAGEMENT.to_owned(),
        ("master".into(), String::new(), "ACTIVE", BTreeMap::new()),
    );
    for index in 0..accounts {
        let name = format!("account-{index:04}");
        let mut account_tags = BTreeMap::new();
        if tags {
            account_tags.insert(
                "env".to_owned(),
                if index % 2 == 0 { "prod" } else { "dev" }.to_owned(),
            );
            if index % 3 == 0 {
                account_tags.insert("bedrock".to_owned(), "approved".to_owned());
            }
        }
        let mut request = client
            .create_account()
            .email(format!("{name}@example.com"))
            .account_name(&name);
        for (key, value) in &account_tags {
            request = request.tags(Tag::builder().key(key).value(value).build().unwrap());
        }
        let status = request.send().await.unwrap();
        let id = status
            .create_account_status()
            .unwrap()
            .account_id()
            .unwrap()
            .to_owned();
        // Every tenth account stays at the root; the others go round the OUs, with a crowd
        // in `Sandbox` so that its listing needs several pages.
        let path = match index % 10 {
            0 => String::new(),
            1..=3 => "Sandbox".to_owned(),
            slot => PATHS[(index / 10 + slot) % PATHS.len()].to_owned(),
        };
        if !path.is_empty() {
            client
                .move_account()
                .account_id(&id)
                .source_parent_id(&root)
                .destination_parent_id(&built.units[&path])
                .send()
                .await
                .unwrap();
        }
        built
            .accounts
            .insert(id, (name, path, "ACTIVE", account_tags));
    }
    let to_close: Vec<String> = built
        .accounts
        .keys()
        .filter(|id| *id != MANAGEMENT)
        .take(closed)
        .cloned()
        .collect();
    for id in to_close {
        client.close_account().account_id(&id).send().await.unwrap();
        // moto suspends a closed account at once (AWS: PENDING_CLOSURE, later CLOSED).
        built.accounts.get_mut(&id).unwrap().2 = "SUSPENDED";
    }
    built
}

async fn clients_for(endpoint: &str) -> AwsClients {
    AwsClients::load(&AwsSettings {
        fixed_endpoint: Some(endpoint.to_owned()),
        ..AwsSettings::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_finds_every_account_unit_path_state_and_tag() {
    if moto_opted_out("discovery_finds_every_account_unit_path_state_and_tag") {
        return;
    }
    let moto = Moto::start(MANAGEMENT);
    let built = build(&organizations_client(&moto.endpoint), 160, 2, true).await;

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
    let found_accounts: BTreeMap<String, (String, String, &'static str, BTreeMap<String, String>)> =
        tree.accounts()
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
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_accounts_are_discovered_without_tags() {
    if moto_opted_out("a_thousand_accounts_are_discovered_without_tags") {
        return;
    }
    let moto = Moto::start(MANAGEMENT);
    let built = build(&organizations_client(&moto.endpoint), 1000, 0, false).await;
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
