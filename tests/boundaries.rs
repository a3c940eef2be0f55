//! The house's boundaries, checked on the source: only `src/aws/` (and the emulator) speak the
//! AWS SDK, only `src/ui/` prints, the pure core stays free of I/O, and every module says what
//! it owns.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// (file relative to src/, line number, line) of every code line (comments skipped) matching.
fn offending(allowed: &[&str], needles: &[&str]) -> Vec<String> {
    let root = src();
    let mut found = Vec::new();
    for path in sources(&root) {
        let relative = path
            .strip_prefix(&root)
            .expect("under src/")
            .to_string_lossy()
            .replace('\\', "/");
        if allowed.iter().any(|prefix| relative.starts_with(prefix)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source is UTF-8");
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if needles.iter().any(|needle| code.contains(needle)) {
                found.push(format!("src/{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn only_the_aws_module_and_the_emulator_use_the_sdk() {
    let found = offending(
        &["aws/", "sandbox/"],
        &["aws_sdk_", "aws_config", "aws_smithy", "aws_types"],
    );
    assert!(
        found.is_empty(),
        "the AWS SDK is used outside src/aws/:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_ui_module_prints() {
    let found = offending(
        &["ui/"],
        &[
            "println!",
            "print!(",
            "eprintln!",
            "eprint!(",
            "dbg!(",
            "std::io::stdout",
            "io::stdout()",
        ],
    );
    assert!(
        found.is_empty(),
        "printing outside src/ui/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_pure_core_does_no_io() {
    let needles = [
        "tokio",
        // The SDK's crates (a name like `their_aws_spelling` is not one).
        "aws_sdk_",
        "aws_config",
        "aws_smithy",
        "aws_types",
        "aws_credential",
        "indicatif",
        "std::fs",
        "std::net",
        "std::process",
        "std::env",
        "SystemTime::now",
        "Instant::now",
        "crate::ui",
        "crate::aws",
        "crate::commands",
    ];
    let root = src();
    let mut found = Vec::new();
    for pure in ["model", "planner"] {
        if !root.join(pure).exists() {
            continue;
        }
        let others: Vec<String> = std::fs::read_dir(&root)
            .expect("src/ is readable")
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name != pure)
            .map(|name| {
                if name.ends_with(".rs") {
                    name
                } else {
                    format!("{name}/")
                }
            })
            .collect();
        let allowed: Vec<&str> = others.iter().map(String::as_str).collect();
        found.extend(offending(&allowed, &needles));
    }
    assert!(
        found.is_empty(),
        "src/model or src/planner reaches for I/O, clocks or the SDK:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_module_starts_by_saying_what_it_owns() {
    let root = src();
    let missing: Vec<String> = sources(&root)
        .into_iter()
        .filter(|path| {
            !std::fs::read_to_string(path)
                .expect("source is UTF-8")
                .starts_with("//!")
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a `//!` first line:\n{}",
        missing.join("\n")
    );
}
