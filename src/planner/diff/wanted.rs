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
}
