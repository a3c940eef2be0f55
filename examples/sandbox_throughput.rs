//! Throughput of the sandbox emulator itself, through the real Rust SDK: requests per second for
//! CreateGrant and ListAccounts, sequential and with concurrent callers. A measurement tool, not
//! a test: `cargo run --example sandbox_throughput [-- REQUESTS CONCURRENCY ACCOUNTS]`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use aws_credential_types::Credentials;
use aws_sdk_licensemanager::types::AllowedOperation;
use aws_types::region::Region;
use entitle::sandbox::seed::DEMO_ACTIVE_LICENSE;
use entitle::sandbox::state::DuplicateGrant;
use entitle::sandbox::{Faults, GenerateOptions, Sandbox, State};

fn credentials() -> Credentials {
    Credentials::new("AKIDSANDBOX", "sandbox-secret", None, None, "sandbox")
}

#[tokio::main]
async fn main() {
    let arguments: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|value| value.parse().ok())
        .collect();
    let requests = arguments.first().copied().unwrap_or(2000);
    let concurrency = arguments.get(1).copied().unwrap_or(8).max(1);
    let organization_size = arguments.get(2).copied().unwrap_or(10_000);
    let mut state = State::generate(GenerateOptions {
        accounts: organization_size,
        ous: (organization_size / 10).max(1),
        depth: 5,
        seed: 1,
    });
    state.settings.duplicate_grant = DuplicateGrant::Allow;
    state.settings.max_grants_per_license = usize::MAX;
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), state, Faults::default())
        .await
        .unwrap();
    let region = Region::new("us-east-1");
    let license_manager = aws_sdk_licensemanager::Client::from_conf(
        aws_sdk_licensemanager::Config::builder()
            .behavior_version(aws_sdk_licensemanager::config::BehaviorVersion::latest())
            .region(region.clone())
            .credentials_provider(credentials())
            .endpoint_url(sandbox.endpoint())
            .build(),
    );
    let organizations = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::Config::builder()
            .behavior_version(aws_sdk_organizations::config::BehaviorVersion::latest())
            .region(region)
            .credentials_provider(credentials())
            .endpoint_url(sandbox.endpoint())
            .build(),
    );
    let accounts: Vec<String> = sandbox
        .state_snapshot()
        .accounts
        .keys()
        .skip(1)
        .cloned()
        .collect();

    for workers in [1, concurrency] {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..workers {
            let client = license_manager.clone();
            let accounts = accounts.clone();
            tasks.push(tokio::spawn(async move {
                for index in (worker..requests).step_by(workers) {
                    client
                        .create_grant()
                        .client_token(format!("bench-{workers}-{index}"))
                        .grant_name("bench")
                        .license_arn(DEMO_ACTIVE_LICENSE)
                        .principals(format!(
                            "arn:aws:iam::{}:root",
                            accounts[index % accounts.len()]
                        ))
                        .home_region("us-east-1")
                        .allowed_operations(AllowedOperation::CheckoutLicense)
                        .send()
                        .await
                        .unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "CreateGrant  x{requests} concurrency {workers:>2}: {:>8.0} req/s",
            requests as f64 / elapsed
        );

        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..workers {
            let client = organizations.clone();
            tasks.push(tokio::spawn(async move {
                let mut token: Option<String> = None;
                for _ in (worker..requests).step_by(workers) {
                    let page = client
                        .list_accounts()
                        .max_results(20)
                        .set_next_token(token.take())
                        .send()
                        .await
                        .unwrap();
                    token = page.next_token().map(str::to_string);
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "ListAccounts x{requests} concurrency {workers:>2}: {:>8.0} req/s ({} accounts, pages of 20)",
            requests as f64 / elapsed,
            organization_size + 1
        );
    }
    let stats = sandbox.stats();
    println!("grants in state: {}", sandbox.state_snapshot().grants.len());
    println!(
        "calls counted: CreateGrant {}, ListAccounts {}",
        stats["LicenseManager.CreateGrant"].calls, stats["Organizations.ListAccounts"].calls
    );
    sandbox.shutdown().await.unwrap();
}
