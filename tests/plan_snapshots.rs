//! Snapshots of `entitle plan` output (human and JSON) for the situations a person meets: the
//! first plan, a partial apply, drift, an unowned grant, a phase-limited plan, a blocked phase,
//! superseded grants retired, and a cancelled agreement.
// Test helpers outside `#[test]` functions panic on a broken fixture, as the tests do.
#![allow(clippy::unwrap_used)]

mod fixtures;
#[path = "support/schema.rs"]
mod schema;

use entitle::model::plan::parse_plan;
use entitle::model::{DistributedGrant, GrantStatus, LicenseStatus, ReceivedGrant};
use entitle::planner::{Action, GateFacts, Observed, Plan, PlanOptions, plan};
use entitle::ui::Style;
use entitle::ui::plan::{PlanDocument, render_human};
use fixtures::*;

const NOW: i64 = 1_800_000_000;
const HOUR: i64 = 3_600;

fn rollout() -> entitle::model::RolloutPlan {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/claude-sonnet-4-5.toml"),
    )
    .unwrap();
    parse_plan(&text, "plans/claude-sonnet-4-5.toml").unwrap()
}

fn run(observed: &Observed, options: &PlanOptions) -> Plan {
    plan(&rollout(), &demo_tree(), observed, options).unwrap()
}

fn human(plan: &Plan) -> String {
    let mut out = Vec::new();
    render_human(plan, &Style::new(false), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn check(name: &str, plan: &Plan) {
    insta::assert_snapshot!(format!("{name}_human"), human(plan));
    insta::assert_json_snapshot!(format!("{name}_json"), PlanDocument::new(plan));
    // Each situation's document matches docs/schema/plan.schema.json too.
    schema::assert_valid(&serde_json::to_value(PlanDocument::new(plan)).unwrap());
}

fn options() -> PlanOptions {
    PlanOptions {
        now: NOW,
        ..PlanOptions::default()
    }
}

const ROLLOUT: &str = "claude-sonnet-4-5";

fn pilot_grants(first: GrantStatus, second: GrantStatus) -> Vec<DistributedGrant> {
    vec![
        owned_grant(ROLLOUT, "pilot", 1, &account_arn("111111111111"), first),
        owned_grant(ROLLOUT, "pilot", 2, &account_arn("222222222222"), second),
    ]
}

fn received_for(grants: &[DistributedGrant], accounts: &[&str]) -> Vec<ReceivedGrant> {
    grants
        .iter()
        .zip(accounts)
        .map(|(grant, account)| {
            let status = if grant.status == GrantStatus::Active {
                GrantStatus::Active
            } else {
                GrantStatus::Disabled
            };
            received(account, grant, status)
        })
        .collect()
}

#[test]
fn first_plan() {
    let plan = run(&observed(vec![], vec![]), &options());
    assert_eq!(plan.summary.create, 2);
    assert!(plan.phases[1].blocked.is_some());
    check("first_plan", &plan);
}

#[test]
fn after_partial_apply() {
    let grants = pilot_grants(GrantStatus::Active, GrantStatus::Disabled);
    let received = received_for(&grants, &["111111111111", "222222222222"]);
    let plan = run(&observed(grants, received), &options());
    assert_eq!(plan.summary.activate, 1);
    check("after_partial_apply", &plan);
}

#[test]
fn drift_deleted_and_rejected() {
    let mut grants = pilot_grants(GrantStatus::Deleted, GrantStatus::Rejected);
    grants[1].status_reason = Some("rejected by the account owner".into());
    let plan = run(&observed(grants, vec![]), &options());
    assert_eq!(plan.summary.recreate, 2);
    // A recreated grant gets the next generation, hence a new client token.
    let tokens: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.phase == "pilot")
        .filter_map(|c| c.client_token.clone())
        .collect();
    assert_eq!(tokens.len(), 2);
    check("drift", &plan);
}

#[test]
fn unowned_grant_on_the_same_license() {
    let mut grants = pilot_grants(GrantStatus::Active, GrantStatus::Active);
    let mut by_hand = owned_grant(
        "other",
        "x",
        9,
        &account_arn("444444444444"),
        GrantStatus::Active,
    );
    by_hand.tags.clear();
    by_hand.name = "granted-by-hand".into();
    grants.push(by_hand);
    let received = received_for(&grants[..2], &["111111111111", "222222222222"]);
    let plan = run(&observed(grants, received), &options());
    assert_eq!(plan.unowned.len(), 1);
    assert!(plan.changes.iter().all(|c| {
        c.before
            .as_ref()
            .is_none_or(|b| b.name != "granted-by-hand")
    }));
    check("unowned", &plan);
}

#[test]
fn phase_limited_plan_leaves_later_grants_alone() {
    let mut grants = pilot_grants(GrantStatus::Active, GrantStatus::Active);
    // A grant of a later phase: never deleted by `--phase pilot`.
    grants.push(owned_grant(
        ROLLOUT,
        "everyone",
        3,
        ORG_ARN,
        GrantStatus::Disabled,
    ));
    // A pilot grant for an account the pilot no longer names, which the workloads phase reaches
    // through its OU grant: `--phase pilot` does not plan that phase, so it leaves the account's
    // access alone (it used to delete it, saying no phase targets the account).
    grants.push(owned_grant(
        ROLLOUT,
        "pilot",
        4,
        &account_arn("555555555555"),
        GrantStatus::Active,
    ));
    let received = received_for(&grants[..2], &["111111111111", "222222222222"]);
    let observed = observed(grants, received);
    let limited = PlanOptions {
        phase: Some("pilot".into()),
        ..options()
    };
    let plan = run(&observed, &limited);
    assert_eq!(plan.summary.delete, 0);
    assert!(plan.changes.iter().all(|c| c.principal_arn != ORG_ARN));
    assert!(
        plan.changes
            .iter()
            .all(|c| c.principal_arn != account_arn("555555555555")),
        "{:?}",
        plan.changes
    );
    check("phase_limited", &plan);

    // Planned whole, the workloads phase's OU grant is made, and the account's own grant is
    // deleted in that phase once the OU grant is activated (never before: the account keeps its
    // access), saying which phase reaches the account, and how.
    let whole = run(&observed, &options());
    let deleted: Vec<_> = whole
        .changes
        .iter()
        .filter(|c| c.principal_arn == account_arn("555555555555"))
        .collect();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0].action, Action::Delete);
    assert_eq!(deleted[0].phase, "workloads");
    let web = whole
        .changes
        .iter()
        .find(|c| c.action == Action::Create && c.principal_arn.contains(":ou/"))
        .expect("the workloads phase's OU grant is created");
    assert_eq!(
        deleted[0].once_active.as_deref(),
        Some(web.principal_arn.as_str())
    );
    assert_eq!(
        deleted[0].reason,
        format!(
            "phase `workloads` reaches this account through its grant to {}, so the account's own grant goes once that grant is activated: delete the grant",
            web.principal_name
        ),
    );
}

#[test]
fn blocked_phase_while_baking() {
    let grants = pilot_grants(GrantStatus::Active, GrantStatus::Active);
    let received = received_for(&grants, &["111111111111", "222222222222"]);
    let options = PlanOptions {
        gate_facts: GateFacts {
            share_reached: [("pilot".to_owned(), NOW - 3 * HOUR)].into(),
        },
        ..options()
    };
    let plan = run(&observed(grants, received), &options);
    assert_eq!(
        plan.phases[1].blocked.as_deref(),
        Some("phase `pilot` has baked 3h of 1d (21h left)")
    );
    assert!(!plan.has_changes());
    check("blocked", &plan);
}

#[test]
fn org_grant_active_retires_narrower_grants() {
    let mut grants = pilot_grants(GrantStatus::Active, GrantStatus::Active);
    grants.push(owned_grant(
        ROLLOUT,
        "workloads",
        3,
        &ou_arn("ou-demo-web"),
        GrantStatus::Active,
    ));
    grants.push(owned_grant(
        ROLLOUT,
        "everyone",
        4,
        ORG_ARN,
        GrantStatus::Active,
    ));
    let mut received = Vec::new();
    for account in [
        "111111111111",
        "222222222222",
        "333333333333",
        "444444444444",
        "555555555555",
        "666666666666",
        "888888888888",
    ] {
        received.push(fixtures::received(account, &grants[3], GrantStatus::Active));
    }
    let options = PlanOptions {
        gate_facts: GateFacts {
            share_reached: [
                ("pilot".to_owned(), NOW - 100 * HOUR),
                ("workloads".to_owned(), NOW - 100 * HOUR),
            ]
            .into(),
        },
        ..options()
    };
    let plan = run(&observed(grants, received), &options);
    assert_eq!(plan.summary.delete, 3, "{:#?}", plan.changes);
    check("retire_superseded", &plan);
}

#[test]
fn cancelled_agreement_is_refused() {
    let mut seen = observed(vec![], vec![]);
    seen.license = license(LicenseStatus::Deleted);
    let error = plan(&rollout(), &demo_tree(), &seen, &options()).unwrap_err();
    insta::assert_snapshot!(
        "cancelled_agreement",
        format!(
            "error: {error}\n  hint: {}",
            error.hint().unwrap_or_default()
        )
    );
}

#[test]
fn plans_are_deterministic() {
    let grants = pilot_grants(GrantStatus::Active, GrantStatus::Disabled);
    let mut reversed = grants.clone();
    reversed.reverse();
    let a = run(&observed(grants, vec![]), &options());
    let b = run(&observed(reversed, vec![]), &options());
    assert_eq!(a, b);
}

#[test]
fn every_problem_of_a_file_at_once() {
    let text = r#"version = 1
name = "Claude Rollout"

[entitlement]
product = "prod-mxcfnwvpd6kb4"
operations = ["CheckoutLicense", "CheckoutLicence"]
activation = "grantr"

[[phase]]
name = "pilot"
acounts = ["111111111111"]
gate = { min_active = "120%", bake = "1 day" }

[[phase]]
name = "pilot"
ous = ["Workloads"]
exclude = { ous = ["Workloads"] }
grant_to = 3
"#;
    let errors = parse_plan(text, "plans/broken.toml").unwrap_err();
    let mut out = Vec::new();
    entitle::ui::plan::render_diagnostics(&errors, &Style::new(false), &mut out).unwrap();
    insta::assert_snapshot!("many_problems", String::from_utf8(out).unwrap());
}
