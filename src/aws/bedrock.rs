//! Amazon Bedrock's control plane as `entitle verify` reads it: `GetFoundationModelAvailability`
//! for one model, as a member account (through its assumed role) in one region, returned as
//! [`ModelAvailability`]. Paced by the Bedrock client's pacing interceptor like every read.

use super::config::AwsClients;
use super::error::AwsError;
use super::member::MemberSession;
use crate::model::bedrock::{BedrockStatus, ModelAvailability};

/// The region the caller's configuration names for Bedrock (the profile's, `AWS_REGION`'s; the
/// sandbox's home region under `--sandbox`), when it names one.
pub fn default_region(clients: &AwsClients) -> Option<String> {
    clients
        .bedrock
        .config()
        .region()
        .map(|region| region.as_ref().to_owned())
}

/// What Bedrock says about `model_id` for the session's account in `region`.
pub async fn model_availability(
    session: &MemberSession,
    region: &str,
    model_id: &str,
) -> Result<ModelAvailability, AwsError> {
    ask(&session.bedrock(region), region, model_id).await
}

/// What Bedrock says about `model_id` for the caller's own account (the management account,
/// which needs no role) in `region`.
pub async fn own_model_availability(
    clients: &AwsClients,
    region: &str,
    model_id: &str,
) -> Result<ModelAvailability, AwsError> {
    let config = clients
        .bedrock
        .config()
        .to_builder()
        .region(aws_types::region::Region::new(region.to_owned()))
        .build();
    ask(
        &aws_sdk_bedrock::Client::from_conf(config),
        region,
        model_id,
    )
    .await
}

async fn ask(
    client: &aws_sdk_bedrock::Client,
    region: &str,
    model_id: &str,
) -> Result<ModelAvailability, AwsError> {
    let output = client
        .get_foundation_model_availability()
        .model_id(model_id)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("bedrock", "GetFoundationModelAvailability", error))?;
    let status = |value: &str| BedrockStatus(value.to_owned());
    let (agreement, agreement_error) = match output.agreement_availability() {
        Some(agreement) => (
            status(agreement.status().as_str()),
            agreement.error_message().map(str::to_owned),
        ),
        // Required by the model; a missing one is reported as Bedrock's own ERROR would be.
        None => (
            status("ERROR"),
            Some("Bedrock answered without agreementAvailability".to_owned()),
        ),
    };
    Ok(ModelAvailability {
        model_id: model_id.to_owned(),
        region: region.to_owned(),
        agreement,
        agreement_error,
        authorization: status(output.authorization_status().as_str()),
        entitlement: status(output.entitlement_availability().as_str()),
        region_availability: status(output.region_availability().as_str()),
    })
}
