//! Terminal colours: a few named roles, rendered as ANSI escapes or as plain text.

use std::fmt::Display;

/// Colours on or off, and the roles text can play.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// Colours when `enabled`.
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    /// Whether colours are on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn paint(&self, code: &str, text: impl Display) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Errors.
    pub fn error(&self, text: impl Display) -> String {
        self.paint("1;31", text)
    }

    /// Warnings.
    pub fn warning(&self, text: impl Display) -> String {
        self.paint("1;33", text)
    }

    /// Hints a person can act on.
    pub fn hint(&self, text: impl Display) -> String {
        self.paint("1;36", text)
    }

    /// Secondary detail.
    pub fn dim(&self, text: impl Display) -> String {
        self.paint("2", text)
    }

    /// Emphasis.
    pub fn bold(&self, text: impl Display) -> String {
        self.paint("1", text)
    }

    /// Good news (active, created).
    pub fn good(&self, text: impl Display) -> String {
        self.paint("32", text)
    }

    /// Bad news (suspended, failed).
    pub fn bad(&self, text: impl Display) -> String {
        self.paint("31", text)
    }
}
