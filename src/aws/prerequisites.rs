//! The reads `entitle doctor` adds to the rest: delegated administrators, trusted access,
//! License Manager's settings, purchase agreements by product, and the licenses every account of
//! the organisation received. Each returns model types or an `AwsError`.

use std::collections::BTreeSet;

use super::config::AwsClients;
use super::error::AwsError;
use super::paging::all_pages;
use crate::model::AccountId;
use crate::model::doctor::{AgreementSummary, LicenseManagerSettings, OrganizationLicense};

/// The service principals whose delegated administrator may run entitle.
const LICENSE_MANAGER_PRINCIPAL: &str = "license-manager.amazonaws.com";

/// The accounts registered as License Manager's delegated administrator
/// (Organizations ListDelegatedAdministrators, ServicePrincipal `license-manager.amazonaws.com`).
pub async fn license_manager_administrators(
    clients: &AwsClients,
) -> Result<BTreeSet<AccountId>, AwsError> {
    let operation = "ListDelegatedAdministrators";
    let ids = all_pages(|token| async move {
        let page = clients
            .organizations
            .list_delegated_administrators()
            .service_principal(LICENSE_MANAGER_PRINCIPAL)
            .max_results(20)
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("organizations", operation, error))?;
        let ids: Vec<AccountId> = page
            .delegated_administrators()
            .iter()
            .filter_map(|admin| AccountId::parse(admin.id()?).ok())
            .collect();
        Ok((ids, page.next_token().map(str::to_owned)))
    })
    .await?;
    Ok(ids.into_iter().collect())
}

/// The service principals with trusted access (Organizations ListAWSServiceAccessForOrganization).
pub async fn service_access(clients: &AwsClients) -> Result<BTreeSet<String>, AwsError> {
    let operation = "ListAWSServiceAccessForOrganization";
    let principals = all_pages(|token| async move {
        let page = clients
            .organizations
            .list_aws_service_access_for_organization()
            .max_results(20)
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("organizations", operation, error))?;
        let principals: Vec<String> = page
            .enabled_service_principals()
            .iter()
            .filter_map(|enabled| enabled.service_principal().map(str::to_owned))
            .collect();
        Ok((principals, page.next_token().map(str::to_owned)))
    })
    .await?;
    Ok(principals.into_iter().collect())
}

/// License Manager's GetServiceSettings.
pub async fn license_manager_settings(
    clients: &AwsClients,
) -> Result<LicenseManagerSettings, AwsError> {
    let output = clients
        .license_manager
        .get_service_settings()
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("license-manager", "GetServiceSettings", error))?;
    Ok(LicenseManagerSettings {
        organization_integration: output
            .organization_configuration()
            .is_some_and(|configuration| configuration.enable_integration()),
        cross_account_discovery: output.enable_cross_accounts_discovery().unwrap_or(false),
    })
}

/// The caller's purchase agreements for a product (SearchAgreements as the acceptor).
pub async fn agreements_for_product(
    clients: &AwsClients,
    product: &str,
) -> Result<Vec<AgreementSummary>, AwsError> {
    use aws_sdk_marketplaceagreement::types::Filter;
    let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
    all_pages(|token| async move {
        let page = clients
            .marketplace
            .search_agreements()
            .catalog("AWSMarketplace")
            .filters(filter("PartyType", "Acceptor"))
            .filters(filter("AgreementType", "PurchaseAgreement"))
            .filters(filter("ResourceIdentifier", product))
            .max_results(50)
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("aws-marketplace", "SearchAgreements", error))?;
        let agreements = page
            .agreement_view_summaries()
            .iter()
            .filter_map(|summary| {
                Some(AgreementSummary {
                    id: summary.agreement_id()?.to_owned(),
                    status: summary
                        .status()
                        .map(|status| status.as_str().to_owned())
                        .unwrap_or_default(),
                    license_arns: summary
                        .entitlements()
                        .iter()
                        .filter_map(|entitlement| entitlement.license_arn().map(str::to_owned))
                        .collect(),
                })
            })
            .collect();
        Ok((agreements, page.next_token().map(str::to_owned)))
    })
    .await
}

/// Every license of `product` that an account of the organisation received
/// (License Manager ListReceivedLicensesForOrganization, filter ProductSKU).
pub async fn organization_licenses(
    clients: &AwsClients,
    product: &str,
) -> Result<Vec<OrganizationLicense>, AwsError> {
    use aws_sdk_licensemanager::types::Filter;
    let operation = "ListReceivedLicensesForOrganization";
    all_pages(|token| async move {
        let page = clients
            .license_manager
            .list_received_licenses_for_organization()
            .filters(Filter::builder().name("ProductSKU").values(product).build())
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk("license-manager", operation, error))?;
        let licenses = page
            .licenses()
            .iter()
            .filter_map(|license| {
                Some(OrganizationLicense {
                    arn: license.license_arn()?.to_owned(),
                    product_sku: license.product_sku().unwrap_or_default().to_owned(),
                    status: license
                        .status()
                        .map(|status| status.as_str().to_owned())
                        .unwrap_or_default(),
                    beneficiary: license.beneficiary().unwrap_or_default().to_owned(),
                })
            })
            .collect();
        Ok((licenses, page.next_token().map(str::to_owned)))
    })
    .await
}
