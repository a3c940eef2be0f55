//! Behaviours the other CLI tests did not reach, through the real binary on the emulator, each
//! judged on the emulator's state (and the journal) rather than on printed words: a REJECTED
//! grant recreated, `grant_to = "ous"` refusals and folding, accounts selected by tag granted one
//! by one, the agreement statuses in plan and cleanup, cleanup's "kept (not entitle's)", exit 4
//! when a change fails, and the stale-version re-read during activation.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use entitle::sandbox::seed::{DEMO_ACTIVE_AGREEMENT, DEMO_ACTIVE_LICENSE, DEMO_ORGANIZATION_ID};
use entitle::sandbox::{Faults, State};
use serde_json::{Value, json};
use support::{Ran, entitle, ran, repository};

/// `entitle --sandbox=<dir>/state.json <args>` in `dir`.
fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

/// An admin action on `<dir>/state.json`.
fn admin(dir: &Path, args: &[&str]) {
    let state = dir.join("state.json").display().to_string();
    let done = ran(entitle(None)
        .current_dir(dir)
        .arg("sandbox")
        .args(args)
        .args(["--state", &state]));
    assert_eq!(done.code, 0, "{args:?}: {}", done.stderr);
}

/// Writes a plan of the demo product named `name` with these phases; returns its path.
fn write_plan(dir: &Path, name: &str, entitlement: &str, phases: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!("version = 1\nname = \"{name}\"\n\n[entitlement]\n{entitlement}\n\n{phases}"),
    )
    .unwrap();
    path.display().to_string()
}

const PRODUCT: &str = "product = \"prod-mxcfnwvpd6kb4\"";

/// A rollout's parent grants on the demo license in `state` (DELETED ones too): (ARN,
/// principal, status), by ARN.
fn grants_in(state: &State, rollout: &str) -> Vec<(String, String, String)> {
    state
        .grants
        .values()
        .filter(|grant| {
            grant.parent_grant.is_none()
                && grant.license_arn == DEMO_ACTIVE_LICENSE
                && grant.tags.get("entitle:rollout").map(String::as_str) == Some(rollout)
        })
        .map(|grant| {
            (
                grant.arn.clone(),
                grant.principal.clone(),
                grant.status.clone(),
            )
        })
        .collect()
}

fn grants(dir: &Path, rollout: &str) -> Vec<(String, String, String)> {
    grants_in(&State::load(&dir.join("state.json")).unwrap(), rollout)
}

fn live(dir: &Path, rollout: &str) -> Vec<(String, String)> {
    grants(dir, rollout)
        .into_iter()
        .filter(|(_, _, status)| status != "DELETED")
        .map(|(_, principal, status)| (principal, status))
        .collect()
}

fn account(id: &str) -> String {
    format!("arn:aws:iam::{id}:root")
}

fn journal(dir: &Path, rollout: &str) -> Vec<Value> {
    support::journal_text(dir, rollout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn a_grant_the_account_rejected_is_recreated_and_activated() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = write_plan(
        dir,
        "pilot",
        PRODUCT,
        "[[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\", \"222222222222\"]\n",
    );
    let applied = run(dir, &["apply", &plan, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let first = grants(dir, "pilot");
    let rejected_arn = first
        .iter()
        .find(|(_, principal, _)| *principal == account("111111111111"))
        .unwrap()
        .0
        .clone();

    admin(
        dir,
        &[
            "reject-grant",
            "--account",
            "111111111111",
            "--grant",
            &rejected_arn,
        ],
    );
    let state = State::load(&dir.join("state.json")).unwrap();
    assert_eq!(state.grants[&rejected_arn].status, "REJECTED");

    let planned = run(dir, &["--output", "json", "plan", &plan]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let planned: Value = serde_json::from_str(&planned.stdout).unwrap();
    let changes: Vec<&Value> = planned["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["action"] != "no_op")
        .collect();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["action"], "recreate");
    assert_eq!(changes[0]["principal_arn"], account("111111111111"));
    assert!(
        changes[0]["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("the grantee rejected grant `{rejected_arn}`")),
        "{}",
        changes[0]["reason"]
    );

    let again = run(dir, &["apply", &plan, "--auto-approve"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let after = grants(dir, "pilot");
    let for_111: Vec<_> = after
        .iter()
        .filter(|(_, principal, _)| *principal == account("111111111111"))
        .collect();
    assert_eq!(
        for_111.len(),
        2,
        "the rejected grant and its successor: {after:?}"
    );
    let successor = for_111
        .iter()
        .find(|(arn, _, _)| *arn != rejected_arn)
        .unwrap();
    assert_eq!(successor.2, "ACTIVE", "{after:?}");
    assert_eq!(
        State::load(&dir.join("state.json")).unwrap().grants[&rejected_arn].status,
        "REJECTED",
        "the rejected grant is left as the account left it"
    );
    let settled = run(dir, &["plan", &plan, "--detailed-exitcode"]);
    assert_eq!(settled.code, 0, "{}", settled.stdout);
}

#[test]
fn grant_to_ous_refuses_accounts_tags_and_exclusions_and_folds_nested_ous() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    // Accounts and an exclusion in one phase: both refused together, nothing read or changed.
    let both = write_plan(
        dir,
        "both",
        PRODUCT,
        "[[phase]]\nname = \"wave\"\nous = [\"Workloads\"]\naccounts = [\"100000000400\"]\n\
         exclude = { ous = [\"Workloads/ML/Sandbox\"] }\ngrant_to = \"ous\"\n",
    );
    let refused = run(dir, &["plan", &both]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.contains(
            "error: phase `wave` grants to OUs only (`grant_to = \"ous\"`) but selects accounts or tags\n"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains(
            "error: phase `wave` grants whole OUs (`grant_to = \"ous\"`) and cannot honour exclusions\n"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("hint: use `grant_to = \"auto\"`, or move the accounts to another phase"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.ends_with("2 problems in the plan file\n"),
        "{}",
        refused.stderr
    );
    // Tags are refused the same way.
    let tagged = write_plan(
        dir,
        "tagged",
        PRODUCT,
        "[[phase]]\nname = \"wave\"\nous = [\"Workloads\"]\ntags = { team = \"web\" }\ngrant_to = \"ous\"\n",
    );
    let refused = run(dir, &["apply", &tagged, "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .starts_with("error: phase `wave` grants to OUs only (`grant_to = \"ous\"`) but selects accounts or tags\n"),
        "{}",
        refused.stderr
    );
    assert_eq!(live(dir, "tagged"), [], "nothing granted");

    // An OU nested in another selected OU is folded into it: one grant, to Workloads.
    let folded = write_plan(
        dir,
        "folded",
        PRODUCT,
        "[[phase]]\nname = \"wave\"\nous = [\"Workloads\", \"Workloads/ML\"]\ngrant_to = \"ous\"\n",
    );
    let applied = run(dir, &["apply", &folded, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(
        live(dir, "folded"),
        [(
            format!(
                "arn:aws:organizations::100000000001:ou/{DEMO_ORGANIZATION_ID}/ou-sbx0-workload"
            ),
            "ACTIVE".to_owned()
        )]
    );
}

#[test]
fn accounts_selected_by_tag_are_granted_one_by_one_even_when_they_fill_an_ou() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state = State::demo();
    // `team = "web"` is on every account of Workloads/Web, and on no other.
    let web: BTreeSet<String> = state
        .accounts
        .values()
        .filter(|account| account.tags.get("team").map(String::as_str) == Some("web"))
        .map(|account| account.id.clone())
        .collect();
    let in_web: BTreeSet<String> = state
        .accounts
        .values()
        .filter(|account| account.parent_id == "ou-sbx0-wkldweb0")
        .map(|account| account.id.clone())
        .collect();
    assert_eq!(web, in_web, "the demo changed");
    assert_eq!(web.len(), 8);
    state.save(&dir.join("state.json")).unwrap();

    let by_tag = write_plan(
        dir,
        "by-tag",
        PRODUCT,
        "[[phase]]\nname = \"web\"\ntags = { team = \"web\" }\n",
    );
    let applied = run(dir, &["apply", &by_tag, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let granted: BTreeSet<String> = live(dir, "by-tag")
        .into_iter()
        .map(|(principal, status)| {
            assert_eq!(status, "ACTIVE", "{principal}");
            principal
        })
        .collect();
    assert_eq!(
        granted,
        web.iter().map(|id| account(id)).collect::<BTreeSet<_>>(),
        "one account grant each, no OU grant"
    );

    // Selected as an OU, the same accounts get one OU grant.
    let by_ou = write_plan(
        dir,
        "by-ou",
        PRODUCT,
        "[[phase]]\nname = \"web\"\nous = [\"Workloads/Web\"]\n",
    );
    let applied = run(dir, &["apply", &by_ou, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(
        live(dir, "by-ou"),
        [(
            format!(
                "arn:aws:organizations::100000000001:ou/{DEMO_ORGANIZATION_ID}/ou-sbx0-wkldweb0"
            ),
            "ACTIVE".to_owned()
        )]
    );
}

/// The demo after an organisation-wide rollout, with the active agreement set to `status`.
fn rolled_out_with_agreement(dir: &Path, status: &str) -> String {
    let plan = repository("plans/org-wide.toml");
    let applied = run(dir, &["apply", &plan, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let file = dir.join("state.json");
    let mut state = State::load(&file).unwrap();
    state
        .agreements
        .get_mut(DEMO_ACTIVE_AGREEMENT)
        .unwrap()
        .status = status.to_owned();
    state.save(&file).unwrap();
    plan
}

#[test]
fn agreement_statuses_that_end_a_subscription_are_cleaned_and_those_that_hand_it_on_are_not() {
    let by_agreement = format!("agreement = \"{DEMO_ACTIVE_AGREEMENT}\"");
    for (status, ended) in [
        ("RENEWED", false),
        ("REPLACED", false),
        ("SUPERSEDED", false),
        ("ARCHIVED", true),
        ("ROLLED_BACK", true),
    ] {
        let directory = tempfile::tempdir().unwrap();
        let dir = directory.path();
        rolled_out_with_agreement(dir, status);
        let before = live(dir, "claude-sonnet-4-5-org");
        assert_eq!(before.len(), 1, "{status}: {before:?}");

        // A plan naming the agreement is refused either way, with the way forward for each.
        let plan = write_plan(
            dir,
            "by-agreement",
            &by_agreement,
            "[[phase]]\nname = \"all\"\norganization = true\n",
        );
        let planned = run(dir, &["plan", &plan]);
        assert_eq!(planned.code, 1, "{status}: {}", planned.stdout);
        assert!(
            planned.stderr.starts_with(&format!(
                "error: agreement `{DEMO_ACTIVE_AGREEMENT}` is `{status}`, not ACTIVE\n"
            )),
            "{status}: {}",
            planned.stderr
        );
        let hint = if ended {
            "hint: `entitle cleanup --agreement ID` deletes the grants an ended agreement left behind"
        } else {
            "hint: the subscription goes on under another agreement"
        };
        assert!(
            planned.stderr.contains(hint),
            "{status}: {}",
            planned.stderr
        );

        // Cleanup deletes the grants of an ended subscription only.
        let cleaned = run(dir, &["--output", "json", "cleanup", "--auto-approve"]);
        assert_eq!(cleaned.code, 0, "{status}: {}", cleaned.stderr);
        let document: Value = serde_json::from_str(&cleaned.stdout).unwrap();
        let licenses: Vec<&str> = document["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|license| license["license"]["arn"].as_str().unwrap())
            .collect();
        assert_eq!(
            licenses.contains(&DEMO_ACTIVE_LICENSE),
            ended,
            "{status}: {licenses:?}"
        );
        if ended {
            assert_eq!(live(dir, "claude-sonnet-4-5-org"), [], "{status}");
        } else {
            assert_eq!(live(dir, "claude-sonnet-4-5-org"), before, "{status}");
            let narrowed = run(dir, &["cleanup", "--agreement", DEMO_ACTIVE_AGREEMENT]);
            assert_eq!(narrowed.code, 1, "{status}: {}", narrowed.stdout);
            assert!(
                narrowed.stderr.contains(&format!(
                    "agreement `{DEMO_ACTIVE_AGREEMENT}` is {status}: its subscription has not ended, so its grants stay"
                )),
                "{status}: {}",
                narrowed.stderr
            );
            assert_eq!(live(dir, "claude-sonnet-4-5-org"), before, "{status}");
        }
    }
}

#[test]
fn cleanup_leaves_grants_that_are_not_entitles_and_says_kept() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = write_plan(
        dir,
        "pilot",
        PRODUCT,
        "[[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\", \"222222222222\"]\n",
    );
    let applied = run(dir, &["apply", &plan, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    // Someone else's grant to 222222222222: the same grant without entitle's tags.
    let file = dir.join("state.json");
    let mut state = State::load(&file).unwrap();
    let theirs = state
        .grants
        .values()
        .find(|grant| grant.principal == account("222222222222"))
        .unwrap()
        .arn
        .clone();
    let grant = state.grants.get_mut(&theirs).unwrap();
    grant.tags.clear();
    grant.name = "team-managed".to_owned();
    state.save(&file).unwrap();
    admin(dir, &["cancel-agreement", DEMO_ACTIVE_AGREEMENT]);

    let cleaned = run(dir, &["--output", "json", "cleanup", "--auto-approve"]);
    assert_eq!(cleaned.code, 0, "{}", cleaned.stderr);
    let document: Value = serde_json::from_str(&cleaned.stdout).unwrap();
    assert_eq!(document["result"]["clean"], true, "{}", document["result"]);
    let verified = document["result"]["verified"]
        .as_array()
        .unwrap()
        .iter()
        .find(|license| license["license_arn"] == DEMO_ACTIVE_LICENSE)
        .unwrap();
    let end_state = |id: &str| {
        verified["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|account| account["account"] == id)
            .map(|account| (account["end_state"].clone(), account["ok"].clone()))
    };
    assert_eq!(
        end_state("222222222222"),
        Some((json!("kept (not entitle's)"), json!(true)))
    );
    assert_eq!(
        end_state("111111111111"),
        Some((json!("no grant"), json!(true)))
    );
    let state = State::load(&file).unwrap();
    assert_eq!(state.grants[&theirs].status, "ACTIVE", "left alone");
    assert_eq!(live(dir, "pilot"), [], "entitle's grant deleted");
}

#[test]
fn a_change_that_fails_makes_apply_exit_4_and_the_others_are_made() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    // License Manager takes one more grant on the license, then refuses with
    // ResourceLimitExceededException (not retried): one of the pilot's two creates fails.
    let demo = State::demo();
    let existing = demo
        .grants
        .values()
        .filter(|grant| {
            grant.parent_grant.is_none()
                && grant.license_arn == DEMO_ACTIVE_LICENSE
                && grant.status != "DELETED"
        })
        .count();
    support::demo_with_settings(&[("max_grants_per_license", json!(existing + 1))])
        .save(&dir.join("state.json"))
        .unwrap();
    let plan = write_plan(
        dir,
        "pilot",
        PRODUCT,
        "[[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\", \"222222222222\"]\n",
    );
    let applied = run(dir, &["--output", "json", "apply", &plan, "--auto-approve"]);
    assert_eq!(applied.code, 4, "{}\n{}", applied.stdout, applied.stderr);
    let report: Value = serde_json::from_str(&applied.stdout).unwrap();
    assert_eq!(report["totals"]["done"], 1, "{report}");
    assert_eq!(report["totals"]["failed"], 1, "{report}");
    // The emulator holds exactly the grant that was made, activated.
    let made = live(dir, "pilot");
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].1, "ACTIVE");
    // The journal tells the same: the refused call and a run with one failure.
    let entries = journal(dir, "pilot");
    assert!(
        entries.iter().any(|entry| entry["event"] == "call_finished"
            && entry["operation"] == "CreateGrant"
            && entry["outcome"] == "failed"
            && entry["error"]
                .as_str()
                .is_some_and(|error| error.contains("ResourceLimitExceededException"))),
        "{entries:?}"
    );
    let finished = entries
        .iter()
        .find(|entry| entry["event"] == "run_finished")
        .unwrap();
    assert_eq!(
        (finished["done"].clone(), finished["failed"].clone()),
        (json!(1), json!(1))
    );
}

#[test]
fn a_deletion_that_keeps_failing_makes_cleanup_exit_4_and_its_verification_says_so() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    rolled_out_with_agreement(dir, "CANCELLED");
    let before = live(dir, "claude-sonnet-4-5-org");
    assert_eq!(before.len(), 1);
    // Every DeleteGrant is answered with a 5xx: retried with backoff until the attempts run out.
    let faults = dir.join("faults.toml");
    std::fs::write(&faults, "[operations.DeleteGrant]\nerror_5xx_every = 1\n").unwrap();
    let server = support::SandboxServer::start(&[
        "--state",
        dir.join("state.json").to_str().unwrap(),
        "--faults",
        faults.to_str().unwrap(),
    ]);
    let cleaned = ran(entitle(Some(&server.endpoint)).current_dir(dir).args([
        "--output",
        "json",
        "cleanup",
        "--auto-approve",
    ]));
    server.stop();
    assert_eq!(cleaned.code, 4, "{}\n{}", cleaned.stdout, cleaned.stderr);
    let document: Value = serde_json::from_str(&cleaned.stdout).unwrap();
    assert_eq!(document["result"]["clean"], false, "{}", document["result"]);
    assert_eq!(document["result"]["totals"]["failed"], 1);
    let verified = document["result"]["verified"]
        .as_array()
        .unwrap()
        .iter()
        .find(|license| license["license_arn"] == DEMO_ACTIVE_LICENSE)
        .unwrap();
    let accounts = verified["accounts"].as_array().unwrap();
    assert!(!accounts.is_empty());
    assert!(
        accounts.iter().all(|account| account["ok"] == false
            && account["end_state"]
                .as_str()
                .unwrap()
                .starts_with("still holds ")),
        "{accounts:?}"
    );
    assert_eq!(
        live(dir, "claude-sonnet-4-5-org"),
        before,
        "nothing deleted"
    );
}

/// Activation meets a stale version (another writer made a version between entitle's read and
/// its CreateGrantVersion): entitle reads the grant again and activates with the current
/// version, whatever words License Manager uses for the refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_that_meets_a_stale_version_reads_the_grant_again_and_activates() {
    for (setting, words) in [
        ("doesnt_match", "The source version provided doesn't match"),
        ("mismatch", "Grant version mismatch: expected version"),
        ("in_our_records", "in our records"),
    ] {
        let directory = tempfile::tempdir().unwrap();
        let dir = directory.path().to_owned();
        let state = support::demo_with_settings(&[("stale_version_message", json!(setting))]);
        let sandbox = support::start(state).await;
        let endpoint = sandbox.endpoint();
        let plan = write_plan(
            &dir,
            "members",
            &format!("{PRODUCT}\nactivation = \"member\""),
            "[[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\"]\n",
        );
        // Granted, left for the member to activate (DISABLED).
        let applied = {
            let (dir, plan, endpoint) = (dir.clone(), plan.clone(), endpoint.clone());
            tokio::task::spawn_blocking(move || {
                ran(entitle(Some(&endpoint)).current_dir(&dir).args([
                    "apply",
                    &plan,
                    "--auto-approve",
                ]))
            })
            .await
            .unwrap()
        };
        assert_eq!(applied.code, 0, "{setting}: {}", applied.stderr);
        let arn = grants_in(&sandbox.state_snapshot(), "members")[0].0.clone();

        // Each CreateGrantVersion is held 1.5 s before the emulator handles it; the version
        // moves while the first is held.
        let mut faults = Faults::none();
        faults
            .operations
            .entry("CreateGrantVersion".to_owned())
            .or_default()
            .latency_ms = 1_500;
        sandbox.set_faults(faults);
        let child = entitle(Some(&endpoint))
            .current_dir(&dir)
            .args(["activate", &plan, "--auto-approve"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The journal says when the call went out (call_started is written just before).
        let started = Instant::now();
        while !support::journal_text(&dir, "members").lines().any(|line| {
            line.contains("\"event\":\"call_started\"") && line.contains("CreateGrantVersion")
        }) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{setting}: activate never sent CreateGrantVersion"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let moved = sandbox.with_state(|state| {
            let grant = state.grants.get_mut(&arn).unwrap();
            grant.version += 1;
            grant.version
        });
        let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{setting}: {stderr}");

        let grant = sandbox.state_snapshot().grants[&arn].clone();
        assert_eq!(grant.status, "ACTIVE", "{setting}");
        assert_eq!(
            grant.version,
            moved + 1,
            "{setting}: activated on the moved version"
        );
        let calls: Vec<Value> = journal(&dir, "members")
            .into_iter()
            .filter(|entry| entry["operation"] == "CreateGrantVersion")
            .collect();
        let outcomes: Vec<(&str, &str)> = calls
            .iter()
            .map(|entry| {
                (
                    entry["event"].as_str().unwrap(),
                    entry["outcome"].as_str().unwrap_or("-"),
                )
            })
            .collect();
        assert_eq!(
            outcomes,
            [
                ("call_started", "-"),
                ("call_finished", "failed"),
                ("call_started", "-"),
                ("call_finished", "ok")
            ],
            "{setting}: {calls:?}"
        );
        assert!(
            calls[1]["error"].as_str().unwrap().contains(words),
            "{setting}: {}",
            calls[1]["error"]
        );
        sandbox.shutdown().await.unwrap();
    }
}

/// License Manager calls a served emulator counted, by operation (`sandbox stats`).
fn license_manager_calls(endpoint: &str, operation: &str) -> u64 {
    let stats = ran(entitle(None).args([
        "sandbox",
        "stats",
        "--endpoint",
        endpoint,
        "--output",
        "json",
    ]));
    assert_eq!(stats.code, 0, "{}", stats.stderr);
    let stats: Value = serde_json::from_str(&stats.stdout).unwrap();
    stats["operations"][format!("LicenseManager.{operation}")]["calls"]
        .as_u64()
        .unwrap_or(0)
}

/// README and apply.md: new account grants are awaited together (ListDistributedGrants), each
/// new OU or organisation grant on its own (GetGrant).
#[test]
fn new_account_grants_are_awaited_together_and_ou_grants_each_with_getgrant() {
    for (name, selector, getgrants_at_least, getgrants_at_most) in [
        (
            "accounts",
            "accounts = [\"111111111111\", \"222222222222\", \"333333333333\"]",
            0,
            0,
        ),
        (
            "ous",
            "ous = [\"Workloads/Web\", \"Workloads/Data\"]",
            2,
            u64::MAX,
        ),
    ] {
        let directory = tempfile::tempdir().unwrap();
        let dir = directory.path();
        let plan = write_plan(
            dir,
            name,
            PRODUCT,
            &format!("[[phase]]\nname = \"p\"\n{selector}\n"),
        );
        let server =
            support::SandboxServer::start(&["--state", dir.join("state.json").to_str().unwrap()]);
        let applied = ran(entitle(Some(&server.endpoint)).current_dir(dir).args([
            "apply",
            &plan,
            "--auto-approve",
        ]));
        assert_eq!(applied.code, 0, "{name}: {}", applied.stderr);
        let getgrants = license_manager_calls(&server.endpoint, "GetGrant");
        let activations = license_manager_calls(&server.endpoint, "CreateGrantVersion");
        server.stop();
        assert!(
            (getgrants_at_least..=getgrants_at_most).contains(&getgrants),
            "{name}: {getgrants} GetGrant calls"
        );
        assert_eq!(
            activations,
            live(dir, name).len() as u64,
            "{name}: every grant activated once"
        );
        assert!(
            live(dir, name).iter().all(|(_, status)| status == "ACTIVE"),
            "{name}"
        );
    }
}
