//! `entitle guardrails`: prints the service control policy that goes with a rollout plan.

use anyhow::Context as _;

use super::Context;
use super::observe::read_plan;
use crate::aws::{license_manager, marketplace};
use crate::cli::GuardrailsArgs;
use crate::exit::Outcome;
use crate::model::plan::EntitlementSelector;
use crate::planner::entitlement::choose_license;
use crate::planner::guardrails::guardrails;
use crate::ui::guardrails::{GuardrailsDocument, notes, render_human};

/// Prints the policy. Reads AWS only to learn the product of a plan that names a license or an
/// agreement, and only for `--deny-other-models`.
pub async fn run(context: &Context, args: &GuardrailsArgs) -> anyhow::Result<Outcome> {
    let rollout = read_plan(context, &args.plan)?;
    let product = match &rollout.entitlement.selector {
        EntitlementSelector::Product(product) => Some(product.clone()),
        _ if !args.deny_other_models => None,
        selector => {
            let clients = context.clients().await;
            let licenses = license_manager::marketplace_licenses(&clients)
                .await
                .context("could not list the Marketplace licenses to learn the plan's product")?;
            let agreement = match selector {
                EntitlementSelector::Agreement(id) => Some(
                    marketplace::agreement(&clients, id)
                        .await
                        .with_context(|| format!("could not read agreement `{id}`"))?,
                ),
                _ => None,
            };
            Some(choose_license(selector, &licenses, agreement.as_ref())?.product_sku)
        }
    };
    let built = guardrails(
        product.as_deref(),
        args.deny_other_models,
        args.partition.as_str(),
    )?;
    let printer = &context.printer;
    let document = GuardrailsDocument::new(&rollout.name, product.as_deref(), &built);
    printer.result(&document, |out| render_human(&built, out))?;
    notes(printer, &built);
    Ok(Outcome::Success)
}
