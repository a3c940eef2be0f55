//! The prerequisites `apply`, `activate` and `cleanup` check before they change anything: doctor's
//! organisation checks (credentials, management account or delegated administrator, all
//! features, trusted access for License Manager and AWS Marketplace, License Manager linked to
//! Organizations) and, when given, the license (AVAILABLE). The reads are doctor's
//! (`aws::prerequisites::organization_reads`: four calls at once), the verdicts and fixes are
//! doctor's (`planner::doctor::prechecks`): a broken organisation is refused with the fix before
//! a grant is created that would end in FAILED_WORKFLOW.

use std::fmt;

use crate::aws::{AwsClients, AwsError, prerequisites};
use crate::model::doctor::Check;
use crate::model::grant::LicenseInfo;
use crate::planner::doctor;

/// Why a command refused to change anything.
#[derive(Debug, thiserror::Error)]
pub enum PrecheckError {
    /// Prerequisites do not hold: each failed check, with doctor's fix.
    #[error(transparent)]
    Failed(#[from] PrerequisitesFailed),
    /// A read failed for a reason that says nothing about the organisation (throttled after every
    /// retry, a network or service failure, no credentials): whether they hold is unknown.
    #[error("could not check the prerequisites, so nothing was changed")]
    Unread(#[source] AwsError),
}

impl PrecheckError {
    /// What a person can do about it; `None` for a failed read, whose own error has the hint.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Failed(failed) => Some(failed.hint()),
            Self::Unread(_) => None,
        }
    }
}

/// The checks that failed, in doctor's order, each with its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrerequisitesFailed {
    /// The failed checks (verdict `fail`), as `entitle doctor` shows them.
    pub checks: Vec<Check>,
}

impl PrerequisitesFailed {
    /// What to do once each check's fix is applied.
    pub fn hint(&self) -> String {
        "apply each fix above, then `entitle doctor` shows whether every prerequisite holds"
            .to_owned()
    }
}

impl fmt::Display for PrerequisitesFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.checks.len();
        write!(
            f,
            "{count} prerequisite{} of a rollout fail{}, so nothing was changed:",
            if count == 1 { "" } else { "s" },
            if count == 1 { "s" } else { "" }
        )?;
        for check in &self.checks {
            write!(f, "\n  - {}: {}", check.title, check.detail)?;
            if let Some(fix) = &check.fix {
                write!(f, "\n    fix: {fix}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for PrerequisitesFailed {}

/// Checks the prerequisites before a change: `Ok` when every check passed (warnings allowed).
/// `license`: the license the change grants (`apply`, `activate`); `None` where an ended license
/// is the point (`cleanup`). From a command, after `observe`:
/// `crate::apply::prechecks::require(&clients, Some(&observed.license)).await?;`
pub async fn require(
    clients: &AwsClients,
    license: Option<&LicenseInfo>,
) -> Result<(), PrecheckError> {
    let reads = prerequisites::organization_reads(clients).await;
    if let Some(error) = reads.inconclusive() {
        return Err(PrecheckError::Unread(error.clone()));
    }
    // The reads left are answers or refusals; a refusal's fix is the permission, which the
    // check names, so no other hint is needed.
    let facts = reads.facts(|_| None);
    judge(&doctor::prechecks(&facts, license))
}

/// `Ok` when nothing in the report failed; otherwise the failed checks.
pub fn judge(report: &doctor::DoctorReport) -> Result<(), PrecheckError> {
    let checks: Vec<Check> = report.failures().cloned().collect();
    if checks.is_empty() {
        Ok(())
    } else {
        Err(PrerequisitesFailed { checks }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::doctor::Verdict;

    fn failed(id: &str, fix: Option<&str>) -> Check {
        Check {
            id: id.into(),
            title: format!("the {id} check"),
            verdict: Verdict::Fail,
            detail: format!("{id} is broken"),
            fix: fix.map(str::to_owned),
        }
    }

    #[test]
    fn a_report_without_failures_lets_the_change_go_ahead() {
        let mut warned = failed("feature-set", Some("enable it"));
        warned.verdict = Verdict::Warn;
        let report = doctor::DoctorReport {
            checks: vec![warned],
        };
        assert!(judge(&report).is_ok());
    }

    #[test]
    fn the_error_lists_each_failed_check_with_its_fix() {
        let mut passed = failed("credentials", None);
        passed.verdict = Verdict::Pass;
        let report = doctor::DoctorReport {
            checks: vec![
                passed,
                failed("license-manager-link", Some("link it")),
                failed("trusted-access-marketplace", None),
            ],
        };
        let error = judge(&report).unwrap_err();
        assert_eq!(
            error.to_string(),
            "2 prerequisites of a rollout fail, so nothing was changed:\n  \
             - the license-manager-link check: license-manager-link is broken\n    fix: link it\n  \
             - the trusted-access-marketplace check: trusted-access-marketplace is broken"
        );
        assert!(error.hint().unwrap().contains("`entitle doctor`"));
        let PrecheckError::Failed(failed) = error else {
            panic!("not a failed check");
        };
        assert_eq!(failed.checks.len(), 2);
    }
}
