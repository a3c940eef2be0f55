//! `entitle doctor` through the real binary against the emulator: the healthy demo passes (with
//! and without a plan), and each broken prerequisite fails or warns with its own check, fix and
//! exit code.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use entitle::sandbox::State;
use entitle::sandbox::seed::{DEMO_ACTIVE_AGREEMENT, DEMO_ACTIVE_LICENSE, DEMO_MANAGEMENT_ACCOUNT};
use entitle::sandbox::state::DelegatedAdministrator;
use serde_json::Value;
use support::{Ran, SandboxServer, entitle, ran, repository};

const DEMO_PLAN: &str = "plans/claude-sonnet-4-5.toml";

/// Runs `entitle --sandbox=<dir>/state.json <args>` in `dir`.
fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

/// Saves the demo state, changed by `change`, where `run` finds it.
fn demo_state(dir: &Path, change: impl FnOnce(&mut State)) {
    let mut state = State::demo();
    change(&mut state);
    state.save(&dir.join("state.json")).unwrap();
}

/// `doctor --output json [plan]`: the exit code and the document.
fn doctor_json(dir: &Path, plan: Option<&str>) -> (i32, Value) {
    let mut args = vec!["--output", "json", "doctor"];
    args.extend(plan);
    let result = run(dir, &args);
    let document: Value = serde_json::from_str(&result.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", result.stdout, result.stderr));
    (result.code, document)
}

fn check<'a>(document: &'a Value, id: &str) -> &'a Value {
    document["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["id"] == id)
        .unwrap_or_else(|| panic!("no check `{id}` in {document:#}"))
}

/// Every check but `except` passed.
fn others_pass(document: &Value, except: &[&str]) {
    for check in document["checks"].as_array().unwrap() {
        let id = check["id"].as_str().unwrap();
        if !except.contains(&id) {
            assert_eq!(check["verdict"], "pass", "{check:#}");
        }
    }
}

fn assert_check(document: &Value, id: &str, verdict: &str, detail: &str, fix: &str) {
    let found = check(document, id);
    assert_eq!(found["verdict"], verdict, "{found:#}");
    assert!(
        found["detail"].as_str().unwrap().contains(detail),
        "detail of {id} lacks {detail:?}: {found:#}"
    );
    if fix.is_empty() {
        assert!(found["fix"].is_null(), "{found:#}");
    } else {
        assert!(
            found["fix"].as_str().unwrap_or_default().contains(fix),
            "fix of {id} lacks {fix:?}: {found:#}"
        );
    }
}

#[test]
fn the_healthy_demo_passes_with_and_without_a_plan() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plain = run(dir, &["doctor"]);
    assert_eq!(plain.code, 0, "{}{}", plain.stdout, plain.stderr);
    let lines: Vec<&str> = plain.stdout.lines().collect();
    assert!(
        lines[0].starts_with("ok   credentials: account `100000000001`"),
        "{}",
        plain.stdout
    );
    assert!(plain.stdout.contains(
        "ok   management account or delegated administrator: `100000000001` is the management account of `o-sbx0demo01`"
    ));
    assert!(
        plain
            .stdout
            .contains("9 passed, 0 warnings, 0 failed, 0 skipped"),
        "{}",
        plain.stdout
    );
    assert!(!plain.stdout.contains("fix:"));

    let (code, document) = doctor_json(dir, None);
    assert_eq!(code, 0);
    assert_eq!(document["format_version"], 1);
    assert_eq!(document["ok"], true);
    assert_eq!(document["plan"], Value::Null);
    let ids: Vec<&str> = document["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|check| check["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "credentials",
            "caller",
            "feature-set",
            "trusted-access-license-manager",
            "trusted-access-marketplace",
            "license-manager-link",
            "use-case-form",
            "service-linked-role-license-manager",
            "service-linked-role-marketplace",
        ]
    );
    assert_eq!(document["kind"], "doctor");
    validate(&document, "doctor");
    others_pass(&document, &[]);

    let plan = repository(DEMO_PLAN);
    let (code, document) = doctor_json(dir, Some(&plan));
    assert_eq!(code, 0, "{document:#}");
    assert_eq!(document["counts"]["pass"], 16);
    others_pass(&document, &[]);
    assert_check(
        &document,
        "license",
        "pass",
        &format!("`{DEMO_ACTIVE_LICENSE}` (Claude Sonnet 4.5, `prod-mxcfnwvpd6kb4`) is AVAILABLE"),
        "",
    );
    assert_check(&document, "agreement", "pass", DEMO_ACTIVE_AGREEMENT, "");
    // The demo plan's last phase is the whole organisation: the one suspended account is
    // reached by it, noted, not warned about.
    assert_check(
        &document,
        "targets",
        "pass",
        "38 accounts targeted; not ACTIVE, so not granted although an OU or the organisation selects them: `100000000405` (SUSPENDED)",
        "",
    );
    // The headroom counts the creates of the whole plan, as `plan` shows them.
    let planned = run(
        dir,
        &["--output", "json", "plan", &plan, "--phase", "everyone"],
    );
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let planned: Value = serde_json::from_str(&planned.stdout).unwrap();
    let creates = planned["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["action"] == "create")
        .count();
    assert!(creates > 0);
    assert_check(
        &document,
        "grant-headroom",
        "pass",
        &format!(
            "0 grants of the license exist, the whole plan adds {creates}: {creates} of the 2,000"
        ),
        "",
    );

    // After the pilot is applied, its grants count as existing ones.
    let applied = run(dir, &["apply", &plan, "--phase", "pilot", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let (code, document) = doctor_json(dir, Some(&plan));
    assert_eq!(code, 0);
    assert_check(
        &document,
        "grant-headroom",
        "pass",
        &format!(
            "2 grants of the license exist, the whole plan adds {}: {creates} of the 2,000",
            creates - 2
        ),
        "",
    );
}

#[test]
fn no_credentials_fail_first_and_skip_the_rest() {
    let result = ran(entitle(None).args(["--output", "json", "doctor", &repository(DEMO_PLAN)]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    let document: Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(document["ok"], false);
    assert_check(
        &document,
        "credentials",
        "fail",
        "sts:GetCallerIdentity",
        "set up AWS credentials",
    );
    for check in &document["checks"].as_array().unwrap()[1..] {
        assert_eq!(check["verdict"], "skip", "{check:#}");
    }
    assert_eq!(document["counts"]["fail"], 1);
}

#[test]
fn consolidated_billing_fails_because_license_manager_cannot_link() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo_state(dir, |state| {
        state.organization.feature_set = "CONSOLIDATED_BILLING".into();
    });
    let (code, document) = doctor_json(dir, None);
    assert_eq!(code, 1, "{document:#}");
    assert_check(
        &document,
        "feature-set",
        "fail",
        "License Manager cannot link to it, so organisation and OU grants fail to distribute (FAILED_WORKFLOW)",
        "aws organizations enable-all-features",
    );
    others_pass(&document, &["feature-set"]);

    let human = run(dir, &["doctor"]);
    assert_eq!(human.code, 1);
    assert!(
        human
            .stdout
            .contains("FAIL all features enabled: the organisation has consolidated billing only"),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("     fix: enable all features (Organizations console > Settings)"),
        "{}",
        human.stdout
    );
}

#[test]
fn missing_trusted_access_fails_with_the_command_that_enables_it() {
    for principal in [
        "license-manager.amazonaws.com",
        "license-management.marketplace.amazonaws.com",
    ] {
        let directory = tempfile::tempdir().unwrap();
        let dir = directory.path();
        demo_state(dir, |state| {
            state.service_access.remove(principal);
        });
        let (code, document) = doctor_json(dir, None);
        assert_eq!(code, 1, "{document:#}");
        let id = if principal.starts_with("license-manager") {
            "trusted-access-license-manager"
        } else {
            "trusted-access-marketplace"
        };
        assert_check(
            &document,
            id,
            "fail",
            &format!("`{principal}` is not enabled"),
            &format!("aws organizations enable-aws-service-access --service-principal {principal}"),
        );
        others_pass(&document, &[id]);

        if id == "trusted-access-marketplace" {
            // The organisation-wide license listing needs it: skipped, not a second failure.
            let (code, document) = doctor_json(dir, Some(&repository(DEMO_PLAN)));
            assert_eq!(code, 1);
            assert_check(
                &document,
                "existing-subscriptions",
                "skip",
                "needs trusted access for `license-management.marketplace.amazonaws.com`",
                "",
            );
            assert_eq!(document["counts"]["fail"], 1, "{document:#}");
        }
        let human = run(dir, &["doctor"]);
        assert_eq!(human.code, 1);
        assert!(human.stdout.contains("FAIL trusted access"));
        assert!(
            human
                .stderr
                .contains("error: doctor found problems that block a rollout"),
            "{}",
            human.stderr
        );
    }
}

#[test]
fn an_unlinked_license_manager_fails_with_the_setting_to_change() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo_state(dir, |state| {
        state.license_manager.enable_integration = false;
    });
    let (code, document) = doctor_json(dir, None);
    assert_eq!(code, 1);
    assert_check(
        &document,
        "license-manager-link",
        "fail",
        "License Manager is not linked to the organisation",
        "aws license-manager update-service-settings --region us-east-1 --organization-configuration EnableIntegration=true",
    );
    others_pass(&document, &["license-manager-link"]);
}

#[test]
fn a_member_account_is_refused_unless_it_is_the_delegated_administrator() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state_file = dir.join("served.json");
    State::demo().save(&state_file).unwrap();
    let server = SandboxServer::start(&["--state", state_file.to_str().unwrap()]);
    let as_member = |args: &[&str]| {
        ran(entitle(Some(&server.endpoint))
            .env("AWS_ACCESS_KEY_ID", "AKID222222222222")
            .args(args))
    };
    let result = as_member(&["--output", "json", "doctor"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    let document: Value = serde_json::from_str(&result.stdout).unwrap();
    assert_check(
        &document,
        "credentials",
        "pass",
        "account `222222222222`",
        "",
    );
    assert_check(
        &document,
        "caller",
        "fail",
        &format!("`222222222222` is not the management account (`{DEMO_MANAGEMENT_ACCOUNT}`)"),
        "aws organizations register-delegated-administrator --account-id 222222222222 --service-principal license-manager.amazonaws.com",
    );
    // A member may not list trusted access: the check fails naming the permission.
    assert_check(
        &document,
        "trusted-access-marketplace",
        "fail",
        "`organizations:ListAWSServiceAccessForOrganization` was refused",
        "allow `organizations:ListAWSServiceAccessForOrganization`",
    );
    server.stop();

    // The same account, registered as License Manager's delegated administrator, passes.
    let mut state = State::demo();
    state.delegated_administrators.push(DelegatedAdministrator {
        account_id: "222222222222".into(),
        service_principal: "license-manager.amazonaws.com".into(),
        delegation_enabled_date: 1_700_000_000,
    });
    state.save(&state_file).unwrap();
    let server = SandboxServer::start(&["--state", state_file.to_str().unwrap()]);
    let result = ran(entitle(Some(&server.endpoint))
        .env("AWS_ACCESS_KEY_ID", "AKID222222222222")
        .args(["--output", "json", "doctor"]));
    let document: Value = serde_json::from_str(&result.stdout).unwrap();
    assert_check(
        &document,
        "caller",
        "pass",
        "`222222222222` is License Manager's delegated administrator of `o-sbx0demo01`",
        "",
    );
    assert_eq!(result.code, 0, "{document:#}");
    server.stop();
}

#[test]
fn a_deleted_license_fails_and_points_at_cleanup() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo_state(dir, |state| {
        state.licenses.get_mut(DEMO_ACTIVE_LICENSE).unwrap().status = "DELETED".into();
    });
    let (code, document) = doctor_json(dir, Some(&repository(DEMO_PLAN)));
    assert_eq!(code, 1);
    assert_check(
        &document,
        "license",
        "fail",
        "is `DELETED`",
        &format!("`entitle cleanup --license {DEMO_ACTIVE_LICENSE}`"),
    );
    assert_check(
        &document,
        "grant-headroom",
        "skip",
        "no AVAILABLE license",
        "",
    );
    others_pass(&document, &["license", "grant-headroom"]);
}

#[test]
fn a_cancelled_agreement_fails() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo_state(dir, |state| {
        state
            .agreements
            .get_mut(DEMO_ACTIVE_AGREEMENT)
            .unwrap()
            .status = "CANCELLED".into();
    });
    let (code, document) = doctor_json(dir, Some(&repository(DEMO_PLAN)));
    assert_eq!(code, 1);
    assert_check(
        &document,
        "agreement",
        "fail",
        &format!("agreement `{DEMO_ACTIVE_AGREEMENT}` is `CANCELLED`, not ACTIVE"),
        &format!("`entitle cleanup --agreement {DEMO_ACTIVE_AGREEMENT}`"),
    );
    others_pass(&document, &["agreement"]);
}

#[test]
fn an_operation_the_license_does_not_allow_fails_with_its_place_in_the_plan() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo_state(dir, |state| {
        state
            .licenses
            .get_mut(DEMO_ACTIVE_LICENSE)
            .unwrap()
            .allowed_operations
            .retain(|operation| operation != "CreateToken");
    });
    let plan = repository(DEMO_PLAN);
    let (code, document) = doctor_json(dir, Some(&plan));
    assert_eq!(code, 1);
    assert_check(
        &document,
        "operations",
        "fail",
        "the license does not allow passing on `CreateToken`",
        &format!("remove them from `operations` ({plan}:8:14)"),
    );
    assert_check(
        &document,
        "grant-headroom",
        "skip",
        "operations are refused",
        "",
    );
    others_pass(&document, &["operations", "grant-headroom"]);
}

#[test]
fn a_suspended_account_the_plan_names_is_a_warning() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo_state(dir, |state| {
        state.accounts.get_mut("111111111111").unwrap().state = "SUSPENDED".into();
    });
    let plan = repository(DEMO_PLAN);
    let (code, document) = doctor_json(dir, Some(&plan));
    assert_eq!(code, 0, "a warning does not block: {document:#}");
    assert_check(
        &document,
        "targets",
        "warn",
        "named in the plan but not ACTIVE, so never granted: `111111111111` (SUSPENDED)",
        "exclude = { accounts = [\"111111111111\"] }",
    );
    others_pass(&document, &["targets"]);
}

#[test]
fn a_member_with_its_own_subscription_is_a_warning_with_keep() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo_state(dir, |state| {
        let mut own = state.licenses[DEMO_ACTIVE_LICENSE].clone();
        own.arn =
            "arn:aws:license-manager::294406891311:license:l-22222222222242228222222222222222"
                .into();
        own.beneficiary = "222222222222".into();
        own.holder_account_id = "222222222222".into();
        own.agreement_id = None;
        state.licenses.insert(own.arn.clone(), own);
    });
    let plan = repository(DEMO_PLAN);
    let (code, document) = doctor_json(dir, Some(&plan));
    assert_eq!(code, 0, "{document:#}");
    assert_check(
        &document,
        "existing-subscriptions",
        "warn",
        "`222222222222` holds its own subscription to `prod-mxcfnwvpd6kb4`: AWS refuses to activate the \
         distributed grant there while `on_existing_subscription = \"keep\"`",
        "set `on_existing_subscription = \"replace\"` in",
    );
    assert!(
        check(&document, "existing-subscriptions")["fix"]
            .as_str()
            .unwrap()
            .contains("to activate ours and disable theirs"),
        "{document:#}"
    );
    others_pass(&document, &["existing-subscriptions"]);

    // With `replace`, the same account is noted, not warned about.
    let replace = repository("plans/private-offer-replace.toml");
    let (code, document) = doctor_json(dir, Some(&replace));
    assert_eq!(code, 0, "{document:#}");
    let found = check(&document, "existing-subscriptions");
    // private-offer-replace names the agreement and targets Workloads/ML, where 222222222222 sits.
    assert_eq!(found["verdict"], "pass", "{found:#}");
    assert!(
        found["detail"]
            .as_str()
            .unwrap()
            .contains("on_existing_subscription = \"replace\""),
        "{found:#}"
    );
}

#[test]
fn a_broken_plan_fails_its_check_and_lists_the_problems_on_stderr() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = dir.join("broken.toml");
    std::fs::write(
        &plan,
        "version = 1\nname = \"broken\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\n[[phase]]\nname = \"one\"\nacounts = [\"111111111111\"]\n",
    )
    .unwrap();
    let result = run(dir, &["--output", "json", "doctor", plan.to_str().unwrap()]);
    assert_eq!(result.code, 1);
    let document: Value = serde_json::from_str(&result.stdout).unwrap();
    let found = check(&document, "plan-file");
    assert_eq!(found["verdict"], "fail", "{found:#}");
    assert!(
        found["detail"]
            .as_str()
            .unwrap()
            .contains("1 problem in the plan file, the first: "),
        "{found:#}"
    );
    assert!(
        result.stderr.contains("broken.toml:9:1") && result.stderr.contains("acounts"),
        "{}",
        result.stderr
    );
    // Nothing after the plan file is checked.
    assert_eq!(
        document["checks"].as_array().unwrap().last().unwrap()["id"],
        "plan-file"
    );
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

/// The demo's state file as the last command left it.
fn saved(dir: &Path) -> State {
    State::load(&dir.join("state.json")).unwrap()
}

const TRUSTED: [&str; 2] = [
    "license-manager.amazonaws.com",
    "license-management.marketplace.amazonaws.com",
];

#[test]
fn doctor_fix_mends_a_broken_organisation_after_confirmation_and_journals_it() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo_state(dir, |state| {
        entitle::sandbox::admin::break_prerequisites(state, false, false);
    });
    let (code, before) = doctor_json(dir, None);
    assert_eq!(code, 1);
    for id in [
        "trusted-access-license-manager",
        "trusted-access-marketplace",
        "license-manager-link",
    ] {
        assert_eq!(check(&before, id)["verdict"], "fail", "{before:#}");
    }

    // No terminal, no --auto-approve: refused, nothing changed, nothing journalled.
    let refused = run(dir, &["doctor", "--fix"]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains(
            "error: refusing to change the organisation's prerequisites without confirmation: there is no terminal to ask on"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("hint: pass `--auto-approve`"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stdout.contains("doctor --fix will:")
            && refused.stdout.contains(
                "  + enable trusted access for `license-manager.amazonaws.com` (Organizations EnableAWSServiceAccess)"
            ),
        "{}",
        refused.stdout
    );
    let state = saved(dir);
    assert!(
        TRUSTED
            .iter()
            .all(|principal| !state.service_access.contains_key(*principal))
    );
    assert!(!state.license_manager.enable_integration);
    assert!(!support::journal_exists(dir, "doctor"));

    // With --auto-approve: every fix made, the checks pass again, one journal run.
    let fixed = run(
        dir,
        &[
            "--output",
            "json",
            "doctor",
            "--fix",
            "--auto-approve",
            "--delegated-admin",
            "222222222222",
        ],
    );
    assert_eq!(fixed.code, 0, "{}{}", fixed.stdout, fixed.stderr);
    let document: Value = serde_json::from_str(&fixed.stdout).unwrap();
    assert_eq!(document["kind"], "doctor");
    assert_eq!(document["ok"], true);
    validate(&document, "doctor");
    let operations: Vec<(&str, &str)> = document["fix"]["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|fix| {
            assert!(fix["error"].is_null(), "{fix:#}");
            (
                fix["action"].as_str().unwrap(),
                fix["description"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        operations
            .iter()
            .map(|(action, _)| *action)
            .collect::<Vec<_>>(),
        [
            "enable_trusted_access",
            "enable_trusted_access",
            "link_license_manager",
            "register_delegated_administrator"
        ]
    );
    others_pass(&document, &[]);
    let state = saved(dir);
    assert!(
        TRUSTED
            .iter()
            .all(|principal| state.service_access.contains_key(*principal))
    );
    assert!(state.license_manager.enable_integration);
    assert!(
        state
            .delegated_administrators
            .iter()
            .any(|admin| admin.account_id == "222222222222"
                && admin.service_principal == "license-manager.amazonaws.com")
    );

    let journal = support::journal_text(dir, "doctor");
    let lines: Vec<Value> = journal
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines[0]["event"], "run_started", "{journal}");
    assert_eq!(lines[0]["command"], "doctor --fix");
    assert_eq!(lines[0]["changes"], 4);
    let finished: Vec<(&str, &str, &str)> = lines
        .iter()
        .filter(|line| line["event"] == "call_finished")
        .map(|line| {
            (
                line["operation"].as_str().unwrap(),
                line["principal"].as_str().unwrap(),
                line["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        finished,
        [
            ("EnableAWSServiceAccess", TRUSTED[0], "ok"),
            ("EnableAWSServiceAccess", TRUSTED[1], "ok"),
            ("UpdateServiceSettings", TRUSTED[0], "ok"),
            ("RegisterDelegatedAdministrator", "222222222222", "ok"),
        ]
    );
    assert_eq!(lines.last().unwrap()["event"], "run_finished");
    assert_eq!(lines.last().unwrap()["done"], 4);

    // Nothing left: doctor passes, and --fix has nothing to do (and journals nothing).
    let (code, _) = doctor_json(dir, None);
    assert_eq!(code, 0);
    let idle = run(dir, &["doctor", "--fix"]);
    assert_eq!(idle.code, 0, "{}{}", idle.stdout, idle.stderr);
    assert!(
        idle.stdout
            .contains("doctor --fix has nothing it can change"),
        "{}",
        idle.stdout
    );
    assert_eq!(support::journal_text(dir, "doctor"), journal);
}

#[test]
fn doctor_fix_with_a_plan_journals_in_the_plans_rollout() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo_state(dir, |state| {
        entitle::sandbox::admin::break_prerequisites(state, true, false);
    });
    let plan = repository(DEMO_PLAN);
    let fixed = run(dir, &["doctor", &plan, "--fix", "--auto-approve"]);
    assert_eq!(fixed.code, 0, "{}{}", fixed.stdout, fixed.stderr);
    assert!(
        fixed
            .stdout
            .contains("done link License Manager to the organisation"),
        "{}",
        fixed.stdout
    );
    assert!(
        fixed.stdout.contains("the checks again:"),
        "{}",
        fixed.stdout
    );
    assert!(saved(dir).license_manager.enable_integration);
    let journal = support::journal_text(dir, "claude-sonnet-4-5");
    assert!(
        journal.contains(r#""command":"doctor --fix""#)
            && journal.contains("UpdateServiceSettings"),
        "{journal}"
    );
    assert!(!support::journal_exists(dir, "doctor"));
}

#[test]
fn doctor_fix_never_enables_all_features_and_says_so() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo_state(dir, |state| {
        state.organization.feature_set = "CONSOLIDATED_BILLING".into();
        state.service_access.clear();
    });
    let result = run(
        dir,
        &["--output", "json", "doctor", "--fix", "--auto-approve"],
    );
    assert_eq!(result.code, 1, "{}", result.stderr);
    let document: Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(document["fix"]["fixes"], serde_json::json!([]));
    assert!(
        document["fix"]["feature_set_note"]
            .as_str()
            .unwrap()
            .starts_with("doctor --fix never enables all features"),
        "{document:#}"
    );
    let left: Vec<&str> = document["fix"]["not_fixed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|check| check["id"].as_str().unwrap())
        .collect();
    assert!(
        left.contains(&"feature-set") && left.contains(&"trusted-access-marketplace"),
        "{left:?}"
    );
    assert_eq!(saved(dir).organization.feature_set, "CONSOLIDATED_BILLING");
    assert!(saved(dir).service_access.is_empty());
}

#[test]
fn a_missing_service_linked_role_fails_with_the_command_that_creates_it() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo_state(dir, |state| {
        entitle::sandbox::admin::remove_role(
            state,
            DEMO_MANAGEMENT_ACCOUNT,
            "AWSServiceRoleForMarketplaceLicenseManagement",
        )
        .unwrap();
    });
    let (code, document) = doctor_json(dir, None);
    assert_eq!(code, 1, "{document:#}");
    assert_check(
        &document,
        "service-linked-role-marketplace",
        "fail",
        &format!(
            "`AWSServiceRoleForMarketplaceLicenseManagement` does not exist in `{DEMO_MANAGEMENT_ACCOUNT}`"
        ),
        "`aws iam create-service-linked-role --aws-service-name license-management.marketplace.amazonaws.com`",
    );
    others_pass(&document, &["service-linked-role-marketplace"]);
}

/// The accounts a `member-role` check's detail names, in order.
fn named_accounts(detail: &str) -> Vec<String> {
    detail
        .split('`')
        .filter(|part| part.len() == 12 && part.bytes().all(|byte| byte.is_ascii_digit()))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_member_role_missing_in_a_sampled_account_is_named() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo_state(dir, |_| {});
    let role = "OrganizationAccountAccessRole";
    let (code, document) = {
        let result = run(dir, &["--output", "json", "doctor", "--member-role", role]);
        (
            result.code,
            serde_json::from_str::<Value>(&result.stdout).unwrap(),
        )
    };
    assert_eq!(code, 0, "{document:#}");
    let detail = check(&document, "member-role")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.starts_with(&format!("`{role}` was assumed in 3 sampled accounts of ")),
        "{detail}"
    );
    let sampled = named_accounts(&detail);
    assert_eq!(sampled.len(), 3, "{detail}");
    assert!(!sampled.contains(&DEMO_MANAGEMENT_ACCOUNT.to_owned()));

    let broken = sampled[1].clone();
    demo_state(dir, |state| {
        entitle::sandbox::admin::remove_role(state, &broken, role).unwrap();
    });
    let result = run(dir, &["--output", "json", "doctor", "--member-role", role]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    let document: Value = serde_json::from_str(&result.stdout).unwrap();
    let found = check(&document, "member-role");
    assert_eq!(found["verdict"], "fail", "{found:#}");
    let detail = found["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!(
            "`{role}` could not be assumed in 1 of 3 sampled accounts of "
        )),
        "{detail}"
    );
    assert_eq!(named_accounts(detail.split(": ").nth(1).unwrap()), [broken]);
    assert!(
        found["fix"]
            .as_str()
            .unwrap()
            .contains("--member-role NAME")
    );
    others_pass(&document, &["member-role"]);

    // The plan's `member_role` is tried the same way, without the flag; without either, no check.
    let plan = dir.join("member.toml");
    std::fs::write(
        &plan,
        format!(
            "version = 1\nname = \"member\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\
             member_role = \"{role}\"\n\n[[phase]]\nname = \"all\"\nous = [\"Workloads\"]\n"
        ),
    )
    .unwrap();
    let (code, document) = doctor_json(dir, Some(plan.to_str().unwrap()));
    assert_eq!(code, 1, "{document:#}");
    assert_eq!(check(&document, "member-role")["verdict"], "fail");
    let (_, document) = doctor_json(dir, None);
    assert!(
        document["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|check| check["id"] != "member-role")
    );
}

#[test]
fn doctor_fix_refuses_a_delegated_administrator_it_cannot_register_before_changing_anything() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    demo_state(dir, |state| {
        entitle::sandbox::admin::break_prerequisites(state, false, false);
    });
    for (account, refusal) in [
        (
            DEMO_MANAGEMENT_ACCOUNT,
            "is the management account, which cannot be its own delegated administrator",
        ),
        (
            "12345",
            "`--delegated-admin 12345` is not an account id (12 digits)",
        ),
    ] {
        let result = run(
            dir,
            &[
                "doctor",
                "--fix",
                "--auto-approve",
                "--delegated-admin",
                account,
            ],
        );
        assert_eq!(result.code, 1);
        assert!(result.stderr.contains(refusal), "{}", result.stderr);
        let state = saved(dir);
        assert!(
            TRUSTED
                .iter()
                .all(|principal| !state.service_access.contains_key(*principal)),
            "nothing was changed"
        );
        assert!(!state.license_manager.enable_integration);
    }
    assert!(!support::journal_exists(dir, "doctor"));
}
