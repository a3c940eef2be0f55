//! What `plan` and `status` read (issue 16), counted by the emulator through the real binary:
//! no OU listed for a plan of accounts, tags read only for the accounts a `match = "all"` phase
//! narrows, and the rollout's grants known by their names (a verified digest) without a
//! ListTagsForResource each; a grant named as entitle named them before is still the rollout's
//! by its tags, and a name that claims the rollout without the right digest is not.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_licensemanager::types::{AllowedOperation, Tag};
use entitle::model::grant::{grant_name, ownership_tags};
use entitle::sandbox::Sandbox;
use entitle::sandbox::faults::Faults;
use entitle::sandbox::seed::DEMO_ACTIVE_LICENSE;
use entitle::sandbox::state::State;
use serde_json::Value;
use support::{Ran, entitle, ran};

async fn start() -> Sandbox {
    Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        State::demo(),
        Faults::none(),
    )
    .await
    .unwrap()
}

/// Calls per `Service.Operation` since the emulator started.
fn calls(sandbox: &Sandbox) -> BTreeMap<String, u64> {
    sandbox
        .stats()
        .into_iter()
        .map(|(operation, stats)| (operation, stats.calls))
        .collect()
}

/// Runs `entitle <args>` against the emulator (blocking: the emulator serves on its own runtime
/// threads) and returns what it printed and the calls it made.
fn run(sandbox: &Sandbox, dir: &Path, args: &[&str]) -> (Ran, BTreeMap<String, u64>) {
    let before = calls(sandbox);
    let done = ran(entitle(Some(&sandbox.endpoint()))
        .current_dir(dir)
        .args(args));
    let made = calls(sandbox)
        .into_iter()
        .map(|(operation, count)| {
            let was = before.get(&operation).copied().unwrap_or(0);
            (operation, count - was)
        })
        .filter(|(_, count)| *count > 0)
        .collect();
    (done, made)
}

fn count(made: &BTreeMap<String, u64>, operation: &str) -> u64 {
    made.get(operation).copied().unwrap_or(0)
}

fn plan_file(dir: &Path, phases: &str) -> String {
    let path = dir.join("plan.toml");
    std::fs::write(
        &path,
        format!(
            "version = 1\nname = \"reads\"\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\
             activation = \"grantor\"\n{phases}"
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// The accounts a JSON plan creates grants for.
fn created_for(stdout: &str) -> Vec<String> {
    let plan: Value = serde_json::from_str(stdout).unwrap();
    let mut accounts: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["action"] == "create")
        .map(|change| change["principal"]["id"].as_str().unwrap().to_owned())
        .collect();
    accounts.sort();
    accounts
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_reads_no_ou_for_accounts_and_the_tags_of_the_accounts_its_tags_narrow_alone() {
    let sandbox = start().await;
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let accounts = sandbox.with_state(|state| state.accounts.len() as u64);

    let plan = plan_file(
        dir,
        "[[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\", \"100000000031\"]\n",
    );
    let (done, made) = run(&sandbox, dir, &["plan", &plan]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(
        count(&made, "Organizations.ListOrganizationalUnitsForParent"),
        0
    );
    assert_eq!(count(&made, "Organizations.ListTagsForResource"), 0);
    // The account's OU is shown by id: its name was not read, and a note says why.
    assert!(
        done.stderr
            .contains("note: OUs shown by id (`ou-...`) were not read by name"),
        "{}",
        done.stderr
    );
    assert!(
        done.stdout
            .contains("ml-pilot-a 111111111111 (ou-sbx0-workload/ou-sbx0-wkldml00)"),
        "{}",
        done.stdout
    );

    // `status --tree` shows every OU by name: it reads them all, one listing per parent.
    let (tree, made) = run(&sandbox, dir, &["status", "--tree", &plan]);
    assert_eq!(tree.code, 0, "{}", tree.stderr);
    let parents = sandbox.with_state(|state| state.ous.len() as u64 + 1);
    assert!(
        count(&made, "Organizations.ListOrganizationalUnitsForParent") >= parents,
        "{made:?}"
    );
    assert!(
        tree.stdout.contains("  Workloads (0/2 active)"),
        "{}",
        tree.stdout
    );

    // Tags that narrow an OU: the tags of the accounts under Workloads/ML alone.
    let under_ml = sandbox.with_state(|state| {
        state
            .accounts
            .keys()
            .filter(|id| state.path_of(id).contains("/ou-sbx0-wkldml00/"))
            .count() as u64
    });
    let narrowing = plan_file(
        dir,
        "[[phase]]\nname = \"ml\"\nous = [\"Workloads/ML\"]\ntags = { bedrock = \"approved\" }\n\
         match = \"all\"\n",
    );
    let (narrowed, made) = run(&sandbox, dir, &["--output", "json", "plan", &narrowing]);
    assert_eq!(narrowed.code, 0, "{}", narrowed.stderr);
    assert_eq!(count(&made, "Organizations.ListTagsForResource"), under_ml);
    assert!(under_ml < accounts);
    // What it selects is what reading every account's tags selects: a phase by tag alone
    // reads them all, and within Workloads/ML the same accounts come out.
    let everywhere = plan_file(
        dir,
        "[[phase]]\nname = \"ml\"\ntags = { bedrock = \"approved\" }\n",
    );
    let (all, made) = run(&sandbox, dir, &["--output", "json", "plan", &everywhere]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    assert_eq!(count(&made, "Organizations.ListTagsForResource"), accounts);
    let in_ml: Vec<String> = created_for(&all.stdout)
        .into_iter()
        .filter(|id| sandbox.with_state(|state| state.path_of(id).contains("/ou-sbx0-wkldml00/")))
        .collect();
    assert_eq!(created_for(&narrowed.stdout), in_ml);
    assert_eq!(
        in_ml,
        [
            "100000000100",
            "100000000102",
            "100000000150",
            "111111111111",
            "222222222222",
            "333333333333"
        ]
    );
}

/// Creates a grant of the demo license to `account` named `name` with `tags`, as the
/// management account, the way another tool (or an older entitle) would.
async fn grant(sandbox: &Sandbox, account: &str, name: &str, tags: &BTreeMap<String, String>) {
    let tags: Vec<Tag> = tags
        .iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect();
    support::license_manager(sandbox)
        .create_grant()
        .client_token(format!("test-{account}"))
        .grant_name(name)
        .license_arn(DEMO_ACTIVE_LICENSE)
        .principals(format!("arn:aws:iam::{account}:root"))
        .home_region("us-east-1")
        .allowed_operations(AllowedOperation::CheckoutLicense)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rollouts_grants_are_known_by_name_and_older_ones_by_their_tags() {
    let sandbox = start().await;
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let plan = plan_file(
        dir,
        "[[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\", \"222222222222\"]\n",
    );
    let (applied, _) = run(&sandbox, dir, &["apply", "--auto-approve", &plan]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let names: Vec<String> = sandbox.with_state(|state| {
        state
            .grants
            .values()
            .filter(|grant| grant.parent_grant.is_none() && grant.name.starts_with("entitle/"))
            .map(|grant| grant.name.clone())
            .collect()
    });
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names
            .iter()
            .all(|name| name.starts_with("entitle/reads/pilot/0/")),
        "{names:?}"
    );
    // Status and plan know the two grants from their names alone.
    let (status, made) = run(&sandbox, dir, &["--output", "json", "status", &plan]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let document: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(document["totals"]["active"], 2, "{}", status.stdout);
    assert_eq!(count(&made, "LicenseManager.ListTagsForResource"), 0);
    let (planned, made) = run(&sandbox, dir, &["plan", "--detailed-exitcode", &plan]);
    assert_eq!(planned.code, 0, "{}", planned.stdout);
    assert_eq!(count(&made, "LicenseManager.ListTagsForResource"), 0);

    // A grant an older entitle made (the name without a digest, the tags) is the rollout's:
    // its tags are read, and the plan creates nothing for its account.
    grant(
        &sandbox,
        "333333333333",
        "entitle/reads/pilot",
        &ownership_tags("reads", "pilot", 0),
    )
    .await;
    // A name that claims the rollout with the digest of another principal: not the rollout's,
    // and nothing is read for it.
    let claimed = grant_name(
        "reads",
        "pilot",
        0,
        DEMO_ACTIVE_LICENSE,
        "arn:aws:iam::111111111111:root",
    );
    grant(&sandbox, "100000000100", &claimed, &BTreeMap::new()).await;
    let widened = plan_file(
        dir,
        "[[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\", \"222222222222\", \
         \"333333333333\", \"100000000100\"]\n",
    );
    let (planned, made) = run(&sandbox, dir, &["--output", "json", "plan", &widened]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    assert_eq!(count(&made, "LicenseManager.ListTagsForResource"), 1);
    let plan: Value = serde_json::from_str(&planned.stdout).unwrap();
    let changes: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| {
            (
                change["principal"]["id"].as_str().unwrap().to_owned(),
                change["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // 333333333333's grant is the rollout's (its operations are brought to the plan's and it is
    // activated, not created); 100000000100's claimed one is not: the rollout creates its own.
    let change = |account: &str, action: &str| (account.to_owned(), action.to_owned());
    assert_eq!(
        changes,
        [
            change("100000000100", "create"),
            change("111111111111", "no_op"),
            change("222222222222", "no_op"),
            change("333333333333", "update_operations"),
        ],
        "{}",
        planned.stdout
    );
}
