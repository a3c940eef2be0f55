//! A journal that cannot be written stops the run: no call goes out that the journal has not
//! recorded, and the run says so. Made by the file size limit (`ulimit -f`, with SIGXFSZ ignored
//! so that writes fail with EFBIG instead of killing the process), as a full disk would.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use support::{SandboxServer, ran};

/// Every account of the demo organisation, one grant each: far more journal lines than fit.
const PLAN: &str = r#"version = 1
name = "full"

[entitlement]
product = "prod-mxcfnwvpd6kb4"
activation = "grantor"

[[phase]]
name = "all"
organization = true
grant_to = "accounts"
"#;

#[test]
fn a_journal_that_cannot_be_written_stops_every_further_call() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let server = SandboxServer::start(&[]);
    let plan = dir.join("full.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let journal = dir.join("journal.jsonl");

    // 8 blocks of 512 bytes: room for the run's first lines only.
    let script = format!(
        "trap '' XFSZ; ulimit -f 8; exec '{}' apply --auto-approve --concurrency 1 --journal '{}' '{}'",
        env!("CARGO_BIN_EXE_entitle"),
        journal.display(),
        plan.display()
    );
    let command = support::entitle(Some(&server.endpoint));
    let mut shell = Command::new("sh");
    shell.arg("-c").arg(&script).current_dir(dir);
    // The environment `support::entitle` sets up (endpoint, dummy keys, empty AWS config).
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => {
                shell.env(key, value);
            }
            None => {
                shell.env_remove(key);
            }
        }
    }
    let done = ran(&mut shell);
    assert_ne!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
    assert!(
        done.stderr.contains("could not write the journal")
            || done.stdout.contains("could not be written"),
        "{}\n{}",
        done.stdout,
        done.stderr
    );

    // Every write call the emulator received was journalled before it was sent.
    let text = std::fs::read_to_string(&journal).unwrap();
    let journalled = text
        .lines()
        .filter(|line| {
            line.contains("\"event\":\"call_started\"")
                && (line.contains("\"operation\":\"CreateGrant\"")
                    || line.contains("\"operation\":\"CreateGrantVersion\""))
        })
        .count();
    let stats = ran(support::entitle(None).args([
        "sandbox",
        "stats",
        "--endpoint",
        &server.endpoint,
        "--output",
        "json",
    ]));
    let stats: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    let sent: u64 = ["CreateGrant", "CreateGrantVersion"]
        .iter()
        .map(|operation| {
            stats["operations"][format!("LicenseManager.{operation}")]["calls"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum();
    assert!(
        sent as usize <= journalled,
        "{sent} write calls reached AWS, {journalled} were journalled"
    );
    // And the run stopped early: far fewer than the 76 calls a full run makes.
    assert!(sent < 20, "{sent} calls: the run went on");
    server.stop();
}
