//! The typed confirmations on a real pseudo-terminal (`tests/python/pty_answer.py`, Python's `pty`
//! module from the test venv): `apply` goes on only on `yes`, and `cleanup` only on the
//! organisation's id; any other answer cancels with nothing changed, read from the emulator's
//! state.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Command;

use entitle::sandbox::State;
use entitle::sandbox::seed::{DEMO_ACTIVE_AGREEMENT, DEMO_ACTIVE_LICENSE, DEMO_ORGANIZATION_ID};
use support::{Ran, entitle, ran, repository};

/// Runs `entitle --sandbox=<dir>/state.json <args>` on a pseudo-terminal in `dir`, typing
/// `answer` once `question` shows. The environment is the one `support::entitle` gives.
fn on_terminal(dir: &Path, question: &str, answer: &str, args: &[&str]) -> Ran {
    let model = entitle(None);
    let mut command = Command::new(support::python_venv().join("bin/python"));
    command
        .arg(repository("tests/python/pty_answer.py"))
        .args([question, answer, "--"])
        .arg(model.get_program())
        .arg(format!("--sandbox={}", dir.join("state.json").display()))
        .args(args)
        .current_dir(dir);
    for (name, value) in model.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    // A terminal gets colours; the words are what these tests read.
    command.env("NO_COLOR", "1");
    ran(&mut command)
}

/// The rollout's live parent grants in the emulator's state: principal and status.
fn live(dir: &Path, rollout: &str) -> Vec<(String, String)> {
    State::load(&dir.join("state.json"))
        .unwrap()
        .grants
        .values()
        .filter(|grant| {
            grant.parent_grant.is_none()
                && grant.license_arn == DEMO_ACTIVE_LICENSE
                && grant.status != "DELETED"
                && grant.tags.get("entitle:rollout").map(String::as_str) == Some(rollout)
        })
        .map(|grant| (grant.principal.clone(), grant.status.clone()))
        .collect()
}

const APPLY_QUESTION: &str =
    "Apply these changes to rollout `claude-sonnet-4-5-org`? Only `yes` goes on: ";

#[test]
fn apply_goes_on_only_when_yes_is_typed() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = repository("plans/org-wide.toml");

    for answer in ["no", "y", "YES", ""] {
        let cancelled = on_terminal(dir, APPLY_QUESTION, answer, &["apply", &plan]);
        assert_eq!(cancelled.code, 1, "{answer:?}: {}", cancelled.stdout);
        assert!(
            cancelled
                .stdout
                .contains("error: apply cancelled: nothing was changed"),
            "{answer:?}: {}",
            cancelled.stdout
        );
        assert_eq!(live(dir, "claude-sonnet-4-5-org"), [], "{answer:?}");
    }

    let applied = on_terminal(dir, APPLY_QUESTION, "yes", &["apply", &plan]);
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    // On a terminal the plan is shown before the question.
    let plan_shown = applied
        .stdout
        .find("Plan: 1 to create")
        .expect("the plan is shown");
    assert!(
        plan_shown < applied.stdout.find(APPLY_QUESTION).unwrap(),
        "{}",
        applied.stdout
    );
    let grants = live(dir, "claude-sonnet-4-5-org");
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert!(grants[0].0.contains(":organization/"), "{grants:?}");
    assert_eq!(grants[0].1, "ACTIVE");
}

#[test]
fn cleanup_goes_on_only_when_the_organisation_id_is_typed() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state = dir.join("state.json");
    let applied = ran(entitle(None).current_dir(dir).args([
        &format!("--sandbox={}", state.display()),
        "apply",
        &repository("plans/org-wide.toml"),
        "--auto-approve",
    ]));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let cancelled = ran(entitle(None).current_dir(dir).args([
        "sandbox",
        "cancel-agreement",
        DEMO_ACTIVE_AGREEMENT,
        "--state",
        &state.display().to_string(),
    ]));
    assert_eq!(cancelled.code, 0, "{}", cancelled.stderr);
    let before = live(dir, "claude-sonnet-4-5-org");
    assert_eq!(before.len(), 1, "{before:?}");
    let question = format!("Type the organisation id ({DEMO_ORGANIZATION_ID}) to go on: ");

    // A wrong organisation id (or `yes`) cancels: nothing deleted.
    for answer in ["o-sbx0demo02", "yes"] {
        let refused = on_terminal(dir, &question, answer, &["cleanup"]);
        assert_eq!(refused.code, 1, "{answer}: {}", refused.stdout);
        assert!(
            refused
                .stdout
                .contains("error: cleanup cancelled: nothing was deleted"),
            "{answer}: {}",
            refused.stdout
        );
        assert_eq!(live(dir, "claude-sonnet-4-5-org"), before, "{answer}");
    }

    let cleaned = on_terminal(dir, &question, DEMO_ORGANIZATION_ID, &["cleanup"]);
    assert_eq!(cleaned.code, 0, "{}\n{}", cleaned.stdout, cleaned.stderr);
    assert_eq!(live(dir, "claude-sonnet-4-5-org"), []);
}
