//! Rendering of `entitle usage`: per phase (then outside the rollout, then the subscriber) every
//! account's usage, spend and effective rate before and after its activation, the rate it should
//! pay and its flags; totals; the data's lag and the Cost Explorer requests it cost. A versioned
//! JSON document (kind `usage`, docs/schema/usage.schema.json) and a CSV for finance.

use std::io::{self, Write};

use serde::Serialize;

use super::{FORMAT_VERSION, Style};
use crate::model::usage::{COST_PER_REQUEST_USD, Granularity};
use crate::planner::usage::{
    AccountUsage, EndSource, Figures, FlagKind, RateSource, Role, UsageReport, rate_text,
};

/// The JSON document of `entitle usage --output json`.
#[derive(Debug, Serialize)]
pub struct UsageDocument<'a> {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// `usage`.
    pub kind: &'static str,
    /// When the report was made (RFC 3339 UTC).
    pub generated_at: String,
    /// USD per Cost Explorer request (each page is one).
    pub cost_per_request: f64,
    /// The report.
    #[serde(flatten)]
    pub report: &'a UsageReport,
}

impl<'a> UsageDocument<'a> {
    /// The document of `report`, made at `generated_at`.
    pub fn new(report: &'a UsageReport, generated_at: String) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            kind: "usage",
            generated_at,
            cost_per_request: COST_PER_REQUEST_USD,
            report,
        }
    }
}

/// A flag's name for people.
pub fn flag_label(kind: FlagKind) -> &'static str {
    match kind {
        FlagKind::PayingListPriceWhileTargeted => "paying list price while targeted",
        FlagKind::UsingWithoutGrant => "using the model without a grant",
        FlagKind::StillBilledAfterCleanup => "still billed after cleanup",
    }
}

/// An amount without float noise: at most 10 decimals, trailing zeros dropped.
pub fn decimal(amount: f64) -> String {
    let text = format!("{amount:.10}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

fn money(currency: &str, amount: f64) -> String {
    format!("{currency} {amount:.2}")
}

fn figures(currency: &str, figures: &Figures) -> String {
    let rate = figures.rate.map_or_else(|| "-".to_owned(), rate_text);
    let estimated = if figures.estimated { ", estimated" } else { "" };
    format!(
        "{} units, {}, {rate}/unit{estimated}",
        decimal(figures.quantity),
        money(currency, figures.cost)
    )
}

fn source_text(source: RateSource, accounts: usize) -> String {
    let plural = if accounts == 1 { "" } else { "s" };
    match source {
        RateSource::ActiveGrants => {
            format!("seen in {accounts} account{plural} with an ACTIVE grant")
        }
        RateSource::Subscriber => "the subscriber's: the management account".to_owned(),
        RateSource::WithoutGrant => format!("seen in {accounts} account{plural} without a grant"),
    }
}

fn grant_text(account: &AccountUsage) -> String {
    let grant = &account.grant;
    let mut text = match &grant.status {
        None if account.role == Role::Subscriber => "the subscriber".to_owned(),
        None => "no grant".to_owned(),
        Some(status) => status.clone(),
    };
    if let Some(since) = grant.active_since {
        text.push_str(&format!(", active since {since}"));
    }
    if let Some(ended) = grant.ended {
        let how = match grant.ended_by {
            Some(EndSource::Deleted) => "deleted",
            _ => "not ACTIVE",
        };
        text.push_str(&format!(", {how} since {ended}"));
    }
    if account.own_subscription {
        text.push_str(", own subscription");
    }
    text
}

fn render_account(
    account: &AccountUsage,
    currency: &str,
    style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let name = if account.name.is_empty() {
        String::new()
    } else {
        format!(" {}", account.name)
    };
    writeln!(
        out,
        "  {}{name}  ({})  {}",
        style.bold(&account.account),
        grant_text(account),
        money(currency, account.cost)
    )?;
    for usage in &account.usage_types {
        writeln!(out, "    {}", usage.usage_type)?;
        let parts = [
            ("before activation", &usage.before),
            ("period spanning a change", &usage.spanning),
            ("after activation", &usage.after),
            ("after the grant ended", &usage.after_end),
        ];
        let label = |name: &'static str| {
            if account.grant.active_since.is_none() && account.grant.ended.is_none() {
                "in the window"
            } else {
                name
            }
        };
        for (name, part) in parts {
            if part.quantity > 0.0 || part.cost != 0.0 {
                writeln!(out, "      {:<25} {}", label(name), figures(currency, part))?;
            }
        }
        if let Some(expected) = usage.expected_rate {
            writeln!(
                out,
                "      {:<25} {}/unit",
                "should pay",
                rate_text(expected)
            )?;
        }
    }
    for flag in &account.flags {
        writeln!(
            out,
            "    {} {}: {}",
            style.bad("FLAG"),
            flag_label(flag.kind),
            flag.reason
        )?;
    }
    Ok(())
}

/// The report for people.
pub fn render_human(report: &UsageReport, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    let currency = report.currency.as_str();
    let granularity = match report.granularity {
        Granularity::Daily => "daily",
        Granularity::Monthly => "monthly",
    };
    writeln!(
        out,
        "{}",
        style.bold(format!(
            "Usage of `{}` billed through AWS Marketplace: rollout `{}`",
            report.service, report.rollout
        ))
    )?;
    writeln!(
        out,
        "  {} to {} ({granularity}), license {} ({})",
        report.since, report.until, report.license_arn, report.license_status
    )?;
    let plural = if report.requests == 1 { "" } else { "s" };
    writeln!(
        out,
        "  Cost Explorer: {} request{plural} (one grouped query, every page), USD {:.2} at USD {COST_PER_REQUEST_USD:.2} per request",
        report.requests, report.request_cost
    )?;
    let coverage = &report.coverage;
    if let Some(from) = coverage.may_lag_from {
        writeln!(
            out,
            "  {} Cost Explorer's data lags about a day: usage since {from} may be missing or incomplete",
            style.hint("note:")
        )?;
    }
    if let Some(from) = coverage.estimated_from {
        writeln!(
            out,
            "  {} figures from {from} on are estimated by Cost Explorer, not final",
            style.hint("note:")
        )?;
    }
    if coverage.first_usage.is_none() {
        writeln!(
            out,
            "\nCost Explorer reports no usage of `{}` through AWS Marketplace from {} to {}: nothing to judge.",
            report.service, report.since, report.until
        )?;
    }
    if !report.rates.is_empty() {
        writeln!(out, "\n{}", style.bold("Rates per unit"))?;
        for rates in &report.rates {
            let private = rates.private.map_or_else(
                || "private: unknown (no granted account or subscriber used it)".to_owned(),
                |rate| {
                    format!(
                        "private {} ({})",
                        rate_text(rate.rate),
                        source_text(rate.source, rate.accounts)
                    )
                },
            );
            let list = rates.list.map_or_else(
                || "list: not seen".to_owned(),
                |rate| {
                    format!(
                        "list {} ({})",
                        rate_text(rate.rate),
                        source_text(rate.source, rate.accounts)
                    )
                },
            );
            writeln!(out, "  {}  {private}; {list}", rates.usage_type)?;
        }
    }
    let sections = report
        .totals
        .iter()
        .map(|total| total.group.as_str())
        .collect::<Vec<_>>();
    for group in sections {
        let members: Vec<&AccountUsage> = report
            .accounts
            .iter()
            .filter(|account| match group {
                "outside the rollout" => account.phase.is_none() && account.role == Role::Outside,
                "subscriber" => account.phase.is_none() && account.role == Role::Subscriber,
                phase => account.phase.as_deref() == Some(phase),
            })
            .collect();
        let title = match group {
            "outside the rollout" | "subscriber" => {
                let mut title = group.to_owned();
                title[..1].make_ascii_uppercase();
                title
            }
            phase => format!("Phase `{phase}`"),
        };
        writeln!(out, "\n{}", style.bold(title))?;
        let mut unused = Vec::new();
        for account in members {
            if account.usage_types.is_empty() && account.flags.is_empty() {
                unused.push(account.account.as_str());
            } else {
                render_account(account, currency, style, out)?;
            }
        }
        if !unused.is_empty() {
            writeln!(
                out,
                "  {} no usage in the window: {}",
                style.dim(format!("{} with", super::counted(unused.len(), "account"))),
                unused.join(", ")
            )?;
        }
    }
    writeln!(out, "\n{}", style.bold("Totals"))?;
    for total in &report.totals {
        let estimated = if total.estimated { " (estimated)" } else { "" };
        writeln!(
            out,
            "  {:<24} {:>5} accounts, {:>4} with usage, {:>4} flagged  {}{estimated}",
            total.group,
            total.accounts,
            total.with_usage,
            total.flagged,
            money(currency, total.cost)
        )?;
    }
    writeln!(
        out,
        "  {:<24} {:>5} accounts{:>37}",
        "all",
        report.accounts.len(),
        money(currency, report.cost)
    )?;
    if report.flagged == 0 {
        writeln!(out, "\n{}", style.good("Nothing flagged."))?;
    } else {
        writeln!(
            out,
            "\n{} (docs/usage.md says what to do about each flag)",
            style.bad(format!(
                "{} flagged",
                super::counted(report.flagged, "account")
            ))
        )?;
    }
    Ok(())
}

/// The CSV's columns, in order (docs/usage.md describes each).
pub const CSV_HEADER: &[&str] = &[
    "account",
    "account_name",
    "role",
    "phase",
    "grant_status",
    "active_since",
    "grant_ended",
    "usage_type",
    "period",
    "since",
    "until",
    "quantity",
    "cost",
    "currency",
    "effective_rate",
    "expected_rate",
    "estimated",
    "flags",
];

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The CSV for finance: one row per (account, usage type, part of the window) with usage, and one
/// row (period `none`) per listed account without usage.
pub fn render_csv(report: &UsageReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", CSV_HEADER.join(","))?;
    let optional_date = |date: Option<crate::model::usage::Date>| {
        date.map(|date| date.to_string()).unwrap_or_default()
    };
    for account in &report.accounts {
        let role = match account.role {
            Role::Targeted => "targeted",
            Role::Outside => "outside",
            Role::Subscriber => "subscriber",
        };
        let flags: Vec<&str> = account
            .flags
            .iter()
            .map(|flag| match flag.kind {
                FlagKind::PayingListPriceWhileTargeted => "paying_list_price_while_targeted",
                FlagKind::UsingWithoutGrant => "using_without_grant",
                FlagKind::StillBilledAfterCleanup => "still_billed_after_cleanup",
            })
            .collect();
        let fixed = [
            account.account.as_str().to_owned(),
            account.name.clone(),
            role.to_owned(),
            account.phase.clone().unwrap_or_default(),
            account.grant.status.clone().unwrap_or_default(),
            optional_date(account.grant.active_since),
            optional_date(account.grant.ended),
        ];
        let mut row = |usage_type: &str,
                       period: &str,
                       (since, until): (String, String),
                       figures: &Figures,
                       expected: Option<f64>|
         -> io::Result<()> {
            let fields: Vec<String> = fixed
                .iter()
                .cloned()
                .chain([
                    usage_type.to_owned(),
                    period.to_owned(),
                    since,
                    until,
                    decimal(figures.quantity),
                    decimal(figures.cost),
                    report.currency.clone(),
                    figures.rate.map(decimal_rate).unwrap_or_default(),
                    expected.map(decimal_rate).unwrap_or_default(),
                    figures.estimated.to_string(),
                    flags.join(";"),
                ])
                .collect();
            let line: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
            writeln!(out, "{}", line.join(","))
        };
        if account.usage_types.is_empty() {
            row(
                "",
                "none",
                (report.since.to_string(), report.until.to_string()),
                &Figures::default(),
                None,
            )?;
            continue;
        }
        let active = account.grant.active_since;
        let ended = account.grant.ended;
        for usage in &account.usage_types {
            let never = active.is_none() && ended.is_none();
            let parts = [
                (
                    if never { "window" } else { "before_activation" },
                    &usage.before,
                    (
                        report.since.to_string(),
                        active
                            .map_or(report.until, |day| day.add_days(-1))
                            .to_string(),
                    ),
                ),
                (
                    "spanning_a_change",
                    &usage.spanning,
                    (report.since.to_string(), report.until.to_string()),
                ),
                (
                    "after_activation",
                    &usage.after,
                    (
                        optional_date(active),
                        ended
                            .map_or(report.until, |day| day.add_days(-1))
                            .to_string(),
                    ),
                ),
                (
                    "after_end",
                    &usage.after_end,
                    (optional_date(ended), report.until.to_string()),
                ),
            ];
            for (period, figures, bounds) in parts {
                if figures.quantity > 0.0 || figures.cost != 0.0 {
                    row(
                        &usage.usage_type,
                        period,
                        bounds,
                        figures,
                        usage.expected_rate,
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// A rate with enough decimals for per-token prices.
fn decimal_rate(rate: f64) -> String {
    let text = format!("{rate:.12}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}
