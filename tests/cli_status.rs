//! `entitle status` through the real binary on the sandbox: the subscription's state at the top
//! (an ended subscription says so, with the cleanup hint, however many grants still say ACTIVE),
//! `--only` and `--summary` (counts and gates over every account, only some accounts listed),
//! and the time of each look.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use entitle::sandbox::seed::{DEMO_ACTIVE_AGREEMENT, DEMO_ACTIVE_LICENSE};
use serde_json::Value;
use support::{Ran, entitle, ran, repository};

fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

fn json(ran: &Ran) -> Value {
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    serde_json::from_str(&ran.stdout).unwrap()
}

fn listed(document: &Value) -> Vec<(String, String)> {
    document["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|account| {
            (
                account["account"].as_str().unwrap().to_owned(),
                account["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Each phase's counts (the bake clock moves between looks).
fn phase_counts(document: &Value) -> Vec<Value> {
    document["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|phase| {
            serde_json::json!([
                phase["name"],
                phase["accounts"],
                phase["active"],
                phase["by_status"],
                phase["gate"]["min_active_holds"]
            ])
        })
        .collect()
}

/// The demo rollout with its pilot applied: the pilot's accounts ACTIVE, the rest missing.
fn pilot_applied(dir: &Path) -> String {
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let pilot = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(pilot.code, 0, "{}", pilot.stderr);
    plan
}

#[test]
fn an_ended_subscription_is_said_at_the_top_with_the_cleanup_hint() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = pilot_applied(dir);

    let live = json(&run(dir, &["--output", "json", "status", &plan]));
    assert_eq!(live["kind"], "status");
    assert_eq!(live["subscription"]["license_status"], "AVAILABLE");
    assert_eq!(live["subscription"]["agreement_id"], DEMO_ACTIVE_AGREEMENT);
    assert_eq!(live["subscription"]["agreement_status"], "ACTIVE");
    assert_eq!(live["subscription"]["ended"], false);
    assert_eq!(live["subscription"]["usable"], true);
    assert_eq!(live["subscription"]["hint"], Value::Null);
    let active_before = live["totals"]["active"].as_u64().unwrap();
    assert!(active_before > 0, "{live}");
    let text = run(dir, &["status", &plan]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains(&format!(
            "Subscription: license AVAILABLE, agreement `{DEMO_ACTIVE_AGREEMENT}` is ACTIVE."
        )),
        "{}",
        text.stdout
    );

    // The buyer cancels: the license is DELETED, the agreement CANCELLED.
    let cancelled = run(dir, &["sandbox", "cancel-agreement", DEMO_ACTIVE_AGREEMENT]);
    assert_eq!(cancelled.code, 0, "{}", cancelled.stderr);

    let ended = json(&run(dir, &["--output", "json", "status", &plan]));
    assert_eq!(ended["subscription"]["license_arn"], DEMO_ACTIVE_LICENSE);
    assert_eq!(ended["subscription"]["license_status"], "DELETED");
    assert_eq!(ended["subscription"]["agreement_status"], "CANCELLED");
    assert_eq!(ended["subscription"]["ended"], true);
    assert_eq!(ended["subscription"]["usable"], false);
    let hint = ended["subscription"]["hint"].as_str().unwrap();
    assert!(
        hint.contains(&format!("entitle cleanup --license {DEMO_ACTIVE_LICENSE}")),
        "{hint}"
    );

    let text = run(dir, &["status", &plan]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let lines: Vec<&str> = text.stdout.lines().collect();
    // Right under the rollout's line and the time of the look: never below 38 account lines.
    assert!(lines[1].starts_with("checked at "), "{}", text.stdout);
    assert!(
        lines[2].starts_with("Subscription: the subscription has ended (license DELETED"),
        "{}",
        text.stdout
    );
    assert!(
        lines[3].contains("entitle cleanup --license"),
        "{}",
        text.stdout
    );
    // The grants still say ACTIVE (cancelling deletes the license, not the grants): the total
    // says they give no access.
    let still_active = ended["totals"]["active"].as_u64().unwrap();
    assert_eq!(still_active, active_before, "{ended}");
    assert!(
        text.stdout.contains(&format!(
            "{still_active} grants still ACTIVE, but the subscription has ended: they give no access."
        )),
        "{}",
        text.stdout
    );
}

#[test]
fn only_and_summary_list_fewer_accounts_and_keep_every_count() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = pilot_applied(dir);

    let all = json(&run(dir, &["--output", "json", "status", &plan]));
    let every = listed(&all);
    assert_eq!(
        every.len() as u64,
        all["totals"]["accounts"].as_u64().unwrap()
    );
    assert!(every.iter().any(|(_, state)| state == "active"), "{all}");
    assert!(every.iter().any(|(_, state)| state == "missing"), "{all}");
    assert_eq!(all["shown"]["only"], serde_json::json!([]));
    assert_eq!(all["shown"]["summary"], false);

    // --only not-active: every account but the active ones, in the same order; counts unchanged.
    let not_active = json(&run(
        dir,
        &["--output", "json", "status", &plan, "--only", "not-active"],
    ));
    let expected: Vec<(String, String)> = every
        .iter()
        .filter(|(_, state)| state != "active")
        .cloned()
        .collect();
    assert_eq!(listed(&not_active), expected);
    assert_eq!(not_active["totals"], all["totals"]);
    assert_eq!(phase_counts(&not_active), phase_counts(&all));
    assert_eq!(
        not_active["shown"]["only"],
        serde_json::json!(["not-active"])
    );

    // Two states, comma-separated, each listed once.
    let both = json(&run(
        dir,
        &[
            "--output",
            "json",
            "status",
            &plan,
            "--only",
            "active,missing,active",
        ],
    ));
    assert_eq!(listed(&both), every);
    assert_eq!(
        both["shown"]["only"],
        serde_json::json!(["active", "missing"])
    );

    // --summary: no account, the same counts and gates.
    let summary = json(&run(
        dir,
        &["--output", "json", "status", &plan, "--summary"],
    ));
    assert!(listed(&summary).is_empty());
    assert_eq!(summary["totals"], all["totals"]);
    assert_eq!(phase_counts(&summary), phase_counts(&all));
    assert_eq!(summary["shown"]["summary"], true);

    // For people: the summary is a few lines whatever the organisation's size.
    let full_text = run(dir, &["status", &plan]);
    let summary_text = run(dir, &["status", &plan, "--summary"]);
    assert_eq!(summary_text.code, 0, "{}", summary_text.stderr);
    let phases = all["phases"].as_array().unwrap().len();
    assert!(
        summary_text.stdout.lines().count() <= 4 + 3 * phases + 3,
        "{}",
        summary_text.stdout
    );
    assert!(summary_text.stdout.lines().count() < full_text.stdout.lines().count());
    for (account, _) in &every {
        assert!(
            !summary_text.stdout.contains(account.as_str()),
            "{}",
            summary_text.stdout
        );
    }
    let only_text = run(dir, &["status", &plan, "--only", "active"]);
    assert_eq!(only_text.code, 0, "{}", only_text.stderr);
    for (account, state) in &every {
        assert_eq!(
            only_text.stdout.contains(account.as_str()),
            state == "active",
            "{account} ({state}):\n{}",
            only_text.stdout
        );
    }
    let active = all["totals"]["active"].as_u64().unwrap();
    assert!(
        only_text.stdout.contains(&format!(
            "Listed: {active} of {} accounts (--only active).",
            all["totals"]["accounts"]
        )),
        "{}",
        only_text.stdout
    );

    // A state that is not one is a usage error naming the states.
    let wrong = run(dir, &["status", &plan, "--only", "inactive"]);
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("not-active"), "{}", wrong.stderr);
}

#[test]
fn each_look_says_when_it_was_taken() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = pilot_applied(dir);
    let before = std::time::SystemTime::now();
    let document = json(&run(dir, &["--output", "json", "status", &plan]));
    let after = std::time::SystemTime::now();
    let checked_at = document["checked_at"].as_str().unwrap();
    assert!(checked_at.ends_with('Z'), "{checked_at}");
    let at = humantime::parse_rfc3339(checked_at).unwrap();
    let second = std::time::Duration::from_secs(1);
    assert!(at + second >= before && at <= after, "{checked_at}");
    // Since-when times are in the same spelling: RFC 3339 UTC to the second.
    for account in document["accounts"].as_array().unwrap() {
        if let Some(since) = account["since"].as_str() {
            assert!(humantime::parse_rfc3339(since).is_ok(), "{since}");
            assert!(!since.contains('.'), "{since}");
        }
    }
}
