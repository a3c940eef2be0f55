//! The `entitle` binary: parse the command line, run it, exit with the contract's code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    entitle::main_with(entitle::cli::Cli::parse())
}
