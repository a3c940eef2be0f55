//! Seeds for the emulator's state: the demo organisation, a generator for large organisations,
//! and the hand-written org file format (`--org FILE`, TOML) described in `docs/emulator.md`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::SandboxError;
use super::license_manager;
use super::state::{
    Account, Agreement, BedrockState, License, LicenseManagerSettings, Organization,
    OrganizationalUnit, STATE_FORMAT_VERSION, Settings, State, splitmix,
};

/// The demo management account.
pub const DEMO_MANAGEMENT_ACCOUNT: &str = "100000000001";
/// The demo organisation id.
pub const DEMO_ORGANIZATION_ID: &str = "o-sbx0demo01";
/// The demo root id.
pub const DEMO_ROOT_ID: &str = "r-sbx0";
/// Claude Sonnet 4.5's Marketplace product id.
pub const SONNET_4_5_PRODUCT: &str = "prod-mxcfnwvpd6kb4";
/// Claude 3.5 Sonnet v2's product id (the demo's cancelled agreement).
pub const SONNET_3_5_V2_PRODUCT: &str = "prod-cx7ovbu5wex7g";
/// The demo's active agreement.
pub const DEMO_ACTIVE_AGREEMENT: &str = "agmt-sbx0sonnet45active000001";
/// The demo's cancelled agreement.
pub const DEMO_CANCELLED_AGREEMENT: &str = "agmt-sbx0sonnet35cancelled01";
/// The active agreement's license.
pub const DEMO_ACTIVE_LICENSE: &str =
    "arn:aws:license-manager::294406891311:license:l-0a1b2c3d4e5f4a5b8c9d0e1f2a3b4c5d";
/// The cancelled agreement's (DELETED) license.
pub const DEMO_DELETED_LICENSE: &str =
    "arn:aws:license-manager::294406891311:license:l-9f8e7d6c5b4a4f3e8d2c1b0a9f8e7d6c";
/// 2026-01-01T00:00:00Z, the demo's fixed "now" for join dates and agreements.
const DEMO_EPOCH: i64 = 1_767_225_600;

/// Every `AllowedOperation` of the License Manager model (8 values in the current model), what
/// CreateGrant and CreateGrantVersion accept.
pub const ALL_GRANT_OPERATIONS: [&str; 8] = [
    "CreateGrant",
    "CheckoutLicense",
    "CheckoutBorrowLicense",
    "CheckInLicense",
    "ExtendConsumptionLicense",
    "ListPurchasedLicenses",
    "CreateToken",
    "ListReceivedLicenses",
];

/// What the seeded Marketplace licenses allow a grant to pass on: the operations of the older
/// 7-value model minus CreateGrant (`ListReceivedLicenses` is not among them).
pub const MARKETPLACE_LICENSE_OPERATIONS: [&str; 6] = [
    "CheckoutLicense",
    "CheckoutBorrowLicense",
    "CheckInLicense",
    "ExtendConsumptionLicense",
    "ListPurchasedLicenses",
    "CreateToken",
];

/// [`MARKETPLACE_LICENSE_OPERATIONS`] as owned strings.
pub(crate) fn marketplace_allowed_operations() -> Vec<String> {
    MARKETPLACE_LICENSE_OPERATIONS
        .iter()
        .map(|operation| (*operation).to_string())
        .collect()
}

/// An empty organisation with just its management account.
pub(crate) fn empty(management: &str, organization_id: &str, root_id: &str) -> State {
    let mut state = State {
        format_version: STATE_FORMAT_VERSION,
        organization: Organization {
            id: organization_id.to_string(),
            feature_set: "ALL".to_string(),
            management_account_id: management.to_string(),
            root_id: root_id.to_string(),
        },
        ous: BTreeMap::new(),
        accounts: BTreeMap::new(),
        resource_tags: BTreeMap::new(),
        service_access: BTreeMap::new(),
        delegated_administrators: Vec::new(),
        license_manager: LicenseManagerSettings {
            enable_integration: true,
            enable_cross_accounts_discovery: false,
            s3_bucket_arn: None,
            sns_topic_arn: None,
        },
        licenses: BTreeMap::new(),
        agreements: BTreeMap::new(),
        grants: super::state::Grants::default(),
        client_tokens: BTreeMap::new(),
        settings: Settings::default(),
        removed_roles: BTreeMap::new(),
        assumed_role_keys: BTreeMap::new(),
        bedrock: BedrockState {
            use_case_forms: BTreeMap::from([(
                management.to_string(),
                super::bedrock::demo_use_case_form(),
            )]),
            broken_availability: BTreeMap::new(),
        },
        service_linked_roles: BTreeMap::from([(
            management.to_string(),
            super::iam::seeded_service_linked_roles(),
        )]),
        usage: super::usage::UsageBook::default(),
        next_id: 0,
    };
    for principal in [
        "license-manager.amazonaws.com",
        "license-management.marketplace.amazonaws.com",
        "sso.amazonaws.com",
    ] {
        state
            .service_access
            .insert(principal.to_string(), DEMO_EPOCH - 86_400 * 400);
    }
    state.accounts.insert(
        management.to_string(),
        Account {
            id: management.to_string(),
            name: "management".to_string(),
            email: format!("aws+{management}@example.com"),
            state: "ACTIVE".to_string(),
            parent_id: root_id.to_string(),
            joined_method: "CREATED".to_string(),
            joined_timestamp: DEMO_EPOCH - 86_400 * 1000,
            tags: BTreeMap::from([("role".to_string(), "management".to_string())]),
        },
    );
    state
}

fn add_ou(state: &mut State, id: &str, name: &str, parent: &str) -> String {
    state.ous.insert(
        id.to_string(),
        OrganizationalUnit {
            id: id.to_string(),
            name: name.to_string(),
            parent_id: parent.to_string(),
        },
    );
    id.to_string()
}

fn add_account(state: &mut State, id: &str, name: &str, parent: &str, tags: &[(&str, &str)]) {
    let offset = i64::try_from(state.accounts.len()).unwrap_or(0);
    state.accounts.insert(
        id.to_string(),
        Account {
            id: id.to_string(),
            name: name.to_string(),
            email: format!("aws+{name}@example.com"),
            state: "ACTIVE".to_string(),
            parent_id: parent.to_string(),
            joined_method: "CREATED".to_string(),
            joined_timestamp: DEMO_EPOCH - 86_400 * (500 - offset),
            tags: tags
                .iter()
                .map(|(key, value)| ((*key).to_string(), (*value).to_string()))
                .collect(),
        },
    );
}

/// Adds an agreement for `product` and the license Marketplace made for it (`license_arn` an
/// `arn:aws:` constant, stored in the state's partition).
pub(crate) fn add_subscription(
    state: &mut State,
    agreement_id: &str,
    license_arn: &str,
    product: &str,
    product_name: &str,
    status: &str,
) {
    let management = state.management_account_id().to_string();
    let license_arn = &state.in_partition(license_arn);
    let license_status = match status {
        "ACTIVE" | "RENEWED" => "AVAILABLE",
        "EXPIRED" => "EXPIRED",
        _ => "DELETED",
    };
    state.licenses.insert(
        license_arn.to_string(),
        License {
            arn: license_arn.to_string(),
            name: product_name.to_string(),
            product_name: product_name.to_string(),
            product_sku: product.to_string(),
            issuer_name: "AWS/Marketplace".to_string(),
            key_fingerprint: "aws:294406891311:AWS/Marketplace:issuer-fingerprint".to_string(),
            beneficiary: management.clone(),
            holder_account_id: management.clone(),
            status: license_status.to_string(),
            allowed_operations: marketplace_allowed_operations(),
            validity_begin: DEMO_EPOCH - 86_400 * 30,
            validity_end: Some(DEMO_EPOCH + 86_400 * 335),
            create_time: DEMO_EPOCH - 86_400 * 30,
            agreement_id: Some(agreement_id.to_string()),
            disabled_by_grant: None,
        },
    );
    state.agreements.insert(
        agreement_id.to_string(),
        Agreement {
            id: agreement_id.to_string(),
            status: status.to_string(),
            agreement_type: "PurchaseAgreement".to_string(),
            acceptor_account_id: management,
            proposer_account_id: "856520466563".to_string(),
            product_id: product.to_string(),
            resource_type: "SaaSProduct".to_string(),
            offer_id: format!("offer-{}", &product[5..]),
            offer_set_id: None,
            acceptance_time: DEMO_EPOCH - 86_400 * 30,
            start_time: DEMO_EPOCH - 86_400 * 30,
            end_time: DEMO_EPOCH + 86_400 * 335,
            license_arn: Some(license_arn.to_string()),
        },
    );
}

impl State {
    /// The demo organisation: nested OUs (`Security`, `Infrastructure`, `Workloads/ML`,
    /// `Workloads/ML/Sandbox`, `Workloads/Web`, `Workloads/Data`, `Sandbox`), 40 accounts (the
    /// management account `100000000001`, pilots `111111111111` and `222222222222`, one
    /// suspended), `bedrock = "approved"` tags, an ACTIVE agreement for Claude Sonnet 4.5 with
    /// its license, and a CANCELLED agreement whose DELETED license still has grants.
    pub fn demo() -> State {
        let root = DEMO_ROOT_ID;
        let mut state = empty(DEMO_MANAGEMENT_ACCOUNT, DEMO_ORGANIZATION_ID, root);
        // AWS occasionally answers an empty page that still carries a NextToken; the demo does
        // too, so that every client of it proves it follows the token.
        state.settings.organizations_empty_page_every = 1;
        let security = add_ou(&mut state, "ou-sbx0-security", "Security", root);
        let infrastructure = add_ou(&mut state, "ou-sbx0-infrastr", "Infrastructure", root);
        let workloads = add_ou(&mut state, "ou-sbx0-workload", "Workloads", root);
        let ml = add_ou(&mut state, "ou-sbx0-wkldml00", "ML", &workloads);
        let ml_sandbox = add_ou(&mut state, "ou-sbx0-wkldmlsb", "Sandbox", &ml);
        let web = add_ou(&mut state, "ou-sbx0-wkldweb0", "Web", &workloads);
        let data = add_ou(&mut state, "ou-sbx0-wklddata", "Data", &workloads);
        let sandbox = add_ou(&mut state, "ou-sbx0-sandbox0", "Sandbox", root);
        state.resource_tags.insert(
            workloads.clone(),
            BTreeMap::from([("cost-center".to_string(), "workloads".to_string())]),
        );

        add_account(&mut state, "100000000002", "legacy-billing", root, &[]);
        add_account(
            &mut state,
            "100000000011",
            "log-archive",
            &security,
            &[("role", "security")],
        );
        add_account(
            &mut state,
            "100000000012",
            "audit",
            &security,
            &[("role", "security")],
        );
        add_account(&mut state, "100000000021", "network", &infrastructure, &[]);
        add_account(
            &mut state,
            "100000000022",
            "shared-services",
            &infrastructure,
            &[],
        );
        add_account(&mut state, "100000000023", "identity", &infrastructure, &[]);
        add_account(
            &mut state,
            "100000000031",
            "workloads-shared",
            &workloads,
            &[],
        );
        let approved = [("bedrock", "approved"), ("team", "ml")];
        add_account(&mut state, "111111111111", "ml-pilot-a", &ml, &approved);
        add_account(&mut state, "222222222222", "ml-pilot-b", &ml, &approved);
        add_account(&mut state, "333333333333", "ml-research", &ml, &approved);
        for (index, name) in ["ml-training", "ml-inference", "ml-features", "ml-eval"]
            .iter()
            .enumerate()
        {
            let tags: &[(&str, &str)] = if index % 2 == 0 {
                &approved
            } else {
                &[("team", "ml")]
            };
            add_account(
                &mut state,
                &format!("1000000001{index:02}"),
                name,
                &ml,
                tags,
            );
        }
        add_account(
            &mut state,
            "100000000150",
            "ml-sandbox-a",
            &ml_sandbox,
            &[("bedrock", "approved")],
        );
        add_account(&mut state, "100000000151", "ml-sandbox-b", &ml_sandbox, &[]);
        for index in 0..8 {
            let tags: &[(&str, &str)] = if index < 2 {
                &[("bedrock", "approved"), ("team", "web")]
            } else {
                &[("team", "web")]
            };
            add_account(
                &mut state,
                &format!("1000000002{index:02}"),
                &format!("web-{index}"),
                &web,
                tags,
            );
        }
        for index in 0..7 {
            let tags: &[(&str, &str)] = if index == 0 {
                &[("bedrock", "approved"), ("team", "data")]
            } else {
                &[("team", "data")]
            };
            add_account(
                &mut state,
                &format!("1000000003{index:02}"),
                &format!("data-{index}"),
                &data,
                tags,
            );
        }
        for index in 0..8 {
            add_account(
                &mut state,
                &format!("1000000004{index:02}"),
                &format!("sandbox-{index}"),
                &sandbox,
                &[("env", "sandbox")],
            );
        }
        if let Some(account) = state.accounts.get_mut("100000000405") {
            account.state = "SUSPENDED".to_string();
        }

        add_subscription(
            &mut state,
            DEMO_ACTIVE_AGREEMENT,
            DEMO_ACTIVE_LICENSE,
            SONNET_4_5_PRODUCT,
            "Claude Sonnet 4.5",
            "ACTIVE",
        );
        add_subscription(
            &mut state,
            DEMO_CANCELLED_AGREEMENT,
            DEMO_DELETED_LICENSE,
            SONNET_3_5_V2_PRODUCT,
            "Claude 3.5 Sonnet v2",
            "CANCELLED",
        );
        // Stale grants of the cancelled subscription: two account grants and an OU grant.
        let operations = marketplace_allowed_operations();
        for (account, status) in [("111111111111", "ACTIVE"), ("100000000200", "DISABLED")] {
            let principal = state.account_principal(account);
            license_manager::seed_grant(
                &mut state,
                DEMO_DELETED_LICENSE,
                &principal,
                &format!("legacy-claude35-{account}"),
                status,
                &operations,
            );
        }
        let ou_principal = state.ou_arn(&data);
        license_manager::seed_grant(
            &mut state,
            DEMO_DELETED_LICENSE,
            &ou_principal,
            "legacy-claude35-data",
            "ACTIVE",
            &operations,
        );
        state
    }

    /// A large generated organisation (see [`GenerateOptions`]), with the demo's active
    /// Claude Sonnet 4.5 agreement and license.
    pub fn generate(options: GenerateOptions) -> State {
        let root = DEMO_ROOT_ID;
        let mut state = empty(DEMO_MANAGEMENT_ACCOUNT, DEMO_ORGANIZATION_ID, root);
        let mut random = options.seed ^ 0x0123_4567_89AB_CDEF;
        let mut next = move |bound: usize| -> usize {
            random = splitmix(random);
            if bound == 0 {
                0
            } else {
                usize::try_from(random % bound as u64).unwrap_or(0)
            }
        };
        // (id, depth) of every container that may still take children.
        let mut containers: Vec<(String, usize)> = vec![(root.to_string(), 0)];
        let mut all_containers: Vec<String> = vec![root.to_string()];
        let depth = options.depth.max(1);
        for index in 0..options.ous {
            let open: Vec<&(String, usize)> = containers
                .iter()
                .filter(|(_, level)| *level < depth)
                .collect();
            let (parent, level) = open[next(open.len())].clone();
            let id = format!("ou-sbx0-{index:08x}");
            let name = format!("Unit-{index:04}");
            add_ou(&mut state, &id, &name, &parent);
            containers.push((id.clone(), level + 1));
            all_containers.push(id);
        }
        let teams = ["ml", "web", "data", "platform", "research"];
        for index in 0..options.accounts {
            let id = format!("{:012}", 200_000_000_000u64 + index as u64);
            let parent = all_containers[next(all_containers.len())].clone();
            let mut tags: Vec<(&str, &str)> = vec![("team", teams[next(teams.len())])];
            if next(100) < 30 {
                tags.push(("bedrock", "approved"));
            }
            add_account(
                &mut state,
                &id,
                &format!("account-{index:05}"),
                &parent,
                &tags,
            );
            if next(100) == 0
                && let Some(account) = state.accounts.get_mut(&id)
            {
                account.state = "SUSPENDED".to_string();
            }
        }
        add_subscription(
            &mut state,
            DEMO_ACTIVE_AGREEMENT,
            DEMO_ACTIVE_LICENSE,
            SONNET_4_5_PRODUCT,
            "Claude Sonnet 4.5",
            "ACTIVE",
        );
        state
    }

    /// Builds a state from a hand-written org file (TOML, format in `docs/emulator.md`).
    pub fn from_org_file(path: &Path) -> Result<State, SandboxError> {
        let text = std::fs::read_to_string(path).map_err(|source| SandboxError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: OrgFile = toml::from_str(&text).map_err(|error| SandboxError::Parse {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        file.into_state().map_err(|message| SandboxError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }
}

/// Parameters of [`State::generate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateOptions {
    /// Member accounts (besides the management account).
    pub accounts: usize,
    /// Organizational units.
    pub ous: usize,
    /// Maximum OU nesting depth (1 = OUs directly under the root only).
    pub depth: usize,
    /// Seed: the same options give the same organisation.
    pub seed: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            accounts: 1000,
            ous: 100,
            depth: 3,
            seed: 1,
        }
    }
}

/// The `--org FILE` format: an OU tree with accounts, in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgFile {
    /// Management account id (default `100000000001`).
    #[serde(default)]
    pub management_account: Option<String>,
    /// `ALL` (default) or `CONSOLIDATED_BILLING`.
    #[serde(default)]
    pub feature_set: Option<String>,
    /// License Manager linked to Organizations (default true).
    #[serde(default)]
    pub license_manager_linked: Option<bool>,
    /// Add the demo's active Claude Sonnet 4.5 agreement and license (default true).
    #[serde(default)]
    pub demo_subscription: Option<bool>,
    /// Settings overriding the defaults.
    #[serde(default)]
    pub settings: Option<Settings>,
    /// Accounts directly under the root.
    #[serde(default)]
    pub account: Vec<OrgFileAccount>,
    /// Top-level OUs.
    #[serde(default)]
    pub ou: Vec<OrgFileOu>,
}

/// An OU in an org file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgFileOu {
    /// Name.
    pub name: String,
    /// Id (generated when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// OU tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Accounts directly in this OU.
    #[serde(default)]
    pub account: Vec<OrgFileAccount>,
    /// Nested OUs.
    #[serde(default)]
    pub ou: Vec<OrgFileOu>,
}

/// An account in an org file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgFileAccount {
    /// 12-digit id.
    pub id: String,
    /// Name (default `account-<id>`).
    #[serde(default)]
    pub name: Option<String>,
    /// State (default `ACTIVE`).
    #[serde(default)]
    pub state: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl OrgFile {
    fn into_state(self) -> Result<State, String> {
        let management = self
            .management_account
            .clone()
            .unwrap_or_else(|| DEMO_MANAGEMENT_ACCOUNT.to_string());
        check_account_id(&management)?;
        let mut state = empty(&management, DEMO_ORGANIZATION_ID, DEMO_ROOT_ID);
        if let Some(feature_set) = self.feature_set {
            if feature_set != "ALL" && feature_set != "CONSOLIDATED_BILLING" {
                return Err(format!(
                    "feature_set `{feature_set}` is not ALL or CONSOLIDATED_BILLING"
                ));
            }
            state.organization.feature_set = feature_set;
        }
        state.license_manager.enable_integration = self.license_manager_linked.unwrap_or(true);
        if let Some(settings) = self.settings {
            state.settings = settings;
        }
        let mut counter = 0usize;
        add_file_accounts(&mut state, &self.account, DEMO_ROOT_ID)?;
        add_file_ous(&mut state, &self.ou, DEMO_ROOT_ID, &mut counter)?;
        if self.demo_subscription.unwrap_or(true) {
            add_subscription(
                &mut state,
                DEMO_ACTIVE_AGREEMENT,
                DEMO_ACTIVE_LICENSE,
                SONNET_4_5_PRODUCT,
                "Claude Sonnet 4.5",
                "ACTIVE",
            );
        }
        Ok(state)
    }
}

fn check_account_id(id: &str) -> Result<(), String> {
    if id.len() == 12 && id.bytes().all(|byte| byte.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("account id `{id}` is not 12 digits"))
    }
}

fn add_file_accounts(
    state: &mut State,
    accounts: &[OrgFileAccount],
    parent: &str,
) -> Result<(), String> {
    for account in accounts {
        check_account_id(&account.id)?;
        if state.accounts.contains_key(&account.id) {
            return Err(format!("account `{}` appears twice", account.id));
        }
        let name = account
            .name
            .clone()
            .unwrap_or_else(|| format!("account-{}", account.id));
        add_account(state, &account.id, &name, parent, &[]);
        if let Some(entry) = state.accounts.get_mut(&account.id) {
            entry.tags = account.tags.clone();
            if let Some(account_state) = &account.state {
                entry.state = account_state.clone();
            }
        }
    }
    Ok(())
}

fn add_file_ous(
    state: &mut State,
    ous: &[OrgFileOu],
    parent: &str,
    counter: &mut usize,
) -> Result<(), String> {
    for ou in ous {
        *counter += 1;
        let id = ou
            .id
            .clone()
            .unwrap_or_else(|| format!("ou-sbx0-f{:07x}", *counter));
        if state.ous.contains_key(&id) {
            return Err(format!("OU id `{id}` appears twice"));
        }
        let sibling_clash = state
            .ous
            .values()
            .any(|existing| existing.parent_id == parent && existing.name == ou.name);
        if sibling_clash {
            return Err(format!("two OUs named `{}` under the same parent", ou.name));
        }
        add_ou(state, &id, &ou.name, parent);
        if !ou.tags.is_empty() {
            state.resource_tags.insert(id.clone(), ou.tags.clone());
        }
        add_file_accounts(state, &ou.account, &id)?;
        add_file_ous(state, &ou.ou, &id, counter)?;
    }
    Ok(())
}
