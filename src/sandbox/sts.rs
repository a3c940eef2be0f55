//! AWS STS (query protocol, XML answers): GetCallerIdentity and AssumeRole. Credentials issued by
//! AssumeRole carry the target account in their access key id, which is how later calls made
//! with them are attributed to that account; the role and session they stand for are kept in
//! `State.assumed_role_keys`, so GetCallerIdentity answers the real assumed-role ARN. AssumeRole
//! succeeds only into a role named in `settings.member_role_names` that was not removed from the
//! account; every ARN is in the state's partition.

use super::api::{ApiError, Call, check_name, iso8601, now_millis, query_validation_error};
use super::state::{AssumedRoleKey, ORGANIZATION_ACCOUNT_ACCESS_ROLE, State};

/// The operations this module answers.
pub(crate) const OPERATIONS: [&str; 2] = ["GetCallerIdentity", "AssumeRole"];

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Who an access key acts as: for keys issued by AssumeRole, the role and session.
fn assumed_role<'a>(state: &'a State, access_key: &str) -> Option<&'a AssumedRoleKey> {
    state.assumed_role_keys.get(access_key)
}

/// The caller's ARN as GetCallerIdentity shows it: `arn:<p>:sts::<account>:assumed-role/<role>/
/// <session>` for AssumeRole credentials, `arn:<p>:iam::<account>:user/sandbox` otherwise.
fn caller_arn(state: &State, caller: &str, access_key: &str) -> String {
    match assumed_role(state, access_key) {
        Some(key) => state.arn(
            "sts",
            &key.account_id,
            &format!("assumed-role/{}/{}", key.role_name, key.session_name),
        ),
        // An ASIA key this state did not issue (e.g. from before a reset): the default role.
        None if access_key.starts_with("ASIA") => {
            let role = state
                .settings
                .member_role_names
                .first()
                .map_or(ORGANIZATION_ACCOUNT_ACCESS_ROLE, String::as_str);
            state.arn("sts", caller, &format!("assumed-role/{role}/sandbox"))
        }
        None => state.arn("iam", caller, "user/sandbox"),
    }
}

/// RoleSessionName: 2-64 characters of `[\w+=,.@-]`, as the STS model constrains it.
fn check_session_name(session: &str) -> Result<(), ApiError> {
    check_name(session, "roleSessionName", 2, 64, r"[\w+=,.@-]*")
}

/// Answers one STS call with the XML body of a success.
pub(crate) fn handle(
    state: &mut State,
    call: &Call<'_>,
    access_key: &str,
) -> Result<String, ApiError> {
    let body = match call.operation {
        "GetCallerIdentity" => {
            let arn = caller_arn(state, call.caller, access_key);
            let user_id = match assumed_role(state, access_key) {
                Some(key) => format!("AROASANDBOX{}:{}", key.account_id, key.session_name),
                None => format!("AIDASANDBOX{}", call.caller),
            };
            format!(
                "<GetCallerIdentityResult><Arn>{}</Arn><UserId>{}</UserId><Account>{}</Account></GetCallerIdentityResult>",
                xml_escape(&arn),
                xml_escape(&user_id),
                call.caller
            )
        }
        "AssumeRole" => assume_role(state, call, access_key)?,
        other => {
            return Err(ApiError::new(
                400,
                "InvalidAction",
                format!("Could not find operation {other} for version 2011-06-15"),
            ));
        }
    };
    Ok(format!(
        "<{op}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">{body}<ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></{op}Response>",
        op = call.operation,
        id = call.request_id
    ))
}

/// AssumeRole into `arn:<partition>:iam::<account>:role/[path/]<name>`.
fn assume_role(state: &mut State, call: &Call<'_>, access_key: &str) -> Result<String, ApiError> {
    let role_arn = call
        .string("RoleArn")
        .filter(|arn| !arn.is_empty())
        .ok_or_else(|| {
            query_validation_error(
                "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
            )
        })?;
    let session = call.string("RoleSessionName").ok_or_else(|| {
        query_validation_error(
            "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let prefix = format!("arn:{}:iam::", state.partition());
    let (account, role_path) = role_arn
        .strip_prefix(&prefix)
        .and_then(|rest| rest.split_once(":role/"))
        .filter(|(account, path)| {
            account.len() == 12
                && account.bytes().all(|byte| byte.is_ascii_digit())
                && !path.is_empty()
        })
        .ok_or_else(|| {
            query_validation_error(format!(
                "{role_arn} is invalid: expected arn:{}:iam::<12-digit account>:role/<name>",
                state.partition()
            ))
        })?;
    let role = role_path.rsplit('/').next().unwrap_or(role_path);
    if !state.accounts.contains_key(account) || !state.role_exists(account, role) {
        return Err(ApiError::new(
            403,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller_arn(state, call.caller, access_key)
            ),
        ));
    }
    // AWS validates the session name before it authorises; the emulator answers AccessDenied
    // first (an unknown account or role), then the session name.
    check_session_name(session)?;
    let (account, role, session) = (account.to_string(), role.to_string(), session.to_string());
    let suffix = state.fresh_hex(8).to_uppercase();
    let key_id = format!("ASIA{account}{suffix}");
    state.assumed_role_keys.insert(
        key_id.clone(),
        AssumedRoleKey {
            account_id: account.clone(),
            role_name: role.clone(),
            session_name: session.clone(),
        },
    );
    let expiration = iso8601(now_millis() / 1000 + 3600);
    let assumed_arn = state.arn("sts", &account, &format!("assumed-role/{role}/{session}"));
    Ok(format!(
        "<AssumeRoleResult><Credentials><AccessKeyId>{key_id}</AccessKeyId><SecretAccessKey>sandbox-secret</SecretAccessKey><SessionToken>sandbox-session-{account}-{suffix}</SessionToken><Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROASANDBOX{account}:{}</AssumedRoleId><Arn>{}</Arn></AssumedRoleUser><PackedPolicySize>0</PackedPolicySize></AssumeRoleResult>",
        xml_escape(&session),
        xml_escape(&assumed_arn)
    ))
}

/// An STS error body.
pub(crate) fn error_xml(error: &ApiError, request_id: &str) -> String {
    let kind = if error.status >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        xml_escape(&error.code),
        xml_escape(&error.message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_follow_the_model() {
        assert!(check_session_name("entitle").is_ok());
        assert!(check_session_name("a.b@c=d,e+f-g_h").is_ok());
        for bad in ["x", "has space", "slash/no", &"y".repeat(65)] {
            let error = check_session_name(bad).err();
            assert_eq!(
                error.map(|error| error.code),
                Some("ValidationError".to_string()),
                "{bad}"
            );
        }
    }
}
