//! `entitle sandbox ...`: serve the emulator, and change its world with admin actions.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::Value;

use super::Context;
use crate::apply::journal_store::lock_state_file;
use crate::cli::{SandboxCommand, SandboxServeArgs, SandboxTarget};
use crate::exit::{Outcome, UsageError};
use crate::sandbox::admin::{self, AdminAction, MemberGrant};
use crate::sandbox::faults::Faults;
use crate::sandbox::seed::GenerateOptions;
use crate::sandbox::state::State;
use crate::sandbox::usage;
use crate::sandbox::{Sandbox, SandboxOptions, SeedChoice, remote};
use crate::ui;

/// Runs one `entitle sandbox` command.
pub async fn run(context: &Context, command: &SandboxCommand) -> anyhow::Result<Outcome> {
    let (action, target) = match command {
        SandboxCommand::Serve(args) => return serve(context, args).await,
        SandboxCommand::Stats(endpoint) => {
            let answer = remote::call(&endpoint.endpoint, "GET", "/_sandbox/stats", None).await?;
            let stats = ui::sandbox::Stats::new(&endpoint.endpoint, &answer);
            context
                .printer
                .result(&stats, |out| ui::sandbox::stats(out, &stats))?;
            return Ok(Outcome::Success);
        }
        SandboxCommand::CancelAgreement(args) => (
            AdminAction::CancelAgreement {
                agreement_id: args.agreement.clone(),
            },
            &args.target,
        ),
        SandboxCommand::ExpireAgreement(args) => (
            AdminAction::ExpireAgreement {
                agreement_id: args.agreement.clone(),
            },
            &args.target,
        ),
        SandboxCommand::AcceptGrant(args) => {
            (AdminAction::AcceptGrant(member_grant(args)), &args.target)
        }
        SandboxCommand::ActivateGrant(args) => {
            (AdminAction::ActivateGrant(member_grant(args)), &args.target)
        }
        SandboxCommand::RejectGrant(args) => {
            (AdminAction::RejectGrant(member_grant(args)), &args.target)
        }
        SandboxCommand::JoinAccount(args) => (
            AdminAction::JoinAccount {
                account_id: args.account.clone(),
                name: args.name.clone(),
                parent_id: args.parent.clone(),
                tags: args.tags.iter().cloned().collect(),
            },
            &args.target,
        ),
        SandboxCommand::MoveAccount(args) => (
            AdminAction::MoveAccount {
                account_id: args.account.clone(),
                parent_id: args.parent.clone(),
            },
            &args.target,
        ),
        SandboxCommand::SuspendAccount(args) => (
            AdminAction::SuspendAccount {
                account_id: args.account.clone(),
            },
            &args.target,
        ),
        SandboxCommand::SubscribeAccount(args) => (
            AdminAction::SubscribeAccount {
                account_id: args.account.clone(),
                product_id: args.product.clone(),
            },
            &args.target,
        ),
        SandboxCommand::RemoveRole(args) => (
            AdminAction::RemoveRole {
                account_id: args.account.clone(),
                role_name: args.role.clone(),
            },
            &args.target,
        ),
        SandboxCommand::SettleWorkflows(target) => (AdminAction::SettleWorkflows, target),
        SandboxCommand::BreakAvailability(args) => (
            AdminAction::BreakAvailability {
                account_id: args.account.clone(),
                model_id: args.model.clone(),
                restore: args.restore,
            },
            &args.target,
        ),
        SandboxCommand::RemoveUseCaseForm(args) => (
            AdminAction::RemoveUseCaseForm {
                account_id: args.account.clone(),
            },
            &args.target,
        ),
        SandboxCommand::BreakPrerequisites(args) => (
            AdminAction::BreakPrerequisites {
                keep_trusted_access: args.keep_trusted_access,
                keep_link: args.keep_link,
            },
            &args.target,
        ),
        SandboxCommand::RecordUsage(args) => (
            check_record_usage(args).map(|()| AdminAction::RecordUsage {
                account_id: args.account.clone(),
                product_id: args.product.clone(),
                units: args.units,
                date: args.date.clone(),
                usage_type: args.usage_type.clone(),
            })?,
            &args.target,
        ),
        SandboxCommand::SetRates(args) => (
            check_set_rates(args).map(|()| AdminAction::SetRates {
                product_id: args.product.clone(),
                list: args.list,
                private: args.private,
            })?,
            &args.target,
        ),
    };
    let place = target_of(target)?;
    let result = apply(&action, &place).await?;
    // The action's name as typed on the command line (`cancel-agreement`).
    let name = serde_json::to_value(&action)?
        .get("action")
        .and_then(Value::as_str)
        .map(|name| name.replace('_', "-"))
        .unwrap_or_default();
    let document = ui::sandbox::AdminDone::new(name, place.describe(), result);
    context
        .printer
        .result(&document, |out| ui::sandbox::admin_result(out, &document))?;
    Ok(Outcome::Success)
}

/// The state file an admin action changes when it names none (and no global `--sandbox=FILE`).
const DEFAULT_STATE_FILE: &str = ".entitle/sandbox.json";

/// Where an admin action goes: a running server, or a state file.
enum Place {
    Server(String),
    StateFile(PathBuf),
}

impl Place {
    fn describe(&self) -> String {
        match self {
            Place::Server(endpoint) => endpoint.clone(),
            Place::StateFile(path) => path.display().to_string(),
        }
    }
}

/// `--endpoint`, else `--state`, else the global `--sandbox=STATE_FILE`, else the default file;
/// two different files named are refused.
fn target_of(target: &SandboxTarget) -> Result<Place, UsageError> {
    match (&target.endpoint, &target.state, &target.global_state) {
        (Some(endpoint), _, Some(global)) if global.as_os_str() != DEFAULT_STATE_FILE => {
            Err(UsageError {
                message: format!(
                    "`--endpoint {endpoint}` changes a running server, `--sandbox={}` a state file",
                    global.display()
                ),
                hint: "give one of them".to_owned(),
            })
        }
        (Some(endpoint), _, _) => Ok(Place::Server(endpoint.clone())),
        (None, Some(state), Some(global)) if state != global => Err(UsageError {
            message: format!(
                "`--state {}` and `--sandbox={}` name different state files",
                state.display(),
                global.display()
            ),
            hint: "give the state file once, with `--sandbox=FILE` or `--state FILE`".to_owned(),
        }),
        (None, Some(state), _) | (None, None, Some(state)) => Ok(Place::StateFile(state.clone())),
        (None, None, None) => Ok(Place::StateFile(PathBuf::from(DEFAULT_STATE_FILE))),
    }
}

/// `record-usage`'s flags, checked before anything is read or changed.
fn check_record_usage(args: &crate::cli::RecordUsageArgs) -> Result<(), UsageError> {
    if !args.units.is_finite() || args.units <= 0.0 {
        return Err(UsageError {
            message: format!("`--units {}` must be a positive number", args.units),
            hint: "give the units used, e.g. `--units 1000000` for a million input tokens"
                .to_owned(),
        });
    }
    if let Some(date) = &args.date {
        let Some(day) = usage::parse_date(date) else {
            return Err(UsageError {
                message: format!("`--date {date}` is not a YYYY-MM-DD date"),
                hint: "write the UTC day as YYYY-MM-DD, e.g. `--date 2026-11-20`, or leave it out for today".to_owned(),
            });
        };
        let today = usage::today();
        if day > today {
            return Err(UsageError {
                message: format!(
                    "`--date {date}` is in the future (today is `{}`, UTC)",
                    usage::format_date(today)
                ),
                hint: "usage can be recorded for today or an earlier day".to_owned(),
            });
        }
    }
    Ok(())
}

/// `set-rates`' flags, checked before anything is read or changed.
fn check_set_rates(args: &crate::cli::SetRatesArgs) -> Result<(), UsageError> {
    let example = "e.g. `--list 0.000003 --private 0.0000024` (USD per unit: USD 3 and 2.40 per million tokens)";
    if args.list.is_none() && args.private.is_none() {
        return Err(UsageError {
            message: "give `--list`, `--private` or both".to_owned(),
            hint: example.to_owned(),
        });
    }
    for (flag, value) in [("--list", args.list), ("--private", args.private)] {
        if let Some(value) = value
            && (!value.is_finite() || value < 0.0)
        {
            return Err(UsageError {
                message: format!("`{flag} {value}` must be a price of 0 or more"),
                hint: example.to_owned(),
            });
        }
    }
    Ok(())
}

fn member_grant(args: &crate::cli::MemberGrantArgs) -> MemberGrant {
    MemberGrant {
        account_id: args.account.clone(),
        grant_arn: args.grant.clone(),
        license_arn: args.license.clone(),
    }
}

/// Applies an admin action to a running server, or to a state file (seeded with the demo if new).
async fn apply(action: &AdminAction, place: &Place) -> anyhow::Result<Value> {
    let path = match place {
        Place::Server(endpoint) => {
            let body = serde_json::to_value(action)?;
            return Ok(remote::call(endpoint, "POST", "/_sandbox/admin", Some(&body)).await?);
        }
        Place::StateFile(path) => path,
    };
    ensure_parent(path)?;
    // Refused before anything changes when the change could not be saved.
    State::check_writable(path)?;
    // Another command on the same state file (a `--sandbox` run, a server) would save over
    // this change: take the file's lock, as they do.
    let _lock = lock_state_file(path, "sandbox", STATE_LOCK_WAIT).await?;
    let mut state = State::load_or_seed_demo(path)?;
    let result = admin::apply(&mut state, action)?;
    state.save(path)?;
    Ok(result)
}

/// How long an admin action or a server waits for another command on the same state file.
const STATE_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves until Ctrl-C or SIGTERM, then saves the state.
async fn serve(context: &Context, args: &SandboxServeArgs) -> anyhow::Result<Outcome> {
    let seed = match (&args.org, args.accounts) {
        (Some(org), _) => SeedChoice::OrgFile(org.clone()),
        (None, Some(accounts)) => SeedChoice::Generate(GenerateOptions {
            accounts,
            ous: args.ous,
            depth: args.depth,
            seed: args.seed,
        }),
        (None, None) => SeedChoice::Demo,
    };
    let faults = match &args.faults {
        Some(path) => Faults::load(path)?,
        None => Faults::none(),
    };
    ensure_parent(&args.state)?;
    State::check_writable(&args.state)?;
    // The server saves its whole state when it stops: no other command may write the file
    // meanwhile (they wait a moment, then refuse naming the server).
    let _lock = lock_state_file(&args.state, "sandbox serve", STATE_LOCK_WAIT).await?;
    let options = SandboxOptions {
        state_file: Some(args.state.clone()),
        seed,
        faults,
        settings: None,
    };
    let sandbox = Sandbox::start_with_options(args.addr, options)
        .await
        .with_context(|| format!("could not start the emulator on `{}`", args.addr))?;
    let mut environment = sandbox.environment();
    // boto3 and the AWS CLI v1 read only AWS_DEFAULT_REGION: without it they stop with "You
    // must specify a region" on these exports alone.
    if let Some((_, region)) = environment.iter().find(|(name, _)| *name == "AWS_REGION") {
        let region = region.clone();
        environment.push(("AWS_DEFAULT_REGION", region));
    }
    let serving = ui::sandbox::Serving::new(&sandbox.endpoint(), environment, &args.state);
    context
        .printer
        .result(&serving, |out| ui::sandbox::serving(out, &serving))?;
    wait_for_stop().await;
    sandbox.shutdown().await?;
    context
        .printer
        .info(&format!("state saved to `{}`", args.state.display()));
    Ok(Outcome::Success)
}

/// Starts the in-process emulator of `--sandbox`, with its state in `state_file`.
pub async fn start_in_process(state_file: &Path) -> anyhow::Result<Sandbox> {
    ensure_parent(state_file)?;
    // What the command changes is saved when it ends: a file that cannot take it is refused now.
    State::check_writable(state_file)?;
    let options = SandboxOptions {
        state_file: Some(state_file.to_path_buf()),
        ..SandboxOptions::default()
    };
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    Sandbox::start_with_options(loopback, options)
        .await
        .with_context(|| {
            format!(
                "could not start the built-in emulator with state `{}`",
                state_file.display()
            )
        })
}

fn ensure_parent(path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("could not create `{}`", parent.display()))?;
    }
    Ok(())
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
