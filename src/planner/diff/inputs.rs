//! What a plan is made from besides the plan file and the organisation: what was read from AWS
//! ([`Observed`]) and how to plan ([`PlanOptions`]).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::grant::{DistributedGrant, LicenseInfo, ReceivedGrant};
use crate::planner::gates::{GateFacts, IgnoreGates};

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
