//! The typed confirmation a command asks before it changes anything (`apply`, `activate`,
//! `cleanup`, `doctor --fix`, `use-case submit`): the question on stderr, one line of answer on
//! stdin, and only the exact word it names goes on. Without a terminal it refuses (the commands'
//! `--auto-approve` is the way round it), so a script never blocks on a question nobody sees.

use std::io::IsTerminal;

use anyhow::bail;

use super::NoTerminal;
use crate::ui;

/// What a command is about to change, for the refusal without a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {
    /// Grants (`apply`, `activate`, `cleanup`): the refusal is [`NoTerminal`].
    Grants,
    /// Anything else, said as a verb phrase (`change the organisation's prerequisites`).
    Other(&'static str),
}

/// A change other than grants refused without a terminal to ask on.
#[derive(Debug, thiserror::Error)]
#[error("refusing to {what} without confirmation: there is no terminal to ask on")]
pub struct NoTerminalFor {
    /// What would have been changed.
    pub what: &'static str,
}

/// Asks `question` on the terminal and goes on only when the answer, trimmed, is `expected`;
/// otherwise fails with `cancelled` (which should say that nothing was changed). Without a
/// terminal on stdin it refuses before asking.
pub fn typed(
    changes: Changes,
    question: &str,
    expected: &str,
    cancelled: &str,
) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(match changes {
            Changes::Grants => NoTerminal.into(),
            Changes::Other(what) => NoTerminalFor { what }.into(),
        });
    }
    if !answers(&ui::ask(question)?, expected) {
        bail!("{cancelled}");
    }
    Ok(())
}

/// Whether a typed answer is the one asked for (surrounding blanks and the newline aside).
fn answers(answer: &str, expected: &str) -> bool {
    answer.trim() == expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_word_goes_on() {
        assert!(answers("yes\n", "yes"));
        assert!(answers("  o-abc123  \r\n", "o-abc123"));
        assert!(!answers("y\n", "yes"));
        assert!(!answers("YES\n", "yes"));
        assert!(!answers("\n", "yes"));
    }

    #[test]
    fn the_refusal_names_what_would_have_changed() {
        let refused = NoTerminalFor {
            what: "submit the use-case form",
        };
        assert_eq!(
            refused.to_string(),
            "refusing to submit the use-case form without confirmation: there is no terminal to ask on"
        );
    }
}
