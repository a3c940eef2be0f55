//! `entitle force-unlock`: remove the stale lock of a rollout in the organisation the credentials
//! reach: show who holds it, ask for the rollout's name (or `--auto-approve`), remove it, and
//! journal who removed whose lock. A local lock is the OS's: a dead process's is free already
//! (said so, its details cleared), a live process's cannot be taken away (refused).

use std::io::IsTerminal;

use anyhow::{Context as _, bail};

use super::observe::read_plan;
use super::{Context, NoTerminal};
use crate::apply::journal::Event;
use crate::apply::journal_store::{
    Holder, JournalStore, LockState, Unlocked, host_name, local_user,
};
use crate::aws::{identity, organizations};
use crate::cli::ForceUnlockArgs;
use crate::exit::Outcome;
use crate::ui::{
    self,
    lock::{UnlockDocument, UnlockOutcome},
};

/// Shows the lock, confirms, removes it, journals it.
pub async fn run(context: &Context, args: &ForceUnlockArgs) -> anyhow::Result<Outcome> {
    // The plan also says where its journal is (`[journal] url`), after `--journal`.
    let (rollout, plan_journal) = match (&args.plan, &args.rollout) {
        (Some(plan), _) => {
            let plan = read_plan(context, plan)?;
            (plan.name, plan.journal_url)
        }
        (None, Some(name)) => (name.clone(), None),
        (None, None) => {
            bail!("name the rollout: `entitle force-unlock PLAN.toml` or `--rollout NAME`")
        }
    };
    let clients = context.clients().await;
    let organization = organizations::organization(&clients)
        .await
        .context("could not describe the organisation")?;
    let organization = organization.id.as_str().to_owned();
    let store = super::rollout_journal::locate(
        context,
        &clients,
        &organization,
        &rollout,
        plan_journal.as_deref(),
    )
    .await?;
    let document = |outcome, holder| {
        UnlockDocument::new(
            &organization,
            &rollout,
            store.describe_lock(),
            outcome,
            holder,
        )
    };
    let done = match store.lock_state().await? {
        LockState::Free => document(UnlockOutcome::NotLocked, None),
        LockState::Released(holder) => {
            store.force_unlock(Some(&holder)).await?;
            document(UnlockOutcome::AlreadyReleased, Some(holder))
        }
        LockState::Held(holder) => {
            if !store.location().is_s3() {
                // A live process's OS lock: refused with who holds it.
                store.force_unlock(holder.as_ref()).await?;
            }
            if !args.auto_approve {
                confirm(&rollout, &store.describe_lock(), holder.as_ref())?;
            }
            match store.force_unlock(holder.as_ref()).await? {
                Unlocked::NotLocked => document(UnlockOutcome::NotLocked, None),
                Unlocked::AlreadyReleased(holder) => {
                    document(UnlockOutcome::AlreadyReleased, Some(holder))
                }
                Unlocked::Removed(holder) => {
                    record_removal(&clients, &store, &holder).await?;
                    document(UnlockOutcome::Removed, Some(holder))
                }
            }
        }
    };
    let printer = &context.printer;
    printer.result(&done, |out| {
        ui::lock::render_human(&done, &printer.style, out)
    })?;
    Ok(Outcome::Success)
}

/// Asks for the rollout's name on the terminal, showing who holds the lock; refuses without one.
fn confirm(rollout: &str, lock: &str, holder: Option<&Holder>) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(NoTerminal.into());
    }
    let holder = holder.map_or_else(
        || "a holder whose details could not be read".to_owned(),
        ToString::to_string,
    );
    let question = format!(
        "The lock `{lock}` is held by {holder}.\nRemove it only if that run is gone: a live run would go on without a lock. Type the rollout's name ({rollout}) to remove it: "
    );
    if ui::ask(&question)?.trim() != rollout {
        bail!("force-unlock cancelled: the lock stays");
    }
    Ok(())
}

/// Journals who removed whose lock.
async fn record_removal(
    clients: &crate::aws::AwsClients,
    store: &JournalStore,
    holder: &Holder,
) -> anyhow::Result<()> {
    let caller = identity::caller(clients)
        .await
        .ok()
        .map(|caller| caller.arn);
    let journal = store.journal().await?;
    journal
        .record(Event::LockForced {
            holder: holder.clone(),
            user: local_user(),
            host: host_name(),
            caller,
        })
        .with_context(|| {
            format!(
                "the lock was removed, but the journal `{}` could not say so",
                store.describe()
            )
        })?;
    journal.finish().await?;
    Ok(())
}
