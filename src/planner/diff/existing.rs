//! The license's grants as they are, split by whom they belong to: the rollout's own grants by
//! principal (the only ones a plan may change) and everyone else's (only listed), and which of a
//! principal's own grants is the live one a change works on.

use std::collections::BTreeMap;

use super::inputs::Observed;
use super::output::UnownedGrant;
use crate::model::grant::{DistributedGrant, GrantStatus, TAG_ROLLOUT};

/// The observed grants of the license, split by ownership.
pub(super) struct Existing<'a> {
    /// The rollout's grants by principal ARN, dead ones included, in the order they were read.
    pub(super) owned: BTreeMap<String, Vec<&'a DistributedGrant>>,
    /// Grants the rollout does not own, by principal ARN then grant ARN.
    pub(super) unowned: Vec<UnownedGrant>,
}

impl<'a> Existing<'a> {
    /// Splits the grants of the observed license between `rollout` and everyone else (grants of
    /// another license are ignored).
    pub(super) fn split(rollout: &str, observed: &'a Observed) -> Self {
        let mut owned: BTreeMap<String, Vec<&DistributedGrant>> = BTreeMap::new();
        let mut unowned = Vec::new();
        for grant in &observed.grants {
            if grant.license_arn != observed.license.arn {
                continue;
            }
            if grant.is_owned_by(rollout) {
                owned
                    .entry(grant.principal_arn.clone())
                    .or_default()
                    .push(grant);
            } else {
                unowned.push(UnownedGrant {
                    arn: grant.arn.clone(),
                    name: grant.name.clone(),
                    principal_arn: grant.principal_arn.clone(),
                    status: grant.status.clone(),
                    owner: grant.tags.get(TAG_ROLLOUT).cloned(),
                });
            }
        }
        unowned.sort_by(|a, b| (&a.principal_arn, &a.arn).cmp(&(&b.principal_arn, &b.arn)));
        Self { owned, unowned }
    }

    /// Every grant the rollout owns for the principal, dead ones included.
    pub(super) fn owned_for(&self, principal_arn: &str) -> Vec<&'a DistributedGrant> {
        self.owned
            .get(principal_arn)
            .into_iter()
            .flatten()
            .copied()
            .collect()
    }

    /// The principal's live grant of the rollout, the one its change works on: an ACTIVE one
    /// first, then the lowest ARN. Further live grants are duplicates to delete.
    pub(super) fn live_for(&self, principal_arn: &str) -> Option<&'a DistributedGrant> {
        let mut live: Vec<&DistributedGrant> = self
            .owned_for(principal_arn)
            .into_iter()
            .filter(|grant| !grant.status.is_dead())
            .collect();
        live.sort_by(|a, b| {
            (a.status != GrantStatus::Active, &a.arn)
                .cmp(&(b.status != GrantStatus::Active, &b.arn))
        });
        live.first().copied()
    }

    /// A note for a change that creates a grant where a live grant the rollout does not own
    /// already names the principal.
    pub(super) fn unowned_note(&self, principal_arn: &str) -> Option<String> {
        self.unowned
            .iter()
            .find(|grant| grant.principal_arn == principal_arn && !grant.status.is_dead())
            .map(|grant| {
                format!(
                    " (note: grant `{}`, not owned by this rollout, already names this principal)",
                    grant.name
                )
            })
    }
}
