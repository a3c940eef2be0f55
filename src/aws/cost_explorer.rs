//! Cost Explorer reads (us-east-1): one grouped `GetCostAndUsage` of a Marketplace product's usage
//! across every linked account, every page followed. Cost Explorer charges each request (each
//! page), so `entitle usage` makes exactly one such query per window.

use std::collections::BTreeMap;

use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, GroupDefinition, GroupDefinitionType,
};

use super::config::AwsClients;
use super::error::{AwsError, AwsErrorKind};
use crate::model::AccountId;
use crate::model::usage::{
    CostAndUsage, CostPeriod, CostQuery, CostRow, Date, Granularity, MARKETPLACE_BILLING_ENTITY,
};

const SERVICE: &str = "ce";
const COST: &str = "UnblendedCost";
const QUANTITY: &str = "UsageQuantity";

fn dimension(key: Dimension, value: &str) -> Expression {
    Expression::builder()
        .dimensions(DimensionValues::builder().key(key).values(value).build())
        .build()
}

/// Usage and spend of `query.service` billed through AWS Marketplace, per linked account and
/// usage type, per period of the window: one grouped query, every page read (each counted in
/// `requests`). Groups whose account id is not an account id are dropped (Cost Explorer shows
/// none such for `LINKED_ACCOUNT`).
pub async fn marketplace_usage(
    clients: &AwsClients,
    query: &CostQuery,
) -> Result<CostAndUsage, AwsError> {
    let operation = "GetCostAndUsage";
    let filter = Expression::builder()
        .and(dimension(
            Dimension::BillingEntity,
            MARKETPLACE_BILLING_ENTITY,
        ))
        .and(dimension(Dimension::Service, &query.service))
        .build();
    let group = |key: &str| {
        GroupDefinition::builder()
            .r#type(GroupDefinitionType::Dimension)
            .key(key)
            .build()
    };
    let granularity = match query.granularity {
        Granularity::Daily => aws_sdk_costexplorer::types::Granularity::Daily,
        Granularity::Monthly => aws_sdk_costexplorer::types::Granularity::Monthly,
    };
    let mut answer = CostAndUsage::default();
    let mut periods: BTreeMap<(Date, Date), CostPeriod> = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let interval = DateInterval::builder()
            .start(query.start.to_string())
            .end(query.end.to_string())
            .build()
            .map_err(|error| AwsError {
                service: SERVICE,
                operation,
                code: None,
                message: format!("the request could not be built: {error}"),
                request_id: None,
                kind: AwsErrorKind::Configuration,
            })?;
        let page = clients
            .cost_explorer
            .get_cost_and_usage()
            .time_period(interval)
            .granularity(granularity.clone())
            .filter(filter.clone())
            .metrics(COST)
            .metrics(QUANTITY)
            .group_by(group("LINKED_ACCOUNT"))
            .group_by(group("USAGE_TYPE"))
            .set_next_page_token(token.take())
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(SERVICE, operation, error))?;
        answer.requests += 1;
        for result in page.results_by_time() {
            let Some((start, end)) = result.time_period().and_then(|period| {
                Some((Date::parse(period.start())?, Date::parse(period.end())?))
            }) else {
                continue;
            };
            let estimated = result.estimated();
            let period = periods.entry((start, end)).or_insert(CostPeriod {
                start,
                end,
                estimated,
                groups: 0,
            });
            period.estimated |= estimated;
            for group in result.groups() {
                let [account, usage_type] = group.keys() else {
                    continue;
                };
                let Ok(account) = AccountId::parse(account.as_str()) else {
                    continue;
                };
                let metric = |name: &str| {
                    group
                        .metrics()
                        .and_then(|metrics| metrics.get(name))
                        .map(|value| {
                            (
                                value
                                    .amount()
                                    .and_then(|amount| amount.parse::<f64>().ok())
                                    .unwrap_or(0.0),
                                value.unit().unwrap_or_default().to_owned(),
                            )
                        })
                        .unwrap_or((0.0, String::new()))
                };
                let (cost, currency) = metric(COST);
                let (quantity, _) = metric(QUANTITY);
                period.groups += 1;
                answer.rows.push(CostRow {
                    account,
                    usage_type: usage_type.clone(),
                    start,
                    end,
                    cost,
                    currency,
                    quantity,
                    estimated,
                });
            }
        }
        for value in page.dimension_value_attributes() {
            if let (Some(account), Some(name)) = (
                value.value(),
                value
                    .attributes()
                    .and_then(|attributes| attributes.get("description")),
            ) {
                answer
                    .account_names
                    .insert(account.to_owned(), name.clone());
            }
        }
        match page.next_page_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    answer.periods = periods.into_values().collect();
    Ok(answer)
}
