//! The lock and the shared journal through the real binary: a held lock refuses `entitle cleanup`
//! (exit 1, naming the holder) while read-only commands go on; a run SIGKILLed while holding the
//! lock leaves it in S3 (the object stays until `entitle force-unlock` removes it, journalled)
//! and not locally (the OS released it: force-unlock says so), while Ctrl-C before any change
//! releases it; two working directories sharing
//! an S3 journal (moto) see the same history.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use entitle::apply::file_lock::{Attempt, FileLock, Inspected};
use entitle::apply::journal_store::Holder;
use entitle::sandbox::State;
use entitle::sandbox::seed::{DEMO_DELETED_LICENSE, DEMO_ORGANIZATION_ID};
use serde_json::Value;
use support::{
    MANAGEMENT, Moto, SandboxServer, create_bucket, entitle, ran, repository, s3_keys, s3_text,
};

const BUCKET: &str = "acme-entitle";

/// Where `entitle cleanup`'s lock of the demo organisation is in a directory journal.
fn cleanup_lock(dir: &Path) -> PathBuf {
    dir.join(".entitle/journal")
        .join(DEMO_ORGANIZATION_ID)
        .join("cleanup.lock")
}

/// `lock.json` of the demo organisation's `cleanup` under the S3 journal `s3://BUCKET/team`.
fn s3_cleanup_lock() -> String {
    format!("team/{DEMO_ORGANIZATION_ID}/cleanup/lock.json")
}

/// `entitle --sandbox=<state> ARGS` in `dir`.
fn sandboxed(dir: &Path, state: &Path, args: &[&str]) -> Command {
    let mut command = entitle(None);
    command
        .current_dir(dir)
        .arg(format!("--sandbox={}", state.display()))
        .args(args);
    command
}

/// Points a command's journal at `s3://BUCKET/team` in moto (`ENTITLE_JOURNAL`, the global
/// `--journal` flag's variable).
fn with_s3_journal<'a>(command: &'a mut Command, moto: &Moto) -> &'a mut Command {
    command
        .env("ENTITLE_JOURNAL", format!("s3://{BUCKET}/team"))
        .env("AWS_ENDPOINT_URL_S3", &moto.endpoint)
}

fn live_grants(state_file: &Path, license: &str) -> usize {
    State::load(state_file)
        .unwrap()
        .grants
        .values()
        .filter(|grant| grant.license_arn == license && grant.status != "DELETED")
        .count()
}

/// An emulator whose SearchAgreements answers after a minute: `entitle cleanup` takes its lock,
/// then waits there, to be killed.
fn slow_emulator(dir: &Path) -> SandboxServer {
    let faults = dir.join("faults.toml");
    std::fs::write(
        &faults,
        "[operations.SearchAgreements]\nlatency_ms = 60000\n",
    )
    .unwrap();
    SandboxServer::start(&[
        "--state",
        &dir.join("state.json").display().to_string(),
        "--faults",
        &faults.display().to_string(),
    ])
}

/// moto with the journal's bucket, and the slow emulator in a directory of its own: where a
/// cleanup takes its S3 lock and then waits.
struct SlowS3World {
    moto: Moto,
    server: SandboxServer,
    directory: tempfile::TempDir,
}

impl SlowS3World {
    async fn start() -> Self {
        let moto = Moto::start(MANAGEMENT);
        create_bucket(&moto.endpoint, BUCKET).await;
        let directory = tempfile::tempdir().unwrap();
        let server = slow_emulator(directory.path());
        Self {
            moto,
            server,
            directory,
        }
    }

    /// `entitle ARGS` against the emulator, with the S3 journal, in the world's directory.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = entitle(Some(&self.server.endpoint));
        with_s3_journal(&mut command, &self.moto)
            .current_dir(self.directory.path())
            .args(args);
        command
    }
}

/// Starts `cleanup` (stdout dropped, stderr piped) and waits until its lock object is in S3:
/// the process and the lock's holder, which must be that process.
async fn cleanup_holding_its_s3_lock(
    mut cleanup: Command,
    moto: &Moto,
) -> (std::process::Child, Holder) {
    let child = cleanup
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lock = None;
    for _ in 0..600 {
        lock = s3_text(&moto.endpoint, BUCKET, &s3_cleanup_lock()).await;
        if lock.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let holder: Holder = serde_json::from_str(&lock.expect("the cleanup took its lock")).unwrap();
    assert_eq!(
        (holder.command.as_str(), holder.pid),
        ("cleanup", child.id())
    );
    (child, holder)
}

/// Waits (up to 60 s) until `found` says yes.
fn wait_until(what: &str, mut found: impl FnMut() -> bool) {
    let started = Instant::now();
    while !found() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "waited a minute for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_held_lock_refuses_cleanup_naming_the_holder_while_status_goes_on() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state = dir.join("state.json");
    let holder = Holder {
        user: Some("alice".to_owned()),
        host: "build-7".to_owned(),
        pid: 4242,
        caller: Some("arn:aws:iam::000000000000:role/ci".to_owned()),
        command: "cleanup".to_owned(),
        since: "2026-11-23T10:00:00.000Z".to_owned(),
        run: "run-of-alice".to_owned(),
    };
    // Another process's lock: an OS lock is per open file, so holding it here is the same.
    let Attempt::Taken(lock) = FileLock::try_take(&cleanup_lock(dir), &holder).unwrap() else {
        panic!("the lock is free at first");
    };
    let first = ran(&mut sandboxed(
        dir,
        &state,
        &["status", &repository("plans/claude-sonnet-4-5.toml")],
    ));
    assert_eq!(
        first.code, 0,
        "read-only commands take no lock: {}",
        first.stderr
    );
    let before = live_grants(&state, DEMO_DELETED_LICENSE);
    assert!(before > 0);

    let refused = ran(&mut sandboxed(
        dir,
        &state,
        &["cleanup", "--auto-approve", "--include-unowned"],
    ));
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    for part in [
        "error: rollout `cleanup` of organisation `o-sbx0demo01` is locked by `alice` on `build-7` (pid 4242)",
        "as `arn:aws:iam::000000000000:role/ci`",
        "running `cleanup` (run run-of-alice) since 2026-11-23T10:00:00.000Z",
        "hint: wait for that run to finish; if it is gone (killed, or its runner crashed), remove the stale lock with `entitle force-unlock --rollout cleanup`",
    ] {
        assert!(refused.stderr.contains(part), "{part}\n{}", refused.stderr);
    }
    assert_eq!(
        live_grants(&state, DEMO_DELETED_LICENSE),
        before,
        "nothing deleted"
    );

    // A live process's lock is not force-unlocked: it names the process to stop.
    let forced = ran(&mut sandboxed(
        dir,
        &state,
        &["force-unlock", "--rollout", "cleanup", "--auto-approve"],
    ));
    assert_eq!(forced.code, 1, "{}", forced.stdout);
    assert!(
        forced
            .stderr
            .contains("hint: stop process 4242 on `build-7`"),
        "{}",
        forced.stderr
    );

    lock.release().unwrap();
    let cleaned = ran(&mut sandboxed(
        dir,
        &state,
        &["cleanup", "--auto-approve", "--include-unowned"],
    ));
    assert_eq!(cleaned.code, 0, "{}", cleaned.stderr);
    assert_eq!(live_grants(&state, DEMO_DELETED_LICENSE), 0);
    assert_eq!(
        FileLock::inspect(&cleanup_lock(dir)).unwrap(),
        Inspected::Free
    );
}

#[test]
fn a_sigkilled_run_leaves_no_local_lock_and_force_unlock_says_so() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let server = slow_emulator(dir);
    let mut killed = entitle(Some(&server.endpoint))
        .current_dir(dir)
        .args(["cleanup", "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = killed.id();
    wait_until("the cleanup to take its lock", || {
        matches!(
            FileLock::inspect(&cleanup_lock(dir)),
            Ok(Inspected::Held(Some(_)))
        )
    });
    killed.kill().unwrap();
    killed.wait().unwrap();

    // The OS released the lock with the process; its details are left, and said.
    let unlocked = ran(entitle(Some(&server.endpoint)).current_dir(dir).args([
        "force-unlock",
        "--rollout",
        "cleanup",
    ]));
    assert_eq!(unlocked.code, 0, "{}", unlocked.stderr);
    assert!(
        unlocked
            .stdout
            .contains("was already released: the OS released it when the process of"),
        "{}",
        unlocked.stdout
    );
    assert!(
        unlocked.stdout.contains(&format!("(pid {pid})")),
        "{}",
        unlocked.stdout
    );
    assert_eq!(
        FileLock::inspect(&cleanup_lock(dir)).unwrap(),
        Inspected::Free
    );

    // By plan file, for a rollout that was never locked.
    let plan = ran(entitle(Some(&server.endpoint))
        .current_dir(dir)
        .args(["force-unlock", &repository("plans/claude-sonnet-4-5.toml")]));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout
            .contains("rollout `claude-sonnet-4-5` of organisation `o-sbx0demo01` is not locked"),
        "{}",
        plan.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_run_leaves_its_s3_lock_until_force_unlock_removes_it() {
    let world = SlowS3World::start().await;
    let (moto, command) = (&world.moto, |args: &[&str]| world.command(args));

    let (mut killed, holder) =
        cleanup_holding_its_s3_lock(command(&["cleanup", "--auto-approve"]), moto).await;
    let pid = killed.id();
    killed.kill().unwrap();
    killed.wait().unwrap();

    // The object outlives the process: the next run is refused, naming the dead one.
    let refused = ran(&mut command(&["cleanup", "--auto-approve"]));
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    for part in [
        "is locked by",
        &format!("(pid {pid})"),
        &format!("running `cleanup` (run {})", holder.run),
        "since ",
        "`entitle force-unlock --rollout cleanup`",
    ] {
        assert!(refused.stderr.contains(part), "{part}\n{}", refused.stderr);
    }

    // Without a terminal to type the rollout's name on, and without --auto-approve: refused.
    let asked = ran(&mut command(&["force-unlock", "--rollout", "cleanup"]));
    assert_eq!(asked.code, 1, "{}", asked.stdout);
    assert!(asked.stderr.contains("no terminal"), "{}", asked.stderr);
    assert!(
        s3_text(&moto.endpoint, BUCKET, &s3_cleanup_lock())
            .await
            .is_some()
    );

    let forced = ran(&mut command(&[
        "--output",
        "json",
        "force-unlock",
        "--rollout",
        "cleanup",
        "--auto-approve",
    ]));
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    let document: Value = serde_json::from_str(&forced.stdout).unwrap();
    assert_eq!(document["outcome"], "removed");
    assert_eq!(document["holder"]["run"], holder.run.as_str());
    assert!(
        s3_text(&moto.endpoint, BUCKET, &s3_cleanup_lock())
            .await
            .is_none()
    );

    // The journal says who removed whose lock.
    let runs = s3_keys(
        &moto.endpoint,
        BUCKET,
        &format!("team/{DEMO_ORGANIZATION_ID}/cleanup/runs/"),
    )
    .await;
    let mut forced_lines = Vec::new();
    for key in &runs {
        let text = s3_text(&moto.endpoint, BUCKET, key).await.unwrap();
        forced_lines.extend(
            text.lines()
                .map(|line| serde_json::from_str::<Value>(line).unwrap())
                .filter(|line| line["event"] == "lock_forced"),
        );
    }
    assert_eq!(forced_lines.len(), 1, "{runs:?}");
    assert_eq!(forced_lines[0]["holder"]["run"], holder.run.as_str());
    assert!(forced_lines[0]["host"].is_string());

    let again = ran(&mut command(&["force-unlock", "--rollout", "cleanup"]));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("is not locked"), "{}", again.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_before_any_change_releases_the_s3_lock() {
    let world = SlowS3World::start().await;
    let (moto, command) = (&world.moto, |args: &[&str]| world.command(args));

    // The cleanup takes its lock, then waits on SearchAgreements: nothing is changed yet.
    let (mut stopped, _) =
        cleanup_holding_its_s3_lock(command(&["cleanup", "--auto-approve"]), moto).await;
    let sent = Command::new("kill")
        .args(["-INT", &stopped.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = stopped.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(stopped.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");

    // The lock went with the process: the next run is not refused, force-unlock finds none.
    assert!(
        s3_text(&moto.endpoint, BUCKET, &s3_cleanup_lock())
            .await
            .is_none(),
        "{stderr}"
    );
    let unlocked = ran(&mut command(&["force-unlock", "--rollout", "cleanup"]));
    assert_eq!(unlocked.code, 0, "{}", unlocked.stderr);
    assert!(
        unlocked.stdout.contains("is not locked"),
        "{}",
        unlocked.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_in_another_working_directory_sees_the_same_s3_history() {
    let moto = Moto::start(MANAGEMENT);
    create_bucket(&moto.endpoint, BUCKET).await;
    let shared = tempfile::tempdir().unwrap();
    let state = shared.path().join("state.json");
    let (laptop, runner) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let status = |dir: &Path| -> Value {
        let shown = ran(with_s3_journal(
            &mut sandboxed(dir, &state, &["--output", "json", "status", &plan]),
            &moto,
        ));
        assert_eq!(shown.code, 0, "{}", shown.stderr);
        serde_json::from_str(&shown.stdout).unwrap()
    };
    let pilot = |status: &Value| -> Value {
        status["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|phase| phase["name"] == "pilot")
            .unwrap()
            .clone()
    };

    let applied = ran(&mut sandboxed(
        laptop.path(),
        &state,
        &["apply", &plan, "--phase", "pilot", "--auto-approve"],
    ));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let seen = status(laptop.path());
    let since = pilot(&seen)["gate"]["active_since"].clone();
    assert!(since.is_string(), "{seen}");
    let runs = format!("team/{DEMO_ORGANIZATION_ID}/claude-sonnet-4-5/runs/");
    let written = s3_keys(&moto.endpoint, BUCKET, &runs).await;
    assert_eq!(written.len(), 1, "the laptop's sightings: {written:?}");

    // Later, elsewhere: the same bake clock (not a sighting of its own), nothing new recorded.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let elsewhere = status(runner.path());
    assert_eq!(pilot(&elsewhere)["gate"]["active_since"], since);
    let accounts = |status: &Value| -> Vec<(Value, Value)> {
        status["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|account| (account["account"].clone(), account["since"].clone()))
            .collect()
    };
    assert_eq!(accounts(&elsewhere), accounts(&seen));
    assert_eq!(s3_keys(&moto.endpoint, BUCKET, &runs).await, written);
    assert!(
        !runner.path().join(".entitle/journal").exists(),
        "no local journal where the S3 one is used"
    );
}

#[test]
fn two_commands_on_one_sandbox_state_file_take_turns_or_the_second_refuses() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state = dir.join("state.json");
    let lock_path = dir.join("state.json.lock");
    let holder = Holder {
        user: Some("bob".to_owned()),
        host: "laptop".to_owned(),
        pid: 777,
        caller: None,
        command: "apply".to_owned(),
        since: "2026-11-23T10:00:00.000Z".to_owned(),
        run: "run-of-bob".to_owned(),
    };

    // Another command holds the state for longer than a second one waits: refused, named.
    let Attempt::Taken(lock) = FileLock::try_take(&lock_path, &holder).unwrap() else {
        panic!("free at first");
    };
    let started = Instant::now();
    let refused = ran(&mut sandboxed(dir, &state, &["discover"]));
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "it waited first"
    );
    assert!(
        refused.stderr.contains(&format!(
            "error: the sandbox state `{}` is in use by `bob` on `laptop` (pid 777), running `apply`",
            state.display()
        )),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("hint: wait for the other command to end")
    );

    // The first one ends while the second waits: the second goes on.
    let mut waiting = sandboxed(dir, &state, &["discover"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Well inside the 5 s it waits (a discovery of the demo takes a fraction of that): still
    // running, so it is waiting for the lock rather than done or refused.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        waiting.try_wait().unwrap().is_none(),
        "the second command waits while the lock is held"
    );
    lock.release().unwrap();
    let done = waiting.wait_with_output().unwrap();
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}

#[test]
fn an_s3_journal_under_the_sandbox_needs_an_s3_endpoint() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let refused = ran(sandboxed(
        dir,
        &dir.join("state.json"),
        &["status", &repository("plans/claude-sonnet-4-5.toml")],
    )
    .env("ENTITLE_JOURNAL", "s3://acme-entitle/team")
    .env_remove("AWS_ENDPOINT_URL_S3"));
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .contains("error: `--sandbox` reaches no S3 (its emulator has none), so the journal `s3://acme-entitle/team` cannot be used"),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("hint: point `AWS_ENDPOINT_URL_S3` at an S3 emulator")
    );

    // The same when the plan names the journal.
    let plan = dir.join("shared.toml");
    let demo = std::fs::read_to_string(repository("plans/claude-sonnet-4-5.toml")).unwrap();
    std::fs::write(
        &plan,
        format!("{demo}\n[journal]\nurl = \"s3://acme-entitle/team\"\n"),
    )
    .unwrap();
    for args in [
        vec!["status", plan.to_str().unwrap()],
        vec!["force-unlock", plan.to_str().unwrap()],
    ] {
        let refused = ran(sandboxed(dir, &dir.join("state.json"), &args)
            .env_remove("ENTITLE_JOURNAL")
            .env_remove("AWS_ENDPOINT_URL_S3"));
        assert_eq!(refused.code, 1, "{args:?}: {}", refused.stdout);
        assert!(
            refused.stderr.contains("`--sandbox` reaches no S3"),
            "{args:?}: {}",
            refused.stderr
        );
    }
}

/// A server keeps its state file locked while it runs (it saves the whole state when it stops):
/// an admin action on the file itself waits a moment, then refuses naming the server, and
/// changes nothing; through the server's endpoint it goes through.
#[test]
fn a_served_state_file_refuses_admin_actions_on_the_file() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state = dir.join("state.json");
    let server = SandboxServer::start(&["--state", &state.display().to_string()]);
    let on_file = ran(entitle(None).current_dir(dir).args([
        "sandbox",
        "cancel-agreement",
        entitle::sandbox::seed::DEMO_ACTIVE_AGREEMENT,
        "--state",
        &state.display().to_string(),
    ]));
    assert_eq!(on_file.code, 1, "{}", on_file.stdout);
    assert!(
        on_file.stderr.contains("sandbox serve"),
        "{}",
        on_file.stderr
    );
    let through = ran(entitle(None).current_dir(dir).args([
        "sandbox",
        "cancel-agreement",
        entitle::sandbox::seed::DEMO_ACTIVE_AGREEMENT,
        "--endpoint",
        &server.endpoint,
    ]));
    assert_eq!(through.code, 0, "{}", through.stderr);
    server.stop();
    let saved = State::load(&state).unwrap();
    assert_eq!(
        saved.agreements[entitle::sandbox::seed::DEMO_ACTIVE_AGREEMENT].status,
        "CANCELLED"
    );
}
