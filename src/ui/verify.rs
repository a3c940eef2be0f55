//! How `entitle verify` looks: one line per account (its grant beside Bedrock's four answers per
//! region), its flags and failures each with the fix, the totals; or the JSON document (kind
//! `verify`, schema in docs/schema/verify.schema.json); and its progress bar on stderr.

use std::io::{self, Write};

use indicatif::ProgressBar;
use serde::Serialize;

use super::{FORMAT_VERSION, Printer, Style};
use crate::planner::verify::{AccountCheck, Expect, Intent, Verdict, VerifyReport};

/// The JSON document of `entitle verify --output json`.
#[derive(Debug, Serialize)]
pub struct VerifyDocument<'a> {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// Always `verify`.
    pub kind: &'static str,
    /// When Bedrock was asked (RFC 3339, UTC).
    pub checked_at: String,
    /// The member role assumed in each account.
    pub member_role: &'a str,
    /// Whether every account verified agrees with the plan's intent (the exit code's reason).
    pub agrees: bool,
    /// The report.
    #[serde(flatten)]
    pub report: &'a VerifyReport,
}

impl<'a> VerifyDocument<'a> {
    /// The document of a report made at `checked_at` (seconds since the epoch).
    pub fn new(report: &'a VerifyReport, member_role: &'a str, checked_at: i64) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            kind: "verify",
            checked_at: super::timestamp(checked_at),
            member_role,
            agrees: report.agrees(),
            report,
        }
    }
}

/// Bedrock's answers of one account, region by region: `us-east-1 entitlement AVAILABLE,
/// agreement AVAILABLE, AUTHORIZED, region AVAILABLE`.
fn answers(account: &AccountCheck, style: &Style) -> String {
    account
        .availability
        .iter()
        .map(|answer| {
            let entitlement = if answer.entitlement.is_available() {
                style.good(answer.entitlement.as_str())
            } else {
                answer.entitlement.as_str().to_owned()
            };
            format!(
                "{} entitlement {entitlement}, agreement {}, {}, region {}",
                answer.region,
                answer.agreement.as_str(),
                answer.authorization.as_str(),
                answer.region_availability.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The report for people.
pub fn render_human(
    document: &VerifyDocument<'_>,
    style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let report = document.report;
    let through = match (report.expect, &report.applied_through) {
        (Expect::Absent, _) => "expecting no account to be entitled (`--expect absent`)".to_owned(),
        (Expect::Present, Some(phase)) => {
            format!("expecting the phases through `{phase}` to be entitled and the later ones not")
        }
        (Expect::Present, None) => {
            "the rollout holds no grant: expecting no account to be entitled".to_owned()
        }
    };
    writeln!(
        out,
        "{}",
        style.bold(format!(
            "Verifying `{}`: model `{}` (product `{}`) in {}, as `{}`",
            report.rollout,
            report.model_id,
            report.product,
            report.regions.join(", "),
            document.member_role
        ))
    )?;
    writeln!(out, "{through}")?;
    writeln!(out)?;
    for account in &report.accounts {
        let candidate = &account.candidate;
        let mark = match account.verdict {
            Verdict::Agrees => style.good("ok"),
            Verdict::Disagrees => style.error("DISAGREES"),
            Verdict::Failed => style.error("FAILED"),
        };
        let intent = match account.intent {
            Intent::Entitled => "meant entitled",
            Intent::NotEntitled => "meant not entitled",
        };
        let grant = account
            .grant_status
            .as_ref()
            .map_or_else(|| "no grant".to_owned(), |status| format!("grant {status}"));
        writeln!(
            out,
            "{mark:<9} {} {:<24} {:<10} {grant:<22} {intent}",
            candidate.account,
            truncate(&candidate.name, 24),
            candidate.phase,
        )?;
        if !account.availability.is_empty() {
            writeln!(out, "          {}", answers(account, style))?;
        }
        let mut fixes_shown = std::collections::BTreeSet::new();
        for flag in &account.flags {
            writeln!(out, "          {} {}", style.warning("!"), flag.message())?;
            // One fix per kind of flag: the same flag in several regions has the same fix.
            if fixes_shown.insert(flag.kind()) {
                writeln!(out, "            {} {}", style.hint("fix:"), flag.fix())?;
            }
        }
        if let Some(failure) = &account.failure {
            let region = failure
                .region
                .as_ref()
                .map(|region| format!(" in `{region}`"))
                .unwrap_or_default();
            writeln!(
                out,
                "          {} {}{region} failed: {}",
                style.error("x"),
                failure.step,
                failure.error
            )?;
            writeln!(out, "            {} {}", style.hint("fix:"), failure.hint)?;
        }
    }
    let totals = &report.totals;
    writeln!(out)?;
    let checked = if report.sampled {
        format!("{} verified (a sample)", totals.checked)
    } else {
        format!("{} verified", totals.checked)
    };
    writeln!(
        out,
        "{} targeted, {checked}: {} agree, {} disagree, {} failed; {} entitled, {} not entitled.",
        totals.targeted,
        totals.agree,
        totals.disagree,
        totals.failed,
        totals.entitled,
        totals.not_entitled
    )?;
    if !totals.flags.is_empty() {
        let flags: Vec<String> = totals
            .flags
            .iter()
            .map(|(kind, count)| format!("{kind} {count}"))
            .collect();
        writeln!(out, "Flags: {}.", flags.join(", "))?;
    }
    let verdict = if document.agrees {
        style.good("Every account verified agrees with the plan.")
    } else {
        style.error("Some accounts do not agree with the plan (see above).")
    };
    writeln!(out, "{verdict}")
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(width.saturating_sub(1)).collect();
        short.push('~');
        short
    }
}

/// A bar over the accounts being verified (a terminal only; nothing otherwise).
#[derive(Debug)]
pub struct VerifyProgress {
    bar: Option<ProgressBar>,
}

impl VerifyProgress {
    /// A bar over `total` accounts when the printer allows progress.
    pub fn new(printer: &Printer, total: usize) -> Self {
        let bar = printer.progress.then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Some(style) = super::progress::counting_style(
                "{prefix:>10} {bar:30} {pos}/{len} accounts ({rate}, eta {eta}) {msg}",
            ) {
                bar.set_style(style);
            }
            bar.set_prefix("verifying");
            bar
        });
        Self { bar }
    }

    /// One account done; `problem` when it disagrees or failed.
    pub fn done(&self, problem: bool) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if problem {
                bar.set_message("(problems found)");
            }
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for VerifyProgress {
    fn drop(&mut self) {
        self.finish();
    }
}
