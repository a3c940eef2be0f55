//! Pure data: identifiers, the organisation tree, and (later) plans and grants. No I/O here.

pub mod ids;
pub mod org;

pub use ids::{AccountId, InvalidId, OrgId, OuId, ParentId, RootId};
pub use org::{
    Account, AccountState, FeatureSet, OrgTree, OrgTreeError, OrgUnit, Organization, Root,
};
