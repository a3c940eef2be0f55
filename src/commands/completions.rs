//! `entitle completions <shell>`: prints a completion script generated from the clap definitions.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::Outcome;

/// Prints the script for the chosen shell.
pub fn run(args: &CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut command = Cli::command();
    crate::ui::raw(|out| {
        clap_complete::generate(args.shell, &mut command, "entitle", out);
        Ok(())
    })?;
    Ok(Outcome::Success)
}
