//! Saved plans: the fingerprint is stable whatever order AWS lists things in, changes with the
//! world, and a stale saved plan is refused.
// Test helpers outside `#[test]` functions panic on a broken fixture, as the tests do.
#![allow(clippy::unwrap_used)]

mod fixtures;

use entitle::model::GrantStatus;
use entitle::model::plan::parse_plan;
use entitle::planner::{PlanOptions, SavedPlan, StalePlan, fingerprint, plan};
use fixtures::*;

const TEXT: &str = r#"version = 1
name = "demo"
[entitlement]
product = "prod-mxcfnwvpd6kb4"
[[phase]]
name = "pilot"
accounts = ["111111111111", "222222222222"]
"#;

#[test]
fn fingerprints_and_staleness() {
    let tree = demo_tree();
    let grants = vec![
        owned_grant(
            "demo",
            "pilot",
            1,
            &account_arn("111111111111"),
            GrantStatus::Active,
        ),
        owned_grant(
            "demo",
            "pilot",
            2,
            &account_arn("222222222222"),
            GrantStatus::Disabled,
        ),
    ];
    let mut reversed = grants.clone();
    reversed.reverse();
    let seen = observed(grants.clone(), vec![]);
    let first = fingerprint(&tree, &seen);
    assert_eq!(first, fingerprint(&tree, &observed(reversed, vec![])));
    assert_eq!(first.len(), 64);

    let rollout = parse_plan(TEXT, "plans/demo.toml").unwrap();
    let planned = plan(&rollout, &tree, &seen, &PlanOptions::default()).unwrap();
    let saved = SavedPlan::new(planned, "plans/demo.toml", &rollout.sha256, first.clone());
    let json = serde_json::to_string(&saved).unwrap();
    let read: SavedPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(read, saved);
    assert_eq!(read.check_fresh(Some(&rollout.sha256), &first), Ok(()));
    assert_eq!(read.check_fresh(None, &first), Ok(()));

    let mut changed = grants;
    changed[1].status = GrantStatus::Active;
    let now = fingerprint(&tree, &observed(changed, vec![]));
    assert_ne!(now, first);
    assert_eq!(
        read.check_fresh(Some(&rollout.sha256), &now),
        Err(StalePlan::WorldChanged)
    );
    let edited = parse_plan(
        &TEXT.replace("222222222222\"]", "222222222222\"]\n"),
        "plans/demo.toml",
    )
    .unwrap();
    assert!(matches!(
        read.check_fresh(Some(&edited.sha256), &first),
        Err(StalePlan::PlanFileChanged { .. })
    ));
    let mut future = read.clone();
    future.format_version = 2;
    assert!(matches!(
        future.check_fresh(None, &first),
        Err(StalePlan::FormatVersion { found: 2, .. })
    ));
}
