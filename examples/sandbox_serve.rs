//! Runs the demo sandbox until Ctrl-C (a stand-in for `entitle sandbox serve` while the CLI is
//! wired): `cargo run --example sandbox_serve [-- 127.0.0.1:PORT]`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use entitle::sandbox::{Faults, Sandbox, State};

#[tokio::main]
async fn main() {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4599".to_string());
    let sandbox = Sandbox::start(address.parse().unwrap(), State::demo(), Faults::default())
        .await
        .unwrap();
    println!("export AWS_ENDPOINT_URL={}", sandbox.endpoint());
    println!(
        "export AWS_ACCESS_KEY_ID=AKIDSANDBOX AWS_SECRET_ACCESS_KEY=sandbox-secret AWS_REGION=us-east-1"
    );
    tokio::signal::ctrl_c().await.unwrap();
    sandbox.shutdown().await.unwrap();
}
