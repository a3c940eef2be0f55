//! The sandbox: an in-process AWS emulator for Organizations, License Manager, Marketplace
//! Agreement, STS, Cost Explorer, Bedrock's control plane and IAM, speaking the real wire protocols over HTTP on one port so the unmodified
//! AWS SDKs work against it through the standard endpoint overrides. This file owns the server:
//! start and shutdown, dispatch of a request to its service by headers and path, decoding and
//! encoding of each protocol, and fault injection around every call (the `/_sandbox/` admin
//! routes are in `routes.rs`).
//!
//! `docs/emulator.md` lists what is emulated, the demo ids, and every assumption.

pub mod admin;
mod api;
pub mod bedrock;
mod cbor;
mod cost_explorer;
pub mod faults;
pub mod iam;
mod license_manager;
mod marketplace;
mod organizations;
pub mod remote;
mod routes;
pub mod seed;
pub mod settings;
pub mod state;
mod sts;
pub mod usage;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

pub use admin::{AdminAction, AdminError};
pub use faults::{FaultRule, Faults, OperationStats};
pub use seed::{GenerateOptions, OrgFile};
pub use state::{Settings, State};

use api::{ApiError, Call, Service};
use faults::{FaultEngine, Outcome, Verdict};

/// Errors of the sandbox itself (not the emulated services' errors).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A file could not be read or written.
    #[error("cannot access `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file could not be parsed.
    #[error("cannot parse `{path}`: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The server could not bind or failed while running.
    #[error("sandbox server error: {0}")]
    Server(std::io::Error),
}

/// Where the initial state comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum SeedChoice {
    /// The demo organisation ([`State::demo`]).
    Demo,
    /// A generated organisation ([`State::generate`]).
    Generate(GenerateOptions),
    /// A hand-written org file ([`State::from_org_file`]).
    OrgFile(PathBuf),
}

/// Everything needed to build the state and faults of a sandbox run.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// State file: loaded when it exists, otherwise seeded from `seed` (and saved on shutdown
    /// and on `POST /_sandbox/save`).
    pub state_file: Option<PathBuf>,
    /// The seed used when there is no state file yet.
    pub seed: SeedChoice,
    /// Faults to inject.
    pub faults: Faults,
    /// Settings overriding those of the state, if any.
    pub settings: Option<Settings>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            state_file: None,
            seed: SeedChoice::Demo,
            faults: Faults::default(),
            settings: None,
        }
    }
}

impl SandboxOptions {
    /// The initial state: the state file if it exists, otherwise the seed.
    pub fn initial_state(&self) -> Result<State, SandboxError> {
        let mut state = match &self.state_file {
            Some(path) if path.exists() => State::load(path)?,
            _ => match &self.seed {
                SeedChoice::Demo => State::demo(),
                SeedChoice::Generate(options) => State::generate(*options),
                SeedChoice::OrgFile(path) => State::from_org_file(path)?,
            },
        };
        if let Some(settings) = &self.settings {
            state.set_partition(&settings.partition);
            state.settings = settings.clone();
        }
        Ok(state)
    }
}

struct Shared {
    state: Mutex<State>,
    initial: Mutex<State>,
    engine: Mutex<FaultEngine>,
    state_file: Option<PathBuf>,
    requests: AtomicU64,
}

/// A running sandbox server.
pub struct Sandbox {
    address: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Sandbox {
    /// Starts the server on `addr` (`127.0.0.1:0` picks a free port) with this state and faults.
    pub async fn start(
        addr: SocketAddr,
        state: State,
        faults: Faults,
    ) -> Result<Sandbox, SandboxError> {
        Sandbox::start_inner(addr, state, faults, None).await
    }

    /// Starts the server from options: state file or seed, faults, settings. The state is saved
    /// to the state file on [`Sandbox::shutdown`] and on `POST /_sandbox/save`.
    pub async fn start_with_options(
        addr: SocketAddr,
        options: SandboxOptions,
    ) -> Result<Sandbox, SandboxError> {
        let state = options.initial_state()?;
        Sandbox::start_inner(addr, state, options.faults, options.state_file).await
    }

    async fn start_inner(
        addr: SocketAddr,
        state: State,
        faults: Faults,
        state_file: Option<PathBuf>,
    ) -> Result<Sandbox, SandboxError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(SandboxError::Server)?;
        let address = listener.local_addr().map_err(SandboxError::Server)?;
        let shared = Arc::new(Shared {
            initial: Mutex::new(state.clone()),
            state: Mutex::new(state),
            engine: Mutex::new(FaultEngine::new(faults)),
            state_file,
            requests: AtomicU64::new(0),
        });
        let router = Router::new().fallback(dispatch).with_state(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Sandbox {
            address,
            shared,
            stop: Some(stop),
            task,
        })
    }

    /// The endpoint URL to give the SDKs, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The environment that points the AWS SDKs and CLI at this sandbox: the endpoint override
    /// and dummy credentials of the management account (`AKIDSANDBOX`; `AKID<12 digits>` would
    /// act as that account), region us-east-1.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "AKIDSANDBOX".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "sandbox-secret".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
        ]
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// A copy of the current state.
    pub fn state_snapshot(&self) -> State {
        lock(&self.shared.state).clone()
    }

    /// Changes the state in place (for tests and admin commands run in process).
    pub fn with_state<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let mut state = lock(&self.shared.state);
        let answer = change(&mut state);
        usage::note_statuses(&mut state);
        answer
    }

    /// Calls counted so far, by `Service.Operation`.
    pub fn stats(&self) -> std::collections::BTreeMap<String, OperationStats> {
        lock(&self.shared.engine).stats.clone()
    }

    /// Replaces the faults (rate-limit buckets and every-Nth counters restart).
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.shared.engine).replace(faults);
    }

    /// Stops the server (waiting at most 5 s for open connections), saves the state file if one
    /// was given, and returns the final state.
    pub async fn shutdown(mut self) -> Result<State, SandboxError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(5), &mut self.task).await {
            Ok(Ok(result)) => result.map_err(SandboxError::Server)?,
            Ok(Err(join)) => {
                return Err(SandboxError::Server(std::io::Error::other(
                    join.to_string(),
                )));
            }
            Err(_) => self.task.abort(),
        }
        let state = lock(&self.shared.state).clone();
        if let Some(path) = &self.shared.state_file {
            state.save(path)?;
        }
        Ok(state)
    }
}

/// Every emulated operation, as `(service, operation)` with the service named as in the stats
/// keys (`Organizations`, `LicenseManager`, `MarketplaceAgreement`, `Sts`, `CostExplorer`,
/// `Bedrock`, `Iam`).
pub fn emulated_operations() -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    out.extend(
        organizations::OPERATIONS
            .iter()
            .map(|operation| ("Organizations", *operation)),
    );
    out.extend(
        license_manager::OPERATIONS
            .iter()
            .map(|operation| ("LicenseManager", *operation)),
    );
    out.extend(
        marketplace::OPERATIONS
            .iter()
            .map(|operation| ("MarketplaceAgreement", *operation)),
    );
    out.extend(sts::OPERATIONS.iter().map(|operation| ("Sts", *operation)));
    out.extend(
        cost_explorer::OPERATIONS
            .iter()
            .map(|operation| ("CostExplorer", *operation)),
    );
    out.extend(
        bedrock::OPERATIONS
            .iter()
            .map(|operation| ("Bedrock", *operation)),
    );
    out.extend(iam::OPERATIONS.iter().map(|operation| ("Iam", *operation)));
    out
}

/// Locks a mutex, recovering the data if a previous holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The wire protocol of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    AwsJson11,
    AwsJson10,
    RpcV2Cbor,
    Query,
    RestJson1,
    /// The query protocol as IAM speaks it (its own XML error namespace).
    IamQuery,
}

const CBOR_PREFIX: &str = "/service/AWSMPCommerceService_v20200301/operation/";

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Which service, operation and protocol a request is for.
fn route(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<(Service, String, Protocol)> {
    if let Some(target) = header_text(headers, "x-amz-target") {
        let (prefix, operation) = target.split_once('.')?;
        let (service, protocol) = match prefix {
            "AWSLicenseManager" => (Service::LicenseManager, Protocol::AwsJson11),
            "AWSOrganizationsV20161128" => (Service::Organizations, Protocol::AwsJson11),
            "AWSInsightsIndexService" => (Service::CostExplorer, Protocol::AwsJson11),
            "AWSMPCommerceService_v20200301" => {
                (Service::MarketplaceAgreement, Protocol::AwsJson10)
            }
            _ => return None,
        };
        return Some((service, operation.to_string(), protocol));
    }
    if let Some(operation) = path.strip_prefix(CBOR_PREFIX) {
        return Some((
            Service::MarketplaceAgreement,
            operation.to_string(),
            Protocol::RpcV2Cbor,
        ));
    }
    if bedrock::is_bedrock_path(path) {
        let operation = bedrock::operation_of(method.as_str(), path)?;
        return Some((Service::Bedrock, operation.to_string(), Protocol::RestJson1));
    }
    let form = header_text(headers, "content-type")
        .is_some_and(|kind| kind.starts_with("application/x-www-form-urlencoded"));
    if *method == Method::POST && form {
        let action = form_urlencoded::parse(body)
            .find(|(key, _)| key == "Action")
            .map(|(_, value)| value.into_owned())?;
        let signing_service =
            header_text(headers, "authorization").and_then(bedrock::signing_service_of);
        if signing_service.as_deref() == Some("iam") {
            return Some((Service::Iam, action, Protocol::IamQuery));
        }
        return Some((Service::Sts, action, Protocol::Query));
    }
    None
}

/// The calling account: the first run of 12 digits in the access key id of the Authorization
/// header, or the management account.
fn caller_of(authorization: &str, management: &str) -> (String, String) {
    let access_key = authorization
        .split("Credential=")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_string();
    let digits: Vec<char> = access_key.chars().collect();
    let account = digits
        .windows(12)
        .find(|window| window.iter().all(char::is_ascii_digit))
        .map(|window| window.iter().collect::<String>())
        .unwrap_or_else(|| management.to_string());
    (account, access_key)
}

/// How late tokio's timer fires on average (measured: 1.1 ms).
const TIMER_LATENESS: Duration = Duration::from_millis(1);

/// How long before a call's latency is up the emulator starts its work, so that the work is
/// part of the latency (as a service's own work is part of the time it takes to answer) rather
/// than added to it. A ListAccounts page of a 10,001-account organisation takes about 2 ms in
/// a dev build; work that takes longer delays the answer by the excess.
const WORK_ALLOWANCE: Duration = Duration::from_millis(5);

/// Waits until `deadline`, less the timer's usual lateness: tokio's timer fires on the next
/// whole millisecond after its deadline, about a millisecond late on average.
async fn sleep_until(deadline: tokio::time::Instant) {
    let now = tokio::time::Instant::now();
    if deadline > now + TIMER_LATENESS {
        tokio::time::sleep_until(deadline - TIMER_LATENESS).await;
    }
}

async fn dispatch(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    request: Request,
) -> Response {
    let arrived = tokio::time::Instant::now();
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, 64 * 1024 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => return plain(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
    };
    let path = parts.uri.path().to_string();
    if let Some(rest) = path.strip_prefix("/_sandbox/") {
        return routes::admin_route(&shared, &parts.method, rest, &bytes);
    }
    let number = shared.requests.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("5a4db0c8-0000-4000-8000-{number:012x}");
    let Some((service, operation, protocol)) = route(&parts.method, &path, &parts.headers, &bytes)
    else {
        let error = ApiError::new(
            404,
            "UnknownOperationException",
            "the sandbox does not know this request",
        );
        return error_response(Protocol::AwsJson11, &error, &request_id);
    };
    if protocol == Protocol::RpcV2Cbor
        && header_text(&parts.headers, "smithy-protocol") != Some("rpc-v2-cbor")
    {
        let error = ApiError::new(
            400,
            "SerializationException",
            "missing `smithy-protocol: rpc-v2-cbor` header",
        );
        return error_response(protocol, &error, &request_id);
    }
    let Some(authorization) = header_text(&parts.headers, "authorization") else {
        let code = if matches!(protocol, Protocol::Query | Protocol::IamQuery) {
            "MissingAuthenticationToken"
        } else {
            "MissingAuthenticationTokenException"
        };
        let error = ApiError::new(403, code, "Request is missing Authentication Token");
        return error_response(protocol, &error, &request_id);
    };
    let input = match decode_input(protocol, &bytes) {
        Ok(input) => input,
        Err(message) => {
            let error = ApiError::new(400, "SerializationException", message);
            return error_response(protocol, &error, &request_id);
        }
    };
    let (verdict, latency) = lock(&shared.engine).judge(&format!("{service:?}"), &operation);
    // The answer leaves when the latency is up, counted from the request's arrival; the work
    // starts a little before, so that it is part of the latency (see WORK_ALLOWANCE).
    let answer_at = arrived + latency;
    sleep_until(answer_at - latency.min(WORK_ALLOWANCE)).await;
    let call = Judged {
        verdict,
        service,
        operation,
        input,
        protocol,
        request_id,
        authorization: authorization.to_owned(),
        path,
    };
    // The work waits for the state's lock on a blocking thread, so that the runtime's workers
    // keep taking requests in (and judging them on time) while a call holds the state.
    let worker = Arc::clone(&shared);
    let response = tokio::task::spawn_blocking(move || serve(&worker, call))
        .await
        .unwrap_or_else(|_| {
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the call's work panicked",
            )
        });
    sleep_until(answer_at).await;
    response
}

/// A call the fault engine has judged, ready for `serve`.
struct Judged {
    verdict: Verdict,
    service: Service,
    operation: String,
    input: Value,
    protocol: Protocol,
    request_id: String,
    authorization: String,
    path: String,
}

/// Carries out one judged call: the throttle or 5xx it was dealt, or the work and its answer.
fn serve(shared: &Shared, judged: Judged) -> Response {
    let (verdict, service, protocol) = (judged.verdict, judged.service, judged.protocol);
    let (operation, input) = (judged.operation.as_str(), &judged.input);
    let (request_id, authorization) = (judged.request_id.as_str(), judged.authorization.as_str());
    let path = judged.path.as_str();
    let service_name = format!("{service:?}");
    let outcome_error = |shared: &Shared, error: &ApiError, outcome: Outcome| {
        lock(&shared.engine).record(&service_name, operation, outcome);
        error_response(protocol, error, request_id)
    };
    match verdict {
        Verdict::Throttle => {
            let status = lock(&shared.state).settings.rate_limit_http_status;
            return outcome_error(shared, &service.throttle_error(status), Outcome::Throttled);
        }
        Verdict::ServerError => {
            return outcome_error(shared, &service.internal_error(), Outcome::ServerError);
        }
        Verdict::Serve | Verdict::DropAfterWork => {}
    }
    let result = {
        let mut state = lock(&shared.state);
        let (caller, access_key) = caller_of(authorization, state.management_account_id());
        let call = Call {
            operation,
            input,
            caller: &caller,
            request_id,
        };
        let answer = match service {
            Service::Organizations => {
                organizations::handle(&mut state, &call).map(Answer::Structure)
            }
            Service::LicenseManager => {
                license_manager::handle(&mut state, &call).map(Answer::Structure)
            }
            Service::MarketplaceAgreement => {
                marketplace::handle(&mut state, &call).map(Answer::Structure)
            }
            Service::Sts => sts::handle(&mut state, &call, &access_key).map(Answer::Xml),
            Service::Iam => iam::handle(&mut state, &call).map(Answer::Xml),
            Service::CostExplorer => {
                cost_explorer::handle(&mut state, &call).map(Answer::Structure)
            }
            Service::Bedrock => {
                let region = bedrock::region_of(authorization);
                let status = if operation == "PutUseCaseForModelAccess" {
                    201
                } else {
                    200
                };
                bedrock::handle(&mut state, &call, path, &region)
                    .map(|body| Answer::Rest(status, body))
            }
        };
        // The grant and license status histories usage pricing reads (usage.rs).
        usage::note_statuses(&mut state);
        answer
    };
    if verdict == Verdict::DropAfterWork {
        lock(&shared.engine).record(&service_name, operation, Outcome::Dropped);
        return dropped_connection();
    }
    match result {
        Ok(answer) => {
            lock(&shared.engine).record(&service_name, operation, Outcome::Ok);
            success_response(protocol, answer, request_id)
        }
        Err(error) => outcome_error(shared, &error, Outcome::ClientError),
    }
}

enum Answer {
    Structure(Value),
    Xml(String),
    /// A restJson1 answer: its HTTP status and body.
    Rest(u16, Value),
}

fn decode_input(protocol: Protocol, bytes: &[u8]) -> Result<Value, String> {
    match protocol {
        Protocol::AwsJson11 | Protocol::AwsJson10 | Protocol::RestJson1 => {
            if bytes.is_empty() {
                Ok(Value::Object(Map::new()))
            } else {
                serde_json::from_slice(bytes)
                    .map_err(|error| format!("malformed JSON body: {error}"))
            }
        }
        Protocol::RpcV2Cbor => cbor::decode(bytes).map_err(|error| error.to_string()),
        Protocol::Query | Protocol::IamQuery => Ok(Value::Object(
            form_urlencoded::parse(bytes)
                .map(|(key, value)| (key.into_owned(), Value::String(value.into_owned())))
                .collect(),
        )),
    }
}

fn content_type(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::AwsJson11 => "application/x-amz-json-1.1",
        Protocol::AwsJson10 => "application/x-amz-json-1.0",
        Protocol::RpcV2Cbor => "application/cbor",
        Protocol::Query | Protocol::IamQuery => "text/xml",
        Protocol::RestJson1 => "application/json",
    }
}

fn respond(
    protocol: Protocol,
    status: u16,
    body: Vec<u8>,
    request_id: &str,
    error_code: Option<&str>,
) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(protocol)),
    );
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    if protocol == Protocol::RpcV2Cbor {
        headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    }
    if let Some(code) = error_code.and_then(|code| HeaderValue::from_str(code).ok())
        && !matches!(protocol, Protocol::Query | Protocol::IamQuery)
    {
        headers.insert("x-amzn-errortype", code);
    }
    response
}

fn success_response(protocol: Protocol, answer: Answer, request_id: &str) -> Response {
    if let Answer::Rest(status, value) = &answer {
        let body = serde_json::to_vec(value).unwrap_or_default();
        return respond(protocol, *status, body, request_id, None);
    }
    let body = match answer {
        Answer::Rest(_, value) => serde_json::to_vec(&value).unwrap_or_default(),
        Answer::Xml(text) => text.into_bytes(),
        Answer::Structure(value) => match protocol {
            Protocol::RpcV2Cbor => cbor::encode(&value, &marketplace::TIMESTAMP_MEMBERS),
            _ => serde_json::to_vec(&value).unwrap_or_default(),
        },
    };
    respond(protocol, 200, body, request_id, None)
}

fn error_response(protocol: Protocol, error: &ApiError, request_id: &str) -> Response {
    let body = match protocol {
        Protocol::Query => sts::error_xml(error, request_id).into_bytes(),
        Protocol::IamQuery => iam::error_xml(error, request_id).into_bytes(),
        Protocol::RestJson1 => {
            serde_json::to_vec(&json!({"message": error.message})).unwrap_or_default()
        }
        Protocol::RpcV2Cbor | Protocol::AwsJson11 | Protocol::AwsJson10 => {
            let mut map = error.extra.clone();
            let code = if protocol == Protocol::RpcV2Cbor {
                format!("com.amazonaws.marketplaceagreement#{}", error.code)
            } else {
                error.code.clone()
            };
            map.insert("__type".to_string(), json!(code));
            map.insert("message".to_string(), json!(error.message));
            let value = Value::Object(map);
            if protocol == Protocol::RpcV2Cbor {
                cbor::encode(&value, &[])
            } else {
                serde_json::to_vec(&value).unwrap_or_default()
            }
        }
    };
    respond(protocol, error.status, body, request_id, Some(&error.code))
}

fn plain(status: StatusCode, text: &str) -> Response {
    let mut response = Response::new(Body::from(text.to_string()));
    *response.status_mut() = status;
    response
}

/// A body that fails on first poll: hyper then closes the connection without a complete
/// response, which the client sees as a dropped connection.
struct FailingBody;

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _context: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "sandbox fault: connection dropped after the work was done",
        ))))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(64)
    }
}

fn dropped_connection() -> Response {
    Response::new(Body::new(FailingBody))
}
