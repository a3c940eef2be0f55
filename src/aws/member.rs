//! Acting as a member account: STS AssumeRole into the member role from the management account,
//! the one License Manager call a member makes on its own grant (AcceptGrant), and Bedrock clients
//! acting as the member in any region (`entitle verify`). The assumed credentials live only inside
//! the session and the clients built from it: never printed, logged or journalled.

use std::fmt;

use aws_credential_types::Credentials;
use aws_types::request_id::RequestId;

use super::config::AwsClients;
use super::error::AwsError;
use super::grants::Written;
use crate::model::AccountId;

/// One member account acting through an assumed role: a License Manager client, and Bedrock
/// clients on demand (`MemberSession::bedrock`), all signing with the assumed credentials.
#[derive(Clone)]
pub struct MemberSession {
    /// The member account.
    pub account: AccountId,
    /// The role assumed (its ARN), for messages.
    pub role_arn: String,
    client: aws_sdk_licensemanager::Client,
    /// The grantor's Bedrock configuration (paced, retried, endpoint overrides kept) with the
    /// assumed credentials: `bedrock` gives it a region.
    bedrock: aws_sdk_bedrock::Config,
}

impl MemberSession {
    /// A Bedrock control-plane client acting as the member in `region` (the pacing
    /// interceptor, retries and endpoint overrides are the grantor's client's).
    pub(crate) fn bedrock(&self, region: &str) -> aws_sdk_bedrock::Client {
        let config = self
            .bedrock
            .to_builder()
            .region(aws_types::region::Region::new(region.to_owned()))
            .build();
        aws_sdk_bedrock::Client::from_conf(config)
    }
}

impl fmt::Debug for MemberSession {
    // The client holds the assumed credentials: only the account and role are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberSession")
            .field("account", &self.account)
            .field("role_arn", &self.role_arn)
            .finish_non_exhaustive()
    }
}

/// The partition (`aws`, `aws-us-gov`, `aws-cn`) of an ARN, e.g. the caller's.
pub use crate::model::grant::partition_of;

/// `arn:<partition>:iam::<account>:role/<name>`.
pub fn role_arn(partition: &str, account: &AccountId, role: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{role}")
}

/// Assumes `role_arn` (sts:AssumeRole, one hour) as `session_name`, and returns the session acting
/// as that account: its License Manager client has SDK retries off (paced and retried by the
/// caller like the grantor's grant writes); its Bedrock clients are paced and retried like every
/// read.
pub async fn assume(
    clients: &AwsClients,
    account: &AccountId,
    role_arn: &str,
    session_name: &str,
) -> Result<MemberSession, AwsError> {
    let output = clients
        .sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session_name)
        .duration_seconds(3600)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("sts", "AssumeRole", error))?;
    let Some(issued) = output.credentials() else {
        return Err(AwsError {
            service: "sts",
            operation: "AssumeRole",
            code: None,
            message: format!("AssumeRole of `{role_arn}` answered without credentials"),
            request_id: output.request_id().map(str::to_owned),
            kind: super::error::AwsErrorKind::Other,
        });
    };
    let credentials = Credentials::new(
        issued.access_key_id(),
        issued.secret_access_key(),
        Some(issued.session_token().to_owned()),
        std::time::SystemTime::try_from(*issued.expiration()).ok(),
        "entitle-member-role",
    );
    let config = clients
        .license_manager_bare
        .config()
        .to_builder()
        .credentials_provider(credentials.clone())
        .build();
    let bedrock = clients
        .bedrock
        .config()
        .to_builder()
        .credentials_provider(credentials)
        .build();
    Ok(MemberSession {
        account: account.clone(),
        role_arn: role_arn.to_owned(),
        client: aws_sdk_licensemanager::Client::from_conf(config),
        bedrock,
    })
}

/// AcceptGrant as the member: a PENDING_ACCEPT grant becomes DISABLED (ready to activate).
pub async fn accept_grant(session: &MemberSession, grant_arn: &str) -> Result<Written, AwsError> {
    let output = session
        .client
        .accept_grant()
        .grant_arn(grant_arn)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("license-manager", "AcceptGrant", error))?;
    Ok(Written::answer(
        output.grant_arn().unwrap_or(grant_arn),
        output.status().map(|status| status.as_str()),
        "DISABLED",
        output.version(),
        output.request_id(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_comes_from_the_arn() {
        assert_eq!(
            partition_of("arn:aws-us-gov:sts::100000000001:assumed-role/r/s"),
            Some("aws-us-gov")
        );
        assert_eq!(partition_of("arn::iam::1:root"), None);
    }

    #[test]
    fn role_arns_carry_the_partition() {
        let account = AccountId::parse("111111111111").unwrap();
        assert_eq!(
            role_arn("aws-us-gov", &account, "OrganizationAccountAccessRole"),
            "arn:aws-us-gov:iam::111111111111:role/OrganizationAccountAccessRole"
        );
    }
}
