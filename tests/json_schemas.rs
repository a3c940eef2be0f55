//! The JSON contract: every kind of document `src/` writes has its schema in docs/schema/, every
//! schema there is a valid draft 2020-12 schema named after its kind and listed in
//! docs/schema/README.md and docs/json.md, and the documents of one rollout's life on the sandbox
//! (discover, plan and the saved plan, apply whatever happened, force-unlock, guardrails, a
//! directory of plans, cleanup) match their schemas (`support::ran` checks each stdout; the
//! saved plan file is checked here). A schema that stops catching a change of shape fails too.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use entitle::sandbox::seed::DEMO_ACTIVE_AGREEMENT;
use serde_json::{Value, json};
use support::schema::{assert_valid, check_stdout, problems, schema_dir, schema_of};
use support::{Ran, entitle, ran, repository};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// The kinds `src/` writes: every `kind: "..."` of a document struct, and the saved plan's.
fn emitted_kinds() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut kinds = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices("kind: \"") {
            let rest = &text[at + "kind: \"".len()..];
            let kind: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                .collect();
            if !kind.is_empty() && rest[kind.len()..].starts_with('"') {
                kinds.insert(kind);
            }
        }
    }
    let saved =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/planner/saved.rs"))
            .unwrap();
    assert!(saved.contains("\"saved-plan\""), "the saved plan's kind");
    kinds.insert("saved-plan".to_owned());
    kinds
}

/// The kinds with a schema file.
fn schema_kinds() -> BTreeSet<String> {
    std::fs::read_dir(schema_dir())
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".schema.json").map(str::to_owned)
        })
        .collect()
}

#[test]
fn every_kind_written_has_a_schema_and_every_schema_a_kind() {
    let emitted = emitted_kinds();
    let schemas = schema_kinds();
    // The kinds of this piece of work at least: a regex that finds nothing must not pass.
    for kind in [
        "plan",
        "saved-plan",
        "apply",
        "cleanup",
        "discover",
        "force-unlock",
        "guardrails",
        "rollouts",
    ] {
        assert!(
            emitted.contains(kind),
            "`{kind}` not found in src/: {emitted:?}"
        );
    }
    let missing: Vec<&String> = emitted.difference(&schemas).collect();
    assert!(
        missing.is_empty(),
        "kinds written by src/ without docs/schema/<kind>.schema.json: {missing:?}"
    );
    let orphans: Vec<&String> = schemas.difference(&emitted).collect();
    assert!(
        orphans.is_empty(),
        "schemas of kinds src/ never writes: {orphans:?}"
    );
}

#[test]
fn every_schema_is_valid_draft_2020_12_named_after_its_kind_and_listed() {
    let readme = std::fs::read_to_string(schema_dir().join("README.md")).unwrap();
    let json_md = std::fs::read_to_string(repository("docs/json.md")).unwrap();
    let kinds = schema_kinds();
    assert!(kinds.len() >= 8, "{kinds:?}");
    for kind in kinds {
        let schema = schema_of(&kind);
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{kind}"
        );
        if let Err(error) = jsonschema::meta::validate(&schema) {
            panic!("docs/schema/{kind}.schema.json is not a valid JSON Schema: {error}");
        }
        // It compiles, and it pins the two fields every document carries.
        let _ = problems(&schema, &json!({}));
        assert_eq!(schema["properties"]["kind"]["const"], kind.as_str());
        assert_eq!(schema["properties"]["format_version"]["const"], 1, "{kind}");
        let required = schema["required"].as_array().unwrap();
        assert!(required.contains(&json!("kind")), "{kind}");
        assert!(required.contains(&json!("format_version")), "{kind}");
        let file = format!("{kind}.schema.json");
        assert!(readme.contains(&file), "docs/schema/README.md lists {file}");
        assert!(
            json_md.contains(&format!("`{kind}`")),
            "docs/json.md names `{kind}`"
        );
    }
    for policy in ["iam-policy", "guardrails"] {
        assert!(
            readme.contains(policy),
            "README says `{policy}` prints a policy"
        );
    }
}

#[test]
fn a_change_of_shape_fails_validation() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let out = run(dir, &["--output", "json", "discover"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let document: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_valid(&document);
    let schema = schema_of("discover");
    let mut renamed = document.clone();
    let accounts = renamed.as_object_mut().unwrap().remove("accounts").unwrap();
    renamed["account_list"] = accounts;
    assert!(!problems(&schema, &renamed).is_empty());
    let mut retyped = document.clone();
    retyped["totals"]["accounts"] = json!("40");
    assert!(!problems(&schema, &retyped).is_empty());
    let mut versioned = document;
    versioned["format_version"] = json!(2);
    assert!(!problems(&schema, &versioned).is_empty());
    // A timestamp that is not RFC 3339 is refused where the schema says `date-time`.
    let stamped = json!({"type": "string", "format": "date-time"});
    assert!(problems(&stamped, &json!("2026-11-23T22:47:47.123Z")).is_empty());
    assert!(!problems(&stamped, &json!("23/11/2026 22:47")).is_empty());
}

#[test]
#[should_panic(expected = "at `/holder/since`: `2026-11-23T22:47:47.123Z`")]
fn a_time_with_milliseconds_in_a_document_fails() {
    // Valid for the schema (a string), but not the one spelling of a time.
    assert_valid(&json!({
        "format_version": 1,
        "kind": "force-unlock",
        "organization": "o-a1b2c3d4e5",
        "rollout": "r",
        "lock": "/tmp/r.lock",
        "outcome": "removed",
        "holder": {"user": "alice", "host": "build-7", "pid": 1, "caller": null,
                   "command": "apply", "since": "2026-11-23T22:47:47.123Z", "run": "x"}
    }));
}

#[test]
#[should_panic(expected = "has no schema")]
fn a_kind_without_a_schema_fails() {
    assert_valid(&json!({"format_version": 1, "kind": "no-such-kind"}));
}

#[test]
#[should_panic(expected = "does not match docs/schema/apply.schema.json")]
fn stdout_carrying_a_kind_is_checked_even_after_another_document() {
    // Text for people and a bare policy are left alone ...
    check_stdout("Plan: 1 to create, 0 to activate, 0 to update, 0 to delete.\n");
    check_stdout("{\"Version\": \"2012-10-17\", \"Statement\": []}\n");
    // ... a document of a kind is checked, the second of two as well as the first.
    let plan = std::fs::read_to_string(repository(
        "tests/snapshots/plan_snapshots__first_plan_json.snap",
    ))
    .unwrap();
    let plan = &plan[plan.find("\n{").unwrap()..];
    check_stdout(&format!(
        "{plan}\n{{\"format_version\": 1, \"kind\": \"apply\"}}\n"
    ));
}

fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

fn json_of(ran: &Ran) -> Value {
    serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", ran.stdout, ran.stderr))
}

#[test]
fn a_rollouts_documents_match_their_schemas_whatever_happened() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let saved = dir.join("saved.json");

    let planned = run(
        dir,
        &[
            "--output",
            "json",
            "plan",
            &plan,
            "--out",
            &saved.display().to_string(),
        ],
    );
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    assert_eq!(json_of(&planned)["kind"], "plan");
    let saved_plan: Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(saved_plan["kind"], "saved-plan");
    assert_valid(&saved_plan);

    // A phase held back by its gate: the apply report, status `held`, nothing ran.
    let held = run(
        dir,
        &[
            "--output",
            "json",
            "apply",
            &plan,
            "--phase",
            "workloads",
            "--auto-approve",
        ],
    );
    assert_ne!(held.code, 0, "{}", held.stdout);
    let held = json_of(&held);
    assert_eq!(held["kind"], "apply");
    assert_eq!(held["status"], "held");
    assert_eq!(held["held"]["phase"], "workloads");
    assert_eq!(held["changes"], json!([]));

    // Changes carried out: the same kind, status `applied`, each change with its principal
    // spelt as in the plan.
    let applied = run(
        dir,
        &[
            "--output",
            "json",
            "apply",
            &plan,
            "--phase",
            "pilot",
            "--auto-approve",
        ],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let applied = json_of(&applied);
    assert_eq!(applied["status"], "applied");
    assert_eq!(applied["totals"]["done"], 2, "{applied:#}");
    let first = &applied["changes"][0];
    assert_eq!(first["principal"]["kind"], "account");
    assert_eq!(first["principal_path"], "Workloads/ML");

    // Nothing to do: still the apply report.
    let again = run(
        dir,
        &[
            "--output",
            "json",
            "apply",
            &plan,
            "--phase",
            "pilot",
            "--auto-approve",
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    let again = json_of(&again);
    assert_eq!(again["status"], "no_changes");
    assert_eq!(again["changes"], json!([]));
    assert_eq!(again["totals"]["done"], 0);

    let unlocked = run(dir, &["--output", "json", "force-unlock", &plan]);
    assert_eq!(unlocked.code, 0, "{}", unlocked.stderr);
    assert_eq!(json_of(&unlocked)["outcome"], "not_locked");

    let guardrails = run(dir, &["--output", "json", "guardrails", &plan]);
    assert_eq!(guardrails.code, 0, "{}", guardrails.stderr);
    assert_eq!(json_of(&guardrails)["kind"], "guardrails");
    // For people it prints the bare policy: valid for AWS, no `kind`.
    let policy = run(dir, &["guardrails", &plan]);
    let policy = json_of(&policy);
    assert_eq!(policy["Version"], "2012-10-17");
    assert!(policy.get("kind").is_none());

    let plans = repository("plans");
    let all = run(dir, &["--output", "json", "plan", &plans]);
    let all = json_of(&all);
    assert_eq!(all["kind"], "rollouts");
    assert!(all["rollouts"].as_array().unwrap().len() >= 3);

    // The subscription ends: cleanup's document, with one spelling of its counts.
    let cancelled = ran(entitle(None).current_dir(dir).args([
        "sandbox",
        "cancel-agreement",
        DEMO_ACTIVE_AGREEMENT,
        "--state",
        &dir.join("state.json").display().to_string(),
    ]));
    assert_eq!(cancelled.code, 0, "{}", cancelled.stderr);
    let cleaned = run(dir, &["--output", "json", "cleanup", "--auto-approve"]);
    assert_eq!(cleaned.code, 0, "{}", cleaned.stderr);
    let cleaned = json_of(&cleaned);
    assert_eq!(cleaned["kind"], "cleanup");
    assert_eq!(cleaned["summary"]["delete"], 2, "{cleaned:#}");
    assert_eq!(cleaned["result"]["totals"]["done"], 2);
    assert_eq!(cleaned["result"]["clean"], true);
    let nothing = run(dir, &["--output", "json", "cleanup", "--auto-approve"]);
    let nothing = json_of(&nothing);
    assert_eq!(nothing["summary"]["delete"], 0);
    assert_eq!(nothing["result"], Value::Null);
}
