//! The least-privilege IAM policy of each command group: exactly the AWS operations entitle calls,
//! as IAM actions. `tests/iam_policy.rs` runs every command against the emulator and checks that
//! this table names every operation they make and nothing they never make.

use std::collections::BTreeSet;

use serde::Serialize;

/// Which commands a policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commands {
    /// `discover`, `plan`, `status`, `doctor`, `iam-policy`, `guardrails`: read-only.
    Plan,
    /// `apply` and `activate`: the reads they plan with, and grant writes.
    Apply,
    /// `cleanup`.
    Cleanup,
    /// Every command.
    All,
}

/// One statement's worth of actions: a purpose, the IAM service prefix, the operations.
struct Group {
    sid: &'static str,
    prefix: &'static str,
    operations: &'static [&'static str],
}

/// Reading the organisation: discovery (and doctor's checks of the organisation's set-up).
/// `ListAccountsForParent` is the fallback when `ListAccounts` carries no `Paths`.
const READ_ORGANIZATION: Group = Group {
    sid: "ReadTheOrganization",
    prefix: "organizations",
    operations: &[
        "DescribeOrganization",
        "ListRoots",
        "ListOrganizationalUnitsForParent",
        "ListAccounts",
        "ListAccountsForParent",
    ],
};

/// Account tags: `discover`, and plans that select accounts by tag.
const READ_ACCOUNT_TAGS: Group = Group {
    sid: "ReadAccountTags",
    prefix: "organizations",
    operations: &["ListTagsForResource"],
};

/// Reading licenses and grants: planning, status.
const READ_GRANTS: Group = Group {
    sid: "ReadLicensesAndGrants",
    prefix: "license-manager",
    operations: &[
        "ListReceivedLicenses",
        "ListDistributedGrants",
        "ListTagsForResource",
        "ListReceivedGrantsForOrganization",
    ],
};

/// Following an agreement to its license (plans that name an agreement).
const READ_AGREEMENT: Group = Group {
    sid: "ReadAgreements",
    prefix: "aws-marketplace",
    operations: &["DescribeAgreement", "GetAgreementEntitlements"],
};

/// Checking the organisation's set-up (doctor): trusted access, the delegated administrator
/// (asked only when the caller is not the management account), License Manager's link to
/// Organizations, and licenses members hold themselves.
const CHECK_SETUP_ORGANIZATION: Group = Group {
    sid: "CheckOrganizationSetup",
    prefix: "organizations",
    operations: &[
        "ListAWSServiceAccessForOrganization",
        "ListDelegatedAdministrators",
    ],
};

/// License Manager's side of doctor's checks.
const CHECK_SETUP_LICENSES: Group = Group {
    sid: "CheckLicenseManagerSetup",
    prefix: "license-manager",
    operations: &["GetServiceSettings", "ListReceivedLicensesForOrganization"],
};

/// Finding agreements by status or product (cleanup, doctor).
const SEARCH_AGREEMENTS: Group = Group {
    sid: "SearchAgreements",
    prefix: "aws-marketplace",
    operations: &["SearchAgreements"],
};

/// Creating, activating and updating grants (apply, activate).
const WRITE_GRANTS: Group = Group {
    sid: "CreateAndActivateGrants",
    prefix: "license-manager",
    operations: &["CreateGrant", "CreateGrantVersion", "GetGrant"],
};

/// Deleting grants (apply when a grant is no longer wanted, `apply --destroy`, cleanup).
const DELETE_GRANTS: Group = Group {
    sid: "DeleteGrants",
    prefix: "license-manager",
    operations: &["DeleteGrant", "GetGrant"],
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
    ];
    let apply = [
        &READ_ORGANIZATION,
        &READ_ACCOUNT_TAGS,
        &READ_GRANTS,
        &READ_AGREEMENT,
        &WRITE_GRANTS,
        &DELETE_GRANTS,
    ];
    let cleanup = [
        &READ_ORGANIZATION,
        &READ_GRANTS,
        &SEARCH_AGREEMENTS,
        &DELETE_GRANTS,
    ];
    match commands {
        Commands::Plan => plan.to_vec(),
        Commands::Apply => apply.to_vec(),
        Commands::Cleanup => cleanup.to_vec(),
        Commands::All => {
            let mut all: Vec<&'static Group> = Vec::new();
            for group in plan.into_iter().chain(apply).chain(cleanup) {
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
    /// Always `*`: these actions do not all support narrower resources.
    #[serde(rename = "Resource")]
    pub resource: &'static str,
}

/// The policy document: one statement per purpose, on every resource (License Manager,
/// Organizations and Marketplace Agreement reads and grant writes do not support narrower
/// resources for all of these actions). STS GetCallerIdentity needs no permission.
pub fn policy(commands: Commands) -> PolicyDocument {
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
                resource: "*",
            })
        })
        .collect();
    PolicyDocument {
        version: "2012-10-17",
        statement,
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
        let union: BTreeSet<String> = plan.union(&apply).chain(&cleanup).cloned().collect();
        assert_eq!(union, all);
        assert!(!plan.contains("license-manager:CreateGrant"));
        assert!(!cleanup.contains("license-manager:CreateGrant"));
        assert!(apply.contains("license-manager:DeleteGrant"));
        let document = policy(Commands::All);
        let listed: Vec<&String> = document
            .statement
            .iter()
            .flat_map(|statement| &statement.action)
            .collect();
        assert_eq!(listed.len(), all.len(), "no action twice: {listed:?}");
    }
}
