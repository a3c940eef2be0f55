//! Pure decisions: which accounts each phase targets, which principals grant them, what must
//! change against the observed grants (`diff`), which accounts are active (`activity`) and
//! whether each phase's gate holds (`gates`), shared by the plan and `status`, and the saved-plan
//! format. No I/O, no clock, no SDK.

pub(crate) mod activity;
pub mod cleanup;
pub mod cover;
pub mod diff;
pub mod doctor;
pub mod entitlement;
pub mod gates;
pub mod guardrails;
pub mod iam_policy;
pub mod reads;
pub mod saved;
pub mod status;
pub mod targets;
pub mod usage;
pub mod use_case;
pub mod verify;

pub use cover::{CoverGrant, cover};
pub use diff::{
    Action, Change, GrantState, MAX_GRANTS_PER_LICENSE, Observed, PhasePlan, Plan, PlanError,
    PlanOptions, Summary, UnixSeconds, UnownedGrant, plan,
};
pub use gates::{GateFacts, GateVerdict, IgnoreGates};
pub use saved::{SAVED_PLAN_FORMAT_VERSION, SavedPlan, StalePlan, fingerprint};
pub use targets::{ResolvedPhase, SkipReason, SkippedAccount, resolve_targets};
