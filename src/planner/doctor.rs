//! The verdicts of `entitle doctor`: from the facts read (organisation, trusted access, License
//! Manager settings, and with a plan its license, agreement, grants and targets) to one check
//! each, pass / warn / fail, with the fix; and the subset `apply`, `activate` and `cleanup` check
//! before they change anything ([`prechecks`]). Pure: the reads happen in `aws::prerequisites`
//! and `commands::doctor`.
//!
//! The organisation's checks (`organization.rs`) change with AWS's prerequisites; the plan's
//! checks (`plan.rs`) change with the plan format and the planner; the checks of what model
//! access needs besides grants (`access.rs`: the use-case form, service-linked roles, the member
//! role) with Bedrock and IAM; what `doctor --fix` changes is decided in `fix.rs`.

mod access;
pub mod fix;
mod organization;
mod plan;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::doctor::{Check, PrerequisiteFacts, ReadFailure, Verdict};
use crate::model::grant::LicenseInfo;

pub use access::{FormNeed, MEMBER_ROLE_SAMPLE, form_need, sample_member_accounts};
pub use organization::feature_set_warning;
pub use plan::{PlanFacts, plan_product};

/// License Manager's service principal (trusted access, delegated administrator).
pub const LICENSE_MANAGER_PRINCIPAL: &str = "license-manager.amazonaws.com";
/// AWS Marketplace's license-management service principal (trusted access).
pub const MARKETPLACE_PRINCIPAL: &str = "license-management.marketplace.amazonaws.com";

/// Every check, in the order they were made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    /// The checks.
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// Whether a check failed (exit 1).
    pub fn has_failures(&self) -> bool {
        self.failures().next().is_some()
    }

    /// The checks that failed, in order.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|check| check.verdict == Verdict::Fail)
    }

    /// How many checks came out each way.
    pub fn counts(&self) -> BTreeMap<Verdict, usize> {
        let mut counts = BTreeMap::new();
        for check in &self.checks {
            *counts.entry(check.verdict).or_default() += 1;
        }
        counts
    }

    /// The check with this id.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|check| check.id == id)
    }
}

/// Concludes every check from the facts.
pub fn diagnose(facts: &PrerequisiteFacts, plan: Option<&PlanFacts>) -> DoctorReport {
    let mut checks = Vec::new();
    let reached = organization::checks(facts, &mut checks);
    match reached {
        None => access::skip_all(
            &mut checks,
            "no working credentials",
            facts.member_role.is_some(),
        ),
        Some(organization) => {
            let need = form_need(plan.and_then(plan_product).as_deref());
            access::checks(facts, organization, &need, &mut checks);
        }
    }
    if let Some(plan) = plan {
        match reached {
            None => checks.push(skipped("plan-file", "the plan", "no working credentials")),
            Some(organization) => {
                let marketplace_trusted = match &facts.service_access {
                    Some(Ok(enabled)) => Some(enabled.contains(MARKETPLACE_PRINCIPAL)),
                    _ => None,
                };
                plan::checks(plan, organization, marketplace_trusted, &mut checks);
            }
        }
    }
    DoctorReport { checks }
}

/// The checks `apply`, `activate` and `cleanup` make before changing anything: doctor's checks of
/// the organisation (credentials, caller, all features, trusted access, License Manager's link),
/// and with a license the `license` check (AVAILABLE). Same verdicts and fixes as `diagnose`; a
/// change may go ahead only when none of them failed.
pub fn prechecks(facts: &PrerequisiteFacts, license: Option<&LicenseInfo>) -> DoctorReport {
    let mut checks = Vec::new();
    let reached = organization::checks(facts, &mut checks);
    if let (Some(_), Some(license)) = (reached, license) {
        checks.push(plan::license_check(license));
    }
    DoctorReport { checks }
}

fn check(
    id: &str,
    title: &str,
    verdict: Verdict,
    detail: impl Into<String>,
    fix: Option<String>,
) -> Check {
    Check {
        id: id.to_owned(),
        title: title.to_owned(),
        verdict,
        detail: detail.into(),
        fix,
    }
}

fn skipped(id: &str, title: &str, because: &str) -> Check {
    check(
        id,
        title,
        Verdict::Skip,
        format!("not checked: {because}"),
        None,
    )
}

/// A failed read is a failed check that names the permission (AccessDenied) or the error.
fn read_failed(id: &str, title: &str, failure: &ReadFailure) -> Check {
    let detail = if failure.access_denied {
        format!("`{}` was refused: {}", failure.action, failure.message)
    } else {
        format!("`{}` failed: {}", failure.action, failure.message)
    };
    let fix = failure.hint.clone().or_else(|| {
        failure.access_denied.then(|| {
            format!(
                "allow `{}` to the identity in use (see `entitle iam-policy`)",
                failure.action
            )
        })
    });
    check(id, title, Verdict::Fail, detail, fix)
}

fn list(items: impl IntoIterator<Item = impl std::fmt::Display>) -> String {
    items
        .into_iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The facts of a healthy organisation, shared by the tests of both halves.
#[cfg(test)]
mod fixtures {
    use super::{LICENSE_MANAGER_PRINCIPAL, MARKETPLACE_PRINCIPAL};
    use crate::model::doctor::{CallerIdentity, LicenseManagerSettings, PrerequisiteFacts};

    pub(super) use crate::model::fixtures::organization;

    pub(super) fn healthy() -> PrerequisiteFacts {
        PrerequisiteFacts {
            caller: Some(Ok(CallerIdentity {
                account: "100000000001".into(),
                arn: "arn:aws:iam::100000000001:role/admin".into(),
            })),
            organization: Some(Ok(organization())),
            license_manager_admins: None,
            service_access: Some(Ok([LICENSE_MANAGER_PRINCIPAL, MARKETPLACE_PRINCIPAL]
                .into_iter()
                .map(str::to_owned)
                .collect())),
            license_manager_settings: Some(Ok(LicenseManagerSettings {
                organization_integration: true,
                cross_account_discovery: false,
            })),
            ..PrerequisiteFacts::default()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn report() -> DoctorReport {
        DoctorReport {
            checks: vec![
                check("one", "One", Verdict::Pass, "fine", None),
                check(
                    "two",
                    "Two",
                    Verdict::Fail,
                    "broken",
                    Some("mend it".into()),
                ),
                check("three", "Three", Verdict::Warn, "odd", None),
                skipped("four", "Four", "`two` failed"),
                check("five", "Five", Verdict::Fail, "broken too", None),
            ],
        }
    }

    #[test]
    fn a_report_counts_its_verdicts_and_finds_its_failures() {
        let report = report();
        assert!(report.has_failures());
        let failed: Vec<&str> = report.failures().map(|check| check.id.as_str()).collect();
        assert_eq!(failed, ["two", "five"]);
        assert_eq!(
            report.counts(),
            BTreeMap::from([
                (Verdict::Pass, 1),
                (Verdict::Warn, 1),
                (Verdict::Fail, 2),
                (Verdict::Skip, 1)
            ])
        );
        assert_eq!(report.check("three").unwrap().title, "Three");
        assert_eq!(
            report.check("four").unwrap().detail,
            "not checked: `two` failed"
        );
        assert!(report.check("six").is_none());
        let mut healthy = report;
        healthy
            .checks
            .retain(|check| check.verdict != Verdict::Fail);
        assert!(!healthy.has_failures());
        assert_eq!(healthy.failures().count(), 0);
        assert_eq!(list(["a", "b"]), "`a`, `b`");
    }
}
