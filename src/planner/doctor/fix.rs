//! What `entitle doctor --fix` would change, decided from doctor's facts and report: trusted
//! access for License Manager and AWS Marketplace, License Manager's link to the organisation,
//! and License Manager's delegated administrator when one is asked for. It never enables all
//! features (every member account has to approve that), so an organisation without them gets a
//! note instead of fixes. Everything else that failed is listed with its own fix.

use serde::Serialize;

use super::{DoctorReport, LICENSE_MANAGER_PRINCIPAL, MARKETPLACE_PRINCIPAL};
use crate::model::doctor::{PrerequisiteFacts, Verdict};
use crate::model::{AccountId, FeatureSet};

/// One change `doctor --fix` makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Fix {
    /// Organizations EnableAWSServiceAccess.
    EnableTrustedAccess {
        /// The service principal.
        principal: String,
    },
    /// License Manager UpdateServiceSettings, OrganizationConfiguration.EnableIntegration = true.
    LinkLicenseManager,
    /// Organizations RegisterDelegatedAdministrator for License Manager.
    RegisterDelegatedAdministrator {
        /// The account registered.
        account: String,
        /// The service principal (License Manager's).
        principal: String,
    },
}

impl Fix {
    /// The AWS operation that makes it.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::EnableTrustedAccess { .. } => "EnableAWSServiceAccess",
            Self::LinkLicenseManager => "UpdateServiceSettings",
            Self::RegisterDelegatedAdministrator { .. } => "RegisterDelegatedAdministrator",
        }
    }

    /// What it acts on: the service principal, or the account registered.
    pub fn target(&self) -> String {
        match self {
            Self::EnableTrustedAccess { principal } => principal.clone(),
            Self::LinkLicenseManager => LICENSE_MANAGER_PRINCIPAL.to_owned(),
            Self::RegisterDelegatedAdministrator { account, .. } => account.clone(),
        }
    }

    /// The change in words.
    pub fn describe(&self) -> String {
        match self {
            Self::EnableTrustedAccess { principal } => {
                format!(
                    "enable trusted access for `{principal}` (Organizations EnableAWSServiceAccess)"
                )
            }
            Self::LinkLicenseManager => {
                "link License Manager to the organisation (License Manager \
                 UpdateServiceSettings, OrganizationConfiguration.EnableIntegration=true)"
                    .to_owned()
            }
            Self::RegisterDelegatedAdministrator { account, principal } => format!(
                "register `{account}` as the delegated administrator of `{principal}` (Organizations \
                 RegisterDelegatedAdministrator)"
            ),
        }
    }
}

/// A failed check `doctor --fix` leaves alone, with the check's own fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotFixed {
    /// The check's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its fix, for a person to apply.
    pub fix: Option<String>,
}

/// What `doctor --fix` would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FixPlan {
    /// The changes, in the order they are made (trusted access before the link it needs).
    pub fixes: Vec<Fix>,
    /// Failed checks left for a person.
    pub not_fixed: Vec<NotFixed>,
    /// Why nothing could be fixed at all (not the management account, no organisation).
    pub blocked: Option<String>,
    /// Said when the organisation has not all features: `--fix` never enables them.
    pub feature_set_note: Option<String>,
}

/// Why `--fix` never enables all features, for the note and the docs.
pub const ALL_FEATURES_NOTE: &str = "doctor --fix never enables all features: `aws organizations enable-all-features` \
     sends every member account a request that each must approve, so it is yours to start; trusted access and \
     License Manager's link need all features, so run doctor --fix again once every account has approved";

/// Decides the fixes from the facts and the report they gave. `delegated_admin` is
/// `--delegated-admin`; `admins` the accounts already registered for License Manager, when read.
pub fn plan_fixes(
    facts: &PrerequisiteFacts,
    report: &DoctorReport,
    delegated_admin: Option<&AccountId>,
    admins: Option<&std::collections::BTreeSet<AccountId>>,
) -> FixPlan {
    let mut plan = FixPlan::default();
    let failed = |id: &str| {
        report
            .check(id)
            .is_some_and(|check| check.verdict == Verdict::Fail)
    };
    let organization = match (&facts.caller, &facts.organization) {
        (Some(Ok(caller)), Some(Ok(organization))) => {
            if organization.management_account.as_str() != caller.account {
                plan.blocked = Some(format!(
                    "doctor --fix changes what only the management account may change: run it with credentials of \
                     `{}` (the caller is `{}`)",
                    organization.management_account, caller.account
                ));
            }
            Some(organization)
        }
        _ => {
            plan.blocked = Some(
                "the organisation could not be read with these credentials, so nothing can be fixed".to_owned(),
            );
            None
        }
    };
    let all_features =
        organization.is_some_and(|organization| organization.feature_set == FeatureSet::All);
    if organization.is_some() && !all_features {
        plan.feature_set_note = Some(ALL_FEATURES_NOTE.to_owned());
    }
    let mut fixed_ids = Vec::new();
    if plan.blocked.is_none() && all_features {
        for (id, principal) in [
            ("trusted-access-license-manager", LICENSE_MANAGER_PRINCIPAL),
            ("trusted-access-marketplace", MARKETPLACE_PRINCIPAL),
        ] {
            // Only a read that answered (the principal is missing), not a refused read.
            let missing =
                matches!(&facts.service_access, Some(Ok(enabled)) if !enabled.contains(principal));
            if failed(id) && missing {
                plan.fixes.push(Fix::EnableTrustedAccess {
                    principal: principal.to_owned(),
                });
                fixed_ids.push(id);
            }
        }
        let unlinked = matches!(&facts.license_manager_settings, Some(Ok(settings)) if !settings.organization_integration);
        if failed("license-manager-link") && unlinked {
            plan.fixes.push(Fix::LinkLicenseManager);
            fixed_ids.push("license-manager-link");
        }
        if let Some(account) = delegated_admin {
            let registered = admins.is_some_and(|admins| admins.contains(account));
            if !registered {
                plan.fixes.push(Fix::RegisterDelegatedAdministrator {
                    account: account.as_str().to_owned(),
                    principal: LICENSE_MANAGER_PRINCIPAL.to_owned(),
                });
            }
        }
    }
    plan.not_fixed = report
        .failures()
        .filter(|check| !fixed_ids.contains(&check.id.as_str()))
        .map(|check| NotFixed {
            id: check.id.clone(),
            title: check.title.clone(),
            fix: check.fix.clone(),
        })
        .collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::super::diagnose;
    use super::super::fixtures::healthy;
    use super::*;
    use crate::model::doctor::LicenseManagerSettings;

    fn broken() -> PrerequisiteFacts {
        let mut facts = healthy();
        facts.service_access = Some(Ok(Default::default()));
        facts.license_manager_settings = Some(Ok(LicenseManagerSettings {
            organization_integration: false,
            cross_account_discovery: false,
        }));
        facts
    }

    fn plan(facts: &PrerequisiteFacts, admin: Option<&AccountId>) -> FixPlan {
        plan_fixes(
            facts,
            &diagnose(facts, None),
            admin,
            Some(&Default::default()),
        )
    }

    #[test]
    fn a_broken_organisation_gets_trusted_access_then_the_link() {
        let fixes = plan(&broken(), None);
        assert_eq!(
            fixes.fixes,
            [
                Fix::EnableTrustedAccess {
                    principal: LICENSE_MANAGER_PRINCIPAL.into()
                },
                Fix::EnableTrustedAccess {
                    principal: MARKETPLACE_PRINCIPAL.into()
                },
                Fix::LinkLicenseManager,
            ]
        );
        assert!(fixes.not_fixed.is_empty(), "{fixes:?}");
        assert_eq!(fixes.blocked, None);
        assert_eq!(fixes.feature_set_note, None);
        assert!(plan(&healthy(), None).fixes.is_empty());
    }

    #[test]
    fn the_delegated_administrator_only_when_asked_and_not_yet_registered() {
        let account = AccountId::parse("200000000001").unwrap();
        let asked = plan(&healthy(), Some(&account));
        assert_eq!(
            asked.fixes,
            [Fix::RegisterDelegatedAdministrator {
                account: "200000000001".into(),
                principal: LICENSE_MANAGER_PRINCIPAL.into()
            }]
        );
        let registered: std::collections::BTreeSet<AccountId> = [account.clone()].into();
        let facts = healthy();
        assert!(
            plan_fixes(
                &facts,
                &diagnose(&facts, None),
                Some(&account),
                Some(&registered)
            )
            .fixes
            .is_empty()
        );
    }

    #[test]
    fn without_all_features_nothing_is_fixed_and_it_says_why() {
        let mut facts = broken();
        if let Some(Ok(organization)) = &mut facts.organization {
            organization.feature_set = FeatureSet::ConsolidatedBilling;
        }
        let fixes = plan(&facts, None);
        assert!(fixes.fixes.is_empty());
        assert_eq!(fixes.feature_set_note.as_deref(), Some(ALL_FEATURES_NOTE));
        let left: Vec<&str> = fixes
            .not_fixed
            .iter()
            .map(|check| check.id.as_str())
            .collect();
        assert_eq!(
            left,
            [
                "feature-set",
                "trusted-access-license-manager",
                "trusted-access-marketplace",
                "license-manager-link"
            ]
        );
    }

    #[test]
    fn only_the_management_account_may_fix() {
        let mut facts = broken();
        if let Some(Ok(caller)) = &mut facts.caller {
            caller.account = "200000000001".into();
        }
        facts.license_manager_admins = Some(Ok([AccountId::parse("200000000001").unwrap()].into()));
        let fixes = plan(&facts, None);
        assert!(fixes.fixes.is_empty());
        assert!(
            fixes
                .blocked
                .unwrap()
                .contains("run it with credentials of `100000000001`")
        );
    }

    #[test]
    fn each_fix_names_its_operation_its_target_and_itself() {
        let fixes = [
            Fix::EnableTrustedAccess {
                principal: MARKETPLACE_PRINCIPAL.to_owned(),
            },
            Fix::LinkLicenseManager,
            Fix::RegisterDelegatedAdministrator {
                account: "222222222222".to_owned(),
                principal: LICENSE_MANAGER_PRINCIPAL.to_owned(),
            },
        ];
        let operations: Vec<&str> = fixes.iter().map(Fix::operation).collect();
        assert_eq!(
            operations,
            [
                "EnableAWSServiceAccess",
                "UpdateServiceSettings",
                "RegisterDelegatedAdministrator"
            ]
        );
        let targets: Vec<String> = fixes.iter().map(Fix::target).collect();
        assert_eq!(
            targets,
            [
                MARKETPLACE_PRINCIPAL,
                LICENSE_MANAGER_PRINCIPAL,
                "222222222222"
            ]
        );
        let described: Vec<String> = fixes.iter().map(Fix::describe).collect();
        assert_eq!(
            described,
            [
                "enable trusted access for `license-management.marketplace.amazonaws.com` (Organizations EnableAWSServiceAccess)",
                "link License Manager to the organisation (License Manager UpdateServiceSettings, OrganizationConfiguration.EnableIntegration=true)",
                "register `222222222222` as the delegated administrator of `license-manager.amazonaws.com` (Organizations RegisterDelegatedAdministrator)",
            ]
        );
    }

    #[test]
    fn a_refused_read_is_not_fixed_only_reported() {
        let refused = || crate::model::doctor::ReadFailure {
            action: "organizations:ListAWSServiceAccessForOrganization".into(),
            code: Some("AccessDeniedException".into()),
            message: "refused".into(),
            access_denied: true,
            hint: None,
        };
        let mut facts = healthy();
        facts.service_access = Some(Err(refused()));
        facts.license_manager_settings = Some(Err(refused()));
        let fixes = plan(&facts, None);
        assert_eq!(fixes.fixes, []);
        let not_fixed: Vec<&str> = fixes.not_fixed.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(
            not_fixed,
            [
                "trusted-access-license-manager",
                "trusted-access-marketplace",
                "license-manager-link"
            ]
        );
    }
}
