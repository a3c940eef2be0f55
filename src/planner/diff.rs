//! The diff: what must change so that the grants of the license match the rollout plan, with a
//! closed set of actions and a reason for every change.
//!
//! The inputs are values (the plan, the tree, the observed grants, the gate facts, `now`); the
//! output is a [`Plan`]. Nothing here calls AWS, reads a clock or prints.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::cover::{CoverGrant, cover};
use super::targets::{
    ResolvedPhase, SkippedAccount, account_label, ancestors_of_account, resolve_targets,
};
use crate::model::grant::{
    ActivationOverride, DistributedGrant, GrantStatus, LicenseInfo, LicenseStatus, Operation,
    Principal, ReceivedGrant, account_of_principal_arn, client_token, grant_name, ownership_tags,
};
use crate::model::plan::{
    Activation, Diagnostic, Gate, OnExistingSubscription, PlanFileErrors, format_duration, nearest,
};
use crate::model::{OrgTree, RolloutPlan};

/// License Manager's documented limit of grants per license.
pub const MAX_GRANTS_PER_LICENSE: usize = 2_000;

/// Seconds since the Unix epoch (UTC). The caller reads the clock; the planner only compares.
pub type UnixSeconds = i64;

/// What was read from AWS for this plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// The license the entitlement resolved to.
    pub license: LicenseInfo,
    /// Every distributed grant of that license, owned by the rollout or not.
    pub grants: Vec<DistributedGrant>,
    /// The per-account received grants of that license (ListReceivedGrantsForOrganization).
    pub received: Vec<ReceivedGrant>,
    /// Accounts of the organisation that hold their own subscription of the license's product
    /// (ListReceivedLicensesForOrganization): AWS refuses to activate a distributed grant there
    /// while `on_existing_subscription = "keep"`. Empty when it could not be read.
    #[serde(default)]
    pub own_subscriptions: BTreeSet<crate::model::AccountId>,
}

/// Facts the gates are judged on that only the caller knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateFacts {
    /// When each phase (by name) was first seen with its `min_active` share reached; the bake
    /// time counts from there. Recorded by `status`/`apply` in the journal.
    pub fully_active_since: BTreeMap<String, UnixSeconds>,
}

/// How to plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// `--phase NAME`: plan the phases up to and including this one.
    pub phase: Option<String>,
    /// The current time, for bake gates.
    pub now: UnixSeconds,
    /// Gate facts.
    pub gate_facts: GateFacts,
    /// `--destroy`: no phase wants anything; every live grant the rollout owns is deleted, later
    /// phases first.
    pub destroy: bool,
    /// The member role (`--member-role`, or `member_role` in the plan): when known, account
    /// grants waiting in PENDING_ACCEPT are accepted as the account and activated.
    pub member_role: Option<String>,
    /// Gates let through although they do not hold (`--ignore-gate PHASE`, `--ignore-gates`).
    pub ignore_gates: IgnoreGates,
}

/// Which phases' gates a run lets through although they do not hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreGates {
    /// None: every gate holds the phases after it back until it holds.
    #[default]
    None,
    /// The gates of these phases (`--ignore-gate PHASE`, repeatable).
    Phases(BTreeSet<String>),
    /// Every gate (`--ignore-gates`).
    All,
}

impl IgnoreGates {
    /// Whether the gate of `phase` (which holds the next phase back) is let through.
    pub fn covers(&self, phase: &str) -> bool {
        match self {
            Self::None => false,
            Self::Phases(phases) => phases.contains(phase),
            Self::All => true,
        }
    }
}

/// What a change does. Closed: the apply step handles exactly these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// CreateGrant (with the change's client token and tags), then activate it when entitle
    /// activates (`activation = "grantor"`).
    Create,
    /// CreateGrantVersion Status=ACTIVE on an existing grant.
    Activate,
    /// CreateGrantVersion with new AllowedOperations (and Status=ACTIVE when it is not yet).
    UpdateOperations,
    /// The grant was deleted, rejected or failed outside entitle: create it anew with the next
    /// generation (deleting the dead one first when it still exists).
    Recreate,
    /// DeleteGrant with the grant's current version.
    Delete,
    /// Nothing to do; the reason says what state it is in.
    NoOp,
}

impl Action {
    /// Terraform's symbol for it.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Create => "+",
            Self::Activate | Self::UpdateOperations => "~",
            Self::Recreate => "-/+",
            Self::Delete => "-",
            Self::NoOp => " ",
        }
    }
}

/// A grant as it is, or as it will be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantState {
    /// The grant ARN (absent before creation).
    pub arn: Option<String>,
    /// The grant name.
    pub name: String,
    /// Its status (for `after`: what the change aims for).
    pub status: GrantStatus,
    /// Its version (absent before creation).
    pub version: Option<String>,
    /// The operations it allows.
    pub operations: BTreeSet<Operation>,
    /// Its generation (see [`crate::model::grant::TAG_GENERATION`]).
    pub generation: u32,
}

impl GrantState {
    pub(crate) fn observed(grant: &DistributedGrant) -> Self {
        Self {
            arn: Some(grant.arn.clone()),
            name: grant.name.clone(),
            status: grant.status.clone(),
            version: Some(grant.version.clone()),
            operations: grant.granted_operations.clone(),
            generation: grant.generation(),
        }
    }
}

/// One change of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The phase it belongs to (for deletions of grants no phase wants: the phase in the
    /// grant's tag, or `-`).
    pub phase: String,
    /// Who the grant is for.
    pub principal: Principal,
    /// The principal's ARN.
    pub principal_arn: String,
    /// For people: the account or OU name (the organisation id for the organisation).
    pub principal_name: String,
    /// For people: the OU path the principal sits in or is (empty at the root).
    pub principal_path: String,
    /// How many targeted accounts the grant reaches now.
    pub accounts: usize,
    /// What to do.
    pub action: Action,
    /// The grant as it is (absent for a create).
    pub before: Option<GrantState>,
    /// The grant as it will be (absent for a delete).
    pub after: Option<GrantState>,
    /// Why, for people.
    pub reason: String,
    /// The ClientToken of CreateGrant (create and recreate only).
    pub client_token: Option<String>,
    /// The tags CreateGrant puts on the grant (create and recreate only).
    pub tags: BTreeMap<String, String>,
    /// Whether the phase's gate blocks this change (see [`PhasePlan::blocked`]).
    pub blocked: bool,
    /// For a grant retired by `retire_superseded` in the same run that activates the broader
    /// grant: that grant's principal ARN. The delete happens only once that activation is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub once_active: Option<String>,
}

/// A phase as planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhasePlan {
    /// The phase name.
    pub name: String,
    /// Whether the phase is within `--phase` (phases after it are listed, not planned).
    pub included: bool,
    /// Why its changes may not be applied yet (its predecessor's gate), if so.
    pub blocked: Option<String>,
    /// How many accounts it targets.
    pub targeted: usize,
    /// How many of them have an ACTIVE grant of this rollout now.
    pub active: usize,
    /// Selected accounts that are not granted, and why.
    pub skipped: Vec<SkippedAccount>,
    /// Its gate, which the next phase waits for.
    pub gate: Option<Gate>,
    /// Why its predecessor's gate does not hold, when `--ignore-gate`/`--ignore-gates` let this
    /// phase through anyway (the journal records it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_ignored: Option<String>,
}

/// A grant of the license that the rollout does not own: shown, never touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnownedGrant {
    /// Grant ARN.
    pub arn: String,
    /// Grant name.
    pub name: String,
    /// Principal ARN.
    pub principal_arn: String,
    /// Status.
    pub status: GrantStatus,
    /// The rollout that owns it, when another entitle rollout does.
    pub owner: Option<String>,
}

/// Counts of a plan (blocked changes are counted apart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Creates and recreates.
    pub create: usize,
    /// Activations.
    pub activate: usize,
    /// Operation updates.
    pub update: usize,
    /// Deletions.
    pub delete: usize,
    /// Of `create`, how many replace a dead grant.
    pub recreate: usize,
    /// Grants left as they are.
    pub unchanged: usize,
    /// Changes held back by gates.
    pub blocked: usize,
}

impl Summary {
    /// Counts `changes` (blocked ones apart).
    pub fn of(changes: &[Change]) -> Self {
        let mut summary = Summary::default();
        for change in changes {
            if change.blocked && change.action != Action::NoOp {
                summary.blocked += 1;
                continue;
            }
            match change.action {
                Action::Create => summary.create += 1,
                Action::Recreate => {
                    summary.create += 1;
                    summary.recreate += 1;
                }
                Action::Activate => summary.activate += 1,
                Action::UpdateOperations => summary.update += 1,
                Action::Delete => summary.delete += 1,
                Action::NoOp => summary.unchanged += 1,
            }
        }
        summary
    }
}

/// The plan: every change, in phase order, and what was seen on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The rollout's name.
    pub rollout: String,
    /// The license distributed.
    pub license_arn: String,
    /// Its product (`prod-...`).
    pub product_sku: String,
    /// Its product name.
    pub product_name: String,
    /// `--phase`, when given.
    pub phase_limit: Option<String>,
    /// The operations every grant allows.
    pub operations: BTreeSet<Operation>,
    /// Who activates.
    pub activation: Activation,
    /// `Options.ActivationOverrideBehavior` for every activation.
    pub activation_override: ActivationOverride,
    /// The phases, in order.
    pub phases: Vec<PhasePlan>,
    /// The changes, by phase, then principal kind (organisation, OU, account) and id.
    pub changes: Vec<Change>,
    /// Grants of the license the rollout does not own.
    pub unowned: Vec<UnownedGrant>,
    /// Counts.
    pub summary: Summary,
    /// Whether this plan tears the rollout down (`--destroy`): the executor deletes in reverse
    /// phase order. Written to JSON only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroy: bool,
}

impl Plan {
    /// Whether applying the plan would change anything now (blocked changes do not count).
    pub fn has_changes(&self) -> bool {
        self.changes
            .iter()
            .any(|change| change.action != Action::NoOp && !change.blocked)
    }
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The plan file does not fit the organisation or the license (each problem located).
    #[error("{0}")]
    PlanFile(#[from] PlanFileErrors),
    /// `--phase` names no phase of the plan.
    #[error("the plan has no phase `{name}`")]
    UnknownPhase {
        /// The name given.
        name: String,
        /// The nearest phase name.
        suggestion: Option<String>,
    },
    /// The license cannot be distributed (the agreement was cancelled, or it expired).
    #[error("license `{arn}` is `{status}`, not AVAILABLE: its grants cannot be used")]
    LicenseNotAvailable {
        /// The license ARN.
        arn: String,
        /// Its status.
        status: LicenseStatus,
    },
}

impl PlanError {
    /// What a person can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::PlanFile(_) => None,
            Self::UnknownPhase { suggestion, .. } => suggestion
                .as_ref()
                .map(|name| format!("did you mean `{name}`?")),
            Self::LicenseNotAvailable { arn, .. } => Some(format!(
                "a cancelled or expired agreement leaves its grants behind: `entitle cleanup --license {arn}` deletes them"
            )),
        }
    }
}

/// One principal the plan wants, with the phase that first wants it.
struct Wanted {
    phase: usize,
    grant: CoverGrant,
}

pub(crate) fn principal_label(tree: &OrgTree, principal: &Principal) -> (String, String) {
    match principal {
        Principal::Organization { id, .. } => (format!("organization {id}"), String::new()),
        Principal::Ou { id, .. } => {
            let name = tree
                .unit(id)
                .map(|unit| unit.name.clone())
                .unwrap_or_default();
            (name, tree.path_of(id).unwrap_or_default().to_owned())
        }
        Principal::Account { id, .. } => account_label(tree, id),
    }
}

/// Whether `narrow` is reached entirely by `broad` (an organisation or OU principal).
fn covers(tree: &OrgTree, broad: &Principal, narrow: &Principal) -> bool {
    match (broad, narrow) {
        (Principal::Organization { .. }, Principal::Organization { .. }) => false,
        (Principal::Organization { .. }, _) => true,
        (Principal::Ou { id: outer, .. }, Principal::Ou { id: inner, .. }) => {
            outer != inner && super::targets::is_within(tree, inner, outer)
        }
        (Principal::Ou { id: outer, .. }, Principal::Account { id, .. }) => {
            ancestors_of_account(tree, id).contains(outer)
        }
        _ => false,
    }
}

fn check_operations(
    rollout: &RolloutPlan,
    license: &LicenseInfo,
) -> Result<BTreeSet<Operation>, PlanFileErrors> {
    match &rollout.entitlement.operations {
        None => Ok(license
            .allowed_operations
            .iter()
            .filter(|operation| **operation != Operation::CreateGrant)
            .cloned()
            .collect()),
        Some(wanted) => {
            let refused: Vec<&Operation> = wanted
                .iter()
                .filter(|operation| !license.allowed_operations.contains(*operation))
                .collect();
            if refused.is_empty() {
                return Ok(wanted.clone());
            }
            let names: Vec<String> = refused.iter().map(|op| format!("`{op}`")).collect();
            let allowed: Vec<String> = license
                .allowed_operations
                .iter()
                .map(|op| format!("`{op}`"))
                .collect();
            let span = rollout.entitlement.operations_span.unwrap_or_default();
            Err(PlanFileErrors {
                diagnostics: vec![
                    Diagnostic::at(
                        &rollout.source,
                        span,
                        format!("the license does not allow passing on {}", names.join(", ")),
                    )
                    .hint(format!("the license allows {}", allowed.join(", "))),
                ],
            })
        }
    }
}

fn gate_status(
    phase: &ResolvedPhase,
    gate: &Gate,
    active: usize,
    options: &PlanOptions,
) -> Result<(), String> {
    let targeted = phase.targeted.len();
    // Integer arithmetic: `active / targeted >= percent / 100`.
    let reached = targeted == 0 || active * 100 >= usize::from(gate.min_active_percent) * targeted;
    if !reached {
        return Err(format!(
            "phase `{}` has {active} of {targeted} accounts active, its gate needs {}%",
            phase.name, gate.min_active_percent
        ));
    }
    if gate.bake_seconds == 0 {
        return Ok(());
    }
    let bake = format_duration(gate.bake_seconds);
    match options.gate_facts.fully_active_since.get(&phase.name) {
        None => Err(format!(
            "phase `{}` is active but its {bake} bake has not started (no record of when it became active)",
            phase.name
        )),
        Some(since) => {
            let baked = options.now.saturating_sub(*since).max(0);
            let baked = u64::try_from(baked).unwrap_or(0);
            if baked >= gate.bake_seconds {
                Ok(())
            } else {
                Err(format!(
                    "phase `{}` has baked {} of {bake} ({} left)",
                    phase.name,
                    format_duration(baked),
                    format_duration(gate.bake_seconds - baked)
                ))
            }
        }
    }
}

/// Plans the rollout: resolves targets, computes each phase's cover, and diffs it against the
/// observed grants. See `docs/plan-format.md` for the semantics.
pub fn plan(
    rollout: &RolloutPlan,
    tree: &OrgTree,
    observed: &Observed,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let license = &observed.license;
    let limit = match &options.phase {
        None => rollout.phases.len().saturating_sub(1),
        Some(name) => rollout
            .phase_index(name)
            .ok_or_else(|| PlanError::UnknownPhase {
                name: name.clone(),
                suggestion: nearest(
                    name,
                    rollout.phases.iter().map(|phase| phase.name.value.as_str()),
                )
                .map(str::to_owned),
            })?,
    };
    let resolved = resolve_targets(rollout, tree)?;
    if license.status != LicenseStatus::Available {
        return Err(PlanError::LicenseNotAvailable {
            arn: license.arn.clone(),
            status: license.status.clone(),
        });
    }
    let operations = check_operations(rollout, license)?;

    // Every phase's cover; a principal belongs to the first phase that wants it.
    let covers_by_phase: Vec<Vec<CoverGrant>> =
        resolved.iter().map(|phase| cover(phase, tree)).collect();
    let mut wanted: BTreeMap<String, Wanted> = BTreeMap::new();
    let wanting = if options.destroy {
        &[][..]
    } else {
        &covers_by_phase[..]
    };
    for (index, grants) in wanting.iter().enumerate() {
        for grant in grants {
            wanted
                .entry(grant.principal.arn())
                .or_insert_with(|| Wanted {
                    phase: index,
                    grant: grant.clone(),
                });
        }
        let total = wanted.len();
        if total > MAX_GRANTS_PER_LICENSE {
            let phase = &rollout.phases[index];
            return Err(PlanError::PlanFile(PlanFileErrors {
                diagnostics: vec![Diagnostic::at(
                    &rollout.source,
                    phase.name.span,
                    format!(
                        "the plan needs {total} grants by phase `{}`, more than the {MAX_GRANTS_PER_LICENSE} License Manager allows per license",
                        phase.name.value
                    ),
                )
                .hint("select whole OUs (`ous = [...]` with `grant_to = \"auto\"`) or `organization = true` instead of many single accounts")],
            }));
        }
    }

    // Owned grants by principal; unowned grants are only listed.
    let mut owned: BTreeMap<String, Vec<&DistributedGrant>> = BTreeMap::new();
    let mut unowned = Vec::new();
    for grant in &observed.grants {
        if grant.license_arn != license.arn {
            continue;
        }
        if grant.is_owned_by(&rollout.name) {
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
                owner: grant.tags.get(crate::model::grant::TAG_ROLLOUT).cloned(),
            });
        }
    }
    unowned.sort_by(|a, b| (&a.principal_arn, &a.arn).cmp(&(&b.principal_arn, &b.arn)));
    let live_of = |arn: &str| -> Option<&DistributedGrant> {
        let mut live: Vec<&DistributedGrant> = owned
            .get(arn)
            .into_iter()
            .flatten()
            .copied()
            .filter(|grant| !grant.status.is_dead())
            .collect();
        live.sort_by(|a, b| {
            (a.status != GrantStatus::Active, &a.arn)
                .cmp(&(b.status != GrantStatus::Active, &b.arn))
        });
        live.first().copied()
    };

    // Which accounts are active now: an ACTIVE received grant that is (or comes from) one of our
    // live grants, or (where no received grant of the account was read) our ACTIVE account grant.
    let our_arns: BTreeSet<&str> = owned
        .values()
        .flatten()
        .filter(|grant| !grant.status.is_dead())
        .map(|grant| grant.arn.as_str())
        .collect();
    let mut active_accounts: BTreeSet<crate::model::AccountId> = observed
        .received
        .iter()
        .filter(|received| {
            // An org or OU grant reaches the account as a child (ParentArn is ours); a direct
            // account grant is listed as itself (GrantArn is ours).
            received.status == GrantStatus::Active
                && (our_arns.contains(received.parent_arn.as_str())
                    || our_arns.contains(received.grant_arn.as_str()))
        })
        .map(|received| received.account.clone())
        .collect();
    let received_accounts: BTreeSet<&crate::model::AccountId> = observed
        .received
        .iter()
        .map(|received| &received.account)
        .collect();
    for grants in owned.values() {
        for grant in grants {
            if grant.status == GrantStatus::Active
                && let Some(id) = account_of_principal_arn(&grant.principal_arn)
                && !received_accounts.contains(&id)
            {
                active_accounts.insert(id);
            }
        }
    }

    // Phases and gates.
    let mut phases = Vec::new();
    let mut blocked_since: Option<String> = None;
    for (index, phase) in resolved.iter().enumerate() {
        let active = phase
            .targeted
            .iter()
            .filter(|id| active_accounts.contains(*id))
            .count();
        let blocked = if index == 0 {
            None
        } else if let Some(reason) = &blocked_since {
            Some(reason.clone())
        } else {
            let previous = &resolved[index - 1];
            let previous_active = previous
                .targeted
                .iter()
                .filter(|id| active_accounts.contains(*id))
                .count();
            rollout.phases[index - 1]
                .gate
                .as_ref()
                .and_then(|gate| gate_status(previous, gate, previous_active, options).err())
        };
        // `--ignore-gate PHASE` / `--ignore-gates`: the gate is let through, and said so.
        let (blocked, gate_ignored) = match blocked {
            Some(reason)
                if blocked_since.is_none()
                    && options
                        .ignore_gates
                        .covers(&rollout.phases[index - 1].name.value) =>
            {
                (None, Some(reason))
            }
            blocked => (blocked, None),
        };
        if index <= limit && blocked.is_some() && blocked_since.is_none() {
            blocked_since = Some(format!(
                "an earlier phase is blocked: {}",
                blocked.clone().unwrap_or_default()
            ));
        }
        phases.push(PhasePlan {
            name: phase.name.clone(),
            included: index <= limit,
            blocked: if index <= limit { blocked } else { None },
            targeted: phase.targeted.len(),
            active,
            skipped: phase.skipped.clone(),
            gate: rollout.phases[index].gate,
            gate_ignored: if index <= limit { gate_ignored } else { None },
        });
    }

    // Each org or OU grant's per-account grants, by the parent's ARN: an org or OU grant is active
    // in an account when its grant there is, whatever the parent itself shows (AWS may show an
    // activated parent as WORKFLOW_COMPLETED).
    let mut children_of: BTreeMap<&str, Vec<&ReceivedGrant>> = BTreeMap::new();
    for received in &observed.received {
        if received.parent_arn != license.arn {
            children_of
                .entry(received.parent_arn.as_str())
                .or_default()
                .push(received);
        }
    }
    let keep_own = rollout.entitlement.on_existing_subscription == OnExistingSubscription::Keep;
    // Accounts where AWS refuses to activate a distributed grant while they keep their own
    // subscription of the product.
    let refused_here = |account: &crate::model::AccountId| {
        keep_own && observed.own_subscriptions.contains(account)
    };

    // retire_superseded: earlier phases' principals reached by a later (included) phase's org or
    // OU grant are no longer wanted once that grant is ACTIVE in every one of their accounts.
    let mut superseded: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut pending_retire: BTreeMap<String, (usize, String, String)> = BTreeMap::new();
    for (index, phase) in rollout.phases.iter().enumerate().take(limit + 1) {
        if !phase.retire_superseded {
            continue;
        }
        for broad in &covers_by_phase[index] {
            if matches!(broad.principal, Principal::Account { .. }) {
                continue;
            }
            let broad_arn = broad.principal.arn();
            let broad_live = live_of(&broad_arn);
            let active_in: BTreeSet<&crate::model::AccountId> = broad_live
                .and_then(|grant| children_of.get(grant.arn.as_str()))
                .into_iter()
                .flatten()
                .filter(|child| child.status == GrantStatus::Active)
                .map(|child| &child.account)
                .collect();
            let has_children =
                broad_live.is_some_and(|grant| children_of.contains_key(grant.arn.as_str()));
            let (label, _) = principal_label(tree, &broad.principal);
            for (arn, want) in &wanted {
                if want.phase < index && covers(tree, &broad.principal, &want.grant.principal) {
                    let is_active = match broad_live {
                        None => false,
                        Some(_) if has_children => {
                            !want.grant.accounts.is_empty()
                                && want
                                    .grant
                                    .accounts
                                    .iter()
                                    .all(|account| active_in.contains(account))
                        }
                        Some(grant) => grant.status == GrantStatus::Active,
                    };
                    if is_active {
                        superseded
                            .entry(arn.clone())
                            .or_insert((index, label.clone()));
                    } else {
                        pending_retire.entry(arn.clone()).or_insert((
                            index,
                            label.clone(),
                            broad_arn.clone(),
                        ));
                    }
                }
            }
        }
    }

    let rollout_name = &rollout.name;
    let desired_status = match rollout.entitlement.activation {
        Activation::Grantor => GrantStatus::Active,
        Activation::Member => GrantStatus::Disabled,
    };
    let mut changes = Vec::new();
    let make_change = |phase: &str,
                       principal: Principal,
                       accounts: usize,
                       action: Action,
                       before: Option<GrantState>,
                       after: Option<GrantState>,
                       reason: String,
                       blocked: bool|
     -> Change {
        let (principal_name, principal_path) = principal_label(tree, &principal);
        let (client_token_value, tags) = match (&after, action) {
            (Some(state), Action::Create | Action::Recreate) => (
                Some(client_token(
                    rollout_name,
                    &license.arn,
                    &principal.arn(),
                    state.generation,
                )),
                ownership_tags(rollout_name, phase, state.generation),
            ),
            _ => (None, BTreeMap::new()),
        };
        Change {
            phase: phase.to_owned(),
            principal_arn: principal.arn(),
            principal,
            principal_name,
            principal_path,
            accounts,
            action,
            before,
            after,
            reason,
            client_token: client_token_value,
            tags,
            blocked,
            once_active: None,
        }
    };
    let unowned_for = |arn: &str| -> Option<String> {
        unowned
            .iter()
            .find(|grant| grant.principal_arn == arn && !grant.status.is_dead())
            .map(|grant| {
                format!(
                    " (note: grant `{}`, not owned by this rollout, already names this principal)",
                    grant.name
                )
            })
    };

    for (arn, want) in &wanted {
        if want.phase > limit {
            continue;
        }
        let phase_name = &rollout.phases[want.phase].name.value;
        let blocked = phases[want.phase].blocked.is_some();
        let principal = want.grant.principal.clone();
        let accounts = want.grant.accounts.len();
        let all_owned: Vec<&DistributedGrant> =
            owned.get(arn).into_iter().flatten().copied().collect();
        let live = live_of(arn);
        if let Some((by, label)) = superseded.get(arn) {
            if let Some(grant) = live {
                changes.push(make_change(
                    &rollout.phases[*by].name.value,
                    principal,
                    accounts,
                    Action::Delete,
                    Some(GrantState::observed(grant)),
                    None,
                    format!("superseded by the ACTIVE grant to {label} of phase `{}` (retire_superseded)", rollout.phases[*by].name.value),
                    phases[*by].blocked.is_some(),
                ));
            }
            continue;
        }
        let name = grant_name(rollout_name, phase_name);
        let next_generation = all_owned
            .iter()
            .map(|grant| grant.generation() + 1)
            .max()
            .unwrap_or(0);
        let after_state = |generation: u32| GrantState {
            arn: None,
            name: name.clone(),
            status: desired_status.clone(),
            version: None,
            operations: operations.clone(),
            generation,
        };
        // Targeted accounts not active yet where AWS refuses our activation while they keep
        // their own subscription: named beforehand, whatever the change.
        let own: Vec<String> = want
            .grant
            .accounts
            .iter()
            .filter(|account| refused_here(account) && !active_accounts.contains(*account))
            .map(|account| format!("`{account}`"))
            .collect();
        let own_note = if own.is_empty() {
            String::new()
        } else {
            format!(
                " (note: {} {} {} own subscription of the product: AWS refuses to activate this grant there while `on_existing_subscription = \"keep\"`; `replace` activates it and disables theirs)",
                own.join(", "),
                if own.len() == 1 { "holds" } else { "hold" },
                if own.len() == 1 { "its" } else { "their" }
            )
        };
        let retire_note = pending_retire.get(arn).map(|(by, label, _)| {
            format!(
                "; retired once the grant to {label} of phase `{}` is ACTIVE",
                rollout.phases[*by].name.value
            )
        });
        match live {
            None => {
                let dead = all_owned
                    .iter()
                    .filter(|grant| grant.status.is_dead())
                    .max_by_key(|grant| (grant.generation(), grant.arn.clone()));
                let note = format!("{}{own_note}", unowned_for(arn).unwrap_or_default());
                match dead {
                    Some(dead) => {
                        let why = match dead.status {
                            GrantStatus::Deleted => {
                                format!("grant `{}` was deleted outside entitle", dead.arn)
                            }
                            GrantStatus::PendingDelete => {
                                format!("grant `{}` is being deleted outside entitle", dead.arn)
                            }
                            GrantStatus::Rejected => {
                                format!("the grantee rejected grant `{}`", dead.arn)
                            }
                            _ => format!(
                                "distribution of grant `{}` failed{}; apply checks the prerequisites it needs (all features, License Manager linked, trusted access) before creating anything, so it is made again only where they now hold",
                                dead.arn,
                                dead.status_reason
                                    .as_ref()
                                    .map(|reason| format!(" ({reason})"))
                                    .unwrap_or_default()
                            ),
                        };
                        let because = match dead.status {
                            GrantStatus::FailedWorkflow => String::new(),
                            _ => dead
                                .status_reason
                                .as_ref()
                                .map(|reason| format!(" ({reason})"))
                                .unwrap_or_default(),
                        };
                        changes.push(make_change(
                            phase_name,
                            principal,
                            accounts,
                            Action::Recreate,
                            Some(GrantState::observed(dead)),
                            Some(after_state(next_generation)),
                            format!("{why}{because}: create it again as generation {next_generation}{note}"),
                            blocked,
                        ));
                    }
                    None => {
                        let then = match rollout.entitlement.activation {
                            Activation::Grantor => ", then activate it",
                            Activation::Member => "; members activate it",
                        };
                        changes.push(make_change(
                            phase_name,
                            principal,
                            accounts,
                            Action::Create,
                            None,
                            Some(after_state(next_generation)),
                            format!("phase `{phase_name}` targets it and no grant exists: create{then}{note}"),
                            blocked,
                        ));
                    }
                }
            }
            Some(grant) => {
                let before = GrantState::observed(grant);
                let mut after = before.clone();
                after.arn = Some(grant.arn.clone());
                let grantor = rollout.entitlement.activation == Activation::Grantor;
                let is_parent = !matches!(principal, Principal::Account { .. });
                // Accounts holding the grant DISABLED (an org or OU grant's accounts), apart
                // from those where AWS refuses activation while they keep their own subscription.
                let children = children_of
                    .get(grant.arn.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let disabled_children = children
                    .iter()
                    .filter(|child| child.status == GrantStatus::Disabled)
                    .filter(|child| !refused_here(&child.account))
                    .count();
                let member_role = options.member_role.as_deref();
                let needs_activation = grantor
                    && match &grant.status {
                        GrantStatus::Disabled | GrantStatus::PendingWorkflow => true,
                        GrantStatus::PendingAccept => member_role.is_some() && !is_parent,
                        GrantStatus::WorkflowCompleted | GrantStatus::Active if is_parent => {
                            disabled_children > 0
                        }
                        GrantStatus::WorkflowCompleted => true,
                        _ => false,
                    };
                let note = format!("{own_note}{}", retire_note.clone().unwrap_or_default());
                let (action, reason) = if grant.granted_operations != operations {
                    after.operations = operations.clone();
                    if needs_activation {
                        after.status = GrantStatus::Active;
                    }
                    let added: Vec<String> = operations
                        .difference(&grant.granted_operations)
                        .map(|op| format!("+{op}"))
                        .collect();
                    let removed: Vec<String> = grant
                        .granted_operations
                        .difference(&operations)
                        .map(|op| format!("-{op}"))
                        .collect();
                    let mut delta = added;
                    delta.extend(removed);
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
                    let why = match &grant.status {
                        GrantStatus::PendingWorkflow => "the grant is being distributed (`PENDING_WORKFLOW`): activate it once it is (apply waits up to `--distribution-wait`; a later run finishes otherwise)".to_owned(),
                        GrantStatus::PendingAccept => format!(
                            "the account has not accepted the grant (`PENDING_ACCEPT`): accept it as the account through role `{}`, then activate it",
                            member_role.unwrap_or_default()
                        ),
                        status if is_parent && *status != GrantStatus::Disabled => format!(
                            "the grant is `{status}` and {disabled_children} of its accounts hold it `DISABLED`: activate it"
                        ),
                        status => format!("the grant is `{status}`: activate it"),
                    };
                    (Action::Activate, format!("{why}{note}"))
                } else {
                    let state = match &grant.status {
                        GrantStatus::Active => "active".to_owned(),
                        GrantStatus::WorkflowCompleted if is_parent && grantor => {
                            "distributed and activated in its accounts".to_owned()
                        }
                        GrantStatus::PendingWorkflow => {
                            "being distributed; members activate it once it is".to_owned()
                        }
                        GrantStatus::PendingAccept if grantor => format!(
                            "waiting for account `{}` to accept it: pass `--member-role NAME` (or set `member_role` in `[entitlement]`) so that entitle accepts it as the account, or grant the account's OU instead (OU and organisation grants need no acceptance)",
                            principal.id()
                        ),
                        GrantStatus::PendingAccept => {
                            "waiting for the account to accept it".to_owned()
                        }
                        GrantStatus::Disabled | GrantStatus::WorkflowCompleted => {
                            "distributed; member accounts activate it (`activation = \"member\"`)"
                                .to_owned()
                        }
                        other => format!("status `{other}`: left as it is"),
                    };
                    (Action::NoOp, format!("{state}{note}"))
                };
                changes.push(make_change(
                    phase_name,
                    principal.clone(),
                    accounts,
                    action,
                    Some(before),
                    Some(after),
                    reason,
                    blocked,
                ));
                // More than one live owned grant for the same principal: keep one, delete the rest.
                for extra in all_owned
                    .iter()
                    .filter(|other| !other.status.is_dead() && other.arn != grant.arn)
                {
                    changes.push(make_change(
                        phase_name,
                        principal.clone(),
                        accounts,
                        Action::Delete,
                        Some(GrantState::observed(extra)),
                        None,
                        format!(
                            "a second grant of this rollout for the same principal; `{}` is kept",
                            grant.arn
                        ),
                        blocked,
                    ));
                }
            }
        }
    }

    // Owned grants no phase wants any more.
    let phase_position = |name: Option<&str>| name.and_then(|name| rollout.phase_index(name));
    for (arn, grants) in &owned {
        if wanted.contains_key(arn) {
            continue;
        }
        for grant in grants.iter().filter(|grant| !grant.status.is_dead()) {
            let tagged = phase_position(grant.phase_tag());
            // A phase-limited run never deletes what a later (or unknown) phase may own.
            if options.phase.is_some() && tagged.is_none_or(|index| index > limit) {
                continue;
            }
            // An ARN that names no principal kind entitle knows is left alone.
            let Some(principal) = Principal::from_arn(arn) else {
                continue;
            };
            let why = match &principal {
                Principal::Account { id, .. } => match tree.account(id) {
                    None => format!("account `{id}` is no longer in the organisation"),
                    Some(account) if tree.is_management(id) => {
                        format!("`{}` is the management account", account.id)
                    }
                    Some(account) if account.state != crate::model::AccountState::Active => {
                        format!("account `{id}` is `{}`", account.state)
                    }
                    Some(_) => "no phase of the plan targets this account any more".to_owned(),
                },
                Principal::Ou { id, .. } if tree.unit(id).is_none() => {
                    "the OU is no longer in the organisation".to_owned()
                }
                _ => "no phase of the plan grants to this principal any more".to_owned(),
            };
            let why = if options.destroy {
                "`--destroy` tears the rollout down".to_owned()
            } else {
                why
            };
            let phase_name = grant.phase_tag().unwrap_or("-").to_owned();
            // Taking access away waits for no gate.
            let blocked =
                !options.destroy && tagged.is_some_and(|index| phases[index].blocked.is_some());
            changes.push(make_change(
                &phase_name,
                principal,
                0,
                Action::Delete,
                Some(GrantState::observed(grant)),
                None,
                format!("{why}: delete the grant"),
                blocked,
            ));
        }
    }

    // A grant retired by `retire_superseded` whose broader grant this run activates is deleted in
    // the same run, right after that activation succeeds (the executor checks it).
    if rollout.entitlement.activation == Activation::Grantor {
        let activated_now: BTreeSet<&str> = changes
            .iter()
            // Blocked or not: the retirement is blocked exactly when the broader grant is (both
            // belong to its phase), and `--ignore-gates` lets both through.
            .filter(|change| match change.action {
                Action::Create | Action::Recreate | Action::Activate => true,
                Action::UpdateOperations => change
                    .after
                    .as_ref()
                    .is_some_and(|after| after.status == GrantStatus::Active),
                Action::Delete | Action::NoOp => false,
            })
            .map(|change| change.principal_arn.as_str())
            .collect();
        let retiring: Vec<(usize, usize, String, String)> = changes
            .iter()
            .enumerate()
            .filter(|(_, change)| change.action == Action::NoOp && change.before.is_some())
            .filter_map(|(position, change)| {
                let (by, label, broad) = pending_retire.get(&change.principal_arn)?;
                activated_now
                    .contains(broad.as_str())
                    .then(|| (position, *by, label.clone(), broad.clone()))
            })
            .collect();
        for (position, by, label, broad) in retiring {
            let by_name = &rollout.phases[by].name.value;
            let change = &mut changes[position];
            change.phase = by_name.clone();
            change.action = Action::Delete;
            change.after = None;
            change.blocked = phases[by].blocked.is_some();
            change.reason = format!(
                "superseded by the grant to {label} of phase `{by_name}` (retire_superseded): deleted in this run once that grant is activated"
            );
            change.once_active = Some(broad);
        }
    }

    let order = |change: &Change| {
        let phase = rollout.phase_index(&change.phase).unwrap_or(usize::MAX);
        let kind = match change.principal {
            Principal::Organization { .. } => 0,
            Principal::Ou { .. } => 1,
            Principal::Account { .. } => 2,
        };
        (
            phase,
            kind,
            change.principal_path.clone(),
            change.principal_arn.clone(),
            change.action,
        )
    };
    changes.sort_by_key(order);

    let summary = Summary::of(&changes);

    Ok(Plan {
        rollout: rollout.name.clone(),
        license_arn: license.arn.clone(),
        product_sku: license.product_sku.clone(),
        product_name: license.product_name.clone(),
        phase_limit: options.phase.clone(),
        operations,
        activation: rollout.entitlement.activation,
        activation_override: match rollout.entitlement.on_existing_subscription {
            OnExistingSubscription::Keep => ActivationOverride::DistributedGrantsOnly,
            OnExistingSubscription::Replace => ActivationOverride::AllGrantsPermittedByIssuer,
        },
        phases,
        changes,
        unowned,
        summary,
        destroy: options.destroy,
    })
}
