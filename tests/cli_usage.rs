//! `entitle usage` through the real binary on the sandbox, with usage recorded by `entitle
//! sandbox record-usage` (priced by the emulator at the private rate on the days an account held
//! an ACTIVE grant, at the list rate otherwise) and read back through Cost Explorer's
//! GetCostAndUsage: the pilot's rate change at its activation, a later phase paying the list
//! price, usage after cleanup, paging over a generated organisation (the requests stated are the
//! requests served), a window without data, the JSON against its schema, the CSV, bad input.
//!
//! Days pass in these tests by moving the recorded past back: the emulator's grant and license
//! status histories and the journals' timestamps are shifted by whole days (`shift_back`), so an
//! activation or a deletion made a moment ago happened days ago for both.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use entitle::model::usage::Date;
use entitle::sandbox::admin::{self, AdminAction};
use entitle::sandbox::seed::{DEMO_ACTIVE_AGREEMENT, GenerateOptions, SONNET_4_5_PRODUCT};
use entitle::sandbox::{Sandbox, State};
use entitle::ui::usage::CSV_HEADER;
use serde_json::{Value, json};
use support::{Ran, SandboxServer, entitle, ran, repository};

const PILOT_A: &str = "111111111111";
const PILOT_B: &str = "222222222222";
/// An account of the demo plan's second phase (`workloads`).
const LATER: &str = "333333333333";
const LIST: f64 = 0.000_003;
const PRIVATE: f64 = 0.000_002_4;
const SERVICE: &str = "Claude Sonnet 4.5 (Amazon Bedrock Edition)";
const OUTPUT_TOKENS: &str = "USE1-MP:USE1_OutputTokenCount-Units";

fn today() -> Date {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    Date::from_unix(i64::try_from(now.as_secs()).unwrap())
}

fn day(offset: i64) -> String {
    today().add_days(offset).to_string()
}

/// The demo organisation with usage visible on the day it happens.
fn demo(dir: &Path) -> PathBuf {
    let state = support::demo_with_settings(&[("cost_explorer_lag_days", json!(0))]);
    let file = dir.join("state.json");
    state.save(&file).unwrap();
    file
}

fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

fn json_of(ran: &Ran) -> Value {
    serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", ran.stdout, ran.stderr))
}

/// `entitle sandbox record-usage` on the state file; returns the rate it was priced at.
fn record(dir: &Path, account: &str, units: u32, date: Option<&str>) -> String {
    let state = dir.join("state.json").display().to_string();
    let units = units.to_string();
    let mut args = vec![
        "sandbox",
        "record-usage",
        "--account",
        account,
        "--product",
        SONNET_4_5_PRODUCT,
        "--units",
        &units,
        "--state",
        &state,
        "--output",
        "json",
    ];
    if let Some(date) = date {
        args.extend(["--date", date]);
    }
    let recorded = ran(entitle(None).args(&args));
    assert_eq!(recorded.code, 0, "{}", recorded.stderr);
    json_of(&recorded)["rate"].as_str().unwrap().to_owned()
}

/// Moves the recorded past `days` days back: the emulator's grant and license status histories
/// and every journal line's time.
fn shift_back(dir: &Path, days: i64) {
    let file = dir.join("state.json");
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let shift = days * 86_400_000;
    for history in ["grant_history", "license_history"] {
        for changes in state["usage"][history]
            .as_object_mut()
            .unwrap()
            .values_mut()
        {
            for change in changes.as_array_mut().unwrap() {
                let at = change["at_ms"].as_i64().unwrap();
                change["at_ms"] = json!(at - shift);
            }
        }
    }
    std::fs::write(&file, serde_json::to_string(&state).unwrap()).unwrap();
    let mut journals = vec![dir.join(".entitle/journal")];
    let mut shifted = 0;
    while let Some(path) = journals.pop() {
        for entry in std::fs::read_dir(&path).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                journals.push(path);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "jsonl")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                let lines: Vec<String> = text
                    .lines()
                    .filter(|line| !line.trim().is_empty())
                    .map(|line| {
                        let mut entry: Value = serde_json::from_str(line).unwrap();
                        let at = humantime::parse_rfc3339(entry["at"].as_str().unwrap()).unwrap();
                        let at = at - Duration::from_secs(u64::try_from(days).unwrap() * 86_400);
                        entry["at"] = json!(humantime::format_rfc3339_millis(at).to_string());
                        entry.to_string()
                    })
                    .collect();
                shifted += lines.len();
                std::fs::write(&path, lines.join("\n") + "\n").unwrap();
            }
        }
    }
    assert!(shifted > 0, "no journal line to shift");
}

fn account<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|account| account["account"] == id)
        .unwrap_or_else(|| panic!("{id} not listed: {report:#}"))
}

fn flags(account: &Value) -> Vec<&str> {
    account["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| flag["kind"].as_str().unwrap())
        .collect()
}

fn close(value: &Value, expected: f64) -> bool {
    value
        .as_f64()
        .is_some_and(|value| (value - expected).abs() <= expected * 1e-9)
}

#[test]
fn the_pilots_rate_changes_at_their_activation() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo(dir);
    let plan = repository("plans/claude-sonnet-4-5.toml");
    // Yesterday, before the pilot: the list price.
    for account in [PILOT_A, PILOT_B] {
        assert_eq!(record(dir, account, 1_000_000, Some(&day(-1))), "list");
    }
    let applied = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    // Today, after the activation: the private rate.
    for account in [PILOT_A, PILOT_B] {
        assert_eq!(record(dir, account, 2_000_000, None), "private");
    }

    let report = run(
        dir,
        &["--output", "json", "usage", &plan, "--phase", "pilot"],
    );
    assert_eq!(report.code, 0, "{}\n{}", report.stdout, report.stderr);
    let report = json_of(&report);
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["kind"], "usage");
    assert_eq!(report["service"], SERVICE);
    assert_eq!(report["service_source"], "catalog");
    assert_eq!(report["until"], day(0));
    assert_eq!(report["since"], day(-30));
    for id in [PILOT_A, PILOT_B] {
        let pilot = account(&report, id);
        assert_eq!(pilot["role"], "targeted");
        assert_eq!(pilot["phase"], "pilot");
        assert_eq!(pilot["grant"]["status"], "ACTIVE");
        assert_eq!(pilot["grant"]["active_since"], day(0));
        let input = &pilot["usage_types"][0];
        assert_eq!(input["usage_type"], "USE1-MP:USE1_InputTokenCount-Units");
        assert_eq!(input["before"]["quantity"], 1_000_000.0);
        assert!(close(&input["before"]["rate"], LIST), "{input:#}");
        assert_eq!(input["after"]["quantity"], 2_000_000.0);
        assert!(close(&input["after"]["rate"], PRIVATE), "{input:#}");
        assert!(close(&input["expected_rate"], PRIVATE), "{input:#}");
        assert!(close(
            &pilot["cost"],
            1_000_000.0 * LIST + 2_000_000.0 * PRIVATE
        ));
        assert_eq!(flags(pilot), Vec::<&str>::new());
    }
    let rates = &report["rates"][0];
    assert_eq!(rates["private"]["source"], "active_grants");
    assert_eq!(rates["private"]["accounts"], 2);
    assert!(close(&rates["list"]["rate"], LIST));
    assert_eq!(report["flagged"], 0);
    assert_eq!(report["requests"], 1);
    assert!(close(&report["request_cost"], 0.01));
    // `--phase pilot` lists the pilot only (and the subscriber, without usage here, is not).
    assert_eq!(report["accounts"].as_array().unwrap().len(), 2);
    assert_eq!(report["totals"][0]["group"], "pilot");
    assert_eq!(report["totals"][0]["with_usage"], 2);

    let human = run(dir, &["usage", &plan, "--phase", "pilot"]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    for expected in [
        "before activation         1000000 units, USD 3.00, 0.000003/unit",
        "after activation          2000000 units, USD 4.80, 0.0000024/unit",
        "private 0.0000024 (seen in 2 accounts with an ACTIVE grant)",
        "Cost Explorer: 1 request (one grouped query, every page), USD 0.01 at USD 0.01 per request",
        "Nothing flagged.",
    ] {
        assert!(
            human.stdout.contains(expected),
            "{expected}\n{}",
            human.stdout
        );
    }
}

#[test]
fn a_later_phase_using_the_model_before_its_grant_is_flagged_as_paying_list_price() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo(dir);
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let applied = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(record(dir, PILOT_A, 1000, None), "private");
    assert_eq!(record(dir, LATER, 5000, None), "list");

    let report = run(dir, &["--output", "json", "usage", &plan]);
    assert_eq!(report.code, 1, "flagged: exit 1\n{}", report.stderr);
    assert!(
        report
            .stderr
            .contains("1 account flagged by the usage report"),
        "{}",
        report.stderr
    );
    assert!(report.stderr.contains("docs/usage.md"), "{}", report.stderr);
    let report = json_of(&report);
    let later = account(&report, LATER);
    assert_eq!(later["phase"], "workloads");
    assert_eq!(later["grant"]["status"], Value::Null);
    assert_eq!(flags(later), ["paying_list_price_while_targeted"]);
    assert!(
        later["flags"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no grant of the rollout yet"),
        "{later:#}"
    );
    assert!(close(&later["usage_types"][0]["before"]["rate"], LIST));
    assert!(close(&later["usage_types"][0]["expected_rate"], PRIVATE));
    assert_eq!(flags(account(&report, PILOT_A)), Vec::<&str>::new());
    assert_eq!(report["flagged"], 1);
    // Totals per phase: the flag counts in `workloads`; accounts without usage are listed.
    let workloads = report["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|total| total["group"] == "workloads")
        .unwrap();
    assert_eq!(workloads["flagged"], 1);
    assert_eq!(workloads["with_usage"], 1);
    assert!(workloads["accounts"].as_u64().unwrap() > 1);
    assert_eq!(account(&report, PILOT_B)["usage_types"], json!([]));

    let human = run(dir, &["usage", &plan]);
    assert_eq!(human.code, 1);
    assert!(
        human
            .stdout
            .contains("FLAG paying list price while targeted: USD 0.01 of usage in the window while it holds no grant of the rollout yet"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("with no usage in the window"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("1 account flagged"),
        "{}",
        human.stdout
    );
}

#[test]
fn usage_after_cleanup_in_a_formerly_granted_account_is_flagged() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo(dir);
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let applied = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    // The pilot was activated three days ago and used the model two days ago.
    shift_back(dir, 3);
    assert_eq!(record(dir, PILOT_A, 1_000_000, Some(&day(-2))), "private");
    // Then the subscription was cancelled and cleaned up: yesterday.
    let state = dir.join("state.json").display().to_string();
    let cancelled = ran(entitle(None).args([
        "sandbox",
        "cancel-agreement",
        DEMO_ACTIVE_AGREEMENT,
        "--state",
        &state,
    ]));
    assert_eq!(cancelled.code, 0, "{}", cancelled.stderr);
    let cleaned = run(dir, &["cleanup", "--auto-approve"]);
    assert_eq!(cleaned.code, 0, "{}", cleaned.stderr);
    shift_back(dir, 1);
    // Today the former pilot still uses the model: at the list price.
    assert_eq!(record(dir, PILOT_A, 500_000, None), "list");

    let since = day(-6);
    let report = run(
        dir,
        &["--output", "json", "usage", &plan, "--since", &since],
    );
    assert_eq!(report.code, 1, "{}\n{}", report.stdout, report.stderr);
    let report = json_of(&report);
    assert_eq!(report["license_status"], "DELETED");
    let pilot = account(&report, PILOT_A);
    assert_eq!(pilot["grant"]["active_since"], day(-4));
    assert_eq!(pilot["grant"]["ended"], day(-1));
    assert_eq!(pilot["grant"]["ended_by"], "deleted");
    assert_eq!(pilot["grant"]["active"], false);
    let input = &pilot["usage_types"][0];
    assert!(close(&input["after"]["rate"], PRIVATE), "{input:#}");
    assert_eq!(input["after_end"]["quantity"], 500_000.0);
    assert!(close(&input["after_end"]["rate"], LIST), "{input:#}");
    assert_eq!(flags(pilot), ["still_billed_after_cleanup"]);
    let reason = pilot["flags"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("no longer at the private rate"), "{reason}");
    assert!(reason.contains(&format!("since {}", day(-1))), "{reason}");
    // The other pilot, granted and cleaned up the same way, used nothing since: not flagged.
    assert_eq!(flags(account(&report, PILOT_B)), Vec::<&str>::new());
    assert_eq!(report["flagged"], 1);
}

/// A generated organisation of 60 accounts, each using two usage types over two days, read in
/// pages of 7 groups: every group is in the report, and the requests stated are the requests the
/// emulator served (and what they cost).
#[test]
fn every_page_is_read_and_the_requests_stated_are_those_served() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let mut state = State::generate(GenerateOptions {
        accounts: 60,
        ous: 6,
        depth: 2,
        seed: 11,
    });
    state.settings.cost_explorer_lag_days = 0;
    state.settings.cost_explorer_page_size = 7;
    let accounts: Vec<String> = state
        .active_member_ids()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(accounts.len() >= 50, "{}", accounts.len());
    let mut groups: u64 = 0;
    let mut units = 0.0;
    for (index, account) in accounts.iter().enumerate() {
        for (usage_type, offset) in [(None, -1), (Some(OUTPUT_TOKENS), -1), (None, -2)] {
            let action = AdminAction::RecordUsage {
                account_id: account.clone(),
                product_id: SONNET_4_5_PRODUCT.to_owned(),
                units: (index + 1) as f64,
                date: Some(day(offset)),
                usage_type: usage_type.map(str::to_owned),
            };
            admin::apply(&mut state, &action).unwrap();
            groups += 1;
            units += (index + 1) as f64;
        }
    }
    let file = dir.join("state.json");
    state.save(&file).unwrap();
    let plan = dir.join("everyone.toml");
    std::fs::write(
        &plan,
        "version = 1\nname = \"everyone\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\n\
         [[phase]]\nname = \"all\"\norganization = true\n",
    )
    .unwrap();
    let server = SandboxServer::start(&["--state", &file.display().to_string()]);
    let served = || -> u64 {
        let stats = ran(entitle(None).args([
            "sandbox",
            "stats",
            "--endpoint",
            &server.endpoint,
            "--output",
            "json",
        ]));
        json_of(&stats)["operations"]["CostExplorer.GetCostAndUsage"]["calls"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = served();
    let report = ran(entitle(Some(&server.endpoint))
        .current_dir(dir)
        .args(["--output", "json", "usage"])
        .arg(&plan)
        .args(["--since", &day(-3)]));
    let calls = served() - before;
    server.stop();
    // No grant anywhere: every account of the organisation pays the list price while targeted.
    assert_eq!(report.code, 1, "{}", report.stderr);
    let report = json_of(&report);
    let pages = groups.div_ceil(7);
    assert_eq!(report["requests"], pages, "one grouped query, every page");
    assert_eq!(calls, pages, "the requests stated are those served");
    assert!(close(&report["request_cost"], pages as f64 * 0.01));
    let listed = report["accounts"].as_array().unwrap();
    let with_usage: Vec<&Value> = listed
        .iter()
        .filter(|account| !account["usage_types"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(with_usage.len(), accounts.len());
    let seen: f64 = with_usage
        .iter()
        .flat_map(|account| account["usage_types"].as_array().unwrap())
        .map(|usage| usage["total"]["quantity"].as_f64().unwrap())
        .sum();
    assert_eq!(seen, units);
    assert!(
        with_usage
            .iter()
            .all(|account| account["usage_types"].as_array().unwrap().len() == 2)
    );
    assert_eq!(report["flagged"], accounts.len());
    assert!(close(&report["totals"][0]["cost"], units * LIST));
}

#[test]
fn a_window_without_data_says_so_and_recent_usage_may_lag() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    // The emulator's default lag: today's usage is not in Cost Explorer yet.
    State::demo().save(&dir.join("state.json")).unwrap();
    record(dir, PILOT_A, 1000, None);
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let human = run(dir, &["usage", &plan, "--since", &day(-3)]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    for expected in [
        format!(
            "Cost Explorer reports no usage of `{SERVICE}` through AWS Marketplace from {} to {}: nothing to judge.",
            day(-3),
            day(0)
        ),
        format!(
            "Cost Explorer's data lags about a day: usage since {} may be missing or incomplete",
            day(-1)
        ),
    ] {
        assert!(
            human.stdout.contains(&expected),
            "{expected}\n{}",
            human.stdout
        );
    }
    let report = json_of(&run(
        dir,
        &["--output", "json", "usage", &plan, "--since", &day(-3)],
    ));
    assert_eq!(report["coverage"]["first_usage"], Value::Null);
    assert_eq!(report["coverage"]["periods_with_usage"], 0);
    assert_eq!(report["coverage"]["periods"], 4);
    assert_eq!(report["coverage"]["may_lag_from"], day(-1));
    assert_eq!(report["flagged"], 0);
    // A window that ended long ago does not lag.
    let old = json_of(&run(
        dir,
        &[
            "--output",
            "json",
            "usage",
            &plan,
            "--since",
            &day(-60),
            "--until",
            &day(-40),
        ],
    ));
    assert_eq!(old["coverage"]["may_lag_from"], Value::Null);
}

/// The JSON document validates against docs/schema/usage.schema.json (jsonschema, draft 2020-12,
/// in the test venv); the CSV has the documented header and one row per part of the window with
/// usage; `--csv -` writes it to stdout.
#[test]
fn the_json_matches_its_schema_and_the_csv_its_documented_columns() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo(dir);
    let plan = repository("plans/claude-sonnet-4-5.toml");
    assert_eq!(record(dir, PILOT_A, 1_000_000, Some(&day(-1))), "list");
    let applied = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(record(dir, PILOT_A, 2_000_000, None), "private");
    assert_eq!(record(dir, LATER, 10, None), "list");
    assert_eq!(record(dir, "100000000001", 10, None), "private");

    let csv = dir.join("usage.csv");
    let report = run(
        dir,
        &[
            "--output",
            "json",
            "usage",
            &plan,
            "--csv",
            &csv.display().to_string(),
        ],
    );
    assert_eq!(report.code, 1, "{}", report.stderr);
    let document = dir.join("usage.json");
    std::fs::write(&document, &report.stdout).unwrap();
    let venv = support::python_venv();
    let validated = ran(std::process::Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft202012Validator.check_schema(schema)\n\
             jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(json.load(open(sys.argv[2])))\n\
             print('valid')",
        ])
        .arg(repository("docs/schema/usage.schema.json"))
        .arg(&document));
    assert_eq!(
        validated.code, 0,
        "{}{}",
        validated.stdout, validated.stderr
    );
    assert_eq!(validated.stdout.trim(), "valid");
    let json = json_of(&report);
    assert_eq!(account(&json, "100000000001")["role"], "subscriber");

    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), CSV_HEADER.join(","));
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    assert!(
        rows.iter().all(|row| row.len() == CSV_HEADER.len()),
        "{text}"
    );
    let column = |name: &str| CSV_HEADER.iter().position(|known| *known == name).unwrap();
    let of = |account: &str, period: &str| {
        rows.iter()
            .find(|row| row[column("account")] == account && row[column("period")] == period)
            .unwrap_or_else(|| panic!("no {account} {period} row:\n{text}"))
    };
    let before = of(PILOT_A, "before_activation");
    assert_eq!(before[column("quantity")], "1000000");
    assert_eq!(before[column("cost")], "3");
    assert_eq!(before[column("effective_rate")], "0.000003");
    assert_eq!(before[column("expected_rate")], "0.0000024");
    assert_eq!(before[column("role")], "targeted");
    assert_eq!(before[column("phase")], "pilot");
    assert_eq!(before[column("active_since")], day(0));
    let after = of(PILOT_A, "after_activation");
    assert_eq!(after[column("cost")], "4.8");
    assert_eq!(after[column("currency")], "USD");
    let later = of(LATER, "window");
    assert_eq!(later[column("flags")], "paying_list_price_while_targeted");
    assert_eq!(of(PILOT_B, "none")[column("quantity")], "0");
    assert_eq!(of("100000000001", "window")[column("role")], "subscriber");

    // `--csv -`: the CSV on stdout instead of the report.
    let stdout = run(dir, &["usage", &plan, "--csv", "-"]);
    assert_eq!(stdout.code, 1);
    assert_eq!(stdout.stdout, text);

    // docs/usage.md documents exactly these columns.
    let docs = std::fs::read_to_string(repository("docs/usage.md")).unwrap();
    assert!(
        docs.contains(&CSV_HEADER.join(",")),
        "docs/usage.md lacks the CSV header"
    );
    for name in CSV_HEADER {
        assert!(
            docs.contains(&format!("| `{name}` |")),
            "docs/usage.md lacks `{name}`"
        );
    }
}

#[test]
fn bad_input_is_refused_before_any_call() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo(dir);
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let tomorrow = day(1);
    for (args, message) in [
        (
            vec!["--since", "2026-13-01"],
            "`--since 2026-13-01` is not a date",
        ),
        (vec!["--until", tomorrow.as_str()], "is after today"),
        (
            vec!["--since", "2026-11-10", "--until", "2026-11-01"],
            "`--since 2026-11-10` is after `--until 2026-11-01`",
        ),
        (vec!["--phase", "nope"], "the plan has no phase `nope`"),
        (
            vec!["--csv", "no/such/dir/usage.csv"],
            "the directory `no/such/dir` does not exist",
        ),
    ] {
        let refused = run(dir, &[&["usage", plan.as_str()][..], &args].concat());
        assert_eq!(refused.code, 1, "{args:?}: {}", refused.stderr);
        assert!(
            refused.stderr.contains(message),
            "{args:?}: {}",
            refused.stderr
        );
    }
    let unknown = run(dir, &["usage", &plan, "--granularity", "hourly"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
}

/// The library reads the same usage through the real SDK client as the binary shows (the
/// in-process sandbox, no CLI): one request for a small window.
#[tokio::test]
async fn the_cost_explorer_reader_returns_model_rows() {
    let mut state = support::demo_with_settings(&[("cost_explorer_lag_days", json!(0))]);
    let action = AdminAction::RecordUsage {
        account_id: LATER.to_owned(),
        product_id: SONNET_4_5_PRODUCT.to_owned(),
        units: 7.0,
        date: Some(day(-1)),
        usage_type: None,
    };
    admin::apply(&mut state, &action).unwrap();
    let sandbox: Sandbox = support::start(state).await;
    let settings = entitle::aws::AwsSettings {
        fixed_endpoint: Some(sandbox.endpoint()),
        ..entitle::aws::AwsSettings::default()
    };
    let clients = entitle::aws::AwsClients::load(&settings).await;
    let query = entitle::model::usage::CostQuery {
        start: today().add_days(-2),
        end: today().add_days(1),
        granularity: entitle::model::usage::Granularity::Daily,
        service: SERVICE.to_owned(),
    };
    let answer = entitle::aws::cost_explorer::marketplace_usage(&clients, &query)
        .await
        .unwrap();
    assert_eq!(answer.requests, 1);
    assert_eq!(answer.periods.len(), 3);
    assert_eq!(answer.rows.len(), 1);
    let row = &answer.rows[0];
    assert_eq!(row.account.as_str(), LATER);
    assert_eq!(row.start, today().add_days(-1));
    assert_eq!(row.quantity, 7.0);
    assert!((row.cost - 7.0 * LIST).abs() < 1e-12);
    assert_eq!(row.currency, "USD");
    // Another service's name finds nothing, in as many periods.
    let other = entitle::model::usage::CostQuery {
        service: "Claude Sonnet 4.5".to_owned(),
        ..query
    };
    let nothing = entitle::aws::cost_explorer::marketplace_usage(&clients, &other)
        .await
        .unwrap();
    assert!(nothing.rows.is_empty());
    assert_eq!(nothing.periods.len(), 3);
}
