//! `entitle discover`: reads the organisation and shows it.

use anyhow::Context as _;

use super::Context;
use crate::aws::organizations::{DiscoverOptions, discover};
use crate::cli::DiscoverArgs;
use crate::exit::{Outcome, feature_set_warning};
use crate::ui::{self, progress::DiscoverSpinner};

/// Discovers the organisation and prints the tree (or the JSON document).
pub async fn run(context: &Context, args: &DiscoverArgs) -> anyhow::Result<Outcome> {
    let clients = context.clients().await;
    let options = DiscoverOptions {
        tags: !args.no_tags,
        units: crate::model::UnitScope::Whole,
        concurrency: usize::from(args.concurrency),
    };
    let spinner = DiscoverSpinner::new(context.printer.progress);
    let discovery = discover(&clients, &options, &spinner)
        .await
        .context("could not discover the organisation")?;
    spinner.finish();
    let printer = &context.printer;
    if let Some((warning, hint)) = feature_set_warning(&discovery.tree.organization().feature_set) {
        printer.warn(&warning, Some(&hint));
    }
    let calls: u64 = discovery.api_calls.values().sum();
    printer.info(&format!(
        "discovery made {calls} API calls; accounts placed {}",
        if discovery.placed_by_paths {
            "by their Paths"
        } else {
            "by listing each parent"
        }
    ));
    printer.result(&ui::discover::document(&discovery), |out| {
        ui::discover::human(out, &discovery, &printer.style, printer.verbose > 0)
    })?;
    Ok(Outcome::Success)
}
