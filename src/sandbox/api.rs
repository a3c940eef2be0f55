//! What every service handler shares: the decoded call, the service error value (protocol
//! independent), and helpers for reading inputs, validating MaxResults and paging.

use serde_json::{Map, Value};

/// The AWS services the emulator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub(crate) enum Service {
    Organizations,
    LicenseManager,
    MarketplaceAgreement,
    Sts,
    Bedrock,
    Iam,
    CostExplorer,
}

impl Service {
    /// The service's throttling error code and HTTP status.
    pub(crate) fn throttle_error(self, rate_limit_status: u16) -> ApiError {
        match self {
            Service::Organizations => ApiError::new(
                400,
                "TooManyRequestsException",
                "You have sent too many requests in too short a period of time. The quota helps protect against denial-of-service attacks. Try again later.",
            )
            .with("Type", "RequestLimitExceeded"),
            Service::LicenseManager => {
                ApiError::new(rate_limit_status, "RateLimitExceededException", "Rate exceeded")
            }
            Service::MarketplaceAgreement => {
                ApiError::new(429, "ThrottlingException", "Rate exceeded")
            }
            Service::Sts => ApiError::new(400, "Throttling", "Rate exceeded"),
            Service::CostExplorer => ApiError::new(
                400,
                "LimitExceededException",
                "You made too many calls in a short period of time. Try again later.",
            ),
            Service::Bedrock => ApiError::new(
                429,
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            ),
            Service::Iam => ApiError::new(400, "Throttling", "Rate exceeded"),
        }
    }

    /// The service's internal error code (HTTP 500).
    pub(crate) fn internal_error(self) -> ApiError {
        let code = match self {
            Service::Organizations => "ServiceException",
            Service::LicenseManager => "ServerInternalException",
            Service::MarketplaceAgreement => "InternalServerException",
            Service::Sts => "InternalFailure",
            Service::CostExplorer => "InternalFailure",
            Service::Bedrock => "InternalServerException",
            Service::Iam => "ServiceFailure",
        };
        ApiError::new(
            500,
            code,
            "The service encountered an internal error (injected by the sandbox)",
        )
    }
}

/// A service error, rendered by the protocol layer in the wire shape of its service.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
    /// Extra members of the error structure (e.g. Organizations' `Reason`).
    pub(crate) extra: Map<String, Value>,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            extra: Map::new(),
        }
    }

    pub(crate) fn with(mut self, key: &str, value: &str) -> ApiError {
        self.extra
            .insert(key.to_string(), Value::String(value.to_string()));
        self
    }

    /// 400 ValidationException.
    pub(crate) fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "ValidationException", message)
    }

    /// 400 ValidationException in the framework's words for a missing required member.
    pub(crate) fn missing(member: &str) -> ApiError {
        ApiError::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(member)
        ))
    }

    /// 403 AccessDeniedException.
    pub(crate) fn access_denied(message: impl Into<String>) -> ApiError {
        ApiError::new(403, "AccessDeniedException", message)
    }
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Result of one operation: the output structure or a service error.
pub(crate) type ApiResult = Result<Value, ApiError>;

/// One decoded call.
#[derive(Debug, Clone)]
pub(crate) struct Call<'a> {
    /// Operation name, e.g. `CreateGrant`.
    pub(crate) operation: &'a str,
    /// The input structure as JSON (CBOR and query inputs are converted).
    pub(crate) input: &'a Value,
    /// The calling account, derived from the access key.
    pub(crate) caller: &'a str,
    /// Request id for error bodies and STS metadata.
    pub(crate) request_id: &'a str,
}

impl Call<'_> {
    /// An optional string member.
    pub(crate) fn string(&self, member: &str) -> Option<&str> {
        self.input.get(member).and_then(Value::as_str)
    }

    /// A required string member (ValidationException when absent or empty).
    pub(crate) fn required(&self, member: &str) -> Result<&str, ApiError> {
        match self.string(member) {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(ApiError::missing(member)),
        }
    }

    /// An optional integer member.
    pub(crate) fn integer(&self, member: &str) -> Option<i64> {
        self.input.get(member).and_then(Value::as_i64)
    }

    /// An optional list of strings.
    pub(crate) fn strings(&self, member: &str) -> Option<Vec<String>> {
        self.input
            .get(member)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_string))
                    .collect()
            })
    }
}

/// The query protocol's (STS, IAM) validation error: HTTP 400 `ValidationError`.
pub(crate) fn query_validation_error(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "ValidationError", message)
}

/// A name of `[\w+=,.@-]` characters whose length the service model bounds (STS's
/// RoleSessionName 2-64, IAM's RoleName 1-64), refused in the framework's words.
pub(crate) fn check_name(
    value: &str,
    member: &str,
    min: usize,
    max: usize,
    pattern: &str,
) -> Result<(), ApiError> {
    let length = value.chars().count();
    let constraint = if length < min {
        format!("Member must have length greater than or equal to {min}")
    } else if length > max {
        format!("Member must have length less than or equal to {max}")
    } else if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        format!("Member must satisfy regular expression pattern: {pattern}")
    } else {
        return Ok(());
    };
    Err(query_validation_error(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    )))
}

/// A page of items and the NextToken that continues it.
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next_token: Option<String>,
}

/// Parses a NextToken produced by [`paginate`]: `(offset, empty page already served)`.
fn parse_token(token: &str) -> Option<(usize, bool)> {
    let rest = token.strip_prefix("sbx-")?;
    let (offset, empty_served) = match rest.strip_suffix("-e") {
        Some(offset) => (offset, true),
        None => (rest, false),
    };
    offset.parse().ok().map(|offset| (offset, empty_served))
}

/// Slices `items` into one page. `empty_page_every` (0 = never) serves every Nth continued page
/// empty but with a NextToken, as Organizations occasionally does. Returns `None` for a token
/// this emulator did not issue.
pub(crate) fn paginate<T: Clone>(
    items: &[T],
    token: Option<&str>,
    page_size: usize,
    empty_page_every: u32,
) -> Option<Page<T>> {
    let (offset, empty_served) = match token {
        None => (0, false),
        Some(token) => parse_token(token)?,
    };
    if offset > items.len() {
        return None;
    }
    let page_size = page_size.max(1);
    if token.is_some() && !empty_served && empty_page_every > 0 {
        let page_number = offset / page_size;
        if page_number.is_multiple_of(empty_page_every as usize) {
            return Some(Page {
                items: Vec::new(),
                next_token: Some(format!("sbx-{offset}-e")),
            });
        }
    }
    let end = (offset + page_size).min(items.len());
    Some(Page {
        items: items[offset..end].to_vec(),
        next_token: (end < items.len()).then(|| format!("sbx-{end}")),
    })
}

/// Epoch seconds as the ISO-8601 string License Manager uses.
pub(crate) fn iso8601(epoch_seconds: i64) -> String {
    aws_smithy_types::DateTime::from_secs(epoch_seconds)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paginates_with_empty_pages() {
        let items: Vec<u32> = (0..5).collect();
        let first = paginate(&items, None, 2, 1).unwrap();
        assert_eq!(first.items, vec![0, 1]);
        let token = first.next_token.unwrap();
        let empty = paginate(&items, Some(&token), 2, 1).unwrap();
        assert!(empty.items.is_empty());
        let second = paginate(&items, empty.next_token.as_deref(), 2, 1).unwrap();
        assert_eq!(second.items, vec![2, 3]);
        assert!(paginate(&items, Some("bogus"), 2, 0).is_none());
    }
}
