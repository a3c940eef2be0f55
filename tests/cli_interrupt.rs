//! Interruptions and logs, through the real binary against the emulator: Ctrl-C (SIGINT) and
//! SIGTERM in the middle of `apply` and `cleanup` stop the run cleanly (exit 130/143, an
//! `interrupted` line in the journal, what was done and what was in flight reported), and the
//! next run says so and converges to exactly one grant per principal. Calls are slowed by the
//! emulator's latency faults, and each signal is sent once the journal shows calls going out.
//! Also: without a terminal `apply` shows the plan before the results and names no change on
//! stderr; the journal names each created grant and a user without `$USER`; a run that fails to
//! start leaves no journal; a journal of a newer format is refused.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use entitle::sandbox::State;
use entitle::sandbox::seed::{DEMO_ACTIVE_AGREEMENT, DEMO_ACTIVE_LICENSE};
use serde_json::Value;
use support::{SandboxServer, entitle, ran};

/// Every account of the demo organisation, one grant each: 38 grants, 76 calls at least.
const EVERYONE: &str = r#"version = 1
name = "stops"

[entitlement]
product = "prod-mxcfnwvpd6kb4"
activation = "grantor"

[[phase]]
name = "all"
organization = true
grant_to = "accounts"
"#;

/// Two accounts.
const PILOT: &str = r#"version = 1
name = "stops"

[entitlement]
product = "prod-mxcfnwvpd6kb4"
activation = "grantor"

[[phase]]
name = "pilot"
accounts = ["111111111111", "222222222222"]
grant_to = "accounts"
"#;

/// A test's directory: the emulator's state, its faults, the plan and the journal.
struct World {
    _directory: tempfile::TempDir,
    dir: PathBuf,
    state: PathBuf,
    plan: PathBuf,
    journal: PathBuf,
}

impl World {
    fn new(plan: &str) -> Self {
        let directory = tempfile::tempdir().unwrap();
        let dir = directory.path().to_owned();
        let state = dir.join("state.json");
        State::demo().save(&state).unwrap();
        let plan_file = dir.join("stops.toml");
        std::fs::write(&plan_file, plan).unwrap();
        Self {
            journal: dir.join("journal.jsonl"),
            plan: plan_file,
            state,
            dir,
            _directory: directory,
        }
    }

    /// The emulator on the state file, each named operation answering after `latency_ms`.
    fn serve(&self, slow: &[(&str, u64)]) -> SandboxServer {
        let faults = self.dir.join("faults.toml");
        let mut text = String::from("seed = 3\n");
        for (operation, latency) in slow {
            text.push_str(&format!(
                "[operations.{operation}]\nlatency_ms = {latency}\n"
            ));
        }
        std::fs::write(&faults, text).unwrap();
        SandboxServer::start(&[
            "--state",
            &self.state.display().to_string(),
            "--faults",
            &faults.display().to_string(),
        ])
    }

    /// `entitle <args> --journal JOURNAL` against `server`.
    fn command(&self, server: &SandboxServer, args: &[&str]) -> Command {
        let mut command = entitle(Some(&server.endpoint));
        command
            .current_dir(&self.dir)
            .args(args)
            .arg("--journal")
            .arg(&self.journal);
        command
    }

    fn apply(&self, server: &SandboxServer, extra: &[&str]) -> Command {
        let mut command = self.command(
            server,
            &[
                "apply",
                "--auto-approve",
                "--member-role",
                "OrganizationAccountAccessRole",
            ],
        );
        command.args(extra).arg(&self.plan);
        command
    }

    fn lines(&self) -> Vec<Value> {
        journal_lines(&self.journal)
    }
}

fn journal_lines(journal: &Path) -> Vec<Value> {
    std::fs::read_to_string(journal)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

fn count(lines: &[Value], event: &str) -> usize {
    lines.iter().filter(|line| line["event"] == event).count()
}

/// A command running in the background, its output collected.
struct Running {
    child: Child,
}

/// What a signalled command came to.
struct Stopped {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Running {
    fn start(command: &mut Command) -> Self {
        let child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Self { child }
    }

    /// Waits until the journal holds `calls` more `call_started` lines than `before`, then sends
    /// `signal` (`INT`, `TERM`).
    fn signal_after_calls(&mut self, journal: &Path, before: usize, calls: usize, signal: &str) {
        let started = Instant::now();
        while count(&journal_lines(journal), "call_started") < before + calls {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "the command ended before its calls were seen"
            );
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no calls went out within a minute"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "could not send SIG{signal}");
    }

    fn wait(self) -> Stopped {
        let output = self.child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        support::schema::check_stdout(&stdout);
        Stopped {
            code: output.status.code(),
            stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Every grant of the rollout in the emulator's state, by principal, with its status: deleted
/// ones too, so that a grant made twice and cleaned up afterwards would still show.
fn grants_by_principal(state: &Path) -> BTreeMap<String, Vec<String>> {
    let state = State::load(state).unwrap();
    let mut by_principal: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for grant in state.grants.values() {
        if grant.license_arn == DEMO_ACTIVE_LICENSE
            && grant.parent_grant.is_none()
            && grant.tags.get("entitle:rollout").map(String::as_str) == Some("stops")
        {
            by_principal
                .entry(grant.principal.clone())
                .or_default()
                .push(grant.status.as_str().to_owned());
        }
    }
    by_principal
}

/// The emulator's state holds exactly one ACTIVE grant per principal, `expected` principals.
fn assert_one_active_grant_each(state: &Path, expected: usize) {
    let by_principal = grants_by_principal(state);
    assert_eq!(by_principal.len(), expected, "{by_principal:?}");
    for (principal, statuses) in &by_principal {
        assert_eq!(statuses, &vec!["ACTIVE".to_owned()], "{principal}");
    }
}

#[test]
fn ctrl_c_stops_an_apply_cleanly_and_the_next_run_says_so_and_converges() {
    let world = World::new(EVERYONE);
    let server = world.serve(&[("CreateGrant", 150), ("CreateGrantVersion", 150)]);

    let mut running = Running::start(&mut world.apply(&server, &["--concurrency", "2"]));
    running.signal_after_calls(&world.journal, 0, 6, "INT");
    let stopped = running.wait();

    assert_eq!(
        stopped.code,
        Some(130),
        "{}\n{}",
        stopped.stdout,
        stopped.stderr
    );
    // What was done (the table, on stdout) and what stopped it (stderr), then the error.
    assert!(stopped.stdout.contains("done"), "{}", stopped.stdout);
    assert!(
        stopped
            .stderr
            .contains("interrupted: SIGINT stopped the run"),
        "{}",
        stopped.stderr
    );
    assert!(
        stopped.stderr.contains("error: interrupted by SIGINT"),
        "{}",
        stopped.stderr
    );
    let lines = world.lines();
    let interrupted: Vec<&Value> = lines
        .iter()
        .filter(|line| line["event"] == "interrupted")
        .collect();
    assert_eq!(interrupted.len(), 1, "{lines:?}");
    let interrupted = interrupted[0];
    assert_eq!(interrupted["signal"], "SIGINT");
    assert_eq!(count(&lines, "run_finished"), 0);
    // The calls in flight were waited for: every call sent was answered and journalled.
    assert_eq!(
        interrupted["in_flight"],
        serde_json::json!([]),
        "{interrupted}"
    );
    assert_eq!(
        count(&lines, "call_started"),
        count(&lines, "call_finished"),
        "{lines:?}"
    );
    // Six calls went out: some change got somewhere, and some never started.
    let got_somewhere =
        interrupted["done"].as_u64().unwrap() + interrupted["waiting"].as_u64().unwrap();
    assert!(got_somewhere >= 1, "{interrupted}");
    assert!(
        interrupted["skipped"].as_u64().unwrap() >= 1,
        "{interrupted}"
    );
    // Every line carries the journal's format.
    assert!(lines.iter().all(|line| line["format_version"] == 1));

    // The next run says how the previous one ended, and finishes the rollout.
    let next = ran(&mut world.apply(&server, &[]));
    assert_eq!(next.code, 0, "{}\n{}", next.stdout, next.stderr);
    assert!(
        next.stderr.contains("the previous `apply`")
            && next.stderr.contains("was interrupted by SIGINT"),
        "{}",
        next.stderr
    );
    let again = ran(world
        .command(&server, &["plan", "--detailed-exitcode"])
        .arg(&world.plan));
    assert_eq!(again.code, 0, "nothing left to do: {}", again.stdout);
    server.stop();
    let members = State::load(&world.state).unwrap().active_member_ids().len();
    assert_one_active_grant_each(&world.state, members);
}

#[test]
fn sigterm_with_calls_in_flight_reports_them_and_nothing_is_lost_or_doubled() {
    let world = World::new(PILOT);
    // Each create answers after 8 s: the signal comes while both are in flight, and the run
    // stops waiting for them after its grace period (5 s).
    let server = world.serve(&[("CreateGrant", 8_000)]);
    let mut command = world.apply(&server, &[]);
    command.args(["--output", "json"]);
    let mut running = Running::start(&mut command);
    running.signal_after_calls(&world.journal, 0, 2, "TERM");
    let stopped = running.wait();

    assert_eq!(
        stopped.code,
        Some(143),
        "{}\n{}",
        stopped.stdout,
        stopped.stderr
    );
    // One document on stdout (checked against its schema), marked interrupted.
    let document: Value = serde_json::from_str(&stopped.stdout).unwrap();
    assert_eq!(document["kind"], "apply");
    assert_eq!(document["status"], "interrupted");
    assert_eq!(document["interrupted"]["signal"], "SIGTERM");
    let in_flight = document["interrupted"]["in_flight"].as_array().unwrap();
    assert_eq!(in_flight.len(), 2, "{document}");
    assert!(
        in_flight
            .iter()
            .all(|call| call["operation"] == "CreateGrant" && call["client_token"].is_string()),
        "{document}"
    );
    assert_eq!(document["totals"]["waiting"], 2, "{document}");
    assert!(
        stopped
            .stderr
            .contains("in flight, never answered: CreateGrant"),
        "{}",
        stopped.stderr
    );
    let lines = world.lines();
    let interrupted = lines
        .iter()
        .find(|line| line["event"] == "interrupted")
        .unwrap();
    assert_eq!(interrupted["signal"], "SIGTERM");
    assert_eq!(interrupted["in_flight"].as_array().unwrap().len(), 2);
    server.stop();

    // The next run, against a prompt emulator: it names the calls never answered, plans again
    // and makes each grant once (the same client tokens).
    let server = world.serve(&[]);
    let next = ran(&mut world.apply(&server, &[]));
    assert_eq!(next.code, 0, "{}\n{}", next.stdout, next.stderr);
    assert!(
        next.stderr.contains("was interrupted by SIGTERM")
            && next.stderr.contains("CreateGrant for")
            && next.stderr.contains("never answered"),
        "{}",
        next.stderr
    );
    server.stop();
    assert_one_active_grant_each(&world.state, 2);
}

#[test]
fn a_second_ctrl_c_exits_at_once_and_the_journal_stays_whole() {
    let world = World::new(PILOT);
    // Both creates answer after 8 s: without a second Ctrl-C the run would wait 5 s for them.
    let server = world.serve(&[("CreateGrant", 8_000)]);
    let mut running = Running::start(&mut world.apply(&server, &[]));
    running.signal_after_calls(&world.journal, 0, 2, "INT");
    let mut stderr = std::io::BufReader::new(running.child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("SIGINT received: stopping") {
        let mut line = String::new();
        let read = std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        assert!(read > 0, "the first SIGINT was not acknowledged: {seen}");
        seen.push_str(&line);
    }
    let second = Instant::now();
    let sent = Command::new("kill")
        .args(["-INT", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = running.child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(
        second.elapsed() < Duration::from_secs(4),
        "the second Ctrl-C did not exit at once"
    );
    assert!(rest.contains("interrupted by a second SIGINT"), "{rest}");
    // Every line whole; no `interrupted` line (the process did not wait to write one).
    let text = std::fs::read_to_string(&world.journal).unwrap();
    assert!(text.ends_with('\n'), "{text}");
    assert!(
        text.lines()
            .all(|line| serde_json::from_str::<Value>(line).is_ok()),
        "{text}"
    );
    assert_eq!(count(&world.lines(), "interrupted"), 0);
    server.stop();

    // The next run says the previous one stopped, names the calls never answered, and makes
    // each grant once.
    let server = world.serve(&[]);
    let next = ran(&mut world.apply(&server, &[]));
    assert_eq!(next.code, 0, "{}\n{}", next.stdout, next.stderr);
    assert!(
        next.stderr.contains("stopped before it finished")
            && next.stderr.contains("never answered"),
        "{}",
        next.stderr
    );
    server.stop();
    assert_one_active_grant_each(&world.state, 2);
}

#[test]
fn ctrl_c_stops_a_cleanup_cleanly_and_the_next_cleanup_says_so_and_finishes() {
    let world = World::new(EVERYONE);
    // The rollout, then the buyer cancels the subscription (on the state file, between servers).
    let server = world.serve(&[]);
    let applied = ran(&mut world.apply(&server, &[]));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    server.stop();
    let cancelled = ran(entitle(None).args([
        "sandbox",
        "cancel-agreement",
        DEMO_ACTIVE_AGREEMENT,
        "--state",
        &world.state.display().to_string(),
    ]));
    assert_eq!(cancelled.code, 0, "{}", cancelled.stderr);

    let server = world.serve(&[("DeleteGrant", 150)]);
    let before = count(&world.lines(), "call_started");
    let mut running = Running::start(&mut world.command(
        &server,
        &[
            "cleanup",
            "--auto-approve",
            "--agreement",
            DEMO_ACTIVE_AGREEMENT,
        ],
    ));
    running.signal_after_calls(&world.journal, before, 3, "INT");
    let stopped = running.wait();
    assert_eq!(
        stopped.code,
        Some(130),
        "{}\n{}",
        stopped.stdout,
        stopped.stderr
    );
    assert!(
        stopped
            .stdout
            .contains("Not verified: the cleanup was interrupted"),
        "{}",
        stopped.stdout
    );
    let lines = world.lines();
    let interrupted = lines
        .iter()
        .rfind(|line| line["event"] == "interrupted")
        .unwrap();
    assert_eq!(interrupted["signal"], "SIGINT");
    assert!(
        interrupted["skipped"].as_u64().unwrap() >= 1,
        "{interrupted}"
    );

    let next = ran(&mut world.command(
        &server,
        &[
            "--output",
            "json",
            "cleanup",
            "--auto-approve",
            "--agreement",
            DEMO_ACTIVE_AGREEMENT,
        ],
    ));
    assert_eq!(next.code, 0, "{}\n{}", next.stdout, next.stderr);
    assert!(
        next.stderr.contains("the previous `cleanup`")
            && next.stderr.contains("was interrupted by SIGINT"),
        "{}",
        next.stderr
    );
    let document: Value = serde_json::from_str(&next.stdout).unwrap();
    assert_eq!(document["result"]["clean"], true, "{}", document["result"]);
    assert_eq!(document["result"]["interrupted"], Value::Null);
    server.stop();
    let state = State::load(&world.state).unwrap();
    let live: Vec<_> = state
        .grants
        .values()
        .filter(|grant| grant.license_arn == DEMO_ACTIVE_LICENSE && grant.status != "DELETED")
        .map(|grant| grant.arn.clone())
        .collect();
    assert_eq!(live, Vec::<String>::new());
}

#[test]
fn without_a_terminal_apply_shows_the_plan_before_the_results_and_names_each_change_once() {
    let world = World::new(PILOT);
    let server = world.serve(&[]);
    let applied = ran(&mut world.apply(&server, &[]));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let plan_at = applied.stdout.find("Plan:").unwrap_or_else(|| {
        panic!("the plan is shown: {}", applied.stdout);
    });
    let results_at = applied.stdout.find("Apply: 2 done").unwrap();
    assert!(plan_at < results_at, "{}", applied.stdout);
    // stderr counts progress; the changes themselves are named on stdout only.
    for account in ["111111111111", "222222222222"] {
        assert!(!applied.stderr.contains(account), "{}", applied.stderr);
    }
    assert!(
        applied.stderr.contains("progress: 2/2 changes"),
        "{}",
        applied.stderr
    );

    server.stop();

    // Under `--output json` stdout is the one document; the plan for people goes to stderr.
    let world = World::new(PILOT);
    let server = world.serve(&[]);
    let mut command = world.apply(&server, &[]);
    command.args(["--output", "json"]);
    let applied = ran(&mut command);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let document: Value = serde_json::from_str(&applied.stdout).unwrap();
    assert_eq!(document["status"], "applied");
    assert_eq!(document["interrupted"], Value::Null);
    assert!(applied.stderr.contains("Plan:"), "{}", applied.stderr);
    server.stop();
}

#[test]
fn the_journal_names_each_created_grant_and_a_user_without_user_set() {
    let world = World::new(PILOT);
    let server = world.serve(&[]);
    let mut command = world.apply(&server, &[]);
    command
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("USERNAME");
    let applied = ran(&mut command);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let lines = world.lines();
    let creates: Vec<&Value> = lines
        .iter()
        .filter(|line| {
            line["event"] == "call_finished"
                && line["operation"] == "CreateGrant"
                && line["outcome"] == "ok"
        })
        .collect();
    assert_eq!(creates.len(), 2, "{lines:?}");
    for create in creates {
        assert!(
            create["grant_arn"]
                .as_str()
                .is_some_and(|arn| arn.starts_with("arn:aws:license-manager")),
            "{create}"
        );
    }
    let started = lines
        .iter()
        .find(|line| line["event"] == "run_started")
        .unwrap();
    assert!(
        started["user"]
            .as_str()
            .is_some_and(|user| !user.is_empty()),
        "{started}"
    );

    server.stop();

    // `$LOGNAME` where `$USER` is not set.
    let world = World::new(PILOT);
    let server = world.serve(&[]);
    let mut command = world.apply(&server, &[]);
    command.env_remove("USER").env("LOGNAME", "ci-runner");
    let applied = ran(&mut command);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let lines = world.lines();
    let started = lines
        .iter()
        .find(|line| line["event"] == "run_started")
        .unwrap();
    assert_eq!(started["user"], "ci-runner", "{started}");
    server.stop();
}

#[test]
fn a_run_that_fails_to_start_leaves_no_journal() {
    let world = World::new(
        r#"version = 1
name = "stops"

[entitlement]
product = "prod-mxcfnwvpd6kb4"

[[phase]]
name = "nowhere"
ous = ["No/Such/Unit"]
"#,
    );
    let server = world.serve(&[]);
    // The plan is refused after the lock was taken and the journal opened.
    let refused = ran(&mut world.apply(&server, &[]));
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(!world.journal.exists(), "an empty journal was left behind");
    // A cleanup that finds nothing to delete writes nothing either.
    let nothing = ran(&mut world.command(&server, &["cleanup", "--auto-approve"]));
    assert_eq!(nothing.code, 0, "{}", nothing.stderr);
    assert!(!world.journal.exists(), "an empty journal was left behind");
    server.stop();
}

#[test]
fn a_journal_written_by_a_newer_entitle_is_refused_naming_the_file_and_its_version() {
    let world = World::new(PILOT);
    std::fs::write(
        &world.journal,
        "{\"format_version\":1,\"at\":\"2026-11-01T00:00:00.000Z\",\"run\":\"a\",\"event\":\"phase_active\",\"phase\":\"pilot\"}\n\
         {\"format_version\":7,\"at\":\"2026-11-02T00:00:00.000Z\",\"run\":\"b\",\"event\":\"something_new\"}\n",
    )
    .unwrap();
    let server = world.serve(&[]);
    let refused = ran(&mut world.apply(&server, &[]));
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stderr
            .contains(&world.journal.display().to_string())
            && refused.stderr.contains("format_version 7")
            && refused.stderr.contains("upgrade entitle"),
        "{}",
        refused.stderr
    );
    assert_eq!(grants_by_principal(&world.state).len(), 0);
    server.stop();
}
