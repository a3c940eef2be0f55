//! The only place that talks to AWS: SDK configuration, typed errors, and reads and writes
//! that return model types.

pub mod bedrock;
pub mod config;
pub mod cost_explorer;
pub mod error;
pub mod fixes;
pub mod grants;
pub mod iam;
pub mod identity;
pub mod license_manager;
pub mod marketplace;
pub mod member;
pub mod organizations;
mod ou_reads;
pub mod pacing;
mod paging;
pub mod prerequisites;
pub mod s3;
pub mod use_case;

pub use config::{AwsClients, AwsSettings};
pub use error::{AwsError, AwsErrorKind};
