//! Benchmark of the pure planner on a 10,000-account, 1,000-OU organisation: parse the plan file,
//! resolve targets, compute the covers, diff against 2,000 observed grants, fingerprint the world.
//!
//! Run: `cargo bench --bench plan` (release) or `cargo bench --bench plan --profile dev` (reuses
//! the debug build of the dependencies). Prints the best and median of several runs.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use entitle::model::grant::{TAG_GENERATION, TAG_PHASE, TAG_ROLLOUT};
use entitle::model::plan::parse_plan;
use entitle::model::{
    Account, AccountId, AccountState, DistributedGrant, FeatureSet, GrantStatus, LicenseInfo,
    LicenseStatus, Operation, OrgId, OrgTree, OrgUnit, Organization, OuId, ParentId, ReceivedGrant,
    Root, RootId,
};
use entitle::planner::{Observed, PlanOptions, fingerprint, plan};

const MANAGEMENT: &str = "100000000001";
const LICENSE: &str = "arn:aws:license-manager::294406891311:license:l-bench";

fn ou(index: usize) -> OuId {
    OuId::parse(format!("ou-bench-{index:08}")).unwrap()
}

fn tree() -> OrgTree {
    let root = RootId::parse("r-bench").unwrap();
    // 10 top OUs, 9 children each, 10 grandchildren each: 10 + 90 + 900 = 1,000 OUs.
    let mut units = Vec::new();
    let mut leaves = Vec::new();
    let mut middles = Vec::new();
    for top in 0..10 {
        let top_index = units.len();
        units.push(OrgUnit {
            id: ou(top_index),
            arn: format!(
                "arn:aws:organizations::{MANAGEMENT}:ou/o-bench/{}",
                ou(top_index)
            ),
            name: Some(format!("Division{top}")),
            parent: ParentId::Root(root.clone()),
        });
        for middle in 0..9 {
            let middle_index = units.len();
            middles.push(middle_index);
            units.push(OrgUnit {
                id: ou(middle_index),
                arn: format!(
                    "arn:aws:organizations::{MANAGEMENT}:ou/o-bench/{}",
                    ou(middle_index)
                ),
                name: Some(format!("Team{middle}")),
                parent: ParentId::Ou(ou(top_index)),
            });
            for leaf in 0..10 {
                let leaf_index = units.len();
                leaves.push(leaf_index);
                units.push(OrgUnit {
                    id: ou(leaf_index),
                    arn: format!(
                        "arn:aws:organizations::{MANAGEMENT}:ou/o-bench/{}",
                        ou(leaf_index)
                    ),
                    name: Some(format!("Env{leaf}")),
                    parent: ParentId::Ou(ou(middle_index)),
                });
            }
        }
    }
    let mut accounts = vec![Account {
        id: AccountId::parse(MANAGEMENT).unwrap(),
        name: "management".into(),
        email: String::new(),
        arn: String::new(),
        state: AccountState::Active,
        parent: ParentId::Root(root.clone()),
        tags: BTreeMap::new(),
    }];
    for index in 0..9_999usize {
        // 9 accounts per leaf OU (8,100), the rest in the team OUs.
        let parent = if index < 8_100 {
            leaves[index / 9]
        } else {
            middles[(index - 8_100) % 90]
        };
        let mut tags = BTreeMap::new();
        if index % 50 == 0 {
            tags.insert("bedrock".to_owned(), "approved".to_owned());
        }
        accounts.push(Account {
            id: account(index),
            name: format!("account-{index}"),
            email: String::new(),
            arn: String::new(),
            state: if index % 97 == 0 {
                AccountState::Suspended
            } else {
                AccountState::Active
            },
            parent: ParentId::Ou(ou(parent)),
            tags,
        });
    }
    OrgTree::new(
        Organization {
            id: OrgId::parse("o-bench").unwrap(),
            arn: format!("arn:aws:organizations::{MANAGEMENT}:organization/o-bench"),
            management_account: AccountId::parse(MANAGEMENT).unwrap(),
            feature_set: FeatureSet::All,
        },
        Root {
            id: root,
            arn: String::new(),
            name: "Root".into(),
        },
        units,
        accounts,
    )
    .unwrap()
}

fn account(index: usize) -> AccountId {
    AccountId::parse(format!("{:012}", 200_000_000_000u64 + index as u64)).unwrap()
}

const PLAN: &str = r#"version = 1
name = "bench"

[entitlement]
product = "prod-mxcfnwvpd6kb4"

[[phase]]
name = "pilot"
accounts = ["200000000001", "200000000002", "200000000003", "200000000004"]
gate = { min_active = "100%", bake = "1h" }

[[phase]]
name = "divisions"
ous = ["Division0", "Division1", "Division2", "Division3", "Division4"]
exclude = { ous = ["Division0/Team0/Env0", "Division1/Team3"], accounts = ["200000000500"] }
gate = { min_active = "90%" }

[[phase]]
name = "approved"
tags = { bedrock = "approved" }

[[phase]]
name = "everyone"
organization = true
retire_superseded = true
"#;

fn observed(tree: &OrgTree) -> Observed {
    // 2,000 owned account grants, half active, each with a received grant.
    let mut grants = Vec::new();
    let mut received = Vec::new();
    for index in 0..2_000usize {
        let id = account(index * 3);
        let status = if index % 2 == 0 {
            GrantStatus::Active
        } else {
            GrantStatus::Disabled
        };
        let arn = format!("arn:aws:license-manager::{MANAGEMENT}:grant:g-{index:032}");
        grants.push(DistributedGrant {
            arn: arn.clone(),
            name: "entitle/bench/divisions".into(),
            principal_arn: format!("arn:aws:iam::{id}:root"),
            status: status.clone(),
            status_reason: None,
            version: "2".into(),
            granted_operations: Operation::ALL[1..]
                .iter()
                .map(|op| Operation::from_aws(op))
                .collect(),
            tags: BTreeMap::from([
                (TAG_ROLLOUT.to_owned(), "bench".to_owned()),
                (TAG_PHASE.to_owned(), "divisions".to_owned()),
                (TAG_GENERATION.to_owned(), "0".to_owned()),
            ]),
            license_arn: LICENSE.into(),
        });
        received.push(ReceivedGrant {
            account: id,
            grant_arn: format!("{arn}-r"),
            parent_arn: arn,
            status,
        });
    }
    let _ = tree;
    Observed {
        license: LicenseInfo {
            arn: LICENSE.into(),
            product_sku: "prod-mxcfnwvpd6kb4".into(),
            product_name: "Claude Sonnet 4.5".into(),
            status: LicenseStatus::Available,
            allowed_operations: Operation::ALL
                .iter()
                .map(|op| Operation::from_aws(op))
                .collect(),
            issuer: "AWS/Marketplace".into(),
            home_region: "us-east-1".into(),
        },
        grants,
        received,
        own_subscriptions: Default::default(),
    }
}

fn main() {
    let build = Instant::now();
    let tree = tree();
    let seen = observed(&tree);
    println!(
        "fixture: {} accounts, {} OUs, {} grants, {} received grants (built in {:?})",
        tree.accounts().count(),
        tree.units().count(),
        seen.grants.len(),
        seen.received.len(),
        build.elapsed()
    );
    let mut runs: Vec<Duration> = Vec::new();
    let mut last = None;
    for _ in 0..7 {
        let start = Instant::now();
        let rollout = parse_plan(PLAN, "bench.toml").unwrap();
        let planned = plan(
            &rollout,
            &tree,
            &seen,
            &PlanOptions {
                now: 1_800_000_000,
                ..PlanOptions::default()
            },
        )
        .unwrap();
        let print = fingerprint(&tree, &seen);
        runs.push(start.elapsed());
        last = Some((planned, print));
    }
    runs.sort();
    let (planned, _) = last.unwrap();
    println!(
        "plan: {} changes ({} create, {} delete, {} blocked) over {} phases",
        planned.changes.len(),
        planned.summary.create,
        planned.summary.delete,
        planned.summary.blocked,
        planned.phases.len()
    );
    println!(
        "parse + resolve + cover + diff + fingerprint: best {:?}, median {:?} ({} runs)",
        runs[0],
        runs[runs.len() / 2],
        runs.len()
    );
}
