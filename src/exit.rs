//! The one place where a command's outcome becomes an exit code, and an error gets its hint.

use std::io;

use crate::aws::organizations::DiscoverError;
use crate::aws::{AwsError, AwsErrorKind};
use crate::model::FeatureSet;
use crate::planner::PlanError;
use crate::planner::entitlement::EntitlementError;

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done; for `plan`, nothing to change.
    Success,
    /// `plan --detailed-exitcode` found changes to make.
    ChangesPending,
    /// `apply` finished with some changes failed.
    PartialFailure,
}

/// Exit codes of the contract.
pub mod code {
    /// Success, and `plan` with no changes.
    pub const SUCCESS: u8 = 0;
    /// Failure: bad plan, AWS error, stale saved plan, gate not met.
    pub const FAILURE: u8 = 1;
    /// Usage error (clap exits with it directly).
    pub const USAGE: u8 = 2;
    /// `plan --detailed-exitcode` with changes pending.
    pub const CHANGES_PENDING: u8 = 3;
    /// `apply` finished with some changes failed.
    pub const PARTIAL_FAILURE: u8 = 4;
    /// Interrupted by SIGINT (Ctrl-C).
    pub const INTERRUPTED: u8 = 130;
    /// Stopped by SIGTERM.
    pub const TERMINATED: u8 = 143;
}

/// The exit code of a finished command.
pub fn exit_code(result: &anyhow::Result<Outcome>) -> u8 {
    match result {
        Ok(Outcome::Success) => code::SUCCESS,
        Ok(Outcome::ChangesPending) => code::CHANGES_PENDING,
        Ok(Outcome::PartialFailure) => code::PARTIAL_FAILURE,
        Err(error) if is_broken_pipe(error) => code::SUCCESS,
        Err(error) if is_usage_error(error) => code::USAGE,
        Err(error) => match interrupted_by(error) {
            Some(signal) => signal.exit_code(),
            None => code::FAILURE,
        },
    }
}

/// The signal that stopped a failed command: named in its error, or (a command that failed after
/// one, such as `apply DIR`'s summary) received by the process.
fn interrupted_by(error: &anyhow::Error) -> Option<crate::interrupt::Signal> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<crate::interrupt::Interrupted>())
        .map(|interrupted| interrupted.signal)
        .or_else(crate::interrupt::Interrupt::received_by_process)
}

/// A command line clap accepted whose value a command cannot use (`status --timeout soon`): a
/// usage error, exit 2 like clap's own, raised before the command reads or changes anything.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    /// What is wrong, naming the flag and the value.
    pub message: String,
    /// How to write it.
    pub hint: String,
}

/// Whether the error is a usage error (see [`UsageError`]).
pub fn is_usage_error(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<UsageError>().is_some())
}

/// Whether the error is stdout closing under us (`entitle discover | head`): not a failure.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|io_error| io_error.kind() == io::ErrorKind::BrokenPipe)
}

/// What a person can do about an error, when we know.
pub fn hint(error: &anyhow::Error) -> Option<String> {
    // Before the journal's own hint (about its directory), which comes first in the chain.
    let newer_journal = error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .and_then(|io_error| io_error.get_ref())
            .is_some_and(|inner| inner.is::<crate::apply::journal::NewerJournal>())
    });
    if newer_journal {
        return Some(
            "upgrade entitle to the release that wrote this journal or a newer one (`entitle --version` shows this one), or point `--journal` elsewhere".to_owned(),
        );
    }
    for cause in error.chain() {
        if let Some(usage) = cause.downcast_ref::<UsageError>() {
            return Some(usage.hint.clone());
        }
        if let Some(interrupted) = cause.downcast_ref::<crate::interrupt::Interrupted>() {
            return Some(interrupted.hint().to_owned());
        }

        match cause.downcast_ref::<DiscoverError>() {
            Some(DiscoverError::NotInOrganization(_)) => {
                return Some(
                    "run entitle with credentials of an organisation's management account (or its License \
                     Manager delegated administrator); `entitle --sandbox discover` shows a demo organisation"
                        .to_owned(),
                );
            }
            // `Aws` is transparent: the AwsError itself does not appear in the chain.
            Some(DiscoverError::Aws(aws)) => return aws_hint(aws),
            _ => {}
        }
        if cause
            .downcast_ref::<crate::commands::NoTerminal>()
            .is_some()
        {
            return Some("pass `--auto-approve` to apply without asking (in CI, after reviewing `entitle plan`)".to_owned());
        }
        if let Some(refused) = cause.downcast_ref::<crate::commands::NoTerminalFor>() {
            return Some(format!(
                "pass `--auto-approve` to {} without asking (after reviewing what the command shows)",
                refused.what
            ));
        }
        if let Some(closed) = cause.downcast_ref::<crate::commands::GateClosed>() {
            return Some(closed.hint());
        }
        if cause
            .downcast_ref::<crate::commands::VerifyFailed>()
            .is_some()
        {
            return Some(
                "each account's flags and failures above name the fix; docs/verify.md explains them"
                    .to_owned(),
            );
        }
        if let Some(flagged) = cause.downcast_ref::<crate::commands::UsageFlagged>() {
            return Some(flagged.hint());
        }
        if let Some(altered) = cause.downcast_ref::<crate::commands::SavedPlanAltered>() {
            return Some(altered.hint().to_owned());
        }
        if let Some(stale) = cause.downcast_ref::<crate::planner::StalePlan>() {
            return Some(stale.hint().to_owned());
        }
        if let Some(error) = cause.downcast_ref::<PlanError>() {
            return error.hint();
        }
        if let Some(error) = cause.downcast_ref::<EntitlementError>() {
            return error.hint();
        }
        if let Some(error) = cause.downcast_ref::<crate::apply::prechecks::PrecheckError>()
            && let Some(hint) = error.hint()
        {
            return Some(hint);
        }
        if let Some(error) = cause.downcast_ref::<crate::planner::guardrails::GuardrailsError>() {
            return Some(error.hint());
        }
        if let Some(error) = cause.downcast_ref::<crate::apply::journal_store::JournalError>() {
            return error.hint();
        }
        if let Some(aws) = cause.downcast_ref::<AwsError>() {
            return aws_hint(aws);
        }
    }
    None
}

/// What a person can do about a failed AWS call, when we know (the missing permission, credentials).
pub fn aws_hint(error: &AwsError) -> Option<String> {
    if error.is_missing_profile() {
        return Some(
            "name one of the profiles listed (`--profile NAME` or `AWS_PROFILE`), or create it with \
             `aws configure --profile NAME` (`aws configure sso` for IAM Identity Center)"
                .to_owned(),
        );
    }
    if error.is_unreachable() {
        return Some(
            "check the endpoint: `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_<SERVICE>`, a profile's \
             `endpoint_url`) must name a server that is running, and the network must reach it; \
             unset them to reach AWS itself"
                .to_owned(),
        );
    }
    match error.kind {
        AwsErrorKind::AccessDenied => Some(format!(
            "the identity in use needs `{}:{}`; run entitle from the management account or the License Manager \
             delegated administrator, with a role that allows it (check with `aws sts get-caller-identity`)",
            error.service, error.operation
        )),
        AwsErrorKind::Configuration => Some(
            "set up AWS credentials (`aws configure`, `aws sso login`, or `--profile NAME`), or try the built-in \
             emulator with `--sandbox`"
                .to_owned(),
        ),
        AwsErrorKind::Throttled => Some(
            "AWS kept throttling after every retry; run again later, or lower `--concurrency`".to_owned(),
        ),
        AwsErrorKind::Transient => Some("a network or service failure; running the command again is safe".to_owned()),
        _ => None,
    }
}

/// The warning for a consolidated-billing organisation, where grants are not auto-accepted.
pub fn feature_set_warning(feature_set: &FeatureSet) -> Option<(String, String)> {
    crate::planner::doctor::feature_set_warning(feature_set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_the_contract() {
        assert_eq!(exit_code(&Ok(Outcome::Success)), 0);
        assert_eq!(exit_code(&Ok(Outcome::ChangesPending)), 3);
        assert_eq!(exit_code(&Ok(Outcome::PartialFailure)), 4);
        assert_eq!(exit_code(&Err(anyhow::anyhow!("boom"))), 1);
        let pipe = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(exit_code(&Err(pipe)), 0);
        for (signal, code) in [
            (crate::interrupt::Signal::Interrupt, 130),
            (crate::interrupt::Signal::Terminate, 143),
        ] {
            let stopped = anyhow::Error::new(crate::interrupt::Interrupted { signal })
                .context("could not apply");
            assert_eq!(exit_code(&Err(stopped)), code);
        }
    }

    #[test]
    fn access_denied_names_the_permission() {
        let error = anyhow::Error::new(AwsError {
            service: "organizations",
            operation: "ListRoots",
            code: Some("AccessDeniedException".into()),
            message: "denied".into(),
            request_id: None,
            kind: AwsErrorKind::AccessDenied,
        });
        assert!(hint(&error).unwrap().contains("`organizations:ListRoots`"));
    }
}
