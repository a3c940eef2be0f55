//! Ctrl-C (SIGINT) and SIGTERM while a command changes grants. While a run carries out changes
//! (it holds a [`Guard`]), the first signal asks it to stop: no new call starts, the calls in
//! flight get a few seconds to come back, the journal records an `interrupted` line, and the
//! command reports what was done and exits 130 (SIGINT) or 143 (SIGTERM). Outside a guarded run
//! (reading, planning, asking for confirmation: nothing changed yet), and on a second signal, the
//! process exits at once with that code, after the journal's line being written (if any) is
//! complete (so the journal is never left with a torn line by a signal) and the S3 locks it holds
//! are released (so the next run is not refused until `force-unlock`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::watch;

/// A signal that stops a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Signal {
    /// Ctrl-C.
    #[serde(rename = "SIGINT")]
    Interrupt,
    /// `kill`, a CI runner cancelling a job, a container stopping.
    #[serde(rename = "SIGTERM")]
    Terminate,
}

impl Signal {
    /// `SIGINT` or `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
        }
    }

    /// The exit code of a command it stopped: 128 + the signal's number.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Interrupt => 130,
            Self::Terminate => 143,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A run stopped by a signal: the error a command returns after it reported what was done.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("interrupted by {signal}: the run stopped before it finished")]
pub struct Interrupted {
    /// The signal.
    pub signal: Signal,
}

impl Interrupted {
    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        "run the same command again: it plans from what AWS shows now, and repeated calls reuse their client tokens, so nothing is made twice"
    }
}

/// Whether a signal came, and a way to wait for one. Clones share one state; the default one
/// never fires (library callers, tests, benchmarks).
#[derive(Debug, Clone)]
pub struct Interrupt {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    received: watch::Sender<Option<Signal>>,
    guards: AtomicUsize,
    /// Whether a signal ends the process at once when no run is guarded (the process's own
    /// interrupt); a test's interrupt only records it.
    exits: bool,
}

impl Default for Interrupt {
    fn default() -> Self {
        Self::detached()
    }
}

impl Interrupt {
    /// An interrupt that only fires through [`Interrupt::deliver`] (tests).
    pub fn detached() -> Self {
        Self {
            inner: Arc::new(Inner {
                received: watch::Sender::new(None),
                guards: AtomicUsize::new(0),
                exits: false,
            }),
        }
    }

    /// The process's interrupt: from the first call on, SIGINT and SIGTERM are caught (inside a
    /// tokio runtime). Before it, they end the process as usual.
    pub fn process() -> Self {
        PROCESS
            .get_or_init(|| {
                let interrupt = Self {
                    inner: Arc::new(Inner {
                        received: watch::Sender::new(None),
                        guards: AtomicUsize::new(0),
                        exits: true,
                    }),
                };
                interrupt.listen();
                interrupt
            })
            .clone()
    }

    /// The signal the process's interrupt received, if it was ever set up and a signal came.
    pub fn received_by_process() -> Option<Signal> {
        PROCESS.get().and_then(Interrupt::received)
    }

    fn listen(&self) {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut interrupts), Ok(mut terminates)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            tracing::warn!("could not listen for SIGINT and SIGTERM; they end the run at once");
            return;
        };
        let interrupt = self.clone();
        tokio::spawn(async move {
            loop {
                let signal = tokio::select! {
                    _ = interrupts.recv() => Signal::Interrupt,
                    _ = terminates.recv() => Signal::Terminate,
                };
                interrupt.deliver(signal);
            }
        });
    }

    /// A signal came: a guarded run is asked to stop; without one, or on a second signal, the
    /// process exits at once (the process's interrupt only).
    pub fn deliver(&self, signal: Signal) {
        let guarded = self.inner.guards.load(Ordering::SeqCst) > 0;
        let again = self.received().is_some();
        if self.inner.exits && (!guarded || again) {
            exit_now(signal, guarded);
        }
        let first = self.inner.received.send_if_modified(|received| {
            if received.is_none() {
                *received = Some(signal);
                true
            } else {
                false
            }
        });
        if first && self.inner.exits {
            crate::ui::apply::stopping(signal.name());
        }
    }

    /// The first signal received, if any.
    pub fn received(&self) -> Option<Signal> {
        *self.inner.received.borrow()
    }

    /// Waits for a signal (at once when one came already).
    pub async fn wait(&self) -> Signal {
        let mut receiver = self.inner.received.subscribe();
        loop {
            if let Some(signal) = *receiver.borrow_and_update() {
                return signal;
            }
            // The sender lives as long as `self`: `changed` cannot fail while we wait.
            if receiver.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Marks a run as carrying out changes until the guard is dropped: meanwhile a first signal
    /// asks it to stop instead of ending the process.
    pub fn guard(&self) -> Guard {
        self.inner.guards.fetch_add(1, Ordering::SeqCst);
        Guard {
            interrupt: self.clone(),
        }
    }
}

/// The process's interrupt, once [`Interrupt::process`] set it up.
static PROCESS: OnceLock<Interrupt> = OnceLock::new();

/// A run carrying out changes; see [`Interrupt::guard`].
#[derive(Debug)]
pub struct Guard {
    interrupt: Interrupt,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.interrupt.inner.guards.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Ends the process with the signal's code: after the journal line being written, if any, so
/// that no line is torn, and with one line for the person who pressed Ctrl-C.
fn exit_now(signal: Signal, during_run: bool) -> ! {
    crate::apply::journal::hold_writes();
    // A lock left in S3 would refuse the next run until `force-unlock`.
    crate::apply::journal_store::release_held_at_exit(std::time::Duration::from_secs(5));
    crate::ui::apply::exiting_at_once(signal.name(), during_run);
    std::process::exit(i32::from(signal.exit_code()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_detached_interrupt_records_the_first_signal_and_wakes_waiters() {
        let interrupt = Interrupt::detached();
        assert_eq!(interrupt.received(), None);
        let waiter = tokio::spawn({
            let interrupt = interrupt.clone();
            async move { interrupt.wait().await }
        });
        let guard = interrupt.guard();
        interrupt.deliver(Signal::Terminate);
        interrupt.deliver(Signal::Interrupt);
        assert_eq!(waiter.await.ok(), Some(Signal::Terminate));
        assert_eq!(interrupt.received(), Some(Signal::Terminate));
        assert_eq!(interrupt.wait().await, Signal::Terminate);
        drop(guard);
        assert_eq!(Signal::Interrupt.exit_code(), 130);
        assert_eq!(Signal::Terminate.exit_code(), 143);
    }
}
