//! What several commands read before they decide: the plan file (its problems printed as
//! diagnostics), the organisation and the license it is made against, the clock, and the
//! warning about another rollout granting to the same principals.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context as _;

use super::{Context, Reported};
use crate::aws::organizations::{DiscoverOptions, Discovery, add_tags, discover};
use crate::aws::{AwsClients, license_manager, marketplace, prerequisites};
use crate::model::plan::{EntitlementSelector, RolloutPlan, parse_plan};
use crate::model::{AccountId, UnitScope};
use crate::planner::Observed;
use crate::planner::entitlement::{EntitlementError, choose_license};
use crate::planner::reads::{TagNeed, accounts_to_tag, tag_need, unit_scope};
use crate::ui::progress::DiscoverSpinner;

/// Reads and checks a plan file; its problems are printed, all at once, as diagnostics.
pub fn read_plan(context: &Context, path: &Path) -> anyhow::Result<RolloutPlan> {
    let text = read_text(path, "the plan file", PLAN_MAX_BYTES)?;
    let rollout = parse_plan(&text, &path.display().to_string()).map_err(|errors| {
        context.printer.diagnostics(&errors);
        anyhow::Error::from(Reported)
    })?;
    for warning in &rollout.warnings {
        let message = match &warning.location {
            Some(location) => format!("{location}: {}", warning.message),
            None => warning.message.clone(),
        };
        context.printer.warn(&message, warning.hint.as_deref());
    }
    Ok(rollout)
}

/// The largest plan file read: a hand-written plan is a few KB.
const PLAN_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// The largest saved plan read (`plan --out` of a rollout over tens of thousands of accounts).
pub const SAVED_PLAN_MAX_BYTES: u64 = 512 * 1024 * 1024;

/// A file's text, read only if it is a regular file of at most `limit` bytes: a FIFO or a
/// device (which would hang the read or never end) is refused, and every failure names the file
/// (`what` says which, e.g. "the plan file"). Text that is not UTF-8 is refused with the line and
/// column of its first bad byte.
pub fn read_text(path: &Path, what: &str, limit: u64) -> anyhow::Result<String> {
    use std::io::Read as _;
    let shown = path.display();
    let metadata =
        std::fs::metadata(path).with_context(|| format!("could not read {what} `{shown}`"))?;
    if !metadata.is_file() {
        let kind = if metadata.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        anyhow::bail!("could not read {what} `{shown}`: it is {kind}");
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("could not read {what} `{shown}`"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("could not read {what} `{shown}`"))?;
    if bytes.len() as u64 > limit {
        anyhow::bail!(
            "could not read {what} `{shown}`: it is larger than {} MiB",
            limit / (1024 * 1024)
        );
    }
    String::from_utf8(bytes).map_err(|error| {
        let at = error.utf8_error().valid_up_to();
        let before = &error.as_bytes()[..at];
        let line = before.iter().filter(|byte| **byte == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|byte| *byte == b'\n')
            .map_or(0, |newline| newline + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        anyhow::anyhow!(
            "{what} `{shown}` is not UTF-8 text: invalid byte 0x{:02x} at line {line}, column \
             {column} (byte offset {at}); save it as UTF-8",
            error.as_bytes()[at]
        )
    })
}

/// Looks at the world a plan is made against: the organisation (the OUs the plan names, tags
/// only when it selects by tag), the license the entitlement means, its distributed grants and
/// received grants.
pub async fn observe(
    context: &Context,
    clients: &AwsClients,
    rollout: &RolloutPlan,
) -> anyhow::Result<(Discovery, Observed)> {
    observe_units(context, clients, rollout, unit_scope(rollout)).await
}

/// [`observe`], reading the OUs `units` says (`UnitScope::Whole` to show every OU by name).
pub async fn observe_units(
    context: &Context,
    clients: &AwsClients,
    rollout: &RolloutPlan,
    units: UnitScope,
) -> anyhow::Result<(Discovery, Observed)> {
    let tags = tag_need(rollout);
    let spinner = DiscoverSpinner::new(context.printer.progress);
    // The organisation and the license are read at once: different services, different limits.
    let organisation = async {
        let options = DiscoverOptions {
            tags: tags == TagNeed::Every,
            units,
            ..DiscoverOptions::default()
        };
        let mut discovery = discover(clients, &options, &spinner)
            .await
            .context("could not discover the organisation")?;
        // Tags that only narrow what accounts and OUs select: those accounts' alone.
        if tags == TagNeed::Selected {
            let accounts = accounts_to_tag(rollout, &discovery.tree);
            add_tags(
                clients,
                &mut discovery,
                &accounts,
                options.concurrency,
                &spinner,
            )
            .await
            .context("could not read the accounts' tags")?;
        }
        Ok::<_, anyhow::Error>(discovery)
    };
    let (discovery, observed) = tokio::join!(organisation, observe_license(clients, rollout));
    spinner.finish();
    // A license the plan names but AWS does not have is the plan's problem: shown where it is.
    let observed = observed.map_err(|error| match error.downcast::<EntitlementError>() {
        Ok(error) => {
            context.printer.diagnostics(&error.located(rollout));
            anyhow::Error::from(Reported)
        }
        Err(error) => error,
    });
    Ok((discovery?, observed?))
}

/// The license a plan's entitlement means, its distributed grants and its received grants.
async fn observe_license(clients: &AwsClients, rollout: &RolloutPlan) -> anyhow::Result<Observed> {
    let licenses = license_manager::marketplace_licenses(clients)
        .await
        .context("could not list the Marketplace licenses")?;
    let agreement = match &rollout.entitlement.selector {
        EntitlementSelector::Agreement(id) => Some(
            marketplace::agreement(clients, id)
                .await
                .with_context(|| format!("could not read agreement `{id}`"))?,
        ),
        _ => None,
    };
    let license = choose_license(&rollout.entitlement.selector, &licenses, agreement.as_ref())?;
    let (grants, received, others) = tokio::join!(
        license_manager::distributed_grants(clients, &license.arn, 8),
        license_manager::received_grants(clients, &license.arn),
        prerequisites::organization_licenses(clients, &license.product_sku),
    );
    // Accounts with their own subscription of the product: AWS refuses to activate ours there
    // while the plan keeps theirs. Best effort: without Marketplace trusted access the read is
    // refused, and `entitle doctor` says so with the fix.
    let own_subscriptions = match others {
        Ok(others) => others
            .iter()
            .filter(|other| other.arn != license.arn && other.status == "AVAILABLE")
            .filter_map(|other| AccountId::parse(&other.beneficiary).ok())
            .collect(),
        Err(error) => {
            tracing::debug!(%error, "could not list the organisation's own subscriptions");
            BTreeSet::new()
        }
    };
    Ok(Observed {
        grants: grants.context("could not list the license's grants")?,
        received: received.context("could not list the accounts' received grants")?,
        license,
        own_subscriptions,
    })
}

/// Warns when another rollout of the same license grants to a principal this plan wants: each
/// rollout would keep its own grant (and `entitle apply` of the second would collide with the
/// first's where AWS refuses a second grant per principal).
pub fn warn_collisions(printer: &crate::ui::Printer, plan: &crate::planner::Plan) {
    for other in &plan.unowned {
        let Some(owner) = &other.owner else { continue };
        if other.status.is_dead() {
            continue;
        }
        if plan
            .changes
            .iter()
            .any(|change| change.principal_arn == other.principal_arn)
        {
            printer.warn(
                &format!(
                    "rollouts `{}` and `{owner}` both grant license `{}` to `{}` (grant `{}` is `{owner}`'s)",
                    plan.rollout, plan.license_arn, other.principal_arn, other.arn
                ),
                Some("let one rollout own each principal: remove it from one plan's phases (AWS may refuse a second grant of a license to one principal)"),
            );
        }
    }
}

/// Says why some places show OU ids, when any of `places` lies under an OU whose name the job
/// did not read (human output only: the JSON's `principal_path`/`ou_path` speak for themselves).
pub fn note_unnamed_ous(
    printer: &crate::ui::Printer,
    tree: &crate::model::OrgTree,
    places: impl IntoIterator<Item = crate::model::ParentId>,
) {
    if printer.format != crate::cli::OutputFormat::Human {
        return;
    }
    if places.into_iter().any(|place| !tree.is_named(&place)) {
        printer.notice(
            "OUs shown by id (`ou-...`) were not read by name: the plan names no OU there \
             (`entitle discover` and `entitle status --tree` name every OU)",
        );
    }
}

/// Seconds since the epoch, for bake gates.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
