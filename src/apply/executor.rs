//! Carrying out a plan: each change becomes the License Manager calls it needs, phase by phase,
//! with bounded concurrency, idempotent tokens, waiting out PENDING_WORKFLOW, and deletes that
//! re-read a stale version. Every call is paced by a per-operation adaptive rate limiter,
//! retried with backoff and jitter when throttled or transient, and every mutating call is
//! journalled before and after. Reports events; prints nothing.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::distribution::Distribution;
use super::journal::{Call, CallOutcome, Event, Journal};
use super::limiter::{LimiterConfig, RateLimiter};
use super::retry::{Decision, RetryPolicy, SystemRandom, decide};
use crate::aws::grants::{self, GrantVersion, NewGrant, Written};
use crate::aws::{AwsClients, AwsError, AwsErrorKind};
use crate::model::grant::{ActivationOverride, GrantStatus, account_of_principal_arn};
use crate::model::plan::Activation;
use crate::planner::{Action, Change, Plan};

/// How to carry out a plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Changes in flight at once.
    pub concurrency: usize,
    /// How long a new grant may stay in PENDING_WORKFLOW before activation gives up on it.
    pub workflow_timeout: Duration,
    /// How each operation's rate starts and adapts (one limiter per License Manager operation:
    /// AWS limits each operation apart).
    pub limiter: LimiterConfig,
    /// How persistent one call is.
    pub retry: RetryPolicy,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            concurrency: 32,
            workflow_timeout: Duration::from_secs(300),
            limiter: LimiterConfig::default(),
            // Throttles are expected (the limiter probes for the rate) and cost nothing but time;
            // ten attempts, 250 ms doubling to 20 s, ride out minutes of them.
            retry: RetryPolicy {
                max_attempts: 10,
                base_delay: Duration::from_millis(250),
                max_delay: Duration::from_secs(20),
            },
        }
    }
}

/// What the calls of a run added up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CallCounts {
    /// Attempts sent, reads included.
    pub calls: u64,
    /// Attempts the service throttled (each retried after the limiter slowed down).
    pub throttled: u64,
    /// Attempts that failed otherwise and were retried (5xx, dropped connections).
    pub retried: u64,
}

/// A finished run: every change's result and what the calls added up to.
#[derive(Debug, Clone)]
pub struct Execution {
    /// One result per attempted or skipped change, in the order they ended.
    pub results: Vec<ChangeResult>,
    /// Call counts.
    pub counts: CallCounts,
}

/// How one change ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Done: what was done, and the grant as it was left.
    Done {
        /// For people, e.g. "created and activated".
        what: String,
        /// The grant after the last call.
        grant: Written,
    },
    /// An AWS call failed (after the SDK's retries).
    Failed {
        /// What was being done.
        step: &'static str,
        /// The error.
        error: AwsError,
    },
    /// Not attempted, and why.
    Skipped {
        /// Why.
        why: String,
    },
}

/// One change and how it ended.
#[derive(Debug, Clone)]
pub struct ChangeResult {
    /// The change, as planned.
    pub change: Change,
    /// How it ended.
    pub outcome: Outcome,
}

/// Hears what the executor does, for progress and the journal.
pub trait ApplyEvents: Send + Sync {
    /// A change is about to be carried out.
    fn started(&self, change: &Change);
    /// A change ended.
    fn finished(&self, result: &ChangeResult);
}

/// Carries out every applicable change of `plan`: phase by phase (a phase's changes at once, up
/// to the concurrency), creates and updates before deletes within a phase.
pub async fn execute(
    clients: &AwsClients,
    plan: &Plan,
    options: &ApplyOptions,
    journal: Arc<Journal>,
    events: Arc<dyn ApplyEvents>,
) -> Execution {
    let semaphore = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let activating = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let pacing = Arc::new(Pacing::new(options, journal));
    let distribution = Arc::new(Distribution::default());
    let mut results = Vec::new();
    // (phase, whether --phase includes it, why its gate blocks it); deletes of grants of no
    // current phase (the `-` phase, or a phase removed from the plan) come last, as `None`.
    let mut groups: Vec<(Option<&str>, bool, Option<String>)> = plan
        .phases
        .iter()
        .map(|phase| {
            (
                Some(phase.name.as_str()),
                phase.included,
                phase.blocked.clone(),
            )
        })
        .collect();
    groups.push((None, true, None));
    if plan.destroy {
        // A teardown takes the broadest, latest access away first; the pilot keeps it longest.
        groups.reverse();
    }
    let in_group = |change: &Change, phase: Option<&str>| match phase {
        Some(name) => change.phase == name,
        None => !plan.phases.iter().any(|known| known.name == change.phase),
    };
    for (phase, included, blocked) in groups {
        for deleting in [false, true] {
            let mut tasks = JoinSet::new();
            let changes = plan.changes.iter().filter(|change| {
                in_group(change, phase) && (change.action == Action::Delete) == deleting
            });
            for change in changes {
                if change.action == Action::NoOp {
                    continue;
                }
                if change.blocked || !included || pacing.journal_broken() {
                    let why = if pacing.journal_broken() {
                        "the journal could not be written, so nothing more is changed".to_owned()
                    } else {
                        blocked
                            .clone()
                            .unwrap_or_else(|| "outside --phase".to_owned())
                    };
                    let result = ChangeResult {
                        change: change.clone(),
                        outcome: Outcome::Skipped { why },
                    };
                    events.finished(&result);
                    results.push(result);
                    continue;
                }
                let context = Step {
                    clients: clients.clone(),
                    rollout: plan.rollout.clone(),
                    license_arn: plan.license_arn.clone(),
                    activation: plan.activation,
                    activation_override: plan.activation_override.clone(),
                    workflow_timeout: options.workflow_timeout,
                    pacing: pacing.clone(),
                    distribution: distribution.clone(),
                    activating: activating.clone(),
                };
                let (change, semaphore, events) =
                    (change.clone(), semaphore.clone(), events.clone());
                tasks.spawn(async move {
                    let mut turn = Turn::take(semaphore).await;
                    if context.pacing.journal_broken() {
                        let result = ChangeResult {
                            change,
                            outcome: Outcome::Skipped {
                                why: "the journal could not be written, so nothing more is changed"
                                    .to_owned(),
                            },
                        };
                        events.finished(&result);
                        return result;
                    }
                    events.started(&change);
                    let outcome = context.carry_out(&change, &mut turn).await;
                    let result = ChangeResult { change, outcome };
                    events.finished(&result);
                    result
                });
            }
            while let Some(joined) = tasks.join_next().await {
                if let Ok(result) = joined {
                    results.push(result);
                }
            }
        }
    }
    Execution {
        results,
        counts: pacing.counts(),
    }
}

/// A change's turn among the `--concurrency` carried out at once. Changes waiting for their new
/// grant to distribute give their turn to the next change and take one among the
/// `--concurrency` activating instead: a turn of the same kind would queue them behind every
/// change not yet started.
struct Turn {
    permit: Option<OwnedSemaphorePermit>,
}

impl Turn {
    async fn take(semaphore: Arc<Semaphore>) -> Self {
        // The semaphores are never closed; without a permit the change simply goes on.
        let permit = semaphore.acquire_owned().await.ok();
        Self { permit }
    }

    /// Gives the turn up while `waiting` (no call of this change is under way), then takes one
    /// from `next`.
    async fn give_up_while<T>(
        &mut self,
        waiting: impl Future<Output = T>,
        next: &Arc<Semaphore>,
    ) -> T {
        self.permit = None;
        let answer = waiting.await;
        self.permit = next.clone().acquire_owned().await.ok();
        answer
    }
}

/// What every call of a run shares: the rate limiters, the retry policy, the journal, the counts.
struct Pacing {
    limiters: Mutex<BTreeMap<&'static str, Arc<RateLimiter>>>,
    limiter: LimiterConfig,
    retry: RetryPolicy,
    journal: Arc<Journal>,
    journal_failed: std::sync::atomic::AtomicBool,
    calls: AtomicU64,
    throttled: AtomicU64,
    retried: AtomicU64,
}

/// One call as the journal sees it; `None` for reads, which are not journalled.
struct CallSpec<'a> {
    operation: &'static str,
    change: &'a Change,
    client_token: Option<&'a str>,
    grant_arn: Option<&'a str>,
}

impl Pacing {
    fn new(options: &ApplyOptions, journal: Arc<Journal>) -> Self {
        Self {
            limiters: Mutex::new(BTreeMap::new()),
            limiter: options.limiter,
            retry: options.retry,
            journal,
            journal_failed: std::sync::atomic::AtomicBool::new(false),
            calls: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            retried: AtomicU64::new(0),
        }
    }

    fn counts(&self) -> CallCounts {
        CallCounts {
            calls: self.calls.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
        }
    }

    fn journal_broken(&self) -> bool {
        self.journal_failed.load(Ordering::Relaxed)
    }

    fn limiter(&self, operation: &'static str) -> Arc<RateLimiter> {
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        limiters
            .entry(operation)
            .or_insert_with(|| Arc::new(RateLimiter::new(self.limiter)))
            .clone()
    }

    fn record(&self, event: Event) {
        if let Err(error) = self.journal.record(event) {
            tracing::error!(journal = %self.journal.path().display(), %error, "could not write the journal");
            self.journal_failed.store(true, Ordering::Relaxed);
        }
    }

    /// Sends one call until it succeeds, fails for good, or needs a re-read (a stale version,
    /// returned as the error for the caller to handle): paced by the operation's limiter,
    /// retried with backoff and jitter, journalled before and after when `journalled` is given.
    async fn send<T, F, Fut>(
        &self,
        operation: &'static str,
        journalled: Option<CallSpec<'_>>,
        mut request: F,
    ) -> Result<T, AwsError>
    where
        T: Answer,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let limiter = self.limiter(operation);
        let mut random = SystemRandom::default();
        let mut attempt = 1;
        loop {
            let sent = limiter.acquire().await;
            let call = journalled.as_ref().map(|spec| Call {
                operation: spec.operation.to_owned(),
                phase: spec.change.phase.clone(),
                principal: spec.change.principal_arn.clone(),
                client_token: spec.client_token.map(str::to_owned),
                grant_arn: spec.grant_arn.map(str::to_owned),
                attempt,
            });
            if let Some(call) = &call {
                self.record(Event::CallStarted(call.clone()));
            }
            self.calls.fetch_add(1, Ordering::Relaxed);
            let result = request().await;
            let throttled = matches!(&result, Err(error) if error.kind == AwsErrorKind::Throttled);
            if throttled {
                limiter.on_throttle(sent);
                tracing::debug!(operation, rate = limiter.rate(), "throttled");
                self.throttled.fetch_add(1, Ordering::Relaxed);
            } else if result.is_ok() {
                limiter.on_success(sent);
            }
            if let Some(call) = call {
                self.record(finished(call, &result, throttled));
            }
            let error = match result {
                Ok(written) => return Ok(written),
                Err(error) => error,
            };
            match decide(&error, attempt, &self.retry, &mut random) {
                Decision::Retry { after } => {
                    if !throttled {
                        self.retried.fetch_add(1, Ordering::Relaxed);
                    }
                    tracing::debug!(operation, attempt, ?after, %error, "retrying");
                    tokio::time::sleep(after).await;
                    attempt += 1;
                }
                Decision::RereadAndRetry | Decision::GiveUp(_) => return Err(error),
            }
        }
    }
}

/// What the journal notes of a call's answer.
trait Answer {
    /// The request id, the grant's status and its version, where the answer has them.
    fn noted(&self) -> (Option<String>, Option<String>, Option<String>);
}

impl Answer for Written {
    fn noted(&self) -> (Option<String>, Option<String>, Option<String>) {
        (
            self.request_id.clone(),
            Some(self.status.as_str().to_owned()),
            Some(self.version.clone()),
        )
    }
}

impl Answer for Vec<Written> {
    fn noted(&self) -> (Option<String>, Option<String>, Option<String>) {
        (
            self.first().and_then(|grant| grant.request_id.clone()),
            None,
            None,
        )
    }
}

/// The journal line after a call.
fn finished<T: Answer>(call: Call, result: &Result<T, AwsError>, throttled: bool) -> Event {
    match result {
        Ok(answer) => {
            let (request_id, status, version) = answer.noted();
            Event::CallFinished {
                call,
                outcome: CallOutcome::Ok,
                request_id,
                status,
                version,
                error: None,
            }
        }
        Err(error) => Event::CallFinished {
            call,
            outcome: if throttled {
                CallOutcome::Throttled
            } else {
                CallOutcome::Failed
            },
            request_id: error.request_id.clone(),
            status: None,
            version: None,
            error: Some(error.to_string()),
        },
    }
}

/// How long after CreateGrant the first read of a grant still distributing waits.
const FIRST_WORKFLOW_READ: Duration = Duration::from_millis(250);

/// How long a new account grant is looked for among the license's ready grants before it is
/// read on its own.
const DISTRIBUTION_PATIENCE: Duration = Duration::from_secs(10);

/// What a change needs to know besides itself.
struct Step {
    clients: AwsClients,
    rollout: String,
    license_arn: String,
    activation: Activation,
    activation_override: ActivationOverride,
    workflow_timeout: Duration,
    pacing: Arc<Pacing>,
    distribution: Arc<Distribution>,
    /// The turns of changes activating after waiting for distribution.
    activating: Arc<Semaphore>,
}

impl Step {
    async fn carry_out(&self, change: &Change, turn: &mut Turn) -> Outcome {
        match change.action {
            Action::Create | Action::Recreate => self.create(change, turn).await,
            Action::Activate => {
                match change.before.as_ref().and_then(|before| before.arn.clone()) {
                    Some(arn) => {
                        let known = change.before.as_ref().and_then(|before| {
                            Some(Written {
                                grant_arn: arn.clone(),
                                status: before.status.clone(),
                                version: before.version.clone()?,
                                request_id: None,
                            })
                        });
                        self.activate(change, &arn, known, "activated", turn).await
                    }
                    None => Outcome::Skipped {
                        why: "the plan names no grant to activate".to_owned(),
                    },
                }
            }
            Action::UpdateOperations => self.update_operations(change).await,
            Action::Delete => self.delete(change).await,
            Action::NoOp => Outcome::Skipped {
                why: "nothing to do".to_owned(),
            },
        }
    }

    async fn create(&self, change: &Change, turn: &mut Turn) -> Outcome {
        let (Some(token), Some(after)) = (change.client_token.as_deref(), change.after.as_ref())
        else {
            return Outcome::Skipped {
                why: "the plan gives no client token for this create".to_owned(),
            };
        };
        let new = NewGrant {
            client_token: token,
            name: &after.name,
            license_arn: &self.license_arn,
            principal_arn: &change.principal_arn,
            operations: &after.operations,
            tags: &change.tags,
        };
        let spec = CallSpec {
            operation: "CreateGrant",
            change,
            client_token: Some(token),
            grant_arn: None,
        };
        let created = match self
            .pacing
            .send("CreateGrant", Some(spec), || {
                grants::create_grant(&self.clients, &new)
            })
            .await
        {
            Ok(created) => created,
            Err(error) => {
                return Outcome::Failed {
                    step: "CreateGrant",
                    error,
                };
            }
        };
        match self.activation {
            Activation::Member => Outcome::Done {
                what: "created (members activate)".to_owned(),
                grant: created,
            },
            Activation::Grantor => {
                let arn = created.grant_arn.clone();
                self.activate(change, &arn, Some(created), "created and activated", turn)
                    .await
            }
        }
    }

    /// Waits for the grant to finish distributing, then activates it unless it already is.
    /// Activates a grant (CreateGrantVersion with Status ACTIVE) unless it already is. `known` is
    /// the grant as last seen (CreateGrant's answer, or the plan's observation): when it has
    /// finished distributing it is used as it is, without a read; a grant still in
    /// PENDING_WORKFLOW is read again after a pause until it settles; a version that moved
    /// meanwhile is read again and the activation repeated once.
    async fn activate(
        &self,
        change: &Change,
        grant_arn: &str,
        known: Option<Written>,
        what: &str,
        turn: &mut Turn,
    ) -> Outcome {
        let mut current = match known {
            Some(known) if known.status != GrantStatus::PendingWorkflow => known,
            known => {
                // An account grant just created: one read of the license's ready grants serves
                // every activation waiting (see `distribution`).
                let ready = if known.is_some()
                    && account_of_principal_arn(&change.principal_arn).is_some()
                {
                    // Waiting is not working: the change gives its turn to another meanwhile.
                    turn.give_up_while(
                        self.distribution
                            .wait(grant_arn, DISTRIBUTION_PATIENCE, || self.ready_grants()),
                        &self.activating,
                    )
                    .await
                } else {
                    None
                };
                if let Some(ready) = ready {
                    ready
                } else {
                    if known.is_some() {
                        // Distribution takes a moment: reading at once would only see it pending.
                        tokio::time::sleep(FIRST_WORKFLOW_READ).await;
                    }
                    match self.settled(grant_arn).await {
                        Ok(settled) => settled,
                        Err(error) => {
                            return Outcome::Failed {
                                step: "GetGrant",
                                error,
                            };
                        }
                    }
                }
            }
        };
        let mut reread = false;
        loop {
            if current.status == GrantStatus::Active {
                // A re-run after a crash between create and activate, or activated by someone else.
                return Outcome::Done {
                    what: format!("{what} (already active)"),
                    grant: current,
                };
            }
            let token = version_token(&self.rollout, grant_arn, "activate", &current.version);
            let version = GrantVersion {
                client_token: &token,
                grant_arn,
                source_version: Some(&current.version),
                status: Some(GrantStatus::Active),
                operations: None,
                activation_override: Some(self.activation_override.clone()),
            };
            let spec = CallSpec {
                operation: "CreateGrantVersion",
                change,
                client_token: Some(&token),
                grant_arn: Some(grant_arn),
            };
            let sent = self.pacing.send("CreateGrantVersion", Some(spec), || {
                grants::create_grant_version(&self.clients, &version)
            });
            match sent.await {
                Ok(grant) => {
                    return Outcome::Done {
                        what: what.to_owned(),
                        grant,
                    };
                }
                Err(error) if grants::is_stale_version(&error) && !reread => {
                    reread = true;
                    current = match self.settled(grant_arn).await {
                        Ok(settled) => settled,
                        Err(error) => {
                            return Outcome::Failed {
                                step: "GetGrant",
                                error,
                            };
                        }
                    };
                }
                Err(error) => {
                    return Outcome::Failed {
                        step: "CreateGrantVersion",
                        error,
                    };
                }
            }
        }
    }

    async fn update_operations(&self, change: &Change) -> Outcome {
        let (Some(before), Some(after)) = (change.before.as_ref(), change.after.as_ref()) else {
            return Outcome::Skipped {
                why: "the plan names no grant to update".to_owned(),
            };
        };
        let Some(arn) = before.arn.as_deref() else {
            return Outcome::Skipped {
                why: "the plan names no grant to update".to_owned(),
            };
        };
        let current = match self.get_grant(arn).await {
            Ok(current) => current,
            Err(error) => {
                return Outcome::Failed {
                    step: "GetGrant",
                    error,
                };
            }
        };
        let token = version_token(&self.rollout, arn, "operations", &current.version);
        let version = GrantVersion {
            client_token: &token,
            grant_arn: arn,
            source_version: Some(&current.version),
            status: None,
            operations: Some(&after.operations),
            activation_override: None,
        };
        let spec = CallSpec {
            operation: "CreateGrantVersion",
            change,
            client_token: Some(&token),
            grant_arn: Some(arn),
        };
        let sent = self.pacing.send("CreateGrantVersion", Some(spec), || {
            grants::create_grant_version(&self.clients, &version)
        });
        match sent.await {
            Ok(grant) => Outcome::Done {
                what: "operations updated".to_owned(),
                grant,
            },
            Err(error) => Outcome::Failed {
                step: "CreateGrantVersion",
                error,
            },
        }
    }

    /// Deletes with the planned version, re-reading the grant when AWS says it is stale.
    async fn delete(&self, change: &Change) -> Outcome {
        let Some(before) = change.before.as_ref() else {
            return Outcome::Skipped {
                why: "the plan names no grant to delete".to_owned(),
            };
        };
        let Some(arn) = before.arn.as_deref() else {
            return Outcome::Skipped {
                why: "the plan names no grant to delete".to_owned(),
            };
        };
        let mut version = before.version.clone().unwrap_or_else(|| "1".to_owned());
        for _ in 0..3 {
            let spec = CallSpec {
                operation: "DeleteGrant",
                change,
                client_token: None,
                grant_arn: Some(arn),
            };
            let sent = self.pacing.send("DeleteGrant", Some(spec), || {
                grants::delete_grant(&self.clients, arn, &version)
            });
            match sent.await {
                Ok(grant) => {
                    return Outcome::Done {
                        what: "deleted".to_owned(),
                        grant,
                    };
                }
                Err(error) if grants::is_stale_version(&error) => match self.get_grant(arn).await {
                    Ok(current) if current.status == GrantStatus::Deleted => {
                        return Outcome::Done {
                            what: "already deleted".to_owned(),
                            grant: current,
                        };
                    }
                    Ok(current) => version = current.version,
                    Err(error) => {
                        return Outcome::Failed {
                            step: "GetGrant",
                            error,
                        };
                    }
                },
                Err(error) => {
                    return Outcome::Failed {
                        step: "DeleteGrant",
                        error,
                    };
                }
            }
        }
        Outcome::Failed {
            step: "DeleteGrant",
            error: AwsError {
                service: "license-manager",
                operation: "DeleteGrant",
                code: None,
                message: format!("the version of `{arn}` kept changing under us"),
                request_id: None,
                kind: AwsErrorKind::Conflict,
            },
        }
    }

    /// The license's grants ready to activate (DISABLED), paced and retried like the writes.
    async fn ready_grants(&self) -> Result<Vec<Written>, AwsError> {
        self.pacing
            .send("ListDistributedGrants", None, || {
                grants::grants_in_status(&self.clients, &self.license_arn, &GrantStatus::Disabled)
            })
            .await
    }

    /// GetGrant, paced and retried like the writes (not journalled: it changes nothing).
    async fn get_grant(&self, grant_arn: &str) -> Result<Written, AwsError> {
        self.pacing
            .send("GetGrant", None, || {
                grants::get_grant(&self.clients, grant_arn)
            })
            .await
    }

    /// Reads the grant until it leaves PENDING_WORKFLOW (backing off to 2 s between reads).
    async fn settled(&self, grant_arn: &str) -> Result<Written, AwsError> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let current = self.get_grant(grant_arn).await?;
            if current.status != GrantStatus::PendingWorkflow
                || started.elapsed() >= self.workflow_timeout
            {
                return Ok(current);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }
}

/// The ClientToken of a CreateGrantVersion: the same intent on the same source version always
/// sends the same token, so a retried or re-run activation never makes a second version.
pub fn version_token(rollout: &str, grant_arn: &str, intent: &str, source_version: &str) -> String {
    let mut hash = Sha256::new();
    for part in [rollout, grant_arn, intent, source_version] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    let hex: String = digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("entitle-v-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_tokens_are_stable_and_distinct_per_intent_and_version() {
        let one = version_token("r", "arn:g", "activate", "1");
        assert_eq!(one, version_token("r", "arn:g", "activate", "1"));
        assert_ne!(one, version_token("r", "arn:g", "activate", "2"));
        assert_ne!(one, version_token("r", "arn:g", "operations", "1"));
        assert!(one.starts_with("entitle-v-") && one.len() == 42);
    }
}
