//! Carrying out a plan: each change becomes the License Manager calls it needs, phase by phase,
//! with bounded concurrency, idempotent tokens, waiting out PENDING_WORKFLOW, and deletes that
//! re-read a stale version. Every call is paced by a per-operation adaptive rate limiter,
//! retried with backoff and jitter when throttled or transient, and every mutating call is
//! journalled before and after (a create's line after the call names the grant it made).
//! Reports events; prints nothing.
//!
//! A signal (Ctrl-C, SIGTERM; see `crate::interrupt`) stops the run: no change and no call
//! starts after it, waits between calls end at once, and the calls in flight get
//! [`ApplyOptions::grace`] to come back before their tasks are dropped. A change stopped part way
//! is left `waiting` for the next run, one not started is `skipped`, and the calls sent and never
//! answered are listed in [`Execution::interrupted`]: nothing is lost (the journal has every call
//! sent) and nothing doubles (the next run plans again, with the same client tokens).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{Id as TaskId, JoinError, JoinSet};

use super::distribution::Distribution;
use super::journal::{Call, CallOutcome, Event, Journal};
use super::retry::{Decision, RetryPolicy, SystemRandom, decide};
use crate::aws::grants::{self, GrantVersion, NewGrant, Written};
use crate::aws::member::{self, MemberSession};
use crate::aws::{AwsClients, AwsError, AwsErrorKind};
use crate::interrupt::{Interrupt, Signal};
use crate::limiter::{LimiterConfig, RateLimiter};
use crate::model::AccountId;
use crate::model::grant::{
    ActivationOverride, GrantStatus, account_of_principal_arn, client_token, ownership_tags,
};
use crate::model::plan::Activation;
use crate::planner::{Action, Change, Plan};

/// How to carry out a plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Changes in flight at once.
    pub concurrency: usize,
    /// How long a change waits for its grant to finish distributing (PENDING_WORKFLOW) before it
    /// is left "awaiting distribution" for a later run (`--distribution-wait`; zero: no wait).
    pub distribution_wait: Duration,
    /// The role assumed in member accounts to accept account grants waiting in PENDING_ACCEPT
    /// (`--member-role`); `None`: such grants are left awaiting the account's acceptance.
    pub member_role: Option<MemberRole>,
    /// How each operation's rate starts and adapts (one limiter per License Manager operation:
    /// AWS limits each operation apart).
    pub limiter: LimiterConfig,
    /// How persistent one call is.
    pub retry: RetryPolicy,
    /// The signal that stops the run (the process's, for commands; one that never fires by
    /// default).
    pub interrupt: Interrupt,
    /// How long calls in flight are waited for once a signal came.
    pub grace: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            concurrency: 32,
            distribution_wait: Duration::from_secs(300),
            member_role: None,
            limiter: LimiterConfig::default(),
            // Throttles are expected (the limiter probes for the rate) and cost nothing but time;
            // ten attempts, 250 ms doubling to 20 s, ride out minutes of them.
            retry: RetryPolicy {
                max_attempts: 10,
                base_delay: Duration::from_millis(250),
                max_delay: Duration::from_secs(20),
            },
            interrupt: Interrupt::default(),
            grace: DEFAULT_GRACE,
        }
    }
}

/// How long calls in flight are waited for after a signal: a License Manager write answers in
/// well under a second; a person pressing Ctrl-C waits no longer than this.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// The role entitle assumes in member accounts, and how it names its sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRole {
    /// The role's name, e.g. `OrganizationAccountAccessRole`.
    pub name: String,
    /// The partition of every role ARN (`aws`, `aws-us-gov`, `aws-cn`): the caller's.
    pub partition: String,
    /// The STS session name: `entitle-` and the run id, so CloudTrail in the member account
    /// names the tool and the run.
    pub session_name: String,
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
    /// Set when a signal stopped the run.
    pub interrupted: Option<Interruption>,
}

/// How a signal stopped a run.
#[derive(Debug, Clone)]
pub struct Interruption {
    /// The signal.
    pub signal: Signal,
    /// Calls sent and never answered when the run stopped waiting for them (in the order sent):
    /// AWS may or may not have carried them out.
    pub in_flight: Vec<Call>,
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
    /// Nothing failed, but the grant is not where the plan wants it yet: still distributing,
    /// awaiting the account's acceptance, or being deleted. A later run picks it up.
    Waiting {
        /// For people, e.g. "awaiting distribution (PENDING_WORKFLOW after 5m)".
        what: String,
        /// The grant as last seen.
        grant: Written,
    },
    /// An AWS call failed (after the SDK's retries).
    Failed {
        /// What was being done.
        step: &'static str,
        /// The error.
        error: AwsError,
        /// What a person can do about it, where entitle knows.
        hint: Option<String>,
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
    let interrupt = options.interrupt.clone();
    let distribution = Arc::new(Distribution::default());
    let members = Arc::new(tokio::sync::Mutex::new(BTreeMap::new()));
    // What each principal's change came to in this run, for retirements that wait on it.
    let ended: Arc<Mutex<BTreeMap<String, bool>>> = Arc::default();
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
            // The change each task carries out, by task id: a task that panics (or is
            // cancelled) returns no result, and its change must still reach the report.
            let mut carrying: BTreeMap<TaskId, Change> = BTreeMap::new();
            let changes = plan.changes.iter().filter(|change| {
                in_group(change, phase) && (change.action == Action::Delete) == deleting
            });
            for change in changes {
                if change.action == Action::NoOp {
                    continue;
                }
                if change.blocked
                    || !included
                    || pacing.journal_broken()
                    || interrupt.received().is_some()
                {
                    let why = if let Some(signal) = interrupt.received() {
                        not_started(signal)
                    } else if pacing.journal_broken() {
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
                    distribution_wait: options.distribution_wait,
                    member_role: options.member_role.clone(),
                    members: members.clone(),
                    ended: ended.clone(),
                    pacing: pacing.clone(),
                    distribution: distribution.clone(),
                    activating: activating.clone(),
                };
                let (change, semaphore, events) =
                    (change.clone(), semaphore.clone(), events.clone());
                let carried = change.clone();
                let task = tasks.spawn(async move {
                    let mut turn = Turn::take(semaphore).await;
                    if let Some(signal) = context.pacing.interrupt.received() {
                        let result = ChangeResult {
                            change,
                            outcome: Outcome::Skipped {
                                why: not_started(signal),
                            },
                        };
                        events.finished(&result);
                        return result;
                    }
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
                    // Boxed: every change's task is spawned at once and waits for its turn, so
                    // the large future of carrying one out lives on the heap only while it runs
                    // (inline, 2,000 waiting tasks held about 27 KB each: 53 MB at the peak).
                    let outcome = Box::pin(context.carry_out(&change, &mut turn)).await;
                    let outcome = context.pacing.stopped_part_way(&change, outcome);
                    let result = ChangeResult { change, outcome };
                    events.finished(&result);
                    result
                });
                carrying.insert(task.id(), carried);
            }
            // Once a signal came, the tasks still running get the grace period, then are dropped.
            let mut deadline: Option<tokio::time::Instant> = None;
            let mut dropped = false;
            loop {
                let joined = tokio::select! {
                    joined = tasks.join_next_with_id() => joined,
                    _ = interrupt.wait(), if deadline.is_none() => {
                        deadline = Some(tokio::time::Instant::now() + options.grace);
                        continue;
                    }
                    () = sleep_until(deadline), if deadline.is_some() && !dropped => {
                        tasks.abort_all();
                        dropped = true;
                        continue;
                    }
                };
                let Some(joined) = joined else {
                    break;
                };
                let result = match joined {
                    Ok((id, result)) => {
                        carrying.remove(&id);
                        result
                    }
                    Err(error) => {
                        // Every task's id was recorded when it was spawned.
                        let Some(change) = carrying.remove(&error.id()) else {
                            continue;
                        };
                        let result = match interrupt.received() {
                            Some(signal) if error.is_cancelled() => {
                                pacing.dropped_in_flight(change, signal)
                            }
                            _ => task_lost(change, &error),
                        };
                        events.finished(&result);
                        result
                    }
                };
                results.push(result);
            }
        }
    }
    Execution {
        results,
        counts: pacing.counts(),
        interrupted: interrupt.received().map(|signal| Interruption {
            signal,
            in_flight: pacing.in_flight(),
        }),
    }
}

/// Sleeps until `deadline` (never without one).
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Why a change was not started.
fn not_started(signal: Signal) -> String {
    format!("not started: interrupted by {signal}; the next run carries it out")
}

/// What AWS error code marks a call not sent because a signal came.
const INTERRUPTED_CODE: &str = "entitle.Interrupted";

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
    interrupt: Interrupt,
    /// Journalled calls sent and not answered yet, by the order they were sent.
    in_flight: Mutex<BTreeMap<u64, Call>>,
    sent: AtomicU64,
    /// The last write each change made in this run, with its operation.
    written: Mutex<BTreeMap<(String, Action), (String, Written)>>,
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
            interrupt: options.interrupt.clone(),
            in_flight: Mutex::new(BTreeMap::new()),
            sent: AtomicU64::new(0),
            written: Mutex::new(BTreeMap::new()),
        }
    }

    /// The calls sent and not answered, in the order sent.
    fn in_flight(&self) -> Vec<Call> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// The error of a call not sent because `signal` came.
    fn not_sent(operation: &'static str, signal: Signal) -> AwsError {
        AwsError {
            service: "license-manager",
            operation,
            code: Some(INTERRUPTED_CODE.to_owned()),
            message: format!("not sent: interrupted by {signal}"),
            request_id: None,
            kind: AwsErrorKind::Other,
        }
    }

    /// Waits for `future`, unless a signal comes first.
    async fn unless_interrupted<T>(&self, future: impl Future<Output = T>) -> Result<T, Signal> {
        if let Some(signal) = self.interrupt.received() {
            return Err(signal);
        }
        tokio::select! {
            answer = future => Ok(answer),
            signal = self.interrupt.wait() => Err(signal),
        }
    }

    /// A change whose call was refused because a signal came: `skipped` when it had written
    /// nothing, else `waiting` with what it did and the grant it left (the next run finishes it).
    fn stopped_part_way(&self, change: &Change, outcome: Outcome) -> Outcome {
        let Outcome::Failed { step, error, .. } = &outcome else {
            return outcome;
        };
        if error.code.as_deref() != Some(INTERRUPTED_CODE) {
            return outcome;
        }
        let signal = self.interrupt.received().unwrap_or(Signal::Interrupt);
        let written = self
            .written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(change.principal_arn.clone(), change.action))
            .cloned();
        match written {
            None => Outcome::Skipped {
                why: format!(
                    "interrupted by {signal} before its first change ({step} not sent); the next run carries it out"
                ),
            },
            Some((operation, grant)) => Outcome::Waiting {
                what: format!(
                    "interrupted by {signal} after {operation}, before {step}; the next run finishes it"
                ),
                grant,
            },
        }
    }

    /// A change whose task was dropped when the grace period after a signal ran out: `waiting`,
    /// naming its call in flight (AWS may or may not have carried it out).
    fn dropped_in_flight(&self, change: Change, signal: Signal) -> ChangeResult {
        let call = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .find(|call| call.principal == change.principal_arn)
            .cloned();
        let written = self
            .written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(change.principal_arn.clone(), change.action))
            .cloned();
        let what = match &call {
            Some(call) => format!(
                "interrupted by {signal} with {} in flight: the next run sees whether AWS carried it out",
                call.operation
            ),
            None => {
                format!("interrupted by {signal} while waiting on AWS; the next run finishes it")
            }
        };
        let grant = match written {
            Some((_, grant)) => grant,
            None => Written {
                grant_arn: change
                    .before
                    .as_ref()
                    .and_then(|before| before.arn.clone())
                    .unwrap_or_default(),
                status: change
                    .before
                    .as_ref()
                    .map_or(GrantStatus::PendingWorkflow, |before| before.status.clone()),
                version: String::new(),
                status_reason: None,
                request_id: None,
            },
        };
        ChangeResult {
            change,
            outcome: Outcome::Waiting { what, grant },
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

    /// Journals one event; a journal that cannot be written marks the run broken (no further
    /// change starts) and says why.
    fn record(&self, event: Event) -> Result<(), String> {
        match self.journal.record(event) {
            Ok(_) => Ok(()),
            Err(error) => {
                tracing::error!(journal = %self.journal.path().display(), %error, "could not write the journal");
                self.journal_failed.store(true, Ordering::Relaxed);
                Err(error.to_string())
            }
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
            // No call starts once a signal came, and none waits its turn through one.
            let sent = self
                .unless_interrupted(limiter.acquire())
                .await
                .map_err(|signal| Self::not_sent(operation, signal))?;
            let call = journalled.as_ref().map(|spec| Call {
                operation: spec.operation.to_owned(),
                phase: spec.change.phase.clone(),
                principal: spec.change.principal_arn.clone(),
                client_token: spec.client_token.map(str::to_owned),
                grant_arn: spec.grant_arn.map(str::to_owned),
                attempt,
            });
            if let Some(call) = &call {
                // No call goes out that the journal has not recorded: changing grants without an
                // audit trail is worse than not changing them.
                if let Err(error) = self.record(Event::CallStarted(call.clone())) {
                    return Err(AwsError {
                        service: "license-manager",
                        operation,
                        code: None,
                        message: format!(
                            "not sent: the journal `{}` could not be written ({error})",
                            self.journal.path().display()
                        ),
                        request_id: None,
                        kind: AwsErrorKind::Other,
                    });
                }
            }
            let in_flight = call.as_ref().map(|call| {
                let id = self.sent.fetch_add(1, Ordering::Relaxed);
                self.in_flight
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id, call.clone());
                id
            });
            self.calls.fetch_add(1, Ordering::Relaxed);
            let result = request().await;
            if let Some(id) = in_flight {
                self.in_flight
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&id);
            }
            let throttled = matches!(&result, Err(error) if error.kind == AwsErrorKind::Throttled);
            if throttled {
                limiter.on_throttle(sent);
                tracing::debug!(operation, rate = limiter.rate(), "throttled");
                self.throttled.fetch_add(1, Ordering::Relaxed);
            } else if result.is_ok() {
                limiter.on_success(sent);
            }
            if let (Some(spec), Ok(answer)) = (&journalled, &result)
                && let Some(grant) = answer.grant()
            {
                self.written
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(
                        (spec.change.principal_arn.clone(), spec.change.action),
                        (spec.operation.to_owned(), grant),
                    );
            }
            if let Some(call) = call {
                // The call went out: its answer is used whatever the journal says now (the run
                // stops starting new changes once the journal is broken).
                let _ = self.record(finished(call, &result, throttled));
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
                    self.unless_interrupted(tokio::time::sleep(after))
                        .await
                        .map_err(|signal| Self::not_sent(operation, signal))?;
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

    /// The grant a write left, where the answer names one.
    fn grant(&self) -> Option<Written> {
        None
    }
}

impl Answer for Written {
    fn noted(&self) -> (Option<String>, Option<String>, Option<String>) {
        (
            self.request_id.clone(),
            Some(self.status.as_str().to_owned()),
            Some(self.version.clone()),
        )
    }

    fn grant(&self) -> Option<Written> {
        (!self.grant_arn.is_empty()).then(|| self.clone())
    }
}

impl Answer for MemberSession {
    fn noted(&self) -> (Option<String>, Option<String>, Option<String>) {
        (None, None, None)
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

/// The journal line after a call. A create's names the grant it made (its line before could not).
fn finished<T: Answer>(mut call: Call, result: &Result<T, AwsError>, throttled: bool) -> Event {
    match result {
        Ok(answer) => {
            let (request_id, status, version) = answer.noted();
            if call.grant_arn.is_none() {
                call.grant_arn = answer.grant().map(|grant| grant.grant_arn);
            }
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

/// How many generations past the planned one a create tries when AWS answers a client token with
/// a grant that is already gone (a deleted grant AWS no longer lists, whose token it remembers).
const MAX_GENERATION_STEPS: u32 = 8;

/// What AWS refuses when an account keeps its own subscription of the product.
const OWN_SUBSCRIPTION_HINT: &str = "if the account holds its own subscription of the product, AWS refuses to activate ours there while `on_existing_subscription = \"keep\"`: set `on_existing_subscription = \"replace\"` to activate ours and disable theirs (`entitle doctor PLAN` lists such accounts)";

/// The assumed member sessions of a run, by account (assumed once per account).
type Members = tokio::sync::Mutex<BTreeMap<String, Result<MemberSession, AwsError>>>;

/// What a change needs to know besides itself.
struct Step {
    clients: AwsClients,
    rollout: String,
    license_arn: String,
    activation: Activation,
    activation_override: ActivationOverride,
    distribution_wait: Duration,
    member_role: Option<MemberRole>,
    members: Arc<Members>,
    /// Whether each principal's change of this run ended with its grant activated.
    ended: Arc<Mutex<BTreeMap<String, bool>>>,
    pacing: Arc<Pacing>,
    distribution: Arc<Distribution>,
    /// The turns of changes activating after waiting for distribution.
    activating: Arc<Semaphore>,
}

/// How a change ended whose task panicked or was cancelled before it returned: failed (whether
/// its calls went out is unknown; the journal records those that did), with the operation the
/// change starts with as the step.
fn task_lost(change: Change, error: &JoinError) -> ChangeResult {
    let operation = match change.action {
        Action::Create | Action::Recreate => "CreateGrant",
        Action::Activate | Action::UpdateOperations => "CreateGrantVersion",
        Action::Delete => "DeleteGrant",
        Action::NoOp => "none",
    };
    let ended = if error.is_cancelled() {
        "was cancelled"
    } else {
        "panicked"
    };
    tracing::error!(principal = %change.principal_arn, %error, "a change's task {ended}");
    ChangeResult {
        change,
        outcome: Outcome::Failed {
            step: operation,
            error: AwsError {
                service: "license-manager",
                operation,
                code: None,
                message: format!(
                    "entitle's task carrying out this change {ended} before it finished ({error})"
                ),
                request_id: None,
                kind: AwsErrorKind::Other,
            },
            hint: Some(
                "this is a bug in entitle: the journal shows which calls went out, and `entitle plan` where the grant stands now; please report it".to_owned(),
            ),
        },
    }
}

fn failed(step: &'static str, error: AwsError) -> Outcome {
    Outcome::Failed {
        step,
        error,
        hint: None,
    }
}

impl Step {
    async fn carry_out(&self, change: &Change, turn: &mut Turn) -> Outcome {
        let outcome = match change.action {
            Action::Create | Action::Recreate => self.create(change, turn).await,
            Action::Activate => {
                match change.before.as_ref().and_then(|before| before.arn.clone()) {
                    Some(arn) => {
                        let known = change.before.as_ref().and_then(|before| {
                            Some(Written {
                                grant_arn: arn.clone(),
                                status: before.status.clone(),
                                version: before.version.clone()?,
                                status_reason: None,
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
            Action::Delete => match &change.once_active {
                Some(broad) if !self.activated_in_this_run(broad) => Outcome::Waiting {
                    what: "kept until the broader grant that supersedes it is activated; a later run retires it".to_owned(),
                    grant: Written {
                        grant_arn: change
                            .before
                            .as_ref()
                            .and_then(|before| before.arn.clone())
                            .unwrap_or_default(),
                        status: change
                            .before
                            .as_ref()
                            .map(|before| before.status.clone())
                            .unwrap_or(GrantStatus::Active),
                        version: String::new(),
                        status_reason: None,
                        request_id: None,
                    },
                },
                _ => self.delete(change).await,
            },
            Action::NoOp => Outcome::Skipped {
                why: "nothing to do".to_owned(),
            },
        };
        let activated = match &outcome {
            Outcome::Done { grant, .. } => {
                change.action != Action::Delete && grant.status != GrantStatus::Disabled
            }
            _ => false,
        };
        self.ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(change.principal_arn.clone(), activated);
        outcome
    }

    fn activated_in_this_run(&self, principal_arn: &str) -> bool {
        self.ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(principal_arn)
            .copied()
            .unwrap_or(false)
    }

    async fn create(&self, change: &Change, turn: &mut Turn) -> Outcome {
        let (Some(planned_token), Some(after)) =
            (change.client_token.as_deref(), change.after.as_ref())
        else {
            return Outcome::Skipped {
                why: "the plan gives no client token for this create".to_owned(),
            };
        };
        let mut generation = after.generation;
        let mut token = planned_token.to_owned();
        let mut tags = change.tags.clone();
        let created = loop {
            let new = NewGrant {
                client_token: &token,
                name: &after.name,
                license_arn: &self.license_arn,
                principal_arn: &change.principal_arn,
                operations: &after.operations,
                tags: &tags,
            };
            let spec = CallSpec {
                operation: "CreateGrant",
                change,
                client_token: Some(&token),
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
                Err(error) => return failed("CreateGrant", error),
            };
            // A token AWS remembers from a grant since deleted answers with that grant: this
            // generation is spent, so the next one (a new token) makes the grant anew.
            let gone = matches!(
                created.status,
                GrantStatus::Deleted | GrantStatus::PendingDelete
            );
            if !gone || generation >= after.generation + MAX_GENERATION_STEPS {
                break created;
            }
            tracing::info!(
                principal = %change.principal_arn,
                generation,
                grant = %created.grant_arn,
                "the client token names a deleted grant; creating the next generation"
            );
            generation += 1;
            token = client_token(
                &self.rollout,
                &self.license_arn,
                &change.principal_arn,
                generation,
            );
            tags = ownership_tags(&self.rollout, &change.phase, generation);
        };
        if matches!(
            created.status,
            GrantStatus::Deleted | GrantStatus::PendingDelete
        ) {
            return failed(
                "CreateGrant",
                conflict(
                    "CreateGrant",
                    format!(
                        "every client token up to generation {generation} names a deleted grant (last `{}`)",
                        created.grant_arn
                    ),
                ),
            );
        }
        let what = if generation == after.generation {
            "created".to_owned()
        } else {
            format!("created as generation {generation} (earlier generations' grants were deleted)")
        };
        match self.activation {
            Activation::Member => Outcome::Done {
                what: format!("{what} (members activate)"),
                grant: created,
            },
            Activation::Grantor => {
                let arn = created.grant_arn.clone();
                self.activate(
                    change,
                    &arn,
                    Some(created),
                    &format!("{what} and activated"),
                    turn,
                )
                .await
            }
        }
    }

    /// Activates a grant (CreateGrantVersion with Status ACTIVE) unless it already is. `known` is
    /// the grant as last seen (CreateGrant's answer, or the plan's observation): when it has
    /// finished distributing it is used as it is, without a read; a grant still in
    /// PENDING_WORKFLOW is waited for up to `--distribution-wait` and otherwise left awaiting
    /// distribution; an account grant in PENDING_ACCEPT is accepted as the account through the
    /// member role (or left awaiting acceptance without one). A refusal that a stale version
    /// could explain is answered by reading the grant again: when its version moved, the
    /// activation is repeated once with the current one.
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
            Some(known) if self.distribution_wait.is_zero() => known,
            known => {
                // An account grant just created: one read of the license's ready grants serves
                // every activation waiting (see `distribution`).
                let ready = if known.is_some()
                    && account_of_principal_arn(&change.principal_arn).is_some()
                {
                    let patience = DISTRIBUTION_PATIENCE.min(self.distribution_wait);
                    // Waiting is not working: the change gives its turn to another meanwhile.
                    // A signal ends the wait (the read after it is refused).
                    turn.give_up_while(
                        self.pacing.unless_interrupted(self.distribution.wait(
                            grant_arn,
                            patience,
                            || self.ready_grants(),
                        )),
                        &self.activating,
                    )
                    .await
                    .ok()
                    .flatten()
                } else {
                    None
                };
                if let Some(ready) = ready {
                    ready
                } else {
                    if known.is_some() {
                        // Distribution takes a moment: reading at once would only see it pending.
                        let _ = self
                            .pacing
                            .unless_interrupted(tokio::time::sleep(
                                FIRST_WORKFLOW_READ.min(self.distribution_wait),
                            ))
                            .await;
                    }
                    match self.settled(grant_arn).await {
                        Ok(settled) => settled,
                        Err(error) => return failed("GetGrant", error),
                    }
                }
            }
        };
        if current.status == GrantStatus::PendingWorkflow {
            return Outcome::Waiting {
                what: format!(
                    "{}awaiting distribution (`PENDING_WORKFLOW` after {}); the next apply or activate activates it",
                    prefix(what),
                    humantime::format_duration(self.distribution_wait)
                ),
                grant: current,
            };
        }
        if current.status == GrantStatus::PendingAccept {
            let Some(account) = account_of_principal_arn(&change.principal_arn) else {
                return Outcome::Waiting {
                    what: format!("{}awaiting acceptance (`PENDING_ACCEPT`)", prefix(what)),
                    grant: current,
                };
            };
            if self.member_role.is_none() {
                return Outcome::Waiting {
                    what: format!(
                        "{}awaiting the account's acceptance (`PENDING_ACCEPT`): `--member-role NAME` lets entitle accept it as account `{account}`, or grant its OU instead",
                        prefix(what)
                    ),
                    grant: current,
                };
            }
            current = match self.accept_as_member(change, &account, grant_arn).await {
                Ok(accepted) => accepted,
                Err(outcome) => return outcome,
            };
        }
        if current.status.is_dead() {
            let reason = match &current.status_reason {
                Some(reason) => format!(": {reason}"),
                None => String::new(),
            };
            return failed(
                "distribution",
                conflict(
                    "GetGrant",
                    format!(
                        "grant `{grant_arn}` is `{}`{reason}; a later plan proposes to recreate it",
                        current.status
                    ),
                ),
            );
        }
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
                Err(error) if grants::may_be_stale_version(&error) && !reread => {
                    reread = true;
                    let fresh = match self.get_grant(grant_arn).await {
                        Ok(fresh) => fresh,
                        Err(error) => return failed("GetGrant", error),
                    };
                    if fresh.version == current.version && fresh.status == current.status {
                        // Nothing moved: the refusal is real.
                        return self.activation_refused(change, error);
                    }
                    current = fresh;
                }
                Err(error) => return self.activation_refused(change, error),
            }
        }
    }

    fn activation_refused(&self, change: &Change, error: AwsError) -> Outcome {
        let hint = (error.kind == AwsErrorKind::Invalid
            && self.activation_override == ActivationOverride::DistributedGrantsOnly)
            .then(|| OWN_SUBSCRIPTION_HINT.to_owned());
        let _ = change;
        Outcome::Failed {
            step: "CreateGrantVersion",
            error,
            hint,
        }
    }

    /// Accepts an account grant waiting in PENDING_ACCEPT as the account itself (AcceptGrant
    /// through the member role), or says why not: that account's change fails alone.
    async fn accept_as_member(
        &self,
        change: &Change,
        account: &AccountId,
        grant_arn: &str,
    ) -> Result<Written, Outcome> {
        let Some(role) = &self.member_role else {
            return Err(Outcome::Skipped {
                why: "no member role".to_owned(),
            });
        };
        let role_arn = member::role_arn(&role.partition, account, &role.name);
        let session = {
            let mut members = self.members.lock().await;
            if !members.contains_key(account.as_str()) {
                let assumed = self
                    .pacing
                    .send("AssumeRole", None, || {
                        member::assume(&self.clients, account, &role_arn, &role.session_name)
                    })
                    .await;
                members.insert(account.as_str().to_owned(), assumed);
            }
            members.get(account.as_str()).cloned()
        };
        let session = match session {
            Some(Ok(session)) => session,
            Some(Err(error)) => {
                let hint = Some(format!(
                    "entitle accepts account grants as the account through `{role_arn}`: create that role in account `{account}` with a trust policy for the management account (`entitle iam-policy --for member` prints it), pass another `--member-role`, or grant the account's OU instead (OU and organisation grants need no acceptance)"
                ));
                return Err(Outcome::Failed {
                    step: "AssumeRole",
                    error,
                    hint,
                });
            }
            None => {
                return Err(failed(
                    "AssumeRole",
                    conflict("AssumeRole", format!("no session for `{role_arn}`")),
                ));
            }
        };
        let spec = CallSpec {
            operation: "AcceptGrant",
            change,
            client_token: None,
            grant_arn: Some(grant_arn),
        };
        match self
            .pacing
            .send("AcceptGrant", Some(spec), || {
                member::accept_grant(&session, grant_arn)
            })
            .await
        {
            Ok(accepted) => Ok(accepted),
            Err(error) => {
                // Accepted meanwhile (by the account, or a run whose answer was lost)?
                match self.get_grant(grant_arn).await {
                    Ok(current) if current.status != GrantStatus::PendingAccept => Ok(current),
                    _ => {
                        let hint = (error.kind == AwsErrorKind::AccessDenied).then(|| {
                            format!(
                                "the role `{role_arn}` needs `license-manager:AcceptGrant` (`entitle iam-policy --for member`)"
                            )
                        });
                        Err(Outcome::Failed {
                            step: "AcceptGrant",
                            error,
                            hint,
                        })
                    }
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
        let mut current = match self.get_grant(arn).await {
            Ok(current) => current,
            Err(error) => return failed("GetGrant", error),
        };
        // The plan may also promise activation ("..., and activate it"): one version does both.
        let activate = after.status == GrantStatus::Active
            && matches!(
                current.status,
                GrantStatus::Disabled | GrantStatus::WorkflowCompleted
            );
        let mut reread = false;
        loop {
            let intent = if activate {
                "operations+activate"
            } else {
                "operations"
            };
            let token = version_token(&self.rollout, arn, intent, &current.version);
            let version = GrantVersion {
                client_token: &token,
                grant_arn: arn,
                source_version: Some(&current.version),
                status: activate.then_some(GrantStatus::Active),
                operations: Some(&after.operations),
                activation_override: activate.then(|| self.activation_override.clone()),
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
                Ok(grant) => {
                    return Outcome::Done {
                        what: if activate {
                            "operations updated and activated".to_owned()
                        } else {
                            "operations updated".to_owned()
                        },
                        grant,
                    };
                }
                Err(error) if grants::may_be_stale_version(&error) && !reread => {
                    reread = true;
                    match self.get_grant(arn).await {
                        Ok(fresh) if fresh.version != current.version => current = fresh,
                        Ok(_) => return failed("CreateGrantVersion", error),
                        Err(error) => return failed("GetGrant", error),
                    }
                }
                Err(error) => return failed("CreateGrantVersion", error),
            }
        }
    }

    /// Deletes with the planned version. A refusal that a stale version could explain is
    /// answered by reading the grant: when its version moved, the delete is repeated with the
    /// current one (three tries); a grant found already gone counts as done.
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
                Ok(grant) if grant.status == GrantStatus::PendingDelete => {
                    return Outcome::Waiting {
                        what: "deletion under way (`PENDING_DELETE`); AWS finishes it".to_owned(),
                        grant,
                    };
                }
                Ok(grant) => {
                    return Outcome::Done {
                        what: "deleted".to_owned(),
                        grant,
                    };
                }
                Err(error) if grants::may_be_stale_version(&error) => {
                    match self.get_grant(arn).await {
                        Ok(current) if current.status == GrantStatus::Deleted => {
                            return Outcome::Done {
                                what: "already deleted".to_owned(),
                                grant: current,
                            };
                        }
                        Ok(current) if current.status == GrantStatus::PendingDelete => {
                            return Outcome::Waiting {
                                what: "deletion already under way (`PENDING_DELETE`)".to_owned(),
                                grant: current,
                            };
                        }
                        // Nothing moved: the refusal is real.
                        Ok(current) if current.version == version => {
                            return failed("DeleteGrant", error);
                        }
                        Ok(current) => version = current.version,
                        Err(error) => return failed("GetGrant", error),
                    }
                }
                Err(error) => return failed("DeleteGrant", error),
            }
        }
        failed(
            "DeleteGrant",
            conflict(
                "DeleteGrant",
                format!("the version of `{arn}` kept changing under us"),
            ),
        )
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

    /// Reads the grant until it leaves PENDING_WORKFLOW or `--distribution-wait` runs out
    /// (backing off to 2 s between reads).
    async fn settled(&self, grant_arn: &str) -> Result<Written, AwsError> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let current = self.get_grant(grant_arn).await?;
            let left = self.distribution_wait.saturating_sub(started.elapsed());
            if current.status != GrantStatus::PendingWorkflow || left.is_zero() {
                return Ok(current);
            }
            // A signal ends the wait: the next read is refused.
            let _ = self
                .pacing
                .unless_interrupted(tokio::time::sleep(pause.min(left)))
                .await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }
}

/// "created and activated" -> "created; ", for a change that got part of the way.
fn prefix(what: &str) -> String {
    match what.strip_suffix(" and activated") {
        Some(done) => format!("{done}; "),
        None => String::new(),
    }
}

/// An error entitle itself raises about License Manager's answers.
fn conflict(operation: &'static str, message: String) -> AwsError {
    AwsError {
        service: "license-manager",
        operation,
        code: None,
        message,
        request_id: None,
        kind: AwsErrorKind::Conflict,
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
