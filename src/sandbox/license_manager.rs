//! AWS License Manager (awsJson1_1, `AWSLicenseManager`): licenses received from Marketplace and
//! the grant lifecycle. PENDING_WORKFLOW, then DISABLED (linked all-features organisation) or
//! PENDING_ACCEPT; org and OU grants fan out into one grant per covered account (also for
//! accounts that join later); CreateGrantVersion(ACTIVE) on a parent activates its children;
//! ClientToken idempotency; DeleteGrant with the current Version; validation as documented.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::api::{ApiError, ApiResult, Call, iso8601, now_millis, paginate};
use super::seed::ALL_GRANT_OPERATIONS;
use super::state::{
    ClientTokenMismatch, ClientTokenRecord, DuplicateGrant, Grant, License, OuGrantScope, State,
};

/// The operations this module answers.
pub(crate) const OPERATIONS: [&str; 14] = [
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
        "GetServiceSettings" => Ok(json!({
            "OrganizationConfiguration": {"EnableIntegration": state.license_manager.enable_integration},
            "EnableCrossAccountsDiscovery": state.license_manager.enable_cross_accounts_discovery,
        })),
        "ListReceivedLicenses" => list_received_licenses(state, call),
        "ListReceivedLicensesForOrganization" => {
            list_received_licenses_for_organization(state, call)
        }
        "GetLicense" => get_license(state, call),
        "CreateGrant" => idempotent(state, call, create_grant),
        "CreateGrantVersion" => idempotent(state, call, create_grant_version),
        "GetGrant" => {
            advance_workflows(state);
            let arn = call.required("GrantArn")?;
            let grant = visible_grant(state, call.caller, arn)?;
            Ok(json!({"Grant": grant_json(grant)}))
        }
        "DeleteGrant" => delete_grant(state, call),
        "ListTagsForResource" => list_tags_for_resource(state, call),
        "AcceptGrant" => respond_to_grant(state, call, true),
        "RejectGrant" => respond_to_grant(state, call, false),
        "ListDistributedGrants" => {
            advance_workflows(state);
            let filters = parse_filters(
                call,
                &[
                    "LicenseArn",
                    "GrantStatus",
                    "GranteePrincipalARN",
                    "ProductSKU",
                    "LicenseIssuerName",
                ],
            )?;
            let arns = call.strings("GrantArns");
            let grants: Vec<&Grant> = state
                .grants
                .values()
                .filter(|grant| {
                    grant.parent_grant.is_none() && grant.grantor_account_id == call.caller
                })
                .filter(|grant| listed(state, grant, arns.as_deref()))
                .filter(|grant| {
                    filters.iter().all(|(name, value)| match name.as_str() {
                        "LicenseArn" => &grant.license_arn == value,
                        "GrantStatus" => &grant.status == value,
                        "GranteePrincipalARN" => &grant.principal == value,
                        "ProductSKU" => {
                            license_field(state, grant, |license| &license.product_sku)
                                == Some(value)
                        }
                        _ => {
                            license_field(state, grant, |license| &license.issuer_name)
                                == Some(value)
                        }
                    })
                })
                .collect();
            grant_page(state, call, &grants)
        }
        "ListReceivedGrants" => {
            advance_workflows(state);
            let filters = parse_filters(
                call,
                &[
                    "ProductSKU",
                    "LicenseIssuerName",
                    "LicenseArn",
                    "GrantStatus",
                    "GranterAccountId",
                ],
            )?;
            let arns = call.strings("GrantArns");
            let grants: Vec<&Grant> = state
                .grants
                .values()
                .filter(|grant| grant.grantee_account_id.as_deref() == Some(call.caller))
                .filter(|grant| grant.status != "PENDING_WORKFLOW")
                .filter(|grant| listed(state, grant, arns.as_deref()))
                .filter(|grant| {
                    filters.iter().all(|(name, value)| match name.as_str() {
                        "LicenseArn" => &grant.license_arn == value,
                        "GrantStatus" => &grant.status == value,
                        "GranterAccountId" => &grant.grantor_account_id == value,
                        "ProductSKU" => {
                            license_field(state, grant, |license| &license.product_sku)
                                == Some(value)
                        }
                        _ => {
                            license_field(state, grant, |license| &license.issuer_name)
                                == Some(value)
                        }
                    })
                })
                .collect();
            grant_page(state, call, &grants)
        }
        "ListReceivedGrantsForOrganization" => {
            advance_workflows(state);
            let license_arn = call.required("LicenseArn")?.to_string();
            require_org_admin(state, call.caller)?;
            if !state
                .service_access
                .contains_key(MARKETPLACE_TRUSTED_ACCESS)
            {
                return Err(ApiError::access_denied(format!(
                    "trusted access for `{MARKETPLACE_TRUSTED_ACCESS}` is not enabled in AWS Organizations"
                )));
            }
            let filters = parse_filters(call, &["ParentArn", "GranteePrincipalArn"])?;
            let grants: Vec<&Grant> = state
                .grants
                .values()
                .filter(|grant| {
                    grant.license_arn == license_arn && grant.grantee_account_id.is_some()
                })
                .filter(|grant| grant.status != "PENDING_WORKFLOW")
                .filter(|grant| listed(state, grant, None))
                .filter(|grant| {
                    filters.iter().all(|(name, value)| match name.as_str() {
                        "ParentArn" => &parent_arn(grant) == value,
                        _ => &grant.principal == value,
                    })
                })
                .collect();
            grant_page(state, call, &grants)
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

fn list_received_licenses(state: &mut State, call: &Call<'_>) -> ApiResult {
    advance_workflows(state);
    let filters = parse_filters(
        call,
        &[
            "ProductSKU",
            "Status",
            "Fingerprint",
            "IssuerName",
            "Beneficiary",
        ],
    )?;
    let arns = call.strings("LicenseArns").unwrap_or_default();
    let mut licenses = Vec::new();
    for license in state.licenses.values() {
        if !arns.is_empty() && !arns.contains(&license.arn) {
            continue;
        }
        let received = if license.holder_account_id == call.caller {
            Some(("ACTIVE".to_string(), license.allowed_operations.clone()))
        } else {
            received_grant(state, call.caller, &license.arn)
                .map(|grant| (grant.status.clone(), grant.operations.clone()))
        };
        let Some((received_status, operations)) = received else {
            continue;
        };
        let matches = filters.iter().all(|(name, value)| match name.as_str() {
            "ProductSKU" => &license.product_sku == value,
            "Status" => &license.status == value,
            "Fingerprint" => &license.key_fingerprint == value,
            "IssuerName" => &license.issuer_name == value,
            _ => &license.beneficiary == value,
        });
        if !matches {
            continue;
        }
        let mut entry = license_json(license);
        entry["ReceivedMetadata"] = json!({
            "ReceivedStatus": received_status,
            "AllowedOperations": operations,
        });
        licenses.push(entry);
    }
    let size = max_results(state, call)?;
    let page = paginate(&licenses, call.string("NextToken"), size, 0)
        .ok_or_else(|| invalid_parameter("Invalid NextToken"))?;
    let mut out = json!({"Licenses": page.items});
    if let Some(next) = page.next_token {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

/// Every license an account of the organisation holds as its own (the management account's
/// subscriptions and members' own subscriptions), each listed once as its holder received it.
/// [assumed]: AWS documents only "the licenses received for all accounts in the organization";
/// that a member's own Marketplace subscription appears with the member as Beneficiary, and that
/// granted copies of a license are not listed again, is this emulator's reading.
fn list_received_licenses_for_organization(state: &mut State, call: &Call<'_>) -> ApiResult {
    require_org_admin(state, call.caller)?;
    if !state
        .service_access
        .contains_key(MARKETPLACE_TRUSTED_ACCESS)
    {
        return Err(ApiError::access_denied(format!(
            "trusted access for `{MARKETPLACE_TRUSTED_ACCESS}` is not enabled in AWS Organizations"
        )));
    }
    let filters = parse_filters(call, &["Beneficiary", "ProductSKU"])?;
    let licenses: Vec<Value> = state
        .licenses
        .values()
        .filter(|license| state.accounts.contains_key(&license.holder_account_id))
        .filter(|license| {
            filters.iter().all(|(name, value)| match name.as_str() {
                "ProductSKU" => &license.product_sku == value,
                _ => &license.beneficiary == value,
            })
        })
        .map(|license| {
            let mut entry = license_json(license);
            entry["ReceivedMetadata"] = json!({
                "ReceivedStatus": "ACTIVE",
                "AllowedOperations": license.allowed_operations,
            });
            entry
        })
        .collect();
    let size = max_results(state, call)?;
    let page = paginate(&licenses, call.string("NextToken"), size, 0)
        .ok_or_else(|| invalid_parameter("Invalid NextToken"))?;
    let mut out = json!({"Licenses": page.items});
    if let Some(next) = page.next_token {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

/// Tags of a grant (set by CreateGrant) or a license (none in the emulator), for the grantor.
fn list_tags_for_resource(state: &mut State, call: &Call<'_>) -> ApiResult {
    let arn = call.required("ResourceArn")?;
    let tags = if let Some(grant) = state
        .grants
        .get(arn)
        .filter(|grant| grant.grantor_account_id == call.caller)
    {
        grant.tags.clone()
    } else if state.licenses.contains_key(arn) {
        BTreeMap::new()
    } else {
        return Err(invalid_parameter(format!("Resource `{arn}` is not found")));
    };
    let tags: Vec<Value> = tags
        .iter()
        .map(|(key, value)| json!({"Key": key, "Value": value}))
        .collect();
    Ok(json!({"Tags": tags}))
}

fn get_license(state: &mut State, call: &Call<'_>) -> ApiResult {
    let arn = call.required("LicenseArn")?;
    let license = state
        .licenses
        .get(arn)
        .filter(|license| {
            license.holder_account_id == call.caller
                || received_grant(state, call.caller, arn).is_some()
        })
        .ok_or_else(|| invalid_parameter(format!("License `{arn}` is not found")))?;
    Ok(json!({"License": license_json(license)}))
}

/// Runs a ClientToken-carrying operation once per (caller, operation, token).
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
    if let Some(record) = state.client_tokens.get(&key) {
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

/// A parsed grant principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    Organization,
    OrganizationalUnit(String),
    Account(String),
}

/// Parses a principal ARN against the organisation.
pub(crate) fn parse_principal(state: &State, arn: &str) -> Result<Principal, ApiError> {
    if arn == state.organization_arn() {
        return Ok(Principal::Organization);
    }
    let ou_prefix = format!(
        "arn:aws:organizations::{}:ou/{}/",
        state.management_account_id(),
        state.organization.id
    );
    if let Some(ou) = arn.strip_prefix(&ou_prefix) {
        if state.ous.contains_key(ou) {
            return Ok(Principal::OrganizationalUnit(ou.to_string()));
        }
        return Err(invalid_parameter(format!(
            "Principal `{arn}`: organizational unit not found"
        )));
    }
    if let Some(account) = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.strip_suffix(":root"))
        && account.len() == 12
        && account.bytes().all(|byte| byte.is_ascii_digit())
    {
        return Ok(Principal::Account(account.to_string()));
    }
    Err(invalid_parameter(format!(
        "Principal `{arn}` is not a valid organization, organizational unit or account principal"
    )))
}

fn account_principal(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

fn check_operations(operations: &[String], license: &License) -> Result<(), ApiError> {
    if operations.is_empty() || operations.len() > ALL_GRANT_OPERATIONS.len() {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'allowedOperations' failed to satisfy constraint: Member must have length between 1 and 7",
        ));
    }
    for operation in operations {
        if !ALL_GRANT_OPERATIONS.contains(&operation.as_str()) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '[{operation}]' at 'allowedOperations' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                ALL_GRANT_OPERATIONS.join(", ")
            )));
        }
        if !license.allowed_operations.contains(operation) {
            return Err(invalid_parameter(format!(
                "AllowedOperations: `{operation}` is not allowed by the license (allowed: {})",
                license.allowed_operations.join(", ")
            )));
        }
    }
    Ok(())
}

fn create_grant(state: &mut State, call: &Call<'_>) -> ApiResult {
    let name = call.required("GrantName")?.to_string();
    let license_arn = call.required("LicenseArn")?.to_string();
    let home_region = call.required("HomeRegion")?.to_string();
    let principals = call
        .strings("Principals")
        .ok_or_else(|| ApiError::missing("Principals"))?;
    let operations = call
        .strings("AllowedOperations")
        .ok_or_else(|| ApiError::missing("AllowedOperations"))?;
    if principals.len() != 1 {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'principals' failed to satisfy constraint: Member must have length between 1 and 1 (got {})",
            principals.len()
        )));
    }
    if name.len() > 150 {
        return Err(ApiError::validation(
            "GrantName must be at most 150 characters",
        ));
    }
    let license = state
        .licenses
        .get(&license_arn)
        .ok_or_else(|| invalid_parameter(format!("License `{license_arn}` is not found")))?
        .clone();
    if license.holder_account_id != call.caller {
        let delegated = state.delegated_administrators.iter().any(|admin| {
            admin.account_id == call.caller && admin.service_principal == LICENSE_MANAGER_PRINCIPAL
        });
        if !delegated {
            return Err(ApiError::access_denied(format!(
                "account `{}` may not create grants of license `{license_arn}`",
                call.caller
            )));
        }
    }
    if license.status != "AVAILABLE" {
        return Err(ApiError::validation(format!(
            "License `{license_arn}` is {}: grants can only be created from an AVAILABLE license",
            license.status
        )));
    }
    if home_region != "us-east-1" {
        return Err(invalid_parameter(format!(
            "HomeRegion `{home_region}` does not match the license's home region us-east-1"
        )));
    }
    check_operations(&operations, &license)?;
    let principal_arn = principals[0].clone();
    match parse_principal(state, &principal_arn)? {
        Principal::Account(account) if account == call.caller => {
            return Err(ApiError::validation(
                "A grant cannot name the grantor's own account",
            ));
        }
        Principal::OrganizationalUnit(ou) if !state.settings.allow_nested_ou_principal => {
            let nested = state
                .ous
                .get(&ou)
                .is_some_and(|unit| unit.parent_id != state.organization.root_id);
            if nested {
                return Err(ApiError::validation(format!(
                    "Principal `{principal_arn}` is a nested organizational unit; only OUs directly under the root may be named"
                )));
            }
        }
        _ => {}
    }
    let live: Vec<&Grant> = state
        .grants
        .values()
        .filter(|grant| {
            grant.parent_grant.is_none()
                && grant.license_arn == license_arn
                && grant.status != "DELETED"
        })
        .collect();
    if live.len() >= state.settings.max_grants_per_license {
        return Err(ApiError::new(
            400,
            "ResourceLimitExceededException",
            format!(
                "License `{license_arn}` already has {} grants, the maximum",
                state.settings.max_grants_per_license
            ),
        ));
    }
    if state.settings.duplicate_grant == DuplicateGrant::Reject
        && live.iter().any(|grant| {
            grant.principal == principal_arn
                && !matches!(grant.status.as_str(), "REJECTED" | "FAILED_WORKFLOW")
        })
    {
        return Err(ApiError::validation(format!(
            "A grant of license `{license_arn}` for principal `{principal_arn}` already exists"
        )));
    }
    let tags: BTreeMap<String, String> = call
        .input
        .get("Tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|tag| {
                    Some((
                        tag.get("Key")?.as_str()?.to_string(),
                        tag.get("Value")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let arn = new_grant_arn(state, call.caller);
    let grantee = match parse_principal(state, &principal_arn)? {
        Principal::Account(account) => Some(account),
        _ => None,
    };
    let grant = Grant {
        arn: arn.clone(),
        name,
        license_arn,
        parent_grant: None,
        grantor_account_id: call.caller.to_string(),
        principal: principal_arn,
        grantee_account_id: grantee,
        home_region,
        status: "PENDING_WORKFLOW".to_string(),
        status_reason: None,
        version: 1,
        operations,
        activation_override_behavior: None,
        tags,
        workflow_reads_left: state.settings.pending_workflow_reads,
        created_at_ms: now_millis(),
    };
    state.grants.insert(arn.clone(), grant);
    if state.settings.pending_workflow_reads == 0
        && state.settings.pending_workflow_millis.is_none()
    {
        complete_workflow(state, &arn);
    }
    let status = state
        .grants
        .get(&arn)
        .map(|grant| grant.status.clone())
        .unwrap_or_default();
    Ok(json!({"GrantArn": arn, "Status": status, "Version": "1"}))
}

fn new_grant_arn(state: &mut State, grantor: &str) -> String {
    let suffix = state.fresh_hex(32);
    format!("arn:aws:license-manager::{grantor}:grant:g-{suffix}")
}

/// Moves grants along PENDING_WORKFLOW: called once per License Manager read operation.
pub(crate) fn advance_workflows(state: &mut State) {
    let now = now_millis();
    let millis = state.settings.pending_workflow_millis;
    let pending: Vec<String> = state
        .grants
        .values()
        .filter(|grant| grant.status == "PENDING_WORKFLOW" && grant.parent_grant.is_none())
        .map(|grant| grant.arn.clone())
        .collect();
    for arn in pending {
        let Some(grant) = state.grants.get_mut(&arn) else {
            continue;
        };
        let time_done = millis.is_none_or(|millis| {
            now >= grant
                .created_at_ms
                .saturating_add(i64::try_from(millis).unwrap_or(i64::MAX))
        });
        if grant.workflow_reads_left > 0 {
            grant.workflow_reads_left -= 1;
        } else if time_done {
            complete_workflow(state, &arn);
        }
    }
}

/// Ends PENDING_WORKFLOW for one grant: where it lands depends on the principal and on whether
/// the organisation auto-accepts grants.
pub(crate) fn complete_workflow(state: &mut State, arn: &str) {
    let auto_accepted = state.grants_auto_accepted();
    let Some(grant) = state.grants.get(arn) else {
        return;
    };
    let principal = parse_principal(state, &grant.principal).ok();
    let in_org = |account: &str| state.accounts.contains_key(account);
    let (status, reason) = match principal {
        Some(Principal::Account(account)) => {
            if auto_accepted && in_org(&account) {
                ("DISABLED", None)
            } else {
                ("PENDING_ACCEPT", None)
            }
        }
        Some(_) if !auto_accepted => (
            "FAILED_WORKFLOW",
            Some(
                "License Manager is not linked to AWS Organizations with all features enabled"
                    .to_string(),
            ),
        ),
        Some(_) => ("WORKFLOW_COMPLETED", None),
        None => (
            "FAILED_WORKFLOW",
            Some("the principal no longer exists".to_string()),
        ),
    };
    if let Some(grant) = state.grants.get_mut(arn) {
        grant.status = status.to_string();
        grant.status_reason = reason;
    }
    if status == "WORKFLOW_COMPLETED" {
        distribute(state, arn);
    }
}

/// Accounts an org or OU principal covers now (ACTIVE accounts, never the grantor), and the set
/// of accounts inside its scope whatever their state.
fn coverage(
    state: &State,
    principal: &Principal,
    grantor: &str,
) -> (Vec<String>, BTreeSet<String>) {
    let scope: BTreeSet<String> = match principal {
        Principal::Organization => state.accounts.keys().cloned().collect(),
        Principal::OrganizationalUnit(ou) => match state.settings.ou_grant_scope {
            OuGrantScope::DirectChildren => state
                .accounts
                .values()
                .filter(|account| &account.parent_id == ou)
                .map(|account| account.id.clone())
                .collect(),
            OuGrantScope::Subtree => {
                let mut units = BTreeSet::from([ou.clone()]);
                loop {
                    let before = units.len();
                    for unit in state.ous.values() {
                        if units.contains(&unit.parent_id) {
                            units.insert(unit.id.clone());
                        }
                    }
                    if units.len() == before {
                        break;
                    }
                }
                state
                    .accounts
                    .values()
                    .filter(|account| units.contains(&account.parent_id))
                    .map(|account| account.id.clone())
                    .collect()
            }
        },
        Principal::Account(account) => BTreeSet::from([account.clone()]),
    };
    let covered = scope
        .iter()
        .filter(|account| account.as_str() != grantor)
        .filter(|account| {
            state
                .accounts
                .get(*account)
                .is_some_and(|entry| entry.state == "ACTIVE")
        })
        .cloned()
        .collect();
    (covered, scope)
}

/// Creates the per-account grants of an org/OU grant for accounts not yet covered, and deletes
/// those of accounts that left its scope.
fn distribute(state: &mut State, parent_arn: &str) {
    let Some(parent) = state.grants.get(parent_arn).cloned() else {
        return;
    };
    let Ok(principal) = parse_principal(state, &parent.principal) else {
        return;
    };
    let (covered, scope) = coverage(state, &principal, &parent.grantor_account_id);
    let mut existing: BTreeMap<String, String> = BTreeMap::new();
    for grant in state.grants.values() {
        if grant.parent_grant.as_deref() == Some(parent_arn)
            && let Some(account) = &grant.grantee_account_id
        {
            existing.insert(account.clone(), grant.arn.clone());
        }
    }
    let child_status = if parent.status == "ACTIVE" {
        "ACTIVE"
    } else {
        "DISABLED"
    };
    for account in covered {
        if existing.contains_key(&account) {
            continue;
        }
        let arn = new_grant_arn(state, &parent.grantor_account_id);
        state.grants.insert(
            arn.clone(),
            Grant {
                arn,
                name: parent.name.clone(),
                license_arn: parent.license_arn.clone(),
                parent_grant: Some(parent_arn.to_string()),
                grantor_account_id: parent.grantor_account_id.clone(),
                principal: account_principal(&account),
                grantee_account_id: Some(account),
                home_region: parent.home_region.clone(),
                status: child_status.to_string(),
                status_reason: None,
                version: 1,
                operations: parent.operations.clone(),
                activation_override_behavior: parent.activation_override_behavior.clone(),
                tags: BTreeMap::new(),
                workflow_reads_left: 0,
                created_at_ms: parent.created_at_ms,
            },
        );
    }
    for (account, arn) in existing {
        if !scope.contains(&account)
            && let Some(child) = state.grants.get_mut(&arn)
        {
            child.status = "DELETED".to_string();
            child.status_reason = Some("the account left the principal's scope".to_string());
        }
    }
}

/// Re-runs distribution of every settled org/OU grant: after an account joins, moves or leaves.
pub(crate) fn redistribute_all(state: &mut State) {
    let parents: Vec<String> = state
        .grants
        .values()
        .filter(|grant| {
            grant.parent_grant.is_none()
                && grant.grantee_account_id.is_none()
                && matches!(
                    grant.status.as_str(),
                    "WORKFLOW_COMPLETED" | "ACTIVE" | "DISABLED"
                )
        })
        .map(|grant| grant.arn.clone())
        .collect();
    for arn in parents {
        distribute(state, &arn);
    }
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

fn create_grant_version(state: &mut State, call: &Call<'_>) -> ApiResult {
    let arn = call.required("GrantArn")?.to_string();
    let grant = visible_grant(state, call.caller, &arn)?.clone();
    let is_grantor = grant.grantor_account_id == call.caller && grant.parent_grant.is_none();
    let status = call.string("Status").map(str::to_string);
    let reason = call.string("StatusReason").map(str::to_string);
    let behavior = call
        .input
        .get("Options")
        .and_then(|options| options.get("ActivationOverrideBehavior"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(source) = call.string("SourceVersion")
        && source != grant.version.to_string()
    {
        return Err(ApiError::validation(format!(
            "The source version provided doesn't match the latest version ({}) of grant `{arn}`",
            grant.version
        )));
    }
    if reason
        .as_ref()
        .is_some_and(|reason| reason.chars().count() > 400)
    {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'statusReason' failed to satisfy constraint: Member must have length less than or equal to 400",
        ));
    }
    if let Some(status) = &status {
        if !GRANT_STATUSES.contains(&status.as_str()) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                GRANT_STATUSES.join(", ")
            )));
        }
        if status != "ACTIVE" && status != "DISABLED" {
            return Err(ApiError::validation(format!(
                "Status `{status}` cannot be set with CreateGrantVersion; only ACTIVE or DISABLED"
            )));
        }
    }
    let license = state.licenses.get(&grant.license_arn).cloned();
    if let Some(behavior) = &behavior {
        if !matches!(
            behavior.as_str(),
            "DISTRIBUTED_GRANTS_ONLY" | "ALL_GRANTS_PERMITTED_BY_ISSUER"
        ) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{behavior}' at 'options.activationOverrideBehavior' failed to satisfy constraint: Member must satisfy enum value set: [DISTRIBUTED_GRANTS_ONLY, ALL_GRANTS_PERMITTED_BY_ISSUER]"
            )));
        }
        if status.as_deref() != Some("ACTIVE") {
            return Err(ApiError::validation(
                "Options.ActivationOverrideBehavior is only valid with Status ACTIVE",
            ));
        }
        if license
            .as_ref()
            .is_none_or(|license| license.issuer_name != "AWS/Marketplace")
        {
            return Err(ApiError::validation(
                "Options.ActivationOverrideBehavior is only valid for AWS Marketplace licenses",
            ));
        }
    }
    let new_name = call.string("GrantName").map(str::to_string);
    let new_operations = call.strings("AllowedOperations");
    if !is_grantor && (new_name.is_some() || new_operations.is_some()) {
        return Err(ApiError::access_denied(
            "only the grantor may change a grant's name or allowed operations",
        ));
    }
    if let (Some(operations), Some(license)) = (&new_operations, &license) {
        check_operations(operations, license)?;
    }
    if let Some(status) = &status {
        let allowed_from: &[&str] = if status == "ACTIVE" {
            &["DISABLED", "ACTIVE", "WORKFLOW_COMPLETED"]
        } else {
            &["ACTIVE", "DISABLED", "WORKFLOW_COMPLETED"]
        };
        if !allowed_from.contains(&grant.status.as_str()) {
            return Err(ApiError::validation(format!(
                "Grant `{arn}` is {}: it cannot be set to {status}",
                grant.status
            )));
        }
    }
    let Some(entry) = state.grants.get_mut(&arn) else {
        return Err(invalid_parameter(format!("Grant `{arn}` is not found")));
    };
    entry.version += 1;
    if let Some(name) = new_name {
        entry.name = name;
    }
    if let Some(operations) = new_operations {
        entry.operations = operations;
    }
    if reason.is_some() {
        entry.status_reason = reason;
    }
    if behavior.is_some() {
        entry.activation_override_behavior = behavior.clone();
    }
    if let Some(status) = &status {
        entry.status = status.clone();
    }
    let response =
        json!({"GrantArn": arn, "Status": entry.status, "Version": entry.version.to_string()});
    let is_parent = entry.grantee_account_id.is_none();
    if let Some(status) = &status {
        let mut activated: Vec<String> = Vec::new();
        if is_parent {
            for child in state.grants.values_mut() {
                if child.parent_grant.as_deref() == Some(arn.as_str())
                    && matches!(child.status.as_str(), "ACTIVE" | "DISABLED")
                    && &child.status != status
                {
                    child.status = status.clone();
                    child.version += 1;
                    if status == "ACTIVE"
                        && let Some(account) = &child.grantee_account_id
                    {
                        activated.push(account.clone());
                    }
                }
            }
        } else if status == "ACTIVE"
            && let Some(account) = &grant.grantee_account_id
        {
            activated.push(account.clone());
        }
        if behavior.as_deref() == Some("ALL_GRANTS_PERMITTED_BY_ISSUER") {
            disable_other_grants(state, &arn, &activated, &grant.license_arn);
        }
    }
    Ok(response)
}

/// ALL_GRANTS_PERMITTED_BY_ISSUER: the activated accounts' other ACTIVE grants of the same
/// product are disabled.
fn disable_other_grants(state: &mut State, arn: &str, accounts: &[String], license_arn: &str) {
    let Some(product) = state
        .licenses
        .get(license_arn)
        .map(|license| license.product_sku.clone())
    else {
        return;
    };
    let same_product: BTreeSet<String> = state
        .licenses
        .values()
        .filter(|license| license.product_sku == product)
        .map(|license| license.arn.clone())
        .collect();
    let accounts: BTreeSet<&String> = accounts.iter().collect();
    for grant in state.grants.values_mut() {
        let ours = grant.arn == arn || grant.parent_grant.as_deref() == Some(arn);
        if !ours
            && grant.status == "ACTIVE"
            && same_product.contains(&grant.license_arn)
            && grant
                .grantee_account_id
                .as_ref()
                .is_some_and(|account| accounts.contains(account))
        {
            grant.status = "DISABLED".to_string();
            grant.status_reason = Some(
                "disabled by ActivationOverrideBehavior ALL_GRANTS_PERMITTED_BY_ISSUER".to_string(),
            );
            grant.version += 1;
        }
    }
}

fn delete_grant(state: &mut State, call: &Call<'_>) -> ApiResult {
    let arn = call.required("GrantArn")?.to_string();
    let version = call.required("Version")?.to_string();
    let grant = visible_grant(state, call.caller, &arn)?.clone();
    if grant.grantor_account_id != call.caller || grant.parent_grant.is_some() {
        return Err(ApiError::access_denied(format!(
            "Grant `{arn}` can only be deleted by its grantor (a distributed per-account grant goes with its parent)"
        )));
    }
    if version != grant.version.to_string() {
        return Err(ApiError::validation(format!(
            "The version provided doesn't match the latest version ({}) of grant `{arn}`",
            grant.version
        )));
    }
    if let Some(entry) = state.grants.get_mut(&arn) {
        entry.status = "DELETED".to_string();
        if let Some(reason) = call.string("StatusReason") {
            entry.status_reason = Some(reason.to_string());
        }
    }
    for child in state.grants.values_mut() {
        if child.parent_grant.as_deref() == Some(arn.as_str()) {
            child.status = "DELETED".to_string();
        }
    }
    Ok(json!({"GrantArn": arn, "Status": "DELETED", "Version": grant.version.to_string()}))
}

fn respond_to_grant(state: &mut State, call: &Call<'_>, accept: bool) -> ApiResult {
    let arn = call.required("GrantArn")?.to_string();
    let grant = visible_grant(state, call.caller, &arn)?.clone();
    if grant.grantee_account_id.as_deref() != Some(call.caller) {
        return Err(ApiError::access_denied(format!(
            "only the grantee account may {} grant `{arn}`",
            if accept { "accept" } else { "reject" }
        )));
    }
    let allowed: &[&str] = if accept {
        &["PENDING_ACCEPT"]
    } else {
        &["PENDING_ACCEPT", "DISABLED", "ACTIVE"]
    };
    if !allowed.contains(&grant.status.as_str()) {
        return Err(ApiError::validation(format!(
            "Grant `{arn}` is {}: it cannot be {}",
            grant.status,
            if accept { "accepted" } else { "rejected" }
        )));
    }
    let Some(entry) = state.grants.get_mut(&arn) else {
        return Err(invalid_parameter(format!("Grant `{arn}` is not found")));
    };
    entry.status = if accept { "DISABLED" } else { "REJECTED" }.to_string();
    entry.version += 1;
    Ok(json!({"GrantArn": arn, "Status": entry.status, "Version": entry.version.to_string()}))
}

/// Inserts a settled grant directly (seeds): account grants get `status`; org/OU grants get
/// `status` and are distributed with it.
pub(crate) fn seed_grant(
    state: &mut State,
    license_arn: &str,
    principal: &str,
    name: &str,
    status: &str,
    operations: &[String],
) -> String {
    let grantor = state.management_account_id().to_string();
    let arn = new_grant_arn(state, &grantor);
    let grantee = match parse_principal(state, principal) {
        Ok(Principal::Account(account)) => Some(account),
        _ => None,
    };
    let is_parent = grantee.is_none();
    state.grants.insert(
        arn.clone(),
        Grant {
            arn: arn.clone(),
            name: name.to_string(),
            license_arn: license_arn.to_string(),
            parent_grant: None,
            grantor_account_id: grantor,
            principal: principal.to_string(),
            grantee_account_id: grantee,
            home_region: "us-east-1".to_string(),
            status: status.to_string(),
            status_reason: None,
            version: 1,
            operations: operations.to_vec(),
            activation_override_behavior: None,
            tags: BTreeMap::new(),
            workflow_reads_left: 0,
            created_at_ms: 0,
        },
    );
    if is_parent {
        distribute(state, &arn);
    }
    arn
}
