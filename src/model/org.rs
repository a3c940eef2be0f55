//! The organisation as discovered: a pure tree of OUs and accounts with lookups by id and OU path.
//!
//! A job reads only the OUs it needs (`planner::reads`): every OU that holds an account is known
//! from the accounts' `Paths`, but only the OUs a job read by name carry their name; the others
//! are shown by id.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::{AccountId, OrgId, OuId, ParentId, RootId};
use super::plan::OuRef;

/// The organisation's own facts, from DescribeOrganization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// The organisation id, `o-...`.
    pub id: OrgId,
    /// The organisation ARN, exactly as Organizations returns it (used in grant principals).
    pub arn: String,
    /// The management account: never a grantee.
    pub management_account: AccountId,
    /// `ALL` or `CONSOLIDATED_BILLING`; grants are auto-accepted only with `ALL`.
    pub feature_set: FeatureSet,
}

impl Organization {
    /// The ARN of one of its OUs, in the documented form
    /// `arn:<partition>:organizations::<management account>:ou/<org id>/<ou id>`: for the OUs
    /// known only from an account's `Paths` (an OU read from Organizations keeps the ARN it came
    /// with).
    pub fn ou_arn(&self, id: &OuId) -> String {
        let partition =
            super::grant::partition_of(&self.arn).unwrap_or(super::grant::AWS_PARTITION);
        format!(
            "arn:{partition}:organizations::{}:ou/{}/{id}",
            self.management_account, self.id
        )
    }
}

/// Which features the organisation has enabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FeatureSet {
    /// All features: License Manager can link to the organisation and grants are auto-accepted.
    All,
    /// Consolidated billing only: every account grant waits for the member to accept it.
    ConsolidatedBilling,
    /// A value this version of entitle does not know.
    #[serde(untagged)]
    Other(String),
}

impl FeatureSet {
    /// Maps the Organizations spelling to the enum.
    pub fn from_aws(value: &str) -> Self {
        match value {
            "ALL" => Self::All,
            "CONSOLIDATED_BILLING" => Self::ConsolidatedBilling,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// The lifecycle state of an account (Organizations `State`, not the retired `Status`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountState {
    /// Usable: the only state that may receive a grant.
    Active,
    /// Created or invited, not yet usable.
    PendingActivation,
    /// Suspended by AWS or the organisation.
    Suspended,
    /// Closing: within the post-closure period.
    PendingClosure,
    /// Closed.
    Closed,
    /// A value this version of entitle does not know.
    #[serde(untagged)]
    Other(String),
}

impl AccountState {
    /// Maps the Organizations spelling (of `State`, or of the legacy `Status`) to the enum.
    pub fn from_aws(value: &str) -> Self {
        match value {
            "ACTIVE" => Self::Active,
            "PENDING_ACTIVATION" => Self::PendingActivation,
            "SUSPENDED" => Self::Suspended,
            "PENDING_CLOSURE" => Self::PendingClosure,
            "CLOSED" => Self::Closed,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The Organizations spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "ACTIVE",
            Self::PendingActivation => "PENDING_ACTIVATION",
            Self::Suspended => "SUSPENDED",
            Self::PendingClosure => "PENDING_CLOSURE",
            Self::Closed => "CLOSED",
            Self::Other(other) => other,
        }
    }
}

impl fmt::Display for AccountState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One account of the organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The 12-digit account id.
    pub id: AccountId,
    /// The account's name as set in Organizations.
    pub name: String,
    /// The root email address.
    pub email: String,
    /// The Organizations ARN of the account (not the grant principal, which is `arn:aws:iam::<id>:root`).
    pub arn: String,
    /// Lifecycle state; only ACTIVE accounts are ever granted.
    pub state: AccountState,
    /// The root or OU the account sits in directly.
    pub parent: ParentId,
    /// The account's tags; empty when discovery was asked not to read tags.
    pub tags: BTreeMap<String, String>,
}

/// One organizational unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    /// The OU id.
    pub id: OuId,
    /// The OU ARN, exactly as Organizations returns it (used in grant principals); for an OU
    /// known only from an account's `Paths`, built in the documented form
    /// ([`Organization::ou_arn`]).
    pub arn: String,
    /// The OU's name, unique among its siblings; `None` when the job did not read it (the OU is
    /// known only from the `Paths` of the accounts in it).
    pub name: Option<String>,
    /// The root or OU above it.
    pub parent: ParentId,
}

impl OrgUnit {
    /// Its name, or its id when the name was not read.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(self.id.as_str())
    }
}

/// The organisation's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    /// The root id, `r-...`.
    pub id: RootId,
    /// The root ARN.
    pub arn: String,
    /// The root's name (usually `Root`).
    pub name: String,
}

/// Which OUs a job reads by name. Every OU that holds an account is known anyway (from the
/// accounts' `Paths`); this says which also need their names, ARNs, or the OUs with no account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitScope {
    /// Every OU of the organisation (`discover`, `status --tree`, the doctor).
    Whole,
    /// Only these (none: a plan of accounts or of the whole organisation).
    Some(Vec<UnitRead>),
}

/// One OU a job reads by name, and whether the OUs below it too.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnitRead {
    /// The OU, by path of names (read walking down from the root) or by id.
    pub unit: OuRef,
    /// Also every OU below it (a phase whose cover may grant one of them).
    pub subtree: bool,
}

/// Why an [`OrgTree`] could not be assembled from what discovery returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgTreeError {
    /// An OU or account names a parent that is neither the root nor a known OU.
    #[error("`{child}` names parent `{parent}`, which is neither the root nor a discovered OU")]
    UnknownParent {
        /// The OU or account id.
        child: String,
        /// The parent it names.
        parent: String,
    },
    /// The same OU or account was seen twice.
    #[error("`{0}` was discovered twice")]
    Duplicate(String),
    /// The parent links form a cycle, so no path leads to the root.
    #[error("the OU `{0}` does not lead back to the root")]
    Cycle(String),
}

/// The whole organisation: its root, every OU at any depth and every account, with lookups.
///
/// Built once from discovery and then only read. Maps are sorted so that every rendering and
/// every plan derived from the tree is deterministic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgTree {
    organization: Organization,
    root: Root,
    units: BTreeMap<OuId, OrgUnit>,
    accounts: BTreeMap<AccountId, Account>,
    /// Derived: children of each parent, sorted by name then id.
    child_units: BTreeMap<ParentId, Vec<OuId>>,
    /// Derived: accounts directly under each parent, sorted by id.
    child_accounts: BTreeMap<ParentId, Vec<AccountId>>,
    /// Derived: the `Name/Name` path of every OU (an OU whose name was not read is shown by its
    /// id: `Workloads/ou-ab12-bbbbbbbb`).
    paths: BTreeMap<OuId, String>,
    /// Derived: the OUs whose path is all names, by that path: what a plan's OU path can mean.
    by_path: BTreeMap<String, OuId>,
}

impl OrgTree {
    /// Assembles and checks the tree: every parent must exist and every OU must lead to the root.
    pub fn new(
        organization: Organization,
        root: Root,
        units: impl IntoIterator<Item = OrgUnit>,
        accounts: impl IntoIterator<Item = Account>,
    ) -> Result<Self, OrgTreeError> {
        let mut unit_map = BTreeMap::new();
        for unit in units {
            if unit_map.contains_key(&unit.id) {
                return Err(OrgTreeError::Duplicate(unit.id.to_string()));
            }
            unit_map.insert(unit.id.clone(), unit);
        }
        let mut account_map = BTreeMap::new();
        for account in accounts {
            if account_map.contains_key(&account.id) {
                return Err(OrgTreeError::Duplicate(account.id.to_string()));
            }
            account_map.insert(account.id.clone(), account);
        }
        let root_parent = ParentId::Root(root.id.clone());
        let known = |parent: &ParentId| match parent {
            ParentId::Root(id) => *id == root.id,
            ParentId::Ou(id) => unit_map.contains_key(id),
        };
        let mut child_units: BTreeMap<ParentId, Vec<OuId>> = BTreeMap::new();
        for unit in unit_map.values() {
            if !known(&unit.parent) {
                return Err(OrgTreeError::UnknownParent {
                    child: unit.id.to_string(),
                    parent: unit.parent.to_string(),
                });
            }
            child_units
                .entry(unit.parent.clone())
                .or_default()
                .push(unit.id.clone());
        }
        for children in child_units.values_mut() {
            children.sort_by(|a, b| (unit_map[a].label(), a).cmp(&(unit_map[b].label(), b)));
        }
        let mut child_accounts: BTreeMap<ParentId, Vec<AccountId>> = BTreeMap::new();
        for account in account_map.values() {
            if !known(&account.parent) {
                return Err(OrgTreeError::UnknownParent {
                    child: account.id.to_string(),
                    parent: account.parent.to_string(),
                });
            }
            child_accounts
                .entry(account.parent.clone())
                .or_default()
                .push(account.id.clone());
        }
        // Paths, walking down from the root so that a cycle is never entered; `named` says
        // whether every OU on the way has its name.
        let mut paths = BTreeMap::new();
        let mut by_path = BTreeMap::new();
        let mut stack = vec![(root_parent, String::new(), true)];
        while let Some((parent, prefix, named)) = stack.pop() {
            for child in child_units.get(&parent).into_iter().flatten() {
                let unit = &unit_map[child];
                let path = if prefix.is_empty() {
                    unit.label().to_owned()
                } else {
                    format!("{prefix}/{}", unit.label())
                };
                let named = named && unit.name.is_some();
                if named {
                    by_path.insert(path.clone(), child.clone());
                }
                paths.insert(child.clone(), path.clone());
                stack.push((ParentId::Ou(child.clone()), path, named));
            }
        }
        if let Some(orphan) = unit_map.keys().find(|id| !paths.contains_key(*id)) {
            return Err(OrgTreeError::Cycle(orphan.to_string()));
        }
        Ok(Self {
            organization,
            root,
            units: unit_map,
            accounts: account_map,
            child_units,
            child_accounts,
            paths,
            by_path,
        })
    }

    /// The organisation's own facts.
    pub fn organization(&self) -> &Organization {
        &self.organization
    }

    /// The partition of the organisation's ARN (`aws`, `aws-us-gov`, `aws-cn`): every principal
    /// ARN entitle builds uses it.
    pub fn partition(&self) -> &str {
        super::grant::partition_of(&self.organization.arn).unwrap_or(super::grant::AWS_PARTITION)
    }

    /// The root.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// Every OU, by id.
    pub fn units(&self) -> impl Iterator<Item = &OrgUnit> {
        self.units.values()
    }

    /// Every account, by id.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// One account.
    pub fn account(&self, id: &AccountId) -> Option<&Account> {
        self.accounts.get(id)
    }

    /// Gives an account the tags read for it (a job that reads tags after the accounts); an
    /// account the tree does not hold is left out.
    pub fn set_tags(&mut self, id: &AccountId, tags: BTreeMap<String, String>) {
        if let Some(account) = self.accounts.get_mut(id) {
            account.tags = tags;
        }
    }

    /// One OU.
    pub fn unit(&self, id: &OuId) -> Option<&OrgUnit> {
        self.units.get(id)
    }

    /// The OU at a path of names from the root, e.g. `Workloads/ML`; matching is exact, and only
    /// OUs whose whole path was read by name are found.
    pub fn unit_by_path(&self, path: &str) -> Option<&OrgUnit> {
        self.by_path
            .get(path.trim_matches('/'))
            .map(|id| &self.units[id])
    }

    /// The `Name/Name` path of an OU from the root (an OU whose name was not read shown by id).
    pub fn path_of(&self, id: &OuId) -> Option<&str> {
        self.paths.get(id).map(String::as_str)
    }

    /// Whether every OU from the root down to `parent` was read by name (the root always is).
    pub fn is_named(&self, parent: &ParentId) -> bool {
        match parent {
            ParentId::Root(_) => true,
            ParentId::Ou(id) => self
                .path_of(id)
                .is_some_and(|path| self.by_path.get(path) == Some(id)),
        }
    }

    /// The path of a parent: empty for the root.
    pub fn parent_path(&self, parent: &ParentId) -> &str {
        match parent {
            ParentId::Root(_) => "",
            ParentId::Ou(id) => self.path_of(id).unwrap_or(""),
        }
    }

    /// Every OU path of names, sorted: the candidates for "did you mean" suggestions.
    pub fn all_paths(&self) -> impl Iterator<Item = &str> {
        self.by_path.keys().map(String::as_str)
    }

    /// OUs directly under a parent, sorted by name.
    pub fn child_units(&self, parent: &ParentId) -> &[OuId] {
        self.child_units
            .get(parent)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Accounts directly under a parent, sorted by id.
    pub fn child_accounts(&self, parent: &ParentId) -> &[AccountId] {
        self.child_accounts
            .get(parent)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Every account in a parent's subtree (nested OUs included), sorted by id.
    pub fn accounts_under(&self, parent: &ParentId) -> Vec<&Account> {
        let mut found = Vec::new();
        let mut stack = vec![parent.clone()];
        while let Some(current) = stack.pop() {
            found.extend(
                self.child_accounts(&current)
                    .iter()
                    .map(|id| &self.accounts[id]),
            );
            stack.extend(self.child_units(&current).iter().cloned().map(ParentId::Ou));
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found
    }

    /// Whether an account is the management account (which is never a grantee).
    pub fn is_management(&self, id: &AccountId) -> bool {
        self.organization.management_account == *id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{account, organization, root, tree_of, unit};

    fn sample() -> OrgTree {
        tree_of(
            [
                unit("ou-ab12-aaaaaaaa", "Workloads", "r-ab12"),
                unit("ou-ab12-bbbbbbbb", "ML", "ou-ab12-aaaaaaaa"),
                unit("ou-ab12-cccccccc", "Sandbox", "ou-ab12-bbbbbbbb"),
            ],
            [
                account("100000000001", "r-ab12"),
                account("111111111111", "ou-ab12-bbbbbbbb"),
                account("222222222222", "ou-ab12-cccccccc"),
                account("333333333333", "ou-ab12-aaaaaaaa"),
            ],
        )
    }

    #[test]
    fn paths_are_names_from_the_root() {
        let tree = sample();
        assert_eq!(
            tree.unit_by_path("Workloads/ML/Sandbox").unwrap().label(),
            "Sandbox"
        );
        assert_eq!(tree.unit_by_path("/Workloads/ML/").unwrap().label(), "ML");
        assert!(tree.unit_by_path("ML").is_none());
        let all: Vec<_> = tree.all_paths().collect();
        assert_eq!(all, ["Workloads", "Workloads/ML", "Workloads/ML/Sandbox"]);
    }

    #[test]
    fn subtree_includes_nested_units() {
        let tree = sample();
        let under: Vec<_> = tree
            .accounts_under(&ParentId::parse("ou-ab12-aaaaaaaa").unwrap())
            .iter()
            .map(|a| a.id.to_string())
            .collect();
        assert_eq!(under, ["111111111111", "222222222222", "333333333333"]);
        assert_eq!(
            tree.accounts_under(&ParentId::parse("r-ab12").unwrap())
                .len(),
            4
        );
        assert!(tree.is_management(&AccountId::parse("100000000001").unwrap()));
    }

    #[test]
    fn an_ou_whose_name_was_not_read_is_shown_by_id_and_never_found_by_path() {
        let mut ml = unit("ou-ab12-bbbbbbbb", "ML", "ou-ab12-aaaaaaaa");
        ml.name = None;
        let tree = tree_of(
            [
                unit("ou-ab12-aaaaaaaa", "Workloads", "r-ab12"),
                ml,
                unit("ou-ab12-cccccccc", "Sandbox", "ou-ab12-bbbbbbbb"),
            ],
            [account("111111111111", "ou-ab12-cccccccc")],
        );
        let sandbox = OuId::parse("ou-ab12-cccccccc").unwrap();
        assert_eq!(
            tree.path_of(&sandbox),
            Some("Workloads/ou-ab12-bbbbbbbb/Sandbox")
        );
        assert_eq!(
            tree.parent_path(&ParentId::Ou(sandbox)),
            "Workloads/ou-ab12-bbbbbbbb/Sandbox"
        );
        // Only a path of names means an OU: neither the id-shown path nor a guess at the name.
        assert!(tree.unit_by_path("Workloads/ML").is_none());
        assert!(tree.unit_by_path("Workloads/ou-ab12-bbbbbbbb").is_none());
        assert!(tree.unit_by_path("Workloads/ML/Sandbox").is_none());
        assert_eq!(tree.unit_by_path("Workloads").unwrap().label(), "Workloads");
        assert!(tree.is_named(&ParentId::parse("ou-ab12-aaaaaaaa").unwrap()));
        assert!(tree.is_named(&ParentId::parse("r-ab12").unwrap()));
        // Named itself, but below an OU whose name was not read.
        assert!(!tree.is_named(&ParentId::parse("ou-ab12-cccccccc").unwrap()));
        assert!(!tree.is_named(&ParentId::parse("ou-ab12-bbbbbbbb").unwrap()));
        let all: Vec<_> = tree.all_paths().collect();
        assert_eq!(all, ["Workloads"]);
        // The subtree is known all the same.
        assert_eq!(
            tree.accounts_under(&ParentId::parse("ou-ab12-aaaaaaaa").unwrap())
                .len(),
            1
        );
        assert_eq!(
            tree.organization()
                .ou_arn(&OuId::parse("ou-ab12-bbbbbbbb").unwrap()),
            "arn:aws:organizations::100000000001:ou/o-test123456/ou-ab12-bbbbbbbb"
        );
    }

    #[test]
    fn unknown_parents_are_refused() {
        let error = OrgTree::new(
            organization(),
            root(),
            [unit("ou-ab12-dddddddd", "Lost", "ou-ab12-zzzzzzzz")],
            [],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "`ou-ab12-dddddddd` names parent `ou-ab12-zzzzzzzz`, which is neither the root nor a discovered OU"
        );
    }

    #[test]
    fn cycles_are_refused() {
        let error = OrgTree::new(
            organization(),
            root(),
            [
                unit("ou-ab12-dddddddd", "A", "ou-ab12-eeeeeeee"),
                unit("ou-ab12-eeeeeeee", "B", "ou-ab12-dddddddd"),
            ],
            [],
        )
        .unwrap_err();
        assert!(matches!(error, OrgTreeError::Cycle(_)));
    }
}
