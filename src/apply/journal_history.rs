//! What the journal's lines mean, apart from how they are written and read (`journal`): each
//! phase's bake clock (when its `min_active` share was first seen reached), which of a status
//! look's sightings are new, each account's last recorded status, and where the last run of a
//! command that changes grants stopped.

use std::collections::BTreeMap;

use super::journal::{Call, Event, History};
use crate::planner::gates::GateFacts;
use crate::planner::status::StatusReport;

impl History {
    /// The bake clock of every phase: when its `min_active` share was first seen reached, unless
    /// it was seen lost again since.
    pub fn gate_facts(&self) -> GateFacts {
        let mut facts = GateFacts::default();
        for entry in &self.entries {
            match &entry.event {
                Event::PhaseActive { phase } => {
                    facts
                        .share_reached
                        .entry(phase.clone())
                        .or_insert_with(|| entry.unix_seconds());
                }
                Event::PhaseInactive { phase } => {
                    facts.share_reached.remove(phase);
                }
                _ => {}
            }
        }
        facts
    }

    /// What `report` shows that the journal does not know yet: accounts whose status changed,
    /// phases whose share was reached (their gate's `min_active`, or every account for a phase
    /// without a gate) or lost.
    pub fn sightings(&self, report: &StatusReport) -> Vec<Event> {
        let mut events = Vec::new();
        let known = self.gate_facts();
        for phase in &report.phases {
            let reached = match &phase.gate {
                Some(gate) => gate.min_active_holds,
                None => !phase.accounts.is_empty() && phase.active == phase.accounts.len(),
            };
            let recorded = known.share_reached.contains_key(&phase.name);
            if reached && !recorded {
                events.push(Event::PhaseActive {
                    phase: phase.name.clone(),
                });
            } else if !reached && recorded {
                events.push(Event::PhaseInactive {
                    phase: phase.name.clone(),
                });
            }
        }
        let last = self.account_status();
        let mut seen = BTreeMap::new();
        for account in report.phases.iter().flat_map(|phase| &phase.accounts) {
            seen.insert(
                account.account.as_str().to_owned(),
                account
                    .status
                    .as_ref()
                    .map(|status| status.as_str().to_owned()),
            );
        }
        for (account, status) in seen {
            let changed = match last.get(&account) {
                Some((previous, _)) => *previous != status,
                None => status.is_some(),
            };
            if changed {
                events.push(Event::AccountStatus { account, status });
            }
        }
        events
    }

    /// Each account's last recorded status and since when (RFC 3339).
    pub fn account_status(&self) -> BTreeMap<String, (Option<String>, String)> {
        let mut latest = BTreeMap::new();
        for entry in &self.entries {
            if let Event::AccountStatus { account, status } = &entry.event {
                latest.insert(account.clone(), (status.clone(), entry.at.clone()));
            }
        }
        latest
    }

    /// The most recent run of a command that changes grants, and how it ended.
    pub fn last_run(&self) -> Option<RunSummary> {
        let start = self
            .entries
            .iter()
            .rposition(|entry| matches!(entry.event, Event::RunStarted { .. }))?;
        let started = &self.entries[start];
        let Event::RunStarted { command, .. } = &started.event else {
            return None;
        };
        let mut summary = RunSummary {
            run: started.run.clone(),
            command: command.clone(),
            started_at: started.at.clone(),
            finished: None,
            interrupted: None,
            calls_finished: 0,
            unanswered: Vec::new(),
        };
        let mut open: BTreeMap<(String, String, u32), (Call, String)> = BTreeMap::new();
        let key = |call: &Call| (call.operation.clone(), call.principal.clone(), call.attempt);
        for entry in self.entries[start..]
            .iter()
            .filter(|entry| entry.run == summary.run)
        {
            match &entry.event {
                Event::CallStarted(call) => {
                    open.insert(key(call), (call.clone(), entry.at.clone()));
                }
                Event::CallFinished { call, .. } => {
                    open.remove(&key(call));
                    summary.calls_finished += 1;
                }
                Event::RunFinished {
                    done,
                    failed,
                    skipped,
                } => summary.finished = Some((*done, *failed, *skipped)),
                Event::Interrupted { signal, .. } => summary.interrupted = Some(signal.clone()),
                _ => {}
            }
        }
        summary.unanswered = open.into_values().collect();
        Some(summary)
    }
}

/// The most recent run as the journal tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// Its id.
    pub run: String,
    /// Its command.
    pub command: String,
    /// When it started.
    pub started_at: String,
    /// (done, failed, skipped) if it finished.
    pub finished: Option<(usize, usize, usize)>,
    /// The signal that stopped it (`SIGINT`, `SIGTERM`), when it journalled one.
    pub interrupted: Option<String>,
    /// Calls it saw answered.
    pub calls_finished: usize,
    /// Calls it sent and never saw answered (with when they were sent): the process stopped while
    /// they were in flight. AWS may or may not have carried them out; the next run finds out.
    pub unanswered: Vec<(Call, String)>,
}
