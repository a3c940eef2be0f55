//! The JSON documents entitle writes are a contract: each carries a `kind`, and
//! `docs/schema/<kind>.schema.json` (JSON Schema draft 2020-12) says its shape. These helpers
//! check a document against the schema of its kind, so that a change of shape fails a test.
// Each test binary uses some of these (tests/plan_snapshots.rs includes this file alone).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// The directory of the schemas.
pub fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema")
}

/// The schema file of a kind.
pub fn schema_path(kind: &str) -> PathBuf {
    schema_dir().join(format!("{kind}.schema.json"))
}

/// The schema of a kind, read once per test binary; panics when there is none or it does not
/// parse.
pub fn schema_of(kind: &str) -> Value {
    static SCHEMAS: OnceLock<Mutex<BTreeMap<String, Value>>> = OnceLock::new();
    let schemas = SCHEMAS.get_or_init(Mutex::default);
    let mut schemas = schemas
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(schema) = schemas.get(kind) {
        return schema.clone();
    }
    let path = schema_path(kind);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "a JSON document of kind `{kind}` has no schema: could not read `{}`: {error} \
             (every kind needs docs/schema/<kind>.schema.json)",
            path.display()
        )
    });
    let schema: Value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("`{}` is not JSON: {error}", path.display()));
    schemas.insert(kind.to_owned(), schema.clone());
    schema
}

/// The problems of a document against a schema (empty when it is valid); format keywords
/// (`date-time`) are checked too.
pub fn problems(schema: &Value, document: &Value) -> Vec<String> {
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|error| panic!("the schema does not compile: {error}"));
    validator
        .iter_errors(document)
        .map(|error| format!("at `{}`: {error}", error.instance_path()))
        .collect()
}

/// Checks a document against the schema of its `kind` (and, for a report over a directory of
/// plans, each rollout's documents against theirs); panics with the errors and the document.
pub fn assert_valid(document: &Value) {
    let Some(kind) = document.get("kind").and_then(Value::as_str) else {
        panic!(
            "a JSON document without a string `kind`:\n{}",
            serde_json::to_string_pretty(document).unwrap_or_default()
        );
    };
    let schema = schema_of(kind);
    let found = problems(&schema, document);
    assert!(
        found.is_empty(),
        "the `{kind}` document does not match docs/schema/{kind}.schema.json:\n  {}\ndocument:\n{}",
        found.join("\n  "),
        serde_json::to_string_pretty(document).unwrap_or_default()
    );
    let mut badly_spelt = Vec::new();
    times_not_to_the_second("", document, &mut badly_spelt);
    assert!(
        badly_spelt.is_empty(),
        "the `{kind}` document spells a time otherwise than RFC 3339 UTC to the second \
         (docs/json.md, \"One spelling\"):\n  {}",
        badly_spelt.join("\n  ")
    );
    for nested in nested_documents(document) {
        assert_valid(nested);
    }
}

/// The fields that hold a time of day in any document.
const TIME_FIELDS: &[&str] = &["checked_at", "generated_at", "since", "active_since", "at"];

/// Collects every time field (by name, at any depth) whose value has a time of day but is not
/// `YYYY-MM-DDTHH:MM:SSZ`. A day alone (`YYYY-MM-DD`, usage's window) is a date, not a time.
fn times_not_to_the_second(path: &str, value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                let here = format!("{path}/{key}");
                if TIME_FIELDS.contains(&key.as_str())
                    && let Some(text) = field.as_str()
                    && text.contains('T')
                    && !is_to_the_second(text)
                {
                    found.push(format!("at `{here}`: `{text}`"));
                }
                times_not_to_the_second(&here, field, found);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                times_not_to_the_second(&format!("{path}/{index}"), item, found);
            }
        }
        _ => {}
    }
}

fn is_to_the_second(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digit = |index: usize| bytes.get(index).is_some_and(u8::is_ascii_digit);
    bytes.len() == 20
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .into_iter()
            .all(digit)
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && bytes[19] == b'Z'
}

/// The documents a document carries whole: each rollout's in a report over a directory.
fn nested_documents(document: &Value) -> Vec<&Value> {
    document
        .get("rollouts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|rollout| rollout.get("documents").and_then(Value::as_array))
        .flatten()
        .collect()
}

/// Checks stdout when it is JSON: every object in it carrying a `kind` (what `--output json`
/// prints) against its schema; anything else (text for people, a bare AWS policy) is left alone.
pub fn check_stdout(stdout: &str) {
    let trimmed = stdout.trim_start();
    if !trimmed.starts_with('{') {
        return;
    }
    let documents: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(trimmed)
        .into_iter::<Value>()
        .collect();
    let Ok(documents) = documents else {
        return;
    };
    for document in documents
        .iter()
        .filter(|document| document.get("kind").is_some())
    {
        assert_valid(document);
    }
}
