//! How `entitle doctor` looks: one line per check with its mark, the fix under each warning and
//! failure, a summary line; with `--fix`, what it will change and what it leaves to a person,
//! then what each change did; or the versioned JSON document (docs/schema/doctor.schema.json).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::{FORMAT_VERSION, Printer, Style};
use crate::cli::OutputFormat;
use crate::model::doctor::{Check, Verdict};
use crate::planner::doctor::DoctorReport;
use crate::planner::doctor::fix::{Fix, FixPlan, NotFixed};

/// The JSON document of `entitle doctor --output json`.
#[derive(Debug, Serialize)]
pub struct DoctorDocument<'a> {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// Always `doctor`.
    pub kind: &'static str,
    /// The plan checked, if any.
    pub plan: Option<String>,
    /// Whether nothing failed (the exit code is 0 exactly then).
    pub ok: bool,
    /// How many checks came out each way.
    pub counts: BTreeMap<Verdict, usize>,
    /// Every check, in order (with `--fix`: as they stand after the fixes).
    pub checks: &'a [Check],
    /// With `--fix`: what was changed and what was left to a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<&'a FixDocument>,
}

/// What `doctor --fix` did.
#[derive(Debug, Serialize)]
pub struct FixDocument {
    /// Each change made, in order, and how it ended.
    pub fixes: Vec<FixOutcome>,
    /// Failed checks `--fix` does not fix, with their own fix.
    pub not_fixed: Vec<NotFixed>,
    /// Why nothing could be fixed, when nothing could.
    pub blocked: Option<String>,
    /// Said when the organisation has not all features (`--fix` never enables them).
    pub feature_set_note: Option<String>,
    /// The journal the changes were recorded in, when any change was made.
    pub journal: Option<String>,
}

/// One change `doctor --fix` made.
#[derive(Debug, Serialize)]
pub struct FixOutcome {
    /// The change.
    #[serde(flatten)]
    pub fix: Fix,
    /// The change in words.
    pub description: String,
    /// The request id AWS gave the call.
    pub request_id: Option<String>,
    /// The error, when the call failed.
    pub error: Option<String>,
}

impl<'a> DoctorDocument<'a> {
    /// The document of a report.
    pub fn new(report: &'a DoctorReport, plan: Option<&Path>) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            kind: "doctor",
            plan: plan.map(|path| path.display().to_string()),
            ok: !report.has_failures(),
            counts: report.counts(),
            checks: &report.checks,
            fix: None,
        }
    }

    /// The document of `doctor --fix`: `ok` also needs every change to have worked.
    pub fn with_fix(mut self, fix: &'a FixDocument) -> Self {
        self.ok = self.ok && fix.fixes.iter().all(|outcome| outcome.error.is_none());
        self.fix = Some(fix);
        self
    }
}

/// Before `--fix` changes anything (people only; JSON gets the end result): the checks as they
/// stand, the changes it will make, what it leaves to a person, and why it never enables all
/// features when the organisation has not.
pub fn render_fix_plan(printer: &Printer, report: &DoctorReport, plan: &FixPlan) -> io::Result<()> {
    if printer.format != OutputFormat::Human {
        return Ok(());
    }
    let style = &printer.style;
    let mut out = io::stdout().lock();
    render_human(report, style, &mut out)?;
    writeln!(out)?;
    if let Some(blocked) = &plan.blocked {
        writeln!(out, "{} {blocked}", style.bad("cannot fix:"))?;
    }
    if let Some(note) = &plan.feature_set_note {
        writeln!(out, "{} {note}", style.warning("note:"))?;
    }
    if plan.fixes.is_empty() {
        writeln!(out, "doctor --fix has nothing it can change")?;
    } else {
        writeln!(out, "doctor --fix will:")?;
        for fix in &plan.fixes {
            writeln!(out, "  + {}", fix.describe())?;
        }
    }
    if !plan.not_fixed.is_empty() {
        writeln!(out, "left for you (doctor --fix does not change these):")?;
        for check in &plan.not_fixed {
            writeln!(out, "  - {}", style.bold(&check.title))?;
            if let Some(fix) = &check.fix {
                writeln!(out, "    {} {fix}", style.hint("fix:"))?;
            }
        }
    }
    out.flush()
}

/// What each change did, before the checks as they stand now.
pub fn render_fixed(fix: &FixDocument, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    if fix.fixes.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    for outcome in &fix.fixes {
        match &outcome.error {
            None => writeln!(out, "{} {}", style.good("done"), outcome.description)?,
            Some(error) => writeln!(
                out,
                "{} {}: {error}",
                style.bad("FAILED"),
                outcome.description
            )?,
        }
    }
    if let Some(journal) = &fix.journal {
        writeln!(out, "recorded in {journal}")?;
    }
    writeln!(
        out,
        "
the checks again:"
    )
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
