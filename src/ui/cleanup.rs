//! Rendering of `entitle cleanup`: the licenses of ended subscriptions with the grants to delete
//! (and those left alone), then what was deleted and each account's end state.

use std::io::{self, Write};

use serde::Serialize;

use super::apply::{ChangeOutcomes, render_human as render_changes};
use super::{FORMAT_VERSION, Style};
use crate::planner::Action;
use crate::planner::cleanup::{LicenseCleanup, ReachedAccount};

/// The JSON document of the cleanup plan (and, after deleting, of the whole cleanup).
#[derive(Debug, Serialize)]
pub struct CleanupDocument<'a> {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// `cleanup`: what document this is (docs/schema/cleanup.schema.json).
    pub kind: &'static str,
    /// Each ended license with its deletions.
    pub licenses: &'a [LicenseCleanup],
    /// Counts over all licenses.
    pub summary: CleanupSummary,
    /// After deleting: what was done and each account's end state; `null` when nothing was
    /// deleted (nothing to delete, or the plan shown before the confirmation).
    pub result: Option<CleanupResult>,
}

/// Counts of a cleanup plan, over all licenses (as a plan's `summary` counts its changes).
#[derive(Debug, Serialize)]
pub struct CleanupSummary {
    /// Ended licenses with grants to delete or left alone.
    pub licenses: usize,
    /// Grants to delete.
    pub delete: usize,
    /// Grants left alone (not entitle's).
    pub untouched: usize,
}

/// What a cleanup did, and what it verified afterwards.
#[derive(Debug, Serialize)]
pub struct CleanupResult {
    /// Every deletion's outcome (`changes`), with `totals` and `calls`, as in apply's report.
    #[serde(flatten)]
    pub changes: ChangeOutcomes,
    /// Per license, the accounts its grants reached and where each stands now.
    pub verified: Vec<VerifiedLicense>,
    /// Whether no account holds a live grant of a cleaned license any more, leaving aside the
    /// grants left alone on purpose (`false`, with `verified` empty, when a signal stopped the
    /// cleanup before its verification).
    pub clean: bool,
}

/// One license after cleanup.
#[derive(Debug, Serialize)]
pub struct VerifiedLicense {
    /// The license.
    pub license_arn: String,
    /// Each account reached before, and its end state: `no grant`, or the grant it still holds.
    pub accounts: Vec<AccountEndState>,
}

/// One account after cleanup.
#[derive(Debug, Serialize)]
pub struct AccountEndState {
    /// The account.
    pub account: String,
    /// Its name.
    pub name: String,
    /// Its status before.
    pub before: String,
    /// `no grant`, `kept (not entitle's)` or `still holds <grant> (<STATUS>)`.
    pub end_state: String,
    /// Whether the end state is what cleanup meant.
    pub ok: bool,
}

impl<'a> CleanupDocument<'a> {
    /// The plan's document.
    pub fn new(licenses: &'a [LicenseCleanup], result: Option<CleanupResult>) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            kind: "cleanup",
            summary: CleanupSummary {
                licenses: licenses.len(),
                delete: licenses.iter().map(|license| license.deletions.len()).sum(),
                untouched: licenses.iter().map(|license| license.untouched.len()).sum(),
            },
            licenses,
            result,
        }
    }
}

fn account_text(account: &ReachedAccount) -> String {
    if account.name.is_empty() {
        account.account.as_str().to_owned()
    } else {
        format!("{} {}", account.name, account.account.as_str())
    }
}

/// The plan: per license, what goes and what stays.
pub fn render_plan(
    licenses: &[LicenseCleanup],
    style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    if licenses.is_empty() {
        return writeln!(
            out,
            "{}",
            style.bold("No ended subscription has live grants left: nothing to clean up.")
        );
    }
    for cleanup in licenses {
        let license = &cleanup.ended.license;
        writeln!(
            out,
            "{} {}",
            style.bold(format!(
                "License {} ({}, {})",
                license.arn, license.product_name, license.product_sku
            )),
            style.dim(license.status.as_str())
        )?;
        writeln!(out, "  {}", style.dim(&cleanup.ended.why))?;
        for change in &cleanup.deletions {
            let place = if change.principal_path.is_empty() {
                String::new()
            } else {
                format!(" ({})", change.principal_path)
            };
            let name = change
                .before
                .as_ref()
                .map(|grant| grant.name.clone())
                .unwrap_or_default();
            writeln!(
                out,
                "  {} {}{place}: grant `{name}`, reaches {}",
                style.bad("-"),
                change.principal_name,
                super::counted(change.accounts, "account")
            )?;
            debug_assert_eq!(change.action, Action::Delete);
        }
        if !cleanup.untouched.is_empty() {
            writeln!(
                out,
                "  {}",
                style.dim("left alone, not entitle's (--include-unowned deletes them):")
            )?;
            for grant in &cleanup.untouched {
                writeln!(
                    out,
                    "    {} `{}` for {} ({})",
                    style.dim("="),
                    grant.name,
                    grant.principal_arn,
                    grant.status.as_str()
                )?;
            }
        }
        let holders: Vec<String> = cleanup.accounts.iter().map(account_text).collect();
        if !holders.is_empty() {
            writeln!(
                out,
                "  {} a live grant of it now: {}",
                holding(holders.len()),
                names_shown(&holders)
            )?;
        }
        writeln!(out)?;
    }
    let deletions: usize = licenses.iter().map(|license| license.deletions.len()).sum();
    writeln!(
        out,
        "{}",
        style.bold(format!(
            "Cleanup: {} to delete on {}.",
            super::counted(deletions, "grant"),
            super::counted(licenses.len(), "license")
        ))
    )
}

/// Shows the deletions a person is about to confirm: on stdout for people (the plan's
/// document); under `--output json` on stderr as text, so that stdout carries one document (the
/// cleanup's, with its `result`).
pub fn show_before_confirming(
    printer: &super::Printer,
    licenses: &[LicenseCleanup],
) -> io::Result<()> {
    match printer.format {
        crate::cli::OutputFormat::Human => printer
            .result(&CleanupDocument::new(licenses, None), |out| {
                render_plan(licenses, &printer.style, out)
            }),
        crate::cli::OutputFormat::Json => {
            let mut err = io::stderr().lock();
            render_plan(licenses, &printer.err_style, &mut err)?;
            err.flush()
        }
    }
}

/// The plan, the deletions and the verification.
pub fn render_result(
    licenses: &[LicenseCleanup],
    result: &CleanupResult,
    style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    render_plan(licenses, style, out)?;
    render_changes(&result.changes, style, out)?;
    writeln!(out)?;
    for license in &result.verified {
        writeln!(
            out,
            "{}",
            style.bold(format!("Accounts of {}:", license.license_arn))
        )?;
        for account in &license.accounts {
            let state = if account.ok {
                style.good(&account.end_state)
            } else {
                style.bad(&account.end_state)
            };
            writeln!(
                out,
                "  {:<24} {}  was {:<15} now {state}",
                account.name, account.account, account.before
            )?;
        }
    }
    let verdict = if result.changes.interrupted.is_some() {
        style.warning(
            "Not verified: the cleanup was interrupted; run it again to finish and verify.",
        )
    } else if result.clean {
        style.bold("Verified: no account holds any of the deleted grants any more.")
    } else {
        style.bad("Not clean: some accounts still hold a grant (see above).")
    };
    writeln!(out, "{verdict}")
}

/// `1 account holds`, `2 accounts hold`.
fn holding(count: usize) -> String {
    if count == 1 {
        "1 account holds".to_owned()
    } else {
        format!("{count} accounts hold")
    }
}

/// The most names shown on one line; the JSON document lists every one.
const NAMES_SHOWN: usize = 8;

/// Up to [`NAMES_SHOWN`] names, then how many more: one readable line however many there are.
fn names_shown(names: &[String]) -> String {
    if names.len() <= NAMES_SHOWN {
        return names.join(", ");
    }
    format!(
        "{}, and {} more (`--output json` lists every one)",
        names[..NAMES_SHOWN].join(", "),
        names.len() - NAMES_SHOWN
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_holders_fit_one_line() {
        let names: Vec<String> = (0..38)
            .map(|n| format!("acct-{n} (1000000000{n:02})"))
            .collect();
        let line = names_shown(&names);
        assert!(line.starts_with("acct-0 (100000000000), "), "{line}");
        assert!(
            line.ends_with(", and 30 more (`--output json` lists every one)"),
            "{line}"
        );
        assert!(!line.contains("acct-8 "), "{line}");
        assert_eq!(
            names_shown(&names[..2]),
            "acct-0 (100000000000), acct-1 (100000000001)"
        );
        assert_eq!(holding(1), "1 account holds");
        assert_eq!(holding(38), "38 accounts hold");
    }
}
