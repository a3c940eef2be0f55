//! Rendering of `entitle discover`: the indented OU tree for people, a versioned document for scripts.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::{FORMAT_VERSION, Style};
use crate::aws::organizations::Discovery;
use crate::model::{AccountState, FeatureSet, OrgTree, ParentId};

/// The JSON document of `entitle discover --output json`.
#[derive(Debug, Serialize)]
pub struct DiscoverDocument<'a> {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// `discover`: what document this is (docs/schema/discover.schema.json).
    pub kind: &'static str,
    /// The organisation's own facts.
    pub organization: &'a crate::model::Organization,
    /// The root.
    pub root: &'a crate::model::Root,
    /// Every OU, sorted by path.
    pub organizational_units: Vec<UnitView<'a>>,
    /// Every account, sorted by id.
    pub accounts: Vec<AccountView<'a>>,
    /// Counts.
    pub totals: Totals,
    /// API calls made per operation.
    pub api_calls: &'a BTreeMap<&'static str, u64>,
}

/// One OU in the JSON document.
#[derive(Debug, Serialize)]
pub struct UnitView<'a> {
    /// The OU id.
    pub id: &'a str,
    /// The OU ARN.
    pub arn: &'a str,
    /// The OU's name.
    pub name: &'a str,
    /// Names from the root, e.g. `Workloads/ML`.
    pub path: &'a str,
    /// The root or OU above it.
    pub parent_id: &'a str,
}

/// One account in the JSON document.
#[derive(Debug, Serialize)]
pub struct AccountView<'a> {
    /// The account id.
    pub id: &'a str,
    /// The account's name.
    pub name: &'a str,
    /// Its root email.
    pub email: &'a str,
    /// Its Organizations ARN.
    pub arn: &'a str,
    /// Its State.
    pub state: &'a AccountState,
    /// The root or OU it sits in.
    pub parent_id: &'a str,
    /// The path of that OU (empty at the root).
    pub ou_path: &'a str,
    /// Whether this is the management account (never a grantee).
    pub management: bool,
    /// Its tags.
    pub tags: &'a BTreeMap<String, String>,
}

/// Counts of the document.
#[derive(Debug, Serialize)]
pub struct Totals {
    /// OUs at any depth.
    pub organizational_units: usize,
    /// Accounts in any state.
    pub accounts: usize,
    /// Accounts per State.
    pub accounts_by_state: BTreeMap<String, usize>,
}

fn totals(tree: &OrgTree) -> Totals {
    let mut by_state = BTreeMap::new();
    for account in tree.accounts() {
        *by_state.entry(account.state.to_string()).or_default() += 1;
    }
    Totals {
        organizational_units: tree.units().count(),
        accounts: tree.accounts().count(),
        accounts_by_state: by_state,
    }
}

/// Builds the JSON document.
pub fn document(discovery: &Discovery) -> DiscoverDocument<'_> {
    let tree = &discovery.tree;
    let mut units: Vec<UnitView<'_>> = tree
        .units()
        .map(|unit| UnitView {
            id: unit.id.as_str(),
            arn: &unit.arn,
            name: unit.label(),
            path: tree.path_of(&unit.id).unwrap_or(""),
            parent_id: unit.parent.as_str(),
        })
        .collect();
    units.sort_by(|a, b| a.path.cmp(b.path));
    let accounts = tree
        .accounts()
        .map(|account| AccountView {
            id: account.id.as_str(),
            name: &account.name,
            email: &account.email,
            arn: &account.arn,
            state: &account.state,
            parent_id: account.parent.as_str(),
            ou_path: tree.parent_path(&account.parent),
            management: tree.is_management(&account.id),
            tags: &account.tags,
        })
        .collect();
    DiscoverDocument {
        format_version: FORMAT_VERSION,
        kind: "discover",
        organization: tree.organization(),
        root: tree.root(),
        organizational_units: units,
        accounts,
        totals: totals(tree),
        api_calls: &discovery.api_calls,
    }
}

/// Writes the indented tree, then a one-line summary.
pub fn human(
    out: &mut dyn Write,
    discovery: &Discovery,
    style: &Style,
    verbose: bool,
) -> io::Result<()> {
    let tree = &discovery.tree;
    let organization = tree.organization();
    let features = match &organization.feature_set {
        FeatureSet::All => "all features".to_owned(),
        FeatureSet::ConsolidatedBilling => "consolidated billing only".to_owned(),
        FeatureSet::Other(other) => other.clone(),
    };
    writeln!(
        out,
        "{} {} ({features}), management account {}",
        style.bold("Organization"),
        organization.id,
        organization.management_account
    )?;
    writeln!(
        out,
        "{} {}",
        style.bold(&tree.root().name),
        style.dim(&tree.root().id)
    )?;
    let root = ParentId::Root(tree.root().id.clone());
    write_children(out, tree, &root, "", style)?;
    let totals = totals(tree);
    let states: Vec<String> = totals
        .accounts_by_state
        .iter()
        .map(|(state, count)| format!("{count} {}", state.to_lowercase().replace('_', " ")))
        .collect();
    writeln!(out)?;
    writeln!(
        out,
        "{} OUs, {} accounts ({})",
        totals.organizational_units,
        totals.accounts,
        states.join(", ")
    )?;
    if verbose {
        let calls: u64 = discovery.api_calls.values().sum();
        let detail: Vec<String> = discovery
            .api_calls
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect();
        writeln!(out, "{calls} API calls: {}", detail.join(", "))?;
    }
    Ok(())
}

fn write_children(
    out: &mut dyn Write,
    tree: &OrgTree,
    parent: &ParentId,
    indent: &str,
    style: &Style,
) -> io::Result<()> {
    let units = tree.child_units(parent);
    let accounts = tree.child_accounts(parent);
    let total = units.len() + accounts.len();
    for (index, unit_id) in units.iter().enumerate() {
        let last = index + 1 == total;
        let Some(unit) = tree.unit(unit_id) else {
            continue;
        };
        let under = tree.accounts_under(&ParentId::Ou(unit_id.clone())).len();
        writeln!(
            out,
            "{indent}{}{}  {}  {}",
            if last { "└── " } else { "├── " },
            style.bold(unit.label()),
            style.dim(&unit.id),
            style.dim(format!(
                "({under} account{})",
                if under == 1 { "" } else { "s" }
            ))
        )?;
        let deeper = format!("{indent}{}", if last { "    " } else { "│   " });
        write_children(out, tree, &ParentId::Ou(unit_id.clone()), &deeper, style)?;
    }
    for (index, account_id) in accounts.iter().enumerate() {
        let last = units.len() + index + 1 == total;
        let Some(account) = tree.account(account_id) else {
            continue;
        };
        let state = match account.state {
            AccountState::Active => style.good(&account.state),
            _ => style.bad(&account.state),
        };
        let tags: Vec<String> = account
            .tags
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        let mut line = format!(
            "{indent}{}{}  {}  {state}",
            if last { "└── " } else { "├── " },
            account.id,
            account.name
        );
        if tree.is_management(&account.id) {
            line.push_str(&format!("  {}", style.dim("(management account)")));
        }
        if !tags.is_empty() {
            line.push_str(&format!("  {}", style.dim(tags.join(" "))));
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}
