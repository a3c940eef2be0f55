//! AWS Organizations (awsJson1_1, `AWSOrganizationsV20161128`): the read operations discovery
//! and doctor use, with MaxResults 1-20, NextToken paging (occasionally an empty page), account
//! `State` and the legacy `Status`, and `Path`/`Paths`; and the two writes doctor --fix makes,
//! EnableAWSServiceAccess and RegisterDelegatedAdministrator (management account only).

use serde_json::{Value, json};

use super::api::{ApiError, ApiResult, Call, now_millis, paginate};
use super::settings::OrganizationsPaths;
use super::state::{Account, DelegatedAdministrator, State};

/// The operations this module answers.
pub(crate) const OPERATIONS: [&str; 13] = [
    "DescribeOrganization",
    "ListRoots",
    "ListOrganizationalUnitsForParent",
    "ListAccountsForParent",
    "ListChildren",
    "ListAccounts",
    "ListParents",
    "DescribeOrganizationalUnit",
    "ListTagsForResource",
    "ListAWSServiceAccessForOrganization",
    "ListDelegatedAdministrators",
    "EnableAWSServiceAccess",
    "RegisterDelegatedAdministrator",
];

/// How many delegated administrators a service may have (License Manager: one, per its user
/// guide); services not named here have no limit in the emulator.
const DELEGATED_ADMINISTRATOR_LIMITS: [(&str, usize); 1] = [("license-manager.amazonaws.com", 1)];

fn invalid_input(reason: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(400, "InvalidInputException", message).with("Reason", reason)
}

/// Answers one Organizations call.
pub(crate) fn handle(state: &mut State, call: &Call<'_>) -> ApiResult {
    if !state.accounts.contains_key(call.caller) {
        return Err(ApiError::new(
            400,
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        ));
    }
    if call.operation == "DescribeOrganization" {
        return Ok(describe_organization(state));
    }
    if !OPERATIONS.contains(&call.operation) {
        return Err(ApiError::new(
            400,
            "UnknownOperationException",
            format!(
                "operation `{}` is not emulated by the sandbox",
                call.operation
            ),
        ));
    }
    let is_management = call.caller == state.management_account_id();
    match call.operation {
        "EnableAWSServiceAccess" => return enable_service_access(state, call, is_management),
        "RegisterDelegatedAdministrator" => {
            return register_delegated_administrator(state, call, is_management);
        }
        _ => {}
    }
    let is_delegated = state
        .delegated_administrators
        .iter()
        .any(|admin| admin.account_id == call.caller);
    if !is_management && !is_delegated {
        return Err(ApiError::new(
            400,
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
        ));
    }
    let page_size = page_size(state, call)?;
    let token = call.string("NextToken");
    let empty_every = state.settings.organizations_empty_page_every;
    let page = |items: Vec<Value>, key: &str| {
        respond(&items, token, page_size, empty_every, key, Clone::clone)
    };
    match call.operation {
        "ListRoots" => page(
            vec![json!({
                "Id": state.organization.root_id,
                "Arn": state.root_arn(),
                "Name": "Root",
                "PolicyTypes": [],
            })],
            "Roots",
        ),
        "ListOrganizationalUnitsForParent" => {
            let parent = existing_parent(state, call.required("ParentId")?)?;
            let ous = state
                .ous
                .values()
                .filter(|ou| ou.parent_id == parent)
                .map(|ou| ou_json(state, &ou.id))
                .collect();
            page(ous, "OrganizationalUnits")
        }
        "ListAccountsForParent" => {
            let parent = existing_parent(state, call.required("ParentId")?)?;
            let accounts: Vec<&Account> = state
                .accounts
                .values()
                .filter(|account| account.parent_id == parent)
                .collect();
            respond(
                &accounts,
                token,
                page_size,
                empty_every,
                "Accounts",
                |account| account_json(state, account),
            )
        }
        "ListChildren" => {
            let parent = existing_parent(state, call.required("ParentId")?)?;
            let children: Vec<Value> = match call.required("ChildType")? {
                "ACCOUNT" => state
                    .accounts
                    .values()
                    .filter(|account| account.parent_id == parent)
                    .map(|account| json!({"Id": account.id, "Type": "ACCOUNT"}))
                    .collect(),
                "ORGANIZATIONAL_UNIT" => state
                    .ous
                    .values()
                    .filter(|ou| ou.parent_id == parent)
                    .map(|ou| json!({"Id": ou.id, "Type": "ORGANIZATIONAL_UNIT"}))
                    .collect(),
                other => {
                    return Err(invalid_input(
                        "INVALID_ENUM",
                        format!("`{other}` is not a valid ChildType"),
                    ));
                }
            };
            page(children, "Children")
        }
        "ListAccounts" => {
            let accounts: Vec<&Account> = state.accounts.values().collect();
            respond(
                &accounts,
                token,
                page_size,
                empty_every,
                "Accounts",
                |account| account_json(state, account),
            )
        }
        "ListParents" => {
            let child = call.required("ChildId")?;
            let parent = if let Some(account) = state.accounts.get(child) {
                account.parent_id.clone()
            } else if let Some(ou) = state.ous.get(child) {
                ou.parent_id.clone()
            } else {
                return Err(ApiError::new(
                    400,
                    "ChildNotFoundException",
                    "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.",
                ));
            };
            let kind = if parent == state.organization.root_id {
                "ROOT"
            } else {
                "ORGANIZATIONAL_UNIT"
            };
            page(vec![json!({"Id": parent, "Type": kind})], "Parents")
        }
        "DescribeOrganizationalUnit" => {
            let id = call.required("OrganizationalUnitId")?;
            if !state.ous.contains_key(id) {
                return Err(ou_not_found());
            }
            Ok(json!({"OrganizationalUnit": ou_json(state, id)}))
        }
        "ListTagsForResource" => {
            let id = call.required("ResourceId")?;
            let tags = if let Some(account) = state.accounts.get(id) {
                account.tags.clone()
            } else if state.ous.contains_key(id) || id == state.organization.root_id {
                state.resource_tags.get(id).cloned().unwrap_or_default()
            } else {
                return Err(ApiError::new(
                    400,
                    "TargetNotFoundException",
                    "We can't find a root, OU, account, or policy with the TargetId that you specified.",
                ));
            };
            let tags = tags
                .iter()
                .map(|(key, value)| json!({"Key": key, "Value": value}))
                .collect();
            page(tags, "Tags")
        }
        "ListAWSServiceAccessForOrganization" => {
            let principals = state
                .service_access
                .iter()
                .map(
                    |(principal, date)| json!({"ServicePrincipal": principal, "DateEnabled": date}),
                )
                .collect();
            page(principals, "EnabledServicePrincipals")
        }
        "ListDelegatedAdministrators" => {
            let wanted = call.string("ServicePrincipal");
            let mut seen = std::collections::BTreeSet::new();
            let mut admins = Vec::new();
            for admin in &state.delegated_administrators {
                if wanted.is_some_and(|wanted| wanted != admin.service_principal) {
                    continue;
                }
                if !seen.insert(admin.account_id.clone()) {
                    continue;
                }
                if let Some(account) = state.accounts.get(&admin.account_id) {
                    let mut entry = account_json(state, account);
                    if let Value::Object(map) = &mut entry {
                        map.remove("Paths");
                        map.insert(
                            "DelegationEnabledDate".to_string(),
                            json!(admin.delegation_enabled_date),
                        );
                    }
                    admins.push(entry);
                }
            }
            page(admins, "DelegatedAdministrators")
        }
        _ => Err(ApiError::new(
            400,
            "UnknownOperationException",
            "unknown operation",
        )),
    }
}

fn respond<T: Clone>(
    items: &[T],
    token: Option<&str>,
    page_size: usize,
    empty_every: u32,
    key: &str,
    render: impl Fn(&T) -> Value,
) -> ApiResult {
    let page = paginate(items, token, page_size, empty_every).ok_or_else(|| {
        invalid_input(
            "INVALID_NEXT_TOKEN",
            "The specified NextToken is not valid.",
        )
    })?;
    let mut out = serde_json::Map::new();
    out.insert(
        key.to_string(),
        Value::Array(page.items.iter().map(render).collect()),
    );
    if let Some(next) = page.next_token {
        out.insert("NextToken".to_string(), Value::String(next));
    }
    Ok(Value::Object(out))
}

fn page_size(state: &State, call: &Call<'_>) -> Result<usize, ApiError> {
    match call.input.get("MaxResults") {
        None | Some(Value::Null) => Ok(state.settings.organizations_default_page_size),
        Some(value) => {
            let value = value.as_i64().unwrap_or(0);
            if value < 1 {
                Err(invalid_input(
                    "MIN_VALUE_EXCEEDED",
                    "You provided a value that is too small: MaxResults must be at least 1.",
                ))
            } else if value > 20 {
                Err(invalid_input(
                    "MAX_VALUE_EXCEEDED",
                    "You provided a value that is too large: MaxResults must be at most 20.",
                ))
            } else {
                Ok(usize::try_from(value).unwrap_or(20))
            }
        }
    }
}

fn ou_not_found() -> ApiError {
    ApiError::new(
        400,
        "OrganizationalUnitNotFoundException",
        "We can't find an OU with the OrganizationalUnitId that you specified.",
    )
}

fn existing_parent<'a>(state: &State, parent: &'a str) -> Result<&'a str, ApiError> {
    if parent == state.organization.root_id || state.ous.contains_key(parent) {
        Ok(parent)
    } else {
        Err(ApiError::new(
            400,
            "ParentNotFoundException",
            "We can't find a root or OU with the ParentId that you specified.",
        ))
    }
}

fn describe_organization(state: &State) -> Value {
    let management = state.management_account_id();
    let email = state
        .accounts
        .get(management)
        .map(|account| account.email.clone())
        .unwrap_or_default();
    json!({"Organization": {
        "Id": state.organization.id,
        "Arn": state.organization_arn(),
        "FeatureSet": state.organization.feature_set,
        "MasterAccountArn": state.account_arn(management),
        "MasterAccountId": management,
        "MasterAccountEmail": email,
        "AvailablePolicyTypes": [],
    }})
}

fn ou_json(state: &State, id: &str) -> Value {
    let name = state
        .ous
        .get(id)
        .map(|ou| ou.name.clone())
        .unwrap_or_default();
    let mut unit = json!({"Id": id, "Arn": state.ou_arn(id), "Name": name});
    if state.settings.organizations_paths == OrganizationsPaths::All {
        unit["Path"] = json!(state.path_of(id));
    }
    unit
}

/// The deprecated `Status` for a `State`.
fn legacy_status(account_state: &str) -> &'static str {
    match account_state {
        "SUSPENDED" | "CLOSED" => "SUSPENDED",
        "PENDING_CLOSURE" => "PENDING_CLOSURE",
        _ => "ACTIVE",
    }
}

fn account_json(state: &State, account: &Account) -> Value {
    let mut entry = json!({
        "Id": account.id,
        "Arn": state.account_arn(&account.id),
        "Email": account.email,
        "Name": account.name,
        "Status": legacy_status(&account.state),
        "State": account.state,
        "JoinedMethod": account.joined_method,
        "JoinedTimestamp": account.joined_timestamp,
    });
    if state.settings.organizations_paths != OrganizationsPaths::None {
        entry["Paths"] = json!([state.path_of(&account.id)]);
    }
    entry
}

fn access_denied() -> ApiError {
    ApiError::new(
        400,
        "AccessDeniedException",
        "You don't have permissions to access this resource.",
    )
}

fn constraint_violation(reason: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(400, "ConstraintViolationException", message).with("Reason", reason)
}

/// ServicePrincipal: 1-128 characters of `[\w+=,.@-]`.
fn service_principal<'a>(call: &'a Call<'_>) -> Result<&'a str, ApiError> {
    let principal = call.required("ServicePrincipal")?;
    let valid = principal.len() <= 128
        && principal
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if valid {
        Ok(principal)
    } else {
        Err(invalid_input(
            "INVALID_PATTERN",
            format!("The service principal `{principal}` is not valid."),
        ))
    }
}

fn enable_service_access(state: &mut State, call: &Call<'_>, is_management: bool) -> ApiResult {
    if !is_management {
        return Err(access_denied());
    }
    let principal = service_principal(call)?.to_string();
    if state.organization.feature_set != "ALL" {
        return Err(constraint_violation(
            "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
            "You can enable trusted access only in an organization with all features enabled.",
        ));
    }
    state
        .service_access
        .entry(principal)
        .or_insert_with(|| now_millis() / 1000);
    Ok(json!({}))
}

fn register_delegated_administrator(
    state: &mut State,
    call: &Call<'_>,
    is_management: bool,
) -> ApiResult {
    if !is_management {
        return Err(access_denied());
    }
    let account_id = call.required("AccountId")?.to_string();
    let principal = service_principal(call)?.to_string();
    if account_id.len() != 12 || !account_id.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(invalid_input(
            "INVALID_PATTERN",
            format!("The account id `{account_id}` is not 12 digits."),
        ));
    }
    let Some(account) = state.accounts.get(&account_id) else {
        return Err(ApiError::new(
            400,
            "AccountNotFoundException",
            "You specified an account that doesn't exist.",
        ));
    };
    if account_id == state.management_account_id() {
        return Err(constraint_violation(
            "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR",
            "You cannot register the management account of the organization as a delegated administrator.",
        ));
    }
    if account.state != "ACTIVE" {
        return Err(constraint_violation(
            "CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR",
            "You cannot register a suspended account as a delegated administrator.",
        ));
    }
    if !state.service_access.contains_key(&principal) {
        return Err(constraint_violation(
            "SERVICE_ACCESS_NOT_ENABLED",
            format!("Trusted access for `{principal}` is not enabled in this organization."),
        ));
    }
    let registered: Vec<&str> = state
        .delegated_administrators
        .iter()
        .filter(|admin| admin.service_principal == principal)
        .map(|admin| admin.account_id.as_str())
        .collect();
    if registered.contains(&account_id.as_str()) {
        return Err(ApiError::new(
            400,
            "AccountAlreadyRegisteredException",
            "The provided account is already a delegated administrator for your organization.",
        ));
    }
    let limit = DELEGATED_ADMINISTRATOR_LIMITS
        .iter()
        .find(|(service, _)| *service == principal)
        .map(|(_, limit)| *limit);
    if limit.is_some_and(|limit| registered.len() >= limit) {
        return Err(constraint_violation(
            "MAX_DELEGATED_ADMINISTRATORS_FOR_SERVICE_LIMIT_EXCEEDED",
            format!("`{principal}` already has its maximum number of delegated administrators."),
        ));
    }
    state.delegated_administrators.push(DelegatedAdministrator {
        account_id,
        service_principal: principal,
        delegation_enabled_date: now_millis() / 1000,
    });
    Ok(json!({}))
}
