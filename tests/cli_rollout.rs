//! A whole rollout through the real binary on the sandbox: the demo rollout phase by phase with
//! `status` after each step, gates that refuse a later phase until `--ignore-gates` (journalled),
//! and a member-activated rollout finished centrally with `entitle activate`.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use entitle::sandbox::State;
use entitle::sandbox::seed::DEMO_ACTIVE_LICENSE;
use serde_json::Value;
use support::{Ran, entitle, ran, repository};

/// Runs `entitle --sandbox=<dir>/state.json <args>` in `dir` (where the journal goes).
fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

fn status(dir: &Path, plan: &str) -> Value {
    let shown = run(dir, &["--output", "json", "status", plan]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    serde_json::from_str(&shown.stdout).unwrap()
}

fn phase<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|phase| phase["name"] == name)
        .unwrap()
}

/// Writes a rollout plan of the demo product with `activation = "member"` and these phases.
fn member_plan(dir: &Path, name: &str, phases: &str) -> String {
    let plan = dir.join(format!("{name}.toml"));
    std::fs::write(
        &plan,
        format!(
            "version = 1\nname = \"{name}\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\
             activation = \"member\"\n\n{phases}"
        ),
    )
    .unwrap();
    plan.display().to_string()
}

/// The demo rollout's parent grants in the emulator's state (every status, deleted ones too):
/// ARN to (principal, status).
fn rollout_grants(dir: &Path) -> BTreeMap<String, (String, String)> {
    State::load(&dir.join("state.json"))
        .unwrap()
        .grants
        .values()
        .filter(|grant| {
            grant.parent_grant.is_none()
                && grant.license_arn == DEMO_ACTIVE_LICENSE
                && grant.tags.get("entitle:rollout").map(String::as_str)
                    == Some("claude-sonnet-4-5")
        })
        .map(|grant| {
            (
                grant.arn.clone(),
                (grant.principal.clone(), grant.status.clone()),
            )
        })
        .collect()
}

fn journal(dir: &Path, rollout: &str) -> Vec<Value> {
    let text = support::journal_text(dir, rollout);
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn the_demo_rollout_goes_phase_by_phase_with_status_after_each_step() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = repository("plans/claude-sonnet-4-5.toml");

    // Nothing yet: every account is missing.
    let before = status(dir, &plan);
    assert_eq!(before["format_version"], 1);
    assert_eq!(before["totals"]["active"], 0);
    assert_eq!(
        before["totals"]["by_status"]["missing"],
        before["totals"]["accounts"]
    );

    // The pilot.
    let pilot = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(pilot.code, 0, "{}", pilot.stderr);
    let after_pilot = status(dir, &plan);
    let pilot_phase = phase(&after_pilot, "pilot");
    assert_eq!(
        (
            pilot_phase["accounts"].as_u64(),
            pilot_phase["active"].as_u64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(pilot_phase["gate"]["min_active_holds"], true);
    assert_eq!(
        pilot_phase["gate"]["holds"], false,
        "the pilot bakes for a day"
    );
    assert!(pilot_phase["gate"]["active_since"].is_string());
    assert!(
        pilot_phase["gate"]["verdict"]
            .as_str()
            .unwrap()
            .starts_with("baking: "),
        "{pilot_phase}"
    );
    let pilot_account = after_pilot["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|account| account["account"] == "111111111111")
        .unwrap();
    assert_eq!(pilot_account["grant_status"], "ACTIVE");
    assert_eq!(pilot_account["phase"], "pilot");
    assert!(pilot_account["since"].is_string(), "{pilot_account}");

    // The waves are held back by the pilot's bake, and nothing is changed.
    let held = run(
        dir,
        &["apply", &plan, "--phase", "workloads", "--auto-approve"],
    );
    assert_eq!(held.code, 1, "{}", held.stdout);
    assert!(
        held.stderr
            .contains("error: phase `workloads` is held back by its gate: phase `pilot` has baked"),
        "{}",
        held.stderr
    );
    assert!(held.stderr.contains("--ignore-gates"), "{}", held.stderr);
    assert_eq!(phase(&status(dir, &plan), "workloads")["active"], 2);

    // Let through on purpose: the journal says so.
    let waves = run(
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
    assert_eq!(waves.code, 0, "{}", waves.stderr);
    assert!(
        waves.stdout.contains("Apply: 8 done, 0 failed, 0 skipped."),
        "{}",
        waves.stdout
    );
    let ignored: Vec<Value> = journal(dir, "claude-sonnet-4-5")
        .into_iter()
        .filter(|entry| entry["event"] == "gate_ignored")
        .collect();
    assert_eq!(ignored.len(), 1);
    assert_eq!(ignored[0]["phase"], "workloads");
    let after_waves = status(dir, &plan);
    let workloads = phase(&after_waves, "workloads");
    assert_eq!(workloads["active"], workloads["accounts"], "{workloads}");
    assert_eq!(workloads["active"], 23);

    // The whole organisation: its grant is created and activated and, in the same run, the ten
    // narrower grants it supersedes are retired (retire_superseded): read from the emulator.
    let narrower = rollout_grants(dir);
    assert_eq!(narrower.len(), 10, "{narrower:?}");
    assert!(
        narrower
            .values()
            .all(|(principal, status)| !principal.contains(":organization/") && status == "ACTIVE"),
        "{narrower:?}"
    );
    let everyone = run(dir, &["apply", &plan, "--auto-approve", "--ignore-gates"]);
    assert_eq!(everyone.code, 0, "{}", everyone.stderr);
    let after = rollout_grants(dir);
    for (arn, (principal, _)) in &narrower {
        assert_eq!(
            after[arn].1, "DELETED",
            "the narrower grant for {principal} is retired"
        );
    }
    let wider: Vec<_> = after
        .iter()
        .filter(|(arn, _)| !narrower.contains_key(*arn))
        .collect();
    assert_eq!(wider.len(), 1, "one new grant: {wider:?}");
    assert!(wider[0].1.0.contains(":organization/"), "{wider:?}");
    assert_eq!(wider[0].1.1, "ACTIVE", "the organisation grant is active");
    assert!(
        everyone
            .stdout
            .contains("Apply: 11 done, 0 failed, 0 skipped."),
        "{}",
        everyone.stdout
    );
    let all = status(dir, &plan);
    assert_eq!(
        all["totals"]["active"], all["totals"]["accounts"],
        "{}",
        all["totals"]
    );
    assert_eq!(all["totals"]["accounts"], 38);

    // A further apply plans no changes, and neither does plan.
    let again = run(dir, &["apply", &plan, "--auto-approve", "--ignore-gates"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    let planned = run(dir, &["plan", &plan, "--detailed-exitcode"]);
    assert_eq!(planned.code, 0, "{}", planned.stdout);

    // The journal is the audit trail: who ran what, every call answered, every run finished.
    let entries = journal(dir, "claude-sonnet-4-5");
    let started = entries
        .iter()
        .filter(|entry| entry["event"] == "run_started")
        .count();
    let finished = entries
        .iter()
        .filter(|entry| entry["event"] == "run_finished")
        .count();
    // pilot, workloads, everyone (with its retirements); the last apply had nothing to do.
    assert_eq!((started, finished), (3, 3));
    let calls_started = entries
        .iter()
        .filter(|entry| entry["event"] == "call_started")
        .count();
    let calls_finished = entries
        .iter()
        .filter(|entry| entry["event"] == "call_finished")
        .count();
    assert_eq!(calls_started, calls_finished);
    assert!(
        entries
            .iter()
            .filter(|entry| entry["event"] == "run_started")
            .all(|entry| entry["caller"] == "arn:aws:iam::100000000001:user/sandbox")
    );

    // The human views: per phase, and the tree by OU.
    let human = run(dir, &["status", &plan]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert!(
        human
            .stdout
            .contains("Phase pilot: 2 of 2 accounts active (100%)"),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .ends_with("Total: 38 of 38 accounts active (100%).\n"),
        "{}",
        human.stdout
    );
    let tree = run(dir, &["status", &plan, "--tree"]);
    assert!(
        tree.stdout
            .contains("  Workloads (25/25 active)\n    ACTIVE          workloads-shared"),
        "{}",
        tree.stdout
    );
    assert!(
        tree.stdout.contains("    Data (7/7 active)\n      ACTIVE"),
        "{}",
        tree.stdout
    );
}

#[test]
fn a_member_activated_rollout_is_finished_centrally_with_activate() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = member_plan(
        dir,
        "member-rollout",
        r#"[[phase]]
name = "pilot"
accounts = ["111111111111", "222222222222"]
gate = { min_active = "100%" }

[[phase]]
name = "web"
ous = ["Workloads/Web"]
"#,
    );
    let state = dir.join("state.json").display().to_string();

    let applied = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let created = status(dir, &plan);
    assert_eq!(
        phase(&created, "pilot")["by_status"]["DISABLED"],
        2,
        "{created}"
    );

    // One member activates its own grant (the sandbox plays the member).
    let member = ran(entitle(None).current_dir(dir).args([
        "sandbox",
        "activate-grant",
        "--account",
        "111111111111",
        "--license",
        DEMO_ACTIVE_LICENSE,
        "--state",
        &state,
    ]));
    assert_eq!(member.code, 0, "{}", member.stderr);
    let one = status(dir, &plan);
    assert_eq!(phase(&one, "pilot")["active"], 1);
    assert_eq!(phase(&one, "pilot")["gate"]["holds"], false);

    // The web wave waits for the pilot's gate: apply without `--phase` does what the gates
    // allow (nothing here), says what it waits for, and succeeds; `--phase web` is refused.
    let held = run(dir, &["apply", &plan, "--auto-approve"]);
    assert_eq!(held.code, 0, "{}\n{}", held.stdout, held.stderr);
    assert!(
        held.stderr
            .contains("phase `web` and the phases after it wait for a gate: phase `pilot` has 1 of 2 accounts active, its gate needs 100%"),
        "{}",
        held.stderr
    );
    let refused = run(dir, &["apply", &plan, "--phase", "web", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .contains("phase `pilot` has 1 of 2 accounts active, its gate needs 100%"),
        "{}",
        refused.stderr
    );
    let web_grants = State::load(&dir.join("state.json"))
        .unwrap()
        .grants
        .values()
        .filter(|grant| grant.principal.ends_with("ou-sbx0-wkldweb0"))
        .filter(|grant| {
            grant.tags.get("entitle:rollout").map(String::as_str) == Some("member-rollout")
        })
        .count();
    assert_eq!(web_grants, 0, "the web wave was held back");

    // The platform team activates the pilot centrally after all: only the one left.
    let activated = run(
        dir,
        &["activate", &plan, "--phase", "pilot", "--auto-approve"],
    );
    assert_eq!(activated.code, 0, "{}", activated.stderr);
    assert!(
        activated
            .stdout
            .contains("Apply: 1 done, 0 failed, 0 skipped."),
        "{}",
        activated.stdout
    );
    let pilot_done = status(dir, &plan);
    assert_eq!(
        phase(&pilot_done, "pilot")["gate"]["holds"],
        true,
        "{pilot_done}"
    );

    // Now the wave goes (its OU grant stays DISABLED for members), then is activated centrally.
    let wave = run(dir, &["apply", &plan, "--auto-approve"]);
    assert_eq!(wave.code, 0, "{}", wave.stderr);
    assert_eq!(
        phase(&status(dir, &plan), "web")["by_status"]["DISABLED"],
        8
    );
    let all = run(dir, &["activate", &plan, "--auto-approve"]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    let finished = status(dir, &plan);
    assert_eq!(finished["totals"]["active"], 10, "{finished}");
    assert_eq!(finished["totals"]["accounts"], 10);
    let again = run(dir, &["activate", &plan, "--auto-approve"]);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    let entries = journal(dir, "member-rollout");
    assert!(
        entries
            .iter()
            .any(|entry| entry["event"] == "run_started" && entry["command"] == "activate")
    );
}

#[test]
fn status_watch_stops_when_the_gates_hold_and_gives_up_after_its_timeout() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = member_plan(
        dir,
        "watch",
        r#"[[phase]]
name = "pilot"
accounts = ["111111111111"]
gate = { min_active = "100%" }
"#,
    );
    let applied = run(dir, &["apply", &plan, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);

    // The member has not activated: the gate never holds, and --watch gives up.
    let waited = run(
        dir,
        &[
            "status",
            &plan,
            "--watch",
            "--timeout",
            "1s",
            "--interval",
            "1",
        ],
    );
    assert_eq!(waited.code, 1, "{}", waited.stdout);
    assert!(
        waited
            .stderr
            .contains("error: the gates still do not hold after 1s"),
        "{}",
        waited.stderr
    );
    assert_eq!(
        waited
            .stdout
            .matches("Phase pilot: 0 of 1 account active")
            .count(),
        2,
        "one look, one refresh: {}",
        waited.stdout
    );
    // Each look says when it was taken.
    let looks: Vec<&str> = waited
        .stdout
        .lines()
        .filter(|line| line.starts_with("checked at "))
        .collect();
    assert_eq!(looks.len(), 2, "{}", waited.stdout);
    assert!(looks[0] <= looks[1], "{looks:?}");
    // Scripts get one JSON document, the last look's, even after several looks.
    let json = run(
        dir,
        &[
            "--output",
            "json",
            "status",
            &plan,
            "--watch",
            "--timeout",
            "1s",
            "--interval",
            "1",
        ],
    );
    assert_eq!(json.code, 1, "{}", json.stderr);
    let last: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(phase(&last, "pilot")["gate"]["holds"], false);
    // A value clap accepts but status cannot read is a usage error: exit 2, like clap's own.
    let bad = run(dir, &["status", &plan, "--watch", "--timeout", "soon"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert_eq!(
        bad.stderr,
        "error: `--timeout soon` is not a duration\n  hint: write it like `90s`, `30m`, `2h` or `1d`\n"
    );
    assert_eq!(bad.stdout, "");
    // ... and clap's own usage errors exit 2 as well.
    let unknown = run(dir, &["status", &plan, "--timeuot", "1h"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);

    // Once it holds, --watch returns after the first look.
    let activated = run(dir, &["activate", &plan, "--auto-approve"]);
    assert_eq!(activated.code, 0, "{}", activated.stderr);
    let held = run(dir, &["status", &plan, "--watch", "--timeout", "1h"]);
    assert_eq!(held.code, 0, "{}", held.stderr);
    assert!(
        held.stdout.contains("gate: holds: 100% active"),
        "{}",
        held.stdout
    );
}
