//! The prerequisites `apply`, `activate` and `cleanup` check before changing anything
//! (`src/apply/prechecks.rs`), through the real binary on the sandbox: in an organisation that is
//! not set up (License Manager not linked, consolidated billing, trusted access missing) each
//! command refuses with doctor's fix and exit 1, and the emulator's grants are exactly as before;
//! a refused read says which permission it lacked; a healthy organisation goes ahead.
//!
//! The `apply` and `activate` tests pass once those commands call `apply::prechecks::require`
//! before changing anything, as `cleanup` does.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use entitle::sandbox::State;
use entitle::sandbox::seed::{DEMO_ACTIVE_LICENSE, DEMO_DELETED_LICENSE};
use entitle::sandbox::state::Grant;
use support::{Ran, SandboxServer, entitle, ran, repository};

const DEMO_PLAN: &str = "plans/claude-sonnet-4-5.toml";

/// One way an organisation is not ready, the check that fails and a piece of its fix.
struct Broken {
    name: &'static str,
    change: fn(&mut State),
    check: &'static str,
    fix: &'static str,
}

const BROKEN: [Broken; 4] = [
    Broken {
        name: "License Manager not linked",
        change: |state| state.license_manager.enable_integration = false,
        check: "License Manager linked to Organizations: License Manager is not linked to the organisation",
        fix: "aws license-manager update-service-settings --region us-east-1 --organization-configuration \
              EnableIntegration=true",
    },
    Broken {
        name: "consolidated billing",
        change: |state| state.organization.feature_set = "CONSOLIDATED_BILLING".into(),
        check: "all features enabled: the organisation has consolidated billing only",
        fix: "aws organizations enable-all-features",
    },
    Broken {
        name: "no trusted access for License Manager",
        change: |state| {
            state.service_access.remove("license-manager.amazonaws.com");
        },
        check: "trusted access for License Manager: `license-manager.amazonaws.com` is not enabled",
        fix: "aws organizations enable-aws-service-access --service-principal license-manager.amazonaws.com",
    },
    Broken {
        name: "no trusted access for AWS Marketplace",
        change: |state| {
            state
                .service_access
                .remove("license-management.marketplace.amazonaws.com");
        },
        check: "trusted access for AWS Marketplace: `license-management.marketplace.amazonaws.com` is not enabled",
        fix: "aws organizations enable-aws-service-access --service-principal \
              license-management.marketplace.amazonaws.com",
    },
];

/// Runs `entitle --sandbox=<dir>/state.json <args>` in `dir`.
fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

fn save(dir: &Path, state: &State) {
    state.save(&dir.join("state.json")).unwrap();
}

fn grants(dir: &Path) -> BTreeMap<String, Grant> {
    BTreeMap::clone(&State::load(&dir.join("state.json")).unwrap().grants)
}

/// Live (not DELETED) grants of `license`.
fn live(dir: &Path, license: &str) -> usize {
    grants(dir)
        .values()
        .filter(|grant| grant.license_arn == license && grant.status != "DELETED")
        .count()
}

/// The command refused with the check, its fix, the hint and exit 1.
fn assert_refused(result: &Ran, broken: &Broken) {
    assert_eq!(
        result.code, 1,
        "{}: {}\n{}",
        broken.name, result.stdout, result.stderr
    );
    let stderr = &result.stderr;
    assert!(
        stderr.contains("of a rollout fail") && stderr.contains("so nothing was changed:"),
        "{}: {stderr}",
        broken.name
    );
    assert!(
        stderr.contains(&format!("  - {}", broken.check)),
        "{}: {stderr}",
        broken.name
    );
    assert!(stderr.contains(broken.fix), "{}: {stderr}", broken.name);
    assert!(
        stderr.contains(
            "hint: apply each fix above, then `entitle doctor` shows whether every prerequisite holds"
        ),
        "{}: {stderr}",
        broken.name
    );
    // Doctor's words, not a raw AWS error.
    assert!(!stderr.contains("ValidationException"), "{stderr}");
}

#[test]
fn cleanup_refuses_an_organisation_that_is_not_set_up_and_deletes_nothing() {
    for broken in &BROKEN {
        let directory = tempfile::tempdir().unwrap();
        let dir = directory.path();
        let mut state = State::demo();
        (broken.change)(&mut state);
        save(dir, &state);
        let before = grants(dir);
        assert_eq!(
            live(dir, DEMO_DELETED_LICENSE),
            3 + 7,
            "the demo's ended license"
        );

        let result = run(dir, &["cleanup", "--auto-approve", "--include-unowned"]);
        assert_refused(&result, broken);
        assert_eq!(grants(dir), before, "{}: a grant changed", broken.name);
        assert!(
            !support::journal_exists(dir, "cleanup"),
            "{}: no run was started",
            broken.name
        );
    }
}

#[test]
fn cleanup_goes_ahead_in_a_healthy_organisation() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    save(dir, &State::demo());
    let result = run(dir, &["cleanup", "--auto-approve", "--include-unowned"]);
    assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
    assert!(!result.stderr.contains("prerequisite"), "{}", result.stderr);
    assert_eq!(live(dir, DEMO_DELETED_LICENSE), 0);
}

#[test]
fn several_broken_prerequisites_are_listed_together() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let mut state = State::demo();
    (BROKEN[0].change)(&mut state);
    (BROKEN[3].change)(&mut state);
    save(dir, &state);
    let result = run(dir, &["cleanup", "--auto-approve"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result
            .stderr
            .contains("error: 2 prerequisites of a rollout fail, so nothing was changed:"),
        "{}",
        result.stderr
    );
    // In doctor's order: trusted access before License Manager's link.
    let marketplace = result.stderr.find(BROKEN[3].check).unwrap();
    let link = result.stderr.find(BROKEN[0].check).unwrap();
    assert!(marketplace < link, "{}", result.stderr);
}

#[test]
fn a_refused_read_names_the_permission_instead_of_a_raw_error() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state_file = dir.join("served.json");
    State::demo().save(&state_file).unwrap();
    let server = SandboxServer::start(&["--state", state_file.to_str().unwrap()]);
    let result = ran(entitle(Some(&server.endpoint))
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "AKID222222222222")
        .args(["cleanup", "--auto-approve", "--include-unowned"]));
    server.stop();
    assert_eq!(result.code, 1, "{}", result.stderr);
    let stderr = &result.stderr;
    assert!(
        stderr.contains(
            "management account or delegated administrator: `222222222222` is not the management account \
             (`100000000001`)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "register-delegated-administrator --account-id 222222222222 --service-principal \
             license-manager.amazonaws.com"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("`organizations:ListAWSServiceAccessForOrganization` was refused"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "fix: allow `organizations:ListAWSServiceAccessForOrganization` to the identity in use"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("caused by"), "{stderr}");
    let state = State::load(&state_file).unwrap();
    assert_eq!(state.grants, State::demo().grants, "nothing was deleted");
}

/// Needs `apply` to call `apply::prechecks::require`.
#[test]
fn apply_refuses_an_organisation_that_is_not_set_up_and_creates_nothing() {
    let plan = repository(DEMO_PLAN);
    for broken in &BROKEN {
        let directory = tempfile::tempdir().unwrap();
        let dir = directory.path();
        let mut state = State::demo();
        (broken.change)(&mut state);
        save(dir, &state);
        let before = grants(dir);
        let result = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
        assert_refused(&result, broken);
        assert_eq!(grants(dir), before, "{}: a grant changed", broken.name);
        assert_eq!(live(dir, DEMO_ACTIVE_LICENSE), 0);
    }
}

/// The bug this guards against: an organisation grant in an organisation whose License Manager is
/// not linked ends in FAILED_WORKFLOW. Made from a hand-written org file. Needs `apply` to call
/// `apply::prechecks::require`.
#[test]
fn an_organisation_grant_is_not_created_where_it_would_fail_to_distribute() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let org = dir.join("org.toml");
    std::fs::write(
        &org,
        "license_manager_linked = false\n\n[[ou]]\nname = \"Workloads\"\n\n  [[ou.account]]\n  \
         id = \"111111111111\"\n\n  [[ou.account]]\n  id = \"222222222222\"\n",
    )
    .unwrap();
    save(dir, &State::from_org_file(&org).unwrap());
    let plan = dir.join("everyone.toml");
    std::fs::write(
        &plan,
        "version = 1\nname = \"everyone\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\n\
         [[phase]]\nname = \"everyone\"\norganization = true\n",
    )
    .unwrap();
    let result = run(dir, &["apply", plan.to_str().unwrap(), "--auto-approve"]);
    assert_refused(&result, &BROKEN[0]);
    assert!(grants(dir).is_empty(), "{:#?}", grants(dir));
}

/// Needs `activate` to call `apply::prechecks::require`.
#[test]
fn activate_refuses_once_the_organisation_is_broken_and_activates_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    save(dir, &State::demo());
    let member = dir.join("member.toml");
    std::fs::write(
        &member,
        "version = 1\nname = \"member\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\
         activation = \"member\"\n\n[[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\"]\n",
    )
    .unwrap();
    let member = member.to_str().unwrap();
    let applied = run(dir, &["apply", member, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(live(dir, DEMO_ACTIVE_LICENSE), 1, "{:#?}", grants(dir));
    // The grant lands DISABLED (ready to activate) while the organisation is still linked.
    let settled = ran(entitle(None).current_dir(dir).args([
        "sandbox",
        "settle-workflows",
        "--state",
        dir.join("state.json").to_str().unwrap(),
    ]));
    assert_eq!(settled.code, 0, "{}", settled.stderr);
    assert!(
        grants(dir).values().any(|grant| grant.status == "DISABLED"),
        "{:#?}",
        grants(dir)
    );

    let mut state = State::load(&dir.join("state.json")).unwrap();
    (BROKEN[0].change)(&mut state);
    save(dir, &state);
    let before = grants(dir);
    let result = run(dir, &["activate", member, "--auto-approve"]);
    assert_refused(&result, &BROKEN[0]);
    assert_eq!(grants(dir), before, "a grant changed");
}
