//! Everything the tool writes for people or scripts: results on stdout, progress and problems on stderr.
//!
//! This is the only module that prints. Logic hands it values (results, events, errors) and it
//! decides how they look: human text with optional colour, or versioned JSON.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod apply;
pub mod cleanup;
pub mod discover;
pub mod doctor;
pub mod guardrails;
pub mod lock;
pub mod models;
pub mod plan;
pub mod progress;
pub mod sandbox;
pub mod status;
pub mod style;
pub mod usage;
pub mod use_case;
pub mod verify;

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use crate::cli::{ColorChoice, GlobalArgs, OutputFormat};
pub use style::Style;

/// The version of every JSON document entitle writes; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// How and where output goes, decided once from the global flags and the environment.
#[derive(Debug, Clone)]
pub struct Printer {
    /// Human text or JSON on stdout.
    pub format: OutputFormat,
    /// Colours for stdout.
    pub style: Style,
    /// Colours for stderr.
    pub err_style: Style,
    /// Whether progress may be drawn on stderr.
    pub progress: bool,
    /// Whether warnings and notes are shown (not under `-q`).
    pub chatty: bool,
    /// `-v` count.
    pub verbose: u8,
    /// Where JSON results go instead of stdout while several rollouts are reported as one
    /// document (`plan|apply|status DIR`).
    pub collected: Option<std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>>,
}

impl Printer {
    /// Decides colours and progress from the flags, `NO_COLOR`, `TERM` and whether the streams
    /// are terminals.
    pub fn new(global: &GlobalArgs) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|term| term == "dumb");
        let colour = |terminal: bool| match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color && !dumb,
        };
        let stderr_terminal = io::stderr().is_terminal();
        Self {
            format: global.output,
            style: Style::new(colour(io::stdout().is_terminal())),
            err_style: Style::new(colour(stderr_terminal)),
            progress: stderr_terminal && !global.no_progress && !global.quiet && !dumb,
            chatty: !global.quiet,
            verbose: global.verbose,
            collected: None,
        }
    }

    /// A printer that keeps its JSON results for one report (human text goes out as usual).
    pub fn collecting(&self) -> Self {
        Self {
            collected: Some(std::sync::Arc::default()),
            ..self.clone()
        }
    }

    /// The JSON results kept by a [`Printer::collecting`] printer.
    pub fn take_collected(&self) -> Vec<serde_json::Value> {
        self.collected
            .as_ref()
            .map(|kept| {
                std::mem::take(
                    &mut *kept
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                )
            })
            .unwrap_or_default()
    }

    /// A heading on stdout for people (nothing in JSON).
    pub fn heading(&self, text: &str) -> io::Result<()> {
        if self.format == OutputFormat::Human {
            let mut out = io::stdout().lock();
            writeln!(out, "{}", self.style.bold(format!("== {text}")))?;
            out.flush()?;
        }
        Ok(())
    }

    /// Writes a result: `human` renders it for people, or it is serialised as JSON.
    pub fn result<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        match self.format {
            OutputFormat::Human => human(&mut out)?,
            OutputFormat::Json => {
                if let Some(kept) = &self.collected {
                    let value = serde_json::to_value(value).map_err(io::Error::other)?;
                    kept.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(value);
                    return Ok(());
                }
                serde_json::to_writer_pretty(&mut out, value).map_err(io::Error::other)?;
                writeln!(out)?;
            }
        }
        out.flush()
    }

    /// A warning on stderr (hidden by `-q`).
    pub fn warn(&self, message: &str, hint: Option<&str>) {
        if !self.chatty {
            return;
        }
        let style = &self.err_style;
        eprintln!("{} {message}", style.warning("warning:"));
        if let Some(hint) = hint {
            eprintln!("  {} {hint}", style.hint("hint:"));
        }
    }

    /// Plan-file problems on stderr, each with its location and hint (even under `-q`).
    pub fn diagnostics(&self, errors: &crate::model::plan::PlanFileErrors) {
        let _ = plan::render_diagnostics(errors, &self.err_style, &mut io::stderr().lock());
    }

    /// Something a person should know that is neither a warning nor an error, on stderr (not
    /// under `-q`).
    pub fn notice(&self, message: &str) {
        if self.chatty {
            eprintln!("{} {message}", self.err_style.hint("note:"));
        }
    }

    /// Says something only with `-v`.
    pub fn info(&self, message: &str) {
        if self.chatty && self.verbose > 0 {
            eprintln!("{message}");
        }
    }
}

/// The one spelling of a time in every document: RFC 3339, UTC, to the second
/// (`2026-11-23T22:47:47Z`), from seconds since the epoch.
pub fn timestamp(seconds: i64) -> String {
    let time =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
    humantime::format_rfc3339_seconds(time).to_string()
}

/// A time the journal or a lock recorded (RFC 3339, to the millisecond) in the spelling of every
/// document ([`timestamp`]); text that is not such a time is kept as it is.
pub fn timestamp_of(recorded: &str) -> String {
    humantime::parse_rfc3339_weak(recorded).map_or_else(
        |_| recorded.to_owned(),
        |time| humantime::format_rfc3339_seconds(time).to_string(),
    )
}

/// A count with its noun, singular or plural: `1 account`, `2 accounts`.
pub fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Prints an error and its hint on stderr: the last thing a failed command says.
pub fn error(style: &Style, message: &str, causes: &[String], hint: Option<&str>) {
    eprintln!("{} {message}", style.error("error:"));
    for cause in causes {
        eprintln!("  {} {cause}", style.dim("caused by:"));
    }
    if let Some(hint) = hint {
        eprintln!("  {} {hint}", style.hint("hint:"));
    }
}

/// Asks a question on stderr and reads one line of the answer from stdin.
pub fn ask(question: &str) -> io::Result<String> {
    eprint!("{question}");
    io::stderr().flush()?;
    let mut answer = String::new();
    io::stdin().read_line(&mut answer)?;
    Ok(answer)
}

/// Writes text to stdout as it is (completion scripts).
pub fn raw(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    write(&mut out)?;
    out.flush()
}
