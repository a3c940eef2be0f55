//! AWS STS (query protocol, XML answers): GetCallerIdentity and AssumeRole. Credentials issued by
//! AssumeRole carry the target account in their access key id, which is how later calls made
//! with them are attributed to that account.

use super::api::{ApiError, Call, iso8601, now_millis};
use super::state::State;

/// The operations this module answers.
pub(crate) const OPERATIONS: [&str; 2] = ["GetCallerIdentity", "AssumeRole"];

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Answers one STS call with the XML body of a success.
pub(crate) fn handle(
    state: &mut State,
    call: &Call<'_>,
    access_key: &str,
) -> Result<String, ApiError> {
    let body = match call.operation {
        "GetCallerIdentity" => {
            let arn = if access_key.starts_with("ASIA") {
                format!(
                    "arn:aws:sts::{}:assumed-role/OrganizationAccountAccessRole/sandbox",
                    call.caller
                )
            } else {
                format!("arn:aws:iam::{}:user/sandbox", call.caller)
            };
            format!(
                "<GetCallerIdentityResult><Arn>{}</Arn><UserId>AIDASANDBOX{}</UserId><Account>{}</Account></GetCallerIdentityResult>",
                xml_escape(&arn),
                call.caller,
                call.caller
            )
        }
        "AssumeRole" => {
            let role_arn = call.required("RoleArn")?;
            let session = call.required("RoleSessionName")?;
            let account = role_arn
                .strip_prefix("arn:aws:iam::")
                .and_then(|rest| rest.split_once(":role/"))
                .map(|(account, _)| account)
                .filter(|account| {
                    account.len() == 12 && account.bytes().all(|byte| byte.is_ascii_digit())
                })
                .ok_or_else(|| {
                    ApiError::validation(format!(
                        "RoleArn `{role_arn}` is not a valid IAM role ARN"
                    ))
                })?;
            let role = role_arn.rsplit('/').next().unwrap_or_default();
            if !state.accounts.contains_key(account) {
                return Err(ApiError::new(
                    403,
                    "AccessDenied",
                    format!(
                        "User is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
                    ),
                ));
            }
            let suffix = state.fresh_hex(4).to_uppercase();
            let expiration = iso8601(now_millis() / 1000 + 3600);
            format!(
                "<AssumeRoleResult><Credentials><AccessKeyId>ASIA{account}{suffix}</AccessKeyId><SecretAccessKey>sandbox-secret</SecretAccessKey><SessionToken>sandbox-session-{account}-{suffix}</SessionToken><Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROASANDBOX{account}:{}</AssumedRoleId><Arn>arn:aws:sts::{account}:assumed-role/{}/{}</Arn></AssumedRoleUser><PackedPolicySize>0</PackedPolicySize></AssumeRoleResult>",
                xml_escape(session),
                xml_escape(role),
                xml_escape(session)
            )
        }
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
