//! The grant lifecycle under every guess of how AWS behaves where it documents nothing: the demo
//! rollout (pilot, workloads, the organisation retiring the narrower grants), an organisation-wide
//! rollout, a member-activated rollout, cleanup after cancellation and `apply --destroy` followed
//! by granting again, each run through the real binary on the sandbox under one emulator setting
//! at a time (against the defaults) and under a "pessimistic AWS" that combines every non-default
//! variant. Each ends in the same verified state, read from the emulator's saved state: one live
//! grant per principal, every targeted account ACTIVE, a second plan empty, nothing recreated.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use entitle::sandbox::State;
use entitle::sandbox::seed::{DEMO_ACTIVE_AGREEMENT, DEMO_ACTIVE_LICENSE};
use serde_json::{Value, json};
use support::{Ran, entitle, ran, repository};

const ROLE: &str = "OrganizationAccountAccessRole";

/// Runs `entitle --sandbox=<dir>/state.json <args>` in `dir` (where the journal goes).
fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

/// An admin action on the saved state (the world outside the management account).
fn admin(dir: &Path, args: &[&str]) {
    let state = dir.join("state.json").display().to_string();
    let done = ran(entitle(None)
        .current_dir(dir)
        .arg("sandbox")
        .args(args)
        .args(["--state", &state]));
    assert_eq!(done.code, 0, "sandbox {args:?}: {}", done.stderr);
}

/// Seeds the demo organisation with these settings (JSON values by setting name).
fn seed(dir: &Path, settings: &[(&str, Value)]) {
    support::demo_with_settings(settings)
        .save(&dir.join("state.json"))
        .unwrap();
}

fn load(dir: &Path) -> State {
    State::load(&dir.join("state.json")).unwrap()
}

/// Applies and expects success (exit 0): waiting is not failing.
fn apply(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--output", "json", "apply", "--auto-approve"];
    all.extend_from_slice(args);
    let done = run(dir, &all);
    assert_eq!(
        done.code, 0,
        "apply {args:?}\n{}\n{}",
        done.stdout, done.stderr
    );
    serde_json::from_str(&done.stdout).unwrap_or(Value::Null)
}

/// A second plan proposes nothing.
fn assert_plan_empty(dir: &Path, plan: &str) {
    let planned = run(dir, &["plan", plan, "--detailed-exitcode"]);
    assert_eq!(
        planned.code, 0,
        "a second plan still has changes:\n{}\n{}",
        planned.stdout, planned.stderr
    );
}

/// Grant statuses that no longer serve.
fn is_dead(status: &str) -> bool {
    matches!(
        status,
        "DELETED" | "PENDING_DELETE" | "REJECTED" | "FAILED_WORKFLOW"
    )
}

/// The rollout's live grants (not per-account children) by principal.
fn live_by_principal(state: &State, rollout: &str) -> BTreeMap<String, Vec<String>> {
    let mut live: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for grant in state.grants.values() {
        if grant.parent_grant.is_none()
            && grant.license_arn == DEMO_ACTIVE_LICENSE
            && grant.tags.get("entitle:rollout").map(String::as_str) == Some(rollout)
            && !is_dead(&grant.status)
        {
            live.entry(grant.principal.clone())
                .or_default()
                .push(grant.arn.clone());
        }
    }
    live
}

/// Every active member holds an ACTIVE grant of the license (its own or an org/OU grant's), and
/// every principal has exactly one live grant of the rollout.
fn assert_converged(dir: &Path, rollout: &str, max_generation: u32) {
    let state = load(dir);
    let live = live_by_principal(&state, rollout);
    assert!(!live.is_empty(), "no live grant of `{rollout}`");
    for (principal, grants) in &live {
        assert_eq!(grants.len(), 1, "{principal} has {grants:?}");
    }
    for account in state.active_member_ids() {
        let active = state.grants.values().any(|grant| {
            grant.license_arn == DEMO_ACTIVE_LICENSE
                && grant.grantee_account_id.as_deref() == Some(account)
                && grant.status == "ACTIVE"
        });
        assert!(active, "account {account} holds no ACTIVE grant");
    }
    for grant in state.grants.values() {
        if grant.tags.get("entitle:rollout").map(String::as_str) == Some(rollout) {
            let generation: u32 = grant.tags["entitle:generation"].parse().unwrap();
            assert!(
                generation <= max_generation,
                "grant {} was recreated (generation {generation})",
                grant.arn
            );
        }
    }
}

/// No live grant of the license is left for the rollout; every account's grant of it is gone.
fn assert_torn_down(dir: &Path, rollout: &str) {
    let state = load(dir);
    let live = live_by_principal(&state, rollout);
    assert!(live.is_empty(), "left after teardown: {live:?}");
}

/// The demo rollout phase by phase (gates let through: bake gates are a day), the organisation
/// grant retiring the narrower ones in the same run; then the agreement is cancelled and cleanup
/// deletes every grant.
fn demo_rollout_then_cleanup(settings: &[(&str, Value)]) {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    seed(dir, settings);
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let role = ["--member-role", ROLE];
    apply(dir, &[&plan, "--phase", "pilot", role[0], role[1]]);
    apply(
        dir,
        &[
            &plan,
            "--phase",
            "workloads",
            "--ignore-gates",
            role[0],
            role[1],
        ],
    );
    let everyone = apply(dir, &[&plan, "--ignore-gates", role[0], role[1]]);
    assert_eq!(everyone["totals"]["failed"], 0, "{everyone:#}");
    assert_converged(dir, "claude-sonnet-4-5", 0);
    // The narrower grants went in the same run as the organisation grant's activation.
    let live = live_by_principal(&load(dir), "claude-sonnet-4-5");
    assert_eq!(
        live.len(),
        1,
        "only the organisation grant is left: {live:?}"
    );
    assert_plan_empty(dir, &plan);

    admin(dir, &["cancel-agreement", DEMO_ACTIVE_AGREEMENT]);
    let cleaned = run(
        dir,
        &[
            "cleanup",
            "--agreement",
            DEMO_ACTIVE_AGREEMENT,
            "--auto-approve",
        ],
    );
    assert_eq!(cleaned.code, 0, "{}\n{}", cleaned.stdout, cleaned.stderr);
    assert_torn_down(dir, "claude-sonnet-4-5");
}

/// One organisation grant; torn down with `apply --destroy`; granted again.
fn org_wide_destroy_and_again(settings: &[(&str, Value)]) {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    seed(dir, settings);
    let plan = repository("plans/org-wide.toml");
    apply(dir, &[&plan]);
    assert_converged(dir, "claude-sonnet-4-5-org", 0);
    assert_plan_empty(dir, &plan);

    apply(dir, &[&plan, "--destroy"]);
    assert_torn_down(dir, "claude-sonnet-4-5-org");
    // Whether AWS lists the deleted grant or remembers its token, granting again works.
    apply(dir, &[&plan]);
    assert_converged(dir, "claude-sonnet-4-5-org", 1);
    assert_plan_empty(dir, &plan);
}

/// Account grants that members activate: one member activates its own, `activate` the rest.
fn member_activated(settings: &[(&str, Value)]) {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    seed(dir, settings);
    let plan = dir.join("member.toml");
    std::fs::write(
        &plan,
        "version = 1\nname = \"member-pilot\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\
         activation = \"member\"\nmember_role = \"OrganizationAccountAccessRole\"\n\n\
         [[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\", \"222222222222\", \"333333333333\"]\n",
    )
    .unwrap();
    let plan = plan.display().to_string();
    apply(dir, &[&plan]);
    let state = load(dir);
    let grant = state
        .grants
        .values()
        .find(|grant| grant.grantee_account_id.as_deref() == Some("111111111111"))
        .unwrap()
        .arn
        .clone();
    if state.grants[&grant].status == "PENDING_WORKFLOW" {
        admin(dir, &["settle-workflows"]);
    }
    if load(dir).grants[&grant].status == "PENDING_ACCEPT" {
        admin(
            dir,
            &[
                "accept-grant",
                "--account",
                "111111111111",
                "--grant",
                &grant,
            ],
        );
    }
    admin(
        dir,
        &[
            "activate-grant",
            "--account",
            "111111111111",
            "--grant",
            &grant,
        ],
    );
    let activated = run(
        dir,
        &["--output", "json", "activate", &plan, "--auto-approve"],
    );
    assert_eq!(
        activated.code, 0,
        "{}\n{}",
        activated.stdout, activated.stderr
    );
    let state = load(dir);
    let live = live_by_principal(&state, "member-pilot");
    assert_eq!(live.len(), 3, "{live:?}");
    for arns in live.values() {
        assert_eq!(state.grants[&arns[0]].status, "ACTIVE", "{}", arns[0]);
    }
    assert_plan_empty(dir, &plan);
}

fn every_scenario(settings: &[(&str, Value)]) {
    demo_rollout_then_cleanup(settings);
    org_wide_destroy_and_again(settings);
    member_activated(settings);
}

/// Every non-default variant at once.
fn pessimistic() -> Vec<(&'static str, Value)> {
    vec![
        ("pending_workflow_reads", json!(3)),
        ("pending_workflow_millis", json!(600)),
        ("account_grant_acceptance", json!("member")),
        ("activated_parent_status", json!("workflow_completed")),
        ("pending_delete_millis", json!(400)),
        ("own_subscription_activation", json!("override")),
        ("stale_version_message", json!("mismatch")),
        ("list_deleted_grants", json!(true)),
        ("client_token_after_delete", json!("forgotten")),
        ("duplicate_grant", json!("allow")),
        ("client_token_mismatch", json!("return_original")),
        ("organizations_paths", json!("accounts_only")),
    ]
}

macro_rules! variant {
    ($name:ident, $setting:expr, $value:expr) => {
        #[test]
        fn $name() {
            every_scenario(&[($setting, $value)]);
        }
    };
}

#[test]
fn defaults() {
    every_scenario(&[]);
}

variant!(
    distribution_takes_time,
    "pending_workflow_millis",
    json!(800)
);
variant!(
    distribution_takes_many_reads,
    "pending_workflow_reads",
    json!(6)
);
variant!(
    account_grants_wait_for_the_member,
    "account_grant_acceptance",
    json!("member")
);
variant!(
    an_activated_parent_shows_workflow_completed,
    "activated_parent_status",
    json!("workflow_completed")
);
variant!(deletion_takes_time, "pending_delete_millis", json!(500));
variant!(
    own_subscriptions_are_overridden,
    "own_subscription_activation",
    json!("override")
);
variant!(
    stale_versions_are_worded_otherwise,
    "stale_version_message",
    json!("mismatch")
);
variant!(
    deleted_grants_are_listed,
    "list_deleted_grants",
    json!(true)
);
variant!(
    tokens_are_forgotten_after_a_delete,
    "client_token_after_delete",
    json!("forgotten")
);
variant!(
    duplicate_grants_are_allowed,
    "duplicate_grant",
    json!("allow")
);
variant!(
    reused_tokens_return_the_original,
    "client_token_mismatch",
    json!("return_original")
);

variant!(
    organizations_answers_carry_no_paths,
    "organizations_paths",
    json!("none")
);
variant!(
    only_accounts_carry_paths,
    "organizations_paths",
    json!("accounts_only")
);

#[test]
fn a_pessimistic_aws() {
    every_scenario(&pessimistic());
}

/// Distribution outlasting a run: `--distribution-wait 0s` leaves the new grants waiting (exit 0,
/// none failed); once they have distributed, the next apply activates them; none doubled.
#[test]
fn distribution_outlasts_a_run_and_the_next_apply_finishes_it() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    // An hour: nothing distributes until the admin action below says so.
    seed(dir, &[("pending_workflow_millis", json!(3_600_000))]);
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let first = apply(
        dir,
        &[&plan, "--phase", "pilot", "--distribution-wait", "0s"],
    );
    assert_eq!(first["totals"]["waiting"], 2, "{first:#}");
    assert_eq!(first["totals"]["failed"], 0, "{first:#}");
    let waiting: Vec<&Value> = first["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["outcome"] == "waiting")
        .collect();
    assert!(
        waiting
            .iter()
            .all(|change| change["grant_status"] == "PENDING_WORKFLOW"
                && change["detail"]
                    .as_str()
                    .unwrap()
                    .contains("awaiting distribution")),
        "{waiting:#?}"
    );
    // The journal says so too.
    let journal = support::journal_text(dir, "claude-sonnet-4-5");
    assert_eq!(
        journal.matches("\"change_waiting\"").count(),
        2,
        "{journal}"
    );

    // A run before distribution ends waits again and makes nothing new.
    let again = apply(
        dir,
        &[&plan, "--phase", "pilot", "--distribution-wait", "0s"],
    );
    assert_eq!(again["totals"]["waiting"], 2, "{again:#}");
    assert_eq!(live_by_principal(&load(dir), "claude-sonnet-4-5").len(), 2);

    admin(dir, &["settle-workflows"]);
    let last = apply(dir, &[&plan, "--phase", "pilot"]);
    assert_eq!(last["totals"]["done"], 2, "{last:#}");
    let state = load(dir);
    let live = live_by_principal(&state, "claude-sonnet-4-5");
    assert_eq!(live.len(), 2, "{live:?}");
    for arns in live.values() {
        assert_eq!(arns.len(), 1);
        assert_eq!(state.grants[&arns[0]].status, "ACTIVE");
    }
    assert_plan_empty_phase(dir, &plan, "pilot");
}

fn assert_plan_empty_phase(dir: &Path, plan: &str, phase: &str) {
    let planned = run(
        dir,
        &["plan", plan, "--phase", phase, "--detailed-exitcode"],
    );
    assert_eq!(planned.code, 0, "{}\n{}", planned.stdout, planned.stderr);
}

/// Account grants waiting for the member's acceptance without a member role: apply waits (exit
/// 0), plan and status name the accounts and the two ways to finish; with the role, the next run
/// accepts as the account and activates.
#[test]
fn acceptance_waits_for_a_role_and_a_missing_role_fails_that_account_alone() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    seed(dir, &[("account_grant_acceptance", json!("member"))]);
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let first = apply(dir, &[&plan, "--phase", "pilot"]);
    assert_eq!(first["totals"]["waiting"], 2, "{first:#}");
    assert!(
        first["changes"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("--member-role"),
        "{first:#}"
    );
    let planned = run(dir, &["plan", &plan, "--phase", "pilot"]);
    assert!(
        planned
            .stdout
            .contains("waiting for account `111111111111` to accept it")
            && planned.stdout.contains("--member-role")
            && planned.stdout.contains("OU"),
        "{}",
        planned.stdout
    );

    let shown = run(dir, &["status", &plan, "--phase", "pilot"]);
    assert!(
        shown.stdout.contains("PENDING_ACCEPT")
            && shown.stdout.contains("2 accounts must accept their grant")
            && shown.stdout.contains("--member-role"),
        "{}",
        shown.stdout
    );

    // One account lost its role: it fails alone, with the fix; the other is accepted and active.
    admin(dir, &["remove-role", "222222222222", "--role", ROLE]);
    let done = run(
        dir,
        &[
            "--output",
            "json",
            "apply",
            &plan,
            "--phase",
            "pilot",
            "--auto-approve",
            "--member-role",
            ROLE,
        ],
    );
    assert_eq!(done.code, 4, "{}\n{}", done.stdout, done.stderr);
    let report: Value = serde_json::from_str(&done.stdout).unwrap();
    let by_account = |id: &str| {
        report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|change| change["principal_arn"].as_str().unwrap().contains(id))
            .unwrap()
            .clone()
    };
    assert_eq!(by_account("111111111111")["outcome"], "done", "{report:#}");
    let failed = by_account("222222222222");
    assert_eq!(failed["outcome"], "failed", "{report:#}");
    assert!(
        failed["detail"].as_str().unwrap().contains("AssumeRole")
            && failed["hint"]
                .as_str()
                .unwrap()
                .contains("iam-policy --for member"),
        "{failed:#}"
    );
    // No credentials anywhere: not in the output, not in the journal.
    let journal = support::journal_text(dir, "claude-sonnet-4-5");
    for text in [&done.stdout, &done.stderr, &journal] {
        assert!(
            !text.contains("ASIA") && !text.contains("sandbox-secret"),
            "credentials leaked: {text}"
        );
    }
    let state = load(dir);
    let status_of = |id: &str| {
        state
            .grants
            .values()
            .find(|grant| grant.grantee_account_id.as_deref() == Some(id))
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(status_of("111111111111"), "ACTIVE");
    assert_eq!(status_of("222222222222"), "PENDING_ACCEPT");
}

/// An account holding its own subscription: with `keep`, AWS refuses our activation there: the
/// plan names the account beforehand, apply fails that account alone with the fix (exit 4);
/// `replace` activates ours.
#[test]
fn an_account_with_its_own_subscription_fails_alone_with_the_fix() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    seed(dir, &[]);
    admin(
        dir,
        &[
            "subscribe-account",
            "222222222222",
            "--product",
            "prod-mxcfnwvpd6kb4",
        ],
    );
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let planned = run(dir, &["plan", &plan, "--phase", "pilot"]);
    assert!(
        planned
            .stdout
            .contains("`222222222222` holds their own subscription")
            || planned
                .stdout
                .contains("`222222222222` holds its own subscription"),
        "{}",
        planned.stdout
    );
    let done = run(
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
    assert_eq!(done.code, 4, "{}\n{}", done.stdout, done.stderr);
    let report: Value = serde_json::from_str(&done.stdout).unwrap();
    assert_eq!(report["totals"]["done"], 1, "{report:#}");
    assert_eq!(report["totals"]["failed"], 1, "{report:#}");
    let failed = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["outcome"] == "failed")
        .unwrap();
    assert!(
        failed["principal_arn"]
            .as_str()
            .unwrap()
            .contains("222222222222")
            && failed["hint"]
                .as_str()
                .unwrap()
                .contains("on_existing_subscription = \"replace\""),
        "{failed:#}"
    );

    // The same rollout with `replace`: ours is activated, theirs disabled.
    let replace = dir.join("replace.toml");
    let text = std::fs::read_to_string(&plan).unwrap().replace(
        "on_existing_subscription = \"keep\"",
        "on_existing_subscription = \"replace\"",
    );
    std::fs::write(&replace, text).unwrap();
    let replace = replace.display().to_string();
    apply(dir, &[&replace, "--phase", "pilot"]);
    let state = load(dir);
    let ours = state
        .grants
        .values()
        .find(|grant| {
            grant.grantee_account_id.as_deref() == Some("222222222222")
                && grant.license_arn == DEMO_ACTIVE_LICENSE
                && grant.parent_grant.is_none()
        })
        .unwrap();
    assert_eq!(ours.status, "ACTIVE");
    assert_plan_empty_phase(dir, &replace, "pilot");
}

/// A GovCloud organisation (partition `aws-us-gov`): every ARN entitle builds (account
/// principals, member role ARNs) is in the organisation's partition, so the rollout converges
/// and a second plan is empty, as in the commercial partition.
#[test]
fn a_govcloud_organisation_converges_with_its_own_partition() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let mut state = State::demo();
    state.settings.account_grant_acceptance = serde_json::from_value(json!("member")).unwrap();
    state.set_partition("aws-us-gov");
    state.save(&dir.join("state.json")).unwrap();
    let plan = repository("plans/claude-sonnet-4-5.toml");
    let role = ["--member-role", ROLE];
    let pilot = apply(dir, &[&plan, "--phase", "pilot", role[0], role[1]]);
    assert_eq!(pilot["totals"]["done"], 2, "{pilot:#}");
    apply(
        dir,
        &[
            &plan,
            "--phase",
            "workloads",
            "--ignore-gates",
            role[0],
            role[1],
        ],
    );
    let state = load(dir);
    let principals: Vec<&str> = state
        .grants
        .values()
        .filter(|grant| grant.parent_grant.is_none() && grant.license_arn.contains("aws-us-gov"))
        .map(|grant| grant.principal.as_str())
        .collect();
    assert!(
        principals.contains(&"arn:aws-us-gov:iam::111111111111:root"),
        "{principals:?}"
    );
    assert!(
        principals
            .iter()
            .all(|arn| arn.starts_with("arn:aws-us-gov:")),
        "{principals:?}"
    );
    let planned = run(
        dir,
        &["plan", &plan, "--phase", "workloads", "--detailed-exitcode"],
    );
    assert_eq!(planned.code, 0, "{}\n{}", planned.stdout, planned.stderr);
    // Every account of the pilot and the workloads holds an ACTIVE grant of the license.
    for account in [
        "111111111111",
        "222222222222",
        "333333333333",
        "100000000200",
    ] {
        assert!(
            state.grants.values().any(|grant| {
                grant.grantee_account_id.as_deref() == Some(account)
                    && grant.license_arn.starts_with("arn:aws-us-gov:")
                    && grant.status == "ACTIVE"
            }),
            "{account}"
        );
    }
}
