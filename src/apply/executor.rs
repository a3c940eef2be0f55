//! Carrying out a plan: each change becomes the License Manager calls it needs, phase by phase,
//! with bounded concurrency, idempotent tokens, waiting out PENDING_WORKFLOW, and deletes that
//! re-read a stale version. Reports events; prints nothing.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::aws::grants::{self, GrantVersion, NewGrant, Written};
use crate::aws::{AwsClients, AwsError, AwsErrorKind};
use crate::model::grant::{ActivationOverride, GrantStatus};
use crate::model::plan::Activation;
use crate::planner::{Action, Change, Plan};

/// How to carry out a plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Changes in flight at once.
    pub concurrency: usize,
    /// How long a new grant may stay in PENDING_WORKFLOW before activation gives up on it.
    pub workflow_timeout: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            workflow_timeout: Duration::from_secs(300),
        }
    }
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
    events: Arc<dyn ApplyEvents>,
) -> Vec<ChangeResult> {
    let semaphore = Arc::new(Semaphore::new(options.concurrency.max(1)));
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
                if change.blocked || !included {
                    let why = blocked
                        .clone()
                        .unwrap_or_else(|| "outside --phase".to_owned());
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
                };
                let (change, semaphore, events) =
                    (change.clone(), semaphore.clone(), events.clone());
                tasks.spawn(async move {
                    let _permit = semaphore.acquire().await;
                    events.started(&change);
                    let outcome = context.carry_out(&change).await;
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
    results
}

/// What a change needs to know besides itself.
struct Step {
    clients: AwsClients,
    rollout: String,
    license_arn: String,
    activation: Activation,
    activation_override: ActivationOverride,
    workflow_timeout: Duration,
}

impl Step {
    async fn carry_out(&self, change: &Change) -> Outcome {
        match change.action {
            Action::Create | Action::Recreate => self.create(change).await,
            Action::Activate => {
                match change.before.as_ref().and_then(|before| before.arn.clone()) {
                    Some(arn) => self.activate(&arn, "activated").await,
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

    async fn create(&self, change: &Change) -> Outcome {
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
        let created = match grants::create_grant(&self.clients, &new).await {
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
                self.activate(&created.grant_arn, "created and activated")
                    .await
            }
        }
    }

    /// Waits for the grant to finish distributing, then activates it unless it already is.
    async fn activate(&self, grant_arn: &str, what: &str) -> Outcome {
        let settled = match self.settled(grant_arn).await {
            Ok(settled) => settled,
            Err(error) => {
                return Outcome::Failed {
                    step: "GetGrant",
                    error,
                };
            }
        };
        if settled.status == GrantStatus::Active {
            // A re-run after a crash between create and activate, or activated by someone else.
            return Outcome::Done {
                what: format!("{what} (already active)"),
                grant: settled,
            };
        }
        let token = version_token(&self.rollout, grant_arn, "activate", &settled.version);
        let version = GrantVersion {
            client_token: &token,
            grant_arn,
            source_version: Some(&settled.version),
            status: Some(GrantStatus::Active),
            operations: None,
            activation_override: Some(self.activation_override.clone()),
        };
        match grants::create_grant_version(&self.clients, &version).await {
            Ok(grant) => Outcome::Done {
                what: what.to_owned(),
                grant,
            },
            Err(error) => Outcome::Failed {
                step: "CreateGrantVersion",
                error,
            },
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
        let current = match grants::get_grant(&self.clients, arn).await {
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
        match grants::create_grant_version(&self.clients, &version).await {
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
            match grants::delete_grant(&self.clients, arn, &version).await {
                Ok(grant) => {
                    return Outcome::Done {
                        what: "deleted".to_owned(),
                        grant,
                    };
                }
                Err(error) if grants::is_stale_version(&error) => {
                    match grants::get_grant(&self.clients, arn).await {
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
                    }
                }
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

    /// Reads the grant until it leaves PENDING_WORKFLOW (backing off to 2 s between reads).
    async fn settled(&self, grant_arn: &str) -> Result<Written, AwsError> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let current = grants::get_grant(&self.clients, grant_arn).await?;
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
