//! The same organisation, discovered from moto (an independent implementation of Organizations)
//! and from entitle's own emulator, must come out the same.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use entitle::aws::organizations::{DiscoverOptions, NoProgress, discover};
use entitle::aws::{AwsClients, AwsSettings};
use entitle::model::OrgTree;
use entitle::sandbox::Sandbox;
use entitle::sandbox::faults::Faults;
use entitle::sandbox::state::State;
use support::{Built, MANAGEMENT, Moto, PATHS, build_org, organizations_client};

/// Everything discovery says about an organisation that does not depend on who generated the
/// organisation's own id: OUs by id, accounts by id.
fn facts(tree: &OrgTree) -> (BTreeMap<String, (String, String)>, BTreeMap<String, String>) {
    let units = tree
        .units()
        .map(|unit| {
            (
                unit.id.to_string(),
                (
                    unit.label().to_owned(),
                    tree.path_of(&unit.id).unwrap_or("").to_owned(),
                ),
            )
        })
        .collect();
    let accounts = tree
        .accounts()
        .map(|account| {
            let tags: Vec<String> = account
                .tags
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            (
                account.id.to_string(),
                format!(
                    "{} {} {} [{}]",
                    account.name,
                    account.state,
                    tree.parent_path(&account.parent),
                    tags.join(",")
                ),
            )
        })
        .collect();
    (units, accounts)
}

/// The org file (docs/emulator.md) describing what the test built in moto, ids included.
fn org_file(built: &Built) -> String {
    fn write_unit(text: &mut String, built: &Built, path: &str, prefix: &str) {
        let name = path.rsplit('/').next().unwrap_or(path);
        let _ = writeln!(
            text,
            "[[{prefix}ou]]\nname = \"{name}\"\nid = \"{}\"",
            built.units[path]
        );
        let own_prefix = format!("{prefix}ou.");
        for (id, (account_name, account_path, state, tags)) in &built.accounts {
            if account_path == path {
                write_account(text, &own_prefix, id, account_name, state, tags);
            }
        }
        for child in PATHS
            .iter()
            .filter(|child| child.rsplit_once('/').map(|(parent, _)| parent) == Some(path))
        {
            write_unit(text, built, child, &own_prefix);
        }
    }
    fn write_account(
        text: &mut String,
        prefix: &str,
        id: &str,
        name: &str,
        state: &str,
        tags: &BTreeMap<String, String>,
    ) {
        let tags: Vec<String> = tags
            .iter()
            .map(|(key, value)| format!("\"{key}\" = \"{value}\""))
            .collect();
        let _ = writeln!(
            text,
            "[[{prefix}account]]\nid = \"{id}\"\nname = \"{name}\"\nstate = \"{state}\"\ntags = {{ {} }}",
            tags.join(", ")
        );
    }
    let mut text = format!("management_account = \"{MANAGEMENT}\"\n");
    for (id, (name, path, state, tags)) in &built.accounts {
        if path.is_empty() && id != MANAGEMENT {
            write_account(&mut text, "", id, name, state, tags);
        }
    }
    for path in PATHS.iter().filter(|path| !path.contains('/')) {
        write_unit(&mut text, built, path, "");
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn moto_and_the_emulator_discover_the_same_organisation() {
    let moto = Moto::start(MANAGEMENT);
    let built = build_org(&organizations_client(&moto.endpoint), 90, 2, true).await;
    let settings = |endpoint: String| AwsSettings {
        fixed_endpoint: Some(endpoint),
        ..AwsSettings::default()
    };
    let from_moto = discover(
        &AwsClients::load(&settings(moto.endpoint.clone())).await,
        &DiscoverOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap();

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("org.toml");
    std::fs::write(&path, org_file(&built)).unwrap();
    let state = State::from_org_file(&path).unwrap();
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), state, Faults::none())
        .await
        .unwrap();
    let from_emulator = discover(
        &AwsClients::load(&settings(sandbox.endpoint())).await,
        &DiscoverOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap();
    sandbox.shutdown().await.unwrap();

    let (moto_units, moto_accounts) = facts(&from_moto.tree);
    let (emulator_units, emulator_accounts) = facts(&from_emulator.tree);
    assert_eq!(moto_units, emulator_units);
    assert_eq!(moto_accounts.len(), 91);
    // The management account's name is the implementation's own ("master" in moto).
    let without_management = |accounts: &BTreeMap<String, String>| {
        let mut accounts = accounts.clone();
        accounts.remove(MANAGEMENT);
        accounts
    };
    assert_eq!(
        without_management(&moto_accounts),
        without_management(&emulator_accounts)
    );
    assert_eq!(
        from_moto.tree.organization().management_account,
        from_emulator.tree.organization().management_account
    );
    // The two took different roads: moto sends no account Paths, the emulator does.
    assert!(!from_moto.placed_by_paths);
    assert!(from_emulator.placed_by_paths);
}
