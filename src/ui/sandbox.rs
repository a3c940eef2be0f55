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

/// The summary an admin action returns.
pub fn admin_result(out: &mut dyn Write, result: &Value) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(result).map_err(io::Error::other)?
    )
}

/// Calls per operation of a running emulator.
pub fn stats(out: &mut dyn Write, stats: &Value) -> io::Result<()> {
    writeln!(
        out,
        "{} calls",
        stats
            .get("total_calls")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    )?;
    if let Some(operations) = stats.get("operations").and_then(Value::as_object) {
        for (operation, counts) in operations {
            writeln!(out, "  {operation}: {counts}")?;
        }
    }
    Ok(())
}
