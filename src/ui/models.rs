//! How `entitle models` looks: the catalog as a table for people, or its JSON document (kind
//! `models`, schema in docs/schema/models.schema.json).

use std::io::{self, Write};

use serde::Serialize;

use super::{FORMAT_VERSION, Style};
use crate::model::bedrock::{
    BEDROCK_PRODUCTS, BedrockProduct, MODEL_IDS_SOURCE, PRODUCT_IDS_SOURCE,
};

/// Where the catalog's facts come from.
#[derive(Debug, Serialize)]
pub struct Sources {
    /// The Bedrock user guide page listing Marketplace product ids.
    pub product_ids: &'static str,
    /// Where the model ids come from (the models' cards).
    pub model_ids: &'static str,
}

/// The JSON document of `entitle models --output json`.
#[derive(Debug, Serialize)]
pub struct ModelsDocument {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// Always `models`.
    pub kind: &'static str,
    /// Where the facts come from.
    pub sources: Sources,
    /// One entry per Marketplace product.
    pub products: &'static [BedrockProduct],
}

impl ModelsDocument {
    /// The catalog of this build.
    pub fn new() -> Self {
        Self {
            format_version: FORMAT_VERSION,
            kind: "models",
            sources: Sources {
                product_ids: PRODUCT_IDS_SOURCE,
                model_ids: MODEL_IDS_SOURCE,
            },
            products: BEDROCK_PRODUCTS,
        }
    }
}

impl Default for ModelsDocument {
    fn default() -> Self {
        Self::new()
    }
}

/// One line per model id: product, name, model id, and `unverified` where it was not checked.
pub fn render_human(
    document: &ModelsDocument,
    style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        style.bold(format!(
            "{:<20} {:<22} {:<45} {}",
            "PRODUCT", "MODEL", "BEDROCK MODEL ID", "VERIFIED"
        ))
    )?;
    for entry in document.products {
        for model_id in entry.model_ids {
            let verified = match (entry.product_verified, entry.model_ids_verified) {
                (true, true) => "yes".to_owned(),
                (true, false) => style.warning("product id only"),
                (false, true) => style.warning("model id only"),
                (false, false) => style.warning("no"),
            };
            writeln!(
                out,
                "{:<20} {:<22} {:<45} {verified}",
                entry.product, entry.name, model_id
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "Product ids: {}", document.sources.product_ids)?;
    writeln!(out, "Model ids:   {}", document.sources.model_ids)?;
    writeln!(
        out,
        "A plan names a model with `model = \"<BEDROCK MODEL ID>\"` in `[entitlement]` instead of `product`."
    )
}
