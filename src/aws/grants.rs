//! License Manager writes: create a grant, make a new version of it (activate, change its
//! operations), read it (alone, or the license's grants in one status), and delete it with its
//! current version. One attempt each: the caller
//! (`apply::executor`) paces, retries and journals them.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_licensemanager::types::{
    ActivationOverrideBehavior, AllowedOperation, GrantStatus as SdkGrantStatus, Options, Tag,
};
use aws_types::request_id::RequestId;

use super::config::{AwsClients, HOME_REGION};
use super::error::{AwsError, AwsErrorKind};
use super::license_manager::filter;
use super::paging::all_pages;
use crate::model::grant::{ActivationOverride, GrantStatus, Operation};

const SERVICE: &str = "license-manager";

/// What a write left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The grant.
    pub grant_arn: String,
    /// Its status right after the call.
    pub status: GrantStatus,
    /// Its version right after the call.
    pub version: String,
    /// `StatusReason`, where the answer has one (GetGrant: why a grant failed or was rejected).
    pub status_reason: Option<String>,
    /// The request id AWS gave the call, for the journal.
    pub request_id: Option<String>,
}

impl Written {
    /// A write's answer (GrantArn, Status, Version and the request id; License Manager's write
    /// operations answer the same three members): `default_status` where AWS gave none.
    pub(crate) fn answer(
        grant_arn: &str,
        status: Option<&str>,
        default_status: &str,
        version: Option<&str>,
        request_id: Option<&str>,
    ) -> Self {
        Self {
            grant_arn: grant_arn.to_owned(),
            status: GrantStatus::from_aws(status.unwrap_or(default_status)),
            version: version.unwrap_or_default().to_owned(),
            status_reason: None,
            request_id: request_id.map(str::to_owned),
        }
    }
}

/// A grant to create.
#[derive(Debug, Clone)]
pub struct NewGrant<'a> {
    /// Derived from (rollout, license, principal, generation): a retry or a re-run of the same
    /// intent sends the same token, so AWS creates the grant once.
    pub client_token: &'a str,
    /// The grant's name.
    pub name: &'a str,
    /// The license distributed.
    pub license_arn: &'a str,
    /// The one principal.
    pub principal_arn: &'a str,
    /// What grantees may do.
    pub operations: &'a BTreeSet<Operation>,
    /// Ownership tags.
    pub tags: &'a BTreeMap<String, String>,
}

fn sdk_operations(operations: &BTreeSet<Operation>) -> Vec<AllowedOperation> {
    operations
        .iter()
        .map(|operation| AllowedOperation::from(operation.as_str()))
        .collect()
}

/// CreateGrant.
pub async fn create_grant(clients: &AwsClients, grant: &NewGrant<'_>) -> Result<Written, AwsError> {
    let tags: Vec<Tag> = grant
        .tags
        .iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect();
    let output = clients
        .license_manager_bare
        .create_grant()
        .client_token(grant.client_token)
        .grant_name(grant.name)
        .license_arn(grant.license_arn)
        .principals(grant.principal_arn)
        .home_region(HOME_REGION)
        .set_allowed_operations(Some(sdk_operations(grant.operations)))
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(SERVICE, "CreateGrant", error))?;
    Ok(Written::answer(
        output.grant_arn().unwrap_or_default(),
        output.status().map(|status| status.as_str()),
        "UNKNOWN",
        output.version(),
        output.request_id(),
    ))
}

/// A new version of a grant: a status (ACTIVE to activate), operations, or both.
#[derive(Debug, Clone)]
pub struct GrantVersion<'a> {
    /// Derived from the intent and the source version, so a retry is not a second version.
    pub client_token: &'a str,
    /// The grant.
    pub grant_arn: &'a str,
    /// The version this one replaces.
    pub source_version: Option<&'a str>,
    /// The new status.
    pub status: Option<GrantStatus>,
    /// The new operations.
    pub operations: Option<&'a BTreeSet<Operation>>,
    /// For an activation: what happens to the account's own subscription.
    pub activation_override: Option<ActivationOverride>,
}

/// CreateGrantVersion.
pub async fn create_grant_version(
    clients: &AwsClients,
    version: &GrantVersion<'_>,
) -> Result<Written, AwsError> {
    let options = version.activation_override.as_ref().map(|behavior| {
        Options::builder()
            .activation_override_behavior(ActivationOverrideBehavior::from(behavior.as_str()))
            .build()
    });
    let output = clients
        .license_manager_bare
        .create_grant_version()
        .client_token(version.client_token)
        .grant_arn(version.grant_arn)
        .set_source_version(version.source_version.map(str::to_owned))
        .set_status(
            version
                .status
                .as_ref()
                .map(|status| SdkGrantStatus::from(status.as_str())),
        )
        .set_allowed_operations(version.operations.map(sdk_operations))
        .set_options(options)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(SERVICE, "CreateGrantVersion", error))?;
    Ok(Written::answer(
        output.grant_arn().unwrap_or(version.grant_arn),
        output.status().map(|status| status.as_str()),
        "UNKNOWN",
        output.version(),
        output.request_id(),
    ))
}

/// GetGrant: the grant's current status and version.
pub async fn get_grant(clients: &AwsClients, grant_arn: &str) -> Result<Written, AwsError> {
    let output = clients
        .license_manager_bare
        .get_grant()
        .grant_arn(grant_arn)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(SERVICE, "GetGrant", error))?;
    let grant = output.grant();
    Ok(Written {
        grant_arn: grant_arn.to_owned(),
        status: GrantStatus::from_aws(
            grant
                .map(|grant| grant.grant_status().as_str())
                .unwrap_or("UNKNOWN"),
        ),
        version: grant
            .map(|grant| grant.version().to_owned())
            .unwrap_or_default(),
        status_reason: grant
            .and_then(|grant| grant.status_reason())
            .map(str::to_owned),
        request_id: output.request_id().map(str::to_owned),
    })
}

/// ListDistributedGrants of one license in one status, every page: one read tells how far many
/// new grants have got (apply waits for distribution this way, instead of a GetGrant per grant).
pub async fn grants_in_status(
    clients: &AwsClients,
    license_arn: &str,
    status: &GrantStatus,
) -> Result<Vec<Written>, AwsError> {
    let operation = "ListDistributedGrants";
    all_pages(|token| async move {
        let page = clients
            .license_manager_bare
            .list_distributed_grants()
            .filters(filter("LicenseArn", license_arn))
            .filters(filter("GrantStatus", status.as_str()))
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(SERVICE, operation, error))?;
        let request_id = page.request_id().map(str::to_owned);
        let grants = page
            .grants()
            .iter()
            .map(|grant| Written {
                grant_arn: grant.grant_arn().to_owned(),
                status: GrantStatus::from_aws(grant.grant_status().as_str()),
                version: grant.version().to_owned(),
                status_reason: None,
                request_id: request_id.clone(),
            })
            .collect();
        Ok((grants, page.next_token().map(str::to_owned)))
    })
    .await
}

/// DeleteGrant with the version given; AWS refuses a stale one.
pub async fn delete_grant(
    clients: &AwsClients,
    grant_arn: &str,
    version: &str,
) -> Result<Written, AwsError> {
    let output = clients
        .license_manager_bare
        .delete_grant()
        .grant_arn(grant_arn)
        .version(version)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(SERVICE, "DeleteGrant", error))?;
    Ok(Written::answer(
        output.grant_arn().unwrap_or(grant_arn),
        output.status().map(|status| status.as_str()),
        "DELETED",
        output.version(),
        output.request_id(),
    ))
}

/// Whether an error is a refusal that a stale grant version could explain: a validation error or
/// a conflict answered to one of the calls that carry a version (DeleteGrant's `Version`,
/// CreateGrantVersion's `SourceVersion`: the failure Terraform users hit). AWS documents neither
/// the code nor the wording, so the message is not read: the caller re-reads the grant and
/// repeats the call only if its version really moved, and otherwise fails with this error.
pub fn may_be_stale_version(error: &AwsError) -> bool {
    matches!(error.kind, AwsErrorKind::Invalid | AwsErrorKind::Conflict)
        && matches!(error.operation, "DeleteGrant" | "CreateGrantVersion")
}
