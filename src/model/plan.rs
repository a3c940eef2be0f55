//! The rollout plan file (`plans/*.toml`, version 1): parsing with locations, and validation into
//! a [`RolloutPlan`] before anything looks at the organisation. `docs/plan-format.md` is the
//! reference for users; this module is the reference for code.
//!
//! Parsing is done in two steps, like ripgrep's low-level and high-level arguments: the TOML text
//! becomes spanned raw values (serde, `deny_unknown_fields`), then every rule is checked and every
//! problem is collected, so a person fixes the whole file in one pass. Reading the file is the
//! caller's job: this module gets the text and a display name.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::bedrock::{TABLE_LOCATION, model_ids, product_of_model};
use super::grant::Operation;
use super::ids::{AccountId, OuId};

/// The plan file version this build reads.
pub const PLAN_VERSION: u32 = 1;

/// Longest rollout or phase name: they go into grant names, tag values and client tokens.
pub const MAX_NAME_LEN: usize = 64;

/// A byte range of the plan file.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl From<std::ops::Range<usize>> for Span {
    fn from(range: std::ops::Range<usize>) -> Self {
        Self {
            start: range.start,
            end: range.end,
        }
    }
}

/// A value of the plan file and where it was written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it stands in the file.
    pub span: Span,
}

impl<T> Located<T> {
    fn new(value: T, span: impl Into<Span>) -> Self {
        Self {
            value,
            span: span.into(),
        }
    }
}

/// The plan file's name and line starts: turns spans into `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    name: String,
    text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Indexes a text shown to people as `name`.
    pub fn new(name: &str, text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(index, _)| index + 1));
        Self {
            name: name.to_owned(),
            text: text.to_owned(),
            line_starts,
        }
    }

    /// The display name of the file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|start| *start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        (line + 1, column + 1)
    }

    /// The location of a span's start.
    pub fn locate(&self, span: Span) -> Location {
        let (line, column) = self.line_column(span.start);
        Location {
            file: self.name.clone(),
            line,
            column,
        }
    }
}

/// `file:line:column`, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file's display name.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One problem with a plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// What is wrong, lowercase, values in backticks.
    pub message: String,
    /// Where, when the problem has a place in the file.
    pub location: Option<Location>,
    /// What a person can do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A problem at a place of the file.
    pub fn at(source: &SourceFile, span: Span, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            location: Some(source.locate(span)),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a hint when there is one.
    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

impl fmt::Display for Diagnostic {
    /// Rendered like rustc and ripgrep: `error: ...`, `  --> file:line:col`, `  hint: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(location) = &self.location {
            write!(f, "\n  --> {location}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in a plan file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanFileErrors {
    /// The problems, at least one.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for PlanFileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.diagnostics.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

/// Sorts diagnostics by place (those without a place first) and wraps them, or says "no problem".
pub fn into_result(mut diagnostics: Vec<Diagnostic>) -> Result<(), PlanFileErrors> {
    if diagnostics.is_empty() {
        return Ok(());
    }
    diagnostics.sort_by_key(|diagnostic| {
        diagnostic
            .location
            .as_ref()
            .map(|location| (location.line, location.column))
    });
    Err(PlanFileErrors { diagnostics })
}

/// Whether `name` is a valid IAM role name (1-64 of letters, digits and `+=,.@_-`).
pub fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// The nearest of `candidates` to `wanted` by Jaro-Winkler similarity, when it is close enough to
/// be a likely typo.
pub fn nearest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(wanted, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, candidate)| candidate)
}

fn did_you_mean(wanted: &str, candidates: &[&str]) -> Option<String> {
    nearest(wanted, candidates.iter().copied()).map(|near| format!("did you mean `{near}`?"))
}

/// Who activates the grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// entitle activates each grant (CreateGrantVersion Status=ACTIVE) once it is distributed.
    Grantor,
    /// Member accounts activate their own received grants; entitle only tracks them.
    Member,
}

/// What to do where an account already holds its own subscription of the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExistingSubscription {
    /// Activate the grant and leave the account's own subscription (`DISTRIBUTED_GRANTS_ONLY`).
    Keep,
    /// Activate the grant and disable the account's other grants (`ALL_GRANTS_PERMITTED_BY_ISSUER`).
    Replace,
}

/// How a phase's targets are turned into grant principals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GrantTo {
    /// The smallest honest set: one grant per clean OU subtree, account grants elsewhere.
    #[default]
    Auto,
    /// One grant per account, never an OU or organisation grant.
    Accounts,
    /// One grant per selected OU (or the organisation), exactly as written.
    Ous,
}

/// How the entitlement is named: exactly one of the three (a plan's `model` names its product).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum EntitlementSelector {
    /// A Marketplace product id, `prod-...`: the received license whose ProductSKU it is.
    Product(String),
    /// A License Manager license ARN.
    LicenseArn(String),
    /// A Marketplace agreement id, `agmt-...`: its entitlement's license.
    Agreement(String),
}

/// The `[entitlement]` table, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    /// Which license is distributed.
    pub selector: EntitlementSelector,
    /// Where the plan names it (its value), for problems found against AWS.
    pub selector_span: Span,
    /// The operations grants allow; `None`: what the license allows minus `CreateGrant`.
    pub operations: Option<BTreeSet<Operation>>,
    /// Where `operations` was written (to point at it when the license refuses one).
    pub operations_span: Option<Span>,
    /// Who activates.
    pub activation: Activation,
    /// What to do with accounts that already subscribe.
    pub on_existing_subscription: OnExistingSubscription,
    /// The IAM role entitle assumes in a member account to accept an account grant waiting in
    /// PENDING_ACCEPT (`--member-role` overrides it); `None`: such grants wait for the account.
    pub member_role: Option<String>,
    /// The Bedrock model id the plan names (`model = "anthropic...."`) instead of the product:
    /// `selector` is then the product the model catalog says sells it. `entitle verify` asks
    /// Bedrock about this model (otherwise about the catalog's model of the license's product).
    pub model: Option<String>,
}

/// An OU as the plan names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OuRef {
    /// Names from the root, e.g. `Workloads/ML`.
    Path(String),
    /// An OU id.
    Id(OuId),
}

impl fmt::Display for OuRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => f.write_str(path),
            Self::Id(id) => f.write_str(id.as_str()),
        }
    }
}

/// How a phase combines its selectors (`match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// The union (default): an account any selector names.
    Any,
    /// The intersection: an account every selector names (in these OUs *and* carrying these tags).
    All,
}

/// What must hold for a phase before the next one is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    /// Share of the phase's targeted accounts whose received grant must be ACTIVE, 1 to 100.
    pub min_active_percent: u8,
    /// How long, in seconds, the phase must have been fully active (its threshold reached).
    pub bake_seconds: u64,
}

/// One `[[phase]]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// The phase name, unique in the plan.
    pub name: Located<String>,
    /// Accounts selected by id.
    pub accounts: Vec<Located<AccountId>>,
    /// OUs selected by path or id, nested OUs included.
    pub ous: Vec<Located<OuRef>>,
    /// Accounts whose tags match all of these.
    pub tags: Vec<(Located<String>, Located<String>)>,
    /// Whether the whole organisation is selected.
    pub organization: bool,
    /// How the selectors combine: their union (default) or their intersection.
    pub matching: Match,
    /// Accounts removed from the selection.
    pub exclude_accounts: Vec<Located<AccountId>>,
    /// OUs (and everything under them) removed from the selection.
    pub exclude_ous: Vec<Located<OuRef>>,
    /// How targets become principals.
    pub grant_to: GrantTo,
    /// What must hold before the next phase.
    pub gate: Option<Gate>,
    /// Whether this phase's active grants retire earlier phases' narrower grants.
    pub retire_superseded: bool,
}

impl Phase {
    /// Whether the phase has any exclusion.
    pub fn has_exclusions(&self) -> bool {
        !self.exclude_accounts.is_empty() || !self.exclude_ous.is_empty()
    }
}

/// A validated plan file: the settings the planner works from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutPlan {
    /// The rollout's identity: in grant names, tags and client tokens.
    pub name: String,
    /// The license and how it is granted.
    pub entitlement: Entitlement,
    /// The phases, in order; at least one.
    pub phases: Vec<Phase>,
    /// The file, for locating later (semantic) problems.
    pub source: SourceFile,
    /// SHA-256 of the file's text, hex: saved plans record it.
    pub sha256: String,
    /// `[journal] url`: where the rollout's journal lives when `--journal` (or
    /// `ENTITLE_JOURNAL`) does not say: a directory, a `.jsonl` file or `s3://BUCKET/PREFIX`.
    pub journal_url: Option<String>,
    /// What is harmless but probably unmeant (an account listed twice): shown, not refused.
    pub warnings: Vec<Diagnostic>,
}

impl RolloutPlan {
    /// Index of a phase by name.
    pub fn phase_index(&self, name: &str) -> Option<usize> {
        self.phases
            .iter()
            .position(|phase| phase.name.value == name)
    }
}

/// SHA-256 of a text, as lowercase hex.
pub fn sha256_hex(text: &[u8]) -> String {
    Sha256::digest(text)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

// ---- raw, spanned shapes (serde) ----

const TOP_KEYS: &[&str] = &["version", "name", "entitlement", "phase", "journal"];
const JOURNAL_KEYS: &[&str] = &["url"];
const ENTITLEMENT_KEYS: &[&str] = &[
    "product",
    "license_arn",
    "agreement",
    "operations",
    "activation",
    "on_existing_subscription",
    "member_role",
    "model",
];
const PHASE_KEYS: &[&str] = &[
    "name",
    "accounts",
    "ous",
    "tags",
    "organization",
    "match",
    "exclude",
    "grant_to",
    "gate",
    "retire_superseded",
];
const EXCLUDE_KEYS: &[&str] = &["accounts", "ous"];
const GATE_KEYS: &[&str] = &["min_active", "bake"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntitlement {
    product: Option<Spanned<String>>,
    license_arn: Option<Spanned<String>>,
    agreement: Option<Spanned<String>>,
    operations: Option<Spanned<Vec<Spanned<String>>>>,
    activation: Option<Spanned<String>>,
    on_existing_subscription: Option<Spanned<String>>,
    member_role: Option<Spanned<String>>,
    model: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    name: Option<Spanned<String>>,
    accounts: Option<Vec<Spanned<String>>>,
    ous: Option<Vec<Spanned<String>>>,
    tags: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    organization: Option<bool>,
    #[serde(rename = "match")]
    matching: Option<Spanned<String>>,
    exclude: Option<RawExclude>,
    grant_to: Option<Spanned<String>>,
    gate: Option<Spanned<RawGate>>,
    retire_superseded: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExclude {
    accounts: Option<Vec<Spanned<String>>>,
    ous: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    min_active: Option<Spanned<String>>,
    bake: Option<Spanned<String>>,
}

struct Parser<'s> {
    source: &'s SourceFile,
    diagnostics: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl Parser<'_> {
    /// Something harmless but probably unmeant (a plan with only warnings is accepted).
    fn warning(&mut self, span: impl Into<Span>, message: impl Into<String>) -> &mut Diagnostic {
        self.warnings
            .push(Diagnostic::at(self.source, span.into(), message));
        let last = self.warnings.len() - 1;
        &mut self.warnings[last]
    }

    fn error(&mut self, span: impl Into<Span>, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics
            .push(Diagnostic::at(self.source, span.into(), message));
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    /// Reports (with a suggestion) and removes every key of a table that is not in `known`, so
    /// that all unknown keys are reported, not only serde's first one.
    /// Reports and removes the keys `known` does not name; returns how many there were.
    fn drop_unknown_keys(
        &mut self,
        table: &mut DeTable<'_>,
        known: &[&str],
        context: &str,
    ) -> usize {
        let mut unknown = Vec::new();
        for key in table.keys() {
            if !known.contains(&key.get_ref().as_ref()) {
                unknown.push((key.get_ref().to_string(), key.span()));
            }
        }
        let dropped = unknown.len();
        for (key, span) in unknown {
            let hint = did_you_mean(&key, known).unwrap_or_else(|| {
                format!(
                    "{context} takes {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            let message = match nearest(&key, known.iter().copied()) {
                Some(near) => format!("unknown key `{key}` in {context}, did you mean `{near}`?"),
                None => format!("unknown key `{key}` in {context}"),
            };
            let diagnostic = self.error(span, message);
            if !hint.starts_with("did you mean") {
                diagnostic.hint = Some(hint);
            }
            table.remove(key.as_str());
        }
        dropped
    }

    fn drop_unknown_nested(
        &mut self,
        table: &mut DeTable<'_>,
        key: &str,
        known: &[&str],
        context: &str,
    ) {
        if let Some(value) = table.get_mut(key)
            && let DeValue::Table(inner) = value.get_mut()
        {
            self.drop_unknown_keys(inner, known, context);
        }
    }

    /// Deserializes one value with serde, reporting its error at its place.
    fn deserialize<T: for<'de> Deserialize<'de>>(
        &mut self,
        value: Spanned<DeValue<'_>>,
        what: &str,
    ) -> Option<T> {
        let fallback = value.span();
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                self.serde_error(&error, fallback, what);
                None
            }
        }
    }

    /// Deserializes a table whose keys are all optional; a key of the wrong type is reported and
    /// dropped, and the rest read again, so one type error hides none of the table's other
    /// problems.
    /// Returns the table and how many keys were dropped.
    fn deserialize_table<T: for<'de> Deserialize<'de>>(
        &mut self,
        mut value: Spanned<DeValue<'_>>,
        what: &str,
    ) -> Option<(T, usize)> {
        let fallback = value.span();
        let mut dropped = 0;
        loop {
            let error = match T::deserialize(ValueDeserializer::from(value.clone())) {
                Ok(parsed) => return Some((parsed, dropped)),
                Err(error) => error,
            };
            self.serde_error(&error, fallback.clone(), what);
            let bad = error.span()?;
            let DeValue::Table(table) = value.get_mut() else {
                return None;
            };
            let culprit = table
                .iter()
                .find(|(key, item)| {
                    let span = item.span();
                    (span.start <= bad.start && bad.end <= span.end) || key.span() == bad
                })
                .map(|(key, _)| key.get_ref().to_string())?;
            table.remove(culprit.as_str());
            dropped += 1;
        }
    }

    fn serde_error(
        &mut self,
        error: &toml::de::Error,
        fallback: std::ops::Range<usize>,
        what: &str,
    ) {
        let span = error.span().unwrap_or(fallback);
        let message = error.message().trim().to_owned();
        let message = message
            .strip_prefix("invalid type: ")
            .map_or(message.clone(), |rest| {
                format!("wrong type in {what}: {rest}")
            });
        self.error(span, message);
    }

    /// One of a few words, with a near-miss suggestion; the default when absent.
    fn choice<T: Copy>(
        &mut self,
        value: Option<Spanned<String>>,
        key: &str,
        options: &[(&str, T)],
        default: T,
    ) -> T {
        let Some(value) = value else {
            return default;
        };
        if let Some((_, chosen)) = options.iter().find(|(word, _)| *word == value.get_ref()) {
            return *chosen;
        }
        let words: Vec<&str> = options.iter().map(|(word, _)| *word).collect();
        let message = match nearest(value.get_ref(), words.iter().copied()) {
            Some(near) => format!(
                "unknown `{key}` value `{}`, did you mean `{near}`?",
                value.get_ref()
            ),
            None => format!("unknown `{key}` value `{}`", value.get_ref()),
        };
        let list: Vec<String> = words.iter().map(|word| format!("`\"{word}\"`")).collect();
        self.error(value.span(), message).hint =
            Some(format!("`{key}` is one of {}", list.join(", ")));
        default
    }

    fn check_name(&mut self, name: &Spanned<String>, what: &str) {
        let value = name.get_ref();
        let valid_chars = value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
        let starts_well = value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if value.is_empty() || value.len() > MAX_NAME_LEN || !valid_chars || !starts_well {
            self.error(name.span(), format!("{what} `{value}` is not a valid name"))
                .hint = Some(format!(
                "use 1 to {MAX_NAME_LEN} lowercase letters, digits, `-`, `_` or `.`, starting with a letter or digit (it goes into grant names, tags and client tokens)"
            ));
        }
    }

    fn account_ids(&mut self, raw: Option<Vec<Spanned<String>>>) -> Vec<Located<AccountId>> {
        let mut found: Vec<Located<AccountId>> = Vec::new();
        for item in raw.unwrap_or_default() {
            match AccountId::parse(item.get_ref().as_str()) {
                Ok(id) => {
                    if let Some(first) = found.iter().find(|known| known.value == id) {
                        let (line, _) = self.source.line_column(first.span.start);
                        self.warning(item.span(), format!("account `{id}` is listed twice"))
                            .hint = Some(format!(
                            "it is first listed on line {line}; remove this one"
                        ));
                    } else {
                        found.push(Located::new(id, item.span()));
                    }
                }
                Err(error) => {
                    self.error(item.span(), error.to_string());
                }
            }
        }
        found
    }

    fn ou_refs(&mut self, raw: Option<Vec<Spanned<String>>>) -> Vec<Located<OuRef>> {
        let mut found = Vec::new();
        for item in raw.unwrap_or_default() {
            let text = item.get_ref().trim();
            if text.starts_with("ou-") {
                match OuId::parse(text) {
                    Ok(id) => found.push(Located::new(OuRef::Id(id), item.span())),
                    Err(error) => {
                        self.error(item.span(), error.to_string());
                    }
                }
            } else {
                let path = text.trim_matches('/');
                if path.is_empty() || path.split('/').any(str::is_empty) {
                    self.error(item.span(), format!("`{text}` is not an OU path"))
                        .hint = Some(
                        "write names from the root separated by `/`, e.g. `Workloads/ML`, or an OU id `ou-...`"
                            .to_owned(),
                    );
                } else {
                    found.push(Located::new(OuRef::Path(path.to_owned()), item.span()));
                }
            }
        }
        found
    }

    fn entitlement(&mut self, value: Spanned<DeValue<'_>>) -> Option<Entitlement> {
        let span = value.span();
        let raw: RawEntitlement = self.deserialize(value, "`[entitlement]`")?;
        let mut selectors = Vec::new();
        if let Some(product) = raw.product {
            if !product.get_ref().starts_with("prod-") {
                self.error(
                    product.span(),
                    format!("`{}` is not a Marketplace product id", product.get_ref()),
                )
                .hint = Some("product ids look like `prod-mxcfnwvpd6kb4`".to_owned());
            }
            selectors.push((
                "product",
                product.span(),
                EntitlementSelector::Product(product.into_inner()),
            ));
        }
        if let Some(arn) = raw.license_arn {
            if !(arn.get_ref().starts_with("arn:") && arn.get_ref().contains(":license:")) {
                self.error(
                    arn.span(),
                    format!("`{}` is not a license ARN", arn.get_ref()),
                )
                .hint = Some(
                    "license ARNs look like `arn:aws:license-manager::294406891311:license:l-...`"
                        .to_owned(),
                );
            }
            selectors.push((
                "license_arn",
                arn.span(),
                EntitlementSelector::LicenseArn(arn.into_inner()),
            ));
        }
        if let Some(agreement) = raw.agreement {
            if !agreement.get_ref().starts_with("agmt-") {
                self.error(
                    agreement.span(),
                    format!(
                        "`{}` is not a Marketplace agreement id",
                        agreement.get_ref()
                    ),
                )
                .hint = Some("agreement ids look like `agmt-...`".to_owned());
            }
            selectors.push((
                "agreement",
                agreement.span(),
                EntitlementSelector::Agreement(agreement.into_inner()),
            ));
        }
        let mut model = None;
        let model_named = raw.model.is_some();
        if let Some(named) = raw.model {
            match product_of_model(named.get_ref()) {
                Some(entry) => {
                    selectors.push((
                        "model",
                        named.span(),
                        EntitlementSelector::Product(entry.product.to_owned()),
                    ));
                    model = Some(named.into_inner());
                }
                None => {
                    let wanted = named.get_ref();
                    let message = match nearest(wanted, model_ids()) {
                        Some(near) => {
                            format!("unknown model `{wanted}`, did you mean `{near}`?")
                        }
                        None => format!("unknown model `{wanted}`"),
                    };
                    self.error(named.span(), message).hint = Some(format!(
                        "`entitle models` lists the Bedrock model ids entitle knows (the catalog is {TABLE_LOCATION}); or name the Marketplace product with `product`"
                    ));
                }
            }
        }
        if selectors.len() > 1 {
            let names: Vec<String> = selectors
                .iter()
                .map(|(key, _, _)| format!("`{key}`"))
                .collect();
            self.error(
                selectors[1].1.clone(),
                format!(
                    "the entitlement is named more than once ({})",
                    names.join(", ")
                ),
            )
            .hint = Some(
                "keep exactly one of `product`, `license_arn`, `agreement` or `model`".to_owned(),
            );
        }
        let (selector, selector_span) = match selectors.into_iter().next() {
            Some((_, span, selector)) => (selector, Span::from(span)),
            // An unknown model was reported where it was written.
            None if model_named => return None,
            None => {
                self.error(span, "`[entitlement]` names no license").hint = Some(
                    "set exactly one of `product`, `license_arn`, `agreement` or `model`"
                        .to_owned(),
                );
                return None;
            }
        };
        let mut operations_span = None;
        let operations = match raw.operations {
            None => None,
            Some(list) => {
                operations_span = Some(Span::from(list.span()));
                if list.get_ref().is_empty() {
                    self.error(list.span(), "`operations` is empty")
                        .hint = Some("leave `operations` out to grant what the license allows, minus `CreateGrant`".to_owned());
                }
                let mut set = BTreeSet::new();
                for item in list.into_inner() {
                    match Operation::from_aws(item.get_ref()) {
                        Operation::Other(name) => {
                            let message = match nearest(&name, Operation::ALL) {
                                Some(near) => {
                                    format!("unknown operation `{name}`, did you mean `{near}`?")
                                }
                                None => format!("unknown operation `{name}`"),
                            };
                            self.error(item.span(), message).hint =
                                Some(format!("operations are {}", Operation::ALL.join(", ")));
                        }
                        operation => {
                            if !set.insert(operation) {
                                self.error(
                                    item.span(),
                                    format!("operation `{}` is listed twice", item.get_ref()),
                                );
                            }
                        }
                    }
                }
                Some(set)
            }
        };
        Some(Entitlement {
            selector,
            selector_span,
            operations,
            operations_span,
            activation: self.choice(
                raw.activation,
                "activation",
                &[
                    ("grantor", Activation::Grantor),
                    ("member", Activation::Member),
                ],
                Activation::Grantor,
            ),
            on_existing_subscription: self.choice(
                raw.on_existing_subscription,
                "on_existing_subscription",
                &[
                    ("keep", OnExistingSubscription::Keep),
                    ("replace", OnExistingSubscription::Replace),
                ],
                OnExistingSubscription::Keep,
            ),
            member_role: raw.member_role.and_then(|role| {
                let span = role.span();
                let role = role.into_inner();
                if is_role_name(&role) {
                    Some(role)
                } else {
                    self.error(span, format!("`{role}` is not an IAM role name"))
                        .hint = Some(
                        "a role name has 1 to 64 letters, digits or `+=,.@_-`, e.g. `OrganizationAccountAccessRole`"
                            .to_owned(),
                    );
                    None
                }
            }),
            model,
        })
    }

    fn gate(&mut self, raw: Spanned<RawGate>) -> Option<Gate> {
        let raw = raw.into_inner();
        let mut ok = true;
        let min_active_percent = match raw.min_active {
            None => 100,
            Some(text) => match parse_percent(text.get_ref()) {
                Some(value) => value,
                None => {
                    ok = false;
                    self.error(
                        text.span(),
                        format!("`{}` is not a share of accounts", text.get_ref()),
                    )
                    .hint = Some("write a percentage from `1%` to `100%`".to_owned());
                    0
                }
            },
        };
        let bake_seconds = match raw.bake {
            None => 0,
            Some(text) => match parse_duration(text.get_ref()) {
                Some(value) => value,
                None => {
                    ok = false;
                    self.error(
                        text.span(),
                        format!("`{}` is not a duration", text.get_ref()),
                    )
                    .hint = Some(
                        "write a number and a unit: `90s`, `30m`, `24h`, `2d` or `1h30m`"
                            .to_owned(),
                    );
                    0
                }
            },
        };
        ok.then_some(Gate {
            min_active_percent,
            bake_seconds,
        })
    }

    /// One `[[phase]]`; `keys_dropped` counts its keys already reported (unknown), so that a
    /// misspelt or mistyped selector does not also yield "selects no account".
    fn phase(
        &mut self,
        value: Spanned<DeValue<'_>>,
        index: usize,
        keys_dropped: usize,
    ) -> Option<Phase> {
        let span = value.span();
        let (raw, mistyped): (RawPhase, usize) =
            self.deserialize_table(value, &format!("phase #{}", index + 1))?;
        let keys_dropped = keys_dropped + mistyped;
        let name = match raw.name {
            Some(name) => {
                self.check_name(&name, "phase name");
                Located::new(name.get_ref().clone(), name.span())
            }
            None => {
                self.error(span.clone(), format!("phase #{} has no `name`", index + 1))
                    .hint = Some(
                    "add `name = \"pilot\"` (names are unique and go into grant names and tags)"
                        .to_owned(),
                );
                Located::new(format!("#{}", index + 1), span)
            }
        };
        let accounts = self.account_ids(raw.accounts);
        let ous = self.ou_refs(raw.ous);
        let tags: Vec<(Located<String>, Located<String>)> = raw
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| {
                (
                    Located::new(key.get_ref().clone(), key.span()),
                    Located::new(value.get_ref().clone(), value.span()),
                )
            })
            .collect();
        let organization = raw.organization.unwrap_or(false);
        let match_span = raw.matching.as_ref().map(Spanned::span);
        let matching = self.choice(
            raw.matching,
            "match",
            &[("any", Match::Any), ("all", Match::All)],
            Match::Any,
        );
        let exclude = raw.exclude.unwrap_or(RawExclude {
            accounts: None,
            ous: None,
        });
        let exclude_accounts = self.account_ids(exclude.accounts);
        let exclude_ous = self.ou_refs(exclude.ous);
        let grant_to = self.choice(
            raw.grant_to,
            "grant_to",
            &[
                ("auto", GrantTo::Auto),
                ("accounts", GrantTo::Accounts),
                ("ous", GrantTo::Ous),
            ],
            GrantTo::Auto,
        );
        let gate = raw.gate.and_then(|gate| self.gate(gate));
        let phase = Phase {
            name,
            accounts,
            ous,
            tags,
            organization,
            matching,
            exclude_accounts,
            exclude_ous,
            grant_to,
            gate,
            retire_superseded: raw.retire_superseded.unwrap_or(false),
        };
        let label = phase.name.value.clone();
        if phase.accounts.is_empty()
            && phase.ous.is_empty()
            && phase.tags.is_empty()
            && !phase.organization
            && keys_dropped == 0
        {
            self.error(
                phase.name.span,
                format!("phase `{label}` selects no account"),
            )
            .hint = Some("give it `accounts`, `ous`, `tags` or `organization = true`".to_owned());
        }
        // An intersection needs two selectors to intersect; the organisation intersects nothing.
        if phase.matching == Match::All {
            let span: Span = match_span.map_or(phase.name.span, Span::from);
            let kinds = [
                !phase.accounts.is_empty(),
                !phase.ous.is_empty(),
                !phase.tags.is_empty(),
            ]
            .into_iter()
            .filter(|given| *given)
            .count();
            if phase.organization {
                self.error(
                    span,
                    format!("phase `{label}` intersects `organization = true` with its other selectors (`match = \"all\"`): the organisation narrows nothing"),
                )
                .hint = Some("remove `organization = true`: `match = \"all\"` keeps the accounts that every other selector names".to_owned());
            } else if kinds < 2 && keys_dropped == 0 {
                self.error(
                    span,
                    format!("phase `{label}` has `match = \"all\"` but only one kind of selector to intersect"),
                )
                .hint = Some("give two of `accounts`, `ous` and `tags` (e.g. `ous` and `tags`: the accounts in those OUs that carry those tags), or remove `match`".to_owned());
            }
        }
        // An exclusion that is also a selector of the same phase contradicts itself.
        for excluded in &phase.exclude_accounts {
            if phase
                .accounts
                .iter()
                .any(|selected| selected.value == excluded.value)
            {
                self.error(
                    excluded.span,
                    format!(
                        "phase `{label}` both selects and excludes account `{}`",
                        excluded.value
                    ),
                )
                .hint = Some("remove it from `accounts` or from `exclude.accounts`".to_owned());
            }
        }
        for excluded in &phase.exclude_ous {
            if phase
                .ous
                .iter()
                .any(|selected| selected.value == excluded.value)
            {
                self.error(
                    excluded.span,
                    format!(
                        "phase `{label}` both selects and excludes OU `{}`",
                        excluded.value
                    ),
                )
                .hint = Some("remove it from `ous` or from `exclude.ous`".to_owned());
            }
        }
        if phase.grant_to == GrantTo::Ous {
            if !phase.accounts.is_empty() || !phase.tags.is_empty() {
                self.error(
                    phase.name.span,
                    format!("phase `{label}` grants to OUs only (`grant_to = \"ous\"`) but selects accounts or tags"),
                )
                .hint = Some("use `grant_to = \"auto\"`, or move the accounts to another phase".to_owned());
            }
            if phase.has_exclusions() {
                self.error(
                    phase.name.span,
                    format!("phase `{label}` grants whole OUs (`grant_to = \"ous\"`) and cannot honour exclusions"),
                )
                .hint = Some("use `grant_to = \"auto\"`: it grants the clean OUs and the remaining accounts one by one".to_owned());
            }
        }
        Some(phase)
    }
}

/// `"100%"` -> 100; 1 to 100.
fn parse_percent(text: &str) -> Option<u8> {
    let number: u8 = text.trim().strip_suffix('%')?.trim().parse().ok()?;
    (1..=100).contains(&number).then_some(number)
}

/// `"24h"`, `"1h30m"`, `"90s"`, `"2d"`, `"0s"` -> seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for character in text.chars() {
        if character.is_ascii_digit() {
            digits.push(character);
            continue;
        }
        let unit = match character {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return None,
        };
        let number: u64 = digits.parse().ok()?;
        total = total.checked_add(number.checked_mul(unit)?)?;
        digits.clear();
    }
    digits.is_empty().then_some(total)
}

/// Seconds as the shortest duration text: `86400` -> `1d`, `5400` -> `1h30m`, `0` -> `0s`.
pub fn format_duration(seconds: u64) -> String {
    if seconds == 0 {
        return "0s".to_owned();
    }
    let mut text = String::new();
    let mut rest = seconds;
    for (unit, suffix) in [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
        if rest >= unit {
            text.push_str(&format!("{}{suffix}", rest / unit));
            rest %= unit;
        }
    }
    text
}

/// Parses and validates a plan file's text; `file_name` is how locations name it.
///
/// Every problem is reported, each with its place and, where one helps, a hint.
pub fn parse_plan(text: &str, file_name: &str) -> Result<RolloutPlan, PlanFileErrors> {
    let source = SourceFile::new(file_name, text);
    let mut parser = Parser {
        source: &source,
        diagnostics: Vec::new(),
        warnings: Vec::new(),
    };
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        for error in syntax_errors {
            let span = error.span().unwrap_or(0..0);
            parser
                .error(span, format!("invalid TOML: {}", error.message().trim()))
                .hint = Some("see https://toml.io for the syntax".to_owned());
        }
        into_result(std::mem::take(&mut parser.diagnostics))?;
    }
    let document_span = document.span();
    let mut root = document.into_inner();
    parser.drop_unknown_keys(&mut root, TOP_KEYS, "the plan");

    if let Some(value) = root.get("version").cloned() {
        let span = value.span();
        if let Some(version) = parser.deserialize::<i64>(value, "`version`")
            && version != i64::from(PLAN_VERSION)
        {
            parser
                .error(span, format!("unsupported plan version `{version}`"))
                .hint = Some(format!("this entitle reads `version = {PLAN_VERSION}`"));
        }
    } else {
        parser
            .error(
                document_span.start..document_span.start,
                "the plan has no `version`",
            )
            .hint = Some(format!("start the file with `version = {PLAN_VERSION}`"));
    }

    let name = match root.get("name").cloned() {
        Some(value) => match parser.deserialize::<Spanned<String>>(value, "`name`") {
            Some(name) => {
                parser.check_name(&name, "rollout name");
                Some(name.into_inner())
            }
            None => None,
        },
        None => {
            parser
                .error(document_span.start..document_span.start, "the plan has no `name`")
                .hint = Some("add `name = \"claude-sonnet-4-5\"`: the rollout's identity in grant names, tags and client tokens".to_owned());
            None
        }
    };

    let journal_url = match root.get("journal").cloned() {
        Some(mut value) => {
            let span = value.span();
            match value.get_mut() {
                DeValue::Table(table) => {
                    parser.drop_unknown_keys(table, JOURNAL_KEYS, "`[journal]`");
                    match table.get("url").cloned() {
                        Some(url) => parser
                            .deserialize::<Spanned<String>>(url, "`[journal] url`")
                            .and_then(|url| {
                                let span = url.span();
                                let url = url.into_inner();
                                if url.trim().is_empty() {
                                    parser.error(span, "`[journal] url` is empty").hint = Some(
                                        "write a directory, a `.jsonl` file or `s3://BUCKET/PREFIX`"
                                            .to_owned(),
                                    );
                                    None
                                } else {
                                    Some(url)
                                }
                            }),
                        None => {
                            parser.error(span, "`[journal]` has no `url`").hint = Some(
                                "add `url = \"s3://BUCKET/PREFIX\"` (or a directory), or remove `[journal]`"
                                    .to_owned(),
                            );
                            None
                        }
                    }
                }
                _ => {
                    parser.error(span, "`journal` must be a table").hint =
                        Some("write `[journal]` with `url = \"...\"`".to_owned());
                    None
                }
            }
        }
        None => None,
    };

    let entitlement = match root.get("entitlement").cloned() {
        Some(mut value) => {
            if let DeValue::Table(table) = value.get_mut() {
                parser.drop_unknown_keys(table, ENTITLEMENT_KEYS, "`[entitlement]`");
            }
            parser.entitlement(value)
        }
        None => {
            parser
                .error(
                    document_span.start..document_span.start,
                    "the plan has no `[entitlement]`",
                )
                .hint = Some("add `[entitlement]` with `product = \"prod-...\"`".to_owned());
            None
        }
    };

    let mut phases = Vec::new();
    match root.get("phase").cloned() {
        Some(value) => {
            let span = value.span();
            match value.into_inner() {
                DeValue::Array(items) => {
                    if items.is_empty() {
                        parser.error(span, "the plan has no phases").hint =
                            Some("add at least one `[[phase]]` table".to_owned());
                    }
                    for (index, mut item) in items.into_iter().enumerate() {
                        let mut dropped = 0;
                        if let DeValue::Table(table) = item.get_mut() {
                            let context = format!("phase #{}", index + 1);
                            parser.drop_unknown_nested(
                                table,
                                "exclude",
                                EXCLUDE_KEYS,
                                &format!("`exclude` of {context}"),
                            );
                            parser.drop_unknown_nested(
                                table,
                                "gate",
                                GATE_KEYS,
                                &format!("`gate` of {context}"),
                            );
                            dropped = parser.drop_unknown_keys(table, PHASE_KEYS, &context);
                        }
                        if let Some(phase) = parser.phase(item, index, dropped) {
                            phases.push(phase);
                        }
                    }
                }
                _ => {
                    parser
                        .error(span, "`phase` must be an array of tables")
                        .hint = Some("write each phase as a `[[phase]]` table".to_owned());
                }
            }
        }
        None => {
            let end = text.len();
            parser.error(end..end, "the plan has no phases").hint = Some(
                "add at least one `[[phase]]` table with a `name` and what it selects".to_owned(),
            );
        }
    }
    let mut seen: BTreeMap<String, Span> = BTreeMap::new();
    for phase in &phases {
        if let Some(first) = seen.get(&phase.name.value) {
            let (line, _) = source.line_column(first.start);
            parser
                .error(
                    phase.name.span,
                    format!("duplicate phase name `{}`", phase.name.value),
                )
                .hint = Some(format!(
                "the first phase of that name is on line {line}; phase names must be unique"
            ));
        } else {
            seen.insert(phase.name.value.clone(), phase.name.span);
        }
    }
    let diagnostics = std::mem::take(&mut parser.diagnostics);
    let warnings = std::mem::take(&mut parser.warnings);
    into_result(diagnostics)?;
    match (name, entitlement) {
        (Some(name), Some(entitlement)) => Ok(RolloutPlan {
            name,
            entitlement,
            phases,
            sha256: sha256_hex(text.as_bytes()),
            source,
            journal_url,
            warnings,
        }),
        // Unreachable in practice: a missing part always leaves a diagnostic.
        _ => Err(PlanFileErrors {
            diagnostics: vec![Diagnostic {
                message: "the plan is incomplete".to_owned(),
                location: None,
                hint: None,
            }],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"version = 1
name = "claude-sonnet-4-5"

[entitlement]
product = "prod-mxcfnwvpd6kb4"
operations = ["CheckoutLicense", "CheckInLicense"]

[[phase]]
name = "pilot"
accounts = ["111111111111"]
gate = { min_active = "100%", bake = "24h" }

[[phase]]
name = "ml"
ous = ["Workloads/ML", "ou-ab12-cccccccc"]
tags = { bedrock = "approved" }
exclude = { accounts = ["333333333333"], ous = ["Workloads/ML/Sandbox"] }
grant_to = "auto"
"#;

    fn errors(text: &str) -> Vec<String> {
        parse_plan(text, "plans/x.toml")
            .unwrap_err()
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_good_plan_parses() {
        let plan = parse_plan(GOOD, "plans/x.toml").unwrap();
        assert_eq!(plan.name, "claude-sonnet-4-5");
        assert_eq!(plan.phases.len(), 2);
        assert_eq!(
            plan.phases[0].gate,
            Some(Gate {
                min_active_percent: 100,
                bake_seconds: 86_400
            })
        );
        assert_eq!(plan.phases[1].ous.len(), 2);
        assert_eq!(plan.phases[1].tags[0].0.value, "bedrock");
        let (line, column) = plan.source.line_column(plan.phases[1].tags[0].0.span.start);
        assert_eq!((line, column), (16, 10));
        assert_eq!(plan.entitlement.activation, Activation::Grantor);
    }

    #[test]
    fn unknown_keys_are_all_reported_with_suggestions() {
        let text = GOOD
            .replace(
                "accounts = [\"111111111111\"]",
                "acounts = [\"111111111111\"]\norganisation = true",
            )
            .replace("bake = ", "bak = ");
        let found = errors(&text);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found.iter().any(|e| e.starts_with(
            "error: unknown key `acounts` in phase #1, did you mean `accounts`?\n  --> plans/x.toml:10:1"
        )), "{found:#?}");
        assert!(
            found
                .iter()
                .any(|e| e.contains("`organisation`") && e.contains("`organization`"))
        );
        assert!(
            found.iter().any(
                |e| e.contains("unknown key `bak` in `gate` of phase #1, did you mean `bake`?")
            )
        );
        // Its only selector misspelt, the phase selects nothing: not said again (a follow-on).
        assert!(
            !found
                .iter()
                .any(|e| e.contains("phase `pilot` selects no account")),
            "{found:#?}"
        );
    }

    #[test]
    fn a_model_names_its_product_through_the_catalog() {
        let text = GOOD.replace(
            "product = \"prod-mxcfnwvpd6kb4\"",
            "model = \"anthropic.claude-haiku-4-5-20251001-v1:0\"",
        );
        let plan = parse_plan(&text, "plans/x.toml").unwrap();
        assert_eq!(
            plan.entitlement.selector,
            EntitlementSelector::Product("prod-xdkflymybwmvi".to_owned())
        );
        assert_eq!(
            plan.entitlement.model.as_deref(),
            Some("anthropic.claude-haiku-4-5-20251001-v1:0")
        );
        assert_eq!(
            parse_plan(GOOD, "plans/x.toml").unwrap().entitlement.model,
            None
        );
    }

    #[test]
    fn an_unknown_model_is_refused_at_its_place_with_the_nearest_one() {
        let text = GOOD.replace(
            "product = \"prod-mxcfnwvpd6kb4\"",
            "model = \"anthropic.claude-sonet-4-5-20250929-v1:0\"",
        );
        let found = errors(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with(
                "error: unknown model `anthropic.claude-sonet-4-5-20250929-v1:0`, did you mean `anthropic.claude-sonnet-4-5-20250929-v1:0`?\n  --> plans/x.toml:5:9"
            ),
            "{found:#?}"
        );
        assert!(
            found[0].contains("hint: `entitle models` lists"),
            "{found:#?}"
        );
        // Named beside the product: one entitlement, named twice.
        let both = GOOD.replace(
            "product = \"prod-mxcfnwvpd6kb4\"",
            "product = \"prod-mxcfnwvpd6kb4\"\nmodel = \"anthropic.claude-sonnet-4-5-20250929-v1:0\"",
        );
        let found = errors(&both);
        assert!(
            found[0].contains("the entitlement is named more than once (`product`, `model`)"),
            "{found:#?}"
        );
    }

    #[test]
    fn durations_and_percentages() {
        assert_eq!(parse_duration("1h30m"), Some(5_400));
        assert_eq!(parse_duration("2d"), Some(172_800));
        assert_eq!(parse_duration("0s"), Some(0));
        assert_eq!(parse_duration("24"), None);
        assert_eq!(parse_duration("1w"), None);
        assert_eq!(format_duration(5_400), "1h30m");
        assert_eq!(parse_percent("50%"), Some(50));
        assert_eq!(parse_percent("0%"), None);
        assert_eq!(parse_percent("150%"), None);
    }

    fn phase_plan(phase: &str) -> String {
        format!(
            "version = 1\nname = \"r\"\n[entitlement]\nproduct = \"prod-a\"\n[[phase]]\nname = \"p\"\n{phase}"
        )
    }

    #[test]
    fn match_all_intersects_two_kinds_of_selector_and_says_what_is_wrong_otherwise() {
        let plan = parse_plan(
            &phase_plan("ous = [\"Workloads\"]\ntags = { team = \"ml\" }\nmatch = \"all\"\n"),
            "r.toml",
        )
        .unwrap();
        assert_eq!(plan.phases[0].matching, Match::All);
        let default = parse_plan(&phase_plan("ous = [\"Workloads\"]\n"), "r.toml").unwrap();
        assert_eq!(default.phases[0].matching, Match::Any);

        let misspelt = errors(&phase_plan(
            "ous = [\"W\"]\ntags = { a = \"b\" }\nmatch = \"al\"\n",
        ));
        assert_eq!(misspelt.len(), 1, "{misspelt:#?}");
        assert!(
            misspelt[0].contains("unknown `match` value `al`, did you mean `all`?"),
            "{misspelt:#?}"
        );
        let lonely = errors(&phase_plan("ous = [\"W\"]\nmatch = \"all\"\n"));
        assert_eq!(lonely.len(), 1, "{lonely:#?}");
        assert!(
            lonely[0].contains("phase `p` has `match = \"all\"` but only one kind of selector")
                && lonely[0].contains("--> plans/x.toml:8:9"),
            "{lonely:#?}"
        );
        let organisation = errors(&phase_plan(
            "organization = true\ntags = { a = \"b\" }\nmatch = \"all\"\n",
        ));
        assert_eq!(organisation.len(), 1, "{organisation:#?}");
        assert!(
            organisation[0].contains("the organisation narrows nothing"),
            "{organisation:#?}"
        );
        // `match` is a phase key: a misspelling is caught as one.
        let key = errors(&phase_plan("ous = [\"W\"]\nmatches = \"all\"\n"));
        assert!(key[0].contains("did you mean `match`"), "{key:#?}");
    }

    #[test]
    fn an_account_listed_twice_is_a_warning_with_both_places() {
        let plan = parse_plan(
            &phase_plan("accounts = [\"111111111111\", \"222222222222\", \"111111111111\"]\n"),
            "r.toml",
        )
        .unwrap();
        assert_eq!(plan.phases[0].accounts.len(), 2);
        assert_eq!(plan.warnings.len(), 1, "{:#?}", plan.warnings);
        let warning = &plan.warnings[0];
        assert_eq!(warning.message, "account `111111111111` is listed twice");
        let location = warning.location.as_ref().unwrap();
        assert_eq!((location.line, location.column), (7, 45));
        assert_eq!(
            warning.hint.as_deref(),
            Some("it is first listed on line 7; remove this one")
        );
        assert!(parse_plan(GOOD, "r.toml").unwrap().warnings.is_empty());
    }

    /// The one problem of a plan, rendered.
    fn only_error(text: &str) -> String {
        let found = errors(text);
        assert_eq!(found.len(), 1, "{found:#?}");
        found.into_iter().next().unwrap()
    }

    fn entitlement_plan(entitlement: &str) -> String {
        format!(
            "version = 1\nname = \"r\"\n[entitlement]\n{entitlement}\n[[phase]]\nname = \"p\"\norganization = true\n"
        )
    }

    #[test]
    fn locations_are_lines_and_characters_from_one() {
        let source = SourceFile::new("plans/x.toml", "ab\nxé\n\nz");
        assert_eq!(source.name(), "plans/x.toml");
        assert_eq!(source.line_column(0), (1, 1));
        assert_eq!(source.line_column(2), (1, 3));
        assert_eq!(source.line_column(3), (2, 1));
        // Columns count characters: `é` is two bytes, one column.
        assert_eq!(source.line_column(6), (2, 3));
        // Inside a character (never a span's start, but total): counted in bytes.
        assert_eq!(source.line_column(5), (2, 3));
        assert_eq!(source.line_column(7), (3, 1));
        assert_eq!(source.line_column(8), (4, 1));
        // Past the end: the end.
        assert_eq!(source.line_column(100), (4, 2));
        let location = source.locate(Span::from(3..4));
        assert_eq!(location.to_string(), "plans/x.toml:2:1");
    }

    #[test]
    fn every_problem_is_shown_in_file_order_one_per_paragraph() {
        let errors = into_result(vec![
            Diagnostic::at(&SourceFile::new("f", "a\nb"), Span::from(2..3), "second"),
            Diagnostic {
                message: "no place".to_owned(),
                location: None,
                hint: Some("do this".to_owned()),
            },
            Diagnostic::at(&SourceFile::new("f", "a\nb"), Span::from(0..1), "first")
                .maybe_hint(Some("a hint".to_owned())),
        ])
        .unwrap_err();
        assert_eq!(
            errors.to_string(),
            "error: no place\n  hint: do this\nerror: first\n  --> f:1:1\n  hint: a hint\nerror: second\n  --> f:2:1"
        );
        assert_eq!(into_result(Vec::new()), Ok(()));
        assert_eq!(
            Diagnostic::at(&SourceFile::new("f", "a"), Span::from(0..1), "m")
                .hint("h")
                .maybe_hint(None)
                .hint,
            None
        );
    }

    #[test]
    fn role_names_near_misses_and_digests() {
        assert!(is_role_name("OrganizationAccountAccessRole"));
        assert!(is_role_name("a+=,.@_-9"));
        assert!(is_role_name(&"r".repeat(64)));
        assert!(!is_role_name(&"r".repeat(65)));
        assert!(!is_role_name(""));
        assert!(!is_role_name("my role"));
        assert_eq!(
            nearest("acounts", ["name", "accounts", "ous"]),
            Some("accounts")
        );
        assert_eq!(nearest("zzz", ["name", "accounts", "ous"]), None);
        assert_eq!(
            did_you_mean("orgnization", &["organization", "ous"]).as_deref(),
            Some("did you mean `organization`?")
        );
        assert_eq!(did_you_mean("zzz", &["organization"]), None);
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let plan = parse_plan(GOOD, "plans/x.toml").unwrap();
        assert_eq!(plan.sha256, sha256_hex(GOOD.as_bytes()));
        assert_eq!(plan.phase_index("pilot"), Some(0));
        assert_eq!(plan.phase_index("ml"), Some(1));
        assert_eq!(plan.phase_index("other"), None);
        assert!(!plan.phases[0].has_exclusions());
        assert!(plan.phases[1].has_exclusions());
        assert_eq!(
            OuRef::Path("Workloads/ML".to_owned()).to_string(),
            "Workloads/ML"
        );
    }

    #[test]
    fn durations_read_every_unit_and_print_shortest() {
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("30m"), Some(1_800));
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(parse_duration(" 1d1h1m1s "), Some(90_061));
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(59), "59s");
        assert_eq!(format_duration(60), "1m");
        assert_eq!(format_duration(86_400), "1d");
        assert_eq!(format_duration(90_061), "1d1h1m1s");
        assert_eq!(parse_percent(" 1 %"), Some(1));
        assert_eq!(parse_percent("100%"), Some(100));
        assert_eq!(parse_percent("50"), None);
    }

    #[test]
    fn an_unknown_key_far_from_any_known_one_lists_them_and_a_near_one_suggests_it() {
        let far = only_error(&GOOD.replace("version = 1\n", "version = 1\nzzz = 1\n"));
        assert_eq!(
            far,
            "error: unknown key `zzz` in the plan\n  --> plans/x.toml:2:1\n  hint: the plan takes `version`, `name`, `entitlement`, `phase`, `journal`"
        );
        let near = only_error(&GOOD.replace("version = 1\n", "version = 1\njournl = 1\n"));
        assert_eq!(
            near,
            "error: unknown key `journl` in the plan, did you mean `journal`?\n  --> plans/x.toml:2:1"
        );
        let nested = only_error(&GOOD.replace("exclude = { accounts", "exclude = { acounts"));
        assert!(
            nested.starts_with(
                "error: unknown key `acounts` in `exclude` of phase #2, did you mean `accounts`?"
            ),
            "{nested}"
        );
    }

    #[test]
    fn the_top_of_the_plan_is_checked() {
        assert!(
            only_error("version = 1\nname = \"r\"\n[entitlement\n")
                .starts_with("error: invalid TOML: "),
        );
        assert_eq!(
            only_error(&GOOD.replace("version = 1", "version = 2")),
            "error: unsupported plan version `2`\n  --> plans/x.toml:1:11\n  hint: this entitle reads `version = 1`"
        );
        assert!(
            only_error(&GOOD.replace("version = 1\n", ""))
                .starts_with("error: the plan has no `version`\n  --> plans/x.toml:1:1")
        );
        assert!(
            only_error(&GOOD.replace("name = \"claude-sonnet-4-5\"\n", ""))
                .starts_with("error: the plan has no `name`")
        );
        let no_entitlement = GOOD
            .replace("[entitlement]\n", "")
            .replace("product = \"prod-mxcfnwvpd6kb4\"\n", "")
            .replace(
                "operations = [\"CheckoutLicense\", \"CheckInLicense\"]\n",
                "",
            );
        assert!(only_error(&no_entitlement).starts_with("error: the plan has no `[entitlement]`"));
        let no_phase = &GOOD[..GOOD.find("[[phase]]").unwrap()];
        assert!(only_error(no_phase).starts_with("error: the plan has no phases"));
        let top = |phase: &str| {
            format!("version = 1\nname = \"r\"\n{phase}\n[entitlement]\nproduct = \"prod-a\"\n")
        };
        assert_eq!(
            only_error(&top("phase = []")),
            "error: the plan has no phases\n  --> plans/x.toml:3:9\n  hint: add at least one `[[phase]]` table"
        );
        assert!(
            only_error(&top("phase = 1")).starts_with("error: `phase` must be an array of tables")
        );
    }

    #[test]
    fn the_journal_is_a_table_with_a_url() {
        let with = |journal: &str| format!("{GOOD}\n{journal}\n");
        let plan = parse_plan(&with("[journal]\nurl = \"s3://b/p\""), "x.toml").unwrap();
        assert_eq!(plan.journal_url.as_deref(), Some("s3://b/p"));
        assert_eq!(parse_plan(GOOD, "x.toml").unwrap().journal_url, None);
        assert!(
            only_error(&with("[journal]\nurl = \" \""))
                .starts_with("error: `[journal] url` is empty")
        );
        assert!(only_error(&with("[journal]\n")).starts_with("error: `[journal]` has no `url`"));
        assert!(
            only_error(&with("[journal]\nurl = \"d\"\nurls = 1"))
                .starts_with("error: unknown key `urls` in `[journal]`")
        );
        let top = GOOD.replace("version = 1\n", "version = 1\njournal = \"d\"\n");
        assert!(only_error(&top).starts_with("error: `journal` must be a table"));
    }

    #[test]
    fn names_are_short_lowercase_words() {
        let named = |name: &str| GOOD.replace("name = \"pilot\"", &format!("name = \"{name}\""));
        for good in ["a", "1a", "a1-_.z", &"p".repeat(MAX_NAME_LEN)] {
            assert!(parse_plan(&named(good), "x.toml").is_ok(), "{good}");
        }
        for bad in ["", "-a", "a b", "Pilot", &"p".repeat(MAX_NAME_LEN + 1)] {
            let error = only_error(&named(bad));
            assert!(
                error.starts_with(&format!("error: phase name `{bad}` is not a valid name")),
                "{error}"
            );
        }
        let rollout = GOOD.replace("name = \"claude-sonnet-4-5\"", "name = \"R\"");
        assert!(only_error(&rollout).starts_with("error: rollout name `R` is not a valid name"));
        let renamed = GOOD.replace("name = \"ml\"", "name = \"pilot\"");
        assert_eq!(
            only_error(&renamed),
            "error: duplicate phase name `pilot`\n  --> plans/x.toml:14:8\n  hint: the first phase of that name is on line 9; phase names must be unique"
        );
    }

    #[test]
    fn each_way_of_naming_the_entitlement_is_checked() {
        let ok = |entitlement: &str| parse_plan(&entitlement_plan(entitlement), "x.toml").unwrap();
        assert_eq!(
            ok("license_arn = \"arn:aws:license-manager::294406891311:license:l-1\"")
                .entitlement
                .selector,
            EntitlementSelector::LicenseArn(
                "arn:aws:license-manager::294406891311:license:l-1".to_owned()
            )
        );
        assert_eq!(
            ok("agreement = \"agmt-1\"").entitlement.selector,
            EntitlementSelector::Agreement("agmt-1".to_owned())
        );
        let error = |entitlement: &str| only_error(&entitlement_plan(entitlement));
        assert!(error("product = \"mxcfnwvpd6kb4\"").starts_with(
            "error: `mxcfnwvpd6kb4` is not a Marketplace product id\n  --> plans/x.toml:4:11"
        ));
        assert!(
            error("license_arn = \"arn:aws:s3:::bucket\"")
                .starts_with("error: `arn:aws:s3:::bucket` is not a license ARN")
        );
        assert!(
            error("license_arn = \"l-1:license:x\"")
                .starts_with("error: `l-1:license:x` is not a license ARN")
        );
        assert!(
            error("agreement = \"offer-1\"")
                .starts_with("error: `offer-1` is not a Marketplace agreement id")
        );
        assert!(
            error("activation = \"member\"").starts_with("error: `[entitlement]` names no license")
        );
        assert!(error("product = 1").starts_with("error: wrong type in `[entitlement]`: "));
    }

    #[test]
    fn the_entitlement_s_settings_are_checked() {
        let plan = |settings: &str| {
            parse_plan(
                &entitlement_plan(&format!("product = \"prod-a\"\n{settings}")),
                "x.toml",
            )
        };
        let chosen = plan(
            "activation = \"member\"\non_existing_subscription = \"replace\"\nmember_role = \"Admin\"\noperations = [\"CheckoutLicense\"]",
        )
        .unwrap()
        .entitlement;
        assert_eq!(chosen.activation, Activation::Member);
        assert_eq!(
            chosen.on_existing_subscription,
            OnExistingSubscription::Replace
        );
        assert_eq!(chosen.member_role.as_deref(), Some("Admin"));
        assert_eq!(
            chosen.operations,
            Some(BTreeSet::from([Operation::CheckoutLicense]))
        );
        let defaults = plan("").unwrap().entitlement;
        assert_eq!(
            defaults.on_existing_subscription,
            OnExistingSubscription::Keep
        );
        assert_eq!(defaults.operations, None);
        assert_eq!(defaults.member_role, None);
        let error = |settings: &str| {
            let found: Vec<String> = plan(settings)
                .unwrap_err()
                .diagnostics
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(found.len(), 1, "{found:#?}");
            found.into_iter().next().unwrap()
        };
        assert!(error("operations = []").starts_with("error: `operations` is empty"));
        assert!(error("operations = [\"CheckoutLicence\"]").starts_with(
            "error: unknown operation `CheckoutLicence`, did you mean `CheckoutLicense`?"
        ));
        assert!(error("operations = [\"Fly\"]").starts_with("error: unknown operation `Fly`\n"));
        assert!(
            error("operations = [\"CheckoutLicense\", \"CheckoutLicense\"]").starts_with(
                "error: operation `CheckoutLicense` is listed twice\n  --> x.toml:5:34"
            )
        );
        assert_eq!(
            error("activation = \"members\""),
            "error: unknown `activation` value `members`, did you mean `member`?\n  --> x.toml:5:14\n  hint: `activation` is one of `\"grantor\"`, `\"member\"`"
        );
        assert!(
            error("on_existing_subscription = \"zzz\"")
                .starts_with("error: unknown `on_existing_subscription` value `zzz`\n")
        );
        assert!(
            error("member_role = \"my role\"")
                .starts_with("error: `my role` is not an IAM role name")
        );
    }

    #[test]
    fn gates_are_shares_and_durations() {
        let gated = |gate: &str| GOOD.replace("min_active = \"100%\", bake = \"24h\"", gate);
        let plan = parse_plan(&gated("bake = \"1h\""), "x.toml").unwrap();
        assert_eq!(
            plan.phases[0].gate,
            Some(Gate {
                min_active_percent: 100,
                bake_seconds: 3_600
            })
        );
        let plan = parse_plan(&gated("min_active = \"50%\""), "x.toml").unwrap();
        assert_eq!(
            plan.phases[0].gate,
            Some(Gate {
                min_active_percent: 50,
                bake_seconds: 0
            })
        );
        assert!(
            only_error(&gated("min_active = \"all\""))
                .starts_with("error: `all` is not a share of accounts")
        );
        assert!(
            only_error(&gated("bake = \"soon\"")).starts_with("error: `soon` is not a duration")
        );
    }

    #[test]
    fn a_phase_s_selectors_are_checked() {
        let plan = parse_plan(
            &phase_plan("ous = [\"/Workloads/ML/\", \"ou-ab12-cccccccc\"]\ngrant_to = \"ous\"\nretire_superseded = true\n"),
            "r.toml",
        )
        .unwrap();
        let phase = &plan.phases[0];
        assert_eq!(
            phase
                .ous
                .iter()
                .map(|ou| ou.value.to_string())
                .collect::<Vec<_>>(),
            ["Workloads/ML", "ou-ab12-cccccccc"]
        );
        assert_eq!(phase.grant_to, GrantTo::Ous);
        assert!(phase.retire_superseded);
        // A selector that is not one is reported, and the phase then selects nothing.
        let bad = |selector: &str| {
            let found = errors(&phase_plan(selector));
            assert_eq!(found.len(), 2, "{found:#?}");
            assert!(
                found[0].starts_with("error: phase `p` selects no account"),
                "{found:#?}"
            );
            found[1].clone()
        };
        assert!(
            bad("ous = [\"Workloads//ML\"]\n")
                .starts_with("error: `Workloads//ML` is not an OU path\n  --> plans/x.toml:7:8")
        );
        assert!(bad("ous = [\"/\"]\n").starts_with("error: `/` is not an OU path"));
        assert!(bad("ous = [\"ou-x\"]\n").starts_with("error: "));
        assert!(bad("accounts = [\"1234\"]\n").starts_with("error: "));
        assert_eq!(
            only_error(&phase_plan("")),
            "error: phase `p` selects no account\n  --> plans/x.toml:6:8\n  hint: give it `accounts`, `ous`, `tags` or `organization = true`"
        );
        assert!(
            only_error(&phase_plan("retire_superseded = true\n"))
                .starts_with("error: phase `p` selects no account")
        );
        let unnamed = "version = 1\nname = \"r\"\n[entitlement]\nproduct = \"prod-a\"\n[[phase]]\norganization = true\n";
        assert!(only_error(unnamed).starts_with("error: phase #1 has no `name`"));
        assert!(
            only_error(&phase_plan("accounts = [\"111111111111\"]\nexclude = { accounts = [\"111111111111\"] }\n"))
                .starts_with("error: phase `p` both selects and excludes account `111111111111`\n  --> plans/x.toml:8:25")
        );
        assert!(
            only_error(&phase_plan("ous = [\"W\"]\nexclude = { ous = [\"W\"] }\n"))
                .starts_with("error: phase `p` both selects and excludes OU `W`")
        );
        assert!(
            parse_plan(
                &phase_plan(
                    "ous = [\"W\"]\nexclude = { ous = [\"W/X\"], accounts = [\"111111111111\"] }\n"
                ),
                "r.toml"
            )
            .is_ok()
        );
        assert!(
            only_error(&phase_plan("ous = [\"W\"]\ntags = { a = \"b\" }\ngrant_to = \"ous\"\n"))
                .starts_with("error: phase `p` grants to OUs only (`grant_to = \"ous\"`) but selects accounts or tags")
        );
        assert!(
            only_error(&phase_plan(
                "ous = [\"W\"]\naccounts = [\"111111111111\"]\ngrant_to = \"ous\"\n"
            ))
            .starts_with("error: phase `p` grants to OUs only")
        );
        assert!(
            only_error(&phase_plan("ous = [\"W\"]\nexclude = { ous = [\"W/X\"] }\ngrant_to = \"ous\"\n"))
                .starts_with("error: phase `p` grants whole OUs (`grant_to = \"ous\"`) and cannot honour exclusions")
        );
        assert!(
            only_error(&phase_plan("ous = [\"W\"]\ngrant_to = \"ou\"\n"))
                .starts_with("error: unknown `grant_to` value `ou`, did you mean `ous`?")
        );
    }

    #[test]
    fn match_all_counts_the_kinds_of_selector() {
        for two in [
            "accounts = [\"111111111111\"]\nous = [\"W\"]\n",
            "accounts = [\"111111111111\"]\ntags = { a = \"b\" }\n",
            "ous = [\"W\"]\ntags = { a = \"b\" }\n",
        ] {
            let plan = parse_plan(&phase_plan(&format!("{two}match = \"all\"\n")), "r.toml");
            assert!(plan.is_ok(), "{two}: {plan:?}");
        }
        for one in ["accounts = [\"111111111111\"]\n", "tags = { a = \"b\" }\n"] {
            let error = only_error(&phase_plan(&format!("{one}match = \"all\"\n")));
            assert!(error.contains("but only one kind of selector"), "{error}");
        }
        // Without `match`, the intersection's problem is pointed at the phase's name.
        let plan = parse_plan(&phase_plan("ous = [\"W\"]\n"), "r.toml").unwrap();
        assert_eq!(plan.phases[0].matching, Match::Any);
    }

    #[test]
    fn a_mistyped_key_is_reported_and_the_rest_of_its_phase_still_checked() {
        // Its only selector of the wrong type: reported once, not also "selects no account".
        let error = only_error(&phase_plan("accounts = \"111111111111\"\n"));
        assert!(
            error.starts_with("error: wrong type in phase #1: ")
                && error.contains("--> plans/x.toml:7:12"),
            "{error}"
        );
        // Two keys of the wrong type and a bad value: all three reported.
        let found = errors(&phase_plan(
            "accounts = \"111111111111\"\norganization = \"yes\"\ngrant_to = \"all\"\n",
        ));
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].contains("--> plans/x.toml:7:12"), "{found:#?}");
        assert!(found[1].contains("--> plans/x.toml:8:16"), "{found:#?}");
        assert!(
            found[2].starts_with("error: unknown `grant_to` value `all`"),
            "{found:#?}"
        );
        // `match = "all"` with its other selector mistyped: only the type is reported.
        let error = only_error(&phase_plan(
            "ous = \"W\"\ntags = { a = \"b\" }\nmatch = \"all\"\n",
        ));
        assert!(
            error.starts_with("error: wrong type in phase #1: "),
            "{error}"
        );
    }
}
