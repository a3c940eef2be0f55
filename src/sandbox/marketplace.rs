//! AWS Marketplace Agreement (`AWSMPCommerceService_v20200301`, served both as Smithy RPC v2
//! CBOR and awsJson1_0): SearchAgreements with the buyer's filters and their allowed
//! combinations, DescribeAgreement and GetAgreementEntitlements (`licenseArn` links an agreement
//! to its License Manager license).

use serde_json::{Map, Value, json};

use super::api::{ApiError, ApiResult, Call, paginate};
use super::state::{Agreement, State};

/// The operations this module answers.
pub(crate) const OPERATIONS: [&str; 3] = [
    "SearchAgreements",
    "DescribeAgreement",
    "GetAgreementEntitlements",
];

/// Members that are timestamps (CBOR tag 1; epoch seconds in JSON).
pub(crate) const TIMESTAMP_MEMBERS: [&str; 4] =
    ["acceptanceTime", "startTime", "endTime", "lastUpdateTime"];

const FILTER_NAMES: [&str; 11] = [
    "PartyType",
    "AgreementType",
    "Status",
    "ResourceIdentifier",
    "ResourceType",
    "OfferId",
    "OfferSetId",
    "AcceptorAccountId",
    "BeforeEndTime",
    "AfterEndTime",
    "EndTime",
];

fn invalid(reason: &str, message: impl Into<String>, request_id: &str) -> ApiError {
    ApiError::validation(message)
        .with("reason", reason)
        .with("requestId", request_id)
}

/// Answers one Marketplace Agreement call.
pub(crate) fn handle(state: &mut State, call: &Call<'_>) -> ApiResult {
    match call.operation {
        "SearchAgreements" => search(state, call),
        "DescribeAgreement" => {
            let agreement = find(state, call)?;
            let mut out = summary(agreement);
            if let Value::Object(map) = &mut out {
                map.remove("entitlements");
                map.remove("lastUpdateTime");
            }
            Ok(out)
        }
        "GetAgreementEntitlements" => {
            let agreement = find(state, call)?;
            let size = page_size(state, call, 50)?;
            let entitlements = entitlements(agreement);
            let page =
                paginate(&entitlements, call.string("nextToken"), size, 0).ok_or_else(|| {
                    invalid(
                        "INVALID_NEXT_TOKEN",
                        "The nextToken is not valid",
                        call.request_id,
                    )
                })?;
            let mut out = json!({"agreementEntitlements": page.items});
            if let Some(next) = page.next_token {
                out["nextToken"] = json!(next);
            }
            Ok(out)
        }
        other => Err(ApiError::new(
            400,
            "UnknownOperationException",
            format!("operation `{other}` is not emulated by the sandbox"),
        )),
    }
}

fn find<'a>(state: &'a State, call: &Call<'_>) -> Result<&'a Agreement, ApiError> {
    let id = call
        .string("agreementId")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            invalid(
                "MISSING_AGREEMENT_ID",
                "agreementId is required",
                call.request_id,
            )
        })?;
    state
        .agreements
        .get(id)
        .filter(|agreement| {
            agreement.acceptor_account_id == call.caller
                || agreement.proposer_account_id == call.caller
        })
        .ok_or_else(|| {
            ApiError::new(
                404,
                "ResourceNotFoundException",
                format!("Agreement `{id}` not found"),
            )
            .with("requestId", call.request_id)
            .with("resourceId", id)
            .with("resourceType", "Agreement")
        })
}

fn page_size(state: &State, call: &Call<'_>, max: i64) -> Result<usize, ApiError> {
    match call.integer("maxResults") {
        None => Ok(state.settings.marketplace_default_page_size),
        Some(value) if (1..=max).contains(&value) => Ok(usize::try_from(value).unwrap_or(1)),
        Some(value) => Err(invalid(
            "INVALID_MAX_RESULTS",
            format!("maxResults `{value}` must be between 1 and {max}"),
            call.request_id,
        )),
    }
}

fn entitlements(agreement: &Agreement) -> Vec<Value> {
    let Some(license) = &agreement.license_arn else {
        return Vec::new();
    };
    let status = match agreement.status.as_str() {
        "ACTIVE" | "RENEWED" => "PROVISIONED",
        _ => "DEPROVISIONED",
    };
    vec![json!({
        "resource": {"id": agreement.product_id, "type": agreement.resource_type},
        "type": "LicenseManager",
        "status": status,
        "licenseArn": license,
    })]
}

fn summary(agreement: &Agreement) -> Value {
    let mut proposal = json!({
        "resources": [{"id": agreement.product_id, "type": agreement.resource_type}],
        "offerId": agreement.offer_id,
    });
    if let Some(offer_set) = &agreement.offer_set_id {
        proposal["offerSetId"] = json!(offer_set);
    }
    json!({
        "agreementId": agreement.id,
        "acceptanceTime": agreement.acceptance_time,
        "startTime": agreement.start_time,
        "endTime": agreement.end_time,
        "lastUpdateTime": agreement.acceptance_time,
        "agreementType": agreement.agreement_type,
        "acceptor": {"accountId": agreement.acceptor_account_id},
        "proposer": {"accountId": agreement.proposer_account_id},
        "proposalSummary": proposal,
        "status": agreement.status,
        "entitlements": agreement
            .license_arn
            .iter()
            .map(|license| json!({"licenseArn": license}))
            .collect::<Vec<_>>(),
    })
}

fn search(state: &State, call: &Call<'_>) -> ApiResult {
    let request_id = call.request_id;
    if call.string("catalog") != Some("AWSMarketplace") {
        return Err(invalid(
            "INVALID_CATALOG",
            "catalog must be `AWSMarketplace`",
            request_id,
        ));
    }
    let size = page_size(state, call, 50)?;
    let mut filters: Map<String, Value> = Map::new();
    let raw = call
        .input
        .get("filters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if raw.len() > 10 {
        return Err(invalid("INVALID_FILTERS", "at most 10 filters", request_id));
    }
    for filter in &raw {
        let name = filter
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if name.is_empty() {
            return Err(invalid(
                "MISSING_FILTER_NAME",
                "filter name is required",
                request_id,
            ));
        }
        if !FILTER_NAMES.contains(&name) {
            return Err(invalid(
                "INVALID_FILTER_NAME",
                format!("filter name `{name}` is not supported"),
                request_id,
            ));
        }
        let values: Vec<&str> = filter
            .get("values")
            .and_then(Value::as_array)
            .map(|values| values.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if values.len() != 1 {
            return Err(invalid(
                if values.is_empty() {
                    "MISSING_FILTER_VALUES"
                } else {
                    "INVALID_FILTER_VALUES"
                },
                format!("filter `{name}` takes exactly one value"),
                request_id,
            ));
        }
        if filters.insert(name.to_string(), json!(values[0])).is_some() {
            return Err(invalid(
                "INVALID_FILTERS",
                format!("filter `{name}` appears twice"),
                request_id,
            ));
        }
    }
    let text = |name: &str| filters.get(name).and_then(Value::as_str);
    let party = text("PartyType").ok_or_else(|| {
        invalid(
            "MISSING_PARTY_TYPE",
            "a PartyType filter is required",
            request_id,
        )
    })?;
    if party != "Acceptor" && party != "Proposer" {
        return Err(invalid(
            "INVALID_PARTY_TYPE",
            format!("PartyType `{party}` is not Acceptor or Proposer"),
            request_id,
        ));
    }
    let agreement_type = text("AgreementType").ok_or_else(|| {
        invalid(
            "UNSUPPORTED_FILTERS",
            "an AgreementType filter is required",
            request_id,
        )
    })?;
    if agreement_type != "PurchaseAgreement" {
        return Err(invalid(
            "INVALID_AGREEMENT_TYPE",
            format!("AgreementType `{agreement_type}` is not supported"),
            request_id,
        ));
    }
    // Buyer combinations: AgreementType plus at most one of the narrowing filters below.
    let narrowing: Vec<&str> = [
        "Status",
        "ResourceIdentifier",
        "ResourceType",
        "OfferId",
        "OfferSetId",
        "BeforeEndTime",
        "AfterEndTime",
        "EndTime",
        "AcceptorAccountId",
    ]
    .into_iter()
    .filter(|name| filters.contains_key(*name))
    .collect();
    if party == "Acceptor" && (narrowing.len() > 1 || narrowing.contains(&"AcceptorAccountId")) {
        return Err(invalid(
            "UNSUPPORTED_FILTERS",
            format!(
                "unsupported filter combination for PartyType Acceptor: AgreementType + {}",
                narrowing.join(" + ")
            ),
            request_id,
        ));
    }
    let end_bound = |name: &str| -> Result<Option<f64>, ApiError> {
        match filters.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_str()
                .and_then(|text| {
                    text.parse::<f64>().ok().or_else(|| {
                        aws_smithy_types::DateTime::from_str(
                            text,
                            aws_smithy_types::date_time::Format::DateTime,
                        )
                        .ok()
                        .map(|time| time.as_secs_f64())
                    })
                })
                .map(Some)
                .ok_or_else(|| {
                    invalid(
                        "INVALID_FILTER_VALUES",
                        format!("`{name}` is not a timestamp"),
                        request_id,
                    )
                }),
        }
    };
    let before = end_bound("BeforeEndTime")?;
    let after = end_bound("AfterEndTime")?;
    let mut matching: Vec<&Agreement> = state
        .agreements
        .values()
        .filter(|agreement| match party {
            "Acceptor" => agreement.acceptor_account_id == call.caller,
            _ => agreement.proposer_account_id == call.caller,
        })
        .filter(|agreement| agreement.agreement_type == agreement_type)
        .filter(|agreement| text("Status").is_none_or(|status| agreement.status == status))
        .filter(|agreement| text("ResourceIdentifier").is_none_or(|id| agreement.product_id == id))
        .filter(|agreement| text("ResourceType").is_none_or(|kind| agreement.resource_type == kind))
        .filter(|agreement| text("OfferId").is_none_or(|offer| agreement.offer_id == offer))
        .filter(|agreement| {
            text("OfferSetId").is_none_or(|set| agreement.offer_set_id.as_deref() == Some(set))
        })
        .filter(|agreement| {
            text("AcceptorAccountId").is_none_or(|id| agreement.acceptor_account_id == id)
        })
        .filter(|agreement| before.is_none_or(|bound| (agreement.end_time as f64) < bound))
        .filter(|agreement| after.is_none_or(|bound| (agreement.end_time as f64) > bound))
        .collect();
    if let Some(sort) = call.input.get("sort") {
        let by = sort
            .get("sortBy")
            .and_then(Value::as_str)
            .unwrap_or("EndTime");
        if by != "EndTime" {
            return Err(invalid(
                "INVALID_SORT_BY",
                format!("sortBy `{by}` is not supported"),
                request_id,
            ));
        }
        match sort
            .get("sortOrder")
            .and_then(Value::as_str)
            .unwrap_or("ASCENDING")
        {
            "ASCENDING" => matching.sort_by_key(|agreement| agreement.end_time),
            "DESCENDING" => matching.sort_by_key(|agreement| std::cmp::Reverse(agreement.end_time)),
            other => {
                return Err(invalid(
                    "INVALID_SORT_ORDER",
                    format!("sortOrder `{other}` is not supported"),
                    request_id,
                ));
            }
        }
    }
    let page = paginate(&matching, call.string("nextToken"), size, 0).ok_or_else(|| {
        invalid(
            "INVALID_NEXT_TOKEN",
            "The nextToken is not valid",
            request_id,
        )
    })?;
    let mut out = json!({"agreementViewSummaries": page.items.iter().map(|agreement| summary(agreement)).collect::<Vec<_>>()});
    if let Some(next) = page.next_token {
        out["nextToken"] = json!(next);
    }
    Ok(out)
}
