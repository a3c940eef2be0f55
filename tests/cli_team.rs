//! A rollout a team shares through an S3 journal (moto's S3, a third-party implementation):
//! two applies of one rollout at once (one refused naming the other, no grant doubled, the
//! journal intact), a SIGKILLed apply whose lock force-unlock removes, and two working
//! directories that see the same gates.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use entitle::sandbox::State;
use entitle::sandbox::seed::{DEMO_ACTIVE_LICENSE, DEMO_ORGANIZATION_ID};
use serde_json::Value;
use support::{MANAGEMENT, Moto, SandboxServer, create_bucket, entitle, ran, repository, s3_text};

const BUCKET: &str = "team-journal";

/// Every account of the demo organisation, one grant each: a run long enough to race.
const PLAN: &str = r#"version = 1
name = "team"

[entitlement]
product = "prod-mxcfnwvpd6kb4"

[[phase]]
name = "all"
organization = true
grant_to = "accounts"
"#;

fn lock_key(rollout: &str) -> String {
    format!("shared/{DEMO_ORGANIZATION_ID}/{rollout}/lock.json")
}

/// An emulator answering License Manager writes after `latency_ms`, with its state in `dir`.
fn emulator(dir: &Path, latency_ms: u64) -> SandboxServer {
    let faults = dir.join("faults.toml");
    std::fs::write(
        &faults,
        format!(
            "[operations.CreateGrant]\nlatency_ms = {latency_ms}\n\
             [operations.CreateGrantVersion]\nlatency_ms = {latency_ms}\n"
        ),
    )
    .unwrap();
    SandboxServer::start(&[
        "--state",
        &dir.join("state.json").display().to_string(),
        "--faults",
        &faults.display().to_string(),
    ])
}

/// `entitle ARGS` in `dir` against the emulator, the journal in moto's S3.
fn command(dir: &Path, server: &SandboxServer, moto: &Moto, args: &[&str]) -> Command {
    let mut command = entitle(Some(&server.endpoint));
    command
        .env("ENTITLE_JOURNAL", format!("s3://{BUCKET}/shared"))
        .env("AWS_ENDPOINT_URL_S3", &moto.endpoint)
        .current_dir(dir)
        .args(args);
    command
}

/// The same race with the journal in a directory both working directories name (a shared
/// disk): the OS lock refuses the second run at once, nothing is doubled.
#[test]
fn two_applies_at_once_with_a_shared_directory_journal() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let server = emulator(dir, 40);
    let plan = dir.join("team.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let plan = plan.display().to_string();
    let shared = dir.join("shared-journal");
    let local = |cwd: &Path, args: &[&str]| {
        let mut command = entitle(Some(&server.endpoint));
        command
            .env("ENTITLE_JOURNAL", &shared)
            .current_dir(cwd)
            .args(args);
        command
    };
    let laptop = tempfile::tempdir().unwrap();
    let runner = tempfile::tempdir().unwrap();
    let first = local(
        laptop.path(),
        &["apply", &plan, "--auto-approve", "--concurrency", "1"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let lock = shared.join(DEMO_ORGANIZATION_ID).join("team.lock");
    let started = Instant::now();
    while !std::fs::read_to_string(&lock).is_ok_and(|text| text.contains("apply")) {
        assert!(started.elapsed() < Duration::from_secs(60), "no lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = ran(&mut local(
        runner.path(),
        &["apply", &plan, "--auto-approve"],
    ));
    assert_eq!(second.code, 1, "{}\n{}", second.stdout, second.stderr);
    assert!(
        second.stderr.contains("is locked by") && second.stderr.contains("running `apply`"),
        "{}",
        second.stderr
    );
    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    server.stop();
    let state = State::load(&dir.join("state.json")).unwrap();
    let counts = grants_by_principal(&state, "team");
    assert_eq!(counts.len(), state.active_member_ids().len());
    assert!(counts.values().all(|count| *count == 1), "{counts:?}");
    let journal =
        std::fs::read_to_string(shared.join(DEMO_ORGANIZATION_ID).join("team.jsonl")).unwrap();
    assert_eq!(journal.matches("\"event\":\"run_started\"").count(), 1);
    assert_eq!(journal.matches("\"event\":\"run_finished\"").count(), 1);
}

async fn wait_for_lock(moto: &Moto, rollout: &str) -> Value {
    let started = Instant::now();
    loop {
        if let Some(text) = s3_text(&moto.endpoint, BUCKET, &lock_key(rollout)).await {
            return serde_json::from_str(&text).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no lock appeared"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The rollout's grants in the emulator's state, by principal.
fn grants_by_principal(state: &State, rollout: &str) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for grant in state.grants.values() {
        if grant.parent_grant.is_none()
            && grant.license_arn == DEMO_ACTIVE_LICENSE
            && grant.tags.get("entitle:rollout").map(String::as_str) == Some(rollout)
        {
            *counts.entry(grant.principal.clone()).or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_at_once_one_refused_naming_the_other_nothing_doubled() {
    let moto = Moto::start(MANAGEMENT);
    create_bucket(&moto.endpoint, BUCKET).await;
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let server = emulator(dir, 40);
    let plan = dir.join("team.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let plan = plan.display().to_string();

    // A colleague's laptop and a pipeline runner: two working directories.
    let laptop = tempfile::tempdir().unwrap();
    let runner = tempfile::tempdir().unwrap();
    let first = command(
        laptop.path(),
        &server,
        &moto,
        &["apply", &plan, "--auto-approve", "--concurrency", "1"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let holder = wait_for_lock(&moto, "team").await;
    assert_eq!(holder["command"], "apply", "{holder}");

    let second = ran(&mut command(
        runner.path(),
        &server,
        &moto,
        &["apply", &plan, "--auto-approve"],
    ));
    assert_eq!(second.code, 1, "{}\n{}", second.stdout, second.stderr);
    assert!(
        second.stderr.contains("is locked by")
            && second.stderr.contains("running `apply`")
            && second.stderr.contains("force-unlock"),
        "{}",
        second.stderr
    );

    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        s3_text(&moto.endpoint, BUCKET, &lock_key("team"))
            .await
            .is_none(),
        "the lock is released at the end"
    );
    server.stop();

    let state = State::load(&dir.join("state.json")).unwrap();
    let counts = grants_by_principal(&state, "team");
    assert_eq!(counts.len(), state.active_member_ids().len());
    assert!(counts.values().all(|count| *count == 1), "{counts:?}");

    // The journal: one run, started and finished; the refused run wrote nothing.
    let keys = support::s3_keys(
        &moto.endpoint,
        BUCKET,
        &format!("shared/{DEMO_ORGANIZATION_ID}/team/runs/"),
    )
    .await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let text = s3_text(&moto.endpoint, BUCKET, &keys[0]).await.unwrap();
    assert_eq!(text.matches("\"event\":\"run_started\"").count(), 1);
    assert_eq!(text.matches("\"event\":\"run_finished\"").count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_apply_leaves_a_lock_force_unlock_clears_and_two_directories_share_the_gates() {
    let moto = Moto::start(MANAGEMENT);
    create_bucket(&moto.endpoint, BUCKET).await;
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let server = emulator(dir, 40);
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let laptop = tempfile::tempdir().unwrap();
    let runner = tempfile::tempdir().unwrap();

    // Killed while holding the lock.
    let mut killed = command(
        laptop.path(),
        &server,
        &moto,
        &["apply", &plan, "--phase", "pilot", "--auto-approve"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    wait_for_lock(&moto, "claude-sonnet-4-5").await;
    killed.kill().unwrap();
    killed.wait().unwrap();
    let refused = ran(&mut command(
        runner.path(),
        &server,
        &moto,
        &["apply", &plan, "--phase", "pilot", "--auto-approve"],
    ));
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let forced = ran(&mut command(
        runner.path(),
        &server,
        &moto,
        &["force-unlock", &plan, "--auto-approve"],
    ));
    assert_eq!(forced.code, 0, "{}\n{}", forced.stdout, forced.stderr);

    // The pipeline finishes the pilot; the laptop sees the same gate, in plan and in status.
    let applied = ran(&mut command(
        runner.path(),
        &server,
        &moto,
        &["apply", &plan, "--phase", "pilot", "--auto-approve"],
    ));
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    let planned = ran(&mut command(
        laptop.path(),
        &server,
        &moto,
        &["--output", "json", "plan", &plan],
    ));
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let planned: Value = serde_json::from_str(&planned.stdout).unwrap();
    let blocked = planned["phases"][1]["blocked"].as_str().unwrap().to_owned();
    assert!(blocked.contains("phase `pilot` has baked"), "{blocked}");
    let shown = ran(&mut command(
        laptop.path(),
        &server,
        &moto,
        &["--output", "json", "status", &plan],
    ));
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    let verdict = shown["phases"][0]["gate"]["verdict"].as_str().unwrap();
    assert!(verdict.starts_with("baking"), "{verdict}");
    // And the audit trail is the same from both: the laptop's journal files hold nothing local.
    assert!(!laptop.path().join(".entitle/journal").exists());
    server.stop();
}
