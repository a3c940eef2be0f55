//! AWS Cost Explorer (JSON 1.1, `AWSInsightsIndexService`): GetCostAndUsage over the usage
//! recorded in `State.usage` (`usage.rs`). Daily or monthly periods, the UnblendedCost and
//! UsageQuantity metrics (and the other cost metrics, equal to UnblendedCost without
//! discounts), Dimensions filters combined with And/Or/Not, up to two DIMENSION groups, pages of
//! groups with a NextPageToken bound to the request, LINKED_ACCOUNT names in
//! DimensionValueAttributes, the reporting lag and the Estimated flag (settings). The
//! management account sees every linked account; a member only itself.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::api::{ApiError, ApiResult, Call};
use super::settings::{CostExplorerEstimated, CostExplorerMemberAccess, CostExplorerServiceName};
use super::state::State;
use super::usage::{
    self, BILLING_ENTITY, RECORD_TYPE, UsageRecord, format_date, month_start, months_before,
    next_month_start, parse_date,
};

/// The operations this module answers.
pub(crate) const OPERATIONS: [&str; 1] = ["GetCostAndUsage"];

/// The metrics GetCostAndUsage accepts (the service model's list).
const METRICS: [&str; 7] = [
    "AmortizedCost",
    "BlendedCost",
    "NetAmortizedCost",
    "NetUnblendedCost",
    "NormalizedUsageAmount",
    "UnblendedCost",
    "UsageQuantity",
];

/// The dimensions the emulator can filter on.
const FILTER_DIMENSIONS: [&str; 5] = [
    "LINKED_ACCOUNT",
    "SERVICE",
    "USAGE_TYPE",
    "BILLING_ENTITY",
    "RECORD_TYPE",
];

/// The DIMENSION keys the emulator can group by.
const GROUP_DIMENSIONS: [&str; 4] = ["LINKED_ACCOUNT", "SERVICE", "USAGE_TYPE", "RECORD_TYPE"];

/// Answers one Cost Explorer call.
pub(crate) fn handle(state: &mut State, call: &Call<'_>) -> ApiResult {
    match call.operation {
        "GetCostAndUsage" => get_cost_and_usage(state, call),
        other => Err(ApiError::new(
            400,
            "UnknownOperationException",
            format!("operation `{other}` is not emulated by the sandbox"),
        )),
    }
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
enum Expression {
    And(Vec<Expression>),
    Or(Vec<Expression>),
    Not(Box<Expression>),
    Dimension { key: String, values: Vec<String> },
}

impl Expression {
    fn matches(&self, values: &impl Fn(&str) -> String) -> bool {
        match self {
            Expression::And(items) => items.iter().all(|item| item.matches(values)),
            Expression::Or(items) => items.iter().any(|item| item.matches(values)),
            Expression::Not(item) => !item.matches(values),
            Expression::Dimension {
                key,
                values: wanted,
            } => {
                let value = values(key);
                wanted.contains(&value)
            }
        }
    }
}

const ROOTS: [&str; 7] = [
    "And",
    "Or",
    "Not",
    "Dimensions",
    "Tags",
    "CostCategories",
    "ProductAttributes",
];

fn parse_expression(value: &Value) -> Result<Expression, ApiError> {
    let Some(object) = value.as_object() else {
        return Err(ApiError::validation("Expression must be a structure"));
    };
    let roots: Vec<&str> = ROOTS
        .iter()
        .copied()
        .filter(|root| object.get(*root).is_some_and(|value| !value.is_null()))
        .collect();
    let root = match roots.as_slice() {
        [root] => *root,
        [] => {
            return Err(ApiError::validation(
                "Expression has no root. One root operator is required for each expression: And, Or, Not, Dimensions, Tags, CostCategories",
            ));
        }
        _ => {
            return Err(ApiError::validation(
                "Expression has more than one roots. Only one root operator is allowed for each expression: And, Or, Not, Dimensions, Tags, CostCategories",
            ));
        }
    };
    let member = &object[root];
    match root {
        "And" | "Or" => {
            let items = member
                .as_array()
                .ok_or_else(|| ApiError::validation(format!("{root} must be a list")))?;
            if items.is_empty() {
                return Err(ApiError::validation(format!(
                    "{root} expression must have at least one operand"
                )));
            }
            let parsed = items
                .iter()
                .map(parse_expression)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if root == "And" {
                Expression::And(parsed)
            } else {
                Expression::Or(parsed)
            })
        }
        "Not" => Ok(Expression::Not(Box::new(parse_expression(member)?))),
        "Dimensions" => parse_dimension(member),
        other => Err(ApiError::validation(format!(
            "{other} filters are not emulated by the sandbox (it emulates Dimensions on {})",
            FILTER_DIMENSIONS.join(", ")
        ))),
    }
}

fn parse_dimension(member: &Value) -> Result<Expression, ApiError> {
    let key = member
        .get("Key")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::missing("Key"))?;
    if !FILTER_DIMENSIONS.contains(&key) {
        return Err(ApiError::validation(format!(
            "Dimension {key} is not supported by the sandbox's GetCostAndUsage filter (it emulates {})",
            FILTER_DIMENSIONS.join(", ")
        )));
    }
    if let Some(options) = member.get("MatchOptions").and_then(Value::as_array) {
        for option in options {
            let option = option.as_str().unwrap_or_default();
            if option != "EQUALS" && option != "CASE_SENSITIVE" {
                return Err(ApiError::validation(format!(
                    "MatchOptions {option} is not supported for Dimensions in GetCostAndUsage; valid values are EQUALS and CASE_SENSITIVE"
                )));
            }
        }
    }
    let values = member
        .get("Values")
        .and_then(Value::as_array)
        .map(|values| {
            values
                .iter()
                .filter_map(|value| value.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(Expression::Dimension {
        key: key.to_string(),
        values,
    })
}

/// One period of the answer: `[start, end)` day numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Period {
    start: i64,
    end: i64,
}

fn periods(start: i64, end: i64, monthly: bool) -> Vec<Period> {
    let mut out = Vec::new();
    let mut cursor = start;
    while cursor < end {
        let next = if monthly {
            next_month_start(cursor).min(end)
        } else {
            cursor + 1
        };
        out.push(Period {
            start: cursor,
            end: next,
        });
        cursor = next;
    }
    out
}

/// Sums of one cell (a period, or a period and group).
#[derive(Debug, Clone, Default)]
struct Cell {
    cost: f64,
    units: f64,
    usage_types: BTreeSet<String>,
}

/// One item of a grouped answer: a period's index and one of its groups (`None` for a period
/// without groups).
type Item<'a> = (usize, Option<(&'a Vec<String>, &'a Cell)>);

/// What one request asks, validated.
struct Query {
    start: i64,
    end: i64,
    monthly: bool,
    /// (metric as the caller spelled it, canonical name)
    metrics: Vec<(String, &'static str)>,
    group_by: Vec<String>,
    filter: Option<Expression>,
}

fn parse_query(state: &State, call: &Call<'_>) -> Result<Query, ApiError> {
    let period = call
        .input
        .get("TimePeriod")
        .filter(|value| value.is_object())
        .ok_or_else(|| ApiError::missing("TimePeriod"))?;
    let date = |member: &str| -> Result<i64, ApiError> {
        let text = period
            .get(member)
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::missing(&format!("TimePeriod.{member}")))?;
        parse_date(text).ok_or_else(|| {
            ApiError::validation(format!(
                "{member} date `{text}` is not a valid date in the format YYYY-MM-DD"
            ))
        })
    };
    let (start, end) = (date("Start")?, date("End")?);
    if start >= end {
        return Err(ApiError::validation(
            "Start date (and hour) should be before end date (and hour)",
        ));
    }
    let monthly = match call.string("Granularity") {
        Some("DAILY") => false,
        Some("MONTHLY") => true,
        Some("HOURLY") => {
            return Err(ApiError::validation(
                "Hourly granularity is not enabled for this account: turn on hourly granularity in the Cost Explorer preferences (the sandbox emulates DAILY and MONTHLY)",
            ));
        }
        Some(other) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'granularity' failed to satisfy constraint: Member must satisfy enum value set: [HOURLY, DAILY, MONTHLY]"
            )));
        }
        None => return Err(ApiError::missing("Granularity")),
    };
    let requested = call.strings("Metrics").unwrap_or_default();
    if requested.is_empty() {
        return Err(ApiError::missing("Metrics"));
    }
    let mut metrics = Vec::new();
    for name in requested {
        let canonical = METRICS
            .iter()
            .find(|metric| metric.eq_ignore_ascii_case(&name))
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "Invalid metric `{name}`; valid metrics are {}",
                    METRICS.join(", ")
                ))
            })?;
        metrics.push((name, *canonical));
    }
    let groups = call
        .input
        .get("GroupBy")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if groups.len() > 2 {
        return Err(ApiError::validation(
            "You can only group by up to two different groups",
        ));
    }
    let mut group_by = Vec::new();
    for group in &groups {
        let kind = group
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let key = group.get("Key").and_then(Value::as_str).unwrap_or_default();
        if kind != "DIMENSION" {
            return Err(ApiError::validation(format!(
                "Group by type `{kind}` is not emulated by the sandbox (it emulates DIMENSION)"
            )));
        }
        if !GROUP_DIMENSIONS.contains(&key) {
            return Err(ApiError::validation(format!(
                "Group by dimension `{key}` is not supported by the sandbox (it emulates {})",
                GROUP_DIMENSIONS.join(", ")
            )));
        }
        if group_by.iter().any(|existing| existing == key) {
            return Err(ApiError::validation(format!(
                "Group by dimension `{key}` is given twice"
            )));
        }
        group_by.push(key.to_string());
    }
    let filter = match call.input.get("Filter") {
        None | Some(Value::Null) => None,
        Some(value) => Some(parse_expression(value)?),
    };
    let today = usage::today();
    let oldest = months_before(today, state.settings.cost_explorer_history_months);
    if start < oldest {
        return Err(ApiError::new(
            400,
            "BillExpirationException",
            format!(
                "The requested report expired: data is kept from {} on. Update the date interval and try again.",
                format_date(oldest)
            ),
        ));
    }
    if start > today {
        return Err(ApiError::new(
            400,
            "DataUnavailableException",
            "Data is not available. Please try to adjust the time period.",
        ));
    }
    Ok(Query {
        start,
        end,
        monthly,
        metrics,
        group_by,
        filter,
    })
}

/// The request's fingerprint: everything but NextPageToken, and the caller.
fn fingerprint(call: &Call<'_>) -> String {
    let mut input = call.input.clone();
    if let Value::Object(map) = &mut input {
        map.remove("NextPageToken");
    }
    let digest = Sha256::digest(format!("{}|{}", call.caller, input).as_bytes());
    digest
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `ce1-<offset>-<fingerprint>` to the offset, or the refusal.
fn parse_token(token: &str, fingerprint: &str) -> Result<usize, ApiError> {
    let invalid = || {
        ApiError::new(
            400,
            "InvalidNextTokenException",
            "The pagination token is invalid. Try again without a pagination token.",
        )
    };
    let rest = token.strip_prefix("ce1-").ok_or_else(invalid)?;
    let (offset, print) = rest.split_once('-').ok_or_else(invalid)?;
    let offset = offset.parse::<usize>().map_err(|_| invalid())?;
    if print != fingerprint {
        return Err(ApiError::new(
            400,
            "RequestChangedException",
            "Your request parameters changed between pages. Try again with the old parameters or without a pagination token.",
        ));
    }
    Ok(offset)
}

/// The SERVICE value of a product's usage.
pub(crate) fn service_name(state: &State, product_id: &str) -> String {
    let name = state
        .usage
        .rates
        .get(product_id)
        .map_or(product_id, |rates| rates.name.as_str());
    match state.settings.cost_explorer_service_name {
        CostExplorerServiceName::BedrockEdition => format!("{name} (Amazon Bedrock Edition)"),
        CostExplorerServiceName::ProductName => name.to_string(),
    }
}

fn dimension_value(state: &State, record: &UsageRecord, key: &str) -> String {
    match key {
        "LINKED_ACCOUNT" => record.account_id.clone(),
        "SERVICE" => service_name(state, &record.product_id),
        "USAGE_TYPE" => record.usage_type.clone(),
        "BILLING_ENTITY" => BILLING_ENTITY.to_string(),
        "RECORD_TYPE" => RECORD_TYPE.to_string(),
        _ => String::new(),
    }
}

fn estimated(state: &State, period: Period, today: i64) -> bool {
    match state.settings.cost_explorer_estimated {
        CostExplorerEstimated::CurrentMonth => period.end > month_start(today),
        CostExplorerEstimated::RecentDays(days) => period.end > today + 1 - i64::from(days),
        CostExplorerEstimated::Never => false,
    }
}

/// A number as Cost Explorer writes it: a decimal string, at most 10 decimals, no trailing
/// zeros.
fn amount(value: f64) -> String {
    let text = format!("{value:.10}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

fn metrics_of(query: &Query, cell: &Cell) -> Value {
    let mut out = Map::new();
    for (name, canonical) in &query.metrics {
        let value = match *canonical {
            "UsageQuantity" => {
                let unit = if cell.usage_types.len() == 1 {
                    "Units"
                } else {
                    "N/A"
                };
                json!({"Amount": amount(cell.units), "Unit": unit})
            }
            "NormalizedUsageAmount" => json!({"Amount": "0", "Unit": "N/A"}),
            _ => json!({"Amount": amount(cell.cost), "Unit": "USD"}),
        };
        out.insert(name.clone(), value);
    }
    Value::Object(out)
}

fn time_period(period: Period) -> Value {
    json!({"Start": format_date(period.start), "End": format_date(period.end)})
}

fn get_cost_and_usage(state: &mut State, call: &Call<'_>) -> ApiResult {
    let management = state.management_account_id().to_string();
    let member = call.caller != management;
    if member && state.settings.cost_explorer_member_access == CostExplorerMemberAccess::Denied {
        return Err(ApiError::new(
            400,
            "AccessDeniedException",
            "User not enabled for cost explorer access",
        ));
    }
    if call.string("BillingViewArn").is_some() {
        return Err(ApiError::new(
            400,
            "ResourceNotFoundException",
            "The billing view was not found (the sandbox has no billing views)",
        ));
    }
    let query = parse_query(state, call)?;
    let print = fingerprint(call);
    let offset = match call.string("NextPageToken") {
        Some(token) => parse_token(token, &print)?,
        None => 0,
    };
    let today = usage::today();
    let visible_until = today - i64::from(state.settings.cost_explorer_lag_days);
    let periods = periods(query.start, query.end, query.monthly);
    // Cells per period, keyed by the group values (empty key when not grouped).
    let mut cells: Vec<BTreeMap<Vec<String>, Cell>> = vec![BTreeMap::new(); periods.len()];
    for record in &state.usage.records {
        if member && record.account_id != call.caller {
            continue;
        }
        let Some(day) = parse_date(&record.date) else {
            continue;
        };
        if day > visible_until || day < query.start || day >= query.end {
            continue;
        }
        let values = |key: &str| dimension_value(state, record, key);
        if let Some(filter) = &query.filter
            && !filter.matches(&values)
        {
            continue;
        }
        let index = periods.partition_point(|period| period.end <= day);
        let key: Vec<String> = query.group_by.iter().map(|key| values(key)).collect();
        let cell = cells[index].entry(key).or_default();
        cell.cost += record.cost;
        cell.units += record.units;
        cell.usage_types.insert(record.usage_type.clone());
    }
    let group_definitions: Vec<Value> = query
        .group_by
        .iter()
        .map(|key| json!({"Type": "DIMENSION", "Key": key}))
        .collect();
    let mut answer = Map::new();
    if query.group_by.is_empty() {
        let results: Vec<Value> = periods
            .iter()
            .zip(&cells)
            .map(|(period, groups)| {
                let cell = groups.get(&Vec::new()).cloned().unwrap_or_default();
                json!({
                    "TimePeriod": time_period(*period),
                    "Total": metrics_of(&query, &cell),
                    "Groups": [],
                    "Estimated": estimated(state, *period, today),
                })
            })
            .collect();
        answer.insert("ResultsByTime".to_string(), json!(results));
        answer.insert("DimensionValueAttributes".to_string(), json!([]));
        return Ok(Value::Object(answer));
    }
    // Grouped: one item per (period, group), or one empty item for a period without groups;
    // pages cut through this list, so a period may continue on the next page.
    let mut items: Vec<Item<'_>> = Vec::new();
    for (index, groups) in cells.iter().enumerate() {
        if groups.is_empty() {
            items.push((index, None));
        }
        items.extend(groups.iter().map(|group| (index, Some(group))));
    }
    if offset > items.len() {
        return Err(ApiError::new(
            400,
            "InvalidNextTokenException",
            "The pagination token is invalid. Try again without a pagination token.",
        ));
    }
    let page_size = state.settings.cost_explorer_page_size.max(1);
    let end = (offset + page_size).min(items.len());
    let mut results: Vec<Value> = Vec::new();
    let mut accounts: BTreeSet<String> = BTreeSet::new();
    let account_position = query
        .group_by
        .iter()
        .position(|key| key == "LINKED_ACCOUNT");
    let mut current: Option<(usize, Vec<Value>)> = None;
    let flush = |current: Option<(usize, Vec<Value>)>, results: &mut Vec<Value>| {
        if let Some((index, groups)) = current {
            let period = periods[index];
            results.push(json!({
                "TimePeriod": time_period(period),
                "Total": {},
                "Groups": groups,
                "Estimated": estimated(state, period, today),
            }));
        }
    };
    for (index, group) in &items[offset..end] {
        if current.as_ref().is_none_or(|(open, _)| open != index) {
            flush(current.take(), &mut results);
            current = Some((*index, Vec::new()));
        }
        if let (Some((keys, cell)), Some((_, groups))) = (group, current.as_mut()) {
            if let Some(position) = account_position {
                accounts.insert(keys[position].clone());
            }
            groups.push(json!({"Keys": keys, "Metrics": metrics_of(&query, cell)}));
        }
    }
    flush(current.take(), &mut results);
    let attributes: Vec<Value> = accounts
        .iter()
        .map(|id| {
            let name = state
                .accounts
                .get(id)
                .map_or(id.as_str(), |account| account.name.as_str());
            json!({"Value": id, "Attributes": {"description": name}})
        })
        .collect();
    answer.insert("GroupDefinitions".to_string(), json!(group_definitions));
    answer.insert("ResultsByTime".to_string(), json!(results));
    answer.insert("DimensionValueAttributes".to_string(), json!(attributes));
    if end < items.len() {
        answer.insert(
            "NextPageToken".to_string(),
            json!(format!("ce1-{end}-{print}")),
        );
    }
    Ok(Value::Object(answer))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_trimmed_decimals() {
        assert_eq!(amount(3.000_000_000_000_000_4), "3");
        assert_eq!(amount(0.0), "0");
        assert_eq!(amount(2.4), "2.4");
        assert_eq!(amount(0.000_002_4), "0.0000024");
    }

    #[test]
    fn monthly_periods_are_clipped_to_the_window() {
        let start = parse_date("2026-01-15").unwrap();
        let end = parse_date("2026-03-02").unwrap();
        let found: Vec<(String, String)> = periods(start, end, true)
            .into_iter()
            .map(|period| (format_date(period.start), format_date(period.end)))
            .collect();
        assert_eq!(
            found,
            [
                ("2026-01-15".to_string(), "2026-02-01".to_string()),
                ("2026-02-01".to_string(), "2026-03-01".to_string()),
                ("2026-03-01".to_string(), "2026-03-02".to_string()),
            ]
        );
        assert_eq!(periods(start, start + 3, false).len(), 3);
    }

    #[test]
    fn expressions_need_exactly_one_root() {
        let both = json!({"Dimensions": {"Key": "SERVICE", "Values": ["x"]}, "Not": {"Dimensions": {"Key": "SERVICE", "Values": ["x"]}}});
        assert!(parse_expression(&both).is_err());
        assert!(parse_expression(&json!({})).is_err());
        let tags = json!({"Tags": {"Key": "team", "Values": ["a"]}});
        assert!(parse_expression(&tags).is_err());
        let nested = json!({"And": [
            {"Dimensions": {"Key": "BILLING_ENTITY", "Values": ["AWS Marketplace"]}},
            {"Not": {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["111111111111"]}}}
        ]});
        let parsed = parse_expression(&nested).unwrap();
        let values = |key: &str| match key {
            "BILLING_ENTITY" => "AWS Marketplace".to_string(),
            _ => "222222222222".to_string(),
        };
        assert!(parsed.matches(&values));
        let other = |key: &str| match key {
            "BILLING_ENTITY" => "AWS Marketplace".to_string(),
            _ => "111111111111".to_string(),
        };
        assert!(!parsed.matches(&other));
    }
}
