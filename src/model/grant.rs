//! License Manager grants as the planner sees them: principals, statuses, operations, observed
//! grants and licenses, ownership tags and the deterministic names and client tokens of grants.
//!
//! The `aws` layer builds these values from SDK responses; the planner only reads them. Every type
//! is plain data with public fields so that a reader (or a test) can construct it directly.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ids::{AccountId, OrgId, OuId};

/// Tag key naming the rollout that owns a grant: the mark of ownership.
pub const TAG_ROLLOUT: &str = "entitle:rollout";
/// Tag key naming the phase of the rollout that created a grant.
pub const TAG_PHASE: &str = "entitle:phase";
/// Tag key holding the generation of a grant (0 first, +1 each time it is recreated).
pub const TAG_GENERATION: &str = "entitle:generation";
/// Tag key saying which tool manages the grant (always `entitle`).
pub const TAG_MANAGED_BY: &str = "entitle:managed-by";

/// A License Manager operation a grant may allow (`AllowedOperation` in the service model).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Operation {
    /// Lets the grantee create grants of its own (never passed on by default).
    CreateGrant,
    /// Check a license out.
    CheckoutLicense,
    /// Check a license out for offline use.
    CheckoutBorrowLicense,
    /// Check a license back in.
    CheckInLicense,
    /// Extend a checkout.
    ExtendConsumptionLicense,
    /// List purchased licenses.
    ListPurchasedLicenses,
    /// Create a license token.
    CreateToken,
    /// List the licenses received (the eighth value of `AllowedOperation` in the current service
    /// model).
    ListReceivedLicenses,
    /// A value this version of entitle does not know (only ever read from AWS, never planned).
    Other(String),
}

impl Operation {
    /// The eight operations the service model knows, in its order.
    pub const ALL: [&'static str; 8] = [
        "CreateGrant",
        "CheckoutLicense",
        "CheckoutBorrowLicense",
        "CheckInLicense",
        "ExtendConsumptionLicense",
        "ListPurchasedLicenses",
        "CreateToken",
        "ListReceivedLicenses",
    ];

    /// Maps the AWS spelling to the enum.
    pub fn from_aws(value: &str) -> Self {
        match value {
            "CreateGrant" => Self::CreateGrant,
            "CheckoutLicense" => Self::CheckoutLicense,
            "CheckoutBorrowLicense" => Self::CheckoutBorrowLicense,
            "CheckInLicense" => Self::CheckInLicense,
            "ExtendConsumptionLicense" => Self::ExtendConsumptionLicense,
            "ListPurchasedLicenses" => Self::ListPurchasedLicenses,
            "CreateToken" => Self::CreateToken,
            "ListReceivedLicenses" => Self::ListReceivedLicenses,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The AWS spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::CreateGrant => "CreateGrant",
            Self::CheckoutLicense => "CheckoutLicense",
            Self::CheckoutBorrowLicense => "CheckoutBorrowLicense",
            Self::CheckInLicense => "CheckInLicense",
            Self::ExtendConsumptionLicense => "ExtendConsumptionLicense",
            Self::ListPurchasedLicenses => "ListPurchasedLicenses",
            Self::CreateToken => "CreateToken",
            Self::ListReceivedLicenses => "ListReceivedLicenses",
            Self::Other(other) => other,
        }
    }
}

impl From<String> for Operation {
    fn from(value: String) -> Self {
        Self::from_aws(&value)
    }
}

impl From<Operation> for String {
    fn from(operation: Operation) -> String {
        operation.as_str().to_owned()
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(into = "String", from = "String")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A value this version of entitle does not know.
            Unknown(String),
        }

        impl $name {
            /// Maps the AWS spelling to the enum.
            pub fn from_aws(value: &str) -> Self {
                match value {
                    $($text => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }

            /// The AWS spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Unknown(other) => other,
                }
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::from_aws(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// The status of a grant (distributed or received), as License Manager spells it.
    GrantStatus {
        /// Being distributed to the principal's accounts.
        PendingWorkflow = "PENDING_WORKFLOW",
        /// Waiting for the grantee to accept (organisations without the License Manager link).
        PendingAccept = "PENDING_ACCEPT",
        /// The grantee rejected it: it will never become active.
        Rejected = "REJECTED",
        /// Active: the grantee can use the license.
        Active = "ACTIVE",
        /// Distribution failed.
        FailedWorkflow = "FAILED_WORKFLOW",
        /// Deleted: final.
        Deleted = "DELETED",
        /// Being deleted.
        PendingDelete = "PENDING_DELETE",
        /// Accepted but not active: someone must activate it.
        Disabled = "DISABLED",
        /// An organisation or OU grant finished distributing; says nothing about activation.
        WorkflowCompleted = "WORKFLOW_COMPLETED",
    }
);

impl GrantStatus {
    /// Whether the grant is gone or can never serve again (deleted, rejected, failed, being deleted).
    pub fn is_dead(&self) -> bool {
        matches!(
            self,
            Self::Rejected | Self::FailedWorkflow | Self::Deleted | Self::PendingDelete
        )
    }
}

string_enum!(
    /// The status of a license.
    LicenseStatus {
        /// Usable.
        Available = "AVAILABLE",
        /// Not yet usable.
        PendingAvailable = "PENDING_AVAILABLE",
        /// Deactivated by its issuer.
        Deactivated = "DEACTIVATED",
        /// Suspended.
        Suspended = "SUSPENDED",
        /// Its validity ended.
        Expired = "EXPIRED",
        /// Being deleted.
        PendingDelete = "PENDING_DELETE",
        /// Deleted: the Marketplace agreement was cancelled.
        Deleted = "DELETED",
    }
);

string_enum!(
    /// `Options.ActivationOverrideBehavior` of CreateGrantVersion.
    ActivationOverride {
        /// Activate the distributed grant and leave the account's own subscription alone.
        DistributedGrantsOnly = "DISTRIBUTED_GRANTS_ONLY",
        /// Activate the distributed grant and disable the account's other grants of the product.
        AllGrantsPermittedByIssuer = "ALL_GRANTS_PERMITTED_BY_ISSUER",
    }
);

/// Who a grant is for: exactly one principal per grant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    /// The whole organisation, accounts joining later included.
    Organization {
        /// The organisation id.
        id: OrgId,
        /// The organisation ARN exactly as Organizations returns it.
        arn: String,
    },
    /// An OU and every OU nested in it.
    Ou {
        /// The OU id.
        id: OuId,
        /// The OU ARN exactly as Organizations returns it.
        arn: String,
    },
    /// One account.
    Account {
        /// The account id; the principal ARN is `arn:<partition>:iam::<id>:root`.
        id: AccountId,
        /// The partition of the principal ARN (`aws`, `aws-us-gov`, `aws-cn`): the
        /// organisation's. Written to JSON only when it is not `aws`.
        #[serde(
            default = "commercial_partition",
            skip_serializing_if = "is_commercial_partition"
        )]
        partition: String,
    },
}

/// The commercial partition, `aws`.
pub const AWS_PARTITION: &str = "aws";

fn commercial_partition() -> String {
    AWS_PARTITION.to_owned()
}

fn is_commercial_partition(partition: &str) -> bool {
    partition == AWS_PARTITION
}

/// The partition of an ARN (`aws`, `aws-us-gov`, `aws-cn`), if it is one.
pub fn partition_of(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    (parts.next() == Some("arn"))
        .then(|| parts.next())
        .flatten()
        .filter(|partition| !partition.is_empty())
}

impl Principal {
    /// The ARN License Manager expects in `Principals` and returns as `GranteePrincipalArn`.
    pub fn arn(&self) -> String {
        match self {
            Self::Organization { arn, .. } | Self::Ou { arn, .. } => arn.clone(),
            Self::Account { id, partition } => account_principal_arn(partition, id),
        }
    }

    /// Reads a principal back from the ARN License Manager reports (`GranteePrincipalArn`).
    pub fn from_arn(arn: &str) -> Option<Self> {
        if let Some(id) = account_of_principal_arn(arn) {
            return Some(Self::Account {
                id,
                partition: partition_of(arn).unwrap_or(AWS_PARTITION).to_owned(),
            });
        }
        let resource = arn.strip_prefix("arn:")?.splitn(5, ':').nth(4)?;
        if let Some(org) = resource.strip_prefix("organization/") {
            let id = OrgId::parse(org).ok()?;
            return Some(Self::Organization {
                id,
                arn: arn.to_owned(),
            });
        }
        let unit = resource.strip_prefix("ou/")?.rsplit('/').next()?;
        let id = OuId::parse(unit).ok()?;
        Some(Self::Ou {
            id,
            arn: arn.to_owned(),
        })
    }

    /// A short kind name: `organization`, `ou` or `account`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Organization { .. } => "organization",
            Self::Ou { .. } => "ou",
            Self::Account { .. } => "account",
        }
    }

    /// The id of the principal (`o-...`, `ou-...` or the account id).
    pub fn id(&self) -> &str {
        match self {
            Self::Organization { id, .. } => id.as_str(),
            Self::Ou { id, .. } => id.as_str(),
            Self::Account { id, .. } => id.as_str(),
        }
    }
}

/// The principal ARN of an account: `arn:<partition>:iam::<id>:root` (not its Organizations
/// ARN).
pub fn account_principal_arn(partition: &str, id: &AccountId) -> String {
    format!("arn:{partition}:iam::{id}:root")
}

/// The account id inside an account principal ARN, if it is one.
pub fn account_of_principal_arn(arn: &str) -> Option<AccountId> {
    let id = arn.strip_prefix("arn:")?.split(':').nth(3)?;
    (arn.contains(":iam::") && arn.ends_with(":root"))
        .then(|| AccountId::parse(id).ok())
        .flatten()
}

/// A grant of the license as the grantor sees it (ListDistributedGrants, plus its tags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistributedGrant {
    /// `GrantArn`.
    pub arn: String,
    /// `GrantName`.
    pub name: String,
    /// `GranteePrincipalArn`: an organisation, OU or `arn:aws:iam::<id>:root` ARN.
    pub principal_arn: String,
    /// `GrantStatus`.
    pub status: GrantStatus,
    /// `StatusReason`, when AWS gave one (why a grant was rejected or failed).
    pub status_reason: Option<String>,
    /// `Version`: DeleteGrant and CreateGrantVersion need the current one.
    pub version: String,
    /// `GrantedOperations`.
    pub granted_operations: BTreeSet<Operation>,
    /// The grant's tags (ListTagsForResource); ownership is read from them.
    pub tags: BTreeMap<String, String>,
    /// `LicenseArn`.
    pub license_arn: String,
}

impl DistributedGrant {
    /// Whether the grant belongs to `rollout`: it carries `entitle:rollout = <rollout>`.
    pub fn is_owned_by(&self, rollout: &str) -> bool {
        self.tags
            .get(TAG_ROLLOUT)
            .is_some_and(|value| value == rollout)
    }

    /// The phase recorded in the grant's tags, if any.
    pub fn phase_tag(&self) -> Option<&str> {
        self.tags.get(TAG_PHASE).map(String::as_str)
    }

    /// The generation recorded in the grant's tags (0 when absent or unreadable).
    pub fn generation(&self) -> u32 {
        self.tags
            .get(TAG_GENERATION)
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    }
}

/// One account's copy of a distributed grant (ListReceivedGrantsForOrganization).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReceivedGrant {
    /// The account that holds it.
    pub account: AccountId,
    /// Its own `GrantArn`.
    pub grant_arn: String,
    /// `ParentArn`: the distributed grant it comes from.
    pub parent_arn: String,
    /// This account's status: an org grant can be ACTIVE in one account and DISABLED in another.
    pub status: GrantStatus,
}

/// The Marketplace license being distributed (ListReceivedLicenses / GetLicense).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseInfo {
    /// `LicenseArn`.
    pub arn: String,
    /// `ProductSKU`: the Marketplace product id `prod-...`.
    pub product_sku: String,
    /// `ProductName`, for people.
    pub product_name: String,
    /// `Status`: only AVAILABLE licenses are distributed.
    pub status: LicenseStatus,
    /// `ReceivedMetadata.AllowedOperations`: what grants of it may pass on.
    pub allowed_operations: BTreeSet<Operation>,
    /// `Issuer.Name`: `AWS/Marketplace` for Marketplace licenses.
    pub issuer: String,
    /// `HomeRegion` (us-east-1 for Marketplace).
    pub home_region: String,
}

/// The GrantName of a rollout's grant: `entitle/<rollout>/<phase>/<generation>/<digest>`, the
/// digest being the first 32 hex digits of SHA-256 of (`grant-name`, rollout, phase,
/// generation, license ARN, principal ARN), NUL-separated.
///
/// The name alone then says whose a grant is: ListDistributedGrants returns it, so a rollout's
/// grants are known without a ListTagsForResource per grant ([`owner_from_name`]). The digest
/// ties the name to the grant's own license and principal, so a name copied onto another grant,
/// or written by hand, does not verify. GrantName is an unconstrained `String` in the service
/// model; rollout and phase names are restricted by the plan file (no `/`), so the name parses
/// back unambiguously and stays readable in the console.
pub fn grant_name(
    rollout: &str,
    phase: &str,
    generation: u32,
    license_arn: &str,
    principal_arn: &str,
) -> String {
    let digest = name_digest(rollout, phase, generation, license_arn, principal_arn);
    let name = format!("{NAME_PREFIX}{rollout}/{phase}/{generation}/{digest}");
    if name.len() <= MAX_GRANT_NAME {
        name
    } else {
        // Long rollout and phase names leave no room for the digest: the older form, whose
        // tags say whose the grant is (read one by one).
        format!("{NAME_PREFIX}{rollout}/{phase}")
    }
}

/// The longest GrantName entitle gives: the service model sets no limit, but no grant name needs
/// more, and a service that limits names (the emulator refuses more than 150 characters) must
/// not refuse entitle's. Plan names of up to 64 characters each fit the older form.
pub const MAX_GRANT_NAME: usize = 150;

/// What every grant name entitle gives starts with.
const NAME_PREFIX: &str = "entitle/";

fn name_digest(
    rollout: &str,
    phase: &str,
    generation: u32,
    license_arn: &str,
    principal_arn: &str,
) -> String {
    let generation = generation.to_string();
    digest_of(&[
        "grant-name",
        rollout,
        phase,
        &generation,
        license_arn,
        principal_arn,
    ])
}

/// The first 32 hex digits of SHA-256 over `parts`, each followed by a NUL.
fn digest_of(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Whose a grant is, as far as its name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedOwner {
    /// A name entitle gave, its digest verified against the grant's license and principal: the
    /// rollout, phase and generation are known without reading the grant's tags.
    Rollout {
        /// The rollout that made it.
        rollout: String,
        /// The phase that made it.
        phase: String,
        /// Its generation.
        generation: u32,
    },
    /// `entitle/<rollout>/<phase>`, the name entitle gave before names carried a digest: its
    /// tags say whose it is (they are read).
    Legacy,
    /// Not entitle's: any other name, including entitle's form with a digest that does not
    /// match the grant's license and principal.
    Foreign,
}

impl NamedOwner {
    /// The tags entitle wrote on the grant when it made it, for a verified name.
    pub fn tags(&self) -> Option<BTreeMap<String, String>> {
        match self {
            Self::Rollout {
                rollout,
                phase,
                generation,
            } => Some(ownership_tags(rollout, phase, *generation)),
            Self::Legacy | Self::Foreign => None,
        }
    }
}

/// Whose the grant named `name` of `license_arn` for `principal_arn` is, from the name alone.
pub fn owner_from_name(name: &str, license_arn: &str, principal_arn: &str) -> NamedOwner {
    let Some(rest) = name.strip_prefix(NAME_PREFIX) else {
        return NamedOwner::Foreign;
    };
    match rest.split('/').collect::<Vec<_>>().as_slice() {
        [rollout, phase] if !rollout.is_empty() && !phase.is_empty() => NamedOwner::Legacy,
        [rollout, phase, generation, digest] => {
            let Ok(generation) = generation.parse::<u32>() else {
                return NamedOwner::Foreign;
            };
            let expected = name_digest(rollout, phase, generation, license_arn, principal_arn);
            // The canonical spelling only: `007` is not generation 7's name.
            if *digest == expected
                && grant_name(rollout, phase, generation, license_arn, principal_arn) == name
            {
                NamedOwner::Rollout {
                    rollout: (*rollout).to_owned(),
                    phase: (*phase).to_owned(),
                    generation,
                }
            } else {
                NamedOwner::Foreign
            }
        }
        _ => NamedOwner::Foreign,
    }
}

/// The tags a rollout puts on each grant it creates; the first one is what ownership means.
pub fn ownership_tags(rollout: &str, phase: &str, generation: u32) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_ROLLOUT.to_owned(), rollout.to_owned()),
        (TAG_PHASE.to_owned(), phase.to_owned()),
        (TAG_GENERATION.to_owned(), generation.to_string()),
        (TAG_MANAGED_BY.to_owned(), "entitle".to_owned()),
    ])
}

/// The ClientToken of CreateGrant: `entitle-` and the first 32 hex digits of
/// SHA-256(rollout, license ARN, principal ARN, generation), NUL-separated.
///
/// The service model allows 1 to 2,048 non-blank characters; 40 fit everywhere. The same inputs
/// always give the same token, so a retry, a re-run or a run after a crash cannot create a second
/// grant; a recreated grant gets a new generation and so a new token.
pub fn client_token(
    rollout: &str,
    license_arn: &str,
    principal_arn: &str,
    generation: u32,
) -> String {
    let generation = generation.to_string();
    let hex = digest_of(&[rollout, license_arn, principal_arn, &generation]);
    format!("entitle-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_are_stable_and_distinct() {
        let a = client_token("r", "arn:l", "arn:aws:iam::111111111111:root", 0);
        assert_eq!(
            a,
            client_token("r", "arn:l", "arn:aws:iam::111111111111:root", 0)
        );
        assert_ne!(
            a,
            client_token("r", "arn:l", "arn:aws:iam::111111111111:root", 1)
        );
        assert_ne!(
            a,
            client_token("r2", "arn:l", "arn:aws:iam::111111111111:root", 0)
        );
        assert_eq!(a.len(), 40);
        assert!(a.starts_with("entitle-"));
    }

    #[test]
    fn account_principals_round_trip() {
        let id = AccountId::parse("111111111111").unwrap();
        let arn = account_principal_arn("aws", &id);
        assert_eq!(arn, "arn:aws:iam::111111111111:root");
        assert_eq!(account_of_principal_arn(&arn), Some(id));
        assert_eq!(
            account_of_principal_arn("arn:aws:organizations::100000000001:ou/o-x/ou-ab-cd"),
            None
        );
    }

    #[test]
    fn principals_are_read_back_from_their_arns() {
        let org = "arn:aws:organizations::100000000001:organization/o-abc123";
        let ou = "arn:aws:organizations::100000000001:ou/o-abc123/ou-ab12-cd34ef56";
        assert!(matches!(
            Principal::from_arn(org),
            Some(Principal::Organization { .. })
        ));
        let Some(Principal::Ou { id, arn }) = Principal::from_arn(ou) else {
            panic!("an OU principal");
        };
        assert_eq!((id.as_str(), arn.as_str()), ("ou-ab12-cd34ef56", ou));
        let account = Principal::from_arn("arn:aws:iam::111111111111:root").unwrap();
        assert_eq!(account.arn(), "arn:aws:iam::111111111111:root");
        assert_eq!(
            Principal::from_arn("arn:aws:iam::111111111111:user/x"),
            None
        );
    }

    #[test]
    fn account_principals_keep_their_partition() {
        let gov = "arn:aws-us-gov:iam::111111111111:root";
        let account = Principal::from_arn(gov).unwrap();
        assert_eq!(account.arn(), gov);
        // Written to JSON only outside the commercial partition; read back either way.
        let json = serde_json::to_value(&account).unwrap();
        assert_eq!(json["partition"], "aws-us-gov");
        let commercial = Principal::from_arn("arn:aws:iam::111111111111:root").unwrap();
        let json = serde_json::to_value(&commercial).unwrap();
        assert!(json.get("partition").is_none(), "{json}");
        let back: Principal = serde_json::from_value(json).unwrap();
        assert_eq!(back.arn(), "arn:aws:iam::111111111111:root");
        assert_eq!(partition_of("arn:aws-cn:iam::1:root"), Some("aws-cn"));
        assert_eq!(partition_of("not-an-arn"), None);
    }

    #[test]
    fn statuses_keep_unknown_values() {
        assert_eq!(GrantStatus::from_aws("ACTIVE"), GrantStatus::Active);
        assert_eq!(GrantStatus::from_aws("NEW").as_str(), "NEW");
        assert!(GrantStatus::Rejected.is_dead());
        assert!(!GrantStatus::WorkflowCompleted.is_dead());
        let json = serde_json::to_string(&GrantStatus::Disabled).unwrap();
        assert_eq!(json, "\"DISABLED\"");
    }

    #[test]
    fn operations_round_trip_through_the_service_spelling() {
        for name in Operation::ALL {
            let operation = Operation::from_aws(name);
            assert!(!matches!(operation, Operation::Other(_)), "{name}");
            assert_eq!(operation.as_str(), name);
            assert_eq!(operation.to_string(), name);
            assert_eq!(String::from(operation.clone()), name);
            assert_eq!(Operation::from(name.to_owned()), operation);
        }
        assert_eq!(
            Operation::from_aws("CheckoutLicense"),
            Operation::CheckoutLicense
        );
        let unknown = Operation::from_aws("NewOperation");
        assert_eq!(unknown, Operation::Other("NewOperation".to_owned()));
        assert_eq!(unknown.to_string(), "NewOperation");
    }

    #[test]
    fn principals_name_their_kind_and_id() {
        let org = Principal::from_arn("arn:aws:organizations::100000000001:organization/o-abc123")
            .unwrap();
        let ou =
            Principal::from_arn("arn:aws:organizations::100000000001:ou/o-abc123/ou-ab12-cd34ef56")
                .unwrap();
        let account = Principal::from_arn("arn:aws:iam::111111111111:root").unwrap();
        assert_eq!((org.kind(), org.id()), ("organization", "o-abc123"));
        assert_eq!((ou.kind(), ou.id()), ("ou", "ou-ab12-cd34ef56"));
        assert_eq!((account.kind(), account.id()), ("account", "111111111111"));
        assert_eq!(
            org.arn(),
            "arn:aws:organizations::100000000001:organization/o-abc123"
        );
        assert_eq!(
            partition_of("arn::iam::111111111111:root"),
            None,
            "an empty partition is none"
        );
    }

    #[test]
    fn ownership_phase_and_generation_are_read_from_the_tags() {
        let mut grant = DistributedGrant {
            arn: "arn:aws:license-manager::100000000001:grant:g-1".to_owned(),
            name: "entitle/r/pilot".to_owned(),
            principal_arn: "arn:aws:iam::111111111111:root".to_owned(),
            status: GrantStatus::Active,
            status_reason: None,
            version: "1".to_owned(),
            granted_operations: BTreeSet::new(),
            tags: ownership_tags("r", "pilot", 3),
            license_arn: "arn:l".to_owned(),
        };
        assert_eq!(grant.name, "entitle/r/pilot");
        assert_eq!(
            grant.tags,
            BTreeMap::from([
                ("entitle:generation".to_owned(), "3".to_owned()),
                ("entitle:managed-by".to_owned(), "entitle".to_owned()),
                ("entitle:phase".to_owned(), "pilot".to_owned()),
                ("entitle:rollout".to_owned(), "r".to_owned()),
            ])
        );
        assert!(grant.is_owned_by("r"));
        assert!(!grant.is_owned_by("other"));
        assert_eq!(grant.phase_tag(), Some("pilot"));
        assert_eq!(grant.generation(), 3);
        grant.tags.insert(TAG_GENERATION.to_owned(), "x".to_owned());
        assert_eq!(grant.generation(), 0, "an unreadable generation is 0");
        grant.tags.clear();
        assert!(!grant.is_owned_by("r"));
        assert_eq!(grant.phase_tag(), None);
        assert_eq!(grant.generation(), 0);
    }

    #[test]
    fn a_grant_name_says_whose_the_grant_is_only_when_its_digest_matches() {
        let (license, principal) = ("arn:l", "arn:aws:iam::111111111111:root");
        let name = grant_name("r", "pilot", 3, license, principal);
        assert!(
            name.starts_with("entitle/r/pilot/3/") && name.len() == "entitle/r/pilot/3/".len() + 32,
            "{name}"
        );
        let owner = owner_from_name(&name, license, principal);
        assert_eq!(
            owner,
            NamedOwner::Rollout {
                rollout: "r".into(),
                phase: "pilot".into(),
                generation: 3
            }
        );
        assert_eq!(owner.tags(), Some(ownership_tags("r", "pilot", 3)));
        // The same name on another principal's or license's grant, another generation or
        // rollout claimed, a digest changed: not the rollout's.
        for (name, license, principal) in [
            (name.clone(), license, "arn:aws:iam::222222222222:root"),
            (name.clone(), "arn:other", principal),
            (name.replace("/3/", "/4/"), license, principal),
            (name.replace("/3/", "/03/"), license, principal),
            (name.replace("entitle/r/", "entitle/s/"), license, principal),
            (
                name.replace("entitle/r/pilot/", "entitle/r/later/"),
                license,
                principal,
            ),
            (format!("{}0", &name[..name.len() - 1]), license, principal),
            (format!("{name}/x"), license, principal),
            ("entitle/r/pilot/x/00".to_owned(), license, principal),
            ("my-grant".to_owned(), license, principal),
            ("entitle/".to_owned(), license, principal),
            ("entitle/r/".to_owned(), license, principal),
        ] {
            let owner = owner_from_name(&name, license, principal);
            assert_eq!(owner, NamedOwner::Foreign, "{name}");
            assert_eq!(owner.tags(), None);
        }
        // The name entitle gave before: its tags decide.
        assert_eq!(
            owner_from_name("entitle/r/pilot", license, principal),
            NamedOwner::Legacy
        );
        // Names too long for the digest (two 64-character names) take that form too.
        let (rollout, phase) = ("r".repeat(64), "p".repeat(64));
        let long = grant_name(&rollout, &phase, 0, license, principal);
        assert_eq!(long, format!("entitle/{rollout}/{phase}"));
        assert!(long.len() <= MAX_GRANT_NAME);
        assert_eq!(
            owner_from_name(&long, license, principal),
            NamedOwner::Legacy
        );
        let longest_with_digest =
            grant_name(&"r".repeat(48), &"p".repeat(48), 9, license, principal);
        assert_eq!(longest_with_digest.len(), 8 + 48 + 1 + 48 + 1 + 1 + 1 + 32);
        assert!(matches!(
            owner_from_name(&longest_with_digest, license, principal),
            NamedOwner::Rollout { .. }
        ));
        assert_eq!(NamedOwner::Legacy.tags(), None);
    }

    #[test]
    fn dead_statuses_are_the_final_and_failed_ones() {
        for status in ["REJECTED", "FAILED_WORKFLOW", "DELETED", "PENDING_DELETE"] {
            assert!(GrantStatus::from_aws(status).is_dead(), "{status}");
        }
        for status in [
            "PENDING_WORKFLOW",
            "PENDING_ACCEPT",
            "ACTIVE",
            "DISABLED",
            "WORKFLOW_COMPLETED",
        ] {
            assert!(!GrantStatus::from_aws(status).is_dead(), "{status}");
        }
    }
}
