//! `entitle verify` and `entitle models` through the binary against the emulator: the demo
//! rollout verified after its pilot, after the organisation-wide phase and after its teardown
//! (`--expect absent`), and after a cancellation before and after cleanup; a broken account
//! flagged; a missing member role failing its account alone; `--sample` on 5,000 accounts
//! staying within its sample (the emulator's call counts); the JSON documents validated against
//! their schemas; the plan's `model` key.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use entitle::sandbox::State;
use entitle::sandbox::seed::{DEMO_ACTIVE_AGREEMENT, GenerateOptions};
use serde_json::Value;
use support::{Ran, SandboxServer, entitle, python_venv, ran, repository};

const PILOT: [&str; 2] = ["111111111111", "222222222222"];
const SONNET_4_5: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";

fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

/// An admin action on the state file.
fn admin(dir: &Path, args: &[&str]) {
    let state = dir.join("state.json").display().to_string();
    let done = ran(entitle(None)
        .current_dir(dir)
        .args(["sandbox"])
        .args(args)
        .args(["--state", &state]));
    assert_eq!(done.code, 0, "{args:?}: {}", done.stderr);
}

/// The demo rollout without bakes, so that one apply can walk it.
fn demo_plan(dir: &Path) -> String {
    let text = std::fs::read_to_string(repository("plans/claude-sonnet-4-5.toml"))
        .unwrap()
        .replace("bake = \"24h\"", "bake = \"0s\"")
        .replace("bake = \"48h\"", "bake = \"0s\"");
    let path = dir.join("rollout.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn json(ran: &Ran) -> Value {
    serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", ran.stdout, ran.stderr))
}

/// Validates a document against `docs/schema/<kind>.schema.json` with Python's jsonschema
/// (draft 2020-12, formats checked).
fn validate(document: &Value, kind: &str) {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("document.json");
    std::fs::write(&file, document.to_string()).unwrap();
    let schema = repository(&format!("docs/schema/{kind}.schema.json"));
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  jsonschema.Draft202012Validator.check_schema(schema)\n\
                  jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(json.load(open(sys.argv[2])))\n";
    let checked = ran(std::process::Command::new(python_venv().join("bin/python"))
        .args(["-c", script, &schema])
        .arg(&file));
    assert_eq!(
        checked.code, 0,
        "{kind} document does not match its schema:\n{}",
        checked.stderr
    );
}

fn accounts(document: &Value) -> &Vec<Value> {
    document["accounts"].as_array().unwrap()
}

fn account<'a>(document: &'a Value, id: &str) -> &'a Value {
    accounts(document)
        .iter()
        .find(|account| account["account"] == id)
        .unwrap_or_else(|| panic!("no account {id} in {document:#}"))
}

fn flag_kinds(account: &Value) -> Vec<String> {
    account["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| flag["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn verify_follows_the_rollout_from_pilot_to_organisation_to_teardown() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = demo_plan(dir);

    // The pilot: its two accounts can use the model, every other targeted account cannot, as
    // the plan intends.
    let pilot = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(pilot.code, 0, "{}", pilot.stderr);
    let verified = run(dir, &["verify", &plan, "--output", "json"]);
    assert_eq!(verified.code, 0, "{}\n{}", verified.stdout, verified.stderr);
    let document = json(&verified);
    validate(&document, "verify");
    assert_eq!(document["kind"], "verify");
    assert_eq!(document["model_id"], SONNET_4_5);
    assert_eq!(document["applied_through"], "pilot");
    assert_eq!(document["regions"], serde_json::json!(["us-east-1"]));
    assert_eq!(document["agrees"], true);
    let all = accounts(&document);
    assert!(all.len() > 10, "{document:#}");
    for account in all {
        let id = account["account"].as_str().unwrap();
        let entitlement = &account["availability"][0]["entitlement"];
        if PILOT.contains(&id) {
            assert_eq!(account["intent"], "entitled", "{account:#}");
            assert_eq!(account["grant_status"], "ACTIVE", "{account:#}");
            assert_eq!(entitlement, "AVAILABLE", "{account:#}");
        } else {
            assert_eq!(account["intent"], "not_entitled", "{account:#}");
            assert_eq!(entitlement, "NOT_AVAILABLE", "{account:#}");
        }
        assert_eq!(account["verdict"], "agrees", "{account:#}");
    }
    assert_eq!(document["totals"]["entitled"], 2);
    assert_eq!(document["totals"]["checked"], all.len());
    assert_eq!(document["totals"]["targeted"], all.len());

    // The same for people: each account's grant beside Bedrock's answer, the totals.
    let human = run(dir, &["verify", &plan]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert!(
        human
            .stdout
            .contains("expecting the phases through `pilot`"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains(
            "us-east-1 entitlement AVAILABLE, agreement AVAILABLE, AUTHORIZED, region AVAILABLE"
        ),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("Every account verified agrees with the plan."),
        "{}",
        human.stdout
    );

    // Saying the workloads wave should be in place too: its accounts are flagged, not the pilot.
    let ahead = run(
        dir,
        &["verify", &plan, "--phase", "workloads", "--output", "json"],
    );
    assert_eq!(ahead.code, 1, "{}", ahead.stderr);
    let ahead = json(&ahead);
    assert_eq!(ahead["applied_through"], "workloads");
    for account in accounts(&ahead) {
        match account["phase"].as_str().unwrap() {
            "pilot" => assert_eq!(account["verdict"], "agrees", "{account:#}"),
            "workloads" => assert_eq!(flag_kinds(account), ["expected_entitled"], "{account:#}"),
            _ => assert_eq!(account["intent"], "not_entitled", "{account:#}"),
        }
    }

    // The whole rollout: every targeted account can use the model.
    for _ in 0..4 {
        let applied = run(dir, &["apply", &plan, "--auto-approve", "--ignore-gates"]);
        assert_eq!(applied.code, 0, "{}", applied.stderr);
        if applied.stdout.contains("No changes.") {
            break;
        }
    }
    let everyone = json(&run(dir, &["verify", &plan, "--output", "json"]));
    validate(&everyone, "verify");
    assert_eq!(everyone["applied_through"], "everyone");
    assert_eq!(everyone["agrees"], true, "{everyone:#}");
    assert_eq!(
        everyone["totals"]["entitled"],
        everyone["totals"]["checked"]
    );
    assert!(
        accounts(&everyone)
            .iter()
            .all(|account| account["intent"] == "entitled" && account["entitled"] == true)
    );
    // Saying it should all be gone is refused: every account disagrees.
    let not_yet = run(
        dir,
        &["verify", &plan, "--expect", "absent", "--output", "json"],
    );
    assert_eq!(not_yet.code, 1, "{}", not_yet.stderr);
    assert!(
        json(&not_yet)["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|account| flag_kinds(account).contains(&"expected_not_entitled".to_owned()))
    );

    // Torn down: no targeted account can use it any more.
    let destroyed = run(dir, &["apply", &plan, "--destroy", "--auto-approve"]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.stderr);
    admin(dir, &["settle-workflows"]);
    let absent = run(
        dir,
        &["verify", &plan, "--expect", "absent", "--output", "json"],
    );
    assert_eq!(absent.code, 0, "{}\n{}", absent.stdout, absent.stderr);
    let absent = json(&absent);
    validate(&absent, "verify");
    assert_eq!(absent["expect"], "absent");
    assert_eq!(absent["totals"]["entitled"], 0);
    assert!(
        accounts(&absent)
            .iter()
            .all(|account| account["intent"] == "not_entitled" && account["verdict"] == "agrees")
    );
}

/// After a cancellation the grants stay ACTIVE until cleanup: `--expect absent` flags each (its
/// license ended) and passes once `cleanup` has deleted them.
#[test]
fn after_a_cancellation_verify_asks_for_cleanup_then_proves_absence() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = demo_plan(dir);
    let pilot = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(pilot.code, 0, "{}", pilot.stderr);
    admin(dir, &["cancel-agreement", DEMO_ACTIVE_AGREEMENT]);

    let before = run(
        dir,
        &["verify", &plan, "--expect", "absent", "--output", "json"],
    );
    assert_eq!(before.code, 1, "{}", before.stderr);
    let before = json(&before);
    validate(&before, "verify");
    assert_eq!(
        before["totals"]["entitled"], 0,
        "nobody can use it any more"
    );
    for id in PILOT {
        let pilot = account(&before, id);
        assert_eq!(pilot["grant_status"], "ACTIVE");
        assert_eq!(flag_kinds(pilot), ["grant_of_ended_license"]);
        assert_eq!(pilot["flags"][0]["license_status"], "DELETED");
    }
    assert_eq!(before["totals"]["disagree"], 2);

    let cleaned = run(dir, &["cleanup", "--auto-approve"]);
    assert_eq!(cleaned.code, 0, "{}", cleaned.stderr);
    admin(dir, &["settle-workflows"]);
    let after = run(
        dir,
        &["verify", &plan, "--expect", "absent", "--output", "json"],
    );
    assert_eq!(after.code, 0, "{}\n{}", after.stdout, after.stderr);
    let after = json(&after);
    assert!(
        accounts(&after)
            .iter()
            .all(|account| account["grant_status"].is_null() && account["verdict"] == "agrees")
    );
}

#[test]
fn a_broken_account_is_flagged_and_fails_the_verification() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = demo_plan(dir);
    let pilot = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(pilot.code, 0, "{}", pilot.stderr);
    admin(dir, &["break-availability", "--account", PILOT[0]]);

    let verified = run(
        dir,
        &["verify", &plan, "--phase", "pilot", "--output", "json"],
    );
    assert_eq!(verified.code, 1, "{}\n{}", verified.stdout, verified.stderr);
    assert!(
        verified
            .stderr
            .contains("1 account disagrees with the plan and 0 could not be verified"),
        "{}",
        verified.stderr
    );
    assert!(
        verified
            .stderr
            .contains("hint: each account's flags and failures above name the fix"),
        "{}",
        verified.stderr
    );
    let document = json(&verified);
    validate(&document, "verify");
    let broken = account(&document, PILOT[0]);
    assert_eq!(broken["verdict"], "disagrees");
    assert_eq!(broken["grant_status"], "ACTIVE");
    assert_eq!(
        flag_kinds(broken),
        ["grant_active_not_entitled", "expected_entitled"]
    );
    assert_eq!(account(&document, PILOT[1])["verdict"], "agrees");
    assert_eq!(document["totals"]["disagree"], 1);
    assert_eq!(document["totals"]["flags"]["grant_active_not_entitled"], 1);

    // People see the flag and what to do about it.
    let human = run(dir, &["verify", &plan, "--phase", "pilot"]);
    assert_eq!(human.code, 1);
    assert!(
        human.stdout.contains(
            "the grant is ACTIVE but Bedrock says the account is NOT entitled in `us-east-1`"
        ),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("fix: Bedrock may lag behind"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_missing_member_role_fails_that_account_alone() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = demo_plan(dir);
    let pilot = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(pilot.code, 0, "{}", pilot.stderr);
    admin(
        dir,
        &[
            "remove-role",
            PILOT[1],
            "--role",
            "OrganizationAccountAccessRole",
        ],
    );

    let verified = run(dir, &["verify", &plan, "--output", "json"]);
    assert_eq!(verified.code, 1, "{}", verified.stderr);
    let document = json(&verified);
    validate(&document, "verify");
    let missing = account(&document, PILOT[1]);
    assert_eq!(missing["verdict"], "failed");
    assert_eq!(missing["failure"]["step"], "AssumeRole");
    let hint = missing["failure"]["hint"].as_str().unwrap();
    assert!(
        hint.contains(
            "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole` in account `222222222222`"
        ) || hint.contains("create that role in account `222222222222`"),
        "{hint}"
    );
    assert!(missing["availability"].as_array().unwrap().is_empty());
    // Every other account was verified, and agrees.
    let others: Vec<&Value> = accounts(&document)
        .iter()
        .filter(|account| account["account"] != PILOT[1])
        .collect();
    assert!(!others.is_empty());
    assert!(others.iter().all(|account| account["verdict"] == "agrees"));
    assert_eq!(document["totals"]["failed"], 1);
    assert_eq!(document["totals"]["agree"], others.len());

    // Another role name (here one no account has) fails every account the same way.
    let other_role = run(
        dir,
        &[
            "verify",
            &plan,
            "--member-role",
            "Auditor",
            "--output",
            "json",
        ],
    );
    assert_eq!(other_role.code, 1);
    let other_role = json(&other_role);
    assert_eq!(other_role["member_role"], "Auditor");
    assert!(
        accounts(&other_role)
            .iter()
            .all(|account| account["failure"]["step"] == "AssumeRole")
    );
}

/// The emulator's call count of one operation (`Service.Operation`).
fn calls(endpoint: &str, operation: &str) -> u64 {
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
    stats["operations"][operation]["calls"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn a_sample_of_five_thousand_accounts_stays_within_its_sample() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state = dir.join("state.json");
    State::generate(GenerateOptions {
        accounts: 5_000,
        ous: 60,
        depth: 3,
        seed: 14,
    })
    .save(&state)
    .unwrap();
    let plan = dir.join("large.toml");
    std::fs::write(
        &plan,
        "version = 1\nname = \"large\"\n\n[entitlement]\nmodel = \"anthropic.claude-sonnet-4-5-20250929-v1:0\"\n\n\
         [[phase]]\nname = \"pilot\"\naccounts = [\"200000000000\", \"200000000001\", \"200000000002\"]\n\n\
         [[phase]]\nname = \"everyone\"\norganization = true\n",
    )
    .unwrap();
    let plan = plan.display().to_string();
    let server = SandboxServer::start(&["--state", &state.display().to_string()]);
    let endpoint = server.endpoint.clone();
    let step = |args: &[&str]| ran(entitle(Some(&endpoint)).current_dir(dir).args(args));
    let applied = step(&["apply", &plan, "--auto-approve", "--ignore-gates"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);

    let assumed = calls(&endpoint, "Sts.AssumeRole");
    let asked = calls(&endpoint, "Bedrock.GetFoundationModelAvailability");
    let verified = step(&[
        "verify",
        &plan,
        "--sample",
        "40",
        "--regions",
        "eu-west-1,us-east-1",
        "--concurrency",
        "16",
        "--output",
        "json",
    ]);
    assert_eq!(verified.code, 0, "{}\n{}", verified.stdout, verified.stderr);
    let document = json(&verified);
    validate(&document, "verify");
    // 40 accounts, one role each, two regions each: no call beyond the sample.
    assert_eq!(calls(&endpoint, "Sts.AssumeRole") - assumed, 40);
    assert_eq!(
        calls(&endpoint, "Bedrock.GetFoundationModelAvailability") - asked,
        80
    );
    server.stop();
    assert_eq!(document["sampled"], true);
    assert_eq!(document["totals"]["checked"], 40);
    assert!(document["totals"]["targeted"].as_u64().unwrap() > 4_900);
    let sample = accounts(&document);
    let phases: BTreeSet<&str> = sample
        .iter()
        .map(|account| account["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, BTreeSet::from(["pilot", "everyone"]));
    // Spread over the OUs: the 40 accounts sit in 39 or more different OUs (the pilot's share
    // one OU at most with one of the rest), never all in a few.
    let ous: BTreeSet<&str> = sample
        .iter()
        .map(|account| account["ou_path"].as_str().unwrap())
        .collect();
    assert!(ous.len() >= 38, "{ous:?}");
    assert!(sample.iter().all(|account| account["entitled"] == true
        && account["availability"].as_array().unwrap().len() == 2));
}

/// Bedrock throttling every third call and STS failing every fourth with a 5xx: every account is
/// still verified, with the same answers (the SDK retries, the limiters slow down).
#[test]
fn throttling_and_server_errors_change_no_answer() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state = dir.join("state.json");
    let faults = dir.join("faults.toml");
    std::fs::write(
        &faults,
        "seed = 14
\
         [operations.GetFoundationModelAvailability]\nthrottle_every = 3\n\
         [operations.AssumeRole]\nerror_5xx_every = 4\n",
    )
    .unwrap();
    let server = SandboxServer::start(&[
        "--state",
        &state.display().to_string(),
        "--faults",
        &faults.display().to_string(),
    ]);
    let endpoint = server.endpoint.clone();
    let plan = demo_plan(dir);
    let step = |args: &[&str]| ran(entitle(Some(&endpoint)).current_dir(dir).args(args));
    let pilot = step(&["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(pilot.code, 0, "{}", pilot.stderr);
    let verified = step(&["verify", &plan, "--concurrency", "16", "--output", "json"]);
    assert_eq!(verified.code, 0, "{}\n{}", verified.stdout, verified.stderr);
    let document = json(&verified);
    assert_eq!(document["totals"]["failed"], 0);
    assert_eq!(document["totals"]["entitled"], 2);
    assert_eq!(document["regions"], serde_json::json!(["eu-west-1"]));
    let stats = ran(entitle(None).args([
        "sandbox",
        "stats",
        "--endpoint",
        &endpoint,
        "--output",
        "json",
    ]));
    server.stop();
    let stats: Value = serde_json::from_str(&stats.stdout).unwrap();
    let asked = &stats["operations"]["Bedrock.GetFoundationModelAvailability"];
    assert!(asked["throttled"].as_u64().unwrap() >= 5, "{stats}");
    assert!(
        asked["calls"].as_u64().unwrap() > document["totals"]["checked"].as_u64().unwrap(),
        "{stats}"
    );
    assert!(
        stats["operations"]["Sts.AssumeRole"]["server_errors"]
            .as_u64()
            .unwrap()
            >= 5,
        "{stats}"
    );
}

#[test]
fn models_lists_the_catalog_with_its_sources() {
    let listed = ran(entitle(None).args(["models"]));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(
        listed.stdout.contains(&format!(
            "prod-mxcfnwvpd6kb4   Claude Sonnet 4.5      {SONNET_4_5}"
        )),
        "{}",
        listed.stdout
    );
    assert!(
        listed.stdout.contains(
            "https://docs.aws.amazon.com/bedrock/latest/userguide/model-access-product-ids.html"
        ),
        "{}",
        listed.stdout
    );
    // Sonnet 4's model id was not checked against its card: said so.
    let sonnet_4 = listed
        .stdout
        .lines()
        .find(|line| line.starts_with("prod-4pmewlybdftbs"))
        .unwrap();
    assert!(sonnet_4.ends_with("product id only"), "{sonnet_4}");

    let document = ran(entitle(None).args(["models", "--output", "json"]));
    assert_eq!(document.code, 0);
    let document = json(&document);
    validate(&document, "models");
    let products = document["products"].as_array().unwrap();
    let sonnet = products
        .iter()
        .find(|entry| entry["product"] == "prod-mxcfnwvpd6kb4")
        .unwrap();
    assert_eq!(sonnet["model_ids"], serde_json::json!([SONNET_4_5]));
    assert_eq!(sonnet["model_ids_verified"], true);
}

#[test]
fn a_plan_may_name_the_model_and_a_misspelt_one_is_refused_at_its_place() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let by_model = dir.join("by-model.toml");
    std::fs::write(
        &by_model,
        format!(
            "version = 1\nname = \"by-model\"\n\n[entitlement]\nmodel = \"{SONNET_4_5}\"\n\n\
             [[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\"]\n"
        ),
    )
    .unwrap();
    let by_model = by_model.display().to_string();
    let planned = run(dir, &["plan", &by_model]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    assert!(
        planned.stdout.contains("111111111111"),
        "{}",
        planned.stdout
    );
    let applied = run(dir, &["apply", &by_model, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let verified = json(&run(dir, &["verify", &by_model, "--output", "json"]));
    assert_eq!(verified["model_id"], SONNET_4_5);
    assert_eq!(verified["product"], "prod-mxcfnwvpd6kb4");
    assert_eq!(account(&verified, "111111111111")["entitled"], true);

    let misspelt = dir.join("misspelt.toml");
    std::fs::write(
        &misspelt,
        "version = 1\nname = \"misspelt\"\n\n[entitlement]\nmodel = \"anthropic.claude-sonet-4-5-20250929-v1:0\"\n\n\
         [[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\"]\n",
    )
    .unwrap();
    let refused = run(dir, &["verify", &misspelt.display().to_string()]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains(&format!(
            "error: unknown model `anthropic.claude-sonet-4-5-20250929-v1:0`, did you mean `{SONNET_4_5}`?"
        )),
        "{}",
        refused.stderr
    );
    // Bad arguments are refused before anything is asked.
    let phase = run(dir, &["verify", &by_model, "--phase", "pilots"]);
    assert_eq!(phase.code, 1);
    assert!(
        phase
            .stderr
            .contains("the plan has no phase `pilots`; its phases are: pilot"),
        "{}",
        phase.stderr
    );
    let region = run(dir, &["verify", &by_model, "--regions", "us-east-1,Europe"]);
    assert_eq!(region.code, 2);
    assert!(
        region.stderr.contains("`Europe` is not an AWS region"),
        "{}",
        region.stderr
    );
    assert!(
        refused.stderr.contains("misspelt.toml:5:9"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("`entitle models` lists"),
        "{}",
        refused.stderr
    );
}
