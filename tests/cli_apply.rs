//! `entitle apply` through the real binary against the emulator: the pilot phase applied and
//! activated, a second run with nothing to do, refusal without a terminal, stale saved plans,
//! and faults (throttling, 5xx, connections dropped after the work) that lose and double nothing.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use entitle::sandbox::State;
use entitle::sandbox::seed::DEMO_ACTIVE_LICENSE;
use support::{SandboxServer, entitle, ran, repository};

fn sandbox_flag(state: &Path) -> String {
    format!("--sandbox={}", state.display())
}

/// The rollout's live (not deleted) parent grants in the emulator's state, by principal.
fn live_grants(state: &State, rollout: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut by_principal: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for grant in state.grants.values() {
        if grant.license_arn == DEMO_ACTIVE_LICENSE
            && grant.parent_grant.is_none()
            && grant.status != "DELETED"
            && grant.tags.get("entitle:rollout").map(String::as_str) == Some(rollout)
        {
            by_principal
                .entry(grant.principal.clone())
                .or_default()
                .push((grant.arn.clone(), grant.status.clone()));
        }
    }
    by_principal
}

#[test]
fn the_pilot_is_applied_and_activated_once_and_a_second_run_changes_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let state_file = directory.path().join("state.json");
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let first = ran(entitle(None).current_dir(directory.path()).args([
        &sandbox_flag(&state_file),
        "apply",
        &plan,
        "--phase",
        "pilot",
        "--auto-approve",
    ]));
    assert_eq!(first.code, 0, "{}", first.stderr);
    // Without a terminal (a CI log) the plan approved by `--auto-approve` comes first.
    let plan_at = first.stdout.find("Plan: ");
    let results_at = first.stdout.find("done     pilot");
    assert!(
        plan_at.is_some() && plan_at < results_at,
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("done     pilot      ml-pilot-a (Workloads/ML)"),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .ends_with("Apply: 2 done, 0 failed, 0 skipped.\n"),
        "{}",
        first.stdout
    );
    // stderr counts progress without naming a change a second time.
    assert!(
        first
            .stderr
            .contains("progress: 2/2 changes (2 done, 0 failed, 0 waiting, 0 skipped)")
            && !first.stderr.contains("ml-pilot-b"),
        "{}",
        first.stderr
    );

    let state = State::load(&state_file).unwrap();
    let grants = live_grants(&state, "claude-sonnet-4-5");
    assert_eq!(grants.len(), 2, "{grants:?}");
    for principal in [
        "arn:aws:iam::111111111111:root",
        "arn:aws:iam::222222222222:root",
    ] {
        assert_eq!(grants[principal].len(), 1, "one grant for {principal}");
        assert_eq!(grants[principal][0].1, "ACTIVE", "{principal} activated");
    }

    let second = ran(entitle(None).current_dir(directory.path()).args([
        &sandbox_flag(&state_file),
        "apply",
        &plan,
        "--phase",
        "pilot",
        "--auto-approve",
    ]));
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(second.stdout.contains("No changes."), "{}", second.stdout);
    let planned = ran(entitle(None).current_dir(directory.path()).args([
        &sandbox_flag(&state_file),
        "plan",
        &plan,
        "--phase",
        "pilot",
        "--detailed-exitcode",
    ]));
    assert_eq!(
        planned.code, 0,
        "a second plan finds nothing to do: {}",
        planned.stdout
    );
    assert_eq!(
        State::load(&state_file).unwrap().grants.len(),
        state.grants.len(),
        "nothing was created twice"
    );
}

#[test]
fn without_a_terminal_and_without_auto_approve_nothing_is_changed() {
    let directory = tempfile::tempdir().unwrap();
    let state_file = directory.path().join("state.json");
    let result = ran(entitle(None).current_dir(directory.path()).args([
        &sandbox_flag(&state_file),
        "apply",
        &repository("plans/org-wide.toml"),
    ]));
    assert_eq!(result.code, 1);
    assert!(
        result.stderr.starts_with("error: refusing to change grants without confirmation: there is no terminal to ask on\n"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("hint: pass `--auto-approve`"),
        "{}",
        result.stderr
    );
    assert!(live_grants(&State::load(&state_file).unwrap(), "claude-sonnet-4-5-org").is_empty());
}

#[test]
fn a_stale_saved_plan_is_refused_and_a_fresh_one_applies_exactly() {
    let directory = tempfile::tempdir().unwrap();
    let state_file = directory.path().join("state.json");
    let saved: PathBuf = directory.path().join("saved.json");
    let plan = repository("plans/org-wide.toml");
    let wrote = ran(entitle(None).current_dir(directory.path()).args([
        &sandbox_flag(&state_file),
        "plan",
        &plan,
        "--out",
        saved.to_str().unwrap(),
    ]));
    assert_eq!(wrote.code, 0, "{}", wrote.stderr);

    // The world moves on: an account joins.
    let joined = ran(entitle(None).current_dir(directory.path()).args([
        "sandbox",
        "join-account",
        "999999999999",
        "--state",
        state_file.to_str().unwrap(),
    ]));
    assert_eq!(joined.code, 0, "{}", joined.stderr);
    let stale = ran(entitle(None).current_dir(directory.path()).args([
        &sandbox_flag(&state_file),
        "apply",
        saved.to_str().unwrap(),
        "--auto-approve",
    ]));
    assert_eq!(stale.code, 1, "{}", stale.stdout);
    assert_eq!(
        stale.stderr,
        "error: the organisation or the grants of the license changed since the plan was saved\n  \
         hint: run `entitle plan` again and review the new plan\n",
    );
    assert!(
        !stale.stdout.contains("Apply:"),
        "nothing was carried out: {}",
        stale.stdout
    );
    assert!(
        live_grants(&State::load(&state_file).unwrap(), "claude-sonnet-4-5-org").is_empty(),
        "a stale plan changes nothing"
    );

    let fresh = ran(entitle(None).current_dir(directory.path()).args([
        &sandbox_flag(&state_file),
        "plan",
        &plan,
        "--out",
        saved.to_str().unwrap(),
    ]));
    assert_eq!(fresh.code, 0);
    let applied = ran(entitle(None).current_dir(directory.path()).args([
        &sandbox_flag(&state_file),
        "apply",
        saved.to_str().unwrap(),
        "--auto-approve",
    ]));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let grants = live_grants(&State::load(&state_file).unwrap(), "claude-sonnet-4-5-org");
    assert_eq!(grants.len(), 1, "one organisation grant: {grants:?}");
    let (_, status) = &grants.values().next().unwrap()[0];
    assert_eq!(status, "ACTIVE");
}

#[test]
fn throttling_server_errors_and_dropped_connections_lose_and_double_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let state_file = directory.path().join("state.json");
    let faults = directory.path().join("faults.toml");
    std::fs::write(
        &faults,
        "seed = 7\n\
         [operations.CreateGrant]\ndrop_after_work_every = 2\n\
         [operations.CreateGrantVersion]\nthrottle_every = 3\nerror_5xx_every = 4\n\
         [operations.GetGrant]\nerror_5xx_every = 5\n",
    )
    .unwrap();
    let server = SandboxServer::start(&[
        "--state",
        state_file.to_str().unwrap(),
        "--faults",
        faults.to_str().unwrap(),
    ]);
    let endpoint = server.endpoint.clone();

    // The pilot makes account grants; the workloads phase (let through its gate, which would
    // otherwise bake for a day) makes an OU grant and more account grants.
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let pilot = ran(entitle(Some(&endpoint))
        .current_dir(directory.path())
        .args(["apply", &plan, "--phase", "pilot", "--auto-approve"]));
    assert_eq!(pilot.code, 0, "{}\n{}", pilot.stdout, pilot.stderr);
    let workloads = ran(entitle(Some(&endpoint))
        .current_dir(directory.path())
        .args([
            "apply",
            &plan,
            "--phase",
            "workloads",
            "--ignore-gates",
            "--auto-approve",
        ]));
    assert_eq!(
        workloads.code, 0,
        "{}\n{}",
        workloads.stdout, workloads.stderr
    );
    // Nothing left to do: every change the two phases promise was made exactly.
    let planned = ran(entitle(Some(&endpoint))
        .current_dir(directory.path())
        .args(["plan", &plan, "--phase", "workloads", "--detailed-exitcode"]));
    assert_eq!(planned.code, 0, "{}", planned.stdout);
    let stats = ran(entitle(None).current_dir(directory.path()).args([
        "sandbox",
        "stats",
        "--endpoint",
        &endpoint,
        "--output",
        "json",
    ]));
    let stats: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    assert!(
        stats["operations"]["LicenseManager.CreateGrant"]["dropped"]
            .as_u64()
            .unwrap()
            >= 1,
        "{stats}"
    );

    server.stop();
    let grants = live_grants(&State::load(&state_file).unwrap(), "claude-sonnet-4-5");
    assert!(
        grants.contains_key("arn:aws:iam::111111111111:root")
            && grants
                .keys()
                .any(|principal| principal.contains(":organizations::")),
        "account grants and an OU grant: {grants:?}"
    );
    for (principal, found) in &grants {
        assert_eq!(
            found.len(),
            1,
            "exactly one grant for {principal}: {found:?}"
        );
        assert_eq!(found[0].1, "ACTIVE", "{principal}");
    }
}
