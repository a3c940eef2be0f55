//! AWS IAM (query protocol, signing name `iam`, XML answers): GetRole, which doctor uses to
//! check the service-linked roles of License Manager and of Marketplace license management. An
//! account's roles are its service-linked roles (`State.service_linked_roles`, both in the
//! management account of every seed) and the member roles STS AssumeRole accepts
//! (`settings.member_role_names`, minus those the `remove_role` admin action removed).

use super::api::{ApiError, Call, check_name, iso8601, query_validation_error};
use super::state::State;

/// The operations this module answers.
pub(crate) const OPERATIONS: [&str; 1] = ["GetRole"];

/// License Manager's core service-linked role (License Manager UG, "License Manager – Core role").
pub const LICENSE_MANAGER_ROLE: &str = "AWSServiceRoleForAWSLicenseManagerRole";
/// Its path.
pub const LICENSE_MANAGER_ROLE_PATH: &str = "/aws-service-role/license-manager.amazonaws.com/";
/// AWS Marketplace's service-linked role for license management (Marketplace buyer guide,
/// "Service-linked role to share entitlements for AWS Marketplace").
pub const MARKETPLACE_ROLE: &str = "AWSServiceRoleForMarketplaceLicenseManagement";
/// Its path.
pub const MARKETPLACE_ROLE_PATH: &str =
    "/aws-service-role/license-management.marketplace.amazonaws.com/";

/// When the seeds' roles were created (epoch seconds, 2024-01-01).
const ROLE_CREATED: i64 = 1_704_067_200;

const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// The service-linked roles every seed gives the management account: name -> path.
pub(crate) fn seeded_service_linked_roles() -> std::collections::BTreeMap<String, String> {
    [
        (LICENSE_MANAGER_ROLE, LICENSE_MANAGER_ROLE_PATH),
        (MARKETPLACE_ROLE, MARKETPLACE_ROLE_PATH),
    ]
    .iter()
    .map(|(name, path)| ((*name).to_string(), (*path).to_string()))
    .collect()
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Percent-encodes a policy document as IAM returns it (RFC 3986 unreserved kept).
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// RoleName: 1-64 characters of `[\w+=,.@-]`.
fn check_role_name(name: &str) -> Result<(), ApiError> {
    check_name(name, "roleName", 1, 64, r"[\w+=,.@-]+")
}

/// The role `name` of `account` as `(path, trusted principal)`, if it exists.
fn find_role(state: &State, account: &str, name: &str) -> Option<(String, String)> {
    if let Some(path) = state
        .service_linked_roles
        .get(account)
        .and_then(|roles| roles.get(name))
    {
        let service = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        return Some((path.clone(), format!("{{\"Service\":\"{service}\"}}")));
    }
    // The same roles STS AssumeRole accepts (in the management account too, as there).
    if state.role_exists(account, name) {
        let trusted = format!(
            "{{\"AWS\":\"{}\"}}",
            state.arn("iam", state.management_account_id(), "root")
        );
        return Some(("/".to_string(), trusted));
    }
    None
}

/// Answers one IAM call with the XML body of a success.
pub(crate) fn handle(state: &mut State, call: &Call<'_>) -> Result<String, ApiError> {
    if !state.accounts.contains_key(call.caller) {
        return Err(ApiError::new(
            403,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: iam:{}",
                state.arn("iam", call.caller, "user/sandbox"),
                call.operation
            ),
        ));
    }
    let body = match call.operation {
        "GetRole" => get_role(state, call)?,
        other => {
            return Err(ApiError::new(
                400,
                "InvalidAction",
                format!("Could not find operation {other} for version 2010-05-08"),
            ));
        }
    };
    Ok(format!(
        "<{op}Response xmlns=\"{NAMESPACE}\">{body}<ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></{op}Response>",
        op = call.operation,
        id = call.request_id
    ))
}

fn get_role(state: &State, call: &Call<'_>) -> Result<String, ApiError> {
    let name = call.string("RoleName").ok_or_else(|| {
        query_validation_error(
            "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null",
        )
    })?;
    check_role_name(name)?;
    let (path, principal) = find_role(state, call.caller, name).ok_or_else(|| {
        ApiError::new(
            404,
            "NoSuchEntity",
            format!("The role with name {name} cannot be found."),
        )
    })?;
    let arn = state.arn("iam", call.caller, &format!("role{path}{name}"));
    let policy = format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{principal},\"Action\":\"sts:AssumeRole\"}}]}}"
    );
    let hash = arn.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let role_id = format!("AROA{hash:016X}");
    Ok(format!(
        "<GetRoleResult><Role><Path>{}</Path><RoleName>{}</RoleName><RoleId>{role_id}</RoleId><Arn>{}</Arn><CreateDate>{}</CreateDate><AssumeRolePolicyDocument>{}</AssumeRolePolicyDocument><MaxSessionDuration>3600</MaxSessionDuration><RoleLastUsed/></Role></GetRoleResult>",
        xml_escape(&path),
        xml_escape(name),
        xml_escape(&arn),
        iso8601(ROLE_CREATED),
        url_encode(&policy),
    ))
}

/// An IAM error body.
pub(crate) fn error_xml(error: &ApiError, request_id: &str) -> String {
    let kind = if error.status >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        xml_escape(&error.code),
        xml_escape(&error.message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_follow_the_model() {
        assert!(check_role_name(LICENSE_MANAGER_ROLE).is_ok());
        for bad in ["", "has space", "a/b", &"r".repeat(65)] {
            assert_eq!(
                check_role_name(bad).err().map(|error| error.code),
                Some("ValidationError".to_string()),
                "{bad}"
            );
        }
    }

    #[test]
    fn policies_are_url_encoded() {
        assert_eq!(url_encode("{\"a\": 1}"), "%7B%22a%22%3A%201%7D");
    }
}
