//! Several rollouts at once: `plan|apply|status DIR` runs the command for every plan file
//! (`*.toml`) of the directory, in name order, each with its own journal and lock, and gives one
//! report: a heading per rollout for people, one JSON document listing every rollout's for
//! scripts. A rollout that fails does not stop the others; the exit code is the worst outcome.

use std::future::Future;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Serialize;

use super::{Context, Reported};
use crate::exit::Outcome;
use crate::ui::FORMAT_VERSION;

/// The plan files of a directory, sorted; refused when there is none.
pub fn plan_files(directory: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .with_context(|| format!("could not read the directory `{}`", directory.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "the directory `{}` holds no rollout plan (`*.toml`)",
            directory.display()
        );
    }
    Ok(files)
}

/// One rollout's part of the report.
#[derive(Debug, Serialize)]
struct RolloutReport {
    /// The plan file.
    plan: String,
    /// The command's own JSON document(s) for it.
    documents: Vec<serde_json::Value>,
    /// Why it failed, when it did.
    error: Option<String>,
}

/// The JSON document of a command run over a directory of plans.
#[derive(Debug, Serialize)]
struct RolloutsReport {
    format_version: u32,
    /// `rollouts`: what document this is (docs/schema/rollouts.schema.json).
    kind: &'static str,
    /// `plan`, `apply` or `status`.
    command: &'static str,
    /// The directory.
    directory: String,
    /// One entry per plan file, in name order.
    rollouts: Vec<RolloutReport>,
}

/// Runs `run` for every plan of `directory` and reports them together.
pub async fn for_each<F, Fut>(
    context: &Context,
    command: &'static str,
    directory: &Path,
    run: F,
) -> anyhow::Result<Outcome>
where
    F: Fn(Context, PathBuf) -> Fut,
    Fut: Future<Output = anyhow::Result<Outcome>>,
{
    let files = plan_files(directory)?;
    let mut reports = Vec::new();
    let mut worst = Outcome::Success;
    let mut failed = 0;
    for file in &files {
        context.printer.heading(&format!("{}", file.display()))?;
        let each = Context {
            printer: context.printer.collecting(),
            aws: context.aws.clone(),
            journal: context.journal.clone(),
        };
        let result = run(each.clone(), file.clone()).await;
        let mut report = RolloutReport {
            plan: file.display().to_string(),
            documents: each.printer.take_collected(),
            error: None,
        };
        match result {
            Ok(outcome) => worst = worse(worst, outcome),
            Err(error) => {
                failed += 1;
                if !error.is::<Reported>() {
                    let causes: Vec<String> =
                        error.chain().skip(1).map(ToString::to_string).collect();
                    crate::ui::error(
                        &context.printer.err_style,
                        &format!("{}: {error}", file.display()),
                        &causes,
                        crate::exit::hint(&error).as_deref(),
                    );
                }
                report.error = Some(format!("{error:#}"));
            }
        }
        reports.push(report);
    }
    context.printer.result(
        &RolloutsReport {
            format_version: FORMAT_VERSION,
            kind: "rollouts",
            command,
            directory: directory.display().to_string(),
            rollouts: reports,
        },
        |_| Ok(()),
    )?;
    if failed > 0 {
        bail!(
            "{failed} of {} rollouts in `{}` failed (each said why above)",
            files.len(),
            directory.display()
        );
    }
    Ok(worst)
}

/// The outcome that says more: a failed change over pending changes over success.
fn worse(one: Outcome, other: Outcome) -> Outcome {
    let rank = |outcome: &Outcome| match outcome {
        Outcome::Success => 0,
        Outcome::ChangesPending => 1,
        Outcome::PartialFailure => 2,
    };
    if rank(&other) > rank(&one) {
        other
    } else {
        one
    }
}
