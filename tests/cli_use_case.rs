//! `entitle use-case submit` and `show` through the real binary against the emulator: a missing
//! form fails doctor for an Anthropic plan, a submitted one makes it pass; a bad form is refused
//! naming its field, and nothing reaches Bedrock; without a terminal submit refuses unless
//! `--auto-approve`.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use entitle::sandbox::State;
use entitle::sandbox::seed::DEMO_MANAGEMENT_ACCOUNT;
use serde_json::Value;
use support::{Ran, entitle, ran, repository};

const DEMO_PLAN: &str = "plans/claude-sonnet-4-5.toml";

fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

/// The demo without any use-case form.
fn without_form(dir: &Path) {
    let mut state = State::demo();
    state.bedrock.use_case_forms.clear();
    state.save(&dir.join("state.json")).unwrap();
}

fn forms(dir: &Path) -> Vec<String> {
    State::load(&dir.join("state.json"))
        .unwrap()
        .bedrock
        .use_case_forms
        .keys()
        .cloned()
        .collect()
}

fn use_case_check(dir: &Path, plan: Option<&str>) -> (i32, Value) {
    let mut args = vec!["--output", "json", "doctor"];
    args.extend(plan);
    let result = run(dir, &args);
    let document: Value = serde_json::from_str(&result.stdout).unwrap();
    let check = document["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["id"] == "use-case-form")
        .cloned()
        .unwrap();
    (result.code, check)
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
    let checked = ran(
        std::process::Command::new(support::python_venv().join("bin/python"))
            .args(["-c", script, &schema])
            .arg(&file),
    );
    assert_eq!(
        checked.code, 0,
        "{kind} document does not match its schema:\n{}",
        checked.stderr
    );
}

#[test]
fn a_missing_form_fails_doctor_and_submitting_one_makes_it_pass() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    without_form(dir);
    let plan = repository(DEMO_PLAN);
    let (code, check) = use_case_check(dir, Some(&plan));
    assert_eq!(code, 1);
    assert_eq!(check["verdict"], "fail", "{check:#}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("Claude Sonnet 4.5"),
        "{check:#}"
    );
    assert!(
        check["fix"]
            .as_str()
            .unwrap()
            .contains("`entitle use-case submit --form FILE`")
    );
    // Without a plan the model is not known: a warning, not a failure.
    let (code, check) = use_case_check(dir, None);
    assert_eq!(
        (code, check["verdict"].as_str()),
        (0, Some("warn")),
        "{check:#}"
    );

    let shown = run(dir, &["use-case", "show"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.contains("no use-case form is on file"),
        "{}",
        shown.stdout
    );

    let form = repository("docs/use-case-form.example.json");
    let submitted = run(
        dir,
        &[
            "--output",
            "json",
            "use-case",
            "submit",
            "--form",
            &form,
            "--auto-approve",
        ],
    );
    assert_eq!(
        submitted.code, 0,
        "{}{}",
        submitted.stdout, submitted.stderr
    );
    let document: Value = serde_json::from_str(&submitted.stdout).unwrap();
    assert_eq!(document["format_version"], 1);
    assert_eq!(document["kind"], "use-case");
    validate(&document, "use-case");
    assert_eq!(document["submitted"], true);
    assert_eq!(document["on_file"], false);
    assert_eq!(document["account"], DEMO_MANAGEMENT_ACCOUNT);
    assert_eq!(document["form"]["companyName"], "Example Corp");
    assert_eq!(forms(dir), [DEMO_MANAGEMENT_ACCOUNT]);

    let (code, check) = use_case_check(dir, Some(&plan));
    assert_eq!(code, 0, "{check:#}");
    assert_eq!(check["verdict"], "pass");

    let shown = run(dir, &["--output", "json", "use-case", "show"]);
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown["on_file"], true);
    validate(&shown, "use-case");
    assert_eq!(shown["form"]["industryOption"], "Technology");
}

#[test]
fn a_bad_form_is_refused_naming_its_fields_and_nothing_is_submitted() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    without_form(dir);
    let form = dir.join("form.json");
    std::fs::write(
        &form,
        r#"{"companyName": "Example Corp", "companyWebsite": "example.com", "intendedUsers": 0,
            "industryOption": "Technology", "useCases": ""}"#,
    )
    .unwrap();
    let form = form.display().to_string();
    let result = run(
        dir,
        &["use-case", "submit", "--form", &form, "--auto-approve"],
    );
    assert_eq!(result.code, 1, "{}", result.stdout);
    for expected in [
        "`intendedUsers`: `intendedUsers` is a number, not a string",
        "`useCases`: `useCases` is empty",
        "`companyWebsite`: `companyWebsite` `example.com` is not an http:// or https:// URL",
    ] {
        assert!(
            result.stderr.contains(expected),
            "{expected}\n{}",
            result.stderr
        );
    }
    assert!(
        result
            .stderr
            .contains("is not a valid use-case form (3 problems above), so nothing was submitted"),
        "{}",
        result.stderr
    );
    assert!(forms(dir).is_empty());
}

#[test]
fn without_a_terminal_submit_refuses_unless_auto_approved() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    without_form(dir);
    let form = repository("docs/use-case-form.example.json");
    let result = run(dir, &["use-case", "submit", "--form", &form]);
    assert_eq!(result.code, 1);
    assert!(
        result.stderr.contains(
            "error: refusing to submit the use-case form without confirmation: there is no terminal to ask on"
        ),
        "{}",
        result.stderr
    );
    // The form was shown before the question.
    assert!(
        result
            .stdout
            .contains("use-case form to submit for account `100000000001`:"),
        "{}",
        result.stdout
    );
    assert!(forms(dir).is_empty());
}
