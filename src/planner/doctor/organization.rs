//! Doctor's checks of the organisation and License Manager, with or without a plan:
//! credentials, the caller (management account or delegated administrator), all features,
//! trusted access for License Manager and AWS Marketplace, License Manager's link to
//! Organizations. They are also what `apply`, `activate` and `cleanup` check before changing
//! anything (`super::prechecks`).

use super::{LICENSE_MANAGER_PRINCIPAL, MARKETPLACE_PRINCIPAL, check, read_failed, skipped};
use crate::model::doctor::{Check, PrerequisiteFacts, Verdict};
use crate::model::{FeatureSet, Organization};

const CREDENTIALS: &str = "credentials";
const CALLER: &str = "management account or delegated administrator";
const FEATURES: &str = "all features enabled";
const LINK: &str = "License Manager linked to Organizations";
const TRUSTED_LICENSE_MANAGER: &str = "trusted access for License Manager";
const TRUSTED_MARKETPLACE: &str = "trusted access for AWS Marketplace";

/// The problem with an organisation that has not all features enabled, and its fix:
/// (what, fix). `discover` shows it as a warning; doctor and the prechecks fail on it.
pub fn feature_set_warning(feature_set: &FeatureSet) -> Option<(String, String)> {
    match feature_set {
        FeatureSet::All => None,
        FeatureSet::ConsolidatedBilling => Some((
            "the organisation has consolidated billing only: License Manager cannot link to it, so organisation \
             and OU grants fail to distribute (FAILED_WORKFLOW) and account grants wait in PENDING_ACCEPT until \
             each member account accepts them"
                .to_owned(),
            "enable all features (Organizations console > Settings) so License Manager can link to the organisation"
                .to_owned(),
        )),
        FeatureSet::Other(other) => Some((
            format!("the organisation's feature set `{other}` is unknown to entitle"),
            "grants may need manual acceptance".to_owned(),
        )),
    }
}

/// Pushes the organisation's checks in order. `None` when the credentials do not work (every
/// other check is then skipped); otherwise the organisation, when it could be read.
pub(super) fn checks<'a>(
    facts: &'a PrerequisiteFacts,
    checks: &mut Vec<Check>,
) -> Option<Option<&'a Organization>> {
    let caller = match &facts.caller {
        Some(Ok(caller)) => {
            checks.push(check(
                "credentials",
                CREDENTIALS,
                Verdict::Pass,
                format!("account `{}` as `{}`", caller.account, caller.arn),
                None,
            ));
            Some(caller)
        }
        Some(Err(failure)) => {
            let mut failed = read_failed("credentials", CREDENTIALS, failure);
            failed.fix = Some(failure.hint.clone().unwrap_or_else(|| {
                "set up AWS credentials (`aws configure`, `aws sso login`, or `--profile NAME`) and check them with \
                 `aws sts get-caller-identity`"
                    .to_owned()
            }));
            checks.push(failed);
            None
        }
        None => None,
    };
    let Some(caller) = caller else {
        for (id, title) in [
            ("caller", CALLER),
            ("feature-set", FEATURES),
            ("trusted-access-license-manager", TRUSTED_LICENSE_MANAGER),
            ("trusted-access-marketplace", TRUSTED_MARKETPLACE),
            ("license-manager-link", LINK),
        ] {
            checks.push(skipped(id, title, "no working credentials"));
        }
        return None;
    };
    let organization = organization_checks(facts, &caller.account, checks);
    trusted_access_checks(facts, checks);
    checks.push(link_check(facts));
    Some(organization)
}

fn link_check(facts: &PrerequisiteFacts) -> Check {
    match &facts.license_manager_settings {
        Some(Ok(settings)) if settings.organization_integration => check(
            "license-manager-link",
            LINK,
            Verdict::Pass,
            format!(
                "OrganizationConfiguration.EnableIntegration is on (cross-account discovery {}, which grants do not need)",
                if settings.cross_account_discovery { "on" } else { "off" }
            ),
            None,
        ),
        Some(Ok(_)) => check(
            "license-manager-link",
            LINK,
            Verdict::Fail,
            "License Manager is not linked to the organisation: account grants wait in PENDING_ACCEPT for each member, \
             and organisation or OU grants cannot be distributed",
            Some(
                "License Manager console (us-east-1) > Settings > Account management > Link AWS Organizations accounts, \
                 or `aws license-manager update-service-settings --region us-east-1 --organization-configuration \
                 EnableIntegration=true`"
                    .to_owned(),
            ),
        ),
        Some(Err(failure)) => read_failed("license-manager-link", LINK, failure),
        None => skipped("license-manager-link", LINK, "not read"),
    }
}

fn organization_checks<'a>(
    facts: &'a PrerequisiteFacts,
    caller: &str,
    checks: &mut Vec<Check>,
) -> Option<&'a Organization> {
    let organization = match &facts.organization {
        Some(Ok(organization)) => organization,
        Some(Err(failure))
            if failure.code.as_deref() == Some("AWSOrganizationsNotInUseException") =>
        {
            checks.push(check(
                "caller",
                CALLER,
                Verdict::Fail,
                format!("account `{caller}` is not in an AWS Organization"),
                Some(
                    "run entitle with credentials of the organisation's management account (or create one: \
                     `aws organizations create-organization --feature-set ALL`)"
                        .to_owned(),
                ),
            ));
            checks.push(skipped("feature-set", FEATURES, "no organisation"));
            return None;
        }
        Some(Err(failure)) => {
            checks.push(read_failed("caller", CALLER, failure));
            checks.push(skipped(
                "feature-set",
                FEATURES,
                "the organisation could not be read",
            ));
            return None;
        }
        None => {
            checks.push(skipped("caller", CALLER, "not read"));
            checks.push(skipped("feature-set", FEATURES, "not read"));
            return None;
        }
    };
    let management = organization.management_account.as_str();
    let register = format!(
        "run entitle with credentials of the management account `{management}`, or make `{caller}` License Manager's \
         delegated administrator from the management account: `aws organizations register-delegated-administrator \
         --account-id {caller} --service-principal {LICENSE_MANAGER_PRINCIPAL}`"
    );
    checks.push(if caller == management {
        check(
            "caller",
            CALLER,
            Verdict::Pass,
            format!("`{caller}` is the management account of `{}`", organization.id),
            None,
        )
    } else {
        match &facts.license_manager_admins {
            Some(Ok(admins)) if admins.iter().any(|admin| admin.as_str() == caller) => check(
                "caller",
                CALLER,
                Verdict::Pass,
                format!(
                    "`{caller}` is License Manager's delegated administrator of `{}` (management account `{management}`)",
                    organization.id
                ),
                None,
            ),
            Some(Ok(_)) => check(
                "caller",
                CALLER,
                Verdict::Fail,
                format!(
                    "`{caller}` is neither the management account (`{management}`) nor License Manager's delegated \
                     administrator"
                ),
                Some(register),
            ),
            Some(Err(failure)) if failure.access_denied => check(
                "caller",
                CALLER,
                Verdict::Fail,
                format!(
                    "`{caller}` is not the management account (`{management}`), and may not list the delegated \
                     administrators (`{}` was refused), so it is not License Manager's delegated administrator",
                    failure.action
                ),
                Some(register),
            ),
            Some(Err(failure)) => read_failed("caller", CALLER, failure),
            None => skipped("caller", CALLER, "the delegated administrators were not read"),
        }
    });
    checks.push(match feature_set_warning(&organization.feature_set) {
        None => check(
            "feature-set",
            FEATURES,
            Verdict::Pass,
            format!("`{}` has all features", organization.id),
            None,
        ),
        // Without all features License Manager cannot link to the organisation: its
        // organisation and OU grants end in FAILED_WORKFLOW. Only a feature set entitle does not
        // know is left as a warning.
        Some((what, fix)) => check(
            "feature-set",
            FEATURES,
            if organization.feature_set == FeatureSet::ConsolidatedBilling {
                Verdict::Fail
            } else {
                Verdict::Warn
            },
            what,
            Some(format!(
                "{fix}: `aws organizations enable-all-features`, then every member account approves the request"
            )),
        ),
    });
    Some(organization)
}

fn trusted_access_checks(facts: &PrerequisiteFacts, checks: &mut Vec<Check>) {
    let wanted = [
        (
            "trusted-access-license-manager",
            TRUSTED_LICENSE_MANAGER,
            LICENSE_MANAGER_PRINCIPAL,
            "without it License Manager cannot link to the organisation or distribute organisation and OU grants",
            "License Manager console (us-east-1) > Settings > Account management > Link AWS Organizations accounts \
             (it enables trusted access), or",
        ),
        (
            "trusted-access-marketplace",
            TRUSTED_MARKETPLACE,
            MARKETPLACE_PRINCIPAL,
            "without it the organisation-wide grant listings answer AccessDenied, so `status` cannot see member \
             accounts' grants",
            "AWS Marketplace console > Settings > AWS Organizations integration, or",
        ),
    ];
    for (id, title, principal, why, console) in wanted {
        checks.push(match &facts.service_access {
            Some(Ok(enabled)) if enabled.contains(principal) => check(
                id,
                title,
                Verdict::Pass,
                format!("`{principal}` is enabled"),
                None,
            ),
            Some(Ok(_)) => check(
                id,
                title,
                Verdict::Fail,
                format!("`{principal}` is not enabled: {why}"),
                Some(format!(
                    "{console} `aws organizations enable-aws-service-access --service-principal {principal}` from the \
                     management account"
                )),
            ),
            Some(Err(failure)) => read_failed(id, title, failure),
            None => skipped(id, title, "not read"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::healthy;
    use super::super::{diagnose, prechecks};
    use super::*;
    use crate::model::doctor::ReadFailure;
    use crate::model::grant::{LicenseInfo, LicenseStatus};

    #[test]
    fn an_access_denied_read_fails_its_check_naming_the_permission() {
        let mut facts = healthy();
        facts.service_access = Some(Err(ReadFailure {
            action: "organizations:ListAWSServiceAccessForOrganization".into(),
            code: Some("AccessDeniedException".into()),
            message: "denied".into(),
            access_denied: true,
            hint: None,
        }));
        let report = diagnose(&facts, None);
        for id in [
            "trusted-access-license-manager",
            "trusted-access-marketplace",
        ] {
            let found = report.check(id).unwrap();
            assert_eq!(found.verdict, Verdict::Fail);
            assert_eq!(
                found.detail,
                "`organizations:ListAWSServiceAccessForOrganization` was refused: denied"
            );
            assert_eq!(
                found.fix.as_deref(),
                Some(
                    "allow `organizations:ListAWSServiceAccessForOrganization` to the identity in use (see `entitle iam-policy`)"
                )
            );
        }
        assert_eq!(
            report.check("license-manager-link").unwrap().verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn a_caller_outside_any_organisation_fails_and_skips_the_feature_set() {
        let mut facts = healthy();
        facts.organization = Some(Err(ReadFailure {
            action: "organizations:DescribeOrganization".into(),
            code: Some("AWSOrganizationsNotInUseException".into()),
            message: "not in use".into(),
            access_denied: true,
            hint: None,
        }));
        let report = diagnose(&facts, None);
        let caller = report.check("caller").unwrap();
        assert_eq!(caller.verdict, Verdict::Fail);
        assert!(caller.detail.contains("is not in an AWS Organization"));
        assert_eq!(report.check("feature-set").unwrap().verdict, Verdict::Skip);
    }

    #[test]
    fn consolidated_billing_fails_with_the_command_that_enables_all_features() {
        let mut facts = healthy();
        if let Some(Ok(organization)) = &mut facts.organization {
            organization.feature_set = FeatureSet::ConsolidatedBilling;
        }
        let report = diagnose(&facts, None);
        let found = report.check("feature-set").unwrap();
        assert_eq!(found.verdict, Verdict::Fail);
        assert!(
            found.detail.starts_with(
                "the organisation has consolidated billing only: License Manager cannot link to it"
            ),
            "{found:?}"
        );
        assert!(
            found
                .fix
                .as_deref()
                .unwrap()
                .contains("`aws organizations enable-all-features`")
        );
        // A feature set entitle does not know is only a warning.
        if let Some(Ok(organization)) = &mut facts.organization {
            organization.feature_set = FeatureSet::Other("SOMETHING_NEW".into());
        }
        assert_eq!(
            diagnose(&facts, None).check("feature-set").unwrap().verdict,
            Verdict::Warn
        );
    }

    fn license(status: &str) -> LicenseInfo {
        LicenseInfo {
            arn: "arn:aws:license-manager::294406891311:license:l-1".into(),
            product_sku: "prod-a".into(),
            product_name: "A".into(),
            status: LicenseStatus::from_aws(status),
            allowed_operations: Default::default(),
            issuer: "AWS/Marketplace".into(),
            home_region: "us-east-1".into(),
        }
    }

    #[test]
    fn the_prechecks_are_doctors_organisation_checks_and_the_license() {
        let ids = |report: &super::super::DoctorReport| -> Vec<String> {
            report.checks.iter().map(|check| check.id.clone()).collect()
        };
        let healthy_report = prechecks(&healthy(), None);
        assert!(!healthy_report.has_failures());
        assert_eq!(
            ids(&healthy_report),
            [
                "credentials",
                "caller",
                "feature-set",
                "trusted-access-license-manager",
                "trusted-access-marketplace",
                "license-manager-link"
            ]
        );
        // The same checks, verdicts and fixes as doctor's (which goes on with checks of its own).
        let doctor = diagnose(&healthy(), None);
        assert_eq!(
            healthy_report.checks,
            doctor.checks[..healthy_report.checks.len()]
        );
        let with_license = prechecks(&healthy(), Some(&license("AVAILABLE")));
        assert_eq!(
            with_license.check("license").unwrap().verdict,
            Verdict::Pass
        );
        let deleted = prechecks(&healthy(), Some(&license("DELETED")));
        let failed: Vec<&str> = deleted.failures().map(|check| check.id.as_str()).collect();
        assert_eq!(failed, ["license"]);
    }

    #[test]
    fn the_prechecks_fail_on_each_broken_prerequisite_with_doctors_fix() {
        let mut facts = healthy();
        facts.license_manager_settings = Some(Ok(crate::model::doctor::LicenseManagerSettings {
            organization_integration: false,
            cross_account_discovery: false,
        }));
        if let Some(Ok(organization)) = &mut facts.organization {
            organization.feature_set = FeatureSet::ConsolidatedBilling;
        }
        if let Some(Ok(enabled)) = &mut facts.service_access {
            enabled.remove(MARKETPLACE_PRINCIPAL);
        }
        let report = prechecks(&facts, None);
        let failed: Vec<&str> = report.failures().map(|check| check.id.as_str()).collect();
        assert_eq!(
            failed,
            [
                "feature-set",
                "trusted-access-marketplace",
                "license-manager-link"
            ]
        );
        let doctor = diagnose(&facts, None);
        for check in report.failures() {
            assert_eq!(Some(check), doctor.check(&check.id));
            assert!(check.fix.is_some(), "{check:?}");
        }
    }

    #[test]
    fn without_credentials_the_prechecks_skip_the_license() {
        let mut facts = healthy();
        facts.caller = Some(Err(ReadFailure {
            action: "sts:GetCallerIdentity".into(),
            code: None,
            message: "no credentials".into(),
            access_denied: false,
            hint: None,
        }));
        let report = prechecks(&facts, Some(&license("AVAILABLE")));
        let failed: Vec<&str> = report.failures().map(|check| check.id.as_str()).collect();
        assert_eq!(failed, ["credentials"]);
        assert!(report.check("license").is_none());
    }

    #[test]
    fn a_member_account_passes_only_as_license_manager_s_delegated_administrator() {
        let member = crate::model::AccountId::parse("200000000001").unwrap();
        let verdict = |admins: Option<
            crate::model::doctor::Read<std::collections::BTreeSet<crate::model::AccountId>>,
        >| {
            let mut facts = healthy();
            facts.caller = Some(Ok(crate::model::doctor::CallerIdentity {
                account: "200000000001".into(),
                arn: "arn:aws:iam::200000000001:role/admin".into(),
            }));
            facts.license_manager_admins = admins;
            let found = diagnose(&facts, None).check("caller").unwrap().clone();
            (found.verdict, found.detail)
        };
        let (pass, detail) = verdict(Some(Ok([member.clone()].into())));
        assert_eq!(pass, Verdict::Pass);
        assert!(
            detail.contains("delegated administrator of `o-test123456`"),
            "{detail}"
        );
        let other = crate::model::AccountId::parse("300000000001").unwrap();
        assert_eq!(verdict(Some(Ok([other].into()))).0, Verdict::Fail);
        let failure = |access_denied| ReadFailure {
            action: "organizations:ListDelegatedAdministrators".into(),
            code: None,
            message: "no".into(),
            access_denied,
            hint: None,
        };
        let (refused, detail) = verdict(Some(Err(failure(true))));
        assert_eq!(refused, Verdict::Fail);
        assert!(
            detail.contains("may not list the delegated administrators"),
            "{detail}"
        );
        let (failed, detail) = verdict(Some(Err(failure(false))));
        assert_eq!(failed, Verdict::Fail);
        assert_eq!(
            detail,
            "`organizations:ListDelegatedAdministrators` failed: no"
        );
        assert_eq!(verdict(None).0, Verdict::Skip);
        // The organisation itself unreadable (not "not in use"): the read failed, the feature set
        // is not checked.
        let mut facts = healthy();
        facts.organization = Some(Err(ReadFailure {
            code: Some("TooManyRequestsException".into()),
            ..failure(false)
        }));
        let report = diagnose(&facts, None);
        assert_eq!(
            report.check("caller").unwrap().detail,
            "`organizations:ListDelegatedAdministrators` failed: no"
        );
        assert_eq!(
            report.check("feature-set").unwrap().detail,
            "not checked: the organisation could not be read"
        );
    }

    #[test]
    fn the_feature_set_s_problem_and_its_fix() {
        assert_eq!(feature_set_warning(&FeatureSet::All), None);
        let (what, fix) = feature_set_warning(&FeatureSet::ConsolidatedBilling).unwrap();
        assert!(
            what.starts_with("the organisation has consolidated billing only"),
            "{what}"
        );
        assert!(fix.starts_with("enable all features"), "{fix}");
        assert_eq!(
            feature_set_warning(&FeatureSet::Other("NEW".into())),
            Some((
                "the organisation's feature set `NEW` is unknown to entitle".to_owned(),
                "grants may need manual acceptance".to_owned()
            ))
        );
    }
}
