//! How `entitle doctor` looks: one line per check with its mark, the fix under each warning and
//! failure, a summary line; or the versioned JSON document.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::{FORMAT_VERSION, Style};
use crate::model::doctor::{Check, Verdict};
use crate::planner::doctor::DoctorReport;

/// The JSON document of `entitle doctor --output json`.
#[derive(Debug, Serialize)]
pub struct DoctorDocument<'a> {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// The plan checked, if any.
    pub plan: Option<String>,
    /// Whether nothing failed (the exit code is 0 exactly then).
    pub ok: bool,
    /// How many checks came out each way.
    pub counts: BTreeMap<Verdict, usize>,
    /// Every check, in order.
    pub checks: &'a [Check],
}

impl<'a> DoctorDocument<'a> {
    /// The document of a report.
    pub fn new(report: &'a DoctorReport, plan: Option<&Path>) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            plan: plan.map(|path| path.display().to_string()),
            ok: !report.has_failures(),
            counts: report.counts(),
            checks: &report.checks,
        }
    }
}

fn mark(verdict: Verdict, style: &Style) -> String {
    match verdict {
        Verdict::Pass => style.good("ok  "),
        Verdict::Warn => style.warning("warn"),
        Verdict::Fail => style.bad("FAIL"),
        Verdict::Skip => style.dim("skip"),
    }
}

/// Writes one line per check, the fix below warnings and failures, then the totals.
pub fn render_human(report: &DoctorReport, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    for check in &report.checks {
        writeln!(
            out,
            "{} {}: {}",
            mark(check.verdict, style),
            style.bold(&check.title),
            check.detail
        )?;
        if matches!(check.verdict, Verdict::Warn | Verdict::Fail)
            && let Some(fix) = &check.fix
        {
            writeln!(out, "     {} {fix}", style.hint("fix:"))?;
        }
    }
    let counts = report.counts();
    let count = |verdict| counts.get(&verdict).copied().unwrap_or(0);
    writeln!(
        out,
        "\n{} passed, {} warning{}, {} failed, {} skipped",
        count(Verdict::Pass),
        count(Verdict::Warn),
        if count(Verdict::Warn) == 1 { "" } else { "s" },
        count(Verdict::Fail),
        count(Verdict::Skip)
    )?;
    if report.has_failures() {
        writeln!(out, "a rollout is blocked until every FAIL above is fixed")?;
    } else {
        writeln!(out, "nothing blocks a rollout")?;
    }
    Ok(())
}
