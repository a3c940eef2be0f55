//! What the end-to-end benchmarks share: the `entitle` binary with dummy credentials, the
//! emulator in its own process, and a command timed with its peak memory.
#![allow(
    dead_code,
    reason = "each benchmark is its own crate and uses part of this module"
)]

use std::io::BufRead as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_entitle");

/// The `entitle` binary, with dummy credentials and nothing from the real AWS environment.
pub fn entitle() -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIDSANDBOX")
        .env("AWS_SECRET_ACCESS_KEY", "sandbox-secret")
        .env("AWS_REGION", "us-east-1")
        .stdin(Stdio::null());
    command
}

/// `entitle sandbox serve` on a free loopback port, stopped when dropped.
pub struct Emulator {
    child: Child,
    pub endpoint: String,
}

impl Emulator {
    /// Serves `state_file` with the faults of `faults_file`; returns once it listens.
    pub fn start(state_file: &Path, faults_file: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = entitle()
            .args([
                "sandbox",
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--state",
            ])
            .arg(state_file)
            .arg("--faults")
            .arg(faults_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        stdout.read_line(&mut banner).unwrap();
        assert!(
            banner.contains("listening"),
            "the emulator did not start: {banner}"
        );
        // Keep draining what it prints, so it never blocks on a full or closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The emulator's own counts (`sandbox stats --output json`).
    pub fn stats(&self) -> serde_json::Value {
        let output = entitle()
            .args([
                "sandbox",
                "stats",
                "--endpoint",
                &self.endpoint,
                "--output",
                "json",
            ])
            .output()
            .unwrap();
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Peak resident memory (VmHWM) of a running process, in KiB.
pub fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// What running one command to its end measured.
pub struct Timed {
    /// Its stdout (stdout is captured; stderr goes into the failure message).
    pub stdout: Vec<u8>,
    /// From spawn to exit.
    pub wall: std::time::Duration,
    /// Its peak resident memory, in KiB (sampled every 20 ms).
    pub peak_kib: u64,
}

/// Runs `command` to its end, watching its peak memory; panics with its stderr if it fails.
pub fn timed(mut command: Command, what: &str) -> Timed {
    let started = std::time::Instant::now();
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let watcher = std::thread::spawn(move || {
        let mut peak = 0;
        while let Some(kib) = peak_kib(pid) {
            peak = peak.max(kib);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        peak
    });
    let output = child.wait_with_output().unwrap();
    let wall = started.elapsed();
    let peak_kib = watcher.join().unwrap();
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Timed {
        stdout: output.stdout,
        wall,
        peak_kib,
    }
}
