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
    /// `apply` and `activate`: what `Plan` needs plus grant writes.
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
        "ListTagsForResource",
    ],
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

/// Finding ended agreements (cleanup).
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
    let plan = [&READ_ORGANIZATION, &READ_GRANTS, &READ_AGREEMENT];
    match commands {
        Commands::Plan => plan.to_vec(),
        Commands::Apply => [&plan[..], &[&WRITE_GRANTS, &DELETE_GRANTS]].concat(),
        Commands::Cleanup => vec![
            &READ_ORGANIZATION,
            &READ_GRANTS,
            &SEARCH_AGREEMENTS,
            &DELETE_GRANTS,
        ],
        Commands::All => [
            &plan[..],
            &[&SEARCH_AGREEMENTS, &WRITE_GRANTS, &DELETE_GRANTS],
        ]
        .concat(),
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
        let all = actions(Commands::All);
        assert!(plan.is_subset(&apply) && apply.is_subset(&all));
        assert!(actions(Commands::Cleanup).is_subset(&all));
        assert!(!plan.contains("license-manager:CreateGrant"));
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
