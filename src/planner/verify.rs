//! What `entitle verify` decides, without doing: which accounts to verify (all targeted ones, or
//! a sample spread over the phases and OUs), what the plan means for each (entitled or not),
//! which of Bedrock's answers disagree with License Manager or with that intent, and the totals.
//! Pure: the command asks Bedrock and hands the answers in.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::activity::AccountActivity;
use super::diff::Observed;
use super::targets::ResolvedPhase;
use crate::model::bedrock::ModelAvailability;
use crate::model::grant::{GrantStatus, LicenseStatus};
use crate::model::plan::RolloutPlan;
use crate::model::{AccountId, OrgTree};

/// What the person verifying expects (`--expect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// The plan's applied phases are in place: their accounts can use the model, the accounts of
    /// phases not yet applied cannot.
    Present,
    /// Nothing is in place any more (after cleanup or destroy): no targeted account can use it.
    Absent,
}

/// One account the plan targets, with the first phase that targets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// The account.
    pub account: AccountId,
    /// Its name.
    pub name: String,
    /// The OU path it sits in (empty at the root).
    pub ou_path: String,
    /// The first phase that targets it (phases are cumulative).
    pub phase: String,
    /// That phase's position in the plan.
    #[serde(skip)]
    pub phase_index: usize,
}

/// Every targeted account once, with its first phase, in phase then account order.
pub fn candidates(resolved: &[ResolvedPhase], tree: &OrgTree) -> Vec<Candidate> {
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for phase in resolved {
        for id in &phase.targeted {
            if !seen.insert(id.clone()) {
                continue;
            }
            let account = tree.account(id);
            found.push(Candidate {
                account: id.clone(),
                name: account
                    .map(|account| account.name.clone())
                    .unwrap_or_default(),
                ou_path: account
                    .map(|account| tree.parent_path(&account.parent).to_owned())
                    .unwrap_or_default(),
                phase: phase.name.clone(),
                phase_index: phase.index,
            });
        }
    }
    found
}

/// At most `size` of `candidates`, spread over the phases and OUs: each pick takes, from the
/// groups of accounts sharing a phase and an OU, one whose phase is not yet covered, else one
/// whose OU is not, else the group picked least (then the phase picked least), so that every
/// phase and every OU is covered before any group gives a second account. Deterministic: the
/// same organisation and plan give the same sample. Returned in phase then account order.
pub fn sample(candidates: &[Candidate], size: usize) -> Vec<Candidate> {
    if size >= candidates.len() {
        return candidates.to_vec();
    }
    let mut groups: BTreeMap<(usize, &str), Vec<&Candidate>> = BTreeMap::new();
    for candidate in candidates {
        groups
            .entry((candidate.phase_index, candidate.ou_path.as_str()))
            .or_default()
            .push(candidate);
    }
    for members in groups.values_mut() {
        // Taken from the end: reverse so the lowest account id comes first.
        members.sort_by(|a, b| b.account.cmp(&a.account));
    }
    let mut taken_in_group: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    let mut taken_in_phase: BTreeMap<usize, usize> = BTreeMap::new();
    let mut covered_ous: BTreeSet<&str> = BTreeSet::new();
    let mut picked = Vec::with_capacity(size);
    while picked.len() < size {
        let next = groups
            .iter()
            .filter(|(_, members)| !members.is_empty())
            .map(|(key, _)| *key)
            .min_by_key(|key| {
                let (phase, ou) = *key;
                let phase_taken = taken_in_phase.get(&phase).copied().unwrap_or(0);
                (
                    phase_taken > 0,
                    covered_ous.contains(ou),
                    taken_in_group.get(key).copied().unwrap_or(0),
                    phase_taken,
                    *key,
                )
            });
        let Some(key) = next else { break };
        let Some(candidate) = groups.get_mut(&key).and_then(Vec::pop) else {
            break;
        };
        *taken_in_group.entry(key).or_default() += 1;
        *taken_in_phase.entry(key.0).or_default() += 1;
        covered_ous.insert(key.1);
        picked.push(candidate.clone());
    }
    picked.sort_by(|a, b| (a.phase_index, &a.account).cmp(&(b.phase_index, &b.account)));
    picked
}

/// The last phase (its index) in which the rollout holds a live grant of the license: how far
/// the plan has been applied, as License Manager shows it. `None`: nothing applied (or all torn
/// down).
pub fn applied_through(rollout: &RolloutPlan, observed: &Observed) -> Option<usize> {
    super::activity::live_grants(&rollout.name, observed)
        .values()
        .filter_map(|grant| grant.phase_tag())
        .filter_map(|phase| rollout.phase_index(phase))
        .max()
}

/// What the plan means for one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Its phase is applied: it must be able to use the model.
    Entitled,
    /// Its phase is not applied yet, or `--expect absent`: it must not be entitled.
    NotEntitled,
}

/// The intent for an account of phase `phase_index`, the plan applied through `applied`.
pub fn intent(phase_index: usize, applied: Option<usize>, expect: Expect) -> Intent {
    match (expect, applied) {
        (Expect::Present, Some(through)) if phase_index <= through => Intent::Entitled,
        _ => Intent::NotEntitled,
    }
}

/// A disagreement found in one region: between License Manager and Bedrock, or between Bedrock
/// and the plan's intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flag {
    /// The grant is ACTIVE but Bedrock says the account is not entitled.
    GrantActiveNotEntitled {
        /// Where.
        region: String,
    },
    /// The grant is still ACTIVE but its license has ended (the agreement was cancelled or
    /// expired): Bedrock rightly says not entitled, and the grant awaits cleanup.
    GrantOfEndedLicense {
        /// Where.
        region: String,
        /// The license's status (`DELETED`, `EXPIRED`, ...).
        license_status: String,
    },
    /// Bedrock says the account is entitled but it holds no ACTIVE grant of the rollout (its own
    /// subscription, another rollout's grant, or a deactivation Bedrock has not seen yet).
    EntitledWithoutActiveGrant {
        /// Where.
        region: String,
    },
    /// The account is (or is meant to be) entitled but the model's agreement is not AVAILABLE.
    AgreementNotAvailable {
        /// Where.
        region: String,
        /// Bedrock's agreement status.
        status: String,
        /// Bedrock's reason, when given (e.g. the use-case form is missing).
        error_message: Option<String>,
    },
    /// The role verifying may not use the model (`NOT_AUTHORIZED`: IAM or an SCP).
    NotAuthorized {
        /// Where.
        region: String,
    },
    /// The model is not offered in this region.
    RegionNotAvailable {
        /// Where.
        region: String,
    },
    /// The plan means the account to be entitled and Bedrock says it is not.
    ExpectedEntitled {
        /// Where.
        region: String,
    },
    /// The plan means the account not to be entitled (phase not applied, or `--expect absent`)
    /// and Bedrock says it is.
    ExpectedNotEntitled {
        /// Where.
        region: String,
    },
}

impl Flag {
    /// The region the flag is about.
    pub fn region(&self) -> &str {
        match self {
            Self::GrantActiveNotEntitled { region }
            | Self::GrantOfEndedLicense { region, .. }
            | Self::EntitledWithoutActiveGrant { region }
            | Self::AgreementNotAvailable { region, .. }
            | Self::NotAuthorized { region }
            | Self::RegionNotAvailable { region }
            | Self::ExpectedEntitled { region }
            | Self::ExpectedNotEntitled { region } => region,
        }
    }

    /// The flag's name, as in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::GrantActiveNotEntitled { .. } => "grant_active_not_entitled",
            Self::GrantOfEndedLicense { .. } => "grant_of_ended_license",
            Self::EntitledWithoutActiveGrant { .. } => "entitled_without_active_grant",
            Self::AgreementNotAvailable { .. } => "agreement_not_available",
            Self::NotAuthorized { .. } => "not_authorized",
            Self::RegionNotAvailable { .. } => "region_not_available",
            Self::ExpectedEntitled { .. } => "expected_entitled",
            Self::ExpectedNotEntitled { .. } => "expected_not_entitled",
        }
    }

    /// What it means, for people.
    pub fn message(&self) -> String {
        match self {
            Self::GrantActiveNotEntitled { region } => format!(
                "the grant is ACTIVE but Bedrock says the account is NOT entitled in `{region}`"
            ),
            Self::GrantOfEndedLicense {
                region,
                license_status,
            } => format!(
                "the grant is still ACTIVE but its license is `{license_status}`: not entitled in `{region}`"
            ),
            Self::EntitledWithoutActiveGrant { region } => format!(
                "Bedrock says the account is entitled in `{region}` but it holds no ACTIVE grant of the rollout"
            ),
            Self::AgreementNotAvailable {
                region,
                status,
                error_message,
            } => match error_message {
                Some(reason) => {
                    format!("the model's agreement is `{status}` in `{region}`: {reason}")
                }
                None => format!("the model's agreement is `{status}` in `{region}`"),
            },
            Self::NotAuthorized { region } => {
                format!("the role is NOT_AUTHORIZED to use the model in `{region}`")
            }
            Self::RegionNotAvailable { region } => {
                format!("the model is not available in `{region}`")
            }
            Self::ExpectedEntitled { region } => format!(
                "the plan means this account to use the model, but it is not entitled in `{region}`"
            ),
            Self::ExpectedNotEntitled { region } => {
                format!("the plan means this account not to be entitled, but it is in `{region}`")
            }
        }
    }

    /// What to do about it.
    pub fn fix(&self) -> &'static str {
        match self {
            Self::GrantActiveNotEntitled { .. } => {
                "Bedrock may lag behind License Manager (verify again in a few minutes); if it stays, open an AWS support case with the grant ARN and the account id"
            }
            Self::GrantOfEndedLicense { .. } => {
                "the subscription ended: `entitle cleanup` deletes the grants of ended subscriptions (then verify with `--expect absent`)"
            }
            Self::EntitledWithoutActiveGrant { .. } => {
                "look for the account's own subscription or another rollout's grant (`entitle plan` lists grants it does not own); after a cleanup, verify again later"
            }
            Self::AgreementNotAvailable { .. } => {
                "submit the Anthropic use-case form at the management account (`entitle use-case submit --form FILE`); check the agreement with `entitle doctor PLAN`"
            }
            Self::NotAuthorized { .. } => {
                "an IAM policy or an SCP denies the model to the role verifying: check the organisation's SCPs (`entitle guardrails` prints entitle's own) and the role's policies"
            }
            Self::RegionNotAvailable { .. } => {
                "verify in a region that offers the model (`--regions`), or use a cross-region inference profile there"
            }
            Self::ExpectedEntitled { .. } => {
                "`entitle status PLAN` shows the account's grant: apply (or activate) it, or wait for it to distribute, then verify again"
            }
            Self::ExpectedNotEntitled { .. } => {
                "`entitle cleanup` or `entitle apply --destroy` removes the rollout's grants; an own subscription is the account's to cancel"
            }
        }
    }
}

/// Why an account could not be verified: the role could not be assumed, or Bedrock refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckFailure {
    /// The step that failed: `AssumeRole` or `GetFoundationModelAvailability`.
    pub step: String,
    /// The region, for a Bedrock failure.
    pub region: Option<String>,
    /// The error, as AWS gave it.
    pub error: String,
    /// What to do about it.
    pub hint: String,
}

/// How one account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Bedrock, License Manager and the plan agree.
    Agrees,
    /// At least one flag.
    Disagrees,
    /// It could not be verified.
    Failed,
}

/// One account verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountCheck {
    /// The account, its name, OU and first phase.
    #[serde(flatten)]
    pub candidate: Candidate,
    /// What the plan means for it.
    pub intent: Intent,
    /// Its best grant of the rollout, as License Manager shows it.
    pub grant_arn: Option<String>,
    /// That grant's status; `None`: no grant of the rollout reaches it.
    pub grant_status: Option<GrantStatus>,
    /// Bedrock's answers, one per region, when it answered.
    pub availability: Vec<ModelAvailability>,
    /// Whether Bedrock says it is entitled in every region verified.
    pub entitled: Option<bool>,
    /// Every disagreement.
    pub flags: Vec<Flag>,
    /// Why it could not be verified.
    pub failure: Option<CheckFailure>,
    /// The verdict.
    pub verdict: Verdict,
}

/// Judges one account from its grant, Bedrock's answers (or the failure) and the intent.
/// `license_ended`: the license's status when it is not AVAILABLE (a cancelled or expired
/// subscription).
pub fn judge(
    candidate: Candidate,
    intent: Intent,
    grant: Option<(&str, &GrantStatus)>,
    license_ended: Option<&str>,
    answers: Result<Vec<ModelAvailability>, CheckFailure>,
) -> AccountCheck {
    let active = grant.is_some_and(|(_, status)| *status == GrantStatus::Active);
    let (availability, failure) = match answers {
        Ok(answers) => (answers, None),
        Err(failure) => (Vec::new(), Some(failure)),
    };
    let mut flags = Vec::new();
    for answer in &availability {
        let region = answer.region.clone();
        let entitled = answer.entitlement.is_available();
        // Access is meant (or in force) here: what else Bedrock says must allow it.
        let meant = intent == Intent::Entitled || active || entitled;
        match license_ended {
            Some(status) if active && !entitled => flags.push(Flag::GrantOfEndedLicense {
                region: region.clone(),
                license_status: status.to_owned(),
            }),
            None if active && !entitled => flags.push(Flag::GrantActiveNotEntitled {
                region: region.clone(),
            }),
            _ => {}
        }
        if entitled && !active {
            flags.push(Flag::EntitledWithoutActiveGrant {
                region: region.clone(),
            });
        }
        // An ended subscription's agreement is not available either: said by the flag above.
        let ended_here = license_ended.is_some() && !entitled;
        if (active || entitled) && !ended_here && !answer.agreement.is_available() {
            flags.push(Flag::AgreementNotAvailable {
                region: region.clone(),
                status: answer.agreement.as_str().to_owned(),
                error_message: answer.agreement_error.clone(),
            });
        }
        if meant && !answer.authorization.is_authorized() {
            flags.push(Flag::NotAuthorized {
                region: region.clone(),
            });
        }
        if meant && !answer.region_availability.is_available() {
            flags.push(Flag::RegionNotAvailable {
                region: region.clone(),
            });
        }
        match intent {
            Intent::Entitled if !entitled => flags.push(Flag::ExpectedEntitled { region }),
            Intent::NotEntitled if entitled => flags.push(Flag::ExpectedNotEntitled { region }),
            _ => {}
        }
    }
    let entitled = (failure.is_none() && !availability.is_empty()).then(|| {
        availability
            .iter()
            .all(|answer| answer.entitlement.is_available())
    });
    let verdict = if failure.is_some() {
        Verdict::Failed
    } else if flags.is_empty() {
        Verdict::Agrees
    } else {
        Verdict::Disagrees
    };
    AccountCheck {
        candidate,
        intent,
        grant_arn: grant.map(|(arn, _)| arn.to_owned()),
        grant_status: grant.map(|(_, status)| status.clone()),
        availability,
        entitled,
        flags,
        failure,
        verdict,
    }
}

/// The counts at the bottom of the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Accounts the plan targets.
    pub targeted: usize,
    /// Accounts verified (asked about), the sample when `--sample`.
    pub checked: usize,
    /// Accounts that agree.
    pub agree: usize,
    /// Accounts with a flag.
    pub disagree: usize,
    /// Accounts that could not be verified.
    pub failed: usize,
    /// Accounts Bedrock says are entitled in every region.
    pub entitled: usize,
    /// Accounts Bedrock says are not entitled in some region.
    pub not_entitled: usize,
    /// How many of each flag.
    pub flags: BTreeMap<&'static str, usize>,
}

/// The whole verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The rollout.
    pub rollout: String,
    /// The license it distributes.
    pub license_arn: String,
    /// The license's Marketplace product.
    pub product: String,
    /// The Bedrock model asked about.
    pub model_id: String,
    /// The regions asked in.
    pub regions: Vec<String>,
    /// What was expected.
    pub expect: Expect,
    /// The last phase meant to be in place (`--phase`, or the last one the rollout holds grants
    /// of); `None`: none.
    pub applied_through: Option<String>,
    /// Whether only a sample was verified (`--sample N`).
    pub sampled: bool,
    /// Every account verified, in phase then account order.
    pub accounts: Vec<AccountCheck>,
    /// The counts.
    pub totals: Totals,
}

impl VerifyReport {
    /// Whether every verified account agrees with the plan's intent (and none failed).
    pub fn agrees(&self) -> bool {
        self.totals.disagree == 0 && self.totals.failed == 0
    }
}

/// What the report is made of besides the answers.
#[derive(Debug, Clone)]
pub struct VerifyInputs<'a> {
    /// The plan.
    pub rollout: &'a RolloutPlan,
    /// The license and grants License Manager shows.
    pub observed: &'a Observed,
    /// The Bedrock model asked about.
    pub model_id: &'a str,
    /// The regions asked in.
    pub regions: &'a [String],
    /// `--expect`.
    pub expect: Expect,
    /// How far the plan is meant to be applied (a phase index).
    pub applied: Option<usize>,
    /// How many accounts the plan targets.
    pub targeted: usize,
    /// Whether the accounts are a sample.
    pub sampled: bool,
}

/// Judges every account asked about and adds the totals.
pub fn report(
    inputs: &VerifyInputs<'_>,
    answers: Vec<(Candidate, Result<Vec<ModelAvailability>, CheckFailure>)>,
) -> VerifyReport {
    let activity = AccountActivity::observe(&inputs.rollout.name, inputs.observed);
    let license = &inputs.observed.license;
    let license_ended =
        (license.status != LicenseStatus::Available).then(|| license.status.as_str());
    let mut accounts: Vec<AccountCheck> = answers
        .into_iter()
        .map(|(candidate, answer)| {
            let intent = intent(candidate.phase_index, inputs.applied, inputs.expect);
            let grant = activity.best(&candidate.account);
            judge(candidate, intent, grant, license_ended, answer)
        })
        .collect();
    accounts.sort_by(|a, b| {
        (a.candidate.phase_index, &a.candidate.account)
            .cmp(&(b.candidate.phase_index, &b.candidate.account))
    });
    let mut totals = Totals {
        targeted: inputs.targeted,
        checked: accounts.len(),
        ..Totals::default()
    };
    for account in &accounts {
        match account.verdict {
            Verdict::Agrees => totals.agree += 1,
            Verdict::Disagrees => totals.disagree += 1,
            Verdict::Failed => totals.failed += 1,
        }
        match account.entitled {
            Some(true) => totals.entitled += 1,
            Some(false) => totals.not_entitled += 1,
            None => {}
        }
        for flag in &account.flags {
            *totals.flags.entry(flag.kind()).or_default() += 1;
        }
    }
    VerifyReport {
        rollout: inputs.rollout.name.clone(),
        license_arn: inputs.observed.license.arn.clone(),
        product: inputs.observed.license.product_sku.clone(),
        model_id: inputs.model_id.to_owned(),
        regions: inputs.regions.to_vec(),
        expect: inputs.expect,
        applied_through: inputs
            .applied
            .and_then(|index| inputs.rollout.phases.get(index))
            .map(|phase| phase.name.value.clone()),
        sampled: inputs.sampled,
        accounts,
        totals,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::bedrock::BedrockStatus;
    use crate::model::grant::{DistributedGrant, LicenseInfo, TAG_PHASE, TAG_ROLLOUT};

    fn candidate(account: &str, phase_index: usize, ou: &str) -> Candidate {
        Candidate {
            account: AccountId::parse(account).unwrap(),
            name: format!("account-{account}"),
            ou_path: ou.to_owned(),
            phase: format!("phase-{phase_index}"),
            phase_index,
        }
    }

    fn answer(region: &str, entitlement: &str, agreement: &str) -> ModelAvailability {
        ModelAvailability {
            model_id: "anthropic.claude-sonnet-4-5-20250929-v1:0".to_owned(),
            region: region.to_owned(),
            agreement: BedrockStatus(agreement.to_owned()),
            agreement_error: None,
            authorization: BedrockStatus("AUTHORIZED".to_owned()),
            entitlement: BedrockStatus(entitlement.to_owned()),
            region_availability: BedrockStatus("AVAILABLE".to_owned()),
        }
    }

    /// 3 phases; phase 0 in one OU, phase 1 over 4 OUs, phase 2 over 10 OUs; 20 accounts per
    /// (phase, OU).
    fn organisation() -> Vec<Candidate> {
        let mut all = Vec::new();
        let mut number = 100_000_000_000u64;
        for (phase, ous) in [(0, 1), (1, 4), (2, 10)] {
            for ou in 0..ous {
                for _ in 0..20 {
                    number += 1;
                    all.push(candidate(
                        &number.to_string(),
                        phase,
                        &format!("ou-{phase}-{ou}"),
                    ));
                }
            }
        }
        all
    }

    #[test]
    fn a_sample_covers_every_phase_then_every_ou_before_doubling_up() {
        let all = organisation();
        let three = sample(&all, 3);
        let phases: BTreeSet<usize> = three.iter().map(|c| c.phase_index).collect();
        assert_eq!(phases, BTreeSet::from([0, 1, 2]), "{three:?}");
        // 15 OUs: a sample of 15 takes one account of each.
        let fifteen = sample(&all, 15);
        let ous: BTreeSet<&str> = fifteen.iter().map(|c| c.ou_path.as_str()).collect();
        assert_eq!(ous.len(), 15, "{fifteen:?}");
        // Beyond that, groups get a second account evenly; no account twice.
        let thirty = sample(&all, 30);
        let mut per_ou: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &thirty {
            *per_ou.entry(c.ou_path.as_str()).or_default() += 1;
        }
        assert!(per_ou.values().all(|count| *count == 2), "{per_ou:?}");
        let distinct: BTreeSet<&AccountId> = thirty.iter().map(|c| &c.account).collect();
        assert_eq!(distinct.len(), 30);
    }

    #[test]
    fn a_sample_is_deterministic_bounded_and_ordered() {
        let all = organisation();
        assert_eq!(sample(&all, 17), sample(&all, 17));
        assert_eq!(sample(&all, 17).len(), 17);
        assert_eq!(sample(&all, 0).len(), 0);
        assert_eq!(sample(&all, 10_000), all);
        let picked = sample(&all, 40);
        assert!(picked.windows(2).all(|pair| {
            (pair[0].phase_index, &pair[0].account) < (pair[1].phase_index, &pair[1].account)
        }));
    }

    #[test]
    fn the_intent_follows_the_applied_phases_and_the_expectation() {
        assert_eq!(intent(0, Some(0), Expect::Present), Intent::Entitled);
        assert_eq!(intent(1, Some(0), Expect::Present), Intent::NotEntitled);
        assert_eq!(intent(2, Some(2), Expect::Present), Intent::Entitled);
        assert_eq!(intent(0, None, Expect::Present), Intent::NotEntitled);
        assert_eq!(intent(0, Some(2), Expect::Absent), Intent::NotEntitled);
    }

    #[test]
    fn agreement_gives_no_flag() {
        let active = GrantStatus::Active;
        let entitled = judge(
            candidate("111111111111", 0, "Pilot"),
            Intent::Entitled,
            Some(("g-1", &active)),
            None,
            Ok(vec![answer("us-east-1", "AVAILABLE", "AVAILABLE")]),
        );
        assert_eq!(entitled.verdict, Verdict::Agrees, "{:?}", entitled.flags);
        assert_eq!(entitled.entitled, Some(true));
        // Not yet granted, not entitled, agreement not available there: as intended.
        let waiting = judge(
            candidate("333333333333", 1, "Workloads"),
            Intent::NotEntitled,
            None,
            None,
            Ok(vec![answer("us-east-1", "NOT_AVAILABLE", "NOT_AVAILABLE")]),
        );
        assert_eq!(waiting.verdict, Verdict::Agrees, "{:?}", waiting.flags);
        assert_eq!(waiting.entitled, Some(false));
    }

    #[test]
    fn every_disagreement_is_flagged() {
        let active = GrantStatus::Active;
        let broken = judge(
            candidate("111111111111", 0, "Pilot"),
            Intent::Entitled,
            Some(("g-1", &active)),
            None,
            Ok(vec![answer("us-east-1", "NOT_AVAILABLE", "AVAILABLE")]),
        );
        let kinds: Vec<&str> = broken.flags.iter().map(Flag::kind).collect();
        assert_eq!(kinds, ["grant_active_not_entitled", "expected_entitled"]);
        assert_eq!(broken.verdict, Verdict::Disagrees);

        let mut other = answer("eu-west-3", "AVAILABLE", "PENDING");
        other.authorization = BedrockStatus("NOT_AUTHORIZED".to_owned());
        other.region_availability = BedrockStatus("NOT_AVAILABLE".to_owned());
        let stray = judge(
            candidate("222222222222", 2, "Sandbox"),
            Intent::NotEntitled,
            None,
            None,
            Ok(vec![other]),
        );
        let kinds: Vec<&str> = stray.flags.iter().map(Flag::kind).collect();
        assert_eq!(
            kinds,
            [
                "entitled_without_active_grant",
                "agreement_not_available",
                "not_authorized",
                "region_not_available",
                "expected_not_entitled"
            ]
        );
        assert!(stray.flags.iter().all(|flag| flag.region() == "eu-west-3"));
        assert!(stray.flags.iter().all(|flag| !flag.fix().is_empty()));
    }

    const LICENSE: &str = "arn:aws:license-manager::294406891311:license:l-1";

    fn plan() -> RolloutPlan {
        crate::model::plan::parse_plan(
            "version = 1\nname = \"r\"\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kb4\"\n\
             [[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\"]\n\
             [[phase]]\nname = \"wave\"\naccounts = [\"222222222222\"]\n\
             [[phase]]\nname = \"everyone\"\norganization = true\n",
            "r.toml",
        )
        .unwrap()
    }

    fn grant(number: u64, owner: &str, phase: &str, status: GrantStatus) -> DistributedGrant {
        DistributedGrant {
            arn: format!("arn:aws:license-manager::100000000001:grant:g-{number}"),
            name: format!("entitle/{owner}/{phase}"),
            principal_arn: format!("arn:aws:iam::{number:012}:root"),
            status,
            status_reason: None,
            version: "1".to_owned(),
            granted_operations: BTreeSet::new(),
            tags: [
                (TAG_ROLLOUT.to_owned(), owner.to_owned()),
                (TAG_PHASE.to_owned(), phase.to_owned()),
            ]
            .into(),
            license_arn: LICENSE.to_owned(),
        }
    }

    fn observed(grants: Vec<DistributedGrant>) -> Observed {
        Observed {
            license: LicenseInfo {
                arn: LICENSE.to_owned(),
                product_sku: "prod-mxcfnwvpd6kb4".to_owned(),
                product_name: "Claude Sonnet 4.5".to_owned(),
                status: LicenseStatus::Available,
                allowed_operations: BTreeSet::new(),
                issuer: "AWS/Marketplace".to_owned(),
                home_region: "us-east-1".to_owned(),
            },
            grants,
            received: Vec::new(),
            own_subscriptions: BTreeSet::new(),
        }
    }

    #[test]
    fn the_plan_is_applied_through_the_last_phase_with_a_live_grant_of_the_rollout() {
        let rollout = plan();
        assert_eq!(applied_through(&rollout, &observed(vec![])), None);
        let pilot = observed(vec![grant(
            111_111_111_111,
            "r",
            "pilot",
            GrantStatus::Active,
        )]);
        assert_eq!(applied_through(&rollout, &pilot), Some(0));
        // A later phase's grant still distributing counts; a deleted one, another rollout's and
        // an unknown phase's do not.
        let seen = observed(vec![
            grant(111_111_111_111, "r", "pilot", GrantStatus::Active),
            grant(222_222_222_222, "r", "wave", GrantStatus::PendingWorkflow),
            grant(333_333_333_333, "r", "everyone", GrantStatus::Deleted),
            grant(444_444_444_444, "other", "everyone", GrantStatus::Active),
            grant(555_555_555_555, "r", "gone", GrantStatus::Active),
        ]);
        assert_eq!(applied_through(&rollout, &seen), Some(1));
    }

    #[test]
    fn the_report_judges_each_account_against_its_grant_and_counts() {
        let rollout = plan();
        let seen = observed(vec![grant(
            111_111_111_111,
            "r",
            "pilot",
            GrantStatus::Active,
        )]);
        let regions = vec!["us-east-1".to_owned()];
        let inputs = VerifyInputs {
            rollout: &rollout,
            observed: &seen,
            model_id: "anthropic.claude-sonnet-4-5-20250929-v1:0",
            regions: &regions,
            expect: Expect::Present,
            applied: applied_through(&rollout, &seen),
            targeted: 3,
            sampled: false,
        };
        let verified = report(
            &inputs,
            vec![
                (
                    candidate("222222222222", 1, "Wave"),
                    Ok(vec![answer("us-east-1", "NOT_AVAILABLE", "NOT_AVAILABLE")]),
                ),
                (
                    candidate("111111111111", 0, "Pilot"),
                    Ok(vec![answer("us-east-1", "AVAILABLE", "AVAILABLE")]),
                ),
                (
                    candidate("333333333333", 2, "Other"),
                    Err(CheckFailure {
                        step: "AssumeRole".to_owned(),
                        region: None,
                        error: "AccessDenied".to_owned(),
                        hint: "create the role".to_owned(),
                    }),
                ),
            ],
        );
        let order: Vec<&str> = verified
            .accounts
            .iter()
            .map(|account| account.candidate.account.as_str())
            .collect();
        assert_eq!(order, ["111111111111", "222222222222", "333333333333"]);
        assert_eq!(verified.accounts[0].grant_status, Some(GrantStatus::Active));
        assert_eq!(verified.accounts[0].intent, Intent::Entitled);
        assert_eq!(verified.accounts[1].intent, Intent::NotEntitled);
        assert_eq!(verified.applied_through.as_deref(), Some("pilot"));
        assert_eq!(
            verified.totals,
            Totals {
                targeted: 3,
                checked: 3,
                agree: 2,
                disagree: 0,
                failed: 1,
                entitled: 1,
                not_entitled: 1,
                flags: BTreeMap::new(),
            }
        );
        assert!(!verified.agrees());
    }

    #[test]
    fn an_ended_subscription_s_active_grant_asks_for_cleanup() {
        let active = GrantStatus::Active;
        let ended = judge(
            candidate("111111111111", 0, "Pilot"),
            Intent::NotEntitled,
            Some(("g-1", &active)),
            Some("DELETED"),
            Ok(vec![answer("us-east-1", "NOT_AVAILABLE", "NOT_AVAILABLE")]),
        );
        assert_eq!(
            ended.flags,
            [Flag::GrantOfEndedLicense {
                region: "us-east-1".to_owned(),
                license_status: "DELETED".to_owned()
            }]
        );
        assert!(ended.flags[0].fix().contains("entitle cleanup"));
        // Once its grant is gone, the account agrees.
        let cleaned = judge(
            candidate("111111111111", 0, "Pilot"),
            Intent::NotEntitled,
            None,
            Some("DELETED"),
            Ok(vec![answer("us-east-1", "NOT_AVAILABLE", "NOT_AVAILABLE")]),
        );
        assert_eq!(cleaned.verdict, Verdict::Agrees);
    }

    #[test]
    fn a_failure_fails_the_account_alone() {
        let failed = judge(
            candidate("111111111111", 0, "Pilot"),
            Intent::Entitled,
            None,
            None,
            Err(CheckFailure {
                step: "AssumeRole".to_owned(),
                region: None,
                error: "AccessDenied".to_owned(),
                hint: "create the role".to_owned(),
            }),
        );
        assert_eq!(failed.verdict, Verdict::Failed);
        assert_eq!(failed.entitled, None);
        assert!(failed.flags.is_empty());
    }

    #[test]
    fn candidates_are_the_targeted_accounts_once_each_under_their_first_phase() {
        use crate::model::fixtures::{account, tree_of, unit};
        let tree = tree_of(
            [unit("ou-ab12-aaaaaaaa", "Workloads", "r-ab12")],
            [
                account("111111111111", "r-ab12"),
                account("222222222222", "ou-ab12-aaaaaaaa"),
            ],
        );
        let rollout = plan();
        let resolved = crate::planner::targets::resolve_targets(&rollout, &tree).unwrap();
        let found = candidates(&resolved, &tree);
        let seen: Vec<(&str, &str, &str, &str, usize)> = found
            .iter()
            .map(|c| {
                (
                    c.account.as_str(),
                    c.name.as_str(),
                    c.ou_path.as_str(),
                    c.phase.as_str(),
                    c.phase_index,
                )
            })
            .collect();
        // `everyone` targets both again: each is listed once, under its first phase.
        assert_eq!(
            seen,
            [
                ("111111111111", "acct-111111111111", "", "pilot", 0),
                ("222222222222", "acct-222222222222", "Workloads", "wave", 1),
            ]
        );
    }

    #[test]
    fn a_small_sample_takes_the_lowest_account_of_each_phase_first() {
        let all = organisation();
        let three = sample(&all, 3);
        let picked: Vec<(&str, usize, &str)> = three
            .iter()
            .map(|c| (c.account.as_str(), c.phase_index, c.ou_path.as_str()))
            .collect();
        // Phase 0 holds accounts ...001-...020, phase 1's first OU ...021-...040, phase 2's
        // first OU starts after phase 1's 80.
        assert_eq!(
            picked,
            [
                ("100000000001", 0, "ou-0-0"),
                ("100000000021", 1, "ou-1-0"),
                ("100000000101", 2, "ou-2-0"),
            ]
        );
        // Sixteen: every OU once, then the second pick goes to the first phase (picked least
        // per group, then the phase picked least).
        let sixteen = sample(&all, 16);
        let second: Vec<&str> = sixteen
            .iter()
            .filter(|c| c.ou_path == "ou-0-0")
            .map(|c| c.account.as_str())
            .collect();
        assert_eq!(second, ["100000000001", "100000000002"], "{sixteen:?}");
        // A phase not yet covered comes before an OU not yet covered: with OU `a` in both
        // phases, the second pick is phase 1's account of `a`, not phase 0's of `b`.
        let shared = [
            candidate("100000000001", 0, "a"),
            candidate("100000000002", 0, "b"),
            candidate("100000000003", 1, "a"),
        ];
        let two: Vec<String> = sample(&shared, 2)
            .into_iter()
            .map(|c| c.account.as_str().to_owned())
            .collect();
        assert_eq!(two, ["100000000001", "100000000003"]);
        // One fewer than all: everything but the one group's last account.
        let most = sample(&all, all.len() - 1);
        assert_eq!(most.len(), all.len() - 1);
    }

    #[test]
    fn every_flag_says_what_is_wrong_where_and_what_to_do() {
        let region = || "eu-west-3".to_owned();
        let flags = [
            Flag::GrantActiveNotEntitled { region: region() },
            Flag::GrantOfEndedLicense {
                region: region(),
                license_status: "EXPIRED".to_owned(),
            },
            Flag::EntitledWithoutActiveGrant { region: region() },
            Flag::AgreementNotAvailable {
                region: region(),
                status: "PENDING".to_owned(),
                error_message: Some("use-case form missing".to_owned()),
            },
            Flag::AgreementNotAvailable {
                region: region(),
                status: "NOT_AVAILABLE".to_owned(),
                error_message: None,
            },
            Flag::NotAuthorized { region: region() },
            Flag::RegionNotAvailable { region: region() },
            Flag::ExpectedEntitled { region: region() },
            Flag::ExpectedNotEntitled { region: region() },
        ];
        let messages: Vec<String> = flags.iter().map(Flag::message).collect();
        assert_eq!(
            messages,
            [
                "the grant is ACTIVE but Bedrock says the account is NOT entitled in `eu-west-3`",
                "the grant is still ACTIVE but its license is `EXPIRED`: not entitled in `eu-west-3`",
                "Bedrock says the account is entitled in `eu-west-3` but it holds no ACTIVE grant of the rollout",
                "the model's agreement is `PENDING` in `eu-west-3`: use-case form missing",
                "the model's agreement is `NOT_AVAILABLE` in `eu-west-3`",
                "the role is NOT_AUTHORIZED to use the model in `eu-west-3`",
                "the model is not available in `eu-west-3`",
                "the plan means this account to use the model, but it is not entitled in `eu-west-3`",
                "the plan means this account not to be entitled, but it is in `eu-west-3`",
            ]
        );
        let fixes: Vec<&str> = flags.iter().map(Flag::fix).collect();
        assert!(fixes[0].contains("AWS support case"));
        assert!(fixes[3].contains("entitle use-case submit"));
        assert!(fixes[6].contains("`--regions`"));
        assert!(fixes[7].contains("entitle status PLAN"));
        assert!(fixes[8].contains("entitle apply --destroy"));
    }

    #[test]
    fn the_report_counts_each_flag_and_an_ended_license_flags_its_active_grants() {
        let rollout = plan();
        let mut seen = observed(vec![grant(
            111_111_111_111,
            "r",
            "pilot",
            GrantStatus::Active,
        )]);
        seen.license.status = LicenseStatus::Expired;
        let regions = vec!["us-east-1".to_owned(), "eu-west-3".to_owned()];
        let inputs = VerifyInputs {
            rollout: &rollout,
            observed: &seen,
            model_id: "anthropic.claude-sonnet-4-5-20250929-v1:0",
            regions: &regions,
            expect: Expect::Present,
            applied: Some(0),
            targeted: 7,
            sampled: true,
        };
        let verified = report(
            &inputs,
            vec![
                (
                    candidate("111111111111", 0, "Pilot"),
                    Ok(vec![
                        answer("us-east-1", "NOT_AVAILABLE", "NOT_AVAILABLE"),
                        answer("eu-west-3", "NOT_AVAILABLE", "NOT_AVAILABLE"),
                    ]),
                ),
                (
                    candidate("222222222222", 1, "Wave"),
                    Ok(vec![
                        answer("us-east-1", "AVAILABLE", "AVAILABLE"),
                        answer("eu-west-3", "AVAILABLE", "AVAILABLE"),
                    ]),
                ),
            ],
        );
        let kinds: Vec<Vec<&str>> = verified
            .accounts
            .iter()
            .map(|account| account.flags.iter().map(Flag::kind).collect())
            .collect();
        assert_eq!(
            kinds,
            [
                vec![
                    "grant_of_ended_license",
                    "expected_entitled",
                    "grant_of_ended_license",
                    "expected_entitled"
                ],
                vec![
                    "entitled_without_active_grant",
                    "expected_not_entitled",
                    "entitled_without_active_grant",
                    "expected_not_entitled"
                ],
            ]
        );
        assert_eq!(
            verified.totals,
            Totals {
                targeted: 7,
                checked: 2,
                agree: 0,
                disagree: 2,
                failed: 0,
                entitled: 1,
                not_entitled: 1,
                flags: BTreeMap::from([
                    ("entitled_without_active_grant", 2),
                    ("expected_entitled", 2),
                    ("expected_not_entitled", 2),
                    ("grant_of_ended_license", 2),
                ]),
            }
        );
        assert!(verified.sampled);
        assert!(!verified.agrees());
        assert_eq!(verified.regions, regions);
    }

    #[test]
    fn a_report_agrees_only_without_disagreement_or_failure() {
        let rollout = plan();
        let seen = observed(vec![]);
        let regions = vec!["us-east-1".to_owned()];
        let inputs = VerifyInputs {
            rollout: &rollout,
            observed: &seen,
            model_id: "m",
            regions: &regions,
            expect: Expect::Absent,
            applied: None,
            targeted: 1,
            sampled: false,
        };
        let quiet = || {
            vec![(
                candidate("111111111111", 0, "Pilot"),
                Ok(vec![answer("us-east-1", "NOT_AVAILABLE", "NOT_AVAILABLE")]),
            )]
        };
        let clean = report(&inputs, quiet());
        assert_eq!(clean.totals.agree, 1);
        assert!(clean.agrees());
        assert_eq!(clean.applied_through, None);
        let mut disagreeing = clean.clone();
        disagreeing.totals.disagree = 1;
        assert!(!disagreeing.agrees());
        let mut failing = clean.clone();
        failing.totals.failed = 1;
        assert!(!failing.agrees());
    }

    #[test]
    fn what_bedrock_must_allow_follows_the_grant_the_answer_and_the_intent() {
        // Not meant, no grant, not entitled: nothing else Bedrock says matters.
        let mut denied = answer("us-east-1", "NOT_AVAILABLE", "NOT_AVAILABLE");
        denied.authorization = BedrockStatus("NOT_AUTHORIZED".to_owned());
        denied.region_availability = BedrockStatus("NOT_AVAILABLE".to_owned());
        let idle = judge(
            candidate("111111111111", 1, "Wave"),
            Intent::NotEntitled,
            None,
            None,
            Ok(vec![denied.clone()]),
        );
        assert_eq!(idle.flags, [], "{:?}", idle.flags);
        // Meant by the intent alone: the refusals are flagged, the agreement is not (no grant, not
        // entitled: the agreement is not what stands in the way).
        let meant = judge(
            candidate("111111111111", 0, "Pilot"),
            Intent::Entitled,
            None,
            None,
            Ok(vec![denied.clone()]),
        );
        let kinds: Vec<&str> = meant.flags.iter().map(Flag::kind).collect();
        assert_eq!(
            kinds,
            [
                "not_authorized",
                "region_not_available",
                "expected_entitled"
            ]
        );
        // Meant by an ACTIVE grant alone (phase not applied): the agreement is flagged too.
        let active = GrantStatus::Active;
        let granted = judge(
            candidate("111111111111", 1, "Wave"),
            Intent::NotEntitled,
            Some(("g-1", &active)),
            None,
            Ok(vec![denied.clone()]),
        );
        let kinds: Vec<&str> = granted.flags.iter().map(Flag::kind).collect();
        assert_eq!(
            kinds,
            [
                "grant_active_not_entitled",
                "agreement_not_available",
                "not_authorized",
                "region_not_available"
            ]
        );
        assert_eq!(granted.grant_arn.as_deref(), Some("g-1"));
        // A grant not ACTIVE is no grant in force.
        let pending = GrantStatus::PendingAccept;
        let waiting = judge(
            candidate("111111111111", 1, "Wave"),
            Intent::NotEntitled,
            Some(("g-1", &pending)),
            None,
            Ok(vec![denied]),
        );
        assert_eq!(waiting.flags, [], "{:?}", waiting.flags);
        assert_eq!(waiting.grant_status, Some(GrantStatus::PendingAccept));
        // Entitled under an ended license with an ACTIVE grant: no ended-license flag (the
        // account is entitled), but the agreement is still judged.
        let lingering = judge(
            candidate("111111111111", 0, "Pilot"),
            Intent::Entitled,
            Some(("g-1", &active)),
            Some("EXPIRED"),
            Ok(vec![answer("us-east-1", "AVAILABLE", "PENDING")]),
        );
        let kinds: Vec<&str> = lingering.flags.iter().map(Flag::kind).collect();
        assert_eq!(kinds, ["agreement_not_available"]);
        // Entitled in one region and not another: not entitled overall.
        let split = judge(
            candidate("111111111111", 0, "Pilot"),
            Intent::Entitled,
            Some(("g-1", &active)),
            None,
            Ok(vec![
                answer("us-east-1", "AVAILABLE", "AVAILABLE"),
                answer("eu-west-3", "NOT_AVAILABLE", "AVAILABLE"),
            ]),
        );
        assert_eq!(split.entitled, Some(false));
        // No answer at all (no region asked): unknown, not entitled.
        let silent = judge(
            candidate("111111111111", 0, "Pilot"),
            Intent::Entitled,
            None,
            None,
            Ok(vec![]),
        );
        assert_eq!(silent.entitled, None);
        assert_eq!(silent.verdict, Verdict::Agrees);
    }
}
