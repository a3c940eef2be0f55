//! License Manager's list and read operations: GetGrant, ListDistributedGrants,
//! ListReceivedGrants(ForOrganization), ListReceivedLicenses(ForOrganization), GetLicense and
//! ListTagsForResource. Reads move time-based states along first (PENDING_WORKFLOW, PENDING_DELETE).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::lifecycle::advance_workflows;
use super::{
    MARKETPLACE_TRUSTED_ACCESS, grant_json, grant_page, invalid_parameter, license_field,
    license_json, listed, max_results, parent_arn, parse_filters, received_grant,
    require_org_admin, visible_grant,
};
use crate::sandbox::api::{ApiError, ApiResult, Call, paginate};
use crate::sandbox::state::{Grant, License, State};

/// GetGrant: the grantor or the grantee sees the grant's current version.
pub(super) fn get_grant(state: &mut State, call: &Call<'_>) -> ApiResult {
    advance_workflows(state);
    let arn = call.required("GrantArn")?;
    let grant = visible_grant(state, call.caller, arn)?;
    Ok(json!({"Grant": grant_json(grant)}))
}

/// ListDistributedGrants: the caller's grants (not the per-account grants they fan out into).
pub(super) fn list_distributed_grants(state: &mut State, call: &Call<'_>) -> ApiResult {
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
        .filter(|grant| grant.parent_grant.is_none() && grant.grantor_account_id == call.caller)
        .filter(|grant| listed(state, grant, arns.as_deref()))
        .filter(|grant| grant_matches(state, grant, &filters))
        .collect();
    grant_page(state, call, &grants)
}

/// Whether a grant passes every filter of ListDistributedGrants or ListReceivedGrants (each
/// operation has already refused the filter names it does not take).
fn grant_matches(state: &State, grant: &Grant, filters: &[(String, String)]) -> bool {
    filters.iter().all(|(name, value)| match name.as_str() {
        "LicenseArn" => &grant.license_arn == value,
        "GrantStatus" => &grant.status == value,
        "GranteePrincipalARN" => &grant.principal == value,
        "GranterAccountId" => &grant.grantor_account_id == value,
        "ProductSKU" => license_field(state, grant, |license| &license.product_sku) == Some(value),
        _ => license_field(state, grant, |license| &license.issuer_name) == Some(value),
    })
}

/// ListReceivedGrants: the grants whose grantee is the caller, once out of PENDING_WORKFLOW.
pub(super) fn list_received_grants(state: &mut State, call: &Call<'_>) -> ApiResult {
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
        .filter(|grant| grant_matches(state, grant, &filters))
        .collect();
    grant_page(state, call, &grants)
}

/// ListReceivedGrantsForOrganization: every per-account grant of a license (management account
/// or delegated administrator, with Marketplace trusted access).
pub(super) fn list_received_grants_for_organization(
    state: &mut State,
    call: &Call<'_>,
) -> ApiResult {
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
        .filter(|grant| grant.license_arn == license_arn && grant.grantee_account_id.is_some())
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

/// How a holder receives its own license: ACTIVE, or DISABLED once an issuer's grant activated
/// with `ALL_GRANTS_PERMITTED_BY_ISSUER` replaced it.
fn own_received_metadata(license: &License) -> Value {
    match &license.disabled_by_grant {
        Some(grant) => json!({
            "ReceivedStatus": "DISABLED",
            "ReceivedStatusReason": format!("replaced by grant {grant} (ActivationOverrideBehavior ALL_GRANTS_PERMITTED_BY_ISSUER)"),
            "AllowedOperations": license.allowed_operations,
        }),
        None => json!({
            "ReceivedStatus": "ACTIVE",
            "AllowedOperations": license.allowed_operations,
        }),
    }
}

/// ListReceivedLicenses: the licenses the caller holds (its own subscriptions) and those it
/// holds a live grant of (ReceivedStatus = that grant's status, AllowedOperations = the grant's).
pub(super) fn list_received_licenses(state: &mut State, call: &Call<'_>) -> ApiResult {
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
            Some(own_received_metadata(license))
        } else {
            received_grant(state, call.caller, &license.arn).map(|grant| {
                json!({
                    "ReceivedStatus": grant.status,
                    "AllowedOperations": grant.operations,
                })
            })
        };
        let Some(received) = received else {
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
        entry["ReceivedMetadata"] = received;
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
/// granted copies of a license are not listed again, is this emulator's reading. A member's own
/// license replaced by an `ALL_GRANTS_PERMITTED_BY_ISSUER` activation is received DISABLED.
pub(super) fn list_received_licenses_for_organization(
    state: &mut State,
    call: &Call<'_>,
) -> ApiResult {
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
            entry["ReceivedMetadata"] = own_received_metadata(license);
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
pub(super) fn list_tags_for_resource(state: &mut State, call: &Call<'_>) -> ApiResult {
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

/// GetLicense: for its holder, or an account holding a live grant of it.
pub(super) fn get_license(state: &mut State, call: &Call<'_>) -> ApiResult {
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
