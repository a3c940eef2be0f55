//! entitle: roll an AWS Marketplace subscription out across an AWS Organization with License
//! Manager grants. The library holds everything; `main.rs` only parses and maps the exit code.

pub mod apply;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod exit;
pub mod interrupt;
pub mod limiter;
pub mod model;
pub mod planner;
pub mod sandbox;
pub mod ui;

use std::process::ExitCode;

/// Runs a parsed command line to its exit code, printing the error (and its hint) on failure.
pub fn main_with(cli: cli::Cli) -> ExitCode {
    let error_style = ui::Printer::new(&cli.global).err_style;
    init_logging(&cli.global, &error_style);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            ui::error(
                &error_style,
                &format!("could not start the async runtime: {error}"),
                &[],
                None,
            );
            return ExitCode::from(exit::code::FAILURE);
        }
    };
    let result = runtime.block_on(commands::run(cli));
    if let Err(error) = &result
        && !exit::is_broken_pipe(error)
        && !error.is::<commands::Reported>()
    {
        let causes: Vec<String> = error.chain().skip(1).map(ToString::to_string).collect();
        ui::error(
            &error_style,
            &error.to_string(),
            &causes,
            exit::hint(error).as_deref(),
        );
    }
    ExitCode::from(exit::exit_code(&result))
}

/// Logs go to stderr: warnings by default, more with `-v`, none but errors with `-q`;
/// `ENTITLE_LOG` (a tracing filter) overrides.
fn init_logging(global: &cli::GlobalArgs, style: &ui::Style) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        // Other crates' warnings (the SDK's) are noise for most users; -v shows them.
        (false, 0) => "entitle=warn,error",
        (false, 1) => "entitle=info,warn",
        (false, 2) => "entitle=debug,info",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ENTITLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(style.enabled())
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}
