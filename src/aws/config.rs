//! AWS configuration in one place: the credential chain, pinned regions, endpoints, retries and timeouts.

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_smithy_runtime::client::defaults::default_http_client_plugin_v2;
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion as RuntimeBehaviorVersion;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin as _;
use aws_smithy_runtime_api::client::stalled_stream_protection::StalledStreamProtectionConfig;
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
            // Organizations throttles from a few hundred accounts on; ten attempts with a 20 s
            // cap ride out a minute of throttling instead of failing a discovery half-way.
            max_attempts: 10,
            initial_backoff: Duration::from_millis(500),
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
        } else if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
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
            .interceptor(PacingInterceptor::new(pacer.clone()));
        let mut license_manager = aws_sdk_licensemanager::config::Builder::from(shared)
            .region(home.clone())
            .stalled_stream_protection(stall.clone())
            .retry_classifier(RateLimitExceededClassifier)
            .retry_partition(unlimited_retries("entitle-license-manager"));
        let mut marketplace = aws_sdk_marketplaceagreement::config::Builder::from(shared)
            .region(home.clone())
            .stalled_stream_protection(stall.clone())
            .retry_partition(unlimited_retries("entitle-marketplace"))
            .interceptor(PacingInterceptor::new(pacer.clone()));
        let mut sts = aws_sdk_sts::config::Builder::from(shared);
        let mut bedrock = aws_sdk_bedrock::config::Builder::from(shared)
            .stalled_stream_protection(stall)
            .retry_partition(unlimited_retries("entitle-bedrock"))
            .interceptor(PacingInterceptor::new(pacer.clone()));
        let mut iam = aws_sdk_iam::config::Builder::from(shared)
            .region(home.clone())
            .retry_partition(unlimited_retries("entitle-iam"))
            .interceptor(PacingInterceptor::new(pacer.clone()));
        let mut cost_explorer = aws_sdk_costexplorer::config::Builder::from(shared)
            .region(home)
            .retry_partition(unlimited_retries("entitle-cost-explorer"))
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
            s3: aws_sdk_s3::Client::from_conf(s3_config(shared, fixed_endpoint)),
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
fn s3_config(shared: &SdkConfig, fixed_endpoint: Option<&str>) -> aws_sdk_s3::Config {
    let builder = aws_sdk_s3::config::Builder::from(shared);
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
}
