//! The real AWS SDK clients against the sandbox: every emulated operation of Organizations,
//! License Manager, Marketplace Agreement and STS, their validation errors and the grant
//! lifecycle.

#![allow(clippy::unwrap_used)]

mod support;

use aws_sdk_licensemanager::types::{
    ActivationOverrideBehavior, AllowedOperation, Filter, GrantStatus, Options, Tag,
};
use entitle::sandbox::seed::{
    DEMO_ACTIVE_AGREEMENT, DEMO_ACTIVE_LICENSE, DEMO_CANCELLED_AGREEMENT, DEMO_DELETED_LICENSE,
    SONNET_4_5_PRODUCT,
};
use entitle::sandbox::{State, admin};
use support::{MANAGEMENT, code, message};

const ML_OU: &str = "ou-sbx0-wkldml00";

fn account_principal(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

fn ou_principal(ou: &str) -> String {
    format!("arn:aws:organizations::{MANAGEMENT}:ou/o-sbx0demo01/{ou}")
}

const ORG_PRINCIPAL: &str = "arn:aws:organizations::100000000001:organization/o-sbx0demo01";

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

// ---------------------------------------------------------------- Organizations

#[tokio::test]
async fn organizations_describe_and_walk_the_tree() {
    let sandbox = support::start(State::demo()).await;
    let client = support::organizations(&sandbox);
    let organization = client.describe_organization().send().await.unwrap();
    let organization = organization.organization().unwrap();
    assert_eq!(organization.id(), Some("o-sbx0demo01"));
    assert_eq!(organization.master_account_id(), Some(MANAGEMENT));
    assert_eq!(organization.feature_set().unwrap().as_str(), "ALL");

    let roots = client.list_roots().send().await.unwrap();
    let root = roots.roots()[0].id().unwrap().to_string();
    assert_eq!(root, "r-sbx0");

    // Walk the tree with the SDK paginators, direct children only.
    let mut stack = vec![root.clone()];
    let mut accounts = 0;
    let mut ous = 0;
    while let Some(parent) = stack.pop() {
        let children: Vec<_> = client
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .unwrap()
            .iter()
            .flat_map(|page| page.organizational_units().to_vec())
            .collect();
        ous += children.len();
        stack.extend(children.iter().map(|ou| ou.id().unwrap().to_string()));
        let listed: Vec<_> = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .unwrap()
            .iter()
            .flat_map(|page| page.accounts().to_vec())
            .collect();
        accounts += listed.len();
    }
    assert_eq!(ous, 8);
    assert_eq!(accounts, 40);

    let ml = client
        .describe_organizational_unit()
        .organizational_unit_id(ML_OU)
        .send()
        .await
        .unwrap();
    let ml = ml.organizational_unit().unwrap();
    assert_eq!(ml.name(), Some("ML"));
    assert_eq!(
        ml.path(),
        Some("o-sbx0demo01/r-sbx0/ou-sbx0-workload/ou-sbx0-wkldml00/")
    );
    let parents = client
        .list_parents()
        .child_id("111111111111")
        .send()
        .await
        .unwrap();
    assert_eq!(parents.parents()[0].id(), Some(ML_OU));
    assert_eq!(
        parents.parents()[0].r#type().unwrap().as_str(),
        "ORGANIZATIONAL_UNIT"
    );
    let parents = client
        .list_parents()
        .child_id("ou-sbx0-workload")
        .send()
        .await
        .unwrap();
    assert_eq!(parents.parents()[0].r#type().unwrap().as_str(), "ROOT");

    use aws_sdk_organizations::types::ChildType;
    let children = client
        .list_children()
        .parent_id(ML_OU)
        .child_type(ChildType::Account)
        .send()
        .await
        .unwrap();
    assert_eq!(children.children().len(), 7);
    let children = client
        .list_children()
        .parent_id(ML_OU)
        .child_type(ChildType::OrganizationalUnit)
        .send()
        .await
        .unwrap();
    assert_eq!(children.children().len(), 1);
}

#[tokio::test]
async fn organizations_accounts_carry_state_status_and_paths() {
    let sandbox = support::start(State::demo()).await;
    let client = support::organizations(&sandbox);
    let all: Vec<_> = client
        .list_accounts()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap()
        .iter()
        .flat_map(|page| page.accounts().to_vec())
        .collect();
    assert_eq!(all.len(), 40);
    let pilot = all
        .iter()
        .find(|account| account.id() == Some("111111111111"))
        .unwrap();
    assert_eq!(pilot.state().unwrap().as_str(), "ACTIVE");
    assert_eq!(pilot.status().unwrap().as_str(), "ACTIVE");
    assert_eq!(
        pilot.paths(),
        ["o-sbx0demo01/r-sbx0/ou-sbx0-workload/ou-sbx0-wkldml00/111111111111/"]
    );
    assert!(pilot.joined_timestamp().is_some());
    let suspended: Vec<_> = all
        .iter()
        .filter(|account| account.state().map(|state| state.as_str()) == Some("SUSPENDED"))
        .collect();
    assert_eq!(suspended.len(), 1);
    assert_eq!(suspended[0].status().unwrap().as_str(), "SUSPENDED");

    let tags = client
        .list_tags_for_resource()
        .resource_id("111111111111")
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|tag| tag.key() == "bedrock" && tag.value() == "approved")
    );
    let tags = client
        .list_tags_for_resource()
        .resource_id("ou-sbx0-workload")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);

    let access = client
        .list_aws_service_access_for_organization()
        .send()
        .await
        .unwrap();
    assert!(access.enabled_service_principals().iter().any(|principal| {
        principal.service_principal() == Some("license-management.marketplace.amazonaws.com")
    }));
    let delegated = client.list_delegated_administrators().send().await.unwrap();
    assert!(delegated.delegated_administrators().is_empty());
    sandbox.with_state(|state| {
        state
            .delegated_administrators
            .push(entitle::sandbox::state::DelegatedAdministrator {
                account_id: "100000000022".into(),
                service_principal: "license-manager.amazonaws.com".into(),
                delegation_enabled_date: 1_700_000_000,
            })
    });
    let delegated = client
        .list_delegated_administrators()
        .service_principal("license-manager.amazonaws.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        delegated.delegated_administrators()[0].id(),
        Some("100000000022")
    );
    assert!(
        delegated.delegated_administrators()[0]
            .delegation_enabled_date()
            .is_some()
    );
}

#[tokio::test]
async fn organizations_paging_is_capped_at_20_with_empty_pages() {
    let mut state = State::demo();
    state.settings.organizations_empty_page_every = 1;
    let sandbox = support::start(state).await;
    let client = support::organizations(&sandbox);
    let first = client.list_accounts().send().await.unwrap();
    assert_eq!(first.accounts().len(), 20, "default page size is 20");
    let mut token = first.next_token().map(str::to_string);
    let mut pages = vec![first.accounts().len()];
    while let Some(next) = token {
        let page = client
            .list_accounts()
            .max_results(20)
            .next_token(next)
            .send()
            .await
            .unwrap();
        pages.push(page.accounts().len());
        token = page.next_token().map(str::to_string);
    }
    assert!(
        pages.contains(&0),
        "an empty page with a NextToken was served: {pages:?}"
    );
    assert_eq!(pages.iter().sum::<usize>(), 40);

    for (max, reason) in [(21, "MAX_VALUE_EXCEEDED"), (0, "MIN_VALUE_EXCEEDED")] {
        let error = client
            .list_accounts()
            .max_results(max)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&error), "InvalidInputException");
        let service = error.into_service_error();
        match service {
            aws_sdk_organizations::operation::list_accounts::ListAccountsError::InvalidInputException(inner) => {
                assert_eq!(inner.reason().unwrap().as_str(), reason)
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let error = client
        .list_accounts()
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidInputException");
}

#[tokio::test]
async fn organizations_errors() {
    let sandbox = support::start(State::demo()).await;
    let client = support::organizations(&sandbox);
    let cases: Vec<(&str, String)> = vec![
        (
            "ParentNotFoundException",
            code(
                &client
                    .list_accounts_for_parent()
                    .parent_id("ou-sbx0-nothere0")
                    .send()
                    .await
                    .unwrap_err(),
            ),
        ),
        (
            "ChildNotFoundException",
            code(
                &client
                    .list_parents()
                    .child_id("999999999999")
                    .send()
                    .await
                    .unwrap_err(),
            ),
        ),
        (
            "OrganizationalUnitNotFoundException",
            code(
                &client
                    .describe_organizational_unit()
                    .organizational_unit_id("ou-sbx0-nothere0")
                    .send()
                    .await
                    .unwrap_err(),
            ),
        ),
        (
            "TargetNotFoundException",
            code(
                &client
                    .list_tags_for_resource()
                    .resource_id("999999999999")
                    .send()
                    .await
                    .unwrap_err(),
            ),
        ),
    ];
    for (expected, got) in cases {
        assert_eq!(got, expected);
    }
    let member = support::organizations_as(&sandbox, Some("222222222222"));
    assert_eq!(
        code(&member.list_accounts().send().await.unwrap_err()),
        "AccessDeniedException"
    );
    let described = member.describe_organization().send().await.unwrap();
    assert_eq!(
        described.organization().unwrap().master_account_id(),
        Some(MANAGEMENT)
    );
}

// ---------------------------------------------------------------- License Manager

#[tokio::test]
async fn license_manager_licenses_and_settings() {
    let sandbox = support::start(State::demo()).await;
    let client = support::license_manager(&sandbox);
    let settings = client.get_service_settings().send().await.unwrap();
    assert!(
        settings
            .organization_configuration()
            .unwrap()
            .enable_integration()
    );

    let licenses = client.list_received_licenses().send().await.unwrap();
    assert_eq!(licenses.licenses().len(), 2);
    let active = client
        .list_received_licenses()
        .filters(filter("ProductSKU", SONNET_4_5_PRODUCT))
        .send()
        .await
        .unwrap();
    let license = &active.licenses()[0];
    assert_eq!(license.license_arn(), Some(DEMO_ACTIVE_LICENSE));
    assert_eq!(license.issuer().unwrap().name(), Some("AWS/Marketplace"));
    assert_eq!(license.status().unwrap().as_str(), "AVAILABLE");
    let allowed = license.received_metadata().unwrap().allowed_operations();
    assert_eq!(allowed.len(), 6);
    assert!(!allowed.contains(&AllowedOperation::CreateGrant));
    let deleted = client
        .list_received_licenses()
        .filters(filter("Status", "DELETED"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.licenses()[0].license_arn(),
        Some(DEMO_DELETED_LICENSE)
    );

    let got = client
        .get_license()
        .license_arn(DEMO_ACTIVE_LICENSE)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.license().unwrap().product_sku(),
        Some(SONNET_4_5_PRODUCT)
    );
    assert!(got.license().unwrap().validity().unwrap().end().is_some());

    // Filter names are case-sensitive and take exactly one value.
    let error = client
        .list_received_licenses()
        .filters(filter("productSKU", SONNET_4_5_PRODUCT))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterValueException");
    let error = client
        .list_received_licenses()
        .filters(
            Filter::builder()
                .name("ProductSKU")
                .values("a")
                .values("b")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterValueException");
    let error = client
        .get_license()
        .license_arn("arn:aws:license-manager::1:license:l-x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterValueException");
}

fn grant_request(
    client: &aws_sdk_licensemanager::Client,
    token: &str,
    principal: &str,
) -> aws_sdk_licensemanager::operation::create_grant::builders::CreateGrantFluentBuilder {
    client
        .create_grant()
        .client_token(token)
        .grant_name("claude-sonnet-4-5")
        .license_arn(DEMO_ACTIVE_LICENSE)
        .principals(principal)
        .home_region("us-east-1")
        .allowed_operations(AllowedOperation::CheckoutLicense)
        .allowed_operations(AllowedOperation::ListPurchasedLicenses)
        .tags(
            Tag::builder()
                .key("entitle:rollout")
                .value("claude")
                .build(),
        )
}

#[tokio::test]
async fn create_grant_validation_table() {
    let mut state = State::demo();
    state.settings.max_grants_per_license = 3;
    let sandbox = support::start(state).await;
    let client = support::license_manager(&sandbox);
    let pilot = account_principal("111111111111");
    let base = || grant_request(&client, "t-validation", &pilot);
    type Case<'a> = (
        &'a str,
        aws_sdk_licensemanager::operation::create_grant::builders::CreateGrantFluentBuilder,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "no ClientToken",
            base().set_client_token(None),
            "ValidationException",
        ),
        (
            "no GrantName",
            base().set_grant_name(None),
            "ValidationException",
        ),
        (
            "no HomeRegion",
            base().set_home_region(None),
            "ValidationException",
        ),
        (
            "no principals",
            base().set_principals(None),
            "ValidationException",
        ),
        (
            "two principals",
            base().principals(account_principal("222222222222")),
            "ValidationException",
        ),
        (
            "no operations",
            base().set_allowed_operations(None),
            "ValidationException",
        ),
        (
            "CreateGrant not allowed by license",
            base().allowed_operations(AllowedOperation::CreateGrant),
            "InvalidParameterValueException",
        ),
        (
            "unknown operation",
            base().allowed_operations(AllowedOperation::from("Teleport")),
            "ValidationException",
        ),
        (
            "unknown license",
            base().license_arn("arn:aws:license-manager::294406891311:license:l-00"),
            "InvalidParameterValueException",
        ),
        (
            "deleted license",
            base().license_arn(DEMO_DELETED_LICENSE),
            "ValidationException",
        ),
        (
            "wrong home region",
            base().home_region("eu-west-1"),
            "InvalidParameterValueException",
        ),
        (
            "bogus principal",
            base().set_principals(Some(vec!["arn:aws:iam::12:user/x".into()])),
            "InvalidParameterValueException",
        ),
        (
            "unknown OU",
            base().set_principals(Some(vec![ou_principal("ou-sbx0-nothere0")])),
            "InvalidParameterValueException",
        ),
        (
            "grant to self",
            base().set_principals(Some(vec![account_principal(MANAGEMENT)])),
            "ValidationException",
        ),
    ];
    for (name, request, expected) in cases {
        let error = request.send().await.expect_err(name);
        assert_eq!(code(&error), expected, "{name}: {}", message(&error));
    }
    // A member cannot grant the management account's license.
    let member = support::license_manager_as(&sandbox, Some("222222222222"));
    let error = grant_request(&member, "t-member", &pilot)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "AccessDeniedException");

    // Duplicates are refused; the per-license limit answers ResourceLimitExceededException.
    grant_request(&client, "t-1", &pilot).send().await.unwrap();
    let error = grant_request(&client, "t-2", &pilot)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ValidationException");
    assert!(message(&error).contains("already exists"));
    grant_request(&client, "t-3", &account_principal("222222222222"))
        .send()
        .await
        .unwrap();
    grant_request(&client, "t-4", &account_principal("333333333333"))
        .send()
        .await
        .unwrap();
    let error = grant_request(&client, "t-5", &account_principal("100000000100"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceLimitExceededException");
    assert_eq!(State::demo().settings.max_grants_per_license, 2000);
}

#[tokio::test]
async fn client_token_idempotency() {
    let sandbox = support::start(State::demo()).await;
    let client = support::license_manager(&sandbox);
    let pilot = account_principal("111111111111");
    let first = grant_request(&client, "same-token", &pilot)
        .send()
        .await
        .unwrap();
    let second = grant_request(&client, "same-token", &pilot)
        .send()
        .await
        .unwrap();
    assert_eq!(first.grant_arn(), second.grant_arn());
    let error = grant_request(&client, "same-token", &account_principal("222222222222"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ValidationException");
    let grants = client
        .list_distributed_grants()
        .filters(filter("LicenseArn", DEMO_ACTIVE_LICENSE))
        .send()
        .await
        .unwrap();
    assert_eq!(grants.grants().len(), 1);
}

#[tokio::test]
async fn account_grant_lifecycle_in_a_linked_org() {
    let sandbox = support::start(State::demo()).await;
    let client = support::license_manager(&sandbox);
    let created = grant_request(&client, "lifecycle", &account_principal("111111111111"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), Some(&GrantStatus::PendingWorkflow));
    assert_eq!(created.version(), Some("1"));
    let arn = created.grant_arn().unwrap().to_string();
    let status = |grant: aws_sdk_licensemanager::operation::get_grant::GetGrantOutput| {
        grant.grant().unwrap().grant_status().clone()
    };
    assert_eq!(
        status(client.get_grant().grant_arn(&arn).send().await.unwrap()),
        GrantStatus::PendingWorkflow
    );
    let grant = client.get_grant().grant_arn(&arn).send().await.unwrap();
    let grant = grant.grant().unwrap();
    assert_eq!(grant.grant_status(), &GrantStatus::Disabled);
    assert_eq!(grant.parent_arn(), DEMO_ACTIVE_LICENSE);
    assert_eq!(grant.granted_operations().len(), 2);

    let member = support::license_manager_as(&sandbox, Some("111111111111"));
    let received = member.list_received_grants().send().await.unwrap();
    let mine: Vec<_> = received
        .grants()
        .iter()
        .filter(|grant| grant.grant_arn() == arn)
        .collect();
    assert_eq!(mine.len(), 1);
    // The member sees the license through the grant, with the grant's operations.
    let licenses = member.list_received_licenses().send().await.unwrap();
    assert!(
        licenses
            .licenses()
            .iter()
            .any(|license| license.license_arn() == Some(DEMO_ACTIVE_LICENSE))
    );

    let activated = member
        .create_grant_version()
        .client_token("activate-1")
        .grant_arn(&arn)
        .status(GrantStatus::Active)
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), Some(&GrantStatus::Active));
    assert_eq!(activated.version(), Some("2"));

    let error = client
        .delete_grant()
        .grant_arn(&arn)
        .version("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ValidationException");
    assert!(message(&error).contains("doesn't match the latest version"));
    let error = client
        .delete_grant()
        .grant_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ValidationException");
    let deleted = client
        .delete_grant()
        .grant_arn(&arn)
        .version("2")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), Some(&GrantStatus::Deleted));
    assert_eq!(
        status(client.get_grant().grant_arn(&arn).send().await.unwrap()),
        GrantStatus::Deleted
    );
    let listed = client
        .list_distributed_grants()
        .filters(filter("LicenseArn", DEMO_ACTIVE_LICENSE))
        .send()
        .await
        .unwrap();
    assert!(listed.grants().is_empty(), "deleted grants leave the lists");
}

#[tokio::test]
async fn account_grant_waits_for_acceptance_without_org_link() {
    let mut state = State::demo();
    state.license_manager.enable_integration = false;
    state.settings.pending_workflow_reads = 0;
    let sandbox = support::start(state).await;
    let client = support::license_manager(&sandbox);
    let created = grant_request(&client, "accept-1", &account_principal("111111111111"))
        .send()
        .await
        .unwrap();
    let arn = created.grant_arn().unwrap().to_string();
    assert_eq!(created.status(), Some(&GrantStatus::PendingAccept));
    let member = support::license_manager_as(&sandbox, Some("111111111111"));
    // Activating before accepting is refused; the grantor cannot accept for the member.
    let error = member
        .create_grant_version()
        .client_token("too-early")
        .grant_arn(&arn)
        .status(GrantStatus::Active)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ValidationException");
    assert_eq!(
        code(
            &client
                .accept_grant()
                .grant_arn(&arn)
                .send()
                .await
                .unwrap_err()
        ),
        "AccessDeniedException"
    );
    let accepted = member.accept_grant().grant_arn(&arn).send().await.unwrap();
    assert_eq!(accepted.status(), Some(&GrantStatus::Disabled));
    let error = member
        .accept_grant()
        .grant_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ValidationException");
    let active = member
        .create_grant_version()
        .client_token("now")
        .grant_arn(&arn)
        .status(GrantStatus::Active)
        .send()
        .await
        .unwrap();
    assert_eq!(active.status(), Some(&GrantStatus::Active));

    let other = grant_request(&client, "accept-2", &account_principal("222222222222"))
        .send()
        .await
        .unwrap();
    let other_member = support::license_manager_as(&sandbox, Some("222222222222"));
    let rejected = other_member
        .reject_grant()
        .grant_arn(other.grant_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), Some(&GrantStatus::Rejected));

    // An org grant cannot be distributed without the link.
    let org = grant_request(&client, "org", ORG_PRINCIPAL)
        .send()
        .await
        .unwrap();
    assert_eq!(org.status(), Some(&GrantStatus::FailedWorkflow));
}

#[tokio::test]
async fn ou_grant_fans_out_activates_and_reaches_joiners() {
    let sandbox = support::start(State::demo()).await;
    let client = support::license_manager(&sandbox);
    let created = grant_request(&client, "ml-ou", &ou_principal(ML_OU))
        .send()
        .await
        .unwrap();
    let parent = created.grant_arn().unwrap().to_string();
    // The first read still shows PENDING_WORKFLOW and nothing distributed yet.
    let received = client
        .list_received_grants_for_organization()
        .license_arn(DEMO_ACTIVE_LICENSE)
        .filters(filter("ParentArn", &parent))
        .send()
        .await
        .unwrap();
    assert!(received.grants().is_empty());
    let settled = client.get_grant().grant_arn(&parent).send().await.unwrap();
    assert_eq!(
        settled.grant().unwrap().grant_status(),
        &GrantStatus::WorkflowCompleted
    );

    let children = |sandbox_client: aws_sdk_licensemanager::Client, parent: String| async move {
        sandbox_client
            .list_received_grants_for_organization()
            .license_arn(DEMO_ACTIVE_LICENSE)
            .filters(filter("ParentArn", &parent))
            .max_results(100)
            .send()
            .await
            .unwrap()
            .grants()
            .to_vec()
    };
    let distributed = children(client.clone(), parent.clone()).await;
    assert_eq!(distributed.len(), 9, "ML (7) and ML/Sandbox (2)");
    assert!(
        distributed
            .iter()
            .all(|grant| grant.grant_status() == &GrantStatus::Disabled)
    );
    assert!(distributed.iter().all(|grant| grant.parent_arn() == parent));
    let one = client
        .list_received_grants_for_organization()
        .license_arn(DEMO_ACTIVE_LICENSE)
        .filters(filter(
            "GranteePrincipalArn",
            &account_principal("222222222222"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(one.grants().len(), 1);

    let activated = client
        .create_grant_version()
        .client_token("activate-ml")
        .grant_arn(&parent)
        .status(GrantStatus::Active)
        .options(
            Options::builder()
                .activation_override_behavior(ActivationOverrideBehavior::DistributedGrantsOnly)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), Some(&GrantStatus::Active));
    let distributed = children(client.clone(), parent.clone()).await;
    assert!(
        distributed
            .iter()
            .all(|grant| grant.grant_status() == &GrantStatus::Active)
    );

    sandbox
        .with_state(|state| {
            admin::join_account(
                state,
                "444444444444",
                Some("newcomer"),
                Some(ML_OU),
                Default::default(),
            )
        })
        .unwrap();
    let distributed = children(client.clone(), parent.clone()).await;
    assert_eq!(distributed.len(), 10);
    let newcomer = distributed
        .iter()
        .find(|grant| grant.grantee_principal_arn() == account_principal("444444444444"))
        .unwrap();
    assert_eq!(newcomer.grant_status(), &GrantStatus::Active);

    // Moving an account out of the OU removes its per-account grant.
    sandbox
        .with_state(|state| admin::move_account(state, "444444444444", "r-sbx0"))
        .unwrap();
    assert_eq!(children(client.clone(), parent.clone()).await.len(), 9);

    // Paging with MaxResults 1..=100.
    let page = client
        .list_received_grants_for_organization()
        .license_arn(DEMO_ACTIVE_LICENSE)
        .max_results(4)
        .send()
        .await
        .unwrap();
    assert_eq!(page.grants().len(), 4);
    assert!(page.next_token().is_some());
    for bad in [0, 101] {
        let error = client
            .list_distributed_grants()
            .max_results(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&error), "ValidationException");
    }
    let error = client
        .list_received_grants_for_organization()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&error),
        "ValidationException",
        "LicenseArn is required"
    );
    let error = client
        .list_received_grants_for_organization()
        .license_arn(DEMO_ACTIVE_LICENSE)
        .filters(filter("GranteePrincipalARN", "x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&error),
        "InvalidParameterValueException",
        "filter names are spelled per operation"
    );
}

#[tokio::test]
async fn organization_grant_covers_active_members_only() {
    let mut state = State::demo();
    state.settings.pending_workflow_reads = 0;
    let sandbox = support::start(state).await;
    let client = support::license_manager(&sandbox);
    let created = grant_request(&client, "org", ORG_PRINCIPAL)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), Some(&GrantStatus::WorkflowCompleted));
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_received_grants_for_organization()
            .license_arn(DEMO_ACTIVE_LICENSE)
            .filters(filter("ParentArn", created.grant_arn().unwrap()))
            .set_next_token(token)
            .max_results(10)
            .send()
            .await
            .unwrap();
        all.extend(page.grants().to_vec());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        all.len(),
        38,
        "40 accounts minus the management account and the suspended one"
    );
}

#[tokio::test]
async fn grant_versions_and_list_filters() {
    let mut state = State::demo();
    state.settings.pending_workflow_reads = 0;
    let sandbox = support::start(state).await;
    let client = support::license_manager(&sandbox);
    let created = grant_request(&client, "v", &account_principal("111111111111"))
        .send()
        .await
        .unwrap();
    let arn = created.grant_arn().unwrap().to_string();
    let renamed = client
        .create_grant_version()
        .client_token("rename")
        .grant_arn(&arn)
        .grant_name("renamed")
        .source_version("1")
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.version(), Some("2"));
    let stale = client
        .create_grant_version()
        .client_token("stale")
        .grant_arn(&arn)
        .grant_name("again")
        .source_version("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&stale), "ValidationException");
    let long_reason = client
        .create_grant_version()
        .client_token("reason")
        .grant_arn(&arn)
        .status_reason("x".repeat(401))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&long_reason), "ValidationException");
    let override_without_active = client
        .create_grant_version()
        .client_token("override")
        .grant_arn(&arn)
        .options(
            Options::builder()
                .activation_override_behavior(
                    ActivationOverrideBehavior::AllGrantsPermittedByIssuer,
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&override_without_active), "ValidationException");
    let bad_operation = client
        .create_grant_version()
        .client_token("ops")
        .grant_arn(&arn)
        .allowed_operations(AllowedOperation::CreateGrant)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad_operation), "InvalidParameterValueException");

    for (name, value, expected) in [
        ("LicenseArn", DEMO_ACTIVE_LICENSE, 1),
        ("LicenseArn", DEMO_DELETED_LICENSE, 3),
        ("GrantStatus", "DISABLED", 2),
        ("GranteePrincipalARN", "arn:aws:iam::111111111111:root", 2),
        ("ProductSKU", SONNET_4_5_PRODUCT, 1),
        ("LicenseIssuerName", "AWS/Marketplace", 4),
    ] {
        let listed = client
            .list_distributed_grants()
            .filters(filter(name, value))
            .send()
            .await
            .unwrap();
        assert_eq!(listed.grants().len(), expected, "{name}={value}");
    }
    let by_arn = client
        .list_distributed_grants()
        .grant_arns(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(by_arn.grants().len(), 1);
    let error = client
        .list_distributed_grants()
        .filters(filter("GranteePrincipalArn", "x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterValueException");

    let member = support::license_manager_as(&sandbox, Some("111111111111"));
    for (name, value, expected) in [
        ("ProductSKU", SONNET_4_5_PRODUCT, 1),
        ("GranterAccountId", MANAGEMENT, 2),
        ("GrantStatus", "ACTIVE", 1),
        ("LicenseIssuerName", "AWS/Marketplace", 2),
        ("LicenseArn", DEMO_DELETED_LICENSE, 1),
    ] {
        let listed = member
            .list_received_grants()
            .filters(filter(name, value))
            .send()
            .await
            .unwrap();
        assert_eq!(listed.grants().len(), expected, "{name}={value}");
    }
    let error = member
        .list_received_grants()
        .filters(filter("ParentArn", "x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterValueException");
}

#[tokio::test]
async fn cancelled_agreement_leaves_grants_behind() {
    let mut state = State::demo();
    state.settings.pending_workflow_reads = 0;
    let sandbox = support::start(state).await;
    let client = support::license_manager(&sandbox);
    let created = grant_request(&client, "before-cancel", &account_principal("111111111111"))
        .send()
        .await
        .unwrap();
    sandbox
        .with_state(|state| admin::cancel_agreement(state, DEMO_ACTIVE_AGREEMENT))
        .unwrap();
    let license = client
        .get_license()
        .license_arn(DEMO_ACTIVE_LICENSE)
        .send()
        .await
        .unwrap();
    assert_eq!(
        license.license().unwrap().status().unwrap().as_str(),
        "DELETED"
    );
    let grant = client
        .get_grant()
        .grant_arn(created.grant_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        grant.grant().unwrap().grant_status(),
        &GrantStatus::Disabled
    );
    let error = grant_request(&client, "after-cancel", &account_principal("222222222222"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ValidationException");
    // Cleanup still works: delete with the current version.
    client
        .delete_grant()
        .grant_arn(created.grant_arn().unwrap())
        .version("1")
        .send()
        .await
        .unwrap();

    sandbox
        .with_state(|state| admin::expire_agreement(state, DEMO_CANCELLED_AGREEMENT))
        .unwrap();
    let expired = client
        .get_license()
        .license_arn(DEMO_DELETED_LICENSE)
        .send()
        .await
        .unwrap();
    assert_eq!(
        expired.license().unwrap().status().unwrap().as_str(),
        "EXPIRED"
    );
}

#[tokio::test]
async fn org_wide_listing_needs_marketplace_trusted_access() {
    let mut state = State::demo();
    state
        .service_access
        .remove("license-management.marketplace.amazonaws.com");
    let sandbox = support::start(state).await;
    let client = support::license_manager(&sandbox);
    let error = client
        .list_received_grants_for_organization()
        .license_arn(DEMO_ACTIVE_LICENSE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "AccessDeniedException");
}

#[tokio::test]
async fn licenses_received_across_the_organisation() {
    let mut state = State::demo();
    // Member 222222222222 subscribed to the product itself: its own license.
    let mut own = state.licenses[DEMO_ACTIVE_LICENSE].clone();
    own.arn =
        "arn:aws:license-manager::294406891311:license:l-22222222222242228222222222222222".into();
    own.beneficiary = "222222222222".into();
    own.holder_account_id = "222222222222".into();
    own.agreement_id = None;
    state.licenses.insert(own.arn.clone(), own.clone());
    let sandbox = support::start(state).await;
    let client = support::license_manager(&sandbox);

    let all = client
        .list_received_licenses_for_organization()
        .send()
        .await
        .unwrap();
    assert_eq!(
        all.licenses().len(),
        3,
        "two of the management account, one of the member"
    );
    let sonnet = client
        .list_received_licenses_for_organization()
        .filters(filter("ProductSKU", SONNET_4_5_PRODUCT))
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(sonnet.licenses().len(), 1);
    assert!(sonnet.next_token().is_some());
    let members = client
        .list_received_licenses_for_organization()
        .filters(filter("Beneficiary", "222222222222"))
        .send()
        .await
        .unwrap();
    assert_eq!(members.licenses().len(), 1);
    let license = &members.licenses()[0];
    assert_eq!(license.license_arn(), Some(own.arn.as_str()));
    assert_eq!(license.product_sku(), Some(SONNET_4_5_PRODUCT));
    assert_eq!(license.status().unwrap().as_str(), "AVAILABLE");
    // The member's own license is not the management account's.
    let mine = client.list_received_licenses().send().await.unwrap();
    assert!(
        mine.licenses()
            .iter()
            .all(|license| license.license_arn() != Some(own.arn.as_str()))
    );

    let error = client
        .list_received_licenses_for_organization()
        .filters(filter("Status", "AVAILABLE"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterValueException");
    let member = support::license_manager_as(&sandbox, Some("111111111111"));
    let error = member
        .list_received_licenses_for_organization()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "AccessDeniedException");
}

// ---------------------------------------------------------------- Marketplace Agreement

fn agreement_filter(name: &str, value: &str) -> aws_sdk_marketplaceagreement::types::Filter {
    aws_sdk_marketplaceagreement::types::Filter::builder()
        .name(name)
        .values(value)
        .build()
}

#[tokio::test]
async fn marketplace_over_cbor() {
    let sandbox = support::start(State::demo()).await;
    let client = support::marketplace(&sandbox);
    let search = || {
        client
            .search_agreements()
            .catalog("AWSMarketplace")
            .filters(agreement_filter("PartyType", "Acceptor"))
            .filters(agreement_filter("AgreementType", "PurchaseAgreement"))
    };
    let all = search().send().await.unwrap();
    assert_eq!(all.agreement_view_summaries().len(), 2);
    let active = search()
        .filters(agreement_filter("Status", "ACTIVE"))
        .send()
        .await
        .unwrap();
    let summary = &active.agreement_view_summaries()[0];
    assert_eq!(summary.agreement_id(), Some(DEMO_ACTIVE_AGREEMENT));
    assert_eq!(
        summary.entitlements()[0].license_arn(),
        Some(DEMO_ACTIVE_LICENSE)
    );
    assert_eq!(
        summary.proposal_summary().unwrap().resources()[0].id(),
        Some(SONNET_4_5_PRODUCT)
    );
    assert!(summary.start_time().is_some() && summary.end_time().is_some());
    let by_product = search()
        .filters(agreement_filter("ResourceIdentifier", SONNET_4_5_PRODUCT))
        .send()
        .await
        .unwrap();
    assert_eq!(by_product.agreement_view_summaries().len(), 1);
    let page = search().max_results(1).send().await.unwrap();
    assert_eq!(page.agreement_view_summaries().len(), 1);
    let rest = search()
        .max_results(1)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.agreement_view_summaries().len(), 1);
    assert!(rest.next_token().is_none());

    let errors = vec![
        ("maxResults 51", search().max_results(51)),
        ("maxResults 0", search().max_results(0)),
        (
            "two narrowing filters",
            search()
                .filters(agreement_filter("Status", "ACTIVE"))
                .filters(agreement_filter("ResourceIdentifier", SONNET_4_5_PRODUCT)),
        ),
        (
            "unknown filter",
            search().filters(agreement_filter("Colour", "blue")),
        ),
        ("wrong catalog", search().catalog("Other")),
        (
            "no party type",
            client
                .search_agreements()
                .catalog("AWSMarketplace")
                .filters(agreement_filter("AgreementType", "PurchaseAgreement")),
        ),
        (
            "two values",
            search().filters(
                aws_sdk_marketplaceagreement::types::Filter::builder()
                    .name("Status")
                    .values("ACTIVE")
                    .values("EXPIRED")
                    .build(),
            ),
        ),
    ];
    for (name, request) in errors {
        let error = request.send().await.expect_err(name);
        assert_eq!(code(&error), "ValidationException", "{name}");
    }

    let described = client
        .describe_agreement()
        .agreement_id(DEMO_CANCELLED_AGREEMENT)
        .send()
        .await
        .unwrap();
    assert_eq!(described.status().unwrap().as_str(), "CANCELLED");
    assert_eq!(described.acceptor().unwrap().account_id(), Some(MANAGEMENT));
    let entitlements = client
        .get_agreement_entitlements()
        .agreement_id(DEMO_ACTIVE_AGREEMENT)
        .send()
        .await
        .unwrap();
    assert_eq!(
        entitlements.agreement_entitlements()[0].license_arn(),
        Some(DEMO_ACTIVE_LICENSE)
    );
    let error = client
        .describe_agreement()
        .agreement_id("agmt-nothere")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
}

#[tokio::test]
async fn marketplace_over_json_1_0() {
    let sandbox = support::start(State::demo()).await;
    let body = br#"{"catalog":"AWSMarketplace","filters":[{"name":"PartyType","values":["Acceptor"]},{"name":"AgreementType","values":["PurchaseAgreement"]}]}"#;
    let (status, head, body) = support::raw_http(
        &sandbox.endpoint(),
        "POST",
        "/",
        &[
            support::SIGNED,
            (
                "X-Amz-Target",
                "AWSMPCommerceService_v20200301.SearchAgreements",
            ),
            ("Content-Type", "application/x-amz-json-1.0"),
        ],
        body,
    )
    .await;
    assert_eq!(status, 200, "{head}");
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(value["agreementViewSummaries"].as_array().unwrap().len(), 2);
    assert!(value["agreementViewSummaries"][0]["startTime"].is_number());
    let (status, head, body) = support::raw_http(
        &sandbox.endpoint(),
        "POST",
        "/",
        &[
            support::SIGNED,
            (
                "X-Amz-Target",
                "AWSMPCommerceService_v20200301.DescribeAgreement",
            ),
            ("Content-Type", "application/x-amz-json-1.0"),
        ],
        br#"{"agreementId":"agmt-nothere"}"#,
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        head.to_ascii_lowercase()
            .contains("x-amzn-errortype: resourcenotfoundexception")
    );
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(value["__type"], "ResourceNotFoundException");
}

// ---------------------------------------------------------------- STS and the wire

#[tokio::test]
async fn sts_caller_identity_and_assume_role() {
    let sandbox = support::start(State::demo()).await;
    let sts = support::sts_as(&sandbox, None);
    let identity = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(identity.account(), Some(MANAGEMENT));
    let member = support::sts_as(&sandbox, Some("222222222222"));
    assert_eq!(
        member.get_caller_identity().send().await.unwrap().account(),
        Some("222222222222")
    );

    let assumed = sts
        .assume_role()
        .role_arn("arn:aws:iam::111111111111:role/OrganizationAccountAccessRole")
        .role_session_name("entitle")
        .send()
        .await
        .unwrap();
    let credentials = assumed.credentials().unwrap();
    assert!(credentials.access_key_id().contains("111111111111"));
    assert_eq!(
        assumed.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::111111111111:assumed-role/OrganizationAccountAccessRole/entitle"
    );
    let error = sts
        .assume_role()
        .role_arn("arn:aws:iam::999999999999:role/Nope")
        .role_session_name("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "AccessDenied");
}

#[tokio::test]
async fn unsigned_requests_are_refused() {
    let sandbox = support::start(State::demo()).await;
    let (status, _, body) = support::raw_http(
        &sandbox.endpoint(),
        "POST",
        "/",
        &[
            ("X-Amz-Target", "AWSLicenseManager.GetServiceSettings"),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(status, 403);
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(value["__type"], "MissingAuthenticationTokenException");
    let (status, _, body) = support::raw_http(
        &sandbox.endpoint(),
        "POST",
        "/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"Action=GetCallerIdentity&Version=2011-06-15",
    )
    .await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("<Code>MissingAuthenticationToken</Code>"));
    let (status, _, _) = support::raw_http(
        &sandbox.endpoint(),
        "POST",
        "/",
        &[
            support::SIGNED,
            ("X-Amz-Target", "AWSLicenseManager.GetServiceSettings"),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(status, 200);
}

// ---------------------------------------------------------------- settings for undocumented behaviour

#[tokio::test]
async fn settings_for_undocumented_behaviour() {
    use entitle::sandbox::state::{ClientTokenMismatch, DuplicateGrant, OuGrantScope};
    let mut state = State::demo();
    state.settings.duplicate_grant = DuplicateGrant::Allow;
    state.settings.client_token_mismatch = ClientTokenMismatch::ReturnOriginal;
    state.settings.ou_grant_scope = OuGrantScope::DirectChildren;
    state.settings.pending_workflow_reads = 0;
    state.settings.rate_limit_http_status = 429;
    let sandbox = support::start(state).await;
    let client = support::license_manager(&sandbox);
    let pilot = account_principal("111111111111");
    let first = grant_request(&client, "a", &pilot).send().await.unwrap();
    let second = grant_request(&client, "b", &pilot).send().await.unwrap();
    assert_ne!(first.grant_arn(), second.grant_arn(), "duplicates allowed");
    let replay = grant_request(&client, "a", &account_principal("222222222222"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        replay.grant_arn(),
        first.grant_arn(),
        "token reuse returns the original"
    );

    let ou = grant_request(&client, "ou", &ou_principal(ML_OU))
        .send()
        .await
        .unwrap();
    let children = client
        .list_received_grants_for_organization()
        .license_arn(DEMO_ACTIVE_LICENSE)
        .filters(filter("ParentArn", ou.grant_arn().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(children.grants().len(), 7, "direct children of ML only");

    // A throttled License Manager call with the configured HTTP status.
    sandbox.set_faults({
        let mut faults = entitle::sandbox::Faults::default();
        faults.operations.insert(
            "GetServiceSettings".into(),
            entitle::sandbox::FaultRule {
                throttle_every: Some(1),
                ..Default::default()
            },
        );
        faults
    });
    let error = client.get_service_settings().send().await.unwrap_err();
    assert_eq!(code(&error), "RateLimitExceededException");
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 429);
}

#[tokio::test]
async fn nested_ou_principals_can_be_refused_and_workflow_can_take_time() {
    let mut state = State::demo();
    state.settings.allow_nested_ou_principal = false;
    state.settings.pending_workflow_reads = 0;
    // A window no test machine outlasts between two calls; the test then moves the grant's
    // creation back past it instead of sleeping through it.
    state.settings.pending_workflow_millis = Some(600_000);
    let sandbox = support::start(state).await;
    let client = support::license_manager(&sandbox);
    let error = grant_request(&client, "nested", &ou_principal(ML_OU))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ValidationException");
    let top = grant_request(&client, "top", &ou_principal("ou-sbx0-workload"))
        .send()
        .await
        .unwrap();
    let arn = top.grant_arn().unwrap().to_string();
    let status = client.get_grant().grant_arn(&arn).send().await.unwrap();
    assert_eq!(
        status.grant().unwrap().grant_status(),
        &GrantStatus::PendingWorkflow
    );
    sandbox.with_state(|state| {
        let grant = state.grants.get_mut(&arn).unwrap();
        grant.created_at_ms -= 600_000;
    });
    let status = client.get_grant().grant_arn(&arn).send().await.unwrap();
    assert_eq!(
        status.grant().unwrap().grant_status(),
        &GrantStatus::WorkflowCompleted
    );
}

#[tokio::test]
async fn override_behaviour_disables_the_accounts_other_grants() {
    let mut state = State::demo();
    state.settings.pending_workflow_reads = 0;
    let sandbox = support::start(state).await;
    let client = support::license_manager(&sandbox);
    // Two licenses of the same product: a second Sonnet 4.5 subscription.
    let second_license = "arn:aws:license-manager::294406891311:license:l-5econd";
    sandbox.with_state(|state| {
        let mut license = state.licenses[DEMO_ACTIVE_LICENSE].clone();
        license.arn = second_license.to_string();
        state.licenses.insert(second_license.to_string(), license);
    });
    let first = grant_request(&client, "first", &account_principal("111111111111"))
        .send()
        .await
        .unwrap();
    let first_arn = first.grant_arn().unwrap().to_string();
    client
        .create_grant_version()
        .client_token("activate-first")
        .grant_arn(&first_arn)
        .status(GrantStatus::Active)
        .send()
        .await
        .unwrap();
    let second = grant_request(&client, "second", &account_principal("111111111111"))
        .license_arn(second_license)
        .send()
        .await
        .unwrap();
    client
        .create_grant_version()
        .client_token("activate-second")
        .grant_arn(second.grant_arn().unwrap())
        .status(GrantStatus::Active)
        .options(
            Options::builder()
                .activation_override_behavior(
                    ActivationOverrideBehavior::AllGrantsPermittedByIssuer,
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let first = client
        .get_grant()
        .grant_arn(&first_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.grant().unwrap().grant_status(),
        &GrantStatus::Disabled
    );

    // A member cannot see or change another member's grant.
    let stranger = support::license_manager_as(&sandbox, Some("222222222222"));
    let error = stranger
        .get_grant()
        .grant_arn(&first_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterValueException");
}

#[tokio::test]
async fn malformed_and_unknown_requests() {
    let sandbox = support::start(State::demo()).await;
    let endpoint = sandbox.endpoint();
    let json = ("Content-Type", "application/x-amz-json-1.1");
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a [u8], u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![
                support::SIGNED,
                json,
                ("X-Amz-Target", "AWSLicenseManager.CreateLicense"),
            ],
            "/",
            b"{}",
            400,
            "UnknownOperationException",
        ),
        (
            vec![
                support::SIGNED,
                json,
                ("X-Amz-Target", "AWSLicenseManager.GetGrant"),
            ],
            "/",
            b"{not json",
            400,
            "SerializationException",
        ),
        (
            vec![support::SIGNED, json],
            "/nowhere",
            b"{}",
            404,
            "UnknownOperationException",
        ),
        (
            vec![support::SIGNED, ("Content-Type", "application/cbor")],
            "/service/AWSMPCommerceService_v20200301/operation/SearchAgreements",
            b"\xa0",
            400,
            "SerializationException",
        ),
    ];
    for (headers, path, body, status, code) in cases {
        let (got_status, head, _) =
            support::raw_http(&endpoint, "POST", path, &headers, body).await;
        assert_eq!(got_status, status, "{path} {head}");
        assert!(
            head.to_ascii_lowercase()
                .contains(&format!("x-amzn-errortype: {}", code.to_ascii_lowercase())),
            "{head}"
        );
    }
}

// ---------------------------------------------------------------- lifecycle settings (every variant)

use aws_sdk_licensemanager::operation::get_grant::GetGrantOutput;
use entitle::sandbox::Sandbox;
use entitle::sandbox::state::{
    AccountGrantAcceptance, ActivatedParentStatus, ClientTokenAfterDelete,
    OwnSubscriptionActivation, Settings, StaleVersionMessage,
};

const OAAR: &str = "OrganizationAccountAccessRole";

/// The demo organisation with grants settling at once and `change` applied to its settings.
fn demo_with(change: impl FnOnce(&mut Settings)) -> State {
    let mut state = State::demo();
    state.settings.pending_workflow_reads = 0;
    change(&mut state.settings);
    state
}

fn status_of(grant: &GetGrantOutput) -> GrantStatus {
    grant.grant().unwrap().grant_status().clone()
}

async fn grant_status(client: &aws_sdk_licensemanager::Client, arn: &str) -> GrantStatus {
    status_of(&client.get_grant().grant_arn(arn).send().await.unwrap())
}

async fn activate(
    client: &aws_sdk_licensemanager::Client,
    token: &str,
    arn: &str,
) -> Result<
    aws_sdk_licensemanager::operation::create_grant_version::CreateGrantVersionOutput,
    aws_sdk_licensemanager::error::SdkError<
        aws_sdk_licensemanager::operation::create_grant_version::CreateGrantVersionError,
    >,
> {
    client
        .create_grant_version()
        .client_token(token)
        .grant_arn(arn)
        .status(GrantStatus::Active)
        .send()
        .await
}

/// The per-account grants of a parent, by grantee account: (status, status reason).
async fn children_of(
    client: &aws_sdk_licensemanager::Client,
    parent: &str,
) -> std::collections::BTreeMap<String, (GrantStatus, Option<String>)> {
    let listed = client
        .list_received_grants_for_organization()
        .license_arn(DEMO_ACTIVE_LICENSE)
        .filters(filter("ParentArn", parent))
        .send()
        .await
        .unwrap();
    listed
        .grants()
        .iter()
        .map(|grant| {
            let account = grant.grantee_principal_arn().split(':').nth(4).unwrap();
            (
                account.to_string(),
                (
                    grant.grant_status().clone(),
                    grant.status_reason().map(str::to_string),
                ),
            )
        })
        .collect()
}

/// STS AssumeRole as the management account; the answer's credentials.
async fn assume(
    sandbox: &Sandbox,
    role_arn: &str,
    session: &str,
) -> aws_credential_types::Credentials {
    let assumed = support::sts_as(sandbox, None)
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session)
        .send()
        .await
        .unwrap();
    let credentials = assumed.credentials().unwrap();
    aws_credential_types::Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_string()),
        None,
        "assumed-role",
    )
}

fn license_manager_with(
    sandbox: &Sandbox,
    credentials: aws_credential_types::Credentials,
) -> aws_sdk_licensemanager::Client {
    let config = aws_sdk_licensemanager::Config::builder()
        .behavior_version(aws_sdk_licensemanager::config::BehaviorVersion::latest())
        .region(aws_sdk_licensemanager::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(sandbox.endpoint())
        .build();
    aws_sdk_licensemanager::Client::from_conf(config)
}

fn sts_with(
    sandbox: &Sandbox,
    credentials: aws_credential_types::Credentials,
) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(sandbox.endpoint())
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

#[tokio::test]
async fn pending_workflow_time_holds_across_sandboxes_sharing_a_state_file() {
    use entitle::sandbox::{SandboxOptions, SeedChoice};
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("state.json");
    let mut settings = State::demo().settings;
    settings.pending_workflow_reads = 0;
    settings.pending_workflow_millis = Some(2_000);
    let options = SandboxOptions {
        state_file: Some(file.clone()),
        seed: SeedChoice::Demo,
        settings: Some(settings),
        ..SandboxOptions::default()
    };
    let first = Sandbox::start_with_options("127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let created = grant_request(
        &support::license_manager(&first),
        "across",
        &account_principal("111111111111"),
    )
    .send()
    .await
    .unwrap();
    let arn = created.grant_arn().unwrap().to_string();
    assert_eq!(created.status(), Some(&GrantStatus::PendingWorkflow));
    first.shutdown().await.unwrap();

    // A later process: the saved state (its settings and the grant's creation time) only.
    let options = SandboxOptions {
        state_file: Some(file.clone()),
        ..SandboxOptions::default()
    };
    let second = Sandbox::start_with_options("127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap();
    let client = support::license_manager(&second);
    assert!(started.elapsed() < std::time::Duration::from_millis(1_500));
    assert_eq!(
        grant_status(&client, &arn).await,
        GrantStatus::PendingWorkflow,
        "the time has not passed yet in the second sandbox either"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_100).saturating_sub(started.elapsed()))
        .await;
    assert_eq!(grant_status(&client, &arn).await, GrantStatus::Disabled);
    let saved = second.shutdown().await.unwrap();
    assert!(saved.grants[&arn].created_at_ms > 0);
    assert_eq!(State::load(&file).unwrap().grants[&arn].status, "DISABLED");
}

#[tokio::test]
async fn member_acceptance_before_the_grantor_activates() {
    let sandbox = support::start(demo_with(|settings| {
        settings.account_grant_acceptance = AccountGrantAcceptance::Member;
    }))
    .await;
    let client = support::license_manager(&sandbox);
    let created = grant_request(
        &client,
        "member-accepts",
        &account_principal("111111111111"),
    )
    .send()
    .await
    .unwrap();
    let arn = created.grant_arn().unwrap().to_string();
    assert_eq!(created.status(), Some(&GrantStatus::PendingAccept));
    assert_eq!(
        grant_status(&client, &arn).await,
        GrantStatus::PendingAccept
    );

    // The grantor cannot activate a grant the member has not accepted.
    let error = activate(&client, "too-early", &arn).await.unwrap_err();
    assert_eq!(code(&error), "ValidationException");
    assert!(
        message(&error).contains("PENDING_ACCEPT"),
        "{}",
        message(&error)
    );
    assert!(
        message(&error).contains("must be accepted by the grantee first"),
        "{}",
        message(&error)
    );
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 400);

    // The member accepts, through credentials of its OrganizationAccountAccessRole.
    let credentials = assume(
        &sandbox,
        &format!("arn:aws:iam::111111111111:role/{OAAR}"),
        "entitle-accept",
    )
    .await;
    let identity = sts_with(&sandbox, credentials.clone())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(identity.account(), Some("111111111111"));
    assert_eq!(
        identity.arn(),
        Some("arn:aws:sts::111111111111:assumed-role/OrganizationAccountAccessRole/entitle-accept")
    );
    let member = license_manager_with(&sandbox, credentials);
    let accepted = member.accept_grant().grant_arn(&arn).send().await.unwrap();
    assert_eq!(accepted.status(), Some(&GrantStatus::Disabled));

    let activated = activate(&client, "now", &arn).await.unwrap();
    assert_eq!(activated.status(), Some(&GrantStatus::Active));

    // Organisation and OU grants are not affected: their per-account grants land DISABLED.
    let ou = grant_request(&client, "member-ou", &ou_principal(ML_OU))
        .send()
        .await
        .unwrap();
    assert_eq!(ou.status(), Some(&GrantStatus::WorkflowCompleted));
    let children = children_of(&client, ou.grant_arn().unwrap()).await;
    assert_eq!(children.len(), 9, "ML and ML/Sandbox");
    assert!(
        children
            .values()
            .all(|(status, _)| status == &GrantStatus::Disabled)
    );
}

#[tokio::test]
async fn an_activated_parent_can_show_workflow_completed() {
    for (variant, shown) in [
        (ActivatedParentStatus::Active, GrantStatus::Active),
        (
            ActivatedParentStatus::WorkflowCompleted,
            GrantStatus::WorkflowCompleted,
        ),
    ] {
        let sandbox = support::start(demo_with(|settings| {
            settings.activated_parent_status = variant;
        }))
        .await;
        let client = support::license_manager(&sandbox);
        let parent = grant_request(&client, "parent", &ou_principal(ML_OU))
            .send()
            .await
            .unwrap()
            .grant_arn()
            .unwrap()
            .to_string();
        assert_eq!(
            grant_status(&client, &parent).await,
            GrantStatus::WorkflowCompleted
        );
        let activated = activate(&client, "activate-parent", &parent).await.unwrap();
        assert_eq!(activated.status(), Some(&shown), "{variant:?}");
        assert_eq!(grant_status(&client, &parent).await, shown);
        let children = children_of(&client, &parent).await;
        assert_eq!(children.len(), 9, "ML and ML/Sandbox");
        assert!(
            children
                .values()
                .all(|(status, _)| status == &GrantStatus::Active),
            "{variant:?}: {children:?}"
        );
        // Activating again keeps working, whatever the parent shows.
        let again = activate(&client, "activate-again", &parent).await.unwrap();
        assert_eq!(again.status(), Some(&shown));
        // An account joining the OU later gets an ACTIVE grant.
        sandbox
            .with_state(|state| {
                admin::join_account(state, "444444444444", None, Some(ML_OU), Default::default())
            })
            .unwrap();
        let children = children_of(&client, &parent).await;
        assert_eq!(
            children["444444444444"].0,
            GrantStatus::Active,
            "{variant:?}"
        );
    }
}

#[tokio::test]
async fn delete_can_pass_through_pending_delete() {
    let sandbox = support::start(demo_with(|settings| {
        settings.pending_delete_millis = Some(400);
        settings.max_grants_per_license = 3;
    }))
    .await;
    let client = support::license_manager(&sandbox);
    let parent = grant_request(&client, "doomed-ou", &ou_principal(ML_OU))
        .send()
        .await
        .unwrap()
        .grant_arn()
        .unwrap()
        .to_string();
    let version = client
        .get_grant()
        .grant_arn(&parent)
        .send()
        .await
        .unwrap()
        .grant()
        .unwrap()
        .version()
        .to_string();
    let deleted = client
        .delete_grant()
        .grant_arn(&parent)
        .version(&version)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), Some(&GrantStatus::PendingDelete));
    assert_eq!(
        grant_status(&client, &parent).await,
        GrantStatus::PendingDelete
    );
    let children = children_of(&client, &parent).await;
    assert_eq!(children.len(), 9, "PENDING_DELETE grants are still listed");
    assert!(
        children
            .values()
            .all(|(status, _)| status == &GrantStatus::PendingDelete)
    );
    let listed = client
        .list_distributed_grants()
        .filters(filter("GrantStatus", "PENDING_DELETE"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.grants().len(), 1);
    // Deleting again succeeds, Version unchanged; a new version is refused.
    let again = client
        .delete_grant()
        .grant_arn(&parent)
        .version(&version)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), Some(&GrantStatus::PendingDelete));
    assert_eq!(again.version(), Some(version.as_str()));
    let error = activate(&client, "revive", &parent).await.unwrap_err();
    assert_eq!(code(&error), "ValidationException");
    assert!(message(&error).contains("PENDING_DELETE"));
    // It does not block a new grant for the same principal, but counts toward the limit.
    grant_request(&client, "replacement-ou", &ou_principal(ML_OU))
        .send()
        .await
        .unwrap();
    grant_request(&client, "third", &account_principal("222222222222"))
        .send()
        .await
        .unwrap();
    let error = grant_request(&client, "fourth", &account_principal("333333333333"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceLimitExceededException");

    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    assert_eq!(grant_status(&client, &parent).await, GrantStatus::Deleted);
    assert!(children_of(&client, &parent).await.is_empty());
    let after = client
        .delete_grant()
        .grant_arn(&parent)
        .version(&version)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), Some(&GrantStatus::Deleted));

    // settle_workflows finishes pending deletes at once.
    let account = grant_request(&client, "fourth", &account_principal("333333333333"))
        .send()
        .await
        .unwrap()
        .grant_arn()
        .unwrap()
        .to_string();
    let pending = client
        .delete_grant()
        .grant_arn(&account)
        .version("1")
        .send()
        .await
        .unwrap();
    assert_eq!(pending.status(), Some(&GrantStatus::PendingDelete));
    let settled = sandbox
        .with_state(|state| admin::apply(state, &admin::AdminAction::SettleWorkflows))
        .unwrap();
    assert_eq!(settled["deletesFinished"], 1);
    assert_eq!(grant_status(&client, &account).await, GrantStatus::Deleted);

    // Without the setting, DeleteGrant answers DELETED at once (existing behaviour).
    let sandbox = support::start(demo_with(|_| {})).await;
    let client = support::license_manager(&sandbox);
    let arn = grant_request(&client, "at-once", &account_principal("111111111111"))
        .send()
        .await
        .unwrap()
        .grant_arn()
        .unwrap()
        .to_string();
    let deleted = client
        .delete_grant()
        .grant_arn(&arn)
        .version("1")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), Some(&GrantStatus::Deleted));
}

/// The demo with a member's own Sonnet 4.5 subscription (admin action `subscribe_account`).
fn with_own_subscription(state: &mut State, account: &str) -> String {
    let result = admin::subscribe_account(state, account, SONNET_4_5_PRODUCT).unwrap();
    result["licenseArn"].as_str().unwrap().to_string()
}

const TWO_LICENSES: &str =
    "You can't activate two licenses for the same product from AWS Marketplace at the same time";

#[tokio::test]
async fn own_subscription_refuses_account_and_parent_activation() {
    let mut state = demo_with(|_| {});
    let own = with_own_subscription(&mut state, "111111111111");
    assert!(own.starts_with("arn:aws:license-manager::294406891311:license:l-"));
    let sandbox = support::start(state).await;
    let client = support::license_manager(&sandbox);

    // A direct account grant: the activation is refused.
    let direct = grant_request(&client, "direct", &account_principal("111111111111"))
        .send()
        .await
        .unwrap()
        .grant_arn()
        .unwrap()
        .to_string();
    let error = activate(&client, "activate-direct", &direct)
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ValidationException");
    assert!(
        message(&error).contains(TWO_LICENSES),
        "{}",
        message(&error)
    );
    assert!(message(&error).contains("111111111111"));
    // DISTRIBUTED_GRANTS_ONLY does not change that.
    let error = client
        .create_grant_version()
        .client_token("activate-direct-dgo")
        .grant_arn(&direct)
        .status(GrantStatus::Active)
        .options(
            Options::builder()
                .activation_override_behavior(ActivationOverrideBehavior::DistributedGrantsOnly)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(message(&error).contains(TWO_LICENSES));
    assert_eq!(grant_status(&client, &direct).await, GrantStatus::Disabled);

    // An OU grant: the call succeeds, that account's grant stays DISABLED with the reason.
    let parent = grant_request(&client, "ou", &ou_principal(ML_OU))
        .send()
        .await
        .unwrap()
        .grant_arn()
        .unwrap()
        .to_string();
    activate(&client, "activate-ou", &parent).await.unwrap();
    let children = children_of(&client, &parent).await;
    let (status, reason) = &children["111111111111"];
    assert_eq!(status, &GrantStatus::Disabled);
    assert!(
        reason.as_deref().unwrap().contains(TWO_LICENSES),
        "{reason:?}"
    );
    assert_eq!(
        children
            .values()
            .filter(|(status, _)| status == &GrantStatus::Active)
            .count(),
        8
    );
    // The member still receives its own license as ACTIVE.
    let member = support::license_manager_as(&sandbox, Some("111111111111"));
    let licenses = member.list_received_licenses().send().await.unwrap();
    let mine = licenses
        .licenses()
        .iter()
        .find(|license| license.license_arn() == Some(own.as_str()))
        .unwrap();
    assert_eq!(
        mine.received_metadata()
            .unwrap()
            .received_status()
            .unwrap()
            .as_str(),
        "ACTIVE"
    );
}

#[tokio::test]
async fn own_subscription_can_be_overridden_or_replaced() {
    // Setting `override`: activation goes through, both stay active.
    let mut state = demo_with(|settings| {
        settings.own_subscription_activation = OwnSubscriptionActivation::Override;
    });
    let own = with_own_subscription(&mut state, "111111111111");
    let sandbox = support::start(state).await;
    let client = support::license_manager(&sandbox);
    let direct = grant_request(&client, "direct", &account_principal("111111111111"))
        .send()
        .await
        .unwrap()
        .grant_arn()
        .unwrap()
        .to_string();
    let activated = activate(&client, "activate", &direct).await.unwrap();
    assert_eq!(activated.status(), Some(&GrantStatus::Active));
    let organisation = client
        .list_received_licenses_for_organization()
        .filters(filter("Beneficiary", "111111111111"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        organisation.licenses()[0]
            .received_metadata()
            .unwrap()
            .received_status()
            .unwrap()
            .as_str(),
        "ACTIVE"
    );
    assert_eq!(organisation.licenses()[0].license_arn(), Some(own.as_str()));

    // ALL_GRANTS_PERMITTED_BY_ISSUER (default setting `refuse`): activation goes through and the
    // member's own license is received DISABLED.
    let mut state = demo_with(|_| {});
    let own = with_own_subscription(&mut state, "111111111111");
    let sandbox = support::start(state).await;
    let client = support::license_manager(&sandbox);
    let direct = grant_request(&client, "direct", &account_principal("111111111111"))
        .send()
        .await
        .unwrap()
        .grant_arn()
        .unwrap()
        .to_string();
    let replace = Options::builder()
        .activation_override_behavior(ActivationOverrideBehavior::AllGrantsPermittedByIssuer)
        .build();
    let activated = client
        .create_grant_version()
        .client_token("replace")
        .grant_arn(&direct)
        .status(GrantStatus::Active)
        .options(replace.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), Some(&GrantStatus::Active));
    let member = support::license_manager_as(&sandbox, Some("111111111111"));
    let licenses = member.list_received_licenses().send().await.unwrap();
    let mine = licenses
        .licenses()
        .iter()
        .find(|license| license.license_arn() == Some(own.as_str()))
        .unwrap();
    let metadata = mine.received_metadata().unwrap();
    assert_eq!(metadata.received_status().unwrap().as_str(), "DISABLED");
    assert!(metadata.received_status_reason().unwrap().contains(&direct));
    let organisation = client
        .list_received_licenses_for_organization()
        .filters(filter("Beneficiary", "111111111111"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        organisation.licenses()[0]
            .received_metadata()
            .unwrap()
            .received_status()
            .unwrap()
            .as_str(),
        "DISABLED"
    );
    assert_eq!(
        sandbox.state_snapshot().licenses[&own].disabled_by_grant,
        Some(direct.clone())
    );

    // Through a parent grant: ALL_GRANTS_PERMITTED_BY_ISSUER activates every account, the
    // own subscription of another member is replaced too.
    sandbox.with_state(|state| with_own_subscription(state, "222222222222"));
    let parent = grant_request(&client, "ou", &ou_principal(ML_OU))
        .send()
        .await
        .unwrap()
        .grant_arn()
        .unwrap()
        .to_string();
    client
        .create_grant_version()
        .client_token("replace-ou")
        .grant_arn(&parent)
        .status(GrantStatus::Active)
        .options(replace)
        .send()
        .await
        .unwrap();
    let children = children_of(&client, &parent).await;
    assert!(
        children
            .values()
            .all(|(status, _)| status == &GrantStatus::Active),
        "{children:?}"
    );
    // The direct grant (another ACTIVE grant of the product) was disabled, as before.
    assert_eq!(grant_status(&client, &direct).await, GrantStatus::Disabled);
    let replaced = sandbox
        .state_snapshot()
        .licenses
        .values()
        .filter(|license| license.disabled_by_grant.is_some())
        .count();
    assert_eq!(replaced, 2);
}

#[tokio::test]
async fn stale_versions_are_refused_in_each_wording() {
    for (variant, delete_text, source_text) in [
        (
            StaleVersionMessage::DoesntMatch,
            "The version provided doesn't match the latest version (2)",
            "The source version provided doesn't match the latest version (2)",
        ),
        (
            StaleVersionMessage::Mismatch,
            "Grant version mismatch: expected version 2, got 1",
            "Grant version mismatch: expected version 2, got 1",
        ),
        (
            StaleVersionMessage::InOurRecords,
            "A grant cannot be deleted since the version provided doesn't match the latest version 2 in our records",
            "A grant cannot be updated since the source version provided doesn't match the latest version 2 in our records",
        ),
    ] {
        let sandbox = support::start(demo_with(|settings| {
            settings.stale_version_message = variant;
        }))
        .await;
        let client = support::license_manager(&sandbox);
        let arn = grant_request(&client, "stale", &account_principal("111111111111"))
            .send()
            .await
            .unwrap()
            .grant_arn()
            .unwrap()
            .to_string();
        activate(&client, "v2", &arn).await.unwrap();
        let error = client
            .delete_grant()
            .grant_arn(&arn)
            .version("1")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&error), "ValidationException");
        assert_eq!(error.raw_response().unwrap().status().as_u16(), 400);
        assert!(
            message(&error).starts_with(delete_text),
            "{}",
            message(&error)
        );
        let error = client
            .create_grant_version()
            .client_token("stale-source")
            .grant_arn(&arn)
            .grant_name("renamed")
            .source_version("1")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&error), "ValidationException");
        assert!(
            message(&error).starts_with(source_text),
            "{}",
            message(&error)
        );
    }
}

#[tokio::test]
async fn assume_role_needs_a_member_role_that_exists() {
    let sandbox = support::start(State::demo()).await;
    let sts = support::sts_as(&sandbox, None);
    let refused = |role_arn: String| {
        let sts = sts.clone();
        async move {
            sts.assume_role()
                .role_arn(role_arn)
                .role_session_name("entitle")
                .send()
                .await
                .unwrap_err()
        }
    };
    let unknown = "arn:aws:iam::111111111111:role/SomethingElse";
    let error = refused(unknown.to_string()).await;
    assert_eq!(code(&error), "AccessDenied");
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 403);
    assert_eq!(
        message(&error),
        format!(
            "User: arn:aws:iam::100000000001:user/sandbox is not authorized to perform: sts:AssumeRole on resource: {unknown}"
        )
    );

    // The role removed from one account: refused there, still there in the others.
    let removed = sandbox
        .with_state(|state| admin::remove_role(state, "111111111111", OAAR))
        .unwrap();
    assert_eq!(removed["removed"], true);
    let error = refused(format!("arn:aws:iam::111111111111:role/{OAAR}")).await;
    assert_eq!(code(&error), "AccessDenied");
    let credentials = assume(
        &sandbox,
        &format!("arn:aws:iam::222222222222:role/{OAAR}"),
        "still-there",
    )
    .await;
    assert!(credentials.access_key_id().contains("222222222222"));

    // Session names are validated like AWS: 2-64 characters of [\w+=,.@-].
    for session in ["x", "with space", &"y".repeat(65)] {
        let error = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::222222222222:role/{OAAR}"))
            .role_session_name(session)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&error), "ValidationError", "{session}");
    }

    // Other member role names.
    let sandbox = support::start(demo_with(|settings| {
        settings.member_role_names = vec!["EntitleAccess".to_string()];
    }))
    .await;
    let credentials = assume(
        &sandbox,
        "arn:aws:iam::333333333333:role/team/EntitleAccess",
        "custom+role@entitle",
    )
    .await;
    let identity = sts_with(&sandbox, credentials.clone())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        identity.arn(),
        Some("arn:aws:sts::333333333333:assumed-role/EntitleAccess/custom+role@entitle")
    );
    // Calls with assumed-role credentials are refused AssumeRole like anyone else.
    let error = sts_with(&sandbox, credentials)
        .assume_role()
        .role_arn(format!("arn:aws:iam::111111111111:role/{OAAR}"))
        .role_session_name("hop")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "AccessDenied");
    assert!(
        message(&error).starts_with(
            "User: arn:aws:sts::333333333333:assumed-role/EntitleAccess/custom+role@entitle is not authorized"
        ),
        "{}",
        message(&error)
    );
}

#[tokio::test]
async fn a_gov_cloud_partition_uses_its_arns_everywhere() {
    let mut state = demo_with(|_| {});
    state.set_partition("aws-us-gov");
    let gov_license = DEMO_ACTIVE_LICENSE.replace("arn:aws:", "arn:aws-us-gov:");
    assert!(state.licenses.contains_key(&gov_license));
    let sandbox = support::start(state).await;

    let identity = support::sts_as(&sandbox, None)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        identity.arn(),
        Some("arn:aws-us-gov:iam::100000000001:user/sandbox")
    );
    let organization = support::organizations(&sandbox)
        .describe_organization()
        .send()
        .await
        .unwrap();
    assert_eq!(
        organization.organization().unwrap().arn(),
        Some("arn:aws-us-gov:organizations::100000000001:organization/o-sbx0demo01")
    );

    let client = support::license_manager(&sandbox);
    let licenses = client
        .list_received_licenses()
        .filters(filter("ProductSKU", SONNET_4_5_PRODUCT))
        .send()
        .await
        .unwrap();
    assert_eq!(
        licenses.licenses()[0].license_arn(),
        Some(gov_license.as_str())
    );
    let grant = grant_request(&client, "gov", "arn:aws-us-gov:iam::111111111111:root")
        .license_arn(&gov_license)
        .send()
        .await
        .unwrap();
    assert!(
        grant
            .grant_arn()
            .unwrap()
            .starts_with("arn:aws-us-gov:license-manager::100000000001:grant:g-")
    );
    let ou = grant_request(
        &client,
        "gov-ou",
        &format!("arn:aws-us-gov:organizations::{MANAGEMENT}:ou/o-sbx0demo01/{ML_OU}"),
    )
    .license_arn(&gov_license)
    .send()
    .await
    .unwrap();
    let children = client
        .list_received_grants_for_organization()
        .license_arn(&gov_license)
        .filters(filter("ParentArn", ou.grant_arn().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(children.grants().len(), 9);
    assert!(children.grants().iter().all(|grant| {
        grant
            .grantee_principal_arn()
            .starts_with("arn:aws-us-gov:iam::")
    }));
    // A principal of the commercial partition is not one of this organisation's.
    let error = grant_request(&client, "commercial", &account_principal("222222222222"))
        .license_arn(&gov_license)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterValueException");

    let assumed = support::sts_as(&sandbox, None)
        .assume_role()
        .role_arn(format!("arn:aws-us-gov:iam::111111111111:role/{OAAR}"))
        .role_session_name("gov")
        .send()
        .await
        .unwrap();
    assert_eq!(
        assumed.assumed_role_user().unwrap().arn(),
        "arn:aws-us-gov:sts::111111111111:assumed-role/OrganizationAccountAccessRole/gov"
    );
    let error = support::sts_as(&sandbox, None)
        .assume_role()
        .role_arn(format!("arn:aws:iam::111111111111:role/{OAAR}"))
        .role_session_name("commercial")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ValidationError");
}

#[tokio::test]
async fn the_partition_comes_from_an_org_file_or_the_options() {
    use entitle::sandbox::{SandboxOptions, SeedChoice};
    let directory = tempfile::tempdir().unwrap();
    let org = directory.path().join("org.toml");
    std::fs::write(
        &org,
        "[settings]\npartition = \"aws-cn\"\n\n[[account]]\nid = \"100000000002\"\n",
    )
    .unwrap();
    let state = State::from_org_file(&org).unwrap();
    assert_eq!(state.partition(), "aws-cn");
    let china = DEMO_ACTIVE_LICENSE.replace("arn:aws:", "arn:aws-cn:");
    assert!(
        state.licenses.contains_key(&china),
        "{:?}",
        state.licenses.keys()
    );
    assert_eq!(
        state.agreements[DEMO_ACTIVE_AGREEMENT].license_arn,
        Some(china)
    );

    let mut settings = State::demo().settings;
    settings.partition = "aws-us-gov".to_string();
    let options = SandboxOptions {
        seed: SeedChoice::Demo,
        settings: Some(settings),
        ..SandboxOptions::default()
    };
    let state = options.initial_state().unwrap();
    assert!(
        state
            .grants
            .values()
            .all(|grant| grant.arn.starts_with("arn:aws-us-gov:")
                && grant.principal.starts_with("arn:aws-us-gov:")),
        "the demo's seeded grants move to the partition too"
    );
    assert_eq!(State::demo().partition(), "aws");
}

#[tokio::test]
async fn the_eighth_allowed_operation_is_accepted() {
    let sandbox = support::start(demo_with(|_| {})).await;
    let client = support::license_manager(&sandbox);
    let demo = &sandbox.state_snapshot().licenses[DEMO_ACTIVE_LICENSE];
    assert!(
        !demo
            .allowed_operations
            .contains(&"ListReceivedLicenses".to_string()),
        "the seeded license does not allow it"
    );
    // A valid value (not a ValidationException), refused by this license.
    let error = grant_request(&client, "eighth", &account_principal("111111111111"))
        .allowed_operations(AllowedOperation::ListReceivedLicenses)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterValueException");
    assert!(message(&error).contains("not allowed by the license"));

    sandbox.with_state(|state| {
        let license = state.licenses.get_mut(DEMO_ACTIVE_LICENSE).unwrap();
        license.allowed_operations = entitle::sandbox::seed::ALL_GRANT_OPERATIONS
            .iter()
            .map(|operation| operation.to_string())
            .collect();
    });
    let created = grant_request(&client, "eighth", &account_principal("111111111111"))
        .allowed_operations(AllowedOperation::ListReceivedLicenses)
        .send()
        .await
        .unwrap();
    let arn = created.grant_arn().unwrap().to_string();
    let grant = client.get_grant().grant_arn(&arn).send().await.unwrap();
    assert!(
        grant
            .grant()
            .unwrap()
            .granted_operations()
            .contains(&AllowedOperation::ListReceivedLicenses)
    );
    let all: Vec<AllowedOperation> = entitle::sandbox::seed::ALL_GRANT_OPERATIONS
        .iter()
        .map(|operation| AllowedOperation::from(*operation))
        .collect();
    assert_eq!(all.len(), 8);
    client
        .create_grant_version()
        .client_token("all-eight")
        .grant_arn(&arn)
        .set_allowed_operations(Some(all.clone()))
        .send()
        .await
        .unwrap();
    let mut nine = all;
    nine.push(AllowedOperation::CheckoutLicense);
    let error = client
        .create_grant_version()
        .client_token("nine")
        .grant_arn(&arn)
        .set_allowed_operations(Some(nine))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ValidationException");
    assert!(message(&error).contains("between 1 and 8"));
}

#[tokio::test]
async fn client_tokens_are_remembered_or_forgotten_after_delete() {
    for variant in [
        ClientTokenAfterDelete::Remembered,
        ClientTokenAfterDelete::Forgotten,
    ] {
        let sandbox = support::start(demo_with(|settings| {
            settings.client_token_after_delete = variant;
            settings.pending_delete_millis = Some(60_000);
        }))
        .await;
        let client = support::license_manager(&sandbox);
        let pilot = account_principal("111111111111");
        let first = grant_request(&client, "reused", &pilot)
            .send()
            .await
            .unwrap()
            .grant_arn()
            .unwrap()
            .to_string();
        client
            .delete_grant()
            .grant_arn(&first)
            .version("1")
            .send()
            .await
            .unwrap();
        // Not deleted yet: the token still answers its grant.
        let pending = grant_request(&client, "reused", &pilot)
            .send()
            .await
            .unwrap();
        assert_eq!(pending.grant_arn(), Some(first.as_str()), "{variant:?}");
        assert_eq!(pending.status(), Some(&GrantStatus::PendingDelete));
        sandbox.with_state(admin::finish_pending_deletes);
        let replay = grant_request(&client, "reused", &pilot)
            .send()
            .await
            .unwrap();
        match variant {
            ClientTokenAfterDelete::Remembered => {
                assert_eq!(replay.grant_arn(), Some(first.as_str()));
                assert_eq!(replay.status(), Some(&GrantStatus::Deleted));
            }
            ClientTokenAfterDelete::Forgotten => {
                assert_ne!(replay.grant_arn(), Some(first.as_str()));
                assert_eq!(replay.status(), Some(&GrantStatus::Disabled));
                // The token now answers the new grant.
                let again = grant_request(&client, "reused", &pilot)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(again.grant_arn(), replay.grant_arn());
            }
        }
    }
}

// ---------------------------------------------------------------- Bedrock

const SONNET_4_5_MODEL: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";

fn bedrock_with(
    sandbox: &Sandbox,
    credentials: aws_credential_types::Credentials,
    region: &str,
) -> aws_sdk_bedrock::Client {
    let config = aws_sdk_bedrock::Config::builder()
        .behavior_version(aws_sdk_bedrock::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrock::config::Region::new(region.to_string()))
        .credentials_provider(credentials)
        .endpoint_url(sandbox.endpoint())
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    aws_sdk_bedrock::Client::from_conf(config)
}

/// A Bedrock client acting as `account` (the management account when `None`) in `region`.
fn bedrock_as(sandbox: &Sandbox, account: Option<&str>, region: &str) -> aws_sdk_bedrock::Client {
    let key = account.map_or_else(|| "AKIDSANDBOX".to_string(), |id| format!("AKID{id}"));
    bedrock_with(
        sandbox,
        aws_credential_types::Credentials::new(key, "sandbox-secret", None, None, "test"),
        region,
    )
}

/// entitlementAvailability, agreementAvailability.status and regionAvailability of one model.
async fn availability(client: &aws_sdk_bedrock::Client, model: &str) -> (String, String, String) {
    let answer = client
        .get_foundation_model_availability()
        .model_id(model)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.model_id(), model);
    assert_eq!(answer.authorization_status().as_str(), "AUTHORIZED");
    (
        answer.entitlement_availability().as_str().to_string(),
        answer
            .agreement_availability()
            .unwrap()
            .status()
            .as_str()
            .to_string(),
        answer.region_availability().as_str().to_string(),
    )
}

fn available() -> (String, String, String) {
    ("AVAILABLE".into(), "AVAILABLE".into(), "AVAILABLE".into())
}

fn not_available() -> (String, String, String) {
    (
        "NOT_AVAILABLE".into(),
        "NOT_AVAILABLE".into(),
        "AVAILABLE".into(),
    )
}

/// A direct account grant of the demo license, distributed and activated by the member.
async fn grant_and_activate(sandbox: &Sandbox, member: &str) -> String {
    let client = support::license_manager(sandbox);
    let created = grant_request(
        &client,
        &format!("bedrock-{member}"),
        &account_principal(member),
    )
    .send()
    .await
    .unwrap();
    let arn = created.grant_arn().unwrap().to_string();
    sandbox
        .with_state(|state| admin::apply(state, &admin::AdminAction::SettleWorkflows))
        .unwrap();
    support::license_manager_as(sandbox, Some(member))
        .create_grant_version()
        .client_token(format!("activate-{member}"))
        .grant_arn(&arn)
        .status(GrantStatus::Active)
        .send()
        .await
        .unwrap();
    arn
}

#[tokio::test]
async fn bedrock_availability_follows_grants_and_subscriptions() {
    let sandbox = support::start(State::demo()).await;
    let management = bedrock_as(&sandbox, None, "us-east-1");
    // The subscriber is entitled by its own license.
    assert_eq!(
        availability(&management, SONNET_4_5_MODEL).await,
        available()
    );
    // A model of a product nobody subscribed to.
    assert_eq!(
        availability(&management, "anthropic.claude-haiku-4-5-20251001-v1:0").await,
        not_available()
    );
    // Amazon's own models need no license.
    assert_eq!(
        availability(&management, "amazon.nova-pro-v1:0").await,
        available()
    );

    let member = "111111111111";
    let client = bedrock_as(&sandbox, Some(member), "us-east-1");
    assert_eq!(
        availability(&client, SONNET_4_5_MODEL).await,
        not_available()
    );
    let grant = grant_and_activate(&sandbox, member).await;
    assert_eq!(availability(&client, SONNET_4_5_MODEL).await, available());
    // Another member is still without.
    let other = bedrock_as(&sandbox, Some("222222222222"), "us-east-1");
    assert_eq!(
        availability(&other, SONNET_4_5_MODEL).await,
        not_available()
    );

    // Deleting the grant takes it away again.
    let lm = support::license_manager(&sandbox);
    let version = lm
        .get_grant()
        .grant_arn(&grant)
        .send()
        .await
        .unwrap()
        .grant()
        .unwrap()
        .version()
        .to_string();
    lm.delete_grant()
        .grant_arn(&grant)
        .version(version)
        .send()
        .await
        .unwrap();
    assert_eq!(
        availability(&client, SONNET_4_5_MODEL).await,
        not_available()
    );

    // Cancelling the agreement: the subscriber's license is DELETED, so is its entitlement.
    sandbox
        .with_state(|state| admin::cancel_agreement(state, DEMO_ACTIVE_AGREEMENT))
        .unwrap();
    assert_eq!(
        availability(&management, SONNET_4_5_MODEL).await,
        not_available()
    );
}

#[tokio::test]
async fn bedrock_availability_through_assumed_role_credentials() {
    let sandbox = support::start(State::demo()).await;
    let member = "222222222222";
    grant_and_activate(&sandbox, member).await;
    let credentials = assume(
        &sandbox,
        &format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole"),
        "verify",
    )
    .await;
    let client = bedrock_with(&sandbox, credentials, "us-east-1");
    assert_eq!(availability(&client, SONNET_4_5_MODEL).await, available());
    let credentials = assume(
        &sandbox,
        "arn:aws:iam::333333333333:role/OrganizationAccountAccessRole",
        "verify",
    )
    .await;
    let client = bedrock_with(&sandbox, credentials, "us-east-1");
    assert_eq!(
        availability(&client, SONNET_4_5_MODEL).await,
        not_available()
    );
}

#[tokio::test]
async fn bedrock_regions_come_from_the_credential_scope() {
    let sandbox = support::start(State::demo()).await;
    for (region, expected) in [
        ("us-east-1", "AVAILABLE"),
        ("us-west-2", "AVAILABLE"),
        ("eu-central-1", "AVAILABLE"),
        ("ap-northeast-1", "AVAILABLE"),
        ("sa-east-1", "NOT_AVAILABLE"),
        ("af-south-1", "NOT_AVAILABLE"),
    ] {
        let client = bedrock_as(&sandbox, None, region);
        let (entitlement, _, region_status) = availability(&client, SONNET_4_5_MODEL).await;
        assert_eq!(entitlement, "AVAILABLE", "{region}");
        assert_eq!(region_status, expected, "{region}");
    }
    // Opus 4.1 is served in fewer regions than Sonnet 4.5.
    let client = bedrock_as(&sandbox, None, "eu-central-1");
    let (_, _, region_status) =
        availability(&client, "anthropic.claude-opus-4-1-20250805-v1:0").await;
    assert_eq!(region_status, "NOT_AVAILABLE");
}

#[tokio::test]
async fn bedrock_availability_errors() {
    let sandbox = support::start(State::demo()).await;
    let client = bedrock_as(&sandbox, None, "us-east-1");
    let error = client
        .get_foundation_model_availability()
        .model_id("anthropic.claude-unknown-v9:0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ResourceNotFoundException");
    assert!(
        error
            .as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    assert!(message(&error).contains("anthropic.claude-unknown-v9:0"));
    let error = client
        .get_foundation_model_availability()
        .model_id("Not A Model")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ValidationException");
    assert!(error.as_service_error().unwrap().is_validation_exception());

    // An account outside the organisation.
    let outsider = bedrock_as(&sandbox, Some("999999999999"), "us-east-1");
    let error = outsider
        .get_foundation_model_availability()
        .model_id(SONNET_4_5_MODEL)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "AccessDeniedException");
    assert!(
        error
            .as_service_error()
            .unwrap()
            .is_access_denied_exception()
    );
}

#[tokio::test]
async fn bedrock_broken_availability_and_its_restore() {
    let sandbox = support::start(State::demo()).await;
    let member = "111111111111";
    grant_and_activate(&sandbox, member).await;
    let client = bedrock_as(&sandbox, Some(member), "us-east-1");
    assert_eq!(availability(&client, SONNET_4_5_MODEL).await, available());
    let broken = admin::AdminAction::BreakAvailability {
        account_id: member.to_string(),
        model_id: Some(SONNET_4_5_MODEL.to_string()),
        restore: false,
    };
    sandbox
        .with_state(|state| admin::apply(state, &broken))
        .unwrap();
    // Entitlement says no whatever the grant; the agreement still stands.
    assert_eq!(
        availability(&client, SONNET_4_5_MODEL).await,
        (
            "NOT_AVAILABLE".to_string(),
            "AVAILABLE".to_string(),
            "AVAILABLE".to_string()
        )
    );
    // Other accounts are not affected.
    let management = bedrock_as(&sandbox, None, "us-east-1");
    assert_eq!(
        availability(&management, SONNET_4_5_MODEL).await,
        available()
    );
    let restore = admin::AdminAction::BreakAvailability {
        account_id: member.to_string(),
        model_id: None,
        restore: true,
    };
    sandbox
        .with_state(|state| admin::apply(state, &restore))
        .unwrap();
    assert_eq!(availability(&client, SONNET_4_5_MODEL).await, available());
    // An unknown model or account is refused.
    let unknown = admin::AdminAction::BreakAvailability {
        account_id: member.to_string(),
        model_id: Some("anthropic.nothing-v1:0".to_string()),
        restore: false,
    };
    assert!(
        sandbox
            .with_state(|state| admin::apply(state, &unknown))
            .is_err()
    );
    let outsider = admin::AdminAction::BreakAvailability {
        account_id: "999999999999".to_string(),
        model_id: None,
        restore: false,
    };
    assert!(
        sandbox
            .with_state(|state| admin::apply(state, &outsider))
            .is_err()
    );
}

#[tokio::test]
async fn bedrock_use_case_form_is_inherited_from_the_management_account() {
    let sandbox = support::start(State::demo()).await;
    let management = bedrock_as(&sandbox, None, "us-east-1");
    let member = bedrock_as(&sandbox, Some("333333333333"), "eu-west-1");
    let seeded = management
        .get_use_case_for_model_access()
        .send()
        .await
        .unwrap();
    let text = String::from_utf8(seeded.form_data().as_ref().to_vec()).unwrap();
    assert!(text.contains("companyName"));
    // The member has none of its own: it answers the management account's.
    let inherited = member.get_use_case_for_model_access().send().await.unwrap();
    assert_eq!(inherited.form_data(), seeded.form_data());

    // Without the management account's form, nobody has one.
    sandbox
        .with_state(|state| {
            admin::apply(
                state,
                &admin::AdminAction::RemoveUseCaseForm { account_id: None },
            )
        })
        .unwrap();
    for client in [&management, &member] {
        let error = client
            .get_use_case_for_model_access()
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&error), "ResourceNotFoundException");
        assert!(
            error
                .as_service_error()
                .unwrap()
                .is_resource_not_found_exception()
        );
    }

    // Submitting it again (201, empty body) at the management account restores it for all.
    let form = br#"{"companyName":"Acme","companyWebsite":"https://acme.example","intendedUsers":"0","industryOption":"Retail","otherIndustryOption":"","useCases":"support"}"#;
    management
        .put_use_case_for_model_access()
        .form_data(aws_smithy_types::Blob::new(form.to_vec()))
        .send()
        .await
        .unwrap();
    let inherited = member.get_use_case_for_model_access().send().await.unwrap();
    assert_eq!(inherited.form_data().as_ref(), form);
    // A member's own form wins over the inherited one.
    member
        .put_use_case_for_model_access()
        .form_data(aws_smithy_types::Blob::new(
            b"{\"companyName\":\"member\"}".to_vec(),
        ))
        .send()
        .await
        .unwrap();
    let own = member.get_use_case_for_model_access().send().await.unwrap();
    assert_eq!(own.form_data().as_ref(), b"{\"companyName\":\"member\"}");
    let management_form = management
        .get_use_case_for_model_access()
        .send()
        .await
        .unwrap();
    assert_eq!(management_form.form_data().as_ref(), form);

    // formData: 10 to 16,384 bytes.
    for size in [9, 16_385] {
        let error = management
            .put_use_case_for_model_access()
            .form_data(aws_smithy_types::Blob::new(vec![b'x'; size]))
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&error), "ValidationException", "{size}");
    }
}

#[tokio::test]
async fn bedrock_use_case_form_can_gate_the_agreement() {
    let state = support::demo_with_settings(&[(
        "use_case_form_gates_availability",
        serde_json::json!(true),
    )]);
    let sandbox = support::start(state).await;
    let management = bedrock_as(&sandbox, None, "us-east-1");
    assert_eq!(
        availability(&management, SONNET_4_5_MODEL).await,
        available()
    );
    sandbox
        .with_state(|state| {
            admin::apply(
                state,
                &admin::AdminAction::RemoveUseCaseForm { account_id: None },
            )
        })
        .unwrap();
    let answer = management
        .get_foundation_model_availability()
        .model_id(SONNET_4_5_MODEL)
        .send()
        .await
        .unwrap();
    let agreement = answer.agreement_availability().unwrap();
    assert_eq!(agreement.status().as_str(), "NOT_AVAILABLE");
    assert!(agreement.error_message().unwrap().contains("use case"));
    assert_eq!(answer.entitlement_availability().as_str(), "AVAILABLE");
    // Amazon's models need no form.
    assert_eq!(
        availability(&management, "amazon.nova-pro-v1:0").await,
        available()
    );
}

#[tokio::test]
async fn bedrock_operations_take_faults() {
    let mut faults = entitle::sandbox::Faults::default();
    let throttled = entitle::sandbox::FaultRule {
        throttle_every: Some(1),
        ..Default::default()
    };
    faults.operations.insert(
        "Bedrock.GetFoundationModelAvailability".to_string(),
        throttled,
    );
    let failing = entitle::sandbox::FaultRule {
        error_5xx_every: Some(1),
        ..Default::default()
    };
    faults
        .operations
        .insert("GetUseCaseForModelAccess".to_string(), failing.clone());
    faults.operations.insert("Iam.GetRole".to_string(), failing);
    let sandbox = support::start_with_faults(State::demo(), faults).await;
    let client = bedrock_as(&sandbox, None, "us-east-1");
    let error = client
        .get_foundation_model_availability()
        .model_id(SONNET_4_5_MODEL)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ThrottlingException");
    assert!(error.as_service_error().unwrap().is_throttling_exception());
    let error = client
        .get_use_case_for_model_access()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InternalServerException");
    let error = iam_as(&sandbox, None)
        .get_role()
        .role_name("AWSServiceRoleForAWSLicenseManagerRole")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ServiceFailure");
    let stats = sandbox.stats();
    assert_eq!(stats["Bedrock.GetFoundationModelAvailability"].calls, 1);
    assert!(stats.contains_key("Iam.GetRole"));
}

// ---------------------------------------------------------------- IAM

fn iam_as(sandbox: &Sandbox, account: Option<&str>) -> aws_sdk_iam::Client {
    let key = account.map_or_else(|| "AKIDSANDBOX".to_string(), |id| format!("AKID{id}"));
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            key,
            "sandbox-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(sandbox.endpoint())
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

#[tokio::test]
async fn iam_get_role_answers_service_linked_and_member_roles() {
    let sandbox = support::start(State::demo()).await;
    let iam = iam_as(&sandbox, None);
    for (name, path) in [
        (
            "AWSServiceRoleForAWSLicenseManagerRole",
            "/aws-service-role/license-manager.amazonaws.com/",
        ),
        (
            "AWSServiceRoleForMarketplaceLicenseManagement",
            "/aws-service-role/license-management.marketplace.amazonaws.com/",
        ),
    ] {
        let answer = iam.get_role().role_name(name).send().await.unwrap();
        let role = answer.role().unwrap();
        assert_eq!(role.role_name(), name);
        assert_eq!(role.path(), path);
        assert_eq!(
            role.arn(),
            format!("arn:aws:iam::{MANAGEMENT}:role{path}{name}")
        );
        assert!(role.role_id().starts_with("AROA"));
        let policy = role.assume_role_policy_document().unwrap();
        assert!(policy.contains("sts%3AAssumeRole"), "{policy}");
    }
    // STS still serves the query protocol next to IAM.
    let identity = support::sts_as(&sandbox, None)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(identity.account(), Some(MANAGEMENT));

    // A member account: its member role, and no service-linked roles.
    let member = iam_as(&sandbox, Some("111111111111"));
    let role = member
        .get_role()
        .role_name("OrganizationAccountAccessRole")
        .send()
        .await
        .unwrap();
    assert_eq!(role.role().unwrap().path(), "/");
    let error = member
        .get_role()
        .role_name("AWSServiceRoleForAWSLicenseManagerRole")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "NoSuchEntity");
    assert!(
        error
            .as_service_error()
            .unwrap()
            .is_no_such_entity_exception()
    );

    // Removing roles: the service-linked role in the management account, the member role in
    // a member account.
    sandbox
        .with_state(|state| {
            admin::remove_role(state, MANAGEMENT, "AWSServiceRoleForAWSLicenseManagerRole")
        })
        .unwrap();
    let error = iam
        .get_role()
        .role_name("AWSServiceRoleForAWSLicenseManagerRole")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "NoSuchEntity");
    assert!(message(&error).contains("AWSServiceRoleForAWSLicenseManagerRole"));
    iam.get_role()
        .role_name("AWSServiceRoleForMarketplaceLicenseManagement")
        .send()
        .await
        .unwrap();
    sandbox
        .with_state(|state| {
            admin::remove_role(state, "111111111111", "OrganizationAccountAccessRole")
        })
        .unwrap();
    let error = member
        .get_role()
        .role_name("OrganizationAccountAccessRole")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "NoSuchEntity");

    // Validation and outsiders.
    let error = iam
        .get_role()
        .role_name("no spaces")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ValidationError");
    let error = iam_as(&sandbox, Some("999999999999"))
        .get_role()
        .role_name("OrganizationAccountAccessRole")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "AccessDenied");
}

// ---------------------------------------------------------------- doctor --fix's writes

/// The Reason of RegisterDelegatedAdministrator's ConstraintViolationException.
fn constraint_reason<R>(
    error: &aws_smithy_runtime_api::client::result::SdkError<
        aws_sdk_organizations::operation::register_delegated_administrator::RegisterDelegatedAdministratorError,
        R,
    >,
) -> String {
    use aws_sdk_organizations::operation::register_delegated_administrator::RegisterDelegatedAdministratorError as Error;
    match error.as_service_error() {
        Some(Error::ConstraintViolationException(inner)) => inner
            .reason()
            .map(|reason| reason.as_str().to_string())
            .unwrap_or_default(),
        other => format!("not a constraint violation: {other:?}"),
    }
}

#[tokio::test]
async fn organizations_enable_service_access_and_register_delegated_administrator() {
    let sandbox = support::start(State::demo()).await;
    sandbox.with_state(|state| admin::break_prerequisites(state, false, false));
    let client = support::organizations(&sandbox);
    let principals = |answer: &aws_sdk_organizations::operation::list_aws_service_access_for_organization::ListAwsServiceAccessForOrganizationOutput| {
        answer
            .enabled_service_principals()
            .iter()
            .filter_map(|principal| principal.service_principal().map(str::to_string))
            .collect::<Vec<_>>()
    };
    let before = client
        .list_aws_service_access_for_organization()
        .send()
        .await
        .unwrap();
    assert!(!principals(&before).contains(&"license-manager.amazonaws.com".to_string()));

    // Registering before trusted access is refused.
    let error = client
        .register_delegated_administrator()
        .account_id("100000000012")
        .service_principal("license-manager.amazonaws.com")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "ConstraintViolationException");
    assert_eq!(constraint_reason(&error), "SERVICE_ACCESS_NOT_ENABLED");

    for principal in [
        "license-manager.amazonaws.com",
        "license-management.marketplace.amazonaws.com",
    ] {
        client
            .enable_aws_service_access()
            .service_principal(principal)
            .send()
            .await
            .unwrap();
    }
    // Enabling twice is harmless.
    client
        .enable_aws_service_access()
        .service_principal("license-manager.amazonaws.com")
        .send()
        .await
        .unwrap();
    let mut after = Vec::new();
    let mut pages = client
        .list_aws_service_access_for_organization()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        after.extend(principals(&page.unwrap()));
    }
    assert!(after.contains(&"license-manager.amazonaws.com".to_string()));
    assert!(after.contains(&"license-management.marketplace.amazonaws.com".to_string()));

    client
        .register_delegated_administrator()
        .account_id("100000000012")
        .service_principal("license-manager.amazonaws.com")
        .send()
        .await
        .unwrap();
    let admins = client
        .list_delegated_administrators()
        .service_principal("license-manager.amazonaws.com")
        .send()
        .await
        .unwrap();
    assert_eq!(admins.delegated_administrators().len(), 1);
    assert_eq!(
        admins.delegated_administrators()[0].id(),
        Some("100000000012")
    );

    // The errors of the model.
    let register = |account: &str, principal: &str| {
        client
            .register_delegated_administrator()
            .account_id(account)
            .service_principal(principal)
            .send()
    };
    let error = register("100000000012", "license-manager.amazonaws.com")
        .await
        .unwrap_err();
    assert_eq!(code(&error), "AccountAlreadyRegisteredException");
    assert!(
        error
            .as_service_error()
            .unwrap()
            .is_account_already_registered_exception()
    );
    let error = register("100000000011", "license-manager.amazonaws.com")
        .await
        .unwrap_err();
    assert_eq!(
        constraint_reason(&error),
        "MAX_DELEGATED_ADMINISTRATORS_FOR_SERVICE_LIMIT_EXCEEDED"
    );
    let error = register("999999999999", "license-manager.amazonaws.com")
        .await
        .unwrap_err();
    assert_eq!(code(&error), "AccountNotFoundException");
    let error = register(MANAGEMENT, "license-management.marketplace.amazonaws.com")
        .await
        .unwrap_err();
    assert_eq!(
        constraint_reason(&error),
        "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR"
    );
    let error = client
        .enable_aws_service_access()
        .service_principal("not a principal")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidInputException");

    // Only the management account may make these calls.
    let member = support::organizations_as(&sandbox, Some("100000000012"));
    let error = member
        .enable_aws_service_access()
        .service_principal("sso.amazonaws.com")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "AccessDeniedException");
}

#[tokio::test]
async fn license_manager_update_service_settings_links_the_organization() {
    let sandbox = support::start(State::demo()).await;
    sandbox.with_state(|state| admin::break_prerequisites(state, true, false));
    let client = support::license_manager(&sandbox);
    let settings = client.get_service_settings().send().await.unwrap();
    assert!(
        !settings
            .organization_configuration()
            .unwrap()
            .enable_integration()
    );
    client
        .update_service_settings()
        .organization_configuration(
            aws_sdk_licensemanager::types::OrganizationConfiguration::builder()
                .enable_integration(true)
                .build(),
        )
        .enable_cross_accounts_discovery(true)
        .s3_bucket_arn("arn:aws:s3:::license-reports")
        .send()
        .await
        .unwrap();
    let settings = client.get_service_settings().send().await.unwrap();
    assert!(
        settings
            .organization_configuration()
            .unwrap()
            .enable_integration()
    );
    assert_eq!(settings.enable_cross_accounts_discovery(), Some(true));
    assert_eq!(
        settings.s3_bucket_arn(),
        Some("arn:aws:s3:::license-reports")
    );

    let error = client
        .update_service_settings()
        .sns_topic_arn("not-an-arn")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterValueException");
    let member = support::license_manager_as(&sandbox, Some("111111111111"));
    let error = member
        .update_service_settings()
        .enable_cross_accounts_discovery(false)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "AccessDeniedException");
    // Nothing changed on the refused calls.
    let settings = client.get_service_settings().send().await.unwrap();
    assert_eq!(settings.enable_cross_accounts_discovery(), Some(true));
    assert_eq!(settings.sns_topic_arn(), None);
}

#[test]
fn every_emulated_operation_is_listed_and_documented() {
    let operations = entitle::sandbox::emulated_operations();
    for wanted in [
        ("Bedrock", "GetFoundationModelAvailability"),
        ("Bedrock", "GetUseCaseForModelAccess"),
        ("Bedrock", "PutUseCaseForModelAccess"),
        ("Iam", "GetRole"),
        ("Organizations", "EnableAWSServiceAccess"),
        ("Organizations", "RegisterDelegatedAdministrator"),
        ("LicenseManager", "UpdateServiceSettings"),
    ] {
        assert!(operations.contains(&wanted), "{wanted:?}");
    }
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/emulator.md")).unwrap();
    for (service, operation) in &operations {
        assert!(
            docs.contains(operation),
            "docs/emulator.md does not name {service}.{operation}"
        );
    }
}
