//! A Marketplace purchase agreement as entitle needs it: status, products and entitled licenses.

use serde::{Deserialize, Serialize};

/// One purchase agreement, from DescribeAgreement and GetAgreementEntitlements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementInfo {
    /// The agreement id.
    pub id: String,
    /// ACTIVE, CANCELLED, EXPIRED, TERMINATED, ...
    pub status: String,
    /// The Marketplace product ids (`prod-...`) it covers.
    pub products: Vec<String>,
    /// The License Manager licenses its entitlements name (the authoritative link).
    pub license_arns: Vec<String>,
}
