//! Which accounts hold a rollout's grant, and how far along it is in each: the one rule the plan
//! (active counts, gates, own-subscription notes) and `status` (each account's grant) share.
//!
//! An account is reached by one of the rollout's live grants either through a received grant
//! (an organisation or OU grant's per-account grant, whose parent is ours, or a direct account
//! grant listed as itself) or, where no received grant of the account was read at all, by the
//! status of the rollout's own account grant.

use std::collections::{BTreeMap, BTreeSet};

use super::diff::Observed;
use super::gates::Share;
use crate::model::AccountId;
use crate::model::grant::{DistributedGrant, GrantStatus, ReceivedGrant, account_of_principal_arn};

/// The rollout's live (not dead) grants of the observed license, by ARN.
pub(crate) fn live_grants<'a>(
    rollout: &str,
    observed: &'a Observed,
) -> BTreeMap<&'a str, &'a DistributedGrant> {
    observed
        .grants
        .iter()
        .filter(|grant| grant.license_arn == observed.license.arn)
        .filter(|grant| grant.is_owned_by(rollout) && !grant.status.is_dead())
        .map(|grant| (grant.arn.as_str(), grant))
        .collect()
}

/// Each organisation or OU grant's per-account grants, by the parent grant's ARN. An organisation
/// or OU grant is active in an account when its grant there is, whatever the parent itself shows
/// (AWS may show an activated parent as WORKFLOW_COMPLETED).
pub(crate) fn grants_by_parent<'a>(
    received: &'a [ReceivedGrant],
    license_arn: &str,
) -> BTreeMap<&'a str, Vec<&'a ReceivedGrant>> {
    let mut by_parent: BTreeMap<&str, Vec<&ReceivedGrant>> = BTreeMap::new();
    for grant in received {
        // A direct account grant's received row names the license as its parent.
        if grant.parent_arn != license_arn {
            by_parent
                .entry(grant.parent_arn.as_str())
                .or_default()
                .push(grant);
        }
    }
    by_parent
}

/// Which status says most about an account's access: ACTIVE first, then how close it is.
fn rank(status: &GrantStatus) -> u8 {
    match status {
        GrantStatus::Active => 0,
        GrantStatus::Disabled => 1,
        GrantStatus::PendingAccept => 2,
        GrantStatus::PendingWorkflow => 3,
        GrantStatus::WorkflowCompleted => 4,
        GrantStatus::Rejected => 5,
        GrantStatus::FailedWorkflow => 6,
        _ => 7,
    }
}

/// Every account a rollout's live grants reach, with the grant that says most about its access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AccountActivity {
    /// Per account: the ARN of its best grant of the rollout, and that grant's status.
    best: BTreeMap<AccountId, (String, GrantStatus)>,
}

impl AccountActivity {
    /// Reads the accounts reached by `rollout`'s live grants from the observed grants.
    pub(crate) fn observe(rollout: &str, observed: &Observed) -> Self {
        let ours = live_grants(rollout, observed);
        let mut activity = Self::default();
        for received in &observed.received {
            if ours.contains_key(received.parent_arn.as_str())
                || ours.contains_key(received.grant_arn.as_str())
            {
                activity.offer(&received.account, &received.grant_arn, &received.status);
            }
        }
        // Direct account grants count by their own status only where no received grant of the
        // account was read (the organisation-wide listing may lag behind, or be unavailable).
        let received_accounts: BTreeSet<&AccountId> = observed
            .received
            .iter()
            .map(|received| &received.account)
            .collect();
        for grant in ours.values() {
            if let Some(account) = account_of_principal_arn(&grant.principal_arn)
                && !received_accounts.contains(&account)
            {
                activity.offer(&account, &grant.arn, &grant.status);
            }
        }
        activity
    }

    /// Keeps `status` for `account` when it says more than what was seen so far (the first seen
    /// wins a tie).
    fn offer(&mut self, account: &AccountId, arn: &str, status: &GrantStatus) {
        let better = self
            .best
            .get(account)
            .is_none_or(|(_, current)| rank(status) < rank(current));
        if better {
            self.best
                .insert(account.clone(), (arn.to_owned(), status.clone()));
        }
    }

    /// The account's best grant of the rollout (ARN and status), if any reaches it.
    pub(crate) fn best(&self, account: &AccountId) -> Option<(&str, &GrantStatus)> {
        self.best
            .get(account)
            .map(|(arn, status)| (arn.as_str(), status))
    }

    /// Whether the account holds an ACTIVE grant of the rollout.
    pub(crate) fn is_active(&self, account: &AccountId) -> bool {
        self.best(account)
            .is_some_and(|(_, status)| *status == GrantStatus::Active)
    }

    /// How many of `targeted` are active.
    pub(crate) fn share(&self, targeted: &BTreeSet<AccountId>) -> Share {
        Share {
            active: targeted
                .iter()
                .filter(|account| self.is_active(account))
                .count(),
            targeted: targeted.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::grant::{LicenseInfo, LicenseStatus, TAG_ROLLOUT};

    const LICENSE: &str = "arn:aws:license-manager::294406891311:license:l-1";

    fn account(id: &str) -> AccountId {
        AccountId::parse(id).unwrap()
    }

    fn grant(number: u32, owner: &str, principal: &str, status: GrantStatus) -> DistributedGrant {
        DistributedGrant {
            arn: format!("arn:aws:license-manager::100000000001:grant:g-{number}"),
            name: format!("entitle/{owner}/pilot"),
            principal_arn: principal.to_owned(),
            status,
            status_reason: None,
            version: "1".to_owned(),
            granted_operations: BTreeSet::new(),
            tags: [(TAG_ROLLOUT.to_owned(), owner.to_owned())].into(),
            license_arn: LICENSE.to_owned(),
        }
    }

    fn received(
        account_id: &str,
        parent: &str,
        grant_arn: &str,
        status: GrantStatus,
    ) -> ReceivedGrant {
        ReceivedGrant {
            account: account(account_id),
            grant_arn: grant_arn.to_owned(),
            parent_arn: parent.to_owned(),
            status,
        }
    }

    fn observed(grants: Vec<DistributedGrant>, received: Vec<ReceivedGrant>) -> Observed {
        Observed {
            license: LicenseInfo {
                arn: LICENSE.to_owned(),
                product_sku: "prod-1".to_owned(),
                product_name: "product".to_owned(),
                status: LicenseStatus::Available,
                allowed_operations: BTreeSet::new(),
                issuer: "AWS/Marketplace".to_owned(),
                home_region: "us-east-1".to_owned(),
            },
            grants,
            received,
            own_subscriptions: BTreeSet::new(),
        }
    }

    const OU: &str = "arn:aws:organizations::100000000001:ou/o-demo123456/ou-demo-web";

    #[test]
    fn an_ou_grant_is_active_where_its_per_account_grant_is() {
        let ou_grant = grant(1, "r", OU, GrantStatus::WorkflowCompleted);
        let seen = observed(
            vec![ou_grant.clone()],
            vec![
                received("444444444444", &ou_grant.arn, "g-1-a", GrantStatus::Active),
                received(
                    "555555555555",
                    &ou_grant.arn,
                    "g-1-b",
                    GrantStatus::Disabled,
                ),
            ],
        );
        let activity = AccountActivity::observe("r", &seen);
        assert!(activity.is_active(&account("444444444444")));
        assert!(!activity.is_active(&account("555555555555")));
        assert_eq!(
            activity.best(&account("555555555555")),
            Some(("g-1-b", &GrantStatus::Disabled))
        );
        let targeted = [account("444444444444"), account("555555555555")].into();
        assert_eq!(
            activity.share(&targeted),
            Share {
                active: 1,
                targeted: 2
            }
        );
    }

    #[test]
    fn the_best_status_wins_and_the_first_seen_breaks_a_tie() {
        let ou_grant = grant(1, "r", OU, GrantStatus::Active);
        let seen = observed(
            vec![ou_grant.clone()],
            vec![
                received(
                    "444444444444",
                    &ou_grant.arn,
                    "first",
                    GrantStatus::Disabled,
                ),
                received(
                    "444444444444",
                    &ou_grant.arn,
                    "second",
                    GrantStatus::Disabled,
                ),
                received("444444444444", &ou_grant.arn, "third", GrantStatus::Active),
            ],
        );
        let activity = AccountActivity::observe("r", &seen);
        assert_eq!(
            activity.best(&account("444444444444")),
            Some(("third", &GrantStatus::Active))
        );
        let seen = observed(seen.grants.clone(), seen.received[..2].to_vec());
        let activity = AccountActivity::observe("r", &seen);
        assert_eq!(
            activity.best(&account("444444444444")),
            Some(("first", &GrantStatus::Disabled))
        );
    }

    #[test]
    fn an_account_grant_counts_by_itself_only_where_nothing_was_received() {
        let direct = grant(
            1,
            "r",
            "arn:aws:iam::111111111111:root",
            GrantStatus::Active,
        );
        let seen = observed(vec![direct.clone()], vec![]);
        assert!(AccountActivity::observe("r", &seen).is_active(&account("111111111111")));
        // A received row of the account (here: the grant itself, still DISABLED there) wins.
        let seen = observed(
            vec![direct.clone()],
            vec![received(
                "111111111111",
                LICENSE,
                &direct.arn,
                GrantStatus::Disabled,
            )],
        );
        let activity = AccountActivity::observe("r", &seen);
        assert!(!activity.is_active(&account("111111111111")));
    }

    #[test]
    fn grants_of_other_rollouts_dead_grants_and_other_licenses_reach_nothing() {
        let other = grant(
            1,
            "other",
            "arn:aws:iam::111111111111:root",
            GrantStatus::Active,
        );
        let dead = grant(2, "r", OU, GrantStatus::Deleted);
        let mut elsewhere = grant(
            3,
            "r",
            "arn:aws:iam::222222222222:root",
            GrantStatus::Active,
        );
        elsewhere.license_arn = "arn:aws:license-manager::1:license:l-2".to_owned();
        let seen = observed(
            vec![other, dead.clone(), elsewhere],
            vec![received(
                "444444444444",
                &dead.arn,
                "g-2-a",
                GrantStatus::Active,
            )],
        );
        let activity = AccountActivity::observe("r", &seen);
        assert_eq!(activity, AccountActivity::default());
    }

    #[test]
    fn per_account_grants_are_grouped_by_their_parent_and_direct_rows_left_out() {
        let rows = vec![
            received("444444444444", "g-ou", "g-ou-a", GrantStatus::Active),
            received("111111111111", LICENSE, "g-acct", GrantStatus::Active),
            received("555555555555", "g-ou", "g-ou-b", GrantStatus::Disabled),
        ];
        let by_parent = grants_by_parent(&rows, LICENSE);
        assert_eq!(by_parent.len(), 1);
        assert_eq!(by_parent["g-ou"].len(), 2);
    }

    #[test]
    fn an_account_s_best_grant_is_the_one_closest_to_active() {
        let closest_first = [
            GrantStatus::Active,
            GrantStatus::Disabled,
            GrantStatus::PendingAccept,
            GrantStatus::PendingWorkflow,
            GrantStatus::WorkflowCompleted,
            GrantStatus::Rejected,
            GrantStatus::FailedWorkflow,
            GrantStatus::Deleted,
        ];
        let ranks: Vec<u8> = closest_first.iter().map(rank).collect();
        assert!(
            ranks.windows(2).all(|pair| pair[0] < pair[1]),
            "{closest_first:?} ranked {ranks:?}"
        );
    }
}
