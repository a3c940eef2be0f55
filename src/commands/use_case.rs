//! `entitle use-case submit --form FILE` and `entitle use-case show`: Bedrock's one-time
//! Anthropic use-case form at the caller's account (the management account's is inherited by
//! every member). Submit validates the form (`planner::use_case`), shows it, asks a typed
//! confirmation, then calls PutUseCaseForModelAccess; nothing is sent for a form with a problem.

use anyhow::{Context as _, bail};

use super::Context;
use super::confirm::{self, Changes};
use crate::aws::{identity, organizations, use_case};
use crate::cli::{UseCaseCommand, UseCaseSubmitArgs};
use crate::exit::Outcome;
use crate::planner::use_case::validate_form;
use crate::ui::use_case::{UseCaseDocument, render_form, render_problems};

/// Runs `use-case submit` or `use-case show`.
pub async fn run(context: &Context, command: &UseCaseCommand) -> anyhow::Result<Outcome> {
    match command {
        UseCaseCommand::Submit(args) => submit(context, args).await,
        UseCaseCommand::Show => show(context).await,
    }
}

async fn submit(context: &Context, args: &UseCaseSubmitArgs) -> anyhow::Result<Outcome> {
    let printer = &context.printer;
    let file = args.form.display().to_string();
    let text = std::fs::read_to_string(&args.form)
        .with_context(|| format!("could not read the use-case form `{file}`"))?;
    let form = match validate_form(&text) {
        Ok(form) => form,
        Err(problems) => {
            render_problems(&printer.err_style, &file, &problems);
            bail!(
                "`{file}` is not a valid use-case form ({} problem{} above), so nothing was submitted",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
        }
    };
    let clients = context.clients().await;
    let caller = identity::caller(&clients)
        .await
        .context("could not tell whose credentials these are")?;
    // Members inherit the management account's form: submitted anywhere else it covers one account.
    if let Ok(organization) = organizations::organization(&clients).await
        && organization.management_account.as_str() != caller.account
    {
        printer.warn(
            &format!(
                "`{}` is not the management account (`{}`): a form submitted here covers `{}` alone",
                caller.account, organization.management_account, caller.account
            ),
            Some("submit it from the management account: every member account inherits that one"),
        );
    }
    let replaces = use_case::form_on_file(&clients)
        .await
        .context("could not read the use-case form on file")?;
    let pending = UseCaseDocument::new("submit", &caller.account, Some(&form), replaces, false);
    if !args.auto_approve {
        render_form(printer, &pending)?;
        confirm::typed(
            Changes::Other("submit the use-case form"),
            &format!(
                "Submit this use-case form for account `{}`{}? Only `yes` goes on: ",
                caller.account,
                if replaces {
                    ", replacing the one on file"
                } else {
                    ""
                }
            ),
            "yes",
            "use-case submit cancelled: nothing was submitted",
        )?;
    }
    use_case::submit(&clients, &form.to_bytes())
        .await
        .context("Bedrock refused the use-case form")?;
    let done = UseCaseDocument::new("submit", &caller.account, Some(&form), replaces, true);
    printer.result(&done, |out| {
        crate::ui::use_case::render_human(&done, &printer.style, out)
    })?;
    Ok(Outcome::Success)
}

async fn show(context: &Context) -> anyhow::Result<Outcome> {
    let printer = &context.printer;
    let clients = context.clients().await;
    let caller = identity::caller(&clients)
        .await
        .context("could not tell whose credentials these are")?;
    let on_file = use_case::form(&clients)
        .await
        .context("could not read the use-case form on file")?;
    let form = on_file
        .as_deref()
        .map(|bytes| validate_form(&String::from_utf8_lossy(bytes)));
    let document = match &form {
        Some(Ok(form)) => UseCaseDocument::new("show", &caller.account, Some(form), true, false),
        // On file but not a form entitle would send: shown as it is.
        Some(Err(_)) => UseCaseDocument::new("show", &caller.account, None, true, false).with_raw(
            on_file
                .as_deref()
                .map(|bytes| String::from_utf8_lossy(bytes).into_owned()),
        ),
        None => UseCaseDocument::new("show", &caller.account, None, false, false),
    };
    printer.result(&document, |out| {
        crate::ui::use_case::render_human(&document, &printer.style, out)
    })?;
    Ok(Outcome::Success)
}
