//! Benchmarks at scale (issue 7): the `entitle` binary against the emulator in its own process,
//! under stated conditions (40 ms latency per call; per-operation token buckets of 10
//! requests/s for Organizations, 20 for License Manager and Marketplace Agreement; burst 1), on a
//! generated organisation. For each job: wall time, API calls per operation from the emulator's
//! own counts, the minimum number of calls the job can take and the time that minimum needs at
//! these rates, throttles met, and the peak memory of the process. The boto3 baseline
//! (`benches/baseline/rollout.py`) runs the per-account rollout and the cleanup under the same
//! conditions.
//!
//! Run: `cargo bench --bench scale --profile dev`. Environment: `ENTITLE_SCALE_ACCOUNTS` (1000),
//! `ENTITLE_SCALE_OUS` (100), `ENTITLE_SCALE_FACTOR` (1: multiplies every rate limit),
//! `ENTITLE_SCALE_BASELINE` (1: run the boto3 baseline; needs `target/test-venv`, which
//! `cargo test` creates), `ENTITLE_SCALE_BASELINE_LIMIT` (every granted account: how many accounts
//! the baseline rolls out to), `ENTITLE_SCALE_JOBS` (all: a comma-separated choice of discovery,
//! plan, apply, status, cleanup, org-wide, ou-plan, tag-plan, baseline, baseline-list; status and
//! cleanup run apply first; baseline is the account listing, the rollout and the cleanup,
//! baseline-list the first alone).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::cast_precision_loss)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod support;

use entitle::sandbox::State;
use entitle::sandbox::seed::{DEMO_ACTIVE_AGREEMENT, DEMO_ACTIVE_LICENSE, GenerateOptions};
use support::{Emulator, entitle, timed};

const LATENCY_MS: u64 = 40;
const ORGANIZATIONS_RATE: f64 = 10.0;
const LICENSE_MANAGER_RATE: f64 = 20.0;
const LICENSE_MANAGER: [&str; 10] = [
    "ListReceivedLicenses",
    "ListDistributedGrants",
    "ListTagsForResource",
    "ListReceivedGrantsForOrganization",
    "CreateGrant",
    "CreateGrantVersion",
    "GetGrant",
    "DeleteGrant",
    "GetServiceSettings",
    "ListReceivedLicensesForOrganization",
];
const MARKETPLACE: [&str; 3] = [
    "SearchAgreements",
    "DescribeAgreement",
    "GetAgreementEntitlements",
];

fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The conditions, as an emulator faults file: a rule per limited operation (a rule replaces
/// `[default]`, so each carries the latency too).
fn faults(factor: f64) -> String {
    let mut text = format!(
        "seed = 1\n[default]\nlatency_ms = {LATENCY_MS}\nrate_per_second = {:.1}\nburst = 1\n",
        ORGANIZATIONS_RATE * factor
    );
    let services = [
        ("LicenseManager", &LICENSE_MANAGER[..]),
        ("MarketplaceAgreement", &MARKETPLACE[..]),
    ];
    for (service, operations) in services {
        for operation in operations {
            text.push_str(&format!(
                "[operations.\"{service}.{operation}\"]\nlatency_ms = {LATENCY_MS}\nrate_per_second = {:.1}\nburst = 1\n",
                LICENSE_MANAGER_RATE * factor
            ));
        }
    }
    text
}

/// The emulator with a state and the conditions written for it.
struct Server {
    emulator: Emulator,
    endpoint: String,
}

impl Server {
    fn start(dir: &Path, state: &State, name: &str, factor: f64) -> Self {
        let state_file = dir.join(format!("{name}.json"));
        state.save(&state_file).unwrap();
        let faults_file = dir.join(format!("{name}-faults.toml"));
        std::fs::write(&faults_file, faults(factor)).unwrap();
        let emulator = Emulator::start(&state_file, &faults_file);
        let endpoint = emulator.endpoint.clone();
        Self { emulator, endpoint }
    }

    /// Cancels the demo subscription: its license ends, and cleanup may delete its grants.
    fn cancel_agreement(&self) {
        let cancelled = entitle()
            .args([
                "sandbox",
                "cancel-agreement",
                DEMO_ACTIVE_AGREEMENT,
                "--endpoint",
                &self.endpoint,
            ])
            .output()
            .unwrap();
        assert!(cancelled.status.success());
    }

    /// Calls and throttles per `Service.Operation` so far.
    fn stats(&self) -> BTreeMap<String, (u64, u64)> {
        let stats = self.emulator.stats();
        stats["operations"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, counts)| {
                (
                    name.clone(),
                    (
                        counts["calls"].as_u64().unwrap_or(0),
                        counts["throttled"].as_u64().unwrap_or(0),
                    ),
                )
            })
            .collect()
    }
}

/// One measured job.
struct Measured {
    job: String,
    wall: Duration,
    calls: BTreeMap<String, u64>,
    throttled: u64,
    peak_mb: f64,
    /// The fewest calls, in stages that cannot overlap (a stage needs the answers of the one
    /// before: the plan before its writes, the writes before the final read).
    stages: Vec<BTreeMap<String, u64>>,
    factor: f64,
}

impl Measured {
    fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    /// The fewest calls per operation, all stages together.
    fn minimum(&self) -> BTreeMap<String, u64> {
        let mut minimum = BTreeMap::new();
        for stage in &self.stages {
            for (operation, calls) in stage {
                add(&mut minimum, operation, *calls);
            }
        }
        minimum
    }

    /// The time the minimum calls need: within a stage each operation is limited apart, so its
    /// slowest operation bounds it; the stages add up. Latency counts only where calls cannot
    /// overlap: ListAccounts pages follow one another (each needs the last one's token), so
    /// they take at least their latency each, whatever the rate limit. (At 1x the rate bounds
    /// them; at 5x the chain of pages does.)
    fn bound(&self) -> f64 {
        self.stages
            .iter()
            .map(|stage| {
                stage
                    .iter()
                    .map(|(operation, calls)| {
                        let paced = *calls as f64 / rate_of(operation, self.factor);
                        if operation == "Organizations.ListAccounts" {
                            paced.max(*calls as f64 * LATENCY_MS as f64 / 1000.0)
                        } else {
                            paced
                        }
                    })
                    .fold(0.0, f64::max)
            })
            .sum()
    }
}

fn rate_of(operation: &str, factor: f64) -> f64 {
    if operation.starts_with("Organizations.") || operation.starts_with("Sts.") {
        ORGANIZATIONS_RATE * factor
    } else {
        LICENSE_MANAGER_RATE * factor
    }
}

/// Runs `entitle <args>` against the server and measures it.
fn measure(
    server: &Server,
    dir: &Path,
    job: &str,
    args: &[&str],
    stages: Vec<BTreeMap<String, u64>>,
    factor: f64,
) -> Measured {
    let before = server.stats();
    let mut command = entitle();
    command
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", &server.endpoint)
        .args(args);
    let run = timed(command, job);
    let after = server.stats();
    let mut calls = BTreeMap::new();
    let mut throttled = 0;
    for (operation, (count, throttles)) in &after {
        let (was, was_throttled) = before.get(operation).copied().unwrap_or((0, 0));
        if count > &was && !operation.starts_with("Sts.") {
            calls.insert(operation.clone(), count - was);
        }
        throttled += throttles - was_throttled;
    }
    Measured {
        job: job.to_owned(),
        wall: run.wall,
        calls,
        throttled,
        peak_mb: run.peak_kib as f64 / 1024.0,
        stages,
        factor,
    }
}

/// The fewest calls that read the accounts and place them by their `Paths`: DescribeOrganization,
/// ListRoots, one ListAccounts page per 20 accounts; no OU listed (a plan of accounts or of the
/// organisation needs none).
fn accounts_minimum(state: &State) -> BTreeMap<String, u64> {
    BTreeMap::from([
        ("Organizations.DescribeOrganization".to_owned(), 1),
        ("Organizations.ListRoots".to_owned(), 1),
        (
            "Organizations.ListAccounts".to_owned(),
            pages(state.accounts.len() as u64),
        ),
    ])
}

/// Pages of 20 for `items` (at least one).
fn pages(items: u64) -> u64 {
    items.div_ceil(20).max(1)
}

/// The child OUs of every parent (the root and each OU).
fn children(state: &State) -> BTreeMap<String, u64> {
    let mut children: BTreeMap<String, u64> = BTreeMap::new();
    children.insert(state.organization.root_id.clone(), 0);
    for ou in state.ous.values() {
        children.entry(ou.id.clone()).or_insert(0);
        *children.entry(ou.parent_id.clone()).or_insert(0) += 1;
    }
    children
}

/// The fewest calls that read the whole organisation: the accounts, and one
/// ListOrganizationalUnitsForParent page per 20 child OUs of every parent (at least one).
fn discovery_minimum(state: &State) -> BTreeMap<String, u64> {
    let mut minimum = accounts_minimum(state);
    add(
        &mut minimum,
        "Organizations.ListOrganizationalUnitsForParent",
        children(state).values().map(|count| pages(*count)).sum(),
    );
    minimum
}

/// The fewest calls that read the accounts and the OU `unit` by its path: the children of each
/// OU above it (walking down by name), and with `subtree` of it and of every OU below it.
fn walk_minimum(state: &State, unit: &str, subtree: bool) -> BTreeMap<String, u64> {
    let children = children(state);
    let mut listed: Vec<String> = state
        .ancestry(unit)
        .unwrap()
        .into_iter()
        .filter(|id| id != unit)
        .collect();
    if subtree {
        listed.extend(
            state
                .ous
                .keys()
                .filter(|id| state.ancestry(id).unwrap().contains(&unit.to_owned()))
                .cloned(),
        );
    }
    let mut minimum = accounts_minimum(state);
    add(
        &mut minimum,
        "Organizations.ListOrganizationalUnitsForParent",
        listed.iter().map(|id| pages(children[id])).sum(),
    );
    minimum
}

/// The accounts in `unit`'s subtree.
fn accounts_under(state: &State, unit: &str) -> Vec<String> {
    state
        .accounts
        .keys()
        .filter(|id| state.ancestry(id).unwrap().contains(&unit.to_owned()))
        .cloned()
        .collect()
}

/// The OU path of names of `unit`.
fn name_path(state: &State, unit: &str) -> String {
    state
        .ancestry(unit)
        .unwrap()
        .iter()
        .filter_map(|id| state.ous.get(id))
        .map(|ou| ou.name.clone())
        .collect::<Vec<_>>()
        .join("/")
}

fn add(minimum: &mut BTreeMap<String, u64>, operation: &str, calls: u64) {
    *minimum.entry(operation.to_owned()).or_insert(0) += calls;
}

/// Reading the license and a license's grants: ListReceivedLicenses, ListDistributedGrants pages
/// of 100 (the grants' names say whose they are: no ListTagsForResource), and
/// ListReceivedGrantsForOrganization pages of 100.
fn grants_minimum(minimum: &mut BTreeMap<String, u64>, grants: u64, received: u64) {
    add(minimum, "LicenseManager.ListReceivedLicenses", 1);
    add(
        minimum,
        "LicenseManager.ListDistributedGrants",
        grants.div_ceil(100).max(1),
    );
    add(
        minimum,
        "LicenseManager.ListReceivedGrantsForOrganization",
        received.div_ceil(100).max(1),
    );
}

fn plan_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "version = 1\nname = \"{name}\"\n\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\
             activation = \"grantor\"\n\n[[phase]]\nname = \"all\"\n{body}"
        ),
    )
    .unwrap();
    path
}

fn baseline(server: &Server, mode: &str, limit: usize) -> Option<(Duration, u64, String)> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/baseline/rollout.py");
    if !python.exists() || !script.exists() {
        println!(
            "  (baseline skipped: {} or {} missing)",
            python.display(),
            script.display()
        );
        return None;
    }
    let before: u64 = server.stats().values().map(|(calls, _)| calls).sum();
    let started = Instant::now();
    let output = Command::new(python)
        .arg(script)
        .args([
            "--endpoint",
            &server.endpoint,
            "--license-arn",
            DEMO_ACTIVE_LICENSE,
        ])
        .args(["--limit", &limit.to_string(), mode])
        .env("AWS_ACCESS_KEY_ID", "AKIDSANDBOX")
        .env("AWS_SECRET_ACCESS_KEY", "sandbox-secret")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let wall = started.elapsed();
    let after: u64 = server.stats().values().map(|(calls, _)| calls).sum();
    Some((
        wall,
        after - before,
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
    ))
}

fn main() {
    let accounts = env_number("ENTITLE_SCALE_ACCOUNTS", 1000.0) as usize;
    let ous = env_number("ENTITLE_SCALE_OUS", 100.0) as usize;
    let factor = env_number("ENTITLE_SCALE_FACTOR", 1.0);
    let jobs = std::env::var("ENTITLE_SCALE_JOBS").unwrap_or_default();
    let jobs: Vec<&str> = jobs
        .split(',')
        .map(str::trim)
        .filter(|job| !job.is_empty())
        .collect();
    let want = |job: &str| {
        let listed = jobs.is_empty() || jobs.contains(&job);
        listed && (job != "baseline" || env_number("ENTITLE_SCALE_BASELINE", 1.0) > 0.0)
    };
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let state = State::generate(GenerateOptions {
        accounts,
        ous,
        depth: 5,
        seed: 7,
    });
    let mut targets = state.active_member_ids();
    targets.truncate(2_000);
    let grants = targets.len() as u64;
    println!(
        "organisation: {} accounts ({} ACTIVE members granted), {} OUs, depth 5; latency {LATENCY_MS} ms; \
         {:.0} req/s per Organizations operation, {:.0} per License Manager / Marketplace operation",
        state.accounts.len(),
        grants,
        state.ous.len(),
        ORGANIZATIONS_RATE * factor,
        LICENSE_MANAGER_RATE * factor
    );
    let listed: Vec<String> = targets.iter().map(|id| format!("\"{id}\"")).collect();
    let per_account = plan_file(
        dir,
        "per-account",
        &format!("accounts = [{}]\n", listed.join(", ")),
    );
    let org_wide = plan_file(dir, "org-wide", "organization = true\n");
    let per_account = per_account.display().to_string();
    let org_wide = org_wide.display().to_string();
    let received_all = state
        .accounts
        .values()
        .filter(|account| account.state == "ACTIVE")
        .count() as u64
        - 1;

    let mut results = Vec::new();
    let server = Server::start(dir, &state, "main", factor);
    if want("discovery") {
        results.push(measure(
            &server,
            dir,
            "discovery",
            &["discover", "--no-tags"],
            vec![discovery_minimum(&state)],
            factor,
        ));
    }
    // What every plan of accounts or of the organisation reads first, all at once: the
    // accounts, the license and its grants.
    let observe = |grants: u64, received: u64| {
        let mut minimum = accounts_minimum(&state);
        grants_minimum(&mut minimum, grants, received);
        minimum
    };
    if want("plan") {
        results.push(measure(
            &server,
            dir,
            "plan",
            &["plan", &per_account],
            vec![observe(0, 0)],
            factor,
        ));
    }
    // A phase of one OU (the root's child with the most accounts below it), read walking down by
    // name with its subtree; and the same OU narrowed by a tag (`match = "all"`): the tags of
    // its accounts alone.
    let top = state
        .ous
        .values()
        .filter(|ou| ou.parent_id == state.organization.root_id)
        .max_by_key(|ou| (accounts_under(&state, &ou.id).len(), ou.id.clone()))
        .map(|ou| ou.id.clone())
        .unwrap();
    let top_path = name_path(&state, &top);
    let tagged_accounts = accounts_under(&state, &top).len() as u64;
    println!(
        "OU-selected phase: `{top_path}` ({} OUs below it, {tagged_accounts} accounts)",
        state
            .ous
            .keys()
            .filter(|id| *id != &top && state.ancestry(id).unwrap().contains(&top))
            .count()
    );
    if want("ou-plan") {
        let ou_plan = plan_file(dir, "ou", &format!("ous = [\"{top_path}\"]\n"));
        let mut minimum = walk_minimum(&state, &top, true);
        grants_minimum(&mut minimum, 0, 0);
        results.push(measure(
            &server,
            dir,
            "plan, one OU phase",
            &["plan", &ou_plan.display().to_string()],
            vec![minimum],
            factor,
        ));
    }
    if want("tag-plan") {
        let tag_plan = plan_file(
            dir,
            "tagged",
            &format!("ous = [\"{top_path}\"]\ntags = {{ team = \"ml\" }}\nmatch = \"all\"\n"),
        );
        // The OU is read with the accounts (not its subtree: with `match = "all"` no OU is
        // granted whole); the tags once the accounts are known.
        let mut reads = walk_minimum(&state, &top, false);
        grants_minimum(&mut reads, 0, 0);
        let tags = BTreeMap::from([(
            "Organizations.ListTagsForResource".to_owned(),
            tagged_accounts,
        )]);
        results.push(measure(
            &server,
            dir,
            "plan, one OU narrowed by a tag",
            &["plan", &tag_plan.display().to_string()],
            vec![reads, tags],
            factor,
        ));
    }
    // status and cleanup need the grants that apply makes.
    let applied = want("apply") || want("status") || want("cleanup");
    if applied {
        // The writes (each grant created then activated, pipelined), then the accounts' grants
        // read once more for the final status.
        let writes = BTreeMap::from([
            ("LicenseManager.CreateGrant".to_owned(), grants),
            ("LicenseManager.CreateGrantVersion".to_owned(), grants),
        ]);
        let status = BTreeMap::from([(
            "LicenseManager.ListReceivedGrantsForOrganization".to_owned(),
            grants.div_ceil(100),
        )]);
        results.push(measure(
            &server,
            dir,
            &format!("apply, {grants} account grants"),
            &["apply", "--auto-approve", &per_account],
            vec![observe(0, 0), writes, status],
            factor,
        ));
    }
    if applied && want("status") {
        results.push(measure(
            &server,
            dir,
            "status",
            &["status", &per_account],
            vec![observe(grants, grants)],
            factor,
        ));
    }
    if applied && want("cleanup") {
        server.cancel_agreement();
        // Cleanup of one license, unattended: the organisation and its root, the search, the
        // license, its grants (their names say whose) and the accounts' grants; then one
        // DeleteGrant per grant, with the accounts' listing beside them (it only names them in
        // the report); then the accounts' grants again to verify.
        let mut reads = BTreeMap::from([
            ("Organizations.DescribeOrganization".to_owned(), 1),
            ("Organizations.ListRoots".to_owned(), 1),
            ("MarketplaceAgreement.SearchAgreements".to_owned(), 1),
        ]);
        grants_minimum(&mut reads, grants, grants);
        let deletes = BTreeMap::from([
            ("LicenseManager.DeleteGrant".to_owned(), grants),
            (
                "Organizations.ListAccounts".to_owned(),
                pages(state.accounts.len() as u64),
            ),
        ]);
        // Once every grant is gone, the accounts' grants fit on one page.
        let verify = BTreeMap::from([(
            "LicenseManager.ListReceivedGrantsForOrganization".to_owned(),
            1,
        )]);
        results.push(measure(
            &server,
            dir,
            "cleanup",
            &[
                "cleanup",
                "--auto-approve",
                "--license",
                DEMO_ACTIVE_LICENSE,
            ],
            vec![reads, deletes, verify],
            factor,
        ));
    }
    drop(server);

    if want("org-wide") {
        let server = Server::start(dir, &state, "org-wide", factor);
        let writes = BTreeMap::from([
            ("LicenseManager.CreateGrant".to_owned(), 1),
            ("LicenseManager.CreateGrantVersion".to_owned(), 1),
        ]);
        let status = BTreeMap::from([(
            "LicenseManager.ListReceivedGrantsForOrganization".to_owned(),
            received_all.div_ceil(100),
        )]);
        results.push(measure(
            &server,
            dir,
            "apply, organisation grant",
            &["apply", "--auto-approve", &org_wide],
            vec![observe(0, 0), writes, status],
            factor,
        ));
        drop(server);
    }

    println!();
    println!("| job | calls | minimum | ratio | wall | bound | ratio | throttles | peak RSS |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for result in &results {
        let minimum: u64 = result.minimum().values().sum();
        println!(
            "| {} | {} | {} | {:.2} | {:.1} s | {:.1} s | {:.2} | {} | {:.0} MB |",
            result.job,
            result.total(),
            minimum,
            result.total() as f64 / minimum as f64,
            result.wall.as_secs_f64(),
            result.bound(),
            result.wall.as_secs_f64() / result.bound(),
            result.throttled,
            result.peak_mb
        );
    }
    println!();
    for result in &results {
        let extra: Vec<String> = result
            .calls
            .iter()
            .map(|(operation, calls)| {
                let minimum = result.minimum().get(operation).copied().unwrap_or(0);
                format!("{operation} {calls} (min {minimum})")
            })
            .collect();
        println!("{}: {}", result.job, extra.join(", "));
    }

    if want("baseline") || want("baseline-list") {
        // What the usual script knows of the organisation: the accounts, listed one page after
        // the other (no OUs, no tags).
        println!();
        let server = Server::start(dir, &state, "baseline-list", factor);
        if let Some((wall, calls, summary)) = baseline(&server, "list", 0) {
            println!(
                "baseline account listing: {:.1} s, {calls} calls: {summary}",
                wall.as_secs_f64()
            );
        }
    }
    if want("baseline") {
        println!();
        let limit = env_number("ENTITLE_SCALE_BASELINE_LIMIT", targets.len() as f64) as usize;
        let server = Server::start(dir, &state, "baseline", factor);
        if let Some((wall, calls, summary)) = baseline(&server, "rollout", limit) {
            println!(
                "baseline rollout (the first {limit} of {grants} accounts): {:.1} s, {calls} calls: {summary}",
                wall.as_secs_f64()
            );
        }
        server.cancel_agreement();
        if let Some((wall, calls, summary)) = baseline(&server, "cleanup", limit) {
            println!(
                "baseline cleanup: {:.1} s, {calls} calls: {summary}",
                wall.as_secs_f64()
            );
        }
    }
}
