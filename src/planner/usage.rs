//! `entitle usage`'s decisions: Cost Explorer's rows joined with each account's grant history (the
//! journal's sightings and deletions, License Manager's current statuses), split before and after
//! each account's activation and after its grant ended; the private and list rates per usage
//! type and where they were seen; the three flags; totals per phase. Pure: `today` comes in.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::activity::AccountActivity;
use super::diff::Observed;
use super::targets::resolve_targets;
use crate::model::grant::{LicenseStatus, Principal, account_of_principal_arn};
use crate::model::plan::{PlanFileErrors, RolloutPlan};
use crate::model::usage::{
    COST_PER_REQUEST_USD, CostAndUsage, CostQuery, CostRow, Date, GrantDeletion, GrantSighting,
};
use crate::model::{AccountId, OrgTree, ParentId};

/// Two rates closer than this (relative) are the same rate: Cost Explorer rounds amounts.
const SAME_RATE: f64 = 0.005;

/// Where the product's `SERVICE` name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceSource {
    /// entitle's product table (`src/model/bedrock.rs`) plus ` (Amazon Bedrock Edition)`.
    Catalog,
    /// The license's product name.
    License,
    /// `--service`.
    Flag,
}

/// What the report is made from.
#[derive(Debug, Clone, Copy)]
pub struct UsageInput<'a> {
    /// The rollout plan.
    pub rollout: &'a RolloutPlan,
    /// The organisation.
    pub tree: &'a OrgTree,
    /// The license and its grants as License Manager shows them now.
    pub observed: &'a Observed,
    /// The rollout journal's sightings of account statuses, in time order.
    pub sightings: &'a [GrantSighting],
    /// Grant deletions the rollout's and cleanup's journals recorded.
    pub deletions: &'a [GrantDeletion],
    /// Cost Explorer's answer.
    pub costs: &'a CostAndUsage,
    /// The query it answered.
    pub query: &'a CostQuery,
    /// Where the service name came from.
    pub service_source: ServiceSource,
    /// `--phase`: the phases up to and including this one.
    pub phase: Option<&'a str>,
    /// Today (UTC).
    pub today: Date,
}

/// Usage and spend over some periods.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Figures {
    /// `UsageQuantity`.
    pub quantity: f64,
    /// `UnblendedCost`.
    pub cost: f64,
    /// The effective rate, cost / quantity (none without usage).
    pub rate: Option<f64>,
    /// Whether any of it is estimated by Cost Explorer.
    pub estimated: bool,
}

/// Sums kept to Cost Explorer's precision (10 decimals), so no float noise reaches the report.
fn round(amount: f64) -> f64 {
    // `+ 0.0` turns the -0 an empty sum gives into 0.
    (amount * 1e10).round() / 1e10 + 0.0
}

impl Figures {
    fn add(&mut self, row: &CostRow) {
        self.quantity = round(self.quantity + row.quantity);
        self.cost = round(self.cost + row.cost);
        self.estimated |= row.estimated;
        self.rate = (self.quantity > 0.0).then(|| self.cost / self.quantity);
    }

    fn merge(&mut self, other: &Self) {
        self.quantity = round(self.quantity + other.quantity);
        self.cost = round(self.cost + other.cost);
        self.estimated |= other.estimated;
        self.rate = (self.quantity > 0.0).then(|| self.cost / self.quantity);
    }

    fn is_used(&self) -> bool {
        self.quantity > 0.0 || self.cost != 0.0
    }
}

/// Whether two rates are the same, give or take Cost Explorer's rounding.
pub fn same_rate(one: f64, other: f64) -> bool {
    (one - other).abs() <= SAME_RATE * one.abs().max(other.abs())
}

/// Where a reference rate was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateSource {
    /// The rate most accounts with an ACTIVE grant paid after their activation.
    ActiveGrants,
    /// The subscriber's (the management account's) rate.
    Subscriber,
    /// The rate most accounts paid without a grant (before activation, or outside the rollout).
    WithoutGrant,
}

/// A reference rate and where it was seen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// Cost per unit.
    pub rate: f64,
    /// Where it was seen.
    pub source: RateSource,
    /// In how many accounts.
    pub accounts: usize,
}

/// The reference rates of one usage type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageTypeRates {
    /// The usage type.
    pub usage_type: String,
    /// The private-offer rate: what every granted account should pay.
    pub private: Option<Rate>,
    /// The list rate: what accounts without a grant pay.
    pub list: Option<Rate>,
}

/// What an account is to the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A phase of the plan targets it.
    Targeted,
    /// No phase targets it.
    Outside,
    /// The management account: the subscriber, billed at the private rate by its own agreement.
    Subscriber,
}

/// How an account's grant ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndSource {
    /// A journal recorded the deletion of a grant that reached it.
    Deleted,
    /// The rollout's journal saw it lose its ACTIVE grant.
    Sighting,
}

/// An account's grant history, as far as entitle knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantHistory {
    /// Its best grant of the rollout now (License Manager); `None` without one.
    pub status: Option<String>,
    /// Whether it gives the private rate now: ACTIVE, and the license AVAILABLE.
    pub active: bool,
    /// The day the journal first saw it ACTIVE.
    pub active_since: Option<Date>,
    /// The day its grant ended after that (deleted, or seen no longer ACTIVE).
    pub ended: Option<Date>,
    /// How the end is known.
    pub ended_by: Option<EndSource>,
}

/// One usage type of one account, split by the account's grant history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageTypeUsage {
    /// The usage type.
    pub usage_type: String,
    /// Before its activation (or the whole window, for an account never active).
    pub before: Figures,
    /// Periods that span the activation or the end (monthly periods): not judged.
    pub spanning: Figures,
    /// From its activation day on (until the end).
    pub after: Figures,
    /// From the day its grant ended on.
    pub after_end: Figures,
    /// The whole window.
    pub total: Figures,
    /// The rate it should pay: the private rate, when known.
    pub expected_rate: Option<f64>,
}

/// What is wrong with an account's billing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// A targeted account pays the list price: its grant is not active, or it is and the rate did
    /// not change.
    PayingListPriceWhileTargeted,
    /// An account outside the rollout uses the model without a grant.
    UsingWithoutGrant,
    /// Usage after the account's grant ended (deleted, or the license cancelled).
    StillBilledAfterCleanup,
}

/// One flag on an account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    /// Which.
    pub kind: FlagKind,
    /// Why, in a sentence.
    pub reason: String,
    /// The spend concerned.
    pub cost: f64,
}

/// One account's usage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountUsage {
    /// The account.
    pub account: AccountId,
    /// Its name.
    pub name: String,
    /// What it is to the rollout.
    pub role: Role,
    /// The first phase that targets it.
    pub phase: Option<String>,
    /// Its grant.
    pub grant: GrantHistory,
    /// Whether it holds its own subscription of the product.
    pub own_subscription: bool,
    /// Its usage, per usage type (empty: no usage in the window).
    pub usage_types: Vec<UsageTypeUsage>,
    /// Its spend in the window.
    pub cost: f64,
    /// What is wrong.
    pub flags: Vec<Flag>,
}

/// The totals of a group of accounts: a phase, those outside the rollout, the subscriber.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupTotal {
    /// The phase's name, `outside the rollout` or `subscriber`.
    pub group: String,
    /// Accounts listed.
    pub accounts: usize,
    /// Accounts with usage.
    pub with_usage: usize,
    /// Accounts flagged.
    pub flagged: usize,
    /// Spend.
    pub cost: f64,
    /// Whether any of it is estimated.
    pub estimated: bool,
}

/// How much of the window Cost Explorer had data for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Periods in the answer.
    pub periods: usize,
    /// Periods with any usage.
    pub periods_with_usage: usize,
    /// The first and last day with usage.
    pub first_usage: Option<Date>,
    /// The last day with usage.
    pub last_usage: Option<Date>,
    /// The first period Cost Explorer marks estimated.
    pub estimated_from: Option<Date>,
    /// From this day on data may be missing yet (Cost Explorer lags about a day), when the window
    /// reaches it.
    pub may_lag_from: Option<Date>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageReport {
    /// The rollout.
    pub rollout: String,
    /// Its license.
    pub license_arn: String,
    /// The license's status now.
    pub license_status: String,
    /// The product id.
    pub product: String,
    /// Cost Explorer's `SERVICE` name of the product.
    pub service: String,
    /// Where that name came from.
    pub service_source: ServiceSource,
    /// The first day of the window.
    pub since: Date,
    /// The last day of the window.
    pub until: Date,
    /// Daily or monthly.
    pub granularity: crate::model::usage::Granularity,
    /// `--phase`, if given.
    pub phase: Option<String>,
    /// The day the report was made.
    pub today: Date,
    /// How much data there was.
    pub coverage: Coverage,
    /// Cost Explorer requests made (each page is one).
    pub requests: usize,
    /// What they cost, in USD.
    pub request_cost: f64,
    /// The currency of every cost (`USD`).
    pub currency: String,
    /// The reference rates per usage type.
    pub rates: Vec<UsageTypeRates>,
    /// Every account listed: targeted accounts (with usage or not), accounts using the model
    /// outside the rollout, the subscriber.
    pub accounts: Vec<AccountUsage>,
    /// Totals per phase, outside the rollout, and the subscriber.
    pub totals: Vec<GroupTotal>,
    /// Spend of every listed account.
    pub cost: f64,
    /// Accounts flagged.
    pub flagged: usize,
}

impl UsageReport {
    /// Whether anything is flagged (the command exits 1).
    pub fn is_flagged(&self) -> bool {
        self.flagged > 0
    }
}

/// The accounts a grant's principal reaches in the organisation now.
fn principal_accounts(principal: &str, tree: &OrgTree) -> Vec<AccountId> {
    if let Some(account) = account_of_principal_arn(principal) {
        return vec![account];
    }
    match Principal::from_arn(principal) {
        Some(Principal::Organization { .. }) => {
            tree.accounts().map(|account| account.id.clone()).collect()
        }
        Some(Principal::Ou { id, .. }) => tree
            .accounts_under(&ParentId::Ou(id))
            .into_iter()
            .map(|account| account.id.clone())
            .collect(),
        _ => Vec::new(),
    }
}

/// An account's first activation day, and the day (and how) its grant ended after that.
type History = (Option<Date>, Option<(Date, EndSource)>);

/// The grant history of every account the journals speak of.
fn histories(input: &UsageInput<'_>) -> BTreeMap<AccountId, History> {
    let mut sightings: BTreeMap<&AccountId, Vec<&GrantSighting>> = BTreeMap::new();
    for sighting in input.sightings {
        sightings
            .entry(&sighting.account)
            .or_default()
            .push(sighting);
    }
    let mut deleted: BTreeMap<AccountId, Vec<i64>> = BTreeMap::new();
    for deletion in input.deletions {
        for account in principal_accounts(&deletion.principal, input.tree) {
            deleted.entry(account).or_default().push(deletion.at);
        }
    }
    let mut accounts: BTreeSet<AccountId> = sightings.keys().map(|id| (*id).clone()).collect();
    accounts.extend(deleted.keys().cloned());
    let mut result = BTreeMap::new();
    for account in accounts {
        let seen = sightings
            .get(&account)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let active = |sighting: &GrantSighting| sighting.status.as_deref() == Some("ACTIVE");
        let first_active = seen
            .iter()
            .find(|sighting| active(sighting))
            .map(|sighting| sighting.at);
        let last_active = seen
            .iter()
            .rfind(|sighting| active(sighting))
            .map(|sighting| sighting.at);
        let end = last_active.and_then(|last| {
            let lost = seen
                .iter()
                .find(|sighting| sighting.at > last && !active(sighting))
                .map(|sighting| (sighting.at, EndSource::Sighting));
            let removed = deleted
                .get(&account)
                .and_then(|times| times.iter().filter(|at| **at >= last).min().copied())
                .map(|at| (at, EndSource::Deleted));
            match (lost, removed) {
                (Some(lost), Some(removed)) => {
                    Some(if removed.0 <= lost.0 { removed } else { lost })
                }
                (one, other) => one.or(other),
            }
        });
        result.insert(
            account,
            (
                first_active.map(Date::from_unix),
                end.map(|(at, source)| (Date::from_unix(at), source)),
            ),
        );
    }
    result
}

/// The rate most accounts share (ties: the lowest when `lowest`, else the highest), and how many.
fn common_rate(rates: &[f64], lowest: bool) -> Option<(f64, usize)> {
    let mut groups: Vec<(f64, usize)> = Vec::new();
    for rate in rates {
        match groups
            .iter_mut()
            .find(|(known, _)| same_rate(*known, *rate))
        {
            Some((_, count)) => *count += 1,
            None => groups.push((*rate, 1)),
        }
    }
    groups.into_iter().reduce(|best, candidate| {
        let better =
            candidate.1 > best.1 || (candidate.1 == best.1 && (candidate.0 < best.0) == lowest);
        if better { candidate } else { best }
    })
}

/// Which bucket a period falls in, for an account active from `active` and ended on `end`.
fn bucket(start: Date, end_exclusive: Date, active: Option<Date>, end: Option<Date>) -> usize {
    const BEFORE: usize = 0;
    const SPANNING: usize = 1;
    const AFTER: usize = 2;
    const AFTER_END: usize = 3;
    if let Some(end) = end {
        if start >= end {
            return AFTER_END;
        }
        if end_exclusive > end {
            return SPANNING;
        }
    }
    match active {
        None => BEFORE,
        Some(active) if end_exclusive <= active => BEFORE,
        Some(active) if start >= active => AFTER,
        Some(_) => SPANNING,
    }
}

fn money(currency: &str, amount: f64) -> String {
    format!("{currency} {amount:.2}")
}

/// Makes the report. Fails only on the plan's own problems (unknown OUs, ...).
pub fn usage_report(input: &UsageInput<'_>) -> Result<UsageReport, PlanFileErrors> {
    let UsageInput {
        rollout,
        tree,
        observed,
        costs,
        query,
        ..
    } = *input;
    let resolved = resolve_targets(rollout, tree)?;
    let end = input
        .phase
        .and_then(|name| resolved.iter().position(|phase| phase.name == name))
        .map_or(resolved.len(), |index| index + 1);
    let mut phase_of: BTreeMap<AccountId, String> = BTreeMap::new();
    for phase in &resolved[..end] {
        for account in &phase.targeted {
            phase_of
                .entry(account.clone())
                .or_insert_with(|| phase.name.clone());
        }
    }
    let targeted_anywhere: BTreeSet<&AccountId> =
        resolved.iter().flat_map(|phase| &phase.targeted).collect();
    let activity = AccountActivity::observe(&rollout.name, observed);
    let license_available = observed.license.status == LicenseStatus::Available;
    let histories = histories(input);
    let management = &tree.organization().management_account;

    let mut rows_of: BTreeMap<&AccountId, Vec<&CostRow>> = BTreeMap::new();
    for row in &costs.rows {
        rows_of.entry(&row.account).or_default().push(row);
    }
    // Listed: targeted accounts of the phases asked for, and every account with usage that no
    // phase targets (later phases' accounts are left to a report without `--phase`).
    let mut listed: BTreeSet<AccountId> = phase_of.keys().cloned().collect();
    for account in rows_of.keys() {
        if !targeted_anywhere.contains(account) || phase_of.contains_key(*account) {
            listed.insert((*account).clone());
        }
    }

    let mut accounts: Vec<AccountUsage> = Vec::new();
    for id in &listed {
        let role = if id == management {
            Role::Subscriber
        } else if targeted_anywhere.contains(id) {
            Role::Targeted
        } else {
            Role::Outside
        };
        let (active_since, ended) = histories.get(id).cloned().unwrap_or_default();
        let status = activity
            .best(id)
            .map(|(_, status)| status.as_str().to_owned());
        let active = activity.is_active(id) && license_available;
        let mut by_type: BTreeMap<&str, [Figures; 4]> = BTreeMap::new();
        for row in rows_of.get(id).map(Vec::as_slice).unwrap_or_default() {
            let slot = bucket(row.start, row.end, active_since, ended.map(|(day, _)| day));
            by_type.entry(row.usage_type.as_str()).or_default()[slot].add(row);
        }
        let usage_types = by_type
            .into_iter()
            .map(|(usage_type, [before, spanning, after, after_end])| {
                let mut total = Figures::default();
                for part in [&before, &spanning, &after, &after_end] {
                    total.merge(part);
                }
                UsageTypeUsage {
                    usage_type: usage_type.to_owned(),
                    before,
                    spanning,
                    after,
                    after_end,
                    total,
                    expected_rate: None,
                }
            })
            .filter(|usage| usage.total.is_used())
            .collect::<Vec<_>>();
        let name = tree
            .account(id)
            .map(|account| account.name.clone())
            .or_else(|| costs.account_names.get(id.as_str()).cloned())
            .unwrap_or_default();
        accounts.push(AccountUsage {
            account: id.clone(),
            name,
            role,
            phase: phase_of.get(id).cloned(),
            grant: GrantHistory {
                status,
                active,
                active_since,
                ended: ended.map(|(day, _)| day),
                ended_by: ended.map(|(_, source)| source),
            },
            own_subscription: observed.own_subscriptions.contains(id),
            cost: round(usage_types.iter().map(|usage| usage.total.cost).sum()),
            usage_types,
            flags: Vec::new(),
        });
    }

    let currency = costs
        .rows
        .iter()
        .map(|row| row.currency.as_str())
        .find(|currency| !currency.is_empty())
        .unwrap_or("USD")
        .to_owned();
    let rates = reference_rates(&accounts);
    for account in &mut accounts {
        for usage in &mut account.usage_types {
            usage.expected_rate = rates
                .get(usage.usage_type.as_str())
                .and_then(|rates| rates.private)
                .map(|private| private.rate);
        }
        account.flags = flags(account, &rates, &currency);
    }

    let totals = totals(&resolved[..end], &accounts);
    let flagged = accounts
        .iter()
        .filter(|account| !account.flags.is_empty())
        .count();
    Ok(UsageReport {
        rollout: rollout.name.clone(),
        license_arn: observed.license.arn.clone(),
        license_status: observed.license.status.as_str().to_owned(),
        product: observed.license.product_sku.clone(),
        service: query.service.clone(),
        service_source: input.service_source,
        since: query.start,
        until: query.end.add_days(-1),
        granularity: query.granularity,
        phase: input.phase.map(str::to_owned),
        today: input.today,
        coverage: coverage(costs, query, input.today),
        requests: costs.requests,
        request_cost: f64::from(u32::try_from(costs.requests).unwrap_or(u32::MAX))
            * COST_PER_REQUEST_USD,
        currency,
        rates: rates.into_values().collect(),
        cost: round(accounts.iter().map(|account| account.cost).sum()),
        accounts,
        totals,
        flagged,
    })
}

/// The private and list rates of every usage type seen.
fn reference_rates(accounts: &[AccountUsage]) -> BTreeMap<String, UsageTypeRates> {
    let mut private_seen: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut subscriber: BTreeMap<&str, f64> = BTreeMap::new();
    let mut list_seen: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut types: BTreeSet<&str> = BTreeSet::new();
    for account in accounts {
        for usage in &account.usage_types {
            let usage_type = usage.usage_type.as_str();
            types.insert(usage_type);
            match account.role {
                Role::Subscriber => {
                    if let Some(rate) = usage.total.rate {
                        subscriber.insert(usage_type, rate);
                    }
                }
                Role::Targeted | Role::Outside => {
                    if account.grant.active
                        && let Some(rate) = usage.after.rate
                    {
                        private_seen.entry(usage_type).or_default().push(rate);
                    }
                    // Without a grant: before any activation, never after one ended (the end
                    // may come with a rate of its own, the very thing to find out).
                    if account.grant.ended.is_none()
                        && let Some(rate) = usage.before.rate
                    {
                        list_seen.entry(usage_type).or_default().push(rate);
                    }
                }
            }
        }
    }
    types
        .into_iter()
        .map(|usage_type| {
            let list = common_rate(
                list_seen
                    .get(usage_type)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
                false,
            )
            .map(|(rate, accounts)| Rate {
                rate,
                source: RateSource::WithoutGrant,
                accounts,
            });
            let by_subscriber = subscriber.get(usage_type).map(|rate| Rate {
                rate: *rate,
                source: RateSource::Subscriber,
                accounts: 1,
            });
            let by_grants = common_rate(
                private_seen
                    .get(usage_type)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
                true,
            )
            .map(|(rate, accounts)| Rate {
                rate,
                source: RateSource::ActiveGrants,
                accounts,
            });
            // Granted accounts that all pay the list rate say nothing about the private rate:
            // the subscriber's, when it differs, is the better witness.
            let at_list = |rate: &Rate| list.is_some_and(|list| same_rate(rate.rate, list.rate));
            let private = match (by_grants, by_subscriber) {
                (Some(grants), Some(subscriber)) if at_list(&grants) && !at_list(&subscriber) => {
                    Some(subscriber)
                }
                (grants, subscriber) => grants.or(subscriber),
            };
            (
                usage_type.to_owned(),
                UsageTypeRates {
                    usage_type: usage_type.to_owned(),
                    private,
                    list,
                },
            )
        })
        .collect()
}

/// What is wrong with one account's billing.
fn flags(
    account: &AccountUsage,
    rates: &BTreeMap<String, UsageTypeRates>,
    currency: &str,
) -> Vec<Flag> {
    if account.role == Role::Subscriber || account.usage_types.is_empty() {
        return Vec::new();
    }
    let grant = &account.grant;
    let sum = |pick: fn(&UsageTypeUsage) -> &Figures| {
        let mut figures = Figures::default();
        for usage in &account.usage_types {
            figures.merge(pick(usage));
        }
        figures
    };
    let mut flags = Vec::new();
    if let Some(ended) = grant.ended {
        let after_end = sum(|usage| &usage.after_end);
        if after_end.is_used() {
            let how = match grant.ended_by {
                Some(EndSource::Deleted) => "its grant was deleted",
                _ => "its grant was seen no longer ACTIVE",
            };
            let at_private = account.usage_types.iter().all(|usage| {
                match (usage.after_end.rate, usage.expected_rate) {
                    (Some(rate), Some(private)) => same_rate(rate, private),
                    (None, _) => true,
                    (Some(_), None) => false,
                }
            });
            let rate = if at_private {
                "still at the private rate: check the license and the subscription"
            } else {
                "no longer at the private rate"
            };
            flags.push(Flag {
                kind: FlagKind::StillBilledAfterCleanup,
                reason: format!(
                    "{} {} of usage since {ended}, when {how}; {rate}",
                    money(currency, after_end.cost),
                    if after_end.estimated {
                        "(estimated)"
                    } else {
                        ""
                    }
                )
                .replace("  ", " "),
                cost: after_end.cost,
            });
        }
        return flags;
    }
    let total = sum(|usage| &usage.total);
    match account.role {
        Role::Targeted if !grant.active => {
            let why = match &grant.status {
                None => "it holds no grant of the rollout yet".to_owned(),
                Some(status) if status == "ACTIVE" => {
                    "its grant is ACTIVE but the license is not AVAILABLE".to_owned()
                }
                Some(status) => format!("its grant is {status}, not ACTIVE"),
            };
            flags.push(Flag {
                kind: FlagKind::PayingListPriceWhileTargeted,
                reason: format!(
                    "{} of usage in the window while {why}: billed at the list price",
                    money(currency, total.cost)
                ),
                cost: total.cost,
            });
        }
        Role::Targeted => {
            for usage in &account.usage_types {
                let Some(after) = usage.after.rate else {
                    continue;
                };
                let type_rates = rates.get(&usage.usage_type);
                let private = type_rates
                    .and_then(|rates| rates.private)
                    .map(|rate| rate.rate);
                let list = type_rates
                    .and_then(|rates| rates.list)
                    .map(|rate| rate.rate);
                let not_private = private.is_none_or(|private| !same_rate(after, private));
                let unchanged = usage
                    .before
                    .rate
                    .is_some_and(|before| same_rate(before, after));
                let at_list = list.is_some_and(|list| same_rate(after, list));
                if not_private && (unchanged || at_list) {
                    let since = grant
                        .active_since
                        .map_or_else(String::new, |day| format!(" on {day}"));
                    flags.push(Flag {
                        kind: FlagKind::PayingListPriceWhileTargeted,
                        reason: format!(
                            "activated{since} but `{}` still costs {} per unit ({})",
                            usage.usage_type,
                            rate_text(after),
                            if unchanged {
                                "the rate did not change"
                            } else {
                                "the list rate"
                            }
                        ),
                        cost: usage.after.cost,
                    });
                }
            }
        }
        Role::Outside if !grant.active => {
            let own = if account.own_subscription {
                " (it holds its own subscription of the product)"
            } else {
                ""
            };
            flags.push(Flag {
                kind: FlagKind::UsingWithoutGrant,
                reason: format!(
                    "{} of usage in the window, and no phase of the plan targets it{own}",
                    money(currency, total.cost)
                ),
                cost: total.cost,
            });
        }
        Role::Outside | Role::Subscriber => {}
    }
    flags
}

/// A rate for people: enough significant digits to tell a private rate from the list rate.
pub fn rate_text(rate: f64) -> String {
    if rate == 0.0 {
        return "0".to_owned();
    }
    let digits = 6 - (rate.abs().log10().floor() as i32) - 1;
    let decimals = usize::try_from(digits.clamp(0, 12)).unwrap_or(0);
    let text = format!("{rate:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Totals per phase (in plan order), outside the rollout, and the subscriber.
fn totals(phases: &[super::ResolvedPhase], accounts: &[AccountUsage]) -> Vec<GroupTotal> {
    let total = |group: &str, members: Vec<&AccountUsage>| GroupTotal {
        group: group.to_owned(),
        accounts: members.len(),
        with_usage: members
            .iter()
            .filter(|account| !account.usage_types.is_empty())
            .count(),
        flagged: members
            .iter()
            .filter(|account| !account.flags.is_empty())
            .count(),
        cost: round(members.iter().map(|account| account.cost).sum()),
        estimated: members.iter().any(|account| {
            account
                .usage_types
                .iter()
                .any(|usage| usage.total.estimated)
        }),
    };
    let mut groups: Vec<GroupTotal> = phases
        .iter()
        .map(|phase| {
            total(
                &phase.name,
                accounts
                    .iter()
                    .filter(|account| account.phase.as_deref() == Some(phase.name.as_str()))
                    .collect(),
            )
        })
        .collect();
    for (group, role) in [
        ("outside the rollout", Role::Outside),
        ("subscriber", Role::Subscriber),
    ] {
        let members: Vec<&AccountUsage> = accounts
            .iter()
            .filter(|account| account.role == role && account.phase.is_none())
            .collect();
        if !members.is_empty() {
            groups.push(total(group, members));
        }
    }
    groups
}

/// How much of the window has data, what is estimated, and from when data may lag.
fn coverage(costs: &CostAndUsage, query: &CostQuery, today: Date) -> Coverage {
    let used = |row: &&CostRow| row.quantity > 0.0 || row.cost != 0.0;
    let yesterday = today.add_days(-1);
    Coverage {
        periods: costs.periods.len(),
        periods_with_usage: costs
            .periods
            .iter()
            .filter(|period| {
                costs
                    .rows
                    .iter()
                    .filter(used)
                    .any(|row| row.start == period.start)
            })
            .count(),
        first_usage: costs.rows.iter().filter(used).map(|row| row.start).min(),
        last_usage: costs
            .rows
            .iter()
            .filter(used)
            .map(|row| row.end.add_days(-1))
            .max(),
        estimated_from: costs
            .periods
            .iter()
            .filter(|period| period.estimated)
            .map(|period| period.start)
            .min(),
        may_lag_from: (query.end > yesterday).then(|| yesterday.max(query.start)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::float_cmp)]

    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::model::grant::{
        DistributedGrant, GrantStatus, LicenseInfo, Operation, TAG_PHASE, TAG_ROLLOUT,
    };
    use crate::model::usage::{CostPeriod, Granularity};
    use crate::planner::diff::fixtures::{LICENSE, tree};

    const INPUT: &str = "USE1-MP:USE1_InputTokenCount-Units";
    const OUTPUT: &str = "USE1-MP:USE1_OutputTokenCount-Units";
    const LIST: f64 = 0.000_003;
    const PRIVATE: f64 = 0.000_002;

    fn id(text: &str) -> AccountId {
        AccountId::parse(text).unwrap()
    }

    fn day(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    /// Seconds since the epoch at noon of `text`.
    fn noon(text: &str) -> i64 {
        day(text).days_until(day("1970-01-01")) * -86_400 + 43_200
    }

    /// Pilot: 111111111111; then the rest of Workloads (222222222222). Sandbox is outside.
    fn rollout() -> RolloutPlan {
        crate::model::parse_plan(
            "version = 1\nname = \"r\"\n\n[entitlement]\nproduct = \"prod-a\"\n\n\
             [[phase]]\nname = \"pilot\"\naccounts = [\"111111111111\"]\n\n\
             [[phase]]\nname = \"workloads\"\nous = [\"Workloads\"]\n",
            "r.toml",
        )
        .unwrap()
    }

    fn account_grant(number: u32, account: &str, status: GrantStatus) -> DistributedGrant {
        DistributedGrant {
            arn: format!("arn:aws:license-manager::100000000001:grant:g-{number}"),
            name: "entitle/r/pilot".into(),
            principal_arn: format!("arn:aws:iam::{account}:root"),
            status,
            status_reason: None,
            version: "1".into(),
            granted_operations: [Operation::CheckoutLicense].into(),
            tags: [
                (TAG_ROLLOUT.to_owned(), "r".to_owned()),
                (TAG_PHASE.to_owned(), "pilot".to_owned()),
            ]
            .into(),
            license_arn: LICENSE.into(),
        }
    }

    fn observed(grants: Vec<DistributedGrant>, status: LicenseStatus) -> Observed {
        Observed {
            license: LicenseInfo {
                arn: LICENSE.into(),
                product_sku: "prod-a".into(),
                product_name: "A".into(),
                status,
                allowed_operations: [Operation::CheckoutLicense].into(),
                issuer: "AWS/Marketplace".into(),
                home_region: "us-east-1".into(),
            },
            grants,
            received: Vec::new(),
            own_subscriptions: BTreeSet::new(),
        }
    }

    /// One daily row: `units` of `usage_type` on `date` at `rate`.
    fn row(account: &str, usage_type: &str, date: &str, units: f64, rate: f64) -> CostRow {
        CostRow {
            account: id(account),
            usage_type: usage_type.into(),
            start: day(date),
            end: day(date).add_days(1),
            cost: units * rate,
            currency: "USD".into(),
            quantity: units,
            estimated: false,
        }
    }

    fn costs(rows: Vec<CostRow>, start: &str, days: i64) -> CostAndUsage {
        CostAndUsage {
            periods: (0..days)
                .map(|offset| CostPeriod {
                    start: day(start).add_days(offset),
                    end: day(start).add_days(offset + 1),
                    estimated: false,
                    groups: 0,
                })
                .collect(),
            rows,
            account_names: BTreeMap::new(),
            requests: 1,
        }
    }

    fn query(start: &str, days: i64) -> CostQuery {
        CostQuery {
            start: day(start),
            end: day(start).add_days(days),
            granularity: Granularity::Daily,
            service: "A (Amazon Bedrock Edition)".into(),
        }
    }

    struct World {
        tree: OrgTree,
        rollout: RolloutPlan,
        observed: Observed,
        sightings: Vec<GrantSighting>,
        deletions: Vec<GrantDeletion>,
        costs: CostAndUsage,
        query: CostQuery,
        today: Date,
    }

    impl World {
        /// The pilot account was seen ACTIVE at noon on 2026-11-10; the window is November 1-20.
        fn new(rows: Vec<CostRow>) -> Self {
            Self {
                tree: tree(),
                rollout: rollout(),
                observed: observed(
                    vec![account_grant(1, "111111111111", GrantStatus::Active)],
                    LicenseStatus::Available,
                ),
                sightings: vec![
                    GrantSighting {
                        account: id("111111111111"),
                        at: noon("2026-11-09"),
                        status: Some("DISABLED".into()),
                    },
                    GrantSighting {
                        account: id("111111111111"),
                        at: noon("2026-11-10"),
                        status: Some("ACTIVE".into()),
                    },
                ],
                deletions: Vec::new(),
                costs: costs(rows, "2026-11-01", 20),
                query: query("2026-11-01", 20),
                today: day("2026-11-23"),
            }
        }

        fn report(&self, phase: Option<&str>) -> UsageReport {
            usage_report(&UsageInput {
                rollout: &self.rollout,
                tree: &self.tree,
                observed: &self.observed,
                sightings: &self.sightings,
                deletions: &self.deletions,
                costs: &self.costs,
                query: &self.query,
                service_source: ServiceSource::Catalog,
                phase,
                today: self.today,
            })
            .unwrap()
        }
    }

    fn account<'a>(report: &'a UsageReport, account: &str) -> &'a AccountUsage {
        report
            .accounts
            .iter()
            .find(|listed| listed.account.as_str() == account)
            .unwrap_or_else(|| panic!("{account} is not listed"))
    }

    fn kinds(account: &AccountUsage) -> Vec<FlagKind> {
        account.flags.iter().map(|flag| flag.kind).collect()
    }

    #[test]
    fn the_pilot_rate_changes_at_its_activation_and_nothing_is_flagged() {
        let world = World::new(vec![
            row("111111111111", INPUT, "2026-11-08", 1000.0, LIST),
            row("111111111111", INPUT, "2026-11-09", 1000.0, LIST),
            // The activation day counts after it.
            row("111111111111", INPUT, "2026-11-10", 2000.0, PRIVATE),
            row("111111111111", INPUT, "2026-11-15", 3000.0, PRIVATE),
        ]);
        let report = world.report(None);
        let pilot = account(&report, "111111111111");
        assert_eq!(pilot.role, Role::Targeted);
        assert_eq!(pilot.phase.as_deref(), Some("pilot"));
        assert_eq!(pilot.grant.active_since, Some(day("2026-11-10")));
        assert!(pilot.grant.active);
        let input = &pilot.usage_types[0];
        assert_eq!(input.before.quantity, 2000.0);
        assert!(same_rate(input.before.rate.unwrap(), LIST));
        assert_eq!(input.after.quantity, 5000.0);
        assert!(same_rate(input.after.rate.unwrap(), PRIVATE));
        assert_eq!(input.spanning, Figures::default());
        assert!(same_rate(input.expected_rate.unwrap(), PRIVATE));
        assert!(pilot.flags.is_empty(), "{:?}", pilot.flags);
        let rates = &report.rates[0];
        assert_eq!(rates.private.unwrap().source, RateSource::ActiveGrants);
        assert_eq!(rates.list.unwrap().source, RateSource::WithoutGrant);
        assert!(same_rate(rates.list.unwrap().rate, LIST));
        assert_eq!(report.flagged, 0);
        assert!(!report.is_flagged());
        // The later phase's account has no usage: listed as such.
        let later = account(&report, "222222222222");
        assert!(later.usage_types.is_empty() && later.flags.is_empty());
        assert_eq!(later.cost, 0.0);
        // The totals follow the phases, in plan order.
        let groups: Vec<&str> = report
            .totals
            .iter()
            .map(|total| total.group.as_str())
            .collect();
        assert_eq!(groups, ["pilot", "workloads"]);
        assert_eq!(report.totals[0].with_usage, 1);
        assert!((report.totals[0].cost - (2000.0 * LIST + 5000.0 * PRIVATE)).abs() < 1e-9);
        assert_eq!(report.totals[1].accounts, 1);
        assert_eq!(report.totals[1].with_usage, 0);
        assert_eq!(report.requests, 1);
        assert!((report.request_cost - 0.01).abs() < 1e-12);
    }

    #[test]
    fn a_later_phase_using_the_model_before_its_grant_pays_list_price() {
        let world = World::new(vec![
            row("111111111111", INPUT, "2026-11-15", 1000.0, PRIVATE),
            row("222222222222", INPUT, "2026-11-15", 500.0, LIST),
        ]);
        let report = world.report(None);
        let later = account(&report, "222222222222");
        assert_eq!(kinds(later), [FlagKind::PayingListPriceWhileTargeted]);
        assert!(
            later.flags[0]
                .reason
                .contains("no grant of the rollout yet"),
            "{}",
            later.flags[0].reason
        );
        assert_eq!(report.flagged, 1);
        assert_eq!(report.totals[1].flagged, 1);
        // `--phase pilot` leaves the later phase out.
        let pilot_only = world.report(Some("pilot"));
        assert!(
            pilot_only
                .accounts
                .iter()
                .all(|listed| listed.account.as_str() != "222222222222")
        );
        assert_eq!(pilot_only.flagged, 0);
    }

    #[test]
    fn a_disabled_grant_or_an_unchanged_rate_pays_list_price() {
        let mut world = World::new(vec![
            row("111111111111", INPUT, "2026-11-08", 1000.0, LIST),
            row("111111111111", INPUT, "2026-11-12", 1000.0, LIST),
            // The subscriber pays the private rate.
            row("100000000001", INPUT, "2026-11-12", 1000.0, PRIVATE),
        ]);
        let report = world.report(None);
        let pilot = account(&report, "111111111111");
        assert_eq!(kinds(pilot), [FlagKind::PayingListPriceWhileTargeted]);
        assert!(
            pilot.flags[0].reason.contains("the rate did not change"),
            "{}",
            pilot.flags[0].reason
        );
        // The only granted account pays the list rate: the subscriber's rate is the private one.
        let private = report.rates[0].private.unwrap();
        assert_eq!(private.source, RateSource::Subscriber);
        assert!(same_rate(private.rate, PRIVATE));
        let subscriber = account(&report, "100000000001");
        assert_eq!(subscriber.role, Role::Subscriber);
        assert!(subscriber.flags.is_empty());
        assert_eq!(report.totals.last().unwrap().group, "subscriber");

        world.observed = observed(
            vec![account_grant(1, "111111111111", GrantStatus::Disabled)],
            LicenseStatus::Available,
        );
        world.sightings.truncate(1);
        let report = world.report(None);
        let pilot = account(&report, "111111111111");
        assert_eq!(kinds(pilot), [FlagKind::PayingListPriceWhileTargeted]);
        assert!(
            pilot.flags[0].reason.contains("DISABLED, not ACTIVE"),
            "{}",
            pilot.flags[0].reason
        );
    }

    #[test]
    fn accounts_outside_the_rollout_use_the_model_without_a_grant() {
        let mut world = World::new(vec![
            row("333333333333", OUTPUT, "2026-11-03", 10.0, LIST),
            row("444444444444", OUTPUT, "2026-11-04", 10.0, LIST),
        ]);
        world
            .costs
            .account_names
            .insert("444444444444".into(), "left-the-org".into());
        world.observed.own_subscriptions.insert(id("333333333333"));
        let report = world.report(None);
        let sandbox = account(&report, "333333333333");
        assert_eq!(sandbox.role, Role::Outside);
        assert_eq!(kinds(sandbox), [FlagKind::UsingWithoutGrant]);
        assert!(sandbox.flags[0].reason.contains("its own subscription"));
        let gone = account(&report, "444444444444");
        assert_eq!(gone.name, "left-the-org");
        assert_eq!(kinds(gone), [FlagKind::UsingWithoutGrant]);
        let outside = report
            .totals
            .iter()
            .find(|total| total.group == "outside the rollout")
            .unwrap();
        assert_eq!((outside.accounts, outside.flagged), (2, 2));
    }

    #[test]
    fn usage_after_the_grant_was_deleted_is_still_billed_after_cleanup() {
        let mut world = World::new(vec![
            row("111111111111", INPUT, "2026-11-12", 1000.0, PRIVATE),
            // Deleted on the 15th: that day counts after the end.
            row("111111111111", INPUT, "2026-11-15", 1000.0, LIST),
            row("111111111111", INPUT, "2026-11-16", 1000.0, LIST),
        ]);
        world.observed = observed(Vec::new(), LicenseStatus::Deleted);
        world.deletions = vec![GrantDeletion {
            principal: "arn:aws:iam::111111111111:root".into(),
            grant_arn: Some("arn:aws:license-manager::100000000001:grant:g-1".into()),
            at: noon("2026-11-15"),
        }];
        let report = world.report(None);
        let pilot = account(&report, "111111111111");
        assert_eq!(pilot.grant.ended, Some(day("2026-11-15")));
        assert_eq!(pilot.grant.ended_by, Some(EndSource::Deleted));
        assert!(!pilot.grant.active);
        let input = &pilot.usage_types[0];
        assert_eq!(input.after.quantity, 1000.0);
        assert_eq!(input.after_end.quantity, 2000.0);
        assert_eq!(kinds(pilot), [FlagKind::StillBilledAfterCleanup]);
        assert!(
            pilot.flags[0]
                .reason
                .contains("no longer at the private rate"),
            "{}",
            pilot.flags[0].reason
        );
        assert!(pilot.flags[0].reason.contains("since 2026-11-15"));

        // An organisation grant's deletion ends every account's, and a sighting of the account
        // without its grant ends it too (whichever came first).
        world.deletions[0].principal =
            "arn:aws:organizations::100000000001:organization/o-test123456".into();
        world.deletions[0].at = noon("2026-11-18");
        world.sightings.push(GrantSighting {
            account: id("111111111111"),
            at: noon("2026-11-14"),
            status: None,
        });
        let report = world.report(None);
        let pilot = account(&report, "111111111111");
        assert_eq!(pilot.grant.ended, Some(day("2026-11-14")));
        assert_eq!(pilot.grant.ended_by, Some(EndSource::Sighting));
    }

    #[test]
    fn monthly_periods_that_span_an_activation_are_kept_apart() {
        let mut world = World::new(Vec::new());
        let month = |account: &str, start: &str, end: &str, units: f64, rate: f64| CostRow {
            account: id(account),
            usage_type: INPUT.into(),
            start: day(start),
            end: day(end),
            cost: units * rate,
            currency: "USD".into(),
            quantity: units,
            estimated: true,
        };
        world.costs.rows = vec![
            month("111111111111", "2026-10-01", "2026-11-01", 100.0, LIST),
            month("111111111111", "2026-11-01", "2026-12-01", 100.0, PRIVATE),
        ];
        let report = world.report(None);
        let input = &account(&report, "111111111111").usage_types[0];
        assert_eq!(input.before.quantity, 100.0);
        assert_eq!(input.spanning.quantity, 100.0);
        assert_eq!(input.after, Figures::default());
        assert!(input.total.estimated);
        assert!(account(&report, "111111111111").flags.is_empty());
    }

    #[test]
    fn the_buckets_split_at_the_activation_day_and_the_end_day() {
        let (activation, end) = (day("2026-11-10"), day("2026-11-15"));
        let at = |start: &str, days: i64| {
            bucket(
                day(start),
                day(start).add_days(days),
                Some(activation),
                Some(end),
            )
        };
        assert_eq!(at("2026-11-09", 1), 0);
        assert_eq!(at("2026-11-10", 1), 2);
        assert_eq!(at("2026-11-14", 1), 2);
        assert_eq!(at("2026-11-15", 1), 3);
        assert_eq!(at("2026-11-09", 2), 1);
        assert_eq!(at("2026-11-14", 2), 1);
        assert_eq!(bucket(day("2026-11-20"), day("2026-11-21"), None, None), 0);
    }

    #[test]
    fn a_window_without_data_says_so_and_when_data_may_lag() {
        let mut world = World::new(Vec::new());
        world.today = day("2026-11-20");
        let report = world.report(None);
        assert_eq!(report.coverage.first_usage, None);
        assert_eq!(report.coverage.periods, 20);
        assert_eq!(report.coverage.periods_with_usage, 0);
        assert_eq!(report.coverage.may_lag_from, Some(day("2026-11-19")));
        assert_eq!(report.flagged, 0);
        assert_eq!(report.until, day("2026-11-20"));
        world.today = day("2026-12-20");
        assert_eq!(world.report(None).coverage.may_lag_from, None);
    }

    #[test]
    fn the_common_rate_wins_and_rates_print_with_six_significant_digits() {
        let rates = [PRIVATE, PRIVATE * 1.001, LIST];
        assert_eq!(common_rate(&rates, true).unwrap().1, 2);
        assert_eq!(common_rate(&[LIST, PRIVATE], true).unwrap().0, PRIVATE);
        assert_eq!(common_rate(&[LIST, PRIVATE], false).unwrap().0, LIST);
        assert_eq!(common_rate(&[], true), None);
        assert_eq!(rate_text(0.000_003), "0.000003");
        assert_eq!(rate_text(0.000_002_5), "0.0000025");
        assert_eq!(rate_text(12.5), "12.5");
        assert_eq!(rate_text(0.0), "0");
        assert!(same_rate(1.0, 1.004) && !same_rate(1.0, 1.01));
    }

    #[test]
    fn each_flag_s_reason_names_the_spend_and_the_cause() {
        let mut world = World::new(vec![
            row("111111111111", INPUT, "2026-11-12", 1_000_000.0, LIST),
            row("222222222222", INPUT, "2026-11-12", 1_000_000.0, LIST),
            row("333333333333", INPUT, "2026-11-12", 2_000_000.0, LIST),
            row("100000000001", INPUT, "2026-11-12", 1_000_000.0, PRIVATE),
        ]);
        world.observed.own_subscriptions.insert(id("333333333333"));
        let report = world.report(None);
        let reasons = |account_id: &str| -> Vec<String> {
            account(&report, account_id)
                .flags
                .iter()
                .map(|flag| flag.reason.clone())
                .collect()
        };
        assert_eq!(
            reasons("111111111111"),
            [
                "activated on 2026-11-10 but `USE1-MP:USE1_InputTokenCount-Units` still costs 0.000003 per unit (the list rate)"
            ]
        );
        assert_eq!(
            reasons("222222222222"),
            [
                "USD 3.00 of usage in the window while it holds no grant of the rollout yet: billed at the list price"
            ]
        );
        assert_eq!(
            reasons("333333333333"),
            [
                "USD 6.00 of usage in the window, and no phase of the plan targets it (it holds its own subscription of the product)"
            ]
        );
        assert_eq!(account(&report, "333333333333").flags[0].cost, 6.0);
        assert_eq!(report.flagged, 3);
        assert!(report.is_flagged());
        assert_eq!(report.cost, 14.0);
        assert_eq!(report.currency, "USD");
        // An ACTIVE grant of a license no longer AVAILABLE gives no private rate.
        world.observed.license.status = LicenseStatus::Expired;
        let report = world.report(None);
        let pilot = account(&report, "111111111111");
        assert!(!pilot.grant.active);
        assert_eq!(pilot.grant.status.as_deref(), Some("ACTIVE"));
        assert_eq!(
            pilot.flags[0].reason,
            "USD 3.00 of usage in the window while its grant is ACTIVE but the license is not AVAILABLE: billed at the list price"
        );
        assert_eq!(report.license_status, "EXPIRED");
    }

    #[test]
    fn usage_after_the_end_at_the_private_rate_says_to_check_the_license() {
        let mut world = World::new(vec![
            row("111111111111", INPUT, "2026-11-12", 1_000_000.0, PRIVATE),
            row("111111111111", INPUT, "2026-11-16", 1_000_000.0, PRIVATE),
            row("222222222222", INPUT, "2026-11-12", 1_000_000.0, PRIVATE),
        ]);
        world.costs.rows[1].estimated = true;
        world.observed = observed(
            vec![account_grant(2, "222222222222", GrantStatus::Active)],
            LicenseStatus::Available,
        );
        world.sightings.push(GrantSighting {
            account: id("222222222222"),
            at: noon("2026-11-01"),
            status: Some("ACTIVE".into()),
        });
        // Seen without its grant on the 15th, after a last ACTIVE sighting on the 14th.
        world.sightings.push(GrantSighting {
            account: id("111111111111"),
            at: noon("2026-11-14"),
            status: Some("ACTIVE".into()),
        });
        world.sightings.push(GrantSighting {
            account: id("111111111111"),
            at: noon("2026-11-15"),
            status: Some("DISABLED".into()),
        });
        let report = world.report(None);
        let pilot = account(&report, "111111111111");
        assert_eq!(pilot.grant.active_since, Some(day("2026-11-10")));
        assert_eq!(pilot.grant.ended, Some(day("2026-11-15")));
        assert_eq!(pilot.grant.ended_by, Some(EndSource::Sighting));
        assert_eq!(
            pilot.flags[0].reason,
            "USD 2.00 (estimated) of usage since 2026-11-15, when its grant was seen no longer ACTIVE; still at the private rate: check the license and the subscription"
        );
        assert_eq!(pilot.flags[0].cost, 2.0);
        // A deletion before the last ACTIVE sighting is not the end.
        world.deletions = vec![GrantDeletion {
            principal: format!(
                "arn:aws:organizations::100000000001:ou/o-test123456/{}",
                crate::planner::diff::fixtures::WORKLOADS
            ),
            grant_arn: None,
            at: noon("2026-11-13"),
        }];
        let report = world.report(None);
        assert_eq!(
            account(&report, "111111111111").grant.ended_by,
            Some(EndSource::Sighting)
        );
        // An OU grant's deletion reaches the accounts under it, here before the sighting.
        world.deletions[0].at = noon("2026-11-14") + 60;
        let report = world.report(None);
        let pilot = account(&report, "111111111111");
        assert_eq!(pilot.grant.ended, Some(day("2026-11-14")));
        assert_eq!(pilot.grant.ended_by, Some(EndSource::Deleted));
        assert!(
            pilot.flags[0]
                .reason
                .contains("when its grant was deleted;")
        );
        let other = account(&report, "222222222222");
        assert_eq!(other.grant.ended, Some(day("2026-11-14")));
        // So does the organisation grant's, to every account.
        world.deletions[0].principal =
            "arn:aws:organizations::100000000001:organization/o-test123456".into();
        let report = world.report(None);
        let pilot = account(&report, "111111111111");
        assert_eq!(pilot.grant.ended_by, Some(EndSource::Deleted));
        assert_eq!(
            account(&report, "222222222222").grant.ended,
            Some(day("2026-11-14"))
        );
    }

    #[test]
    fn fees_without_units_count_and_empty_rows_do_not() {
        let mut world = World::new(vec![
            row("111111111111", INPUT, "2026-11-03", 0.0, 0.0),
            row("111111111111", OUTPUT, "2026-11-04", 1000.0, 0.0),
        ]);
        world.costs.rows.push(CostRow {
            cost: 1.5,
            ..row("111111111111", "USE1-MP:Fee", "2026-11-05", 0.0, 0.0)
        });
        let report = world.report(None);
        let pilot = account(&report, "111111111111");
        let types: Vec<&str> = pilot
            .usage_types
            .iter()
            .map(|usage| usage.usage_type.as_str())
            .collect();
        assert_eq!(types, ["USE1-MP:Fee", OUTPUT]);
        assert_eq!(pilot.usage_types[0].total.rate, None);
        assert_eq!(pilot.usage_types[0].before.rate, None);
        assert_eq!(pilot.usage_types[0].before.cost, 1.5);
        assert_eq!(pilot.usage_types[1].total.rate, Some(0.0));
        assert_eq!(report.coverage.periods_with_usage, 2);
        assert_eq!(report.coverage.first_usage, Some(day("2026-11-04")));
        assert_eq!(report.coverage.last_usage, Some(day("2026-11-05")));
        // No usage at all: a cost of zero, not of minus zero.
        let later = account(&report, "222222222222");
        assert!(later.cost == 0.0 && later.cost.is_sign_positive());
    }

    #[test]
    fn coverage_knows_the_estimated_periods_and_the_lag() {
        let mut world = World::new(vec![
            row("111111111111", INPUT, "2026-11-03", 10.0, LIST),
            row("111111111111", INPUT, "2026-11-07", 10.0, LIST),
        ]);
        for period in &mut world.costs.periods[14..] {
            period.estimated = true;
        }
        world.costs.requests = 3;
        for row in &mut world.costs.rows {
            row.currency = "EUR".into();
        }
        world.today = day("2026-11-01");
        let report = world.report(None);
        assert_eq!(report.coverage.estimated_from, Some(day("2026-11-15")));
        assert_eq!(report.coverage.periods_with_usage, 2);
        assert_eq!(report.coverage.first_usage, Some(day("2026-11-03")));
        assert_eq!(report.coverage.last_usage, Some(day("2026-11-07")));
        // Yesterday is before the window: data may lag from its first day.
        assert_eq!(report.coverage.may_lag_from, Some(day("2026-11-01")));
        assert_eq!(report.since, day("2026-11-01"));
        assert!((report.request_cost - 0.03).abs() < 1e-12);
        assert_eq!(report.currency, "EUR");
        // The window ends the day before yesterday: nothing lags.
        world.today = day("2026-11-22");
        assert_eq!(world.report(None).coverage.may_lag_from, None);
        world.today = day("2026-11-21");
        assert_eq!(
            world.report(None).coverage.may_lag_from,
            Some(day("2026-11-20"))
        );
    }

    #[test]
    fn rates_are_grouped_and_ties_broken_both_ways() {
        // Two groups of two: the lowest or the highest wins; a bigger group wins either way.
        let tied = [1.0, 2.0, 1.0, 2.0];
        assert_eq!(common_rate(&tied, true), Some((1.0, 2)));
        assert_eq!(common_rate(&tied, false), Some((2.0, 2)));
        let tied = [2.0, 1.0, 2.0, 1.0];
        assert_eq!(common_rate(&tied, true), Some((1.0, 2)));
        assert_eq!(common_rate(&tied, false), Some((2.0, 2)));
        assert_eq!(common_rate(&[2.0, 1.0, 1.0], false), Some((1.0, 2)));
        assert_eq!(common_rate(&[1.0, 2.0, 2.0], true), Some((2.0, 2)));
        assert_eq!(common_rate(&[3.0], true), Some((3.0, 1)));
        assert!(same_rate(-1.0, -1.004));
        assert!(!same_rate(1.0, -1.0));
        assert!(same_rate(0.0, 0.0));
        assert_eq!(rate_text(1234.5678), "1234.57");
        assert_eq!(rate_text(123_456_789.0), "123456789");
        assert_eq!(rate_text(-0.25), "-0.25");
        assert_eq!(money("EUR", 1.234), "EUR 1.23");
    }

    #[test]
    fn granted_accounts_at_the_list_rate_defer_to_the_subscriber_only_when_it_differs() {
        // The subscriber pays the list rate too: the granted accounts' rate stands.
        let world = World::new(vec![
            row("111111111111", INPUT, "2026-11-08", 1000.0, LIST),
            row("111111111111", INPUT, "2026-11-12", 1000.0, LIST),
            row("100000000001", INPUT, "2026-11-12", 1000.0, LIST),
        ]);
        let report = world.report(None);
        let private = report.rates[0].private.unwrap();
        assert_eq!(private.source, RateSource::ActiveGrants);
        assert_eq!(private.accounts, 1);
        let list = report.rates[0].list.unwrap();
        assert_eq!((list.source, list.accounts), (RateSource::WithoutGrant, 1));
        // Then the pilot pays the private rate, which is the list rate: nothing to flag.
        assert_eq!(account(&report, "111111111111").flags, []);
        // Only the subscriber's rate known: it is the private rate.
        let world = World::new(vec![row(
            "100000000001",
            INPUT,
            "2026-11-12",
            1000.0,
            PRIVATE,
        )]);
        let report = world.report(None);
        assert_eq!(
            report.rates[0].private.unwrap().source,
            RateSource::Subscriber
        );
        assert_eq!(report.rates[0].list, None);
        let subscriber = account(&report, "100000000001");
        assert_eq!(subscriber.phase, None);
        assert_eq!(report.totals.last().unwrap().group, "subscriber");
        assert_eq!(report.totals.last().unwrap().accounts, 1);
    }

    #[test]
    fn a_phase_limits_the_report_to_it_and_the_phases_before() {
        let mut world = World::new(vec![
            row("111111111111", INPUT, "2026-11-15", 1000.0, PRIVATE),
            row("222222222222", INPUT, "2026-11-15", 500.0, LIST),
            row("333333333333", INPUT, "2026-11-15", 500.0, PRIVATE),
        ]);
        // Sandbox's account holds an ACTIVE grant of the rollout though no phase targets it any
        // more: outside, but not using the model without a grant.
        world
            .observed
            .grants
            .push(account_grant(3, "333333333333", GrantStatus::Active));
        let report = world.report(Some("pilot"));
        let listed: Vec<&str> = report
            .accounts
            .iter()
            .map(|listed| listed.account.as_str())
            .collect();
        assert_eq!(listed, ["111111111111", "333333333333"]);
        let groups: Vec<&str> = report
            .totals
            .iter()
            .map(|total| total.group.as_str())
            .collect();
        assert_eq!(groups, ["pilot", "outside the rollout"]);
        assert_eq!(report.phase.as_deref(), Some("pilot"));
        let sandbox = account(&report, "333333333333");
        assert_eq!(sandbox.role, Role::Outside);
        assert!(sandbox.grant.active);
        assert_eq!(sandbox.flags, []);
        let everything = world.report(Some("workloads"));
        assert_eq!(everything.accounts.len(), 3);
    }
}
