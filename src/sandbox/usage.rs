//! Usage the emulator bills, for Cost Explorer to report: the recorded usage lines (account,
//! product, usage type, date, units, cost), the per-product rates (list and private-offer), the
//! pricing of recorded units (private when the account held an ACTIVE grant of a license of the
//! product at the end of that date, or now for today, or is the subscriber of the private offer;
//! list otherwise), the status
//! histories of grants and licenses that pricing reads, and the calendar arithmetic on
//! `YYYY-MM-DD` dates (UTC) both share.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::api::now_millis;
use super::seed::{SONNET_3_5_V2_PRODUCT, SONNET_4_5_PRODUCT};
use super::state::{State, Touched};

/// Cost Explorer's `BILLING_ENTITY` of every recorded line.
pub const BILLING_ENTITY: &str = "AWS Marketplace";
/// Cost Explorer's `RECORD_TYPE` of every recorded line.
pub const RECORD_TYPE: &str = "Usage";
/// The usage type of a line recorded without one: input tokens in us-east-1, in the format of
/// Bedrock's Marketplace usage types (`USE1-MP:USE1_InputTokenCount-Units`).
pub const DEFAULT_USAGE_TYPE: &str = "USE1-MP:USE1_InputTokenCount-Units";
/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Usage, rates and the status histories pricing reads. Part of the state (`State.usage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UsageBook {
    /// Rates by Marketplace product id (`prod-...`).
    pub rates: BTreeMap<String, ProductRates>,
    /// Recorded usage lines, in the order they were recorded.
    pub records: Vec<UsageRecord>,
    /// Status changes of every grant, by grant ARN, oldest first.
    pub grant_history: BTreeMap<String, Vec<StatusChange>>,
    /// Status changes of every license, by license ARN, oldest first.
    pub license_history: BTreeMap<String, Vec<StatusChange>>,
}

impl Default for UsageBook {
    fn default() -> Self {
        Self {
            rates: default_rates(),
            records: Vec::new(),
            grant_history: BTreeMap::new(),
            license_history: BTreeMap::new(),
        }
    }
}

/// The price of one unit of a product, in USD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductRates {
    /// The product's name (Cost Explorer's SERVICE is built from it).
    pub name: String,
    /// Public list price per unit.
    pub list: f64,
    /// Private-offer price per unit.
    pub private: f64,
}

/// One recorded usage line, priced when it was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// The account that used the product.
    pub account_id: String,
    /// The Marketplace product id.
    pub product_id: String,
    /// Cost Explorer's USAGE_TYPE.
    pub usage_type: String,
    /// The day of the usage, `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Units used.
    pub units: f64,
    /// `private` or `list`: the rate the units were priced at.
    pub rate: String,
    /// The price per unit applied, USD.
    pub unit_price: f64,
    /// `units * unit_price`, USD, rounded to 10 decimals.
    pub cost: f64,
    /// When it was recorded, epoch milliseconds.
    pub recorded_at_ms: i64,
}

/// One status a grant or license took, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    /// The new status.
    pub status: String,
    /// When the emulator saw it, epoch milliseconds.
    pub at_ms: i64,
}

/// The demo products' rates: Claude Sonnet 4.5 and Claude 3.5 Sonnet v2 input tokens at the
/// public Bedrock price of USD 3 per million tokens, and a private offer 20% below it.
pub fn default_rates() -> BTreeMap<String, ProductRates> {
    let mut rates = BTreeMap::new();
    for (product, name) in [
        (SONNET_4_5_PRODUCT, "Claude Sonnet 4.5"),
        (SONNET_3_5_V2_PRODUCT, "Claude 3.5 Sonnet v2"),
    ] {
        rates.insert(
            product.to_string(),
            ProductRates {
                name: name.to_string(),
                list: 0.000_003,
                private: 0.000_002_4,
            },
        );
    }
    rates
}

/// Notes every grant and license whose status changed since it was last seen, at the current
/// time; one never seen before is noted with its current status from its creation on. Only the
/// grants written to since the last note are looked at (`Grants` records them), so the cost is
/// the call's, not the state's; licenses are few and looked at every time. Called
/// after every emulated call and admin action, so the histories follow every status change
/// License Manager and Marketplace make (to the call: a status that changed and changed back
/// within one call is not seen).
pub fn note_statuses(state: &mut State) {
    let now = now_millis();
    let histories = &mut state.usage.grant_history;
    match state.grants.take_touched() {
        Touched::All => {
            let grants = state
                .grants
                .iter()
                .map(|(arn, grant)| (arn.as_str(), grant.status.as_str(), grant.created_at_ms));
            note_all(grants, histories, now);
        }
        Touched::Some(arns) => {
            for (arn, grant) in arns
                .iter()
                .filter_map(|arn| state.grants.get_key_value(arn))
            {
                note_one(histories, arn, &grant.status, grant.created_at_ms, now);
            }
        }
    }
    let licenses = state.licenses.iter().map(|(arn, license)| {
        let created = license.create_time.saturating_mul(1000);
        (arn.as_str(), license.status.as_str(), created)
    });
    note_all(licenses, &mut state.usage.license_history, now);
}

/// Notes `(arn, status, created_at_ms)` items, sorted by ARN (they come from a map keyed by
/// ARN), into the histories in one merged pass: for when any of them may have changed, at the
/// cost of a walk rather than a lookup per item.
fn note_all<'a>(
    items: impl Iterator<Item = (&'a str, &'a str, i64)>,
    histories: &mut BTreeMap<String, Vec<StatusChange>>,
    now: i64,
) {
    let mut first_seen = Vec::new();
    let mut cursor = histories.iter_mut().peekable();
    for (arn, status, created_at_ms) in items {
        while cursor.next_if(|(key, _)| key.as_str() < arn).is_some() {}
        match cursor.peek_mut() {
            Some((key, history)) if key.as_str() == arn => note_change(history, status, now),
            _ => first_seen.push((arn, status, created_at_ms)),
        }
    }
    for (arn, status, created_at_ms) in first_seen {
        histories.insert(arn.to_string(), first_history(status, created_at_ms, now));
    }
}

/// Notes one item's status in its history (a lookup: for the few items a call touched).
fn note_one(
    histories: &mut BTreeMap<String, Vec<StatusChange>>,
    arn: &str,
    status: &str,
    created_at_ms: i64,
    now: i64,
) {
    match histories.get_mut(arn) {
        Some(history) => note_change(history, status, now),
        None => {
            histories.insert(arn.to_string(), first_history(status, created_at_ms, now));
        }
    }
}

/// Adds `status` at `now` to a history unless it is the status the history already ends with.
fn note_change(history: &mut Vec<StatusChange>, status: &str, now: i64) {
    if history.last().is_none_or(|last| last.status != status) {
        history.push(StatusChange {
            status: status.to_string(),
            at_ms: now,
        });
    }
}

/// The history of something first seen now: its status since its creation (never later than
/// now).
fn first_history(status: &str, created_at_ms: i64, now: i64) -> Vec<StatusChange> {
    vec![StatusChange {
        status: status.to_string(),
        at_ms: created_at_ms.min(now),
    }]
}

/// The status the history shows at `at_ms` (the last change at or before it); `None` before
/// the thing was first seen.
fn status_at(history: &[StatusChange], at_ms: i64) -> Option<&str> {
    history
        .iter()
        .take_while(|change| change.at_ms <= at_ms)
        .last()
        .map(|change| change.status.as_str())
}

/// The moment whose statuses price usage of `day`: the day's last millisecond, or now when the
/// day is today (usage recorded today happens now).
fn pricing_moment(day: i64) -> i64 {
    ((day + 1) * DAY_MS - 1).min(now_millis())
}

/// Why a line is priced at the private rate, or `None` for the list rate: at the end of the day
/// (now, for today) the account held an ACTIVE grant of an AVAILABLE license of the product, or
/// held the private offer's license itself (a license from an agreement, AVAILABLE then).
pub fn private_reason(state: &State, account: &str, product: &str, day: i64) -> Option<String> {
    let moment = pricing_moment(day);
    let shows = |histories: &BTreeMap<String, Vec<StatusChange>>, arn: &str, status: &str| {
        histories
            .get(arn)
            .and_then(|history| status_at(history, moment))
            == Some(status)
    };
    let license_available = |arn: &str| shows(&state.usage.license_history, arn, "AVAILABLE");
    let of_product = |arn: &str| {
        state
            .licenses
            .get(arn)
            .is_some_and(|license| license.product_sku == product)
    };
    for license in state.licenses.values() {
        if license.product_sku == product
            && license.agreement_id.is_some()
            && license.holder_account_id == account
            && license_available(&license.arn)
        {
            return Some(format!("subscriber of `{}`", license.arn));
        }
    }
    state
        .grants
        .values()
        .filter(|grant| grant.grantee_account_id.as_deref() == Some(account))
        .filter(|grant| of_product(&grant.license_arn) && license_available(&grant.license_arn))
        .find(|grant| shows(&state.usage.grant_history, &grant.arn, "ACTIVE"))
        .map(|grant| format!("ACTIVE grant `{}`", grant.arn))
}

/// What `record_usage` was asked to record.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageInput<'a> {
    /// The account.
    pub account_id: &'a str,
    /// The product id.
    pub product_id: &'a str,
    /// Units used.
    pub units: f64,
    /// The day, `YYYY-MM-DD`; today (UTC) when absent.
    pub date: Option<&'a str>,
    /// The usage type; [`DEFAULT_USAGE_TYPE`] when absent.
    pub usage_type: Option<&'a str>,
}

/// Records usage priced at the private or list rate; returns the line as JSON. Nothing changes
/// on a refusal.
pub fn record_usage(state: &mut State, input: &UsageInput<'_>) -> Result<Value, String> {
    if !state.accounts.contains_key(input.account_id) {
        return Err(format!(
            "account `{}` is not in the organisation",
            input.account_id
        ));
    }
    let Some(rates) = state.usage.rates.get(input.product_id).cloned() else {
        return Err(format!(
            "product `{}` has no rates (known: {}); set them with `entitle sandbox set-rates`",
            input.product_id,
            known_products(state)
        ));
    };
    if !input.units.is_finite() || input.units <= 0.0 {
        return Err(format!("units `{}` must be a positive number", input.units));
    }
    let today = today();
    let day = match input.date {
        Some(text) => {
            parse_date(text).ok_or_else(|| format!("date `{text}` is not a YYYY-MM-DD date"))?
        }
        None => today,
    };
    if day > today {
        return Err(format!(
            "date `{}` is in the future (today is `{}`)",
            format_date(day),
            format_date(today)
        ));
    }
    let usage_type = input.usage_type.unwrap_or(DEFAULT_USAGE_TYPE);
    if usage_type.trim().is_empty() {
        return Err("the usage type is empty".to_string());
    }
    note_statuses(state);
    let reason = private_reason(state, input.account_id, input.product_id, day);
    let (rate, unit_price) = match reason {
        Some(_) => ("private", rates.private),
        None => ("list", rates.list),
    };
    let record = UsageRecord {
        account_id: input.account_id.to_string(),
        product_id: input.product_id.to_string(),
        usage_type: usage_type.to_string(),
        date: format_date(day),
        units: input.units,
        rate: rate.to_string(),
        unit_price,
        // Billing lines carry at most 10 decimals.
        cost: (input.units * unit_price * 1e10).round() / 1e10,
        recorded_at_ms: now_millis(),
    };
    let answer = json!({
        "accountId": record.account_id,
        "productId": record.product_id,
        "productName": rates.name,
        "date": record.date,
        "usageType": record.usage_type,
        "units": record.units,
        "rate": record.rate,
        "unitPrice": record.unit_price,
        "cost": record.cost,
        "why": reason.unwrap_or_else(|| "no ACTIVE grant of the product at the end of that day".to_string()),
    });
    state.usage.records.push(record);
    Ok(answer)
}

/// Sets a product's rates (either or both); a new product needs both. Returns the rates.
pub fn set_rates(
    state: &mut State,
    product_id: &str,
    list: Option<f64>,
    private: Option<f64>,
) -> Result<Value, String> {
    if product_id.trim().is_empty() {
        return Err("the product id is empty".to_string());
    }
    for (which, value) in [("list", list), ("private", private)] {
        if let Some(value) = value
            && (!value.is_finite() || value < 0.0)
        {
            return Err(format!(
                "the {which} rate `{value}` must be a number of USD per unit, 0 or more"
            ));
        }
    }
    let current = state.usage.rates.get(product_id).cloned();
    let rates = match (current, list, private) {
        (_, None, None) => return Err("give --list, --private or both".to_string()),
        (Some(current), list, private) => ProductRates {
            list: list.unwrap_or(current.list),
            private: private.unwrap_or(current.private),
            name: current.name,
        },
        (None, Some(list), Some(private)) => ProductRates {
            name: state
                .licenses
                .values()
                .find(|license| license.product_sku == product_id)
                .map_or_else(
                    || product_id.to_string(),
                    |license| license.product_name.clone(),
                ),
            list,
            private,
        },
        (None, _, _) => {
            return Err(format!(
                "product `{product_id}` has no rates yet: give both --list and --private"
            ));
        }
    };
    let answer = json!({
        "productId": product_id,
        "productName": rates.name,
        "list": rates.list,
        "private": rates.private,
    });
    state.usage.rates.insert(product_id.to_string(), rates);
    Ok(answer)
}

fn known_products(state: &State) -> String {
    let names: Vec<String> = state
        .usage
        .rates
        .keys()
        .map(|product| format!("`{product}`"))
        .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// Today's day number (days since 1970-01-01, UTC).
pub fn today() -> i64 {
    now_millis().div_euclid(DAY_MS)
}

/// `YYYY-MM-DD` to a day number, or `None` when it is not a valid date.
pub fn parse_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|byte| byte.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// A day number as `YYYY-MM-DD`.
pub fn format_date(day: i64) -> String {
    let (year, month, date) = civil_from_days(day);
    format!("{year:04}-{month:02}-{date:02}")
}

/// The first day of the month after the one `day` falls in.
pub fn next_month_start(day: i64) -> i64 {
    let (year, month, _) = civil_from_days(day);
    if month == 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    }
}

/// The first day of the month `day` falls in.
pub fn month_start(day: i64) -> i64 {
    let (year, month, _) = civil_from_days(day);
    days_from_civil(year, month, 1)
}

/// The first day of the month `months` months before the month of `day`.
pub fn months_before(day: i64, months: u32) -> i64 {
    let (year, month, _) = civil_from_days(day);
    let index = year * 12 + (month - 1) - i64::from(months);
    days_from_civil(index.div_euclid(12), index.rem_euclid(12) + 1, 1)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(
            parse_date("2024-02-29").map(format_date).unwrap(),
            "2024-02-29"
        );
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("2026-1-01"), None);
        let day = parse_date("2026-12-15").unwrap();
        assert_eq!(format_date(next_month_start(day)), "2027-01-01");
        assert_eq!(format_date(month_start(day)), "2026-12-01");
        assert_eq!(format_date(months_before(day, 13)), "2025-11-01");
        for day in -1000..30_000 {
            assert_eq!(parse_date(&format_date(day)), Some(day));
        }
    }

    #[test]
    fn histories_note_changes_only() {
        let mut histories = BTreeMap::new();
        let items = [("arn:b", "DISABLED", 5), ("arn:d", "ACTIVE", 7)];
        note_all(items.into_iter(), &mut histories, 100);
        let items = [
            ("arn:a", "PENDING_WORKFLOW", 90),
            ("arn:b", "ACTIVE", 5),
            ("arn:c", "DISABLED", 95),
            ("arn:d", "ACTIVE", 7),
        ];
        note_all(items.into_iter(), &mut histories, 200);
        let seen = |arn: &str| -> Vec<(String, i64)> {
            histories[arn]
                .iter()
                .map(|change| (change.status.clone(), change.at_ms))
                .collect()
        };
        assert_eq!(seen("arn:a"), [("PENDING_WORKFLOW".to_string(), 90)]);
        assert_eq!(
            seen("arn:b"),
            [("DISABLED".to_string(), 5), ("ACTIVE".to_string(), 200)]
        );
        assert_eq!(seen("arn:c"), [("DISABLED".to_string(), 95)]);
        assert_eq!(seen("arn:d"), [("ACTIVE".to_string(), 7)]);
    }

    #[test]
    fn a_day_is_priced_by_its_last_status() {
        let history = vec![
            StatusChange {
                status: "DISABLED".to_string(),
                at_ms: 10 * DAY_MS,
            },
            StatusChange {
                status: "ACTIVE".to_string(),
                at_ms: 12 * DAY_MS + 5,
            },
            StatusChange {
                status: "DELETED".to_string(),
                at_ms: 14 * DAY_MS + 5,
            },
        ];
        let active = |day: i64| status_at(&history, (day + 1) * DAY_MS - 1) == Some("ACTIVE");
        assert_eq!(status_at(&history, 10 * DAY_MS - 1), None);
        assert!(!active(11));
        assert!(active(12), "activated during the day");
        assert!(active(13));
        assert!(!active(14), "deleted during the day");
        assert!(!active(15));
        assert!(pricing_moment(today()) <= now_millis());
        assert_eq!(pricing_moment(3), 4 * DAY_MS - 1);
    }
}
