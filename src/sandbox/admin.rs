//! Admin actions that simulate the world outside the management account: Marketplace ends an
//! agreement, a member account accepts, activates or rejects its grant, subscribes to a product
//! itself, loses its member role, an account joins, moves or is suspended, License Manager's
//! workflows finish. Functions on `&mut State`, used by the HTTP routes under `/_sandbox/` and by
//! `entitle sandbox <action>` on a state file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::api::{ApiError, Call, now_millis};
use super::license_manager;
use super::seed::marketplace_allowed_operations;
use super::state::{Account, License, State};

/// Why an admin action failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The named thing does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The action does not make sense in the current state.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The emulated service refused the call made on the member's behalf.
    #[error("{code}: {message}")]
    Service {
        /// Error code.
        code: String,
        /// Message.
        message: String,
    },
}

impl From<ApiError> for AdminError {
    fn from(error: ApiError) -> Self {
        AdminError::Service {
            code: error.code,
            message: error.message,
        }
    }
}

/// One admin action, as sent to `POST /_sandbox/admin` (`{"action": "cancel_agreement", ...}`)
/// or `POST /_sandbox/<action>` with the other fields as body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum AdminAction {
    /// The buyer cancelled the agreement: agreement CANCELLED, license DELETED, grants stay.
    CancelAgreement {
        /// `agmt-...`
        agreement_id: String,
    },
    /// The agreement ran out: agreement EXPIRED, license EXPIRED, grants stay.
    ExpireAgreement {
        /// `agmt-...`
        agreement_id: String,
    },
    /// A member accepts its PENDING_ACCEPT grant (-> DISABLED).
    AcceptGrant(MemberGrant),
    /// A member activates its received grant (-> ACTIVE).
    ActivateGrant(MemberGrant),
    /// A member rejects its received grant (-> REJECTED).
    RejectGrant(MemberGrant),
    /// An account joins the organisation (org and OU grants reach it).
    JoinAccount {
        /// 12-digit id.
        account_id: String,
        /// Name (default `joined-<id>`).
        #[serde(default)]
        name: Option<String>,
        /// Parent root or OU id (default the root).
        #[serde(default)]
        parent_id: Option<String>,
        /// Tags.
        #[serde(default)]
        tags: BTreeMap<String, String>,
    },
    /// An account moves to another OU (or the root).
    MoveAccount {
        /// 12-digit id.
        account_id: String,
        /// New parent root or OU id.
        parent_id: String,
    },
    /// An account is suspended.
    SuspendAccount {
        /// 12-digit id.
        account_id: String,
    },
    /// Every grant still in PENDING_WORKFLOW finishes it now, and every PENDING_DELETE grant
    /// turns DELETED.
    SettleWorkflows,
    /// Bedrock's GetFoundationModelAvailability answers entitlementAvailability NOT_AVAILABLE
    /// for this account (for one model, or every model), whatever its grants; with `restore`,
    /// the break is undone.
    BreakAvailability {
        /// 12-digit id of an account of the organisation.
        account_id: String,
        /// The Bedrock model id; every model when absent.
        #[serde(default)]
        model_id: Option<String>,
        /// Undo an earlier break instead (of this model, or of every model when absent).
        #[serde(default)]
        restore: bool,
    },
    /// The account's own Anthropic use-case form is deleted (for the management account: no
    /// account of the organisation inherits one any more).
    RemoveUseCaseForm {
        /// 12-digit id; the management account when absent.
        #[serde(default)]
        account_id: Option<String>,
    },
    /// The organisation's prerequisites are undone: trusted access for License Manager and
    /// Marketplace license management disabled, License Manager's organisation link off, its
    /// delegated administrator deregistered.
    BreakPrerequisites {
        /// Leave trusted access enabled.
        #[serde(default)]
        keep_trusted_access: bool,
        /// Leave License Manager linked.
        #[serde(default)]
        keep_link: bool,
    },
    /// A member account subscribes to a Marketplace product itself: it holds its own license
    /// (AVAILABLE, Issuer `AWS/Marketplace`), which stands in the way of activating a granted
    /// license of the same product (setting `own_subscription_activation`).
    SubscribeAccount {
        /// 12-digit id of an account of the organisation.
        account_id: String,
        /// The Marketplace product id, `prod-...` (the license's ProductSKU).
        product_id: String,
    },
    /// A member role is deleted from an account: STS AssumeRole into it is refused from then on.
    RemoveRole {
        /// 12-digit id.
        account_id: String,
        /// The role's name, e.g. `OrganizationAccountAccessRole`.
        role_name: String,
    },
    /// An account used a Marketplace product: the units are priced at the private rate when the
    /// account held an ACTIVE grant of the product's license at the end of that day (now, for
    /// today) or holds the private offer's license, else at the list rate, and Cost Explorer
    /// reports them.
    RecordUsage {
        /// 12-digit id of an account of the organisation.
        account_id: String,
        /// The Marketplace product id, `prod-...`.
        product_id: String,
        /// Units used (e.g. tokens).
        units: f64,
        /// The day, `YYYY-MM-DD` (UTC); today when absent.
        #[serde(default)]
        date: Option<String>,
        /// Cost Explorer's USAGE_TYPE; `USE1-MP:USE1_InputTokenCount-Units` when absent.
        #[serde(default)]
        usage_type: Option<String>,
    },
    /// Sets a product's rates, USD per unit (a product without rates needs both).
    SetRates {
        /// The Marketplace product id, `prod-...`.
        product_id: String,
        /// Public list price per unit.
        #[serde(default)]
        list: Option<f64>,
        /// Private-offer price per unit.
        #[serde(default)]
        private: Option<f64>,
    },
}

/// Which received grant a member acts on: by grant ARN, or by license (the member's grant of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberGrant {
    /// The member account.
    pub account_id: String,
    /// The grant (the member's own per-account grant, or a direct account grant).
    #[serde(default)]
    pub grant_arn: Option<String>,
    /// Alternatively the license: the member's newest live grant of it is used.
    #[serde(default)]
    pub license_arn: Option<String>,
}

/// Applies one action; returns a small JSON summary of what changed. The grant and license
/// status histories usage pricing reads are brought up to date after it.
pub fn apply(state: &mut State, action: &AdminAction) -> Result<Value, AdminError> {
    let answer = apply_action(state, action);
    super::usage::note_statuses(state);
    answer
}

fn apply_action(state: &mut State, action: &AdminAction) -> Result<Value, AdminError> {
    match action {
        AdminAction::RecordUsage {
            account_id,
            product_id,
            units,
            date,
            usage_type,
        } => {
            let input = super::usage::UsageInput {
                account_id,
                product_id,
                units: *units,
                date: date.as_deref(),
                usage_type: usage_type.as_deref(),
            };
            super::usage::record_usage(state, &input).map_err(AdminError::Invalid)
        }
        AdminAction::SetRates {
            product_id,
            list,
            private,
        } => {
            super::usage::set_rates(state, product_id, *list, *private).map_err(AdminError::Invalid)
        }
        AdminAction::CancelAgreement { agreement_id } => {
            end_agreement(state, agreement_id, "CANCELLED", "DELETED")
        }
        AdminAction::ExpireAgreement { agreement_id } => {
            end_agreement(state, agreement_id, "EXPIRED", "EXPIRED")
        }
        AdminAction::AcceptGrant(member) => member_call(state, member, "AcceptGrant", None),
        AdminAction::ActivateGrant(member) => {
            member_call(state, member, "CreateGrantVersion", Some("ACTIVE"))
        }
        AdminAction::RejectGrant(member) => member_call(state, member, "RejectGrant", None),
        AdminAction::JoinAccount {
            account_id,
            name,
            parent_id,
            tags,
        } => join_account(
            state,
            account_id,
            name.as_deref(),
            parent_id.as_deref(),
            tags.clone(),
        ),
        AdminAction::MoveAccount {
            account_id,
            parent_id,
        } => move_account(state, account_id, parent_id),
        AdminAction::SuspendAccount { account_id } => suspend_account(state, account_id),
        AdminAction::SettleWorkflows => {
            let settled = settle_workflows(state);
            let deleted = license_manager::finish_pending_deletes(state);
            Ok(json!({"settled": settled, "deletesFinished": deleted}))
        }
        AdminAction::SubscribeAccount {
            account_id,
            product_id,
        } => subscribe_account(state, account_id, product_id),
        AdminAction::RemoveRole {
            account_id,
            role_name,
        } => remove_role(state, account_id, role_name),
        AdminAction::BreakAvailability {
            account_id,
            model_id,
            restore,
        } => break_availability(state, account_id, model_id.as_deref(), *restore),
        AdminAction::RemoveUseCaseForm { account_id } => {
            remove_use_case_form(state, account_id.as_deref())
        }
        AdminAction::BreakPrerequisites {
            keep_trusted_access,
            keep_link,
        } => Ok(break_prerequisites(state, *keep_trusted_access, *keep_link)),
    }
}

/// Ends an agreement with `status` and turns its license to `license_status`; grants stay.
pub fn end_agreement(
    state: &mut State,
    agreement_id: &str,
    status: &str,
    license_status: &str,
) -> Result<Value, AdminError> {
    let agreement = state
        .agreements
        .get_mut(agreement_id)
        .ok_or_else(|| AdminError::NotFound(format!("agreement `{agreement_id}`")))?;
    agreement.status = status.to_string();
    let license_arn = agreement.license_arn.clone();
    if let Some(license) = license_arn
        .as_ref()
        .and_then(|arn| state.licenses.get_mut(arn))
    {
        license.status = license_status.to_string();
    }
    Ok(
        json!({"agreementId": agreement_id, "status": status, "licenseArn": license_arn, "licenseStatus": license_status}),
    )
}

/// Cancels an agreement (license DELETED).
pub fn cancel_agreement(state: &mut State, agreement_id: &str) -> Result<Value, AdminError> {
    end_agreement(state, agreement_id, "CANCELLED", "DELETED")
}

/// Expires an agreement (license EXPIRED).
pub fn expire_agreement(state: &mut State, agreement_id: &str) -> Result<Value, AdminError> {
    end_agreement(state, agreement_id, "EXPIRED", "EXPIRED")
}

fn member_grant_arn(state: &State, member: &MemberGrant) -> Result<String, AdminError> {
    if let Some(arn) = &member.grant_arn {
        return Ok(arn.clone());
    }
    let license = member
        .license_arn
        .as_ref()
        .ok_or_else(|| AdminError::Invalid("give grant_arn or license_arn".to_string()))?;
    state
        .grants
        .values()
        .filter(|grant| {
            &grant.license_arn == license
                && grant.grantee_account_id.as_deref() == Some(member.account_id.as_str())
                && !matches!(
                    grant.status.as_str(),
                    "DELETED" | "REJECTED" | "FAILED_WORKFLOW"
                )
        })
        .max_by_key(|grant| grant.created_at_ms)
        .map(|grant| grant.arn.clone())
        .ok_or_else(|| {
            AdminError::NotFound(format!(
                "a live grant of `{license}` received by `{}`",
                member.account_id
            ))
        })
}

/// Makes a License Manager call as the member account.
fn member_call(
    state: &mut State,
    member: &MemberGrant,
    operation: &str,
    status: Option<&str>,
) -> Result<Value, AdminError> {
    let arn = member_grant_arn(state, member)?;
    let mut input = json!({"GrantArn": arn});
    if let Some(status) = status {
        input["Status"] = json!(status);
        input["ClientToken"] = json!(format!("sandbox-admin-{}", state.fresh_hex(16)));
    }
    let call = Call {
        operation,
        input: &input,
        caller: &member.account_id,
        request_id: "sandbox-admin",
    };
    Ok(license_manager::handle(state, &call)?)
}

/// A member accepts its grant.
pub fn accept_grant(
    state: &mut State,
    account_id: &str,
    grant_arn: &str,
) -> Result<Value, AdminError> {
    member_call(state, &member(account_id, grant_arn), "AcceptGrant", None)
}

/// A member activates its grant.
pub fn activate_grant(
    state: &mut State,
    account_id: &str,
    grant_arn: &str,
) -> Result<Value, AdminError> {
    member_call(
        state,
        &member(account_id, grant_arn),
        "CreateGrantVersion",
        Some("ACTIVE"),
    )
}

/// A member rejects its grant.
pub fn reject_grant(
    state: &mut State,
    account_id: &str,
    grant_arn: &str,
) -> Result<Value, AdminError> {
    member_call(state, &member(account_id, grant_arn), "RejectGrant", None)
}

fn member(account_id: &str, grant_arn: &str) -> MemberGrant {
    MemberGrant {
        account_id: account_id.to_string(),
        grant_arn: Some(grant_arn.to_string()),
        license_arn: None,
    }
}

fn check_parent(state: &State, parent: &str) -> Result<(), AdminError> {
    if parent == state.organization.root_id || state.ous.contains_key(parent) {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!("parent `{parent}`")))
    }
}

/// An account joins (invited) under `parent_id` (default the root); org and OU grants reach it.
pub fn join_account(
    state: &mut State,
    account_id: &str,
    name: Option<&str>,
    parent_id: Option<&str>,
    tags: BTreeMap<String, String>,
) -> Result<Value, AdminError> {
    if account_id.len() != 12 || !account_id.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(AdminError::Invalid(format!(
            "account id `{account_id}` is not 12 digits"
        )));
    }
    if state.accounts.contains_key(account_id) {
        return Err(AdminError::Invalid(format!(
            "account `{account_id}` is already a member"
        )));
    }
    let parent = parent_id.unwrap_or(&state.organization.root_id).to_string();
    check_parent(state, &parent)?;
    let name = name.map_or_else(|| format!("joined-{account_id}"), str::to_string);
    state.accounts.insert(
        account_id.to_string(),
        Account {
            id: account_id.to_string(),
            email: format!("aws+{name}@example.com"),
            name,
            state: "ACTIVE".to_string(),
            parent_id: parent.clone(),
            joined_method: "INVITED".to_string(),
            joined_timestamp: now_millis() / 1000,
            tags,
        },
    );
    license_manager::redistribute_all(state);
    Ok(json!({"accountId": account_id, "parentId": parent}))
}

/// Moves an account; grants follow the new position.
pub fn move_account(
    state: &mut State,
    account_id: &str,
    parent_id: &str,
) -> Result<Value, AdminError> {
    check_parent(state, parent_id)?;
    let account = state
        .accounts
        .get_mut(account_id)
        .ok_or_else(|| AdminError::NotFound(format!("account `{account_id}`")))?;
    account.parent_id = parent_id.to_string();
    license_manager::redistribute_all(state);
    Ok(json!({"accountId": account_id, "parentId": parent_id}))
}

/// Suspends an account (its existing grants stay; new distributions skip it).
pub fn suspend_account(state: &mut State, account_id: &str) -> Result<Value, AdminError> {
    let account = state
        .accounts
        .get_mut(account_id)
        .ok_or_else(|| AdminError::NotFound(format!("account `{account_id}`")))?;
    account.state = "SUSPENDED".to_string();
    Ok(json!({"accountId": account_id, "state": "SUSPENDED"}))
}

/// Finishes every PENDING_WORKFLOW now; returns how many grants settled.
pub fn settle_workflows(state: &mut State) -> usize {
    let pending: Vec<String> = state
        .grants
        .values()
        .filter(|grant| grant.status == "PENDING_WORKFLOW")
        .map(|grant| grant.arn.clone())
        .collect();
    for arn in &pending {
        license_manager::complete_workflow(state, arn);
    }
    pending.len()
}

/// Ends every PENDING_DELETE now (DeleteGrant with `pending_delete_millis`); returns how many
/// grants turned DELETED.
pub fn finish_pending_deletes(state: &mut State) -> usize {
    license_manager::finish_pending_deletes(state)
}

/// The member subscribes to `product_id` itself: a new license it holds and is the beneficiary
/// of (ARN `arn:<partition>:license-manager::294406891311:license:l-<32 hex>`, deterministic),
/// AVAILABLE, Issuer `AWS/Marketplace`, the demo license's allowed operations.
pub fn subscribe_account(
    state: &mut State,
    account_id: &str,
    product_id: &str,
) -> Result<Value, AdminError> {
    if !state.accounts.contains_key(account_id) {
        return Err(AdminError::NotFound(format!("account `{account_id}`")));
    }
    if product_id.is_empty() {
        return Err(AdminError::Invalid("the product id is empty".to_string()));
    }
    let product_name = state
        .licenses
        .values()
        .find(|license| license.product_sku == product_id)
        .map_or_else(
            || product_id.to_string(),
            |license| license.product_name.clone(),
        );
    let suffix = state.fresh_hex(32);
    let arn = state.arn(
        "license-manager",
        "294406891311",
        &format!("license:l-{suffix}"),
    );
    let now = now_millis() / 1000;
    state.licenses.insert(
        arn.clone(),
        License {
            arn: arn.clone(),
            name: product_name.clone(),
            product_name,
            product_sku: product_id.to_string(),
            issuer_name: "AWS/Marketplace".to_string(),
            key_fingerprint: "aws:294406891311:AWS/Marketplace:issuer-fingerprint".to_string(),
            beneficiary: account_id.to_string(),
            holder_account_id: account_id.to_string(),
            status: "AVAILABLE".to_string(),
            allowed_operations: marketplace_allowed_operations(),
            validity_begin: now,
            validity_end: None,
            create_time: now,
            agreement_id: None,
            disabled_by_grant: None,
        },
    );
    Ok(json!({"accountId": account_id, "productId": product_id, "licenseArn": arn}))
}

/// The role is deleted from the account: AssumeRole into it is refused from then on.
pub fn remove_role(
    state: &mut State,
    account_id: &str,
    role_name: &str,
) -> Result<Value, AdminError> {
    if !state.accounts.contains_key(account_id) {
        return Err(AdminError::NotFound(format!("account `{account_id}`")));
    }
    if role_name.is_empty() {
        return Err(AdminError::Invalid("the role name is empty".to_string()));
    }
    if let Some(roles) = state.service_linked_roles.get_mut(account_id)
        && roles.remove(role_name).is_some()
    {
        return Ok(
            json!({"accountId": account_id, "roleName": role_name, "removed": true, "serviceLinked": true}),
        );
    }
    state
        .removed_roles
        .entry(account_id.to_string())
        .or_default()
        .insert(role_name.to_string());
    Ok(json!({"accountId": account_id, "roleName": role_name, "removed": true}))
}

/// Breaks (or, with `restore`, repairs) an account's Bedrock availability of one model or all.
pub fn break_availability(
    state: &mut State,
    account_id: &str,
    model_id: Option<&str>,
    restore: bool,
) -> Result<Value, AdminError> {
    if !state.accounts.contains_key(account_id) {
        return Err(AdminError::NotFound(format!("account `{account_id}`")));
    }
    if let Some(model) = model_id
        && super::bedrock::model(model).is_none()
    {
        return Err(AdminError::NotFound(format!("Bedrock model `{model}`")));
    }
    let key = model_id.unwrap_or("*").to_string();
    let broken = &mut state.bedrock.broken_availability;
    if restore {
        match model_id {
            None => {
                broken.remove(account_id);
            }
            Some(model) => {
                if let Some(models) = broken.get_mut(account_id) {
                    models.remove(model);
                    if models.is_empty() {
                        broken.remove(account_id);
                    }
                }
            }
        }
    } else {
        broken
            .entry(account_id.to_string())
            .or_default()
            .insert(key);
    }
    let now_broken: Vec<&String> = broken
        .get(account_id)
        .map(|models| models.iter().collect())
        .unwrap_or_default();
    Ok(
        json!({"accountId": account_id, "modelId": model_id, "restored": restore, "broken": now_broken}),
    )
}

/// Deletes an account's own use-case form (the management account's when `None`).
pub fn remove_use_case_form(
    state: &mut State,
    account_id: Option<&str>,
) -> Result<Value, AdminError> {
    let account = account_id
        .unwrap_or(state.management_account_id())
        .to_string();
    if !state.accounts.contains_key(&account) {
        return Err(AdminError::NotFound(format!("account `{account}`")));
    }
    let removed = state.bedrock.use_case_forms.remove(&account).is_some();
    Ok(json!({"accountId": account, "removed": removed}))
}

/// Trusted access for License Manager and Marketplace license management off, License
/// Manager's link off, its delegated administrator deregistered (each unless kept).
pub fn break_prerequisites(state: &mut State, keep_trusted_access: bool, keep_link: bool) -> Value {
    let principals = [
        "license-manager.amazonaws.com",
        "license-management.marketplace.amazonaws.com",
    ];
    let mut disabled = Vec::new();
    if !keep_trusted_access {
        for principal in principals {
            if state.service_access.remove(principal).is_some() {
                disabled.push(principal);
            }
        }
        state
            .delegated_administrators
            .retain(|admin| !principals.contains(&admin.service_principal.as_str()));
    }
    if !keep_link {
        state.license_manager.enable_integration = false;
    }
    json!({
        "trustedAccessDisabled": disabled,
        "licenseManagerLinked": state.license_manager.enable_integration,
    })
}
