//! Doctor's checks of what access to a model needs beyond grants: the Anthropic use-case form
//! at the management account (every member inherits it), the service-linked roles License
//! Manager and AWS Marketplace license management work through, and with a member role, that it
//! can be assumed in a few accounts spread over the organisation's OUs. Doctor makes them; the
//! prechecks of `apply`, `activate` and `cleanup` do not.

use std::collections::BTreeMap;

use super::{check, list, read_failed, skipped};
use crate::model::doctor::{Check, MemberRoleProbe, PrerequisiteFacts, Verdict};
use crate::model::{AccountId, AccountState, OrgTree, Organization};

const USE_CASE: &str = "Anthropic use-case form";
/// Check id of the use-case form.
pub const USE_CASE_ID: &str = "use-case-form";
const MEMBER_ROLE: &str = "member role can be assumed";
/// Check id of the member role.
pub const MEMBER_ROLE_ID: &str = "member-role";

/// How many member accounts doctor tries the member role in.
pub const MEMBER_ROLE_SAMPLE: usize = 3;

/// Whether the rollout's model needs the Anthropic use-case form, as far as doctor knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormNeed {
    /// No plan (or its product is unknown): the form matters for any Anthropic model.
    Unknown,
    /// The plan's product sells Anthropic models (its name).
    Anthropic(String),
    /// The plan's product sells no Anthropic model (its product id or name).
    NotAnthropic(String),
}

/// Whether a product's models need the form: the catalog's model ids start with `anthropic.`.
pub fn form_need(product: Option<&str>) -> FormNeed {
    let Some(product) = product else {
        return FormNeed::Unknown;
    };
    match crate::model::bedrock::bedrock_product(product) {
        Some(entry)
            if entry
                .model_ids
                .iter()
                .any(|id| id.starts_with("anthropic.")) =>
        {
            FormNeed::Anthropic(entry.name.to_owned())
        }
        Some(entry) => FormNeed::NotAnthropic(entry.name.to_owned()),
        // A product the catalog does not know: nothing says it is Anthropic's.
        None => FormNeed::Unknown,
    }
}

/// The ids of this module's checks that apply without a member role, for skipping them.
pub(super) fn skip_all(checks: &mut Vec<Check>, because: &str, member_role: bool) {
    checks.push(skipped(USE_CASE_ID, USE_CASE, because));
    for (id, title, _, _) in role_checks() {
        checks.push(skipped(id, title, because));
    }
    if member_role {
        checks.push(skipped(MEMBER_ROLE_ID, MEMBER_ROLE, because));
    }
}

/// The service-linked role checks: (id, title, role, what breaks without it).
fn role_checks() -> [(&'static str, &'static str, &'static str, &'static str); 2] {
    let [(license_manager, _), (marketplace, _)] = crate::model::doctor::SERVICE_LINKED_ROLES;
    [
        (
            "service-linked-role-license-manager",
            "License Manager's service-linked role",
            license_manager,
            "License Manager acts on licenses and grants through it",
        ),
        (
            "service-linked-role-marketplace",
            "AWS Marketplace's license-management service-linked role",
            marketplace,
            "AWS Marketplace creates and manages the licenses of your subscriptions in License Manager, and \
             shares them with the organisation's accounts, through it",
        ),
    ]
}

/// Pushes the use-case form, service-linked role and member role checks.
pub(super) fn checks(
    facts: &PrerequisiteFacts,
    organization: Option<&Organization>,
    need: &FormNeed,
    checks: &mut Vec<Check>,
) {
    let caller = match &facts.caller {
        Some(Ok(caller)) => caller.account.as_str(),
        _ => "",
    };
    checks.push(use_case_check(facts, organization, caller, need));
    match organization {
        Some(organization) if organization.management_account.as_str() != caller => {
            let management = &organization.management_account;
            for (id, title, _, _) in role_checks() {
                checks.push(skipped(
                    id,
                    title,
                    &format!(
                        "the roles that count are the management account's (`{management}`), and the caller is                          `{caller}`: run doctor there to check them"
                    ),
                ));
            }
        }
        _ => role_checks_push(facts, checks),
    }
    if let Some(probe) = &facts.member_role {
        checks.push(member_role_check(probe, organization));
    }
}

fn use_case_check(
    facts: &PrerequisiteFacts,
    organization: Option<&Organization>,
    caller: &str,
    need: &FormNeed,
) -> Check {
    if let Some(organization) = organization {
        let management = organization.management_account.as_str();
        if management != caller {
            return skipped(
                USE_CASE_ID,
                USE_CASE,
                &format!(
                    "the form that counts is the management account's (`{management}`; every member inherits it), \
                     and the caller is `{caller}`: run doctor there to check it"
                ),
            );
        }
    }
    let fix = "fill in the form (docs/use-case-form.example.json shows every field) and submit it from the \
               management account: `entitle use-case submit --form FILE` (or the Bedrock console > Model access)"
        .to_owned();
    match (&facts.use_case_form, need) {
        (Some(Ok(true)), _) => check(
            USE_CASE_ID,
            USE_CASE,
            Verdict::Pass,
            format!(
                "a use-case form is on file at `{caller}`; every account of the organisation inherits it"
            ),
            None,
        ),
        (Some(Ok(false)), FormNeed::NotAnthropic(name)) => check(
            USE_CASE_ID,
            USE_CASE,
            Verdict::Pass,
            format!(
                "none on file at `{caller}`, and `{name}` is not an Anthropic model, which alone need it"
            ),
            None,
        ),
        (Some(Ok(false)), FormNeed::Anthropic(name)) => check(
            USE_CASE_ID,
            USE_CASE,
            Verdict::Fail,
            format!(
                "no use-case form is on file at `{caller}`: Bedrock refuses `{name}` (an Anthropic model) in every \
                 account until one is submitted"
            ),
            Some(fix),
        ),
        (Some(Ok(false)), FormNeed::Unknown) => check(
            USE_CASE_ID,
            USE_CASE,
            Verdict::Warn,
            format!(
                "no use-case form is on file at `{caller}`: Bedrock refuses Anthropic models in every account until \
                 one is submitted (doctor with a plan of an Anthropic model fails on it)"
            ),
            Some(fix),
        ),
        (Some(Err(failure)), _) => read_failed(USE_CASE_ID, USE_CASE, failure),
        (None, _) => skipped(USE_CASE_ID, USE_CASE, "not read"),
    }
}

fn role_checks_push(facts: &PrerequisiteFacts, checks: &mut Vec<Check>) {
    for (id, title, role, why) in role_checks() {
        let read = facts
            .service_linked_roles
            .iter()
            .find(|read| read.role == role);
        checks.push(match read {
            None => skipped(id, title, "not read"),
            Some(read) => match &read.found {
                Ok(true) => check(
                    id,
                    title,
                    Verdict::Pass,
                    format!("`{role}` exists in `{}`", read.account),
                    None,
                ),
                Ok(false) => check(
                    id,
                    title,
                    Verdict::Fail,
                    format!("`{role}` does not exist in `{}`: {why}", read.account),
                    Some(format!(
                        "`aws iam create-service-linked-role --aws-service-name {}` in `{}` (the service's console \
                         creates it too)",
                        read.service, read.account
                    )),
                ),
                Err(failure) => read_failed(id, title, failure),
            },
        });
    }
}

fn member_role_check(probe: &MemberRoleProbe, organization: Option<&Organization>) -> Check {
    let role = &probe.role;
    let Some(eligible) = probe.eligible else {
        return skipped(
            MEMBER_ROLE_ID,
            MEMBER_ROLE,
            "the organisation's accounts could not be read",
        );
    };
    if probe.tried.is_empty() {
        return skipped(
            MEMBER_ROLE_ID,
            MEMBER_ROLE,
            "the organisation has no ACTIVE member account to try it in",
        );
    }
    let tried = probe.tried.len();
    let sample = format!(
        "{tried} sampled account{} of {eligible} ACTIVE member account{}",
        if tried == 1 { "" } else { "s" },
        if eligible == 1 { "" } else { "s" }
    );
    let failed: Vec<String> = probe
        .tried
        .iter()
        .filter_map(|attempt| {
            let failure = attempt.assumed.as_ref().err()?;
            Some(format!(
                "`{}` ({}): {}",
                attempt.account, attempt.path, failure.message
            ))
        })
        .collect();
    if failed.is_empty() {
        return check(
            MEMBER_ROLE_ID,
            MEMBER_ROLE,
            Verdict::Pass,
            format!(
                "`{role}` was assumed in {sample}: {}",
                list(probe.tried.iter().map(|attempt| &attempt.account))
            ),
            None,
        );
    }
    let management = organization
        .map(|organization| format!("`{}`", organization.management_account))
        .unwrap_or_else(|| "the management account".to_owned());
    check(
        MEMBER_ROLE_ID,
        MEMBER_ROLE,
        Verdict::Fail,
        format!(
            "`{role}` could not be assumed in {} of {sample}: {}",
            failed.len(),
            failed.join("; ")
        ),
        Some(format!(
            "create `{role}` in every member account with a trust policy that lets {management} assume it \
             (docs/iam-policy.md; `entitle iam-policy --for member` prints its permissions), allow `sts:AssumeRole` \
             on it to the identity in use, or name the role that exists with `--member-role NAME`"
        )),
    )
}

/// Up to `size` ACTIVE member accounts spread over the organisation: one from each OU in turn
/// (OUs in path order, accounts in id order), so a sample of a few touches as many OUs as it
/// can. Returns how many accounts were eligible, and the sample with each account's OU path
/// (`(root)` for accounts directly under the root).
pub fn sample_member_accounts(tree: &OrgTree, size: usize) -> (usize, Vec<(AccountId, String)>) {
    let mut by_path: BTreeMap<&str, Vec<&AccountId>> = BTreeMap::new();
    for account in tree.accounts() {
        if account.state == AccountState::Active && !tree.is_management(&account.id) {
            by_path
                .entry(tree.parent_path(&account.parent))
                .or_default()
                .push(&account.id);
        }
    }
    let eligible = by_path.values().map(Vec::len).sum();
    for accounts in by_path.values_mut() {
        accounts.sort();
    }
    let mut sample = Vec::new();
    let mut round = 0;
    while sample.len() < size.min(eligible) {
        for (path, accounts) in &by_path {
            if sample.len() == size {
                break;
            }
            if let Some(account) = accounts.get(round) {
                let path = if path.is_empty() { "(root)" } else { path };
                sample.push(((*account).clone(), path.to_owned()));
            }
        }
        round += 1;
    }
    (eligible, sample)
}

#[cfg(test)]
mod tests {
    use super::super::diagnose;
    use super::super::fixtures::healthy;
    use super::*;
    use crate::model::doctor::{MemberRoleAttempt, ReadFailure, ServiceLinkedRoleRead};

    fn with_access(form: bool) -> PrerequisiteFacts {
        let mut facts = healthy();
        facts.use_case_form = Some(Ok(form));
        facts.service_linked_roles = crate::model::doctor::SERVICE_LINKED_ROLES
            .iter()
            .map(|(role, service)| ServiceLinkedRoleRead {
                role: (*role).to_owned(),
                service: (*service).to_owned(),
                account: "100000000001".into(),
                found: Ok(true),
            })
            .collect();
        facts
    }

    fn verdict(facts: &PrerequisiteFacts, need: &FormNeed, id: &str) -> Verdict {
        let mut checks = Vec::new();
        let organization = match &facts.organization {
            Some(Ok(organization)) => Some(organization),
            _ => None,
        };
        super::checks(facts, organization, need, &mut checks);
        checks
            .iter()
            .find(|check| check.id == id)
            .unwrap_or_else(|| panic!("no {id} in {checks:?}"))
            .verdict
    }

    #[test]
    fn the_form_fails_only_for_an_anthropic_plan() {
        let sonnet = form_need(Some("prod-mxcfnwvpd6kb4"));
        assert_eq!(sonnet, FormNeed::Anthropic("Claude Sonnet 4.5".into()));
        assert_eq!(form_need(None), FormNeed::Unknown);
        assert_eq!(form_need(Some("prod-unknown")), FormNeed::Unknown);
        let missing = with_access(false);
        assert_eq!(verdict(&missing, &sonnet, USE_CASE_ID), Verdict::Fail);
        assert_eq!(
            verdict(&missing, &FormNeed::Unknown, USE_CASE_ID),
            Verdict::Warn
        );
        assert_eq!(
            verdict(
                &missing,
                &FormNeed::NotAnthropic("Titan".into()),
                USE_CASE_ID
            ),
            Verdict::Pass
        );
        assert_eq!(
            verdict(&with_access(true), &sonnet, USE_CASE_ID),
            Verdict::Pass
        );
        let mut checks = Vec::new();
        let organization = match &missing.organization {
            Some(Ok(organization)) => Some(organization),
            _ => None,
        };
        super::checks(&missing, organization, &sonnet, &mut checks);
        let fix = checks[0].fix.as_deref().unwrap();
        assert!(
            fix.contains("`entitle use-case submit --form FILE`"),
            "{fix}"
        );
    }

    #[test]
    fn the_form_is_not_judged_from_a_delegated_administrator() {
        let mut facts = with_access(false);
        if let Some(Ok(caller)) = &mut facts.caller {
            caller.account = "100000000002".into();
        }
        let sonnet = form_need(Some("prod-mxcfnwvpd6kb4"));
        assert_eq!(verdict(&facts, &sonnet, USE_CASE_ID), Verdict::Skip);
        assert_eq!(
            verdict(&facts, &sonnet, "service-linked-role-marketplace"),
            Verdict::Skip
        );
    }

    #[test]
    fn a_missing_service_linked_role_fails_with_the_command_that_creates_it() {
        let mut facts = with_access(true);
        facts.service_linked_roles[1].found = Ok(false);
        let report = diagnose(&facts, None);
        let found = report.check("service-linked-role-marketplace").unwrap();
        assert_eq!(found.verdict, Verdict::Fail);
        assert!(
            found
                .detail
                .contains("`AWSServiceRoleForMarketplaceLicenseManagement` does not exist")
        );
        assert!(found.fix.as_deref().unwrap().contains(
            "`aws iam create-service-linked-role --aws-service-name license-management.marketplace.amazonaws.com`"
        ));
        assert_eq!(
            report
                .check("service-linked-role-license-manager")
                .unwrap()
                .verdict,
            Verdict::Pass
        );
    }

    fn attempt(account: &str, assumed: bool) -> MemberRoleAttempt {
        MemberRoleAttempt {
            account: AccountId::parse(account).unwrap(),
            path: "/Workloads".into(),
            assumed: if assumed {
                Ok(())
            } else {
                Err(ReadFailure {
                    action: "sts:AssumeRole".into(),
                    code: Some("AccessDenied".into()),
                    message: "not authorized to perform sts:AssumeRole".into(),
                    access_denied: true,
                    hint: None,
                })
            },
        }
    }

    #[test]
    fn the_member_role_names_each_account_it_failed_in_and_the_sample() {
        let mut facts = with_access(true);
        facts.member_role = Some(MemberRoleProbe {
            role: "OrganizationAccountAccessRole".into(),
            eligible: Some(7),
            tried: vec![
                attempt("200000000001", true),
                attempt("200000000002", false),
            ],
        });
        let report = diagnose(&facts, None);
        let found = report.check(MEMBER_ROLE_ID).unwrap();
        assert_eq!(found.verdict, Verdict::Fail);
        assert!(
            found.detail.starts_with(
                "`OrganizationAccountAccessRole` could not be assumed in 1 of 2 sampled accounts of 7 ACTIVE member accounts: `200000000002` (/Workloads)"
            ),
            "{}",
            found.detail
        );
        facts.member_role = Some(MemberRoleProbe {
            role: "OrganizationAccountAccessRole".into(),
            eligible: Some(7),
            tried: vec![attempt("200000000001", true)],
        });
        assert_eq!(
            diagnose(&facts, None)
                .check(MEMBER_ROLE_ID)
                .unwrap()
                .verdict,
            Verdict::Pass
        );
        facts.member_role = None;
        assert!(diagnose(&facts, None).check(MEMBER_ROLE_ID).is_none());
    }

    fn tree() -> OrgTree {
        use crate::model::fixtures::{account, tree_of, unit};
        let suspended = crate::model::Account {
            state: AccountState::Suspended,
            ..account("222222222221", "ou-ab12-bbbbbbbb")
        };
        tree_of(
            [
                unit("ou-ab12-aaaaaaaa", "Workloads", "r-ab12"),
                unit("ou-ab12-bbbbbbbb", "Sandbox", "r-ab12"),
            ],
            [
                account("100000000001", "r-ab12"),
                account("111111111111", "ou-ab12-aaaaaaaa"),
                account("111111111112", "ou-ab12-aaaaaaaa"),
                account("111111111113", "ou-ab12-aaaaaaaa"),
                suspended,
                account("222222222222", "ou-ab12-bbbbbbbb"),
            ],
        )
    }

    #[test]
    fn the_sample_spreads_over_the_ous_and_skips_the_management_and_inactive_accounts() {
        let (eligible, sample) = sample_member_accounts(&tree(), 3);
        assert_eq!(eligible, 4);
        let accounts: Vec<(&str, &str)> = sample
            .iter()
            .map(|(account, path)| (account.as_str(), path.as_str()))
            .collect();
        assert_eq!(
            accounts,
            [
                ("222222222222", "Sandbox"),
                ("111111111111", "Workloads"),
                ("111111111112", "Workloads"),
            ]
        );
        let (eligible, everyone) = sample_member_accounts(&tree(), 10);
        assert_eq!((eligible, everyone.len()), (4, 4));
        assert!(sample_member_accounts(&tree(), 0).1.is_empty());
    }
}
