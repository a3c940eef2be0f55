//! Which accounts each phase targets: the union of its selectors (with `match = "all"`, their
//! intersection) minus its exclusions, checked against the organisation (unknown accounts, OUs
//! and tag keys are errors with near misses).
//!
//! Only ACTIVE accounts are granted; the others, and the management account (which holds the
//! license itself), are reported as skipped with the reason.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::plan::{
    Diagnostic, GrantTo, Located, Match, OuRef, Phase, PlanFileErrors, into_result, nearest,
};
use crate::model::{AccountId, AccountState, OrgTree, OuId, ParentId, RolloutPlan};

/// Why a selected account gets no grant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "state", rename_all = "snake_case")]
pub enum SkipReason {
    /// The management account owns the subscription: it is the grantor, never a grantee.
    Management,
    /// The account is not ACTIVE (suspended, closing, closed, pending activation).
    Inactive(AccountState),
}

impl SkipReason {
    /// Why, in words.
    pub fn describe(&self) -> String {
        match self {
            Self::Management => {
                "the management account holds the license itself and is never a grantee".to_owned()
            }
            Self::Inactive(state) => format!("the account is `{state}`, not ACTIVE"),
        }
    }
}

/// A selected account that is not granted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SkippedAccount {
    /// The account.
    pub account: AccountId,
    /// Why.
    pub reason: SkipReason,
}

/// One phase resolved against the organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPhase {
    /// The phase's position in the plan.
    pub index: usize,
    /// The phase name.
    pub name: String,
    /// ACTIVE, non-management accounts selected and not excluded: exactly who must be granted.
    pub targeted: BTreeSet<AccountId>,
    /// Selected accounts that are not granted, and why.
    pub skipped: Vec<SkippedAccount>,
    /// Whether the whole organisation is selected.
    pub organization: bool,
    /// The OUs selected structurally (by path or id), resolved to ids.
    pub selected_ous: BTreeSet<OuId>,
    /// The OUs excluded, resolved to ids.
    pub excluded_ous: BTreeSet<OuId>,
    /// The accounts excluded.
    pub excluded_accounts: BTreeSet<AccountId>,
    /// How the targets become principals.
    pub grant_to: GrantTo,
}

impl ResolvedPhase {
    /// Whether the phase excludes anything.
    pub fn has_exclusions(&self) -> bool {
        !self.excluded_ous.is_empty() || !self.excluded_accounts.is_empty()
    }
}

/// Whether `unit` is `ancestor` or nested (at any depth) inside it.
pub fn is_within(tree: &OrgTree, unit: &OuId, ancestor: &OuId) -> bool {
    let mut current = Some(unit.clone());
    while let Some(id) = current {
        if id == *ancestor {
            return true;
        }
        current = tree.unit(&id).and_then(|found| match &found.parent {
            ParentId::Ou(parent) => Some(parent.clone()),
            ParentId::Root(_) => None,
        });
    }
    false
}

/// The OUs an account sits in, from its direct parent up to the top.
pub fn ancestors_of_account(tree: &OrgTree, account: &AccountId) -> Vec<OuId> {
    let mut found = Vec::new();
    let mut parent = tree.account(account).map(|found| found.parent.clone());
    while let Some(ParentId::Ou(id)) = parent {
        parent = tree.unit(&id).map(|unit| unit.parent.clone());
        found.push(id);
    }
    found
}

fn suggest_account(tree: &OrgTree, wanted: &AccountId) -> Option<String> {
    tree.accounts()
        .map(|account| {
            (
                strsim::levenshtein(wanted.as_str(), account.id.as_str()),
                account,
            )
        })
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, account)| (*distance, account.id.clone()))
        .map(|(_, account)| format!("did you mean `{}` ({})?", account.id, account.name))
}

fn suggest_path(tree: &OrgTree, wanted: &str) -> Option<String> {
    let last = wanted.rsplit('/').next().unwrap_or(wanted).to_lowercase();
    let same_name: Vec<&str> = tree
        .all_paths()
        .filter(|path| path.rsplit('/').next().unwrap_or(path).to_lowercase() == last)
        .collect();
    if !same_name.is_empty() {
        let list: Vec<String> = same_name.iter().map(|path| format!("`{path}`")).collect();
        return Some(format!(
            "did you mean {}? (paths start at the root)",
            list.join(" or ")
        ));
    }
    nearest(wanted, tree.all_paths()).map(|near| format!("did you mean `{near}`?"))
}

fn resolve_ou(
    tree: &OrgTree,
    rollout: &RolloutPlan,
    reference: &Located<OuRef>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<OuId> {
    let source = &rollout.source;
    match &reference.value {
        OuRef::Id(id) => {
            if tree.unit(id).is_some() {
                Some(id.clone())
            } else {
                let hint = nearest(id.as_str(), tree.units().map(|unit| unit.id.as_str()))
                    .map(|near| format!("did you mean `{near}`?"));
                diagnostics.push(
                    Diagnostic::at(
                        source,
                        reference.span,
                        format!("OU `{id}` is not in the organisation"),
                    )
                    .maybe_hint(hint),
                );
                None
            }
        }
        OuRef::Path(path) => match tree.unit_by_path(path) {
            Some(unit) => Some(unit.id.clone()),
            None => {
                diagnostics.push(
                    Diagnostic::at(source, reference.span, format!("unknown OU path `{path}`"))
                        .maybe_hint(suggest_path(tree, path)),
                );
                None
            }
        },
    }
}

fn resolve_phase(
    tree: &OrgTree,
    rollout: &RolloutPlan,
    index: usize,
    phase: &Phase,
    tag_keys: &BTreeSet<&str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> ResolvedPhase {
    let source = &rollout.source;
    let label = &phase.name.value;
    // Each kind of selector given names a set of accounts; the phase selects their union, or
    // with `match = "all"` their intersection.
    let mut named: Vec<BTreeSet<AccountId>> = Vec::new();
    let mut selected_ous = BTreeSet::new();
    if phase.organization {
        named.push(tree.accounts().map(|account| account.id.clone()).collect());
    }
    if !phase.accounts.is_empty() {
        let mut by_id = BTreeSet::new();
        for account in &phase.accounts {
            if tree.account(&account.value).is_some() {
                by_id.insert(account.value.clone());
            } else {
                diagnostics.push(
                    Diagnostic::at(
                        source,
                        account.span,
                        format!("account `{}` is not in the organisation", account.value),
                    )
                    .maybe_hint(suggest_account(tree, &account.value)),
                );
            }
        }
        named.push(by_id);
    }
    if !phase.ous.is_empty() {
        let mut in_ous = BTreeSet::new();
        for reference in &phase.ous {
            if let Some(id) = resolve_ou(tree, rollout, reference, diagnostics) {
                in_ous.extend(
                    tree.accounts_under(&ParentId::Ou(id.clone()))
                        .into_iter()
                        .map(|account| account.id.clone()),
                );
                selected_ous.insert(id);
            }
        }
        named.push(in_ous);
    }
    let intersect = phase.matching == Match::All;
    // With `match = "all"` the tags decide among the accounts the other selectors name (and
    // only theirs are read): a key none of them carries is the mistake to report.
    let among: BTreeSet<&str>;
    let tag_keys = if intersect {
        let mut sets = named.iter();
        let first = sets.next().cloned().unwrap_or_default();
        let selected = sets.fold(first, |kept, set| kept.intersection(set).cloned().collect());
        among = selected
            .iter()
            .filter_map(|id| tree.account(id))
            .flat_map(|account| account.tags.keys().map(String::as_str))
            .collect();
        &among
    } else {
        tag_keys
    };
    let mut tags_ok = true;
    for (key, _) in &phase.tags {
        if !tag_keys.contains(key.value.as_str()) {
            tags_ok = false;
            let hint = match nearest(&key.value, tag_keys.iter().copied()) {
                Some(near) => Some(format!("did you mean `{near}`?")),
                None if tag_keys.is_empty() && !intersect => Some(
                    "no account has tags: was the organisation discovered with tags?".to_owned(),
                ),
                None => None,
            };
            let message = if intersect {
                format!(
                    "no account that phase `{label}`'s accounts and OUs select has the tag key `{}`",
                    key.value
                )
            } else {
                format!("no account has the tag key `{}`", key.value)
            };
            diagnostics.push(Diagnostic::at(source, key.span, message).maybe_hint(hint));
        }
    }
    if tags_ok && !phase.tags.is_empty() {
        named.push(
            tree.accounts()
                .filter(|account| {
                    phase
                        .tags
                        .iter()
                        .all(|(key, value)| account.tags.get(&key.value) == Some(&value.value))
                })
                .map(|account| account.id.clone())
                .collect(),
        );
    }
    let mut selected: BTreeSet<AccountId> = if intersect {
        let mut sets = named.into_iter();
        let first = sets.next().unwrap_or_default();
        sets.fold(first, |kept, set| {
            kept.intersection(&set).cloned().collect()
        })
    } else {
        named.into_iter().flatten().collect()
    };

    // Exclusions must remove something the phase selects: one that removes nothing is a mistake
    // (a typo, or a phase that changed), and one equal to a selector contradicts itself.
    let mut excluded_accounts = BTreeSet::new();
    for account in &phase.exclude_accounts {
        if tree.account(&account.value).is_none() {
            diagnostics.push(
                Diagnostic::at(
                    source,
                    account.span,
                    format!(
                        "excluded account `{}` is not in the organisation",
                        account.value
                    ),
                )
                .maybe_hint(suggest_account(tree, &account.value)),
            );
        } else if !selected.contains(&account.value) {
            diagnostics.push(
                Diagnostic::at(
                    source,
                    account.span,
                    format!(
                        "exclusion of account `{}` removes nothing: phase `{label}` does not select it",
                        account.value
                    ),
                )
                .hint("remove the exclusion, or select what contains the account"),
            );
        } else {
            excluded_accounts.insert(account.value.clone());
        }
    }
    let mut excluded_ous = BTreeSet::new();
    for reference in &phase.exclude_ous {
        let Some(id) = resolve_ou(tree, rollout, reference, diagnostics) else {
            continue;
        };
        let path = tree.path_of(&id).unwrap_or(id.as_str()).to_owned();
        if selected_ous.contains(&id) {
            diagnostics.push(
                Diagnostic::at(
                    source,
                    reference.span,
                    format!("phase `{label}` both selects and excludes OU `{path}`"),
                )
                .hint("remove it from `ous` or from `exclude.ous`"),
            );
            continue;
        }
        // Under an intersection only the accounts it keeps count: an OU selected as a whole
        // does not make everything in it selected.
        let inside_selection = (!intersect
            && (phase.organization
                || selected_ous
                    .iter()
                    .any(|selected| is_within(tree, &id, selected))))
            || tree
                .accounts_under(&ParentId::Ou(id.clone()))
                .iter()
                .any(|account| selected.contains(&account.id));
        if inside_selection {
            excluded_ous.insert(id);
        } else {
            diagnostics.push(
                Diagnostic::at(
                    source,
                    reference.span,
                    format!("exclusion of OU `{path}` removes nothing: phase `{label}` selects nothing in it"),
                )
                .hint("remove the exclusion, or select an OU that contains it"),
            );
        }
    }
    for id in &excluded_ous {
        for account in tree.accounts_under(&ParentId::Ou(id.clone())) {
            selected.remove(&account.id);
        }
    }
    for id in &excluded_accounts {
        selected.remove(id);
    }

    let mut targeted = BTreeSet::new();
    let mut skipped = Vec::new();
    for id in selected {
        let Some(account) = tree.account(&id) else {
            continue;
        };
        if tree.is_management(&id) {
            skipped.push(SkippedAccount {
                account: id,
                reason: SkipReason::Management,
            });
        } else if account.state != AccountState::Active {
            skipped.push(SkippedAccount {
                account: id,
                reason: SkipReason::Inactive(account.state.clone()),
            });
        } else {
            targeted.insert(id);
        }
    }
    ResolvedPhase {
        index,
        name: label.clone(),
        targeted,
        skipped,
        organization: phase.organization,
        // An intersection never selects an OU whole: its accounts are granted one by one (an
        // OU grant would reach the OU's accounts that the other selectors leave out).
        selected_ous: if intersect {
            BTreeSet::new()
        } else {
            selected_ous
        },
        excluded_ous,
        excluded_accounts,
        grant_to: phase.grant_to,
    }
}

/// Resolves every phase of the plan against the organisation, reporting every unknown account,
/// OU and tag key (with near misses) and every exclusion that removes nothing.
pub fn resolve_targets(
    rollout: &RolloutPlan,
    tree: &OrgTree,
) -> Result<Vec<ResolvedPhase>, PlanFileErrors> {
    let tag_keys: BTreeSet<&str> = tree
        .accounts()
        .flat_map(|account| account.tags.keys().map(String::as_str))
        .collect();
    let mut diagnostics = Vec::new();
    let phases: Vec<ResolvedPhase> = rollout
        .phases
        .iter()
        .enumerate()
        .map(|(index, phase)| {
            resolve_phase(tree, rollout, index, phase, &tag_keys, &mut diagnostics)
        })
        .collect();
    into_result(diagnostics)?;
    Ok(phases)
}

/// For display: each account's name and OU path.
pub fn account_label(tree: &OrgTree, id: &AccountId) -> (String, String) {
    match tree.account(id) {
        Some(account) => (
            account.name.clone(),
            tree.parent_path(&account.parent).to_owned(),
        ),
        None => (String::new(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::planner::cover::cover;
    use crate::planner::diff::fixtures::{SANDBOX, tree};

    /// The fixture organisation with `team = ml` on 111111111111 (Workloads) and 333333333333
    /// (Sandbox).
    fn tagged() -> OrgTree {
        let plain = tree();
        let accounts: Vec<_> = plain
            .accounts()
            .cloned()
            .map(|mut account| {
                if ["111111111111", "333333333333"].contains(&account.id.as_str()) {
                    account.tags.insert("team".into(), "ml".into());
                }
                account
            })
            .collect();
        OrgTree::new(
            plain.organization().clone(),
            plain.root().clone(),
            plain.units().cloned(),
            accounts,
        )
        .unwrap()
    }

    fn phases(tree: &OrgTree, phases: &str) -> Result<Vec<ResolvedPhase>, PlanFileErrors> {
        let text =
            format!("version = 1\nname = \"r\"\n\n[entitlement]\nproduct = \"prod-a\"\n\n{phases}");
        resolve_targets(&crate::model::parse_plan(&text, "r.toml").unwrap(), tree)
    }

    fn ids(set: &BTreeSet<AccountId>) -> Vec<&str> {
        set.iter().map(AccountId::as_str).collect()
    }

    #[test]
    fn selectors_combine_as_a_union_by_default_and_as_an_intersection_with_match_all() {
        let tree = tagged();
        let union = phases(
            &tree,
            "[[phase]]\nname = \"p\"\nous = [\"Workloads\"]\ntags = { team = \"ml\" }\n",
        )
        .unwrap();
        assert_eq!(
            ids(&union[0].targeted),
            ["111111111111", "222222222222", "333333333333"]
        );
        let all = phases(
            &tree,
            "[[phase]]\nname = \"p\"\nous = [\"Workloads\"]\ntags = { team = \"ml\" }\nmatch = \"all\"\n",
        )
        .unwrap();
        assert_eq!(ids(&all[0].targeted), ["111111111111"]);
        // Accounts by id intersect too.
        let by_id = phases(
            &tree,
            "[[phase]]\nname = \"p\"\naccounts = [\"222222222222\", \"333333333333\"]\ntags = { team = \"ml\" }\nmatch = \"all\"\n",
        )
        .unwrap();
        assert_eq!(ids(&by_id[0].targeted), ["333333333333"]);
        // Three kinds: only what all three name.
        let three = phases(
            &tree,
            "[[phase]]\nname = \"p\"\naccounts = [\"111111111111\", \"333333333333\"]\nous = [\"Sandbox\"]\ntags = { team = \"ml\" }\nmatch = \"all\"\n",
        )
        .unwrap();
        assert_eq!(ids(&three[0].targeted), ["333333333333"]);
    }

    #[test]
    fn an_intersection_never_grants_an_ou_whole() {
        // Every account of Sandbox carries the tag: the union grants the OU whole, the
        // intersection grants the account, so that an untagged newcomer to Sandbox gets nothing.
        let tree = tagged();
        let union = phases(&tree, "[[phase]]\nname = \"p\"\nous = [\"Sandbox\"]\n").unwrap();
        let principals: Vec<String> = cover(&union[0], &tree)
            .iter()
            .map(|grant| grant.principal.arn())
            .collect();
        assert!(principals[0].ends_with(SANDBOX), "{principals:?}");
        let all = phases(
            &tree,
            "[[phase]]\nname = \"p\"\nous = [\"Sandbox\"]\ntags = { team = \"ml\" }\nmatch = \"all\"\n",
        )
        .unwrap();
        assert!(all[0].selected_ous.is_empty());
        let principals: Vec<String> = cover(&all[0], &tree)
            .iter()
            .map(|grant| grant.principal.arn())
            .collect();
        assert_eq!(principals, ["arn:aws:iam::333333333333:root"]);
    }

    #[test]
    fn an_exclusion_under_an_intersection_must_remove_a_kept_account() {
        let tree = tagged();
        // 222222222222 is in Workloads but untagged: the intersection never selected it.
        let errors = phases(
            &tree,
            "[[phase]]\nname = \"p\"\nous = [\"Workloads\"]\ntags = { team = \"ml\" }\nmatch = \"all\"\nexclude = { accounts = [\"222222222222\"] }\n",
        )
        .unwrap_err();
        assert_eq!(errors.diagnostics.len(), 1, "{errors}");
        assert!(
            errors.diagnostics[0].message.contains("removes nothing"),
            "{errors}"
        );
        let kept = phases(
            &tree,
            "[[phase]]\nname = \"p\"\nous = [\"Workloads\"]\ntags = { team = \"ml\" }\nmatch = \"all\"\nexclude = { accounts = [\"111111111111\"] }\n",
        )
        .unwrap();
        assert!(kept[0].targeted.is_empty());
    }

    /// Workloads/ML (111111111111, and the management account's sibling 222222222222 SUSPENDED)
    /// under the root, Sandbox beside it; no tags anywhere.
    fn nested() -> OrgTree {
        use crate::model::fixtures::{account, tree_of, unit};
        let suspended = crate::model::Account {
            state: AccountState::Suspended,
            ..account("222222222222", "ou-ab12-bbbbbbbb")
        };
        tree_of(
            [
                unit("ou-ab12-aaaaaaaa", "Workloads", "r-ab12"),
                unit("ou-ab12-bbbbbbbb", "ML", "ou-ab12-aaaaaaaa"),
                unit("ou-ab12-cccccccc", "Sandbox", "r-ab12"),
            ],
            [
                account("100000000001", "r-ab12"),
                account("111111111111", "ou-ab12-bbbbbbbb"),
                suspended,
                account("333333333333", "ou-ab12-cccccccc"),
            ],
        )
    }

    /// The one problem of a phase with `selectors`: (message, hint).
    fn problem(tree: &OrgTree, selectors: &str) -> (String, Option<String>) {
        let errors = phases(tree, &format!("[[phase]]\nname = \"p\"\n{selectors}")).unwrap_err();
        assert_eq!(errors.diagnostics.len(), 1, "{errors}");
        let diagnostic = &errors.diagnostics[0];
        (diagnostic.message.clone(), diagnostic.hint.clone())
    }

    #[test]
    fn unknown_selectors_are_named_with_their_nearest_match() {
        let tree = nested();
        assert_eq!(
            problem(&tree, "ous = [\"ML\"]\n"),
            (
                "unknown OU path `ML`".to_owned(),
                Some("did you mean `Workloads/ML`? (paths start at the root)".to_owned())
            )
        );
        assert_eq!(
            problem(&tree, "ous = [\"Workloads/MLL\"]\n"),
            (
                "unknown OU path `Workloads/MLL`".to_owned(),
                Some("did you mean `Workloads/ML`?".to_owned())
            )
        );
        assert_eq!(
            problem(&tree, "ous = [\"ou-ab12-aaaaaaab\"]\n"),
            (
                "OU `ou-ab12-aaaaaaab` is not in the organisation".to_owned(),
                Some("did you mean `ou-ab12-aaaaaaaa`?".to_owned())
            )
        );
        assert_eq!(
            problem(&tree, "accounts = [\"111111111112\"]\n"),
            (
                "account `111111111112` is not in the organisation".to_owned(),
                Some("did you mean `111111111111` (acct-111111111111)?".to_owned())
            )
        );
        assert_eq!(problem(&tree, "accounts = [\"999999999999\"]\n").1, None);
        assert_eq!(
            problem(&tree, "tags = { team = \"ml\" }\n"),
            (
                "no account has the tag key `team`".to_owned(),
                Some("no account has tags: was the organisation discovered with tags?".to_owned())
            )
        );
        assert_eq!(
            problem(&tagged(), "tags = { tem = \"ml\" }\n"),
            (
                "no account has the tag key `tem`".to_owned(),
                Some("did you mean `team`?".to_owned())
            )
        );
    }

    #[test]
    fn exclusions_must_remove_something_the_phase_selects() {
        let tree = nested();
        assert_eq!(
            problem(
                &tree,
                "ous = [\"Workloads\"]\nexclude = { accounts = [\"333333333333\"] }\n"
            )
            .0,
            "exclusion of account `333333333333` removes nothing: phase `p` does not select it"
        );
        assert_eq!(
            problem(
                &tree,
                "ous = [\"Workloads\"]\nexclude = { accounts = [\"444444444444\"] }\n"
            )
            .0,
            "excluded account `444444444444` is not in the organisation"
        );
        assert_eq!(
            problem(
                &tree,
                "ous = [\"Workloads\"]\nexclude = { ous = [\"Sandbox\"] }\n"
            )
            .0,
            "exclusion of OU `Sandbox` removes nothing: phase `p` selects nothing in it"
        );
        // An OU inside a selected OU, or holding a selected account, may be excluded.
        let inside = phases(
            &tree,
            "[[phase]]\nname = \"p\"\nous = [\"Workloads\"]\nexclude = { ous = [\"Workloads/ML\"] }\n",
        )
        .unwrap();
        assert!(inside[0].targeted.is_empty());
        assert_eq!(inside[0].excluded_ous.len(), 1);
        let holding = phases(
            &tree,
            "[[phase]]\nname = \"p\"\naccounts = [\"111111111111\", \"333333333333\"]\nexclude = { ous = [\"Workloads\"] }\n",
        )
        .unwrap();
        assert_eq!(ids(&holding[0].targeted), ["333333333333"]);
        let organisation = phases(
            &tree,
            "[[phase]]\nname = \"p\"\norganization = true\nexclude = { ous = [\"Sandbox\"] }\n",
        )
        .unwrap();
        assert_eq!(ids(&organisation[0].targeted), ["111111111111"]);
    }

    #[test]
    fn the_management_account_and_inactive_accounts_are_skipped_with_the_reason() {
        let tree = nested();
        let all = phases(&tree, "[[phase]]\nname = \"p\"\norganization = true\n").unwrap();
        assert_eq!(ids(&all[0].targeted), ["111111111111", "333333333333"]);
        let skipped: Vec<(String, String)> = all[0]
            .skipped
            .iter()
            .map(|skip| (skip.account.to_string(), skip.reason.describe()))
            .collect();
        assert_eq!(
            skipped,
            [
                (
                    "100000000001".to_owned(),
                    "the management account holds the license itself and is never a grantee"
                        .to_owned()
                ),
                (
                    "222222222222".to_owned(),
                    "the account is `SUSPENDED`, not ACTIVE".to_owned()
                ),
            ]
        );
        assert!(all[0].organization);
        assert!(!all[0].has_exclusions());
    }

    #[test]
    fn an_unknown_tag_key_with_no_near_match_gets_no_guess() {
        assert_eq!(
            problem(&tagged(), "tags = { zzzzzz = \"x\" }\n"),
            ("no account has the tag key `zzzzzz`".to_owned(), None)
        );
    }

    #[test]
    fn under_match_all_a_tag_key_is_looked_for_among_the_accounts_the_other_selectors_name() {
        // `team` is on 111111111111 and 333333333333, not on 222222222222: the key exists in
        // the organisation, but not where this phase looks (and only there are tags read).
        let message = "no account that phase `p`'s accounts and OUs select has the tag key";
        assert_eq!(
            problem(
                &tagged(),
                "accounts = [\"222222222222\"]\ntags = { team = \"ml\" }\nmatch = \"all\"\n"
            ),
            (format!("{message} `team`"), None)
        );
        assert_eq!(
            problem(
                &tagged(),
                "ous = [\"Sandbox\"]\ntags = { tean = \"ml\" }\nmatch = \"all\"\n"
            ),
            (
                format!("{message} `tean`"),
                Some("did you mean `team`?".to_owned())
            )
        );
        // Where the accounts carry it, the phase keeps those that match.
        let kept = phases(
            &tagged(),
            "[[phase]]\nname = \"p\"\nous = [\"Sandbox\"]\ntags = { team = \"ml\" }\nmatch = \"all\"\n",
        )
        .unwrap();
        assert_eq!(ids(&kept[0].targeted), ["333333333333"]);
    }

    #[test]
    fn an_excluded_ou_counts_as_inside_what_the_selectors_keep() {
        use crate::model::fixtures::{account, tree_of, unit};
        let tagged = crate::model::Account {
            tags: [("team".to_owned(), "ml".to_owned())].into(),
            ..account("444444444444", "ou-ab12-aaaaaaaa")
        };
        let tree = tree_of(
            [
                unit("ou-ab12-aaaaaaaa", "Workloads", "r-ab12"),
                unit("ou-ab12-bbbbbbbb", "ML", "ou-ab12-aaaaaaaa"),
                unit("ou-ab12-cccccccc", "Empty", "ou-ab12-aaaaaaaa"),
            ],
            [
                account("100000000001", "r-ab12"),
                account("111111111111", "ou-ab12-bbbbbbbb"),
                tagged,
            ],
        );
        // The union selects Workloads whole: excluding an OU inside it (even an empty one) is
        // excluding part of the selection.
        for inside in ["Workloads/ML", "Workloads/Empty"] {
            let union = phases(
                &tree,
                &format!("[[phase]]\nname = \"p\"\nous = [\"Workloads\"]\nexclude = {{ ous = [\"{inside}\"] }}\n"),
            )
            .unwrap();
            assert_eq!(union[0].excluded_ous.len(), 1, "{inside}");
        }
        // The intersection keeps only the tagged account: ML holds none of it, so excluding ML
        // removes nothing.
        assert_eq!(
            problem(
                &tree,
                "ous = [\"Workloads\"]\ntags = { team = \"ml\" }\nmatch = \"all\"\nexclude = { ous = [\"Workloads/ML\"] }\n"
            )
            .0,
            "exclusion of OU `Workloads/ML` removes nothing: phase `p` selects nothing in it"
        );
    }
}
