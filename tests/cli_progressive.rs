//! A rollout a pipeline can carry: repeated `apply --auto-approve` without `--phase` walks the
//! demo rollout from pilot to organisation as its gates allow; `--ignore-gate PHASE` lets one
//! gate through and is journalled; `plan` judges gates from the journal like `status`; a saved
//! plan of a gated phase applies once its gate holds, and a saved plan edited by hand is refused.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use entitle::sandbox::State;
use entitle::sandbox::seed::DEMO_ACTIVE_LICENSE;
use serde_json::Value;
use support::{Ran, entitle, ran, repository};

fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

/// The demo rollout with its bakes replaced: `bake` for the pilot, none after.
fn demo_plan(dir: &Path, pilot_bake: &str) -> String {
    let text = std::fs::read_to_string(repository("plans/claude-sonnet-4-5.toml"))
        .unwrap()
        .replace(
            "gate = { min_active = \"100%\", bake = \"24h\" }",
            &format!("gate = {{ min_active = \"100%\", bake = \"{pilot_bake}\" }}"),
        )
        .replace(
            "gate = { min_active = \"90%\", bake = \"48h\" }",
            "gate = { min_active = \"90%\" }",
        );
    assert!(text.contains(pilot_bake), "the demo plan changed: {text}");
    let path = dir.join("rollout.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The rollout's live grants by principal kind: (organisation, OUs, accounts).
fn live(dir: &Path) -> (usize, usize, usize) {
    let state = State::load(&dir.join("state.json")).unwrap();
    let mut counts = (0, 0, 0);
    for grant in state.grants.values() {
        if grant.parent_grant.is_none()
            && grant.license_arn == DEMO_ACTIVE_LICENSE
            && grant.tags.get("entitle:rollout").map(String::as_str) == Some("claude-sonnet-4-5")
            && !matches!(grant.status.as_str(), "DELETED" | "PENDING_DELETE")
        {
            if grant.principal.contains(":organization/") {
                counts.0 += 1;
            } else if grant.principal.contains(":ou/") {
                counts.1 += 1;
            } else {
                counts.2 += 1;
            }
        }
    }
    counts
}

/// Moves every line of the rollout's journal files under `dir` back by `by`, as if it had been
/// written that long ago: how a test lets a bake pass without waiting for it.
fn age_journal(dir: &Path, by: std::time::Duration) {
    let mut files = Vec::new();
    let mut pending = vec![dir.join(".entitle/journal")];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .file_name()
                .is_some_and(|name| name == "claude-sonnet-4-5.jsonl")
            {
                files.push(path);
            }
        }
    }
    assert!(!files.is_empty(), "no journal under {}", dir.display());
    for file in files {
        let aged: Vec<String> = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .map(|line| {
                let mut entry: Value = serde_json::from_str(line).unwrap();
                let at = humantime::parse_rfc3339(entry["at"].as_str().unwrap()).unwrap();
                entry["at"] = Value::String(humantime::format_rfc3339_millis(at - by).to_string());
                entry.to_string()
            })
            .collect();
        std::fs::write(&file, aged.join("\n") + "\n").unwrap();
    }
}

fn journal(dir: &Path) -> Vec<Value> {
    support::journal_text(dir, "claude-sonnet-4-5")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn repeated_applies_walk_the_rollout_from_pilot_to_organisation() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = demo_plan(dir, "0s");

    // Run 1: only the pilot (its gate cannot hold before its grants exist); a note says why the
    // rest waits; exit 0.
    let first = run(dir, &["apply", &plan, "--auto-approve"]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert!(
        first
            .stderr
            .contains("phase `workloads` and the phases after it wait for a gate"),
        "{}",
        first.stderr
    );
    assert_eq!(live(dir), (0, 0, 2));

    // Run 2: the pilot is active, its gate holds: the workloads wave.
    let second = run(dir, &["apply", &plan, "--auto-approve"]);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    let (org, ous, accounts) = live(dir);
    assert_eq!(org, 0);
    assert!(ous >= 2 && accounts > 2, "{:?}", live(dir));

    // Run 3: the organisation grant, which retires the narrower ones in the same run.
    let third = run(dir, &["apply", &plan, "--auto-approve"]);
    assert_eq!(third.code, 0, "{}\n{}", third.stdout, third.stderr);
    assert_eq!(live(dir), (1, 0, 0));

    // Run 4: nothing left; no gate ignored on the way.
    let fourth = run(dir, &["apply", &plan, "--auto-approve"]);
    assert_eq!(fourth.code, 0, "{}", fourth.stderr);
    assert!(fourth.stdout.contains("No changes."), "{}", fourth.stdout);
    assert!(
        !journal(dir)
            .iter()
            .any(|entry| entry["event"] == "gate_ignored")
    );
}

#[test]
fn one_named_gate_is_let_through_and_journalled() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = demo_plan(dir, "24h");
    let pilot = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(pilot.code, 0, "{}", pilot.stderr);

    // A phase the plan does not have is refused, with the nearest name.
    let typo = run(
        dir,
        &["apply", &plan, "--ignore-gate", "pilto", "--auto-approve"],
    );
    assert_eq!(typo.code, 1, "{}", typo.stderr);
    assert!(
        typo.stderr.contains("did you mean `pilot`?"),
        "{}",
        typo.stderr
    );

    // The pilot's gate (baking for a day) let through: the workloads wave goes; the organisation
    // still waits for the workloads' own gate.
    let through = run(
        dir,
        &["apply", &plan, "--ignore-gate", "pilot", "--auto-approve"],
    );
    assert_eq!(through.code, 0, "{}\n{}", through.stdout, through.stderr);
    assert!(
        through
            .stderr
            .contains("applying phase `workloads` although its gate does not hold"),
        "{}",
        through.stderr
    );
    let (org, ous, _) = live(dir);
    assert_eq!((org, ous), (0, 2), "{:?}", live(dir));
    let ignored: Vec<Value> = journal(dir)
        .into_iter()
        .filter(|entry| entry["event"] == "gate_ignored")
        .collect();
    assert_eq!(ignored.len(), 1, "{ignored:?}");
    assert_eq!(ignored[0]["phase"], "workloads");
    assert!(
        ignored[0]["reason"]
            .as_str()
            .unwrap()
            .contains("phase `pilot` has baked"),
        "{ignored:?}"
    );
}

#[test]
fn plan_judges_gates_like_status_and_a_saved_plan_applies_once_its_gate_holds() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = demo_plan(dir, "24h");
    let pilot = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(pilot.code, 0, "{}", pilot.stderr);

    // plan's verdict comes from the journal, as status's does: baking, not "no record".
    let planned = run(
        dir,
        &["--output", "json", "plan", &plan, "--phase", "workloads"],
    );
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let planned: Value = serde_json::from_str(&planned.stdout).unwrap();
    let blocked = planned["phases"][1]["blocked"].as_str().unwrap().to_owned();
    assert!(blocked.contains("phase `pilot` has baked"), "{blocked}");
    let shown = run(dir, &["--output", "json", "status", &plan]);
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    let verdict = shown["phases"][0]["gate"]["verdict"].as_str().unwrap();
    assert!(verdict.starts_with("baking"), "{verdict}");

    // Saved while the gate holds the wave back ...
    let saved = dir.join("saved.json");
    let made = run(
        dir,
        &[
            "plan",
            &plan,
            "--phase",
            "workloads",
            "--out",
            saved.to_str().unwrap(),
        ],
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    // ... refused while it still holds ...
    let early = run(dir, &["apply", saved.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(early.code, 1, "{}", early.stderr);
    assert_eq!(live(dir), (0, 0, 2));
    // ... and applied without --ignore-gates once the bake is over: the journal's sightings are
    // moved two days into the past (the day's bake counts from them), instead of waiting.
    age_journal(dir, std::time::Duration::from_secs(2 * 86_400));
    let applied = run(dir, &["apply", saved.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    let (_, ous, accounts) = live(dir);
    assert!(ous == 2 && accounts > 2, "{:?}", live(dir));
    assert!(
        !journal(dir)
            .iter()
            .any(|entry| entry["event"] == "gate_ignored")
    );
}

#[test]
fn a_saved_plan_edited_by_hand_is_refused_and_nothing_changes() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = demo_plan(dir, "0s");
    let saved = dir.join("saved.json");
    let made = run(
        dir,
        &[
            "plan",
            &plan,
            "--phase",
            "pilot",
            "--out",
            saved.to_str().unwrap(),
        ],
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let before = State::load(&dir.join("state.json")).unwrap().grants;

    // A principal changed by hand (the account of the second pilot grant).
    let text = std::fs::read_to_string(&saved).unwrap();
    let edited = text.replacen("222222222222", "333333333333", 3);
    assert_ne!(text, edited);
    std::fs::write(&saved, edited).unwrap();
    let refused = run(dir, &["apply", saved.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("the saved plan's changes are not the ones the plan file and AWS give now"),
        "{}",
        refused.stderr
    );
    assert_eq!(State::load(&dir.join("state.json")).unwrap().grants, before);
}

#[test]
fn two_rollouts_granting_one_principal_are_named_together() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = demo_plan(dir, "0s");
    let pilot = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(pilot.code, 0, "{}", pilot.stderr);
    let other = dir.join("other.toml");
    std::fs::write(
        &other,
        "version = 1\nname = \"other-team\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\n\
         [[phase]]\nname = \"mine\"\naccounts = [\"111111111111\"]\n",
    )
    .unwrap();
    let planned = run(dir, &["plan", other.to_str().unwrap()]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    assert!(
        planned
            .stderr
            .contains("rollouts `other-team` and `claude-sonnet-4-5` both grant license")
            && planned.stderr.contains("arn:aws:iam::111111111111:root"),
        "{}",
        planned.stderr
    );
}

/// `plan|apply|status DIR`: every plan of the directory, one report, each rollout with its own
/// journal; a broken plan fails alone and the run says how many failed.
#[test]
fn a_directory_of_plans_is_planned_applied_and_reported_together() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plans = dir.join("plans");
    std::fs::create_dir(&plans).unwrap();
    let write = |name: &str, accounts: &str| {
        std::fs::write(
            plans.join(format!("{name}.toml")),
            format!(
                "version = 1\nname = \"{name}\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\n\
                 [[phase]]\nname = \"only\"\naccounts = [{accounts}]\n"
            ),
        )
        .unwrap();
    };
    write("team-a", "\"111111111111\", \"222222222222\"");
    write("team-b", "\"333333333333\"");
    let plans_arg = plans.to_str().unwrap();

    let planned = run(dir, &["--output", "json", "plan", plans_arg]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let planned: Value = serde_json::from_str(&planned.stdout).unwrap();
    let rollouts = planned["rollouts"].as_array().unwrap();
    assert_eq!(rollouts.len(), 2, "{planned:#}");
    assert_eq!(rollouts[0]["documents"][0]["summary"]["create"], 2);
    assert_eq!(rollouts[1]["documents"][0]["summary"]["create"], 1);

    let applied = run(dir, &["apply", plans_arg, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    assert!(
        applied.stdout.contains("team-a.toml") && applied.stdout.contains("team-b.toml"),
        "{}",
        applied.stdout
    );
    let state = State::load(&dir.join("state.json")).unwrap();
    for (rollout, expected) in [("team-a", 2), ("team-b", 1)] {
        let active = state
            .grants
            .values()
            .filter(|grant| {
                grant.tags.get("entitle:rollout").map(String::as_str) == Some(rollout)
                    && grant.status == "ACTIVE"
            })
            .count();
        assert_eq!(active, expected, "{rollout}");
        assert!(
            support::journal_exists(dir, rollout),
            "{rollout} has its own journal"
        );
    }

    // A broken plan fails alone: the others are still reported, exit 1 says how many failed.
    std::fs::write(plans.join("broken.toml"), "version = 1\nname = \n").unwrap();
    let shown = run(dir, &["--output", "json", "status", plans_arg]);
    assert_eq!(shown.code, 1, "{}", shown.stderr);
    assert!(shown.stderr.contains("1 of 3 rollouts"), "{}", shown.stderr);
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    let rollouts = shown["rollouts"].as_array().unwrap();
    assert_eq!(rollouts.len(), 3);
    assert!(rollouts[0]["error"].is_string(), "{shown:#}");
    assert_eq!(rollouts[1]["documents"][0]["totals"]["active"], 2);
    assert_eq!(rollouts[2]["documents"][0]["totals"]["active"], 1);
}

/// A plan may name its journal (`[journal] url`); under `--sandbox`, an `s3://` one needs an S3
/// endpoint (the emulator has no S3), and every command that reads the journal says so.
#[test]
fn a_plans_s3_journal_under_the_sandbox_needs_an_s3_endpoint() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = dir.join("team.toml");
    std::fs::write(
        &plan,
        "version = 1\nname = \"team\"\n\n[journal]\nurl = \"s3://team-journal/entitle\"\n\n\
         [entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\n\
         [[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\"]\n",
    )
    .unwrap();
    let plan = plan.to_str().unwrap();
    for args in [
        vec!["plan", plan],
        vec!["apply", plan, "--auto-approve"],
        vec!["activate", plan, "--auto-approve"],
    ] {
        let refused = run(dir, &args);
        assert_eq!(refused.code, 1, "{args:?}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("AWS_ENDPOINT_URL_S3"),
            "{args:?}: {}",
            refused.stderr
        );
    }
    // A misspelt key of `[journal]` is a plan-file error with its line.
    std::fs::write(
        dir.join("typo.toml"),
        "version = 1\nname = \"team\"\n\n[journal]\nulr = \"s3://team-journal/entitle\"\n\n\
         [entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\n\
         [[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\"]\n",
    )
    .unwrap();
    let typo = run(dir, &["plan", dir.join("typo.toml").to_str().unwrap()]);
    assert_eq!(typo.code, 1, "{}", typo.stderr);
    assert!(
        typo.stderr.contains("ulr") && typo.stderr.contains(":5:"),
        "{}",
        typo.stderr
    );
}
