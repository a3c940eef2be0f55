//! Progress on stderr: an indicatif spinner on a terminal, nothing otherwise.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::apply::executor::{ApplyEvents, ChangeResult, Outcome};
use crate::aws::organizations::DiscoverProgress;
use crate::planner::Change;
use crate::ui::Printer;

/// A spinner that counts what discovery has read so far.
#[derive(Debug)]
pub struct DiscoverSpinner {
    bar: Option<ProgressBar>,
}

impl DiscoverSpinner {
    /// Draws a spinner when `enabled` (a terminal, progress not turned off).
    pub fn new(enabled: bool) -> Self {
        let bar = enabled.then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} discovering the organisation: {msg} ({elapsed})",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self { bar }
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl DiscoverProgress for DiscoverSpinner {
    fn found(&self, units: usize, accounts: usize, tagged: usize) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{units} OUs, {accounts} accounts, {tagged} tagged"));
        }
    }
}

impl Drop for DiscoverSpinner {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A bar style from `template`, whose `{rate}` is items per second to one decimal (`1.4/s`;
/// indicatif's own `{per_sec}` prints four).
pub fn counting_style(template: &str) -> Option<ProgressStyle> {
    ProgressStyle::with_template(template).ok().map(|style| {
        style.with_key(
            "rate",
            |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{}", rate(state.per_sec()));
            },
        )
    })
}

/// Items per second, to one decimal: `1.4/s`.
pub fn rate(per_second: f64) -> String {
    format!("{per_second:.1}/s")
}

/// Progress of an apply: a bar on a terminal (the phase at work, changes done of all, rate, ETA,
/// and done / failed counts per phase); otherwise (a CI log) a line of counts at every tenth of
/// the changes, naming no change: the result on stdout lists each change once.
#[derive(Debug)]
pub struct ApplyProgress {
    bar: Option<ProgressBar>,
    lines: bool,
    total: usize,
    /// (done, failed) per phase, in the order phases first report.
    counts: std::sync::Mutex<Vec<(String, usize, usize)>>,
    /// Finished changes by outcome, for the lines.
    ended: std::sync::Mutex<std::collections::BTreeMap<&'static str, usize>>,
}

impl ApplyProgress {
    /// A bar over `total` changes when the printer allows progress; plain lines on stderr when
    /// it does not (unless `-q`).
    pub fn new(printer: &Printer, total: usize) -> Self {
        let bar = printer.progress.then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Some(style) = counting_style(
                "{prefix:>12} {bar:30} {pos}/{len} changes ({rate}, eta {eta}) {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Self {
            lines: bar.is_none() && printer.chatty,
            bar,
            total,
            counts: std::sync::Mutex::new(Vec::new()),
            ended: std::sync::Mutex::default(),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl ApplyEvents for ApplyProgress {
    fn started(&self, change: &Change) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(change.phase.clone());
        }
    }

    fn finished(&self, result: &ChangeResult) {
        let word = match &result.outcome {
            Outcome::Done { .. } => "done",
            Outcome::Waiting { .. } => "waiting",
            Outcome::Failed { .. } => "failed",
            Outcome::Skipped { .. } => "skipped",
        };
        if let Some(bar) = &self.bar {
            if matches!(result.outcome, Outcome::Skipped { .. }) {
                return;
            }
            let mut counts = self
                .counts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let phase = &result.change.phase;
            let index = match counts.iter().position(|(name, _, _)| name == phase) {
                Some(index) => index,
                None => {
                    counts.push((phase.clone(), 0, 0));
                    counts.len() - 1
                }
            };
            if word == "failed" {
                counts[index].2 += 1;
            } else {
                counts[index].1 += 1;
            }
            let summary: Vec<String> = counts
                .iter()
                .map(|(name, done, failed)| format!("{name}: {done} done, {failed} failed"))
                .collect();
            bar.set_message(summary.join("; "));
            bar.inc(1);
        } else if self.lines {
            let mut ended = self
                .ended
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *ended.entry(word).or_default() += 1;
            let finished: usize = ended.values().sum();
            let step = self.total.div_ceil(10).max(1);
            if finished.is_multiple_of(step) || finished == self.total {
                let count = |word: &str| ended.get(word).copied().unwrap_or(0);
                eprintln!(
                    "progress: {finished}/{} changes ({} done, {} failed, {} waiting, {} skipped)",
                    self.total,
                    count("done"),
                    count("failed"),
                    count("waiting"),
                    count("skipped")
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_has_one_decimal() {
        assert_eq!(rate(1.359_6), "1.4/s");
        assert_eq!(rate(20.0), "20.0/s");
        assert!(counting_style("{pos} ({rate})").is_some());
    }
}
