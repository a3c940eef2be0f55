//! The emulator's own HTTP routes under `/_sandbox/`: stats, the state (read and replace),
//! the settings (read and merge), faults, reset, save, and the admin actions of `admin.rs`.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::admin::{self, AdminAction, AdminError};
use super::faults::Faults;
use super::settings::Settings;
use super::state::State;
use super::{Shared, lock};

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut response = Response::new(Body::from(
        serde_json::to_vec_pretty(value).unwrap_or_default(),
    ));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `/_sandbox/...`: stats, state, settings, reset, faults, save, and the admin actions.
pub(super) fn admin_route(shared: &Shared, method: &Method, route: &str, body: &[u8]) -> Response {
    let parse_body = || -> Result<Value, String> {
        if body.is_empty() {
            Ok(Value::Object(Map::new()))
        } else {
            serde_json::from_slice(body).map_err(|error| format!("malformed JSON: {error}"))
        }
    };
    let bad_request =
        |message: String| json_response(StatusCode::BAD_REQUEST, &json!({"error": message}));
    match (method.as_str(), route) {
        ("GET", "stats") => {
            let stats = lock(&shared.engine).stats.clone();
            let total: u64 = stats.values().map(|entry| entry.calls).sum();
            json_response(
                StatusCode::OK,
                &json!({"total_calls": total, "operations": stats}),
            )
        }
        ("GET", "state") => json_response(StatusCode::OK, &json!(*lock(&shared.state))),
        ("POST", "state") => {
            let state = parse_body().and_then(|value| {
                serde_json::from_value::<State>(value).map_err(|error| error.to_string())
            });
            match state {
                Ok(state) => {
                    *lock(&shared.state) = state;
                    json_response(StatusCode::OK, &json!({"state": "replaced"}))
                }
                Err(message) => bad_request(message),
            }
        }
        ("GET", "settings") => json_response(StatusCode::OK, &json!(lock(&shared.state).settings)),
        ("POST", "settings") => {
            let mut state = lock(&shared.state);
            match parse_body().and_then(|changes| merge_settings(&state.settings, changes)) {
                Ok(settings) => {
                    state.set_partition(&settings.partition);
                    state.settings = settings;
                    json_response(StatusCode::OK, &json!(state.settings))
                }
                Err(message) => bad_request(message),
            }
        }
        ("GET", "faults") => json_response(StatusCode::OK, &json!(lock(&shared.engine).faults)),
        ("POST", "reset") => {
            let initial = lock(&shared.initial).clone();
            *lock(&shared.state) = initial;
            let mut engine = lock(&shared.engine);
            engine.stats.clear();
            let faults = engine.faults.clone();
            engine.replace(faults);
            json_response(StatusCode::OK, &json!({"reset": true}))
        }
        ("POST", "stats/reset") => {
            lock(&shared.engine).stats.clear();
            json_response(StatusCode::OK, &json!({"reset": true}))
        }
        ("POST", "faults") => {
            let faults = parse_body().and_then(|value| {
                serde_json::from_value::<Faults>(value).map_err(|error| error.to_string())
            });
            match faults {
                Ok(faults) => {
                    lock(&shared.engine).replace(faults);
                    json_response(StatusCode::OK, &json!({"faults": "replaced"}))
                }
                Err(message) => bad_request(message),
            }
        }
        ("POST", "save") => match &shared.state_file {
            Some(path) => match lock(&shared.state).save(path) {
                Ok(()) => json_response(StatusCode::OK, &json!({"saved": path})),
                Err(error) => json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"error": error.to_string()}),
                ),
            },
            None => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": "this sandbox has no state file"}),
            ),
        },
        ("POST", action) => {
            let mut value = match parse_body() {
                Ok(value) => value,
                Err(message) => return bad_request(message),
            };
            if action != "admin"
                && let Value::Object(map) = &mut value
            {
                map.insert("action".to_string(), json!(action.replace('-', "_")));
            }
            let action: AdminAction = match serde_json::from_value(value) {
                Ok(action) => action,
                Err(error) => {
                    return json_response(
                        StatusCode::BAD_REQUEST,
                        &json!({"error": error.to_string()}),
                    );
                }
            };
            match admin::apply(&mut lock(&shared.state), &action) {
                Ok(result) => json_response(StatusCode::OK, &result),
                Err(error) => {
                    let status = match error {
                        AdminError::NotFound(_) => StatusCode::NOT_FOUND,
                        _ => StatusCode::CONFLICT,
                    };
                    json_response(status, &json!({"error": error.to_string()}))
                }
            }
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no sandbox route `{route}`")}),
        ),
    }
}

/// The settings with the fields of `changes` (a JSON object) replaced; unknown fields refused.
fn merge_settings(current: &Settings, changes: Value) -> Result<Settings, String> {
    let Value::Object(changes) = changes else {
        return Err("the settings must be a JSON object".to_string());
    };
    let mut merged: Map<String, Value> = match serde_json::to_value(current) {
        Ok(Value::Object(map)) => map,
        _ => return Err("the current settings cannot be read".to_string()),
    };
    for (key, value) in changes {
        if !merged.contains_key(&key) {
            return Err(format!("unknown setting `{key}`"));
        }
        merged.insert(key, value);
    }
    serde_json::from_value(Value::Object(merged)).map_err(|error| error.to_string())
}
