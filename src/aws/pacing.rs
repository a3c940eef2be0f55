//! Client-side pacing of every AWS read: one adaptive (AIMD) rate limiter per operation, shared by
//! every client and task of the process, so that concurrent readers stay just under the service's
//! rate limit instead of throttling, backing off and colliding again.
//!
//! Two pieces plug it into the SDK. [`PacingInterceptor`] tags each attempt's request with its
//! operation's limiter (before transmit) and reports the attempt's outcome to it (after the
//! attempt, using the client's own retry classifiers, so whatever the SDK counts as throttling,
//! License Manager's `RateLimitExceededException` included, slows the operation down).
//! [`PacedHttpClient`] wraps the HTTP client and waits, before sending, for the slot the request's
//! limiter books for it. Retries are paced too: each attempt passes through the connector. The
//! SDK's own backoff still applies between attempts.
//!
//! Requests without a tag (the grant writes, which `apply` paces and retries itself) pass through
//! unpaced.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime::client::retries::classifiers::run_classifiers_on_ctx;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, Metadata};
use aws_smithy_runtime_api::client::retries::classifiers::{RetryAction, RetryReason};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::retry::ErrorKind;

use crate::limiter::{LimiterConfig, RateLimiter, Sent};

/// The limiters of one process, one per `service.operation`, created on first use.
#[derive(Debug)]
pub struct Pacer {
    config: LimiterConfig,
    limiters: Mutex<HashMap<String, Arc<RateLimiter>>>,
}

impl Pacer {
    /// Limiters that start, adapt and stay within `config`.
    pub fn new(config: LimiterConfig) -> Self {
        Self {
            config,
            limiters: Mutex::new(HashMap::new()),
        }
    }

    /// The limiter of one operation.
    fn limiter(&self, key: &str) -> Arc<RateLimiter> {
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(limiter) = limiters.get(key) {
            return limiter.clone();
        }
        let limiter = Arc::new(RateLimiter::new(self.config));
        limiters.insert(key.to_owned(), limiter.clone());
        limiter
    }
}

/// The limiter a request waits for, carried in the request's extensions, and where the connector
/// notes when it let the request go (read back after the attempt, from the config bag).
#[derive(Debug, Clone)]
struct Slot {
    limiter: Arc<RateLimiter>,
    sent: Arc<Mutex<Option<Sent>>>,
}

impl Storable for Slot {
    type Storer = StoreReplace<Self>;
}

fn operation_key(cfg: &ConfigBag) -> Option<String> {
    cfg.load::<Metadata>()
        .map(|metadata| format!("{}.{}", metadata.service(), metadata.name()))
}

/// Tags each attempt with its operation's limiter and tells the limiter how the attempt went.
#[derive(Debug, Clone)]
pub struct PacingInterceptor {
    pacer: Arc<Pacer>,
}

impl PacingInterceptor {
    /// An interceptor feeding `pacer`.
    pub fn new(pacer: Arc<Pacer>) -> Self {
        Self { pacer }
    }
}

impl Intercept for PacingInterceptor {
    fn name(&self) -> &'static str {
        "entitle pacing"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(key) = operation_key(cfg) {
            let slot = Slot {
                limiter: self.pacer.limiter(&key),
                sent: Arc::new(Mutex::new(None)),
            };
            context.request_mut().add_extension(slot.clone());
            cfg.interceptor_state().store_put(slot);
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(slot) = cfg.load::<Slot>() else {
            return Ok(());
        };
        let sent = *slot.sent.lock().unwrap_or_else(PoisonError::into_inner);
        // An attempt that never left the connector (it failed before, or gave up waiting) says
        // nothing about the rate.
        let Some(sent) = sent else {
            return Ok(());
        };
        match context.output_or_error() {
            Some(Ok(_)) => slot.limiter.on_success(sent),
            Some(Err(_)) => {
                let action =
                    run_classifiers_on_ctx(runtime_components.retry_classifiers(), context.inner());
                if is_throttle(&action) {
                    slot.limiter.on_throttle(sent);
                    tracing::debug!(
                        operation = operation_key(cfg).unwrap_or_default(),
                        rate = slot.limiter.rate(),
                        "throttled"
                    );
                }
            }
            None => {}
        }
        Ok(())
    }
}

fn is_throttle(action: &RetryAction) -> bool {
    matches!(
        action,
        RetryAction::RetryIndicated(RetryReason::RetryableError {
            kind: ErrorKind::ThrottlingError,
            ..
        })
    )
}

/// An HTTP client whose connectors wait for each tagged request's slot before sending it.
#[derive(Debug, Clone)]
pub struct PacedHttpClient {
    inner: SharedHttpClient,
}

impl PacedHttpClient {
    /// Wraps `inner`.
    pub fn new(inner: SharedHttpClient) -> Self {
        Self { inner }
    }
}

impl HttpClient for PacedHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
        })
    }

    fn validate_base_client_config(
        &self,
        runtime_components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner
            .validate_base_client_config(runtime_components, cfg)
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let slot = request.extension::<Slot>().cloned();
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if let Some(slot) = slot {
                let sent = slot.limiter.acquire().await;
                *slot.sent.lock().unwrap_or_else(PoisonError::into_inner) = Some(sent);
            }
            inner.call(request).await
        })
    }
}
