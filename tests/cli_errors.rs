//! Errors that name their cause: a profile the files do not define, an endpoint that does not
//! answer, plan, state and journal files that cannot be read, and flags a command cannot honour.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use support::{entitle, ran};

/// Writes the shared config and credentials files of a fake home.
fn aws_files(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    std::fs::write(
        &config,
        "[default]\nregion = eu-west-1\n\n[profile prod-admin]\nregion = eu-west-1\n\n[sso-session corp]\nsso_region = eu-west-1\n",
    )
    .unwrap();
    std::fs::write(
        &credentials,
        "[staging]\naws_access_key_id = AKIDTESTTESTTEST\naws_secret_access_key = test\n",
    )
    .unwrap();
    (config, credentials)
}

#[test]
fn a_misspelt_profile_is_named_with_the_files_read_and_the_profiles_they_define() {
    let dir = tempfile::tempdir().unwrap();
    let (config, credentials) = aws_files(dir.path());
    for how in ["flag", "environment"] {
        let mut command = entitle(None);
        command
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .arg("discover");
        match how {
            "flag" => command.args(["--profile", "prod-admn"]),
            _ => command.env("AWS_PROFILE", "prod-admn"),
        };
        let started = Instant::now();
        let result = ran(&mut command);
        assert_eq!(result.code, 1, "{how}: {}", result.stderr);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{how}: refused at once, not after IMDS timeouts"
        );
        assert!(
            result
                .stderr
                .contains("profile `prod-admn` is not defined in"),
            "{how}: {}",
            result.stderr
        );
        assert!(
            result.stderr.contains(&format!("`{}`", config.display())),
            "{how} names the config file: {}",
            result.stderr
        );
        assert!(
            result
                .stderr
                .contains(&format!("`{}`", credentials.display())),
            "{how} names the credentials file: {}",
            result.stderr
        );
        assert!(
            result
                .stderr
                .contains("the profiles there: `default`, `prod-admin`, `staging`"),
            "{how} lists the profiles that exist (not the sso-session): {}",
            result.stderr
        );
        assert!(
            result
                .stderr
                .contains("hint: name one of the profiles listed"),
            "{how}: {}",
            result.stderr
        );
        assert!(!result.stderr.contains("IMDS"), "{how}: {}", result.stderr);
    }
}

#[test]
fn a_profile_in_no_file_says_the_files_were_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let result = ran(entitle(None)
        .env("AWS_CONFIG_FILE", dir.path().join("absent-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("absent-credentials"),
        )
        .args(["discover", "--profile", "prod"]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains("absent-config` (not found)")
            && result.stderr.contains("they define no profile"),
        "{}",
        result.stderr
    );
}

#[test]
fn an_existing_profile_passes_the_check() {
    // A profile the credentials file defines reaches the endpoint (here an emulator), whatever
    // the config file says.
    let dir = tempfile::tempdir().unwrap();
    let (config, credentials) = aws_files(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sandbox = rt.block_on(support::start(entitle::sandbox::state::State::demo()));
    let result = ran(entitle(Some(&sandbox.endpoint()))
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .args(["discover", "--profile", "staging"]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        !result.stderr.contains("is not defined"),
        "{}",
        result.stderr
    );
}

#[test]
fn an_endpoint_that_does_not_answer_fails_fast_naming_service_and_endpoint() {
    // A port bound and closed again: nothing listens there, every connection is refused.
    let port = support::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let result = ran(entitle(Some(&endpoint)).arg("discover"));
    let took = started.elapsed();
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        took < Duration::from_secs(30),
        "connections never made are not retried for a minute (took {took:?})"
    );
    assert!(
        result
            .stderr
            .contains(&format!("could not connect to `{endpoint}`")),
        "names the endpoint: {}",
        result.stderr
    );
    assert!(
        result.stderr.contains("organizations:"),
        "names the service: {}",
        result.stderr
    );
    assert!(
        result.stderr.contains("hint: check the endpoint"),
        "{}",
        result.stderr
    );
}

/// The same command under coreutils' `timeout`: a read that hangs fails the test (exit 124)
/// instead of hanging it.
fn bounded(command: &std::process::Command, seconds: u32) -> std::process::Command {
    let mut wrapped = std::process::Command::new("timeout");
    wrapped
        .arg(seconds.to_string())
        .arg(command.get_program())
        .args(command.get_args())
        .stdin(std::process::Stdio::null());
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(name, value),
            None => wrapped.env_remove(name),
        };
    }
    wrapped
}

fn sandbox_flag(dir: &std::path::Path) -> String {
    format!("--sandbox={}", dir.join("state.json").display())
}

/// The demo rollout, for commands that need a plan.
fn demo_plan(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("rollout.toml");
    std::fs::copy(support::repository("plans/claude-sonnet-4-5.toml"), &path).unwrap();
    path
}

fn mkfifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}

#[test]
fn invalid_utf8_in_a_plan_file_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("latin1.toml");
    std::fs::write(&plan, b"version = 1\nname = \"caf\xe9\"\n").unwrap();
    let result = ran(entitle(None)
        .arg(sandbox_flag(dir.path()))
        .arg("plan")
        .arg(&plan));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains(&format!(
            "the plan file `{}` is not UTF-8 text: invalid byte 0xe9 at line 2, column 12 (byte offset 23)",
            plan.display()
        )),
        "{}",
        result.stderr
    );
}

#[test]
fn a_plan_that_is_a_fifo_or_a_device_is_refused_at_once_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("plan.fifo");
    mkfifo(&fifo);
    for path in [fifo.as_path(), std::path::Path::new("/dev/full")] {
        for command in ["plan", "apply"] {
            let mut inner = entitle(None);
            inner.arg(sandbox_flag(dir.path())).arg(command).arg(path);
            let result = ran(&mut bounded(&inner, 20));
            assert_eq!(
                result.code,
                1,
                "{command} {}: {}",
                path.display(),
                result.stderr
            );
            assert!(
                result
                    .stderr
                    .contains(&format!("`{}`: it is not a regular file", path.display())),
                "{command} {}: {}",
                path.display(),
                result.stderr
            );
        }
    }
}

#[test]
fn a_state_file_or_journal_that_is_a_fifo_is_refused_at_once_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let plan = demo_plan(dir.path());
    let state = dir.path().join("state.fifo");
    mkfifo(&state);
    let mut inner = entitle(None);
    inner
        .arg(format!("--sandbox={}", state.display()))
        .arg("discover");
    let result = ran(&mut bounded(&inner, 20));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains(&format!("`{}`", state.display()))
            && result.stderr.contains("not a regular file"),
        "{}",
        result.stderr
    );

    let journal = dir.path().join("journal.jsonl");
    mkfifo(&journal);
    let mut inner = entitle(None);
    inner
        .arg(sandbox_flag(dir.path()))
        .arg("--journal")
        .arg(&journal)
        .arg("status")
        .arg(&plan);
    let result = ran(&mut bounded(&inner, 20));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains(&format!("`{}`", journal.display()))
            && result.stderr.contains("not a regular file"),
        "{}",
        result.stderr
    );
}

#[test]
fn a_saved_plan_of_a_newer_format_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let plan = demo_plan(dir.path());
    let saved = dir.path().join("saved.json");
    let wrote = ran(entitle(None)
        .current_dir(dir.path())
        .arg(sandbox_flag(dir.path()))
        .arg("plan")
        .arg(&plan)
        .arg("--out")
        .arg(&saved));
    assert!(wrote.code == 0 || wrote.code == 3, "{}", wrote.stderr);
    let mut document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    document["format_version"] = serde_json::json!(7);
    // A newer layout may rename anything: only the version is certain.
    document.as_object_mut().unwrap().remove("plan");
    std::fs::write(&saved, document.to_string()).unwrap();
    let result = ran(entitle(None)
        .current_dir(dir.path())
        .arg(sandbox_flag(dir.path()))
        .arg("apply")
        .arg(&saved)
        .arg("--auto-approve"));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result
            .stderr
            .contains("the saved plan has format version `7`, this entitle reads `1`"),
        "{}",
        result.stderr
    );
}

#[test]
fn a_phase_given_with_a_saved_plan_must_be_the_saved_plans() {
    let dir = tempfile::tempdir().unwrap();
    let plan = demo_plan(dir.path());
    let saved = dir.path().join("pilot.json");
    let wrote = ran(entitle(None)
        .current_dir(dir.path())
        .arg(sandbox_flag(dir.path()))
        .arg("plan")
        .arg(&plan)
        .args(["--phase", "pilot", "--out"])
        .arg(&saved));
    assert!(wrote.code == 0 || wrote.code == 3, "{}", wrote.stderr);
    let before = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    let refused = ran(entitle(None)
        .current_dir(dir.path())
        .arg(sandbox_flag(dir.path()))
        .arg("apply")
        .arg(&saved)
        .args(["--phase", "everyone", "--auto-approve"]));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!(
            "`--phase everyone` does not match the saved plan `{}`, which was made with `--phase pilot`",
            saved.display()
        )),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("hint: a saved plan is applied as it was made")
    );
    let after = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&before).unwrap()["grants"],
        serde_json::from_str::<serde_json::Value>(&after).unwrap()["grants"],
        "nothing granted"
    );
    // The saved plan's own phase is accepted.
    let applied = ran(entitle(None)
        .current_dir(dir.path())
        .arg(sandbox_flag(dir.path()))
        .arg("apply")
        .arg(&saved)
        .args(["--phase", "pilot", "--auto-approve"]));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
}

#[test]
fn cleanup_of_a_product_whose_subscription_lives_on_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let result = ran(entitle(None).current_dir(dir.path()).args([
        &sandbox_flag(dir.path()),
        "cleanup",
        "--product",
        "prod-mxcfnwvpd6kb4",
        "--auto-approve",
    ]));
    assert_eq!(result.code, 1, "{}\n{}", result.stdout, result.stderr);
    assert!(
        result
            .stderr
            .contains("the subscription to product `prod-mxcfnwvpd6kb4` has not ended")
            && result.stderr.contains("is AVAILABLE")
            && result.stderr.contains("so its grants stay"),
        "{}",
        result.stderr
    );
    assert!(
        !result.stdout.contains("nothing to clean up"),
        "{}",
        result.stdout
    );
}

#[test]
fn thousands_of_plan_problems_are_capped_with_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("many.toml");
    let mut text = String::from(
        "version = 1\nname = \"many\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\n",
    );
    for index in 0..500 {
        text.push_str(&format!(
            "[[phase]]\nname = \"p{index}\"\nunknown_key_{index} = 1\n\n"
        ));
    }
    std::fs::write(&plan, text).unwrap();
    let result = ran(entitle(None)
        .arg(sandbox_flag(dir.path()))
        .arg("plan")
        .arg(&plan));
    assert_eq!(result.code, 1, "{}", result.stderr);
    let errors = result.stderr.matches("error:").count();
    assert!(errors <= 201, "{errors} errors printed");
    assert!(
        result
            .stderr
            .contains("problems in the plan file (the first 200 shown)"),
        "{}",
        &result.stderr[result.stderr.len().saturating_sub(500)..]
    );
}

#[test]
fn a_directory_with_a_one_rollout_flag_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let plans = support::repository("plans");
    let sandbox = format!("--sandbox={}", dir.path().join("state.json").display());
    for args in [
        vec!["plan", plans.as_str(), "--out", "saved.json"],
        vec!["status", plans.as_str(), "--watch"],
    ] {
        let result = support::ran(
            support::entitle(None)
                .current_dir(dir.path())
                .arg(&sandbox)
                .args(&args),
        );
        assert_eq!(
            result.code,
            2,
            "`entitle {}` is a usage error:\n{}",
            args.join(" "),
            result.stderr
        );
        assert!(
            result.stderr.contains("a directory was given") && result.stderr.contains("hint:"),
            "{}",
            result.stderr
        );
        assert!(!dir.path().join("saved.json").exists());
    }
}
