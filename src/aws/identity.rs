//! Who the credentials belong to (STS GetCallerIdentity): for the journal and for doctor.

use super::config::AwsClients;
use super::error::AwsError;

/// The caller's account and ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The 12-digit account id.
    pub account: String,
    /// The user or role ARN.
    pub arn: String,
}

/// GetCallerIdentity (needs no permission).
pub async fn caller(clients: &AwsClients) -> Result<Caller, AwsError> {
    let output = clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("sts", "GetCallerIdentity", error))?;
    Ok(Caller {
        account: output.account().unwrap_or_default().to_owned(),
        arn: output.arn().unwrap_or_default().to_owned(),
    })
}
