//! `entitle guardrails` through the real binary: the printed service control policy parses, holds
//! exactly the statements and actions documented, `--deny-other-models` leaves exactly the plan's
//! models invocable, and an unknown product is refused by name.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::{Ran, entitle, ran, repository};

const DEMO_PLAN: &str = "plans/claude-sonnet-4-5.toml";

fn run(dir: &Path, args: &[&str]) -> Ran {
    let sandbox = format!("--sandbox={}", dir.join("state.json").display());
    ran(entitle(None).current_dir(dir).arg(sandbox).args(args))
}

fn write_plan(dir: &Path, entitlement: &str) -> String {
    let plan = dir.join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "version = 1\nname = \"guarded\"\n\n[entitlement]\n{entitlement}\n\n[[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\"]\n"
        ),
    )
    .unwrap();
    plan.display().to_string()
}

#[test]
fn the_policy_denies_subscribing_in_member_accounts_and_nothing_else() {
    // No credentials and no sandbox: a product plan needs no AWS call.
    let result = ran(entitle(None).args(["guardrails", &repository(DEMO_PLAN)]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let policy: Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(
        policy,
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DenyMarketplaceSubscribeInMemberAccounts",
                "Effect": "Deny",
                "Action": ["aws-marketplace:Subscribe"],
                "Resource": "*",
            }],
        })
    );
    assert!(
        result
            .stderr
            .contains("note: service control policies never apply to the management account"),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains("aws organizations attach-policy"));
    let quiet = ran(entitle(None).args(["-q", "guardrails", &repository(DEMO_PLAN)]));
    assert_eq!(quiet.stderr, "");
    assert_eq!(quiet.stdout, result.stdout);
}

#[test]
fn deny_other_models_leaves_exactly_the_plans_models() {
    let result =
        ran(entitle(None).args(["guardrails", &repository(DEMO_PLAN), "--deny-other-models"]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let policy: Value = serde_json::from_str(&result.stdout).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    let models = &statements[1];
    assert_eq!(models["Effect"], "Deny");
    assert_eq!(
        models["Action"],
        json!([
            "bedrock:InvokeModel",
            "bedrock:InvokeModelWithResponseStream"
        ])
    );
    assert!(models.get("Resource").is_none(), "{models:#}");
    assert_eq!(
        models["NotResource"],
        json!([
            "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
            "arn:aws:bedrock:*:*:inference-profile/*.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ])
    );

    // Another product, another model: nothing of Sonnet 4.5 stays.
    let directory = tempfile::tempdir().unwrap();
    let haiku = write_plan(directory.path(), "product = \"prod-xdkflymybwmvi\"");
    let result = ran(entitle(None).args([
        "--output",
        "json",
        "guardrails",
        &haiku,
        "--deny-other-models",
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let document: Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(document["format_version"], 1);
    assert_eq!(document["rollout"], "guarded");
    assert_eq!(document["product"], "prod-xdkflymybwmvi");
    assert_eq!(
        document["allowed_models"],
        json!(["anthropic.claude-haiku-4-5-20251001-v1:0"])
    );
    let not_resource = document["policy"]["Statement"][1]["NotResource"]
        .as_array()
        .unwrap();
    assert_eq!(not_resource.len(), 2);
    assert!(
        not_resource.iter().all(|arn| arn
            .as_str()
            .unwrap()
            .ends_with("anthropic.claude-haiku-4-5-20251001-v1:0")),
        "{not_resource:?}"
    );
    assert!(
        document["notes"][0]
            .as_str()
            .unwrap()
            .contains("management account")
    );
}

#[test]
fn an_unknown_product_is_refused_for_deny_other_models_only() {
    let directory = tempfile::tempdir().unwrap();
    let plan = write_plan(directory.path(), "product = \"prod-notinthetable\"");
    let refused = ran(entitle(None).args(["guardrails", &plan, "--deny-other-models"]));
    assert_eq!(refused.code, 1);
    assert_eq!(refused.stdout, "");
    assert!(
        refused.stderr.contains(
            "error: product `prod-notinthetable` is not in entitle's table of Bedrock models"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("hint: the table is src/model/bedrock.rs (`BEDROCK_PRODUCTS`)"),
        "{}",
        refused.stderr
    );
    // Without the flag the Marketplace statement does not depend on the product.
    let allowed = ran(entitle(None).args(["guardrails", &plan]));
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert!(allowed.stdout.contains("aws-marketplace:Subscribe"));
}

#[test]
fn a_plan_naming_an_agreement_learns_its_product_from_aws() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = repository("plans/private-offer-replace.toml");
    let result = run(
        dir,
        &[
            "--output",
            "json",
            "guardrails",
            &plan,
            "--deny-other-models",
        ],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    let document: Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(document["product"], "prod-mxcfnwvpd6kb4");
    assert_eq!(
        document["allowed_models"],
        json!(["anthropic.claude-sonnet-4-5-20250929-v1:0"])
    );
    // Without the flag, no AWS call is needed: it works without credentials.
    let offline = ran(entitle(None).args(["guardrails", &plan]));
    assert_eq!(offline.code, 0, "{}", offline.stderr);
}

#[test]
fn a_broken_plan_is_reported_with_its_location() {
    let directory = tempfile::tempdir().unwrap();
    let plan = write_plan(directory.path(), "product = 5");
    let result = ran(entitle(None).args(["guardrails", &plan]));
    assert_eq!(result.code, 1);
    assert_eq!(result.stdout, "");
    assert!(result.stderr.contains("plan.toml:5:"), "{}", result.stderr);
}
