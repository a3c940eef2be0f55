//! Throttling over the wire: discovery rides out Organizations' TooManyRequestsException, reads
//! are paced under a rate limit instead of throttling again and again (`aws/pacing.rs`), and
//! License Manager's RateLimitExceededException (which the SDK alone does not retry) is retried
//! because `aws/config.rs` teaches the client that it is throttling.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use entitle::aws::organizations::{DiscoverOptions, NoProgress, discover};
use entitle::aws::{AwsClients, AwsSettings};
use entitle::sandbox::Sandbox;
use entitle::sandbox::faults::{FaultRule, Faults};
use entitle::sandbox::seed::GenerateOptions;
use entitle::sandbox::state::State;

fn fast_retries(endpoint: String) -> AwsSettings {
    AwsSettings {
        fixed_endpoint: Some(endpoint),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        ..AwsSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_rides_out_organizations_throttling() {
    let throttle_every_third = FaultRule {
        throttle_every: Some(3),
        ..FaultRule::default()
    };
    let faults = Faults {
        default: throttle_every_third,
        ..Faults::default()
    };
    let sandbox = Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        State::demo(),
        Faults::none(),
    )
    .await
    .unwrap();
    let clients = AwsClients::load(&fast_retries(sandbox.endpoint())).await;
    let calm = discover(&clients, &DiscoverOptions::default(), &NoProgress)
        .await
        .unwrap();
    sandbox.set_faults(faults);
    let throttled = discover(&clients, &DiscoverOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        calm.tree, throttled.tree,
        "throttling changes nothing discovered"
    );
    assert_eq!(
        calm.api_calls, throttled.api_calls,
        "retries are not extra calls of the walk"
    );
    let stats = sandbox.stats();
    let throttles: u64 = stats.values().map(|entry| entry.throttled).sum();
    assert!(throttles > 10, "the emulator throttled: {stats:?}");
    sandbox.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_are_paced_under_a_rate_limit() {
    // 300 accounts under 30 OUs, every Organizations operation limited to 20 calls/s with no
    // burst. Eight concurrent readers without pacing throttle and collide: about 2.6 calls per
    // call needed (measured before pacing, docs/performance.md).
    let state = State::generate(GenerateOptions {
        accounts: 300,
        ous: 30,
        depth: 3,
        seed: 7,
    });
    let limited = FaultRule {
        rate_per_second: Some(20.0),
        burst: Some(1),
        ..FaultRule::default()
    };
    let faults = Faults {
        default: limited,
        ..Faults::default()
    };
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), state, faults)
        .await
        .unwrap();
    let clients = AwsClients::load(&fast_retries(sandbox.endpoint())).await;
    let discovery = discover(&clients, &DiscoverOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(discovery.tree.accounts().count(), 301);
    let needed: u64 = discovery.api_calls.values().sum();
    let stats = sandbox.stats();
    let sent: u64 = stats.values().map(|entry| entry.calls).sum();
    let throttled: u64 = stats.values().map(|entry| entry.throttled).sum();
    assert_eq!(
        sent,
        needed + throttled,
        "every extra call is a throttle retried"
    );
    assert!(
        sent as f64 <= 1.25 * needed as f64,
        "{sent} calls sent for {needed} needed ({throttled} throttled): {stats:?}"
    );
    sandbox.shutdown().await.unwrap();
}

fn license_manager(endpoint: &str, classifier: bool) -> aws_sdk_licensemanager::Client {
    let mut config = aws_sdk_licensemanager::Config::builder()
        .behavior_version(aws_sdk_licensemanager::config::BehaviorVersion::latest())
        .region(aws_sdk_licensemanager::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_licensemanager::config::Credentials::new(
            "AKIDSANDBOX",
            "sandbox-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint)
        .retry_config(
            aws_sdk_licensemanager::config::retry::RetryConfig::standard()
                .with_max_attempts(5)
                .with_initial_backoff(Duration::from_millis(10)),
        );
    if classifier {
        config = config.retry_classifier(entitle::aws::config::RateLimitExceededClassifier);
    }
    aws_sdk_licensemanager::Client::from_conf(config.build())
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_exceeded_is_retried_only_with_our_classifier() {
    // Every other ListReceivedLicenses call is throttled with RateLimitExceededException.
    let rule = FaultRule {
        throttle_every: Some(2),
        ..FaultRule::default()
    };
    let faults = Faults {
        operations: BTreeMap::from([("LicenseManager.ListReceivedLicenses".to_owned(), rule)]),
        ..Faults::default()
    };
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), State::demo(), faults)
        .await
        .unwrap();

    let plain = license_manager(&sandbox.endpoint(), false);
    let mut plain_failures = 0;
    for _ in 0..4 {
        if let Err(error) = plain.list_received_licenses().send().await {
            use aws_smithy_types::error::metadata::ProvideErrorMetadata;
            assert_eq!(error.code(), Some("RateLimitExceededException"));
            plain_failures += 1;
        }
    }
    assert_eq!(
        plain_failures, 2,
        "the SDK alone gives up at once on RateLimitExceededException"
    );

    let taught = license_manager(&sandbox.endpoint(), true);
    for _ in 0..4 {
        let licenses = taught
            .list_received_licenses()
            .send()
            .await
            .expect("retried through the throttle");
        assert_eq!(licenses.licenses().len(), 2);
    }
    let stats = &sandbox.stats()["LicenseManager.ListReceivedLicenses"];
    // Every second call is throttled: the plain client's 4 calls met 2 throttles; the taught
    // client's 4 successes took 7 attempts, 3 of them throttled.
    assert_eq!(stats.calls, 11);
    assert_eq!(stats.throttled, 5);
    sandbox.shutdown().await.unwrap();
}
