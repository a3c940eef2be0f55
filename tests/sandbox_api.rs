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
    state.settings.pending_workflow_millis = Some(150);
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
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
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
