//! The emulator's settings for behaviour AWS does not document (or documents in two
//! contradicting ways): one field per behaviour, each variant a plausible reading, the default
//! the emulator's best guess. `docs/emulator.md` lists every setting with its evidence. Part of
//! the state file (`State.settings`), of an org file's `[settings]`, and of
//! `SandboxOptions.settings`; every field has a serde default, so older files still load.

use serde::{Deserialize, Serialize};

/// The role Organizations creates in the accounts it creates (AWS Organizations UG).
pub const ORGANIZATION_ACCOUNT_ACCESS_ROLE: &str = "OrganizationAccountAccessRole";

/// How a second grant for the same license and principal is answered (undocumented by AWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateGrant {
    /// Refused with a ValidationException whose message says the grant already exists.
    #[default]
    Reject,
    /// Another grant is created.
    Allow,
}

/// How a ClientToken reused with different parameters is answered (undocumented by AWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClientTokenMismatch {
    /// Refused with a ValidationException.
    #[default]
    Reject,
    /// The first call's response is returned again.
    ReturnOriginal,
}

/// Whether Organizations' answers carry the `Paths` of accounts and the `Path` of OUs (optional
/// members of the model, added in 2025; older answers and other implementations lack them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OrganizationsPaths {
    /// Accounts carry `Paths`, OUs `Path`.
    #[default]
    All,
    /// Accounts carry `Paths`, OUs no `Path`.
    AccountsOnly,
    /// Neither (as moto, and answers from before the members existed).
    None,
}

/// Which accounts an OU principal covers (AWS docs are ambiguous).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OuGrantScope {
    /// Accounts of the OU and of every OU nested in it.
    #[default]
    Subtree,
    /// Only the accounts directly in the OU.
    DirectChildren,
}

/// Where a new *account* grant (principal `arn:<partition>:iam::<id>:root`) lands after
/// PENDING_WORKFLOW in a linked all-features organisation. The License Manager UG says grants
/// from the management account are auto-accepted once the organisation's accounts are linked;
/// AWS's Bedrock entitlements sample says account grants need the recipient to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AccountGrantAcceptance {
    /// Auto-accepted: the grant lands DISABLED (outside a linked organisation it still waits
    /// in PENDING_ACCEPT).
    #[default]
    Auto,
    /// The grant waits in PENDING_ACCEPT until the grantee account calls AcceptGrant, even in a
    /// linked organisation. Organisation and OU grants (and their per-account grants) are not
    /// affected.
    Member,
}

/// What an organisation or OU grant itself shows after CreateGrantVersion(Status=ACTIVE) on it
/// (its per-account grants turn ACTIVE either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ActivatedParentStatus {
    /// The parent shows ACTIVE.
    #[default]
    Active,
    /// The parent keeps showing WORKFLOW_COMPLETED (AWS's sample accepts either).
    WorkflowCompleted,
}

/// What CreateGrantVersion(Status=ACTIVE) does for an account that already holds its own
/// subscription to the product, when the call gives no `ActivationOverrideBehavior` or
/// `DISTRIBUTED_GRANTS_ONLY` (`ALL_GRANTS_PERMITTED_BY_ISSUER` always activates and disables
/// the account's own license).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OwnSubscriptionActivation {
    /// "You can't activate two licenses for the same product from AWS Marketplace at the same
    /// time": a direct account grant's activation is refused (ValidationException); a parent's
    /// activation succeeds but leaves those accounts' per-account grants DISABLED.
    #[default]
    Refuse,
    /// The activation goes through; the own license and the grant are both active.
    Override,
}

/// The wording of the ValidationException that refuses a stale `Version` (DeleteGrant) or
/// `SourceVersion` (CreateGrantVersion). AWS does not document it; clients must key on the
/// error code and re-read the grant, never on the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StaleVersionMessage {
    /// "The version provided doesn't match the latest version (N) of grant `ARN`" (and "The
    /// source version provided doesn't match ..." for CreateGrantVersion).
    #[default]
    DoesntMatch,
    /// "Grant version mismatch: expected version N, got M".
    Mismatch,
    /// "A grant cannot be deleted since the version provided doesn't match the latest version N
    /// in our records" (the text Terraform users quote; "updated" for CreateGrantVersion).
    InOurRecords,
}

/// What a CreateGrant ClientToken answers once the grant it created is DELETED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClientTokenAfterDelete {
    /// The token is remembered forever and keeps returning its (deleted) grant.
    #[default]
    Remembered,
    /// Once the grant is DELETED, the CreateGrant tokens that answered it are forgotten: the
    /// same token creates a new grant.
    Forgotten,
}

/// Which Cost Explorer periods are flagged `Estimated` (the bill is not final).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CostExplorerEstimated {
    /// Periods that end after the first day of the current month (its bill is still open).
    #[default]
    CurrentMonth,
    /// Periods that end within the last N days (`{"recent_days": N}`).
    RecentDays(u32),
    /// No period.
    Never,
}

/// The SERVICE dimension value of a Marketplace model's usage in Cost Explorer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CostExplorerServiceName {
    /// `<product name> (Amazon Bedrock Edition)`, e.g. `Claude Sonnet 4.5 (Amazon Bedrock
    /// Edition)`: the Marketplace product's title.
    #[default]
    BedrockEdition,
    /// The product's name alone, e.g. `Claude Sonnet 4.5`.
    ProductName,
}

/// What a member account (not the management account) sees in Cost Explorer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CostExplorerMemberAccess {
    /// Its own usage only (the management account enabled member access).
    #[default]
    OwnUsage,
    /// Refused: AccessDeniedException (member access not enabled).
    Denied,
}

/// Settings for the behaviour AWS does not document, each with the default the emulator uses.
/// `docs/emulator.md` lists them beside the documented behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Second grant for the same license and principal.
    pub duplicate_grant: DuplicateGrant,
    /// ClientToken reused with different parameters.
    pub client_token_mismatch: ClientTokenMismatch,
    /// Accounts an OU principal covers.
    pub ou_grant_scope: OuGrantScope,
    /// Whether an OU that is not a direct child of the root may be a principal.
    pub allow_nested_ou_principal: bool,
    /// How many reads of a new grant still show PENDING_WORKFLOW before it settles.
    pub pending_workflow_reads: u32,
    /// If set, PENDING_WORKFLOW also lasts at least this many milliseconds after creation (the
    /// creation time is saved with the grant, so this holds across processes).
    pub pending_workflow_millis: Option<u64>,
    /// HTTP status of License Manager's RateLimitExceededException.
    pub rate_limit_http_status: u16,
    /// Organizations page size when MaxResults is absent.
    pub organizations_default_page_size: usize,
    /// Organizations: every Nth page (0 = never) is served empty but with a NextToken.
    pub organizations_empty_page_every: u32,
    /// License Manager page size when MaxResults is absent.
    pub license_manager_default_page_size: usize,
    /// Grants per license (AWS documents 2,000).
    pub max_grants_per_license: usize,
    /// Whether deleted grants still appear in List*Grants (GetGrant always shows them).
    pub list_deleted_grants: bool,
    /// Marketplace page size when maxResults is absent.
    pub marketplace_default_page_size: usize,
    /// Where a new account grant lands in a linked organisation.
    pub account_grant_acceptance: AccountGrantAcceptance,
    /// What an activated organisation or OU grant shows.
    pub activated_parent_status: ActivatedParentStatus,
    /// If set, DeleteGrant answers PENDING_DELETE and the grant (and its per-account grants)
    /// turn DELETED this many milliseconds later; otherwise DELETED at once.
    pub pending_delete_millis: Option<u64>,
    /// Activating a grant for an account with its own subscription to the product.
    pub own_subscription_activation: OwnSubscriptionActivation,
    /// Wording of the stale-version refusal.
    pub stale_version_message: StaleVersionMessage,
    /// Role names STS AssumeRole accepts in member accounts (unless removed from an account
    /// with the `remove_role` admin action).
    pub member_role_names: Vec<String>,
    /// The ARN partition: `aws`, `aws-us-gov` (GovCloud) or `aws-cn` (China). Change it on a
    /// whole state with `State::set_partition`, which rewrites every stored ARN.
    pub partition: String,
    /// What a CreateGrant ClientToken answers once its grant is DELETED.
    pub client_token_after_delete: ClientTokenAfterDelete,
    /// Cost Explorer: usage of the last this many days (today included) is not visible yet
    /// (AWS: data is refreshed at least once every 24 hours). 0 shows today's usage at once.
    pub cost_explorer_lag_days: u32,
    /// Cost Explorer: groups per GetCostAndUsage page (AWS does not document the page size).
    pub cost_explorer_page_size: usize,
    /// Cost Explorer: which periods answer `Estimated: true`.
    pub cost_explorer_estimated: CostExplorerEstimated,
    /// Cost Explorer: the SERVICE value of a Marketplace model's usage.
    pub cost_explorer_service_name: CostExplorerServiceName,
    /// Cost Explorer: what a member account's GetCostAndUsage sees.
    pub cost_explorer_member_access: CostExplorerMemberAccess,
    /// Cost Explorer: how many months before the current one a TimePeriod may start (AWS
    /// documents 13 months of history, 38 with multi-year data enabled).
    pub cost_explorer_history_months: u32,
    /// Bedrock: whether an Anthropic model's GetFoundationModelAvailability answers
    /// agreementAvailability NOT_AVAILABLE while the account has no use-case form (its own or
    /// the management account's). AWS does not say; default `false` (the form gates invocation,
    /// not the availability answer).
    pub use_case_form_gates_availability: bool,
    /// Organizations: whether accounts carry `Paths` and OUs `Path`.
    pub organizations_paths: OrganizationsPaths,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            duplicate_grant: DuplicateGrant::Reject,
            client_token_mismatch: ClientTokenMismatch::Reject,
            ou_grant_scope: OuGrantScope::Subtree,
            allow_nested_ou_principal: true,
            pending_workflow_reads: 1,
            pending_workflow_millis: None,
            rate_limit_http_status: 400,
            organizations_default_page_size: 20,
            organizations_empty_page_every: 0,
            license_manager_default_page_size: 100,
            max_grants_per_license: 2000,
            list_deleted_grants: false,
            marketplace_default_page_size: 50,
            account_grant_acceptance: AccountGrantAcceptance::Auto,
            activated_parent_status: ActivatedParentStatus::Active,
            pending_delete_millis: None,
            own_subscription_activation: OwnSubscriptionActivation::Refuse,
            stale_version_message: StaleVersionMessage::DoesntMatch,
            member_role_names: vec![ORGANIZATION_ACCOUNT_ACCESS_ROLE.to_string()],
            partition: "aws".to_string(),
            client_token_after_delete: ClientTokenAfterDelete::Remembered,
            cost_explorer_lag_days: 1,
            cost_explorer_page_size: 500,
            cost_explorer_estimated: CostExplorerEstimated::CurrentMonth,
            cost_explorer_service_name: CostExplorerServiceName::BedrockEdition,
            cost_explorer_member_access: CostExplorerMemberAccess::OwnUsage,
            cost_explorer_history_months: 13,
            use_case_form_gates_availability: false,
            organizations_paths: OrganizationsPaths::All,
        }
    }
}

impl StaleVersionMessage {
    /// The refusal of a stale `Version` given to DeleteGrant (`given`) when the grant is at
    /// `latest`.
    pub fn delete_message(self, arn: &str, latest: u32, given: &str) -> String {
        match self {
            StaleVersionMessage::DoesntMatch => format!(
                "The version provided doesn't match the latest version ({latest}) of grant `{arn}`"
            ),
            StaleVersionMessage::Mismatch => {
                format!("Grant version mismatch: expected version {latest}, got {given}")
            }
            StaleVersionMessage::InOurRecords => format!(
                "A grant cannot be deleted since the version provided doesn't match the latest version {latest} in our records"
            ),
        }
    }

    /// The refusal of a stale `SourceVersion` given to CreateGrantVersion.
    pub fn source_message(self, arn: &str, latest: u32, given: &str) -> String {
        match self {
            StaleVersionMessage::DoesntMatch => format!(
                "The source version provided doesn't match the latest version ({latest}) of grant `{arn}`"
            ),
            StaleVersionMessage::Mismatch => {
                format!("Grant version mismatch: expected version {latest}, got {given}")
            }
            StaleVersionMessage::InOurRecords => format!(
                "A grant cannot be updated since the source version provided doesn't match the latest version {latest} in our records"
            ),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn old_settings_load_with_the_new_defaults() {
        let old: Settings = serde_json::from_str(r#"{"duplicate_grant": "allow"}"#).unwrap();
        assert_eq!(old.duplicate_grant, DuplicateGrant::Allow);
        assert_eq!(old.member_role_names, ["OrganizationAccountAccessRole"]);
        assert_eq!(old.partition, "aws");
        assert_eq!(old.pending_delete_millis, None);
        assert!(!old.use_case_form_gates_availability);
    }

    #[test]
    fn variants_use_snake_case() {
        let settings: Settings = serde_json::from_value(serde_json::json!({
            "account_grant_acceptance": "member",
            "activated_parent_status": "workflow_completed",
            "own_subscription_activation": "override",
            "stale_version_message": "mismatch",
            "client_token_after_delete": "forgotten",
            "pending_delete_millis": 500,
            "partition": "aws-us-gov",
            "member_role_names": ["Admin"],
        }))
        .unwrap();
        assert_eq!(
            settings.account_grant_acceptance,
            AccountGrantAcceptance::Member
        );
        assert_eq!(
            settings.activated_parent_status,
            ActivatedParentStatus::WorkflowCompleted
        );
        assert_eq!(
            settings.own_subscription_activation,
            OwnSubscriptionActivation::Override
        );
        assert_eq!(
            settings.stale_version_message,
            StaleVersionMessage::Mismatch
        );
        assert_eq!(
            settings.client_token_after_delete,
            ClientTokenAfterDelete::Forgotten
        );
        let text = serde_json::to_string(&StaleVersionMessage::InOurRecords).unwrap();
        assert_eq!(text, "\"in_our_records\"");
    }
}
