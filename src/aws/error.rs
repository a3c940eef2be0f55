//! The typed error every AWS call returns: service, operation, code, message, request id and kind.

use std::fmt;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::request_id::RequestId;

use super::config::{MISSING_PROFILE_PREFIX, MissingProfile, Unreachable};

/// What sort of failure an AWS error is: the one thing callers branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AwsErrorKind {
    /// The service throttled the call and retries ran out.
    Throttled,
    /// A 5xx answer, a dropped connection or a timeout that retries did not overcome.
    Transient,
    /// The caller lacks a permission or is not the right account.
    AccessDenied,
    /// The resource does not exist (or the account is not in an organisation).
    NotFound,
    /// The request conflicts with the resource's current state (e.g. a stale grant version).
    Conflict,
    /// The request was refused as invalid.
    Invalid,
    /// No credentials, no region, or a request that could not be built.
    Configuration,
    /// Anything else.
    Other,
}

/// One failed AWS call, with everything a person or a retry policy needs to know about it.
#[derive(Debug, Clone, thiserror::Error)]
pub struct AwsError {
    /// The service, e.g. `organizations`.
    pub service: &'static str,
    /// The operation, e.g. `ListAccounts`.
    pub operation: &'static str,
    /// The AWS error code, e.g. `AccessDeniedException`; absent for transport failures.
    pub code: Option<String>,
    /// The service's message, or a description of the transport failure.
    pub message: String,
    /// The request id AWS assigned, for support cases and CloudTrail.
    pub request_id: Option<String>,
    /// The failure's kind.
    pub kind: AwsErrorKind,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} failed", self.service, self.operation)?;
        if let Some(code) = &self.code {
            write!(f, " with `{code}`")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(request_id) = &self.request_id {
            write!(f, " (request id {request_id})")?;
        }
        Ok(())
    }
}

/// The kind an AWS error code belongs to, by the codes the services document.
pub fn kind_of_code(code: &str) -> AwsErrorKind {
    match code {
        "Throttling"
        | "ThrottlingException"
        | "ThrottledException"
        | "TooManyRequestsException"
        | "RateLimitExceededException"
        | "RequestLimitExceeded"
        | "SlowDown" => AwsErrorKind::Throttled,
        "ServiceException"
        | "ServerInternalException"
        | "InternalServerException"
        | "InternalFailure"
        | "ServiceUnavailable"
        | "ServiceUnavailableException" => AwsErrorKind::Transient,
        "AccessDeniedException"
        | "AccessDenied"
        | "AuthorizationException"
        | "AccessDeniedForDependencyException"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredTokenException"
        | "ExpiredToken"
        | "AWSOrganizationsNotInUseException" => AwsErrorKind::AccessDenied,
        "ResourceNotFoundException"
        | "NoSuchEntityException"
        | "ParentNotFoundException"
        | "OrganizationalUnitNotFoundException"
        | "AccountNotFoundException"
        | "TargetNotFoundException"
        | "RootNotFoundException" => AwsErrorKind::NotFound,
        "ConflictException" | "ConcurrentModificationException" => AwsErrorKind::Conflict,
        "ValidationException"
        | "InvalidParameterValueException"
        | "InvalidInputException"
        | "ResourceLimitExceededException"
        | "SerializationException" => AwsErrorKind::Invalid,
        _ => AwsErrorKind::Other,
    }
}

impl AwsError {
    /// Converts an SDK error of any operation into the typed error.
    pub fn from_sdk<E>(
        service: &'static str,
        operation: &'static str,
        error: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let request_id = error.request_id().map(str::to_owned);
        match &error {
            SdkError::ServiceError(service_error) => {
                let inner = service_error.err();
                let code = inner.code().map(str::to_owned);
                let status = service_error.raw().status().as_u16();
                let kind = match code.as_deref() {
                    Some(code) => match kind_of_code(code) {
                        AwsErrorKind::Other if status >= 500 => AwsErrorKind::Transient,
                        kind => kind,
                    },
                    None if status >= 500 => AwsErrorKind::Transient,
                    None => AwsErrorKind::Other,
                };
                let message = inner
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("HTTP status {status}"));
                Self {
                    service,
                    operation,
                    code,
                    message,
                    request_id,
                    kind,
                }
            }
            SdkError::TimeoutError(_) => Self {
                service,
                operation,
                code: None,
                message: "the call timed out".to_owned(),
                request_id,
                kind: AwsErrorKind::Transient,
            },
            SdkError::DispatchFailure(_) if find::<MissingProfile>(&error).is_some() => Self {
                service,
                operation,
                code: None,
                message: find::<MissingProfile>(&error)
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                request_id,
                kind: AwsErrorKind::Configuration,
            },
            SdkError::DispatchFailure(failure) if find::<Unreachable>(&error).is_some() => {
                let unreachable = find::<Unreachable>(&error);
                Self {
                    service,
                    operation,
                    code: None,
                    message: unreachable
                        .map(|unreachable| {
                            let how = if unreachable.connect {
                                "could not connect to"
                            } else {
                                "lost the connection to"
                            };
                            format!("{how} `{}`: {}", unreachable.endpoint, unreachable.cause)
                        })
                        .unwrap_or_default(),
                    request_id,
                    kind: if failure.is_user() {
                        AwsErrorKind::Configuration
                    } else {
                        AwsErrorKind::Transient
                    },
                }
            }
            SdkError::DispatchFailure(_) if has_source::<CredentialsError>(&error) => Self {
                service,
                operation,
                code: None,
                message: format!("no usable AWS credentials: {}", chain(&error)),
                request_id,
                kind: AwsErrorKind::Configuration,
            },
            SdkError::DispatchFailure(failure) => Self {
                service,
                operation,
                code: None,
                message: format!("could not reach the service: {}", chain(&error)),
                request_id,
                kind: if failure.is_user() {
                    AwsErrorKind::Configuration
                } else {
                    AwsErrorKind::Transient
                },
            },
            SdkError::ResponseError(_) => Self {
                service,
                operation,
                code: None,
                message: format!("the response could not be read: {}", chain(&error)),
                request_id,
                kind: AwsErrorKind::Transient,
            },
            SdkError::ConstructionFailure(_) => Self {
                service,
                operation,
                code: None,
                message: format!("the request could not be built: {}", chain(&error)),
                request_id,
                kind: AwsErrorKind::Configuration,
            },
            _ => Self {
                service,
                operation,
                code: None,
                message: chain(&error),
                request_id,
                kind: AwsErrorKind::Other,
            },
        }
    }

    /// Whether the failure is a profile the shared files do not define (its message lists those
    /// they do).
    pub fn is_missing_profile(&self) -> bool {
        self.kind == AwsErrorKind::Configuration
            && self.code.is_none()
            && self.message.starts_with(MISSING_PROFILE_PREFIX)
    }

    /// Whether the call never reached its endpoint (the message names it).
    pub fn is_unreachable(&self) -> bool {
        self.code.is_none() && self.message.starts_with("could not connect to `")
    }

    /// Whether this is the given AWS error code.
    pub fn is_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// The first `T` in the source chain.
fn find<'a, T: std::error::Error + 'static>(
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

/// Whether some error in the source chain is a `T`.
fn has_source<T: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(cause) = current {
        if cause.is::<T>() {
            return true;
        }
        current = cause.source();
    }
    false
}

/// The error and its sources, joined: the SDK hides the useful part (no credentials, connection
/// refused) a few levels down.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_codes_of_every_service_are_throttled() {
        assert_eq!(
            kind_of_code("RateLimitExceededException"),
            AwsErrorKind::Throttled
        );
        assert_eq!(
            kind_of_code("TooManyRequestsException"),
            AwsErrorKind::Throttled
        );
        assert_eq!(kind_of_code("ThrottlingException"), AwsErrorKind::Throttled);
        assert_eq!(
            kind_of_code("AccessDeniedException"),
            AwsErrorKind::AccessDenied
        );
        assert_eq!(kind_of_code("ValidationException"), AwsErrorKind::Invalid);
        assert_eq!(kind_of_code("SomethingNew"), AwsErrorKind::Other);
    }

    #[test]
    fn display_names_service_operation_code_and_request_id() {
        let error = AwsError {
            service: "organizations",
            operation: "ListRoots",
            code: Some("AccessDeniedException".into()),
            message: "You don't have permissions to access this resource.".into(),
            request_id: Some("abc-123".into()),
            kind: AwsErrorKind::AccessDenied,
        };
        assert_eq!(
            error.to_string(),
            "organizations:ListRoots failed with `AccessDeniedException`: You don't have permissions to access this resource. (request id abc-123)"
        );
    }
}
