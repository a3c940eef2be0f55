//! A run killed at any point (SIGKILL) and started again converges to exactly one grant per
//! principal: `entitle apply` is killed at several points of a rollout against the emulator with
//! "work done, connection dropped" faults on, restarted each time, and the emulator's own state
//! is checked at the end. The journal tells each restart where the killed run stopped.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use entitle::sandbox::State;
use entitle::sandbox::seed::DEMO_ACTIVE_LICENSE;
use serde_json::json;
use support::{SandboxServer, entitle, ran};

/// Every account of the demo organisation, one grant each: 38 grants, 76 calls at least.
const PLAN: &str = r#"version = 1
name = "crash"

[entitlement]
product = "prod-mxcfnwvpd6kb4"
activation = "grantor"

[[phase]]
name = "all"
organization = true
grant_to = "accounts"
"#;

fn call_lines(journal: &Path) -> usize {
    std::fs::read_to_string(journal)
        .map(|text| {
            text.lines()
                .filter(|line| line.contains("\"event\":\"call_started\""))
                .count()
        })
        .unwrap_or(0)
}

/// Starts an apply and SIGKILLs it once this run has sent `kill_after` calls; returns whether
/// the kill came before the run ended on its own.
fn apply_and_kill(
    dir: &Path,
    endpoint: &str,
    plan: &Path,
    journal: &Path,
    kill_after: usize,
) -> bool {
    let before = call_lines(journal);
    let mut child = entitle(Some(endpoint))
        .current_dir(dir)
        .args(["apply", "--auto-approve", "--concurrency", "4", "--journal"])
        .arg(journal)
        .args(["--member-role", "OrganizationAccountAccessRole"])
        .arg(plan)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if call_lines(journal) >= before + kill_after {
            child.kill().unwrap(); // SIGKILL: no destructor, no flush, no goodbye.
            child.wait().unwrap();
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the apply hung"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn an_apply_killed_at_several_points_converges_to_exactly_one_grant_per_principal() {
    crash_and_converge(&[]);
}

/// The same under a "pessimistic AWS": slow distribution, account grants waiting for the
/// member's acceptance (accepted through the member role), activated parents showing
/// WORKFLOW_COMPLETED, slow deletes, other error wordings, deleted grants listed, tokens forgotten
/// after a delete, duplicate grants allowed and reused tokens answered with the original.
#[test]
fn an_apply_killed_at_several_points_converges_under_a_pessimistic_aws() {
    crash_and_converge(&[
        ("pending_workflow_reads", json!(3)),
        ("pending_workflow_millis", json!(300)),
        ("account_grant_acceptance", json!("member")),
        ("activated_parent_status", json!("workflow_completed")),
        ("pending_delete_millis", json!(300)),
        ("own_subscription_activation", json!("override")),
        ("stale_version_message", json!("mismatch")),
        ("list_deleted_grants", json!(true)),
        ("client_token_after_delete", json!("forgotten")),
        ("duplicate_grant", json!("allow")),
        ("client_token_mismatch", json!("return_original")),
    ]);
}

fn crash_and_converge(settings: &[(&str, serde_json::Value)]) {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state_file = dir.join("state.json");
    let state = support::demo_with_settings(settings);
    state.save(&state_file).unwrap();
    let faults = dir.join("faults.toml");
    // Every 5th create and 4th activation is carried out, then its connection dropped; every call
    // waits 15 ms, so a kill lands in the middle of the work.
    std::fs::write(
        &faults,
        "seed = 11\n\
         [default]\nlatency_ms = 15\n\
         [operations.CreateGrant]\nlatency_ms = 15\ndrop_after_work_every = 5\n\
         [operations.CreateGrantVersion]\nlatency_ms = 15\ndrop_after_work_every = 4\n",
    )
    .unwrap();
    let plan = dir.join("crash.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let journal = dir.join("journal.jsonl");
    let server = SandboxServer::start(&[
        "--state",
        &state_file.display().to_string(),
        "--faults",
        &faults.display().to_string(),
    ]);

    // Killed after the first call went out, then well into the creates, then among the
    // activations (each restart counts its own calls).
    for kill_after in [1, 12, 30] {
        assert!(
            apply_and_kill(dir, &server.endpoint, &plan, &journal, kill_after),
            "the apply finished before its kill point {kill_after}"
        );
    }

    // The restart that finishes says where the last one stopped.
    let finished = ran(entitle(Some(&server.endpoint))
        .current_dir(dir)
        .args(["apply", "--auto-approve", "--journal"])
        .arg(&journal)
        .args(["--member-role", "OrganizationAccountAccessRole"])
        .arg(&plan));
    assert_eq!(finished.code, 0, "{}\n{}", finished.stdout, finished.stderr);
    assert!(
        finished.stderr.contains("the previous `apply`")
            && finished.stderr.contains("stopped before it finished"),
        "{}",
        finished.stderr
    );
    let again = ran(entitle(Some(&server.endpoint))
        .current_dir(dir)
        .args(["plan", "--detailed-exitcode"])
        .arg(&plan));
    assert_eq!(again.code, 0, "nothing left to do: {}", again.stdout);
    let stats = ran(entitle(None).args([
        "sandbox",
        "stats",
        "--endpoint",
        &server.endpoint,
        "--output",
        "json",
    ]));
    let stats: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    for operation in ["CreateGrant", "CreateGrantVersion"] {
        let served = &stats["operations"][format!("LicenseManager.{operation}")];
        assert!(
            served["dropped"].as_u64().unwrap() >= 2,
            "{operation}: {served}"
        );
    }
    server.stop();

    // The emulator's own state: one grant per principal, every one ACTIVE, none made twice
    // (deleted ones included: a doubled grant cleaned up afterwards would still be a double).
    let state = State::load(&state_file).unwrap();
    let mut by_principal: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for grant in state.grants.values() {
        if grant.license_arn == DEMO_ACTIVE_LICENSE
            && grant.parent_grant.is_none()
            && grant.tags.get("entitle:rollout").map(String::as_str) == Some("crash")
        {
            by_principal
                .entry(grant.principal.as_str())
                .or_default()
                .push(grant.status.as_str());
        }
    }
    let active_members = state.active_member_ids().len();
    assert_eq!(by_principal.len(), active_members, "{by_principal:?}");
    for (principal, statuses) in &by_principal {
        assert_eq!(statuses, &vec!["ACTIVE"], "{principal}");
    }

    // The journal shows the kills: runs that started and never finished, and calls never answered.
    let text = std::fs::read_to_string(&journal).unwrap();
    let started = text.matches("\"event\":\"run_started\"").count();
    let ended = text.matches("\"event\":\"run_finished\"").count();
    assert_eq!((started, ended), (4, 1), "three killed runs, one finished");
}
