//! A client for a running emulator's `/_sandbox/` routes: admin actions and stats over HTTP.

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// Why a call to a running emulator failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The URL is not `http://HOST:PORT`.
    #[error("`{0}` is not an emulator URL like `http://127.0.0.1:4566`")]
    BadUrl(String),
    /// Nothing answered, or the connection broke.
    #[error("could not reach the emulator at `{url}`: {message}")]
    Unreachable {
        /// The emulator.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The emulator refused the request.
    #[error("the emulator answered {status}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its `error` field, or the body.
        message: String,
    },
}

/// Sends one request to `url` + `path` and returns the JSON answer.
pub async fn call(
    url: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, RemoteError> {
    let authority = url
        .strip_prefix("http://")
        .map(|rest| rest.trim_end_matches('/'))
        .filter(|rest| !rest.is_empty() && !rest.contains('/'))
        .ok_or_else(|| RemoteError::BadUrl(url.to_owned()))?;
    let unreachable = |message: String| RemoteError::Unreachable {
        url: url.to_owned(),
        message,
    };
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|error| unreachable(error.to_string()))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| unreachable(error.to_string()))?;
    let driver = tokio::spawn(connection);
    let payload = body.map(|value| value.to_string()).unwrap_or_default();
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", authority)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(payload)))
        .map_err(|error| RemoteError::BadUrl(format!("{url}{path}: {error}")))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| unreachable(error.to_string()))?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|error| unreachable(error.to_string()))?
        .to_bytes();
    driver.abort();
    let value: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    if (200..300).contains(&status) {
        Ok(value)
    } else {
        let message = value
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| value.to_string());
        Err(RemoteError::Refused { status, message })
    }
}
