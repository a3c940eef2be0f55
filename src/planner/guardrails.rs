//! The service control policy `entitle guardrails` prints: member accounts may not subscribe to
//! Marketplace products themselves (usage flows through the rollout's grants), and, optionally,
//! may invoke no Bedrock model but the ones the plan's entitlement covers. Pure: no I/O.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::bedrock::{BedrockProduct, TABLE_LOCATION, bedrock_product};

/// The IAM actions a member account would use to subscribe on its own (also what Bedrock's
/// automatic subscription on first invocation needs).
pub const SUBSCRIBE_ACTIONS: &[&str] = &["aws-marketplace:Subscribe"];
/// The Bedrock actions that run a model. Converse and ConverseStream are authorised by these two
/// (they have no IAM action of their own).
pub const INVOKE_ACTIONS: &[&str] = &[
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
];

/// A policy document, serialised exactly as IAM and Organizations read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    /// Always `2012-10-17`.
    pub version: &'static str,
    /// The statements.
    pub statement: Vec<Statement>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// Statement id (says what it is for).
    pub sid: String,
    /// Always `Deny`: SCPs here only take permissions away.
    pub effect: &'static str,
    /// The actions denied.
    pub action: Vec<String>,
    /// The resources denied (absent when `not_resource` is used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Every resource but these is denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_resource: Option<Vec<String>>,
    /// Conditions, operator -> key -> values.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

/// The guardrails for one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guardrails {
    /// The policy to attach.
    pub policy: PolicyDocument,
    /// The models left invocable (with `--deny-other-models`), as Bedrock model ids.
    pub allowed_models: Vec<String>,
    /// What a person should know before attaching it.
    pub notes: Vec<String>,
}

/// Why no policy could be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardrailsError {
    /// `--deny-other-models` for a product whose models entitle does not know.
    #[error(
        "product `{product}` is not in entitle's table of Bedrock models, so `--deny-other-models` cannot tell \
         which models to leave allowed"
    )]
    UnknownProduct {
        /// The product id.
        product: String,
    },
}

impl GuardrailsError {
    /// What a person can do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::UnknownProduct { .. } => format!(
                "the table is {TABLE_LOCATION}; add the product and its model ids there, or run without \
                 `--deny-other-models` (the Marketplace statement does not depend on the product)"
            ),
        }
    }
}

/// The ARNs a `NotResource` must list to leave one model invocable: the foundation model in any
/// region, and the cross-region inference profiles of it (`us.`, `eu.`, `apac.`, `global.` ...),
/// since invoking through a profile is authorised against the profile and the model.
fn model_resources(partition: &str, model_id: &str) -> [String; 2] {
    [
        format!("arn:{partition}:bedrock:*::foundation-model/{model_id}"),
        format!("arn:{partition}:bedrock:*:*:inference-profile/*.{model_id}"),
    ]
}

/// Builds the guardrails for a plan whose entitlement is `product` (needed only with
/// `deny_other_models`: the Marketplace statement covers every product).
pub fn guardrails(
    product: Option<&str>,
    deny_other_models: bool,
    partition: &str,
) -> Result<Guardrails, GuardrailsError> {
    let mut statement = vec![Statement {
        sid: "DenyMarketplaceSubscribeInMemberAccounts".to_owned(),
        effect: "Deny",
        action: SUBSCRIBE_ACTIONS
            .iter()
            .map(|&action| action.to_owned())
            .collect(),
        resource: Some("*".to_owned()),
        not_resource: None,
        condition: BTreeMap::new(),
    }];
    let mut notes = vec![
        "service control policies never apply to the management account: it keeps its own subscription and \
         creates the grants"
            .to_owned(),
        "member accounts reach the product through the rollout's grants, which need no Marketplace permission"
            .to_owned(),
    ];
    let mut allowed_models = Vec::new();
    if deny_other_models {
        let entry: &BedrockProduct =
            product
                .and_then(bedrock_product)
                .ok_or_else(|| GuardrailsError::UnknownProduct {
                    product: product.unwrap_or("(none)").to_owned(),
                })?;
        allowed_models = entry.model_ids.iter().map(|&id| id.to_owned()).collect();
        statement.push(Statement {
            sid: "DenyBedrockModelsOutsideTheEntitlement".to_owned(),
            effect: "Deny",
            action: INVOKE_ACTIONS
                .iter()
                .map(|&action| action.to_owned())
                .collect(),
            resource: None,
            not_resource: Some(
                entry
                    .model_ids
                    .iter()
                    .flat_map(|id| model_resources(partition, id))
                    .collect(),
            ),
            condition: BTreeMap::new(),
        });
        notes.push(format!(
            "only {} ({}) stays invocable in member accounts, directly or through a cross-region inference \
             profile; every other model, Amazon's included, and custom models, provisioned throughput and \
             application inference profiles are denied",
            entry.name,
            allowed_models.join(", ")
        ));
    }
    Ok(Guardrails {
        policy: PolicyDocument {
            version: "2012-10-17",
            statement,
        },
        allowed_models,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_is_denied_for_every_product() {
        let built = guardrails(Some("prod-anything"), false, "aws").unwrap();
        assert_eq!(built.policy.statement.len(), 1);
        let statement = &built.policy.statement[0];
        assert_eq!(statement.action, ["aws-marketplace:Subscribe"]);
        assert_eq!(statement.resource.as_deref(), Some("*"));
        assert!(statement.condition.is_empty());
        assert!(built.allowed_models.is_empty());
    }

    #[test]
    fn other_models_are_denied_by_not_resource() {
        let built = guardrails(Some("prod-mxcfnwvpd6kb4"), true, "aws").unwrap();
        let statement = &built.policy.statement[1];
        assert_eq!(statement.resource, None);
        assert_eq!(
            statement.not_resource.as_deref().unwrap(),
            [
                "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
                "arn:aws:bedrock:*:*:inference-profile/*.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ]
        );
        let error = guardrails(Some("prod-unknown"), true, "aws").unwrap_err();
        assert!(error.hint().contains("src/model/bedrock.rs"));
        // A GovCloud organisation's model ARNs are in its partition.
        let gov = guardrails(Some("prod-mxcfnwvpd6kb4"), true, "aws-us-gov").unwrap();
        assert!(
            gov.policy.statement[1]
                .not_resource
                .as_deref()
                .unwrap()
                .iter()
                .all(|arn| arn.starts_with("arn:aws-us-gov:bedrock:"))
        );
    }
}
