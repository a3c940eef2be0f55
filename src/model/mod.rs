//! Pure data: identifiers, the organisation tree, the rollout plan file and grants. No I/O here.

pub mod agreement;
pub mod bedrock;
pub mod doctor;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod grant;
pub mod ids;
pub mod org;
pub mod plan;
pub mod usage;

pub use grant::{
    ActivationOverride, DistributedGrant, GrantStatus, LicenseInfo, LicenseStatus, Operation,
    Principal, ReceivedGrant,
};
pub use ids::{AccountId, InvalidId, OrgId, OuId, ParentId, RootId};
pub use org::{
    Account, AccountState, FeatureSet, OrgTree, OrgTreeError, OrgUnit, Organization, Root,
    UnitRead, UnitScope,
};
pub use plan::{Diagnostic, PlanFileErrors, RolloutPlan, parse_plan};
