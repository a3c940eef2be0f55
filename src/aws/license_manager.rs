//! License Manager reads: the Marketplace licenses the caller received, the grants distributed
//! from a license (with the tags that say whose each is: known from a name entitle gave, read
//! for grants named before names carried a digest), and every account's received grant of a
//! license across the organisation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_licensemanager::types::Filter;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::config::AwsClients;
use super::error::{AwsError, AwsErrorKind};
use super::paging::all_pages;
use crate::model::grant::{
    DistributedGrant, GrantStatus, LicenseInfo, LicenseStatus, NamedOwner, Operation,
    ReceivedGrant, account_of_principal_arn, owner_from_name,
};

const SERVICE: &str = "license-manager";
/// The most License Manager returns per page.
const PAGE_SIZE: i32 = 100;
/// The issuer name of every Marketplace license.
pub const MARKETPLACE_ISSUER: &str = "AWS/Marketplace";

pub(super) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// Every license the caller received from AWS Marketplace, in any status.
pub async fn marketplace_licenses(clients: &AwsClients) -> Result<Vec<LicenseInfo>, AwsError> {
    let operation = "ListReceivedLicenses";
    all_pages(|token| async move {
        let page = clients
            .license_manager
            .list_received_licenses()
            .filters(filter("IssuerName", MARKETPLACE_ISSUER))
            .max_results(PAGE_SIZE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(SERVICE, operation, error))?;
        let licenses = page.licenses().iter().filter_map(convert_license).collect();
        Ok((licenses, page.next_token().map(str::to_owned)))
    })
    .await
}

fn convert_license(license: &aws_sdk_licensemanager::types::GrantedLicense) -> Option<LicenseInfo> {
    let allowed_operations: BTreeSet<Operation> = license
        .received_metadata()
        .map(|metadata| {
            metadata
                .allowed_operations()
                .iter()
                .map(|op| Operation::from_aws(op.as_str()))
                .collect()
        })
        .unwrap_or_default();
    Some(LicenseInfo {
        arn: license.license_arn()?.to_owned(),
        product_sku: license.product_sku().unwrap_or_default().to_owned(),
        product_name: license.product_name().unwrap_or_default().to_owned(),
        status: LicenseStatus::from_aws(
            license
                .status()
                .map(|status| status.as_str())
                .unwrap_or("UNKNOWN"),
        ),
        allowed_operations,
        issuer: license
            .issuer()
            .and_then(|issuer| issuer.name())
            .unwrap_or_default()
            .to_owned(),
        home_region: license.home_region().unwrap_or_default().to_owned(),
    })
}

/// Every grant distributed from `license_arn`, each with the tags that say whose it is: for a
/// grant whose name entitle gave (and verifies), the tags entitle wrote on it, known from the
/// name; for a grant named as entitle named them before, read (one ListTagsForResource each:
/// License Manager's grant listings carry no tags); none for any other grant.
pub async fn distributed_grants(
    clients: &AwsClients,
    license_arn: &str,
    concurrency: usize,
) -> Result<Vec<DistributedGrant>, AwsError> {
    let operation = "ListDistributedGrants";
    let mut grants = all_pages(|token| async move {
        let page = clients
            .license_manager
            .list_distributed_grants()
            .filters(filter("LicenseArn", license_arn))
            .max_results(PAGE_SIZE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(SERVICE, operation, error))?;
        let grants = page
            .grants()
            .iter()
            .map(|grant| DistributedGrant {
                arn: grant.grant_arn().to_owned(),
                name: grant.grant_name().to_owned(),
                principal_arn: grant.grantee_principal_arn().to_owned(),
                status: GrantStatus::from_aws(grant.grant_status().as_str()),
                status_reason: grant.status_reason().map(str::to_owned),
                version: grant.version().to_owned(),
                granted_operations: grant
                    .granted_operations()
                    .iter()
                    .map(|op| Operation::from_aws(op.as_str()))
                    .collect(),
                tags: BTreeMap::new(),
                license_arn: grant.license_arn().to_owned(),
            })
            .collect();
        Ok((grants, page.next_token().map(str::to_owned)))
    })
    .await?;
    // A name entitle gave, verified, says whose the grant is; only grants named the way entitle
    // named them before (their tags decide) are read one by one.
    let semaphore = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (index, grant) in grants.iter_mut().enumerate() {
        match owner_from_name(&grant.name, &grant.license_arn, &grant.principal_arn) {
            NamedOwner::Legacy => {}
            NamedOwner::Foreign => continue,
            owner @ NamedOwner::Rollout { .. } => {
                grant.tags = owner.tags().unwrap_or_default();
                continue;
            }
        }
        let (client, semaphore, arn) = (
            clients.license_manager.clone(),
            semaphore.clone(),
            grant.arn.clone(),
        );
        tasks.spawn(async move {
            let _permit = semaphore.acquire().await;
            let output = client
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .map_err(|error| AwsError::from_sdk(SERVICE, "ListTagsForResource", error))?;
            let tags: BTreeMap<String, String> = output
                .tags()
                .iter()
                .filter_map(|tag| {
                    Some((
                        tag.key()?.to_owned(),
                        tag.value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect();
            Ok::<_, AwsError>((index, tags))
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let (index, tags) = joined.map_err(|error| AwsError {
            service: SERVICE,
            operation: "ListTagsForResource",
            code: None,
            message: format!("a tag read stopped: {error}"),
            request_id: None,
            kind: AwsErrorKind::Other,
        })??;
        grants[index].tags = tags;
    }
    Ok(grants)
}

/// Every account's received grant of `license_arn` across the organisation (the per-account
/// grants an organisation or OU grant fans out into, and direct account grants).
pub async fn received_grants(
    clients: &AwsClients,
    license_arn: &str,
) -> Result<Vec<ReceivedGrant>, AwsError> {
    let operation = "ListReceivedGrantsForOrganization";
    all_pages(|token| async move {
        let page = clients
            .license_manager
            .list_received_grants_for_organization()
            .license_arn(license_arn)
            .max_results(PAGE_SIZE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(SERVICE, operation, error))?;
        let grants = page
            .grants()
            .iter()
            .filter_map(|grant| {
                Some(ReceivedGrant {
                    account: account_of_principal_arn(grant.grantee_principal_arn())?,
                    grant_arn: grant.grant_arn().to_owned(),
                    parent_arn: grant.parent_arn().to_owned(),
                    status: GrantStatus::from_aws(grant.grant_status().as_str()),
                })
            })
            .collect();
        Ok((grants, page.next_token().map(str::to_owned)))
    })
    .await
}
