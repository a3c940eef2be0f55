//! The saved plan (`entitle plan --out FILE`): the plan, the plan file's hash and a fingerprint of
//! what was observed, so that `apply` can refuse a plan the world has moved away from.
//!
//! The file is JSON (the caller writes and reads it); its layout is documented in
//! `docs/plan-format.md` ("Saved plans"). The fingerprint is SHA-256 over a canonical JSON
//! rendering of the organisation (organisation id, OUs with parents, accounts with state, parent
//! and tags) and of the license and its grants (distributed and received), every list sorted, so
//! the same world always gives the same fingerprint whatever order AWS listed it in.

use serde::{Deserialize, Serialize};

use super::diff::{Observed, Plan};
use crate::model::OrgTree;
use crate::model::plan::sha256_hex;

/// The version of the saved-plan layout; bumped on any incompatible change.
pub const SAVED_PLAN_FORMAT_VERSION: u32 = 1;

/// The `kind` of a saved plan.
fn saved_plan_kind() -> String {
    "saved-plan".to_owned()
}

/// A plan as written by `plan --out` and read by `apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// [`SAVED_PLAN_FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// `saved-plan`: what document this is (docs/schema/saved-plan.schema.json); files written
    /// before it was added read as one.
    #[serde(default = "saved_plan_kind")]
    pub kind: String,
    /// The plan file's display name, for messages.
    pub plan_file: String,
    /// SHA-256 (hex) of the plan file's text.
    pub plan_file_sha256: String,
    /// [`fingerprint`] of what the plan was made from.
    pub observed_fingerprint: String,
    /// The plan itself.
    pub plan: Plan,
}

impl SavedPlan {
    /// Wraps a plan with what it was made from.
    pub fn new(
        plan: Plan,
        plan_file: &str,
        plan_file_sha256: &str,
        observed_fingerprint: String,
    ) -> Self {
        Self {
            format_version: SAVED_PLAN_FORMAT_VERSION,
            kind: saved_plan_kind(),
            plan_file: plan_file.to_owned(),
            plan_file_sha256: plan_file_sha256.to_owned(),
            observed_fingerprint,
            plan,
        }
    }

    /// Checks that the plan still applies: same layout version, same plan file, same world.
    /// `plan_file_sha256` is the hash of the plan file as it is now (absent when the caller
    /// applies the saved plan alone), `current_fingerprint` the fingerprint of a fresh look.
    pub fn check_fresh(
        &self,
        plan_file_sha256: Option<&str>,
        current_fingerprint: &str,
    ) -> Result<(), StalePlan> {
        if self.format_version != SAVED_PLAN_FORMAT_VERSION {
            return Err(StalePlan::FormatVersion {
                found: self.format_version,
                expected: SAVED_PLAN_FORMAT_VERSION,
            });
        }
        if let Some(hash) = plan_file_sha256
            && hash != self.plan_file_sha256
        {
            return Err(StalePlan::PlanFileChanged {
                file: self.plan_file.clone(),
            });
        }
        if current_fingerprint != self.observed_fingerprint {
            return Err(StalePlan::WorldChanged);
        }
        Ok(())
    }
}

/// Why a saved plan may not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StalePlan {
    /// Written by an entitle with another layout.
    #[error("the saved plan has format version `{found}`, this entitle reads `{expected}`")]
    FormatVersion {
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// The plan file was edited after the plan was saved.
    #[error("`{file}` changed since the plan was saved")]
    PlanFileChanged {
        /// The plan file.
        file: String,
    },
    /// The organisation or the grants changed since the plan was saved.
    #[error("the organisation or the grants of the license changed since the plan was saved")]
    WorldChanged,
}

impl StalePlan {
    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        "run `entitle plan` again and review the new plan"
    }
}

#[derive(Serialize)]
struct Canonical<'a> {
    organization: &'a str,
    management_account: &'a str,
    units: Vec<(&'a str, &'a str, &'a str)>,
    accounts: Vec<(
        &'a str,
        &'a str,
        &'a str,
        &'a std::collections::BTreeMap<String, String>,
    )>,
    observed: Observed,
}

/// SHA-256 (hex) of the canonical rendering of the tree and the observed grants.
pub fn fingerprint(tree: &OrgTree, observed: &Observed) -> String {
    let mut sorted = observed.clone();
    sorted.grants.sort_by(|a, b| a.arn.cmp(&b.arn));
    sorted.received.sort();
    let organization = tree.organization();
    let canonical = Canonical {
        organization: organization.id.as_str(),
        management_account: organization.management_account.as_str(),
        // `units()` and `accounts()` iterate in id order already.
        units: tree
            .units()
            .map(|unit| (unit.id.as_str(), unit.parent.as_str(), unit.label()))
            .collect(),
        accounts: tree
            .accounts()
            .map(|account| {
                (
                    account.id.as_str(),
                    account.state.as_str(),
                    account.parent.as_str(),
                    &account.tags,
                )
            })
            .collect(),
        observed: sorted,
    };
    // Serialising plain structs, strings and sorted maps cannot fail; an empty rendering would
    // still give a stable (if useless) fingerprint.
    let text = serde_json::to_vec(&canonical).unwrap_or_default();
    sha256_hex(&text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeSet;

    use super::*;
    use crate::model::LicenseStatus;
    use crate::model::grant::{DistributedGrant, GrantStatus};
    use crate::planner::diff::fixtures::{LICENSE, tree};
    use crate::planner::diff::{PlanOptions, plan};

    fn grant(number: u32, status: GrantStatus) -> DistributedGrant {
        DistributedGrant {
            arn: format!("arn:aws:license-manager::100000000001:grant:g-{number}"),
            name: "entitle/r/pilot".into(),
            principal_arn: "arn:aws:iam::111111111111:root".into(),
            status,
            status_reason: None,
            version: "1".into(),
            granted_operations: BTreeSet::new(),
            tags: Default::default(),
            license_arn: LICENSE.into(),
        }
    }

    fn observed(grants: Vec<DistributedGrant>) -> Observed {
        Observed {
            license: crate::model::fixtures::license(LICENSE, "prod-a", LicenseStatus::Available),
            grants,
            received: Vec::new(),
            own_subscriptions: BTreeSet::new(),
        }
    }

    fn saved(fingerprint: String) -> SavedPlan {
        let rollout = crate::model::parse_plan(
            "version = 1\nname = \"r\"\n[entitlement]\nproduct = \"prod-a\"\n\
             [[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\"]\n",
            "r.toml",
        )
        .unwrap();
        let made = plan(
            &rollout,
            &tree(),
            &observed(Vec::new()),
            &PlanOptions::default(),
        )
        .unwrap();
        SavedPlan::new(made, "plans/r.toml", &rollout.sha256, fingerprint)
    }

    #[test]
    fn the_fingerprint_follows_the_world_not_the_order_it_was_listed_in() {
        let tree = tree();
        let both = fingerprint(
            &tree,
            &observed(vec![
                grant(1, GrantStatus::Active),
                grant(2, GrantStatus::Active),
            ]),
        );
        assert_eq!(both.len(), 64);
        assert!(both.bytes().all(|byte| byte.is_ascii_hexdigit()));
        let reversed = fingerprint(
            &tree,
            &observed(vec![
                grant(2, GrantStatus::Active),
                grant(1, GrantStatus::Active),
            ]),
        );
        assert_eq!(both, reversed);
        let changed = fingerprint(
            &tree,
            &observed(vec![
                grant(1, GrantStatus::Active),
                grant(2, GrantStatus::Disabled),
            ]),
        );
        assert_ne!(both, changed);
        let other_tree = crate::model::fixtures::tree_of(
            [],
            [crate::model::fixtures::account("111111111111", "r-ab12")],
        );
        assert_ne!(
            fingerprint(&other_tree, &observed(Vec::new())),
            fingerprint(&tree, &observed(Vec::new()))
        );
    }

    #[test]
    fn a_saved_plan_applies_only_to_the_same_layout_plan_file_and_world() {
        let plan = saved("world-1".to_owned());
        assert_eq!(plan.kind, "saved-plan");
        assert_eq!(plan.format_version, SAVED_PLAN_FORMAT_VERSION);
        let hash = plan.plan_file_sha256.clone();
        assert_eq!(plan.check_fresh(Some(&hash), "world-1"), Ok(()));
        assert_eq!(plan.check_fresh(None, "world-1"), Ok(()));
        assert_eq!(
            plan.check_fresh(Some("edited"), "world-1"),
            Err(StalePlan::PlanFileChanged {
                file: "plans/r.toml".to_owned()
            })
        );
        assert_eq!(
            plan.check_fresh(Some(&hash), "world-2"),
            Err(StalePlan::WorldChanged)
        );
        assert_eq!(
            plan.check_fresh(None, "world-2"),
            Err(StalePlan::WorldChanged)
        );
        let mut older = plan.clone();
        older.format_version = SAVED_PLAN_FORMAT_VERSION + 1;
        let stale = older.check_fresh(Some(&hash), "world-1").unwrap_err();
        assert_eq!(
            stale,
            StalePlan::FormatVersion {
                found: SAVED_PLAN_FORMAT_VERSION + 1,
                expected: SAVED_PLAN_FORMAT_VERSION
            }
        );
        assert_eq!(
            stale.hint(),
            "run `entitle plan` again and review the new plan"
        );
        // A file written before `kind` was added reads as a saved plan.
        let mut json = serde_json::to_value(&plan).unwrap();
        json.as_object_mut().unwrap().remove("kind");
        let read: SavedPlan = serde_json::from_value(json).unwrap();
        assert_eq!(read, plan);
    }
}
