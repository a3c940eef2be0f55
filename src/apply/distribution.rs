//! Waiting for new account grants to finish distributing: one ListDistributedGrants read of the
//! license's DISABLED grants (distributed, auto-accepted, not yet active: ready to activate) tells
//! every waiting activation at once, instead of a GetGrant per grant.
//!
//! Waiters take turns at reading: whoever finds no read under way makes the next one (no earlier
//! than [`POLL_INTERVAL`] after the last), and every waiter looks for its grant in the answer. A
//! grant not seen within the patience given falls back to the caller's own reads (GetGrant): it
//! may have landed elsewhere (PENDING_ACCEPT where grants are not auto-accepted, FAILED_WORKFLOW,
//! or ACTIVE already). When fallbacks keep happening and no grant was ever seen, the organisation
//! does not land grants in DISABLED, and waiting is switched off for the rest of the run.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::aws::AwsError;
use crate::aws::grants::Written;

/// The shortest time between two reads.
pub const POLL_INTERVAL: Duration = Duration::from_millis(400);

/// Fallbacks, with not one grant seen, after which waiting is switched off.
const FUTILE_FALLBACKS: u32 = 3;

/// The grants seen ready, shared by the activations of one run.
#[derive(Debug)]
pub struct Distribution {
    ready: Mutex<HashMap<String, Written>>,
    /// Held by the waiter making the next read.
    reading: tokio::sync::Mutex<Option<Instant>>,
    read_done: Notify,
    seen: AtomicBool,
    fallbacks: AtomicU32,
    switched_off: AtomicBool,
}

impl Default for Distribution {
    fn default() -> Self {
        Self {
            ready: Mutex::new(HashMap::new()),
            reading: tokio::sync::Mutex::new(None),
            read_done: Notify::new(),
            seen: AtomicBool::new(false),
            fallbacks: AtomicU32::new(0),
            switched_off: AtomicBool::new(false),
        }
    }
}

impl Distribution {
    /// Waits until `grant_arn` is seen ready (its status and version as read), or `patience`
    /// runs out (`None`: the caller reads the grant itself). `read` lists the license's ready
    /// grants; its errors end the wait like an exhausted patience.
    pub async fn wait<F, Fut>(
        &self,
        grant_arn: &str,
        patience: Duration,
        read: F,
    ) -> Option<Written>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Vec<Written>, AwsError>>,
    {
        let deadline = Instant::now() + patience;
        loop {
            if self.switched_off.load(Ordering::Relaxed) {
                return None;
            }
            let read_done = self.read_done.notified();
            tokio::pin!(read_done);
            read_done.as_mut().enable();
            if let Some(grant) = self.take(grant_arn) {
                return Some(grant);
            }
            if Instant::now() >= deadline {
                self.fell_back();
                return None;
            }
            match self.reading.try_lock() {
                Ok(mut last_read) => {
                    let due = last_read.map_or_else(Instant::now, |at| at + POLL_INTERVAL);
                    tokio::time::sleep_until(due.min(deadline)).await;
                    *last_read = Some(Instant::now());
                    let answer = read().await;
                    drop(last_read);
                    match answer {
                        Ok(grants) => self.note(grants),
                        Err(error) => {
                            tracing::debug!(%error, "could not list the grants ready to activate");
                            self.read_done.notify_waiters();
                            self.fell_back();
                            return None;
                        }
                    }
                    self.read_done.notify_waiters();
                }
                Err(_) => {
                    tokio::select! {
                        () = &mut read_done => {}
                        () = tokio::time::sleep_until(deadline) => {}
                    }
                }
            }
        }
    }

    fn note(&self, grants: Vec<Written>) {
        let mut ready = self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        for grant in grants {
            ready.insert(grant.grant_arn.clone(), grant);
        }
    }

    fn take(&self, grant_arn: &str) -> Option<Written> {
        let found = self
            .ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(grant_arn);
        if found.is_some() {
            self.seen.store(true, Ordering::Relaxed);
        }
        found
    }

    fn fell_back(&self) {
        let fallbacks = self.fallbacks.fetch_add(1, Ordering::Relaxed) + 1;
        if fallbacks >= FUTILE_FALLBACKS
            && !self.seen.load(Ordering::Relaxed)
            && !self.switched_off.swap(true, Ordering::Relaxed)
        {
            tracing::info!(
                "new grants do not show up as DISABLED here: waiting for each with GetGrant"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::model::grant::GrantStatus;

    fn written(arn: &str) -> Written {
        Written {
            grant_arn: arn.to_owned(),
            status: GrantStatus::Disabled,
            version: "1".to_owned(),
            status_reason: None,
            request_id: None,
        }
    }

    #[tokio::test]
    async fn one_read_serves_every_waiter() {
        let distribution = Arc::new(Distribution::default());
        let reads = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..10)
            .map(|index| {
                let (distribution, reads) = (distribution.clone(), reads.clone());
                tokio::spawn(async move {
                    let arn = format!("g-{index}");
                    distribution
                        .wait(&arn, Duration::from_secs(10), || {
                            let reads = reads.clone();
                            async move {
                                reads.fetch_add(1, Ordering::Relaxed);
                                Ok((0..10).map(|i| written(&format!("g-{i}"))).collect())
                            }
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            let found = task.await.unwrap();
            assert_eq!(found.map(|grant| grant.version), Some("1".to_owned()));
        }
        assert_eq!(reads.load(Ordering::Relaxed), 1);
    }

    // Tokio's clock is paused in the tests that measure time: it moves only when every task
    // waits, by exactly what they wait for, so the bounds below are exact and never race.
    #[tokio::test(start_paused = true)]
    async fn reads_are_spaced_and_a_grant_never_seen_falls_back() {
        let distribution = Distribution::default();
        let reads = AtomicUsize::new(0);
        let started = Instant::now();
        let found = distribution
            .wait("g-missing", Duration::from_secs(1), || {
                reads.fetch_add(1, Ordering::Relaxed);
                async { Ok(vec![written("g-other")]) }
            })
            .await;
        assert_eq!(found, None);
        // One read at once, then one per interval (0.4 s, 0.8 s), and a last one when the
        // patience runs out (1 s): then it gives up, not a moment later.
        assert_eq!(reads.load(Ordering::Relaxed), 4);
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_switches_off_when_no_grant_is_ever_seen() {
        let distribution = Distribution::default();
        for _ in 0..FUTILE_FALLBACKS {
            let found = distribution
                .wait("g-x", Duration::from_millis(500), || async {
                    Ok(Vec::new())
                })
                .await;
            assert_eq!(found, None);
        }
        let reads = AtomicUsize::new(0);
        let started = Instant::now();
        let found = distribution
            .wait("g-y", Duration::from_secs(5), || {
                reads.fetch_add(1, Ordering::Relaxed);
                async { Ok(vec![written("g-y")]) }
            })
            .await;
        assert_eq!(found, None);
        assert_eq!(reads.load(Ordering::Relaxed), 0);
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
