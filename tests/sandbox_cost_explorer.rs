//! The real AWS SDK Cost Explorer client against the sandbox: GetCostAndUsage over usage
//! recorded with the `record_usage` admin action, priced at the private rate on the days an
//! account held an ACTIVE grant and at the list rate otherwise; grouping, filters, daily and
//! monthly periods, paging over many accounts, a member's view, the reporting lag and the
//! validation errors.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition,
    GroupDefinitionType, MatchOption,
};
use aws_sdk_licensemanager::types::AllowedOperation;
use aws_smithy_types::retry::RetryConfig;
use aws_types::region::Region;
use entitle::sandbox::admin::{self, AdminAction, MemberGrant};
use entitle::sandbox::seed::{DEMO_MANAGEMENT_ACCOUNT, GenerateOptions, SONNET_4_5_PRODUCT};
use entitle::sandbox::usage::{format_date, today};
use entitle::sandbox::{FaultRule, Faults, Sandbox, State};
use serde_json::json;
use support::code;

const PILOT_A: &str = "111111111111";
const PILOT_B: &str = "222222222222";
const SERVICE: &str = "Claude Sonnet 4.5 (Amazon Bedrock Edition)";
const INPUT_TOKENS: &str = "USE1-MP:USE1_InputTokenCount-Units";
const OUTPUT_TOKENS: &str = "USE1-MP:USE1_OutputTokenCount-Units";

fn cost_explorer_as(sandbox: &Sandbox, account: Option<&str>) -> aws_sdk_costexplorer::Client {
    let key = account.map_or_else(|| "AKIDSANDBOX".to_string(), |id| format!("AKID{id}"));
    let config = aws_sdk_costexplorer::Config::builder()
        .behavior_version(aws_sdk_costexplorer::config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, "secret", None, None, "sandbox"))
        .endpoint_url(sandbox.endpoint())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .build();
    aws_sdk_costexplorer::Client::from_conf(config)
}

/// The demo with usage visible on the day it happens.
fn demo_without_lag() -> State {
    support::demo_with_settings(&[("cost_explorer_lag_days", json!(0))])
}

fn record(
    sandbox: &Sandbox,
    account: &str,
    units: f64,
    day: i64,
    usage_type: Option<&str>,
) -> serde_json::Value {
    let action = AdminAction::RecordUsage {
        account_id: account.to_string(),
        product_id: SONNET_4_5_PRODUCT.to_string(),
        units,
        date: Some(format_date(day)),
        usage_type: usage_type.map(str::to_string),
    };
    sandbox
        .with_state(|state| admin::apply(state, &action))
        .unwrap()
}

fn dimension(key: Dimension, values: &[&str]) -> Expression {
    let mut builder = DimensionValues::builder().key(key);
    for value in values {
        builder = builder.values(*value);
    }
    Expression::builder().dimensions(builder.build()).build()
}

fn group(key: &str) -> GroupDefinition {
    GroupDefinition::builder()
        .r#type(GroupDefinitionType::Dimension)
        .key(key)
        .build()
}

fn window(start: i64, end: i64) -> DateInterval {
    DateInterval::builder()
        .start(format_date(start))
        .end(format_date(end))
        .build()
        .unwrap()
}

/// A grant of the demo license to `account`, through PENDING_WORKFLOW, then activated by it.
async fn grant_and_activate(sandbox: &Sandbox, account: &str) -> String {
    let license = support::license_manager(sandbox);
    let created = license
        .create_grant()
        .client_token(format!("usage-{account}"))
        .grant_name("claude-sonnet-4-5")
        .license_arn(entitle::sandbox::seed::DEMO_ACTIVE_LICENSE)
        .principals(format!("arn:aws:iam::{account}:root"))
        .home_region("us-east-1")
        .allowed_operations(AllowedOperation::CheckoutLicense)
        .send()
        .await
        .unwrap();
    let arn = created.grant_arn().unwrap().to_string();
    sandbox
        .with_state(|state| admin::apply(state, &AdminAction::SettleWorkflows))
        .unwrap();
    let member = MemberGrant {
        account_id: account.to_string(),
        grant_arn: Some(arn.clone()),
        license_arn: None,
    };
    sandbox
        .with_state(|state| admin::apply(state, &AdminAction::ActivateGrant(member)))
        .unwrap();
    arn
}

/// `(period start, keys) -> (cost, units)` of every page of a grouped answer.
type Cells = BTreeMap<(String, Vec<String>), (String, String)>;

fn cells_of(
    pages: &[aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageOutput],
) -> Cells {
    let mut cells = Cells::new();
    for page in pages {
        for result in page.results_by_time() {
            let start = result.time_period().unwrap().start().to_string();
            for group in result.groups() {
                let metrics = group.metrics().unwrap();
                let cost = metrics["UnblendedCost"].amount().unwrap().to_string();
                let units = metrics["UsageQuantity"].amount().unwrap().to_string();
                let previous = cells.insert((start.clone(), group.keys().to_vec()), (cost, units));
                assert!(previous.is_none(), "a group appears twice");
            }
        }
    }
    cells
}

#[tokio::test]
async fn usage_is_priced_private_from_the_day_the_grant_is_active_and_grouped_per_account() {
    let sandbox = support::start(demo_without_lag()).await;
    let today = today();
    let yesterday = today - 1;
    // Before any grant: list price (USD 3 per million input tokens).
    let before = record(&sandbox, PILOT_A, 1_000_000.0, yesterday, None);
    assert_eq!(before["rate"], "list");
    grant_and_activate(&sandbox, PILOT_A).await;
    let after = record(&sandbox, PILOT_A, 1_000_000.0, today, None);
    assert_eq!(after["rate"], "private", "{after}");
    // The grant became ACTIVE today: yesterday's usage stays at the list price even when
    // recorded now.
    let late = record(&sandbox, PILOT_A, 500_000.0, yesterday, Some(OUTPUT_TOKENS));
    assert_eq!(late["rate"], "list");
    // No grant at all: list price; the subscriber itself: private.
    assert_eq!(
        record(&sandbox, PILOT_B, 2_000_000.0, today, None)["rate"],
        "list"
    );
    let own = record(&sandbox, DEMO_MANAGEMENT_ACCOUNT, 500_000.0, today, None);
    assert_eq!(own["rate"], "private");

    let client = cost_explorer_as(&sandbox, None);
    let filter = Expression::builder()
        .and(dimension(Dimension::BillingEntity, &["AWS Marketplace"]))
        .and(dimension(Dimension::Service, &[SERVICE]))
        .build();
    let answer = client
        .get_cost_and_usage()
        .time_period(window(yesterday, today + 1))
        .granularity(Granularity::Daily)
        .metrics("UnblendedCost")
        .metrics("UsageQuantity")
        .filter(filter)
        .group_by(group("LINKED_ACCOUNT"))
        .group_by(group("USAGE_TYPE"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.group_definitions().len(), 2);
    assert_eq!(answer.results_by_time().len(), 2);
    assert!(answer.next_page_token().is_none());
    let cells = cells_of(std::slice::from_ref(&answer));
    let cell = |day: i64, account: &str, usage_type: &str| {
        cells[&(
            format_date(day),
            vec![account.to_string(), usage_type.to_string()],
        )]
            .clone()
    };
    let pair = |cost: &str, units: &str| (cost.to_string(), units.to_string());
    assert_eq!(cell(yesterday, PILOT_A, INPUT_TOKENS), pair("3", "1000000"));
    assert_eq!(
        cell(yesterday, PILOT_A, OUTPUT_TOKENS),
        pair("1.5", "500000")
    );
    assert_eq!(cell(today, PILOT_A, INPUT_TOKENS), pair("2.4", "1000000"));
    assert_eq!(cell(today, PILOT_B, INPUT_TOKENS), pair("6", "2000000"));
    assert_eq!(
        cell(today, DEMO_MANAGEMENT_ACCOUNT, INPUT_TOKENS),
        pair("1.2", "500000")
    );
    assert_eq!(cells.len(), 5);
    // Account names come with the answer; today's bill is not final.
    let names: BTreeMap<&str, &str> = answer
        .dimension_value_attributes()
        .iter()
        .map(|value| {
            (
                value.value().unwrap(),
                value.attributes().unwrap()["description"].as_str(),
            )
        })
        .collect();
    assert_eq!(names[PILOT_A], "ml-pilot-a");
    assert_eq!(names[PILOT_B], "ml-pilot-b");
    assert_eq!(names[DEMO_MANAGEMENT_ACCOUNT], "management");
    assert!(answer.results_by_time()[1].estimated());

    // Filtered to one account and one usage type, not grouped: the Total.
    let only = client
        .get_cost_and_usage()
        .time_period(window(yesterday, today + 1))
        .granularity(Granularity::Daily)
        .metrics("UnblendedCost")
        .metrics("UsageQuantity")
        .filter(
            Expression::builder()
                .and(dimension(Dimension::LinkedAccount, &[PILOT_A]))
                .and(
                    Expression::builder()
                        .not(dimension(Dimension::UsageType, &[OUTPUT_TOKENS]))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let totals: Vec<(String, String)> = only
        .results_by_time()
        .iter()
        .map(|result| {
            let total = result.total().unwrap();
            (
                total["UnblendedCost"].amount().unwrap().to_string(),
                total["UsageQuantity"].unit().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        totals,
        [
            ("3".to_string(), "Units".to_string()),
            ("2.4".to_string(), "Units".to_string())
        ]
    );
}

#[tokio::test]
async fn usage_after_the_grant_is_deleted_is_back_at_the_list_price() {
    let sandbox = support::start(demo_without_lag()).await;
    let today = today();
    let grant = grant_and_activate(&sandbox, PILOT_B).await;
    assert_eq!(
        record(&sandbox, PILOT_B, 1_000.0, today, None)["rate"],
        "private"
    );
    let license = support::license_manager(&sandbox);
    let version = license
        .get_grant()
        .grant_arn(&grant)
        .send()
        .await
        .unwrap()
        .grant()
        .unwrap()
        .version()
        .to_string();
    license
        .delete_grant()
        .grant_arn(&grant)
        .version(version)
        .send()
        .await
        .unwrap();
    // The day is priced by the status it ends with (now, for today): the grant is gone.
    let after = record(&sandbox, PILOT_B, 1_000.0, today, None);
    assert_eq!(after["rate"], "list", "{after}");
    let answer = cost_explorer_as(&sandbox, None)
        .get_cost_and_usage()
        .time_period(window(today, today + 1))
        .granularity(Granularity::Daily)
        .metrics("UnblendedCost")
        .metrics("UsageQuantity")
        .filter(dimension(Dimension::LinkedAccount, &[PILOT_B]))
        .send()
        .await
        .unwrap();
    let total = answer.results_by_time()[0].total().unwrap();
    // 1,000 units at 0.0000024 and 1,000 at 0.000003.
    assert_eq!(total["UnblendedCost"].amount(), Some("0.0054"));
    assert_eq!(total["UsageQuantity"].amount(), Some("2000"));
}

#[tokio::test]
async fn monthly_periods_are_clipped_and_a_window_without_usage_has_empty_periods() {
    let sandbox = support::start(demo_without_lag()).await;
    let today = today();
    let this_month = entitle::sandbox::usage::months_before(today, 0);
    let last_month = entitle::sandbox::usage::months_before(today, 1);
    let two_months_ago = entitle::sandbox::usage::months_before(today, 2);
    record(&sandbox, PILOT_B, 100.0, last_month, None);
    record(&sandbox, PILOT_B, 300.0, last_month + 3, None);
    record(&sandbox, PILOT_B, 1000.0, two_months_ago + 1, None);
    let client = cost_explorer_as(&sandbox, None);
    let answer = client
        .get_cost_and_usage()
        .time_period(window(two_months_ago + 1, this_month))
        .granularity(Granularity::Monthly)
        .metrics("UsageQuantity")
        .metrics("UnblendedCost")
        .send()
        .await
        .unwrap();
    let periods: Vec<(String, String, String)> = answer
        .results_by_time()
        .iter()
        .map(|result| {
            let period = result.time_period().unwrap();
            (
                period.start().to_string(),
                period.end().to_string(),
                result.total().unwrap()["UsageQuantity"]
                    .amount()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        periods,
        [
            (
                format_date(two_months_ago + 1),
                format_date(last_month),
                "1000".to_string()
            ),
            (
                format_date(last_month),
                format_date(this_month),
                "400".to_string()
            ),
        ]
    );
    // Finished months are final.
    assert!(!answer.results_by_time()[0].estimated());

    // Nobody used the product in this window: every period is there, with no groups.
    let empty = client
        .get_cost_and_usage()
        .time_period(window(today - 40, today - 37))
        .granularity(Granularity::Daily)
        .metrics("UnblendedCost")
        .group_by(group("LINKED_ACCOUNT"))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.results_by_time().len(), 3);
    assert!(
        empty
            .results_by_time()
            .iter()
            .all(|result| result.groups().is_empty())
    );
    assert!(empty.next_page_token().is_none());
}

#[tokio::test]
async fn pages_cover_sixty_accounts_and_a_changed_request_is_refused() {
    let mut state = State::generate(GenerateOptions {
        accounts: 60,
        ous: 5,
        depth: 2,
        seed: 7,
    });
    state.settings.cost_explorer_lag_days = 0;
    state.settings.cost_explorer_page_size = 7;
    let sandbox = support::start(state).await;
    let accounts: Vec<String> = sandbox.with_state(|state| {
        state
            .active_member_ids()
            .iter()
            .map(|id| id.to_string())
            .collect()
    });
    assert!(accounts.len() >= 50, "{}", accounts.len());
    let today = today();
    for (index, account) in accounts.iter().enumerate() {
        record(&sandbox, account, (index + 1) as f64, today - 1, None);
        if index % 3 == 0 {
            record(&sandbox, account, 10.0, today - 2, None);
        }
    }
    let client = cost_explorer_as(&sandbox, None);
    let request = || {
        client
            .get_cost_and_usage()
            .time_period(window(today - 2, today))
            .granularity(Granularity::Daily)
            .metrics("UnblendedCost")
            .metrics("UsageQuantity")
            .group_by(group("LINKED_ACCOUNT"))
    };
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = request()
            .set_next_page_token(token.clone())
            .send()
            .await
            .unwrap();
        token = page.next_page_token().map(str::to_string);
        pages.push(page);
        if token.is_none() {
            break;
        }
    }
    let expected_groups = accounts.len() + accounts.len().div_ceil(3);
    assert_eq!(pages.len(), expected_groups.div_ceil(7));
    let cells = cells_of(&pages);
    assert_eq!(cells.len(), expected_groups);
    for (index, account) in accounts.iter().enumerate() {
        let cell = &cells[&(format_date(today - 1), vec![account.clone()])];
        assert_eq!(cell.1, (index + 1).to_string());
    }
    // Every page names the accounts of its groups.
    for page in &pages {
        let named = page.dimension_value_attributes().len();
        assert!((1..=7).contains(&named), "{named}");
    }

    // A token used with another request is refused; a token never issued too.
    let first = request().send().await.unwrap();
    let token = first.next_page_token().unwrap().to_string();
    let error = request()
        .metrics("BlendedCost")
        .next_page_token(&token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "RequestChangedException");
    assert!(error.into_service_error().is_request_changed_exception());
    let error = request()
        .next_page_token("not-a-token")
        .send()
        .await
        .unwrap_err();
    assert!(error.into_service_error().is_invalid_next_token_exception());
}

#[tokio::test]
async fn a_member_sees_only_its_own_usage_and_can_be_refused() {
    let sandbox = support::start(demo_without_lag()).await;
    let today = today();
    record(&sandbox, PILOT_A, 1_000.0, today, None);
    record(&sandbox, PILOT_B, 2_000.0, today, None);
    let request = |client: &aws_sdk_costexplorer::Client| {
        client
            .get_cost_and_usage()
            .time_period(window(today, today + 1))
            .granularity(Granularity::Daily)
            .metrics("UsageQuantity")
            .metrics("UnblendedCost")
            .group_by(group("LINKED_ACCOUNT"))
    };
    let member = cost_explorer_as(&sandbox, Some(PILOT_B));
    let mine = cells_of(&[request(&member).send().await.unwrap()]);
    assert_eq!(mine.len(), 1);
    assert_eq!(
        mine[&(format_date(today), vec![PILOT_B.to_string()])].1,
        "2000"
    );
    let payer = cells_of(&[request(&cost_explorer_as(&sandbox, None))
        .send()
        .await
        .unwrap()]);
    assert_eq!(payer.len(), 2);

    sandbox.with_state(|state| {
        state.settings.cost_explorer_member_access =
            entitle::sandbox::settings::CostExplorerMemberAccess::Denied;
    });
    let error = request(&member).send().await.unwrap_err();
    assert_eq!(code(&error), "AccessDeniedException");
}

#[tokio::test]
async fn usage_newer_than_the_lag_is_not_visible_yet() {
    // The default lag: a day.
    let sandbox = support::start(State::demo()).await;
    let today = today();
    record(&sandbox, PILOT_A, 7.0, today, None);
    record(&sandbox, PILOT_A, 5.0, today - 1, None);
    let client = cost_explorer_as(&sandbox, None);
    let answer = client
        .get_cost_and_usage()
        .time_period(window(today - 1, today + 1))
        .granularity(Granularity::Daily)
        .metrics("UsageQuantity")
        .send()
        .await
        .unwrap();
    let amounts: Vec<&str> = answer
        .results_by_time()
        .iter()
        .map(|result| result.total().unwrap()["UsageQuantity"].amount().unwrap())
        .collect();
    assert_eq!(amounts, ["5", "0"]);
}

#[tokio::test]
async fn invalid_requests_are_refused_with_the_service_errors() {
    let sandbox = support::start(demo_without_lag()).await;
    let client = cost_explorer_as(&sandbox, None);
    let today = today();
    let base = || {
        client
            .get_cost_and_usage()
            .time_period(window(today - 3, today))
            .granularity(Granularity::Daily)
            .metrics("UnblendedCost")
    };
    let backwards = client
        .get_cost_and_usage()
        .time_period(window(today, today - 3))
        .granularity(Granularity::Daily)
        .metrics("UnblendedCost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&backwards), "ValidationException");
    let three_groups = base()
        .group_by(group("LINKED_ACCOUNT"))
        .group_by(group("USAGE_TYPE"))
        .group_by(group("SERVICE"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&three_groups), "ValidationException");
    let hourly = base()
        .granularity(Granularity::Hourly)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&hourly), "ValidationException");
    let no_metrics = client
        .get_cost_and_usage()
        .time_period(window(today - 3, today))
        .granularity(Granularity::Daily)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&no_metrics), "ValidationException");
    let bad_metric = base().metrics("Dollars").send().await.unwrap_err();
    assert_eq!(code(&bad_metric), "ValidationException");
    let insensitive = base()
        .filter(
            Expression::builder()
                .dimensions(
                    DimensionValues::builder()
                        .key(Dimension::LinkedAccount)
                        .values(PILOT_A)
                        .match_options(MatchOption::CaseInsensitive)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&insensitive), "ValidationException");
    let two_roots = base()
        .filter(
            Expression::builder()
                .dimensions(
                    DimensionValues::builder()
                        .key(Dimension::Service)
                        .values(SERVICE)
                        .build(),
                )
                .not(dimension(Dimension::LinkedAccount, &[PILOT_A]))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&two_roots), "ValidationException");
    let expired = client
        .get_cost_and_usage()
        .time_period(window(today - 800, today))
        .granularity(Granularity::Monthly)
        .metrics("UnblendedCost")
        .send()
        .await
        .unwrap_err();
    assert!(expired.into_service_error().is_bill_expiration_exception());
    let future = client
        .get_cost_and_usage()
        .time_period(window(today + 5, today + 9))
        .granularity(Granularity::Daily)
        .metrics("UnblendedCost")
        .send()
        .await
        .unwrap_err();
    assert!(future.into_service_error().is_data_unavailable_exception());
    // Every refusal left the state alone; a valid request still answers.
    assert!(base().send().await.is_ok());
    let stats = sandbox.stats();
    assert_eq!(stats["CostExplorer.GetCostAndUsage"].calls, 10);
}

#[tokio::test]
async fn faults_reach_cost_explorer_with_its_throttle_and_internal_errors() {
    assert!(entitle::sandbox::emulated_operations().contains(&("CostExplorer", "GetCostAndUsage")));
    let mut faults = Faults::default();
    faults.operations.insert(
        "CostExplorer.GetCostAndUsage".to_string(),
        FaultRule {
            throttle_every: Some(1),
            max_injections: Some(1),
            ..FaultRule::default()
        },
    );
    let sandbox = support::start_with_faults(demo_without_lag(), faults).await;
    let today = today();
    let client = cost_explorer_as(&sandbox, None);
    let request = || {
        client
            .get_cost_and_usage()
            .time_period(window(today - 1, today))
            .granularity(Granularity::Daily)
            .metrics("UnblendedCost")
    };
    // The SDK retries LimitExceededException as a throttle: the second attempt answers.
    request().send().await.unwrap();
    let stats = &sandbox.stats()["CostExplorer.GetCostAndUsage"];
    assert_eq!((stats.calls, stats.throttled, stats.ok), (2, 1, 1));

    let mut always = Faults::default();
    always.operations.insert(
        "GetCostAndUsage".to_string(),
        FaultRule {
            throttle_every: Some(1),
            ..FaultRule::default()
        },
    );
    sandbox.set_faults(always);
    let error = request().send().await.unwrap_err();
    assert!(error.into_service_error().is_limit_exceeded_exception());
    let mut internal = Faults::default();
    internal.operations.insert(
        "GetCostAndUsage".to_string(),
        FaultRule {
            error_5xx_every: Some(1),
            ..FaultRule::default()
        },
    );
    sandbox.set_faults(internal);
    let error = request().send().await.unwrap_err();
    assert_eq!(code(&error), "InternalFailure");
}

#[tokio::test]
async fn the_estimated_flag_and_the_service_name_follow_their_settings() {
    let today = today();
    let estimated_flags = |sandbox: Sandbox| async move {
        let answer = cost_explorer_as(&sandbox, None)
            .get_cost_and_usage()
            .time_period(window(today - 3, today + 1))
            .granularity(Granularity::Daily)
            .metrics("UnblendedCost")
            .send()
            .await
            .unwrap();
        answer
            .results_by_time()
            .iter()
            .map(|result| result.estimated())
            .collect::<Vec<bool>>()
    };
    let recent = support::demo_with_settings(&[
        ("cost_explorer_lag_days", json!(0)),
        ("cost_explorer_estimated", json!({"recent_days": 2})),
    ]);
    let flags = estimated_flags(support::start(recent).await).await;
    assert_eq!(flags, [false, false, true, true]);
    let never = support::demo_with_settings(&[("cost_explorer_estimated", json!("never"))]);
    let flags = estimated_flags(support::start(never).await).await;
    assert_eq!(flags, [false; 4]);

    let plain = support::demo_with_settings(&[
        ("cost_explorer_lag_days", json!(0)),
        ("cost_explorer_service_name", json!("product_name")),
    ]);
    let sandbox = support::start(plain).await;
    record(&sandbox, PILOT_A, 10.0, today, None);
    let answer = cost_explorer_as(&sandbox, None)
        .get_cost_and_usage()
        .time_period(window(today, today + 1))
        .granularity(Granularity::Daily)
        .metrics("UsageQuantity")
        .group_by(group("SERVICE"))
        .send()
        .await
        .unwrap();
    let keys: Vec<Vec<String>> = answer.results_by_time()[0]
        .groups()
        .iter()
        .map(|group| group.keys().to_vec())
        .collect();
    assert_eq!(keys, [vec!["Claude Sonnet 4.5".to_string()]]);
}
