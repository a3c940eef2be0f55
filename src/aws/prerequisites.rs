//! The reads `entitle doctor` adds to the rest: delegated administrators, trusted access,
//! License Manager's settings, purchase agreements by product, and the licenses every account of
//! the organisation received. Each returns model types or an `AwsError`. The organisation's
//! prerequisites are read together ([`organization_reads`]), for doctor and for the checks
//! `apply`, `activate` and `cleanup` make before changing anything (`apply::prechecks`); doctor
//! alone also reads the use-case form, the service-linked roles and tries the member role
//! ([`access_reads`], [`member_role_attempts`]).

use std::collections::BTreeSet;

use super::config::AwsClients;
use super::error::{AwsError, AwsErrorKind};
use super::identity;
use super::organizations::{self, DiscoverError};
use super::paging::all_pages;
use super::{iam, member, use_case};
use crate::model::doctor::{
    AgreementSummary, CallerIdentity, LicenseManagerSettings, MemberRoleAttempt,
    OrganizationLicense, PrerequisiteFacts, Read, ReadFailure, SERVICE_LINKED_ROLES,
    ServiceLinkedRoleRead,
};
use crate::model::{AccountId, Organization};

/// Each read of the organisation's prerequisites, with its own result.
#[derive(Debug)]
pub struct OrganizationReads {
    /// STS GetCallerIdentity.
    pub caller: Result<CallerIdentity, AwsError>,
    /// Organizations DescribeOrganization.
    pub organization: Result<Organization, DiscoverError>,
    /// Organizations ListDelegatedAdministrators for License Manager: read only when the caller
    /// is not the management account.
    pub license_manager_admins: Option<Result<BTreeSet<AccountId>, AwsError>>,
    /// Organizations ListAWSServiceAccessForOrganization.
    pub service_access: Result<BTreeSet<String>, AwsError>,
    /// License Manager GetServiceSettings.
    pub license_manager_settings: Result<LicenseManagerSettings, AwsError>,
}

/// Reads the organisation's prerequisites: the caller, the organisation, trusted access and
/// License Manager's settings at once (four calls, four services' limits), then the delegated
/// administrators only when the caller is not the management account.
pub async fn organization_reads(clients: &AwsClients) -> OrganizationReads {
    let (caller, organization, service_access, license_manager_settings) = tokio::join!(
        identity::caller(clients),
        organizations::organization(clients),
        service_access(clients),
        license_manager_settings(clients),
    );
    let caller = caller.map(|caller| CallerIdentity {
        account: caller.account,
        arn: caller.arn,
    });
    let license_manager_admins = match (&caller, &organization) {
        (Ok(caller), Ok(found)) if found.management_account.as_str() != caller.account => {
            Some(license_manager_administrators(clients).await)
        }
        _ => None,
    };
    OrganizationReads {
        caller,
        organization,
        license_manager_admins,
        service_access,
        license_manager_settings,
    }
}

impl OrganizationReads {
    /// The first read that failed for a reason that says nothing about the organisation
    /// (throttled after every retry, a network or service failure, no credentials): then whether
    /// the prerequisites hold is unknown. Refusals (AccessDenied) and "not in an organisation"
    /// are facts the checks judge.
    pub fn inconclusive(&self) -> Option<&AwsError> {
        let organization = match &self.organization {
            Err(DiscoverError::Aws(error) | DiscoverError::NotInOrganization(error)) => Some(error),
            _ => None,
        };
        [
            self.caller.as_ref().err(),
            organization,
            self.license_manager_admins
                .as_ref()
                .and_then(|admins| admins.as_ref().err()),
            self.service_access.as_ref().err(),
            self.license_manager_settings.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        .find(|error| {
            matches!(
                error.kind,
                AwsErrorKind::Throttled | AwsErrorKind::Transient | AwsErrorKind::Configuration
            )
        })
    }

    /// The facts doctor's checks judge; `hint` says what a person can do about a failed read
    /// (doctor passes the exit hints). When the credentials failed nothing else counts.
    pub fn facts(self, hint: impl Fn(&AwsError) -> Option<String>) -> PrerequisiteFacts {
        let caller = match self.caller {
            Ok(caller) => caller,
            Err(error) => {
                return PrerequisiteFacts {
                    caller: Some(Err(read_failure(&error, hint(&error)))),
                    ..PrerequisiteFacts::default()
                };
            }
        };
        PrerequisiteFacts {
            caller: Some(Ok(caller)),
            organization: Some(
                self.organization
                    .map_err(|error| discover_failure(&error, &hint)),
            ),
            license_manager_admins: self
                .license_manager_admins
                .map(|admins| read(admins, &hint)),
            service_access: Some(read(self.service_access, &hint)),
            license_manager_settings: Some(read(self.license_manager_settings, &hint)),
            ..PrerequisiteFacts::default()
        }
    }
}

/// Doctor's reads beyond the prechecks' (`facts` is the organisation's, read first): the
/// use-case form and the service-linked roles of the caller's account, at once (two services).
pub async fn access_reads(
    clients: &AwsClients,
    facts: &mut PrerequisiteFacts,
    hint: impl Fn(&AwsError) -> Option<String>,
) {
    let Some(Ok(caller)) = &facts.caller else {
        return;
    };
    let account = caller.account.clone();
    let roles = async {
        let mut reads = Vec::new();
        for (role, service) in SERVICE_LINKED_ROLES {
            reads.push((role, service, iam::role_exists(clients, role).await));
        }
        reads
    };
    let (form, roles) = tokio::join!(use_case::form_on_file(clients), roles);
    facts.use_case_form = Some(read(form, &hint));
    facts.service_linked_roles = roles
        .into_iter()
        .map(|(role, service, found)| ServiceLinkedRoleRead {
            role: role.to_owned(),
            service: service.to_owned(),
            account: account.clone(),
            found: read(found, &hint),
        })
        .collect();
}

/// Assumes `role` in each of `accounts` (account, OU path), one after the other; the sessions
/// are dropped at once (only whether STS issued credentials counts).
pub async fn member_role_attempts(
    clients: &AwsClients,
    partition: &str,
    role: &str,
    accounts: &[(AccountId, String)],
    hint: impl Fn(&AwsError) -> Option<String>,
) -> Vec<MemberRoleAttempt> {
    let mut attempts = Vec::new();
    for (account, path) in accounts {
        let arn = member::role_arn(partition, account, role);
        let assumed = member::assume(clients, account, &arn, "entitle-doctor")
            .await
            .map(|_session| ());
        attempts.push(MemberRoleAttempt {
            account: account.clone(),
            path: path.clone(),
            assumed: read(assumed, &hint),
        });
    }
    attempts
}

/// One read's result as doctor's checks see it.
pub fn read<T>(result: Result<T, AwsError>, hint: impl Fn(&AwsError) -> Option<String>) -> Read<T> {
    result.map_err(|error| read_failure(&error, hint(&error)))
}

/// A failed read as doctor's checks see it: the IAM action it needed, and whether it was refused.
pub fn read_failure(error: &AwsError, hint: Option<String>) -> ReadFailure {
    ReadFailure {
        action: format!("{}:{}", error.service, error.operation),
        code: error.code.clone(),
        message: error.message.clone(),
        access_denied: error.kind == AwsErrorKind::AccessDenied,
        hint: hint.filter(|_| error.kind != AwsErrorKind::AccessDenied),
    }
}

/// A failed discovery (or DescribeOrganization) as doctor's checks see it.
pub fn discover_failure(
    error: &DiscoverError,
    hint: impl Fn(&AwsError) -> Option<String>,
) -> ReadFailure {
    match error {
        DiscoverError::NotInOrganization(aws) | DiscoverError::Aws(aws) => {
            read_failure(aws, hint(aws))
        }
        other => ReadFailure {
            action: "organizations:DescribeOrganization".to_owned(),
            code: None,
            message: other.to_string(),
            access_denied: false,
            hint: None,
        },
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn error(operation: &'static str, kind: AwsErrorKind) -> AwsError {
        AwsError {
            service: "organizations",
            operation,
            code: Some("SomeException".into()),
            message: "no".into(),
            request_id: None,
            kind,
        }
    }

    fn reads() -> OrganizationReads {
        OrganizationReads {
            caller: Ok(CallerIdentity {
                account: "100000000001".into(),
                arn: "arn:aws:iam::100000000001:user/admin".into(),
            }),
            organization: Err(DiscoverError::NotInOrganization(error(
                "DescribeOrganization",
                AwsErrorKind::AccessDenied,
            ))),
            license_manager_admins: None,
            service_access: Err(error(
                "ListAWSServiceAccessForOrganization",
                AwsErrorKind::AccessDenied,
            )),
            license_manager_settings: Ok(LicenseManagerSettings {
                organization_integration: true,
                cross_account_discovery: false,
            }),
        }
    }

    #[test]
    fn refusals_are_facts_and_failures_that_say_nothing_are_inconclusive() {
        assert!(reads().inconclusive().is_none());
        let facts = reads().facts(|_| Some("run again".into()));
        let Some(Err(refused)) = &facts.service_access else {
            panic!("{facts:?}");
        };
        assert_eq!(
            refused.action,
            "organizations:ListAWSServiceAccessForOrganization"
        );
        assert!(refused.access_denied);
        assert_eq!(refused.hint, None, "a refusal's fix is the permission");

        let mut throttled = reads();
        throttled.license_manager_settings =
            Err(error("GetServiceSettings", AwsErrorKind::Throttled));
        assert_eq!(
            throttled.inconclusive().map(|error| error.operation),
            Some("GetServiceSettings")
        );
    }

    #[test]
    fn without_credentials_nothing_else_counts() {
        let mut reads = reads();
        reads.caller = Err(error("GetCallerIdentity", AwsErrorKind::Configuration));
        assert!(reads.inconclusive().is_some());
        let facts = reads.facts(|_| Some("set up credentials".into()));
        assert_eq!(
            facts
                .caller
                .and_then(Result::err)
                .and_then(|failure| failure.hint),
            Some("set up credentials".to_owned())
        );
        assert!(facts.organization.is_none() && facts.service_access.is_none());
    }
}
