//! How `entitle guardrails` looks: the bare policy JSON on stdout (ready for
//! `aws organizations create-policy --content file://...`), notes on stderr; or the versioned
//! JSON document.

use std::io::{self, Write};

use serde::Serialize;

use super::{FORMAT_VERSION, Printer};
use crate::planner::guardrails::{Guardrails, PolicyDocument};

/// The JSON document of `entitle guardrails --output json`.
#[derive(Debug, Serialize)]
pub struct GuardrailsDocument<'a> {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// `guardrails`: what document this is (docs/schema/guardrails.schema.json); the policy
    /// itself is in `policy`, and is what `entitle guardrails` prints alone for people.
    pub kind: &'static str,
    /// The rollout's name.
    pub rollout: &'a str,
    /// The entitlement's Marketplace product, when known.
    pub product: Option<&'a str>,
    /// The service control policy.
    pub policy: &'a PolicyDocument,
    /// The models left invocable (`--deny-other-models`).
    pub allowed_models: &'a [String],
    /// What to know before attaching it.
    pub notes: &'a [String],
}

impl<'a> GuardrailsDocument<'a> {
    /// The document of built guardrails.
    pub fn new(rollout: &'a str, product: Option<&'a str>, guardrails: &'a Guardrails) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            kind: "guardrails",
            rollout,
            product,
            policy: &guardrails.policy,
            allowed_models: &guardrails.allowed_models,
            notes: &guardrails.notes,
        }
    }
}

/// Writes the policy alone, as pretty JSON.
pub fn render_human(guardrails: &Guardrails, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &guardrails.policy).map_err(io::Error::other)?;
    writeln!(out)
}

/// The notes and how to attach the policy, on stderr (hidden by `-q`).
pub fn notes(printer: &Printer, guardrails: &Guardrails) {
    if !printer.chatty {
        return;
    }
    let style = &printer.err_style;
    for note in &guardrails.notes {
        eprintln!("{} {note}", style.hint("note:"));
    }
    eprintln!(
        "{} entitle prints this policy and never attaches it; see docs/guardrails.md: \
         `aws organizations create-policy --type SERVICE_CONTROL_POLICY --name entitle-guardrails --content file://scp.json`, \
         then `aws organizations attach-policy --policy-id p-... --target-id <root, OU or account id>`",
        style.hint("note:")
    );
}
