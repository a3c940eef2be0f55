//! Organisation discovery: every account (and its tags when wanted) and the OUs a job needs, from
//! Organizations.
//!
//! Accounts come through ListAccounts (one page per 20 accounts), placed in the tree by their
//! `Paths`, which also give every OU that holds an account (by id). The OUs a job names are read
//! by name on top (`ou_reads.rs`); the whole tree (one ListOrganizationalUnitsForParent page per
//! 20 OUs per parent) only when the job needs every OU. Where the service does not return
//! `Paths` (older endpoints, moto), the whole tree is walked and accounts are listed per parent.
//! Pages are read with bounded concurrency, each operation paced just under its rate limit
//! (`pacing.rs`); throttling left over is absorbed by the SDK's retry policy built in `config.rs`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types as sdk;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::config::AwsClients;
use super::error::{AwsError, AwsErrorKind};
use super::ou_reads::{UnitReader, ou_ids_in_path};
use super::paging::all_pages;
use crate::model::{
    Account, AccountId, AccountState, FeatureSet, InvalidId, OrgId, OrgTree, OrgTreeError, OrgUnit,
    Organization, OuId, ParentId, Root, RootId, UnitScope,
};

pub(super) const SERVICE: &str = "organizations";
/// Organizations refuses larger pages.
pub(super) const PAGE_SIZE: i32 = 20;

/// What discovery should read besides the accounts.
#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    /// Read every account's tags (one ListTagsForResource call per account).
    pub tags: bool,
    /// Which OUs to read by name (`planner::reads` says which a plan needs).
    pub units: UnitScope,
    /// Pages in flight at once.
    pub concurrency: usize,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        Self {
            tags: true,
            units: UnitScope::Whole,
            concurrency: 8,
        }
    }
}

/// API calls made, per operation: what benchmarks compare with the minimum.
pub type ApiCalls = BTreeMap<&'static str, u64>;

/// The organisation as discovered, and what it cost.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The tree.
    pub tree: OrgTree,
    /// Calls made per operation (attempts that were retried count once).
    pub api_calls: ApiCalls,
    /// Whether accounts were placed by their `Paths` (true) or listed per parent (false).
    pub placed_by_paths: bool,
    /// Whether every OU was read (the whole tree walked), or only those the job named.
    pub every_unit: bool,
}

/// Why discovery failed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// The caller's account is not in an organisation.
    #[error("the account in use is not a member of an AWS Organization")]
    NotInOrganization(#[source] AwsError),
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The service returned an id that is not of the documented form.
    #[error("Organizations returned an unexpected identifier: {0}")]
    BadId(#[from] InvalidId),
    /// The service returned something required as absent.
    #[error("Organizations returned {0} without {1}")]
    Missing(&'static str, &'static str),
    /// The pieces do not form one tree.
    #[error("the organisation's structure is inconsistent: {0}")]
    Tree(#[from] OrgTreeError),
    /// A discovery task ended without an answer (it panicked or was cancelled).
    #[error("discovery stopped: {0}")]
    Stopped(String),
}

/// Counts calls per operation across concurrent tasks.
#[derive(Debug, Default, Clone)]
pub(super) struct Counter(Arc<Mutex<ApiCalls>>);

impl Counter {
    pub(super) fn add(&self, operation: &'static str) {
        if let Ok(mut calls) = self.0.lock() {
            *calls.entry(operation).or_default() += 1;
        }
    }

    fn take(&self) -> ApiCalls {
        self.0.lock().map(|calls| calls.clone()).unwrap_or_default()
    }
}

/// Hears how far discovery has got, for progress display.
pub trait DiscoverProgress: Send + Sync {
    /// Called whenever more of the organisation has been read.
    fn found(&self, units: usize, accounts: usize, tagged: usize);
}

/// A progress listener that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl DiscoverProgress for NoProgress {
    fn found(&self, _units: usize, _accounts: usize, _tagged: usize) {}
}

/// Discovers the whole organisation.
pub async fn discover(
    clients: &AwsClients,
    options: &DiscoverOptions,
    progress: &dyn DiscoverProgress,
) -> Result<Discovery, DiscoverError> {
    let client = clients.organizations.clone();
    let counter = Counter::default();
    let (organization, roots, first_accounts) = tokio::join!(
        describe_organization(&client, &counter),
        list_roots(&client, &counter),
        list_accounts_page(&client, &counter, None),
    );
    let organization = organization?;
    let root = roots?;
    let (mut first_accounts, mut accounts_token) = first_accounts?;
    // A page may be empty and still carry a token: read on until there is an account to look at.
    while first_accounts.is_empty() {
        let Some(token) = accounts_token.take() else {
            break;
        };
        (first_accounts, accounts_token) =
            list_accounts_page(&client, &counter, Some(token)).await?;
    }
    // Paths let one ListAccounts pass place every account; without them, list per parent.
    let placed_by_paths = first_accounts
        .iter()
        .all(|account| !account.paths().is_empty());
    let semaphore = Arc::new(Semaphore::new(options.concurrency.max(1)));
    if let (UnitScope::Some(reads), true) = (&options.units, placed_by_paths) {
        let start = Start {
            client,
            counter,
            semaphore,
            organization,
            root,
            first_accounts,
            accounts_token,
        };
        return discover_named(start, reads, options.tags, progress).await;
    }

    let mut tasks: JoinSet<Result<Found, DiscoverError>> = JoinSet::new();
    let root_parent = ParentId::Root(root.id.clone());
    spawn_units(
        &mut tasks,
        &client,
        &counter,
        &semaphore,
        root_parent.clone(),
    );
    let mut accounts: Vec<Account> = Vec::new();
    let mut units: Vec<OrgUnit> = Vec::new();
    let mut tags: BTreeMap<AccountId, BTreeMap<String, String>> = BTreeMap::new();

    if placed_by_paths {
        for account in &first_accounts {
            let account = convert_account(account, None)?;
            if options.tags {
                spawn_tags(
                    &mut tasks,
                    &client,
                    &counter,
                    &semaphore,
                    account.id.clone(),
                );
            }
            accounts.push(account);
        }
        // The remaining ListAccounts pages are sequential by nature (each needs the last token).
        let (client, counter) = (client.clone(), counter.clone());
        tasks.spawn(async move {
            let mut more = Vec::new();
            while let Some(token) = accounts_token.take() {
                let (page, next) = list_accounts_page(&client, &counter, Some(token)).await?;
                for account in &page {
                    more.push(convert_account(account, None)?);
                }
                accounts_token = next;
            }
            Ok(Found::Accounts(more))
        });
    } else {
        spawn_accounts(&mut tasks, &client, &counter, &semaphore, root_parent);
    }

    while let Some(joined) = tasks.join_next().await {
        let found = match joined {
            Ok(found) => found?,
            Err(join_error) => {
                return Err(DiscoverError::Aws(AwsError {
                    service: SERVICE,
                    operation: "discovery",
                    code: None,
                    message: format!("a discovery task stopped: {join_error}"),
                    request_id: None,
                    kind: AwsErrorKind::Other,
                }));
            }
        };
        match found {
            Found::Units(found_units) => {
                for unit in found_units {
                    let parent = ParentId::Ou(unit.id.clone());
                    spawn_units(&mut tasks, &client, &counter, &semaphore, parent.clone());
                    if !placed_by_paths {
                        spawn_accounts(&mut tasks, &client, &counter, &semaphore, parent);
                    }
                    units.push(unit);
                }
            }
            Found::Accounts(found_accounts) => {
                if options.tags {
                    for account in &found_accounts {
                        spawn_tags(
                            &mut tasks,
                            &client,
                            &counter,
                            &semaphore,
                            account.id.clone(),
                        );
                    }
                }
                accounts.extend(found_accounts);
            }
            Found::Tags(account, found_tags) => {
                tags.insert(account, found_tags);
            }
        }
        progress.found(units.len(), accounts.len(), tags.len());
    }
    for account in &mut accounts {
        if let Some(found_tags) = tags.remove(&account.id) {
            account.tags = found_tags;
        }
    }
    let tree = OrgTree::new(organization, root, units, accounts)?;
    Ok(Discovery {
        tree,
        api_calls: counter.take(),
        placed_by_paths,
        every_unit: true,
    })
}

/// Reads the tags of `accounts` (one ListTagsForResource each, `concurrency` at once) into the
/// discovered tree: for a job that knows whose tags it needs only once the accounts are known.
pub async fn add_tags(
    clients: &AwsClients,
    discovery: &mut Discovery,
    accounts: &std::collections::BTreeSet<AccountId>,
    concurrency: usize,
    progress: &dyn DiscoverProgress,
) -> Result<(), DiscoverError> {
    let (units, listed) = (
        discovery.tree.units().count(),
        discovery.tree.accounts().count(),
    );
    let client = clients.organizations.clone();
    let counter = Counter::default();
    let semaphore = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks: JoinSet<Result<Found, DiscoverError>> = JoinSet::new();
    for account in accounts {
        spawn_tags(&mut tasks, &client, &counter, &semaphore, account.clone());
    }
    let mut named = Vec::new();
    let mut tags = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        collect(joined, &mut named, &mut tags)?;
        progress.found(units, listed, tags.len());
    }
    for (account, found) in tags {
        discovery.tree.set_tags(&account, found);
    }
    for (operation, calls) in counter.take() {
        *discovery.api_calls.entry(operation).or_default() += calls;
    }
    Ok(())
}

/// What every discovery reads first, handed on to the discovery of named OUs.
struct Start {
    client: Client,
    counter: Counter,
    semaphore: Arc<Semaphore>,
    organization: Organization,
    root: Root,
    first_accounts: Vec<sdk::Account>,
    accounts_token: Option<String>,
}

/// Every account by its `Paths` (which give every OU holding one, unnamed), and the OUs in
/// `reads` by name: no OU is listed that the job did not name.
async fn discover_named(
    start: Start,
    reads: &[crate::model::UnitRead],
    with_tags: bool,
    progress: &dyn DiscoverProgress,
) -> Result<Discovery, DiscoverError> {
    let Start {
        client,
        counter,
        semaphore,
        organization,
        root,
        first_accounts,
        mut accounts_token,
    } = start;
    let root_parent = ParentId::Root(root.id.clone());
    let reader = UnitReader::new(
        client.clone(),
        counter.clone(),
        semaphore.clone(),
        root_parent.clone(),
        organization.clone(),
    );
    let mut tasks: JoinSet<Result<Found, DiscoverError>> = JoinSet::new();
    for read in reads {
        let (reader, read) = (reader.clone(), read.clone());
        tasks.spawn(async move { Ok(Found::Units(reader.read(read).await?)) });
    }
    let mut accounts: Vec<Account> = Vec::new();
    // Every OU on an account's path, unnamed; the OUs read by name replace them.
    let mut units: BTreeMap<OuId, OrgUnit> = BTreeMap::new();
    let place = |account: &sdk::Account,
                 accounts: &mut Vec<Account>,
                 units: &mut BTreeMap<OuId, OrgUnit>,
                 tasks: &mut JoinSet<Result<Found, DiscoverError>>|
     -> Result<(), DiscoverError> {
        let converted = convert_account(account, None)?;
        let mut parent = root_parent.clone();
        for id in account
            .paths()
            .first()
            .map_or_else(Vec::new, |path| ou_ids_in_path(path))
        {
            units.entry(id.clone()).or_insert_with(|| OrgUnit {
                arn: organization.ou_arn(&id),
                id: id.clone(),
                name: None,
                parent: parent.clone(),
            });
            parent = ParentId::Ou(id);
        }
        if with_tags {
            spawn_tags(tasks, &client, &counter, &semaphore, converted.id.clone());
        }
        accounts.push(converted);
        Ok(())
    };
    for account in &first_accounts {
        place(account, &mut accounts, &mut units, &mut tasks)?;
    }
    let mut named: Vec<OrgUnit> = Vec::new();
    let mut tags: BTreeMap<AccountId, BTreeMap<String, String>> = BTreeMap::new();
    // The remaining ListAccounts pages, one after the other (each needs the last token), while
    // the named OUs and the tags are read.
    while let Some(token) = accounts_token.take() {
        let (found, next) = list_accounts_page(&client, &counter, Some(token)).await?;
        for account in &found {
            place(account, &mut accounts, &mut units, &mut tasks)?;
        }
        accounts_token = next;
        while let Some(joined) = tasks.try_join_next() {
            collect(joined, &mut named, &mut tags)?;
        }
        progress.found(units.len(), accounts.len(), tags.len());
    }
    while let Some(joined) = tasks.join_next().await {
        collect(joined, &mut named, &mut tags)?;
        progress.found(units.len(), accounts.len(), tags.len());
    }
    for unit in named {
        units.insert(unit.id.clone(), unit);
    }
    for account in &mut accounts {
        if let Some(found_tags) = tags.remove(&account.id) {
            account.tags = found_tags;
        }
    }
    let tree = OrgTree::new(organization, root, units.into_values(), accounts)?;
    Ok(Discovery {
        tree,
        api_calls: counter.take(),
        placed_by_paths: true,
        every_unit: false,
    })
}

/// Files one finished task's OUs or tags.
fn collect(
    joined: Result<Result<Found, DiscoverError>, tokio::task::JoinError>,
    named: &mut Vec<OrgUnit>,
    tags: &mut BTreeMap<AccountId, BTreeMap<String, String>>,
) -> Result<(), DiscoverError> {
    match joined
        .map_err(|error| DiscoverError::Stopped(format!("a discovery task stopped: {error}")))??
    {
        Found::Units(units) => named.extend(units),
        Found::Tags(account, found) => {
            tags.insert(account, found);
        }
        Found::Accounts(_) => {}
    }
    Ok(())
}

/// What one discovery task brings back.
enum Found {
    Units(Vec<OrgUnit>),
    Accounts(Vec<Account>),
    Tags(AccountId, BTreeMap<String, String>),
}

fn spawn_units(
    tasks: &mut JoinSet<Result<Found, DiscoverError>>,
    client: &Client,
    counter: &Counter,
    semaphore: &Arc<Semaphore>,
    parent: ParentId,
) {
    let (client, counter, semaphore) = (client.clone(), counter.clone(), semaphore.clone());
    tasks.spawn(async move {
        let units = list_units(&client, &counter, &semaphore, &parent).await?;
        Ok(Found::Units(units))
    });
}

/// Every OU directly under `parent`: one ListOrganizationalUnitsForParent page after the
/// other, each waiting for a permit of `semaphore`.
pub(super) async fn list_units(
    client: &Client,
    counter: &Counter,
    semaphore: &Semaphore,
    parent: &ParentId,
) -> Result<Vec<OrgUnit>, DiscoverError> {
    let operation = "ListOrganizationalUnitsForParent";
    all_pages(|token| async move {
        let _permit = semaphore.acquire().await;
        counter.add(operation);
        let page = client
            .list_organizational_units_for_parent()
            .parent_id(parent.as_str())
            .max_results(PAGE_SIZE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(SERVICE, operation, error))?;
        let units = page
            .organizational_units()
            .iter()
            .map(|unit| convert_unit(unit, parent))
            .collect::<Result<Vec<_>, _>>()?;
        Ok::<_, DiscoverError>((units, page.next_token().map(str::to_owned)))
    })
    .await
}

fn spawn_accounts(
    tasks: &mut JoinSet<Result<Found, DiscoverError>>,
    client: &Client,
    counter: &Counter,
    semaphore: &Arc<Semaphore>,
    parent: ParentId,
) {
    let (client, counter, semaphore) = (client.clone(), counter.clone(), semaphore.clone());
    tasks.spawn(async move {
        let operation = "ListAccountsForParent";
        let (client, counter, semaphore, parent) = (&client, &counter, &semaphore, &parent);
        let accounts = all_pages(|token| async move {
            let _permit = semaphore.acquire().await;
            counter.add(operation);
            let page = client
                .list_accounts_for_parent()
                .parent_id(parent.as_str())
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|error| AwsError::from_sdk(SERVICE, operation, error))?;
            let accounts = page
                .accounts()
                .iter()
                .map(|account| convert_account(account, Some(parent)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, DiscoverError>((accounts, page.next_token().map(str::to_owned)))
        })
        .await?;
        Ok(Found::Accounts(accounts))
    });
}

fn spawn_tags(
    tasks: &mut JoinSet<Result<Found, DiscoverError>>,
    client: &Client,
    counter: &Counter,
    semaphore: &Arc<Semaphore>,
    account: AccountId,
) {
    let (client, counter, semaphore) = (client.clone(), counter.clone(), semaphore.clone());
    tasks.spawn(async move {
        let operation = "ListTagsForResource";
        let (client, counter, semaphore, id) = (&client, &counter, &semaphore, account.as_str());
        let tags = all_pages(|token| async move {
            let _permit = semaphore.acquire().await;
            counter.add(operation);
            let page = client
                .list_tags_for_resource()
                .resource_id(id)
                .set_next_token(token)
                .send()
                .await
                .map_err(|error| AwsError::from_sdk(SERVICE, operation, error))?;
            let tags = page
                .tags()
                .iter()
                .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
                .collect();
            Ok::<_, DiscoverError>((tags, page.next_token().map(str::to_owned)))
        })
        .await?;
        Ok(Found::Tags(account, tags.into_iter().collect()))
    });
}

async fn describe_organization(
    client: &Client,
    counter: &Counter,
) -> Result<Organization, DiscoverError> {
    let operation = "DescribeOrganization";
    counter.add(operation);
    let output = client
        .describe_organization()
        .send()
        .await
        .map_err(|error| {
            let error = AwsError::from_sdk(SERVICE, operation, error);
            if error.is_code("AWSOrganizationsNotInUseException") {
                DiscoverError::NotInOrganization(error)
            } else {
                DiscoverError::Aws(error)
            }
        })?;
    let organization = output.organization().ok_or(DiscoverError::Missing(
        "DescribeOrganization",
        "an Organization",
    ))?;
    let missing = |what| DiscoverError::Missing("the organization", what);
    Ok(Organization {
        id: OrgId::parse(organization.id().ok_or(missing("its Id"))?)?,
        arn: organization.arn().ok_or(missing("its Arn"))?.to_owned(),
        management_account: AccountId::parse(
            organization
                .master_account_id()
                .ok_or(missing("MasterAccountId"))?,
        )?,
        feature_set: FeatureSet::from_aws(
            organization
                .feature_set()
                .ok_or(missing("FeatureSet"))?
                .as_str(),
        ),
    })
}

/// DescribeOrganization alone (any member account may call it): for `doctor`.
pub async fn organization(clients: &AwsClients) -> Result<Organization, DiscoverError> {
    describe_organization(&clients.organizations, &Counter::default()).await
}

/// ListRoots alone: the organisation's root, for a job that needs no account.
pub async fn root(clients: &AwsClients) -> Result<Root, DiscoverError> {
    list_roots(&clients.organizations, &Counter::default()).await
}

async fn list_roots(client: &Client, counter: &Counter) -> Result<Root, DiscoverError> {
    let operation = "ListRoots";
    let roots = all_pages(|token| async move {
        counter.add(operation);
        let page = client
            .list_roots()
            .max_results(PAGE_SIZE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(SERVICE, operation, error))?;
        Ok::<_, DiscoverError>((page.roots().to_vec(), page.next_token().map(str::to_owned)))
    })
    .await?;
    // An organisation has exactly one root.
    let root = roots
        .first()
        .ok_or(DiscoverError::Missing("ListRoots", "a root"))?;
    let missing = |what| DiscoverError::Missing("the root", what);
    Ok(Root {
        id: RootId::parse(root.id().ok_or(missing("its Id"))?)?,
        arn: root.arn().ok_or(missing("its Arn"))?.to_owned(),
        name: root.name().unwrap_or("Root").to_owned(),
    })
}

async fn list_accounts_page(
    client: &Client,
    counter: &Counter,
    token: Option<String>,
) -> Result<(Vec<sdk::Account>, Option<String>), DiscoverError> {
    let operation = "ListAccounts";
    counter.add(operation);
    let page = client
        .list_accounts()
        .max_results(PAGE_SIZE)
        .set_next_token(token)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(SERVICE, operation, error))?;
    Ok((
        page.accounts().to_vec(),
        page.next_token().map(str::to_owned),
    ))
}

/// Converts an SDK OU listed under `parent`.
pub(super) fn convert_unit(
    unit: &sdk::OrganizationalUnit,
    parent: &ParentId,
) -> Result<OrgUnit, DiscoverError> {
    let missing = |what| DiscoverError::Missing("an OU", what);
    Ok(OrgUnit {
        id: OuId::parse(unit.id().ok_or(missing("its Id"))?)?,
        arn: unit.arn().ok_or(missing("its Arn"))?.to_owned(),
        name: Some(unit.name().ok_or(missing("its Name"))?.to_owned()),
        parent: parent.clone(),
    })
}

/// Converts an SDK account; its parent is the one it was listed under, or read from its path.
fn convert_account(
    account: &sdk::Account,
    listed_under: Option<&ParentId>,
) -> Result<Account, DiscoverError> {
    let missing = |what| DiscoverError::Missing("an account", what);
    let id = AccountId::parse(account.id().ok_or(missing("its Id"))?)?;
    let parent = match listed_under {
        Some(parent) => parent.clone(),
        None => parent_from_paths(account.paths()).ok_or(missing("a usable Paths entry"))??,
    };
    let state = match (account.state(), account.status()) {
        (Some(state), _) => AccountState::from_aws(state.as_str()),
        // Emulators that predate `State` still send the retired `Status`.
        (None, Some(status)) => AccountState::from_aws(status.as_str()),
        (None, None) => return Err(missing("its State")),
    };
    Ok(Account {
        id,
        name: account.name().unwrap_or_default().to_owned(),
        email: account.email().unwrap_or_default().to_owned(),
        arn: account.arn().ok_or(missing("its Arn"))?.to_owned(),
        state,
        parent,
        tags: BTreeMap::new(),
    })
}

/// The direct parent from an account path `o-x/r-y/ou-a/ou-b/111111111111/`: the segment
/// before the account id.
fn parent_from_paths(paths: &[String]) -> Option<Result<ParentId, InvalidId>> {
    let path = paths.first()?;
    let segments: Vec<&str> = path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let parent = match segments.as_slice() {
        [.., parent, last] if last.bytes().all(|b| b.is_ascii_digit()) => parent,
        [.., parent] => parent,
        [] => return None,
    };
    Some(ParentId::parse(parent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_is_read_from_the_account_path() {
        let paths =
            vec!["o-abc123/r-ab12/ou-ab12-aaaaaaaa/ou-ab12-bbbbbbbb/111111111111/".to_owned()];
        assert_eq!(
            parent_from_paths(&paths).unwrap().unwrap(),
            ParentId::parse("ou-ab12-bbbbbbbb").unwrap()
        );
        let at_root = vec!["o-abc123/r-ab12/111111111111/".to_owned()];
        assert_eq!(
            parent_from_paths(&at_root).unwrap().unwrap(),
            ParentId::parse("r-ab12").unwrap()
        );
        assert!(parent_from_paths(&[]).is_none());
    }
}
