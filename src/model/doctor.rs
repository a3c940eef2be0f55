//! What `entitle doctor` observes and concludes: the facts read from AWS (each read may have
//! failed), one verdict per check, and the fix a person can apply.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::AccountId;

/// The service-linked roles doctor looks for in the caller's account: (role, the service that
/// uses it). License Manager's core role: License Manager user guide, "License Manager - Core
/// role" (<https://docs.aws.amazon.com/license-manager/latest/userguide/license-manager-role-core.html>).
/// Marketplace's role for sharing entitlements through License Manager: AWS Marketplace buyer
/// guide, "Service-linked role to share entitlements for AWS Marketplace"
/// (<https://docs.aws.amazon.com/marketplace/latest/buyerguide/buyer-using-service-linked-roles-license-manager.html>).
pub const SERVICE_LINKED_ROLES: [(&str, &str); 2] = [
    (
        "AWSServiceRoleForAWSLicenseManagerRole",
        "license-manager.amazonaws.com",
    ),
    (
        "AWSServiceRoleForMarketplaceLicenseManagement",
        "license-management.marketplace.amazonaws.com",
    ),
];

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The prerequisite holds.
    Pass,
    /// The rollout works, but not the way a person probably expects (see the fix).
    Warn,
    /// The rollout cannot work until this is fixed.
    Fail,
    /// Not checked, because a check it depends on failed.
    Skip,
}

/// One check's conclusion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// A stable identifier (`credentials`, `trusted-access`, ...), for scripts.
    pub id: String,
    /// What was checked, for people.
    pub title: String,
    /// The verdict.
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
    /// For warn and fail: the console path or AWS CLI command that fixes it.
    pub fix: Option<String>,
}

/// An AWS read that failed, as the checks need it: which permission it took, and why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadFailure {
    /// The IAM action of the call, e.g. `organizations:ListAWSServiceAccessForOrganization`.
    pub action: String,
    /// The AWS error code, if any.
    pub code: Option<String>,
    /// The error as a sentence.
    pub message: String,
    /// Whether AWS refused the caller (AccessDenied and its relatives).
    pub access_denied: bool,
    /// What a person can do about it, when known.
    pub hint: Option<String>,
}

/// The result of one AWS read.
pub type Read<T> = Result<T, ReadFailure>;

/// STS GetCallerIdentity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerIdentity {
    /// The caller's account.
    pub account: String,
    /// The user or role ARN.
    pub arn: String,
}

/// License Manager's GetServiceSettings, as far as grants care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseManagerSettings {
    /// OrganizationConfiguration.EnableIntegration ("Link AWS Organizations accounts").
    pub organization_integration: bool,
    /// EnableCrossAccountsDiscovery (resource inventory; grants do not need it).
    pub cross_account_discovery: bool,
}

/// A Marketplace purchase agreement found by product (SearchAgreements).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementSummary {
    /// The agreement id.
    pub id: String,
    /// ACTIVE, CANCELLED, EXPIRED, ...
    pub status: String,
    /// The licenses its entitlements name (empty for agreements that carry none).
    pub license_arns: Vec<String>,
}

/// A license some account of the organisation received (ListReceivedLicensesForOrganization).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationLicense {
    /// The license ARN.
    pub arn: String,
    /// The Marketplace product id.
    pub product_sku: String,
    /// AVAILABLE, DELETED, ...
    pub status: String,
    /// The account the license was issued to (for a Marketplace license: the subscriber).
    pub beneficiary: String,
}

/// The organisation-level facts doctor reads, each `None` when it was not read (because the
/// credentials check failed, or it was not needed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrerequisiteFacts {
    /// GetCallerIdentity.
    pub caller: Option<Read<CallerIdentity>>,
    /// DescribeOrganization.
    pub organization: Option<Read<super::Organization>>,
    /// ListDelegatedAdministrators for License Manager (read only when the caller is not the
    /// management account).
    pub license_manager_admins: Option<Read<BTreeSet<AccountId>>>,
    /// ListAWSServiceAccessForOrganization.
    pub service_access: Option<Read<BTreeSet<String>>>,
    /// GetServiceSettings.
    pub license_manager_settings: Option<Read<LicenseManagerSettings>>,
    /// Bedrock GetUseCaseForModelAccess as the caller: whether a use-case form is on file
    /// (doctor only; not a precheck).
    pub use_case_form: Option<Read<bool>>,
    /// IAM GetRole of each service-linked role doctor checks, in the caller's account (doctor
    /// only).
    pub service_linked_roles: Vec<ServiceLinkedRoleRead>,
    /// The member role assumed in a sample of accounts (doctor with `--member-role` or a plan's
    /// `member_role` only).
    pub member_role: Option<MemberRoleProbe>,
}

/// A service-linked role doctor looks for, and what IAM GetRole said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLinkedRoleRead {
    /// The role's name, e.g. `AWSServiceRoleForAWSLicenseManagerRole`.
    pub role: String,
    /// The service that uses it (its principal), e.g. `license-manager.amazonaws.com`.
    pub service: String,
    /// The account asked (the caller's).
    pub account: String,
    /// `true` when the role exists, `false` when IAM answered NoSuchEntity.
    pub found: Read<bool>,
}

/// The member role tried in a few accounts of the organisation, spread over its OUs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRoleProbe {
    /// The role's name.
    pub role: String,
    /// How many ACTIVE member accounts the sample was drawn from; `None` when the organisation
    /// could not be read (nothing was tried).
    pub eligible: Option<usize>,
    /// Each account tried and whether STS AssumeRole succeeded there.
    pub tried: Vec<MemberRoleAttempt>,
}

/// One account's AssumeRole of the member role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRoleAttempt {
    /// The account.
    pub account: AccountId,
    /// Its OU path, for messages.
    pub path: String,
    /// `Ok` when the role was assumed.
    pub assumed: Read<()>,
}
