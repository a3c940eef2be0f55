//! The least-privilege policy against what the commands really call: every command runs against
//! the emulator, the emulator counts the operations it served, and `entitle iam-policy --for X`
//! must name each operation the commands of X made, and nothing that none of them made. The
//! member role's side (`--for member`) is proven the same way by an apply with `--member-role`
//! where account grants wait for their account's acceptance.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use entitle::planner::iam_policy::{MANAGEMENT_ACCOUNT_PLACEHOLDER, member_trust_policy};
use entitle::sandbox::State;
use entitle::sandbox::seed::DEMO_ACTIVE_AGREEMENT;
use serde_json::Value;
use support::{SandboxServer, entitle, ran, repository};

/// Needed only on paths a healthy run does not take (see docs/iam-policy.md), per group:
/// discovery lists accounts per parent when `ListAccounts` carries no `Paths` (moto does that);
/// doctor and the prechecks ask for the delegated administrators only when the caller is not the
/// management account; a delete re-reads its grant with GetGrant when AWS says the version it
/// sent is stale; the member role is assumed only with `--member-role` and a grant waiting in
/// PENDING_ACCEPT (proven by `the_member_role_policies_name_exactly_what_acceptance_calls`);
/// an OU is described only when a plan names it by id, and its parents listed only when that
/// answer carries no `Path`; cleanup lists OUs only without `Paths`; a grant's tags are read only
/// for a grant named before grant names carried their owner (all proven by tests/cli_reads.rs and
/// tests/discover_needed.rs).
const CONDITIONAL: &[(&str, &str)] = &[
    ("*", "organizations:ListAccountsForParent"),
    ("*", "organizations:DescribeOrganizationalUnit"),
    ("*", "organizations:ListParents"),
    ("cleanup", "organizations:ListOrganizationalUnitsForParent"),
    ("*", "license-manager:ListTagsForResource"),
    ("*", "organizations:ListDelegatedAdministrators"),
    ("cleanup", "license-manager:GetGrant"),
    ("*", "sts:AssumeRole"),
    // AWS authorises it as the caller when trusted access or License Manager's link makes a
    // service create its service-linked role; entitle never calls it (the emulator does not model
    // that authorisation).
    ("*", "iam:CreateServiceLinkedRole"),
];

/// The reads `apply::prechecks::require` makes besides DescribeOrganization: `apply` and
/// `activate` make them once they call it before changing anything.
const PRECHECKS: &[&str] = &[
    "organizations:ListAWSServiceAccessForOrganization",
    "license-manager:GetServiceSettings",
];

/// The emulator's call counts per operation, as IAM actions (STS GetCallerIdentity needs no
/// permission).
fn served(endpoint: &str) -> BTreeMap<String, u64> {
    let stats = ran(entitle(None).args([
        "sandbox",
        "stats",
        "--endpoint",
        endpoint,
        "--output",
        "json",
    ]));
    let stats: Value = serde_json::from_str(&stats.stdout).unwrap();
    stats["operations"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(name, counts)| {
            let (service, operation) = name.split_once('.')?;
            let prefix = match service {
                "Organizations" => "organizations",
                "LicenseManager" => "license-manager",
                "MarketplaceAgreement" => "aws-marketplace",
                "Bedrock" => "bedrock",
                "CostExplorer" => "ce",
                "Sts" if operation != "GetCallerIdentity" => "sts",
                "Iam" => "iam",
                _ => return None,
            };
            let calls = counts["calls"].as_u64().unwrap_or(0);
            (calls > 0).then(|| (format!("{prefix}:{operation}"), calls))
        })
        .collect()
}

/// The actions called between two snapshots.
fn called(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeSet<String> {
    after
        .iter()
        .filter(|(action, calls)| before.get(*action).copied().unwrap_or(0) < **calls)
        .map(|(action, _)| action.clone())
        .collect()
}

fn policy_actions(commands: &str) -> BTreeSet<String> {
    let printed = ran(entitle(None).args(["iam-policy", "--for", commands]));
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    let policy: Value = serde_json::from_str(&printed.stdout).unwrap();
    assert_eq!(policy["Version"], "2012-10-17");
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|statement| {
            assert_eq!(statement["Effect"], "Allow");
            let resource = if statement["Action"][0] == "sts:AssumeRole" {
                "arn:aws:iam::*:role/*"
            } else if statement["Action"][0]
                .as_str()
                .is_some_and(|action| action.starts_with("iam:"))
            {
                // doctor's GetRole and --fix's CreateServiceLinkedRole: service-linked roles only.
                "arn:aws:iam::*:role/aws-service-role/*"
            } else {
                "*"
            };
            assert_eq!(statement["Resource"], resource, "{statement:#}");
        })
        .flat_map(|statement| statement["Action"].as_array().unwrap().clone())
        .map(|action| action.as_str().unwrap().to_owned())
        .collect()
}

/// Runs `entitle <args>` against the emulator and expects `code`.
fn step(dir: &Path, endpoint: &str, args: &[&str], code: i32) {
    let result = ran(entitle(Some(endpoint)).current_dir(dir).args(args));
    assert_eq!(
        result.code, code,
        "{args:?}\n{}\n{}",
        result.stdout, result.stderr
    );
}

/// What is wrong with `--for group` against the actions its commands `used`: nothing missing,
/// nothing unused (but the conditional ones).
fn check(group: &str, used: &BTreeSet<String>) -> Vec<String> {
    let allowed = policy_actions(group);
    let mut problems = Vec::new();
    let missing: Vec<&String> = used.difference(&allowed).collect();
    if !missing.is_empty() {
        problems.push(format!("`--for {group}` misses {missing:?}"));
    }
    let unused: Vec<&String> = allowed
        .difference(used)
        .filter(|action| {
            !CONDITIONAL.iter().any(|(only, conditional)| {
                (*only == "*" || *only == group) && action == conditional
            })
        })
        .collect();
    if !unused.is_empty() {
        let waiting = if group == "apply"
            && unused
                .iter()
                .all(|action| PRECHECKS.contains(&action.as_str()))
        {
            " (apply and activate do not call `apply::prechecks::require` yet)"
        } else {
            ""
        };
        problems.push(format!(
            "`--for {group}` grants {unused:?}, which its commands never call{waiting}"
        ));
    }
    problems
}

#[test]
fn the_policy_names_exactly_the_operations_the_commands_call() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state = dir.join("state.json");
    let server = SandboxServer::start(&["--state", &state.display().to_string()]);
    let endpoint = server.endpoint.clone();
    let demo = repository("plans/claude-sonnet-4-5.toml");
    let by_agreement = repository("plans/private-offer-replace.toml");
    let member = dir.join("member.toml");
    std::fs::write(
        &member,
        "version = 1\nname = \"member\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\
         activation = \"member\"\n\n[[phase]]\nname = \"infra\"\nous = [\"Infrastructure\"]\n",
    )
    .unwrap();
    let member = member.display().to_string();

    // Changing commands: create and activate (by product and by agreement), activate
    // centrally, delete, tear down.
    let start = served(&endpoint);
    step(
        dir,
        &endpoint,
        &["apply", &by_agreement, "--auto-approve", "--ignore-gates"],
        0,
    );
    step(
        dir,
        &endpoint,
        &["apply", &by_agreement, "--destroy", "--auto-approve"],
        0,
    );
    step(
        dir,
        &endpoint,
        &[
            "apply",
            &demo,
            "--phase",
            "workloads",
            "--auto-approve",
            "--ignore-gates",
        ],
        0,
    );
    step(dir, &endpoint, &["apply", &member, "--auto-approve"], 0);
    step(dir, &endpoint, &["activate", &member, "--auto-approve"], 0);
    step(
        dir,
        &endpoint,
        &["apply", &member, "--destroy", "--auto-approve"],
        0,
    );
    let after_apply = served(&endpoint);
    let apply = called(&start, &after_apply);
    let mut problems = check("apply", &apply);

    // Read-only commands, with grants to read.
    step(dir, &endpoint, &["discover"], 0);
    step(dir, &endpoint, &["plan", &demo], 0);
    step(dir, &endpoint, &["plan", &by_agreement], 0);
    step(dir, &endpoint, &["status", &demo], 0);
    step(dir, &endpoint, &["doctor"], 0);
    step(dir, &endpoint, &["doctor", &demo], 0);
    step(dir, &endpoint, &["doctor", &by_agreement], 0);
    step(
        dir,
        &endpoint,
        &["guardrails", &demo, "--deny-other-models"],
        0,
    );
    let after_plan = served(&endpoint);
    let plan = called(&after_apply, &after_plan);
    problems.extend(check("plan", &plan));

    // The usage report, by product and by agreement (whose plan selects by tag): nothing is
    // recorded, so nothing is flagged.
    step(dir, &endpoint, &["usage", &demo], 0);
    step(dir, &endpoint, &["usage", &by_agreement], 0);
    let usage = called(&after_plan, &served(&endpoint));
    problems.extend(check("usage", &usage));

    // doctor --fix from a broken organisation (with a delegated administrator, a member role and
    // both plans), and the use-case form submitted again after it was removed.
    let before_fix = served(&endpoint);
    for action in ["break-prerequisites", "remove-use-case-form"] {
        let broken = ran(entitle(None).args(["sandbox", action, "--endpoint", &endpoint]));
        assert_eq!(broken.code, 0, "{action}: {}", broken.stderr);
    }
    step(
        dir,
        &endpoint,
        &[
            "doctor",
            "--fix",
            "--auto-approve",
            "--delegated-admin",
            "222222222222",
            "--member-role",
            "OrganizationAccountAccessRole",
        ],
        0,
    );
    let form = repository("docs/use-case-form.example.json");
    step(
        dir,
        &endpoint,
        &["use-case", "submit", "--form", &form, "--auto-approve"],
        0,
    );
    step(dir, &endpoint, &["doctor", "--fix", &demo], 0);
    step(dir, &endpoint, &["doctor", "--fix", &by_agreement], 0);
    let fix = called(&before_fix, &served(&endpoint));
    // `--for fix` is their writes, attached beside `--for plan` (doctor's reads).
    let reads = policy_actions("plan");
    let writes: BTreeSet<String> = fix.difference(&reads).cloned().collect();
    problems.extend(check("fix", &writes));

    // Cleanup after the subscription is cancelled.
    let cancelled = ran(entitle(None).args([
        "sandbox",
        "cancel-agreement",
        DEMO_ACTIVE_AGREEMENT,
        "--endpoint",
        &endpoint,
    ]));
    assert_eq!(cancelled.code, 0, "{}", cancelled.stderr);
    let before_cleanup = served(&endpoint);
    step(
        dir,
        &endpoint,
        &["cleanup", "--auto-approve", "--include-unowned"],
        0,
    );
    let cleanup = called(&before_cleanup, &served(&endpoint));
    problems.extend(check("cleanup", &cleanup));

    let all: BTreeSet<String> = plan
        .union(&apply)
        .chain(cleanup.iter())
        .chain(usage.iter())
        .chain(fix.iter())
        .cloned()
        .collect();
    problems.extend(check("all", &all));
    server.stop();
    // Every group is checked before failing, so one group's mismatch hides no other's.
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `apply --member-role` where account grants wait in PENDING_ACCEPT (the emulator's
/// `account_grant_acceptance = "member"`): the management account assumes the member role in
/// each account (`sts:AssumeRole`, in `--for apply`) and, as the account, accepts its grant
/// (`license-manager:AcceptGrant`, exactly `--for member`); everything else it calls is in `--for
/// apply`.
#[test]
fn the_member_role_policies_name_exactly_what_acceptance_calls() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state = dir.join("state.json");
    let mut seeded = serde_json::to_value(State::demo()).unwrap();
    seeded["settings"]["account_grant_acceptance"] = "member".into();
    let seeded: State = serde_json::from_value(seeded).unwrap();
    assert_eq!(
        serde_json::to_value(&seeded.settings).unwrap()["account_grant_acceptance"],
        "member",
        "the emulator knows the setting"
    );
    seeded.save(&state).unwrap();
    let server = SandboxServer::start(&["--state", &state.display().to_string()]);
    let endpoint = server.endpoint.clone();
    let demo = repository("plans/claude-sonnet-4-5.toml");

    let start = served(&endpoint);
    step(
        dir,
        &endpoint,
        &[
            "apply",
            &demo,
            "--phase",
            "pilot",
            "--auto-approve",
            "--member-role",
            "OrganizationAccountAccessRole",
        ],
        0,
    );
    let used = called(&start, &served(&endpoint));
    server.stop();
    assert!(used.contains("sts:AssumeRole"), "{used:?}");
    assert!(used.contains("license-manager:AcceptGrant"), "{used:?}");

    let member = policy_actions("member");
    let apply = policy_actions("apply");
    let accepting: BTreeSet<String> = used.difference(&apply).cloned().collect();
    assert_eq!(
        member.difference(&accepting).collect::<Vec<_>>(),
        ["bedrock:GetFoundationModelAvailability"],
        "the member role's policy is what the management account's lacks, and verify's read \
         (proven by `the_verify_policies_name_exactly_what_verify_calls`)"
    );
    assert!(apply.contains("sts:AssumeRole"));
    assert!(
        member.is_disjoint(&policy_actions("all")),
        "the management account never accepts grants itself"
    );
}

/// docs/iam-policy.md shows the member role's trust policy and permissions policy exactly as
/// entitle makes them.
#[test]
fn the_docs_show_the_member_roles_policies_as_entitle_makes_them() {
    let docs = std::fs::read_to_string(repository("docs/iam-policy.md")).unwrap();
    let blocks: Vec<Value> = docs
        .split("```json\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .map(|block| serde_json::from_str(block).unwrap())
        .collect();
    let trust =
        serde_json::to_value(member_trust_policy("aws", MANAGEMENT_ACCOUNT_PLACEHOLDER)).unwrap();
    assert!(
        blocks.contains(&trust),
        "no trust policy block like {trust:#}"
    );
    let printed = ran(entitle(None).args(["iam-policy", "--for", "member"]));
    let member: Value = serde_json::from_str(&printed.stdout).unwrap();
    assert!(
        blocks.contains(&member),
        "no permissions policy block like {member:#}"
    );
}

/// With a journal in S3 (`ENTITLE_JOURNAL`), the policy also names its bucket: objects read,
/// written and (for the commands that lock) deleted under the prefix, the bucket listed under it;
/// without one it names no S3 at all.
#[test]
fn a_journal_in_s3_adds_its_bucket_statements() {
    let with = |commands: &str| -> serde_json::Value {
        let printed = ran(entitle(None)
            .env("ENTITLE_JOURNAL", "s3://team-journal/entitle")
            .args(["iam-policy", "--for", commands]));
        assert_eq!(printed.code, 0, "{}", printed.stderr);
        serde_json::from_str(&printed.stdout).unwrap()
    };
    let apply = with("apply");
    let statements = apply["Statement"].as_array().unwrap();
    let objects = statements
        .iter()
        .find(|statement| statement["Resource"] == "arn:aws:s3:::team-journal/entitle/*")
        .unwrap();
    assert_eq!(
        objects["Action"],
        serde_json::json!(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
    );
    let list = statements
        .iter()
        .find(|statement| statement["Action"] == serde_json::json!(["s3:ListBucket"]))
        .unwrap();
    assert_eq!(list["Resource"], "arn:aws:s3:::team-journal");
    assert_eq!(
        list["Condition"]["StringLike"]["s3:prefix"],
        serde_json::json!(["entitle", "entitle/*"])
    );
    // Read-only commands never delete (they take no lock).
    let plan = with("plan");
    assert!(!plan.to_string().contains("s3:DeleteObject"), "{plan}");
    // No S3 journal, no S3 statement.
    let printed =
        ran(entitle(None)
            .env_remove("ENTITLE_JOURNAL")
            .args(["iam-policy", "--for", "all"]));
    assert!(!printed.stdout.contains("s3:"), "{}", printed.stdout);
}

/// `verify` after a pilot: the management account's calls are exactly `--for verify` (the reads
/// it plans with and `sts:AssumeRole` into each account's member role), and what it calls as the
/// accounts (Bedrock `GetFoundationModelAvailability`) is in `--for member` and in no
/// management-side group.
#[test]
fn the_verify_policies_name_exactly_what_verify_calls() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state = dir.join("state.json");
    let server = SandboxServer::start(&["--state", &state.display().to_string()]);
    let endpoint = server.endpoint.clone();
    let demo = repository("plans/claude-sonnet-4-5.toml");
    // A plan by agreement that selects by tag, before anything is granted (nothing entitled, as
    // it intends); then the demo's pilot, granted.
    let by_agreement = repository("plans/private-offer-replace.toml");
    let start = served(&endpoint);
    step(dir, &endpoint, &["verify", &by_agreement], 0);
    let mut used = called(&start, &served(&endpoint));
    step(
        dir,
        &endpoint,
        &["apply", &demo, "--phase", "pilot", "--auto-approve"],
        0,
    );
    let start = served(&endpoint);
    step(dir, &endpoint, &["verify", &demo], 0);
    used.extend(called(&start, &served(&endpoint)));
    server.stop();
    let member = policy_actions("member");
    assert!(used.contains("sts:AssumeRole"), "{used:?}");
    assert!(
        used.contains("bedrock:GetFoundationModelAvailability"),
        "{used:?}"
    );
    let as_the_accounts: BTreeSet<String> = used.intersection(&member).cloned().collect();
    assert_eq!(
        as_the_accounts.iter().collect::<Vec<_>>(),
        ["bedrock:GetFoundationModelAvailability"]
    );
    let management: BTreeSet<String> = used.difference(&member).cloned().collect();
    let problems = check("verify", &management);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for group in ["plan", "apply", "cleanup", "verify", "all"] {
        assert!(
            !policy_actions(group).contains("bedrock:GetFoundationModelAvailability"),
            "`--for {group}`"
        );
    }
}
