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
    for (name, value) in sandbox.environment() {
        println!("export {name}={value}");
    }
    tokio::signal::ctrl_c().await.unwrap();
    sandbox.shutdown().await.unwrap();
}
