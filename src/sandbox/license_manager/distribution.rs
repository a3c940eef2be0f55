//! How organisation and OU grants reach accounts: grant principals parsed against the
//! organisation (in the state's ARN partition), which accounts a principal covers, the
//! per-account grants a parent fans out into (also for accounts that join or move later), and
//! the settled grants the seeds insert directly.

use std::collections::{BTreeMap, BTreeSet};

use super::activation::{ActivationVerdict, activation_verdict, disable_own_license};
use super::invalid_parameter;
use crate::sandbox::api::ApiError;
use crate::sandbox::state::{Grant, OuGrantScope, State};

/// A parsed grant principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    Organization,
    OrganizationalUnit(String),
    Account(String),
}

/// Parses a principal ARN against the organisation (ARNs of another partition are not valid).
pub(crate) fn parse_principal(state: &State, arn: &str) -> Result<Principal, ApiError> {
    if arn == state.organization_arn() {
        return Ok(Principal::Organization);
    }
    if let Some(ou) = arn.strip_prefix(&state.ou_arn_prefix()) {
        if state.ous.contains_key(ou) {
            return Ok(Principal::OrganizationalUnit(ou.to_string()));
        }
        return Err(invalid_parameter(format!(
            "Principal `{arn}`: organizational unit not found"
        )));
    }
    if let Some(account) = state.principal_account(arn) {
        return Ok(Principal::Account(account.to_string()));
    }
    Err(invalid_parameter(format!(
        "Principal `{arn}` is not a valid organization, organizational unit or account principal"
    )))
}

/// A new grant ARN of `grantor`, `arn:<partition>:license-manager::<grantor>:grant:g-<32 hex>`.
pub(super) fn new_grant_arn(state: &mut State, grantor: &str) -> String {
    let suffix = state.fresh_hex(32);
    state.arn("license-manager", grantor, &format!("grant:g-{suffix}"))
}

/// Accounts an org or OU principal covers now (ACTIVE accounts, never the grantor), and the set
/// of accounts inside its scope whatever their state.
pub(super) fn coverage(
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

/// Creates the per-account grants of an org/OU grant for accounts not yet covered (ACTIVE when
/// the parent was activated, DISABLED otherwise), and deletes those of accounts that left its
/// scope.
pub(super) fn distribute(state: &mut State, parent_arn: &str) {
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
    let activated = parent.status == "ACTIVE" || parent.activated;
    for account in covered {
        if existing.contains_key(&account) {
            continue;
        }
        let arn = new_grant_arn(state, &parent.grantor_account_id);
        // A joiner of an activated parent is activated too, unless its own subscription to
        // the product refuses it (setting `own_subscription_activation`).
        let (status, status_reason, own_license) = if activated {
            match activation_verdict(
                state,
                &account,
                &parent.license_arn,
                parent.activation_override_behavior.as_deref(),
            ) {
                ActivationVerdict::Activate => ("ACTIVE", None, None),
                ActivationVerdict::ReplaceOwn(own) => ("ACTIVE", None, Some(own)),
                ActivationVerdict::Refuse(reason) => ("DISABLED", Some(reason), None),
            }
        } else {
            ("DISABLED", None, None)
        };
        if let Some(own) = own_license {
            disable_own_license(state, &own, &arn);
        }
        state.grants.insert(
            arn.clone(),
            Grant {
                arn,
                name: parent.name.clone(),
                license_arn: parent.license_arn.clone(),
                parent_grant: Some(parent_arn.to_string()),
                grantor_account_id: parent.grantor_account_id.clone(),
                principal: state.account_principal(&account),
                grantee_account_id: Some(account),
                home_region: parent.home_region.clone(),
                status: status.to_string(),
                status_reason,
                version: 1,
                operations: parent.operations.clone(),
                activation_override_behavior: parent.activation_override_behavior.clone(),
                tags: BTreeMap::new(),
                workflow_reads_left: 0,
                created_at_ms: parent.created_at_ms,
                activated: false,
                deleted_at_ms: None,
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
            activated: is_parent && status == "ACTIVE",
            deleted_at_ms: None,
        },
    );
    if is_parent {
        distribute(state, &arn);
    }
    arn
}
