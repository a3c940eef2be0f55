//! Bedrock's Anthropic use-case form, checked before it is submitted: a JSON object with the
//! fields the Bedrock console's form sends (companyName, companyWebsite, intendedUsers,
//! industryOption, otherIndustryOption, useCases), each the right type, and the submitted
//! document within PutUseCaseForModelAccess's `formData` limits (10 to 16,384 bytes). Every
//! problem is found at once and names its field and the fix. Pure: `commands::use_case` reads
//! the file and submits.

use serde::Serialize;
use serde_json::Value;

/// PutUseCaseForModelAccess `formData`: at least this many bytes.
pub const FORM_MIN_BYTES: usize = 10;
/// PutUseCaseForModelAccess `formData`: at most this many bytes.
pub const FORM_MAX_BYTES: usize = 16_384;

/// The form's fields, in the order they are submitted: (name, required, what it holds).
pub const FORM_FIELDS: [(&str, bool, &str); 6] = [
    ("companyName", true, "your company's legal name"),
    (
        "companyWebsite",
        true,
        "its website, an http:// or https:// URL",
    ),
    (
        "intendedUsers",
        true,
        "who will use the models, as the Bedrock console codes it (a number as a string, e.g. \"0\")",
    ),
    (
        "industryOption",
        true,
        "your industry (\"Other\" to describe it in otherIndustryOption)",
    ),
    (
        "otherIndustryOption",
        false,
        "your industry in words when industryOption is \"Other\" (may be empty otherwise)",
    ),
    ("useCases", true, "what you will use the models for"),
];

/// A form that passed every check: its fields, and the exact bytes to submit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UseCaseForm {
    /// The company's name.
    pub company_name: String,
    /// Its website.
    pub company_website: String,
    /// Who uses the models (the console's code).
    pub intended_users: String,
    /// The industry.
    pub industry_option: String,
    /// The industry in words, when `industry_option` is `Other`.
    pub other_industry_option: String,
    /// The use cases.
    pub use_cases: String,
}

impl UseCaseForm {
    /// The document submitted as `formData`: compact JSON, fields in the console's order.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// (field, value) in order, for showing what will be submitted.
    pub fn fields(&self) -> [(&'static str, &str); 6] {
        [
            ("companyName", &self.company_name),
            ("companyWebsite", &self.company_website),
            ("intendedUsers", &self.intended_users),
            ("industryOption", &self.industry_option),
            ("otherIndustryOption", &self.other_industry_option),
            ("useCases", &self.use_cases),
        ]
    }
}

/// One problem with the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormProblem {
    /// The field, when the problem is one field's.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to put it right.
    pub fix: String,
}

fn problem(field: Option<&str>, message: String, fix: String) -> FormProblem {
    FormProblem {
        field: field.map(str::to_owned),
        message,
        fix,
    }
}

/// Checks the form file's text; every problem at once.
pub fn validate_form(text: &str) -> Result<UseCaseForm, Vec<FormProblem>> {
    let value: Value = serde_json::from_str(text).map_err(|error| {
        vec![problem(
            None,
            format!("the form is not JSON: {error}"),
            "write the form as one JSON object (docs/use-case-form.example.json)".to_owned(),
        )]
    })?;
    let Value::Object(object) = value else {
        return Err(vec![problem(
            None,
            "the form is not a JSON object".to_owned(),
            "write the form as one JSON object (docs/use-case-form.example.json)".to_owned(),
        )]);
    };
    let mut problems = Vec::new();
    for key in object.keys() {
        if !FORM_FIELDS.iter().any(|(name, _, _)| name == key) {
            let names: Vec<String> = FORM_FIELDS
                .iter()
                .map(|(name, _, _)| format!("`{name}`"))
                .collect();
            problems.push(problem(
                Some(key),
                format!("`{key}` is not a field of the use-case form"),
                format!(
                    "remove it (or correct its name); the fields are {}",
                    names.join(", ")
                ),
            ));
        }
    }
    let mut values = Vec::new();
    for (name, required, holds) in FORM_FIELDS {
        let text = match object.get(name) {
            None | Some(Value::Null) if required => {
                problems.push(problem(
                    Some(name),
                    format!("`{name}` is missing"),
                    format!("add `{name}`: {holds}"),
                ));
                String::new()
            }
            None | Some(Value::Null) => String::new(),
            Some(Value::String(text)) => {
                if required && text.trim().is_empty() {
                    problems.push(problem(
                        Some(name),
                        format!("`{name}` is empty"),
                        format!("fill in `{name}`: {holds}"),
                    ));
                }
                text.clone()
            }
            Some(other) => {
                problems.push(problem(
                    Some(name),
                    format!("`{name}` is {}, not a string", kind(other)),
                    format!("write `{name}` as a JSON string: {holds}"),
                ));
                String::new()
            }
        };
        values.push(text);
    }
    let [
        company_name,
        company_website,
        intended_users,
        industry_option,
        other_industry_option,
        use_cases,
    ] = <[String; 6]>::try_from(values).unwrap_or_default();
    let website = company_website.trim();
    let url = website.starts_with("https://") || website.starts_with("http://");
    if !website.is_empty() && !url {
        problems.push(problem(
            Some("companyWebsite"),
            format!("`companyWebsite` `{website}` is not an http:// or https:// URL"),
            "write the full address, e.g. `https://example.com`".to_owned(),
        ));
    }
    if !intended_users.is_empty() && !intended_users.bytes().all(|byte| byte.is_ascii_digit()) {
        problems.push(problem(
            Some("intendedUsers"),
            format!("`intendedUsers` `{intended_users}` is not the console's code (a number as a string)"),
            "write the code the Bedrock console uses, e.g. \"0\"".to_owned(),
        ));
    }
    if industry_option == "Other" && other_industry_option.trim().is_empty() {
        problems.push(problem(
            Some("otherIndustryOption"),
            "`otherIndustryOption` is empty although `industryOption` is \"Other\"".to_owned(),
            "describe your industry in `otherIndustryOption`".to_owned(),
        ));
    }
    let form = UseCaseForm {
        company_name,
        company_website,
        intended_users,
        industry_option,
        other_industry_option,
        use_cases,
    };
    let size = form.to_bytes().len();
    if problems.is_empty() && !(FORM_MIN_BYTES..=FORM_MAX_BYTES).contains(&size) {
        problems.push(problem(
            None,
            format!(
                "the form is {size} bytes as submitted; Bedrock takes {FORM_MIN_BYTES} to {FORM_MAX_BYTES} \
                 (PutUseCaseForModelAccess `formData`)"
            ),
            "shorten the longest fields (usually `useCases`)".to_owned(),
        ));
    }
    if problems.is_empty() {
        Ok(form)
    } else {
        Err(problems)
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"companyName":"Example Corp","companyWebsite":"https://example.com",
        "intendedUsers":"0","industryOption":"Technology","otherIndustryOption":"",
        "useCases":"Internal assistants"}"#;

    fn fields(problems: &[FormProblem]) -> Vec<Option<&str>> {
        problems
            .iter()
            .map(|problem| problem.field.as_deref())
            .collect()
    }

    #[test]
    fn a_good_form_is_submitted_compact_in_the_consoles_order() {
        let form = validate_form(GOOD).unwrap();
        assert_eq!(
            String::from_utf8(form.to_bytes()).unwrap(),
            r#"{"companyName":"Example Corp","companyWebsite":"https://example.com","intendedUsers":"0","industryOption":"Technology","otherIndustryOption":"","useCases":"Internal assistants"}"#
        );
        // otherIndustryOption may be left out.
        let without = GOOD.replace(r#""otherIndustryOption":"","#, "");
        assert!(validate_form(&without).is_ok());
    }

    #[test]
    fn every_problem_names_its_field_at_once() {
        let bad = r#"{"companyName":"","companyWebsite":"example.com","intendedUsers":3,
            "industryOption":"Other","useCase":"typo"}"#;
        let problems = validate_form(bad).unwrap_err();
        assert_eq!(
            fields(&problems),
            [
                Some("useCase"),
                Some("companyName"),
                Some("intendedUsers"),
                Some("useCases"),
                Some("companyWebsite"),
                Some("otherIndustryOption"),
            ],
            "{problems:#?}"
        );
        assert_eq!(
            problems[2].message,
            "`intendedUsers` is a number, not a string"
        );
        assert!(problems[0].fix.contains("`useCases`"), "{:?}", problems[0]);
    }

    #[test]
    fn not_json_or_not_an_object_or_too_big() {
        assert_eq!(fields(&validate_form("{").unwrap_err()), [None]);
        assert_eq!(fields(&validate_form("[]").unwrap_err()), [None]);
        let huge = GOOD.replace("Internal assistants", &"x".repeat(FORM_MAX_BYTES));
        let problems = validate_form(&huge).unwrap_err();
        assert!(
            problems[0].message.contains("Bedrock takes 10 to 16384"),
            "{problems:?}"
        );
    }

    #[test]
    fn the_fields_are_shown_in_order_and_each_is_checked_for_what_it_holds() {
        let form = validate_form(GOOD).unwrap();
        assert_eq!(
            form.fields(),
            [
                ("companyName", "Example Corp"),
                ("companyWebsite", "https://example.com"),
                ("intendedUsers", "0"),
                ("industryOption", "Technology"),
                ("otherIndustryOption", ""),
                ("useCases", "Internal assistants"),
            ]
        );
        // The optional field may be null or filled in; http:// is a URL too.
        let optional = GOOD
            .replace(
                r#""otherIndustryOption":"""#,
                r#""otherIndustryOption":null"#,
            )
            .replace("https://", "http://");
        assert!(validate_form(&optional).is_ok(), "{optional}");
        let described = GOOD.replace(
            r#""industryOption":"Technology","otherIndustryOption":"""#,
            r#""industryOption":"Other","otherIndustryOption":"Shipping""#,
        );
        assert!(validate_form(&described).is_ok(), "{described}");
        // A required field null is missing; the console's code is digits.
        let wrong = GOOD
            .replace(r#""companyName":"Example Corp""#, r#""companyName":null"#)
            .replace(r#""intendedUsers":"0""#, r#""intendedUsers":"everyone""#);
        let problems = validate_form(&wrong).unwrap_err();
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`companyName` is missing",
                "`intendedUsers` `everyone` is not the console's code (a number as a string)"
            ]
        );
        // What each wrong type is called.
        for (value, called) in [
            ("true", "a boolean"),
            ("[]", "an array"),
            ("{}", "an object"),
            ("1.5", "a number"),
        ] {
            let typed = GOOD.replace(r#""Example Corp""#, value);
            let problems = validate_form(&typed).unwrap_err();
            assert_eq!(
                problems[0].message,
                format!("`companyName` is {called}, not a string")
            );
        }
    }
}
