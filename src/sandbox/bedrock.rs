//! Amazon Bedrock's control plane (restJson1, signing name `bedrock`, per region): the model
//! availability of one account (GetFoundationModelAvailability), and the Anthropic use-case form
//! (Get/PutUseCaseForModelAccess). Availability is computed from the state: the emulator's own
//! table of models (id -> Marketplace product, regions), the licenses and grants the calling
//! account holds, the admin action that breaks one account's availability, and the setting
//! `use_case_form_gates_availability`. `docs/emulator.md` says which of this is documented.

use serde_json::{Value, json};

use super::api::{ApiError, ApiResult, Call};
use super::state::State;

/// The operations this module answers.
pub(crate) const OPERATIONS: [&str; 3] = [
    "GetFoundationModelAvailability",
    "GetUseCaseForModelAccess",
    "PutUseCaseForModelAccess",
];

const AVAILABILITY_PREFIX: &str = "/foundation-model-availability/";
const USE_CASE_PATH: &str = "/use-case-for-model-access";

/// Which operation a restJson1 request is, by method and path.
pub(crate) fn operation_of(method: &str, path: &str) -> Option<&'static str> {
    match (method, path) {
        ("GET", path) if path.starts_with(AVAILABILITY_PREFIX) => {
            Some("GetFoundationModelAvailability")
        }
        ("GET", USE_CASE_PATH) => Some("GetUseCaseForModelAccess"),
        ("POST", USE_CASE_PATH) => Some("PutUseCaseForModelAccess"),
        _ => None,
    }
}

/// Whether a path belongs to this service (whatever the method).
pub(crate) fn is_bedrock_path(path: &str) -> bool {
    path.starts_with(AVAILABILITY_PREFIX) || path == USE_CASE_PATH
}

/// Regions where the current Claude models are served in-region (the Bedrock user guide's
/// "model support by Region" page, condensed; see docs/emulator.md).
const CLAUDE_4_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-3",
    "eu-north-1",
    "ap-northeast-1",
    "ap-southeast-2",
    "ap-south-1",
    "us-gov-west-1",
];

/// Regions of the older Claude models and of Amazon's own models in the table.
const OLDER_REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-central-1",
    "eu-west-1",
    "ap-northeast-1",
    "ap-southeast-2",
];

/// One model of the emulator's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// Bedrock model id.
    pub id: &'static str,
    /// The Marketplace product that sells it (`None`: not sold through Marketplace, no license
    /// needed).
    pub product: Option<&'static str>,
    /// Regions where it is available.
    pub regions: &'static [&'static str],
}

impl Model {
    /// Whether this is an Anthropic model (which needs the use-case form).
    pub fn is_anthropic(&self) -> bool {
        self.id.starts_with("anthropic.")
    }
}

/// The emulator's model table: Bedrock model id -> Marketplace product id (the Bedrock user
/// guide's list of model access product ids) and regions.
pub const MODELS: &[Model] = &[
    Model {
        id: "anthropic.claude-sonnet-4-5-20250929-v1:0",
        product: Some("prod-mxcfnwvpd6kb4"),
        regions: CLAUDE_4_REGIONS,
    },
    Model {
        id: "anthropic.claude-haiku-4-5-20251001-v1:0",
        product: Some("prod-xdkflymybwmvi"),
        regions: CLAUDE_4_REGIONS,
    },
    Model {
        id: "anthropic.claude-opus-4-1-20250805-v1:0",
        product: Some("prod-w3q2d6rfge4tw"),
        regions: &["us-east-1", "us-east-2", "us-west-2"],
    },
    Model {
        id: "anthropic.claude-opus-4-20250514-v1:0",
        product: Some("prod-azycxvnd5mhqi"),
        regions: &["us-east-1", "us-east-2", "us-west-2"],
    },
    Model {
        id: "anthropic.claude-sonnet-4-20250514-v1:0",
        product: Some("prod-4pmewlybdftbs"),
        regions: CLAUDE_4_REGIONS,
    },
    Model {
        id: "anthropic.claude-3-7-sonnet-20250219-v1:0",
        product: Some("prod-4dlfvry4v5hbi"),
        regions: OLDER_REGIONS,
    },
    Model {
        id: "anthropic.claude-3-5-sonnet-20241022-v2:0",
        product: Some("prod-cx7ovbu5wex7g"),
        regions: OLDER_REGIONS,
    },
    Model {
        id: "anthropic.claude-3-5-haiku-20241022-v1:0",
        product: Some("prod-5oba7y7jpji56"),
        regions: &["us-east-1", "us-east-2", "us-west-2"],
    },
    Model {
        id: "anthropic.claude-3-haiku-20240307-v1:0",
        product: Some("prod-ozonys2hmmpeu"),
        regions: OLDER_REGIONS,
    },
    Model {
        id: "amazon.nova-pro-v1:0",
        product: None,
        regions: OLDER_REGIONS,
    },
    Model {
        id: "amazon.titan-text-express-v1",
        product: None,
        regions: OLDER_REGIONS,
    },
];

/// The table entry of a model id.
pub fn model(id: &str) -> Option<&'static Model> {
    MODELS.iter().find(|model| model.id == id)
}

/// The use-case form every seed gives the management account (JSON, as the Bedrock console
/// sends it; `formData` is its bytes).
pub const DEMO_USE_CASE_FORM: &str = r#"{"companyName":"Example Corp","companyWebsite":"https://example.com","intendedUsers":"0","industryOption":"Technology","otherIndustryOption":"","useCases":"Internal assistants and code generation"}"#;

/// [`DEMO_USE_CASE_FORM`] base64-encoded, as the state keeps forms.
pub(crate) fn demo_use_case_form() -> String {
    aws_smithy_types::base64::encode(DEMO_USE_CASE_FORM)
}

/// The value every model id of the model must match (`BedrockModelId`).
fn valid_model_id(id: &str) -> bool {
    // [a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}
    // ([:][a-z0-9-]{1,63}){0,2}(/[a-z0-9]{12}|), max 140: checked in parts.
    if id.is_empty() || id.len() > 140 {
        return false;
    }
    let (main, suffix) = match id.split_once('/') {
        Some((main, suffix)) => (main, Some(suffix)),
        None => (id, None),
    };
    if let Some(suffix) = suffix
        && (suffix.len() != 12
            || !suffix
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit()))
    {
        return false;
    }
    let mut parts = main.split(':');
    let name = parts.next().unwrap_or_default();
    let versions: Vec<&str> = parts.collect();
    let word = |text: &str| {
        !text.is_empty()
            && text.len() <= 63
            && text
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
    };
    let dotted: Vec<&str> = name.split('.').collect();
    versions.len() <= 2
        && versions.iter().all(|version| word(version))
        && (2..=4).contains(&dotted.len())
        && dotted.iter().all(|part| word(part))
}

/// Percent-decodes one path segment.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && index + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[index + 1..index + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The region of a request: the third field of the SigV4 credential scope
/// (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`), us-east-1 when absent.
pub(crate) fn region_of(authorization: &str) -> String {
    scope_field(authorization, 2).unwrap_or_else(|| "us-east-1".to_string())
}

/// The signing service of a request (the fourth field of the credential scope).
pub(crate) fn signing_service_of(authorization: &str) -> Option<String> {
    scope_field(authorization, 3)
}

fn scope_field(authorization: &str, index: usize) -> Option<String> {
    authorization
        .split("Credential=")
        .nth(1)
        .and_then(|rest| rest.split([',', ' ']).next())
        .and_then(|scope| scope.split('/').nth(index))
        .filter(|field| !field.is_empty())
        .map(str::to_string)
}

fn not_found(message: impl Into<String>) -> ApiError {
    ApiError::new(404, "ResourceNotFoundException", message)
}

/// Answers one Bedrock call. `path` is the request path (the model id is its last segment),
/// `region` the region of the credential scope.
pub(crate) fn handle(state: &mut State, call: &Call<'_>, path: &str, region: &str) -> ApiResult {
    let active = state
        .accounts
        .get(call.caller)
        .is_some_and(|account| account.state == "ACTIVE");
    if !active {
        return Err(ApiError::access_denied(format!(
            "User: {} is not authorized to perform: bedrock:{} because no identity-based policy allows it",
            state.arn("iam", call.caller, "user/sandbox"),
            call.operation
        )));
    }
    match call.operation {
        "GetFoundationModelAvailability" => {
            let encoded = path.strip_prefix(AVAILABILITY_PREFIX).unwrap_or_default();
            availability(state, call.caller, &percent_decode(encoded), region)
        }
        "GetUseCaseForModelAccess" => {
            let form = use_case_form(state, call.caller).ok_or_else(|| {
                not_found("No use case details have been submitted for this account.")
            })?;
            Ok(json!({"formData": form}))
        }
        "PutUseCaseForModelAccess" => put_use_case(state, call),
        other => Err(ApiError::new(
            404,
            "UnknownOperationException",
            format!("operation `{other}` is not emulated by the sandbox"),
        )),
    }
}

/// The form an account answers: its own, else the management account's (inherited).
pub(crate) fn use_case_form<'a>(state: &'a State, account: &str) -> Option<&'a String> {
    state.bedrock.use_case_forms.get(account).or_else(|| {
        state
            .bedrock
            .use_case_forms
            .get(state.management_account_id())
    })
}

fn put_use_case(state: &mut State, call: &Call<'_>) -> ApiResult {
    let Some(encoded) = call.string("formData") else {
        return Err(ApiError::missing("formData"));
    };
    let bytes = aws_smithy_types::base64::decode(encoded).map_err(|_| {
        ApiError::validation("1 validation error detected: Value at 'formData' failed to satisfy constraint: Member must be base64-encoded")
    })?;
    if bytes.len() < 10 || bytes.len() > 16_384 {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'formData' failed to satisfy constraint: Member must have length between 10 and 16384 (got {})",
            bytes.len()
        )));
    }
    state
        .bedrock
        .use_case_forms
        .insert(call.caller.to_string(), encoded.to_string());
    Ok(Value::Object(serde_json::Map::new()))
}

/// Whether `account` is entitled to `product`: it holds an AVAILABLE license of it itself (its
/// own subscription, not disabled by a grant's activation), or an ACTIVE grant of an AVAILABLE
/// license of it.
pub fn entitled(state: &State, account: &str, product: &str) -> bool {
    let own = state.licenses.values().any(|license| {
        license.product_sku == product
            && license.status == "AVAILABLE"
            && license.disabled_by_grant.is_none()
            && (license.holder_account_id == account || license.beneficiary == account)
    });
    own || state.grants.values().any(|grant| {
        grant.status == "ACTIVE"
            && grant.grantee_account_id.as_deref() == Some(account)
            && state
                .licenses
                .get(&grant.license_arn)
                .is_some_and(|license| {
                    license.product_sku == product && license.status == "AVAILABLE"
                })
    })
}

/// Whether the `break_availability` admin action broke this account's availability of `model`.
fn broken(state: &State, account: &str, model: &str) -> bool {
    state
        .bedrock
        .broken_availability
        .get(account)
        .is_some_and(|models| models.contains("*") || models.contains(model))
}

fn availability(state: &State, account: &str, model_id: &str, region: &str) -> ApiResult {
    if !valid_model_id(model_id) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{model_id}' at 'modelId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9-]{{1,63}}[.]{{1}}[a-z0-9-]{{1,63}}([a-z0-9-]{{1,63}}[.]){{0,2}}[a-z0-9-]{{1,63}}([:][a-z0-9-]{{1,63}}){{0,2}}(/[a-z0-9]{{12}}|)"
        )));
    }
    let Some(model) = model(model_id) else {
        return Err(not_found(format!(
            "The foundation model `{model_id}` was not found."
        )));
    };
    let entitled = model
        .product
        .is_none_or(|product| entitled(state, account, product));
    let entitlement = if entitled && !broken(state, account, model.id) {
        "AVAILABLE"
    } else {
        "NOT_AVAILABLE"
    };
    let form_missing = model.is_anthropic() && use_case_form(state, account).is_none();
    let agreement = if form_missing && state.settings.use_case_form_gates_availability {
        json!({
            "status": "NOT_AVAILABLE",
            "errorMessage": "Model use case details have not been submitted for this account.",
        })
    } else if entitled {
        json!({"status": "AVAILABLE"})
    } else {
        json!({"status": "NOT_AVAILABLE"})
    };
    let region_status = if model.regions.contains(&region) {
        "AVAILABLE"
    } else {
        "NOT_AVAILABLE"
    };
    Ok(json!({
        "modelId": model.id,
        "agreementAvailability": agreement,
        "authorizationStatus": "AUTHORIZED",
        "entitlementAvailability": entitlement,
        "regionAvailability": region_status,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_follow_the_pattern() {
        for good in [
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "amazon.titan-text-express-v1",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-3-haiku-20240307-v1:0:200k",
        ] {
            assert!(valid_model_id(good), "{good}");
        }
        for bad in [
            "",
            "claude",
            "Anthropic.Claude",
            "a.b:c:d:e",
            "a..b",
            "a.b/short",
        ] {
            assert!(!valid_model_id(bad), "{bad}");
        }
    }

    #[test]
    fn path_segments_are_decoded_and_scopes_read() {
        assert_eq!(
            percent_decode("anthropic.claude-sonnet-4-5-20250929-v1%3A0"),
            "anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        let header = "AWS4-HMAC-SHA256 Credential=AKID111111111111/20260101/eu-west-1/bedrock/aws4_request, SignedHeaders=host, Signature=x";
        assert_eq!(region_of(header), "eu-west-1");
        assert_eq!(signing_service_of(header).as_deref(), Some("bedrock"));
        assert_eq!(region_of("garbage"), "us-east-1");
    }

    #[test]
    fn every_product_sells_one_model() {
        let mut products: Vec<&str> = MODELS.iter().filter_map(|model| model.product).collect();
        let count = products.len();
        products.sort_unstable();
        products.dedup();
        assert_eq!(products.len(), count);
    }
}
