//! The test organisation of the unit tests, written once: `o-test123456` with root `r-ab12` and
//! management account 100000000001, ACTIVE accounts and OUs placed where a test says, and
//! Marketplace licenses.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::{
    Account, AccountId, AccountState, FeatureSet, LicenseInfo, LicenseStatus, OrgId, OrgTree,
    OrgUnit, Organization, OuId, ParentId, Root, RootId,
};

/// The test organisation (all features).
pub(crate) fn organization() -> Organization {
    Organization {
        id: OrgId::parse("o-test123456").unwrap(),
        arn: "arn:aws:organizations::100000000001:organization/o-test123456".into(),
        management_account: AccountId::parse("100000000001").unwrap(),
        feature_set: FeatureSet::All,
    }
}

/// Its root, `r-ab12`.
pub(crate) fn root() -> Root {
    Root {
        id: RootId::parse("r-ab12").unwrap(),
        arn: "arn:aws:organizations::100000000001:root/o-test123456/r-ab12".into(),
        name: "Root".into(),
    }
}

/// An ACTIVE account `acct-<id>` under `parent` (a root or OU id), without tags.
pub(crate) fn account(id: &str, parent: &str) -> Account {
    Account {
        id: AccountId::parse(id).unwrap(),
        name: format!("acct-{id}"),
        email: format!("{id}@example.com"),
        arn: format!("arn:aws:organizations::100000000001:account/o-test123456/{id}"),
        state: AccountState::Active,
        parent: ParentId::parse(parent).unwrap(),
        tags: BTreeMap::new(),
    }
}

/// The OU `id` named `name` under `parent` (a root or OU id).
pub(crate) fn unit(id: &str, name: &str, parent: &str) -> OrgUnit {
    OrgUnit {
        id: OuId::parse(id).unwrap(),
        arn: format!("arn:aws:organizations::100000000001:ou/o-test123456/{id}"),
        name: Some(name.into()),
        parent: ParentId::parse(parent).unwrap(),
    }
}

/// The test organisation with these OUs and accounts.
pub(crate) fn tree_of(
    units: impl IntoIterator<Item = OrgUnit>,
    accounts: impl IntoIterator<Item = Account>,
) -> OrgTree {
    OrgTree::new(organization(), root(), units, accounts).unwrap()
}

/// A Marketplace license of `product` (Claude) at `arn`, in `status`.
pub(crate) fn license(arn: &str, product: &str, status: LicenseStatus) -> LicenseInfo {
    LicenseInfo {
        arn: arn.into(),
        product_sku: product.into(),
        product_name: "Claude".into(),
        status,
        allowed_operations: Default::default(),
        issuer: "AWS/Marketplace".into(),
        home_region: "us-east-1".into(),
    }
}
