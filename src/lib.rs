//! entitle: roll an AWS Marketplace subscription out across an AWS Organization with License Manager grants.

pub mod sandbox;
