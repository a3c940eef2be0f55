//! One module per subcommand: glue between the command line, the core and the printer.

mod activate;
mod apply;
mod cleanup;
mod completions;
mod confirm;
mod discover;
mod doctor;
mod force_unlock;
mod guardrails;
mod iam_policy;
mod models;
mod observe;
mod plan;
mod rollout_journal;
mod rollouts;
mod run_log;
mod sandbox;
mod status;
mod usage;
mod use_case;
mod verify;

pub use apply::{GateClosed, SavedPlanAltered};
pub use confirm::NoTerminalFor;
pub use usage::UsageFlagged;
pub use verify::VerifyFailed;

use crate::apply::journal_store::{check_sandbox_journal, lock_state_file};
use crate::aws::{AwsClients, AwsSettings};
use crate::cli::{ApplyArgs, Cli, Command, PlanArgs, StatusArgs};
use crate::exit::Outcome;
use crate::ui::Printer;

/// An error already reported in full (plan-file diagnostics): exit 1 without another message.
#[derive(Debug, thiserror::Error)]
#[error("the problems above stop the command")]
pub struct Reported;

/// A command that changes grants was run without `--auto-approve` and without a terminal to ask on.
#[derive(Debug, thiserror::Error)]
#[error("refusing to change grants without confirmation: there is no terminal to ask on")]
pub struct NoTerminal;

/// What every command gets: how to print, and how to reach AWS.
#[derive(Debug, Clone)]
pub struct Context {
    /// Output decisions.
    pub printer: Printer,
    /// AWS settings from the global flags.
    pub aws: AwsSettings,
    /// `--journal` (or `ENTITLE_JOURNAL`): where the journals live, when given.
    pub journal: Option<String>,
}

impl Context {
    /// The AWS clients, built from the settings.
    pub async fn clients(&self) -> AwsClients {
        AwsClients::load(&self.aws).await
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let printer = Printer::new(&cli.global);
    let mut aws = AwsSettings {
        profile: cli.global.profile.clone(),
        ..AwsSettings::default()
    };
    // `--sandbox` starts the emulator for this one command; `entitle sandbox ...` manages its own.
    // The emulator saves its whole state when the command ends, so the state file is locked for
    // the command: a second command on it waits a few seconds, then refuses naming the first.
    let mut state_lock = None;
    let emulator = match &cli.global.sandbox {
        Some(state_file)
            if !matches!(
                cli.command,
                Command::Sandbox(_) | Command::Completions(_) | Command::Models
            ) =>
        {
            check_sandbox_journal(cli.global.journal.as_deref())?;
            state_lock = Some(
                lock_state_file(state_file, command_name(&cli.command), STATE_LOCK_WAIT).await?,
            );
            let emulator = sandbox::start_in_process(state_file).await?;
            aws.fixed_endpoint = Some(emulator.endpoint());
            Some(emulator)
        }
        _ => None,
    };
    let context = Context {
        printer,
        aws,
        journal: cli.global.journal.clone(),
    };
    // Admin actions change the state file the global `--sandbox=STATE_FILE` names.
    let command = match cli.command {
        Command::Sandbox(sandbox) => {
            Command::Sandbox(sandbox.with_global_state(cli.global.sandbox.as_deref()))
        }
        command => command,
    };
    let result = dispatch(&context, command).await;
    if let Some(emulator) = emulator {
        // The state is saved even when the command failed: what it changed did happen.
        let saved = emulator.shutdown().await;
        if result.is_ok() {
            saved.map_err(|error| {
                anyhow::Error::new(error).context("could not save the sandbox state")
            })?;
        }
    }
    if let Some(lock) = state_lock {
        // Released by the OS at exit anyway; an error here changes nothing that was saved.
        let _ = lock.release();
    }
    result
}

/// How long a command waits for another one using the same `--sandbox` state file.
const STATE_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The command's name, for whoever finds the sandbox state locked by it.
fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Discover(_) => "discover",
        Command::Plan(_) => "plan",
        Command::Apply(_) => "apply",
        Command::Status(_) => "status",
        Command::Usage(_) => "usage",
        Command::Verify(_) => "verify",
        Command::Models => "models",
        Command::Activate(_) => "activate",
        Command::Cleanup(_) => "cleanup",
        Command::ForceUnlock(_) => "force-unlock",
        Command::Doctor(_) => "doctor",
        Command::UseCase(_) => "use-case",
        Command::IamPolicy(_) => "iam-policy",
        Command::Guardrails(_) => "guardrails",
        Command::Sandbox(_) => "sandbox",
        Command::Completions(_) => "completions",
    }
}

async fn dispatch(context: &Context, command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Discover(args) => discover::run(context, &args).await,
        Command::Completions(args) => completions::run(&args),
        Command::Sandbox(command) => sandbox::run(context, &command).await,
        Command::Plan(args) if args.plan.is_dir() => {
            if args.out.is_some() {
                return Err(crate::exit::UsageError {
                    message: "`--out` saves one rollout's plan, and a directory was given"
                        .to_owned(),
                    hint: "give one plan file with `--out`, or drop `--out` to plan the directory"
                        .to_owned(),
                }
                .into());
            }
            rollouts::for_each(context, "plan", &args.plan.clone(), |each, file| {
                let args = PlanArgs {
                    plan: file,
                    ..args.clone()
                };
                async move { plan::run(&each, &args).await }
            })
            .await
        }
        Command::Apply(args) if args.plan.is_dir() => {
            rollouts::for_each(context, "apply", &args.plan.clone(), |each, file| {
                let args = ApplyArgs {
                    plan: file,
                    ..args.clone()
                };
                async move { apply::run(&each, &args).await }
            })
            .await
        }
        Command::Status(args) if args.plan.is_dir() => {
            if args.watch {
                return Err(crate::exit::UsageError {
                    message: "`--watch` follows one rollout, and a directory was given".to_owned(),
                    hint: "give one plan file with `--watch`, or drop `--watch` for one report of the directory"
                        .to_owned(),
                }
                .into());
            }
            rollouts::for_each(context, "status", &args.plan.clone(), |each, file| {
                let args = StatusArgs {
                    plan: file,
                    ..args.clone()
                };
                async move { status::run(&each, &args).await }
            })
            .await
        }
        Command::Plan(args) => plan::run(context, &args).await,
        Command::Apply(args) => apply::run(context, &args).await,
        Command::Status(args) => status::run(context, &args).await,
        Command::Usage(args) => usage::run(context, &args).await,
        Command::Verify(args) => verify::run(context, &args).await,
        Command::Models => models::run(context),
        Command::Activate(args) => activate::run(context, &args).await,
        Command::Cleanup(args) => cleanup::run(context, &args).await,
        Command::ForceUnlock(args) => force_unlock::run(context, &args).await,
        Command::Doctor(args) => doctor::run(context, &args).await,
        Command::UseCase(command) => use_case::run(context, &command).await,
        Command::Guardrails(args) => guardrails::run(context, &args).await,
        Command::IamPolicy(args) => iam_policy::run(context, &args),
    }
}
