//! AWS IAM as doctor reads it: whether a role exists in the caller's account (GetRole), for the
//! service-linked roles License Manager and AWS Marketplace license management work through.

use super::config::AwsClients;
use super::error::{AwsError, AwsErrorKind};

/// Whether the role `name` exists in the caller's account: `Ok(false)` when IAM answers
/// NoSuchEntity, an error for anything else (AccessDenied included).
pub async fn role_exists(clients: &AwsClients, name: &str) -> Result<bool, AwsError> {
    match clients.iam.get_role().role_name(name).send().await {
        Ok(output) => Ok(output.role().is_some()),
        Err(error) => {
            let error = AwsError::from_sdk("iam", "GetRole", error);
            if error.kind == AwsErrorKind::NotFound {
                Ok(false)
            } else {
                Err(error)
            }
        }
    }
}
