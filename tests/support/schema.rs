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
    for nested in nested_documents(document) {
        assert_valid(nested);
    }
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
