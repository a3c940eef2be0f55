//! Discovery of only what a job needs (issue 16), through the real SDK against the emulator:
//! accounts placed by their `Paths` with no OU listed, OU paths read walking down by name, OUs
//! by id (placed by their `Path`, or by ListParents without one), subtrees, and the whole walk
//! when the answers carry no `Paths`; each compared with the whole walk of the same organisation.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use entitle::aws::organizations::{DiscoverOptions, Discovery, NoProgress, discover};
use entitle::aws::{AwsClients, AwsSettings};
use entitle::model::plan::OuRef;
use entitle::model::{OrgTree, OuId, ParentId, UnitRead, UnitScope};
use entitle::sandbox::Sandbox;
use entitle::sandbox::faults::Faults;
use entitle::sandbox::state::{OrganizationalUnit, State};
use serde_json::json;

/// An OU with no account anywhere below it: no account's `Paths` names it.
const EMPTY_OU: &str = "ou-sbx0-wkldempt";

/// The demo organisation with an empty OU under Workloads/Web, one page per listing (no empty
/// pages) so that call counts are exact, and Organizations answering `paths` as given.
fn organisation(paths: &str) -> State {
    let mut state = State::demo();
    state.ous.insert(
        EMPTY_OU.to_owned(),
        OrganizationalUnit {
            id: EMPTY_OU.to_owned(),
            name: "Empty".to_owned(),
            parent_id: "ou-sbx0-wkldweb0".to_owned(),
        },
    );
    state.settings.organizations_empty_page_every = 0;
    state.settings.organizations_paths = serde_json::from_value(json!(paths)).unwrap();
    state
}

async fn discovered(state: State, units: UnitScope) -> (Discovery, Discovery) {
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), state, Faults::none())
        .await
        .unwrap();
    let clients = AwsClients::load(&AwsSettings {
        fixed_endpoint: Some(sandbox.endpoint()),
        ..AwsSettings::default()
    })
    .await;
    let options = |units| DiscoverOptions {
        tags: false,
        units,
        ..DiscoverOptions::default()
    };
    let whole = discover(&clients, &options(UnitScope::Whole), &NoProgress)
        .await
        .unwrap();
    let needed = discover(&clients, &options(units), &NoProgress)
        .await
        .unwrap();
    (whole, needed)
}

fn read(unit: &str, subtree: bool) -> UnitRead {
    let unit = match OuId::parse(unit) {
        Ok(id) => OuRef::Id(id),
        Err(_) => OuRef::Path(unit.to_owned()),
    };
    UnitRead { unit, subtree }
}

fn calls(discovery: &Discovery, operation: &str) -> u64 {
    discovery.api_calls.get(operation).copied().unwrap_or(0)
}

/// Every account with its parent: what `Paths` must get right.
fn placements(tree: &OrgTree) -> BTreeMap<String, String> {
    tree.accounts()
        .map(|account| (account.id.to_string(), account.parent.to_string()))
        .collect()
}

/// The OUs read by name, by id: name and path of names.
fn named(tree: &OrgTree) -> BTreeMap<String, (String, String)> {
    tree.units()
        .filter_map(|unit| {
            let name = unit.name.clone()?;
            Some((
                unit.id.to_string(),
                (name, tree.path_of(&unit.id).unwrap().to_owned()),
            ))
        })
        .collect()
}

/// The whole walk's names and paths of these OUs.
fn whole_named(whole: &OrgTree, ids: &[&str]) -> BTreeMap<String, (String, String)> {
    let all = named(whole);
    ids.iter()
        .map(|id| ((*id).to_owned(), all[*id].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_of_accounts_lists_no_ou_and_places_every_account_by_its_paths() {
    let (whole, needed) = discovered(organisation("all"), UnitScope::Some(Vec::new())).await;
    assert!(whole.every_unit && !needed.every_unit && needed.placed_by_paths);
    assert_eq!(calls(&needed, "ListOrganizationalUnitsForParent"), 0);
    assert_eq!(calls(&needed, "DescribeOrganizationalUnit"), 0);
    assert_eq!(calls(&needed, "ListParents"), 0);
    assert_eq!(
        calls(&needed, "ListAccounts"),
        calls(&whole, "ListAccounts")
    );
    assert_eq!(placements(&needed.tree), placements(&whole.tree));
    // The OUs known are exactly those holding an account, each where the whole walk has it, with
    // the ARN Organizations gives it, unnamed.
    let holding: BTreeSet<String> = whole
        .tree
        .units()
        .filter(|unit| {
            !whole
                .tree
                .accounts_under(&ParentId::Ou(unit.id.clone()))
                .is_empty()
        })
        .map(|unit| unit.id.to_string())
        .collect();
    let known: BTreeSet<String> = needed
        .tree
        .units()
        .map(|unit| unit.id.to_string())
        .collect();
    assert_eq!(known, holding);
    assert!(!known.contains(EMPTY_OU));
    for unit in needed.tree.units() {
        let full = whole.tree.unit(&unit.id).unwrap();
        assert_eq!(unit.name, None);
        assert_eq!((&unit.arn, &unit.parent), (&full.arn, &full.parent));
    }
    let ml = needed
        .tree
        .path_of(&OuId::parse("ou-sbx0-wkldml00").unwrap())
        .unwrap();
    assert_eq!(ml, "ou-sbx0-workload/ou-sbx0-wkldml00");
    assert!(needed.tree.unit_by_path("Workloads/ML").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ou_path_is_read_walking_down_by_name_one_listing_per_level() {
    let (whole, needed) = discovered(
        organisation("all"),
        UnitScope::Some(vec![read("Workloads/ML/Sandbox", false)]),
    )
    .await;
    // The root's, Workloads' and ML's children: three listings, one page each.
    assert_eq!(calls(&needed, "ListOrganizationalUnitsForParent"), 3);
    let found = needed.tree.unit_by_path("Workloads/ML/Sandbox").unwrap();
    let full = whole.tree.unit_by_path("Workloads/ML/Sandbox").unwrap();
    assert_eq!(found, full);
    // Every OU listed on the way is named as in the whole walk (the siblings too: they are the
    // suggestions for a path that is mistyped); nothing below the path is.
    assert_eq!(
        named(&needed.tree),
        whole_named(
            &whole.tree,
            &[
                "ou-sbx0-security",
                "ou-sbx0-infrastr",
                "ou-sbx0-workload",
                "ou-sbx0-sandbox0",
                "ou-sbx0-wkldml00",
                "ou-sbx0-wkldweb0",
                "ou-sbx0-wklddata",
                "ou-sbx0-wkldmlsb",
            ]
        )
    );
    assert_eq!(placements(&needed.tree), placements(&whole.tree));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subtree_is_read_below_its_ou_and_a_mistyped_path_is_left_to_the_planner() {
    let (whole, needed) = discovered(
        organisation("all"),
        UnitScope::Some(vec![
            read("Workloads/Web", true),
            read("Workloads/Nope", false),
        ]),
    )
    .await;
    // The root, Workloads, and Web's subtree (Web, Empty): four listings; Workloads is listed
    // once although both reads pass through it.
    assert_eq!(calls(&needed, "ListOrganizationalUnitsForParent"), 4);
    let empty = OuId::parse(EMPTY_OU).unwrap();
    assert_eq!(needed.tree.unit(&empty), whole.tree.unit(&empty));
    assert_eq!(needed.tree.path_of(&empty), Some("Workloads/Web/Empty"));
    assert!(needed.tree.unit_by_path("Workloads/Nope").is_none());
    let suggestions: Vec<&str> = needed.tree.all_paths().collect();
    assert!(suggestions.contains(&"Workloads/Web"), "{suggestions:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ou_by_id_is_placed_by_its_path_or_by_list_parents() {
    for (paths, list_parents) in [("all", 0), ("accounts_only", 3)] {
        let (whole, needed) = discovered(
            organisation(paths),
            UnitScope::Some(vec![read(EMPTY_OU, false)]),
        )
        .await;
        assert_eq!(calls(&needed, "DescribeOrganizationalUnit"), 1, "{paths}");
        // Without `Path`: Web, Workloads, then the root.
        assert_eq!(calls(&needed, "ListParents"), list_parents, "{paths}");
        assert_eq!(calls(&needed, "ListOrganizationalUnitsForParent"), 0);
        let empty = OuId::parse(EMPTY_OU).unwrap();
        assert_eq!(needed.tree.unit(&empty), whole.tree.unit(&empty), "{paths}");
        // Its ancestors are known by id (their names were not read).
        assert_eq!(
            needed.tree.path_of(&empty),
            Some("ou-sbx0-workload/ou-sbx0-wkldweb0/Empty"),
            "{paths}"
        );
        assert_eq!(placements(&needed.tree), placements(&whole.tree));
    }
    // An id Organizations does not know is no discovery error: the planner names it.
    let (_, needed) = discovered(
        organisation("all"),
        UnitScope::Some(vec![read("ou-sbx0-nothere0", true)]),
    )
    .await;
    assert!(
        needed
            .tree
            .unit(&OuId::parse("ou-sbx0-nothere0").unwrap())
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_paths_the_whole_tree_is_walked() {
    let (whole, needed) = discovered(
        organisation("none"),
        UnitScope::Some(vec![read("Workloads/ML", false)]),
    )
    .await;
    assert!(!needed.placed_by_paths && needed.every_unit);
    assert_eq!(needed.tree, whole.tree);
    assert_eq!(
        calls(&needed, "ListOrganizationalUnitsForParent"),
        // Every parent: the root and each OU.
        1 + whole.tree.units().count() as u64
    );
}
