//! The command-line contract: every command, flag and help text, as clap definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Roll an AWS Marketplace subscription (such as Anthropic Claude on Amazon Bedrock) out to the
/// accounts of an AWS Organization with License Manager grants: plan, apply, activate, track and
/// clean up, the way Terraform rolls out infrastructure.
#[derive(Debug, Parser)]
#[command(
    name = "entitle",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Run `entitle --sandbox discover` to try it against the built-in emulator; nothing reaches AWS."
)]
pub struct Cli {
    /// Options that apply to every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts, before or after the command name.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Use this named profile from the AWS config files instead of the default chain.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Run against the built-in emulator, started in process, with its state in STATE_FILE
    /// (default `.entitle/sandbox.json`, seeded with a demo organisation on first use).
    /// Nothing reaches AWS, whatever the environment says.
    #[arg(
        long,
        global = true,
        value_name = "STATE_FILE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ".entitle/sandbox.json"
    )]
    pub sandbox: Option<PathBuf>,

    /// How results are written to stdout: for people, or a versioned JSON document for scripts.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,

    /// Never draw progress bars (they are drawn only on a terminal anyway).
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// When to use colours; `auto` means on a terminal unless `NO_COLOR` is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Say more on stderr (repeat for more detail: -v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Say nothing on stderr but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Where the rollouts' journals live (audit trail, bake clocks, runs, the lock): a directory
    /// (default `.entitle/journal`), one `.jsonl` file, or `s3://BUCKET/PREFIX` shared by a team
    /// and its pipelines. A plan's `[journal] url` is used when this is not given.
    #[arg(long, global = true, value_name = "LOCATION", env = "ENTITLE_JOURNAL")]
    pub journal: Option<String>,
}

/// The format of stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Text for people.
    Human,
    /// A JSON document with a `format_version`.
    Json,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the organisation as entitle sees it: the OU tree and every account with its id,
    /// name, state, OU path and tags.
    Discover(DiscoverArgs),
    /// Show what `apply` would change: grants to create, activate, update or delete, and why.
    Plan(PlanArgs),
    /// Make the changes of a plan: create and activate grants, phase by phase.
    Apply(ApplyArgs),
    /// Show every targeted account's grant and activation status, and each phase's gate.
    Status(StatusArgs),
    /// Prove access account by account: assume the member role in each targeted account (or a
    /// sample), ask Bedrock whether it can use the plan's model (GetFoundationModelAvailability)
    /// and set that beside the grant License Manager shows. Exit 0 when every account verified
    /// agrees with the plan's intent, 1 otherwise (docs/verify.md).
    Verify(VerifyArgs),
    /// List the model catalog: Marketplace product ids and the Bedrock model ids they sell, with
    /// their sources and what was verified.
    Models,
    /// Usage and spend of the rollout's product per account from Cost Explorer, before and after
    /// each account's activation, with the rate it should pay; flags accounts paying the list
    /// price while targeted, using the model without a grant, or still billed after cleanup.
    /// Exit 0 when nothing is flagged, 1 when something is (docs/usage.md).
    Usage(UsageArgs),
    /// Activate the rollout's grants from the management account (for `activation = "member"`
    /// rollouts that decide to activate centrally after all).
    Activate(ActivateArgs),
    /// Find and delete the grants of cancelled or expired Marketplace subscriptions.
    Cleanup(CleanupArgs),
    /// Remove a stale lock of a rollout (left by a run that was killed, or whose runner died),
    /// after showing who holds it and asking for the rollout's name. The removal is journalled.
    ForceUnlock(ForceUnlockArgs),
    /// Check the prerequisites (credentials, organisation, trusted access, License Manager
    /// settings, service-linked roles, the Anthropic use-case form, with a member role that it
    /// can be assumed) and, with a plan, the license and targets; say how to fix what fails, and
    /// with `--fix` fix what it can. Exit 0 when nothing fails (warnings allowed), 1 otherwise.
    Doctor(DoctorArgs),
    /// Bedrock's one-time Anthropic use-case form: submit it from the management account (every
    /// member account inherits it), or show the one on file.
    #[command(subcommand)]
    UseCase(UseCaseCommand),
    /// Print the least-privilege IAM policy the chosen commands need.
    IamPolicy(IamPolicyArgs),
    /// Print a service control policy that keeps member accounts from subscribing on their own
    /// (and, optionally, from invoking models the plan does not cover). Prints; never attaches.
    Guardrails(GuardrailsArgs),
    /// Run or drive the built-in AWS emulator.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

/// `entitle discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Do not read account tags (saves one API call per account).
    #[arg(long)]
    pub no_tags: bool,
    /// Organizations pages read at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

/// `entitle plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// The rollout plan (`plans/*.toml`).
    #[arg(value_name = "PLAN.toml")]
    pub plan: PathBuf,
    /// Plan the phases up to and including this one.
    #[arg(long, value_name = "NAME")]
    pub phase: Option<String>,
    /// Plan the rollout's teardown: every grant it owns deleted, later phases first.
    #[arg(long, conflicts_with = "phase")]
    pub destroy: bool,
    /// Save the plan to FILE, for `apply` to carry out exactly.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when nothing would change, 3 when changes are pending, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// `entitle apply`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// A rollout plan, or a plan saved by `entitle plan --out`.
    #[arg(value_name = "PLAN.toml|SAVED_PLAN")]
    pub plan: PathBuf,
    /// Apply the phases up to and including this one.
    #[arg(long, value_name = "NAME")]
    pub phase: Option<String>,
    /// Tear the rollout down: delete every grant it owns, later phases first.
    #[arg(long, conflicts_with = "phase")]
    pub destroy: bool,
    /// How the changes are carried out.
    #[command(flatten)]
    pub run: ChangeArgs,
}

/// What `apply` and `activate` share: confirmation, pace, gates and the journal.
#[derive(Debug, Clone, Args)]
pub struct ChangeArgs {
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Changes carried out at once (each License Manager operation is also paced by its own
    /// adaptive rate limiter, which slows down when AWS throttles).
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Go on with phases whose predecessor's gate (min_active, bake) does not hold yet. Recorded
    /// in the journal.
    #[arg(long, conflicts_with = "ignore_gate")]
    pub ignore_gates: bool,
    /// Let the gate of this one phase through although it does not hold (repeatable): the phase
    /// after it is applied. Recorded in the journal.
    #[arg(long, value_name = "PHASE")]
    pub ignore_gate: Vec<String>,
    /// How long to wait for new grants to finish distributing (e.g. `90s`, `10m`; `0s`: do not
    /// wait). A grant still distributing then is left "awaiting distribution" (not failed); the
    /// next apply or activate activates it.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_wait)]
    pub distribution_wait: std::time::Duration,
    /// The IAM role to assume in member accounts (e.g. `OrganizationAccountAccessRole`) to
    /// accept account grants waiting in PENDING_ACCEPT [default: the plan's `member_role`; none:
    /// such grants wait for the account].
    #[arg(long, value_name = "NAME", value_parser = parse_role_name)]
    pub member_role: Option<String>,
}

fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text).map_err(|error| {
        format!("`{text}` is not a duration ({error}): write e.g. `0s`, `90s`, `10m`, `2h`")
    })
}

fn parse_role_name(text: &str) -> Result<String, String> {
    if crate::model::plan::is_role_name(text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not an IAM role name: 1 to 64 letters, digits or `+=,.@_-`"
        ))
    }
}

/// `entitle verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The rollout plan.
    #[arg(value_name = "PLAN.toml")]
    pub plan: PathBuf,
    /// The plan up to and including this phase is meant to be in place (default: as far as the
    /// rollout holds grants); accounts of later phases must not be entitled.
    #[arg(long, value_name = "NAME")]
    pub phase: Option<String>,
    /// The IAM role to assume in member accounts [default: the plan's `member_role`, else
    /// `OrganizationAccountAccessRole`].
    #[arg(long, value_name = "NAME", value_parser = parse_role_name)]
    pub member_role: Option<String>,
    /// The regions to ask Bedrock in, comma-separated [default: the caller's region].
    #[arg(long, value_name = "R,...", value_delimiter = ',', value_parser = parse_region)]
    pub regions: Vec<String>,
    /// Verify only N accounts, spread over the phases and OUs (every phase and OU before a
    /// second account of any).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub sample: Option<u32>,
    /// Accounts verified at once (each Bedrock call is also paced by its own rate limiter).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// `present`: the applied phases' accounts can use the model and the others cannot;
    /// `absent` (after cleanup or destroy): no targeted account can.
    #[arg(long, value_enum, default_value_t = ExpectArg::Present)]
    pub expect: ExpectArg,
}

/// `verify --expect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExpectArg {
    /// The plan's applied phases are in place.
    Present,
    /// Nothing is in place any more.
    Absent,
}

fn parse_region(text: &str) -> Result<String, String> {
    let text = text.trim();
    let parts: Vec<&str> = text.split('-').collect();
    let valid = parts.len() >= 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|last| last.chars().all(|c| c.is_ascii_digit()));
    if valid {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not an AWS region: write it like `us-east-1` or `eu-west-3`"
        ))
    }
}

/// `entitle status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The rollout plan.
    #[arg(value_name = "PLAN.toml")]
    pub plan: PathBuf,
    /// Show the phases up to and including this one.
    #[arg(long, value_name = "NAME")]
    pub phase: Option<String>,
    /// Refresh until every gate holds, or until --timeout.
    #[arg(long)]
    pub watch: bool,
    /// How long --watch waits, e.g. `30m`, `2h`.
    #[arg(long, value_name = "DURATION", requires = "watch")]
    pub timeout: Option<String>,
    /// Seconds between refreshes with --watch.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, requires = "watch", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,
    /// Group accounts by OU in a tree instead of listing them per phase.
    #[arg(long)]
    pub tree: bool,
    /// List only the accounts in these states (repeatable or comma-separated); counts and
    /// gates stay those of every account.
    #[arg(long, value_name = "STATE", value_delimiter = ',')]
    pub only: Vec<StatusFilter>,
    /// Counts per phase and the gates only: no account lines (in JSON, `accounts` is empty).
    #[arg(long)]
    pub summary: bool,
}

/// The states `entitle status --only` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatusFilter {
    /// The grant is ACTIVE.
    Active,
    /// Every account whose grant is not ACTIVE (waiting, failed or missing).
    NotActive,
    /// The grant is on the way: PENDING_WORKFLOW, PENDING_ACCEPT, DISABLED, WORKFLOW_COMPLETED.
    Waiting,
    /// The grant can never serve: REJECTED, FAILED_WORKFLOW, DELETED, PENDING_DELETE.
    Failed,
    /// No grant of the rollout reaches the account.
    Missing,
}

impl StatusFilter {
    /// How `--only` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::NotActive => "not-active",
            Self::Waiting => "waiting",
            Self::Failed => "failed",
            Self::Missing => "missing",
        }
    }
}

/// `entitle usage`.
#[derive(Debug, Args)]
pub struct UsageArgs {
    /// The rollout plan.
    #[arg(value_name = "PLAN.toml")]
    pub plan: PathBuf,
    /// The first day of the window, YYYY-MM-DD (UTC) [default: 30 days before --until].
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// The last day of the window, YYYY-MM-DD (UTC), included [default: today].
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// List the accounts of the phases up to and including this one (and those outside the
    /// rollout).
    #[arg(long, value_name = "NAME")]
    pub phase: Option<String>,
    /// Cost Explorer's periods.
    #[arg(long, value_enum, default_value_t = UsageGranularity::Daily)]
    pub granularity: UsageGranularity,
    /// The product's SERVICE name in Cost Explorer [default: the model's name from entitle's
    /// product table plus ` (Amazon Bedrock Edition)`, e.g. `Claude Sonnet 4.5 (Amazon Bedrock
    /// Edition)`].
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// Also write one CSV row per (account, usage type) to FILE (`-`: stdout, instead of the
    /// report); the columns are in docs/usage.md.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
}

/// Cost Explorer's periods for `entitle usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UsageGranularity {
    /// One period per day: the activation day splits before from after.
    Daily,
    /// One period per month: the month of an activation is shown apart, not judged.
    Monthly,
}

/// `entitle activate`.
#[derive(Debug, Args)]
pub struct ActivateArgs {
    /// The rollout plan.
    #[arg(value_name = "PLAN.toml")]
    pub plan: PathBuf,
    /// Activate the phases up to and including this one.
    #[arg(long, value_name = "NAME")]
    pub phase: Option<String>,
    /// How the activations are carried out.
    #[command(flatten)]
    pub run: ChangeArgs,
}

/// `entitle cleanup`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("scope").multiple(false))]
pub struct CleanupArgs {
    /// Only the grants of this Marketplace agreement's license.
    #[arg(long, value_name = "ID", group = "scope")]
    pub agreement: Option<String>,
    /// Only the grants of this Marketplace product's license (`prod-...`).
    #[arg(long, value_name = "PROD_ID", group = "scope")]
    pub product: Option<String>,
    /// Only the grants of this license.
    #[arg(long, value_name = "ARN", group = "scope")]
    pub license: Option<String>,
    /// Also delete grants that no entitle rollout owns.
    #[arg(long)]
    pub include_unowned: bool,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

/// `entitle force-unlock`.
#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The rollout plan whose lock to remove (its organisation is the one the credentials reach).
    #[arg(
        value_name = "PLAN.toml",
        required_unless_present = "rollout",
        conflicts_with = "rollout"
    )]
    pub plan: Option<PathBuf>,
    /// The rollout by name instead of a plan file (`cleanup` for `entitle cleanup`'s lock).
    #[arg(long, value_name = "NAME")]
    pub rollout: Option<String>,
    /// Do not ask for the rollout's name (required without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

/// `entitle doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also check this rollout plan: it parses, its license is AVAILABLE and its agreement
    /// ACTIVE, its operations are allowed, grant headroom under 2,000, targeted accounts ACTIVE,
    /// and which accounts hold their own subscription to the product.
    #[arg(value_name = "PLAN.toml")]
    pub plan: Option<PathBuf>,
    /// Also check that this role can be assumed in a few member accounts spread over the OUs
    /// [default: the plan's `member_role`, if any].
    #[arg(long, value_name = "NAME")]
    pub member_role: Option<String>,
    /// Fix what can be fixed from the management account after a typed confirmation: trusted
    /// access for License Manager and AWS Marketplace, License Manager's link to the
    /// organisation, and with `--delegated-admin` License Manager's delegated administrator.
    /// Never enables all features. Journalled; the checks run again afterwards.
    #[arg(long)]
    pub fix: bool,
    /// With `--fix`: register this account as License Manager's delegated administrator.
    #[arg(long, value_name = "ACCOUNT_ID", requires = "fix")]
    pub delegated_admin: Option<String>,
    /// With `--fix`: do not ask (required without a terminal).
    #[arg(long, requires = "fix")]
    pub auto_approve: bool,
}

/// `entitle use-case`.
#[derive(Debug, Subcommand)]
pub enum UseCaseCommand {
    /// Validate a use-case form (JSON), show it, and after a typed confirmation submit it with
    /// Bedrock PutUseCaseForModelAccess (docs/use-case-form.example.json is an example).
    Submit(UseCaseSubmitArgs),
    /// Show the use-case form on file for the caller's account (GetUseCaseForModelAccess).
    Show,
}

/// `entitle use-case submit`.
#[derive(Debug, Args)]
pub struct UseCaseSubmitArgs {
    /// The form: a JSON object with companyName, companyWebsite, intendedUsers, industryOption,
    /// otherIndustryOption and useCases.
    #[arg(long, value_name = "FILE")]
    pub form: PathBuf,
    /// Do not ask (required without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

/// `entitle iam-policy`.
#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    /// Which commands the policy must allow.
    #[arg(long = "for", value_enum, value_name = "COMMANDS", default_value_t = PolicyFor::All)]
    pub for_commands: PolicyFor,
    /// The partition of the ARNs in the policy (the organisation's).
    #[arg(long, value_enum, default_value_t = Partition::Aws)]
    pub partition: Partition,
}

/// An AWS partition: the first field of every ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Partition {
    /// AWS Regions.
    #[value(name = "aws")]
    Aws,
    /// AWS GovCloud (US).
    #[value(name = "aws-us-gov")]
    AwsUsGov,
    /// China Regions.
    #[value(name = "aws-cn")]
    AwsCn,
}

impl Partition {
    /// The partition as ARNs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::AwsUsGov => "aws-us-gov",
            Self::AwsCn => "aws-cn",
        }
    }
}

/// The command groups an IAM policy can be printed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyFor {
    /// `discover`, `plan`, `status`, `doctor`: read-only.
    Plan,
    /// What `plan` needs, plus creating, activating and deleting grants (`apply`, `activate`).
    Apply,
    /// What `cleanup` needs: agreements, licenses, and deleting grants.
    Cleanup,
    /// What `verify` needs: the reads it plans with, and assuming the member role.
    Verify,
    /// What `usage` needs: the reads it plans with, and Cost Explorer's GetCostAndUsage.
    Usage,
    /// What `doctor --fix` and `use-case submit` need: doctor's reads, and the writes that fix
    /// the organisation's prerequisites and submit the use-case form.
    Fix,
    /// Every command.
    All,
    /// The role entitle assumes in member accounts (`--member-role`) to accept their grants,
    /// and that `verify` asks Bedrock as; attach it there. The role's trust policy is in
    /// docs/iam-policy.md.
    Member,
}

/// `entitle guardrails`.
#[derive(Debug, Args)]
pub struct GuardrailsArgs {
    /// The rollout plan whose entitlement the guardrails protect.
    #[arg(value_name = "PLAN.toml")]
    pub plan: PathBuf,
    /// Also deny `bedrock:InvokeModel*` on every model the plan's entitlement does not cover.
    /// Refused for a product missing from entitle's product-to-model table
    /// (`src/model/bedrock.rs`, listed in docs/guardrails.md).
    #[arg(long)]
    pub deny_other_models: bool,
    /// The partition of the model ARNs (the organisation's).
    #[arg(long, value_enum, default_value_t = Partition::Aws)]
    pub partition: Partition,
}

/// `entitle sandbox ...`.
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Serve the emulator over HTTP until interrupted, and print the environment to point
    /// the AWS SDKs and CLI at it.
    Serve(SandboxServeArgs),
    /// The buyer cancels a Marketplace agreement: its license turns DELETED, its grants stay.
    CancelAgreement(AgreementArgs),
    /// A Marketplace agreement expires: its license turns EXPIRED, its grants stay.
    ExpireAgreement(AgreementArgs),
    /// A member account accepts its PENDING_ACCEPT grant (it becomes DISABLED).
    AcceptGrant(MemberGrantArgs),
    /// A member account activates its received grant (it becomes ACTIVE).
    ActivateGrant(MemberGrantArgs),
    /// A member account rejects its received grant (it becomes REJECTED).
    RejectGrant(MemberGrantArgs),
    /// An account joins the organisation (organisation and OU grants reach it).
    JoinAccount(JoinAccountArgs),
    /// An account moves to another OU or to the root.
    MoveAccount(MoveAccountArgs),
    /// An account is suspended.
    SuspendAccount(AccountArgs),
    /// A member account subscribes to a Marketplace product itself: its own license then
    /// stands in the way of activating a granted license of the same product.
    SubscribeAccount(SubscribeAccountArgs),
    /// A member role is deleted from an account: STS AssumeRole into it is refused from then on.
    /// A service-linked role's name (`AWSServiceRoleForAWSLicenseManagerRole`,
    /// `AWSServiceRoleForMarketplaceLicenseManagement`) deletes that role: IAM GetRole then
    /// answers NoSuchEntity.
    RemoveRole(RemoveRoleArgs),
    /// Bedrock answers entitlementAvailability NOT_AVAILABLE for an account (one model, or
    /// every model) whatever its grants; `--restore` undoes it.
    BreakAvailability(BreakAvailabilityArgs),
    /// Delete an account's Anthropic use-case form (default: the management account's, which
    /// every member inherits).
    RemoveUseCaseForm(RemoveUseCaseFormArgs),
    /// Undo the organisation's prerequisites: trusted access for License Manager and
    /// Marketplace license management off (their delegated administrators deregistered), and
    /// License Manager's organisation link off.
    BreakPrerequisites(BreakPrerequisitesArgs),
    /// Every grant still in PENDING_WORKFLOW finishes distributing now, and every
    /// PENDING_DELETE grant turns DELETED.
    SettleWorkflows(SandboxTarget),
    /// Show the calls a running emulator has served, per operation.
    Stats(SandboxEndpoint),
    /// An account uses a Marketplace product: the units are priced at the private rate when
    /// the account held an ACTIVE grant of the product at the end of that day (now, for today),
    /// else at the list rate, and Cost Explorer's GetCostAndUsage reports them.
    RecordUsage(RecordUsageArgs),
    /// Set a product's list and private-offer rates (USD per unit) used by `record-usage`.
    SetRates(SetRatesArgs),
}

impl SandboxCommand {
    /// Hands the global `--sandbox=STATE_FILE` to an admin action, whose own `--state` wins.
    pub fn with_global_state(mut self, state: Option<&std::path::Path>) -> Self {
        let target = match &mut self {
            SandboxCommand::Serve(_) | SandboxCommand::Stats(_) => None,
            SandboxCommand::CancelAgreement(args) | SandboxCommand::ExpireAgreement(args) => {
                Some(&mut args.target)
            }
            SandboxCommand::AcceptGrant(args)
            | SandboxCommand::ActivateGrant(args)
            | SandboxCommand::RejectGrant(args) => Some(&mut args.target),
            SandboxCommand::JoinAccount(args) => Some(&mut args.target),
            SandboxCommand::MoveAccount(args) => Some(&mut args.target),
            SandboxCommand::SuspendAccount(args) => Some(&mut args.target),
            SandboxCommand::SubscribeAccount(args) => Some(&mut args.target),
            SandboxCommand::RemoveRole(args) => Some(&mut args.target),
            SandboxCommand::BreakAvailability(args) => Some(&mut args.target),
            SandboxCommand::RemoveUseCaseForm(args) => Some(&mut args.target),
            SandboxCommand::BreakPrerequisites(args) => Some(&mut args.target),
            SandboxCommand::SettleWorkflows(target) => Some(target),
            SandboxCommand::RecordUsage(args) => Some(&mut args.target),
            SandboxCommand::SetRates(args) => Some(&mut args.target),
        };
        if let Some(target) = target {
            target.global_state = state.map(std::path::Path::to_path_buf);
        }
        self
    }
}

/// Which emulator an admin action changes: a state file, or a running server.
#[derive(Debug, Args, Clone)]
pub struct SandboxTarget {
    /// The state file to change (when no server is running on it); default: the global
    /// `--sandbox=STATE_FILE`, else `.entitle/sandbox.json`.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// The global `--sandbox=STATE_FILE`, filled in after parsing (see
    /// [`SandboxCommand::with_global_state`]).
    #[arg(skip)]
    pub global_state: Option<PathBuf>,
    /// A running `entitle sandbox serve` to change instead, e.g. `http://127.0.0.1:4566`.
    #[arg(long, value_name = "URL", conflicts_with = "state")]
    pub endpoint: Option<String>,
}

/// A running emulator.
#[derive(Debug, Args, Clone)]
pub struct SandboxEndpoint {
    /// The server, e.g. `http://127.0.0.1:4566`.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:4566")]
    pub endpoint: String,
}

/// An agreement to end.
#[derive(Debug, Args)]
pub struct AgreementArgs {
    /// The agreement id (`agmt-...`).
    #[arg(value_name = "AGREEMENT_ID")]
    pub agreement: String,
    /// Which emulator.
    #[command(flatten)]
    pub target: SandboxTarget,
}

/// A member account's received grant.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).multiple(false))]
pub struct MemberGrantArgs {
    /// The member account.
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub account: String,
    /// The grant, by ARN.
    #[arg(long, value_name = "ARN", group = "which")]
    pub grant: Option<String>,
    /// Or the license: the member's newest live grant of it.
    #[arg(long, value_name = "ARN", group = "which")]
    pub license: Option<String>,
    /// Which emulator.
    #[command(flatten)]
    pub target: SandboxTarget,
}

/// A new account.
#[derive(Debug, Args)]
pub struct JoinAccountArgs {
    /// The new account's id (12 digits).
    #[arg(value_name = "ACCOUNT_ID")]
    pub account: String,
    /// Its name.
    #[arg(long)]
    pub name: Option<String>,
    /// The root or OU id it joins under (default: the root).
    #[arg(long, value_name = "PARENT_ID")]
    pub parent: Option<String>,
    /// A tag, `KEY=VALUE` (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Which emulator.
    #[command(flatten)]
    pub target: SandboxTarget,
}

/// An account to move.
#[derive(Debug, Args)]
pub struct MoveAccountArgs {
    /// The account.
    #[arg(value_name = "ACCOUNT_ID")]
    pub account: String,
    /// The root or OU id it moves under.
    #[arg(long, value_name = "PARENT_ID")]
    pub parent: String,
    /// Which emulator.
    #[command(flatten)]
    pub target: SandboxTarget,
}

/// One account.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// The account.
    #[arg(value_name = "ACCOUNT_ID")]
    pub account: String,
    /// Which emulator.
    #[command(flatten)]
    pub target: SandboxTarget,
}

/// A member's own subscription.
#[derive(Debug, Args)]
pub struct SubscribeAccountArgs {
    /// The account that subscribes (12 digits).
    #[arg(value_name = "ACCOUNT_ID")]
    pub account: String,
    /// The Marketplace product id (`prod-...`).
    #[arg(long, value_name = "PRODUCT_ID")]
    pub product: String,
    /// Which emulator.
    #[command(flatten)]
    pub target: SandboxTarget,
}

/// A role to delete from an account.
#[derive(Debug, Args)]
pub struct RemoveRoleArgs {
    /// The account (12 digits).
    #[arg(value_name = "ACCOUNT_ID")]
    pub account: String,
    /// The role's name, e.g. `OrganizationAccountAccessRole`.
    #[arg(long, value_name = "NAME")]
    pub role: String,
    /// Which emulator.
    #[command(flatten)]
    pub target: SandboxTarget,
}

/// `entitle sandbox break-availability`.
#[derive(Debug, Args)]
pub struct BreakAvailabilityArgs {
    /// The account (12 digits).
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub account: String,
    /// The Bedrock model id, e.g. `anthropic.claude-sonnet-4-5-20250929-v1:0` (default: every
    /// model).
    #[arg(long, value_name = "MODEL_ID")]
    pub model: Option<String>,
    /// Undo an earlier break (of this model, or of every model).
    #[arg(long)]
    pub restore: bool,
    /// Which emulator.
    #[command(flatten)]
    pub target: SandboxTarget,
}

/// `entitle sandbox remove-use-case-form`.
#[derive(Debug, Args)]
pub struct RemoveUseCaseFormArgs {
    /// The account (12 digits; default: the management account).
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub account: Option<String>,
    /// Which emulator.
    #[command(flatten)]
    pub target: SandboxTarget,
}

/// `entitle sandbox break-prerequisites`.
#[derive(Debug, Args)]
pub struct BreakPrerequisitesArgs {
    /// Leave trusted access (and delegated administrators) as they are.
    #[arg(long)]
    pub keep_trusted_access: bool,
    /// Leave License Manager linked to the organisation.
    #[arg(long)]
    pub keep_link: bool,
    /// Which emulator.
    #[command(flatten)]
    pub target: SandboxTarget,
}

fn parse_tag(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

/// `entitle sandbox record-usage`.
#[derive(Debug, Args)]
pub struct RecordUsageArgs {
    /// The account that used the product (12 digits).
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub account: String,
    /// The Marketplace product id (`prod-...`).
    #[arg(long, value_name = "PRODUCT_ID")]
    pub product: String,
    /// Units used (e.g. input tokens).
    #[arg(long, value_name = "N")]
    pub units: f64,
    /// The day of the usage, YYYY-MM-DD (UTC); today when absent.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Cost Explorer's usage type (default `USE1-MP:USE1_InputTokenCount-Units`).
    #[arg(long, value_name = "TYPE")]
    pub usage_type: Option<String>,
    /// Which emulator.
    #[command(flatten)]
    pub target: SandboxTarget,
}

/// `entitle sandbox set-rates`.
#[derive(Debug, Args)]
pub struct SetRatesArgs {
    /// The Marketplace product id (`prod-...`).
    #[arg(long, value_name = "PRODUCT_ID")]
    pub product: String,
    /// Public list price, USD per unit (e.g. 0.000003 for USD 3 per million tokens).
    #[arg(long, value_name = "USD")]
    pub list: Option<f64>,
    /// Private-offer price, USD per unit.
    #[arg(long, value_name = "USD")]
    pub private: Option<f64>,
    /// Which emulator.
    #[command(flatten)]
    pub target: SandboxTarget,
}

/// `entitle sandbox serve`.
#[derive(Debug, Args)]
pub struct SandboxServeArgs {
    /// Address to listen on (keep it on loopback).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:4566")]
    pub addr: std::net::SocketAddr,
    /// State file: loaded if it exists, otherwise seeded (demo, generated or --org) and saved
    /// there when the server stops.
    #[arg(long, value_name = "FILE", default_value = ".entitle/sandbox.json")]
    pub state: PathBuf,
    /// Seed a generated organisation with this many member accounts instead of the demo one.
    #[arg(long, value_name = "N", conflicts_with = "org")]
    pub accounts: Option<usize>,
    /// OUs of the generated organisation.
    #[arg(long, value_name = "N", requires = "accounts", default_value_t = 100)]
    pub ous: usize,
    /// Deepest OU nesting of the generated organisation.
    #[arg(long, value_name = "N", requires = "accounts", default_value_t = 5)]
    pub depth: usize,
    /// Seed of the generator: the same numbers give the same organisation.
    #[arg(long, value_name = "S", requires = "accounts", default_value_t = 1)]
    pub seed: u64,
    /// Seed the organisation from a hand-written org file (see docs/emulator.md).
    #[arg(long, value_name = "FILE")]
    pub org: Option<PathBuf>,
    /// Faults to inject (rate limits, latency, 5xx, dropped connections), from a TOML or JSON file.
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,
}

/// `entitle completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sandbox_flag_takes_an_optional_state_file() {
        let cli = Cli::try_parse_from(["entitle", "--sandbox", "discover"]).unwrap();
        assert_eq!(
            cli.global.sandbox.unwrap(),
            PathBuf::from(".entitle/sandbox.json")
        );
        let cli = Cli::try_parse_from(["entitle", "discover", "--sandbox=state.json"]).unwrap();
        assert_eq!(cli.global.sandbox.unwrap(), PathBuf::from("state.json"));
        let cli = Cli::try_parse_from(["entitle", "discover"]).unwrap();
        assert!(cli.global.sandbox.is_none());
    }

    #[test]
    fn cleanup_scopes_exclude_each_other() {
        assert!(
            Cli::try_parse_from([
                "entitle",
                "cleanup",
                "--product",
                "prod-x",
                "--license",
                "arn:x"
            ])
            .is_err()
        );
    }
}
