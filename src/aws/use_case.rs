//! Amazon Bedrock's use-case form for Anthropic models, at the caller's account: whether one is
//! on file (GetUseCaseForModelAccess) and submitting one (PutUseCaseForModelAccess). Submitted
//! at the management account, every member account inherits it (Bedrock user guide,
//! "Access Amazon Bedrock foundation models").

use aws_smithy_types::Blob;

use super::config::AwsClients;
use super::error::{AwsError, AwsErrorKind};

/// The form on file for the caller's account, as submitted (the JSON document's bytes); `None`
/// when Bedrock answers ResourceNotFound (none was ever submitted).
pub async fn form(clients: &AwsClients) -> Result<Option<Vec<u8>>, AwsError> {
    match clients.bedrock.get_use_case_for_model_access().send().await {
        Ok(output) => Ok(Some(output.form_data().as_ref().to_vec())),
        Err(error) => {
            let error = AwsError::from_sdk("bedrock", "GetUseCaseForModelAccess", error);
            if error.kind == AwsErrorKind::NotFound {
                Ok(None)
            } else {
                Err(error)
            }
        }
    }
}

/// Whether a form is on file for the caller's account.
pub async fn form_on_file(clients: &AwsClients) -> Result<bool, AwsError> {
    form(clients).await.map(|form| form.is_some())
}

/// Submits `form` (the JSON document's bytes; the SDK base64-encodes them on the wire).
pub async fn submit(clients: &AwsClients, form: &[u8]) -> Result<(), AwsError> {
    clients
        .bedrock
        .put_use_case_for_model_access()
        .form_data(Blob::new(form.to_vec()))
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("bedrock", "PutUseCaseForModelAccess", error))?;
    Ok(())
}
