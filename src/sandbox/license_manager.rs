//! AWS License Manager (awsJson1_1, `AWSLicenseManager`): dispatch of its operations and what
//! they share: filters, paging, the wire shapes of grants and licenses, who may see a grant,
//! ClientToken idempotency. The grant lifecycle (create, delete, accept, reject, the
//! PENDING_WORKFLOW and PENDING_DELETE timers) is in `license_manager/lifecycle.rs`, activation
//! (CreateGrantVersion, own subscriptions, override behaviour) in `activation.rs`, the fan-out of
//! organisation and OU grants in `distribution.rs`, and the list and read operations in
//! `listings.rs`.

mod activation;
mod distribution;
mod lifecycle;
mod listings;

use serde_json::{Map, Value, json};

use super::api::{ApiError, ApiResult, Call, iso8601, paginate};
use super::state::{
    ClientTokenAfterDelete, ClientTokenMismatch, ClientTokenRecord, Grant, License, State,
};

pub(crate) use distribution::{redistribute_all, seed_grant};
pub(crate) use lifecycle::{complete_workflow, finish_pending_deletes};

/// The operations this module answers.
pub(crate) const OPERATIONS: [&str; 15] = [
    "ListReceivedLicenses",
    "ListReceivedLicensesForOrganization",
    "GetLicense",
    "CreateGrant",
    "CreateGrantVersion",
    "GetGrant",
    "DeleteGrant",
    "AcceptGrant",
    "RejectGrant",
    "ListDistributedGrants",
    "ListReceivedGrants",
    "ListReceivedGrantsForOrganization",
    "GetServiceSettings",
    "ListTagsForResource",
    "UpdateServiceSettings",
];

const GRANT_STATUSES: [&str; 9] = [
    "PENDING_WORKFLOW",
    "PENDING_ACCEPT",
    "REJECTED",
    "ACTIVE",
    "FAILED_WORKFLOW",
    "DELETED",
    "PENDING_DELETE",
    "DISABLED",
    "WORKFLOW_COMPLETED",
];

const MARKETPLACE_TRUSTED_ACCESS: &str = "license-management.marketplace.amazonaws.com";
const LICENSE_MANAGER_PRINCIPAL: &str = "license-manager.amazonaws.com";

fn invalid_parameter(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "InvalidParameterValueException", message)
}

/// Answers one License Manager call.
pub(crate) fn handle(state: &mut State, call: &Call<'_>) -> ApiResult {
    match call.operation {
        "GetServiceSettings" => Ok(service_settings(state)),
        "UpdateServiceSettings" => update_service_settings(state, call),
        "ListReceivedLicenses" => listings::list_received_licenses(state, call),
        "ListReceivedLicensesForOrganization" => {
            listings::list_received_licenses_for_organization(state, call)
        }
        "GetLicense" => listings::get_license(state, call),
        "CreateGrant" => {
            lifecycle::advance_pending_deletes(state);
            idempotent(state, call, lifecycle::create_grant)
        }
        "CreateGrantVersion" => {
            lifecycle::advance_pending_deletes(state);
            idempotent(state, call, activation::create_grant_version)
        }
        "GetGrant" => listings::get_grant(state, call),
        "DeleteGrant" => lifecycle::delete_grant(state, call),
        "ListTagsForResource" => listings::list_tags_for_resource(state, call),
        "AcceptGrant" => lifecycle::respond_to_grant(state, call, true),
        "RejectGrant" => lifecycle::respond_to_grant(state, call, false),
        "ListDistributedGrants" => listings::list_distributed_grants(state, call),
        "ListReceivedGrants" => listings::list_received_grants(state, call),
        "ListReceivedGrantsForOrganization" => {
            listings::list_received_grants_for_organization(state, call)
        }
        other => Err(ApiError::new(
            400,
            "UnknownOperationException",
            format!("operation `{other}` is not emulated by the sandbox"),
        )),
    }
}

fn license_field<'a>(
    state: &'a State,
    grant: &Grant,
    field: impl Fn(&'a License) -> &'a String,
) -> Option<&'a String> {
    state.licenses.get(&grant.license_arn).map(field)
}

fn listed(state: &State, grant: &Grant, arns: Option<&[String]>) -> bool {
    (state.settings.list_deleted_grants || grant.status != "DELETED")
        && arns.is_none_or(|arns| arns.is_empty() || arns.contains(&grant.arn))
}

fn require_org_admin(state: &State, caller: &str) -> Result<(), ApiError> {
    let delegated = state.delegated_administrators.iter().any(|admin| {
        admin.account_id == caller && admin.service_principal == LICENSE_MANAGER_PRINCIPAL
    });
    if caller == state.management_account_id() || delegated {
        Ok(())
    } else {
        Err(ApiError::access_denied(
            "only the management account or the License Manager delegated administrator may call this operation",
        ))
    }
}

fn max_results(state: &State, call: &Call<'_>) -> Result<usize, ApiError> {
    match call.input.get("MaxResults") {
        None | Some(Value::Null) => Ok(state.settings.license_manager_default_page_size),
        Some(value) => {
            let number = value.as_i64().unwrap_or(0);
            if number < 1 {
                Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{number}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
                )))
            } else if number > 100 {
                Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{number}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"
                )))
            } else {
                Ok(usize::try_from(number).unwrap_or(100))
            }
        }
    }
}

/// Filters of a list call: names exactly as the operation spells them, one value each.
fn parse_filters(call: &Call<'_>, allowed: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let Some(filters) = call.input.get("Filters").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for filter in filters {
        let name = filter
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !allowed.contains(&name) {
            return Err(invalid_parameter(format!(
                "Invalid filter name `{name}` for {}: supported filter names are {}",
                call.operation,
                allowed.join(", ")
            )));
        }
        let values: Vec<&str> = filter
            .get("Values")
            .and_then(Value::as_array)
            .map(|values| values.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if values.len() != 1 {
            return Err(invalid_parameter(format!(
                "Filter `{name}` takes exactly one value, got {}",
                values.len()
            )));
        }
        out.push((name.to_string(), values[0].to_string()));
    }
    Ok(out)
}

fn grant_page(state: &State, call: &Call<'_>, grants: &[&Grant]) -> ApiResult {
    let size = max_results(state, call)?;
    let page = paginate(grants, call.string("NextToken"), size, 0)
        .ok_or_else(|| invalid_parameter("Invalid NextToken"))?;
    let mut out = Map::new();
    out.insert(
        "Grants".to_string(),
        Value::Array(page.items.iter().map(|grant| grant_json(grant)).collect()),
    );
    if let Some(next) = page.next_token {
        out.insert("NextToken".to_string(), Value::String(next));
    }
    Ok(Value::Object(out))
}

fn parent_arn(grant: &Grant) -> String {
    grant
        .parent_grant
        .clone()
        .unwrap_or_else(|| grant.license_arn.clone())
}

/// A grant in the wire shape (every member the model marks required is present).
pub(crate) fn grant_json(grant: &Grant) -> Value {
    let mut out = json!({
        "GrantArn": grant.arn,
        "GrantName": grant.name,
        "ParentArn": parent_arn(grant),
        "LicenseArn": grant.license_arn,
        "GranteePrincipalArn": grant.principal,
        "HomeRegion": grant.home_region,
        "GrantStatus": grant.status,
        "Version": grant.version.to_string(),
        "GrantedOperations": grant.operations,
    });
    if let Some(reason) = &grant.status_reason {
        out["StatusReason"] = json!(reason);
    }
    if let Some(behavior) = &grant.activation_override_behavior {
        out["Options"] = json!({"ActivationOverrideBehavior": behavior});
    }
    out
}

fn license_json(license: &License) -> Value {
    let mut validity = json!({"Begin": iso8601(license.validity_begin)});
    if let Some(end) = license.validity_end {
        validity["End"] = json!(iso8601(end));
    }
    json!({
        "LicenseArn": license.arn,
        "LicenseName": license.name,
        "ProductName": license.product_name,
        "ProductSKU": license.product_sku,
        "Issuer": {"Name": license.issuer_name, "KeyFingerprint": license.key_fingerprint},
        "HomeRegion": "us-east-1",
        "Status": license.status,
        "Validity": validity,
        "Beneficiary": license.beneficiary,
        "Entitlements": [{"Name": "AWS::Marketplace::Usage", "Unit": "None", "Overage": false, "AllowCheckIn": false}],
        "LicenseMetadata": [],
        "CreateTime": iso8601(license.create_time),
        "Version": "1",
    })
}

/// Grants (not deleted, rejected or failed) through which `account` holds `license_arn`.
fn received_grant<'a>(state: &'a State, account: &str, license_arn: &str) -> Option<&'a Grant> {
    state.grants.values().find(|grant| {
        grant.license_arn == license_arn
            && grant.grantee_account_id.as_deref() == Some(account)
            && matches!(
                grant.status.as_str(),
                "ACTIVE" | "DISABLED" | "PENDING_ACCEPT"
            )
    })
}

/// Runs a ClientToken-carrying operation once per (caller, operation, token). A replay answers
/// the grant's current status and version. With `client_token_after_delete = forgotten`, a
/// CreateGrant token whose grant is DELETED is forgotten: the call creates a new grant (and the
/// token then answers that one).
fn idempotent(
    state: &mut State,
    call: &Call<'_>,
    operation: fn(&mut State, &Call<'_>) -> ApiResult,
) -> ApiResult {
    let token = call.required("ClientToken")?;
    if token.len() > 64 {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'clientToken' failed to satisfy constraint: Member must have length less than or equal to 64",
        ));
    }
    let key = format!("{}:{}:{token}", call.operation, call.caller);
    let mut parameters = call.input.clone();
    if let Value::Object(map) = &mut parameters {
        map.remove("ClientToken");
    }
    let fingerprint = serde_json::to_string(&parameters).unwrap_or_default();
    let forgotten = |state: &State, record: &ClientTokenRecord| {
        call.operation == "CreateGrant"
            && state.settings.client_token_after_delete == ClientTokenAfterDelete::Forgotten
            && record
                .response
                .get("GrantArn")
                .and_then(Value::as_str)
                .and_then(|arn| state.grants.get(arn))
                .is_some_and(|grant| grant.status == "DELETED")
    };
    if let Some(record) = state
        .client_tokens
        .get(&key)
        .filter(|record| !forgotten(state, record))
    {
        if record.fingerprint != fingerprint
            && state.settings.client_token_mismatch == ClientTokenMismatch::Reject
        {
            return Err(ApiError::validation(format!(
                "ClientToken `{token}` was already used with different parameters"
            )));
        }
        let arn = record
            .response
            .get("GrantArn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Ok(match state.grants.get(arn) {
            Some(grant) => {
                json!({"GrantArn": grant.arn, "Status": grant.status, "Version": grant.version.to_string()})
            }
            None => record.response.clone(),
        });
    }
    let response = operation(state, call)?;
    state.client_tokens.insert(
        key,
        ClientTokenRecord {
            fingerprint,
            response: response.clone(),
        },
    );
    Ok(response)
}

/// A grant the caller may see (as grantor or grantee).
fn visible_grant<'a>(state: &'a State, caller: &str, arn: &str) -> Result<&'a Grant, ApiError> {
    state
        .grants
        .get(arn)
        .filter(|grant| {
            grant.grantor_account_id == caller
                || grant.grantee_account_id.as_deref() == Some(caller)
        })
        .ok_or_else(|| invalid_parameter(format!("Grant `{arn}` is not found")))
}

/// GetServiceSettings' answer.
fn service_settings(state: &State) -> Value {
    let settings = &state.license_manager;
    let mut out = json!({
        "OrganizationConfiguration": {"EnableIntegration": settings.enable_integration},
        "EnableCrossAccountsDiscovery": settings.enable_cross_accounts_discovery,
    });
    if let Some(bucket) = &settings.s3_bucket_arn {
        out["S3BucketArn"] = json!(bucket);
    }
    if let Some(topic) = &settings.sns_topic_arn {
        out["SnsTopicArn"] = json!(topic);
    }
    if settings.enable_integration {
        out["LicenseManagerResourceShareArn"] = json!(state.arn(
            "ram",
            state.management_account_id(),
            "resource-share/license-manager-sandbox"
        ));
    }
    out
}

/// UpdateServiceSettings: the management account only. Linking the organisation
/// (`OrganizationConfiguration.EnableIntegration`) needs all features.
fn update_service_settings(state: &mut State, call: &Call<'_>) -> ApiResult {
    if call.caller != state.management_account_id() {
        return Err(ApiError::access_denied(
            "only the management account may update License Manager's service settings",
        ));
    }
    let integration = match call.input.get("OrganizationConfiguration") {
        None | Some(Value::Null) => None,
        Some(configuration) => Some(
            configuration
                .get("EnableIntegration")
                .and_then(Value::as_bool)
                .ok_or_else(|| ApiError::missing("OrganizationConfiguration.EnableIntegration"))?,
        ),
    };
    if integration == Some(true) && state.organization.feature_set != "ALL" {
        return Err(invalid_parameter(
            "Linking AWS Organizations accounts needs an organization with all features enabled",
        ));
    }
    for member in ["S3BucketArn", "SnsTopicArn"] {
        if let Some(arn) = call.string(member)
            && !arn.starts_with("arn:")
        {
            return Err(invalid_parameter(format!(
                "`{arn}` is not a valid {member}"
            )));
        }
    }
    let settings = &mut state.license_manager;
    if let Some(enable) = integration {
        settings.enable_integration = enable;
    }
    if let Some(discovery) = call
        .input
        .get("EnableCrossAccountsDiscovery")
        .and_then(Value::as_bool)
    {
        settings.enable_cross_accounts_discovery = discovery;
    }
    if let Some(bucket) = call.string("S3BucketArn") {
        settings.s3_bucket_arn = Some(bucket.to_string());
    }
    if let Some(topic) = call.string("SnsTopicArn") {
        settings.sns_topic_arn = Some(topic.to_string());
    }
    Ok(json!({}))
}
