//! AWS IAM as doctor reads it: whether a role exists in the caller's account (GetRole), for the
//! service-linked roles License Manager and AWS Marketplace license management work through.

use super::config::AwsClients;
use super::error::{AwsError, AwsErrorKind};

/// Whether the role `name` exists in the caller's account: `Ok(false)` when IAM answers
/// NoSuchEntity, an error for anything else (AccessDenied included).
pub async fn role_exists(clients: &AwsClients, name: &str) -> Result<bool, AwsError> {
    match clients.iam.get_role().role_name(name).send().await {
        Ok(output) => Ok(output.role().is_some()),
        // IAM's code is `NoSuchEntity` (query protocol), which the SDK models as
        // NoSuchEntityException: asked of the typed error, not of the code's spelling.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|service| service.is_no_such_entity_exception()) =>
        {
            Ok(false)
        }
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
