//! CreateGrantVersion: new versions of a grant (name, allowed operations, status), activation
//! of a grant or of an organisation/OU grant's per-account grants, and what activation meets in
//! an account: its own Marketplace subscription to the same product (refused, overridden, or
//! replaced with `ALL_GRANTS_PERMITTED_BY_ISSUER`) and its other ACTIVE grants of the product.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::lifecycle::check_operations;
use super::{GRANT_STATUSES, invalid_parameter, visible_grant};
use crate::sandbox::api::{ApiError, ApiResult, Call};
use crate::sandbox::state::{ActivatedParentStatus, OwnSubscriptionActivation, State};

/// The documented words of the refusal (License Manager UG, grant acceptance and activation).
pub(crate) const TWO_LICENSES_WORDS: &str =
    "You can't activate two licenses for the same product from AWS Marketplace at the same time";

const REPLACE_ALL: &str = "ALL_GRANTS_PERMITTED_BY_ISSUER";

/// What activating a grant for one account comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ActivationVerdict {
    /// Activate; nothing stands in the way (or the setting overrides the account's own
    /// subscription).
    Activate,
    /// Activate and mark the account's own license (this ARN) disabled by the grant.
    ReplaceOwn(String),
    /// Do not activate: the account's own subscription stands, for this reason.
    Refuse(String),
}

/// The account's own active subscription to the product of `license_arn`: a license it holds
/// and is the beneficiary of, same ProductSKU, AVAILABLE, not already replaced by a grant.
pub(super) fn own_subscription(state: &State, account: &str, license_arn: &str) -> Option<String> {
    let product = &state.licenses.get(license_arn)?.product_sku;
    state
        .licenses
        .values()
        .find(|license| {
            license.arn != license_arn
                && license.holder_account_id == account
                && license.beneficiary == account
                && &license.product_sku == product
                && license.status == "AVAILABLE"
                && license.disabled_by_grant.is_none()
        })
        .map(|license| license.arn.clone())
}

/// Decides the activation of a grant of `license_arn` for `account` under the override
/// behaviour in force (`behavior`) and the `own_subscription_activation` setting.
pub(super) fn activation_verdict(
    state: &State,
    account: &str,
    license_arn: &str,
    behavior: Option<&str>,
) -> ActivationVerdict {
    let Some(own) = own_subscription(state, account, license_arn) else {
        return ActivationVerdict::Activate;
    };
    if behavior == Some(REPLACE_ALL) {
        return ActivationVerdict::ReplaceOwn(own);
    }
    match state.settings.own_subscription_activation {
        OwnSubscriptionActivation::Override => ActivationVerdict::Activate,
        OwnSubscriptionActivation::Refuse => {
            let product = state
                .licenses
                .get(license_arn)
                .map(|license| license.product_sku.as_str())
                .unwrap_or_default();
            ActivationVerdict::Refuse(format!(
                "{TWO_LICENSES_WORDS}: account {account} already has its own subscription to {product} (license {own}); activate with Options.ActivationOverrideBehavior {REPLACE_ALL} to replace it"
            ))
        }
    }
}

/// Marks a member's own license as replaced by `grant_arn`.
pub(super) fn disable_own_license(state: &mut State, license_arn: &str, grant_arn: &str) {
    if let Some(license) = state.licenses.get_mut(license_arn) {
        license.disabled_by_grant = Some(grant_arn.to_string());
    }
}

/// CreateGrantVersion, by the grantor (any change) or the grantee (status only).
pub(super) fn create_grant_version(state: &mut State, call: &Call<'_>) -> ApiResult {
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
        return Err(ApiError::validation(
            state
                .settings
                .stale_version_message
                .source_message(&arn, grant.version, source),
        ));
    }
    if grant.status == "PENDING_DELETE" {
        return Err(ApiError::validation(format!(
            "Grant `{arn}` is PENDING_DELETE: a grant being deleted cannot get a new version"
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
        if grant.status == "PENDING_ACCEPT" {
            return Err(ApiError::validation(format!(
                "Grant `{arn}` is PENDING_ACCEPT: it must be accepted by the grantee first (AcceptGrant by account {}) before it can be set to {status}",
                grant
                    .grantee_account_id
                    .as_deref()
                    .unwrap_or("of the principal")
            )));
        }
        let allowed_from: &[&str] = &["DISABLED", "ACTIVE", "WORKFLOW_COMPLETED"];
        if !allowed_from.contains(&grant.status.as_str()) {
            return Err(ApiError::validation(format!(
                "Grant `{arn}` is {}: it cannot be set to {status}",
                grant.status
            )));
        }
    }
    // The behaviour in force: this call's, else the one the grant (or its parent) carries.
    let effective_behavior = behavior.clone().or_else(|| {
        grant.activation_override_behavior.clone().or_else(|| {
            grant
                .parent_grant
                .as_ref()
                .and_then(|parent| state.grants.get(parent))
                .and_then(|parent| parent.activation_override_behavior.clone())
        })
    });
    let is_parent = grant.grantee_account_id.is_none();
    let mut replaced_own: Vec<(String, String)> = Vec::new();
    if status.as_deref() == Some("ACTIVE")
        && !is_parent
        && grant.status != "ACTIVE"
        && let Some(account) = &grant.grantee_account_id
    {
        match activation_verdict(
            state,
            account,
            &grant.license_arn,
            effective_behavior.as_deref(),
        ) {
            ActivationVerdict::Activate => {}
            ActivationVerdict::ReplaceOwn(own) => replaced_own.push((own, arn.clone())),
            ActivationVerdict::Refuse(reason) => return Err(ApiError::validation(reason)),
        }
    }
    let shown_parent_status = state.settings.activated_parent_status;
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
        if is_parent {
            entry.activated = status == "ACTIVE";
            entry.status = if status == "ACTIVE"
                && shown_parent_status == ActivatedParentStatus::WorkflowCompleted
            {
                "WORKFLOW_COMPLETED".to_string()
            } else {
                status.clone()
            };
        } else {
            entry.status = status.clone();
            if status == "ACTIVE"
                && entry
                    .status_reason
                    .as_deref()
                    .is_some_and(|reason| reason.starts_with(TWO_LICENSES_WORDS))
            {
                entry.status_reason = None;
            }
        }
    }
    let response =
        json!({"GrantArn": arn, "Status": entry.status, "Version": entry.version.to_string()});
    if let Some(status) = &status {
        let mut activated: Vec<String> = Vec::new();
        if is_parent {
            activated = set_children(
                state,
                &arn,
                status,
                effective_behavior.as_deref(),
                &mut replaced_own,
            );
        } else if status == "ACTIVE"
            && let Some(account) = &grant.grantee_account_id
        {
            activated.push(account.clone());
        }
        for (own, by) in &replaced_own {
            disable_own_license(state, own, by);
        }
        if behavior.as_deref() == Some(REPLACE_ALL) {
            disable_other_grants(state, &arn, &activated, &grant.license_arn);
        }
    }
    Ok(response)
}

/// Sets the live (ACTIVE or DISABLED) per-account grants of a parent to `status`; returns the
/// accounts activated. An account whose own subscription refuses the activation keeps its grant
/// DISABLED with the refusal as StatusReason.
fn set_children(
    state: &mut State,
    parent: &str,
    status: &str,
    behavior: Option<&str>,
    replaced_own: &mut Vec<(String, String)>,
) -> Vec<String> {
    let children: Vec<(String, Option<String>)> = state
        .grants
        .values()
        .filter(|child| {
            child.parent_grant.as_deref() == Some(parent)
                && matches!(child.status.as_str(), "ACTIVE" | "DISABLED")
                && child.status != status
        })
        .map(|child| (child.arn.clone(), child.grantee_account_id.clone()))
        .collect();
    let mut activated = Vec::new();
    for (child_arn, account) in children {
        let verdict = match (&account, status) {
            (Some(account), "ACTIVE") => {
                activation_verdict(state, account, &license_of(state, &child_arn), behavior)
            }
            _ => ActivationVerdict::Activate,
        };
        let Some(child) = state.grants.get_mut(&child_arn) else {
            continue;
        };
        match verdict {
            ActivationVerdict::Refuse(reason) => {
                child.status_reason = Some(reason);
            }
            verdict => {
                if let ActivationVerdict::ReplaceOwn(own) = verdict {
                    replaced_own.push((own, child_arn.clone()));
                }
                child.status = status.to_string();
                child.version += 1;
                if child
                    .status_reason
                    .as_deref()
                    .is_some_and(|reason| reason.starts_with(TWO_LICENSES_WORDS))
                {
                    child.status_reason = None;
                }
                if status == "ACTIVE"
                    && let Some(account) = account
                {
                    activated.push(account);
                }
            }
        }
    }
    activated
}

fn license_of(state: &State, grant_arn: &str) -> String {
    state
        .grants
        .get(grant_arn)
        .map(|grant| grant.license_arn.clone())
        .unwrap_or_default()
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
    state.grants.update_where(
        |grant| {
            let ours = grant.arn == arn || grant.parent_grant.as_deref() == Some(arn);
            !ours
                && grant.status == "ACTIVE"
                && same_product.contains(&grant.license_arn)
                && grant
                    .grantee_account_id
                    .as_ref()
                    .is_some_and(|account| accounts.contains(account))
        },
        |grant| {
            grant.status = "DISABLED".to_string();
            grant.status_reason = Some(
                "disabled by ActivationOverrideBehavior ALL_GRANTS_PERMITTED_BY_ISSUER".to_string(),
            );
            grant.version += 1;
        },
    );
}
