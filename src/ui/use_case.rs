//! How `entitle use-case` looks: the form's fields as they will be (or were) submitted, the
//! problems of a form refused (stderr, each with its field and fix), or the versioned JSON
//! document (docs/schema/use-case.schema.json).

use std::io::{self, Write};

use serde::Serialize;

use super::{FORMAT_VERSION, Printer, Style};
use crate::cli::OutputFormat;
use crate::planner::use_case::{FormProblem, UseCaseForm};

/// The JSON document of `entitle use-case submit` and `entitle use-case show`.
#[derive(Debug, Serialize)]
pub struct UseCaseDocument<'a> {
    /// Bumped on incompatible changes.
    pub format_version: u32,
    /// Always `use-case`.
    pub kind: &'static str,
    /// `submit` or `show`.
    pub action: &'static str,
    /// The caller's account (the form is the account's).
    pub account: String,
    /// Whether a form was on file (for `submit`: before it).
    pub on_file: bool,
    /// Whether this run submitted the form.
    pub submitted: bool,
    /// The form's fields (`show`: the one on file, when it reads as a form).
    pub form: Option<&'a UseCaseForm>,
    /// `show`: the form on file as it is, when it does not read as one entitle would send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl<'a> UseCaseDocument<'a> {
    /// A document.
    pub fn new(
        action: &'static str,
        account: &str,
        form: Option<&'a UseCaseForm>,
        on_file: bool,
        submitted: bool,
    ) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            kind: "use-case",
            action,
            account: account.to_owned(),
            on_file,
            submitted,
            form,
            raw: None,
        }
    }

    /// With the form on file as it is.
    pub fn with_raw(mut self, raw: Option<String>) -> Self {
        self.raw = raw;
        self
    }
}

fn fields(form: &UseCaseForm, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    for (name, value) in form.fields() {
        writeln!(out, "  {:<20} {value}", style.bold(name))?;
    }
    Ok(())
}

/// Before submitting (people only): what will be sent, and for whom.
pub fn render_form(printer: &Printer, document: &UseCaseDocument<'_>) -> io::Result<()> {
    if printer.format != OutputFormat::Human {
        return Ok(());
    }
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "use-case form to submit for account `{}`{}:",
        document.account,
        if document.on_file {
            " (it replaces the one on file)"
        } else {
            ""
        }
    )?;
    if let Some(form) = document.form {
        fields(form, &printer.style, &mut out)?;
    }
    out.flush()
}

/// The result of `submit`, or the form `show` found.
pub fn render_human(
    document: &UseCaseDocument<'_>,
    style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    if document.submitted {
        writeln!(
            out,
            "{} the use-case form for account `{}` was submitted; `entitle doctor` checks it",
            style.good("done"),
            document.account
        )?;
        return Ok(());
    }
    match (document.on_file, document.form, &document.raw) {
        (false, _, _) => writeln!(
            out,
            "no use-case form is on file for account `{}`: submit one with `entitle use-case submit --form FILE`",
            document.account
        ),
        (true, Some(form), _) => {
            writeln!(
                out,
                "use-case form on file for account `{}`:",
                document.account
            )?;
            fields(form, style, out)
        }
        (true, None, raw) => writeln!(
            out,
            "a use-case form is on file for account `{}`: {}",
            document.account,
            raw.as_deref().unwrap_or_default()
        ),
    }
}

/// A refused form's problems on stderr (even under `-q`), each with its field and fix.
pub fn render_problems(style: &Style, file: &str, problems: &[FormProblem]) {
    for problem in problems {
        let field = problem
            .field
            .as_deref()
            .map(|field| format!(" `{field}`"))
            .unwrap_or_default();
        eprintln!(
            "{} {file}{field}: {}",
            style.error("error:"),
            problem.message
        );
        eprintln!("  {} {}", style.hint("fix:"), problem.fix);
    }
}
