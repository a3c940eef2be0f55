//! `entitle models`: the model catalog (Marketplace product id <-> Bedrock model ids), with where
//! each fact comes from and whether it was verified. Reaches no AWS service.

use super::Context;
use crate::exit::Outcome;
use crate::ui::models::{ModelsDocument, render_human};

/// Prints the catalog.
pub fn run(context: &Context) -> anyhow::Result<Outcome> {
    let document = ModelsDocument::new();
    let style = &context.printer.style;
    context
        .printer
        .result(&document, |out| render_human(&document, style, out))?;
    Ok(Outcome::Success)
}
