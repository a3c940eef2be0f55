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
