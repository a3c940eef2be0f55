//! Progress on stderr: an indicatif spinner on a terminal, nothing otherwise.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::aws::organizations::DiscoverProgress;

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
