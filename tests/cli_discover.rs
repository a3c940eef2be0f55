//! The command-line contract of `entitle discover` and the global flags: exit codes, stdout and
//! stderr of the real binary, against moto's Organizations server through `AWS_ENDPOINT_URL`.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use aws_sdk_organizations::types::OrganizationFeatureSet;
use entitle::sandbox::{GenerateOptions, State};
use support::{MANAGEMENT, Moto, build_org, entitle, organizations_client, ran};

#[tokio::test(flavor = "multi_thread")]
async fn discover_prints_the_tree_and_a_json_document_matching_the_organisation() {
    let moto = Moto::start(MANAGEMENT);
    let built = build_org(&organizations_client(&moto.endpoint), 150, 1, true).await;

    let human = ran(entitle(Some(&moto.endpoint)).arg("discover"));
    assert_eq!(human.code, 0, "stderr: {}", human.stderr);
    assert_eq!(
        human.stderr, "",
        "a healthy discovery says nothing on stderr"
    );
    assert!(
        human.stdout.starts_with("Organization o-"),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains(&format!("management account {MANAGEMENT}"))
    );
    for path in built.units.keys() {
        let name = path.rsplit('/').next().unwrap();
        assert!(
            human.stdout.contains(&format!("── {name}  ou-")),
            "OU {path} missing:\n{}",
            human.stdout
        );
    }
    for (id, (name, _, state, _)) in &built.accounts {
        assert!(
            human.stdout.contains(&format!("{id}  {name}  {state}")),
            "account {id} missing"
        );
    }
    assert!(human.stdout.contains("bedrock=approved env=prod"));
    assert!(
        human
            .stdout
            .contains("9 OUs, 151 accounts (150 active, 1 suspended)"),
        "{}",
        human.stdout
    );
    assert!(
        !human.stdout.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );

    let json = ran(entitle(Some(&moto.endpoint)).args(["discover", "--output", "json"]));
    assert_eq!(json.code, 0, "stderr: {}", json.stderr);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["format_version"], 1);
    assert_eq!(document["organization"]["management_account"], MANAGEMENT);
    assert_eq!(document["organization"]["feature_set"], "ALL");
    let units: BTreeMap<String, String> = document["organizational_units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|unit| {
            (
                unit["path"].as_str().unwrap().to_owned(),
                unit["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(units, built.units);
    let accounts = document["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), built.accounts.len());
    for account in accounts {
        let id = account["id"].as_str().unwrap();
        let (name, path, state, tags) = &built.accounts[id];
        assert_eq!(account["name"], name.as_str());
        assert_eq!(account["ou_path"], path.as_str());
        assert_eq!(account["state"], *state);
        assert_eq!(account["management"], id == MANAGEMENT);
        let found_tags: BTreeMap<String, String> =
            serde_json::from_value(account["tags"].clone()).unwrap();
        assert_eq!(&found_tags, tags);
    }
    assert_eq!(document["totals"]["accounts_by_state"]["SUSPENDED"], 1);
    assert_eq!(document["api_calls"]["ListTagsForResource"], 151);

    let coloured =
        ran(entitle(Some(&moto.endpoint)).args(["discover", "--no-tags", "--color", "always"]));
    assert_eq!(coloured.code, 0);
    assert!(coloured.stdout.contains("\x1b[32mACTIVE\x1b[0m"));
    assert!(
        !coloured.stdout.contains("bedrock=approved"),
        "--no-tags reads no tags"
    );

    let verbose = ran(entitle(Some(&moto.endpoint)).args(["discover", "--no-tags", "-v"]));
    assert!(
        verbose
            .stderr
            .contains("accounts placed by listing each parent"),
        "{}",
        verbose.stderr
    );
    assert!(
        verbose
            .stdout
            .contains("API calls: DescribeOrganization 1, ListAccounts 1"),
        "{}",
        verbose.stdout
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    // A generated organisation whose tree is far larger than a pipe's buffer (64 KiB on Linux)
    // plus what the reader below buffers, so `entitle` is still writing when the pipe closes.
    let directory = tempfile::tempdir().unwrap();
    let state = directory.path().join("state.json");
    State::generate(GenerateOptions {
        accounts: 3000,
        ous: 40,
        depth: 3,
        seed: 11,
    })
    .save(&state)
    .unwrap();
    let sandbox = format!("--sandbox={}", state.display());
    let whole = ran(entitle(None).args([sandbox.as_str(), "discover", "--no-tags"]));
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    assert!(
        whole.stdout.len() > 2 * 65_536,
        "the tree must outgrow the pipe: {} bytes",
        whole.stdout.len()
    );

    let mut child = entitle(None)
        .args([sandbox.as_str(), "discover", "--no-tags"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    // The reader is gone: the rest of the tree meets a closed pipe (EPIPE).
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    assert!(first.starts_with("Organization"), "{first}");
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[tokio::test(flavor = "multi_thread")]
async fn outside_an_organisation_the_error_says_so_with_a_hint() {
    let moto = Moto::start(MANAGEMENT);
    let result = ran(entitle(Some(&moto.endpoint)).arg("discover"));
    assert_eq!(result.code, 1);
    assert_eq!(result.stdout, "");
    assert!(
        result.stderr.starts_with(
            "error: could not discover the organisation\n  caused by: the account in use is not a member of an AWS Organization\n"
        ),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains("AWSOrganizationsNotInUseException"));
    assert!(
        result
            .stderr
            .contains("hint: run entitle with credentials of an organisation's management account")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consolidated_billing_organisation_is_discovered_with_a_warning() {
    let moto = Moto::start(MANAGEMENT);
    organizations_client(&moto.endpoint)
        .create_organization()
        .feature_set(OrganizationFeatureSet::ConsolidatedBilling)
        .send()
        .await
        .unwrap();
    let result = ran(entitle(Some(&moto.endpoint)).arg("discover"));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result
            .stderr
            .starts_with("warning: the organisation has consolidated billing only"),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains("hint: enable all features"));
    assert!(result.stdout.contains("(consolidated billing only)"));
    let quiet = ran(entitle(Some(&moto.endpoint)).args(["discover", "-q"]));
    assert_eq!(quiet.stderr, "", "-q hides warnings");
}

#[test]
fn without_credentials_the_error_explains_how_to_get_some() {
    let result = ran(entitle(None).arg("discover"));
    assert_eq!(result.code, 1);
    assert!(
        result
            .stderr
            .starts_with("error: could not discover the organisation"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("hint: set up AWS credentials"),
        "{}",
        result.stderr
    );
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let missing = ran(entitle(None).arg("plan"));
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("<PLAN.toml>"));
    let unknown = ran(entitle(None).arg("dicsover"));
    assert_eq!(unknown.code, 2);
    assert!(
        unknown
            .stderr
            .contains("similar subcommand exists: 'discover'"),
        "{}",
        unknown.stderr
    );
    let bad_output = ran(entitle(None).args(["--output", "yaml", "discover"]));
    assert_eq!(bad_output.code, 2);
    let help = ran(entitle(None).arg("--help"));
    assert_eq!(help.code, 0);
    for command in [
        "discover",
        "plan",
        "apply",
        "status",
        "activate",
        "cleanup",
        "doctor",
        "sandbox",
        "completions",
    ] {
        assert!(
            help.stdout.contains(&format!("  {command}")),
            "help lists {command}"
        );
    }
    for flag in [
        "--profile",
        "--sandbox[=<STATE_FILE>]",
        "--output",
        "--no-progress",
        "--color",
        "--verbose",
        "--quiet",
    ] {
        assert!(help.stdout.contains(flag), "help lists {flag}");
    }
}

#[test]
fn completions_are_generated_for_each_shell() {
    let shells: BTreeSet<&str> = ["bash", "zsh", "fish", "elvish", "powershell"].into();
    for shell in shells {
        let result = ran(entitle(None).args(["completions", shell]));
        assert_eq!(result.code, 0, "{shell}");
        assert!(
            result.stdout.contains("discover"),
            "{shell} completion names the commands"
        );
    }
}
