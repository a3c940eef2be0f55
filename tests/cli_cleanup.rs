//! `entitle cleanup` through the real binary on the sandbox: after an org-wide rollout and the
//! agreement's cancellation every grant of the license is deleted and verified gone, the demo's
//! older cancelled subscription is cleaned with `--include-unowned`, a second run finds nothing,
//! and with throttling, 5xx and dropped connections everything is still deleted exactly once.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use entitle::sandbox::State;
use entitle::sandbox::seed::{DEMO_ACTIVE_AGREEMENT, DEMO_ACTIVE_LICENSE, DEMO_DELETED_LICENSE};
use serde_json::Value;
use support::{Ran, SandboxServer, entitle, ran, repository};

fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

/// Grants of `license` that are not DELETED (parents and per-account children alike).
fn live_grants(state: &State, license: &str) -> Vec<String> {
    state
        .grants
        .values()
        .filter(|grant| grant.license_arn == license && grant.status != "DELETED")
        .map(|grant| format!("{} {} {}", grant.arn, grant.principal, grant.status))
        .collect()
}

#[test]
fn after_cancellation_every_grant_of_the_license_is_deleted_and_verified_gone() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state_file = dir.join("state.json");
    let plan = repository("plans/claude-sonnet-4-5.toml");

    // The whole demo rollout, then the buyer cancels the subscription.
    for _ in 0..2 {
        let applied = run(dir, &["apply", &plan, "--auto-approve", "--ignore-gates"]);
        assert_eq!(applied.code, 0, "{}", applied.stderr);
    }
    assert!(!live_grants(&State::load(&state_file).unwrap(), DEMO_ACTIVE_LICENSE).is_empty());
    let cancelled = ran(entitle(None).current_dir(dir).args([
        "sandbox",
        "cancel-agreement",
        DEMO_ACTIVE_AGREEMENT,
        "--state",
        &state_file.display().to_string(),
    ]));
    assert_eq!(cancelled.code, 0, "{}", cancelled.stderr);

    // Without a terminal and without --auto-approve nothing is deleted.
    let refused = run(dir, &["cleanup"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(refused.stderr.contains("no terminal"), "{}", refused.stderr);
    assert!(!live_grants(&State::load(&state_file).unwrap(), DEMO_ACTIVE_LICENSE).is_empty());

    // The plan names both ended subscriptions; only entitle's grants go by default.
    let planned = run(dir, &["--output", "json", "cleanup", "--auto-approve"]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let document: Value = serde_json::from_str(&planned.stdout).unwrap();
    assert_eq!(document["format_version"], 1);
    assert_eq!(document["result"]["clean"], true, "{}", document["result"]);
    assert_eq!(
        document["result"]["totals"]["done"],
        document["summary"]["delete"]
    );
    let accounts = document["result"]["verified"][0]["accounts"]
        .as_array()
        .unwrap();
    assert_eq!(accounts.len(), 38, "every account the org grant reached");
    assert!(
        accounts
            .iter()
            .all(|account| account["end_state"] == "no grant")
    );
    let state = State::load(&state_file).unwrap();
    assert_eq!(
        live_grants(&state, DEMO_ACTIVE_LICENSE),
        Vec::<String>::new()
    );
    // The older cancelled subscription's grants are not entitle's: shown, left alone.
    assert_eq!(
        live_grants(&state, DEMO_DELETED_LICENSE).len(),
        3 + 7,
        "3 grants, 7 OU members"
    );

    let unowned = run(dir, &["cleanup", "--auto-approve", "--include-unowned"]);
    assert_eq!(unowned.code, 0, "{}", unowned.stderr);
    assert!(
        unowned
            .stdout
            .contains("Verified: no account holds any of the deleted grants any more."),
        "{}",
        unowned.stdout
    );
    let state = State::load(&state_file).unwrap();
    assert_eq!(
        live_grants(&state, DEMO_DELETED_LICENSE),
        Vec::<String>::new()
    );

    // Nothing left: a second run plans nothing, and the journal tells who deleted what.
    let again = run(dir, &["cleanup", "--include-unowned"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("nothing to clean up"),
        "{}",
        again.stdout
    );
    let journal = support::journal_text(dir, "cleanup");
    assert_eq!(journal.matches("\"event\":\"run_started\"").count(), 2);
    assert!(journal.contains("\"operation\":\"DeleteGrant\""));
}

#[test]
fn a_narrowed_cleanup_of_a_live_subscription_is_refused_with_the_reason() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let active = run(dir, &["cleanup", "--agreement", DEMO_ACTIVE_AGREEMENT]);
    assert_eq!(active.code, 1);
    assert!(
        active
            .stderr
            .contains("is ACTIVE: its subscription has not ended, so its grants stay"),
        "{}",
        active.stderr
    );
    let license = run(dir, &["cleanup", "--license", DEMO_ACTIVE_LICENSE]);
    assert_eq!(license.code, 1);
    assert!(
        license
            .stderr
            .contains("is AVAILABLE and no ended agreement leads to it"),
        "{}",
        license.stderr
    );
    let unknown = run(dir, &["cleanup", "--agreement", "agmt-nosuchagreement"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown
            .stderr
            .contains("no purchase agreement `agmt-nosuchagreement`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn cleanup_under_throttling_5xx_and_dropped_connections_deletes_everything_once() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state_file = dir.join("state.json");
    let faults = dir.join("faults.toml");
    std::fs::write(
        &faults,
        "seed = 5\n\
         [operations.DeleteGrant]\nthrottle_every = 10\nerror_5xx_every = 4\ndrop_after_work_every = 5\n\
         [operations.ListReceivedGrantsForOrganization]\nerror_5xx_every = 2\n",
    )
    .unwrap();
    let plan = dir.join("every.toml");
    std::fs::write(
        &plan,
        "version = 1\nname = \"every\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\n\
         [[phase]]\nname = \"all\"\norganization = true\ngrant_to = \"accounts\"\n",
    )
    .unwrap();
    let server = SandboxServer::start(&[
        "--state",
        &state_file.display().to_string(),
        "--faults",
        &faults.display().to_string(),
    ]);
    let endpoint = server.endpoint.clone();
    let applied = ran(entitle(Some(&endpoint))
        .current_dir(dir)
        .args(["apply", "--auto-approve"])
        .arg(&plan));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let cancelled = ran(entitle(None).args([
        "sandbox",
        "cancel-agreement",
        DEMO_ACTIVE_AGREEMENT,
        "--endpoint",
        &endpoint,
    ]));
    assert_eq!(cancelled.code, 0, "{}", cancelled.stderr);
    let cleaned = ran(entitle(Some(&endpoint)).current_dir(dir).args([
        "--output",
        "json",
        "cleanup",
        "--auto-approve",
        "--product",
        "prod-mxcfnwvpd6kb4",
    ]));
    assert_eq!(cleaned.code, 0, "{}\n{}", cleaned.stdout, cleaned.stderr);
    let document: Value = serde_json::from_str(&cleaned.stdout).unwrap();
    assert_eq!(document["summary"]["delete"], 38);
    assert_eq!(document["result"]["totals"]["done"], 38);
    assert_eq!(document["result"]["clean"], true);
    // Unattended, the deletions ran without waiting for the accounts' listing; the report still
    // names every account (the listing labels it afterwards).
    let done = document["result"]["changes"].as_array().unwrap();
    assert_eq!(done.len(), 38);
    let named = |id: &str| {
        done.iter()
            .find(|change| change["principal"]["id"] == id)
            .map(|change| change["principal_name"].as_str().unwrap().to_owned())
    };
    assert_eq!(named("111111111111").as_deref(), Some("ml-pilot-a"));
    assert!(
        done.iter()
            .all(|change| !change["principal_name"].as_str().unwrap().is_empty()),
        "{done:#?}"
    );
    let stats = ran(entitle(None).args([
        "sandbox",
        "stats",
        "--endpoint",
        &endpoint,
        "--output",
        "json",
    ]));
    let stats: Value = serde_json::from_str(&stats.stdout).unwrap();
    let deletes = &stats["operations"]["LicenseManager.DeleteGrant"];
    for fault in ["throttled", "server_errors", "dropped"] {
        assert!(deletes[fault].as_u64().unwrap() > 0, "{fault}: {deletes}");
    }
    let again = ran(entitle(Some(&endpoint)).current_dir(dir).args([
        "cleanup",
        "--product",
        "prod-mxcfnwvpd6kb4",
    ]));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("nothing to clean up"),
        "{}",
        again.stdout
    );
    server.stop();
    let state = State::load(&state_file).unwrap();
    assert_eq!(
        live_grants(&state, DEMO_ACTIVE_LICENSE),
        Vec::<String>::new()
    );
    // Each grant was deleted exactly once: one answered DeleteGrant per grant in the journal,
    // whatever the retries (a dropped answer is a failed attempt, then one that succeeds).
    let journal = support::journal_text(dir, "cleanup");
    let mut deleted: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for line in journal.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        if entry["event"] == "call_finished"
            && entry["operation"] == "DeleteGrant"
            && entry["outcome"] == "ok"
        {
            *deleted
                .entry(entry["grant_arn"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert_eq!(deleted.len(), 38);
    assert!(deleted.values().all(|count| *count == 1), "{deleted:?}");
}

#[test]
fn apply_destroy_tears_the_rollout_down_later_phases_first() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state_file = dir.join("state.json");
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let applied = run(
        dir,
        &[
            "apply",
            &plan,
            "--phase",
            "workloads",
            "--auto-approve",
            "--ignore-gates",
        ],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let before = State::load(&state_file).unwrap();
    assert!(!live_grants(&before, DEMO_ACTIVE_LICENSE).is_empty());

    // The same plan and confirmation path as any apply: no terminal, no --auto-approve, no change.
    let refused = run(dir, &["apply", &plan, "--destroy"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stdout.contains("10 to delete"),
        "{}",
        refused.stdout
    );
    assert_eq!(
        live_grants(&State::load(&state_file).unwrap(), DEMO_ACTIVE_LICENSE).len(),
        live_grants(&before, DEMO_ACTIVE_LICENSE).len()
    );

    let destroyed = run(dir, &["apply", &plan, "--destroy", "--auto-approve"]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.stderr);
    assert!(
        destroyed.stdout.contains("Apply: 10 done, 0 failed"),
        "{}",
        destroyed.stdout
    );
    // Later phases first: every workloads grant was deleted before any pilot grant.
    let journal = support::journal_text(dir, "claude-sonnet-4-5");
    let phases: Vec<String> = journal
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|entry| entry["event"] == "call_started" && entry["operation"] == "DeleteGrant")
        .map(|entry| entry["phase"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(phases.len(), 10);
    let first_pilot = phases.iter().position(|phase| phase == "pilot").unwrap();
    assert!(
        phases[first_pilot..].iter().all(|phase| phase == "pilot"),
        "{phases:?}"
    );
    // Only the rollout's grants went: the old subscription's grants are not the rollout's.
    let after = State::load(&state_file).unwrap();
    assert_eq!(
        live_grants(&after, DEMO_ACTIVE_LICENSE),
        Vec::<String>::new()
    );
    assert_eq!(
        live_grants(&after, DEMO_DELETED_LICENSE),
        live_grants(&before, DEMO_DELETED_LICENSE)
    );
    let again = run(dir, &["plan", &plan, "--destroy", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
}
