//! The writes `entitle doctor --fix` makes to the organisation's prerequisites: trusted access
//! (Organizations EnableAWSServiceAccess), License Manager's link to the organisation (License
//! Manager UpdateServiceSettings, OrganizationConfiguration.EnableIntegration), and License
//! Manager's delegated administrator (Organizations RegisterDelegatedAdministrator). Each returns
//! the request id AWS gave it, for the journal.

use aws_types::request_id::RequestId;

use super::config::AwsClients;
use super::error::AwsError;

/// Enables trusted access for `principal` (management account only).
pub async fn enable_service_access(
    clients: &AwsClients,
    principal: &str,
) -> Result<Option<String>, AwsError> {
    let output = clients
        .organizations
        .enable_aws_service_access()
        .service_principal(principal)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("organizations", "EnableAWSServiceAccess", error))?;
    Ok(output.request_id().map(str::to_owned))
}

/// Links License Manager to the organisation ("Link AWS Organizations accounts"), leaving the
/// other settings as they are.
pub async fn link_license_manager(clients: &AwsClients) -> Result<Option<String>, AwsError> {
    use aws_sdk_licensemanager::types::OrganizationConfiguration;
    let configuration = OrganizationConfiguration::builder()
        .enable_integration(true)
        .build();
    let output = clients
        .license_manager
        .update_service_settings()
        .organization_configuration(configuration)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("license-manager", "UpdateServiceSettings", error))?;
    Ok(output.request_id().map(str::to_owned))
}

/// Registers `account` as the delegated administrator of `principal`.
pub async fn register_delegated_administrator(
    clients: &AwsClients,
    account: &str,
    principal: &str,
) -> Result<Option<String>, AwsError> {
    let output = clients
        .organizations
        .register_delegated_administrator()
        .account_id(account)
        .service_principal(principal)
        .send()
        .await
        .map_err(|error| {
            AwsError::from_sdk("organizations", "RegisterDelegatedAdministrator", error)
        })?;
    Ok(output.request_id().map(str::to_owned))
}
