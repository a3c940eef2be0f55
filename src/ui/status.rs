//! Rendering of `entitle status`: per phase (or, with `--tree`, per OU) every targeted account's
//! grant status and since when, each phase's gate verdict, and totals; a versioned JSON document
//! for scripts.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::{FORMAT_VERSION, Style, counted, timestamp, timestamp_of};
use crate::apply::journal::History;
use crate::cli::StatusFilter;
use crate::model::plan::format_duration;
use crate::planner::diff::UnixSeconds;
use crate::planner::status::{AccountState, StatusReport, SubscriptionStatus};

/// What a look shows: which accounts are listed, and when it was taken.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// `--only`: list only accounts in these states (all when empty).
    pub only: Vec<StatusFilter>,
    /// `--summary`: counts and gates, no account lines.
    pub summary: bool,
    /// When the look was taken.
    pub now: UnixSeconds,
}

impl View {
    /// Whether an account in `state` is listed.
    pub fn lists(&self, state: AccountState) -> bool {
        !self.summary
            && (self.only.is_empty()
                || self.only.iter().any(|filter| match filter {
                    StatusFilter::Active => state == AccountState::Active,
                    StatusFilter::NotActive => state != AccountState::Active,
                    StatusFilter::Waiting => state == AccountState::Waiting,
                    StatusFilter::Failed => state == AccountState::Failed,
                    StatusFilter::Missing => state == AccountState::Missing,
                }))
    }
}

/// The JSON document of `entitle status --output json` (docs/schema/status.schema.json).
#[derive(Debug, Serialize)]
pub struct StatusDocument {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// `status`: what document this is.
    pub kind: &'static str,
    /// The rollout.
    pub rollout: String,
    /// The license it distributes.
    pub license_arn: String,
    /// When the look was taken (RFC 3339, UTC).
    pub checked_at: String,
    /// The subscription: whether the grants below still give access.
    pub subscription: SubscriptionDocument,
    /// Which accounts `accounts` lists (`--only`, `--summary`).
    pub shown: Shown,
    /// The phases shown, in order, with their counts and gates (over every account).
    pub phases: Vec<PhaseDocument>,
    /// The targeted accounts listed (every one unless `--only` or `--summary`), each once, in
    /// phase order then OU path and name.
    pub accounts: Vec<AccountDocument>,
    /// Over every targeted account (listed or not).
    pub totals: Totals,
}

/// The subscription the rollout distributes.
#[derive(Debug, Serialize)]
pub struct SubscriptionDocument {
    /// The license.
    pub license_arn: String,
    /// Its product (`prod-...`).
    pub product: String,
    /// The license's status: `AVAILABLE`, `DELETED` (agreement cancelled), `EXPIRED`, ...
    pub license_status: String,
    /// The purchase agreement that leads to the license, when one was found.
    pub agreement_id: Option<String>,
    /// Its status: `ACTIVE`, `CANCELLED`, `EXPIRED`, ...
    pub agreement_status: Option<String>,
    /// Whether the subscription has ended: the grants give no access any more.
    pub ended: bool,
    /// Whether the license can be distributed and used.
    pub usable: bool,
    /// The state in words.
    pub message: String,
    /// What to do about it (an ended subscription: the cleanup command).
    pub hint: Option<String>,
}

impl SubscriptionDocument {
    fn new(subscription: &SubscriptionStatus) -> Self {
        let agreement = match (&subscription.agreement_id, &subscription.agreement_status) {
            (Some(id), Some(status)) => format!(", agreement `{id}` is {status}"),
            _ => String::new(),
        };
        let message = if subscription.ended {
            format!(
                "the subscription has ended (license {}{agreement}): its grants give no access any more",
                subscription.license_status
            )
        } else if subscription.usable {
            format!("license {}{agreement}", subscription.license_status)
        } else {
            format!(
                "license {}{agreement}: not AVAILABLE, its grants cannot be used",
                subscription.license_status
            )
        };
        Self {
            license_arn: subscription.license_arn.clone(),
            product: subscription.product.clone(),
            license_status: subscription.license_status.as_str().to_owned(),
            agreement_id: subscription.agreement_id.clone(),
            agreement_status: subscription.agreement_status.clone(),
            ended: subscription.ended,
            usable: subscription.usable,
            message,
            hint: subscription.cleanup_hint(),
        }
    }
}

/// Which accounts a document lists.
#[derive(Debug, Serialize)]
pub struct Shown {
    /// `--only`: the states listed (empty: every state).
    pub only: Vec<StatusFilter>,
    /// `--summary`: no account is listed.
    pub summary: bool,
}

/// One phase.
#[derive(Debug, Serialize)]
pub struct PhaseDocument {
    /// The phase name.
    pub name: String,
    /// Accounts it targets (earlier phases' included: phases are cumulative).
    pub accounts: usize,
    /// Of those, how many are ACTIVE.
    pub active: usize,
    /// `active / accounts` in percent, one decimal.
    pub active_percent: f64,
    /// Accounts per status (`missing`: no grant of this rollout reaches it).
    pub by_status: BTreeMap<String, usize>,
    /// Its gate, if it has one.
    pub gate: Option<GateDocument>,
}

/// A phase's gate.
#[derive(Debug, Serialize)]
pub struct GateDocument {
    /// The share that must be ACTIVE.
    pub min_active_percent: u8,
    /// Whether it is reached.
    pub min_active_holds: bool,
    /// The bake time, in seconds.
    pub bake_seconds: u64,
    /// Since when the share is reached (RFC 3339, UTC, from the journal).
    pub active_since: Option<String>,
    /// How long it has baked, in seconds.
    pub baked_seconds: u64,
    /// Whether the gate holds: the next phase may be applied.
    pub holds: bool,
    /// The verdict in words.
    pub verdict: String,
}

/// One account.
#[derive(Debug, Serialize)]
pub struct AccountDocument {
    /// The account id.
    pub account: String,
    /// Its name.
    pub name: String,
    /// Its OU path (empty at the root).
    pub ou_path: String,
    /// The first phase that targets it.
    pub phase: String,
    /// Its received grant from this rollout.
    pub grant_arn: Option<String>,
    /// Its grant's status: `ACTIVE`, `DISABLED`, `PENDING_ACCEPT`, `REJECTED`,
    /// `FAILED_WORKFLOW`, ... or `missing` (no grant of this rollout reaches it).
    pub grant_status: String,
    /// `active`, `waiting`, `failed` or `missing`: what `--only` filters by.
    pub state: AccountState,
    /// Since when it is in that status, as far as the journal knows (RFC 3339, UTC).
    pub since: Option<String>,
}

/// Over all accounts.
#[derive(Debug, Serialize)]
pub struct Totals {
    /// Accounts targeted.
    pub accounts: usize,
    /// ACTIVE.
    pub active: usize,
    /// `active / accounts` in percent, one decimal.
    pub active_percent: f64,
    /// Accounts per status.
    pub by_status: BTreeMap<String, usize>,
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 100.0;
    }
    // Counts are far below 2^52: the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let share = part as f64 * 100.0 / whole as f64;
    (share * 10.0).round() / 10.0
}

/// A gate's verdict in words: the share actually reached beside the share it needs.
fn verdict(gate: &crate::planner::status::GateVerdict, active: usize, accounts: usize) -> String {
    let share = percent(active, accounts);
    if !gate.min_active_holds {
        format!(
            "waiting: {active} of {accounts} active ({share}%), needs {}%",
            gate.min_active_percent
        )
    } else if gate.holds {
        if gate.bake_seconds == 0 {
            format!(
                "holds: {share}% active (needs {}%)",
                gate.min_active_percent
            )
        } else {
            format!(
                "holds: {share}% active (needs {}%), baked {}",
                gate.min_active_percent,
                format_duration(gate.bake_seconds)
            )
        }
    } else {
        format!(
            "baking: {share}% active (needs {}%), baked {} of {} ({} left)",
            gate.min_active_percent,
            format_duration(gate.baked_seconds),
            format_duration(gate.bake_seconds),
            format_duration(gate.bake_seconds.saturating_sub(gate.baked_seconds))
        )
    }
}

impl StatusDocument {
    /// The document of a report as `view` shows it, with "since when" from the journal.
    pub fn new(report: &StatusReport, history: &History, view: &View) -> Self {
        let since = history.account_status();
        let mut accounts: Vec<AccountDocument> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut phases = Vec::new();
        for phase in &report.phases {
            let mut by_status = BTreeMap::new();
            let mut first_here = Vec::new();
            for account in &phase.accounts {
                let status = account
                    .status
                    .as_ref()
                    .map_or_else(|| "missing".to_owned(), |status| status.as_str().to_owned());
                *by_status.entry(status.clone()).or_insert(0) += 1;
                if seen.insert(account.account.clone()) {
                    let recorded = since.get(account.account.as_str()).filter(|(recorded, _)| {
                        recorded.as_deref() == account.status.as_ref().map(|status| status.as_str())
                    });
                    first_here.push(AccountDocument {
                        account: account.account.as_str().to_owned(),
                        name: account.name.clone(),
                        ou_path: account.ou_path.clone(),
                        phase: phase.name.clone(),
                        grant_arn: account.grant_arn.clone(),
                        grant_status: status,
                        state: AccountState::of(account.status.as_ref()),
                        since: recorded.map(|(_, at)| timestamp_of(at)),
                    });
                }
            }
            first_here.sort_by(|a, b| (&a.ou_path, &a.name).cmp(&(&b.ou_path, &b.name)));
            accounts.extend(first_here);
            let gate = phase.gate.as_ref().map(|gate| GateDocument {
                min_active_percent: gate.min_active_percent,
                min_active_holds: gate.min_active_holds,
                bake_seconds: gate.bake_seconds,
                active_since: gate.active_since.map(timestamp),
                baked_seconds: gate.baked_seconds,
                holds: gate.holds,
                verdict: verdict(gate, phase.active, phase.accounts.len()),
            });
            phases.push(PhaseDocument {
                name: phase.name.clone(),
                accounts: phase.accounts.len(),
                active: phase.active,
                active_percent: percent(phase.active, phase.accounts.len()),
                by_status,
                gate,
            });
        }
        let mut by_status = BTreeMap::new();
        for account in &accounts {
            *by_status.entry(account.grant_status.clone()).or_insert(0) += 1;
        }
        let active = by_status.get("ACTIVE").copied().unwrap_or(0);
        let totals = Totals {
            accounts: accounts.len(),
            active,
            active_percent: percent(active, accounts.len()),
            by_status,
        };
        accounts.retain(|account| view.lists(account.state));
        let mut only = view.only.clone();
        only.sort();
        only.dedup();
        Self {
            format_version: FORMAT_VERSION,
            kind: "status",
            rollout: report.rollout.clone(),
            license_arn: report.license_arn.clone(),
            checked_at: timestamp(view.now),
            subscription: SubscriptionDocument::new(&report.subscription),
            shown: Shown {
                only,
                summary: view.summary,
            },
            totals,
            phases,
            accounts,
        }
    }
}

fn status_word(status: &str, style: &Style) -> String {
    let padded = format!("{status:<15}");
    match status {
        "ACTIVE" => style.good(padded),
        "missing" | "REJECTED" | "FAILED_WORKFLOW" | "DELETED" => style.bad(padded),
        _ => style.warning(padded),
    }
}

fn account_line(account: &AccountDocument, indent: &str, style: &Style) -> String {
    let since = account
        .since
        .as_deref()
        .map(|at| format!("  since {at}"))
        .unwrap_or_default();
    format!(
        "{indent}{} {:<24} {}{}",
        status_word(&account.grant_status, style),
        account.name,
        account.account,
        style.dim(since)
    )
}

fn counts(by_status: &BTreeMap<String, usize>) -> String {
    by_status
        .iter()
        .filter(|(status, _)| status.as_str() != "ACTIVE")
        .map(|(status, count)| format!("{count} {status}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Per phase (or per OU with `tree`), then the totals.
pub fn render_human(
    document: &StatusDocument,
    tree: bool,
    style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "{} {}",
        style.bold(format!("Rollout {}", document.rollout)),
        style.dim(format!("({})", document.license_arn))
    )?;
    writeln!(
        out,
        "{}",
        style.dim(format!("checked at {}", document.checked_at))
    )?;
    let subscription = &document.subscription;
    if subscription.ended {
        writeln!(
            out,
            "{}",
            style.bad(format!("Subscription: {}.", subscription.message))
        )?;
        if let Some(hint) = &subscription.hint {
            writeln!(out, "  {}", style.hint(format!("hint: {hint}")))?;
        }
    } else if subscription.usable {
        writeln!(
            out,
            "{}",
            style.dim(format!("Subscription: {}.", subscription.message))
        )?;
    } else {
        writeln!(
            out,
            "{}",
            style.warning(format!("Subscription: {}.", subscription.message))
        )?;
    }
    for phase in &document.phases {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            style.bold(format!(
                "Phase {}: {} of {} active ({}%)",
                phase.name,
                phase.active,
                counted(phase.accounts, "account"),
                phase.active_percent
            ))
        )?;
        if let Some(gate) = &phase.gate {
            let verdict = if gate.holds {
                style.good(&gate.verdict)
            } else {
                style.warning(&gate.verdict)
            };
            writeln!(out, "  gate: {verdict}")?;
        }
        if tree || document.shown.summary {
            continue;
        }
        let mut place = None;
        for account in document
            .accounts
            .iter()
            .filter(|account| account.phase == phase.name)
        {
            if place != Some(&account.ou_path) {
                let shown = if account.ou_path.is_empty() {
                    "(root)"
                } else {
                    &account.ou_path
                };
                writeln!(out, "  {}", style.dim(shown))?;
                place = Some(&account.ou_path);
            }
            writeln!(out, "{}", account_line(account, "    ", style))?;
        }
    }
    if tree && !document.shown.summary {
        render_tree(document, style, out)?;
    }
    writeln!(out)?;
    let rest = counts(&document.totals.by_status);
    writeln!(
        out,
        "{}",
        style.bold(format!(
            "Total: {} of {} active ({}%){}.",
            document.totals.active,
            counted(document.totals.accounts, "account"),
            document.totals.active_percent,
            if rest.is_empty() {
                String::new()
            } else {
                format!("; {rest}")
            }
        ))
    )?;
    if !document.shown.only.is_empty() {
        let names: Vec<&str> = document
            .shown
            .only
            .iter()
            .map(|filter| filter.name())
            .collect();
        writeln!(
            out,
            "{}",
            style.dim(format!(
                "Listed: {} of {} (--only {}).",
                document.accounts.len(),
                counted(document.totals.accounts, "account"),
                names.join(",")
            ))
        )?;
    }
    if subscription.ended && document.totals.active > 0 {
        writeln!(
            out,
            "{}",
            style.warning(format!(
                "{} still ACTIVE, but the subscription has ended: they give no access.",
                counted(document.totals.active, "grant")
            ))
        )?;
    }
    let accepting = document
        .totals
        .by_status
        .get("PENDING_ACCEPT")
        .copied()
        .unwrap_or(0);
    if accepting > 0 {
        writeln!(
            out,
            "{}",
            style.warning(format!(
                "{} must accept their grant (PENDING_ACCEPT): `entitle apply --member-role NAME` (or `member_role` in the plan) accepts it as the account, or grant their OU instead (OU and organisation grants need no acceptance).",
                counted(accepting, "account")
            ))
        )?;
    }
    Ok(())
}

/// Accounts grouped by OU, each OU under its parent, with active counts per OU.
fn render_tree(document: &StatusDocument, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    let mut by_ou: BTreeMap<&str, Vec<&AccountDocument>> = BTreeMap::new();
    for account in &document.accounts {
        by_ou.entry(&account.ou_path).or_default().push(account);
    }
    writeln!(out)?;
    let mut printed: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for (path, accounts) in &by_ou {
        // Print the OU's ancestors not printed yet, so the tree reads top-down.
        let parts: Vec<&str> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('/').collect()
        };
        for depth in 0..parts.len() {
            let prefix = parts[..=depth].join("/");
            if printed.insert(prefix.clone()) {
                let below: Vec<&&AccountDocument> = document_accounts_under(&by_ou, &prefix);
                let active = below
                    .iter()
                    .filter(|account| account.grant_status == "ACTIVE")
                    .count();
                writeln!(
                    out,
                    "{}{} {}",
                    "  ".repeat(depth + 1),
                    style.bold(parts[depth]),
                    style.dim(format!("({active}/{} active)", below.len()))
                )?;
            }
        }
        if path.is_empty() && printed.insert(String::new()) {
            writeln!(out, "  {}", style.bold("(root)"))?;
        }
        let indent = "  ".repeat(parts.len().max(1) + 1);
        let mut sorted = accounts.clone();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        for account in sorted {
            writeln!(out, "{}", account_line(account, &indent, style))?;
        }
    }
    Ok(())
}

fn document_accounts_under<'a>(
    by_ou: &'a BTreeMap<&str, Vec<&'a AccountDocument>>,
    prefix: &str,
) -> Vec<&'a &'a AccountDocument> {
    by_ou
        .iter()
        .filter(|(path, _)| **path == prefix || path.starts_with(&format!("{prefix}/")))
        .flat_map(|(_, accounts)| accounts.iter())
        .collect()
}
