//! Benchmark of `entitle apply` end to end: the real binary against the emulator (its own
//! process) with a per-operation rate limit on License Manager's grant calls, creating and
//! activating one grant per account. Reports grants per second as a share of the limit, API
//! calls per grant (from the emulator's own counts), throttles met, and the apply's peak memory.
//!
//! Run: `cargo bench --bench apply --profile dev` (reuses the debug build; numbers in
//! docs/performance.md). `ENTITLE_BENCH_GRANTS` (default 500) and `ENTITLE_BENCH_RATES`
//! (default `20,100`: requests per second per operation) change the job.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::Path;

use std::time::Duration;

mod support;

use entitle::sandbox::State;
use entitle::sandbox::seed::GenerateOptions;
use support::{Emulator, entitle, timed};

const LIMITED: [&str; 4] = [
    "CreateGrant",
    "CreateGrantVersion",
    "GetGrant",
    "ListDistributedGrants",
];

struct Run {
    wall: Duration,
    calls: serde_json::Value,
    stats: serde_json::Value,
    peak_kib: u64,
    done: u64,
}

fn run(dir: &Path, grants: usize, rate: f64) -> Run {
    let state_file = dir.join(format!("state-{rate}.json"));
    let state = State::generate(GenerateOptions {
        accounts: grants + grants / 50 + 10,
        ous: 100,
        depth: 5,
        seed: 9,
    });
    state.save(&state_file).unwrap();
    let mut targets = state.active_member_ids();
    targets.truncate(grants);
    let accounts: Vec<String> = targets.iter().map(|id| format!("\"{id}\"")).collect();
    let plan = dir.join(format!("bench-{rate}.toml"));
    std::fs::write(
        &plan,
        format!(
            "version = 1\nname = \"bench\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\
             activation = \"grantor\"\n\n[[phase]]\nname = \"all\"\naccounts = [{}]\n",
            accounts.join(", ")
        ),
    )
    .unwrap();
    let faults = dir.join(format!("faults-{rate}.toml"));
    let rules: String = LIMITED
        .iter()
        .map(|operation| {
            format!("[operations.{operation}]\nrate_per_second = {rate:.1}\nburst = 1\n")
        })
        .collect();
    std::fs::write(&faults, format!("seed = 1\n{rules}")).unwrap();

    let emulator = Emulator::start(&state_file, &faults);
    let endpoint = emulator.endpoint.clone();

    let mut command = entitle();
    command
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", &endpoint)
        .args(["--output", "json", "apply", "--auto-approve"])
        .arg(&plan);
    let run = timed(command, "the apply");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let stats = emulator.stats();
    drop(emulator);
    Run {
        wall: run.wall,
        calls: report["calls"].clone(),
        stats,
        peak_kib: run.peak_kib,
        done: report["totals"]["done"].as_u64().unwrap(),
    }
}

fn main() {
    let grants: usize = std::env::var("ENTITLE_BENCH_GRANTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(500);
    let rates: Vec<f64> = std::env::var("ENTITLE_BENCH_RATES")
        .unwrap_or_else(|_| "20,100".to_owned())
        .split(',')
        .filter_map(|rate| rate.trim().parse().ok())
        .collect();
    let directory = tempfile::tempdir().unwrap();
    println!(
        "apply: {grants} account grants, created and activated; limit per operation on {}",
        LIMITED.join(", ")
    );
    for rate in rates {
        let result = run(directory.path(), grants, rate);
        let seconds = result.wall.as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let per_second = result.done as f64 / seconds;
        let operations = &result.stats["operations"];
        let count = |operation: &str, field: &str| {
            operations[format!("LicenseManager.{operation}")][field]
                .as_u64()
                .unwrap_or(0)
        };
        let lm_calls: u64 = operations
            .as_object()
            .unwrap()
            .iter()
            .filter(|(name, _)| name.starts_with("LicenseManager."))
            .map(|(_, served)| served["calls"].as_u64().unwrap_or(0))
            .sum();
        let throttled: u64 = LIMITED
            .iter()
            .map(|operation| count(operation, "throttled"))
            .sum();
        // Each grant needs one CreateGrant and one CreateGrantVersion at least; each operation is
        // limited apart, so the bound is `grants / rate` seconds.
        let bound = result.done as f64 / rate;
        println!(
            "limit {rate:>5.0}/s: {} grants in {seconds:.1} s = {per_second:.1} grants/s ({:.0}% of the limit; bound {bound:.1} s, ratio {:.2})",
            result.done,
            per_second / rate * 100.0,
            seconds / bound,
        );
        #[allow(clippy::cast_precision_loss)]
        let per_grant = |calls: u64| calls as f64 / result.done as f64;
        println!(
            "  calls per grant: {:.2} License Manager in all (CreateGrant {:.2}, CreateGrantVersion {:.2}, ListDistributedGrants {:.2}, GetGrant {:.2}); {throttled} throttled by the emulator; apply counted {}",
            per_grant(lm_calls),
            per_grant(count("CreateGrant", "calls")),
            per_grant(count("CreateGrantVersion", "calls")),
            per_grant(count("ListDistributedGrants", "calls")),
            per_grant(count("GetGrant", "calls")),
            result.calls
        );
        println!(
            "  peak memory of the apply: {:.1} MB",
            result.peak_kib as f64 / 1024.0
        );
    }
}
