//! Each phase as planned: how many of its accounts are active, whether the gate before it holds
//! it back (and so every phase after it), and which held gates `--ignore-gate`/`--ignore-gates`
//! let through.

use super::inputs::PlanOptions;
use super::output::PhasePlan;
use crate::model::RolloutPlan;
use crate::model::plan::Gate;
use crate::planner::activity::AccountActivity;
use crate::planner::gates::{GateVerdict, Share};
use crate::planner::targets::ResolvedPhase;

/// Plans every phase of `resolved` (those after `limit` are listed, never blocked). Phase `n` is
/// blocked while the gate of phase `n - 1` does not hold, unless that gate is ignored; once an
/// included phase is blocked, every later phase is blocked with it, whatever its own gate says.
pub(super) fn plan_phases(
    rollout: &RolloutPlan,
    resolved: &[ResolvedPhase],
    activity: &AccountActivity,
    limit: usize,
    options: &PlanOptions,
) -> Vec<PhasePlan> {
    let shares: Vec<Share> = resolved
        .iter()
        .map(|phase| activity.share(&phase.targeted))
        .collect();
    let mut phases = Vec::new();
    // Why an earlier included phase is blocked: every phase after it is too.
    let mut blocked_since: Option<String> = None;
    for (index, phase) in resolved.iter().enumerate() {
        let included = index <= limit;
        let (blocked, gate_ignored) = match &blocked_since {
            Some(reason) => (Some(reason.clone()), None),
            None => match index.checked_sub(1) {
                None => (None, None),
                Some(previous) => {
                    // Tearing the rollout down waits for no gate.
                    let held = if options.destroy {
                        None
                    } else {
                        held_back_by(
                            rollout.phases[previous].gate.as_ref(),
                            &resolved[previous],
                            shares[previous],
                            options,
                        )
                    };
                    let ignored = options
                        .ignore_gates
                        .covers(&rollout.phases[previous].name.value);
                    // `--ignore-gate PHASE` / `--ignore-gates`: the gate is let through, and said so.
                    match held {
                        Some(reason) if ignored => (None, Some(reason)),
                        held => (held, None),
                    }
                }
            },
        };
        if included && blocked.is_some() && blocked_since.is_none() {
            blocked_since = Some(format!(
                "an earlier phase is blocked: {}",
                blocked.clone().unwrap_or_default()
            ));
        }
        phases.push(PhasePlan {
            name: phase.name.clone(),
            included,
            blocked: if included { blocked } else { None },
            targeted: phase.targeted.len(),
            active: shares[index].active,
            skipped: phase.skipped.clone(),
            gate: rollout.phases[index].gate,
            gate_ignored: if included { gate_ignored } else { None },
        });
    }
    phases
}

/// Why `gate`, the gate of `phase` (if it has one), holds the next phase back now; `None` when it
/// holds.
fn held_back_by(
    gate: Option<&Gate>,
    phase: &ResolvedPhase,
    share: Share,
    options: &PlanOptions,
) -> Option<String> {
    let gate = gate?;
    let since = options.gate_facts.share_reached_since(&phase.name);
    GateVerdict::judge(gate, share, since, options.now).held_back_because(&phase.name, share)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{grant, observed, rollout, tree};
    use super::*;
    use crate::model::grant::GrantStatus;
    use crate::planner::gates::IgnoreGates;
    use crate::planner::targets::resolve_targets;

    const THREE_PHASES: &str = r#"
[[phase]]
name = "pilot"
accounts = ["111111111111"]
gate = { min_active = "100%" }

[[phase]]
name = "workloads"
ous = ["Workloads"]
gate = { min_active = "100%" }

[[phase]]
name = "everyone"
organization = true
"#;

    fn phases_with(pilot: GrantStatus, limit: usize, options: &PlanOptions) -> Vec<PhasePlan> {
        let rollout = rollout(THREE_PHASES);
        let tree = tree();
        let resolved = resolve_targets(&rollout, &tree).unwrap();
        let seen = observed(vec![grant(
            1,
            "pilot",
            "arn:aws:iam::111111111111:root",
            pilot,
        )]);
        let activity = AccountActivity::observe("r", &seen);
        plan_phases(&rollout, &resolved, &activity, limit, options)
    }

    #[test]
    fn a_gate_that_holds_lets_the_next_phase_through() {
        let phases = phases_with(GrantStatus::Active, 2, &PlanOptions::default());
        assert_eq!(phases[0].active, 1);
        assert_eq!(phases[1].blocked, None);
        assert_eq!(
            phases[2].blocked.as_deref(),
            Some("phase `workloads` has 1 of 2 accounts active, its gate needs 100%")
        );
    }

    #[test]
    fn a_held_gate_blocks_every_later_phase() {
        let phases = phases_with(GrantStatus::Disabled, 2, &PlanOptions::default());
        assert_eq!(phases[0].blocked, None);
        let held = "phase `pilot` has 0 of 1 account active, its gate needs 100%";
        assert_eq!(phases[1].blocked.as_deref(), Some(held));
        assert_eq!(
            phases[2].blocked.as_deref(),
            Some(format!("an earlier phase is blocked: {held}").as_str())
        );
    }

    #[test]
    fn an_ignored_gate_lets_only_the_phase_after_it_through() {
        let options = PlanOptions {
            ignore_gates: IgnoreGates::Phases(["pilot".to_owned()].into()),
            ..PlanOptions::default()
        };
        let phases = phases_with(GrantStatus::Disabled, 2, &options);
        assert_eq!(phases[1].blocked, None);
        assert_eq!(
            phases[1].gate_ignored.as_deref(),
            Some("phase `pilot` has 0 of 1 account active, its gate needs 100%")
        );
        assert_eq!(
            phases[2].blocked.as_deref(),
            Some("phase `workloads` has 0 of 2 accounts active, its gate needs 100%")
        );
    }

    #[test]
    fn phases_after_the_limit_are_listed_and_never_blocked() {
        let phases = phases_with(GrantStatus::Disabled, 0, &PlanOptions::default());
        assert!(phases[0].included && !phases[1].included && !phases[2].included);
        assert!(phases.iter().all(|phase| phase.blocked.is_none()));
    }

    #[test]
    fn tearing_down_waits_for_no_gate() {
        let destroy = PlanOptions {
            destroy: true,
            ..PlanOptions::default()
        };
        let phases = phases_with(GrantStatus::Disabled, 2, &destroy);
        assert!(
            phases.iter().all(|phase| phase.blocked.is_none()),
            "{phases:?}"
        );
        assert!(phases.iter().all(|phase| phase.gate_ignored.is_none()));
        // The same plan without --destroy is held at the pilot's gate.
        let phases = phases_with(GrantStatus::Disabled, 2, &PlanOptions::default());
        assert!(phases[1].blocked.is_some());
    }
}
