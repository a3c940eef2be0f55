//! Test harness: the Python venv with moto, moto's server on a free loopback port, the
//! sandbox on a free loopback port, and SDK clients pointed at a local endpoint with dummy
//! credentials (for the sandbox, the access key id names the calling account).
#![allow(dead_code, clippy::print_stderr, clippy::unwrap_used)]

pub mod schema;

use aws_credential_types::Credentials;
use aws_smithy_types::retry::RetryConfig;
use aws_types::region::Region;
use entitle::sandbox::{Faults, Sandbox, State};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_organizations::types::{OrganizationFeatureSet, Tag};

/// The management account of every organisation the tests build in moto.
pub const MANAGEMENT: &str = "100000000001";

/// The moto version the tests are written against.
const MOTO_REQUIREMENT: &str = "moto[server]==5.2.5";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// The venv under `target/` with moto installed, created on first use.
///
/// Several test processes may ask at once (cargo nextest), so creation is guarded by a lock
/// directory; a venv is only used once its `ready` marker exists.
pub fn python_venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let venv = target_dir().join("test-venv");
        let ready = venv.join("entitle-ready");
        if ready.exists() {
            return venv;
        }
        let lock = target_dir().join("test-venv.lock");
        let started = Instant::now();
        loop {
            match std::fs::create_dir_all(target_dir()).and_then(|()| std::fs::create_dir(&lock)) {
                Ok(()) => break,
                Err(_) if ready.exists() => return venv,
                Err(_) if started.elapsed() > Duration::from_secs(600) => {
                    panic!(
                        "waited 10 minutes for {} to go away; remove it if no test is running",
                        lock.display()
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
        let result = (|| {
            if ready.exists() {
                return Ok(());
            }
            run(
                Command::new(python()).args(["-m", "venv"]).arg(&venv),
                "create a Python venv",
            )?;
            run(
                Command::new(venv.join("bin/python")).args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    MOTO_REQUIREMENT,
                    "boto3",
                    "jactionlint==2.3.0",
                ]),
                "install moto[server] and boto3 from PyPI",
            )?;
            std::fs::write(&ready, MOTO_REQUIREMENT).map_err(|error| error.to_string())
        })();
        let _ = std::fs::remove_dir(&lock);
        if let Err(error) = result {
            panic!(
                "could not set up the Python venv with moto at {}: {error}\n\
                 the moto-backed tests need Python 3 with venv and pip, and access to PyPI on \
                 first use (or a venv made beforehand: see docs/testing.md); no test skips \
                 itself when its component is missing",
                venv.display()
            );
        }
        venv
    })
    .clone()
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|error| format!("could not {what}: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "could not {what} ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A path in the repository (example plans, fixtures), as text for command lines.
pub fn repository(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

/// A free port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// moto's server, running until dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Moto {
    /// Starts `moto_server` on a free loopback port and waits until it answers.
    pub fn start(management_account: &str) -> Self {
        let venv = python_venv();
        let port = free_port();
        let child = Command::new(venv.join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Without this, moto scans every account's IAM data on each request.
            .env("MOTO_ACCOUNT_ID", management_account)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "could not start moto_server from {}: {error}",
                    venv.display()
                )
            });
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let started = Instant::now();
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not listen on {address} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An Organizations client for a local endpoint, with dummy credentials.
pub fn organizations_client(endpoint: &str) -> aws_sdk_organizations::Client {
    let config = aws_sdk_organizations::Config::builder()
        .behavior_version(aws_sdk_organizations::config::BehaviorVersion::latest())
        .region(aws_sdk_organizations::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_organizations::config::Credentials::new(
            "AKIDTESTTESTTEST",
            "test-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_organizations::Client::from_conf(config)
}

/// Runs the `entitle` binary with an environment that can only reach `endpoint`.
pub fn entitle(endpoint: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_entitle"));
    for variable in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ENDPOINT_URL_ORGANIZATIONS",
        "AWS_ENDPOINT_URL_LICENSE_MANAGER",
        "AWS_ENDPOINT_URL_MARKETPLACE_AGREEMENT",
        "AWS_ENDPOINT_URL_STS",
        "NO_COLOR",
        "ENTITLE_LOG",
        "ENTITLE_JOURNAL",
        "AWS_ENDPOINT_URL_S3",
    ] {
        command.env_remove(variable);
    }
    // Empty config files: nothing of the developer's own AWS set-up leaks into a test.
    let empty = target_dir().join("test-empty-aws-config");
    if !empty.exists() {
        std::fs::create_dir_all(target_dir()).unwrap();
        std::fs::write(&empty, "").unwrap();
    }
    command
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "eu-west-1")
        .stdin(Stdio::null());
    match endpoint {
        Some(endpoint) => {
            command
                .env("AWS_ENDPOINT_URL", endpoint)
                .env("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTEST")
                .env("AWS_SECRET_ACCESS_KEY", "test-secret");
        }
        None => {
            command
                .env_remove("AWS_ENDPOINT_URL")
                .env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY");
        }
    }
    command
}

/// A finished command's exit code, stdout and stderr.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a command to completion.
pub fn ran(command: &mut Command) -> Ran {
    let output = command.output().unwrap();
    let ran = Ran {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    // Every JSON document a test sees is checked against the schema of its kind.
    schema::check_stdout(&ran.stdout);
    ran
}

/// What the test expects of one account: name, OU path, state, tags.
pub type BuiltAccount = (String, String, &'static str, BTreeMap<String, String>);

/// What the test built, to compare discovery with.
#[derive(Debug, Default)]
pub struct Built {
    /// OU path -> OU id.
    pub units: BTreeMap<String, String>,
    /// account id -> (name, OU path, state, tags).
    pub accounts: BTreeMap<String, BuiltAccount>,
}

/// The OU tree of the test organisation: five levels deep at its deepest.
pub const PATHS: &[&str] = &[
    "Workloads",
    "Workloads/ML",
    "Workloads/ML/Training",
    "Workloads/ML/Training/GPU",
    "Workloads/ML/Training/GPU/Experiments",
    "Workloads/Web",
    "Workloads/Web/Prod",
    "Sandbox",
    "Security",
];

/// Builds an organisation in moto: the OUs above, `accounts` accounts spread over them (and the
/// root), a third tagged `bedrock=approved`, and `closed` of them closed.
pub async fn build_org(
    client: &aws_sdk_organizations::Client,
    accounts: usize,
    closed: usize,
    tags: bool,
) -> Built {
    client
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let root = client.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_owned();
    let mut built = Built::default();
    for path in PATHS {
        let (parent_path, name) = path.rsplit_once('/').unwrap_or(("", path));
        let parent = if parent_path.is_empty() {
            root.clone()
        } else {
            built.units[parent_path].clone()
        };
        let unit = client
            .create_organizational_unit()
            .parent_id(&parent)
            .name(name)
            .send()
            .await
            .unwrap();
        built.units.insert(
            (*path).to_owned(),
            unit.organizational_unit().unwrap().id().unwrap().to_owned(),
        );
    }
    built.accounts.insert(
        MANAGEMENT.to_owned(),
        ("master".into(), String::new(), "ACTIVE", BTreeMap::new()),
    );
    for index in 0..accounts {
        let name = format!("account-{index:04}");
        let mut account_tags = BTreeMap::new();
        if tags {
            account_tags.insert(
                "env".to_owned(),
                if index % 2 == 0 { "prod" } else { "dev" }.to_owned(),
            );
            if index % 3 == 0 {
                account_tags.insert("bedrock".to_owned(), "approved".to_owned());
            }
        }
        let mut request = client
            .create_account()
            .email(format!("{name}@example.com"))
            .account_name(&name);
        for (key, value) in &account_tags {
            request = request.tags(Tag::builder().key(key).value(value).build().unwrap());
        }
        let status = request.send().await.unwrap();
        let id = status
            .create_account_status()
            .unwrap()
            .account_id()
            .unwrap()
            .to_owned();
        // Every tenth account stays at the root; the others go round the OUs, with a crowd
        // in `Sandbox` so that its listing needs several pages.
        let path = match index % 10 {
            0 => String::new(),
            1..=3 => "Sandbox".to_owned(),
            slot => PATHS[(index / 10 + slot) % PATHS.len()].to_owned(),
        };
        if !path.is_empty() {
            client
                .move_account()
                .account_id(&id)
                .source_parent_id(&root)
                .destination_parent_id(&built.units[&path])
                .send()
                .await
                .unwrap();
        }
        built
            .accounts
            .insert(id, (name, path, "ACTIVE", account_tags));
    }
    let to_close: Vec<String> = built
        .accounts
        .keys()
        .filter(|id| *id != MANAGEMENT)
        .take(closed)
        .cloned()
        .collect();
    for id in to_close {
        client.close_account().account_id(&id).send().await.unwrap();
        // moto suspends a closed account at once (AWS: PENDING_CLOSURE, later CLOSED).
        built.accounts.get_mut(&id).unwrap().2 = "SUSPENDED";
    }
    built
}

// ---- the sandbox: SDK clients per service and raw HTTP ----

pub async fn start(state: State) -> Sandbox {
    start_with_faults(state, Faults::default()).await
}

pub async fn start_with_faults(state: State, faults: Faults) -> Sandbox {
    Sandbox::start("127.0.0.1:0".parse().unwrap(), state, faults)
        .await
        .expect("sandbox starts")
}

fn credentials(account: Option<&str>) -> Credentials {
    let key = match account {
        Some(account) => format!("AKID{account}"),
        None => "AKIDSANDBOX".to_string(),
    };
    Credentials::new(key, "sandbox-secret", None, None, "sandbox")
}

fn retry() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(20))
}

pub fn license_manager(sandbox: &Sandbox) -> aws_sdk_licensemanager::Client {
    license_manager_as(sandbox, None)
}

pub fn license_manager_as(
    sandbox: &Sandbox,
    account: Option<&str>,
) -> aws_sdk_licensemanager::Client {
    let config = aws_sdk_licensemanager::Config::builder()
        .behavior_version(aws_sdk_licensemanager::config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials(account))
        .endpoint_url(sandbox.endpoint())
        .retry_config(retry())
        .build();
    aws_sdk_licensemanager::Client::from_conf(config)
}

pub fn organizations(sandbox: &Sandbox) -> aws_sdk_organizations::Client {
    organizations_as(sandbox, None)
}

pub fn organizations_as(sandbox: &Sandbox, account: Option<&str>) -> aws_sdk_organizations::Client {
    let config = aws_sdk_organizations::Config::builder()
        .behavior_version(aws_sdk_organizations::config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials(account))
        .endpoint_url(sandbox.endpoint())
        .retry_config(retry())
        .build();
    aws_sdk_organizations::Client::from_conf(config)
}

pub fn marketplace(sandbox: &Sandbox) -> aws_sdk_marketplaceagreement::Client {
    let config = aws_sdk_marketplaceagreement::Config::builder()
        .behavior_version(aws_sdk_marketplaceagreement::config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials(None))
        .endpoint_url(sandbox.endpoint())
        .retry_config(retry())
        .build();
    aws_sdk_marketplaceagreement::Client::from_conf(config)
}

pub fn sts_as(sandbox: &Sandbox, account: Option<&str>) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials(account))
        .endpoint_url(sandbox.endpoint())
        .retry_config(retry())
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

/// The error code of an SDK error.
pub fn code<E, R>(error: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    error.code().unwrap_or("<no code>").to_string()
}

/// The error message of an SDK error.
pub fn message<E, R>(error: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    error.message().unwrap_or_default().to_string()
}

/// A raw HTTP/1.1 request (Connection: close): `(status, headers, body)`.
pub async fn raw_http(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap();
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, head, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|window| window == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 4 + size..];
    }
    out
}

pub const SIGNED: (&str, &str) = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=AKIDSANDBOX/20260101/us-east-1/service/aws4_request, SignedHeaders=host, Signature=00",
);

/// `entitle sandbox serve` as its own process (so an `entitle` under test can be killed while
/// the emulator keeps its state), stopped with SIGTERM so that it saves its state file.
pub struct SandboxServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The first line it printed (`entitle sandbox listening on ... (state: ...)`).
    pub banner: String,
}

impl SandboxServer {
    /// Starts the emulator with `args` (after `sandbox serve --addr ...`) and waits for its banner.
    pub fn start(args: &[&str]) -> Self {
        let port = free_port();
        let mut child = entitle(None)
            .args(["sandbox", "serve", "--addr", &format!("127.0.0.1:{port}")])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut banner).unwrap();
        assert!(
            banner.contains("listening"),
            "the emulator did not start: {banner:?}"
        );
        // Keep draining what it prints, so it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            banner,
        }
    }

    /// Stops it the way an operator would (SIGTERM): it saves its state file first. Returns its
    /// exit code (-1 when a signal ended it).
    pub fn stop(mut self) -> i32 {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "could not send SIGTERM to the emulator");
        self.child.wait().unwrap().code().unwrap_or(-1)
    }
}

impl Drop for SandboxServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo organisation with these emulator settings (by name, as JSON values), each checked to
/// have taken: a misspelt setting would otherwise fall back to its default silently.
#[allow(dead_code)]
pub fn demo_with_settings(settings: &[(&str, serde_json::Value)]) -> State {
    let mut state = serde_json::to_value(State::demo()).unwrap();
    for (name, value) in settings {
        state["settings"][*name] = value.clone();
    }
    let state: State = serde_json::from_value(state).unwrap();
    let taken = serde_json::to_value(&state.settings).unwrap();
    for (name, value) in settings {
        assert_eq!(&taken[*name], value, "setting `{name}`");
    }
    state
}

// ---- journals ----

/// The lines of a rollout's local journal under `dir/.entitle/journal`, wherever it is kept: under
/// its organisation (`<org-id>/<rollout>.jsonl`) and, from before journals were kept per
/// organisation, `<rollout>.jsonl`; in time order, one line each.
pub fn journal_text(dir: &Path, rollout: &str) -> String {
    let root = dir.join(".entitle/journal");
    let name = format!("{rollout}.jsonl");
    let mut files = vec![root.join(&name)];
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.filter_map(Result::ok) {
            if entry.path().is_dir() {
                files.push(entry.path().join(&name));
            }
        }
    }
    let mut lines: Vec<String> = files
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .flat_map(|text| {
            text.lines()
                .filter(|line| !line.trim().is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let at = |line: &String| {
        serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|value| value["at"].as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    lines.sort_by_key(at);
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

/// Whether a rollout has a local journal under `dir/.entitle/journal`, wherever it is kept.
pub fn journal_exists(dir: &Path, rollout: &str) -> bool {
    !journal_text(dir, rollout).is_empty()
}

// ---- S3 in moto, for the journal ----

/// An S3 client for a local endpoint (moto): path-style addressing, dummy credentials.
pub fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials(None))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Creates a bucket in moto's S3.
pub async fn create_bucket(endpoint: &str, bucket: &str) {
    s3_client(endpoint)
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
}

/// The keys under `prefix` in a bucket of moto's S3, sorted.
pub async fn s3_keys(endpoint: &str, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = s3_client(endpoint)
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|object| object.key().map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

/// An object's text in moto's S3, if it exists.
pub async fn s3_text(endpoint: &str, bucket: &str, key: &str) -> Option<String> {
    let object = s3_client(endpoint)
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .ok()?;
    let bytes = object.body.collect().await.unwrap().into_bytes();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Empties and deletes a bucket of moto's S3.
pub async fn delete_bucket(endpoint: &str, bucket: &str) {
    let client = s3_client(endpoint);
    for key in s3_keys(endpoint, bucket, "").await {
        client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
    }
    client.delete_bucket().bucket(bucket).send().await.unwrap();
}
