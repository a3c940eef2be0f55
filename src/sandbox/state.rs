//! The emulator's whole world as one serde value: the organisation (OUs, accounts, tags), License
//! Manager (licenses, grants, client tokens, settings), Marketplace agreements, and the settings
//! for behaviour AWS does not document. Loaded from and saved to one JSON file.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::SandboxError;

/// Everything the emulator knows. Maps are sorted so saved files and listings are deterministic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Version of this file format.
    pub format_version: u32,
    /// The organisation.
    pub organization: Organization,
    /// Organizational units by id (`ou-...`).
    pub ous: BTreeMap<String, OrganizationalUnit>,
    /// Accounts by 12-digit id, the management account included.
    pub accounts: BTreeMap<String, Account>,
    /// Tags of the root and of OUs, by resource id (account tags live on the account).
    #[serde(default)]
    pub resource_tags: BTreeMap<String, BTreeMap<String, String>>,
    /// Service principals with trusted access, and the date (epoch seconds) it was enabled.
    #[serde(default)]
    pub service_access: BTreeMap<String, i64>,
    /// Delegated administrators.
    #[serde(default)]
    pub delegated_administrators: Vec<DelegatedAdministrator>,
    /// License Manager's service settings.
    pub license_manager: LicenseManagerSettings,
    /// Licenses by ARN.
    pub licenses: BTreeMap<String, License>,
    /// Marketplace agreements by id (`agmt-...`).
    pub agreements: BTreeMap<String, Agreement>,
    /// Grants by ARN: grants created by CreateGrant and the per-account grants an org or OU grant
    /// fans out into (those have `parent_grant` set).
    pub grants: BTreeMap<String, Grant>,
    /// ClientTokens already used, by `operation:token`.
    #[serde(default)]
    pub client_tokens: BTreeMap<String, ClientTokenRecord>,
    /// Behaviour AWS leaves undocumented, and page-size knobs.
    #[serde(default)]
    pub settings: Settings,
    /// Counter for deterministic id generation.
    #[serde(default)]
    pub next_id: u64,
}

/// The organisation itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// `o-...`
    pub id: String,
    /// `ALL` or `CONSOLIDATED_BILLING`.
    pub feature_set: String,
    /// The management account's id.
    pub management_account_id: String,
    /// The root's id, `r-...`.
    pub root_id: String,
}

/// An organizational unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationalUnit {
    /// `ou-<root suffix>-<suffix>`
    pub id: String,
    /// Display name (unique among siblings).
    pub name: String,
    /// The id of the parent: the root or another OU.
    pub parent_id: String,
}

/// A member account (or the management account).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// 12-digit id.
    pub id: String,
    /// Account name.
    pub name: String,
    /// Root email.
    pub email: String,
    /// `PENDING_ACTIVATION`, `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE` or `CLOSED`.
    pub state: String,
    /// Parent: the root or an OU id.
    pub parent_id: String,
    /// `INVITED` or `CREATED`.
    pub joined_method: String,
    /// When it joined, epoch seconds.
    pub joined_timestamp: i64,
    /// Account tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A delegated administrator registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DelegatedAdministrator {
    /// The account.
    pub account_id: String,
    /// The service principal it administers.
    pub service_principal: String,
    /// Epoch seconds.
    pub delegation_enabled_date: i64,
}

/// License Manager's own settings (GetServiceSettings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseManagerSettings {
    /// "Link AWS Organizations accounts": grants are auto-accepted when this is on and the
    /// organisation has all features.
    pub enable_integration: bool,
    /// Cross-account discovery (not needed for grants).
    pub enable_cross_accounts_discovery: bool,
}

/// A license, as License Manager shows it to the account that received it from Marketplace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct License {
    /// `arn:aws:license-manager::<issuer account>:license:l-...`
    pub arn: String,
    /// Name.
    pub name: String,
    /// Product name.
    pub product_name: String,
    /// The Marketplace product id `prod-...`.
    pub product_sku: String,
    /// `AWS/Marketplace` for Marketplace licenses.
    pub issuer_name: String,
    /// Issuer key fingerprint.
    pub key_fingerprint: String,
    /// Beneficiary (the subscribing account).
    pub beneficiary: String,
    /// The account that holds the license (may create grants of it).
    pub holder_account_id: String,
    /// AVAILABLE, PENDING_AVAILABLE, DEACTIVATED, SUSPENDED, EXPIRED, PENDING_DELETE, DELETED.
    pub status: String,
    /// Operations a grant of this license may pass on (ReceivedMetadata.AllowedOperations).
    pub allowed_operations: Vec<String>,
    /// Validity begin, epoch seconds.
    pub validity_begin: i64,
    /// Validity end, epoch seconds.
    pub validity_end: Option<i64>,
    /// Creation time, epoch seconds.
    pub create_time: i64,
    /// The agreement it came from.
    pub agreement_id: Option<String>,
}

/// A Marketplace agreement in which the management account is the acceptor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// `agmt-...`
    pub id: String,
    /// ACTIVE, ARCHIVED, CANCELLED, EXPIRED, RENEWED, REPLACED, ROLLED_BACK, SUPERSEDED, TERMINATED.
    pub status: String,
    /// `PurchaseAgreement`.
    pub agreement_type: String,
    /// Acceptor (buyer) account id.
    pub acceptor_account_id: String,
    /// Proposer (seller) account id.
    pub proposer_account_id: String,
    /// The product id `prod-...`.
    pub product_id: String,
    /// `SaaSProduct`, `AmiProduct`, ...
    pub resource_type: String,
    /// Offer id.
    pub offer_id: String,
    /// Offer set id, if any.
    pub offer_set_id: Option<String>,
    /// Epoch seconds.
    pub acceptance_time: i64,
    /// Epoch seconds.
    pub start_time: i64,
    /// Epoch seconds.
    pub end_time: i64,
    /// The license Marketplace created for it.
    pub license_arn: Option<String>,
}

/// A grant. Grants created by CreateGrant have `parent_grant == None` and `ParentArn` = the
/// license; the per-account grants an org/OU grant fans out into have `parent_grant` set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    /// `arn:aws:license-manager::<grantor>:grant:g-...`
    pub arn: String,
    /// Name.
    pub name: String,
    /// The license.
    pub license_arn: String,
    /// The org/OU grant this per-account grant was distributed from.
    pub parent_grant: Option<String>,
    /// The grantor account.
    pub grantor_account_id: String,
    /// Principal ARN: organization, OU, or `arn:aws:iam::<account>:root`.
    pub principal: String,
    /// For per-account grants (and direct account grants): the grantee account.
    pub grantee_account_id: Option<String>,
    /// Home region.
    pub home_region: String,
    /// Grant status.
    pub status: String,
    /// Status reason.
    pub status_reason: Option<String>,
    /// Current version, "1", "2", ...
    pub version: u32,
    /// Granted operations.
    pub operations: Vec<String>,
    /// Options.ActivationOverrideBehavior of the last version that set it.
    pub activation_override_behavior: Option<String>,
    /// Tags given at creation.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Reads left before PENDING_WORKFLOW ends.
    #[serde(default)]
    pub workflow_reads_left: u32,
    /// When the grant was created, epoch milliseconds.
    pub created_at_ms: i64,
}

/// What a ClientToken was used for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientTokenRecord {
    /// Fingerprint of the request parameters (JSON of the input minus the token).
    pub fingerprint: String,
    /// The response returned the first time.
    pub response: serde_json::Value,
}

/// How a second grant for the same license and principal is answered (undocumented by AWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateGrant {
    /// Refused with a ValidationException whose message says the grant already exists.
    #[default]
    Reject,
    /// Another grant is created.
    Allow,
}

/// How a ClientToken reused with different parameters is answered (undocumented by AWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClientTokenMismatch {
    /// Refused with a ValidationException.
    #[default]
    Reject,
    /// The first call's response is returned again.
    ReturnOriginal,
}

/// Which accounts an OU principal covers (AWS docs are ambiguous).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OuGrantScope {
    /// Accounts of the OU and of every OU nested in it.
    #[default]
    Subtree,
    /// Only the accounts directly in the OU.
    DirectChildren,
}

/// Settings for the behaviour AWS does not document, each with the default the emulator uses.
/// `docs/emulator.md` lists them beside the documented behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Second grant for the same license and principal.
    pub duplicate_grant: DuplicateGrant,
    /// ClientToken reused with different parameters.
    pub client_token_mismatch: ClientTokenMismatch,
    /// Accounts an OU principal covers.
    pub ou_grant_scope: OuGrantScope,
    /// Whether an OU that is not a direct child of the root may be a principal.
    pub allow_nested_ou_principal: bool,
    /// How many reads of a new grant still show PENDING_WORKFLOW before it settles.
    pub pending_workflow_reads: u32,
    /// If set, PENDING_WORKFLOW also lasts at least this many milliseconds after creation.
    pub pending_workflow_millis: Option<u64>,
    /// HTTP status of License Manager's RateLimitExceededException.
    pub rate_limit_http_status: u16,
    /// Organizations page size when MaxResults is absent.
    pub organizations_default_page_size: usize,
    /// Organizations: every Nth page (0 = never) is served empty but with a NextToken.
    pub organizations_empty_page_every: u32,
    /// License Manager page size when MaxResults is absent.
    pub license_manager_default_page_size: usize,
    /// Grants per license (AWS documents 2,000).
    pub max_grants_per_license: usize,
    /// Whether deleted grants still appear in List*Grants (GetGrant always shows them).
    pub list_deleted_grants: bool,
    /// Marketplace page size when maxResults is absent.
    pub marketplace_default_page_size: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            duplicate_grant: DuplicateGrant::Reject,
            client_token_mismatch: ClientTokenMismatch::Reject,
            ou_grant_scope: OuGrantScope::Subtree,
            allow_nested_ou_principal: true,
            pending_workflow_reads: 1,
            pending_workflow_millis: None,
            rate_limit_http_status: 400,
            organizations_default_page_size: 20,
            organizations_empty_page_every: 0,
            license_manager_default_page_size: 100,
            max_grants_per_license: 2000,
            list_deleted_grants: false,
            marketplace_default_page_size: 50,
        }
    }
}

/// Current state file format version.
pub const STATE_FORMAT_VERSION: u32 = 1;

impl State {
    /// The ACTIVE member accounts' ids (the management account left out), sorted: who a grant
    /// can reach.
    pub fn active_member_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .accounts
            .values()
            .filter(|account| {
                account.state == "ACTIVE" && account.id != self.organization.management_account_id
            })
            .map(|account| account.id.as_str())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Reads a state file written by [`State::save`].
    pub fn load(path: &Path) -> Result<State, SandboxError> {
        let text = std::fs::read_to_string(path).map_err(|source| SandboxError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| SandboxError::Parse {
            path: path.to_path_buf(),
            message: source.to_string(),
        })
    }

    /// Writes the state as pretty JSON (atomically: a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), SandboxError> {
        let io = |source| SandboxError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|source| SandboxError::Parse {
            path: path.to_path_buf(),
            message: source.to_string(),
        })?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text).map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)
    }

    /// Loads the state file if it exists, otherwise seeds [`State::demo`] and saves it there.
    pub fn load_or_seed_demo(path: &Path) -> Result<State, SandboxError> {
        if path.exists() {
            State::load(path)
        } else {
            let state = State::demo();
            state.save(path)?;
            Ok(state)
        }
    }

    /// The management account id.
    pub fn management_account_id(&self) -> &str {
        &self.organization.management_account_id
    }

    /// `arn:aws:organizations::<mgmt>:organization/o-x`
    pub fn organization_arn(&self) -> String {
        format!(
            "arn:aws:organizations::{}:organization/{}",
            self.organization.management_account_id, self.organization.id
        )
    }

    /// `arn:aws:organizations::<mgmt>:root/o-x/r-y`
    pub fn root_arn(&self) -> String {
        format!(
            "arn:aws:organizations::{}:root/{}/{}",
            self.organization.management_account_id,
            self.organization.id,
            self.organization.root_id
        )
    }

    /// `arn:aws:organizations::<mgmt>:ou/o-x/ou-y-z`
    pub fn ou_arn(&self, ou_id: &str) -> String {
        format!(
            "arn:aws:organizations::{}:ou/{}/{}",
            self.organization.management_account_id, self.organization.id, ou_id
        )
    }

    /// `arn:aws:organizations::<mgmt>:account/o-x/<id>`
    pub fn account_arn(&self, account_id: &str) -> String {
        format!(
            "arn:aws:organizations::{}:account/{}/{}",
            self.organization.management_account_id, self.organization.id, account_id
        )
    }

    /// The ids from the root down to `id` (inclusive), or `None` when `id` is unknown.
    pub fn ancestry(&self, id: &str) -> Option<Vec<String>> {
        let mut chain = vec![id.to_string()];
        let mut current = id.to_string();
        let mut guard = 0;
        while current != self.organization.root_id {
            let parent = if let Some(ou) = self.ous.get(&current) {
                ou.parent_id.clone()
            } else if let Some(account) = self.accounts.get(&current) {
                account.parent_id.clone()
            } else {
                return None;
            };
            chain.push(parent.clone());
            current = parent;
            guard += 1;
            if guard > 10_000 {
                return None;
            }
        }
        chain.reverse();
        Some(chain)
    }

    /// Organizations' `Path`: `o-x/r-y/ou-a/ou-b/` (for accounts the account id ends it).
    pub fn path_of(&self, id: &str) -> String {
        let mut path = format!("{}/", self.organization.id);
        for part in self.ancestry(id).unwrap_or_default() {
            path.push_str(&part);
            path.push('/');
        }
        path
    }

    /// Whether grants are auto-accepted: License Manager linked and all features enabled.
    pub fn grants_auto_accepted(&self) -> bool {
        self.license_manager.enable_integration && self.organization.feature_set == "ALL"
    }

    /// A fresh deterministic hex suffix of `length` characters.
    pub(crate) fn fresh_hex(&mut self, length: usize) -> String {
        self.next_id += 1;
        let mut value = self.next_id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66_D1CE_4E5B;
        let mut out = String::with_capacity(length);
        while out.len() < length {
            value = splitmix(value);
            out.push_str(&format!("{value:016x}"));
        }
        out.truncate(length);
        out
    }
}

/// SplitMix64 step: the deterministic generator behind ids, seeds and fault draws.
pub(crate) fn splitmix(mut value: u64) -> u64 {
    value = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = value;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
