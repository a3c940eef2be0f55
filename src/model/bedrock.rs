//! The model catalog: which Amazon Bedrock models a Marketplace product sells, where each fact
//! comes from and whether it was checked against that source; and what Bedrock answers about one
//! model in one account and region (`GetFoundationModelAvailability`). Read by `guardrails
//! --deny-other-models`, by plans that name a `model` instead of a product, by `entitle models`
//! and by `entitle verify`.

use serde::Serialize;

/// The Bedrock user guide page that lists the Marketplace product id of every model sold through
/// AWS Marketplace ("Use product ID condition keys to control access").
pub const PRODUCT_IDS_SOURCE: &str =
    "https://docs.aws.amazon.com/bedrock/latest/userguide/model-access-product-ids.html";

/// Where the model ids come from: each model's card in the Bedrock user guide ("Programmatic
/// access": its model id) and Anthropic's model pages.
pub const MODEL_IDS_SOURCE: &str =
    "https://docs.aws.amazon.com/bedrock/latest/userguide/foundation-models-reference.html";

/// One Marketplace product and the Bedrock foundation models it entitles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BedrockProduct {
    /// The Marketplace product id (`prod-...`), which is also the license's ProductSKU.
    pub product: &'static str,
    /// The model's name, for people.
    pub name: &'static str,
    /// Its Bedrock model ids (the part after `foundation-model/` in the model ARN).
    pub model_ids: &'static [&'static str],
    /// Whether the product id was checked against [`PRODUCT_IDS_SOURCE`].
    pub product_verified: bool,
    /// Whether the model ids were checked against [`MODEL_IDS_SOURCE`] (a model card naming
    /// both the product id and the model id). Unverified ids follow Anthropic's naming pattern
    /// and are believed right, but nobody here has seen them next to the product id.
    pub model_ids_verified: bool,
}

impl BedrockProduct {
    /// The model id `GetFoundationModelAvailability` is asked about: the first (newest) one.
    pub fn primary_model_id(&self) -> &'static str {
        self.model_ids.first().copied().unwrap_or_default()
    }
}

/// Anthropic's Claude models on Bedrock. Every product id is in the product-id page (checked
/// 2026-01); the model ids of the four current Claude 4 models are on their model cards (Sonnet
/// 4.5's card names `prod-mxcfnwvpd6kb4` beside `anthropic.claude-sonnet-4-5-20250929-v1:0`);
/// Sonnet 4's and the Claude 3 family's model ids were not checked against a card.
pub const BEDROCK_PRODUCTS: &[BedrockProduct] = &[
    BedrockProduct {
        product: "prod-xdkflymybwmvi",
        name: "Claude Haiku 4.5",
        model_ids: &["anthropic.claude-haiku-4-5-20251001-v1:0"],
        product_verified: true,
        model_ids_verified: true,
    },
    BedrockProduct {
        product: "prod-mxcfnwvpd6kb4",
        name: "Claude Sonnet 4.5",
        model_ids: &["anthropic.claude-sonnet-4-5-20250929-v1:0"],
        product_verified: true,
        model_ids_verified: true,
    },
    BedrockProduct {
        product: "prod-4pmewlybdftbs",
        name: "Claude Sonnet 4",
        model_ids: &["anthropic.claude-sonnet-4-20250514-v1:0"],
        product_verified: true,
        model_ids_verified: false,
    },
    BedrockProduct {
        product: "prod-w3q2d6rfge4tw",
        name: "Claude Opus 4.1",
        model_ids: &["anthropic.claude-opus-4-1-20250805-v1:0"],
        product_verified: true,
        model_ids_verified: true,
    },
    BedrockProduct {
        product: "prod-azycxvnd5mhqi",
        name: "Claude Opus 4",
        model_ids: &["anthropic.claude-opus-4-20250514-v1:0"],
        product_verified: true,
        model_ids_verified: true,
    },
    BedrockProduct {
        product: "prod-4dlfvry4v5hbi",
        name: "Claude 3.7 Sonnet",
        model_ids: &["anthropic.claude-3-7-sonnet-20250219-v1:0"],
        product_verified: true,
        model_ids_verified: false,
    },
    BedrockProduct {
        product: "prod-cx7ovbu5wex7g",
        name: "Claude 3.5 Sonnet v2",
        model_ids: &["anthropic.claude-3-5-sonnet-20241022-v2:0"],
        product_verified: true,
        model_ids_verified: false,
    },
    BedrockProduct {
        product: "prod-5oba7y7jpji56",
        name: "Claude 3.5 Haiku",
        model_ids: &["anthropic.claude-3-5-haiku-20241022-v1:0"],
        product_verified: true,
        model_ids_verified: false,
    },
    BedrockProduct {
        product: "prod-ozonys2hmmpeu",
        name: "Claude 3 Haiku",
        model_ids: &["anthropic.claude-3-haiku-20240307-v1:0"],
        product_verified: true,
        model_ids_verified: false,
    },
];

/// Where the table lives, for error messages.
pub const TABLE_LOCATION: &str = "src/model/bedrock.rs (`BEDROCK_PRODUCTS`)";

/// The product's entry, if the table knows it.
pub fn bedrock_product(product: &str) -> Option<&'static BedrockProduct> {
    BEDROCK_PRODUCTS
        .iter()
        .find(|entry| entry.product == product)
}

/// The entry that sells a Bedrock model id, if the table knows it.
pub fn product_of_model(model_id: &str) -> Option<&'static BedrockProduct> {
    BEDROCK_PRODUCTS
        .iter()
        .find(|entry| entry.model_ids.contains(&model_id))
}

/// Every model id of the table, in table order.
pub fn model_ids() -> impl Iterator<Item = &'static str> {
    BEDROCK_PRODUCTS
        .iter()
        .flat_map(|entry| entry.model_ids.iter().copied())
}

/// Bedrock's `AgreementStatus`, `EntitlementAvailability`, `RegionAvailability` and
/// `AuthorizationStatus` values, kept as Bedrock spells them so a value this build does not know
/// is shown, not lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BedrockStatus(pub String);

impl BedrockStatus {
    /// `AVAILABLE`.
    pub const AVAILABLE: &'static str = "AVAILABLE";
    /// `AUTHORIZED`.
    pub const AUTHORIZED: &'static str = "AUTHORIZED";

    /// Whether the value is `AVAILABLE`.
    pub fn is_available(&self) -> bool {
        self.0 == Self::AVAILABLE
    }

    /// Whether the value is `AUTHORIZED`.
    pub fn is_authorized(&self) -> bool {
        self.0 == Self::AUTHORIZED
    }

    /// The value as Bedrock spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What `GetFoundationModelAvailability` answers for one model, as one account, in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelAvailability {
    /// The model asked about.
    pub model_id: String,
    /// The region asked in.
    pub region: String,
    /// Whether the account has accepted the model's Marketplace agreement (`AVAILABLE`,
    /// `PENDING`, `NOT_AVAILABLE`, `ERROR`).
    pub agreement: BedrockStatus,
    /// Why the agreement is not available, when Bedrock says.
    pub agreement_error: Option<String>,
    /// Whether the caller may use the model (`AUTHORIZED`, `NOT_AUTHORIZED`): IAM and SCPs.
    pub authorization: BedrockStatus,
    /// Whether the account is entitled to the model (`AVAILABLE`, `NOT_AVAILABLE`): for a
    /// Marketplace model, a subscription or (assumed) an ACTIVE distributed grant.
    pub entitlement: BedrockStatus,
    /// Whether the model is offered in the region (`AVAILABLE`, `NOT_AVAILABLE`).
    pub region_availability: BedrockStatus,
}

impl ModelAvailability {
    /// Whether the account can use the model there: all four answers say yes.
    pub fn usable(&self) -> bool {
        self.agreement.is_available()
            && self.authorization.is_authorized()
            && self.entitlement.is_available()
            && self.region_availability.is_available()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_product_is_listed_once_with_models() {
        let mut products: Vec<&str> = BEDROCK_PRODUCTS.iter().map(|entry| entry.product).collect();
        products.sort_unstable();
        products.dedup();
        assert_eq!(products.len(), BEDROCK_PRODUCTS.len());
        assert!(BEDROCK_PRODUCTS.iter().all(|entry| {
            !entry.model_ids.is_empty()
                && entry.product.starts_with("prod-")
                && entry
                    .model_ids
                    .iter()
                    .all(|id| id.starts_with("anthropic."))
        }));
        assert_eq!(
            bedrock_product("prod-mxcfnwvpd6kb4").map(|entry| entry.name),
            Some("Claude Sonnet 4.5")
        );
        assert!(bedrock_product("prod-unknown").is_none());
    }

    #[test]
    fn model_ids_lead_to_their_product_and_appear_once() {
        assert_eq!(
            product_of_model("anthropic.claude-sonnet-4-5-20250929-v1:0")
                .map(|entry| entry.product),
            Some("prod-mxcfnwvpd6kb4")
        );
        assert!(product_of_model("anthropic.claude-sonnet-4-5").is_none());
        let mut ids: Vec<&str> = model_ids().collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count);
    }

    /// The facts issue 14 lists as documented are verified; Sonnet 4's model id is not.
    #[test]
    fn what_was_checked_is_marked_so() {
        for (product, model) in [
            (
                "prod-mxcfnwvpd6kb4",
                "anthropic.claude-sonnet-4-5-20250929-v1:0",
            ),
            (
                "prod-xdkflymybwmvi",
                "anthropic.claude-haiku-4-5-20251001-v1:0",
            ),
            (
                "prod-w3q2d6rfge4tw",
                "anthropic.claude-opus-4-1-20250805-v1:0",
            ),
            (
                "prod-azycxvnd5mhqi",
                "anthropic.claude-opus-4-20250514-v1:0",
            ),
        ] {
            let entry = bedrock_product(product).expect("listed");
            assert_eq!(entry.primary_model_id(), model);
            assert!(
                entry.product_verified && entry.model_ids_verified,
                "{product}"
            );
        }
        let sonnet_4 = bedrock_product("prod-4pmewlybdftbs").expect("listed");
        assert!(sonnet_4.product_verified && !sonnet_4.model_ids_verified);
    }

    #[test]
    fn a_model_is_usable_only_when_all_four_answers_say_so() {
        let answer = |entitlement: &str| ModelAvailability {
            model_id: "m".to_owned(),
            region: "us-east-1".to_owned(),
            agreement: BedrockStatus("AVAILABLE".to_owned()),
            agreement_error: None,
            authorization: BedrockStatus("AUTHORIZED".to_owned()),
            entitlement: BedrockStatus(entitlement.to_owned()),
            region_availability: BedrockStatus("AVAILABLE".to_owned()),
        };
        assert!(answer("AVAILABLE").usable());
        assert!(!answer("NOT_AVAILABLE").usable());
        let mut unauthorized = answer("AVAILABLE");
        unauthorized.authorization = BedrockStatus("NOT_AUTHORIZED".to_owned());
        assert!(!unauthorized.usable());
    }

    #[test]
    fn every_answer_that_says_no_makes_the_model_unusable() {
        let yes = ModelAvailability {
            model_id: "m".to_owned(),
            region: "us-east-1".to_owned(),
            agreement: BedrockStatus("AVAILABLE".to_owned()),
            agreement_error: None,
            authorization: BedrockStatus("AUTHORIZED".to_owned()),
            entitlement: BedrockStatus("AVAILABLE".to_owned()),
            region_availability: BedrockStatus("AVAILABLE".to_owned()),
        };
        assert!(yes.usable());
        let no = |status: &str| BedrockStatus(status.to_owned());
        let mut pending = yes.clone();
        pending.agreement = no("PENDING");
        let mut unauthorized = yes.clone();
        unauthorized.authorization = no("NOT_AUTHORIZED");
        let mut elsewhere = yes.clone();
        elsewhere.region_availability = no("NOT_AVAILABLE");
        for answer in [pending, unauthorized, elsewhere] {
            assert!(!answer.usable(), "{answer:?}");
        }
        assert_eq!(no("NOT_AUTHORIZED").as_str(), "NOT_AUTHORIZED");
        assert!(!no("AUTHORIZED").is_available());
        assert!(!no("AVAILABLE").is_authorized());
    }

    #[test]
    fn the_model_ids_are_every_entry_s_in_table_order() {
        let ids: Vec<&str> = model_ids().collect();
        let expected: Vec<&str> = BEDROCK_PRODUCTS
            .iter()
            .flat_map(|entry| entry.model_ids.iter().copied())
            .collect();
        assert_eq!(ids, expected);
        assert_eq!(ids[0], "anthropic.claude-haiku-4-5-20251001-v1:0");
    }
}
