//! `entitle plan` through the real binary against the built-in emulator: the demo rollout, JSON,
//! saved plans, `--detailed-exitcode`, and every kind of bad plan file reported with its location.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use entitle::sandbox::GenerateOptions;
use entitle::sandbox::State;
use support::{Ran, entitle, ran, repository};

/// Runs `entitle --sandbox=STATE plan ARGS...` with a fresh demo state in `directory`.
fn plan(directory: &Path, args: &[&str]) -> Ran {
    let state = format!("--sandbox={}", directory.join("state.json").display());
    ran(entitle(None).arg(state).arg("plan").args(args))
}

#[test]
fn the_demo_rollout_plans_ou_grants_where_whole_ous_are_targeted_and_account_grants_where_exclusions_cut_in()
 {
    let directory = tempfile::tempdir().unwrap();
    let file = repository("plans/claude-sonnet-4-5.toml");
    let file = file.as_str();
    let human = plan(directory.path(), &[file]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    let out = &human.stdout;
    assert!(
        out.starts_with("Rollout claude-sonnet-4-5 of Claude Sonnet 4.5 (prod-mxcfnwvpd6kb4)\n"),
        "{out}"
    );
    assert!(
        out.contains("+ account ml-pilot-a 111111111111 (Workloads/ML)"),
        "{out}"
    );
    // Workloads/Web is targeted whole: one OU grant. Workloads/ML loses its Sandbox to an
    // exclusion: its accounts are granted one by one.
    assert!(
        out.contains("+ OU Workloads/Web (ou-sbx0-wkldweb0, 8 accounts) (blocked)"),
        "{out}"
    );
    assert!(
        out.contains("+ account ml-research 333333333333 (Workloads/ML) (blocked)"),
        "{out}"
    );
    assert!(!out.contains("OU Workloads/ML "), "{out}");
    assert!(
        out.contains("+ organization o-sbx0demo01 (every account) (blocked)"),
        "{out}"
    );
    assert!(
        out.contains("! 100000000405 skipped: SUSPENDED, not granted"),
        "{out}"
    );
    assert!(
        out.ends_with(
            "Plan: 2 to create, 0 to activate, 0 to update, 0 to delete. 9 more blocked by gates.\n"
        ),
        "{out}"
    );

    let pending = plan(
        directory.path(),
        &[
            file,
            "--detailed-exitcode",
            "--phase",
            "pilot",
            "--output",
            "json",
        ],
    );
    assert_eq!(pending.code, 3, "{}", pending.stderr);
    let document: serde_json::Value = serde_json::from_str(&pending.stdout).unwrap();
    assert_eq!(document["format_version"], 1);
    let changes = document["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "--phase pilot plans the pilot only");
    assert!(
        changes
            .iter()
            .all(|change| change["action"] == "create" && change["reason"].as_str().is_some())
    );

    let saved = directory.path().join("saved.json");
    let out_flag = saved.to_str().unwrap();
    let written = plan(directory.path(), &[file, "--out", out_flag]);
    assert_eq!(written.code, 0, "{}", written.stderr);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(saved["format_version"], 1);
    assert_eq!(saved["plan_file"], file);
    assert_eq!(saved["plan_file_sha256"].as_str().unwrap().len(), 64);
    assert!(!saved["observed_fingerprint"].as_str().unwrap().is_empty());
}

#[test]
fn a_plan_for_a_cancelled_subscription_is_refused_with_a_cleanup_hint() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("old.toml");
    std::fs::write(
        &file,
        "version = 1\nname = \"old\"\n[entitlement]\nproduct = \"prod-cx7ovbu5wex7g\"\n[[phase]]\nname = \"all\"\norganization = true\n",
    )
    .unwrap();
    let result = plan(directory.path(), &[file.to_str().unwrap()]);
    assert_eq!(result.code, 1);
    assert!(
        result.stderr.contains("is `DELETED`, not AVAILABLE"),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains("hint: a cancelled or expired agreement leaves its grants behind: `entitle cleanup --license"));
    let unknown = ran(entitle(None)
        .arg(format!(
            "--sandbox={}",
            directory.path().join("state.json").display()
        ))
        .args(["plan", "plans/none.toml"]));
    assert_eq!(unknown.code, 1);
    assert!(
        unknown
            .stderr
            .starts_with("error: could not read the plan file `plans/none.toml`"),
        "{}",
        unknown.stderr
    );
}

const BASE: &str = "version = 1
name = \"demo\"

[entitlement]
product = \"prod-mxcfnwvpd6kb4\"

[[phase]]
name = \"pilot\"
accounts = [\"111111111111\"]
";

/// (kind, plan text, what stderr must start with (the whole first line where it is fixed), where
/// it must point)
fn bad_plans() -> Vec<(&'static str, String, &'static str, &'static str)> {
    vec![
        (
            "syntax",
            BASE.replace("name = \"pilot\"", "name = \"pilot"),
            "error: invalid TOML",
            "bad.toml:8:",
        ),
        (
            "unknown key",
            BASE.replace("accounts =", "organization = true\nacounts ="),
            "error: unknown key `acounts`",
            "bad.toml:10:1",
        ),
        (
            "wrong type",
            BASE.replace("[\"111111111111\"]", "111111111111"),
            "error: wrong type in phase #1",
            "bad.toml:9:12",
        ),
        (
            "no phases",
            BASE.split("[[phase]]").next().unwrap().to_owned(),
            "error: the plan has no phases\n",
            "bad.toml:7:1",
        ),
        (
            "duplicate phase names",
            format!("{BASE}\n[[phase]]\nname = \"pilot\"\nous = [\"Sandbox\"]\n"),
            "error: duplicate phase name `pilot`\n",
            "bad.toml:12:8",
        ),
        (
            "unknown OU path",
            BASE.replace("accounts = [\"111111111111\"]", "ous = [\"Workload/Web\"]"),
            "error: unknown OU path `Workload/Web`\n",
            "bad.toml:9:8",
        ),
        (
            "unknown account",
            BASE.replace("111111111111", "111111111112"),
            "error: account `111111111112` is not in the organisation\n",
            "bad.toml:9:13",
        ),
        (
            "overlapping exclusions",
            BASE.replace(
                "accounts = [\"111111111111\"]",
                "ous = [\"Sandbox\"]\nexclude = { ous = [\"Sandbox\"] }",
            ),
            "error: phase `pilot` both selects and excludes OU `Sandbox`",
            "bad.toml:10:",
        ),
        (
            "unknown operation",
            BASE.replace(
                "product = \"prod-mxcfnwvpd6kb4\"",
                "product = \"prod-mxcfnwvpd6kb4\"\noperations = [\"CheckoutLicence\"]",
            ),
            "error: unknown operation `CheckoutLicence`, did you mean `CheckoutLicense`?\n",
            "bad.toml:6:15",
        ),
        (
            "operation the license refuses",
            BASE.replace(
                "product = \"prod-mxcfnwvpd6kb4\"",
                "product = \"prod-mxcfnwvpd6kb4\"\noperations = [\"CreateGrant\"]",
            ),
            "error: the license does not allow passing on `CreateGrant`\n",
            "bad.toml:6:14",
        ),
    ]
}

#[test]
fn every_kind_of_bad_plan_gets_one_clear_error_with_its_location() {
    let directory = tempfile::tempdir().unwrap();
    for (kind, text, start, location) in bad_plans() {
        let file = directory.path().join("bad.toml");
        std::fs::write(&file, &text).unwrap();
        let result = plan(directory.path(), &[file.to_str().unwrap()]);
        assert_eq!(result.code, 1, "{kind}: {}", result.stderr);
        assert_eq!(result.stdout, "", "{kind}");
        assert!(
            result.stderr.starts_with(start),
            "{kind}: {}",
            result.stderr
        );
        assert_eq!(
            result.stderr.matches("error:").count(),
            1,
            "{kind}: one error:\n{}",
            result.stderr
        );
        assert!(
            result.stderr.contains("  --> "),
            "{kind}: a location:\n{}",
            result.stderr
        );
        assert!(
            result
                .stderr
                .contains(&format!("  --> {}/{location}", directory.path().display())),
            "{kind}: at {location}:\n{}",
            result.stderr
        );
        // The parser's own two (serde's words) carry no hint yet.
        assert_eq!(
            result.stderr.contains("\n  hint: "),
            !["unknown key", "wrong type"].contains(&kind),
            "{kind}: a hint:\n{}",
            result.stderr
        );
        assert!(
            result.stderr.ends_with("1 problem in the plan file\n"),
            "{kind}: {}",
            result.stderr
        );
    }
}

#[test]
fn a_plan_past_two_thousand_grants_is_refused_with_a_suggestion() {
    let directory = tempfile::tempdir().unwrap();
    let state = State::generate(GenerateOptions {
        accounts: 2100,
        ous: 20,
        depth: 2,
        seed: 3,
    });
    state.save(&directory.path().join("state.json")).unwrap();
    let file = directory.path().join("bad.toml");
    std::fs::write(
        &file,
        BASE.replace(
            "accounts = [\"111111111111\"]",
            "organization = true\ngrant_to = \"accounts\"",
        ),
    )
    .unwrap();
    let result = plan(directory.path(), &[file.to_str().unwrap()]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.starts_with("error: the plan needs 2"),
        "{}",
        result.stderr
    );
    assert!(
        result
            .stderr
            .contains("more than the 2000 License Manager allows per license"),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains("hint: "), "{}", result.stderr);
}

#[test]
fn an_agreement_leads_to_its_license_and_an_ended_one_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("by-agreement.toml");
    let by_agreement = |agreement: &str| {
        BASE.replace(
            "product = \"prod-mxcfnwvpd6kb4\"",
            &format!("agreement = \"{agreement}\""),
        )
    };
    std::fs::write(&file, by_agreement("agmt-sbx0sonnet45active000001")).unwrap();
    let active = plan(directory.path(), &[file.to_str().unwrap()]);
    assert_eq!(active.code, 0, "{}", active.stderr);
    assert!(
        active
            .stdout
            .contains("license:l-0a1b2c3d4e5f4a5b8c9d0e1f2a3b4c5d"),
        "{}",
        active.stdout
    );
    assert!(
        active.stdout.contains("+ account ml-pilot-a 111111111111"),
        "{}",
        active.stdout
    );

    std::fs::write(&file, by_agreement("agmt-sbx0sonnet35cancelled01")).unwrap();
    let ended = plan(directory.path(), &[file.to_str().unwrap()]);
    assert_eq!(ended.code, 1);
    assert!(
        ended.stderr.starts_with(
            "error: agreement `agmt-sbx0sonnet35cancelled01` is `CANCELLED`, not ACTIVE\n"
        ),
        "{}",
        ended.stderr
    );
    assert!(
        ended
            .stderr
            .contains("hint: `entitle cleanup --agreement ID`"),
        "{}",
        ended.stderr
    );
}

#[test]
fn a_product_without_a_license_is_shown_where_the_plan_names_it_with_the_near_miss() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("typo.toml");
    let text = BASE.replace("prod-mxcfnwvpd6kb4", "prod-mxcfnwvpd6kc4");
    let line = text
        .lines()
        .position(|line| line.starts_with("product = "))
        .unwrap()
        + 1;
    std::fs::write(&file, &text).unwrap();
    let refused = plan(directory.path(), &[file.to_str().unwrap()]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.starts_with(
            "error: no Marketplace license for product `prod-mxcfnwvpd6kc4` was received by this account\n"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains(&format!("typo.toml:{line}:11\n")),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("hint: did you mean `prod-mxcfnwvpd6kb4`?"),
        "{}",
        refused.stderr
    );
}

#[test]
fn every_example_plan_plans_against_the_sandbox() {
    let directory = tempfile::tempdir().unwrap();
    let mut planned = 0;
    for entry in std::fs::read_dir(repository("plans")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "toml") {
            continue;
        }
        let result = plan(directory.path(), &[path.to_str().unwrap()]);
        assert_eq!(result.code, 0, "{}: {}", path.display(), result.stderr);
        assert!(
            result.stdout.contains("\nPlan: "),
            "{}: {}",
            path.display(),
            result.stdout
        );
        planned += 1;
    }
    assert!(planned >= 3, "the three example plans, found {planned}");
}

#[test]
fn plan_destroy_counts_what_each_delete_takes_away_and_shows_no_gate() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let file = repository("plans/claude-sonnet-4-5.toml");
    let state = format!("--sandbox={}", dir.join("state.json").display());
    let applied = ran(entitle(None).current_dir(dir).args([
        state.as_str(),
        "apply",
        &file,
        "--ignore-gates",
        "--auto-approve",
    ]));
    assert_eq!(applied.code, 0, "{}", applied.stderr);

    let human =
        ran(entitle(None)
            .current_dir(dir)
            .args([state.as_str(), "plan", &file, "--destroy"]));
    assert_eq!(human.code, 0, "{}", human.stderr);
    let out = &human.stdout;
    // Each OU delete names the accounts it takes access from (Workloads/Web has 8), not 0.
    assert!(
        out.contains("- OU Workloads/Web (ou-sbx0-wkldweb0, 8 accounts)\n"),
        "{out}"
    );
    assert!(!out.contains(", 0 accounts)"), "{out}");
    // Tearing down waits for no gate: no gate, nothing blocked.
    assert!(!out.contains("gate "), "{out}");
    assert!(!out.contains("blocked"), "{out}");
    assert!(
        out.contains("Phase pilot: 2 accounts targeted, 2 active\n"),
        "{out}"
    );

    let json = ran(entitle(None).current_dir(dir).args([
        state.as_str(),
        "--output",
        "json",
        "plan",
        &file,
        "--destroy",
    ]));
    assert_eq!(json.code, 0, "{}", json.stderr);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    for phase in document["phases"].as_array().unwrap() {
        assert_eq!(phase["blocked"], serde_json::Value::Null, "{phase}");
    }
    let web = document["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["principal_path"] == "Workloads/Web")
        .unwrap();
    assert_eq!(web["action"], "delete");
    assert_eq!(web["accounts"], 8, "{web}");
}
