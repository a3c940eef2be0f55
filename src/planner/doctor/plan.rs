//! Doctor's checks of a plan: the plan file, its license (AVAILABLE), agreement (ACTIVE) and
//! operations, the accounts it targets, the grant headroom of the license, and the targeted
//! accounts that hold their own subscription of the product.

use std::collections::{BTreeMap, BTreeSet};

use super::{MARKETPLACE_PRINCIPAL, check, list, read_failed, skipped};
use crate::model::agreement::AgreementInfo;
use crate::model::doctor::{AgreementSummary, Check, OrganizationLicense, Read, Verdict};
use crate::model::grant::{DistributedGrant, LicenseInfo, LicenseStatus};
use crate::model::plan::{EntitlementSelector, OnExistingSubscription};
use crate::model::{AccountId, OrgTree, Organization, RolloutPlan};
use crate::planner::diff::{
    Action, MAX_GRANTS_PER_LICENSE, Observed, PlanError, PlanOptions, UnixSeconds,
};
use crate::planner::entitlement::choose_license;
use crate::planner::targets::{SkipReason, resolve_targets};

/// Above this share of the 2,000-grant limit, headroom is a warning.
const HEADROOM_WARN_PERCENT: usize = 90;

/// What was read for a plan (each `None` when a check it depends on already failed).
#[derive(Debug, Clone, Default)]
pub struct PlanFacts {
    /// The plan file, for messages.
    pub file: String,
    /// The parsed plan, or why it could not be read or parsed.
    pub rollout: Option<Result<RolloutPlan, String>>,
    /// The organisation (Organizations discovery).
    pub tree: Option<Read<OrgTree>>,
    /// The caller's Marketplace licenses (ListReceivedLicenses).
    pub licenses: Option<Read<Vec<LicenseInfo>>>,
    /// The agreement the plan names (`agreement = ...` only).
    pub named_agreement: Option<Read<AgreementInfo>>,
    /// The caller's purchase agreements for the license's product (SearchAgreements).
    pub agreements: Option<Read<Vec<AgreementSummary>>>,
    /// The license's distributed grants (ListDistributedGrants).
    pub grants: Option<Read<Vec<DistributedGrant>>>,
    /// Licenses of the product that accounts of the organisation received
    /// (ListReceivedLicensesForOrganization).
    pub organization_licenses: Option<Read<Vec<OrganizationLicense>>>,
    /// The current time (the planner needs one; doctor ignores gates).
    pub now: UnixSeconds,
}

/// The Marketplace product the plan distributes, as far as the facts tell: the product it
/// names (directly, or through its `model`), else the ProductSKU of the license it selects.
pub fn plan_product(plan: &PlanFacts) -> Option<String> {
    let Some(Ok(rollout)) = &plan.rollout else {
        return None;
    };
    if let EntitlementSelector::Product(product) = &rollout.entitlement.selector {
        return Some(product.clone());
    }
    let Some(Ok(licenses)) = &plan.licenses else {
        return None;
    };
    let agreement = match &plan.named_agreement {
        Some(Ok(agreement)) => Some(agreement),
        _ => None,
    };
    choose_license(&rollout.entitlement.selector, licenses, agreement)
        .ok()
        .map(|license| license.product_sku.clone())
}

/// An account that is not ACTIVE, and its state.
type Inactive<'a> = (&'a AccountId, &'a String);

fn thousands(number: usize) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

const PLAN: &str = "the plan";
const LICENSE: &str = "the license is AVAILABLE";
const AGREEMENT: &str = "the agreement is ACTIVE";
const OPERATIONS: &str = "the plan's operations are allowed";
const TARGETS: &str = "the targeted accounts are ACTIVE";
const HEADROOM: &str = "grant headroom";
const SUBSCRIPTIONS: &str = "accounts with their own subscription";

/// Pushes the plan's checks in order, stopping where a check the rest depend on failed.
pub(super) fn checks(
    plan: &PlanFacts,
    organization: Option<&Organization>,
    marketplace_trusted: Option<bool>,
    checks: &mut Vec<Check>,
) {
    let rollout = match &plan.rollout {
        Some(Ok(rollout)) => {
            checks.push(check(
                "plan-file",
                PLAN,
                Verdict::Pass,
                format!(
                    "`{}` (rollout `{}`, {} phase{}) parses",
                    plan.file,
                    rollout.name,
                    rollout.phases.len(),
                    if rollout.phases.len() == 1 { "" } else { "s" }
                ),
                None,
            ));
            rollout
        }
        Some(Err(problem)) => {
            checks.push(check(
                "plan-file",
                PLAN,
                Verdict::Fail,
                problem.clone(),
                Some(format!(
                    "correct `{}` (every problem is listed on stderr)",
                    plan.file
                )),
            ));
            return;
        }
        None => {
            checks.push(skipped("plan-file", PLAN, "not read"));
            return;
        }
    };

    // The license.
    let license = match &plan.licenses {
        Some(Ok(licenses)) => {
            let agreement = match &plan.named_agreement {
                Some(Ok(agreement)) => Some(agreement),
                _ => None,
            };
            match choose_license(&rollout.entitlement.selector, licenses, agreement) {
                Ok(license) => {
                    checks.push(license_check(&license));
                    Some(license)
                }
                Err(error) => {
                    checks.push(check(
                        "license",
                        LICENSE,
                        Verdict::Fail,
                        error.to_string(),
                        error.hint(),
                    ));
                    None
                }
            }
        }
        Some(Err(failure)) => {
            checks.push(read_failed("license", LICENSE, failure));
            None
        }
        None => {
            checks.push(skipped("license", LICENSE, "not read"));
            None
        }
    };

    checks.push(agreement_check(plan, rollout, license.as_ref()));
    let operations_ok = match &license {
        Some(license) => {
            let (verdict_check, ok) = operations_check(rollout, license);
            checks.push(verdict_check);
            ok
        }
        None => {
            checks.push(skipped("operations", OPERATIONS, "no license"));
            false
        }
    };

    let tree = match &plan.tree {
        Some(Ok(tree)) => Some(tree),
        Some(Err(failure)) => {
            checks.push(read_failed("targets", TARGETS, failure));
            None
        }
        None => {
            checks.push(skipped("targets", TARGETS, "the organisation was not read"));
            None
        }
    };
    let Some(tree) = tree else {
        checks.push(skipped(
            "grant-headroom",
            HEADROOM,
            "the organisation was not read",
        ));
        checks.push(skipped(
            "existing-subscriptions",
            SUBSCRIPTIONS,
            "the organisation was not read",
        ));
        return;
    };
    let targeted = match resolve_targets(rollout, tree) {
        Ok(phases) => {
            let mut targeted: BTreeSet<AccountId> = BTreeSet::new();
            let mut inactive: BTreeMap<AccountId, String> = BTreeMap::new();
            for phase in &phases {
                targeted.extend(phase.targeted.iter().cloned());
                for skipped in &phase.skipped {
                    if let SkipReason::Inactive(state) = &skipped.reason {
                        inactive.insert(skipped.account.clone(), state.to_string());
                    }
                }
            }
            // Accounts the plan names one by one are a mistake to point out; accounts an OU or
            // the organisation reaches are simply not granted, as the plan format says.
            let named_in_plan: BTreeSet<&AccountId> = rollout
                .phases
                .iter()
                .flat_map(|phase| phase.accounts.iter().map(|account| &account.value))
                .collect();
            let describe = |accounts: &[Inactive<'_>]| {
                accounts
                    .iter()
                    .map(|(account, state)| format!("`{account}` ({state})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let (named, reached): (Vec<Inactive<'_>>, Vec<Inactive<'_>>) = inactive
                .iter()
                .partition(|(account, _)| named_in_plan.contains(account));
            let count = format!(
                "{} account{} targeted",
                targeted.len(),
                if targeted.len() == 1 { "" } else { "s" }
            );
            let reached_note = if reached.is_empty() {
                String::new()
            } else {
                format!(
                    "; not ACTIVE, so not granted although an OU or the organisation selects them: {}",
                    describe(&reached)
                )
            };
            checks.push(if named.is_empty() {
                let all_active = if reached.is_empty() { ", all ACTIVE" } else { "" };
                check(
                    "targets",
                    TARGETS,
                    Verdict::Pass,
                    format!("{count}{all_active}{reached_note}"),
                    None,
                )
            } else {
                let ids: Vec<String> = named.iter().map(|(id, _)| format!("\"{id}\"")).collect();
                check(
                    "targets",
                    TARGETS,
                    Verdict::Warn,
                    format!(
                        "{count}; named in the plan but not ACTIVE, so never granted: {}{reached_note}",
                        describe(&named)
                    ),
                    Some(format!(
                        "reactivate them, or take them out of `{}` (`accounts = [...]`, or `exclude = {{ accounts = [{}] }}`)",
                        plan.file,
                        ids.join(", ")
                    )),
                )
            });
            Some(targeted)
        }
        Err(errors) => {
            let first = errors.diagnostics.first();
            checks.push(check(
                "targets",
                TARGETS,
                Verdict::Fail,
                format!(
                    "the plan does not fit the organisation: {}",
                    first
                        .map(|diagnostic| diagnostic.message.clone())
                        .unwrap_or_default()
                ),
                first
                    .and_then(|diagnostic| diagnostic.hint.clone())
                    .or_else(|| {
                        Some(format!(
                            "correct `{}`; `entitle discover` shows the organisation",
                            plan.file
                        ))
                    }),
            ));
            None
        }
    };

    checks.push(headroom_check(
        plan,
        rollout,
        tree,
        license.as_ref(),
        operations_ok,
    ));
    checks.push(subscriptions_check(
        plan,
        rollout,
        license.as_ref(),
        targeted.as_ref(),
        organization,
        marketplace_trusted,
    ));
}

/// The `license` check of a license found: AVAILABLE passes; anything else (DELETED, EXPIRED...)
/// fails and points at a new subscription and `entitle cleanup`.
pub(super) fn license_check(license: &LicenseInfo) -> Check {
    if license.status == LicenseStatus::Available {
        return check(
            "license",
            LICENSE,
            Verdict::Pass,
            format!(
                "`{}` ({}, `{}`) is AVAILABLE",
                license.arn, license.product_name, license.product_sku
            ),
            None,
        );
    }
    check(
        "license",
        LICENSE,
        Verdict::Fail,
        format!(
            "`{}` ({}) is `{}`: the subscription was cancelled or expired, and its grants cannot be used",
            license.arn, license.product_sku, license.status
        ),
        Some(format!(
            "subscribe to `{}` again from the management account (AWS Marketplace console > Discover products), \
             then `entitle cleanup --license {}` deletes the old grants",
            license.product_sku, license.arn
        )),
    )
}

fn agreement_check(
    plan: &PlanFacts,
    rollout: &RolloutPlan,
    license: Option<&LicenseInfo>,
) -> Check {
    if let EntitlementSelector::Agreement(id) = &rollout.entitlement.selector {
        return match &plan.named_agreement {
            Some(Ok(agreement)) if agreement.status == "ACTIVE" => check(
                "agreement",
                AGREEMENT,
                Verdict::Pass,
                format!("agreement `{id}` is ACTIVE"),
                None,
            ),
            Some(Ok(agreement)) => ended_agreement(id, &agreement.status),
            Some(Err(failure)) => read_failed("agreement", AGREEMENT, failure),
            None => skipped("agreement", AGREEMENT, "not read"),
        };
    }
    let Some(license) = license else {
        return skipped("agreement", AGREEMENT, "no license");
    };
    match &plan.agreements {
        Some(Ok(agreements)) => {
            let linked: Vec<&AgreementSummary> = agreements
                .iter()
                .filter(|agreement| agreement.license_arns.contains(&license.arn))
                .collect();
            // Older agreements carry no entitlements: then every agreement of the product counts.
            let relevant: Vec<&AgreementSummary> = if linked.is_empty() {
                agreements
                    .iter()
                    .filter(|agreement| agreement.license_arns.is_empty())
                    .collect()
            } else {
                linked
            };
            if let Some(active) = relevant
                .iter()
                .find(|agreement| agreement.status == "ACTIVE")
            {
                check(
                    "agreement",
                    AGREEMENT,
                    Verdict::Pass,
                    format!("agreement `{}` is ACTIVE", active.id),
                    None,
                )
            } else if let Some(ended) = relevant.first() {
                ended_agreement(&ended.id, &ended.status)
            } else {
                check(
                    "agreement",
                    AGREEMENT,
                    Verdict::Warn,
                    format!(
                        "no purchase agreement of `{}` accepted by this account was found, so whether the subscription \
                         is still in force cannot be told",
                        license.product_sku
                    ),
                    Some(
                        "look at AWS Marketplace console > Manage subscriptions in the account that subscribed"
                            .to_owned(),
                    ),
                )
            }
        }
        Some(Err(failure)) => read_failed("agreement", AGREEMENT, failure),
        None => skipped("agreement", AGREEMENT, "not read"),
    }
}

fn ended_agreement(id: &str, status: &str) -> Check {
    check(
        "agreement",
        AGREEMENT,
        Verdict::Fail,
        format!(
            "agreement `{id}` is `{status}`, not ACTIVE: its license and grants no longer serve"
        ),
        Some(format!(
            "accept a new offer for the product in AWS Marketplace from the management account; \
             `entitle cleanup --agreement {id}` deletes the grants the ended agreement left behind"
        )),
    )
}

fn operations_check(rollout: &RolloutPlan, license: &LicenseInfo) -> (Check, bool) {
    let allowed = &license.allowed_operations;
    let Some(wanted) = &rollout.entitlement.operations else {
        let passed: Vec<String> = allowed
            .iter()
            .filter(|operation| operation.as_str() != "CreateGrant")
            .map(|operation| format!("`{operation}`"))
            .collect();
        return (
            check(
                "operations",
                OPERATIONS,
                Verdict::Pass,
                format!(
                    "the plan names none: grants pass on what the license allows minus `CreateGrant` ({})",
                    passed.join(", ")
                ),
                None,
            ),
            true,
        );
    };
    let refused: Vec<_> = wanted
        .iter()
        .filter(|operation| !allowed.contains(*operation))
        .collect();
    if refused.is_empty() {
        return (
            check(
                "operations",
                OPERATIONS,
                Verdict::Pass,
                format!("the license allows passing on {}", list(wanted)),
                None,
            ),
            true,
        );
    }
    let place = rollout
        .entitlement
        .operations_span
        .map(|span| format!(" ({})", rollout.source.locate(span)))
        .unwrap_or_default();
    (
        check(
            "operations",
            OPERATIONS,
            Verdict::Fail,
            format!(
                "the license does not allow passing on {}",
                list(refused.iter())
            ),
            Some(format!(
                "remove them from `operations`{place}; the license allows {}",
                list(allowed)
            )),
        ),
        false,
    )
}

fn headroom_check(
    plan: &PlanFacts,
    rollout: &RolloutPlan,
    tree: &OrgTree,
    license: Option<&LicenseInfo>,
    operations_ok: bool,
) -> Check {
    let Some(license) = license.filter(|license| license.status == LicenseStatus::Available) else {
        return skipped("grant-headroom", HEADROOM, "no AVAILABLE license");
    };
    if !operations_ok {
        return skipped(
            "grant-headroom",
            HEADROOM,
            "the plan's operations are refused",
        );
    }
    let grants = match &plan.grants {
        Some(Ok(grants)) => grants,
        Some(Err(failure)) => return read_failed("grant-headroom", HEADROOM, failure),
        None => return skipped("grant-headroom", HEADROOM, "the grants were not read"),
    };
    let observed = Observed {
        license: license.clone(),
        grants: grants.clone(),
        received: Vec::new(),
        own_subscriptions: BTreeSet::new(),
    };
    let options = PlanOptions {
        now: plan.now,
        ..PlanOptions::default()
    };
    let fix = Some(
        "select whole OUs (`ous = [...]` with `grant_to = \"auto\"`) or `organization = true` instead of many single \
         accounts; `entitle cleanup` deletes the grants of ended rollouts"
            .to_owned(),
    );
    let made = match crate::planner::diff::plan(rollout, tree, &observed, &options) {
        Ok(made) => made,
        Err(PlanError::PlanFile(errors)) => {
            let message = errors
                .diagnostics
                .first()
                .map(|diagnostic| diagnostic.message.clone())
                .unwrap_or_default();
            return check("grant-headroom", HEADROOM, Verdict::Fail, message, fix);
        }
        Err(other) => {
            return check(
                "grant-headroom",
                HEADROOM,
                Verdict::Fail,
                other.to_string(),
                other.hint(),
            );
        }
    };
    let existing = grants
        .iter()
        .filter(|grant| grant.license_arn == license.arn && !grant.status.is_dead())
        .count();
    let adding = made
        .changes
        .iter()
        .filter(|change| change.action == Action::Create)
        .count();
    let total = existing + adding;
    let detail = format!(
        "{} grant{} of the license exist{}, the whole plan adds {}: {} of the {} License Manager allows per license",
        thousands(existing),
        if existing == 1 { "" } else { "s" },
        if existing == 1 { "s" } else { "" },
        thousands(adding),
        thousands(total),
        thousands(MAX_GRANTS_PER_LICENSE)
    );
    if total > MAX_GRANTS_PER_LICENSE {
        check("grant-headroom", HEADROOM, Verdict::Fail, detail, fix)
    } else if total * 100 > MAX_GRANTS_PER_LICENSE * HEADROOM_WARN_PERCENT {
        check("grant-headroom", HEADROOM, Verdict::Warn, detail, fix)
    } else {
        check("grant-headroom", HEADROOM, Verdict::Pass, detail, None)
    }
}

fn subscriptions_check(
    plan: &PlanFacts,
    rollout: &RolloutPlan,
    license: Option<&LicenseInfo>,
    targeted: Option<&BTreeSet<AccountId>>,
    organization: Option<&Organization>,
    marketplace_trusted: Option<bool>,
) -> Check {
    let (Some(license), Some(targeted)) = (license, targeted) else {
        return skipped(
            "existing-subscriptions",
            SUBSCRIPTIONS,
            "no license or no targets",
        );
    };
    let licenses = match &plan.organization_licenses {
        Some(Ok(licenses)) => licenses,
        // The organisation-wide listing needs Marketplace's trusted access: that check already
        // failed with its fix, so this one is not a second, misleading failure.
        Some(Err(failure)) if failure.access_denied && marketplace_trusted == Some(false) => {
            return skipped(
                "existing-subscriptions",
                SUBSCRIPTIONS,
                &format!(
                    "the organisation-wide license listing needs trusted access for `{MARKETPLACE_PRINCIPAL}`"
                ),
            );
        }
        Some(Err(failure)) => return read_failed("existing-subscriptions", SUBSCRIPTIONS, failure),
        None => return skipped("existing-subscriptions", SUBSCRIPTIONS, "not read"),
    };
    let management = organization.map(|organization| organization.management_account.as_str());
    // Another license of the same product, issued to a member account: that account subscribed
    // itself. (A granted copy of our license carries our license's ARN.)
    let holders: BTreeSet<&str> = licenses
        .iter()
        .filter(|other| {
            other.product_sku == license.product_sku
                && other.arn != license.arn
                && other.status == "AVAILABLE"
                && Some(other.beneficiary.as_str()) != management
        })
        .map(|other| other.beneficiary.as_str())
        .collect();
    let targeted_holders: Vec<&str> = holders
        .iter()
        .copied()
        .filter(|holder| targeted.iter().any(|account| account.as_str() == *holder))
        .collect();
    let method = "(ListReceivedLicensesForOrganization: a license of the product issued to the account itself)";
    if targeted_holders.is_empty() {
        return check(
            "existing-subscriptions",
            SUBSCRIPTIONS,
            Verdict::Pass,
            format!(
                "no targeted account holds its own subscription to `{}` {method}",
                license.product_sku
            ),
            None,
        );
    }
    let named = list(targeted_holders.iter());
    let (hold, its) = if targeted_holders.len() == 1 {
        ("holds", "its")
    } else {
        ("hold", "their")
    };
    match rollout.entitlement.on_existing_subscription {
        // "You can't activate two licenses for the same product from AWS Marketplace at the same
        // time" (License Manager UG): with DISTRIBUTED_GRANTS_ONLY the account's own stays active.
        OnExistingSubscription::Keep => check(
            "existing-subscriptions",
            SUBSCRIPTIONS,
            Verdict::Warn,
            format!(
                "{named} {hold} {its} own subscription to `{}`: AWS refuses to activate the distributed grant there \
                 while `on_existing_subscription = \"keep\"` (DISTRIBUTED_GRANTS_ONLY)",
                license.product_sku
            ),
            Some(format!(
                "set `on_existing_subscription = \"replace\"` in `{}` (ALL_GRANTS_PERMITTED_BY_ISSUER) to activate ours \
                 and disable theirs, or have each account cancel its own subscription (AWS Marketplace console > \
                 Manage subscriptions, in that account)",
                plan.file
            )),
        ),
        OnExistingSubscription::Replace => check(
            "existing-subscriptions",
            SUBSCRIPTIONS,
            Verdict::Pass,
            format!(
                "{named} {hold} {its} own subscription to `{}`; `on_existing_subscription = \"replace\"` \
                 (ALL_GRANTS_PERMITTED_BY_ISSUER) activates the rollout's grant there and disables {its} own",
                license.product_sku
            ),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::diagnose;
    use super::super::fixtures::healthy;
    use super::*;
    use crate::model::fixtures::{account, tree_of, unit};
    use crate::model::grant::{GrantStatus, Operation};

    const LICENSE: &str = "arn:aws:license-manager::294406891311:license:l-1";

    fn tree() -> OrgTree {
        tree_of(
            [unit("ou-ab12-aaaaaaaa", "Workloads", "r-ab12")],
            [
                account("100000000001", "r-ab12"),
                account("111111111111", "ou-ab12-aaaaaaaa"),
                account("222222222222", "ou-ab12-aaaaaaaa"),
            ],
        )
    }

    fn plan_with_grants(existing: usize) -> PlanFacts {
        let text = "version = 1\nname = \"r\"\n\n[entitlement]\nproduct = \"prod-a\"\n\n[[phase]]\nname = \"p\"\naccounts = [\"111111111111\", \"222222222222\"]\ngrant_to = \"accounts\"\n";
        let grants = (0..existing)
            .map(|index| DistributedGrant {
                arn: format!("arn:aws:license-manager::100000000001:grant:g-{index}"),
                name: format!("other-{index}"),
                principal_arn: format!("arn:aws:iam::{:012}:root", 500_000_000_000 + index),
                status: GrantStatus::Active,
                status_reason: None,
                version: "1".into(),
                granted_operations: [Operation::CheckoutLicense].into_iter().collect(),
                tags: BTreeMap::new(),
                license_arn: LICENSE.into(),
            })
            .collect();
        PlanFacts {
            file: "r.toml".into(),
            rollout: Some(Ok(crate::model::parse_plan(text, "r.toml").unwrap())),
            tree: Some(Ok(tree())),
            licenses: Some(Ok(vec![LicenseInfo {
                arn: LICENSE.into(),
                product_sku: "prod-a".into(),
                product_name: "A".into(),
                status: LicenseStatus::Available,
                allowed_operations: [Operation::CheckoutLicense, Operation::CreateGrant]
                    .into_iter()
                    .collect(),
                issuer: "AWS/Marketplace".into(),
                home_region: "us-east-1".into(),
            }])),
            named_agreement: None,
            agreements: Some(Ok(vec![AgreementSummary {
                id: "agmt-1".into(),
                status: "ACTIVE".into(),
                license_arns: vec![LICENSE.into()],
            }])),
            grants: Some(Ok(grants)),
            organization_licenses: Some(Ok(Vec::new())),
            now: 0,
        }
    }

    #[test]
    fn headroom_counts_existing_grants_and_the_plans_creates() {
        let verdict = |existing| {
            let report = diagnose(&healthy(), Some(&plan_with_grants(existing)));
            let found = report.check("grant-headroom").unwrap().clone();
            (found.verdict, found.detail)
        };
        let (pass, detail) = verdict(3);
        assert_eq!(pass, Verdict::Pass);
        assert!(
            detail.starts_with(
                "3 grants of the license exist, the whole plan adds 2: 5 of the 2,000"
            ),
            "{detail}"
        );
        // 1,798 + 2 = 1,800: exactly 90%, still a pass; one more is a warning.
        assert_eq!(verdict(1_798).0, Verdict::Pass);
        assert_eq!(verdict(1_799).0, Verdict::Warn);
        assert_eq!(verdict(1_998).0, Verdict::Warn);
        let (fail, detail) = verdict(1_999);
        assert_eq!(fail, Verdict::Fail);
        assert_eq!(
            detail,
            "1,999 grants of the license exist, the whole plan adds 2: 2,001 of the 2,000 License Manager \
             allows per license"
        );
        let report = diagnose(&healthy(), Some(&plan_with_grants(1_999)));
        assert!(report.has_failures());
    }

    #[test]
    fn an_agreement_found_by_product_without_a_link_to_the_license_is_a_warning() {
        let mut plan = plan_with_grants(0);
        plan.agreements = Some(Ok(Vec::new()));
        let report = diagnose(&healthy(), Some(&plan));
        let found = report.check("agreement").unwrap();
        assert_eq!(found.verdict, Verdict::Warn);
        assert!(!report.has_failures());
    }

    #[test]
    fn a_targeted_account_with_its_own_subscription_is_named_with_what_activation_does() {
        let mut plan = plan_with_grants(0);
        plan.organization_licenses = Some(Ok(vec![OrganizationLicense {
            arn: "arn:aws:license-manager::294406891311:license:l-own".into(),
            product_sku: "prod-a".into(),
            status: "AVAILABLE".into(),
            beneficiary: "222222222222".into(),
        }]));
        let report = diagnose(&healthy(), Some(&plan));
        let found = report.check("existing-subscriptions").unwrap();
        assert_eq!(found.verdict, Verdict::Warn);
        assert_eq!(
            found.detail,
            "`222222222222` holds its own subscription to `prod-a`: AWS refuses to activate the distributed grant \
             there while `on_existing_subscription = \"keep\"` (DISTRIBUTED_GRANTS_ONLY)"
        );
        assert!(
            found.fix.as_deref().unwrap().starts_with(
                "set `on_existing_subscription = \"replace\"` in `r.toml` (ALL_GRANTS_PERMITTED_BY_ISSUER) to \
                 activate ours and disable theirs"
            ),
            "{found:?}"
        );
        assert!(!report.has_failures());
    }

    #[test]
    fn a_license_that_is_not_available_fails_and_points_at_cleanup() {
        let mut plan = plan_with_grants(0);
        if let Some(Ok(licenses)) = &mut plan.licenses {
            licenses[0].status = LicenseStatus::from_aws("DELETED");
        }
        let report = diagnose(&healthy(), Some(&plan));
        let found = report.check("license").unwrap();
        assert_eq!(found.verdict, Verdict::Fail);
        assert!(found.detail.contains("is `DELETED`"), "{found:?}");
        assert!(
            found
                .fix
                .as_deref()
                .unwrap()
                .contains(&format!("`entitle cleanup --license {LICENSE}`")),
            "{found:?}"
        );
    }

    #[test]
    fn a_refused_organisation_listing_is_no_second_failure_while_marketplace_is_not_trusted() {
        let mut plan = plan_with_grants(0);
        plan.organization_licenses = Some(Err(crate::model::doctor::ReadFailure {
            action: "license-manager:ListReceivedLicensesForOrganization".into(),
            code: Some("AccessDeniedException".into()),
            message: "not trusted".into(),
            access_denied: true,
            hint: None,
        }));
        let mut untrusted = healthy();
        untrusted.service_access = Some(Ok([super::super::LICENSE_MANAGER_PRINCIPAL.to_owned()]
            .into_iter()
            .collect()));
        let verdict = |facts| {
            diagnose(facts, Some(&plan))
                .check("existing-subscriptions")
                .unwrap()
                .verdict
        };
        assert_eq!(verdict(&untrusted), Verdict::Skip);
        // Trusted, the refusal is a failure of its own.
        assert_eq!(verdict(&healthy()), Verdict::Fail);
    }
}
