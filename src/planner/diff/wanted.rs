//! What the plan wants, before anything observed is looked at: how far `--phase` reaches, which
//! operations every grant allows, and which principal each phase grants to (a principal belongs
//! to the first phase that wants it), within License Manager's limit of grants per license.

use std::collections::{BTreeMap, BTreeSet};

use super::output::PlanError;
use crate::model::RolloutPlan;
use crate::model::grant::{LicenseInfo, Operation};
use crate::model::plan::{Diagnostic, PlanFileErrors, nearest};
use crate::planner::cover::CoverGrant;

/// License Manager's documented limit of grants per license.
pub const MAX_GRANTS_PER_LICENSE: usize = 2_000;

/// The index of the last phase planned: the one `--phase` names, or the last of the plan.
pub(super) fn phase_limit(rollout: &RolloutPlan, phase: Option<&str>) -> Result<usize, PlanError> {
    match phase {
        None => Ok(rollout.phases.len().saturating_sub(1)),
        Some(name) => rollout
            .phase_index(name)
            .ok_or_else(|| PlanError::UnknownPhase {
                name: name.to_owned(),
                suggestion: nearest(
                    name,
                    rollout.phases.iter().map(|phase| phase.name.value.as_str()),
                )
                .map(str::to_owned),
            }),
    }
}

/// The operations every grant allows: the plan's, which the license must allow passing on, or by
/// default every operation the license allows except passing it on further (`CreateGrant`).
pub(super) fn check_operations(
    rollout: &RolloutPlan,
    license: &LicenseInfo,
) -> Result<BTreeSet<Operation>, PlanFileErrors> {
    match &rollout.entitlement.operations {
        None => Ok(license
            .allowed_operations
            .iter()
            .filter(|operation| **operation != Operation::CreateGrant)
            .cloned()
            .collect()),
        Some(wanted) => {
            let refused: Vec<&Operation> = wanted
                .iter()
                .filter(|operation| !license.allowed_operations.contains(*operation))
                .collect();
            if refused.is_empty() {
                return Ok(wanted.clone());
            }
            let names: Vec<String> = refused.iter().map(|op| format!("`{op}`")).collect();
            let allowed: Vec<String> = license
                .allowed_operations
                .iter()
                .map(|op| format!("`{op}`"))
                .collect();
            let span = rollout.entitlement.operations_span.unwrap_or_default();
            Err(PlanFileErrors {
                diagnostics: vec![
                    Diagnostic::at(
                        &rollout.source,
                        span,
                        format!("the license does not allow passing on {}", names.join(", ")),
                    )
                    .hint(format!("the license allows {}", allowed.join(", "))),
                ],
            })
        }
    }
}

/// One principal the plan wants, with the phase that first wants it.
#[derive(Debug, Clone)]
pub(super) struct Wanted {
    /// The index of the first phase whose cover holds the principal.
    pub(super) phase: usize,
    /// The principal and the targeted accounts it reaches (in that phase).
    pub(super) grant: CoverGrant,
}

/// Every principal some phase grants to, by principal ARN, each with the first phase that wants
/// it (phases are cumulative: a later phase's cover repeats the earlier principals it keeps).
/// `--destroy` wants nothing. Refused, naming the phase, once the principals wanted by a phase
/// and those before it pass [`MAX_GRANTS_PER_LICENSE`].
pub(super) fn wanted_principals(
    rollout: &RolloutPlan,
    covers_by_phase: &[Vec<CoverGrant>],
    destroy: bool,
) -> Result<BTreeMap<String, Wanted>, PlanError> {
    let mut wanted: BTreeMap<String, Wanted> = BTreeMap::new();
    let wanting = if destroy { &[][..] } else { covers_by_phase };
    for (index, grants) in wanting.iter().enumerate() {
        for grant in grants {
            wanted
                .entry(grant.principal.arn())
                .or_insert_with(|| Wanted {
                    phase: index,
                    grant: grant.clone(),
                });
        }
        let total = wanted.len();
        if total > MAX_GRANTS_PER_LICENSE {
            let phase = &rollout.phases[index];
            return Err(PlanError::PlanFile(PlanFileErrors {
                diagnostics: vec![Diagnostic::at(
                    &rollout.source,
                    phase.name.span,
                    format!(
                        "the plan needs {total} grants by phase `{}`, more than the {MAX_GRANTS_PER_LICENSE} License Manager allows per license",
                        phase.name.value
                    ),
                )
                .hint("select whole OUs (`ous = [...]` with `grant_to = \"auto\"`) or `organization = true` instead of many single accounts")],
            }));
        }
    }
    Ok(wanted)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{rollout, tree};
    use super::*;
    use crate::planner::cover::cover;
    use crate::planner::targets::resolve_targets;

    const TWO_PHASES: &str = r#"
[[phase]]
name = "pilot"
accounts = ["111111111111"]

[[phase]]
name = "everyone"
accounts = ["111111111111", "333333333333"]
grant_to = "accounts"
"#;

    #[test]
    fn a_principal_belongs_to_the_first_phase_that_wants_it() {
        let rollout = rollout(TWO_PHASES);
        let tree = tree();
        let covers: Vec<Vec<CoverGrant>> = resolve_targets(&rollout, &tree)
            .expect("targets resolve")
            .iter()
            .map(|phase| cover(phase, &tree))
            .collect();
        let wanted = wanted_principals(&rollout, &covers, false).expect("within the limit");
        let phases: Vec<(&str, usize)> = wanted
            .iter()
            .map(|(arn, want)| (arn.as_str(), want.phase))
            .collect();
        assert_eq!(
            phases,
            [
                ("arn:aws:iam::111111111111:root", 0),
                ("arn:aws:iam::333333333333:root", 1)
            ]
        );
        assert!(
            wanted_principals(&rollout, &covers, true)
                .expect("nothing wanted")
                .is_empty(),
            "`--destroy` wants nothing"
        );
    }

    #[test]
    fn an_unknown_phase_limit_names_the_nearest() {
        let rollout = rollout(TWO_PHASES);
        assert_eq!(phase_limit(&rollout, None).ok(), Some(1));
        assert_eq!(phase_limit(&rollout, Some("pilot")).ok(), Some(0));
        assert_eq!(
            phase_limit(&rollout, Some("pilt")).err(),
            Some(PlanError::UnknownPhase {
                name: "pilt".to_owned(),
                suggestion: Some("pilot".to_owned()),
            })
        );
    }

    fn license(allowed: &[Operation]) -> LicenseInfo {
        LicenseInfo {
            arn: "arn:l".to_owned(),
            product_sku: "prod-a".to_owned(),
            product_name: "A".to_owned(),
            status: crate::model::grant::LicenseStatus::Available,
            allowed_operations: allowed.iter().cloned().collect(),
            issuer: "AWS/Marketplace".to_owned(),
            home_region: "us-east-1".to_owned(),
        }
    }

    #[test]
    fn operations_default_to_the_license_s_without_passing_it_on() {
        let license = license(&[
            Operation::CreateGrant,
            Operation::CheckoutLicense,
            Operation::CheckInLicense,
        ]);
        assert_eq!(
            check_operations(&rollout(TWO_PHASES), &license).ok(),
            Some([Operation::CheckoutLicense, Operation::CheckInLicense].into())
        );
        let chosen = format!("operations = [\"CheckoutLicense\", \"CreateGrant\"]\n{TWO_PHASES}");
        assert_eq!(
            check_operations(&rollout(&chosen), &license).ok(),
            Some([Operation::CheckoutLicense, Operation::CreateGrant].into())
        );
        let refused = format!("operations = [\"CheckoutLicense\", \"CreateToken\"]\n{TWO_PHASES}");
        let errors = check_operations(&rollout(&refused), &license).unwrap_err();
        assert_eq!(errors.diagnostics.len(), 1);
        assert_eq!(
            errors.diagnostics[0].message,
            "the license does not allow passing on `CreateToken`"
        );
        assert_eq!(
            errors.diagnostics[0].hint.as_deref(),
            Some("the license allows `CreateGrant`, `CheckoutLicense`, `CheckInLicense`")
        );
    }

    #[test]
    fn the_grant_limit_per_license_is_reached_not_passed() {
        let rollout = rollout(TWO_PHASES);
        let partition = "aws".to_owned();
        let grants = |count: u64| -> Vec<CoverGrant> {
            (0..count)
                .map(|number| {
                    let id =
                        crate::model::AccountId::parse(format!("{:012}", 200_000_000_000 + number))
                            .unwrap();
                    CoverGrant {
                        principal: crate::model::Principal::Account {
                            id: id.clone(),
                            partition: partition.clone(),
                        },
                        accounts: [id].into(),
                    }
                })
                .collect()
        };
        let at_limit = [grants(2_000)];
        assert_eq!(
            wanted_principals(&rollout, &at_limit, false)
                .expect("exactly the limit")
                .len(),
            2_000
        );
        let past = [grants(1), grants(2_001)];
        let Err(PlanError::PlanFile(errors)) = wanted_principals(&rollout, &past, false) else {
            panic!("past the limit");
        };
        assert_eq!(
            errors.diagnostics[0].message,
            "the plan needs 2001 grants by phase `everyone`, more than the 2000 License Manager allows per license"
        );
    }
}
