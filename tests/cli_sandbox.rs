//! The emulator from the command line: `--sandbox` for one command, `entitle sandbox serve` as a
//! server that other SDKs (boto3) use, and the admin actions on a state file or a running server.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use support::{SandboxServer, entitle, python_venv, ran};

/// `entitle sandbox serve` on `state` (the one test server of `support`), its banner checked.
fn serve(state: &std::path::Path, extra: &[&str]) -> SandboxServer {
    let state_text = state.display().to_string();
    let mut args = vec!["--state", state_text.as_str()];
    args.extend_from_slice(extra);
    let served = SandboxServer::start(&args);
    assert_eq!(
        served.banner.trim(),
        format!(
            "entitle sandbox listening on {} (state: {})",
            served.endpoint, state_text
        )
    );
    served
}

#[test]
fn the_sandbox_flag_runs_one_command_against_the_demo_and_keeps_its_state() {
    let directory = tempfile::tempdir().unwrap();
    let state = directory.path().join("state.json");
    let flag = format!("--sandbox={}", state.display());
    // Whatever the environment says, nothing reaches it: the endpoint here does not exist.
    let first = ran(entitle(Some("http://127.0.0.1:9")).args([flag.as_str(), "discover"]));
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stdout.starts_with(
        "Organization o-sbx0demo01 (all features), management account 100000000001\n"
    ));
    assert!(
        first
            .stdout
            .contains("8 OUs, 40 accounts (39 active, 1 suspended)"),
        "{}",
        first.stdout
    );
    assert!(state.exists(), "the state file is created on first use");

    let changed = ran(entitle(None)
        .args(["sandbox", "suspend-account", "111111111111", "--state"])
        .arg(&state));
    assert_eq!(changed.code, 0, "{}", changed.stderr);
    let second = ran(entitle(None).args([flag.as_str(), "discover", "--output", "json"]));
    let document: serde_json::Value = serde_json::from_str(&second.stdout).unwrap();
    let pilot = document["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "111111111111")
        .unwrap();
    assert_eq!(
        pilot["state"], "SUSPENDED",
        "the admin action on the state file is seen by the next run"
    );
}

#[test]
fn admin_actions_report_unknown_things_clearly() {
    let directory = tempfile::tempdir().unwrap();
    let state = directory.path().join("state.json");
    let result = ran(entitle(None)
        .args(["sandbox", "cancel-agreement", "agmt-nope", "--state"])
        .arg(&state));
    assert_eq!(result.code, 1);
    assert!(result.stderr.starts_with("error: "), "{}", result.stderr);
    assert!(result.stderr.contains("agmt-nope"), "{}", result.stderr);
    let unreachable =
        ran(entitle(None).args(["sandbox", "stats", "--endpoint", "http://127.0.0.1:9"]));
    assert_eq!(unreachable.code, 1);
    assert!(
        unreachable
            .stderr
            .contains("could not reach the emulator at `http://127.0.0.1:9`"),
        "{}",
        unreachable.stderr
    );
}

#[test]
fn sandbox_serve_answers_the_cli_and_admin_actions_and_saves_on_sigterm() {
    let directory = tempfile::tempdir().unwrap();
    let state = directory.path().join("served.json");
    let served = serve(&state, &[]);

    let discovered = ran(entitle(Some(&served.endpoint)).args(["discover", "--no-tags"]));
    assert_eq!(discovered.code, 0, "{}", discovered.stderr);
    assert!(discovered.stdout.contains("40 accounts"));

    let joined = ran(entitle(None).args([
        "sandbox",
        "join-account",
        "999999999999",
        "--name",
        "late-joiner",
        "--tag",
        "bedrock=approved",
        "--endpoint",
        &served.endpoint,
    ]));
    assert_eq!(joined.code, 0, "{}", joined.stderr);
    let again = ran(entitle(Some(&served.endpoint)).arg("discover"));
    assert!(
        again
            .stdout
            .contains("999999999999  late-joiner  ACTIVE  bedrock=approved"),
        "{}",
        again.stdout
    );

    let stats = ran(entitle(None).args([
        "sandbox",
        "stats",
        "--endpoint",
        &served.endpoint,
        "--output",
        "json",
    ]));
    let stats: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    assert_eq!(
        stats["operations"]["Organizations.DescribeOrganization"]["calls"], 2,
        "{stats}"
    );

    assert_eq!(served.stop(), 0);
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(saved.contains("late-joiner"), "SIGTERM saves the state");
}

/// Runs tests/python/boto3_sandbox.py (with `args`) against a served emulator.
fn boto3_script(served: &SandboxServer, args: &[&str]) -> support::Ran {
    let venv = python_venv();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/boto3_sandbox.py");
    ran(std::process::Command::new(venv.join("bin/python"))
        .arg(script)
        .args(args)
        .env("AWS_ENDPOINT_URL", &served.endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDSANDBOX")
        .env("AWS_SECRET_ACCESS_KEY", "sandbox-secret")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"))
}

#[test]
fn boto3_speaks_to_the_emulator() {
    let directory = tempfile::tempdir().unwrap();
    let served = serve(&directory.path().join("boto3.json"), &[]);
    let result = boto3_script(&served, &[]);
    assert_eq!(
        result.code, 0,
        "boto3 checks failed:\n{}\n{}",
        result.stdout, result.stderr
    );
    assert!(
        result.stdout.ends_with("5 passed, 0 failed\n"),
        "{}",
        result.stdout
    );
}

#[test]
fn boto3_drives_every_lifecycle_setting() {
    let directory = tempfile::tempdir().unwrap();
    let served = serve(&directory.path().join("lifecycle.json"), &[]);
    let result = boto3_script(&served, &["lifecycle"]);
    assert_eq!(
        result.code, 0,
        "boto3 lifecycle checks failed:\n{}\n{}",
        result.stdout, result.stderr
    );
    assert!(
        result.stdout.ends_with("7 passed, 0 failed\n"),
        "{}",
        result.stdout
    );
}

#[test]
fn boto3_drives_cost_explorer() {
    let directory = tempfile::tempdir().unwrap();
    let served = serve(&directory.path().join("cost-explorer.json"), &[]);
    let result = boto3_script(&served, &["cost_explorer"]);
    assert_eq!(
        result.code, 0,
        "boto3 Cost Explorer checks failed:\n{}\n{}",
        result.stdout, result.stderr
    );
    assert!(
        result.stdout.ends_with("2 passed, 0 failed\n"),
        "{}",
        result.stdout
    );
}

#[test]
fn record_usage_and_set_rates_change_a_state_file() {
    let directory = tempfile::tempdir().unwrap();
    let state = directory.path().join("state.json");
    let rates = ran(entitle(None)
        .args([
            "sandbox",
            "set-rates",
            "--product",
            "prod-mxcfnwvpd6kb4",
            "--list",
            "0.00001",
            "--output",
            "json",
            "--state",
        ])
        .arg(&state));
    assert_eq!(rates.code, 0, "{}", rates.stderr);
    let answer: serde_json::Value = serde_json::from_str(&rates.stdout).unwrap();
    assert_eq!(answer["list"], 0.00001);
    assert_eq!(answer["private"], 0.0000024, "the private rate is kept");
    let recorded = ran(entitle(None)
        .args([
            "sandbox",
            "record-usage",
            "--account",
            "333333333333",
            "--product",
            "prod-mxcfnwvpd6kb4",
            "--units",
            "300000",
            "--date",
            "2026-01-15",
            "--usage-type",
            "USE1-MP:USE1_OutputTokenCount-Units",
            "--output",
            "json",
            "--state",
        ])
        .arg(&state));
    assert_eq!(recorded.code, 0, "{}", recorded.stderr);
    let line: serde_json::Value = serde_json::from_str(&recorded.stdout).unwrap();
    assert_eq!(line["rate"], "list");
    assert_eq!(line["cost"], 3.0);
    assert_eq!(line["date"], "2026-01-15");
    let saved = entitle::sandbox::State::load(&state).unwrap();
    assert_eq!(saved.usage.records.len(), 1);
    assert_eq!(
        saved.usage.records[0].usage_type,
        "USE1-MP:USE1_OutputTokenCount-Units"
    );

    // Refusals change nothing and say why: bad flags are usage errors (exit 2) with a hint.
    for (args, words, code) in [
        (
            vec!["--account", "999999999999", "--units", "5"],
            "is not in the organisation",
            1,
        ),
        (
            vec!["--account", "333333333333", "--units", "0"],
            "must be a positive number",
            2,
        ),
        (
            vec![
                "--account",
                "333333333333",
                "--units",
                "5",
                "--date",
                "2026-02-30",
            ],
            "is not a YYYY-MM-DD date",
            2,
        ),
        (
            vec![
                "--account",
                "333333333333",
                "--units",
                "5",
                "--date",
                "2999-01-01",
            ],
            "is in the future",
            2,
        ),
    ] {
        let refused = ran(entitle(None)
            .args(["sandbox", "record-usage", "--product", "prod-mxcfnwvpd6kb4"])
            .args(&args)
            .arg("--state")
            .arg(&state));
        assert_eq!(refused.code, code, "{args:?}: {}", refused.stderr);
        assert!(
            refused.stderr.contains(words),
            "{args:?}: {}",
            refused.stderr
        );
        if code == 2 {
            assert!(refused.stderr.contains("hint:"), "{}", refused.stderr);
        }
    }
    let no_rate = ran(entitle(None)
        .args(["sandbox", "set-rates", "--product", "prod-x", "--state"])
        .arg(&state));
    assert_eq!(no_rate.code, 2, "{}", no_rate.stderr);
    assert!(no_rate.stderr.contains("--list"), "{}", no_rate.stderr);
    let negative = ran(entitle(None)
        .args([
            "sandbox",
            "set-rates",
            "--product",
            "prod-x",
            "--list=-1",
            "--state",
        ])
        .arg(&state));
    assert_eq!(negative.code, 2, "{}", negative.stderr);
    let half = ran(entitle(None)
        .args([
            "sandbox",
            "set-rates",
            "--product",
            "prod-x",
            "--list",
            "1",
            "--state",
        ])
        .arg(&state));
    assert_eq!(half.code, 1, "{}", half.stderr);
    assert!(half.stderr.contains("give both"), "{}", half.stderr);
    let unknown = ran(entitle(None)
        .args([
            "sandbox",
            "record-usage",
            "--account",
            "333333333333",
            "--product",
            "prod-unknown",
            "--units",
            "5",
            "--state",
        ])
        .arg(&state));
    assert_ne!(unknown.code, 0);
    assert!(unknown.stderr.contains("set-rates"), "{}", unknown.stderr);
    let kept = entitle::sandbox::State::load(&state).unwrap();
    assert_eq!(kept.usage.records.len(), 1);
    assert!(!kept.usage.rates.contains_key("prod-x"));
}

#[test]
fn subscribe_account_and_remove_role_change_a_state_file() {
    let directory = tempfile::tempdir().unwrap();
    let state = directory.path().join("state.json");
    let subscribed = ran(entitle(None)
        .args([
            "sandbox",
            "subscribe-account",
            "111111111111",
            "--product",
            "prod-mxcfnwvpd6kb4",
            "--output",
            "json",
            "--state",
        ])
        .arg(&state));
    assert_eq!(subscribed.code, 0, "{}", subscribed.stderr);
    let answer: serde_json::Value = serde_json::from_str(&subscribed.stdout).unwrap();
    let license = answer["licenseArn"].as_str().unwrap().to_string();
    assert!(license.starts_with("arn:aws:license-manager::294406891311:license:l-"));
    let removed = ran(entitle(None)
        .args([
            "sandbox",
            "remove-role",
            "222222222222",
            "--role",
            "OrganizationAccountAccessRole",
            "--state",
        ])
        .arg(&state));
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    assert!(
        removed
            .stdout
            .lines()
            .any(|line| line.split_whitespace().eq(["removed", "true"])),
        "{}",
        removed.stdout
    );

    let saved = entitle::sandbox::State::load(&state).unwrap();
    let own = &saved.licenses[&license];
    assert_eq!(
        (own.holder_account_id.as_str(), own.beneficiary.as_str()),
        ("111111111111", "111111111111")
    );
    assert_eq!(
        (own.status.as_str(), own.issuer_name.as_str()),
        ("AVAILABLE", "AWS/Marketplace")
    );
    assert!(saved.removed_roles["222222222222"].contains("OrganizationAccountAccessRole"));
    assert!(!saved.role_exists("222222222222", "OrganizationAccountAccessRole"));
    assert!(saved.role_exists("111111111111", "OrganizationAccountAccessRole"));

    // Unknown accounts are named; a missing --role is a usage error.
    let unknown = ran(entitle(None)
        .args([
            "sandbox",
            "subscribe-account",
            "999999999999",
            "--product",
            "prod-x",
            "--state",
        ])
        .arg(&state));
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("999999999999"),
        "{}",
        unknown.stderr
    );
    let usage = ran(entitle(None)
        .args(["sandbox", "remove-role", "111111111111", "--state"])
        .arg(&state));
    assert_eq!(usage.code, 2, "{}", usage.stderr);
}

#[test]
fn subscribe_account_and_remove_role_reach_a_running_emulator() {
    let directory = tempfile::tempdir().unwrap();
    let state = directory.path().join("served.json");
    let served = serve(&state, &[]);
    for args in [
        vec![
            "subscribe-account",
            "333333333333",
            "--product",
            "prod-mxcfnwvpd6kb4",
        ],
        vec![
            "remove-role",
            "333333333333",
            "--role",
            "OrganizationAccountAccessRole",
        ],
    ] {
        let result = ran(entitle(None)
            .arg("sandbox")
            .args(&args)
            .args(["--endpoint", &served.endpoint]));
        assert_eq!(result.code, 0, "{args:?}: {}", result.stderr);
    }
    assert_eq!(served.stop(), 0);
    let saved = entitle::sandbox::State::load(&state).unwrap();
    assert!(
        saved
            .licenses
            .values()
            .any(|license| license.holder_account_id == "333333333333")
    );
    assert!(!saved.role_exists("333333333333", "OrganizationAccountAccessRole"));
}

#[test]
fn a_member_account_is_told_which_permission_it_lacks() {
    let directory = tempfile::tempdir().unwrap();
    let served = serve(&directory.path().join("member.json"), &[]);
    // The emulator reads the calling account from the access key id: this is pilot member 222222222222.
    let result = ran(entitle(Some(&served.endpoint))
        .arg("discover")
        .env("AWS_ACCESS_KEY_ID", "AKID222222222222"));
    assert_eq!(result.code, 1);
    assert_eq!(result.stdout, "");
    assert!(
        result
            .stderr
            .starts_with("error: could not discover the organisation\n"),
        "{}",
        result.stderr
    );
    assert!(
        result
            .stderr
            .contains("organizations:ListRoots failed with `AccessDeniedException`"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("hint: the identity in use needs `organizations:ListRoots`; run entitle from the management account"),
        "{}",
        result.stderr
    );
}

#[test]
fn boto3_drives_bedrock_iam_and_the_fixes() {
    let directory = tempfile::tempdir().unwrap();
    let served = serve(&directory.path().join("access.json"), &[]);
    let result = boto3_script(&served, &["access"]);
    assert_eq!(
        result.code, 0,
        "boto3 access checks failed:\n{}\n{}",
        result.stdout, result.stderr
    );
    assert!(
        result.stdout.ends_with("4 passed, 0 failed\n"),
        "{}",
        result.stdout
    );
}

#[test]
fn access_admin_actions_change_a_state_file() {
    let directory = tempfile::tempdir().unwrap();
    let state = directory.path().join("state.json");
    let sandbox = |args: &[&str]| {
        ran(entitle(None)
            .arg("sandbox")
            .args(args)
            .args(["--output", "json", "--state"])
            .arg(&state))
    };
    let model = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    let broken = sandbox(&[
        "break-availability",
        "--account",
        "111111111111",
        "--model",
        model,
    ]);
    assert_eq!(broken.code, 0, "{}", broken.stderr);
    let answer: serde_json::Value = serde_json::from_str(&broken.stdout).unwrap();
    assert_eq!(answer["broken"], serde_json::json!([model]));
    let everything = sandbox(&["break-availability", "--account", "222222222222"]);
    assert_eq!(everything.code, 0, "{}", everything.stderr);
    let removed = sandbox(&["remove-use-case-form"]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    let prerequisites = sandbox(&["break-prerequisites", "--keep-link"]);
    assert_eq!(prerequisites.code, 0, "{}", prerequisites.stderr);
    let role = sandbox(&[
        "remove-role",
        "100000000001",
        "--role",
        "AWSServiceRoleForAWSLicenseManagerRole",
    ]);
    assert_eq!(role.code, 0, "{}", role.stderr);

    let saved = entitle::sandbox::State::load(&state).unwrap();
    assert!(saved.bedrock.broken_availability["111111111111"].contains(model));
    assert!(saved.bedrock.broken_availability["222222222222"].contains("*"));
    assert!(saved.bedrock.use_case_forms.is_empty());
    assert!(
        !saved
            .service_access
            .contains_key("license-manager.amazonaws.com")
    );
    assert!(
        !saved
            .service_access
            .contains_key("license-management.marketplace.amazonaws.com")
    );
    assert!(saved.license_manager.enable_integration, "--keep-link");
    let roles = &saved.service_linked_roles["100000000001"];
    assert!(!roles.contains_key("AWSServiceRoleForAWSLicenseManagerRole"));
    assert!(roles.contains_key("AWSServiceRoleForMarketplaceLicenseManagement"));

    // --restore undoes a break; an unknown model or account is named.
    let restored = sandbox(&[
        "break-availability",
        "--account",
        "111111111111",
        "--restore",
    ]);
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    let saved = entitle::sandbox::State::load(&state).unwrap();
    assert!(
        !saved
            .bedrock
            .broken_availability
            .contains_key("111111111111")
    );
    let unknown = sandbox(&[
        "break-availability",
        "--account",
        "111111111111",
        "--model",
        "anthropic.nothing-v1:0",
    ]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("anthropic.nothing-v1:0"),
        "{}",
        unknown.stderr
    );
    let nobody = sandbox(&["break-availability", "--account", "999999999999"]);
    assert_eq!(nobody.code, 1);
    assert!(nobody.stderr.contains("999999999999"), "{}", nobody.stderr);
}

#[test]
fn break_availability_reaches_a_running_emulator() {
    let directory = tempfile::tempdir().unwrap();
    let state = directory.path().join("served.json");
    let served = serve(&state, &[]);
    let result = ran(entitle(None).args([
        "sandbox",
        "break-availability",
        "--account",
        "333333333333",
        "--endpoint",
        &served.endpoint,
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let result = ran(entitle(None).args([
        "sandbox",
        "break-prerequisites",
        "--endpoint",
        &served.endpoint,
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(served.stop(), 0);
    let saved = entitle::sandbox::State::load(&state).unwrap();
    assert!(saved.bedrock.broken_availability["333333333333"].contains("*"));
    assert!(!saved.license_manager.enable_integration);
}

/// `entitle sandbox serve`'s environment lines, read from its stdout up to the closing line.
fn printed_exports(stdout: &mut BufReader<std::process::ChildStdout>) -> Vec<(String, String)> {
    let mut exports = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "serve stopped early"
        );
        if line.starts_with("Stop it with") {
            return exports;
        }
        if let Some((name, value)) = line
            .trim()
            .strip_prefix("export ")
            .and_then(|rest| rest.split_once('='))
        {
            exports.push((name.to_owned(), value.to_owned()));
        }
    }
}

#[test]
fn boto3_runs_on_exactly_the_exports_serve_prints() {
    let directory = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let mut child = entitle(None)
        .args([
            "sandbox",
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--state",
        ])
        .arg(directory.path().join("exports.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let exports = printed_exports(&mut stdout);
    let names: Vec<&str> = exports.iter().map(|(name, _)| name.as_str()).collect();
    assert!(
        names.contains(&"AWS_DEFAULT_REGION") && names.contains(&"AWS_REGION"),
        "{names:?}"
    );
    // Nothing else of the test's environment: a home without AWS files, and PATH.
    let home = directory.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/boto3_sandbox.py");
    let result = ran(std::process::Command::new(python_venv().join("bin/python"))
        .arg(script)
        .arg("exports")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .envs(exports.iter().map(|(name, value)| (name, value))));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    assert_eq!(
        result.code, 0,
        "boto3 on the printed exports:\n{}\n{}",
        result.stdout, result.stderr
    );
    assert!(
        result.stdout.ends_with("1 passed, 0 failed\n"),
        "{}",
        result.stdout
    );
}

#[test]
fn admin_actions_change_the_state_file_the_global_sandbox_flag_names() {
    let directory = tempfile::tempdir().unwrap();
    let named = directory.path().join("named.json");
    let flag = format!("--sandbox={}", named.display());
    let suspended = ran(entitle(None).current_dir(directory.path()).args([
        flag.as_str(),
        "sandbox",
        "suspend-account",
        "111111111111",
    ]));
    assert_eq!(suspended.code, 0, "{}", suspended.stderr);
    assert!(
        !directory.path().join(".entitle/sandbox.json").exists(),
        "the default state file is left alone"
    );
    let state = entitle::sandbox::State::load(&named).unwrap();
    assert_eq!(state.accounts["111111111111"].state, "SUSPENDED");
    // For people: a line saying what was done where, then the fields; no JSON.
    assert!(
        suspended
            .stdout
            .starts_with(&format!("suspend-account: done on {}\n", named.display())),
        "{}",
        suspended.stdout
    );
    assert!(
        suspended.stdout.contains("  state      SUSPENDED"),
        "{}",
        suspended.stdout
    );
    assert!(!suspended.stdout.contains('{'), "{}", suspended.stdout);

    // For scripts: a versioned document with the action's fields.
    let json = ran(entitle(None).current_dir(directory.path()).args([
        flag.as_str(),
        "sandbox",
        "suspend-account",
        "222222222222",
        "--output",
        "json",
    ]));
    assert_eq!(json.code, 0, "{}", json.stderr);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["format_version"], 1);
    assert_eq!(document["kind"], "sandbox-admin");
    assert_eq!(document["action"], "suspend-account");
    assert_eq!(document["accountId"], "222222222222");

    // Two different files named: refused as a usage error, nothing changed.
    let other = directory.path().join("other.json");
    let refused = ran(entitle(None).current_dir(directory.path()).args([
        flag.as_str(),
        "sandbox",
        "suspend-account",
        "333333333333",
        "--state",
        other.to_str().unwrap(),
    ]));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("name different state files"),
        "{}",
        refused.stderr
    );
    assert!(!other.exists());
    let state = entitle::sandbox::State::load(&named).unwrap();
    assert_eq!(state.accounts["333333333333"].state, "ACTIVE");
}

#[test]
fn a_state_file_that_cannot_be_written_is_refused_before_any_change() {
    // A directory where no file can be made (even by root): /proc.
    let unwritable = std::path::Path::new("/proc/entitle-cannot-write-here.json");
    let discover =
        ran(entitle(None).args([&format!("--sandbox={}", unwritable.display()), "discover"]));
    assert_eq!(discover.code, 1, "{}", discover.stderr);
    assert!(
        discover
            .stderr
            .contains("/proc/entitle-cannot-write-here.json"),
        "names the file: {}",
        discover.stderr
    );
    // An admin action on a file that is not a regular file changes nothing either.
    let admin = ran(entitle(None).args([
        "sandbox",
        "suspend-account",
        "111111111111",
        "--state",
        "/dev/full",
    ]));
    assert_eq!(admin.code, 1, "{}", admin.stderr);
    assert!(
        admin.stderr.contains("`/dev/full`") && admin.stderr.contains("not a regular file"),
        "{}",
        admin.stderr
    );
}

#[test]
fn a_state_file_of_a_newer_format_is_refused_naming_both_versions() {
    let directory = tempfile::tempdir().unwrap();
    let state = directory.path().join("state.json");
    let mut document = serde_json::to_value(entitle::sandbox::State::demo()).unwrap();
    document["format_version"] = serde_json::json!(2);
    std::fs::write(&state, document.to_string()).unwrap();
    let result = ran(entitle(None).args([&format!("--sandbox={}", state.display()), "discover"]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains("format version 2")
            && result.stderr.contains("up to 1")
            && result.stderr.contains(&state.display().to_string()),
        "{}",
        result.stderr
    );
}

#[test]
fn generated_organisations_name_their_ous_so_that_a_plan_can_name_them_by_path() {
    let state = entitle::sandbox::State::generate(entitle::sandbox::seed::GenerateOptions {
        accounts: 20,
        ous: 5,
        depth: 2,
        seed: 3,
    });
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("generated.json");
    state.save(&file).unwrap();
    let first_ou = state
        .ous
        .values()
        .find(|ou| ou.parent_id == state.organization.root_id)
        .map(|ou| ou.name.clone())
        .unwrap();
    assert!(first_ou.starts_with("Unit-"), "{first_ou}");
    let plan = directory.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "version = 1\nname = \"generated\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\n[[phase]]\nname = \"one\"\nous = [\"{first_ou}\"]\n"
        ),
    )
    .unwrap();
    let planned = ran(entitle(None)
        .args([&format!("--sandbox={}", file.display()), "plan"])
        .arg(&plan));
    assert!(
        planned.code == 0 || planned.code == 3,
        "a generated OU is named by its path: {}\n{}",
        planned.stdout,
        planned.stderr
    );
}
