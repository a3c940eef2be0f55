//! The grant lifecycle apart from activation: CreateGrant (validation, duplicates, the
//! per-license limit), PENDING_WORKFLOW and where a grant lands after it (setting
//! `account_grant_acceptance`), AcceptGrant / RejectGrant by the grantee, DeleteGrant with the
//! current Version, and PENDING_DELETE (setting `pending_delete_millis`). Time-based states are
//! advanced lazily, on reads, from timestamps saved with the grant, so they also progress across
//! processes that load and save the same state file.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::distribution::{Principal, distribute, new_grant_arn, parse_principal};
use super::{LICENSE_MANAGER_PRINCIPAL, invalid_parameter, visible_grant};
use crate::sandbox::api::{ApiError, ApiResult, Call, now_millis};
use crate::sandbox::seed::ALL_GRANT_OPERATIONS;
use crate::sandbox::state::{AccountGrantAcceptance, DuplicateGrant, Grant, License, State};

/// Checks AllowedOperations: 1-8 values of the model's enum, each allowed by the license.
pub(super) fn check_operations(operations: &[String], license: &License) -> Result<(), ApiError> {
    if operations.is_empty() || operations.len() > ALL_GRANT_OPERATIONS.len() {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'allowedOperations' failed to satisfy constraint: Member must have length between 1 and 8",
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

/// CreateGrant: one principal, an AVAILABLE license the caller holds (or administers), operations
/// the license allows; the new grant starts in PENDING_WORKFLOW.
pub(super) fn create_grant(state: &mut State, call: &Call<'_>) -> ApiResult {
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
                && !matches!(
                    grant.status.as_str(),
                    "REJECTED" | "FAILED_WORKFLOW" | "PENDING_DELETE"
                )
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
        activated: false,
        deleted_at_ms: None,
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

/// Moves grants along PENDING_WORKFLOW and PENDING_DELETE: called once per License Manager read
/// operation.
pub(super) fn advance_workflows(state: &mut State) {
    advance_pending_deletes(state);
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
            let member_accepts =
                state.settings.account_grant_acceptance == AccountGrantAcceptance::Member;
            if auto_accepted && in_org(&account) && !member_accepts {
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

/// AcceptGrant / RejectGrant, by the grantee account.
pub(super) fn respond_to_grant(state: &mut State, call: &Call<'_>, accept: bool) -> ApiResult {
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

/// DeleteGrant, by the grantor, with the grant's current Version. DELETED at once, or
/// PENDING_DELETE (with its per-account grants) for `pending_delete_millis`. Deleting a grant
/// that is already PENDING_DELETE or DELETED succeeds again, Version unchanged.
pub(super) fn delete_grant(state: &mut State, call: &Call<'_>) -> ApiResult {
    let arn = call.required("GrantArn")?.to_string();
    let version = call.required("Version")?.to_string();
    advance_pending_deletes(state);
    let grant = visible_grant(state, call.caller, &arn)?.clone();
    if grant.grantor_account_id != call.caller || grant.parent_grant.is_some() {
        return Err(ApiError::access_denied(format!(
            "Grant `{arn}` can only be deleted by its grantor (a distributed per-account grant goes with its parent)"
        )));
    }
    if version != grant.version.to_string() {
        return Err(ApiError::validation(
            state
                .settings
                .stale_version_message
                .delete_message(&arn, grant.version, &version),
        ));
    }
    let answer = |status: &str| json!({"GrantArn": arn, "Status": status, "Version": grant.version.to_string()});
    if matches!(grant.status.as_str(), "DELETED" | "PENDING_DELETE") {
        return Ok(answer(&grant.status));
    }
    let now = now_millis();
    let status = if state.settings.pending_delete_millis.is_some() {
        "PENDING_DELETE"
    } else {
        "DELETED"
    };
    if let Some(entry) = state.grants.get_mut(&arn) {
        entry.status = status.to_string();
        entry.deleted_at_ms = Some(now);
        if let Some(reason) = call.string("StatusReason") {
            entry.status_reason = Some(reason.to_string());
        }
    }
    state.grants.update_where(
        |child| child.parent_grant.as_deref() == Some(arn.as_str()) && child.status != "DELETED",
        |child| {
            child.status = status.to_string();
            child.deleted_at_ms = Some(now);
        },
    );
    Ok(answer(status))
}

/// Ends PENDING_DELETE for the grants whose `pending_delete_millis` have passed (all of them
/// when the setting is off); returns how many turned DELETED.
pub(super) fn advance_pending_deletes(state: &mut State) -> usize {
    let now = now_millis();
    let millis = state
        .settings
        .pending_delete_millis
        .map(|millis| i64::try_from(millis).unwrap_or(i64::MAX));
    state.grants.update_where(
        |grant| {
            grant.status == "PENDING_DELETE"
                && millis.is_none_or(|millis| {
                    now >= grant.deleted_at_ms.unwrap_or(0).saturating_add(millis)
                })
        },
        |grant| grant.status = "DELETED".to_string(),
    )
}

/// Ends every PENDING_DELETE now; returns how many grants turned DELETED.
pub(crate) fn finish_pending_deletes(state: &mut State) -> usize {
    state.grants.update_where(
        |grant| grant.status == "PENDING_DELETE",
        |grant| grant.status = "DELETED".to_string(),
    )
}
