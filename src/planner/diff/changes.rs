//! The change for each principal: for a principal a phase wants, create its grant, create it
//! again (it died outside entitle), activate it, update its operations, or leave it (each with
//! the reason); for a grant of the rollout no phase wants any more, delete it.

use std::collections::{BTreeMap, BTreeSet};

use super::existing::Existing;
use super::inputs::{Observed, PlanOptions};
use super::output::{Action, Change, GrantState, PhasePlan};
use super::retire::{Retirement, Retirements};
use super::wanted::Wanted;
use crate::model::grant::{
    DistributedGrant, GrantStatus, Operation, Principal, ReceivedGrant, client_token, grant_name,
    ownership_tags,
};
use crate::model::plan::{Activation, OnExistingSubscription};
use crate::model::{AccountId, AccountState, OrgTree, ParentId, RolloutPlan};
use crate::planner::activity::AccountActivity;
use crate::planner::targets::account_label;

/// For people: a principal's name (the account or OU name; `organization o-...` for the
/// organisation) and the OU path it sits in or is (empty at the root).
pub(crate) fn principal_label(tree: &OrgTree, principal: &Principal) -> (String, String) {
    match principal {
        Principal::Organization { id, .. } => (format!("organization {id}"), String::new()),
        Principal::Ou { id, .. } => {
            let name = tree
                .unit(id)
                .map(|unit| unit.label().to_owned())
                .unwrap_or_default();
            (name, tree.path_of(id).unwrap_or_default().to_owned())
        }
        Principal::Account { id, .. } => account_label(tree, id),
    }
}

/// Who a change is for and where it sits in the plan: what every change of one principal shares.
#[derive(Debug, Clone)]
pub(super) struct Subject {
    /// The phase the change belongs to.
    pub(super) phase: String,
    /// Who the grant is for.
    pub(super) principal: Principal,
    /// How many targeted accounts the grant reaches.
    pub(super) accounts: usize,
    /// Whether the phase's gate holds the change back.
    pub(super) blocked: bool,
}

/// Makes the changes of one plan: labels each principal from the tree, and gives each create its
/// client token and ownership tags.
#[derive(Debug, Clone, Copy)]
pub(super) struct ChangeMaker<'a> {
    /// The organisation, for principal names and paths.
    pub(super) tree: &'a OrgTree,
    /// The rollout's name, for client tokens and tags.
    pub(super) rollout: &'a str,
    /// The license's ARN, for client tokens.
    pub(super) license_arn: &'a str,
}

impl ChangeMaker<'_> {
    /// A change of `subject`'s grant from `before` to `after`.
    pub(super) fn change(
        &self,
        subject: &Subject,
        action: Action,
        before: Option<GrantState>,
        after: Option<GrantState>,
        reason: String,
    ) -> Change {
        let principal = &subject.principal;
        let (principal_name, principal_path) = principal_label(self.tree, principal);
        let (client_token, tags) = match (&after, action) {
            (Some(state), Action::Create | Action::Recreate) => (
                Some(client_token(
                    self.rollout,
                    self.license_arn,
                    &principal.arn(),
                    state.generation,
                )),
                ownership_tags(self.rollout, &subject.phase, state.generation),
            ),
            _ => (None, BTreeMap::new()),
        };
        Change {
            phase: subject.phase.clone(),
            principal_arn: principal.arn(),
            principal: principal.clone(),
            principal_name,
            principal_path,
            accounts: subject.accounts,
            action,
            before,
            after,
            reason,
            client_token,
            tags,
            blocked: subject.blocked,
            once_active: None,
        }
    }

    /// Deleting `grant`, one of `subject`'s grants.
    fn delete(&self, subject: &Subject, grant: &DistributedGrant, reason: String) -> Change {
        self.change(
            subject,
            Action::Delete,
            Some(GrantState::observed(grant)),
            None,
            reason,
        )
    }
}

/// What deciding the changes looks at, gathered once per plan by the earlier stages.
pub(super) struct Differ<'a> {
    /// The plan file.
    pub(super) rollout: &'a RolloutPlan,
    /// The organisation.
    pub(super) tree: &'a OrgTree,
    /// What was read from AWS.
    pub(super) observed: &'a Observed,
    /// How to plan.
    pub(super) options: &'a PlanOptions,
    /// The index of the last phase planned.
    pub(super) limit: usize,
    /// The operations every grant allows.
    pub(super) operations: &'a BTreeSet<Operation>,
    /// The license's grants, split by ownership.
    pub(super) existing: &'a Existing<'a>,
    /// Which accounts are active.
    pub(super) activity: &'a AccountActivity,
    /// Each organisation or OU grant's per-account grants, by the parent grant's ARN.
    pub(super) by_parent: &'a BTreeMap<&'a str, Vec<&'a ReceivedGrant>>,
    /// The phases as planned (whether each is blocked).
    pub(super) phases: &'a [PhasePlan],
    /// What `retire_superseded` retires.
    pub(super) retirements: &'a Retirements,
    /// Makes the changes.
    pub(super) maker: ChangeMaker<'a>,
}

impl Differ<'_> {
    /// The changes of every wanted principal of the phases up to the limit.
    pub(super) fn wanted_changes(&self, wanted: &BTreeMap<String, Wanted>) -> Vec<Change> {
        wanted
            .iter()
            .filter(|(_, want)| want.phase <= self.limit)
            .flat_map(|(arn, want)| self.changes_for(arn, want))
            .collect()
    }

    /// The changes of one wanted principal: one for its grant (none when it is superseded and
    /// already gone), and a delete for every further live grant of the rollout it holds.
    fn changes_for(&self, arn: &str, want: &Wanted) -> Vec<Change> {
        let subject = Subject {
            phase: self.rollout.phases[want.phase].name.value.clone(),
            principal: want.grant.principal.clone(),
            accounts: want.grant.accounts.len(),
            blocked: self.phases[want.phase].blocked.is_some(),
        };
        let live = self.existing.live_for(arn);
        if let Some(retirement) = self.retirements.superseded.get(arn) {
            return live
                .map(|grant| self.retire_superseded(&subject, grant, retirement))
                .into_iter()
                .collect();
        }
        let own_note = self.own_subscription_note(&want.grant.accounts);
        match live {
            None => vec![self.create(&subject, arn, &own_note)],
            Some(grant) => {
                let retire_note = self.retirements.pending.get(arn).map(|retirement| {
                    format!(
                        "; retired once the grant to {} of phase `{}` is ACTIVE",
                        retirement.label, self.rollout.phases[retirement.by].name.value
                    )
                });
                let note = format!("{own_note}{}", retire_note.unwrap_or_default());
                let mut changes = vec![self.bring_in_line(&subject, grant, &note)];
                // More than one live owned grant for the same principal: keep one, delete the rest.
                changes.extend(
                    self.existing
                        .owned_for(arn)
                        .into_iter()
                        .filter(|other| !other.status.is_dead() && other.arn != grant.arn)
                        .map(|extra| {
                            self.maker.delete(
                                &subject,
                                extra,
                                format!(
                                    "a second grant of this rollout for the same principal; `{}` is kept",
                                    grant.arn
                                ),
                            )
                        }),
                );
                changes
            }
        }
    }

    /// Deleting a grant a broader grant of a later phase has superseded: in that phase.
    fn retire_superseded(
        &self,
        subject: &Subject,
        grant: &DistributedGrant,
        retirement: &Retirement,
    ) -> Change {
        let by_name = &self.rollout.phases[retirement.by].name.value;
        let subject = Subject {
            phase: by_name.clone(),
            blocked: self.phases[retirement.by].blocked.is_some(),
            ..subject.clone()
        };
        self.maker.delete(
            &subject,
            grant,
            format!(
                "superseded by the ACTIVE grant to {} of phase `{by_name}` (retire_superseded)",
                retirement.label
            ),
        )
    }

    /// Whether AWS refuses to activate a distributed grant in `account`: it keeps its own
    /// subscription of the product (`on_existing_subscription = "keep"`).
    fn refused_here(&self, account: &AccountId) -> bool {
        self.rollout.entitlement.on_existing_subscription == OnExistingSubscription::Keep
            && self.observed.own_subscriptions.contains(account)
    }

    /// Names, whatever the change, the accounts of `accounts` not active yet where AWS refuses
    /// the activation while they keep their own subscription. Empty when there are none.
    fn own_subscription_note(&self, accounts: &BTreeSet<AccountId>) -> String {
        let own: Vec<String> = accounts
            .iter()
            .filter(|account| self.refused_here(account) && !self.activity.is_active(account))
            .map(|account| format!("`{account}`"))
            .collect();
        if own.is_empty() {
            return String::new();
        }
        format!(
            " (note: {} {} {} own subscription of the product: AWS refuses to activate this grant there while `on_existing_subscription = \"keep\"`; `replace` activates it and disables theirs)",
            own.join(", "),
            if own.len() == 1 { "holds" } else { "hold" },
            if own.len() == 1 { "its" } else { "their" }
        )
    }

    /// The grant a create makes for `subject`, as generation `generation`.
    fn created_state(&self, subject: &Subject, generation: u32) -> GrantState {
        GrantState {
            arn: None,
            name: grant_name(
                &self.rollout.name,
                &subject.phase,
                generation,
                self.maker.license_arn,
                &subject.principal.arn(),
            ),
            status: match self.rollout.entitlement.activation {
                Activation::Grantor => GrantStatus::Active,
                Activation::Member => GrantStatus::Disabled,
            },
            version: None,
            operations: self.operations.clone(),
            generation,
        }
    }

    /// The principal has no live grant: create one, or create it again as the next generation
    /// when the last one died outside entitle (deleted, rejected, failed).
    fn create(&self, subject: &Subject, arn: &str, own_note: &str) -> Change {
        let owned = self.existing.owned_for(arn);
        let next_generation = owned
            .iter()
            .map(|grant| grant.generation() + 1)
            .max()
            .unwrap_or(0);
        let after = self.created_state(subject, next_generation);
        let note = format!(
            "{}{own_note}",
            self.existing.unowned_note(arn).unwrap_or_default()
        );
        let dead = owned
            .iter()
            .filter(|grant| grant.status.is_dead())
            .max_by_key(|grant| (grant.generation(), grant.arn.clone()));
        match dead {
            Some(dead) => {
                let because = match dead.status {
                    // The failure's reason is part of `why` already.
                    GrantStatus::FailedWorkflow => String::new(),
                    _ => dead
                        .status_reason
                        .as_ref()
                        .map(|reason| format!(" ({reason})"))
                        .unwrap_or_default(),
                };
                self.maker.change(
                    subject,
                    Action::Recreate,
                    Some(GrantState::observed(dead)),
                    Some(after),
                    format!(
                        "{}{because}: create it again as generation {next_generation}{note}",
                        why_dead(dead)
                    ),
                )
            }
            None => {
                let then = match self.rollout.entitlement.activation {
                    Activation::Grantor => ", then activate it",
                    Activation::Member => "; members activate it",
                };
                self.maker.change(
                    subject,
                    Action::Create,
                    None,
                    Some(after),
                    format!(
                        "phase `{}` targets it and no grant exists: create{then}{note}",
                        subject.phase
                    ),
                )
            }
        }
    }

    /// The principal has a live grant: update its operations where they differ from the plan,
    /// activate it where entitle activates and it is not active yet, or leave it as it is.
    fn bring_in_line(&self, subject: &Subject, grant: &DistributedGrant, note: &str) -> Change {
        let before = GrantState::observed(grant);
        let mut after = before.clone();
        let is_parent = !matches!(subject.principal, Principal::Account { .. });
        let needs_activation = self.needs_activation(grant, is_parent);
        let (action, reason) = if grant.granted_operations != *self.operations {
            after.operations = self.operations.clone();
            if needs_activation {
                after.status = GrantStatus::Active;
            }
            let added = self
                .operations
                .difference(&grant.granted_operations)
                .map(|op| format!("+{op}"));
            let removed = grant
                .granted_operations
                .difference(self.operations)
                .map(|op| format!("-{op}"));
            let delta: Vec<String> = added.chain(removed).collect();
            let also = if needs_activation {
                ", and activate it"
            } else {
                ""
            };
            (
                Action::UpdateOperations,
                format!(
                    "allowed operations differ from the plan ({}){also}{note}",
                    delta.join(" ")
                ),
            )
        } else if needs_activation {
            after.status = GrantStatus::Active;
            let why = self.why_activate(grant, is_parent);
            (Action::Activate, format!("{why}{note}"))
        } else {
            let state = self.why_left(subject, grant, is_parent);
            (Action::NoOp, format!("{state}{note}"))
        };
        self.maker
            .change(subject, action, Some(before), Some(after), reason)
    }

    /// How many of an organisation or OU grant's accounts hold it DISABLED, apart from those
    /// where AWS refuses activation while they keep their own subscription.
    fn disabled_accounts(&self, grant: &DistributedGrant) -> usize {
        self.by_parent
            .get(grant.arn.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|child| child.status == GrantStatus::Disabled)
            .filter(|child| !self.refused_here(&child.account))
            .count()
    }

    /// Whether entitle activates the live grant in this run. Only when entitle activates
    /// (`activation = "grantor"`): a DISABLED or distributing grant; an account grant awaiting
    /// acceptance when a member role can accept it; an organisation or OU grant distributed (or
    /// ACTIVE) while some of its accounts hold it DISABLED.
    fn needs_activation(&self, grant: &DistributedGrant, is_parent: bool) -> bool {
        if self.rollout.entitlement.activation != Activation::Grantor {
            return false;
        }
        match &grant.status {
            GrantStatus::Disabled | GrantStatus::PendingWorkflow => true,
            GrantStatus::PendingAccept => self.options.member_role.is_some() && !is_parent,
            GrantStatus::WorkflowCompleted | GrantStatus::Active if is_parent => {
                self.disabled_accounts(grant) > 0
            }
            GrantStatus::WorkflowCompleted => true,
            _ => false,
        }
    }

    /// Why the live grant is activated, for people.
    fn why_activate(&self, grant: &DistributedGrant, is_parent: bool) -> String {
        match &grant.status {
            GrantStatus::PendingWorkflow => "the grant is being distributed (`PENDING_WORKFLOW`): activate it once it is (apply waits up to `--distribution-wait`; a later run finishes otherwise)".to_owned(),
            GrantStatus::PendingAccept => format!(
                "the account has not accepted the grant (`PENDING_ACCEPT`): accept it as the account through role `{}`, then activate it",
                self.options.member_role.as_deref().unwrap_or_default()
            ),
            status if is_parent && *status != GrantStatus::Disabled => format!(
                "the grant is `{status}` and {} of its accounts hold it `DISABLED`: activate it",
                self.disabled_accounts(grant)
            ),
            status => format!("the grant is `{status}`: activate it"),
        }
    }

    /// What state the live grant is left in, for people.
    fn why_left(&self, subject: &Subject, grant: &DistributedGrant, is_parent: bool) -> String {
        let grantor = self.rollout.entitlement.activation == Activation::Grantor;
        match &grant.status {
            GrantStatus::Active => "active".to_owned(),
            GrantStatus::WorkflowCompleted if is_parent && grantor => {
                "distributed and activated in its accounts".to_owned()
            }
            GrantStatus::PendingWorkflow => {
                "being distributed; members activate it once it is".to_owned()
            }
            GrantStatus::PendingAccept if grantor => format!(
                "waiting for account `{}` to accept it: pass `--member-role NAME` (or set `member_role` in `[entitlement]`) so that entitle accepts it as the account, or grant the account's OU instead (OU and organisation grants need no acceptance)",
                subject.principal.id()
            ),
            GrantStatus::PendingAccept => "waiting for the account to accept it".to_owned(),
            GrantStatus::Disabled | GrantStatus::WorkflowCompleted => {
                "distributed; member accounts activate it (`activation = \"member\"`)".to_owned()
            }
            other => format!("status `{other}`: left as it is"),
        }
    }

    /// Deletes of the rollout's live grants that no phase wants any more (`--destroy`: every one).
    /// A phase-limited run leaves alone what a later (or unknown) phase may own, and an account
    /// grant whose account a phase after the limit still targets (through its organisation or OU
    /// grant): deleting it would take away access the plan gives that account later. A grant
    /// whose principal ARN names no principal kind entitle knows is left alone too.
    pub(super) fn unwanted_deletes(&self, wanted: &BTreeMap<String, Wanted>) -> Vec<Change> {
        let mut changes = Vec::new();
        for (arn, grants) in &self.existing.owned {
            if wanted.contains_key(arn) {
                continue;
            }
            for grant in grants.iter().filter(|grant| !grant.status.is_dead()) {
                let tagged = grant
                    .phase_tag()
                    .and_then(|name| self.rollout.phase_index(name));
                if self.options.phase.is_some() && tagged.is_none_or(|index| index > self.limit) {
                    continue;
                }
                let Some(principal) = Principal::from_arn(arn) else {
                    continue;
                };
                let reached = if self.options.destroy {
                    None
                } else {
                    reached_by(wanted, &principal)
                };
                if reached.is_some_and(|(_, want)| want.phase > self.limit) {
                    continue;
                }
                let accounts = reached_today(self.tree, &principal);
                let mut subject = Subject {
                    phase: grant.phase_tag().unwrap_or("-").to_owned(),
                    principal,
                    accounts,
                    // Taking access away waits for no gate.
                    blocked: !self.options.destroy
                        && tagged.is_some_and(|index| self.phases[index].blocked.is_some()),
                };
                let mut once_active = None;
                let why = if self.options.destroy {
                    "`--destroy` tears the rollout down".to_owned()
                } else if let Some((broad_arn, want)) = reached {
                    let (label, _) = principal_label(self.tree, &want.grant.principal);
                    let name = &self.rollout.phases[want.phase].name.value;
                    let active = self
                        .existing
                        .live_for(broad_arn)
                        .is_some_and(|broad| broad.status == GrantStatus::Active);
                    if active {
                        format!(
                            "phase `{name}` reaches this account through its ACTIVE grant to {label}, so the account's own grant is no longer needed"
                        )
                    } else {
                        // The account keeps its access until the broader grant has it: the
                        // delete belongs to that grant's phase and waits for its activation.
                        subject.phase.clone_from(name);
                        subject.blocked = self.phases[want.phase].blocked.is_some();
                        once_active = Some(broad_arn.clone());
                        format!(
                            "phase `{name}` reaches this account through its grant to {label}, so the account's own grant goes once that grant is activated"
                        )
                    }
                } else {
                    self.why_unwanted(&subject.principal)
                };
                let mut change =
                    self.maker
                        .delete(&subject, grant, format!("{why}: delete the grant"));
                change.once_active = once_active;
                changes.push(change);
            }
        }
        changes
    }

    /// Why no phase wants the principal any more, for people.
    fn why_unwanted(&self, principal: &Principal) -> String {
        let tree = self.tree;
        match principal {
            Principal::Account { id, .. } => match tree.account(id) {
                None => format!("account `{id}` is no longer in the organisation"),
                Some(account) if tree.is_management(id) => {
                    format!("`{}` is the management account", account.id)
                }
                Some(account) if account.state != AccountState::Active => {
                    format!("account `{id}` is `{}`", account.state)
                }
                Some(_) => "no phase of the plan targets this account any more".to_owned(),
            },
            Principal::Ou { id, .. } if tree.unit(id).is_none() => {
                "the OU is no longer in the organisation".to_owned()
            }
            _ => "no phase of the plan grants to this principal any more".to_owned(),
        }
    }
}

/// The wanted organisation or OU grant of the earliest phase that reaches `principal`, an
/// account, as one of that phase's targeted accounts.
fn reached_by<'w>(
    wanted: &'w BTreeMap<String, Wanted>,
    principal: &Principal,
) -> Option<(&'w String, &'w Wanted)> {
    let Principal::Account { id, .. } = principal else {
        return None;
    };
    wanted
        .iter()
        .filter(|(_, want)| {
            !matches!(want.grant.principal, Principal::Account { .. })
                && want.grant.accounts.contains(id)
        })
        .min_by_key(|(arn, want)| (want.phase, *arn))
}

/// Why a dead grant of the rollout is created again, for people.
fn why_dead(dead: &DistributedGrant) -> String {
    match dead.status {
        GrantStatus::Deleted => format!("grant `{}` was deleted outside entitle", dead.arn),
        GrantStatus::PendingDelete => {
            format!("grant `{}` is being deleted outside entitle", dead.arn)
        }
        GrantStatus::Rejected => format!("the grantee rejected grant `{}`", dead.arn),
        _ => format!(
            "distribution of grant `{}` failed{}; apply checks the prerequisites it needs (all features, License Manager linked, trusted access) before creating anything, so it is made again only where they now hold",
            dead.arn,
            dead.status_reason
                .as_ref()
                .map(|reason| format!(" ({reason})"))
                .unwrap_or_default()
        ),
    }
}

/// How many ACTIVE member accounts a grant to `principal` reaches in the organisation today:
/// the accounts a delete takes access from.
fn reached_today(tree: &OrgTree, principal: &Principal) -> usize {
    let usable = |account: &crate::model::Account| {
        account.state == AccountState::Active && !tree.is_management(&account.id)
    };
    match principal {
        Principal::Organization { .. } => tree.accounts().filter(|account| usable(account)).count(),
        Principal::Ou { id, .. } => tree
            .accounts_under(&ParentId::Ou(id.clone()))
            .into_iter()
            .filter(|account| usable(account))
            .count(),
        Principal::Account { id, .. } => usize::from(tree.account(id).is_some_and(usable)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{LICENSE, grant, tree};
    use super::*;

    #[test]
    fn only_creates_carry_a_client_token_and_tags() {
        let tree = tree();
        let maker = ChangeMaker {
            tree: &tree,
            rollout: "r",
            license_arn: LICENSE,
        };
        let subject = Subject {
            phase: "pilot".to_owned(),
            principal: Principal::from_arn("arn:aws:iam::111111111111:root")
                .expect("an account principal"),
            accounts: 1,
            blocked: false,
        };
        let existing = grant(
            1,
            "pilot",
            "arn:aws:iam::111111111111:root",
            GrantStatus::Active,
        );
        let mut after = GrantState::observed(&existing);
        after.generation = 3;
        let create = maker.change(
            &subject,
            Action::Create,
            None,
            Some(after.clone()),
            String::new(),
        );
        assert_eq!(
            create.client_token,
            Some(client_token(
                "r",
                LICENSE,
                "arn:aws:iam::111111111111:root",
                3
            ))
        );
        assert_eq!(create.tags, ownership_tags("r", "pilot", 3));
        assert_eq!(create.principal_name, "acct-111111111111");
        assert_eq!(create.principal_path, "Workloads");
        let activate = maker.change(
            &subject,
            Action::Activate,
            Some(GrantState::observed(&existing)),
            Some(after),
            String::new(),
        );
        assert_eq!(activate.client_token, None);
        assert!(activate.tags.is_empty());
        let delete = maker.delete(&subject, &existing, String::new());
        assert_eq!(delete.action, Action::Delete);
        assert_eq!(delete.after, None);
        assert_eq!(delete.client_token, None);
    }

    #[test]
    fn a_delete_counts_the_active_member_accounts_its_grant_reaches_today() {
        let tree = tree();
        let principal = |arn: &str| Principal::from_arn(arn).expect("a principal");
        let organisation = principal(&tree.organization().arn);
        // Three members; the management account holds the license and is not counted.
        assert_eq!(reached_today(&tree, &organisation), 3);
        let workloads = Principal::Ou {
            id: crate::model::OuId::parse(super::super::fixtures::WORKLOADS).unwrap(),
            arn: "arn:aws:organizations::100000000001:ou/o-test123456/ou-ab12-aaaaaaaa".into(),
        };
        assert_eq!(reached_today(&tree, &workloads), 2);
        assert_eq!(
            reached_today(&tree, &principal("arn:aws:iam::111111111111:root")),
            1
        );
        assert_eq!(
            reached_today(&tree, &principal("arn:aws:iam::999999999999:root")),
            0
        );
    }
}
