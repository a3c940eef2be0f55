//! AWS configuration in one place: the credential chain, pinned regions, endpoints, retries and timeouts.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future as credentials_future};
use aws_smithy_runtime::client::defaults::default_http_client_plugin_v2;
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion as RuntimeBehaviorVersion;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextMut, InterceptorContext,
};
use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin as _;
use aws_smithy_runtime_api::client::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_types::SdkConfig;
use aws_types::region::Region;

use super::pacing::{PacedHttpClient, Pacer, PacingInterceptor};
use crate::limiter::LimiterConfig;

/// License Manager, Marketplace Agreement and the Marketplace licenses live only here.
pub const HOME_REGION: &str = "us-east-1";

/// How the tool reaches AWS: chosen once from the command line, then used for every client.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// A named profile from the shared config files (`--profile`).
    pub profile: Option<String>,
    /// When set, every service is reached at this URL with dummy credentials, whatever the
    /// environment says: how `--sandbox` (and the tests) guarantee that nothing reaches real AWS.
    pub fixed_endpoint: Option<String>,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// The first backoff after a throttled or transient failure; later ones grow exponentially.
    pub initial_backoff: Duration,
    /// The longest single backoff.
    pub max_backoff: Duration,
    /// How long one attempt may take before it is abandoned and retried.
    pub attempt_timeout: Duration,
    /// How long a call may take, all attempts and backoffs included.
    pub operation_timeout: Duration,
}

impl Default for AwsSettings {
    fn default() -> Self {
        Self {
            profile: None,
            fixed_endpoint: None,
            // Organizations throttles from a few hundred accounts on; twelve attempts with a
            // 20 s cap ride out a minute of throttling instead of failing a discovery half-way.
            // The first retry comes soon (0.1 s, doubling): a paced read is throttled only when
            // its limiter runs just past the limit (about one call in a hundred, by design), and
            // the limiter has slowed by the time it is retried, so a long first backoff would
            // only stall a chain of pages (ListAccounts waits for each page's token).
            max_attempts: 12,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(20),
            attempt_timeout: Duration::from_secs(30),
            operation_timeout: Duration::from_secs(300),
        }
    }
}

/// The service clients, built once from one `SdkConfig`.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub(crate) organizations: aws_sdk_organizations::Client,
    pub(crate) license_manager: aws_sdk_licensemanager::Client,
    /// License Manager bare: no SDK retries and no pacing tag. For the grant writes (and their
    /// reads) that apply paces with its own adaptive rate limiter and retries itself, so that every
    /// throttle reaches the limiter instead of being retried blind inside the SDK (see
    /// `apply::executor`).
    pub(crate) license_manager_bare: aws_sdk_licensemanager::Client,
    pub(crate) marketplace: aws_sdk_marketplaceagreement::Client,
    pub(crate) sts: aws_sdk_sts::Client,
    /// S3, for a journal kept in a bucket: in the profile's region (buckets are regional;
    /// `s3::Bucket::open` follows a bucket to its own), path-style when an endpoint is overridden.
    pub(crate) s3: aws_sdk_s3::Client,
    /// Bedrock's control plane in the caller's region (model availability, the use-case form);
    /// other regions and member accounts get a copy of its configuration with their own.
    pub(crate) bedrock: aws_sdk_bedrock::Client,
    /// IAM (global; its endpoint lives in us-east-1): the service-linked roles doctor checks.
    pub(crate) iam: aws_sdk_iam::Client,
    /// Cost Explorer (its endpoint lives in us-east-1): the organisation's usage and spend.
    pub(crate) cost_explorer: aws_sdk_costexplorer::Client,
}

impl AwsClients {
    /// Resolves credentials and region through aws-config's standard chain (or the sandbox's
    /// dummy ones) and builds every client with the shared retry and timeout policy.
    pub async fn load(settings: &AwsSettings) -> Self {
        // Standard mode. (Adaptive mode was measured and rejected: under a tight limit its
        // client-side rate limiter slowed discovery of 1,000 accounts at 10 requests/s to under
        // one call per second; see docs/performance.md.)
        let retry = RetryConfig::standard()
            .with_max_attempts(settings.max_attempts)
            .with_initial_backoff(settings.initial_backoff)
            .with_max_backoff(settings.max_backoff);
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(settings.attempt_timeout)
            .operation_timeout(settings.operation_timeout)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry)
            .timeout_config(timeouts);
        // The sandbox's traffic never leaves loopback: no proxy from the environment may carry it.
        match default_http_client(settings.fixed_endpoint.is_none()) {
            // Requests the pacing interceptor tags wait here for their operation's slot.
            Some(inner) => loader = loader.http_client(PacedHttpClient::new(inner)),
            None => tracing::warn!("no default HTTP client to pace; calls go out unpaced"),
        }
        if let Some(endpoint) = &settings.fixed_endpoint {
            loader = loader
                .credentials_provider(Credentials::new(
                    "AKIDSANDBOX",
                    "sandbox-secret",
                    None,
                    None,
                    "entitle-sandbox",
                ))
                .region(Region::new(HOME_REGION))
                .endpoint_url(endpoint);
        } else {
            if let Some(profile) = &settings.profile {
                loader = loader.profile_name(profile);
            }
            // A profile the files do not define would send the chain on to IMDS, whose timeout
            // is all a person would see: every call fails at once, naming the profile instead.
            if let Some(missing) = named_profile(settings).and_then(|name| missing_profile(&name)) {
                loader = loader.credentials_provider(missing);
            }
        }
        let mut shared = loader.load().await;
        if shared.region().is_none() {
            // STS needs some region; the other services are pinned below anyway.
            shared = shared
                .into_builder()
                .region(Region::new(HOME_REGION))
                .build();
        }
        Self::from_shared(&shared, settings.fixed_endpoint.as_deref())
    }

    fn from_shared(shared: &SdkConfig, fixed_endpoint: Option<&str>) -> Self {
        let home = Region::new(HOME_REGION);
        let pacer = Arc::new(Pacer::new(LimiterConfig::default()));
        // Names the endpoint of a call that could not reach it, and stops retrying connections
        // to an endpoint that has never answered (shared: every client of the process).
        let endpoints = EndpointInterceptor::default();
        // `From<&SdkConfig>` carries the AWS_ENDPOINT_URL* overrides; only the region is pinned.
        // A paced request may wait its turn for seconds before a byte of it is sent: the SDK's
        // upload stall check would take that for a stalled upload (our bodies are a few hundred
        // bytes of JSON or CBOR; download checks stay on).
        let stall = StalledStreamProtectionConfig::enabled()
            .upload_enabled(false)
            .build();
        let mut organizations = aws_sdk_organizations::config::Builder::from(shared)
            .region(home.clone())
            .stalled_stream_protection(stall.clone())
            .retry_partition(unlimited_retries("entitle-organizations"))
            .interceptor(endpoints.clone())
            .retry_classifier(NeverAnsweredClassifier)
            .interceptor(PacingInterceptor::new(pacer.clone()));
        let mut license_manager = aws_sdk_licensemanager::config::Builder::from(shared)
            .region(home.clone())
            .stalled_stream_protection(stall.clone())
            .retry_classifier(RateLimitExceededClassifier)
            .retry_partition(unlimited_retries("entitle-license-manager"))
            .interceptor(endpoints.clone())
            .retry_classifier(NeverAnsweredClassifier);
        let mut marketplace = aws_sdk_marketplaceagreement::config::Builder::from(shared)
            .region(home.clone())
            .stalled_stream_protection(stall.clone())
            .retry_partition(unlimited_retries("entitle-marketplace"))
            .interceptor(endpoints.clone())
            .retry_classifier(NeverAnsweredClassifier)
            .interceptor(PacingInterceptor::new(pacer.clone()));
        let mut sts = aws_sdk_sts::config::Builder::from(shared)
            .interceptor(endpoints.clone())
            .retry_classifier(NeverAnsweredClassifier);
        let mut bedrock = aws_sdk_bedrock::config::Builder::from(shared)
            .stalled_stream_protection(stall)
            .retry_partition(unlimited_retries("entitle-bedrock"))
            .interceptor(endpoints.clone())
            .retry_classifier(NeverAnsweredClassifier)
            .interceptor(PacingInterceptor::new(pacer.clone()));
        let mut iam = aws_sdk_iam::config::Builder::from(shared)
            .region(home.clone())
            .retry_partition(unlimited_retries("entitle-iam"))
            .interceptor(endpoints.clone())
            .retry_classifier(NeverAnsweredClassifier)
            .interceptor(PacingInterceptor::new(pacer.clone()));
        let mut cost_explorer = aws_sdk_costexplorer::config::Builder::from(shared)
            .region(home)
            .retry_partition(unlimited_retries("entitle-cost-explorer"))
            .interceptor(endpoints.clone())
            .retry_classifier(NeverAnsweredClassifier)
            .interceptor(PacingInterceptor::new(pacer.clone()));
        if let Some(endpoint) = fixed_endpoint {
            // Service-specific environment overrides must not win over the sandbox.
            organizations = organizations.endpoint_url(endpoint);
            license_manager = license_manager.endpoint_url(endpoint);
            marketplace = marketplace.endpoint_url(endpoint);
            sts = sts.endpoint_url(endpoint);
            bedrock = bedrock.endpoint_url(endpoint);
            iam = iam.endpoint_url(endpoint);
            cost_explorer = cost_explorer.endpoint_url(endpoint);
        }
        // The grant writes are paced and retried by apply itself: no SDK retries, no pacing tag.
        let bare = license_manager
            .clone()
            .retry_config(RetryConfig::disabled())
            .build();
        let license_manager = license_manager
            .interceptor(PacingInterceptor::new(pacer))
            .build();
        Self {
            organizations: aws_sdk_organizations::Client::from_conf(organizations.build()),
            license_manager: aws_sdk_licensemanager::Client::from_conf(license_manager),
            license_manager_bare: aws_sdk_licensemanager::Client::from_conf(bare),
            marketplace: aws_sdk_marketplaceagreement::Client::from_conf(marketplace.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            s3: aws_sdk_s3::Client::from_conf(s3_config(shared, fixed_endpoint, endpoints)),
            bedrock: aws_sdk_bedrock::Client::from_conf(bedrock.build()),
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            cost_explorer: aws_sdk_costexplorer::Client::from_conf(cost_explorer.build()),
        }
    }
}

/// S3's configuration. Its region is the profile's, never pinned. With an endpoint override
/// (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, or a profile's `endpoint_url`) addressing is
/// path-style: S3 emulators (moto, MinIO) do not serve bucket subdomains. Under a fixed endpoint
/// (`--sandbox`, whose emulator has no S3) an explicit `AWS_ENDPOINT_URL_S3` is where S3 goes.
fn s3_config(
    shared: &SdkConfig,
    fixed_endpoint: Option<&str>,
    endpoints: EndpointInterceptor,
) -> aws_sdk_s3::Config {
    let builder = aws_sdk_s3::config::Builder::from(shared)
        .interceptor(endpoints)
        .retry_classifier(NeverAnsweredClassifier);
    let builder = match fixed_endpoint {
        Some(endpoint) => {
            let s3 = std::env::var("AWS_ENDPOINT_URL_S3")
                .ok()
                .filter(|url| !url.trim().is_empty());
            builder
                .endpoint_url(s3.as_deref().unwrap_or(endpoint))
                .force_path_style(true)
        }
        None => builder.force_path_style(s3_endpoint_overridden(shared)),
    };
    builder.build()
}

/// Whether S3's endpoint is overridden, by the rule `aws_sdk_s3::config::Builder::from` follows.
fn s3_endpoint_overridden(shared: &SdkConfig) -> bool {
    let service = aws_types::service_config::ServiceConfigKey::builder()
        .service_id("S3")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build();
    let specific = match (shared.service_config(), service) {
        (Some(config), Ok(key)) => config.load_config(key).is_some(),
        _ => false,
    };
    specific || shared.endpoint_url().is_some()
}

/// The HTTP client the SDK would pick by itself (hyper 1 with rustls), to wrap for pacing; it
/// follows `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` as the SDK does. Without
/// `proxies_from_environment` (the sandbox), the same client with every proxy disabled.
fn default_http_client(proxies_from_environment: bool) -> Option<SharedHttpClient> {
    if proxies_from_environment {
        return default_http_client_plugin_v2(RuntimeBehaviorVersion::latest())?
            .runtime_components(&RuntimeComponentsBuilder::new("entitle"))
            .http_client();
    }
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    Some(
        Builder::new().build_with_connector_fn(|settings, components| {
            let mut connector =
                ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::disabled()));
            connector.build()
        }),
    )
}

/// The profile a command names, by `--profile` or else `AWS_PROFILE` (blank means none).
fn named_profile(settings: &AwsSettings) -> Option<String> {
    settings
        .profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

/// The shared config and credentials files, as the SDK finds them: `AWS_CONFIG_FILE` and
/// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and `~/.aws/credentials`.
fn profile_files() -> [(PathBuf, ProfileFileKind); 2] {
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .unwrap_or_default();
    let file = |variable: &str, default: &str| {
        std::env::var_os(variable)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".aws").join(default))
    };
    [
        (file("AWS_CONFIG_FILE", "config"), ProfileFileKind::Config),
        (
            file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            ProfileFileKind::Credentials,
        ),
    ]
}

/// Which of the two shared files a text is: their sections name profiles differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProfileFileKind {
    /// `[default]` and `[profile NAME]`; `[sso-session ...]` and `[services ...]` are not profiles.
    Config,
    /// `[NAME]`.
    Credentials,
}

/// The profiles a shared file's text defines.
fn profiles_in(text: &str, kind: ProfileFileKind) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let section = line.strip_prefix('[')?.split(']').next()?.trim();
            match kind {
                ProfileFileKind::Credentials => Some(section.to_owned()),
                ProfileFileKind::Config => match section.split_once(char::is_whitespace) {
                    Some(("profile", name)) => Some(name.trim().to_owned()),
                    Some(_) => None,
                    None => Some(section.to_owned()),
                },
            }
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// A profile named on the command line or in `AWS_PROFILE` that neither shared file defines.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.describe())]
pub struct MissingProfile {
    /// The profile asked for.
    pub name: String,
    /// The files read, and whether each exists.
    pub files: Vec<(PathBuf, bool)>,
    /// The profiles those files do define.
    pub defined: BTreeSet<String>,
}

impl MissingProfile {
    fn describe(&self) -> String {
        let files = self
            .files
            .iter()
            .map(|(path, exists)| {
                let missing = if *exists { "" } else { " (not found)" };
                format!("`{}`{missing}", path.display())
            })
            .collect::<Vec<_>>()
            .join(" and ");
        let defined = if self.defined.is_empty() {
            "they define no profile".to_owned()
        } else {
            let names = self
                .defined
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("the profiles there: {names}")
        };
        format!(
            "{MISSING_PROFILE_PREFIX} `{}` is not defined in {files}; {defined}",
            self.name
        )
    }
}

/// How a missing profile's message begins, for `exit.rs` to give its own hint.
pub const MISSING_PROFILE_PREFIX: &str = "profile";

/// `Some` when the shared files define no profile `name`.
fn missing_profile(name: &str) -> Option<MissingProfile> {
    let mut files = Vec::new();
    let mut defined = BTreeSet::new();
    for (path, kind) in profile_files() {
        // Only a regular file is read (the tests point both variables at /dev/null too).
        if files.iter().any(|(read, _)| *read == path) {
            continue;
        }
        let text = std::fs::read_to_string(&path).ok();
        files.push((path, text.is_some()));
        defined.extend(profiles_in(text.as_deref().unwrap_or(""), kind));
    }
    (!defined.contains(name)).then(|| MissingProfile {
        name: name.to_owned(),
        files,
        defined,
    })
}

impl ProvideCredentials for MissingProfile {
    fn provide_credentials<'a>(&'a self) -> credentials_future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        credentials_future::ProvideCredentials::ready(Err(CredentialsError::invalid_configuration(
            self.clone(),
        )))
    }
}

/// The endpoint (scheme, host and port) an attempt was sent to, kept for the attempt's end.
#[derive(Debug, Clone)]
struct AttemptEndpoint(String);

impl Storable for AttemptEndpoint {
    type Storer = StoreReplace<Self>;
}

/// Notes every endpoint that answers, and puts the endpoint into the error of an attempt that
/// got no answer (the SDK's own error never names it).
#[derive(Debug, Clone, Default)]
struct EndpointInterceptor {
    answered: Arc<Mutex<HashSet<String>>>,
}

impl Intercept for EndpointInterceptor {
    fn name(&self) -> &'static str {
        "entitle endpoint"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let endpoint = origin(context.request().uri());
        cfg.interceptor_state().store_put(AttemptEndpoint(endpoint));
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(AttemptEndpoint(endpoint)) = cfg.load::<AttemptEndpoint>().cloned() else {
            return Ok(());
        };
        let mut answered = self.answered.lock().unwrap_or_else(PoisonError::into_inner);
        if context.response().is_some() {
            answered.insert(endpoint);
            return Ok(());
        }
        let Some(Err(error)) = context.output_or_error_mut() else {
            return Ok(());
        };
        let Some(connector) = error.as_connector_error() else {
            return Ok(());
        };
        if find_in_chain::<Unreachable>(connector).is_some() {
            return Ok(());
        }
        let unreachable = Unreachable {
            connect: find_in_chain::<hyper_util::client::legacy::Error>(connector)
                .is_some_and(hyper_util::client::legacy::Error::is_connect),
            answered_before: answered.contains(&endpoint),
            endpoint,
            cause: std::error::Error::source(connector)
                .map(chain_text)
                .unwrap_or_else(|| connector.to_string()),
        };
        // Same kind as before: the SDK's classifiers still retry what they retried.
        let source: BoxError = Box::new(unreachable);
        let wrapped = if connector.is_timeout() {
            ConnectorError::timeout(source)
        } else if connector.is_io() {
            ConnectorError::io(source)
        } else if connector.is_user() {
            ConnectorError::user(source)
        } else {
            ConnectorError::other(source, connector.as_other())
        };
        *error = OrchestratorError::connector(wrapped);
        Ok(())
    }
}

/// `http://host:port` of a request URI.
fn origin(uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?']).next().unwrap_or(rest);
            format!("{scheme}://{authority}")
        }
        None => uri.to_owned(),
    }
}

/// An attempt that got no answer from its endpoint.
#[derive(Debug, thiserror::Error)]
#[error("no answer from `{endpoint}`: {cause}")]
pub struct Unreachable {
    /// Where the request went: `scheme://host:port`.
    pub endpoint: String,
    /// Whether no connection could be made at all (refused, or the connect timeout), rather
    /// than one dropped during the call.
    pub connect: bool,
    /// Whether this endpoint had answered an earlier call of the process.
    pub answered_before: bool,
    /// What the connection said, its sources joined.
    pub cause: String,
}

/// Forbids retrying a connection that could not be made to an endpoint that has never answered:
/// a wrong or unreachable endpoint then fails in seconds, naming it, instead of after a minute of
/// retries. A connection dropped during a call, or refused by an endpoint that answered before
/// (a server restarting), is retried as before.
#[derive(Debug, Clone, Copy)]
struct NeverAnsweredClassifier;

impl ClassifyRetry for NeverAnsweredClassifier {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        match error
            .as_connector_error()
            .and_then(|connector| find_in_chain::<Unreachable>(connector))
        {
            Some(unreachable) if unreachable.connect && !unreachable.answered_before => {
                RetryAction::RetryForbidden
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "entitle endpoint never answered"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// The first error of type `T` in `error`'s source chain, `error` included.
fn find_in_chain<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(cause) = current {
        if let Some(found) = cause.downcast_ref::<T>() {
            return Some(found);
        }
        current = cause.source();
    }
    None
}

/// An error and its sources, joined, each said once.
fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A retry partition without the SDK's retry quota. The standard quota (500 tokens, 5 per
/// throttled retry) runs dry after about a hundred throttles across a client, after which every
/// throttle fails at once: a long discovery under a tight rate limit would then fail half-way.
/// The attempts per call stay bounded (`AwsSettings::max_attempts`), with exponential backoff.
fn unlimited_retries(name: &'static str) -> RetryPartition {
    RetryPartition::custom(name)
        .token_bucket(TokenBucket::unlimited())
        .build()
}

/// Teaches the SDK that License Manager's `RateLimitExceededException` is throttling.
///
/// The SDK's built-in list of throttle codes lacks it, so without this classifier a throttled
/// License Manager call fails at once instead of backing off. The classifier reads the error
/// code from the raw response (`X-Amzn-ErrorType` or the JSON `__type`), so it works for every
/// operation of the client without knowing each operation's error type.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitExceededClassifier;

/// The throttle error code License Manager answers with.
const RATE_LIMIT_EXCEEDED: &str = "RateLimitExceededException";

impl ClassifyRetry for RateLimitExceededClassifier {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        if !matches!(ctx.output_or_error(), Some(Err(_))) {
            return RetryAction::NoActionIndicated;
        }
        let Some(response) = ctx.response() else {
            return RetryAction::NoActionIndicated;
        };
        let header = response.headers().get("x-amzn-errortype");
        let body = response.body().bytes();
        if error_code_is(header, body, RATE_LIMIT_EXCEEDED) {
            RetryAction::throttling_error()
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "License Manager RateLimitExceededException"
    }
}

/// Whether an awsJson error response carries the given code, in the header or the body's
/// `__type` (namespace before `#` and anything after `:` stripped, as the SDK does).
fn error_code_is(header: Option<&str>, body: Option<&[u8]>, code: &str) -> bool {
    let bare = |value: &str| {
        let value = value.split(':').next().unwrap_or(value);
        value.rsplit('#').next().unwrap_or(value).trim() == code
    };
    if header.is_some_and(bare) {
        return true;
    }
    body.and_then(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok())
        .and_then(|json| {
            json.get("__type")
                .and_then(|value| value.as_str())
                .map(bare)
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_code_is_found_in_header_or_body() {
        assert!(error_code_is(
            Some("RateLimitExceededException:http://x"),
            None,
            RATE_LIMIT_EXCEEDED
        ));
        assert!(error_code_is(
            None,
            Some(br#"{"__type":"com.amazonaws.licensemanager#RateLimitExceededException","message":"slow down"}"#),
            RATE_LIMIT_EXCEEDED
        ));
        assert!(!error_code_is(
            None,
            Some(br#"{"__type":"ValidationException"}"#),
            RATE_LIMIT_EXCEEDED
        ));
        assert!(!error_code_is(None, Some(b"not json"), RATE_LIMIT_EXCEEDED));
    }

    #[test]
    fn profiles_are_read_from_either_file_by_its_own_rules() {
        let config =
            "[default]\nregion = eu-west-1\n[profile prod]\n[sso-session corp]\n[services local]\n";
        assert_eq!(
            profiles_in(config, ProfileFileKind::Config),
            BTreeSet::from(["default".to_owned(), "prod".to_owned()])
        );
        let credentials = "[staging]\naws_access_key_id = x\n  [ other ]\n";
        assert_eq!(
            profiles_in(credentials, ProfileFileKind::Credentials),
            BTreeSet::from(["staging".to_owned(), "other".to_owned()])
        );
    }

    #[test]
    fn origin_keeps_scheme_host_and_port() {
        assert_eq!(
            origin("http://127.0.0.1:4566/?Action=GetCallerIdentity"),
            "http://127.0.0.1:4566"
        );
        assert_eq!(
            origin("https://organizations.us-east-1.amazonaws.com/"),
            "https://organizations.us-east-1.amazonaws.com"
        );
    }
}
