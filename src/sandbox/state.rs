//! The emulator's whole world as one serde value: the organisation (OUs, accounts, tags), License
//! Manager (licenses, grants, client tokens, settings), Marketplace agreements, STS (issued
//! assumed-role keys, removed member roles), usage for Cost Explorer (`usage.rs`), and the
//! settings for behaviour AWS does not document (defined in `settings.rs`). Loaded from and
//! saved to one JSON file; every ARN it builds is in the partition the settings name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SandboxError;
pub use super::settings::{
    AccountGrantAcceptance, ActivatedParentStatus, ClientTokenAfterDelete, ClientTokenMismatch,
    DuplicateGrant, ORGANIZATION_ACCOUNT_ACCESS_ROLE, OuGrantScope, OwnSubscriptionActivation,
    Settings, StaleVersionMessage,
};

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
    pub grants: Grants,
    /// ClientTokens already used, by `operation:token`.
    #[serde(default)]
    pub client_tokens: BTreeMap<String, ClientTokenRecord>,
    /// Behaviour AWS leaves undocumented, and page-size knobs.
    #[serde(default)]
    pub settings: Settings,
    /// Member roles removed from accounts (`remove_role` admin action): account id -> role
    /// names that STS AssumeRole refuses there.
    #[serde(default)]
    pub removed_roles: BTreeMap<String, BTreeSet<String>>,
    /// Credentials issued by STS AssumeRole, by access key id: who they act as.
    #[serde(default)]
    pub assumed_role_keys: BTreeMap<String, AssumedRoleKey>,
    /// Amazon Bedrock: the use-case forms submitted, and availability broken by the
    /// `break_availability` admin action.
    #[serde(default)]
    pub bedrock: BedrockState,
    /// IAM service-linked roles by account id: role name -> role path (e.g.
    /// `/aws-service-role/license-manager.amazonaws.com/`). IAM GetRole answers them.
    #[serde(default)]
    pub service_linked_roles: BTreeMap<String, BTreeMap<String, String>>,
    /// Usage billed for Cost Explorer: recorded lines, rates, grant and license status
    /// histories (`usage.rs`).
    #[serde(default)]
    pub usage: super::usage::UsageBook,
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
    /// UpdateServiceSettings' S3BucketArn, if set.
    #[serde(default)]
    pub s3_bucket_arn: Option<String>,
    /// UpdateServiceSettings' SnsTopicArn, if set.
    #[serde(default)]
    pub sns_topic_arn: Option<String>,
}

/// A license, as License Manager shows it to the account that received it from Marketplace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct License {
    /// `arn:<partition>:license-manager::<issuer account>:license:l-...`
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
    /// For a member's own subscription: the grant whose activation with
    /// `ALL_GRANTS_PERMITTED_BY_ISSUER` disabled this license (the member then receives it as
    /// DISABLED).
    #[serde(default)]
    pub disabled_by_grant: Option<String>,
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

/// The grants by ARN, remembering which were written to since the status histories last
/// looked (`usage::note_statuses`, after every call): noting status changes then costs what a
/// call touched, not what the state holds. Reads go through `Deref` to the map; every write
/// goes through a method here, which records it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Grants {
    map: BTreeMap<String, Grant>,
    /// What was written to since [`Grants::take_touched`]; everything when just loaded.
    #[serde(skip)]
    touched: Touched,
}

/// Which grants were written to: some, by ARN, or possibly all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Touched {
    /// Any grant may have changed.
    #[default]
    All,
    /// Only these (new or changed).
    Some(BTreeSet<String>),
}

impl PartialEq for Grants {
    /// Equal grants; what the histories have seen is not part of the state.
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl std::ops::Deref for Grants {
    type Target = BTreeMap<String, Grant>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl From<BTreeMap<String, Grant>> for Grants {
    fn from(map: BTreeMap<String, Grant>) -> Self {
        Self {
            map,
            touched: Touched::All,
        }
    }
}

impl Grants {
    fn touch(&mut self, arn: &str) {
        if let Touched::Some(arns) = &mut self.touched {
            arns.insert(arn.to_string());
        }
    }

    /// The grant, to change it.
    pub fn get_mut(&mut self, arn: &str) -> Option<&mut Grant> {
        self.touch(arn);
        self.map.get_mut(arn)
    }

    /// Adds or replaces a grant.
    pub fn insert(&mut self, arn: String, grant: Grant) -> Option<Grant> {
        self.touch(&arn);
        self.map.insert(arn, grant)
    }

    /// Changes every grant `select` picks (only those count as touched); returns how many.
    pub fn update_where(
        &mut self,
        select: impl Fn(&Grant) -> bool,
        mut change: impl FnMut(&mut Grant),
    ) -> usize {
        let Self { map, touched } = self;
        let mut changed = 0;
        for (arn, grant) in map.iter_mut().filter(|(_, grant)| select(grant)) {
            if let Touched::Some(arns) = touched {
                arns.insert(arn.clone());
            }
            change(grant);
            changed += 1;
        }
        changed
    }

    /// What was written to since the last call, and starts afresh.
    pub fn take_touched(&mut self) -> Touched {
        std::mem::replace(&mut self.touched, Touched::Some(BTreeSet::new()))
    }
}

/// A grant. Grants created by CreateGrant have `parent_grant == None` and `ParentArn` = the
/// license; the per-account grants an org/OU grant fans out into have `parent_grant` set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    /// `arn:<partition>:license-manager::<grantor>:grant:g-...`
    pub arn: String,
    /// Name.
    pub name: String,
    /// The license.
    pub license_arn: String,
    /// The org/OU grant this per-account grant was distributed from.
    pub parent_grant: Option<String>,
    /// The grantor account.
    pub grantor_account_id: String,
    /// Principal ARN: organization, OU, or `arn:<partition>:iam::<account>:root`.
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
    /// For an organisation or OU grant: CreateGrantVersion(Status=ACTIVE) was called on it, so
    /// accounts that join later get ACTIVE grants, whatever the parent shows.
    #[serde(default)]
    pub activated: bool,
    /// When DeleteGrant was called on it (PENDING_DELETE until `pending_delete_millis` later),
    /// epoch milliseconds.
    #[serde(default)]
    pub deleted_at_ms: Option<i64>,
}

/// Amazon Bedrock's per-account state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BedrockState {
    /// The Anthropic use-case form (PutUseCaseForModelAccess `formData`, base64) by account id.
    #[serde(default)]
    pub use_case_forms: BTreeMap<String, String>,
    /// Accounts whose entitlementAvailability answers NOT_AVAILABLE whatever their grants:
    /// account id -> model ids (`*` for every model).
    #[serde(default)]
    pub broken_availability: BTreeMap<String, BTreeSet<String>>,
}

/// Who the credentials of one STS AssumeRole answer act as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssumedRoleKey {
    /// The account of the role.
    pub account_id: String,
    /// The role's name (without its path).
    pub role_name: String,
    /// The RoleSessionName given to AssumeRole.
    pub session_name: String,
}

/// What a ClientToken was used for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientTokenRecord {
    /// Fingerprint of the request parameters (JSON of the input minus the token).
    pub fingerprint: String,
    /// The response returned the first time.
    pub response: serde_json::Value,
}

/// Current state file format version.
pub const STATE_FORMAT_VERSION: u32 = 1;

/// The largest state file read (a generated organisation of 10,000 accounts is a few MB).
const STATE_MAX_BYTES: u64 = 512 * 1024 * 1024;

/// A regular file's text, read only up to `limit` bytes: a FIFO, a device or an endless file
/// is refused naming the file instead of hanging or filling memory.
fn read_bounded(path: &Path, limit: u64) -> Result<String, SandboxError> {
    use std::io::Read as _;
    let io = |source| SandboxError::Io {
        path: path.to_path_buf(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    if !metadata.is_file() {
        return Err(io(std::io::Error::other("not a regular file")));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(io(std::io::Error::other(format!(
            "larger than {} MiB",
            limit / (1024 * 1024)
        ))));
    }
    String::from_utf8(bytes).map_err(|error| SandboxError::Parse {
        path: path.to_path_buf(),
        message: format!(
            "not UTF-8 text (at byte {})",
            error.utf8_error().valid_up_to()
        ),
    })
}

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
        let parse = |message: String| SandboxError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let text = read_bounded(path, STATE_MAX_BYTES)?;
        // The version first: a newer file would otherwise fail on some field, saying nothing of why.
        #[derive(Deserialize)]
        struct Version {
            format_version: Option<u32>,
        }
        if let Ok(Version {
            format_version: Some(version),
        }) = serde_json::from_str::<Version>(&text)
            && version > STATE_FORMAT_VERSION
        {
            return Err(parse(format!(
                "format version {version} is newer than this entitle understands \
                 (up to {STATE_FORMAT_VERSION}); use the entitle that wrote it, or a newer one"
            )));
        }
        serde_json::from_str(&text).map_err(|source| parse(source.to_string()))
    }

    /// Refuses a state file that [`State::save`] could not write, before anything changes: not
    /// a regular file, or in a directory where its temporary file cannot be made.
    pub fn check_writable(path: &Path) -> Result<(), SandboxError> {
        let io = |source| SandboxError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Ok(metadata) = std::fs::metadata(path)
            && !metadata.is_file()
        {
            return Err(io(std::io::Error::other(
                "not a regular file: the state is saved to a file",
            )));
        }
        let temporary = path.with_extension("json.tmp");
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)
            .map_err(|source| SandboxError::Io {
                path: temporary.clone(),
                source,
            })?;
        std::fs::remove_file(&temporary).map_err(|source| SandboxError::Io {
            path: temporary,
            source,
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

    /// The ARN partition of this state (`aws`, `aws-us-gov`, `aws-cn`).
    pub fn partition(&self) -> &str {
        &self.settings.partition
    }

    /// `arn:<partition>:<service>::<account>:<resource>`: an ARN of this state's partition.
    pub fn arn(&self, service: &str, account: &str, resource: &str) -> String {
        format!("arn:{}:{service}::{account}:{resource}", self.partition())
    }

    /// An `arn:aws:...` constant (the seeds' license ARNs) in this state's partition.
    pub fn in_partition(&self, arn: &str) -> String {
        match arn.strip_prefix("arn:aws:") {
            Some(rest) => format!("arn:{}:{rest}", self.partition()),
            None => arn.to_string(),
        }
    }

    /// `arn:<partition>:organizations::<mgmt>:organization/o-x`
    pub fn organization_arn(&self) -> String {
        self.arn(
            "organizations",
            &self.organization.management_account_id,
            &format!("organization/{}", self.organization.id),
        )
    }

    /// `arn:<partition>:organizations::<mgmt>:root/o-x/r-y`
    pub fn root_arn(&self) -> String {
        self.arn(
            "organizations",
            &self.organization.management_account_id,
            &format!(
                "root/{}/{}",
                self.organization.id, self.organization.root_id
            ),
        )
    }

    /// `arn:<partition>:organizations::<mgmt>:ou/o-x/ou-y-z`
    pub fn ou_arn(&self, ou_id: &str) -> String {
        format!("{}{ou_id}", self.ou_arn_prefix())
    }

    /// `arn:<partition>:organizations::<mgmt>:ou/o-x/`: what every OU ARN starts with.
    pub fn ou_arn_prefix(&self) -> String {
        self.arn(
            "organizations",
            &self.organization.management_account_id,
            &format!("ou/{}/", self.organization.id),
        )
    }

    /// `arn:<partition>:organizations::<mgmt>:account/o-x/<id>`
    pub fn account_arn(&self, account_id: &str) -> String {
        self.arn(
            "organizations",
            &self.organization.management_account_id,
            &format!("account/{}/{account_id}", self.organization.id),
        )
    }

    /// `arn:<partition>:iam::<id>:root`: an account as a License Manager grant principal.
    pub fn account_principal(&self, account_id: &str) -> String {
        self.arn("iam", account_id, "root")
    }

    /// The account id of an `arn:<partition>:iam::<id>:root` principal of this partition.
    pub fn principal_account<'a>(&self, arn: &'a str) -> Option<&'a str> {
        arn.strip_prefix("arn:")
            .and_then(|rest| rest.strip_prefix(self.partition()))
            .and_then(|rest| rest.strip_prefix(":iam::"))
            .and_then(|rest| rest.strip_suffix(":root"))
            .filter(|account| {
                account.len() == 12 && account.bytes().all(|byte| byte.is_ascii_digit())
            })
    }

    /// Moves the whole state to another ARN partition: sets `settings.partition` and rewrites
    /// every stored ARN (`arn:<old>:` becomes `arn:<new>:` in every string and map key:
    /// licenses, grants, principals, agreements, remembered ClientToken answers).
    pub fn set_partition(&mut self, partition: &str) {
        let old = format!("arn:{}:", self.settings.partition);
        let new = format!("arn:{partition}:");
        self.settings.partition = partition.to_string();
        if old == new {
            return;
        }
        let Ok(mut value) = serde_json::to_value(&*self) else {
            return;
        };
        rewrite_arns(&mut value, &old, &new);
        if let Ok(state) = serde_json::from_value::<State>(value) {
            *self = state;
        }
    }

    /// Whether `role_name` may be assumed in `account_id`: it is one of the member role names
    /// and was not removed from that account.
    pub fn role_exists(&self, account_id: &str, role_name: &str) -> bool {
        self.settings
            .member_role_names
            .iter()
            .any(|name| name == role_name)
            && !self
                .removed_roles
                .get(account_id)
                .is_some_and(|removed| removed.contains(role_name))
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

/// Replaces `old` by `new` in every string and map key of a JSON value.
fn rewrite_arns(value: &mut Value, old: &str, new: &str) {
    match value {
        Value::String(text) if text.contains(old) => *text = text.replace(old, new),
        Value::Array(items) => {
            for item in items {
                rewrite_arns(item, old, new);
            }
        }
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut item) in entries {
                rewrite_arns(&mut item, old, new);
                let key = if key.contains(old) {
                    key.replace(old, new)
                } else {
                    key
                };
                map.insert(key, item);
            }
        }
        _ => {}
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
