//! Which Amazon Bedrock models a Marketplace product sells: the one table `entitle guardrails
//! --deny-other-models` reads. Products missing here are refused by that flag, by name.

/// One Marketplace product and the Bedrock foundation models it entitles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BedrockProduct {
    /// The Marketplace product id (`prod-...`), which is also the license's ProductSKU.
    pub product: &'static str,
    /// The model's name, for people.
    pub name: &'static str,
    /// Its Bedrock model ids (the part after `foundation-model/` in the model ARN).
    pub model_ids: &'static [&'static str],
}

/// Anthropic's Claude models on Bedrock: product ids from the Bedrock user guide's table of
/// Marketplace product ids, model ids from its table of supported foundation models.
pub const BEDROCK_PRODUCTS: &[BedrockProduct] = &[
    BedrockProduct {
        product: "prod-xdkflymybwmvi",
        name: "Claude Haiku 4.5",
        model_ids: &["anthropic.claude-haiku-4-5-20251001-v1:0"],
    },
    BedrockProduct {
        product: "prod-mxcfnwvpd6kb4",
        name: "Claude Sonnet 4.5",
        model_ids: &["anthropic.claude-sonnet-4-5-20250929-v1:0"],
    },
    BedrockProduct {
        product: "prod-4pmewlybdftbs",
        name: "Claude Sonnet 4",
        model_ids: &["anthropic.claude-sonnet-4-20250514-v1:0"],
    },
    BedrockProduct {
        product: "prod-w3q2d6rfge4tw",
        name: "Claude Opus 4.1",
        model_ids: &["anthropic.claude-opus-4-1-20250805-v1:0"],
    },
    BedrockProduct {
        product: "prod-azycxvnd5mhqi",
        name: "Claude Opus 4",
        model_ids: &["anthropic.claude-opus-4-20250514-v1:0"],
    },
    BedrockProduct {
        product: "prod-4dlfvry4v5hbi",
        name: "Claude 3.7 Sonnet",
        model_ids: &["anthropic.claude-3-7-sonnet-20250219-v1:0"],
    },
    BedrockProduct {
        product: "prod-cx7ovbu5wex7g",
        name: "Claude 3.5 Sonnet v2",
        model_ids: &["anthropic.claude-3-5-sonnet-20241022-v2:0"],
    },
    BedrockProduct {
        product: "prod-5oba7y7jpji56",
        name: "Claude 3.5 Haiku",
        model_ids: &["anthropic.claude-3-5-haiku-20241022-v1:0"],
    },
    BedrockProduct {
        product: "prod-ozonys2hmmpeu",
        name: "Claude 3 Haiku",
        model_ids: &["anthropic.claude-3-haiku-20240307-v1:0"],
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
}
