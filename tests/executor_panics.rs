//! A change whose task panics is not lost: the executor reports it as a failed change (which
//! `apply` turns into exit 4), keeping the change it was carrying out, while the other changes
//! of the run end as they would have.
// Test set-up panics on a broken fixture, as the tests do.
#![allow(clippy::unwrap_used)]

mod fixtures;

use std::sync::Arc;
use std::time::Duration;

use entitle::apply::executor::{ApplyEvents, ApplyOptions, ChangeResult, Outcome, execute};
use entitle::apply::journal::Journal;
use entitle::apply::retry::RetryPolicy;
use entitle::aws::config::{AwsClients, AwsSettings};
use entitle::model::plan::parse_plan;
use entitle::planner::{Action, Change, PlanOptions, plan};
use fixtures::*;

/// The account whose change's task panics.
const DOOMED: &str = "arn:aws:iam::111111111111:root";

/// Panics when the change for [`DOOMED`] starts: inside that change's task, as a bug in carrying
/// it out would.
struct PanicsOnStart;

impl ApplyEvents for PanicsOnStart {
    fn started(&self, change: &Change) {
        if change.principal_arn == DOOMED {
            panic!("a bug while carrying out the change");
        }
    }

    fn finished(&self, _result: &ChangeResult) {}
}

#[tokio::test]
async fn a_panicking_change_is_reported_failed_with_its_change() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/claude-sonnet-4-5.toml"),
    )
    .unwrap();
    let rollout = parse_plan(&text, "plans/claude-sonnet-4-5.toml").unwrap();
    // The first plan: the pilot's two accounts created, the later phases held back by its gate.
    let planned = plan(
        &rollout,
        &demo_tree(),
        &observed(vec![], vec![]),
        &PlanOptions::default(),
    )
    .unwrap();
    let pilot: Vec<&Change> = planned
        .changes
        .iter()
        .filter(|change| change.phase == "pilot")
        .collect();
    assert_eq!(pilot.len(), 2);
    assert!(pilot.iter().all(|change| change.action == Action::Create));
    let attempted = planned
        .changes
        .iter()
        .filter(|change| change.action != Action::NoOp)
        .count();

    // Nothing listens there: the other pilot account's create fails at once, as AWS being
    // unreachable would, without any retry.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let clients = AwsClients::load(&AwsSettings {
        fixed_endpoint: Some(endpoint),
        max_attempts: 1,
        ..AwsSettings::default()
    })
    .await;
    let options = ApplyOptions {
        retry: RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        },
        ..ApplyOptions::default()
    };
    let execution = execute(
        &clients,
        &planned,
        &options,
        Arc::new(Journal::disabled()),
        Arc::new(PanicsOnStart),
    )
    .await;

    // Every change that is not a no-op has its result, the panicked one included.
    assert_eq!(execution.results.len(), attempted);
    let doomed = execution
        .results
        .iter()
        .find(|result| result.change.principal_arn == DOOMED)
        .expect("the panicked change is in the report");
    let planned_change = pilot
        .iter()
        .find(|change| change.principal_arn == DOOMED)
        .unwrap();
    assert_eq!(
        &doomed.change, *planned_change,
        "the change it was carrying out"
    );
    match &doomed.outcome {
        Outcome::Failed { step, error, hint } => {
            assert_eq!(*step, "CreateGrant");
            assert!(
                error.message.contains("panicked")
                    && error
                        .message
                        .contains("a bug while carrying out the change"),
                "{}",
                error.message
            );
            assert!(hint.as_deref().is_some_and(|hint| hint.contains("bug")));
        }
        other => panic!("expected a failed change, got {other:?}"),
    }

    // The other pilot account went on and failed on its own (AWS unreachable), not as a panic.
    let sibling = execution
        .results
        .iter()
        .find(|result| result.change.phase == "pilot" && result.change.principal_arn != DOOMED)
        .expect("the other pilot change is in the report");
    match &sibling.outcome {
        Outcome::Failed { error, .. } => assert!(!error.message.contains("panicked")),
        other => panic!("expected the unreachable endpoint to fail it, got {other:?}"),
    }
    // The held-back phases are skipped, as in any run.
    assert!(
        execution
            .results
            .iter()
            .filter(|result| result.change.phase != "pilot")
            .all(|result| matches!(result.outcome, Outcome::Skipped { .. }))
    );
}
