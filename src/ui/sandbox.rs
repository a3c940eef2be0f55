//! Rendering of `entitle sandbox` commands: the environment to paste, admin results, stats.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::FORMAT_VERSION;

/// What `entitle sandbox serve` tells its user.
#[derive(Debug, Serialize)]
pub struct Serving {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// `sandbox-serve`.
    pub kind: &'static str,
    /// The URL every service answers on.
    pub endpoint: String,
    /// Where the state is saved when the server stops.
    pub state_file: String,
    /// Environment variables that point the AWS SDKs and CLI at the emulator.
    pub environment: BTreeMap<&'static str, String>,
}

impl Serving {
    /// What to tell about an emulator at `endpoint` with this environment.
    pub fn new(
        endpoint: &str,
        environment: Vec<(&'static str, String)>,
        state_file: &Path,
    ) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            kind: "sandbox-serve",
            endpoint: endpoint.to_owned(),
            state_file: state_file.display().to_string(),
            environment: environment.into_iter().collect(),
        }
    }
}

/// The lines a person pastes into a shell.
pub fn serving(out: &mut dyn Write, serving: &Serving) -> io::Result<()> {
    writeln!(
        out,
        "entitle sandbox listening on {} (state: {})",
        serving.endpoint, serving.state_file
    )?;
    writeln!(
        out,
        "Point the AWS SDKs and CLI at it (dummy credentials; nothing reaches AWS):"
    )?;
    writeln!(out)?;
    for (name, value) in &serving.environment {
        writeln!(out, "export {name}={value}")?;
    }
    writeln!(out, "unset AWS_PROFILE AWS_SESSION_TOKEN")?;
    writeln!(out)?;
    writeln!(
        out,
        "Stop it with Ctrl-C; the state is saved to {}.",
        serving.state_file
    )
}

/// What an admin action did (`entitle sandbox <action>`).
#[derive(Debug, Serialize)]
pub struct AdminDone {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// `sandbox-admin`.
    pub kind: &'static str,
    /// The action, as typed on the command line (`cancel-agreement`).
    pub action: String,
    /// The state file changed, or the running server's endpoint.
    pub target: String,
    /// The emulator's summary of the change, its fields beside these (they depend on the
    /// action: `accountId`, `agreementId`, `status`, ...).
    #[serde(flatten)]
    pub result: serde_json::Map<String, Value>,
}

impl AdminDone {
    /// The document of `action` done on `target`.
    pub fn new(action: String, target: String, result: Value) -> Self {
        let result = match result {
            Value::Object(fields) => fields,
            other => serde_json::Map::from_iter([("result".to_owned(), other)]),
        };
        Self {
            format_version: FORMAT_VERSION,
            kind: "sandbox-admin",
            action,
            target,
            result,
        }
    }
}

/// An admin action's summary, for people: one line, then the fields the emulator reported.
pub fn admin_result(out: &mut dyn Write, done: &AdminDone) -> io::Result<()> {
    writeln!(out, "{}: done on {}", done.action, done.target)?;
    let width = done.result.keys().map(String::len).max().unwrap_or(0);
    for (key, value) in &done.result {
        writeln!(out, "  {key:<width$}  {}", plain(value))?;
    }
    Ok(())
}

/// A JSON value as a person reads it: strings bare, lists joined, nothing as `-`.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".to_owned(),
        Value::Array(items) if items.is_empty() => "-".to_owned(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The calls a running emulator has served (`entitle sandbox stats`).
#[derive(Debug, Serialize)]
pub struct Stats {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// `sandbox-stats`.
    pub kind: &'static str,
    /// The server asked.
    pub endpoint: String,
    /// Every call counted.
    pub total_calls: u64,
    /// Per `Service.Operation`: calls, ok, client_errors, throttled, server_errors, dropped.
    pub operations: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Stats {
    /// The document of the server's `/_sandbox/stats` answer.
    pub fn new(endpoint: &str, answer: &Value) -> Self {
        let operations = answer
            .get("operations")
            .and_then(Value::as_object)
            .map(|operations| {
                operations
                    .iter()
                    .map(|(operation, counts)| {
                        let counts = counts
                            .as_object()
                            .map(|counts| {
                                counts
                                    .iter()
                                    .filter_map(|(name, count)| {
                                        Some((name.clone(), count.as_u64()?))
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        (operation.clone(), counts)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            format_version: FORMAT_VERSION,
            kind: "sandbox-stats",
            endpoint: endpoint.to_owned(),
            total_calls: answer
                .get("total_calls")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            operations,
        }
    }
}

/// Calls per operation of a running emulator.
pub fn stats(out: &mut dyn Write, stats: &Stats) -> io::Result<()> {
    writeln!(
        out,
        "{} calls served by {}",
        stats.total_calls, stats.endpoint
    )?;
    let width = stats.operations.keys().map(String::len).max().unwrap_or(0);
    for (operation, counts) in &stats.operations {
        let calls = counts.get("calls").copied().unwrap_or(0);
        let details = counts
            .iter()
            .filter(|(name, count)| name.as_str() != "calls" && **count > 0)
            .map(|(name, count)| format!("{count} {}", name.replace('_', " ")))
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(out, "  {operation:<width$}  {calls:>6}  {details}")?;
    }
    Ok(())
}
