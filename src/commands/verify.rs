//! `entitle verify`: for each targeted account (or a sample), assume the member role, ask Bedrock
//! whether the account can use the plan's model in each region, and report it beside the grant
//! License Manager shows. The decisions are `planner::verify`'s; the printing `ui::verify`'s. It
//! changes nothing, so it takes no lock and writes no journal (assumed credentials never leave
//! `aws::member`).

use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::observe::{observe, read_plan, unix_now};
use super::{Context, Reported};
use crate::aws::{AwsClients, AwsError, AwsErrorKind, bedrock, identity, member};
use crate::cli::{ExpectArg, VerifyArgs};
use crate::exit::{Outcome, aws_hint};
use crate::limiter::{LimiterConfig, RateLimiter};
use crate::model::AccountId;
use crate::model::bedrock::{ModelAvailability, TABLE_LOCATION, bedrock_product};
use crate::planner::resolve_targets;
use crate::planner::verify::{
    Candidate, CheckFailure, Expect, VerifyInputs, applied_through, candidates, report, sample,
};
use crate::ui::verify::{VerifyDocument, VerifyProgress, render_human};

/// The role assumed when neither `--member-role` nor the plan names one: the role AWS
/// Organizations creates in every account it creates.
pub const DEFAULT_MEMBER_ROLE: &str = "OrganizationAccountAccessRole";

/// `1 account disagrees`, `2 accounts disagree`.
fn agreeing(disagree: usize) -> String {
    if disagree == 1 {
        "1 account disagrees".to_owned()
    } else {
        format!("{disagree} accounts disagree")
    }
}

/// Some verified account does not agree with the plan's intent (or could not be verified).
#[derive(Debug, thiserror::Error)]
#[error(
    "{} with the plan and {failed} could not be verified (of {checked})",
    agreeing(*.disagree)
)]
pub struct VerifyFailed {
    /// Accounts with a flag.
    pub disagree: usize,
    /// Accounts not verified.
    pub failed: usize,
    /// Accounts asked about.
    pub checked: usize,
}

/// Verifies the rollout's accounts.
pub async fn run(context: &Context, args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let rollout = read_plan(context, &args.plan)?;
    let phase_index = match &args.phase {
        Some(phase) => Some(rollout.phase_index(phase).ok_or_else(|| {
            let names: Vec<&str> = rollout
                .phases
                .iter()
                .map(|known| known.name.value.as_str())
                .collect();
            anyhow!(
                "the plan has no phase `{phase}`; its phases are: {}",
                names.join(", ")
            )
        })?),
        None => None,
    };
    let clients = context.clients().await;
    let regions = if args.regions.is_empty() {
        vec![bedrock::default_region(&clients).ok_or_else(|| {
            anyhow!("no region to ask Bedrock in: the AWS configuration names none")
        })?]
    } else {
        let mut regions = args.regions.clone();
        regions.dedup();
        regions
    };
    let caller = identity::caller(&clients)
        .await
        .context("could not tell who the credentials belong to")?;
    let (discovery, observed) = observe(context, &clients, &rollout).await?;
    let model_id = match &rollout.entitlement.model {
        Some(model) => model.clone(),
        None => bedrock_product(&observed.license.product_sku)
            .map(|entry| entry.primary_model_id().to_owned())
            .ok_or_else(|| {
                anyhow!(
                    "the model catalog does not know product `{}` (license `{}`), so entitle cannot tell which Bedrock model to ask about; `entitle models` lists the products it knows (the catalog is {TABLE_LOCATION})",
                    observed.license.product_sku,
                    observed.license.arn
                )
            })?,
    };
    let resolved = resolve_targets(&rollout, &discovery.tree).map_err(|errors| {
        context.printer.diagnostics(&errors);
        anyhow::Error::from(Reported)
    })?;
    let everyone = candidates(&resolved, &discovery.tree);
    let chosen = match args.sample {
        Some(size) => sample(&everyone, usize::try_from(size).unwrap_or(usize::MAX)),
        None => everyone.clone(),
    };
    let role = args
        .member_role
        .clone()
        .or_else(|| rollout.entitlement.member_role.clone())
        .unwrap_or_else(|| DEFAULT_MEMBER_ROLE.to_owned());
    let asker = Asker {
        clients: clients.clone(),
        partition: member::partition_of(&caller.arn)
            .unwrap_or("aws")
            .to_owned(),
        caller_account: caller.account.clone(),
        role: role.clone(),
        session_name: format!("entitle-verify-{}", unix_now()),
        model_id: model_id.clone(),
        regions: regions.clone(),
        assume_pace: Arc::new(RateLimiter::new(LimiterConfig::default())),
    };
    let answers = ask_all(context, &asker, chosen, usize::from(args.concurrency)).await;
    let expect = match args.expect {
        ExpectArg::Present => Expect::Present,
        ExpectArg::Absent => Expect::Absent,
    };
    let inputs = VerifyInputs {
        rollout: &rollout,
        observed: &observed,
        model_id: &model_id,
        regions: &regions,
        expect,
        applied: phase_index.or_else(|| applied_through(&rollout, &observed)),
        targeted: everyone.len(),
        sampled: args
            .sample
            .is_some_and(|size| (size as usize) < everyone.len()),
    };
    let verified = report(&inputs, answers);
    let document = VerifyDocument::new(&verified, &role, unix_now());
    let style = &context.printer.style;
    context
        .printer
        .result(&document, |out| render_human(&document, style, out))?;
    if verified.agrees() {
        Ok(Outcome::Success)
    } else {
        Err(VerifyFailed {
            disagree: verified.totals.disagree,
            failed: verified.totals.failed,
            checked: verified.totals.checked,
        }
        .into())
    }
}

/// What every account's check needs.
#[derive(Debug, Clone)]
struct Asker {
    clients: AwsClients,
    partition: String,
    caller_account: String,
    role: String,
    session_name: String,
    model_id: String,
    regions: Vec<String>,
    /// STS AssumeRole's own adaptive limiter (the STS client carries no pacing tag; Bedrock's
    /// calls are paced by its client).
    assume_pace: Arc<RateLimiter>,
}

type Answer = Result<Vec<ModelAvailability>, CheckFailure>;

/// Checks every account, `concurrency` at a time, with a progress bar.
async fn ask_all(
    context: &Context,
    asker: &Asker,
    chosen: Vec<Candidate>,
    concurrency: usize,
) -> Vec<(Candidate, Answer)> {
    let progress = Arc::new(VerifyProgress::new(&context.printer, chosen.len()));
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for candidate in chosen {
        let asker = asker.clone();
        let permits = permits.clone();
        let progress = progress.clone();
        tasks.spawn(async move {
            let answer = match permits.acquire_owned().await {
                Ok(_permit) => asker.check(&candidate.account).await,
                Err(_) => Err(CheckFailure {
                    step: "AssumeRole".to_owned(),
                    region: None,
                    error: "the check was cancelled".to_owned(),
                    hint: "run `entitle verify` again".to_owned(),
                }),
            };
            progress.done(answer.is_err());
            (candidate, answer)
        });
    }
    let mut answers = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(answer) => answers.push(answer),
            // A panicking check is a bug: say so rather than lose the account silently.
            Err(error) => tracing::error!(%error, "an account's check ended abnormally"),
        }
    }
    progress.finish();
    answers
}

impl Asker {
    /// Assumes the member role in `account` (the caller's own account needs none) and asks
    /// Bedrock in every region.
    async fn check(&self, account: &AccountId) -> Answer {
        let role_arn = member::role_arn(&self.partition, account, &self.role);
        let session = if account.as_str() == self.caller_account {
            None
        } else {
            let sent = self.assume_pace.acquire().await;
            let assumed =
                member::assume(&self.clients, account, &role_arn, &self.session_name).await;
            match &assumed {
                Err(error) if error.kind == AwsErrorKind::Throttled => {
                    self.assume_pace.on_throttle(sent);
                }
                _ => self.assume_pace.on_success(sent),
            }
            match assumed {
                Ok(session) => Some(session),
                Err(error) => {
                    return Err(CheckFailure {
                        step: "AssumeRole".to_owned(),
                        region: None,
                        hint: assume_hint(&error, account, &role_arn),
                        error: error.to_string(),
                    });
                }
            }
        };
        let mut answers = Vec::with_capacity(self.regions.len());
        for region in &self.regions {
            let answer = match &session {
                Some(session) => bedrock::model_availability(session, region, &self.model_id).await,
                None => {
                    bedrock::own_model_availability(&self.clients, region, &self.model_id).await
                }
            };
            match answer {
                Ok(answer) => answers.push(answer),
                Err(error) => {
                    return Err(CheckFailure {
                        step: "GetFoundationModelAvailability".to_owned(),
                        region: Some(region.clone()),
                        hint: bedrock_hint(&error, &role_arn, &self.model_id),
                        error: error.to_string(),
                    });
                }
            }
        }
        Ok(answers)
    }
}

/// What to do when the member role cannot be assumed in one account.
fn assume_hint(error: &AwsError, account: &AccountId, role_arn: &str) -> String {
    match error.kind {
        AwsErrorKind::AccessDenied | AwsErrorKind::NotFound | AwsErrorKind::Invalid => format!(
            "entitle verifies as the account through `{role_arn}`: create that role in account `{account}` with a trust policy for the management account and `entitle iam-policy --for member` as its permissions (docs/iam-policy.md), let the management account's identity assume it (`entitle iam-policy --for verify`), or pass another `--member-role`"
        ),
        _ => aws_hint(error).unwrap_or_else(|| {
            "run `entitle verify` again (with `--concurrency 2` if AWS throttled)".to_owned()
        }),
    }
}

/// What to do when Bedrock refuses to answer in one account.
fn bedrock_hint(error: &AwsError, role_arn: &str, model_id: &str) -> String {
    match error.kind {
        AwsErrorKind::AccessDenied => format!(
            "the role `{role_arn}` needs `bedrock:GetFoundationModelAvailability` (`entitle iam-policy --for member`); an SCP may deny it too"
        ),
        AwsErrorKind::NotFound | AwsErrorKind::Invalid => format!(
            "Bedrock does not know `{model_id}` there: check the model id (`entitle models`) and the region (`--regions`)"
        ),
        _ => aws_hint(error).unwrap_or_else(|| {
            "run `entitle verify` again (with `--concurrency 2` if AWS throttled)".to_owned()
        }),
    }
}
