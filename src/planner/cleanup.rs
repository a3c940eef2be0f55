//! What `entitle cleanup` deletes: the licenses whose subscription ended (an agreement no longer
//! ACTIVE, or a license DELETED or EXPIRED), their live grants, and the accounts those grants
//! reach. Pure: decides from observed values only.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::diff::principal_label;
use super::diff::{Action, Change, GrantState, PhasePlan, Plan, Summary, UnownedGrant};
use crate::model::agreement::AgreementInfo;
use crate::model::grant::{
    ActivationOverride, DistributedGrant, LicenseInfo, LicenseStatus, Principal, ReceivedGrant,
    TAG_ROLLOUT,
};
use crate::model::plan::Activation;
use crate::model::{AccountId, OrgTree};

/// The name cleanup runs under in the journal and in reports.
pub const CLEANUP: &str = "cleanup";

/// Which licenses to look at (`--agreement`, `--product`, `--license`; all when none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every ended subscription.
    #[default]
    All,
    /// One agreement's license(s).
    Agreement(String),
    /// The licenses of one product (`prod-...`).
    Product(String),
    /// One license.
    License(String),
}

/// A license whose subscription ended, and why entitle thinks so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndedLicense {
    /// The license.
    pub license: LicenseInfo,
    /// The ended agreements that lead to it, as `id (STATUS)`.
    pub agreements: Vec<String>,
    /// For people.
    pub why: String,
}

/// Whether an agreement status means the subscription is over. RENEWED, REPLACED and
/// SUPERSEDED hand the subscription on to another agreement; whether its license lives on is
/// decided by that agreement and the license's own status.
pub fn agreement_ended(status: &str) -> bool {
    matches!(
        status,
        "CANCELLED" | "EXPIRED" | "TERMINATED" | "ARCHIVED" | "ROLLED_BACK"
    )
}

/// Why `cleanup --product` finds nothing to clean when the product has licenses: its
/// subscription lives on. Names each license with its status and the live agreements that lead
/// to it, as `--agreement` and `--license` do for theirs. `None` when the product has no license.
pub fn live_product(
    product: &str,
    agreements: &[AgreementInfo],
    licenses: &[LicenseInfo],
) -> Option<String> {
    let described: Vec<String> = licenses
        .iter()
        .filter(|license| license.product_sku == product)
        .map(|license| {
            let live: Vec<String> = agreements
                .iter()
                .filter(|agreement| {
                    !agreement_ended(&agreement.status)
                        && (agreement.license_arns.contains(&license.arn)
                            || (agreement.license_arns.is_empty()
                                && agreement.products.iter().any(|id| id == product)))
                })
                .map(|agreement| format!("agreement `{}` {}", agreement.id, agreement.status))
                .collect();
            let through = if live.is_empty() {
                String::new()
            } else {
                format!(", {}", live.join(", "))
            };
            format!("`{}` is {}{through}", license.arn, license.status.as_str())
        })
        .collect();
    (!described.is_empty()).then(|| {
        format!(
            "the subscription to product `{product}` has not ended (license {}), so its grants stay",
            described.join("; license ")
        )
    })
}

/// The licenses to clean: those an ended agreement leads to (by its entitlements, or when it
/// names none, by product among licenses no longer AVAILABLE) unless an ACTIVE agreement still
/// leads to them, and every license DELETED or EXPIRED; narrowed by `scope`.
pub fn ended_licenses(
    agreements: &[AgreementInfo],
    licenses: &[LicenseInfo],
    scope: &Scope,
) -> Vec<EndedLicense> {
    let live_agreement_licenses: BTreeSet<&str> = agreements
        .iter()
        .filter(|agreement| !agreement_ended(&agreement.status))
        .flat_map(|agreement| agreement.license_arns.iter().map(String::as_str))
        .collect();
    let mut found: BTreeMap<&str, (Vec<String>, Vec<&'static str>)> = BTreeMap::new();
    for agreement in agreements
        .iter()
        .filter(|agreement| agreement_ended(&agreement.status))
    {
        let by_entitlement: Vec<&LicenseInfo> = licenses
            .iter()
            .filter(|license| agreement.license_arns.contains(&license.arn))
            .collect();
        let linked = if by_entitlement.is_empty() {
            licenses
                .iter()
                .filter(|license| {
                    license.status != LicenseStatus::Available
                        && agreement.products.contains(&license.product_sku)
                })
                .collect()
        } else {
            by_entitlement
        };
        for license in linked {
            if live_agreement_licenses.contains(license.arn.as_str()) {
                continue;
            }
            found
                .entry(license.arn.as_str())
                .or_default()
                .0
                .push(format!("{} ({})", agreement.id, agreement.status));
        }
    }
    for license in licenses {
        if matches!(
            license.status,
            LicenseStatus::Deleted | LicenseStatus::Expired
        ) && !live_agreement_licenses.contains(license.arn.as_str())
        {
            found
                .entry(license.arn.as_str())
                .or_default()
                .1
                .push("license");
        }
    }
    let in_scope = |license: &LicenseInfo, ended: &[String]| match scope {
        Scope::All => true,
        Scope::Agreement(id) => ended
            .iter()
            .any(|text| text.split(' ').next() == Some(id.as_str())),
        Scope::Product(product) => license.product_sku == *product,
        Scope::License(arn) => license.arn == *arn,
    };
    licenses
        .iter()
        .filter_map(|license| {
            let (ended, _) = found.get(license.arn.as_str())?;
            if !in_scope(license, ended) {
                return None;
            }
            let why = if ended.is_empty() {
                format!("the license is {}", license.status.as_str())
            } else {
                format!(
                    "agreement {} ended; the license is {}",
                    ended.join(", "),
                    license.status.as_str()
                )
            };
            Some(EndedLicense {
                license: license.clone(),
                agreements: ended.clone(),
                why,
            })
        })
        .collect()
}

/// One account a license's grants reach, and its grant's status there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReachedAccount {
    /// The account.
    pub account: AccountId,
    /// Its name (empty when the account left the organisation).
    pub name: String,
    /// Its received grant's status.
    pub status: String,
}

/// What cleanup does to one license.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenseCleanup {
    /// The license and why it is cleaned.
    #[serde(flatten)]
    pub ended: EndedLicense,
    /// The deletions, as plan changes (action `delete`, the grant's current version in `before`).
    pub deletions: Vec<Change>,
    /// Live grants left alone: not entitle's (`--include-unowned` deletes them too).
    pub untouched: Vec<UnownedGrant>,
    /// Accounts holding a live received grant of the license now.
    pub accounts: Vec<ReachedAccount>,
}

impl LicenseCleanup {
    /// The deletions as a plan, for the executor and the apply report.
    pub fn as_plan(&self) -> Plan {
        let license = &self.ended.license;
        Plan {
            rollout: CLEANUP.to_owned(),
            license_arn: license.arn.clone(),
            product_sku: license.product_sku.clone(),
            product_name: license.product_name.clone(),
            phase_limit: None,
            operations: BTreeSet::new(),
            activation: Activation::Grantor,
            activation_override: ActivationOverride::DistributedGrantsOnly,
            phases: vec![PhasePlan {
                name: CLEANUP.to_owned(),
                included: true,
                blocked: None,
                targeted: self.accounts.len(),
                active: 0,
                skipped: Vec::new(),
                gate: None,
                gate_ignored: None,
            }],
            summary: Summary::of(&self.deletions),
            changes: self.deletions.clone(),
            unowned: self.untouched.clone(),
            destroy: false,
        }
    }
}

/// The deletions for each ended license: its live grants (entitle's own, or all of them with
/// `include_unowned`), the accounts they reach.
pub fn cleanup(
    ended: Vec<EndedLicense>,
    grants: &BTreeMap<String, Vec<DistributedGrant>>,
    received: &BTreeMap<String, Vec<ReceivedGrant>>,
    tree: &OrgTree,
    include_unowned: bool,
) -> Vec<LicenseCleanup> {
    ended
        .into_iter()
        .map(|ended| {
            let arn = ended.license.arn.clone();
            let live_received: Vec<&ReceivedGrant> = received
                .get(&arn)
                .into_iter()
                .flatten()
                .filter(|grant| !grant.status.is_dead())
                .collect();
            let mut deletions = Vec::new();
            let mut untouched = Vec::new();
            for grant in grants
                .get(&arn)
                .into_iter()
                .flatten()
                .filter(|grant| !grant.status.is_dead())
            {
                let owner = grant.tags.get(TAG_ROLLOUT).cloned();
                let principal = Principal::from_arn(&grant.principal_arn);
                // A principal that is no account, OU or organisation ARN is shown, not guessed at.
                if (owner.is_none() && !include_unowned) || principal.is_none() {
                    untouched.push(UnownedGrant {
                        arn: grant.arn.clone(),
                        name: grant.name.clone(),
                        principal_arn: grant.principal_arn.clone(),
                        status: grant.status.clone(),
                        owner,
                    });
                    continue;
                }
                let Some(principal) = principal else {
                    continue;
                };
                let (principal_name, principal_path) = principal_label(tree, &principal);
                let reached = live_received
                    .iter()
                    .filter(|received| {
                        received.parent_arn == grant.arn || received.grant_arn == grant.arn
                    })
                    .count();
                let whose = owner.as_deref().map_or_else(
                    || "not entitle's; --include-unowned".to_owned(),
                    |rollout| format!("rollout `{rollout}`"),
                );
                deletions.push(Change {
                    phase: CLEANUP.to_owned(),
                    principal,
                    principal_arn: grant.principal_arn.clone(),
                    principal_name,
                    principal_path,
                    accounts: reached,
                    action: Action::Delete,
                    before: Some(GrantState::observed(grant)),
                    after: None,
                    reason: format!("{} ({whose})", ended.why),
                    client_token: None,
                    tags: BTreeMap::new(),
                    blocked: false,
                    once_active: None,
                });
            }
            let mut seen = BTreeSet::new();
            let accounts: Vec<ReachedAccount> = live_received
                .iter()
                .filter(|received| seen.insert(received.account.clone()))
                .map(|received| ReachedAccount {
                    account: received.account.clone(),
                    name: tree
                        .account(&received.account)
                        .map(|account| account.name.clone())
                        .unwrap_or_default(),
                    status: received.status.as_str().to_owned(),
                })
                .collect();
            let mut accounts = accounts;
            accounts.sort_by(|a, b| (&a.name, &a.account).cmp(&(&b.name, &b.account)));
            LicenseCleanup {
                ended,
                deletions,
                untouched,
                accounts,
            }
        })
        // A license whose grants are all gone has nothing left to show.
        .filter(|license| !license.deletions.is_empty() || !license.untouched.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::license;

    fn agreement(id: &str, status: &str, product: &str, licenses: &[&str]) -> AgreementInfo {
        AgreementInfo {
            id: id.to_owned(),
            status: status.to_owned(),
            products: vec![product.to_owned()],
            license_arns: licenses.iter().map(|arn| (*arn).to_owned()).collect(),
        }
    }

    #[test]
    fn a_product_whose_subscription_lives_on_says_so_naming_license_and_agreement() {
        let licenses = [license("l-live", "prod-c", LicenseStatus::Available)];
        let agreements = [agreement("agmt-4", "ACTIVE", "prod-c", &["l-live"])];
        assert!(
            ended_licenses(&agreements, &licenses, &Scope::Product("prod-c".into())).is_empty()
        );
        assert_eq!(
            live_product("prod-c", &agreements, &licenses).as_deref(),
            Some(
                "the subscription to product `prod-c` has not ended (license `l-live` is AVAILABLE, \
                 agreement `agmt-4` ACTIVE), so its grants stay"
            )
        );
        assert_eq!(live_product("prod-x", &agreements, &licenses), None);
    }

    fn arns(found: &[EndedLicense]) -> Vec<&str> {
        found
            .iter()
            .map(|ended| ended.license.arn.as_str())
            .collect()
    }

    #[test]
    fn ended_agreements_lead_to_their_licenses_unless_a_live_agreement_still_does() {
        let licenses = [
            license("l-old", "prod-a", LicenseStatus::Deleted),
            license("l-renewed", "prod-b", LicenseStatus::Available),
            license("l-live", "prod-c", LicenseStatus::Available),
        ];
        let agreements = [
            agreement("agmt-1", "CANCELLED", "prod-a", &["l-old"]),
            // Renewed: the old agreement ended, the new one carries the same license on.
            agreement("agmt-2", "EXPIRED", "prod-b", &["l-renewed"]),
            agreement("agmt-3", "ACTIVE", "prod-b", &["l-renewed"]),
            agreement("agmt-4", "ACTIVE", "prod-c", &["l-live"]),
        ];
        let found = ended_licenses(&agreements, &licenses, &Scope::All);
        assert_eq!(arns(&found), vec!["l-old"]);
        assert_eq!(found[0].agreements, vec!["agmt-1 (CANCELLED)".to_owned()]);
        assert!(
            found[0]
                .why
                .contains("agmt-1 (CANCELLED) ended; the license is DELETED")
        );
    }

    #[test]
    fn without_entitlements_the_product_leads_only_to_licenses_no_longer_available() {
        let licenses = [
            license("l-gone", "prod-a", LicenseStatus::Expired),
            license("l-new", "prod-a", LicenseStatus::Available),
        ];
        let agreements = [agreement("agmt-1", "TERMINATED", "prod-a", &[])];
        let found = ended_licenses(&agreements, &licenses, &Scope::All);
        assert_eq!(arns(&found), vec!["l-gone"]);
        assert_eq!(found[0].agreements.len(), 1);
    }

    #[test]
    fn a_deleted_license_is_found_without_an_agreement_and_scopes_narrow() {
        let licenses = [
            license("l-orphan", "prod-a", LicenseStatus::Deleted),
            license("l-other", "prod-b", LicenseStatus::Expired),
        ];
        let found = ended_licenses(&[], &licenses, &Scope::All);
        assert_eq!(arns(&found), vec!["l-orphan", "l-other"]);
        assert_eq!(found[0].why, "the license is DELETED");
        let product = ended_licenses(&[], &licenses, &Scope::Product("prod-b".to_owned()));
        assert_eq!(arns(&product), vec!["l-other"]);
        let one = ended_licenses(&[], &licenses, &Scope::License("l-orphan".to_owned()));
        assert_eq!(arns(&one), vec!["l-orphan"]);
        let by_agreement = ended_licenses(&[], &licenses, &Scope::Agreement("agmt-x".to_owned()));
        assert!(by_agreement.is_empty());
    }

    #[test]
    fn only_final_agreement_statuses_end_a_subscription() {
        for status in [
            "CANCELLED",
            "EXPIRED",
            "TERMINATED",
            "ARCHIVED",
            "ROLLED_BACK",
        ] {
            assert!(agreement_ended(status), "{status}");
        }
        for status in ["ACTIVE", "RENEWED", "REPLACED", "SUPERSEDED"] {
            assert!(!agreement_ended(status), "{status}");
        }
    }

    #[test]
    fn a_live_product_names_the_live_agreements_by_entitlement_or_product() {
        let licenses = [
            license("l-1", "prod-c", LicenseStatus::Available),
            license("l-2", "prod-d", LicenseStatus::Available),
        ];
        let agreements = [
            // No entitlements: leads to the license by its product.
            agreement("agmt-old-style", "RENEWED", "prod-c", &[]),
            agreement("agmt-ended", "CANCELLED", "prod-c", &["l-1"]),
            agreement("agmt-other", "ACTIVE", "prod-c", &["l-9"]),
        ];
        assert_eq!(
            live_product("prod-c", &agreements, &licenses).as_deref(),
            Some(
                "the subscription to product `prod-c` has not ended (license `l-1` is AVAILABLE, \
                 agreement `agmt-old-style` RENEWED), so its grants stay"
            )
        );
        assert_eq!(
            live_product("prod-d", &agreements, &licenses).as_deref(),
            Some(
                "the subscription to product `prod-d` has not ended (license `l-2` is AVAILABLE), \
                 so its grants stay"
            )
        );
    }

    #[test]
    fn a_deleted_license_a_live_agreement_still_leads_to_is_not_cleaned() {
        let licenses = [license("l-1", "prod-a", LicenseStatus::Deleted)];
        let agreements = [agreement("agmt-1", "ACTIVE", "prod-a", &["l-1"])];
        assert!(ended_licenses(&agreements, &licenses, &Scope::All).is_empty());
        let ended = [agreement("agmt-2", "EXPIRED", "prod-a", &["l-1"])];
        let found = ended_licenses(&ended, &licenses, &Scope::Agreement("agmt-2".into()));
        assert_eq!(arns(&found), vec!["l-1"]);
        assert!(
            ended_licenses(&ended, &licenses, &Scope::Agreement("agmt-20".into())).is_empty(),
            "an agreement id is matched whole"
        );
        assert!(ended_licenses(&ended, &licenses, &Scope::License("l-2".into())).is_empty());
        assert!(ended_licenses(&ended, &licenses, &Scope::Product("prod-b".into())).is_empty());
    }

    fn distributed(
        number: u32,
        principal_arn: &str,
        owner: Option<&str>,
        status: &str,
    ) -> DistributedGrant {
        DistributedGrant {
            arn: format!("g-{number}"),
            name: format!("grant {number}"),
            principal_arn: principal_arn.to_owned(),
            status: crate::model::grant::GrantStatus::from_aws(status),
            status_reason: None,
            version: "1".to_owned(),
            granted_operations: BTreeSet::new(),
            tags: owner
                .map(|rollout| (TAG_ROLLOUT.to_owned(), rollout.to_owned()))
                .into_iter()
                .collect(),
            license_arn: "l-old".to_owned(),
        }
    }

    fn received_grant(
        account: &str,
        grant_arn: &str,
        parent_arn: &str,
        status: &str,
    ) -> ReceivedGrant {
        ReceivedGrant {
            account: AccountId::parse(account).expect("an account id"),
            grant_arn: grant_arn.to_owned(),
            parent_arn: parent_arn.to_owned(),
            status: crate::model::grant::GrantStatus::from_aws(status),
        }
    }

    #[test]
    fn cleanup_deletes_entitle_s_live_grants_and_counts_the_accounts_they_reach() {
        let tree = crate::planner::diff::fixtures::tree();
        let ou = "arn:aws:organizations::100000000001:ou/o-test123456/ou-ab12-aaaaaaaa";
        let grants = BTreeMap::from([(
            "l-old".to_owned(),
            vec![
                distributed(1, ou, Some("r"), "ACTIVE"),
                distributed(2, "arn:aws:iam::333333333333:root", None, "ACTIVE"),
                distributed(3, "arn:aws:iam::222222222222:root", Some("r"), "DELETED"),
                distributed(4, "not-a-principal", Some("r"), "ACTIVE"),
            ],
        )]);
        let received = BTreeMap::from([(
            "l-old".to_owned(),
            vec![
                received_grant("222222222222", "g-1-b", "g-1", "ACTIVE"),
                received_grant("111111111111", "g-1-a", "g-1", "DISABLED"),
                received_grant("111111111111", "g-1-c", "g-1", "ACTIVE"),
                received_grant("333333333333", "g-2", "l-old", "ACTIVE"),
                received_grant("222222222222", "g-3", "l-old", "DELETED"),
            ],
        )]);
        let ended = || {
            ended_licenses(
                &[agreement("agmt-1", "CANCELLED", "prod-a", &["l-old"])],
                &[license("l-old", "prod-a", LicenseStatus::Deleted)],
                &Scope::All,
            )
        };
        let cleaned = cleanup(ended(), &grants, &received, &tree, false);
        assert_eq!(cleaned.len(), 1);
        let license = &cleaned[0];
        let deletions: Vec<(&str, usize, &str)> = license
            .deletions
            .iter()
            .map(|change| {
                (
                    change.principal_name.as_str(),
                    change.accounts,
                    change.reason.as_str(),
                )
            })
            .collect();
        assert_eq!(
            deletions,
            [(
                "Workloads",
                3,
                "agreement agmt-1 (CANCELLED) ended; the license is DELETED (rollout `r`)"
            )]
        );
        assert_eq!(license.deletions[0].action, Action::Delete);
        let untouched: Vec<&str> = license
            .untouched
            .iter()
            .map(|grant| grant.arn.as_str())
            .collect();
        assert_eq!(untouched, ["g-2", "g-4"]);
        let accounts: Vec<(&str, &str)> = license
            .accounts
            .iter()
            .map(|account| (account.account.as_str(), account.status.as_str()))
            .collect();
        assert_eq!(
            accounts,
            [
                ("111111111111", "DISABLED"),
                ("222222222222", "ACTIVE"),
                ("333333333333", "ACTIVE")
            ]
        );
        let plan = license.as_plan();
        assert_eq!(plan.rollout, CLEANUP);
        assert_eq!(plan.changes, license.deletions);
        assert_eq!(plan.phases[0].targeted, 3);
        assert_eq!(plan.summary.delete, 1);
        assert_eq!(plan.unowned.len(), 2);

        let everything = cleanup(ended(), &grants, &received, &tree, true);
        let reasons: Vec<(&str, usize, &str)> = everything[0]
            .deletions
            .iter()
            .map(|change| {
                (
                    change.principal_arn.as_str(),
                    change.accounts,
                    change.reason.as_str(),
                )
            })
            .collect();
        assert_eq!(
            reasons,
            [
                (
                    ou,
                    3,
                    "agreement agmt-1 (CANCELLED) ended; the license is DELETED (rollout `r`)"
                ),
                (
                    "arn:aws:iam::333333333333:root",
                    1,
                    "agreement agmt-1 (CANCELLED) ended; the license is DELETED (not entitle's; --include-unowned)"
                ),
            ]
        );
        assert_eq!(
            everything[0].untouched.len(),
            1,
            "a principal that is no ARN stays"
        );

        let only_ours = BTreeMap::from([(
            "l-old".to_owned(),
            vec![distributed(1, ou, Some("r"), "ACTIVE")],
        )]);
        let ours = cleanup(ended(), &only_ours, &received, &tree, false);
        assert_eq!(
            (ours.len(), ours[0].deletions.len(), ours[0].untouched.len()),
            (1, 1, 0),
            "a license with deletions and nothing left alone is shown"
        );
        let only_theirs = BTreeMap::from([(
            "l-old".to_owned(),
            vec![distributed(
                2,
                "arn:aws:iam::333333333333:root",
                None,
                "ACTIVE",
            )],
        )]);
        let theirs = cleanup(ended(), &only_theirs, &received, &tree, false);
        assert_eq!(
            (
                theirs.len(),
                theirs[0].deletions.len(),
                theirs[0].untouched.len()
            ),
            (1, 0, 1),
            "a license with only grants left alone is shown"
        );
        let no_grants = cleanup(ended(), &BTreeMap::new(), &received, &tree, true);
        assert!(
            no_grants.is_empty(),
            "a license whose grants are gone is not shown"
        );
    }
}
