//! Which OUs a plan needs read by name: what discovery must ask Organizations for beyond the
//! accounts (whose `Paths` already place every account in its OU).
//!
//! - An OU a phase names (in `ous` or `exclude.ous`) is read: by path, walking down from the root
//!   by name; by id, directly.
//! - Below an OU selected with `grant_to = "auto"` (and `match = "any"`), the cover may grant any
//!   OU of its subtree whole, and the plan shows those OUs by name: the subtree is read too.
//! - `organization = true` with exclusions and `grant_to = "auto"` may grant any OU: the whole
//!   tree is read.
//! - Accounts, tags, and the organisation without exclusions need no OU at all.

use crate::model::plan::{GrantTo, Match, Phase};
use crate::model::{RolloutPlan, UnitRead, UnitScope};

/// The OUs `rollout`'s phases need read by name.
pub fn unit_scope(rollout: &RolloutPlan) -> UnitScope {
    let mut reads: Vec<UnitRead> = Vec::new();
    for phase in &rollout.phases {
        if may_grant_any_unit(phase) {
            return UnitScope::Whole;
        }
        let subtree = phase.grant_to == GrantTo::Auto && phase.matching == Match::Any;
        let selected = phase.ous.iter().map(|unit| UnitRead {
            unit: unit.value.clone(),
            subtree,
        });
        let excluded = phase.exclude_ous.iter().map(|unit| UnitRead {
            unit: unit.value.clone(),
            subtree: false,
        });
        reads.extend(selected.chain(excluded));
    }
    reads.sort();
    // A subtree read covers the OU itself: keep the widest read of each OU.
    reads.dedup_by(|later, earlier| {
        if later.unit == earlier.unit {
            earlier.subtree |= later.subtree;
            true
        } else {
            false
        }
    });
    UnitScope::Some(reads)
}

/// Whether the phase's cover may grant any OU of the organisation whole.
fn may_grant_any_unit(phase: &Phase) -> bool {
    phase.organization && phase.grant_to == GrantTo::Auto && phase.has_exclusions()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::OuId;
    use crate::model::parse_plan;
    use crate::model::plan::OuRef;

    fn scope(phases: &str) -> UnitScope {
        let text = format!(
            "version = 1\nname = \"r\"\n[entitlement]\nproduct = \"prod-abc123\"\n{phases}"
        );
        unit_scope(&parse_plan(&text, "plan.toml").unwrap())
    }

    fn path(path: &str, subtree: bool) -> UnitRead {
        UnitRead {
            unit: OuRef::Path(path.into()),
            subtree,
        }
    }

    #[test]
    fn accounts_tags_and_the_whole_organisation_read_no_ou() {
        assert_eq!(
            scope(
                "[[phase]]\nname = \"a\"\naccounts = [\"111111111111\"]\n\
                 [[phase]]\nname = \"t\"\ntags = { team = \"ml\" }\n\
                 [[phase]]\nname = \"o\"\norganization = true\n"
            ),
            UnitScope::Some(Vec::new())
        );
    }

    #[test]
    fn named_ous_are_read_with_their_subtree_where_the_cover_may_grant_below_them() {
        assert_eq!(
            scope(
                "[[phase]]\nname = \"auto\"\nous = [\"Workloads/Web\", \"ou-ab12-aaaaaaaa\"]\n\
                 exclude = { ous = [\"Workloads/Web/Old\"] }\n\
                 [[phase]]\nname = \"whole\"\nous = [\"Sandbox\"]\ngrant_to = \"ous\"\n\
                 [[phase]]\nname = \"each\"\nous = [\"Workloads/Web\"]\ngrant_to = \"accounts\"\n\
                 [[phase]]\nname = \"all\"\nous = [\"Data\"]\ntags = { team = \"ml\" }\nmatch = \"all\"\n"
            ),
            UnitScope::Some(vec![
                path("Data", false),
                path("Sandbox", false),
                // Read once, with its subtree (phase `auto` needs it, `each` does not).
                path("Workloads/Web", true),
                path("Workloads/Web/Old", false),
                UnitRead {
                    unit: OuRef::Id(OuId::parse("ou-ab12-aaaaaaaa").unwrap()),
                    subtree: true,
                },
            ])
        );
    }

    #[test]
    fn the_organisation_with_exclusions_reads_every_ou_unless_granted_account_by_account() {
        assert_eq!(
            scope(
                "[[phase]]\nname = \"o\"\norganization = true\n\
                 exclude = { accounts = [\"111111111111\"] }\n"
            ),
            UnitScope::Whole
        );
        assert_eq!(
            scope(
                "[[phase]]\nname = \"o\"\norganization = true\ngrant_to = \"accounts\"\n\
                 exclude = { ous = [\"Sandbox\"] }\n"
            ),
            UnitScope::Some(vec![path("Sandbox", false)])
        );
    }
}
