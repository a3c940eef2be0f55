//! Marketplace Agreement reads: an agreement's status, product and the licenses it entitles.

use super::config::AwsClients;
use super::error::AwsError;
use super::paging::all_pages;
use crate::model::agreement::AgreementInfo;

const SERVICE: &str = "aws-marketplace";

/// Reads one agreement and its entitlements.
pub async fn agreement(
    clients: &AwsClients,
    agreement_id: &str,
) -> Result<AgreementInfo, AwsError> {
    let described = clients
        .marketplace
        .describe_agreement()
        .agreement_id(agreement_id)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(SERVICE, "DescribeAgreement", error))?;
    let products = described
        .proposal_summary()
        .map(|summary| {
            summary
                .resources()
                .iter()
                .filter_map(|resource| resource.id().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let license_arns = all_pages(|token| async move {
        let page = clients
            .marketplace
            .get_agreement_entitlements()
            .agreement_id(agreement_id)
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(SERVICE, "GetAgreementEntitlements", error))?;
        let arns = page
            .agreement_entitlements()
            .iter()
            .filter_map(|entitlement| entitlement.license_arn().map(str::to_owned))
            .collect();
        Ok((arns, page.next_token().map(str::to_owned)))
    })
    .await?;
    Ok(AgreementInfo {
        id: agreement_id.to_owned(),
        status: described
            .status()
            .map(|status| status.as_str().to_owned())
            .unwrap_or_default(),
        products,
        license_arns,
    })
}

/// Every purchase agreement the caller accepted (SearchAgreements, PartyType Acceptor,
/// AgreementType PurchaseAgreement), with the licenses its entitlements name.
pub async fn purchase_agreements(clients: &AwsClients) -> Result<Vec<AgreementInfo>, AwsError> {
    use aws_sdk_marketplaceagreement::types::Filter;
    let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
    all_pages(|token| async move {
        let page = clients
            .marketplace
            .search_agreements()
            .catalog("AWSMarketplace")
            .filters(filter("PartyType", "Acceptor"))
            .filters(filter("AgreementType", "PurchaseAgreement"))
            .max_results(50)
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(SERVICE, "SearchAgreements", error))?;
        let agreements = page
            .agreement_view_summaries()
            .iter()
            .filter_map(|summary| {
                Some(AgreementInfo {
                    id: summary.agreement_id()?.to_owned(),
                    status: summary
                        .status()
                        .map(|status| status.as_str().to_owned())
                        .unwrap_or_default(),
                    products: summary
                        .proposal_summary()
                        .map(|proposal| {
                            proposal
                                .resources()
                                .iter()
                                .filter_map(|resource| resource.id().map(str::to_owned))
                                .collect()
                        })
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
