//! Test-only helpers: start a sandbox on a loopback port and build the real AWS SDK clients
//! against it with dummy credentials (the access key id names the calling account).
#![allow(dead_code)]

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_smithy_types::retry::RetryConfig;
use aws_types::region::Region;
use entitle::sandbox::{Faults, Sandbox, State};

/// The demo management account.
pub const MANAGEMENT: &str = "100000000001";

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
