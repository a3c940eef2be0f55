//! Plan files at the library level: every example in `plans/` loads and plans against the demo
//! organisation, and each kind of bad plan gives one clear error with its location.
// Test helpers outside `#[test]` functions panic on a broken fixture, as the tests do.
#![allow(clippy::unwrap_used)]

mod fixtures;

use std::collections::BTreeMap;

use entitle::model::plan::parse_plan;
use entitle::model::{Account, AccountId, AccountState, LicenseStatus, OrgTree, ParentId};
use entitle::planner::{PlanError, PlanOptions, plan};
use fixtures::{demo_tree, observed};

#[test]
fn every_example_plan_loads_and_plans() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let name = format!("plans/{}", path.file_name().unwrap().to_string_lossy());
        let rollout = parse_plan(&text, &name).unwrap_or_else(|errors| panic!("{name}:\n{errors}"));
        let result = plan(
            &rollout,
            &demo_tree(),
            &observed(vec![], vec![]),
            &PlanOptions::default(),
        );
        let planned = result.unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(
            planned.has_changes(),
            "{name} plans nothing on an empty organisation"
        );
    }
    assert!(seen >= 3, "expected the three example plans, found {seen}");
}

const BASE: &str = r#"version = 1
name = "demo"

[entitlement]
product = "prod-mxcfnwvpd6kb4"

[[phase]]
name = "pilot"
accounts = ["111111111111"]
"#;

/// The single error of a plan that fails to parse.
fn parse_error(text: &str) -> String {
    let errors = parse_plan(text, "plans/bad.toml").expect_err("the plan should be refused");
    assert_eq!(
        errors.diagnostics.len(),
        1,
        "expected one error, got:\n{errors}"
    );
    errors.to_string()
}

/// The single error of a plan that parses but does not fit the demo organisation or license.
fn plan_error(text: &str, tree: &OrgTree) -> String {
    let rollout = parse_plan(text, "plans/bad.toml").unwrap_or_else(|errors| panic!("{errors}"));
    match plan(
        &rollout,
        tree,
        &observed(vec![], vec![]),
        &PlanOptions::default(),
    ) {
        Err(PlanError::PlanFile(errors)) => {
            assert_eq!(
                errors.diagnostics.len(),
                1,
                "expected one error, got:\n{errors}"
            );
            errors.to_string()
        }
        other => panic!("expected a plan-file error, got {other:?}"),
    }
}

#[test]
fn syntax_error() {
    let error = parse_error(&BASE.replace("name = \"pilot\"", "name = \"pilot"));
    assert!(error.starts_with("error: invalid TOML"), "{error}");
    assert!(error.contains("--> plans/bad.toml:8:"), "{error}");
}

#[test]
fn unknown_key_with_suggestion() {
    let error = parse_error(&BASE.replace("accounts =", "organization = true\nacounts ="));
    assert_eq!(
        error,
        "error: unknown key `acounts` in phase #1, did you mean `accounts`?\n  --> plans/bad.toml:10:1"
    );
}

#[test]
fn wrong_type() {
    let error = parse_error(&BASE.replace(
        "accounts = [\"111111111111\"]",
        "accounts = \"111111111111\"",
    ));
    assert!(error.contains("wrong type in phase #1"), "{error}");
    assert!(error.contains("--> plans/bad.toml:9:12"), "{error}");
}

#[test]
fn no_phases() {
    let text = BASE.split("[[phase]]").next().unwrap();
    let error = parse_error(text);
    assert!(
        error.starts_with("error: the plan has no phases\n  --> plans/bad.toml:"),
        "{error}"
    );
    assert!(
        error.contains("hint: add at least one `[[phase]]`"),
        "{error}"
    );
}

#[test]
fn duplicate_phase_names() {
    let text = format!("{BASE}\n[[phase]]\nname = \"pilot\"\nous = [\"Sandbox\"]\n");
    let error = parse_error(&text);
    assert_eq!(
        error,
        "error: duplicate phase name `pilot`\n  --> plans/bad.toml:12:8\n  hint: the first phase of that name is on line 8; phase names must be unique"
    );
}

#[test]
fn unknown_operation() {
    let error = parse_error(&BASE.replace(
        "product = \"prod-mxcfnwvpd6kb4\"",
        "product = \"prod-mxcfnwvpd6kb4\"\noperations = [\"CheckoutLicence\"]",
    ));
    assert!(
        error.starts_with("error: unknown operation `CheckoutLicence`, did you mean `CheckoutLicense`?\n  --> plans/bad.toml:6:15"),
        "{error}"
    );
}

#[test]
fn two_entitlement_selectors() {
    let error = parse_error(&BASE.replace(
        "product = \"prod-mxcfnwvpd6kb4\"",
        "product = \"prod-mxcfnwvpd6kb4\"\nagreement = \"agmt-123\"",
    ));
    assert!(
        error.contains("the entitlement is named more than once"),
        "{error}"
    );
    assert!(error.contains("--> plans/bad.toml:6:13"), "{error}");
}

#[test]
fn bad_gate_values() {
    let error = parse_error(&BASE.replace(
        "accounts = [\"111111111111\"]",
        "accounts = [\"111111111111\"]\ngate = { min_active = \"100%\", bake = \"1 day\" }",
    ));
    assert!(
        error.starts_with("error: `1 day` is not a duration\n  --> plans/bad.toml:10:38"),
        "{error}"
    );
}

#[test]
fn bad_rollout_name() {
    let error = parse_error(&BASE.replace("name = \"demo\"", "name = \"Claude Sonnet\""));
    assert!(
        error.starts_with(
            "error: rollout name `Claude Sonnet` is not a valid name\n  --> plans/bad.toml:2:8"
        ),
        "{error}"
    );
}

#[test]
fn unknown_ou_path_with_near_miss() {
    let error = plan_error(
        &BASE.replace("accounts = [\"111111111111\"]", "ous = [\"ML\"]"),
        &demo_tree(),
    );
    assert_eq!(
        error,
        "error: unknown OU path `ML`\n  --> plans/bad.toml:9:8\n  hint: did you mean `Workloads/ML`? (paths start at the root)"
    );
    let error = plan_error(
        &BASE.replace("accounts = [\"111111111111\"]", "ous = [\"Workload/Web\"]"),
        &demo_tree(),
    );
    assert!(
        error.contains("hint: did you mean `Workloads/Web`?"),
        "{error}"
    );
}

#[test]
fn unknown_account_with_near_miss() {
    let error = plan_error(&BASE.replace("111111111111", "111111111112"), &demo_tree());
    assert_eq!(
        error,
        "error: account `111111111112` is not in the organisation\n  --> plans/bad.toml:9:13\n  hint: did you mean `111111111111` (ml-prod)?"
    );
}

#[test]
fn unknown_tag_key() {
    let error = plan_error(
        &BASE.replace(
            "accounts = [\"111111111111\"]",
            "tags = { bedrok = \"approved\" }",
        ),
        &demo_tree(),
    );
    assert!(error.starts_with("error: no account has the tag key `bedrok`\n  --> plans/bad.toml:9:10\n  hint: did you mean `bedrock`?"), "{error}");
}

#[test]
fn overlapping_exclusions() {
    // The same OU selected and excluded: caught while parsing.
    let error = parse_error(&BASE.replace(
        "accounts = [\"111111111111\"]",
        "ous = [\"Sandbox\"]\nexclude = { ous = [\"Sandbox\"] }",
    ));
    assert!(error.starts_with("error: phase `pilot` both selects and excludes OU `Sandbox`\n  --> plans/bad.toml:10:20"), "{error}");
    // An exclusion outside the selection removes nothing: caught against the organisation.
    let error = plan_error(
        &BASE.replace(
            "accounts = [\"111111111111\"]",
            "ous = [\"Workloads/Web\"]\nexclude = { ous = [\"Workloads/ML/Sandbox\"] }",
        ),
        &demo_tree(),
    );
    assert!(error.starts_with("error: exclusion of OU `Workloads/ML/Sandbox` removes nothing: phase `pilot` selects nothing in it\n  --> plans/bad.toml:10:20"), "{error}");
}

#[test]
fn operations_the_license_refuses() {
    let rollout = parse_plan(
        &BASE.replace(
            "product = \"prod-mxcfnwvpd6kb4\"",
            "product = \"prod-mxcfnwvpd6kb4\"\noperations = [\"CreateToken\"]",
        ),
        "plans/bad.toml",
    )
    .unwrap();
    let mut seen = observed(vec![], vec![]);
    seen.license
        .allowed_operations
        .remove(&entitle::model::Operation::CreateToken);
    let error = plan(&rollout, &demo_tree(), &seen, &PlanOptions::default()).unwrap_err();
    assert!(
        error.to_string().starts_with(
            "error: the license does not allow passing on `CreateToken`\n  --> plans/bad.toml:6:14"
        ),
        "{error}"
    );
}

#[test]
fn too_many_grants() {
    let demo = demo_tree();
    let accounts = (0..2_001).map(|index| Account {
        id: AccountId::parse(format!("{:012}", 200_000_000_000u64 + index)).unwrap(),
        name: format!("team-{index}"),
        email: format!("team-{index}@example.com"),
        arn: String::new(),
        state: AccountState::Active,
        parent: ParentId::Root(demo.root().id.clone()),
        tags: BTreeMap::from([("bedrock".to_owned(), "approved".to_owned())]),
    });
    let tree = OrgTree::new(
        demo.organization().clone(),
        demo.root().clone(),
        [],
        accounts,
    )
    .unwrap();
    let error = plan_error(
        &BASE.replace(
            "accounts = [\"111111111111\"]",
            "tags = { bedrock = \"approved\" }",
        ),
        &tree,
    );
    assert!(error.starts_with("error: the plan needs 2001 grants by phase `pilot`, more than the 2000 License Manager allows per license\n  --> plans/bad.toml:8:8\n  hint: select whole OUs"), "{error}");
}

#[test]
fn unknown_phase_limit_and_cancelled_license() {
    let rollout = parse_plan(BASE, "plans/x.toml").unwrap();
    let options = PlanOptions {
        phase: Some("pilto".into()),
        ..PlanOptions::default()
    };
    let error = plan(&rollout, &demo_tree(), &observed(vec![], vec![]), &options).unwrap_err();
    assert_eq!(error.to_string(), "the plan has no phase `pilto`");
    assert_eq!(error.hint().as_deref(), Some("did you mean `pilot`?"));
    let mut seen = observed(vec![], vec![]);
    seen.license = fixtures::license(LicenseStatus::Deleted);
    let error = plan(&rollout, &demo_tree(), &seen, &PlanOptions::default()).unwrap_err();
    assert!(matches!(error, PlanError::LicenseNotAvailable { .. }));
}

fn principals(text: &str) -> Vec<String> {
    let rollout = parse_plan(text, "plans/x.toml").unwrap_or_else(|errors| panic!("{errors}"));
    let planned = plan(
        &rollout,
        &demo_tree(),
        &observed(vec![], vec![]),
        &PlanOptions::default(),
    )
    .unwrap();
    planned
        .changes
        .iter()
        .map(|change| format!("{} {}", change.principal.kind(), change.principal.id()))
        .collect()
}

#[test]
fn organization_with_an_exclusion_splits_into_clean_ous_and_accounts() {
    let text = BASE.replace(
        "accounts = [\"111111111111\"]",
        "organization = true\nexclude = { ous = [\"Workloads/ML/Sandbox\"] }",
    );
    // Web is whole; ML loses its sandbox; Sandbox holds a suspended account; 888 sits at the root.
    assert_eq!(
        principals(&text),
        [
            "ou ou-demo-web",
            "account 888888888888",
            "account 666666666666",
            "account 111111111111",
            "account 222222222222",
        ]
    );
}

#[test]
fn grant_to_accounts_and_ous() {
    let text = BASE.replace(
        "accounts = [\"111111111111\"]",
        "ous = [\"Workloads\"]\ngrant_to = \"accounts\"",
    );
    assert_eq!(principals(&text).len(), 5);
    let text = BASE.replace(
        "accounts = [\"111111111111\"]",
        "ous = [\"Workloads\", \"Workloads/ML\", \"Sandbox\"]\ngrant_to = \"ous\"",
    );
    assert_eq!(
        principals(&text),
        ["ou ou-demo-sandbox", "ou ou-demo-workloads"]
    );
    let text = BASE.replace("accounts = [\"111111111111\"]", "organization = true");
    assert_eq!(principals(&text), ["organization o-demo123456"]);
}

#[test]
fn accounts_that_fill_an_ou_are_still_granted_one_by_one() {
    let text = BASE.replace("\"111111111111\"", "\"444444444444\", \"555555555555\"");
    assert_eq!(
        principals(&text),
        ["account 444444444444", "account 555555555555"]
    );
}

/// A type error in a phase does not hide the phase's other problems.
#[test]
fn a_type_error_in_a_phase_does_not_hide_its_other_problems() {
    let text = "version = 1\nname = \"r\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\n\
                [[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\"]\n\n\
                [[phase]]\nname = \"pilot\"\nous = [\"Workloads\"]\n\
                exclude = { ous = [\"Workloads\"] }\ngrant_to = 3\n";
    let errors = parse_plan(text, "r.toml").unwrap_err();
    let messages: Vec<&str> = errors
        .diagnostics
        .iter()
        .map(|diagnostic| diagnostic.message.as_str())
        .collect();
    for expected in [
        "wrong type in phase #2: integer `3`, expected a string",
        "duplicate phase name `pilot`",
        "phase `pilot` both selects and excludes OU `Workloads`",
    ] {
        assert!(
            messages.contains(&expected),
            "{expected:?} missing from {messages:#?}"
        );
    }
}
