//! Gate verdicts: whether a phase's `min_active` share is reached and has baked long enough for
//! the next phase to go ahead, and which gates a run lets through anyway. One rule, used by the
//! plan (which holds later phases back) and by `status` (which shows each verdict).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::diff::UnixSeconds;
use crate::model::plan::{Gate, format_duration};

/// Facts the gates are judged on that only the caller knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateFacts {
    /// When each phase (by name) was first seen with its `min_active` share reached (not
    /// necessarily every account active); the bake time counts from there. Recorded by
    /// `status`/`apply` in the journal.
    pub share_reached: BTreeMap<String, UnixSeconds>,
}

impl GateFacts {
    /// When phase `phase` was first seen with its `min_active` share reached, if it was.
    pub fn share_reached_since(&self, phase: &str) -> Option<UnixSeconds> {
        self.share_reached.get(phase).copied()
    }
}

/// Which phases' gates a run lets through although they do not hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreGates {
    /// None: every gate holds the phases after it back until it holds.
    #[default]
    None,
    /// The gates of these phases (`--ignore-gate PHASE`, repeatable).
    Phases(BTreeSet<String>),
    /// Every gate (`--ignore-gates`).
    All,
}

impl IgnoreGates {
    /// Whether the gate of `phase` (which holds the next phase back) is let through.
    pub fn covers(&self, phase: &str) -> bool {
        match self {
            Self::None => false,
            Self::Phases(phases) => phases.contains(phase),
            Self::All => true,
        }
    }
}

/// How many of a phase's targeted accounts are active now: what `min_active` is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Share {
    /// Targeted accounts with an ACTIVE grant of the rollout.
    pub(crate) active: usize,
    /// Targeted accounts.
    pub(crate) targeted: usize,
}

impl Share {
    /// Whether at least `percent`% of the targeted accounts are active (a phase that targets no
    /// account reaches any share).
    fn reaches(self, percent: u8) -> bool {
        // Integer arithmetic: `active / targeted >= percent / 100`.
        self.targeted == 0 || self.active * 100 >= usize::from(percent) * self.targeted
    }
}

/// A phase's gate verdict: what the next phase waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateVerdict {
    /// The share of accounts that must be ACTIVE, in percent.
    pub min_active_percent: u8,
    /// Whether that share is reached now.
    pub min_active_holds: bool,
    /// The bake time after the share is reached, in seconds.
    pub bake_seconds: u64,
    /// When the share was first seen reached (seconds since the epoch, from the journal).
    pub active_since: Option<UnixSeconds>,
    /// How long it has baked so far, in seconds.
    pub baked_seconds: u64,
    /// Whether the whole gate holds: the share reached and baked long enough.
    pub holds: bool,
}

impl GateVerdict {
    /// Judges `gate` on the phase's `share` now; the bake counts from `share_reached_since` (the
    /// journal's record), and only while the share is reached.
    pub(crate) fn judge(
        gate: &Gate,
        share: Share,
        share_reached_since: Option<UnixSeconds>,
        now: UnixSeconds,
    ) -> Self {
        let min_active_holds = share.reaches(gate.min_active_percent);
        let active_since = share_reached_since.filter(|_| min_active_holds);
        // A record from the future (a clock set back) has baked nothing yet.
        let baked_seconds = active_since.map_or(0, |since| {
            u64::try_from(now.saturating_sub(since)).unwrap_or(0)
        });
        Self {
            min_active_percent: gate.min_active_percent,
            min_active_holds,
            bake_seconds: gate.bake_seconds,
            active_since,
            baked_seconds,
            holds: min_active_holds
                && (gate.bake_seconds == 0 || baked_seconds >= gate.bake_seconds),
        }
    }

    /// Why the gate of phase `phase` holds the next phase back, for people; `None` when it holds.
    pub(crate) fn held_back_because(&self, phase: &str, share: Share) -> Option<String> {
        if !self.min_active_holds {
            return Some(format!(
                "phase `{phase}` has {} of {} {} active, its gate needs {}%",
                share.active,
                share.targeted,
                if share.targeted == 1 {
                    "account"
                } else {
                    "accounts"
                },
                self.min_active_percent
            ));
        }
        if self.holds {
            return None;
        }
        let bake = format_duration(self.bake_seconds);
        Some(match self.active_since {
            None => format!(
                "phase `{phase}` is active but its {bake} bake has not started (no record of when it became active)"
            ),
            Some(_) => format!(
                "phase `{phase}` has baked {} of {bake} ({} left)",
                format_duration(self.baked_seconds),
                format_duration(self.bake_seconds.saturating_sub(self.baked_seconds))
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixSeconds = 1_800_000_000;
    const HOUR: u64 = 3_600;

    fn gate(percent: u8, bake: u64) -> Gate {
        Gate {
            min_active_percent: percent,
            bake_seconds: bake,
        }
    }

    fn share(active: usize, targeted: usize) -> Share {
        Share { active, targeted }
    }

    #[test]
    fn the_share_is_judged_in_integers_and_an_empty_phase_reaches_it() {
        assert!(share(9, 10).reaches(90));
        assert!(!share(8, 10).reaches(90));
        assert!(share(1, 3).reaches(33));
        assert!(!share(1, 3).reaches(34));
        assert!(share(0, 0).reaches(100));
    }

    #[test]
    fn a_share_not_reached_names_the_counts() {
        let verdict = GateVerdict::judge(&gate(100, 24 * HOUR), share(1, 2), Some(NOW), NOW);
        assert!(!verdict.min_active_holds && !verdict.holds);
        assert_eq!(
            verdict.active_since, None,
            "no bake counts while the share is short"
        );
        assert_eq!(
            verdict.held_back_because("pilot", share(1, 2)).as_deref(),
            Some("phase `pilot` has 1 of 2 accounts active, its gate needs 100%")
        );
    }

    #[test]
    fn without_a_bake_the_share_is_enough() {
        let verdict = GateVerdict::judge(&gate(50, 0), share(1, 2), None, NOW);
        assert!(verdict.holds);
        assert_eq!(verdict.held_back_because("pilot", share(1, 2)), None);
    }

    #[test]
    fn a_bake_needs_a_record_of_when_the_share_was_reached() {
        let verdict = GateVerdict::judge(&gate(100, 24 * HOUR), share(2, 2), None, NOW);
        assert!(verdict.min_active_holds && !verdict.holds);
        assert_eq!(
            verdict.held_back_because("pilot", share(2, 2)).as_deref(),
            Some(
                "phase `pilot` is active but its 1d bake has not started (no record of when it became active)"
            )
        );
    }

    #[test]
    fn a_bake_counts_from_the_record_to_now() {
        let since = NOW - 3 * 3_600;
        let baking = GateVerdict::judge(&gate(100, 24 * HOUR), share(2, 2), Some(since), NOW);
        assert_eq!(baking.baked_seconds, 3 * HOUR);
        assert!(!baking.holds);
        assert_eq!(
            baking.held_back_because("pilot", share(2, 2)).as_deref(),
            Some("phase `pilot` has baked 3h of 1d (21h left)")
        );
        let baked = GateVerdict::judge(&gate(100, 3 * HOUR), share(2, 2), Some(since), NOW);
        assert!(baked.holds);
        assert_eq!(baked.held_back_because("pilot", share(2, 2)), None);
    }

    #[test]
    fn a_record_from_the_future_has_baked_nothing() {
        let verdict = GateVerdict::judge(&gate(100, HOUR), share(2, 2), Some(NOW + 60), NOW);
        assert_eq!(verdict.baked_seconds, 0);
        assert!(!verdict.holds);
    }

    #[test]
    fn a_share_not_reached_holds_even_without_a_bake() {
        let verdict = GateVerdict::judge(&gate(100, 0), share(1, 2), Some(NOW - 60), NOW);
        assert!(!verdict.min_active_holds);
        assert!(
            !verdict.holds,
            "a gate without a bake still needs its share"
        );
        assert_eq!(verdict.baked_seconds, 0);
    }

    #[test]
    fn gate_facts_answer_for_the_phase_they_recorded() {
        let facts = GateFacts {
            share_reached: [("pilot".to_owned(), NOW - 60)].into(),
        };
        assert_eq!(facts.share_reached_since("pilot"), Some(NOW - 60));
        assert_eq!(facts.share_reached_since("workloads"), None);
    }

    #[test]
    fn ignored_gates_are_named_or_all() {
        assert!(!IgnoreGates::None.covers("pilot"));
        assert!(IgnoreGates::All.covers("pilot"));
        let some = IgnoreGates::Phases(["pilot".to_owned()].into());
        assert!(some.covers("pilot") && !some.covers("workloads"));
    }
}
