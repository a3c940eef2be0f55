//! 2,000 grants (the per-license limit) applied through the real binary against the emulator
//! with faults on: a License Manager rate limit that throttles, 5% server errors and 5% of
//! connections dropped after the work was done. The emulator's own state must show exactly one
//! ACTIVE grant per targeted account: none doubled, none lost.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;

use entitle::sandbox::State;
use entitle::sandbox::seed::{DEMO_ACTIVE_LICENSE, GenerateOptions};
use support::{SandboxServer, entitle, ran};

const GRANTS: usize = 2_000;

#[test]
fn two_thousand_grants_under_throttling_5xx_and_dropped_connections_are_made_exactly_once() {
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state_file = dir.join("state.json");
    // About 1% of generated accounts are suspended: generate enough to pick 2,000 ACTIVE ones.
    let state = State::generate(GenerateOptions {
        accounts: 2_050,
        ous: 100,
        depth: 5,
        seed: 5,
    });
    state.save(&state_file).unwrap();
    let mut targets = state.active_member_ids();
    assert!(targets.len() >= GRANTS, "{}", targets.len());
    targets.truncate(GRANTS);
    let accounts: Vec<String> = targets.iter().map(|id| format!("\"{id}\"")).collect();
    let plan = dir.join("scale.toml");
    std::fs::write(
        &plan,
        format!(
            "version = 1\nname = \"scale\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\
             activation = \"grantor\"\n\n[[phase]]\nname = \"all\"\naccounts = [{}]\n",
            accounts.join(", ")
        ),
    )
    .unwrap();
    let faults = dir.join("faults.toml");
    std::fs::write(
        &faults,
        "seed = 3\n\
         [operations.CreateGrant]\nrate_per_second = 60.0\nburst = 10\n\
         error_5xx_share = 0.05\ndrop_after_work_share = 0.05\n\
         [operations.CreateGrantVersion]\nrate_per_second = 60.0\nburst = 10\n\
         error_5xx_share = 0.05\ndrop_after_work_share = 0.05\n\
         [operations.GetGrant]\nerror_5xx_share = 0.05\n\
         [operations.ListDistributedGrants]\nerror_5xx_share = 0.05\n",
    )
    .unwrap();
    let server = SandboxServer::start(&[
        "--state",
        &state_file.display().to_string(),
        "--faults",
        &faults.display().to_string(),
    ]);

    let applied = ran(entitle(Some(&server.endpoint)).current_dir(dir).args([
        "--output",
        "json",
        "apply",
        "--auto-approve",
        "--concurrency",
        "16",
        &plan.display().to_string(),
    ]));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let report: serde_json::Value = serde_json::from_str(&applied.stdout).unwrap();
    assert_eq!(report["totals"]["done"], GRANTS, "{}", report["totals"]);
    assert_eq!(report["totals"]["failed"], 0);
    assert!(
        report["calls"]["throttled"].as_u64().unwrap() > 0,
        "{}",
        report["calls"]
    );
    assert!(
        report["calls"]["retried"].as_u64().unwrap() > 0,
        "{}",
        report["calls"]
    );

    let stats = ran(entitle(None).args([
        "sandbox",
        "stats",
        "--endpoint",
        &server.endpoint,
        "--output",
        "json",
    ]));
    let stats: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    for operation in ["CreateGrant", "CreateGrantVersion"] {
        let served = &stats["operations"][format!("LicenseManager.{operation}")];
        for fault in ["throttled", "server_errors", "dropped"] {
            assert!(
                served[fault].as_u64().unwrap() > 0,
                "{operation} {fault}: {served}"
            );
        }
    }
    let second = ran(entitle(Some(&server.endpoint)).current_dir(dir).args([
        "plan",
        "--detailed-exitcode",
        &plan.display().to_string(),
    ]));
    assert_eq!(second.code, 0, "nothing left to do: {}", second.stdout);
    server.stop();

    let state = State::load(&state_file).unwrap();
    let mut by_principal: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for grant in state.grants.values() {
        if grant.license_arn == DEMO_ACTIVE_LICENSE && grant.parent_grant.is_none() {
            by_principal
                .entry(grant.principal.as_str())
                .or_default()
                .push(grant.status.as_str());
        }
    }
    assert_eq!(by_principal.len(), GRANTS);
    for id in &targets {
        let principal = format!("arn:aws:iam::{id}:root");
        assert_eq!(
            by_principal.get(principal.as_str()),
            Some(&vec!["ACTIVE"]),
            "{principal}"
        );
    }
}
