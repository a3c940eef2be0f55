//! Fault injection, call accounting, admin routes, persistence and seeds of the sandbox, driven
//! through the real AWS SDK clients where a wire is involved.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use aws_sdk_licensemanager::types::AllowedOperation;
use entitle::sandbox::seed::{DEMO_ACTIVE_AGREEMENT, DEMO_ACTIVE_LICENSE};
use entitle::sandbox::{
    FaultRule, Faults, GenerateOptions, Sandbox, SandboxOptions, SeedChoice, State,
};
use support::code;

fn rule(change: impl FnOnce(&mut FaultRule)) -> FaultRule {
    let mut rule = FaultRule::default();
    change(&mut rule);
    rule
}

fn faults(operation: &str, rule: FaultRule) -> Faults {
    let mut faults = Faults::default();
    faults.operations.insert(operation.to_string(), rule);
    faults
}

async fn create_grant(sandbox: &Sandbox, token: &str, account: &str) -> Result<String, String> {
    support::license_manager(sandbox)
        .create_grant()
        .client_token(token)
        .grant_name("faulty")
        .license_arn(DEMO_ACTIVE_LICENSE)
        .principals(format!("arn:aws:iam::{account}:root"))
        .home_region("us-east-1")
        .allowed_operations(AllowedOperation::CheckoutLicense)
        .send()
        .await
        .map(|output| output.grant_arn().unwrap_or_default().to_string())
        .map_err(|error| code(&error))
}

#[tokio::test]
async fn license_manager_throttle_is_rate_limit_exceeded_and_not_retried() {
    let sandbox = support::start_with_faults(
        State::demo(),
        faults("CreateGrant", rule(|rule| rule.throttle_every = Some(1))),
    )
    .await;
    assert_eq!(
        create_grant(&sandbox, "t", "111111111111")
            .await
            .unwrap_err(),
        "RateLimitExceededException"
    );
    let stats = sandbox.stats();
    let create = &stats["LicenseManager.CreateGrant"];
    assert_eq!(
        (create.calls, create.throttled),
        (1, 1),
        "the SDK does not retry RateLimitExceededException"
    );
    assert!(
        sandbox
            .state_snapshot()
            .grants
            .values()
            .all(|grant| grant.name != "faulty")
    );
}

#[tokio::test]
async fn token_bucket_throttles_past_the_burst() {
    let sandbox = support::start_with_faults(
        State::demo(),
        faults(
            "LicenseManager.GetServiceSettings",
            rule(|rule| {
                rule.rate_per_second = Some(0.001);
                rule.burst = Some(2);
            }),
        ),
    )
    .await;
    let client = support::license_manager(&sandbox);
    client.get_service_settings().send().await.unwrap();
    client.get_service_settings().send().await.unwrap();
    let error = client.get_service_settings().send().await.unwrap_err();
    assert_eq!(code(&error), "RateLimitExceededException");
}

#[tokio::test]
async fn organizations_throttle_is_retried_by_the_sdk() {
    let sandbox = support::start_with_faults(
        State::demo(),
        faults(
            "ListRoots",
            rule(|rule| {
                rule.throttle_every = Some(1);
                rule.max_injections = Some(1);
            }),
        ),
    )
    .await;
    let roots = support::organizations(&sandbox)
        .list_roots()
        .send()
        .await
        .unwrap();
    assert_eq!(roots.roots().len(), 1);
    let stats = &sandbox.stats()["Organizations.ListRoots"];
    assert_eq!((stats.calls, stats.throttled, stats.ok), (2, 1, 1));
}

#[tokio::test]
async fn server_errors_are_retried() {
    let sandbox = support::start_with_faults(
        State::demo(),
        faults(
            "ListAccounts",
            rule(|rule| {
                rule.error_5xx_every = Some(1);
                rule.max_injections = Some(2);
            }),
        ),
    )
    .await;
    let accounts = support::organizations(&sandbox)
        .list_accounts()
        .send()
        .await
        .unwrap();
    assert_eq!(accounts.accounts().len(), 20);
    let stats = &sandbox.stats()["Organizations.ListAccounts"];
    assert_eq!((stats.calls, stats.server_errors, stats.ok), (3, 2, 1));
}

#[tokio::test]
async fn dropped_connection_after_work_then_retry_makes_one_grant() {
    let sandbox = support::start_with_faults(
        State::demo(),
        faults(
            "CreateGrant",
            rule(|rule| {
                rule.drop_after_work_every = Some(1);
                rule.max_injections = Some(1);
            }),
        ),
    )
    .await;
    // The SDK retries the dropped attempt with the same body, so the same ClientToken.
    let arn = create_grant(&sandbox, "dropped-once", "111111111111")
        .await
        .unwrap();
    let stats = &sandbox.stats()["LicenseManager.CreateGrant"];
    assert_eq!((stats.calls, stats.dropped, stats.ok), (2, 1, 1));
    let state = sandbox.state_snapshot();
    let mine: Vec<_> = state
        .grants
        .values()
        .filter(|grant| grant.name == "faulty")
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].arn, arn);
    // A later re-run with the same token still finds the same grant.
    assert_eq!(
        create_grant(&sandbox, "dropped-once", "111111111111")
            .await
            .unwrap(),
        arn
    );
}

#[tokio::test]
async fn shares_are_deterministic_for_a_seed() {
    async fn run(seed: u64) -> (u64, u64) {
        let mut faults = faults(
            "GetServiceSettings",
            rule(|rule| rule.error_5xx_share = 0.5),
        );
        faults.seed = seed;
        let sandbox = support::start_with_faults(State::demo(), faults).await;
        let client = support::license_manager(&sandbox);
        for _ in 0..10 {
            let _ = client.get_service_settings().send().await;
        }
        let stats = &sandbox.stats()["LicenseManager.GetServiceSettings"];
        (stats.calls, stats.server_errors)
    }
    let first = run(42).await;
    assert_eq!(first, run(42).await);
    assert!(first.1 > 0);
}

#[tokio::test]
async fn answers_take_their_latency() {
    let sandbox = support::start_with_faults(State::demo(), {
        let mut faults = Faults::default();
        faults.default.latency_ms = 60;
        faults
    })
    .await;
    let started = Instant::now();
    support::organizations(&sandbox)
        .list_roots()
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(60));
}

/// While one call's work holds the state (here the test holds it), the calls that come meanwhile
/// are still taken in and judged on arrival (counted, their rate checked): the work waits for the
/// state on a blocking thread, not on the runtime's two workers, which four waiting calls would
/// otherwise all stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_judged_on_arrival_while_another_holds_the_state() {
    let sandbox = std::sync::Arc::new(support::start(State::demo()).await);
    let (held, is_held) = std::sync::mpsc::channel();
    let holder = {
        let sandbox = std::sync::Arc::clone(&sandbox);
        std::thread::spawn(move || {
            sandbox.with_state(|_| {
                held.send(()).unwrap();
                // Counts the judged calls while holding the state, for at most 10 s.
                let started = Instant::now();
                loop {
                    let judged = sandbox
                        .stats()
                        .get("Organizations.ListRoots")
                        .map_or(0, |stats| stats.calls);
                    if judged == 4 || started.elapsed() > Duration::from_secs(10) {
                        return judged;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        })
    };
    is_held.recv().unwrap();
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let client = support::organizations(&sandbox);
            tokio::spawn(async move { client.list_roots().send().await })
        })
        .collect();
    let judged = tokio::task::spawn_blocking(move || holder.join().unwrap())
        .await
        .unwrap();
    assert_eq!(judged, 4, "calls judged while the state was held");
    for call in calls {
        call.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn stats_and_admin_over_http() {
    let sandbox = support::start(State::demo()).await;
    let client = support::organizations(&sandbox);
    client.list_roots().send().await.unwrap();
    client.list_roots().send().await.unwrap();
    let _ = client.list_accounts().max_results(50).send().await;
    let endpoint = sandbox.endpoint();
    let (status, _, body) = support::raw_http(&endpoint, "GET", "/_sandbox/stats", &[], b"").await;
    assert_eq!(status, 200);
    let stats: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(stats["operations"]["Organizations.ListRoots"]["calls"], 2);
    assert_eq!(
        stats["operations"]["Organizations.ListAccounts"]["client_errors"],
        1
    );
    assert_eq!(stats["total_calls"], 3);

    let body = format!(r#"{{"agreement_id":"{DEMO_ACTIVE_AGREEMENT}"}}"#);
    let (status, _, _) = support::raw_http(
        &endpoint,
        "POST",
        "/_sandbox/cancel_agreement",
        &[],
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        sandbox.state_snapshot().licenses[DEMO_ACTIVE_LICENSE].status,
        "DELETED"
    );
    let (status, _, _) = support::raw_http(
        &endpoint,
        "POST",
        "/_sandbox/admin",
        &[],
        br#"{"action":"join_account","account_id":"555555555555","parent_id":"ou-sbx0-wkldweb0"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        sandbox
            .state_snapshot()
            .accounts
            .contains_key("555555555555")
    );
    let (status, _, _) = support::raw_http(
        &endpoint,
        "POST",
        "/_sandbox/suspend_account",
        &[],
        br#"{"account_id":"000000000000"}"#,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = support::raw_http(&endpoint, "POST", "/_sandbox/reset", &[], b"").await;
    assert_eq!(status, 200);
    assert_eq!(
        sandbox.state_snapshot().licenses[DEMO_ACTIVE_LICENSE].status,
        "AVAILABLE"
    );
    let (status, _, body) = support::raw_http(&endpoint, "GET", "/_sandbox/stats", &[], b"").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["total_calls"],
        0
    );

    // Faults can be replaced at run time.
    let (status, _, _) = support::raw_http(
        &endpoint,
        "POST",
        "/_sandbox/faults",
        &[],
        br#"{"operations":{"ListRoots":{"throttle_every":1}}}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        code(&client.list_roots().send().await.unwrap_err()),
        "TooManyRequestsException"
    );
}

#[tokio::test]
async fn member_actions_through_admin() {
    let mut state = State::demo();
    state.license_manager.enable_integration = false;
    state.settings.pending_workflow_reads = 0;
    let sandbox = support::start(state).await;
    let arn = create_grant(&sandbox, "member", "222222222222")
        .await
        .unwrap();
    let (status, _, body) = support::raw_http(
        &sandbox.endpoint(),
        "POST",
        "/_sandbox/accept_grant",
        &[],
        format!(r#"{{"account_id":"222222222222","license_arn":"{DEMO_ACTIVE_LICENSE}"}}"#)
            .as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    sandbox
        .with_state(|state| entitle::sandbox::admin::activate_grant(state, "222222222222", &arn))
        .unwrap();
    assert_eq!(sandbox.state_snapshot().grants[&arn].status, "ACTIVE");
    sandbox
        .with_state(|state| entitle::sandbox::admin::reject_grant(state, "222222222222", &arn))
        .unwrap();
    assert_eq!(sandbox.state_snapshot().grants[&arn].status, "REJECTED");
}

#[tokio::test]
async fn state_persists_across_runs() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("nested/sandbox.json");
    let options = SandboxOptions {
        state_file: Some(path.clone()),
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::start_with_options("127.0.0.1:0".parse().unwrap(), options.clone())
        .await
        .unwrap();
    let arn = create_grant(&sandbox, "persist", "111111111111")
        .await
        .unwrap();
    let final_state = sandbox.shutdown().await.unwrap();
    assert!(final_state.grants.contains_key(&arn));
    let loaded = State::load(&path).unwrap();
    assert!(loaded == final_state, "the saved state loads back equal");
    let again = Sandbox::start_with_options("127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap();
    assert!(again.state_snapshot().grants.contains_key(&arn));
    again.shutdown().await.unwrap();

    let seeded = directory.path().join("fresh.json");
    let demo = State::load_or_seed_demo(&seeded).unwrap();
    assert!(demo == State::demo(), "seeded with the demo");
    assert!(
        State::load_or_seed_demo(&seeded).unwrap() == demo,
        "loaded, not reseeded"
    );
}

#[test]
fn faults_load_from_toml_and_json() {
    let directory = tempfile::tempdir().unwrap();
    let toml_path = directory.path().join("faults.toml");
    std::fs::write(
        &toml_path,
        "seed = 3\n[default]\nlatency_ms = 5\n[operations.CreateGrant]\nrate_per_second = 2.0\nburst = 4\ndrop_after_work_share = 0.1\n",
    )
    .unwrap();
    let faults = Faults::load(&toml_path).unwrap();
    assert_eq!(faults.operations["CreateGrant"].burst, Some(4));
    let json_path = directory.path().join("faults.json");
    std::fs::write(&json_path, serde_json::to_string(&faults).unwrap()).unwrap();
    assert_eq!(Faults::load(&json_path).unwrap(), faults);
    std::fs::write(&toml_path, "[operations.CreateGrant]\nunknown = 1\n").unwrap();
    assert!(Faults::load(&toml_path).is_err());
}

#[test]
fn generator_builds_large_orgs_deterministically() {
    let options = GenerateOptions {
        accounts: 10_000,
        ous: 1_000,
        depth: 5,
        seed: 7,
    };
    let state = State::generate(options);
    assert_eq!(state.accounts.len(), 10_001);
    assert_eq!(state.ous.len(), 1_000);
    let deepest = state
        .ous
        .keys()
        .map(|id| state.ancestry(id).unwrap().len() - 1)
        .max()
        .unwrap();
    assert!(deepest <= 5);
    assert!(
        State::generate(options) == state,
        "same options, same organisation"
    );
    assert!(
        state
            .accounts
            .values()
            .any(|account| account.tags.get("bedrock").map(String::as_str) == Some("approved"))
    );
}

#[tokio::test]
async fn generated_org_through_the_sdk() {
    let options = SandboxOptions {
        seed: SeedChoice::Generate(GenerateOptions {
            accounts: 500,
            ous: 50,
            depth: 3,
            seed: 1,
        }),
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::start_with_options("127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap();
    let pages = support::organizations(&sandbox)
        .list_accounts()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        pages
            .iter()
            .map(|page| page.accounts().len())
            .sum::<usize>(),
        501
    );
    assert_eq!(pages.len(), 26);
}

#[test]
fn org_file_seeds_a_hand_made_org() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("org.toml");
    std::fs::write(
        &path,
        r#"
management_account = "900000000001"
license_manager_linked = false

[[account]]
id = "900000000002"
name = "legacy"

[[ou]]
name = "Workloads"
tags = { owner = "platform" }

  [[ou.ou]]
  name = "ML"

    [[ou.ou.account]]
    id = "111111111111"
    tags = { bedrock = "approved" }

    [[ou.ou.account]]
    id = "900000000003"
    state = "SUSPENDED"
"#,
    )
    .unwrap();
    let state = State::from_org_file(&path).unwrap();
    assert_eq!(state.management_account_id(), "900000000001");
    assert_eq!(state.accounts.len(), 4);
    assert!(!state.license_manager.enable_integration);
    let ml = state.ous.values().find(|ou| ou.name == "ML").unwrap();
    assert_eq!(state.accounts["111111111111"].parent_id, ml.id);
    assert_eq!(state.accounts["900000000003"].state, "SUSPENDED");
    assert!(state.licenses.contains_key(DEMO_ACTIVE_LICENSE));

    std::fs::write(&path, "[[account]]\nid = \"12\"\n").unwrap();
    assert!(
        State::from_org_file(&path)
            .unwrap_err()
            .to_string()
            .contains("12 digits")
    );
}

#[tokio::test]
async fn shutdown_is_quick_with_idle_client_connections() {
    let sandbox = support::start(State::demo()).await;
    let client = support::organizations(&sandbox);
    client.list_roots().send().await.unwrap();
    let started = Instant::now();
    let state = sandbox.shutdown().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(state.accounts.len(), 40);
    drop(client);
}
