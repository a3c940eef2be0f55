//! A change of operations on a grant the plan also wants active: the plan promises "update
//! operations ..., and activate it", apply keeps the promise in one CreateGrantVersion, the apply
//! report spells the action as the plan does (`update_operations`), and the next plan is empty.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use entitle::sandbox::State;
use serde_json::Value;
use support::{Ran, entitle, ran};

const ACCOUNT: &str = "111111111111";

fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

fn write_plan(dir: &Path, activation: &str, operations: &[&str]) -> String {
    let operations: Vec<String> = operations.iter().map(|op| format!("\"{op}\"")).collect();
    let text = format!(
        "version = 1\nname = \"ops\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\
         operations = [{}]\nactivation = \"{activation}\"\n\n\
         [[phase]]\nname = \"pilot\"\naccounts = [\"{ACCOUNT}\"]\n",
        operations.join(", ")
    );
    let path = dir.join("ops.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The rollout's live account grant to ACCOUNT: (status, operations, version).
fn the_grant(dir: &Path) -> (String, Vec<String>, u32) {
    let state = State::load(&dir.join("state.json")).unwrap();
    let live: Vec<_> = state
        .grants
        .values()
        .filter(|grant| {
            grant.parent_grant.is_none()
                && grant.tags.get("entitle:rollout").map(String::as_str) == Some("ops")
                && grant.principal.ends_with(&format!(":{ACCOUNT}:root"))
                && !matches!(grant.status.as_str(), "DELETED" | "PENDING_DELETE")
        })
        .collect();
    assert_eq!(live.len(), 1, "one live grant to {ACCOUNT}: {live:?}");
    let grant = live[0];
    let mut operations = grant.operations.clone();
    operations.sort();
    (grant.status.clone(), operations, grant.version)
}

#[test]
fn an_update_that_also_activates_activates_and_the_next_plan_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), "member", &["CheckoutLicense", "CheckInLicense"]);
    let first = run(dir.path(), &["apply", &plan, "--auto-approve"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    // Nobody reads the member-activated grant again: let AWS finish distributing it.
    let state = dir.path().join("state.json").display().to_string();
    let settled = ran(entitle(None).args(["sandbox", "settle-workflows", "--state", &state]));
    assert_eq!(settled.code, 0, "{}", settled.stderr);
    let (status, operations, _) = the_grant(dir.path());
    assert_eq!(
        status, "DISABLED",
        "member activation leaves it to the member"
    );
    assert_eq!(operations, ["CheckInLicense", "CheckoutLicense"]);

    // The grantor now activates, and the plan wants one more operation.
    let plan = write_plan(
        dir.path(),
        "grantor",
        &[
            "CheckoutLicense",
            "CheckInLicense",
            "ExtendConsumptionLicense",
        ],
    );
    let planned = run(dir.path(), &["plan", &plan, "--output", "json"]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let document: Value = serde_json::from_str(&planned.stdout).unwrap();
    let changes: Vec<&Value> = document["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["action"] != "no_op")
        .collect();
    assert_eq!(changes.len(), 1, "one change: {changes:?}");
    assert_eq!(changes[0]["action"], "update_operations");
    assert!(
        changes[0]["reason"]
            .as_str()
            .unwrap()
            .contains("and activate it"),
        "the plan promises the activation: {}",
        changes[0]["reason"]
    );

    let applied = run(
        dir.path(),
        &["apply", &plan, "--auto-approve", "--output", "json"],
    );
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let report: Value = serde_json::from_str(&applied.stdout).unwrap();
    let reported: Vec<&Value> = report["changes"].as_array().unwrap().iter().collect();
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!(
        reported[0]["action"], "update_operations",
        "the report spells the action as the plan does"
    );
    assert_eq!(reported[0]["outcome"], "done");

    let (status, operations, _) = the_grant(dir.path());
    assert_eq!(status, "ACTIVE", "the promise kept: the grant is active");
    assert_eq!(
        operations,
        [
            "CheckInLicense",
            "CheckoutLicense",
            "ExtendConsumptionLicense"
        ]
    );

    let again = run(dir.path(), &["plan", &plan, "--detailed-exitcode"]);
    assert_eq!(
        again.code, 0,
        "nothing left to change:\n{}{}",
        again.stdout, again.stderr
    );
}
