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
//!
//! And whose tags: a phase selecting by tag with `match = "any"` (or by tags alone, or with
//! `organization = true`) must look at every account's tags; with `match = "all"` beside
//! accounts or OUs, only at the tags of the accounts those select.

use std::collections::BTreeSet;

use crate::model::plan::{GrantTo, Match, OuRef, Phase};
use crate::model::{AccountId, OrgTree, ParentId, RolloutPlan, UnitRead, UnitScope};

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

/// Whose tags a plan needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagNeed {
    /// No phase selects by tag.
    None,
    /// A phase may select any account by tag: every account's tags (read while the accounts
    /// are listed).
    Every,
    /// Only the accounts [`accounts_to_tag`] names (read once the accounts are known).
    Selected,
}

/// Whose tags `rollout` needs.
pub fn tag_need(rollout: &RolloutPlan) -> TagNeed {
    let mut need = TagNeed::None;
    for phase in rollout.phases.iter().filter(|phase| !phase.tags.is_empty()) {
        if tags_decide_among_selected(phase) {
            need = TagNeed::Selected;
        } else {
            return TagNeed::Every;
        }
    }
    need
}

/// The accounts whose tags decide whether a `match = "all"` phase selects them: those its
/// accounts and OUs select (an OU the tree does not know selects nothing; the planner reports
/// it).
pub fn accounts_to_tag(rollout: &RolloutPlan, tree: &OrgTree) -> BTreeSet<AccountId> {
    let mut wanted = BTreeSet::new();
    for phase in rollout.phases.iter().filter(|phase| !phase.tags.is_empty()) {
        let mut sets: Vec<BTreeSet<AccountId>> = Vec::new();
        if !phase.accounts.is_empty() {
            sets.push(
                phase
                    .accounts
                    .iter()
                    .map(|account| account.value.clone())
                    .collect(),
            );
        }
        if !phase.ous.is_empty() {
            let mut in_ous = BTreeSet::new();
            for reference in &phase.ous {
                let unit = match &reference.value {
                    OuRef::Path(path) => tree.unit_by_path(path).map(|unit| unit.id.clone()),
                    OuRef::Id(id) => tree.unit(id).map(|unit| unit.id.clone()),
                };
                if let Some(unit) = unit {
                    in_ous.extend(
                        tree.accounts_under(&ParentId::Ou(unit))
                            .into_iter()
                            .map(|account| account.id.clone()),
                    );
                }
            }
            sets.push(in_ous);
        }
        let mut sets = sets.into_iter();
        let first = sets.next().unwrap_or_default();
        wanted.extend(sets.fold(first, |kept, set| {
            kept.intersection(&set).cloned().collect()
        }));
    }
    wanted
}

/// Whether a phase's tags only decide among accounts its other selectors select: with
/// `match = "all"` (which the plan file allows only beside `accounts` or `ous`).
fn tags_decide_among_selected(phase: &Phase) -> bool {
    phase.matching == Match::All
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
    use crate::model::fixtures::{account, unit};
    use crate::model::parse_plan;

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
    fn tags_are_read_for_every_account_unless_they_only_narrow_accounts_or_ous() {
        let plan = |phases: &str| {
            let text = format!(
                "version = 1\nname = \"r\"\n[entitlement]\nproduct = \"prod-abc123\"\n{phases}"
            );
            parse_plan(&text, "plan.toml").unwrap()
        };
        let none = plan("[[phase]]\nname = \"a\"\nous = [\"Workloads\"]\n");
        assert_eq!(tag_need(&none), TagNeed::None);
        let narrowing = plan(
            "[[phase]]\nname = \"a\"\nous = [\"Workloads\"]\ntags = { team = \"ml\" }\nmatch = \"all\"\n\
             [[phase]]\nname = \"b\"\naccounts = [\"333333333333\", \"444444444444\"]\nous = [\"Sandbox\"]\n\
             tags = { team = \"ml\" }\nmatch = \"all\"\n",
        );
        assert_eq!(tag_need(&narrowing), TagNeed::Selected);
        for every in [
            "[[phase]]\nname = \"a\"\ntags = { team = \"ml\" }\n",
            "[[phase]]\nname = \"a\"\nous = [\"Workloads\"]\ntags = { team = \"ml\" }\n",
        ] {
            assert_eq!(tag_need(&plan(every)), TagNeed::Every, "{every}");
            // One such phase beside narrowing ones is enough.
            let both = format!(
                "{every}[[phase]]\nname = \"z\"\nous = [\"Workloads\"]\ntags = {{ team = \"ml\" }}\nmatch = \"all\"\n"
            );
            assert_eq!(tag_need(&plan(&both)), TagNeed::Every, "{both}");
        }
        // The accounts under Workloads (at any depth), and of phase b's two accounts the one in
        // Sandbox (the intersection): nothing else.
        let tree = crate::model::fixtures::tree_of(
            [
                unit("ou-ab12-aaaaaaaa", "Workloads", "r-ab12"),
                unit("ou-ab12-bbbbbbbb", "ML", "ou-ab12-aaaaaaaa"),
                unit("ou-ab12-cccccccc", "Sandbox", "r-ab12"),
            ],
            [
                account("111111111111", "ou-ab12-aaaaaaaa"),
                account("222222222222", "ou-ab12-bbbbbbbb"),
                account("333333333333", "ou-ab12-cccccccc"),
                account("444444444444", "r-ab12"),
                account("555555555555", "ou-ab12-cccccccc"),
            ],
        );
        let tagged: Vec<String> = accounts_to_tag(&narrowing, &tree)
            .iter()
            .map(|id| id.to_string())
            .collect();
        assert_eq!(tagged, ["111111111111", "222222222222", "333333333333"]);
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
