//! The least-privilege IAM policy of each command group: exactly the AWS operations entitle calls,
//! as IAM actions; and the member role's side (`--member-role`): the policy of the role entitle
//! assumes in member accounts, and that role's trust policy. `tests/iam_policy.rs` runs every
//! command against the emulator and checks that this table names every operation they make and
//! nothing they never make.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Which commands a policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commands {
    /// `discover`, `plan`, `status`, `doctor`, `iam-policy`, `guardrails`: read-only.
    Plan,
    /// `apply` and `activate`: the reads they plan with, the checks before a change, grant
    /// writes, and assuming the member role (`--member-role`).
    Apply,
    /// `cleanup`.
    Cleanup,
    /// `verify`: the reads it plans with, and assuming the member role in each account verified
    /// (which asks Bedrock as the account: `Member`).
    Verify,
    /// `usage`: the reads it plans with, and Cost Explorer's GetCostAndUsage.
    Usage,
    /// `doctor --fix` and `use-case submit`, beside `Plan` (doctor's reads): trusted access,
    /// License Manager's link and delegated administrator, and the use-case form.
    Fix,
    /// Every command (the management account's side).
    All,
    /// The member role entitle assumes in member accounts (`--member-role`): accepting the
    /// account's grant as the account, and asking Bedrock whether the account can use the model
    /// (`verify`). Not part of `All`: it belongs to another principal.
    Member,
}

/// The `Resource` of statements whose actions take none (or not all of them a narrower one).
const ANY: &str = "*";

/// One statement's worth of actions: a purpose, the IAM service prefix, the operations, and the
/// resources they may act on.
struct Group {
    sid: &'static str,
    prefix: &'static str,
    operations: &'static [&'static str],
    resource: &'static str,
}

/// Reading the organisation: discovery (and doctor's checks of the organisation's set-up).
/// `ListAccountsForParent` is the fallback when `ListAccounts` carries no `Paths`;
/// `DescribeOrganizationalUnit` reads an OU a plan names by id (and `ListParents` places it
/// when the answer carries no `Path`).
const READ_ORGANIZATION: Group = Group {
    sid: "ReadTheOrganization",
    prefix: "organizations",
    operations: &[
        "DescribeOrganization",
        "ListRoots",
        "ListOrganizationalUnitsForParent",
        "ListAccounts",
        "ListAccountsForParent",
        "DescribeOrganizationalUnit",
        "ListParents",
    ],
    resource: ANY,
};

/// Account tags: `discover`, and plans that select accounts by tag.
const READ_ACCOUNT_TAGS: Group = Group {
    sid: "ReadAccountTags",
    prefix: "organizations",
    operations: &["ListTagsForResource"],
    resource: ANY,
};

/// Reading licenses and grants: planning, status (`ListTagsForResource` for grants named before
/// grant names carried their owner).
const READ_GRANTS: Group = Group {
    sid: "ReadLicensesAndGrants",
    prefix: "license-manager",
    operations: &[
        "ListReceivedLicenses",
        "ListDistributedGrants",
        "ListTagsForResource",
        "ListReceivedGrantsForOrganization",
    ],
    resource: ANY,
};

/// Following an agreement to its license (plans that name an agreement).
const READ_AGREEMENT: Group = Group {
    sid: "ReadAgreements",
    prefix: "aws-marketplace",
    operations: &["DescribeAgreement", "GetAgreementEntitlements"],
    resource: ANY,
};

/// Checking the organisation's set-up (doctor, and every command before it changes grants):
/// trusted access, and the delegated administrator (asked only when the caller is not the
/// management account).
const CHECK_SETUP_ORGANIZATION: Group = Group {
    sid: "CheckOrganizationSetup",
    prefix: "organizations",
    operations: &[
        "ListAWSServiceAccessForOrganization",
        "ListDelegatedAdministrators",
    ],
    resource: ANY,
};

/// License Manager's link to Organizations (doctor, and every command before it changes grants).
const CHECK_SETUP_LICENSES: Group = Group {
    sid: "CheckLicenseManagerSetup",
    prefix: "license-manager",
    operations: &["GetServiceSettings"],
    resource: ANY,
};

/// The licenses accounts of the organisation hold of their own (doctor's check, and planning:
/// AWS refuses to activate a distributed grant where the account keeps its own subscription).
const FIND_OWN_SUBSCRIPTIONS: Group = Group {
    sid: "FindOwnSubscriptions",
    prefix: "license-manager",
    operations: &["ListReceivedLicensesForOrganization"],
    resource: ANY,
};

/// Finding agreements by status or product (cleanup, doctor, and status's subscription line).
const SEARCH_AGREEMENTS: Group = Group {
    sid: "SearchAgreements",
    prefix: "aws-marketplace",
    operations: &["SearchAgreements"],
    resource: ANY,
};

/// Creating, activating and updating grants (apply, activate).
const WRITE_GRANTS: Group = Group {
    sid: "CreateAndActivateGrants",
    prefix: "license-manager",
    operations: &["CreateGrant", "CreateGrantVersion", "GetGrant"],
    resource: ANY,
};

/// Deleting grants (apply when a grant is no longer wanted, `apply --destroy`, cleanup).
const DELETE_GRANTS: Group = Group {
    sid: "DeleteGrants",
    prefix: "license-manager",
    operations: &["DeleteGrant", "GetGrant"],
    resource: ANY,
};

/// Assuming the member role in member accounts to accept their grants (`--member-role`). Every
/// role name: narrow it to the role's, `arn:aws:iam::*:role/NAME` (docs/iam-policy.md).
const ASSUME_MEMBER_ROLE: Group = Group {
    sid: "AssumeTheMemberRole",
    prefix: "sts",
    operations: &["AssumeRole"],
    resource: "arn:aws:iam::*:role/*",
};

/// The member role's own permissions: accepting the account's grant waiting in PENDING_ACCEPT
/// (the management account re-reads and activates it).
const ACCEPT_GRANTS: Group = Group {
    sid: "AcceptGrantsAsTheAccount",
    prefix: "license-manager",
    operations: &["AcceptGrant"],
    resource: ANY,
};

/// The member role's own permissions for `verify`: asking Bedrock, as the account, whether it can
/// use the model (GetFoundationModelAvailability takes no narrower resource).
const READ_MODEL_AVAILABILITY: Group = Group {
    sid: "ReadModelAvailabilityAsTheAccount",
    prefix: "bedrock",
    operations: &["GetFoundationModelAvailability"],
    resource: ANY,
};

/// Usage and spend of the product per linked account (`usage`): Cost Explorer takes no narrower
/// resource. Charged per request (docs/usage.md).
const READ_COST_AND_USAGE: Group = Group {
    sid: "ReadMarketplaceUsage",
    prefix: "ce",
    operations: &["GetCostAndUsage"],
    resource: ANY,
};

/// Doctor's checks of what model access needs besides grants: the Anthropic use-case form on
/// file (Bedrock takes no narrower resource).
const CHECK_USE_CASE_FORM: Group = Group {
    sid: "CheckUseCaseForm",
    prefix: "bedrock",
    operations: &["GetUseCaseForModelAccess"],
    resource: ANY,
};

/// Doctor's check of the service-linked roles of License Manager and Marketplace license
/// management: GetRole on service-linked roles only.
const CHECK_SERVICE_LINKED_ROLES: Group = Group {
    sid: "CheckServiceLinkedRoles",
    prefix: "iam",
    operations: &["GetRole"],
    resource: SERVICE_LINKED_ROLES,
};

/// Every service-linked role (their path starts `/aws-service-role/`).
const SERVICE_LINKED_ROLES: &str = "arn:aws:iam::*:role/aws-service-role/*";

/// `doctor --fix`: trusted access for License Manager and Marketplace, and License Manager's
/// delegated administrator (management account only).
const FIX_ORGANIZATION: Group = Group {
    sid: "FixOrganizationSetup",
    prefix: "organizations",
    operations: &["EnableAWSServiceAccess", "RegisterDelegatedAdministrator"],
    resource: ANY,
};

/// `doctor --fix`: License Manager's link to the organisation.
const FIX_LICENSE_MANAGER: Group = Group {
    sid: "FixLicenseManagerSetup",
    prefix: "license-manager",
    operations: &["UpdateServiceSettings"],
    resource: ANY,
};

/// `doctor --fix`: enabling trusted access and linking License Manager let the services create
/// their service-linked roles, which AWS authorises as the caller (Organizations user guide,
/// "Permissions required to enable trusted access"). entitle never calls it itself.
const CREATE_SERVICE_LINKED_ROLES: Group = Group {
    sid: "LetTheServicesCreateTheirRoles",
    prefix: "iam",
    operations: &["CreateServiceLinkedRole"],
    resource: SERVICE_LINKED_ROLES,
};

/// `use-case submit`: the Anthropic use-case form.
const SUBMIT_USE_CASE_FORM: Group = Group {
    sid: "SubmitUseCaseForm",
    prefix: "bedrock",
    operations: &["PutUseCaseForModelAccess"],
    resource: ANY,
};

fn groups(commands: Commands) -> Vec<&'static Group> {
    let plan = [
        &READ_ORGANIZATION,
        &READ_ACCOUNT_TAGS,
        &READ_GRANTS,
        &READ_AGREEMENT,
        &SEARCH_AGREEMENTS,
        &CHECK_SETUP_ORGANIZATION,
        &CHECK_SETUP_LICENSES,
        &FIND_OWN_SUBSCRIPTIONS,
        &CHECK_USE_CASE_FORM,
        &CHECK_SERVICE_LINKED_ROLES,
        // doctor with `--member-role` (or a plan's `member_role`) tries it in a few accounts.
        &ASSUME_MEMBER_ROLE,
    ];
    // `doctor --fix` and `use-case submit`: only their writes; doctor's reads (before and after
    // the fixes) are `plan`'s, attached beside it.
    let fix = [
        &FIX_ORGANIZATION,
        &FIX_LICENSE_MANAGER,
        &CREATE_SERVICE_LINKED_ROLES,
        &SUBMIT_USE_CASE_FORM,
    ];
    let apply = [
        &READ_ORGANIZATION,
        &READ_ACCOUNT_TAGS,
        &READ_GRANTS,
        &READ_AGREEMENT,
        &CHECK_SETUP_ORGANIZATION,
        &CHECK_SETUP_LICENSES,
        &FIND_OWN_SUBSCRIPTIONS,
        &WRITE_GRANTS,
        &DELETE_GRANTS,
        &ASSUME_MEMBER_ROLE,
    ];
    let cleanup = [
        &READ_ORGANIZATION,
        &READ_GRANTS,
        &SEARCH_AGREEMENTS,
        &CHECK_SETUP_ORGANIZATION,
        &CHECK_SETUP_LICENSES,
        &DELETE_GRANTS,
    ];
    let verify = [
        &READ_ORGANIZATION,
        &READ_ACCOUNT_TAGS,
        &READ_GRANTS,
        &READ_AGREEMENT,
        &FIND_OWN_SUBSCRIPTIONS,
        &ASSUME_MEMBER_ROLE,
    ];
    let usage = [
        &READ_ORGANIZATION,
        &READ_ACCOUNT_TAGS,
        &READ_GRANTS,
        &READ_AGREEMENT,
        &FIND_OWN_SUBSCRIPTIONS,
        &READ_COST_AND_USAGE,
    ];
    match commands {
        Commands::Plan => plan.to_vec(),
        Commands::Apply => apply.to_vec(),
        Commands::Cleanup => cleanup.to_vec(),
        Commands::Verify => verify.to_vec(),
        Commands::Usage => usage.to_vec(),
        Commands::Fix => fix.to_vec(),
        Commands::Member => vec![&ACCEPT_GRANTS, &READ_MODEL_AVAILABILITY],
        Commands::All => {
            let mut all: Vec<&'static Group> = Vec::new();
            for group in plan
                .into_iter()
                .chain(apply)
                .chain(cleanup)
                .chain(verify)
                .chain(usage)
                .chain(fix)
            {
                if !all.iter().any(|known| known.sid == group.sid) {
                    all.push(group);
                }
            }
            all
        }
    }
}

/// The IAM actions the commands need, e.g. `license-manager:CreateGrant`, sorted.
pub fn actions(commands: Commands) -> BTreeSet<String> {
    groups(commands)
        .iter()
        .flat_map(|group| {
            group
                .operations
                .iter()
                .map(|operation| format!("{}:{operation}", group.prefix))
        })
        .collect()
}

/// An IAM policy document, fields in the order AWS shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyDocument {
    /// `2012-10-17`.
    #[serde(rename = "Version")]
    pub version: &'static str,
    /// One statement per purpose.
    #[serde(rename = "Statement")]
    pub statement: Vec<Statement>,
}

/// One `Allow` statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// What the actions are for.
    #[serde(rename = "Sid")]
    pub sid: &'static str,
    /// Always `Allow`.
    #[serde(rename = "Effect")]
    pub effect: &'static str,
    /// IAM actions.
    #[serde(rename = "Action")]
    pub action: Vec<String>,
    /// `*` where the actions do not all support narrower resources; the member roles for
    /// `sts:AssumeRole`; the journal's bucket and prefix for S3.
    #[serde(rename = "Resource")]
    pub resource: String,
    /// Conditions, where a statement has them (the journal's prefix for `s3:ListBucket`).
    #[serde(rename = "Condition", skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: BTreeMap<&'static str, BTreeMap<&'static str, Vec<String>>>,
}

/// The statements a journal in S3 needs (`--journal s3://BUCKET/PREFIX`): its objects read and
/// written (every command records: `status` its sightings, the others their runs), deleted by
/// the commands that take the lock (apply, activate, cleanup: the lock is released by deleting
/// it), and the bucket listed under the prefix (a journal is read by listing its runs).
pub fn journal_statements(
    commands: Commands,
    partition: &str,
    bucket: &str,
    prefix: &str,
) -> Vec<Statement> {
    // `usage` only reads the journals.
    let mut objects = vec!["s3:GetObject".to_owned()];
    if !matches!(commands, Commands::Usage) {
        objects.push("s3:PutObject".to_owned());
    }
    if !matches!(commands, Commands::Plan | Commands::Usage) {
        objects.push("s3:DeleteObject".to_owned());
    }
    let (keys, prefixes) = if prefix.is_empty() {
        ("*".to_owned(), vec!["*".to_owned()])
    } else {
        (
            format!("{prefix}/*"),
            vec![prefix.to_owned(), format!("{prefix}/*")],
        )
    };
    vec![
        Statement {
            sid: "TheJournalsObjects",
            effect: "Allow",
            action: objects,
            resource: format!("arn:{partition}:s3:::{bucket}/{keys}"),
            condition: BTreeMap::new(),
        },
        Statement {
            sid: "ListTheJournal",
            effect: "Allow",
            action: vec!["s3:ListBucket".to_owned()],
            resource: format!("arn:{partition}:s3:::{bucket}"),
            condition: BTreeMap::from([("StringLike", BTreeMap::from([("s3:prefix", prefixes)]))]),
        },
    ]
}

/// The policy document: one statement per purpose, on every resource (License Manager,
/// Organizations and Marketplace Agreement reads and grant writes do not support narrower
/// resources for all of these actions) but for `sts:AssumeRole`, on roles. STS GetCallerIdentity
/// needs no permission. Role ARNs are in `partition` (the organisation's: `aws`, `aws-us-gov`,
/// `aws-cn`).
pub fn policy(commands: Commands, partition: &str) -> PolicyDocument {
    let mut seen = BTreeSet::new();
    let statement = groups(commands)
        .iter()
        .filter_map(|group| {
            let action: Vec<String> = group
                .operations
                .iter()
                .map(|operation| format!("{}:{operation}", group.prefix))
                .filter(|action| seen.insert(action.clone()))
                .collect();
            (!action.is_empty()).then_some(Statement {
                sid: group.sid,
                effect: "Allow",
                action,
                resource: group
                    .resource
                    .replacen("arn:aws:", &format!("arn:{partition}:"), 1),
                condition: BTreeMap::new(),
            })
        })
        .collect();
    PolicyDocument {
        version: "2012-10-17",
        statement,
    }
}

/// Where the trust policy names the management account: replace it with its 12-digit id.
pub const MANAGEMENT_ACCOUNT_PLACEHOLDER: &str = "<MANAGEMENT_ACCOUNT_ID>";

/// The session names entitle gives its member-role sessions start with this.
pub const SESSION_NAME_PREFIX: &str = "entitle-";

/// The trust policy of the member role: the management account (the identity entitle runs as
/// there, allowed `sts:AssumeRole` by its own policy) may assume it, in sessions named `entitle-*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustPolicyDocument {
    /// `2012-10-17`.
    #[serde(rename = "Version")]
    pub version: &'static str,
    /// The one statement.
    #[serde(rename = "Statement")]
    pub statement: Vec<TrustStatement>,
}

/// The trust policy's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustStatement {
    /// What it is for.
    #[serde(rename = "Sid")]
    pub sid: &'static str,
    /// `Allow`.
    #[serde(rename = "Effect")]
    pub effect: &'static str,
    /// `{"AWS": "arn:aws:iam::<management account>:root"}`.
    #[serde(rename = "Principal")]
    pub principal: std::collections::BTreeMap<&'static str, String>,
    /// `sts:AssumeRole`.
    #[serde(rename = "Action")]
    pub action: &'static str,
    /// `{"StringLike": {"sts:RoleSessionName": "entitle-*"}}`.
    #[serde(rename = "Condition")]
    pub condition:
        std::collections::BTreeMap<&'static str, std::collections::BTreeMap<&'static str, String>>,
}

/// The member role's trust policy for `management_account` (an account id, or
/// [`MANAGEMENT_ACCOUNT_PLACEHOLDER`]) in `partition` (`aws`, `aws-us-gov`, `aws-cn`).
pub fn member_trust_policy(partition: &str, management_account: &str) -> TrustPolicyDocument {
    let session_names = [("sts:RoleSessionName", format!("{SESSION_NAME_PREFIX}*"))]
        .into_iter()
        .collect();
    TrustPolicyDocument {
        version: "2012-10-17",
        statement: vec![TrustStatement {
            sid: "EntitleFromTheManagementAccount",
            effect: "Allow",
            principal: [(
                "AWS",
                format!("arn:{partition}:iam::{management_account}:root"),
            )]
            .into_iter()
            .collect(),
            action: "sts:AssumeRole",
            condition: [("StringLike", session_names)].into_iter().collect(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_nest_and_each_action_appears_once() {
        let plan = actions(Commands::Plan);
        let apply = actions(Commands::Apply);
        let cleanup = actions(Commands::Cleanup);
        let all = actions(Commands::All);
        let usage = actions(Commands::Usage);
        let fix = actions(Commands::Fix);
        let union: BTreeSet<String> = plan
            .union(&apply)
            .chain(&cleanup)
            .chain(&usage)
            .chain(&fix)
            .cloned()
            .collect();
        assert_eq!(union, all);
        assert!(!plan.contains("license-manager:CreateGrant"));
        assert!(!cleanup.contains("license-manager:CreateGrant"));
        assert!(apply.contains("license-manager:DeleteGrant"));
        let document = policy(Commands::All, "aws");
        let listed: Vec<&String> = document
            .statement
            .iter()
            .flat_map(|statement| &statement.action)
            .collect();
        assert_eq!(listed.len(), all.len(), "no action twice: {listed:?}");
    }

    #[test]
    fn doctor_fix_writes_only_the_prerequisites() {
        let fix = actions(Commands::Fix);
        assert!(fix.is_disjoint(&actions(Commands::Plan)));
        assert_eq!(
            fix.iter().collect::<Vec<_>>(),
            [
                "bedrock:PutUseCaseForModelAccess",
                "iam:CreateServiceLinkedRole",
                "license-manager:UpdateServiceSettings",
                "organizations:EnableAWSServiceAccess",
                "organizations:RegisterDelegatedAdministrator",
            ]
        );
        for (commands, sid) in [
            (Commands::Plan, "CheckServiceLinkedRoles"),
            (Commands::Fix, "LetTheServicesCreateTheirRoles"),
        ] {
            let document = policy(commands, "aws-us-gov");
            let statement = document
                .statement
                .iter()
                .find(|statement| statement.sid == sid)
                .unwrap();
            assert_eq!(
                statement.resource,
                "arn:aws-us-gov:iam::*:role/aws-service-role/*"
            );
        }
    }

    #[test]
    fn every_change_checks_the_prerequisites_first() {
        for commands in [Commands::Plan, Commands::Apply, Commands::Cleanup] {
            let actions = actions(commands);
            for action in [
                "organizations:ListAWSServiceAccessForOrganization",
                "license-manager:GetServiceSettings",
            ] {
                assert!(actions.contains(action), "{commands:?} lacks {action}");
            }
        }
    }

    #[test]
    fn the_member_role_is_assumed_by_apply_and_accepts_as_the_account() {
        let apply = policy(Commands::Apply, "aws");
        let assume: Vec<&Statement> = apply
            .statement
            .iter()
            .filter(|statement| {
                statement
                    .action
                    .iter()
                    .any(|action| action.starts_with("sts:"))
            })
            .collect();
        assert_eq!(assume.len(), 1);
        assert_eq!(assume[0].action, ["sts:AssumeRole"]);
        assert_eq!(assume[0].resource, "arn:aws:iam::*:role/*");
        let journal = journal_statements(Commands::Apply, "aws", "team-journal", "entitle");
        assert_eq!(journal[0].resource, "arn:aws:s3:::team-journal/entitle/*");
        assert!(journal[0].action.contains(&"s3:DeleteObject".to_owned()));
        assert_eq!(
            serde_json::to_value(&journal[1]).unwrap()["Condition"]["StringLike"]["s3:prefix"],
            serde_json::json!(["entitle", "entitle/*"])
        );
        let read = journal_statements(Commands::Plan, "aws", "team-journal", "");
        assert!(!read[0].action.contains(&"s3:DeleteObject".to_owned()));
        assert_eq!(read[0].resource, "arn:aws:s3:::team-journal/*");
        let gov = policy(Commands::Apply, "aws-us-gov");
        assert!(
            gov.statement
                .iter()
                .any(|statement| statement.resource == "arn:aws-us-gov:iam::*:role/*"),
            "{gov:?}"
        );
        assert!(
            apply
                .statement
                .iter()
                .filter(|statement| statement.sid != "AssumeTheMemberRole")
                .all(|statement| statement.resource == "*")
        );
        assert!(!actions(Commands::Cleanup).contains("sts:AssumeRole"));
        // doctor with a member role tries it in a few accounts.
        assert!(actions(Commands::Plan).contains("sts:AssumeRole"));
        assert!(actions(Commands::All).contains("sts:AssumeRole"));

        let member = policy(Commands::Member, "aws");
        assert_eq!(member.statement.len(), 2);
        assert_eq!(member.statement[0].action, ["license-manager:AcceptGrant"]);
        assert_eq!(
            member.statement[1].action,
            ["bedrock:GetFoundationModelAvailability"]
        );
        assert!(
            member
                .statement
                .iter()
                .all(|statement| statement.resource == "*")
        );
        // The management account never accepts grants nor asks Bedrock as a member; the member
        // role does nothing else.
        assert!(!actions(Commands::All).contains("license-manager:AcceptGrant"));
        assert!(!actions(Commands::All).contains("bedrock:GetFoundationModelAvailability"));
        // verify assumes the member role and changes nothing.
        let verify = actions(Commands::Verify);
        assert!(verify.contains("sts:AssumeRole"));
        assert!(verify.iter().all(|action| !action.contains("Create")
            && !action.contains("Delete")
            && !action.contains("Accept")));
        assert!(verify.is_subset(&actions(Commands::All)));
    }

    #[test]
    fn the_member_role_trusts_the_management_account_in_entitle_sessions() {
        let trust = member_trust_policy("aws", MANAGEMENT_ACCOUNT_PLACEHOLDER);
        assert_eq!(
            serde_json::to_value(&trust).unwrap(),
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "EntitleFromTheManagementAccount",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::<MANAGEMENT_ACCOUNT_ID>:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringLike": {"sts:RoleSessionName": "entitle-*"}}
                }]
            })
        );
        let gov = member_trust_policy("aws-us-gov", "100000000001");
        assert_eq!(
            gov.statement[0].principal["AWS"],
            "arn:aws-us-gov:iam::100000000001:root"
        );
    }

    #[test]
    fn usage_only_reads_the_journal_and_plan_never_deletes_from_it() {
        let objects = |commands| {
            journal_statements(commands, "aws", "b", "p")[0]
                .action
                .clone()
        };
        assert_eq!(objects(Commands::Usage), ["s3:GetObject"]);
        assert_eq!(objects(Commands::Plan), ["s3:GetObject", "s3:PutObject"]);
        assert_eq!(
            objects(Commands::Cleanup),
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        );
    }
}
